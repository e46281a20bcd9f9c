//! axe-core's source for the accessibility checks: the file `TIX_AXE_JS` names (as
//! `scripts/test.sh` sets it), or what `scripts/fetch-axe.sh` fetches. Shared with the box office's
//! window tests.

use std::path::PathBuf;
use std::process::Command;

pub(crate) fn axe_source() -> String {
    let path = match std::env::var("TIX_AXE_JS") {
        Ok(path) => PathBuf::from(path),
        Err(_) => {
            let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("scripts")
                .join("fetch-axe.sh");
            let out = Command::new("bash")
                .arg(&script)
                .output()
                .expect("running scripts/fetch-axe.sh");
            assert!(
                out.status.success(),
                "fetching axe-core failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
        }
    };
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
