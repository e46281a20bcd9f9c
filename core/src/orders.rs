//! Orders lock a ticket while its buyer pays.
//!
//! Placing an order is the lock: it succeeds only if no other order holds the ticket, decided inside
//! one write transaction, so exactly one of any number of concurrent buyers wins. A lock ends when its
//! order is cancelled or expires; a paid order keeps it for good. This module never reads the clock:
//! `now` and the lock's lifetime are passed in.

mod inventory;
mod restore;
mod show_order;
mod store;

use serde::{Deserialize, Serialize};

use crate::events::{OrderStatus, ShowPart};
use crate::ids::{OrderId, TicketId, UserId};
use crate::shows::NotSelling;
use crate::time::Millis;

pub use self::inventory::{CategoryReplica, ShowReplica};
pub use self::show_order::{Pick, ShowPlacing};
pub(crate) use self::store::count_open_orders;
pub use self::store::{OrdersStore, Placing};

/// What the orders service knows of a ticket, kept up to date from ticket events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketReplica {
    pub id: TicketId,
    pub title: String,
    pub price: f64,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    pub expires_at: Millis,
    /// The ticket as it was when the order locked it: its price is what the buyer pays. For an
    /// order of a show, the first of its tickets.
    pub ticket: TicketReplica,
    /// Starts at 0; every saved change adds exactly 1.
    pub version: u64,
    /// For an order of a show's tickets: all of them and the total the buyer pays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show: Option<ShowPart>,
}

impl Order {
    /// What the buyer pays for the order.
    pub fn total(&self) -> f64 {
        self.show.as_ref().map_or(self.ticket.price, |s| s.total)
    }

    /// How many tickets the order holds.
    pub fn quantity(&self) -> usize {
        self.show.as_ref().map_or(1, |s| s.tickets.len())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("order not found")]
    NotFound,
    #[error("order belongs to another user")]
    NotOwner,
    #[error("ticket not found")]
    TicketNotFound,
    #[error("ticket {0} is already reserved")]
    AlreadyReserved(TicketId),
    #[error("order is complete")]
    AlreadyComplete,
    /// The buyer already has this many open orders.
    #[error("too many open orders (at most {0})")]
    TooManyOpenOrders(usize),
    #[error("show not found")]
    ShowNotFound,
    #[error(transparent)]
    NotSelling(NotSelling),
    #[error("the show has no category {0:?}")]
    UnknownCategory(String),
    /// An order of a show holds from 1 to this many tickets.
    #[error("an order holds at most {0} tickets of this show")]
    TooManyTickets(u32),
    #[error("only {available} tickets of {category:?} are available")]
    NotEnough { category: String, available: u32 },
    #[error("no {quantity} seats of {category:?} are free together in one row")]
    NotTogether { category: String, quantity: u32 },
    #[error("tickets already taken: {0:?}")]
    SeatsTaken(Vec<TicketId>),
    #[error("not tickets of this show: {0:?}")]
    NotOfShow(Vec<TicketId>),
    #[error("ticket {0} is named twice")]
    SeatGivenTwice(TicketId),
    #[error(transparent)]
    Store(#[from] redb::Error),
}

crate::record::store_errors_convert_into!(Error);
