//! The payments service's redb store: order replicas, payments, and the payment of each order.

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{Error, OrderReplica, Payment};
use crate::events::{DomainEvent, OrderStatus, PaymentCreated, StoredEvent};
use crate::ids::{OrderId, PaymentId, UserId};
use crate::outbox::{self, Unit};
use crate::record::{decode, encode};
use crate::time::Millis;

const REPLICAS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("order_replicas");
const PAYMENTS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("payments");
/// Order id → its one payment id.
const BY_ORDER: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("payments_by_order");

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
            return if existing.stripe_id == stripe_id && existing.order_id == order_id {
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
        replica.check_payable(payer, now)?;
        let payment = Payment {
            id,
            order_id,
            stripe_id: stripe_id.to_owned(),
        };
        payments.insert(id.as_bytes().as_slice(), encode(&payment).as_slice())?;
        by_order.insert(order_id.as_bytes().as_slice(), id.as_bytes().as_slice())?;
        drop((payments, by_order));
        unit.emit(DomainEvent::PaymentCreated(PaymentCreated {
            id,
            order_id,
            stripe_id: stripe_id.to_owned(),
        }));
        Ok(payment)
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
                        price: e.ticket.price,
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
