//! The shutdown request: a future that completes on SIGTERM (what systemd and the tests send) or
//! Ctrl-C, and says so in the log.

use std::future::Future;

use tokio::signal::unix::{SignalKind, signal};

/// Completes when the process is asked to stop. The SIGTERM handler is installed when this is
/// called, not when the future is first polled: call it first thing in `main`, so that a stop
/// asked for while the process starts is kept and honoured once it serves, instead of SIGTERM's
/// default action ending the process on the spot.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    let mut terminate = signal(SignalKind::terminate()).expect("installing SIGTERM handler");
    async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!("shutdown requested");
    }
}
