//! `/api/tickets*`: list, show, sell and edit tickets.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use tix_core::ids::{TicketId, UserId};
use tix_core::tickets::{Ticket, TicketDetails, TicketDraft};
use tix_core::time::Millis;

use super::error::ApiError;
use super::input::{Body, PathId, Session, Validator, positive_number, string};
use crate::state::AppState;
use crate::writer::Command;

/// Longest title accepted; a ticket is a line on a list, not a document.
const MAX_TITLE_CHARS: usize = 200;
/// Longest show, venue, seat or start text accepted.
const MAX_DETAIL_CHARS: usize = 120;
/// Highest price accepted, so that every price can be charged.
const MAX_PRICE: f64 = 999_999.99;

pub(super) async fn create(
    State(state): State<AppState>,
    session: Session,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let seller = session.require()?;
    let draft = draft(&body.object()?, NEW_PRICE_MESSAGE)?;
    let ticket = sell(&state, seller.id, draft).await?;
    Ok((StatusCode::CREATED, Json(ticket_json(&ticket))))
}

/// Lists a new ticket for `seller`.
pub(crate) async fn sell(
    state: &AppState,
    seller: UserId,
    draft: TicketDraft,
) -> Result<Ticket, ApiError> {
    let id = TicketId(state.ids.next(state.clock.now()));
    Ok(state
        .writer
        .request(|reply| Command::CreateTicket {
            id,
            seller,
            draft,
            reply,
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
        .request(|reply| Command::UpdateTicket {
            id,
            editor,
            draft,
            reply,
        })
        .await??)
}

pub(super) async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let tickets = state.stores.tickets.list_available()?;
    Ok(Json(Value::Array(
        tickets.iter().map(ticket_json).collect(),
    )))
}

pub(super) async fn show(
    State(state): State<AppState>,
    path: PathId,
) -> Result<Json<Value>, ApiError> {
    let id: TicketId = path.parse()?;
    let ticket = state.stores.tickets.get(id)?.ok_or(ApiError::NotFound)?;
    Ok(Json(ticket_json(&ticket)))
}

pub(super) async fn update(
    State(state): State<AppState>,
    session: Session,
    path: PathId,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let editor = session.require()?;
    let draft = draft(&body.object()?, EDIT_PRICE_MESSAGE)?;
    let id: TicketId = path.parse()?;
    let ticket = edit(&state, editor.id, id, draft).await?;
    Ok(Json(ticket_json(&ticket)))
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

/// The seed's ticket JSON; `orderId` only while reserved.
pub(crate) fn ticket_json(ticket: &Ticket) -> Value {
    let mut json = json!({
        "title": ticket.title,
        "price": price_json(ticket.price),
        "userId": ticket.user_id,
        "version": ticket.version,
        "id": ticket.id,
    });
    if let Some(order_id) = ticket.order_id {
        json["orderId"] = json!(order_id);
    }
    let details = &ticket.details;
    for (field, value) in [
        ("show", &details.show),
        ("venue", &details.venue),
        ("startsAt", &details.starts_at),
        ("seat", &details.seat),
    ] {
        if let Some(value) = value {
            json[field] = json!(value);
        }
    }
    json
}

/// A price as JavaScript would print it: `20`, not `20.0`.
pub(crate) fn price_json(price: f64) -> Value {
    if price.fract() == 0.0 && price.abs() < 9_007_199_254_740_992.0 {
        json!(price as i64)
    } else {
        json!(price)
    }
}
