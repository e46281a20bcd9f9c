//! `/api/shows*`: shows and their inventory. Anyone may read them and order their tickets; staff
//! create, change, stop, resume and cancel them.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header::{ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use tix_core::ids::ShowId;
use tix_core::shows::{SeatMap, Show, ShowStatus, UnitState};
use tix_core::time::Millis;

use super::box_office::require_staff;
use super::input::{Body, LargeBody, PathId, Session};
use super::orders::order_json;
use crate::actions::validate::Validator;
use crate::actions::{self, ApiError};
use crate::search::ShowQuery;
use crate::state::AppState;

/// Most shows one list answers with.
const LIST_LIMIT: usize = 500;

/// `POST /api/shows`: a new show with all its tickets (staff).
pub(super) async fn create(
    State(state): State<AppState>,
    session: Session,
    body: LargeBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    require_staff(&state, session).await?;
    let body = body.object()?;
    let show = actions::shows::create(&state, &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(show_json(&show, state.clock.now())),
    ))
}

/// `GET /api/shows?from=&to=&q=`: shows starting in that window (by default, from a day ago on),
/// soonest first, with availability per category; with `q`, only those whose title, performers,
/// hall, description or date have every word of it.
pub(super) async fn list(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let now = state.clock.now();
    let mut check = Validator::default();
    let mut instant = |name: &str, default: Millis| match params.get(name) {
        None => Some(default),
        Some(text) => check.require(
            Millis::parse_iso(text),
            name,
            &format!("{name} must be a date and time such as 2026-12-04T20:00:00Z"),
        ),
    };
    // A show that started within the last day is still "upcoming" enough to be listed.
    let from = instant("from", Millis(now.0.saturating_sub(86_400_000)));
    let to = instant("to", Millis::LAST_ISO);
    check.finish()?;
    let (from, to) = (from.unwrap_or_default(), to.unwrap_or_default());
    let query = ShowQuery::parse(params.get("q").map(String::as_str).unwrap_or_default());
    let limit = if query.is_empty() {
        LIST_LIMIT
    } else {
        usize::MAX
    };
    let shows = state.stores.shows.list(from, to, limit)?;
    Ok(Json(Value::Array(
        shows
            .iter()
            .filter(|s| query.matches(s))
            .take(LIST_LIMIT)
            .map(|s| show_json(s, now))
            .collect(),
    )))
}

/// `GET /api/shows/{id}`.
pub(super) async fn show(
    State(state): State<AppState>,
    path: PathId,
) -> Result<Json<Value>, ApiError> {
    let id: ShowId = path.parse()?;
    let show = state.stores.shows.get(id)?.ok_or(ApiError::NotFound)?;
    Ok(Json(show_json(&show, state.clock.now())))
}

/// `PATCH /api/shows/{id}`: details, maximum per order, prices of categories nothing holds (staff).
pub(super) async fn edit(
    State(state): State<AppState>,
    session: Session,
    path: PathId,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    require_staff(&state, session).await?;
    let body = body.object()?;
    let id: ShowId = path.parse()?;
    let show = actions::shows::edit(&state, id, &body).await?;
    Ok(Json(show_json(&show, state.clock.now())))
}

/// `POST /api/shows/{id}/stop`: sales stop; open orders may still be paid (staff).
pub(super) async fn stop(
    State(state): State<AppState>,
    session: Session,
    path: PathId,
) -> Result<Json<Value>, ApiError> {
    let show = move_to(&state, session, path, ShowStatus::SalesStopped).await?;
    Ok(Json(show_json(&show, state.clock.now())))
}

/// `POST /api/shows/{id}/resume`: a stopped show or a draft goes on sale (staff).
pub(super) async fn resume(
    State(state): State<AppState>,
    session: Session,
    path: PathId,
) -> Result<Json<Value>, ApiError> {
    let show = move_to(&state, session, path, ShowStatus::OnSale).await?;
    Ok(Json(show_json(&show, state.clock.now())))
}

/// `POST /api/shows/{id}/cancel`: for good: sales stop, open orders are released, and the answer
/// lists the paid orders to refund (staff).
pub(super) async fn cancel(
    State(state): State<AppState>,
    session: Session,
    path: PathId,
) -> Result<Json<Value>, ApiError> {
    let show = move_to(&state, session, path, ShowStatus::Cancelled).await?;
    let mut json = show_json(&show, state.clock.now());
    json["paidOrders"] = paid_orders_json(&state, show.id)?;
    Ok(Json(json))
}

/// `GET /api/shows/{id}/orders`: the show's paid orders (staff), for refunds.
pub(super) async fn paid_orders(
    State(state): State<AppState>,
    session: Session,
    path: PathId,
) -> Result<Json<Value>, ApiError> {
    require_staff(&state, session).await?;
    let id: ShowId = path.parse()?;
    state.stores.shows.get(id)?.ok_or(ApiError::NotFound)?;
    Ok(Json(paid_orders_json(&state, id)?))
}

/// `POST /api/shows/{id}/orders`: `{category, quantity, allowSplit?}` (best available) or
/// `{seats: [ticket ids]}`; all or nothing, under one lock.
pub(super) async fn order(
    State(state): State<AppState>,
    session: Session,
    path: PathId,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let buyer = session.require()?;
    let body = body.object()?;
    let pick = actions::shows::pick(&body)?;
    let id: ShowId = path.parse()?;
    let order = actions::shows::order(&state, buyer.id, id, pick).await?;
    Ok((StatusCode::CREATED, Json(order_json(&state.stores, &order))))
}

/// `GET /api/shows/{id}/seats`: the seat map with each unit's state, compact, with an `ETag`
/// that changes with every sale, release or edit (a poll with `If-None-Match` costs a 304).
pub(super) async fn seats(
    State(state): State<AppState>,
    path: PathId,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id: ShowId = path.parse()?;
    let show = state.stores.shows.get(id)?.ok_or(ApiError::NotFound)?;
    let etag = format!("\"{}-{}\"", show.version, show.seats_version);
    let tag = HeaderValue::from_str(&etag).map_err(|e| ApiError::Internal(e.to_string()))?;
    if headers.get(IF_NONE_MATCH) == Some(&tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(ETAG, tag)]).into_response());
    }
    let map = state.stores.shows.seat_map(id)?.ok_or(ApiError::NotFound)?;
    // The map read may be newer than the tag: tag what was read.
    let etag = format!("\"{}-{}\"", map.show.version, map.show.seats_version);
    let tag = HeaderValue::from_str(&etag).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(([(ETAG, tag)], Json(seat_map_json(&map))).into_response())
}

/// Moves the path's show to `status`, for staff.
async fn move_to(
    state: &AppState,
    session: Session,
    path: PathId,
    status: ShowStatus,
) -> Result<Show, ApiError> {
    require_staff(state, session).await?;
    let id: ShowId = path.parse()?;
    actions::shows::set_status(state, id, status).await
}

fn paid_orders_json(state: &AppState, id: ShowId) -> Result<Value, ApiError> {
    Ok(Value::Array(
        state
            .stores
            .shows
            .paid_orders(id)?
            .iter()
            .map(|p| json!({"orderId": p.order_id, "tickets": p.tickets, "total": money(p.total)}))
            .collect(),
    ))
}

/// Money as the show API writes it: a decimal string with two places.
fn money(amount: f64) -> String {
    format!("{amount:.2}")
}

/// A show as the API shows it.
pub(crate) fn show_json(show: &Show, now: Millis) -> Value {
    let d = &show.details;
    let at = |t: &Option<String>| t.as_deref().and_then(Millis::parse_iso);
    let selling = tix_core::shows::selling(show.status, at(&d.on_sale_at), at(&d.off_sale_at), now);
    let categories: Vec<Value> = show
        .categories
        .iter()
        .map(|c| {
            json!({"name": c.name, "price": money(c.price), "capacity": c.capacity,
                   "available": c.available(), "held": c.held, "sold": c.sold})
        })
        .collect();
    let areas: Vec<Value> = show
        .areas
        .iter()
        .map(|a| json!({"name": a.name, "category": show.categories[usize::from(a.category)].name, "capacity": a.capacity}))
        .collect();
    json!({
        "id": show.id,
        "title": d.title,
        "description": d.description,
        "performers": d.performers,
        "startsAt": d.starts_at,
        "endsAt": d.ends_at,
        "doorsAt": d.doors_at,
        "hall": d.hall,
        "onSaleAt": d.on_sale_at,
        "offSaleAt": d.off_sale_at,
        "reentry": d.reentry,
        "status": show.status.as_str(),
        "selling": selling.is_ok(),
        "maxPerOrder": show.max_per_order,
        "categories": categories,
        "areas": areas,
        "tickets": show.units,
        "version": show.version,
    })
}

/// The seat map: sections of rows of seats, each seat `[ticketId, name, x, y, category, state]`
/// (category an index into `categories`; state `a` available, `h` held, `s` sold) with its
/// flags as a seventh element when it has any; areas with their places available.
fn seat_map_json(map: &SeatMap) -> Value {
    let show = &map.show;
    let state_of = |index: u32| match map.taken.get(&index) {
        None => "a",
        Some(UnitState::Held) => "h",
        Some(UnitState::Sold) => "s",
    };
    let mut sections: Vec<Value> = Vec::new();
    let mut current: Option<(String, Vec<Value>)> = None;
    for map_row in map.rows.iter() {
        let seats: Vec<Value> = map_row
            .row
            .seats
            .iter()
            .enumerate()
            .map(|(i, seat)| {
                let index = map_row.first_unit + i as u32;
                let mut entry = vec![
                    json!(show.id.unit(index)),
                    json!(seat.name),
                    json!(seat.x),
                    json!(seat.y),
                    json!(seat.category),
                    json!(state_of(index)),
                ];
                if !seat.flags.is_empty() {
                    entry.push(json!(seat.flags));
                }
                Value::Array(entry)
            })
            .collect();
        let row = json!({"name": map_row.row.name, "seats": seats});
        match &mut current {
            Some((name, rows)) if *name == map_row.row.section => rows.push(row),
            _ => {
                if let Some((name, rows)) = current.take() {
                    sections.push(json!({"name": name, "rows": rows}));
                }
                current = Some((map_row.row.section.clone(), vec![row]));
            }
        }
    }
    if let Some((name, rows)) = current {
        sections.push(json!({"name": name, "rows": rows}));
    }
    let layout = show.layout();
    let areas: Vec<Value> = layout
        .areas()
        .map(|(first, area)| {
            let taken = map.taken.range(first..first + area.capacity).count() as u32;
            json!({"name": area.name, "category": area.category, "capacity": area.capacity,
                   "available": area.capacity - taken})
        })
        .collect();
    let categories: Vec<Value> = show
        .categories
        .iter()
        .map(|c| json!({"name": c.name, "price": money(c.price), "available": c.available()}))
        .collect();
    json!({
        "show": show.id,
        "version": show.seats_version,
        "categories": categories,
        "areas": areas,
        "sections": sections,
        "seat": ["id", "name", "x", "y", "category", "state", "flags"],
    })
}
