//! Orders lock a ticket while its buyer pays.
//!
//! Placing an order is the lock: it succeeds only if no other order holds the ticket, decided inside
//! one write transaction, so exactly one of any number of concurrent buyers wins. A lock ends when its
//! order is cancelled or expires; a paid order keeps it for good. This module never reads the clock:
//! `now` and the lock's lifetime are passed in.

mod store;

use serde::{Deserialize, Serialize};

use crate::events::OrderStatus;
use crate::ids::{OrderId, TicketId, UserId};
use crate::time::Millis;

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
    /// The ticket as it was when the order locked it: its price is what the buyer pays.
    pub ticket: TicketReplica,
    /// Starts at 0; every saved change adds exactly 1.
    pub version: u64,
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
    #[error(transparent)]
    Store(#[from] redb::Error),
}

crate::record::store_errors_convert_into!(Error);
