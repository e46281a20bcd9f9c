//! Starting `tix-hub`: on `127.0.0.1:0` with its database (a SQLite file, or a `postgres://` URL),
//! following one broker, logging JSON, answering operators who bring `token`.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::Result;

use crate::served::{Served, serve};

/// How long a test gives a hub to start.
const START_LIMIT: Duration = Duration::from_secs(30);

/// The command that starts the hub at `bin` on `db`, following the broker at `mqtt_url`.
pub fn hub_command(bin: &Path, db: impl AsRef<OsStr>, mqtt_url: &str, token: &str) -> Command {
    let mut command = Command::new(bin);
    command
        .args(["--listen", "127.0.0.1:0", "--api-token", token])
        .arg("--db")
        .arg(db)
        .arg("--mqtt-url")
        .arg(mqtt_url)
        .env("TIX_HUB_LOG_FORMAT", "json")
        .env("RUST_LOG", "info,tower_http=warn");
    command
}

/// Starts the hub and waits at most `limit` for it to serve.
pub fn spawn_hub(
    bin: &Path,
    db: impl AsRef<OsStr>,
    mqtt_url: &str,
    token: &str,
    limit: Duration,
) -> Result<Served> {
    serve(hub_command(bin, db, mqtt_url, token), "tix-hub", limit)
}

/// Like `spawn_hub`, for tests: panics with the hub's log when it does not start.
pub fn start_hub(
    bin: impl AsRef<Path>,
    db: impl AsRef<OsStr>,
    mqtt_url: &str,
    token: &str,
) -> Served {
    spawn_hub(bin.as_ref(), db, mqtt_url, token, START_LIMIT).unwrap_or_else(|e| panic!("{e:#}"))
}
