//! The passes still to be emailed: a durable queue of paid orders, kept in the door store.
//!
//! Invariants:
//! - a paid order is queued in the same transaction that records its sale, so no payment's
//!   passes are ever forgotten, whatever crashes after it;
//! - an order leaves the queue only by a command of the node's sender: sent, or given up (no
//!   relay, a guest without an address, too old, too many failed attempts), so a crash while
//!   sending means the order is tried again, never dropped;
//! - the queue holds only what is still to be sent;
//! - `DUE` holds one key per queued delivery, made of when it is next due: what is due now is a
//!   range at its start, so a look at the queue costs what is due, not what is queued (a relay
//!   that is down for hours leaves thousands backed off, and the sender looks after every commit).

use redb::{
    ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction,
};
use serde::{Deserialize, Serialize};

use super::DoorStore;
use crate::ids::OrderId;
use crate::outbox::Unit;
use crate::record::{decode, encode};
use crate::time::Millis;

/// Order id → `Delivery`.
pub(super) const DELIVERIES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("deliveries");
/// `due_key` → nothing: the queue in the order its deliveries fall due.
pub(super) const DUE: TableDefinition<'_, &[u8], ()> = TableDefinition::new("deliveries_due");

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

/// `next_at`, then `queued_at` (big-endian, so keys sort by time), then the order id.
fn due_key(delivery: &Delivery) -> [u8; 28] {
    let mut key = [0u8; 28];
    key[..8].copy_from_slice(&delivery.next_at.0.to_be_bytes());
    key[8..16].copy_from_slice(&delivery.queued_at.0.to_be_bytes());
    key[16..].copy_from_slice(delivery.order.as_bytes());
    key
}

/// The first key of anything due after `now`.
fn due_after(now: Millis) -> [u8; 8] {
    now.0.saturating_add(1).to_be_bytes()
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
        unit.txn()
            .open_table(DUE)?
            .insert(due_key(&delivery).as_slice(), ())?;
    }
    Ok(())
}

/// Builds `DUE` from the queue of a store written before it existed (schema version 1 → 2).
pub(crate) fn index_due(txn: &WriteTransaction) -> Result<(), redb::Error> {
    let queue = txn.open_table(DELIVERIES)?;
    let mut due = txn.open_table(DUE)?;
    for row in queue.iter()? {
        let delivery: Delivery = decode(row?.1.value())?;
        due.insert(due_key(&delivery).as_slice(), ())?;
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
        if queued_by {
            // Once, at a start: the whole queue.
            let mut due = self.deliveries()?;
            due.retain(|d| d.queued_at <= now);
            due.sort_by_key(|d| (d.next_at, d.queued_at));
            due.truncate(limit);
            return Ok(due);
        }
        let txn = self.db().begin_read()?;
        let queue = txn.open_table(DELIVERIES)?;
        let mut due = Vec::new();
        for key in txn
            .open_table(DUE)?
            .range(..due_after(now).as_slice())?
            .take(limit)
        {
            let key = key?.0;
            let order = &key.value()[16..];
            let delivery = queue.get(order)?.ok_or_else(|| {
                redb::Error::Corrupted(format!(
                    "deliveries_due names order {} not queued",
                    hex::encode(order)
                ))
            })?;
            due.push(decode(delivery.value())?);
        }
        Ok(due)
    }

    /// When the next delivery is due, if any is queued.
    pub fn next_delivery(&self) -> Result<Option<Millis>, redb::Error> {
        let txn = self.db().begin_read()?;
        let due = txn.open_table(DUE)?;
        let first = due.first()?;
        Ok(first.map(|(key, _)| {
            let mut next_at = [0u8; 8];
            next_at.copy_from_slice(&key.value()[..8]);
            Millis(u64::from_be_bytes(next_at))
        }))
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
        let Some(delivery) = table.remove(order.as_bytes().as_slice())? else {
            return Ok(());
        };
        let delivery: Delivery = decode(delivery.value())?;
        unit.txn()
            .open_table(DUE)?
            .remove(due_key(&delivery).as_slice())?;
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
        let mut due = unit.txn().open_table(DUE)?;
        due.remove(due_key(&delivery).as_slice())?;
        delivery.attempts += 1;
        delivery.next_at = next_at;
        table.insert(order.as_bytes().as_slice(), encode(&delivery).as_slice())?;
        due.insert(due_key(&delivery).as_slice(), ())?;
        Ok(Some(delivery))
    }
}
