//! Expiration: a durable deadline queue that ends unpaid orders on time, also across crashes.
//!
//! A job is scheduled by `order:created` and dropped by `order:cancelled` or `order:completed`.
//! `fire_due(now)` takes every job whose deadline has passed and emits `expiration:complete` for it in
//! the same transaction, so a job fires once: after a crash, overdue jobs are still in the table and
//! fire on the first call. The queue is kept in redb ordered by deadline, so nothing is loaded into
//! memory and start-up costs nothing however many locks are pending. This module never reads the
//! clock.

mod store;

use crate::ids::OrderId;
use crate::time::Millis;

pub use self::store::ExpirationStore;

/// A job that fired: which order, and when it was due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fired {
    pub order_id: OrderId,
    pub deadline: Millis,
}
