//! The shutdown request: a future that completes on SIGTERM (what systemd and the tests send) or
//! Ctrl-C, and says so in the log.

use tokio::signal::unix::{SignalKind, signal};

/// Completes when the process is asked to stop.
pub async fn shutdown_signal() {
    let mut terminate = signal(SignalKind::terminate()).expect("installing SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutdown requested");
}
