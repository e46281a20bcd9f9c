//! The commands of selling a show to a party at the counter: list the shows, read a show's seat
//! map, hold a party's tickets (best available, or seats picked on the map), and find any order by
//! its number. Paying and printing are the counter's usual commands.

use serde_json::{Value, json};
use tauri::State;

use crate::commands::{path_id, with_query};
use crate::desk::Desk;
use crate::error::DeskError;

/// Shows starting from `from` (ISO; the window sends the start of its day) until `to` (ISO;
/// every later one when none), soonest first, with availability per category.
#[tauri::command]
pub async fn shows(
    desk: State<'_, Desk>,
    from: Option<String>,
    to: Option<String>,
) -> Result<Vec<Value>, DeskError> {
    let client = desk.client().await?;
    let window: Vec<(&str, &str)> = [("from", from.as_deref()), ("to", to.as_deref())]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value.map(str::trim).filter(|v| !v.is_empty())?)))
        .collect();
    let path = if window.is_empty() {
        "/api/shows".to_owned()
    } else {
        with_query("/api/shows", &window)
    };
    let listed = client.get(&path).await?;
    Ok(listed.as_array().cloned().unwrap_or_default())
}

/// A show's seat map: sections of rows of seats, each `[ticketId, name, x, y, category, state,
/// flags?]`.
#[tauri::command]
pub async fn show_seats(desk: State<'_, Desk>, show_id: String) -> Result<Value, DeskError> {
    let client = desk.client().await?;
    let path = format!("/api/shows/{}/seats", path_id(&show_id, "a show")?);
    found(
        client.get(&path).await,
        "That show is no longer on the node",
    )
}

/// Holds the best `quantity` seats of `category` together for the party at the counter: one
/// order placed by the staff member, paid like any other.
#[tauri::command]
pub async fn order_best(
    desk: State<'_, Desk>,
    show_id: String,
    category: String,
    quantity: u32,
) -> Result<Value, DeskError> {
    let body = json!({ "category": category, "quantity": quantity, "allowSplit": false });
    order_show(&desk, &show_id, body).await
}

/// Holds the seats picked on the map (their ticket ids) for the party at the counter.
#[tauri::command]
pub async fn order_seats(
    desk: State<'_, Desk>,
    show_id: String,
    seats: Vec<String>,
) -> Result<Value, DeskError> {
    order_show(&desk, &show_id, json!({ "seats": seats })).await
}

async fn order_show(desk: &Desk, show_id: &str, body: Value) -> Result<Value, DeskError> {
    let client = desk.client().await?;
    let path = format!("/api/shows/{}/orders", path_id(show_id, "a show")?);
    found(
        client.post(&path, body).await,
        "That show is no longer on the node",
    )
}

/// Any order by its number (a kiosk guest's too), with its payment and its buyer's email.
#[tauri::command]
pub async fn order_by_number(desk: State<'_, Desk>, order_id: String) -> Result<Value, DeskError> {
    let client = desk.client().await?;
    let id = order_id.trim();
    let path = format!("/api/box-office/orders/{}", path_id(id, "an order")?);
    found(client.get(&path).await, "No order has that number")
}

/// The node's 404 in words staff can act on.
fn found(answer: Result<Value, DeskError>, missing: &str) -> Result<Value, DeskError> {
    match answer {
        Err(DeskError::Refused { status: 404, .. }) => Err(DeskError::NotFound(missing.into())),
        other => other,
    }
}
