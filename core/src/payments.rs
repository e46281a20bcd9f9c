//! Payments: what the buyer paid for an order, recorded only while the order still holds its ticket.
//!
//! The payments service keeps its own replica of each order (from order events) and decides, in one
//! write transaction, whether a charge the gateway authorized may be kept: the order must be its
//! buyer's, still `created`, and not past `expiresAt`. At most one payment exists per order.
//!
//! Box-office staff may also take cash for any open order, and refund a paid one. Every sale and
//! refund is also kept as a `Movement` in time order, which is what a day's takings are summed from.

mod progress;
mod store;

use serde::{Deserialize, Serialize};

use crate::events::OrderStatus;
pub use crate::events::PaymentMethod;
use crate::ids::{OrderId, PaymentId, UserId};
use crate::time::Millis;

pub use self::progress::{CardAttempt, PendingRefund, Step as AttemptStep};
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
    /// The gateway's id of the charge (a Stripe PaymentIntent id); empty for cash.
    pub stripe_id: String,
    #[serde(default)]
    pub method: PaymentMethod,
    /// What was taken, in cents (0 in records kept before amounts were).
    #[serde(default)]
    pub amount_cents: i64,
    #[serde(default)]
    pub paid_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<Refund>,
}

/// The money of a payment given back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    pub at: Millis,
    /// The staff member who gave it back.
    pub by: UserId,
}

/// One movement of money at the till, kept in time order: a sale or a refund.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Movement {
    pub at: Millis,
    pub kind: MovementKind,
    pub method: PaymentMethod,
    pub amount_cents: i64,
    pub order_id: OrderId,
    pub payment_id: PaymentId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MovementKind {
    Sale,
    Refund,
}

/// Sales and refunds per payment method, summed from movements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Takings {
    pub card: MethodTakings,
    pub cash: MethodTakings,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MethodTakings {
    pub sales: u64,
    pub sales_cents: i64,
    pub refunds: u64,
    pub refunds_cents: i64,
}

impl MethodTakings {
    /// What this method took, net of refunds.
    pub fn net_cents(&self) -> i64 {
        self.sales_cents - self.refunds_cents
    }
}

impl Takings {
    pub fn from_movements<'a>(movements: impl IntoIterator<Item = &'a Movement>) -> Takings {
        let mut takings = Takings::default();
        for movement in movements {
            let method = match movement.method {
                PaymentMethod::Card => &mut takings.card,
                PaymentMethod::Cash => &mut takings.cash,
            };
            match movement.kind {
                MovementKind::Sale => {
                    method.sales += 1;
                    method.sales_cents += movement.amount_cents;
                }
                MovementKind::Refund => {
                    method.refunds += 1;
                    method.refunds_cents += movement.amount_cents;
                }
            }
        }
        takings
    }

    /// Both methods together.
    pub fn total(&self) -> MethodTakings {
        MethodTakings {
            sales: self.card.sales + self.cash.sales,
            sales_cents: self.card.sales_cents + self.cash.sales_cents,
            refunds: self.card.refunds + self.cash.refunds,
            refunds_cents: self.card.refunds_cents + self.cash.refunds_cents,
        }
    }
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
    #[error("order has not been paid")]
    NotPaid,
    #[error("payment is already refunded")]
    AlreadyRefunded,
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
        self.check_open(now)
    }

    /// Whether the order may be paid at `now` by anyone allowed to pay it: not cancelled, not paid,
    /// not past its lock.
    pub fn check_open(&self, now: Millis) -> Result<(), Error> {
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
