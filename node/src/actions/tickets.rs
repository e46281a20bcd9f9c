//! Selling and editing a ticket: the seed's checks and messages for a listing, and the writer's
//! commands for it.

use serde_json::{Map, Value};

use tix_core::ids::{TicketId, UserId};
use tix_core::reactions::Service;
use tix_core::tickets::{Ticket, TicketDetails, TicketDraft, TicketsStore};
use tix_core::time::Millis;

use super::error::ApiError;
use super::validate::{Validator, positive_number, string};
use crate::state::AppState;

/// Longest title accepted; a ticket is a line on a list, not a document.
const MAX_TITLE_CHARS: usize = 200;
/// Longest show, venue, seat or start text accepted.
const MAX_DETAIL_CHARS: usize = 120;
/// Highest price accepted, so that every price can be charged.
const MAX_PRICE: f64 = 999_999.99;

/// Lists a new ticket for `seller`.
pub(crate) async fn sell(
    state: &AppState,
    seller: UserId,
    draft: TicketDraft,
) -> Result<Ticket, ApiError> {
    let id = TicketId(state.ids.next(state.clock.now()));
    Ok(state
        .writer
        .run(Service::Tickets, move |unit, _| {
            TicketsStore::create(unit, id, seller, draft)
        })
        .await??)
}

/// Edits `id` on behalf of `editor`.
pub(crate) async fn edit(
    state: &AppState,
    editor: UserId,
    id: TicketId,
    draft: TicketDraft,
) -> Result<Ticket, ApiError> {
    Ok(state
        .writer
        .run(Service::Tickets, move |unit, _| {
            TicketsStore::update(unit, id, editor, draft)
        })
        .await??)
}

/// The seed's price message when listing a ticket.
pub(crate) const NEW_PRICE_MESSAGE: &str = "Price must be greater than 0";
/// The seed's price message when editing one.
pub(crate) const EDIT_PRICE_MESSAGE: &str = "Price must be provided and must be greater than 0";

/// A listing or an edit from `{title, price, show?, venue?, startsAt?, seat?}`, with the seed's
/// checks and messages.
pub(crate) fn draft(
    body: &Map<String, Value>,
    price_message: &str,
) -> Result<TicketDraft, ApiError> {
    let mut check = Validator::default();
    let title = string(body, "title").filter(|t| !t.is_empty());
    match title {
        None => check.fail("title", "Title is required"),
        Some(t) if t.chars().count() > MAX_TITLE_CHARS => check.fail(
            "title",
            &format!("Title must be at most {MAX_TITLE_CHARS} characters"),
        ),
        Some(_) => {}
    }
    let price = positive_number(body.get("price"));
    match price {
        None => check.fail("price", price_message),
        Some(p) if p > MAX_PRICE => {
            check.fail("price", &format!("Price must be at most {MAX_PRICE}"))
        }
        Some(_) => {}
    }
    let details = details(body, &mut check);
    check.finish()?;
    Ok(TicketDraft {
        title: title.unwrap_or_default().to_owned(),
        price: price.unwrap_or_default(),
        details,
    })
}

/// The optional details: each a string of at most `MAX_DETAIL_CHARS` (empty clears it on an
/// edit); `startsAt` an RFC 3339 time, kept in the API's own form.
fn details(body: &Map<String, Value>, check: &mut Validator) -> TicketDetails {
    let mut text = |field: &str| match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() <= MAX_DETAIL_CHARS => {
            Some(s.trim().to_owned())
        }
        Some(Value::String(_)) => {
            check.fail(
                field,
                &format!("{field} must be at most {MAX_DETAIL_CHARS} characters"),
            );
            None
        }
        Some(_) => {
            check.fail(field, &format!("{field} must be text"));
            None
        }
    };
    let show = text("show");
    let venue = text("venue");
    let seat = text("seat");
    let starts_at = match text("startsAt") {
        Some(s) if s.is_empty() => Some(s),
        Some(s) => match Millis::parse_iso(&s) {
            Some(at) => Some(at.to_iso()),
            None => {
                check.fail(
                    "startsAt",
                    "startsAt must be a date and time such as 2026-12-31T20:00:00Z",
                );
                None
            }
        },
        None => None,
    };
    TicketDetails {
        show,
        venue,
        starts_at,
        seat,
    }
}
