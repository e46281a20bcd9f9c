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
    /// Show, venue, start and seat, when the seller gave them.
    #[serde(default, skip_serializing_if = "TicketDetails::is_empty")]
    pub details: TicketDetails,
}

/// What else describes a ticket, all optional: the seed app's clients never send these, and a
/// ticket without them looks exactly as the seed's does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<String>,
    /// When the show starts, as an RFC 3339 time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    /// Seat or section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat: Option<String>,
}

impl TicketDetails {
    pub fn is_empty(&self) -> bool {
        *self == TicketDetails::default()
    }

    /// Applies an edit: a field the edit leaves out stays, an empty one is cleared.
    pub fn patched(&self, edit: &TicketDetails) -> TicketDetails {
        let pick = |old: &Option<String>, new: &Option<String>| match new {
            None => old.clone(),
            Some(text) if text.is_empty() => None,
            Some(text) => Some(text.clone()),
        };
        TicketDetails {
            show: pick(&self.show, &edit.show),
            venue: pick(&self.venue, &edit.venue),
            starts_at: pick(&self.starts_at, &edit.starts_at),
            seat: pick(&self.seat, &edit.seat),
        }
    }
}

/// What a seller asks for when listing or editing a ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketDraft {
    pub title: String,
    pub price: f64,
    /// For an edit, a patch (see `TicketDetails::patched`).
    pub details: TicketDetails,
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
