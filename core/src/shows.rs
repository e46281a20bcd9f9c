//! Shows: a venue's events with their inventory of standing areas and reserved seats, each unit
//! a ticket with its own id, sold by quantity (best available) or by seat.
//!
//! The shows service owns what a show is (details, price categories, the seat map as given) and
//! what its units' states are for display (available, held, sold, counted per category). It never
//! decides who holds a unit: the orders service does, atomically, from its own replica of the
//! inventory (`crate::orders` reacts to `show:*` events), exactly as it does for single tickets.
//! The shows service follows the orders' events to keep counts and seat states. This module never
//! reads the clock.

mod check;
mod csv_map;
mod draft;
mod layout;
mod seat_map;
mod store;

use serde::{Deserialize, Serialize};

pub use self::draft::{EditPlan, Problem, ShowDraft, ShowEdit, ShowPlan};
pub use self::layout::{Layout, generated_rows, map_rows};
pub use self::store::{MapRow, SeatMap, ShowsStore, UnitState};
pub use crate::events::{Area, Category, Generate, Seat, SeatRow, ShowDetails, ShowStatus};
use crate::ids::{OrderId, ShowId};
use crate::time::Millis;

/// The most tickets one order of a show may hold, whatever the show allows.
pub const MAX_PER_ORDER_LIMIT: u32 = 50;
/// A show's maximum per order when its request names none.
pub const DEFAULT_MAX_PER_ORDER: u32 = 10;

/// A show as the shows service keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Show {
    pub id: ShowId,
    pub version: u64,
    pub details: ShowDetails,
    pub status: ShowStatus,
    pub max_per_order: u32,
    pub categories: Vec<CategoryCounts>,
    pub areas: Vec<Area>,
    pub generate: Vec<Generate>,
    pub given_rows: u32,
    pub units: u32,
    /// Moves on with every change of a unit's state: the seat map's `ETag`.
    pub seats_version: u64,
    pub created_at: Millis,
}

/// A category with its price and how many of its units are held and sold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryCounts {
    pub name: String,
    pub price: f64,
    pub capacity: u32,
    pub held: u32,
    pub sold: u32,
}

impl CategoryCounts {
    pub fn available(&self) -> u32 {
        self.capacity - self.held - self.sold
    }
}

impl Show {
    pub fn layout(&self) -> Layout {
        Layout::new(&self.areas, self.given_rows, &self.generate, self.units)
    }

    pub fn categories(&self) -> Vec<Category> {
        self.categories
            .iter()
            .map(|c| Category {
                name: c.name.clone(),
                price: c.price,
            })
            .collect()
    }

    pub fn starts_at(&self) -> Millis {
        Millis::parse_iso(&self.details.starts_at).unwrap_or_default()
    }
}

/// Whether a show sells at `now`: on sale, past its on-sale time and before its off-sale time.
pub fn selling(
    status: ShowStatus,
    on_sale_at: Option<Millis>,
    off_sale_at: Option<Millis>,
    now: Millis,
) -> Result<(), NotSelling> {
    match status {
        ShowStatus::Draft => Err(NotSelling::Draft),
        ShowStatus::SalesStopped => Err(NotSelling::Stopped),
        ShowStatus::Cancelled => Err(NotSelling::Cancelled),
        ShowStatus::OnSale if on_sale_at.is_some_and(|at| now < at) => Err(NotSelling::NotYet),
        ShowStatus::OnSale if off_sale_at.is_some_and(|at| now >= at) => Err(NotSelling::Over),
        ShowStatus::OnSale => Ok(()),
    }
}

/// Why a show sells nothing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotSelling {
    #[error("the show is not on sale yet")]
    Draft,
    #[error("sales for the show are stopped")]
    Stopped,
    #[error("the show is cancelled")]
    Cancelled,
    #[error("sales for the show have not started")]
    NotYet,
    #[error("sales for the show are over")]
    Over,
}

/// A paid order of a show, listed for refund when the show is cancelled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaidOrder {
    pub order_id: OrderId,
    pub tickets: u32,
    pub total: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("show not found")]
    NotFound,
    /// The request is malformed or breaks a rule; each problem names its field.
    #[error("the show was refused")]
    Invalid(Vec<Problem>),
    #[error("show is cancelled")]
    Cancelled,
    #[error("the price of {0} cannot change: some of its tickets are held or sold")]
    PriceLocked(String),
    #[error(transparent)]
    Store(#[from] redb::Error),
}

crate::record::store_errors_convert_into!(Error);
