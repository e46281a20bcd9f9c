//! The HTTP serving loop: accepts connections while under the connection caps, serves each with
//! hyper (HTTP/1.1) under a header read timeout that also closes idle kept-alive connections, and
//! stops in bounded time.
//!
//! The stop: no new connections, idle ones closed at once, requests in flight given
//! `shutdown_grace` to finish, then whatever is left is closed anyway. Commands a cut-off request
//! had already handed to the writer are still committed (the writer drains its queue after this
//! returns); what was never acknowledged may or may not have happened, as with any lost
//! connection. Built from hyper-util's pieces (`TokioTimer`, `GracefulShutdown`,
//! `TowerToHyperService`), as `axum::serve` is, which offers no timeouts or caps.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tower::ServiceExt;
use tracing::{debug, info, warn};

use crate::admission::{Admission, Refusal};
use crate::client::ClientAddr;
use crate::config::EdgeLimits;

/// What a connection beyond the caps is told before it is closed (best effort: it is written
/// only if the socket takes it at once).
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 69\r\n\r\n\
{\"errors\":[{\"message\":\"The node is busy; please try again shortly\"}]}";

/// How long accepting pauses after an error such as running out of file descriptors.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// Serves `router` on `listener` until `shutdown` completes, then stops as described above.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &EdgeLimits,
    shutdown: impl Future<Output = ()>,
) {
    let connections = Admission::new(limits.max_connections, limits.max_connections_per_address);
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        while tasks.try_join_next().is_some() {}
        let slot = match connections.admit(ClientAddr::of(peer.ip()).0) {
            Ok(slot) => slot,
            Err(refusal) => {
                refuse(stream, peer, refusal);
                continue;
            }
        };
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut request: axum::http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            },
        ));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tasks.spawn(async move {
            let _slot = slot;
            if let Err(e) = connection.await {
                debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    while tasks.try_join_next().is_some() {}
    info!(
        connections = tasks.len(),
        grace_ms = limits.shutdown_grace.as_millis() as u64,
        "stopping HTTP: finishing requests in flight"
    );
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        warn!(
            connections = tasks.len(),
            "requests still in flight after the grace period; closing their connections"
        );
        tasks.abort_all();
    }
    while tasks.join_next().await.is_some() {}
}

fn refuse(stream: TcpStream, peer: SocketAddr, refusal: Refusal) {
    debug!(%peer, ?refusal, "connection refused: over the cap");
    let _ = stream.try_write(REFUSED);
}
