//! `GET /live`: the live-update feed as server-sent events, for the pages' own script.
//!
//! Events: `ticket` (public: a ticket listed or changed, with its state), `order` (only the
//! visitor's own orders), and `resync` when this connection fell behind and missed notices (the
//! page reloads). The stream ends when the node starts to stop.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

use tix_core::ids::UserId;

use crate::live::Notice;
use crate::state::AppState;

use super::frame::Visitor;

/// How often an idle stream sends a comment, so proxies and kiosks notice a dead connection.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub(crate) async fn live(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let viewer = visitor.user.map(|claims| claims.id);
    let notices = state.live.subscribe();
    let closing = state.live.closing();
    let events = stream::unfold(
        (notices, closing),
        move |(mut notices, mut closing)| async move {
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
                return Some((Ok(event), (notices, closing)));
            }
        },
    );
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

/// The event `viewer` sees for `notice`: every ticket notice, and order notices of their own.
fn event_for(notice: &Arc<Notice>, viewer: Option<UserId>) -> Option<Event> {
    let name = match notice.as_ref() {
        Notice::Ticket { .. } => "ticket",
        Notice::Order { buyer, .. } if Some(*buyer) == viewer => "order",
        Notice::Order { .. } => return None,
    };
    Event::default().event(name).json_data(notice.as_ref()).ok()
}
