//! The orders service's redb store: orders, the ticket replicas, and which order holds which ticket.

use std::collections::BTreeMap;
use std::time::Duration;

use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition, WriteTransaction};

use super::{Error, Order, TicketReplica, inventory};
use crate::events::{
    DomainEvent, OrderCancelled, OrderCompleted, OrderCreated, OrderStatus, StoredEvent,
    TicketIdRef, TicketRef, UnitRef,
};
use crate::ids::{OrderId, PaymentId, ShowId, TicketId, UserId};
use crate::outbox::{self, META, Unit};
use crate::record::{decode, encode, next_counter, user_key};
use crate::time::Millis;

pub(super) const ORDERS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("orders");
pub(super) const REPLICAS: TableDefinition<'_, &[u8], &[u8]> =
    TableDefinition::new("ticket_replicas");
/// Ticket id → the order holding it (created, awaiting payment or complete).
pub(super) const HOLDS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("holds");
/// User id ++ big-endian placement number → order id: a user's orders in insertion order. Under
/// the placement number `OPEN_COUNT`, after all of a user's orders, the number of them still open
/// (unpaid, not cancelled) as a big-endian u64, counted against the cap on open orders: it sorts
/// beside the user's newest order, so placing an order changes one leaf of this table, not two.
const BY_USER: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("orders_by_user");
/// The placement number under which `BY_USER` keeps a user's count of open orders; the counter
/// of placements never reaches it.
const OPEN_COUNT: u64 = u64::MAX;
/// Schema version 2's set of each user's open orders (user id ++ order id), which the count
/// replaced in version 3.
const OPEN_BY_USER_V2: TableDefinition<'_, &[u8], ()> = TableDefinition::new("open_orders_by_user");
/// Show id ++ order id → nothing: each show's open orders, released when the show is cancelled.
const OPEN_BY_SHOW: TableDefinition<'_, &[u8], ()> = TableDefinition::new("open_orders_by_show");

pub struct OrdersStore {
    db: Database,
}

impl OrdersStore {
    pub fn from_database(db: Database) -> Result<OrdersStore, redb::Error> {
        outbox::init(&db)?;
        let txn = outbox::write_txn(&db)?;
        txn.open_table(ORDERS)?;
        txn.open_table(REPLICAS)?;
        txn.open_table(HOLDS)?;
        txn.open_table(BY_USER)?;
        txn.open_table(OPEN_BY_SHOW)?;
        super::inventory::create_tables(&txn)?;
        txn.commit()?;
        Ok(OrdersStore { db })
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    pub fn get(&self, id: OrderId) -> Result<Option<Order>, redb::Error> {
        let txn = self.db.begin_read()?;
        let orders = txn.open_table(ORDERS)?;
        let order = orders.get(id.as_bytes().as_slice())?;
        order.map(|o| decode(o.value())).transpose()
    }

    /// The orders with these ids as one snapshot of the store has them, in the same order.
    pub fn get_many(&self, ids: &[OrderId]) -> Result<Vec<Option<Order>>, redb::Error> {
        let txn = self.db.begin_read()?;
        let orders = txn.open_table(ORDERS)?;
        ids.iter()
            .map(|id| {
                let order = orders.get(id.as_bytes().as_slice())?;
                order.map(|o| decode(o.value())).transpose()
            })
            .collect()
    }

    /// All of a user's orders, whatever their status, in the order they were placed.
    pub fn list_for_user(&self, user: UserId) -> Result<Vec<Order>, redb::Error> {
        let txn = self.db.begin_read()?;
        let by_user = txn.open_table(BY_USER)?;
        let orders = txn.open_table(ORDERS)?;
        let start = user_key(user, 0);
        let end = user_key(user, OPEN_COUNT);
        let mut list = Vec::new();
        for entry in by_user.range(start.as_slice()..end.as_slice())? {
            let (_, id) = entry?;
            if let Some(order) = orders.get(id.value())? {
                list.push(decode(order.value())?);
            }
        }
        Ok(list)
    }

    /// Places an order, locking the ticket until `now + lock_ttl` unless another order holds it or
    /// the buyer already has `max_open` open orders (`None`: no cap).
    pub fn place(
        unit: &mut Unit,
        placing: Placing,
        now: Millis,
        lock_ttl: Duration,
    ) -> Result<Order, Error> {
        let Placing {
            id,
            buyer,
            ticket: ticket_id,
            max_open,
        } = placing;
        check_open_orders(unit, buyer, max_open)?;
        let ticket: TicketReplica = match unit
            .txn()
            .open_table(REPLICAS)?
            .get(ticket_id.as_bytes().as_slice())?
        {
            Some(t) => decode(t.value())?,
            None => return Err(Error::TicketNotFound),
        };
        let mut holds = unit.txn().open_table(HOLDS)?;
        if holds.get(ticket_id.as_bytes().as_slice())?.is_some() {
            return Err(Error::AlreadyReserved(ticket_id));
        }
        holds.insert(ticket_id.as_bytes().as_slice(), id.as_bytes().as_slice())?;
        drop(holds);
        let order = Order {
            id,
            user_id: buyer,
            status: OrderStatus::Created,
            expires_at: now.plus(lock_ttl),
            ticket,
            version: 0,
            show: None,
        };
        record_new(unit, &order)?;
        Ok(order)
    }

    /// Cancels a buyer's own order. Cancelling a cancelled order changes nothing; a paid order is
    /// refused (refunds are their own action).
    pub fn cancel(unit: &mut Unit, id: OrderId, requester: UserId) -> Result<Order, Error> {
        let mut orders = unit.txn().open_table(ORDERS)?;
        let order: Order = match orders.get(id.as_bytes().as_slice())? {
            Some(o) => decode(o.value())?,
            None => return Err(Error::NotFound),
        };
        if order.user_id != requester {
            return Err(Error::NotOwner);
        }
        match order.status {
            OrderStatus::Complete => Err(Error::AlreadyComplete),
            OrderStatus::Cancelled => Ok(order),
            OrderStatus::Created | OrderStatus::AwaitingPayment => {
                let order = release(unit, &mut orders, order)?;
                drop(orders);
                unit.emit(DomainEvent::OrderCancelled(cancelled(&order)));
                Ok(order)
            }
        }
    }

    /// Follows ticket replicas, expiry and payments. Idempotent: each rule checks the state it moves
    /// from, so an event seen twice changes nothing the second time.
    pub fn react(unit: &mut Unit, event: &StoredEvent) -> Result<(), redb::Error> {
        match &event.event {
            DomainEvent::ShowCreated(e) => inventory::show_created(unit, e)?,
            DomainEvent::ShowSeats(e) => inventory::show_seats(unit, e)?,
            DomainEvent::ShowUpdated(e) => {
                let cancelled = inventory::show_updated(unit, e)?;
                if cancelled {
                    release_show(unit, e.id)?;
                }
            }
            DomainEvent::TicketCreated(t) | DomainEvent::TicketUpdated(t) => {
                let mut replicas = unit.txn().open_table(REPLICAS)?;
                let current: Option<TicketReplica> = replicas
                    .get(t.id.as_bytes().as_slice())?
                    .map(|r| decode(r.value()))
                    .transpose()?;
                // A lock or release changes only the ticket's version; the replica needs no write then,
                // and later versions still apply because they compare greater.
                let stale = match &current {
                    None => true,
                    Some(r) => t.version > r.version && (r.title != t.title || r.price != t.price),
                };
                if stale {
                    let replica = TicketReplica {
                        id: t.id,
                        title: t.title.clone(),
                        price: t.price,
                        version: t.version,
                    };
                    replicas.insert(t.id.as_bytes().as_slice(), encode(&replica).as_slice())?;
                }
            }
            // Already cancelled or paid: expiring it says nothing.
            DomainEvent::ExpirationComplete(e) => release_if_open(unit, e.order_id)?,
            DomainEvent::PaymentCreated(p) => {
                if let Some(order) = complete_if_open(unit, p.order_id)? {
                    unit.emit(DomainEvent::OrderCompleted(completed(&order, p.id)));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Marks an open order (created, awaiting payment) paid; an order already paid or cancelled is
/// left alone. Returns the order it completed.
pub(super) fn complete_if_open(unit: &Unit, id: OrderId) -> Result<Option<Order>, redb::Error> {
    let mut orders = unit.txn().open_table(ORDERS)?;
    match load(&orders, id)? {
        Some(mut order)
            if matches!(
                order.status,
                OrderStatus::Created | OrderStatus::AwaitingPayment
            ) =>
        {
            order.status = OrderStatus::Complete;
            order.version += 1;
            save(&mut orders, &order)?;
            track_open(unit, &order)?;
            Ok(Some(order))
        }
        _ => Ok(None),
    }
}

/// Writes a new order: the buyer's list, the open-order indexes, and `order:created`.
pub(super) fn record_new(unit: &mut Unit, order: &Order) -> Result<(), redb::Error> {
    let placement = next_counter(&mut unit.txn().open_table(META)?, "order_placement")?;
    unit.txn().open_table(BY_USER)?.insert(
        user_key(order.user_id, placement).as_slice(),
        order.id.as_bytes().as_slice(),
    )?;
    save(&mut unit.txn().open_table(ORDERS)?, order)?;
    track_open(unit, order)?;
    unit.emit(DomainEvent::OrderCreated(OrderCreated {
        id: order.id,
        version: order.version,
        status: order.status,
        user_id: order.user_id,
        expires_at: order.expires_at.to_iso(),
        ticket: TicketRef {
            id: order.ticket.id,
            price: order.ticket.price,
        },
        show: order.show.clone(),
    }));
    Ok(())
}

/// Refuses a new order when `buyer` already has `max_open` open ones (`None`: no cap).
pub(super) fn check_open_orders(
    unit: &Unit,
    buyer: UserId,
    max_open: Option<usize>,
) -> Result<(), Error> {
    match max_open {
        Some(max) if open_orders(unit, buyer)? >= max as u64 => Err(Error::TooManyOpenOrders(max)),
        _ => Ok(()),
    }
}

/// Cancels an order and frees its tickets if (and only if) this order is the one holding them.
fn release(
    unit: &Unit,
    orders: &mut Table<'_, &[u8], &[u8]>,
    mut order: Order,
) -> Result<Order, redb::Error> {
    order.status = OrderStatus::Cancelled;
    order.version += 1;
    save(orders, &order)?;
    track_open(unit, &order)?;
    let tickets: Vec<TicketId> = match &order.show {
        Some(part) => part.tickets.iter().map(|t| t.id).collect(),
        None => vec![order.ticket.id],
    };
    let mut holds = unit.txn().open_table(HOLDS)?;
    let mut freed = Vec::new();
    for ticket in tickets {
        let holder = holds
            .get(ticket.as_bytes().as_slice())?
            .map(|h| h.value().to_vec());
        if holder.as_deref() == Some(order.id.as_bytes().as_slice()) {
            holds.remove(ticket.as_bytes().as_slice())?;
            freed.push(ticket);
        }
    }
    drop(holds);
    if let Some(part) = &order.show {
        let units: Vec<UnitRef> = part
            .tickets
            .iter()
            .filter(|t| freed.contains(&t.id))
            .cloned()
            .collect();
        inventory::release(unit, part.id, &units)?;
    }
    Ok(order)
}

/// Cancels an order that is still open (created, awaiting payment), giving its tickets back and
/// emitting `order:cancelled`; an order already cancelled or paid is left alone.
pub(super) fn release_if_open(unit: &mut Unit, id: OrderId) -> Result<(), redb::Error> {
    let mut orders = unit.txn().open_table(ORDERS)?;
    let released = match load(&orders, id)? {
        Some(order)
            if matches!(
                order.status,
                OrderStatus::Created | OrderStatus::AwaitingPayment
            ) =>
        {
            Some(release(unit, &mut orders, order)?)
        }
        _ => None,
    };
    drop(orders);
    if let Some(order) = released {
        unit.emit(DomainEvent::OrderCancelled(cancelled(&order)));
    }
    Ok(())
}

/// Cancels every open order of a cancelled show, giving its units back.
fn release_show(unit: &mut Unit, show: ShowId) -> Result<(), redb::Error> {
    let open: Vec<Vec<u8>> = {
        let table = unit.txn().open_table(OPEN_BY_SHOW)?;
        let (start, end) = (
            pair_key(show.as_bytes(), &[0; 12]),
            pair_key(show.as_bytes(), &[0xff; 12]),
        );
        table
            .range(start.as_slice()..=end.as_slice())?
            .map(|entry| entry.map(|(key, _)| key.value()[12..].to_vec()))
            .collect::<Result<_, _>>()?
    };
    for id in open {
        release_if_open(
            unit,
            OrderId::from_bytes(id.try_into().expect("order ids are 12 bytes")),
        )?;
    }
    Ok(())
}

/// A new order: who orders which ticket, and how many open orders the buyer may have.
#[derive(Debug, Clone, Copy)]
pub struct Placing {
    pub id: OrderId,
    pub buyer: UserId,
    pub ticket: TicketId,
    /// `None` for no cap (staff at the counter hold orders for many buyers).
    pub max_open: Option<usize>,
}

fn pair_key(first: &[u8; 12], second: &[u8; 12]) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..12].copy_from_slice(first);
    key[12..].copy_from_slice(second);
    key
}

/// Keeps the buyer's count of open orders and the show's open orders in step with an order just
/// placed (open) or just paid or cancelled (closed). Callers move an order only out of an open
/// status, and place it once, so each order is counted once.
fn track_open(unit: &Unit, order: &Order) -> Result<(), redb::Error> {
    let open = matches!(
        order.status,
        OrderStatus::Created | OrderStatus::AwaitingPayment
    );
    let mut by_user = unit.txn().open_table(BY_USER)?;
    let key = user_key(order.user_id, OPEN_COUNT);
    let count = open_count(&by_user, &key)?;
    let count = if open {
        count + 1
    } else {
        count.saturating_sub(1)
    };
    by_user.insert(key.as_slice(), count.to_be_bytes().as_slice())?;
    drop(by_user);
    if let Some(part) = &order.show {
        let mut by_show = unit.txn().open_table(OPEN_BY_SHOW)?;
        let key = pair_key(part.id.as_bytes(), order.id.as_bytes());
        if open {
            by_show.insert(key.as_slice(), ())?;
        } else {
            by_show.remove(key.as_slice())?;
        }
    }
    Ok(())
}

/// The count of open orders stored under `key` (0 when none is).
fn open_count(by_user: &Table<'_, &[u8], &[u8]>, key: &[u8]) -> Result<u64, redb::Error> {
    let Some(value) = by_user.get(key)? else {
        return Ok(0);
    };
    let bytes: [u8; 8] = value.value().try_into().map_err(|_| {
        redb::Error::Corrupted(format!(
            "a count of open orders is {} bytes long, not 8",
            value.value().len()
        ))
    })?;
    Ok(u64::from_be_bytes(bytes))
}

/// How many open orders `buyer` has.
fn open_orders(unit: &Unit, buyer: UserId) -> Result<u64, redb::Error> {
    let by_user = unit.txn().open_table(BY_USER)?;
    open_count(&by_user, &user_key(buyer, OPEN_COUNT))
}

/// Schema version 2 → 3: each user's set of open orders becomes their count, kept beside their
/// newest order in `orders_by_user`, and the set's table goes.
pub(crate) fn count_open_orders(txn: &WriteTransaction) -> Result<(), redb::Error> {
    let mut counts: BTreeMap<[u8; 12], u64> = BTreeMap::new();
    for entry in txn.open_table(OPEN_BY_USER_V2)?.iter()? {
        let (key, _) = entry?;
        let user: [u8; 12] = key
            .value()
            .get(..12)
            .and_then(|user| user.try_into().ok())
            .ok_or_else(|| {
                redb::Error::Corrupted(format!(
                    "an open order's key is {} bytes long, not 24",
                    key.value().len()
                ))
            })?;
        *counts.entry(user).or_default() += 1;
    }
    let mut by_user = txn.open_table(BY_USER)?;
    for (user, count) in counts {
        let key = user_key(UserId::from_bytes(user), OPEN_COUNT);
        by_user.insert(key.as_slice(), count.to_be_bytes().as_slice())?;
    }
    drop(by_user);
    txn.delete_table(OPEN_BY_USER_V2)?;
    Ok(())
}

pub(super) fn load(
    orders: &Table<'_, &[u8], &[u8]>,
    id: OrderId,
) -> Result<Option<Order>, redb::Error> {
    orders
        .get(id.as_bytes().as_slice())?
        .map(|o| decode(o.value()))
        .transpose()
}

fn save(orders: &mut Table<'_, &[u8], &[u8]>, order: &Order) -> Result<(), redb::Error> {
    orders.insert(order.id.as_bytes().as_slice(), encode(order).as_slice())?;
    Ok(())
}

fn cancelled(order: &Order) -> OrderCancelled {
    OrderCancelled {
        id: order.id,
        version: order.version,
        ticket: TicketIdRef {
            id: order.ticket.id,
        },
        show: order.show.clone(),
    }
}

fn completed(order: &Order, payment: PaymentId) -> OrderCompleted {
    OrderCompleted {
        id: order.id,
        version: order.version,
        ticket: TicketIdRef {
            id: order.ticket.id,
        },
        payment_id: payment,
        show: order.show.clone(),
    }
}
