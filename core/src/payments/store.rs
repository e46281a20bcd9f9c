//! The payments service's redb store: order replicas, payments, and the payment of each order.

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{Error, Movement, MovementKind, OrderReplica, Payment, PaymentMethod, Refund};
use crate::events::{DomainEvent, OrderStatus, PaymentCreated, PaymentRefunded, StoredEvent};
use crate::ids::{OrderId, PaymentId, UserId};
use crate::outbox::{self, Unit};
use crate::record::{decode, encode};
use crate::time::Millis;

const REPLICAS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("order_replicas");
const PAYMENTS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("payments");
/// Order id → its one payment id.
const BY_ORDER: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("payments_by_order");
/// Big-endian instant ++ payment id ++ kind → the movement: sales and refunds in time order.
const MOVEMENTS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("movements");

pub struct PaymentsStore {
    db: Database,
}

impl PaymentsStore {
    pub fn from_database(db: Database) -> Result<PaymentsStore, redb::Error> {
        outbox::init(&db)?;
        let txn = outbox::write_txn(&db)?;
        txn.open_table(REPLICAS)?;
        txn.open_table(PAYMENTS)?;
        txn.open_table(BY_ORDER)?;
        txn.open_table(MOVEMENTS)?;
        txn.open_table(super::progress::ATTEMPTS)?;
        txn.open_table(super::progress::OPEN_ATTEMPTS)?;
        txn.open_table(super::progress::PENDING_REFUNDS)?;
        txn.commit()?;
        Ok(PaymentsStore { db })
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    pub fn order(&self, id: OrderId) -> Result<Option<OrderReplica>, redb::Error> {
        let txn = self.db.begin_read()?;
        let replicas = txn.open_table(REPLICAS)?;
        let replica = replicas.get(id.as_bytes().as_slice())?;
        replica.map(|r| decode(r.value())).transpose()
    }

    pub fn payment_for_order(&self, id: OrderId) -> Result<Option<Payment>, redb::Error> {
        let txn = self.db.begin_read()?;
        let by_order = txn.open_table(BY_ORDER)?;
        let Some(payment_id) = by_order.get(id.as_bytes().as_slice())? else {
            return Ok(None);
        };
        let payments = txn.open_table(PAYMENTS)?;
        let payment = payments.get(payment_id.value())?;
        payment.map(|p| decode(p.value())).transpose()
    }

    /// The payment a refund of this order would give back, if it may be refunded now: paid, and
    /// not refunded yet. `refund` checks the same again when it records.
    pub fn refundable(&self, order_id: OrderId) -> Result<Payment, Error> {
        let payment = match self.payment_for_order(order_id)? {
            Some(payment) => payment,
            None if self.order(order_id)?.is_some() => return Err(Error::NotPaid),
            None => return Err(Error::OrderNotFound),
        };
        if payment.refund.is_some() {
            return Err(Error::AlreadyRefunded);
        }
        Ok(payment)
    }

    /// Records the payment of an authorized charge if the order may still be paid. A second record of
    /// the same charge returns the first payment (a retried request); any other is refused.
    pub fn record(
        unit: &mut Unit,
        id: PaymentId,
        order_id: OrderId,
        payer: UserId,
        stripe_id: &str,
        now: Millis,
    ) -> Result<Payment, Error> {
        let charge = Charge {
            id,
            order_id,
            payer: Some(payer),
            method: PaymentMethod::Card,
            stripe_id,
        };
        Self::insert(unit, charge, now)
    }

    /// Records cash taken at the box office for an open order, whoever placed it. The order's one
    /// payment: a second is refused.
    pub fn record_cash(
        unit: &mut Unit,
        id: PaymentId,
        order_id: OrderId,
        now: Millis,
    ) -> Result<Payment, Error> {
        let charge = Charge {
            id,
            order_id,
            payer: None,
            method: PaymentMethod::Cash,
            stripe_id: "",
        };
        Self::insert(unit, charge, now)
    }

    fn insert(unit: &mut Unit, charge: Charge<'_>, now: Millis) -> Result<Payment, Error> {
        let Charge {
            id,
            order_id,
            payer,
            method,
            stripe_id,
        } = charge;
        let mut by_order = unit.txn().open_table(BY_ORDER)?;
        let mut payments = unit.txn().open_table(PAYMENTS)?;
        if let Some(existing) = by_order.get(order_id.as_bytes().as_slice())? {
            let existing: Payment = match payments.get(existing.value())? {
                Some(p) => decode(p.value())?,
                None => {
                    return Err(Error::Store(redb::Error::Corrupted(
                        "payment index without payment".into(),
                    )));
                }
            };
            return if method.is_card()
                && existing.stripe_id == stripe_id
                && existing.order_id == order_id
            {
                Ok(existing)
            } else {
                Err(Error::AlreadyPaid)
            };
        }
        let replica: OrderReplica = match unit
            .txn()
            .open_table(REPLICAS)?
            .get(order_id.as_bytes().as_slice())?
        {
            Some(r) => decode(r.value())?,
            None => return Err(Error::OrderNotFound),
        };
        match payer {
            Some(payer) => replica.check_payable(payer, now)?,
            None => replica.check_open(now)?,
        }
        let payment = Payment {
            id,
            order_id,
            stripe_id: stripe_id.to_owned(),
            method,
            amount_cents: replica.amount_cents(),
            paid_at: now,
            refund: None,
        };
        payments.insert(id.as_bytes().as_slice(), encode(&payment).as_slice())?;
        by_order.insert(order_id.as_bytes().as_slice(), id.as_bytes().as_slice())?;
        drop((payments, by_order));
        Self::keep_movement(unit, &payment, MovementKind::Sale, now)?;
        unit.emit(DomainEvent::PaymentCreated(PaymentCreated {
            id,
            order_id,
            stripe_id: stripe_id.to_owned(),
            method,
        }));
        Ok(payment)
    }

    /// Records that a paid order's money was given back (by the gateway for a card, over the
    /// counter for cash). Once per payment; clears the refund's pending entry.
    pub fn refund(
        unit: &mut Unit,
        order_id: OrderId,
        by: UserId,
        now: Millis,
    ) -> Result<Payment, Error> {
        let mut payment = Self::refundable_in(unit, order_id)?;
        payment.refund = Some(Refund { at: now, by });
        unit.txn().open_table(PAYMENTS)?.insert(
            payment.id.as_bytes().as_slice(),
            encode(&payment).as_slice(),
        )?;
        Self::keep_movement(unit, &payment, MovementKind::Refund, now)?;
        Self::clear_pending_refund(unit, order_id)?;
        unit.emit(DomainEvent::PaymentRefunded(PaymentRefunded {
            id: payment.id,
            order_id,
            method: payment.method,
            amount_cents: payment.amount_cents,
            by,
        }));
        Ok(payment)
    }

    /// The payment of `order_id` if it may be refunded now, read in the write transaction.
    pub(super) fn refundable_in(unit: &Unit, order_id: OrderId) -> Result<Payment, Error> {
        let by_order = unit.txn().open_table(BY_ORDER)?;
        let payments = unit.txn().open_table(PAYMENTS)?;
        let Some(payment_id) = by_order.get(order_id.as_bytes().as_slice())? else {
            let known = unit
                .txn()
                .open_table(REPLICAS)?
                .get(order_id.as_bytes().as_slice())?
                .is_some();
            return Err(if known {
                Error::NotPaid
            } else {
                Error::OrderNotFound
            });
        };
        let payment = payments.get(payment_id.value())?.ok_or_else(|| {
            Error::Store(redb::Error::Corrupted(
                "payment index without payment".into(),
            ))
        })?;
        let payment = decode::<Payment>(payment.value())?;
        if payment.refund.is_some() {
            return Err(Error::AlreadyRefunded);
        }
        Ok(payment)
    }

    fn keep_movement(
        unit: &mut Unit,
        payment: &Payment,
        kind: MovementKind,
        at: Millis,
    ) -> Result<(), redb::Error> {
        let movement = Movement {
            at,
            kind,
            method: payment.method,
            amount_cents: payment.amount_cents,
            order_id: payment.order_id,
            payment_id: payment.id,
        };
        let key = movement_key(at, payment.id, kind);
        unit.txn()
            .open_table(MOVEMENTS)?
            .insert(key.as_slice(), encode(&movement).as_slice())?;
        Ok(())
    }

    /// Sales and refunds from `from` (inclusive) to `to` (exclusive), in time order.
    pub fn movements(&self, from: Millis, to: Millis) -> Result<Vec<Movement>, redb::Error> {
        let txn = self.db.begin_read()?;
        let movements = txn.open_table(MOVEMENTS)?;
        let start = from.0.to_be_bytes();
        let end = to.0.to_be_bytes();
        movements
            .range(start.as_slice()..end.as_slice())?
            .map(|entry| decode(entry?.1.value()))
            .collect()
    }

    /// Puts back a payment or a refund the hub's copy of `event` describes (the catch-up of a
    /// restored node), with its movement at the event's time; one already recorded is left alone.
    /// The card's progress trail is not rebuilt: the payment was settled before the copy was made.
    pub fn restore(unit: &mut Unit, event: &StoredEvent) -> Result<(), redb::Error> {
        let at = Millis(event.at);
        match &event.event {
            DomainEvent::PaymentCreated(p) => {
                if unit
                    .txn()
                    .open_table(BY_ORDER)?
                    .get(p.order_id.as_bytes().as_slice())?
                    .is_some()
                {
                    return Ok(());
                }
                let replica: Option<OrderReplica> = unit
                    .txn()
                    .open_table(REPLICAS)?
                    .get(p.order_id.as_bytes().as_slice())?
                    .map(|r| decode(r.value()))
                    .transpose()?;
                let replica = replica.ok_or_else(|| {
                    redb::Error::Corrupted(format!(
                        "payment:created {} pays order {}, which the store lacks",
                        p.id, p.order_id
                    ))
                })?;
                let payment = Payment {
                    id: p.id,
                    order_id: p.order_id,
                    stripe_id: p.stripe_id.clone(),
                    method: p.method,
                    amount_cents: replica.amount_cents(),
                    paid_at: at,
                    refund: None,
                };
                unit.txn()
                    .open_table(PAYMENTS)?
                    .insert(p.id.as_bytes().as_slice(), encode(&payment).as_slice())?;
                unit.txn()
                    .open_table(BY_ORDER)?
                    .insert(p.order_id.as_bytes().as_slice(), p.id.as_bytes().as_slice())?;
                Self::keep_movement(unit, &payment, MovementKind::Sale, at)
            }
            DomainEvent::PaymentRefunded(r) => match Self::refundable_in(unit, r.order_id) {
                Ok(mut payment) => {
                    payment.refund = Some(Refund { at, by: r.by });
                    unit.txn().open_table(PAYMENTS)?.insert(
                        payment.id.as_bytes().as_slice(),
                        encode(&payment).as_slice(),
                    )?;
                    Self::keep_movement(unit, &payment, MovementKind::Refund, at)?;
                    Self::clear_pending_refund(unit, r.order_id).map_err(into_store)
                }
                Err(Error::AlreadyRefunded) => Ok(()),
                Err(e) => Err(into_store(e)),
            },
            _ => Ok(()),
        }
    }

    /// Follows orders: replicas are created by `order:created` and moved by later order events, each
    /// applied only if newer than the replica.
    pub fn react(unit: &mut Unit, event: &StoredEvent) -> Result<(), redb::Error> {
        let mut replicas = unit.txn().open_table(REPLICAS)?;
        let (id, version, status) = match &event.event {
            DomainEvent::OrderCreated(e) => {
                if replicas.get(e.id.as_bytes().as_slice())?.is_none() {
                    let expires_at = Millis::parse_iso(&e.expires_at).ok_or_else(|| {
                        redb::Error::Corrupted(format!(
                            "order:created expiresAt {:?}",
                            e.expires_at
                        ))
                    })?;
                    let replica = OrderReplica {
                        id: e.id,
                        user_id: e.user_id,
                        price: e.show.as_ref().map_or(e.ticket.price, |s| s.total),
                        status: e.status,
                        expires_at,
                        version: e.version,
                    };
                    replicas.insert(e.id.as_bytes().as_slice(), encode(&replica).as_slice())?;
                }
                return Ok(());
            }
            DomainEvent::OrderCancelled(e) => (e.id, e.version, OrderStatus::Cancelled),
            DomainEvent::OrderCompleted(e) => (e.id, e.version, OrderStatus::Complete),
            _ => return Ok(()),
        };
        let Some(mut replica) = replicas
            .get(id.as_bytes().as_slice())?
            .map(|r| decode::<OrderReplica>(r.value()))
            .transpose()?
        else {
            return Ok(());
        };
        if version > replica.version {
            replica.status = status;
            replica.version = version;
            replicas.insert(id.as_bytes().as_slice(), encode(&replica).as_slice())?;
        }
        Ok(())
    }
}

/// A payment about to be recorded: by card for its buyer, or in cash by staff (no payer check).
struct Charge<'a> {
    id: PaymentId,
    order_id: OrderId,
    payer: Option<UserId>,
    method: PaymentMethod,
    stripe_id: &'a str,
}

fn movement_key(at: Millis, payment: PaymentId, kind: MovementKind) -> [u8; 21] {
    let mut key = [0u8; 21];
    key[..8].copy_from_slice(&at.0.to_be_bytes());
    key[8..20].copy_from_slice(payment.as_bytes());
    key[20] = match kind {
        MovementKind::Sale => 0,
        MovementKind::Refund => 1,
    };
    key
}

/// A restore meets only storage errors or a store that disagrees with the hub's copy.
fn into_store(e: Error) -> redb::Error {
    match e {
        Error::Store(e) => e,
        other => redb::Error::Corrupted(format!("restoring a refund: {other}")),
    }
}
