//! Tickets on sale: one sellable unit each, listed by its seller, locked while an order holds it.
//!
//! The tickets service learns of locks from `order:created` and `order:cancelled`; it never decides
//! who holds a ticket (the orders service does, atomically). A ticket with `order_id` set cannot be
//! edited, so the price an order locked is the price it pays.

mod store;

use serde::{Deserialize, Serialize};

use crate::ids::{OrderId, TicketId, UserId};

pub use self::store::TicketsStore;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: TicketId,
    pub title: String,
    pub price: f64,
    pub user_id: UserId,
    /// The order holding the ticket, if any; set and cleared only by order events.
    pub order_id: Option<OrderId>,
    /// Starts at 0; every saved change adds exactly 1.
    pub version: u64,
    /// Position in the listing, fixed at creation, so the list keeps insertion order.
    pub listing: u64,
}

/// What a seller asks for when listing or editing a ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketDraft {
    pub title: String,
    pub price: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("ticket not found")]
    NotFound,
    #[error("ticket is reserved")]
    Reserved,
    #[error("ticket belongs to another user")]
    NotOwner,
    #[error(transparent)]
    Store(#[from] redb::Error),
}

crate::record::store_errors_convert_into!(Error);
