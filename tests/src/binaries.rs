//! Finding what the harness runs: the workspace's own binaries (`tix-node`, `tix-hub`) in the
//! target directory of the running executable, built there with `$CARGO` (same profile) when
//! missing; system tools (Mosquitto, Xvfb) in the usual Debian places; and the workspace itself.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use anyhow::{Context, Result, bail};

/// The workspace's root directory (where `Cargo.toml`, `packaging/` and `artifacts/` are).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_owned()
}

/// `<workspace>/artifacts/screenshots`, where tests save what a window looked like.
pub fn screenshots_dir() -> PathBuf {
    workspace_dir().join("artifacts").join("screenshots")
}

/// The first of Debian's binary directories that holds `name`.
pub fn system_tool(name: &str) -> Result<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.exists())
        .with_context(|| format!("{name} not found: scripts/test.sh installs the Debian packages"))
}

/// `target/<profile>/` of the running executable (a test binary lives in its `deps/`).
fn profile_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the running executable")?;
    let dir = exe.parent().context("the executable has no directory")?;
    Ok(if dir.ends_with("deps") {
        dir.parent().context("deps/ has no parent")?.to_owned()
    } else {
        dir.to_owned()
    })
}

/// The workspace binary `name` (`tix-node`, `tix-hub`) of the running executable's profile,
/// built from this checkout first (once per process). Not only when missing: a target dir shared
/// with another checkout, as CI's is, may hold binaries built from other sources (a hub from before
/// show events quarantined them all); cargo finds an up-to-date build in a second.
pub fn workspace_binary(name: &str) -> PathBuf {
    static BUILT: Mutex<bool> = Mutex::new(false);
    let dir = profile_dir().unwrap_or_else(|e| panic!("{e:#}"));
    let path = dir.join(name);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !*built {
        build_servers(&dir).unwrap_or_else(|e| panic!("{e:#}"));
        *built = true;
    }
    assert!(
        path.exists(),
        "{} is missing after the build",
        path.display()
    );
    path
}

/// `$CARGO build -p tix-node -p tix-hub --bins` into `profile_dir` (`target/<profile>`).
fn build_servers(profile_dir: &Path) -> Result<()> {
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") => "dev".to_owned(),
        Some(other) => other.to_owned(),
        None => bail!("no profile in {}", profile_dir.display()),
    };
    let target_dir = profile_dir
        .parent()
        .context("target/<profile> has no parent")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("building tix-node and tix-hub ({profile}) for the tests");
    let status = Command::new(cargo)
        .args([
            "build",
            "-p",
            "tix-node",
            "-p",
            "tix-hub",
            "--bins",
            "--profile",
            &profile,
        ])
        .arg("--manifest-path")
        .arg(workspace_dir().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build -p tix-node -p tix-hub failed: {status}");
    }
    Ok(())
}
