//! The transactional outbox every store carries, and the unit of work that writes through it.
//!
//! A `Unit` is one redb write transaction on one service's store. Changes and the events that
//! describe them go into the same transaction; the events get their node-wide sequence numbers only at
//! commit, so the numbers of one commit are contiguous and the union of all outboxes has no gaps as
//! long as commits happen one after another (the node's writer guarantees that).
//!
//! Each store also remembers `last_seq` (the highest sequence it ever wrote, which survives pruning)
//! and `applied_seq` (every event below it has been seen by this service's reactions).

use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
    WriteTransaction,
};

use crate::events::{DomainEvent, StoredEvent};
use crate::time::Millis;

/// Sequence number → encoded `StoredEvent`.
pub const OUTBOX: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("outbox");
/// Small named counters of the store.
pub const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");

const LAST_SEQ: &str = "last_seq";
const EPOCH: &str = "epoch";
const APPLIED_SEQ: &str = "applied_seq";
const PRUNED_SEQ: &str = "pruned_seq";
const CAUGHT_UP: &str = "caught_up";

/// One write transaction on one store, collecting the events of its changes.
pub struct Unit {
    txn: WriteTransaction,
    pending: Vec<DomainEvent>,
    /// Events numbered elsewhere (the hub's copy of what this node once wrote), kept as they are.
    restored: Vec<StoredEvent>,
    applied: Option<u64>,
}

impl Unit {
    pub fn begin(db: &Database) -> Result<Unit, redb::Error> {
        let txn = write_txn(db)?;
        Ok(Unit {
            txn,
            pending: Vec::new(),
            restored: Vec::new(),
            applied: None,
        })
    }

    pub fn txn(&self) -> &WriteTransaction {
        &self.txn
    }

    /// Records an event describing a change made in this unit.
    pub fn emit(&mut self, event: DomainEvent) {
        self.pending.push(event);
    }

    /// Records that this service has seen every event up to and including `seq`.
    pub fn mark_applied(&mut self, seq: u64) {
        self.applied = Some(self.applied.map_or(seq, |s| s.max(seq)));
    }

    /// Puts back an event this store once wrote, under its own sequence number: the catch-up of a
    /// node restored from an older backup. The caller applies its change to the store.
    pub fn restore_event(&mut self, event: StoredEvent) {
        self.restored.push(event);
    }

    /// Whether the outbox holds `seq` (or will, once this unit commits).
    pub fn holds_event(&self, seq: u64) -> Result<bool, redb::Error> {
        if self.restored.iter().any(|e| e.seq == seq) {
            return Ok(true);
        }
        Ok(self.txn.open_table(OUTBOX)?.get(seq)?.is_some())
    }

    /// Forgets the events emitted so far: during a catch-up, what a reaction says is already among
    /// the events being put back, under the numbers they had.
    pub fn forget_emitted(&mut self) {
        self.pending.clear();
    }

    /// How many events this unit will write.
    pub fn pending_events(&self) -> usize {
        self.pending.len()
    }

    /// The events `commit(first_seq, at)` will write, numbered as it will number them: what the
    /// next round of reactions can be built from while this unit commits.
    pub fn preview(&self, first_seq: u64, at: Millis) -> Vec<StoredEvent> {
        self.pending
            .iter()
            .cloned()
            .zip(first_seq..)
            .map(|(event, seq)| StoredEvent {
                seq,
                at: at.0,
                event,
            })
            .collect()
    }

    /// Writes the events under `first_seq, first_seq + 1, ...` and commits durably.
    pub fn commit(self, first_seq: u64, at: Millis) -> Result<Vec<StoredEvent>, redb::Error> {
        let stored: Vec<StoredEvent> = self
            .pending
            .into_iter()
            .zip(first_seq..)
            .map(|(event, seq)| StoredEvent {
                seq,
                at: at.0,
                event,
            })
            .collect();
        {
            let mut outbox = self.txn.open_table(OUTBOX)?;
            for event in stored.iter().chain(&self.restored) {
                outbox.insert(event.seq, event.encode().as_slice())?;
            }
            let mut meta = self.txn.open_table(META)?;
            if let Some(last) = stored.last() {
                meta.insert(LAST_SEQ, last.seq)?;
            }
            if let Some(last) = self.restored.iter().map(|e| e.seq).max() {
                let current = meta.get(LAST_SEQ)?.map(|v| v.value()).unwrap_or(0);
                if last > current {
                    meta.insert(LAST_SEQ, last)?;
                }
            }
            if let Some(applied) = self.applied {
                let current = meta.get(APPLIED_SEQ)?.map(|v| v.value()).unwrap_or(0);
                if applied > current {
                    meta.insert(APPLIED_SEQ, applied)?;
                }
            }
        }
        self.txn.commit()?;
        Ok(stored)
    }

    /// Commits a unit that emitted no events, visible to readers at once but durable only with the
    /// store's next durable commit. Safe because such a unit holds only reactions, which a crash
    /// makes the node replay from the (durable) events that caused them; having no events, it
    /// cannot leave a gap in the sequence.
    pub fn commit_volatile(mut self) -> Result<(), redb::Error> {
        assert!(
            self.pending.is_empty() && self.restored.is_empty(),
            "a unit with events must commit durably"
        );
        self.txn.set_durability(redb::Durability::None)?;
        self.commit(0, Millis(0)).map(drop)
    }
}

/// A write transaction with quick repair on. Every commit of a store must use one: redb decides at
/// open, from the last commit, whether a crash needs the fast repair or a walk of every tree.
pub fn write_txn(db: &Database) -> Result<WriteTransaction, redb::Error> {
    let mut txn = db.begin_write()?;
    txn.set_quick_repair(true);
    Ok(txn)
}

/// Creates the outbox tables so that readers never meet a missing table.
pub fn init(db: &Database) -> Result<(), redb::Error> {
    let txn = write_txn(db)?;
    txn.open_table(OUTBOX)?;
    txn.open_table(META)?;
    txn.commit()?;
    Ok(())
}

/// The highest sequence this store ever wrote, and the position of its reactions.
pub fn positions(db: &Database) -> Result<(u64, u64), redb::Error> {
    let txn = db.begin_read()?;
    let meta = txn.open_table(META)?;
    let last = meta.get(LAST_SEQ)?.map(|v| v.value()).unwrap_or(0);
    let applied = meta.get(APPLIED_SEQ)?.map(|v| v.value()).unwrap_or(0);
    Ok((last, applied))
}

/// The sequence numbers of this store's events with `seq > after`, in order, at most `limit`; the
/// events themselves are not decoded.
pub fn seqs_after(db: &Database, after: u64, limit: usize) -> Result<Vec<u64>, redb::Error> {
    let txn = db.begin_read()?;
    let outbox = txn.open_table(OUTBOX)?;
    let mut seqs = Vec::new();
    for entry in outbox.range(after.saturating_add(1)..)?.take(limit) {
        seqs.push(entry?.0.value());
    }
    Ok(seqs)
}

/// Events of this store with `seq > after`, in order, at most `limit`.
pub fn read_after(
    db: &Database,
    after: u64,
    limit: usize,
) -> Result<Vec<StoredEvent>, redb::Error> {
    let txn = db.begin_read()?;
    let outbox = txn.open_table(OUTBOX)?;
    let mut events = Vec::new();
    for entry in outbox.range(after.saturating_add(1)..)?.take(limit) {
        let (_, value) = entry?;
        let event = StoredEvent::decode(value.value())
            .map_err(|e| redb::Error::Corrupted(format!("outbox entry: {e}")))?;
        events.push(event);
    }
    Ok(events)
}

/// The epoch recorded in `db`, if one is; writes nothing.
pub fn stored_epoch(db: &Database) -> Result<Option<u64>, redb::Error> {
    let txn = db.begin_read()?;
    let epoch = match txn.open_table(META) {
        Ok(meta) => meta.get(EPOCH)?.map(|e| e.value()),
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(epoch)
}

/// The store's epoch: set once, from `candidate`, when the store is new, and kept for its lifetime.
/// A venue whose stores are recreated starts a new epoch, so the hub can tell its sequences apart.
pub fn epoch(db: &Database, candidate: u64) -> Result<u64, redb::Error> {
    if let Some(epoch) = stored_epoch(db)? {
        return Ok(epoch);
    }
    let txn = write_txn(db)?;
    let epoch = {
        let mut meta = txn.open_table(META)?;
        let existing = meta.get(EPOCH)?.map(|e| e.value());
        match existing {
            Some(epoch) => epoch,
            None => {
                meta.insert(EPOCH, candidate)?;
                candidate
            }
        }
    };
    txn.commit()?;
    Ok(epoch)
}

/// Number of events in this store's outbox.
pub fn len(db: &Database) -> Result<u64, redb::Error> {
    let txn = db.begin_read()?;
    Ok(txn.open_table(OUTBOX)?.len()?)
}

/// Deletes at most `limit` of this unit's store's outbox events with `seq <= upto` (oldest first)
/// and records `upto` as pruned once nothing at or below it is left. Returns how many it deleted.
///
/// Callers prune only what the hub has acknowledged and every reaction has durably applied: what is
/// pruned is never read again.
pub fn prune(unit: &Unit, upto: u64, limit: usize) -> Result<usize, redb::Error> {
    let mut outbox = unit.txn().open_table(OUTBOX)?;
    let mut removed = 0;
    while removed < limit {
        let first = outbox.first()?.map(|(seq, _)| seq.value());
        match first {
            Some(seq) if seq <= upto => {
                outbox.pop_first()?;
                removed += 1;
            }
            _ => break,
        }
    }
    let done = outbox.first()?.is_none_or(|(seq, _)| seq.value() > upto);
    if done {
        let mut meta = unit.txn().open_table(META)?;
        let current = meta.get(PRUNED_SEQ)?.map(|v| v.value()).unwrap_or(0);
        if upto > current {
            meta.insert(PRUNED_SEQ, upto)?;
        }
    }
    Ok(removed)
}

/// The highest sequence up to which this store's outbox has been pruned (0 if never).
pub fn pruned(db: &Database) -> Result<u64, redb::Error> {
    let txn = db.begin_read()?;
    let meta = txn.open_table(META)?;
    Ok(meta.get(PRUNED_SEQ)?.map(|v| v.value()).unwrap_or(0))
}

/// Records in this unit's store how far a catch-up from the hub has put events back (see
/// `crate::recovery`): every store records it with each page, so a catch-up cut short resumes
/// from the lowest, where every store is sure to be.
pub fn set_caught_up(unit: &Unit, seq: u64) -> Result<(), redb::Error> {
    unit.txn().open_table(META)?.insert(CAUGHT_UP, seq)?;
    Ok(())
}

/// How far a catch-up has put this store's events back, if one ever ran.
pub fn caught_up(db: &Database) -> Result<Option<u64>, redb::Error> {
    let txn = db.begin_read()?;
    let meta = txn.open_table(META)?;
    Ok(meta.get(CAUGHT_UP)?.map(|v| v.value()))
}
