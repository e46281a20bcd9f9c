//! Starting `tix-node`: on `127.0.0.1:0` with its stores in a given data dir, logging JSON,
//! never with a Stripe key, JWT secret or lock time from the caller's environment (only what
//! `NodeOptions` says). Restarting a node is starting one again on the same data dir.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::Result;

use crate::served::{Served, serve};

/// How long a test gives a node to start.
const START_LIMIT: Duration = Duration::from_secs(30);

/// What a node is started with beyond its data dir.
#[derive(Clone, Default)]
pub struct NodeOptions {
    /// `--lock-ttl` (e.g. "2s"); the node's own default (15 min) when `None`.
    pub lock_ttl: Option<&'static str>,
    /// Environment variables set for the node.
    pub env: Vec<(String, String)>,
    /// More command line arguments.
    pub args: Vec<String>,
}

/// The command that starts the node at `bin` on `data_dir`.
pub fn node_command(bin: &Path, data_dir: &Path, options: &NodeOptions) -> Command {
    let mut command = Command::new(bin);
    command
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir)
        .args(&options.args)
        .env("TIX_LOG_FORMAT", "json")
        .env("RUST_LOG", "info,tower_http=warn")
        .env_remove("STRIPE_SECRET_KEY")
        .env_remove("TIX_STRIPE_API_BASE")
        .env_remove("TIX_JWT_SECRET")
        .env_remove("TIX_LOCK_TTL");
    if let Some(ttl) = options.lock_ttl {
        command.arg("--lock-ttl").arg(ttl);
    }
    for (key, value) in &options.env {
        command.env(key, value);
    }
    command
}

/// Starts the node at `bin` on `data_dir` and waits at most `limit` for it to serve.
pub fn spawn_node(
    bin: &Path,
    data_dir: &Path,
    options: &NodeOptions,
    limit: Duration,
) -> Result<Served> {
    serve(node_command(bin, data_dir, options), "tix-node", limit)
}

/// Like `spawn_node`, for tests: panics with the node's log when it does not start.
pub fn start_node(bin: impl AsRef<Path>, data_dir: &Path, options: &NodeOptions) -> Served {
    spawn_node(bin.as_ref(), data_dir, options, START_LIMIT).unwrap_or_else(|e| panic!("{e:#}"))
}
