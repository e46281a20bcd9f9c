//! The events of shows: a show put on sale (with its inventory, in the form it was given), its
//! later changes, and the show part of multi-ticket orders.
//!
//! A show of 100,000 seats is not 100,000 events: `show:created` carries the details, the price
//! categories, the standing areas and the generator's rules, and the seats given one by one travel
//! in `show:seats` events of whole rows, each well under the broker's message size limit. Every
//! ticket id is derived from the show's id and the unit's index (`ShowId::unit`); the units are
//! numbered areas first, then the rows of the `show:seats` events in order, then the generated
//! rows (`crate::shows::Layout` does the numbering for every consumer).

use serde::{Deserialize, Serialize};

use crate::ids::{ShowId, TicketId};

/// Where a show stands in its life. Sales happen only `OnSale`, and only between its on-sale and
/// off-sale times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShowStatus {
    Draft,
    OnSale,
    SalesStopped,
    Cancelled,
}

impl ShowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ShowStatus::Draft => "draft",
            ShowStatus::OnSale => "on-sale",
            ShowStatus::SalesStopped => "sales-stopped",
            ShowStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<ShowStatus> {
        [
            ShowStatus::Draft,
            ShowStatus::OnSale,
            ShowStatus::SalesStopped,
            ShowStatus::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// What describes a show besides its inventory; times are RFC 3339 UTC.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShowDetails {
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub performers: Vec<String>,
    pub starts_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doors_at: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hall: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_sale_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off_sale_at: Option<String>,
    /// Re-entry: a ticket scanned out at the door may come back in.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reentry: bool,
}

/// A price category; seats and areas name it by its index in the show's list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    pub name: String,
    pub price: f64,
}

/// A general-admission area: `capacity` interchangeable units of one category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Area {
    pub name: String,
    pub category: u16,
    pub capacity: u32,
}

/// A block of rows made by the generator: `rows` rows of `seats_per_row` seats, rows named 1, 2,
/// ... front to back, seats 1, 2, ... left to right; the middle of a front row ranks best.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Generate {
    pub section: String,
    pub category: u16,
    pub rows: u32,
    pub seats_per_row: u32,
}

/// One row of seats as given, left to right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeatRow {
    pub section: String,
    pub name: String,
    pub seats: Vec<Seat>,
}

/// A seat: its name in the row, its category, where it is drawn, how good it is (lower ranks
/// sell first) and flags such as `wheelchair`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seat {
    pub name: String,
    #[serde(rename = "c")]
    pub category: u16,
    pub x: f64,
    pub y: f64,
    #[serde(rename = "r")]
    pub rank: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

/// `show:created`: a show and its whole inventory (the given rows follow in `show:seats`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShowCreated {
    pub id: ShowId,
    pub version: u64,
    #[serde(flatten)]
    pub details: ShowDetails,
    pub status: ShowStatus,
    pub max_per_order: u32,
    pub categories: Vec<Category>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub areas: Vec<Area>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generate: Vec<Generate>,
    /// How many rows the `show:seats` events that follow carry, in all.
    pub given_rows: u32,
    /// How many units the show has: area places, given seats and generated seats.
    pub units: u32,
}

/// `show:seats`: some of the rows a show's seat map gave, numbered on from `first_row`; their
/// seats are the units from `first_unit` on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShowSeats {
    pub show: ShowId,
    pub first_row: u32,
    pub first_unit: u32,
    pub rows: Vec<SeatRow>,
}

/// `show:updated`: the show's details, status, maximum per order and prices as they now are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShowUpdated {
    pub id: ShowId,
    pub version: u64,
    #[serde(flatten)]
    pub details: ShowDetails,
    pub status: ShowStatus,
    pub max_per_order: u32,
    pub categories: Vec<Category>,
}

/// The show part of an order event: which show, which of its units, and the order's total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShowPart {
    pub id: ShowId,
    pub tickets: Vec<UnitRef>,
    pub total: f64,
}

/// One unit of a show's order: its ticket id, its index in the show, category and price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitRef {
    pub id: TicketId,
    #[serde(rename = "i")]
    pub index: u32,
    #[serde(rename = "c")]
    pub category: u16,
    pub price: f64,
}
