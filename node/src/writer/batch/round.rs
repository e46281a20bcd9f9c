//! One round of the cascade: transactions built and not committed yet, and their commit.
//!
//! A round's commit and the building of the next round overlap: the events a round will commit are
//! numbered before it commits (`Unit::preview`), so the consumers can build their reactions to them
//! on their own stores while the round's fsyncs run. Nothing of the next round commits before the
//! round it reacts to is durable, and if that commit fails the next round is dropped (its
//! transactions abort), so a store never holds a reaction to an event that is not durable.

use std::thread;
use std::time::Instant;

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

    /// Commits the round: the speaking transactions one after another from `first_seq`, the silent
    /// durable ones alongside on threads of their own, the silent volatile ones after the speaking.
    pub(super) fn commit(
        speaking: Vec<Unit>,
        silent: Vec<(Unit, bool)>,
        first_seq: u64,
        now: Millis,
        stats: &WriterStats,
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
                    scope.spawn(move || unit.commit(0, now).map(drop))
                })
                .collect();
            let mut result = Ok(());
            let mut seq = first_seq;
            for unit in speaking {
                let started = Instant::now();
                match unit.commit(seq, now) {
                    Ok(events) => {
                        seq += events.len() as u64;
                        stats.commit(started.elapsed(), &events);
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
