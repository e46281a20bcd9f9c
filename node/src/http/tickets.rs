//! `/api/tickets*`: list, show, sell and edit tickets.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use tix_core::ids::TicketId;
use tix_core::tickets::Ticket;

use super::input::{Body, PathId, Session};
use super::json_array;
use crate::actions::ApiError;
use crate::actions::tickets::{EDIT_PRICE_MESSAGE, NEW_PRICE_MESSAGE, draft, edit, sell};
use crate::state::AppState;

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

/// The tickets no order holds, in listing order: the seed's JSON array, streamed from one read
/// transaction a piece at a time rather than built whole (`json_array`).
pub(super) async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let stores = state.stores.clone();
    json_array::stream(move |push| {
        stores
            .tickets
            .visit_available(|ticket| push(&ticket_json(&ticket)))
    })
    .await
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
