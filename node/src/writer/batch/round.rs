//! One round of the cascade: transactions built and not committed yet, and their commit.
//!
//! A round's commit and the building of the next round overlap: the events a round will commit are
//! numbered before it commits (`Unit::preview`), so the consumers can build their reactions to them
//! on their own stores while the round's fsyncs run. Nothing of the next round commits before the
//! round it reacts to is durable, and if that commit fails the next round is dropped (its
//! transactions abort), so a store never holds a reaction to an event that is not durable.
//!
//! A round of reactions writes its events without an fsync (`Unit::commit_unsynced`); every durable
//! commit carries a copy of the events written so since the last durable commit (`Journal`), so
//! nothing durable follows an event a crash could lose without its copy (see `journal`).

use std::thread;
use std::time::Instant;

use tix_core::events::StoredEvent;
use tix_core::outbox::Unit;
use tix_core::reactions::Service;
use tix_core::time::Millis;

use crate::writer::WriterStats;

/// Transactions of one round, not committed yet.
#[derive(Default)]
pub(super) struct Round {
    /// Those that emit events (and a batch's own transaction), committed durably one after
    /// another in this order: they take consecutive sequence numbers.
    pub(super) speaking: Vec<Unit>,
    /// Those that emit none, each with whether it must be durable now (those commit in parallel;
    /// the others, which need no fsync, after the speaking ones).
    pub(super) silent: Vec<(Unit, bool)>,
    /// The services whose stores the round writes (a batch run meanwhile must write another).
    pub(super) writes: Vec<Service>,
    /// The services whose stores the round commits durably.
    pub(super) synced: Vec<Service>,
    /// A round of reactions: its speaking transactions commit without an fsync.
    pub(super) reaction: bool,
    /// Consumers whose position becomes durable when this round commits, and the position.
    pub(super) persist: Vec<(usize, u64)>,
    /// The earliest deadline of the expiry jobs this round schedules.
    pub(super) new_jobs_due: Option<Millis>,
}

impl Round {
    pub(super) fn is_empty(&self) -> bool {
        self.speaking.is_empty() && self.silent.is_empty()
    }

    /// How many events the speaking transactions will write.
    pub(super) fn events(&self) -> usize {
        self.speaking.iter().map(Unit::pending_events).sum()
    }

    /// Commits the round: the speaking transactions one after another from `first_seq` (without an
    /// fsync in a round of reactions), the silent durable ones alongside on threads of their own,
    /// the silent volatile ones after the speaking. Every durable one carries `journal`.
    pub(super) fn commit(
        speaking: Vec<Unit>,
        silent: Vec<(Unit, bool)>,
        reaction: bool,
        first_seq: u64,
        now: Millis,
        stats: &WriterStats,
        journal: Journal<'_>,
    ) -> Result<(), redb::Error> {
        thread::scope(|scope| {
            // Transactions without events need not be durable (a crash replays them), except now
            // and then, so that a restart replays only a short stretch.
            let (durable, volatile): (Vec<_>, Vec<_>) =
                silent.into_iter().partition(|(_, durable)| *durable);
            let silent: Vec<_> = durable
                .into_iter()
                .map(|(unit, _)| {
                    stats.quiet_commit(true);
                    scope.spawn(move || {
                        journal.write(&unit)?;
                        unit.commit(0, now).map(drop)
                    })
                })
                .collect();
            let mut result = Ok(());
            let mut seq = first_seq;
            for unit in speaking {
                let started = Instant::now();
                let committed = match reaction {
                    true => unit.commit_unsynced(seq, now),
                    false => journal.write(&unit).and_then(|()| unit.commit(seq, now)),
                };
                match committed {
                    Ok(events) => {
                        seq += events.len() as u64;
                        stats.commit(started.elapsed(), &events, !reaction);
                    }
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            for (unit, _) in volatile {
                stats.quiet_commit(false);
                result = result.and(unit.commit_volatile());
            }
            for commit in silent {
                let committed = commit.join().expect("a commit thread panicked");
                result = result.and(committed);
            }
            result
        })
    }
}

/// What every durable commit of a round copies into its store's journal: the events of reactions
/// committed without an fsync that no durable commit has copied yet, and the sequence at or below
/// which every such event is durable in its own store (older copies are dropped).
#[derive(Clone, Copy)]
pub(super) struct Journal<'a> {
    pub(super) events: &'a [StoredEvent],
    pub(super) settled: u64,
}

impl Journal<'_> {
    pub(super) fn write(self, unit: &Unit) -> Result<(), redb::Error> {
        unit.journal(self.events, self.settled)
    }
}
