//! Payments: what the buyer paid for an order, recorded only while the order still holds its ticket.
//!
//! The payments service keeps its own replica of each order (from order events) and decides, in one
//! write transaction, whether a charge the gateway authorized may be kept: the order must be its
//! buyer's, still `created`, and not past `expiresAt`. At most one payment exists per order.

mod store;

use serde::{Deserialize, Serialize};

use crate::events::OrderStatus;
use crate::ids::{OrderId, PaymentId, UserId};
use crate::time::Millis;

pub use self::store::PaymentsStore;

/// What the payments service knows of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderReplica {
    pub id: OrderId,
    pub user_id: UserId,
    /// The price the order locked.
    pub price: f64,
    pub status: OrderStatus,
    pub expires_at: Millis,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    pub id: PaymentId,
    pub order_id: OrderId,
    /// The gateway's id of the charge (a Stripe PaymentIntent id).
    pub stripe_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("order not found")]
    OrderNotFound,
    #[error("order belongs to another user")]
    NotOwner,
    #[error("order is cancelled")]
    Cancelled,
    #[error("order is already paid")]
    AlreadyPaid,
    #[error("order has expired")]
    Expired,
    #[error(transparent)]
    Store(#[from] redb::Error),
}

crate::record::store_errors_convert_into!(Error);

impl OrderReplica {
    /// The checks a payment must pass, in the contract's order: ownership, then state, then time.
    pub fn check_payable(&self, payer: UserId, now: Millis) -> Result<(), Error> {
        if self.user_id != payer {
            return Err(Error::NotOwner);
        }
        match self.status {
            OrderStatus::Cancelled => Err(Error::Cancelled),
            OrderStatus::Complete => Err(Error::AlreadyPaid),
            OrderStatus::Created | OrderStatus::AwaitingPayment if now >= self.expires_at => {
                Err(Error::Expired)
            }
            OrderStatus::Created | OrderStatus::AwaitingPayment => Ok(()),
        }
    }

    /// The amount to charge, in cents.
    pub fn amount_cents(&self) -> i64 {
        (self.price * 100.0).round() as i64
    }
}
