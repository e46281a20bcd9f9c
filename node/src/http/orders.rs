//! `/api/orders*`: lock a ticket by ordering it, list and show your orders, cancel one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use tix_core::ids::{OrderId, TicketId};
use tix_core::orders::Order;

use super::input::{Body, PathId, Session};
use super::tickets::price_json;
use crate::actions::validate::Validator;
use crate::actions::{self, ApiError};
use crate::state::AppState;
use crate::stores::Stores;

pub(super) async fn place(
    State(state): State<AppState>,
    session: Session,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let buyer = session.require()?;
    let body = body.object()?;
    let mut check = Validator::default();
    let present = match body.get("ticketId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(value) => Some(value),
    };
    let present = check.require(present, "ticketId", "Invalid value");
    let ticket_id = check.require(
        present
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<TicketId>().ok()),
        "ticketId",
        "TicketId must be provided",
    );
    check.finish()?;
    let ticket = ticket_id.ok_or(ApiError::Malformed)?;

    let order = actions::orders::place(&state, buyer.id, ticket).await?;
    Ok((StatusCode::CREATED, Json(order_json(&state.stores, &order))))
}

pub(super) async fn list(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<Value>, ApiError> {
    let buyer = session.require()?;
    let orders = state.stores.orders.list_for_user(buyer.id)?;
    Ok(Json(Value::Array(
        orders
            .iter()
            .map(|o| order_json(&state.stores, o))
            .collect(),
    )))
}

pub(super) async fn show(
    State(state): State<AppState>,
    session: Session,
    path: PathId,
) -> Result<Json<Value>, ApiError> {
    let buyer = session.require()?;
    let id: OrderId = path.parse()?;
    let order = state.stores.orders.get(id)?.ok_or(ApiError::NotFound)?;
    if order.user_id != buyer.id {
        return Err(ApiError::NotAuthorized);
    }
    let mut json = order_json(&state.stores, &order);
    put_passes(&state, &order, &mut json)?;
    Ok(Json(json))
}

/// A paid order's `passes`, one per ticket: `[{ticketId, code}]` (none once refunded).
pub(super) fn put_passes(
    state: &AppState,
    order: &Order,
    json: &mut Value,
) -> Result<(), ApiError> {
    if order.status != tix_core::events::OrderStatus::Complete {
        return Ok(());
    }
    let passes: Vec<Value> = actions::door::passes(state, order.id)?
        .into_iter()
        .map(|(ticket, code)| json!({"ticketId": ticket, "code": code}))
        .collect();
    json["passes"] = Value::Array(passes);
    Ok(())
}

pub(super) async fn cancel(
    State(state): State<AppState>,
    session: Session,
    path: PathId,
) -> Result<StatusCode, ApiError> {
    let requester = session.require()?;
    let id: OrderId = path.parse()?;
    actions::orders::cancel(&state, requester.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The seed's order JSON with the ticket populated (as it was locked); an order of a show's
/// tickets adds `show`, `tickets` (each with its seat or area), `quantity` and `total`.
pub(super) fn order_json(stores: &Stores, order: &Order) -> Value {
    let mut json = json!({
        "userId": order.user_id,
        "status": order.status,
        "expiresAt": order.expires_at.to_iso(),
        "ticket": {
            "title": order.ticket.title,
            "price": price_json(order.ticket.price),
            "version": order.ticket.version,
            "id": order.ticket.id,
        },
        "version": order.version,
        "id": order.id,
    });
    if let Some(part) = &order.show {
        let tickets: Vec<Value> = actions::shows::seat_lines(stores, order)
            .into_iter()
            .map(|t| json!({"id": t.id, "price": price_json(t.price), "category": t.category, "seat": t.seat}))
            .collect();
        json["show"] = json!(part.id);
        json["tickets"] = Value::Array(tickets);
        json["quantity"] = json!(part.tickets.len());
        json["total"] = price_json(part.total);
    }
    json
}
