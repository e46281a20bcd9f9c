//! The catch-up of the orders store: orders a node lost with its disk, put back from the hub's
//! copy of their events, with their locks and (for a show) their units taken from the inventory.

use redb::ReadableTable;

use super::inventory;
use super::store::{
    HOLDS, ORDERS, OrdersStore, REPLICAS, complete_if_open, load, record_new, release_if_open,
};
use super::{Order, TicketReplica};
use crate::events::{DomainEvent, OrderCreated, ShowPart, StoredEvent};
use crate::outbox::Unit;
use crate::record::{decode, encode};
use crate::time::Millis;

impl OrdersStore {
    /// Puts back what an order event described (the catch-up of a restored node): the order placed
    /// with its locks, cancelled, or paid. Each step checks the state it moves from, like the
    /// reactions, so an event already in the store changes nothing.
    pub fn restore(unit: &mut Unit, event: &StoredEvent) -> Result<(), redb::Error> {
        match &event.event {
            DomainEvent::OrderCreated(e) => {
                if load(&unit.txn().open_table(ORDERS)?, e.id)?.is_some() {
                    return Ok(());
                }
                let order = match &e.show {
                    Some(part) => restore_units(unit, e, part)?,
                    None => restore_listing_lock(unit, e)?,
                };
                record_new(unit, &order)
            }
            DomainEvent::OrderCancelled(e) => release_if_open(unit, e.id),
            DomainEvent::OrderCompleted(e) => complete_if_open(unit, e.id).map(drop),
            _ => Ok(()),
        }
    }
}

/// The order `order:created` describes for a listed ticket, with its lock written.
fn restore_listing_lock(unit: &Unit, e: &OrderCreated) -> Result<Order, redb::Error> {
    let replica: Option<TicketReplica> = unit
        .txn()
        .open_table(REPLICAS)?
        .get(e.ticket.id.as_bytes().as_slice())?
        .map(|r| decode(r.value()))
        .transpose()?;
    let replica = replica.ok_or_else(|| {
        redb::Error::Corrupted(format!(
            "order:created {} locks ticket {}, which the store lacks",
            e.id, e.ticket.id
        ))
    })?;
    unit.txn().open_table(HOLDS)?.insert(
        e.ticket.id.as_bytes().as_slice(),
        e.id.as_bytes().as_slice(),
    )?;
    Ok(Order {
        id: e.id,
        user_id: e.user_id,
        status: e.status,
        expires_at: parse_expiry(e)?,
        ticket: TicketReplica {
            price: e.ticket.price,
            ..replica
        },
        version: e.version,
        show: None,
    })
}

/// When an order event says its lock ends.
fn parse_expiry(e: &OrderCreated) -> Result<Millis, redb::Error> {
    Millis::parse_iso(&e.expires_at).ok_or_else(|| {
        redb::Error::Corrupted(format!("order:created expiresAt {:?}", e.expires_at))
    })
}

/// The order `order:created` describes for a show's units: the units taken from the inventory
/// replica and locked, as `place_show` did, without its checks (the hub's copy says it happened).
fn restore_units(unit: &Unit, e: &OrderCreated, part: &ShowPart) -> Result<Order, redb::Error> {
    let mut replica = {
        let shows = unit.txn().open_table(inventory::SHOWS)?;
        inventory::load_replica(&shows, part.id)?
    }
    .ok_or_else(|| {
        redb::Error::Corrupted(format!(
            "order:created {} is of show {}, which the store lacks",
            e.id, part.id
        ))
    })?;
    let units: Vec<u32> = part.tickets.iter().map(|t| t.index).collect();
    inventory::take(unit, &replica, &units)?;
    let mut holds = unit.txn().open_table(HOLDS)?;
    for ticket in &part.tickets {
        holds.insert(ticket.id.as_bytes().as_slice(), e.id.as_bytes().as_slice())?;
        if let Some(category) = replica.categories.get_mut(usize::from(ticket.category)) {
            category.free = category.free.saturating_sub(1);
        }
    }
    drop(holds);
    unit.txn()
        .open_table(inventory::SHOWS)?
        .insert(part.id.as_bytes().as_slice(), encode(&replica).as_slice())?;
    Ok(Order {
        id: e.id,
        user_id: e.user_id,
        status: e.status,
        expires_at: parse_expiry(e)?,
        ticket: TicketReplica {
            id: e.ticket.id,
            title: replica.title.clone(),
            price: e.ticket.price,
            version: 0,
        },
        version: e.version,
        show: Some(part.clone()),
    })
}
