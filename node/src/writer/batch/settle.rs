//! What rounds of reactions committed without an fsync: the copies the next durable commit keeps
//! of their events, how far the sequence survives a crash, and making those stores durable.
//!
//! Invariant: every event at or below `durable_through` is durable in its own store or copied into
//! the journal of a durable commit; `settled` is the same for its own store alone (older copies may
//! go). Every durable commit the writer makes copies the events above `journaled`. The stores that
//! wrote them commit durably in place when no request came for `SETTLE_IDLE` (`settle`), and a round
//! of reactions commits durably once `SETTLE_AFTER` of their events wait (see `build_round`).

use tix_core::events::StoredEvent;
use tix_core::outbox::Unit;
use tix_core::reactions::Service;
use tix_core::recovery::producer;
use tracing::error;

use super::State;
use crate::writer::command::WriteFailed;

impl State {
    /// Like `ready`, with every reaction durable in its own store: for what commits every store
    /// without the journal's copies.
    pub(super) fn ready_and_settled(&mut self) -> Result<(), WriteFailed> {
        self.ready()?;
        if self.unsettled() {
            self.settle();
            self.ready()?;
        }
        Ok(())
    }

    /// What the next durable commit copies into its journal: the unsettled events no durable commit
    /// has copied yet, and the sequence at or below which every event is durable in its own store.
    pub(super) fn journal_to_write(&self) -> (Vec<StoredEvent>, u64) {
        let copies = self
            .unsettled
            .iter()
            .filter(|e| e.seq > self.journaled)
            .cloned()
            .collect();
        (copies, self.settled())
    }

    /// Every event at or below this is durable in the store that wrote it.
    pub(super) fn settled(&self) -> u64 {
        self.unsettled
            .first()
            .map_or(self.next_seq - 1, |e| e.seq - 1)
    }

    /// Every event at or below this survives a crash, in its own store or as a journal's copy.
    pub(super) fn durable_through(&self) -> u64 {
        self.unsettled
            .iter()
            .find(|e| e.seq > self.journaled)
            .map_or(self.next_seq - 1, |e| e.seq - 1)
    }

    /// Whether rounds of reactions left events that their stores have not made durable yet.
    pub(in crate::writer) fn unsettled(&self) -> bool {
        !self.unsettled.is_empty()
    }

    /// Makes the stores that wrote unsettled events durable where they are, and announces them;
    /// the writer runs it when no request came for a while. On failure the stores are reloaded
    /// before the next batch.
    pub(in crate::writer) fn settle(&mut self) {
        let mut stores: Vec<Service> = self.unsettled.iter().map(|e| producer(&e.event)).collect();
        stores.sort_unstable_by_key(|s| s.consumer_index());
        stores.dedup();
        if let Err(e) = self.sync_consumers(&stores) {
            error!(error = %e, "making the reactions durable failed; reloading the stores before the next batch");
            self.needs_resync = true;
        }
        self.announce();
    }

    /// Commits each of `consumers`' stores durably at its current position, with the journal's
    /// copies of what the others have not made durable yet.
    pub(super) fn sync_consumers(&mut self, consumers: &[Service]) -> Result<(), redb::Error> {
        for consumer in consumers {
            let index = consumer
                .consumer_index()
                .expect("only consumers write reactions");
            let (copies, settled) = self.journal_to_write();
            let mut unit = Unit::begin(self.stores.db(*consumer))?;
            unit.journal(&copies, settled)?;
            unit.mark_applied(self.applied[index]);
            unit.commit(0, self.clock.now())?;
            self.signals.stats.quiet_commit(true);
            self.persisted[index] = self.applied[index];
            self.journaled = self.unsettled.last().map_or(self.journaled, |e| e.seq);
            self.unsettled.retain(|e| producer(&e.event) != *consumer);
        }
        Ok(())
    }
}
