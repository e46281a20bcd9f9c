//! `GET /live`: the live-update feed as server-sent events, for the pages' own script.
//!
//! Events: `ticket` (public: a ticket listed or changed, with its state), `order` (only the
//! visitor's own orders), `seats` (public: units of a show held, released or sold), and `resync`
//! when this connection fell behind and missed notices (the page reloads). What one read of the
//! feed tells goes out as one piece of text (see `live::Told`). The stream ends when the node
//! starts to stop. Open streams are capped per client address (429 beyond) and in total (503
//! beyond), both with `Retry-After`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use tix_core::ids::UserId;

use crate::actions::ApiError;
use crate::admission::{Refusal, Slot};
use crate::client::ClientAddr;
use crate::live::Told;
use crate::state::AppState;

use super::frame::Visitor;

/// How long a stream stays silent before it sends a comment, so proxies and kiosks notice a dead
/// connection.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// When a client refused a stream is told to try again (the page's script backs off further).
const RETRY: Duration = Duration::from_secs(30);

/// An empty comment: what a silent stream sends every `KEEP_ALIVE`.
const COMMENT: &[u8] = b":\n\n";
/// Sent in place of what a page missed by falling too far behind; its script reloads.
const RESYNC: &[u8] = b"event: resync\ndata: {}\n\n";

pub(crate) async fn live(
    State(state): State<AppState>,
    client: ClientAddr,
    visitor: Visitor,
) -> Result<Response, ApiError> {
    // The place is held by the stream and given back when it ends or the client goes away.
    let slot = state
        .live_streams
        .admit(client.0)
        .map_err(|refusal| match refusal {
            Refusal::Address => ApiError::TooManyRequests(RETRY),
            Refusal::Full => ApiError::Busy(RETRY),
        })?;
    let page = Page {
        viewer: visitor.user.map(|claims| claims.id),
        told: state.live.subscribe(),
        closing: state.live.closing(),
        silent_since: Instant::now(),
        _slot: slot,
    };
    let body = Body::from_stream(stream::unfold(page, Page::next));
    Ok((
        [
            (CONTENT_TYPE, "text/event-stream"),
            (CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}

/// One open page's stream.
struct Page {
    viewer: Option<UserId>,
    told: broadcast::Receiver<Arc<Told>>,
    closing: watch::Receiver<bool>,
    /// When the stream last sent anything.
    silent_since: Instant,
    _slot: Slot,
}

impl Page {
    /// The next piece of text the page is sent: what a read of the outboxes told it, a resync, or
    /// a comment after `KEEP_ALIVE` of silence; `None` ends the stream (the node is stopping).
    async fn next(mut self) -> Option<(Result<Bytes, Infallible>, Page)> {
        loop {
            if *self.closing.borrow() {
                return None;
            }
            let text = tokio::select! {
                received = self.told.recv() => match received {
                    Ok(told) => told.for_page(self.viewer),
                    Err(RecvError::Lagged(_)) => Bytes::from_static(RESYNC),
                    Err(RecvError::Closed) => return None,
                },
                _ = self.closing.changed() => return None,
                _ = tokio::time::sleep_until(self.silent_since + KEEP_ALIVE) => {
                    Bytes::from_static(COMMENT)
                }
            };
            if text.is_empty() {
                continue;
            }
            self.silent_since = Instant::now();
            return Some((Ok(text), self));
        }
    }
}
