//! The expiration service's redb store: jobs ordered by deadline, and each order's deadline.

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::Fired;
use crate::events::{DomainEvent, ExpirationComplete, StoredEvent};
use crate::ids::OrderId;
use crate::outbox::{self, Unit};
use crate::time::Millis;

/// Big-endian deadline ++ order id → nothing: iteration order is deadline order.
const JOBS: TableDefinition<'_, &[u8], ()> = TableDefinition::new("jobs");
/// Order id → its job's deadline.
const BY_ORDER: TableDefinition<'_, &[u8], u64> = TableDefinition::new("jobs_by_order");

pub struct ExpirationStore {
    db: Database,
}

impl ExpirationStore {
    pub fn from_database(db: Database) -> Result<ExpirationStore, redb::Error> {
        outbox::init(&db)?;
        let txn = outbox::write_txn(&db)?;
        txn.open_table(JOBS)?;
        txn.open_table(BY_ORDER)?;
        txn.commit()?;
        Ok(ExpirationStore { db })
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The earliest pending deadline, if any job is pending.
    pub fn next_deadline(&self) -> Result<Option<Millis>, redb::Error> {
        let txn = self.db.begin_read()?;
        let jobs = txn.open_table(JOBS)?;
        Ok(jobs.first()?.map(|(key, _)| deadline_of(key.value())))
    }

    /// Up to `limit` pending locks, soonest deadline first.
    pub fn upcoming(&self, limit: usize) -> Result<Vec<(Millis, OrderId)>, redb::Error> {
        let txn = self.db.begin_read()?;
        let jobs = txn.open_table(JOBS)?;
        let mut upcoming = Vec::new();
        for entry in jobs.iter()?.take(limit) {
            let (key, _) = entry?;
            let key = key.value();
            let order_id =
                OrderId::from_bytes(key[8..20].try_into().expect("job keys are 20 bytes"));
            upcoming.push((deadline_of(key), order_id));
        }
        Ok(upcoming)
    }

    pub fn pending(&self) -> Result<u64, redb::Error> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(JOBS)?.len()?)
    }

    /// Takes up to `limit` jobs due at `now` and emits `expiration:complete` for each.
    pub fn fire_due(unit: &mut Unit, now: Millis, limit: usize) -> Result<Vec<Fired>, redb::Error> {
        let mut jobs = unit.txn().open_table(JOBS)?;
        let mut by_order = unit.txn().open_table(BY_ORDER)?;
        let end = job_key(now, &[0xff; 12]);
        let mut fired = Vec::new();
        for entry in jobs
            .extract_from_if(..=end.as_slice(), |_, _| true)?
            .take(limit)
        {
            let (key, _) = entry?;
            let key = key.value();
            let order_id =
                OrderId::from_bytes(key[8..20].try_into().expect("job keys are 20 bytes"));
            fired.push(Fired {
                order_id,
                deadline: deadline_of(key),
            });
        }
        for job in &fired {
            by_order.remove(job.order_id.as_bytes().as_slice())?;
        }
        drop((jobs, by_order));
        for job in &fired {
            unit.emit(DomainEvent::ExpirationComplete(ExpirationComplete {
                order_id: job.order_id,
            }));
        }
        Ok(fired)
    }

    /// Takes off the job `expiration:complete` says fired (the catch-up of a restored node).
    pub fn restore(unit: &mut Unit, fired: &ExpirationComplete) -> Result<(), redb::Error> {
        let mut jobs = unit.txn().open_table(JOBS)?;
        let mut by_order = unit.txn().open_table(BY_ORDER)?;
        drop_job(&mut jobs, &mut by_order, fired.order_id)
    }

    /// Schedules a job for each new order and drops the job of an order that ended.
    pub fn react(unit: &mut Unit, event: &StoredEvent) -> Result<(), redb::Error> {
        let mut jobs = unit.txn().open_table(JOBS)?;
        let mut by_order = unit.txn().open_table(BY_ORDER)?;
        match &event.event {
            DomainEvent::OrderCreated(e) => {
                let deadline = Millis::parse_iso(&e.expires_at).ok_or_else(|| {
                    redb::Error::Corrupted(format!("order:created expiresAt {:?}", e.expires_at))
                })?;
                if by_order.get(e.id.as_bytes().as_slice())?.is_none() {
                    jobs.insert(job_key(deadline, e.id.as_bytes()).as_slice(), ())?;
                    by_order.insert(e.id.as_bytes().as_slice(), deadline.0)?;
                }
            }
            DomainEvent::OrderCancelled(e) => drop_job(&mut jobs, &mut by_order, e.id)?,
            DomainEvent::OrderCompleted(e) => drop_job(&mut jobs, &mut by_order, e.id)?,
            _ => {}
        }
        Ok(())
    }
}

fn drop_job(
    jobs: &mut redb::Table<'_, &[u8], ()>,
    by_order: &mut redb::Table<'_, &[u8], u64>,
    order_id: OrderId,
) -> Result<(), redb::Error> {
    if let Some(deadline) = by_order.remove(order_id.as_bytes().as_slice())? {
        jobs.remove(job_key(Millis(deadline.value()), order_id.as_bytes()).as_slice())?;
    }
    Ok(())
}

fn job_key(deadline: Millis, order: &[u8; 12]) -> [u8; 20] {
    let mut key = [0u8; 20];
    key[..8].copy_from_slice(&deadline.0.to_be_bytes());
    key[8..].copy_from_slice(order);
    key
}

fn deadline_of(key: &[u8]) -> Millis {
    Millis(u64::from_be_bytes(
        key[..8].try_into().expect("job keys are 20 bytes"),
    ))
}
