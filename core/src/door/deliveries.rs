//! The passes still to be emailed: a durable queue of paid orders, kept in the door store.
//!
//! Invariants:
//! - a paid order is queued in the same transaction that records its sale, so no payment's
//!   passes are ever forgotten, whatever crashes after it;
//! - an order leaves the queue only by a command of the node's sender: sent, or given up (no
//!   relay, a guest without an address, too old, too many failed attempts), so a crash while
//!   sending means the order is tried again, never dropped;
//! - the queue holds only what is still to be sent, so reading what is due is cheap.

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

use super::DoorStore;
use crate::ids::OrderId;
use crate::outbox::Unit;
use crate::record::{decode, encode};
use crate::time::Millis;

/// Order id → `Delivery`.
pub(super) const DELIVERIES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("deliveries");

/// An order whose passes are to be emailed to its buyer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub order: OrderId,
    /// When the order was paid.
    pub queued_at: Millis,
    /// Attempts that failed so far.
    pub attempts: u32,
    /// Not to be tried before this.
    pub next_at: Millis,
}

/// Queues `order`'s passes, unless it is queued already (a replayed event).
pub(super) fn enqueue(unit: &Unit, order: OrderId, at: Millis) -> Result<(), redb::Error> {
    let mut table = unit.txn().open_table(DELIVERIES)?;
    if table.get(order.as_bytes().as_slice())?.is_none() {
        let delivery = Delivery {
            order,
            queued_at: at,
            attempts: 0,
            next_at: at,
        };
        table.insert(order.as_bytes().as_slice(), encode(&delivery).as_slice())?;
    }
    Ok(())
}

impl DoorStore {
    /// Up to `limit` deliveries due at `now`, the longest waiting first; with `queued_by`, every
    /// delivery queued by `now` whatever its back-off.
    pub fn deliveries_due(
        &self,
        now: Millis,
        limit: usize,
        queued_by: bool,
    ) -> Result<Vec<Delivery>, redb::Error> {
        let mut due = self.deliveries()?;
        due.retain(|d| {
            if queued_by {
                d.queued_at <= now
            } else {
                d.next_at <= now
            }
        });
        due.sort_by_key(|d| (d.next_at, d.queued_at));
        due.truncate(limit);
        Ok(due)
    }

    /// When the next delivery is due, if any is queued.
    pub fn next_delivery(&self) -> Result<Option<Millis>, redb::Error> {
        Ok(self.deliveries()?.iter().map(|d| d.next_at).min())
    }

    /// How many orders' passes wait to be emailed.
    pub fn deliveries_queued(&self) -> Result<u64, redb::Error> {
        let txn = self.db().begin_read()?;
        Ok(txn.open_table(DELIVERIES)?.len()?)
    }

    fn deliveries(&self) -> Result<Vec<Delivery>, redb::Error> {
        let txn = self.db().begin_read()?;
        let table = txn.open_table(DELIVERIES)?;
        let mut all = Vec::new();
        for row in table.iter()? {
            all.push(decode(row?.1.value())?);
        }
        Ok(all)
    }

    /// Takes `order` off the queue: sent, or given up.
    pub fn delivery_done(unit: &mut Unit, order: OrderId) -> Result<(), redb::Error> {
        let mut table = unit.txn().open_table(DELIVERIES)?;
        table.remove(order.as_bytes().as_slice())?;
        Ok(())
    }

    /// Counts a failed attempt at `order` and puts the next off until `next_at`.
    pub fn delivery_failed(
        unit: &mut Unit,
        order: OrderId,
        next_at: Millis,
    ) -> Result<Option<Delivery>, redb::Error> {
        let mut table = unit.txn().open_table(DELIVERIES)?;
        let Some(mut delivery) = table
            .get(order.as_bytes().as_slice())?
            .map(|d| decode::<Delivery>(d.value()))
            .transpose()?
        else {
            return Ok(None);
        };
        delivery.attempts += 1;
        delivery.next_at = next_at;
        table.insert(order.as_bytes().as_slice(), encode(&delivery).as_slice())?;
        Ok(Some(delivery))
    }
}
