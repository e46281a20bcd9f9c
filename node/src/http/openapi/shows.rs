//! The show routes' operations and schemas, declared for the `OpenApi` derive in `openapi.rs`.

// Read by the derive only.
#![allow(dead_code)]

use serde::Serialize;
use utoipa::ToSchema;

use super::{Errors, Order};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum NewShowStatus {
    Draft,
    OnSale,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ShowStatus {
    Draft,
    OnSale,
    SalesStopped,
    Cancelled,
}

/// A new show: details, price categories and its inventory (`areas`, `seatMap` or `seatMapCsv`,
/// `generate`: at least one; at most 100,000 tickets in all). Times are RFC 3339.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ShowRequest {
    #[schema(min_length = 1, max_length = 200)]
    title: String,
    #[schema(nullable = false)]
    description: Option<String>,
    #[schema(nullable = false)]
    performers: Option<Vec<String>>,
    #[schema(format = DateTime)]
    starts_at: String,
    #[schema(nullable = false, format = DateTime)]
    ends_at: Option<String>,
    #[schema(nullable = false, format = DateTime)]
    doors_at: Option<String>,
    #[schema(nullable = false)]
    hall: Option<String>,
    #[schema(nullable = false, format = DateTime)]
    on_sale_at: Option<String>,
    #[schema(nullable = false, format = DateTime)]
    off_sale_at: Option<String>,
    /// Re-entry: a ticket scanned out at the door may come back in (false when left out).
    #[schema(nullable = false)]
    reentry: Option<bool>,
    /// On sale at once unless `draft` (or `onSaleAt` is in the future).
    #[schema(nullable = false)]
    status: Option<NewShowStatus>,
    #[schema(nullable = false, minimum = 1, maximum = 50)]
    max_per_order: Option<u32>,
    #[schema(min_items = 1, max_items = 50)]
    categories: Vec<CategoryIn>,
    #[schema(nullable = false)]
    areas: Option<Vec<AreaIn>>,
    #[schema(nullable = false)]
    seat_map: Option<SeatMapIn>,
    /// The seat map as CSV: a header `section,row,seat,category,x,y`, then a seat per line.
    #[schema(nullable = false)]
    seat_map_csv: Option<String>,
    #[schema(nullable = false)]
    generate: Option<Vec<GenerateIn>>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CategoryIn {
    #[schema(min_length = 1, max_length = 120)]
    name: String,
    /// Above 0, in whole cents; a decimal string or a number.
    #[schema(example = "20.00")]
    price: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AreaIn {
    #[schema(min_length = 1, max_length = 120)]
    name: String,
    /// A category's name.
    category: String,
    #[schema(minimum = 1, maximum = 100000)]
    capacity: u32,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SeatMapIn {
    sections: Vec<SectionIn>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SectionIn {
    name: String,
    rows: Vec<RowIn>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RowIn {
    name: String,
    #[schema(max_items = 1000)]
    seats: Vec<SeatIn>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SeatIn {
    name: String,
    category: String,
    x: f64,
    y: f64,
    /// Lower ranks sell first (the order given, by default).
    #[schema(nullable = false, minimum = 1)]
    rank: Option<u32>,
    #[schema(nullable = false)]
    flags: Option<Vec<String>>,
}

/// `rows` rows of `seatsPerRow` seats, rows and seats numbered from 1; the middle of the front
/// row ranks best.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GenerateIn {
    section: String,
    category: String,
    #[schema(minimum = 1, maximum = 1000)]
    rows: u32,
    #[schema(minimum = 1, maximum = 1000)]
    seats_per_row: u32,
}

/// What `PATCH` may change: details, maximum per order, prices of categories nothing holds.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ShowEdit {
    #[schema(nullable = false, min_length = 1, max_length = 200)]
    title: Option<String>,
    #[schema(nullable = false)]
    description: Option<String>,
    #[schema(nullable = false, format = DateTime)]
    starts_at: Option<String>,
    #[schema(nullable = false)]
    reentry: Option<bool>,
    #[schema(nullable = false, minimum = 1, maximum = 50)]
    max_per_order: Option<u32>,
    #[schema(nullable = false)]
    categories: Option<Vec<CategoryIn>>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Show {
    id: String,
    title: String,
    description: String,
    performers: Vec<String>,
    starts_at: String,
    ends_at: Option<String>,
    doors_at: Option<String>,
    hall: String,
    on_sale_at: Option<String>,
    off_sale_at: Option<String>,
    reentry: bool,
    status: ShowStatus,
    /// Whether tickets can be ordered now.
    selling: bool,
    max_per_order: u32,
    categories: Vec<CategoryOut>,
    areas: Vec<AreaOut>,
    /// How many tickets the show has.
    tickets: u32,
    version: u64,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CategoryOut {
    name: String,
    price: String,
    capacity: u32,
    available: u32,
    held: u32,
    sold: u32,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AreaOut {
    name: String,
    category: String,
    capacity: u32,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaidOrder {
    order_id: String,
    tickets: u32,
    total: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CancelledShow {
    #[serde(flatten)]
    show: Show,
    /// The paid orders to refund.
    paid_orders: Vec<PaidOrder>,
}

/// `{category, quantity, allowSplit?}` for best available, or `{seats}` for exactly those.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ShowOrderRequest {
    #[schema(nullable = false)]
    category: Option<String>,
    #[schema(nullable = false, minimum = 1)]
    quantity: Option<u32>,
    #[schema(nullable = false)]
    allow_split: Option<bool>,
    #[schema(nullable = false)]
    seats: Option<Vec<String>>,
}

/// Each seat is `[ticketId, name, x, y, category index, state]` (state `a`, `h` or `s`), with
/// its flags as a seventh element when it has any.
#[derive(Serialize, ToSchema)]
pub(crate) struct SeatMap {
    show: String,
    version: u64,
    categories: Vec<MapCategory>,
    areas: Vec<MapArea>,
    sections: Vec<MapSection>,
    seat: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct MapCategory {
    name: String,
    price: String,
    available: u32,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct MapArea {
    name: String,
    category: u32,
    capacity: u32,
    available: u32,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct MapSection {
    name: String,
    rows: Vec<MapRow>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct MapRow {
    name: String,
    seats: Vec<Vec<serde_json::Value>>,
}

#[utoipa::path(post, path = "/api/shows", tag = "shows", request_body = ShowRequest,
    security(("session" = [])),
    responses(
        (status = 201, description = "Created with all its tickets", body = Show),
        (status = 400, description = "A field is missing or breaks a rule (each problem names its field)", body = Errors),
        (status = 401, description = "Not signed in as staff", body = Errors),
        (status = 413, description = "Body over 16 MiB (16 KiB without a session)", body = Errors),
    ))]
pub(super) fn create_show() {}

#[utoipa::path(get, path = "/api/shows", tag = "shows",
    params(
        ("from" = Option<String>, Query, description = "Shows starting at or after (a day ago)", format = DateTime),
        ("to" = Option<String>, Query, description = "Shows starting before (no end)", format = DateTime),
        ("q" = Option<String>, Query, description = "Words every listed show has in its title, performers, hall, description or date (\"friday\", \"dec\", \"2026-12-04\")"),
    ),
    responses(
        (status = 200, description = "Shows in the window, soonest first", body = [Show]),
        (status = 400, description = "A time that is not one", body = Errors),
    ))]
pub(super) fn list_shows() {}

#[utoipa::path(get, path = "/api/shows/{id}", tag = "shows",
    params(("id" = String, Path, description = "The show's id (24 hex digits)", pattern = "^[0-9a-f]{24}$")),
    responses(
        (status = 200, description = "The show with its availability per category", body = Show),
        (status = 400, description = "Malformed id", body = Errors),
        (status = 404, description = "No such show", body = Errors),
    ))]
pub(super) fn show_show() {}

#[utoipa::path(patch, path = "/api/shows/{id}", tag = "shows", request_body = ShowEdit,
    params(("id" = String, Path, description = "The show's id (24 hex digits)", pattern = "^[0-9a-f]{24}$")),
    security(("session" = [])),
    responses(
        (status = 200, description = "Changed", body = Show),
        (status = 400, description = "Invalid input, malformed id, a price of a category with tickets held or sold, or a cancelled show", body = Errors),
        (status = 401, description = "Not signed in as staff", body = Errors),
        (status = 404, description = "No such show", body = Errors),
        (status = 413, description = "Body over 16 KiB", body = Errors),
    ))]
pub(super) fn edit_show() {}

#[utoipa::path(get, path = "/api/shows/{id}/seats", tag = "shows",
    params(
        ("id" = String, Path, description = "The show's id (24 hex digits)", pattern = "^[0-9a-f]{24}$"),
        ("If-None-Match" = Option<String>, Header, description = "The ETag of a map already held"),
    ),
    responses(
        (status = 200, description = "The seat map with each seat's state; ETag header", body = SeatMap),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 400, description = "Malformed id", body = Errors),
        (status = 404, description = "No such show", body = Errors),
    ))]
pub(super) fn show_seats() {}

#[utoipa::path(post, path = "/api/shows/{id}/orders", tag = "shows", request_body = ShowOrderRequest,
    params(("id" = String, Path, description = "The show's id (24 hex digits)", pattern = "^[0-9a-f]{24}$")),
    security(("session" = [])),
    responses(
        (status = 201, description = "Ordered: every ticket is locked until expiresAt", body = Order),
        (status = 400, description = "Invalid input, malformed id, not on sale, unknown category, too many, not enough together, or seats taken", body = Errors),
        (status = 401, description = "Not signed in", body = Errors),
        (status = 404, description = "No such show", body = Errors),
        (status = 413, description = "Body over 16 KiB", body = Errors),
    ))]
pub(super) fn order_show() {}

#[utoipa::path(get, path = "/api/shows/{id}/orders", tag = "shows",
    params(("id" = String, Path, description = "The show's id (24 hex digits)", pattern = "^[0-9a-f]{24}$")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The show's paid orders", body = [PaidOrder]),
        (status = 400, description = "Malformed id", body = Errors),
        (status = 401, description = "Not signed in as staff", body = Errors),
        (status = 404, description = "No such show", body = Errors),
    ))]
pub(super) fn show_paid_orders() {}

#[utoipa::path(post, path = "/api/shows/{id}/stop", tag = "shows",
    params(("id" = String, Path, description = "The show's id (24 hex digits)", pattern = "^[0-9a-f]{24}$")),
    security(("session" = [])),
    responses(
        (status = 200, description = "Sales stopped", body = Show),
        (status = 400, description = "Malformed id, or the show is cancelled", body = Errors),
        (status = 401, description = "Not signed in as staff", body = Errors),
        (status = 404, description = "No such show", body = Errors),
    ))]
pub(super) fn stop_show() {}

#[utoipa::path(post, path = "/api/shows/{id}/resume", tag = "shows",
    params(("id" = String, Path, description = "The show's id (24 hex digits)", pattern = "^[0-9a-f]{24}$")),
    security(("session" = [])),
    responses(
        (status = 200, description = "On sale (again)", body = Show),
        (status = 400, description = "Malformed id, or the show is cancelled", body = Errors),
        (status = 401, description = "Not signed in as staff", body = Errors),
        (status = 404, description = "No such show", body = Errors),
    ))]
pub(super) fn resume_show() {}

#[utoipa::path(post, path = "/api/shows/{id}/cancel", tag = "shows",
    params(("id" = String, Path, description = "The show's id (24 hex digits)", pattern = "^[0-9a-f]{24}$")),
    security(("session" = [])),
    responses(
        (status = 200, description = "Cancelled for good: open orders released, paid ones listed", body = CancelledShow),
        (status = 400, description = "Malformed id, or already cancelled", body = Errors),
        (status = 401, description = "Not signed in as staff", body = Errors),
        (status = 404, description = "No such show", body = Errors),
    ))]
pub(super) fn cancel_show() {}
