//! Start-up after a crash: the events that rounds of reactions committed without an fsync, lost
//! with their stores' unsynced commits, put back from the copies later durable commits kept.
//!
//! Invariants: a store's unsynced commits are lost only as a whole suffix (after its last durable
//! commit), and they hold only reactions, so an event of store S is lost exactly when its number is
//! above S's durable `last_seq`. Every event below a journal's copy is durable or copied itself, so
//! putting the lost copies back in sequence order always finds what caused each one in place.
//! Reactions are deterministic (they read the event and their own store only), so replaying S's
//! reactions from its durable position gives back the lost events in the same order: each is
//! checked against its copy, which keeps its number and its time.

use std::collections::BTreeMap;

use tracing::info;

use tix_core::events::StoredEvent;
use tix_core::outbox::{self, Unit};
use tix_core::recovery::producer;

use super::State;

impl State {
    /// Puts back every journaled event its store lost, before the first replay of reactions.
    pub(super) fn recover_journal(&mut self) -> Result<(), redb::Error> {
        let mut lost = self.lost_events()?;
        if lost.is_empty() {
            return Ok(());
        }
        info!(
            lost = lost.len(),
            "putting back the events of reactions a crash took before their stores synced"
        );
        while let Some((_, first)) = lost.pop_first() {
            self.replay_until(first, &mut lost)?;
        }
        Ok(())
    }

    /// The journals' copies of events that their stores do not hold, by sequence number.
    fn lost_events(&self) -> Result<BTreeMap<u64, StoredEvent>, redb::Error> {
        let mut lost = BTreeMap::new();
        for db in self.stores.databases() {
            for copy in outbox::journaled(db)? {
                let (last, _) = outbox::positions(self.stores.db(producer(&copy.event)))?;
                if copy.seq > last {
                    lost.insert(copy.seq, copy);
                }
            }
        }
        Ok(lost)
    }

    /// Replays the reactions of `first`'s store from its durable position, in order, until they
    /// have emitted `first` again (with any more events the same reaction emitted, which are the
    /// store's next copies in `lost`), and on while the lowest lost copy is the same store's and
    /// its causes are in place; then commits what it put back durably, under the copies' numbers.
    fn replay_until(
        &self,
        first: StoredEvent,
        lost: &mut BTreeMap<u64, StoredEvent>,
    ) -> Result<(), redb::Error> {
        let service = producer(&first.event);
        let db = self.stores.db(service);
        let (_, applied) = outbox::positions(db)?;
        // Contiguous, so it stops before `first`: everything below it is in place.
        let causes = self.stores.events_after(applied, usize::MAX)?;
        let mut unit = Unit::begin(db)?;
        let mut expected = Some(first.clone());
        let mut through = None;
        for cause in causes.iter().filter(|e| service.reacts_to(e)) {
            service.react(&mut unit, cause)?;
            for emitted in unit.take_emitted() {
                let copy = match expected.take() {
                    Some(copy) => copy,
                    None => next_of(service, lost)
                        .ok_or_else(|| mismatch(&first, format!("{emitted:?} has no copy")))?,
                };
                if copy.event != emitted {
                    let what = format!(
                        "event {} was {:?}, the replay gave {emitted:?}",
                        copy.seq, copy.event
                    );
                    return Err(mismatch(&first, what));
                }
                unit.restore_event(copy);
            }
            if expected.is_none() {
                through = Some(cause.seq);
                match lost.first_key_value() {
                    Some((_, next)) if producer(&next.event) == service => {
                        expected = lost.pop_first().map(|(_, next)| next);
                    }
                    _ => break,
                }
            }
        }
        let Some(through) = through else {
            return Err(mismatch(&first, "its causes gave nothing back".into()));
        };
        if let Some(unmatched) = expected {
            // Its causes lie beyond `first`: the next turn reads them.
            lost.insert(unmatched.seq, unmatched);
        }
        unit.mark_applied(through);
        unit.commit(0, self.clock.now())?;
        Ok(())
    }
}

/// The lowest lost copy written by `service`, taken out of `lost`.
fn next_of(
    service: tix_core::reactions::Service,
    lost: &mut BTreeMap<u64, StoredEvent>,
) -> Option<StoredEvent> {
    let seq = *lost.iter().find(|(_, e)| producer(&e.event) == service)?.0;
    lost.remove(&seq)
}

fn mismatch(first: &StoredEvent, what: String) -> redb::Error {
    redb::Error::Corrupted(format!(
        "the journal's copy of event {} ({}) cannot be put back: replaying its store's reactions, {what}",
        first.seq,
        first.event.subject()
    ))
}
