//! `GET /live`: the live-update feed as server-sent events, for the pages' own script.
//!
//! Events: `ticket` (public: a ticket listed or changed, with its state), `order` (only the
//! visitor's own orders), `seats` (public: units of a show held, released or sold), and `resync` when this connection fell behind and missed notices (the
//! page reloads). The stream ends when the node starts to stop. Open streams are capped per client
//! address (429 beyond) and in total (503 beyond), both with `Retry-After`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

use tix_core::ids::UserId;

use crate::actions::ApiError;
use crate::admission::Refusal;
use crate::client::ClientAddr;
use crate::live::{Notice, Told};
use crate::state::AppState;

use super::frame::Visitor;

/// How often an idle stream sends a comment, so proxies and kiosks notice a dead connection.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// When a client refused a stream is told to try again (the page's script backs off further).
const RETRY: Duration = Duration::from_secs(30);

pub(crate) async fn live(
    State(state): State<AppState>,
    client: ClientAddr,
    visitor: Visitor,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // The place is held by the stream and given back when it ends or the client goes away.
    let slot = state
        .live_streams
        .admit(client.0)
        .map_err(|refusal| match refusal {
            Refusal::Address => ApiError::TooManyRequests(RETRY),
            Refusal::Full => ApiError::Busy(RETRY),
        })?;
    let viewer = visitor.user.map(|claims| claims.id);
    let notices = state.live.subscribe();
    let closing = state.live.closing();
    let events = stream::unfold(
        (notices, closing, slot),
        move |(mut notices, mut closing, slot)| async move {
            loop {
                if *closing.borrow() {
                    return None;
                }
                let received = tokio::select! {
                    received = notices.recv() => received,
                    _ = closing.changed() => return None,
                };
                let event = match received {
                    Ok(notice) => match event_for(&notice, viewer) {
                        Some(event) => event,
                        None => continue,
                    },
                    Err(RecvError::Lagged(_)) => Event::default().event("resync").data("{}"),
                    Err(RecvError::Closed) => return None,
                };
                return Some((Ok(event), (notices, closing, slot)));
            }
        },
    );
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// The event `viewer` sees for `notice`: every ticket notice, and order notices of their own.
fn event_for(told: &Told, viewer: Option<UserId>) -> Option<Event> {
    let name = match &told.notice {
        Notice::Ticket { .. } => "ticket",
        Notice::Seats { .. } => "seats",
        Notice::Order { buyer, .. } if Some(*buyer) == viewer => "order",
        Notice::Order { .. } => return None,
    };
    Some(Event::default().event(name).data(&told.json))
}
