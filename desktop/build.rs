//! Generates the Tauri context (config, capabilities, embedded `dist/` assets) at build time.
fn main() {
    tauri_build::build();
}
