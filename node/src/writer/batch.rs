//! The writer's state: runs a batch in one transaction, commits it, and cascades the reactions;
//! recovers after a crash or a failed write; checkpoints and prunes.
//!
//! Architecture invariant: commits happen one after another, and each commit's events take the next
//! contiguous sequence numbers, so the union of the outboxes is gap-free. After a crash the reactions
//! that did not happen yet are replayed from the outboxes (`resync`); every reaction is idempotent and
//! each store records how far it has applied.

mod catch_up;
mod round;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;

use tracing::{error, info};

use tix_core::events::{DomainEvent, StoredEvent};
use tix_core::outbox::{self, Unit};
use tix_core::reactions::{CONSUMERS, Service};
use tix_core::time::Millis;

use self::round::Round;
use super::command::{Command, Committed, Context, Ran, Stage, WriteFailed};
use super::{MAX_BATCH, NoneUpcoming, Snapshot, Upcoming, WriterSignals};
use crate::clock::Clock;
use crate::stores::Stores;

/// How far a consumer's recorded position may fall behind before it is written anyway.
const MAX_POSITION_LAG: u64 = 4096;
/// Most outbox events one prune deletes from each store.
const PRUNE_BATCH: usize = 16 * 1024;

pub(super) struct State {
    stores: Arc<Stores>,
    clock: Arc<dyn Clock>,
    lock_ttl: std::time::Duration,
    signals: Arc<WriterSignals>,
    next_seq: u64,
    /// Per consumer: every event at or below this has been seen by its reactions.
    applied: [u64; CONSUMERS.len()],
    /// Per consumer: the position last written to its store (what a restart replays from).
    persisted: [u64; CONSUMERS.len()],
    /// A write failed; positions must be reloaded from the stores before the next batch.
    needs_resync: bool,
    /// The next batch, run while the last round of the one before it committed; committed next.
    ahead: Option<Prepared>,
}

/// A batch whose commands ran in its transaction, not committed yet.
pub(super) struct Prepared {
    service: Service,
    context: Context,
    /// The answers of the commands that ran, sent once the batch and its reactions are through.
    ran: Vec<Box<dyn Ran>>,
    /// The batch's transaction, or why the batch failed before its commit.
    unit: Result<Unit, WriteFailed>,
    /// Commands taken and not run yet: left for later by a batch run early (so as not to hold
    /// back the answers of the batch before it), or never to run because the batch failed first.
    waiting: Vec<Command>,
}

impl Prepared {
    /// Runs `commands` in the batch's transaction, one after another while `go_on` says so; the
    /// rest wait. After a store fault, none runs.
    fn run(&mut self, commands: Vec<Command>, go_on: impl Fn() -> bool) {
        let mut commands = commands.into_iter();
        if let Ok(unit) = &mut self.unit {
            while go_on() {
                let Some(command) = commands.next() else {
                    break;
                };
                let (answer, fault) = command.job.run(unit, &self.context);
                self.ran.push(answer);
                if let Some(e) = fault {
                    self.unit = Err(WriteFailed::new(Stage::Run, e));
                    break;
                }
            }
        }
        self.waiting.extend(commands);
    }

    /// Answers every command of the batch with `failure`; its transaction is dropped unwritten.
    fn fail(self, failure: WriteFailed) {
        self.ran.into_iter().for_each(|r| r.fail(failure.clone()));
        self.waiting
            .into_iter()
            .for_each(|c| c.fail(failure.clone()));
    }
}

impl State {
    pub(super) fn recover(
        stores: Arc<Stores>,
        clock: Arc<dyn Clock>,
        lock_ttl: std::time::Duration,
        signals: Arc<WriterSignals>,
    ) -> anyhow::Result<State> {
        let mut state = State {
            stores,
            clock,
            lock_ttl,
            signals,
            next_seq: 1,
            applied: [0; CONSUMERS.len()],
            persisted: [0; CONSUMERS.len()],
            needs_resync: false,
            ahead: None,
        };
        state.resync()?;
        Ok(state)
    }

    /// Reloads the sequence and every consumer's position from the stores, then replays the
    /// reactions they have not applied. Runs at start-up and after a failed write.
    fn resync(&mut self) -> Result<(), redb::Error> {
        let last_seq = self.stores.last_seq()?;
        for (slot, consumer) in self.applied.iter_mut().zip(CONSUMERS) {
            *slot = outbox::positions(self.stores.db(consumer))?.1;
        }
        // Positions read back may come from commits that were never made durable; pruning trusts
        // `persisted`, so make them durable before believing them.
        self.checkpoint()?;
        self.next_seq = last_seq + 1;
        self.signals.last_seq.store(last_seq, Ordering::Release);
        let from = self.applied.iter().copied().min().unwrap_or(last_seq);
        let replay = self.stores.events_after(from, usize::MAX)?;
        let pending = replay
            .iter()
            .filter(|e| {
                CONSUMERS
                    .iter()
                    .zip(self.applied)
                    .any(|(c, a)| e.seq > a && c.reacts_to(e))
            })
            .count();
        if pending > 0 {
            info!(
                from,
                pending, "replaying reactions interrupted by a stop or a failed write"
            );
        }
        let replayed = self.cascade(replay);
        self.announce();
        replayed
    }

    /// Reloads the stores if an earlier write failed; an error if they still fail.
    fn ready(&mut self) -> Result<(), WriteFailed> {
        if self.needs_resync {
            self.resync().map_err(|e| {
                error!(error = %e, "stores still failing; refusing writes");
                WriteFailed::new(Stage::Resync, e)
            })?;
            self.needs_resync = false;
        }
        Ok(())
    }

    pub(super) fn run_batch(
        &mut self,
        service: Service,
        batch: Vec<Command>,
        upcoming: &mut dyn Upcoming,
    ) {
        if let Err(failure) = self.ready() {
            batch.into_iter().for_each(|c| c.fail(failure.clone()));
            return;
        }
        let prepared = self.prepare(service, batch, || true);
        self.complete(prepared, upcoming);
    }

    /// The batch the writer ran early, if there is one: it is committed before anything else.
    pub(super) fn take_ahead(&mut self) -> Option<Prepared> {
        self.ahead.take()
    }

    /// Runs a batch's commands in one transaction on `service`'s store while `go_on` says so,
    /// without committing it.
    fn prepare(&self, service: Service, batch: Vec<Command>, go_on: impl Fn() -> bool) -> Prepared {
        let context = Context {
            now: self.clock.now(),
            lock_ttl: self.lock_ttl,
        };
        let unit =
            Unit::begin(self.stores.db(service)).map_err(|e| WriteFailed::new(Stage::Begin, e));
        let mut prepared = Prepared {
            service,
            context,
            ran: Vec::with_capacity(batch.len()),
            unit,
            waiting: Vec::new(),
        };
        prepared.run(batch, go_on);
        prepared
    }

    /// Commits a prepared batch, lets the other services react, and answers its commands. A
    /// batch behind it may be run meanwhile (`self.ahead`); if this one fails, that one is
    /// dropped and answered as not committed.
    pub(super) fn complete(&mut self, mut prepared: Prepared, upcoming: &mut dyn Upcoming) {
        if prepared.unit.is_ok() {
            // Taken early, the batch may have left commands waiting, and others arrived since.
            let waiting = std::mem::take(&mut prepared.waiting);
            prepared.run(waiting, || true);
            let room = MAX_BATCH.saturating_sub(prepared.ran.len());
            prepared.run(upcoming.more(prepared.service, room), || true);
        }
        self.signals
            .stats
            .batch(prepared.ran.len() + prepared.waiting.len());
        let Prepared {
            service,
            context,
            ran,
            unit,
            waiting,
        } = prepared;
        let outcome = unit.and_then(|unit| self.execute(service, unit, &context, upcoming));
        match outcome {
            Ok(()) => ran.into_iter().for_each(|r| r.send()),
            Err(failure) if failure.committed() == Committed::Yes => {
                // The batch itself is durable: its commands happened, and their answers say so
                // (a payment answered as failed would be voided). The reactions are replayed
                // before the next batch.
                error!(error = %failure, "reactions to a committed batch failed; answering its commands and replaying the reactions before the next batch");
                self.needs_resync = true;
                ran.into_iter().for_each(|r| r.send());
                self.drop_ahead(&failure);
            }
            Err(failure) => {
                error!(error = %failure, "write batch failed; its replies report the failure");
                // Part of the batch or of its reactions may have committed: start the next batch
                // from what the stores say, replaying what is missing.
                self.needs_resync = true;
                ran.into_iter().for_each(|r| r.fail(failure.clone()));
                waiting.into_iter().for_each(|c| c.fail(failure.clone()));
                self.drop_ahead(&failure);
            }
        }
    }

    /// Drops the batch run early behind one that failed, answering it as not committed. Every
    /// failure of a batch calls this before the next batch is taken, so a batch run early is
    /// committed only behind one that went through.
    fn drop_ahead(&mut self, failure: &WriteFailed) {
        if let Some(ahead) = self.ahead.take() {
            ahead.fail(failure.behind());
        }
    }

    /// Commits a batch's transaction and lets the other services react.
    fn execute(
        &mut self,
        service: Service,
        mut unit: Unit,
        context: &Context,
        upcoming: &mut dyn Upcoming,
    ) -> Result<(), WriteFailed> {
        let position = service
            .consumer_index()
            .map(|index| (index, self.applied[index]));
        if let Some((_, applied)) = position {
            unit.mark_applied(applied);
        }
        let batch = Round {
            speaking: vec![unit],
            writes: vec![service],
            persist: position.into_iter().collect(),
            ..Round::default()
        };
        let reacted = match self.advance(batch, context.now, upcoming) {
            Err(Advance::Commit(e)) => return Err(WriteFailed::new(Stage::Commit, e)),
            Err(Advance::React(e)) => Err(e),
            Ok(round) => self.finish(round, upcoming),
        };
        self.announce();
        reacted.map_err(|e| WriteFailed::new(Stage::React, e))
    }

    /// Tells the relay, search and the live feed how far events are committed, once a batch's
    /// reactions are done: a reader never sees an event before what its reactions wrote (a seat
    /// notice reads the counts that a reaction keeps).
    fn announce(&self) {
        let last = self.next_seq - 1;
        self.signals.committed.send_if_modified(|seen| {
            let moved = *seen != last;
            *seen = last;
            moved
        });
    }

    /// Lets every consumer react to `events` (and to what its reactions emit) until all are seen.
    fn cascade(&mut self, events: Vec<StoredEvent>) -> Result<(), redb::Error> {
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(());
        };
        let round = self.build_round(&events, last)?;
        for applied in &mut self.applied {
            *applied = (*applied).max(last);
        }
        self.finish(round, &mut NoneUpcoming)
    }

    /// Commits `round` and the rounds of reactions that follow it, until one emits nothing.
    fn finish(&mut self, mut round: Round, upcoming: &mut dyn Upcoming) -> Result<(), redb::Error> {
        let now = self.clock.now();
        while !round.is_empty() {
            round = match self.advance(round, now, upcoming) {
                Ok(next) => next,
                Err(Advance::Commit(e) | Advance::React(e)) => return Err(e),
            };
        }
        Ok(())
    }

    /// Commits `round` while the consumers build the next round from the events it writes (see
    /// `round`); answers the next round once `round` is durable.
    ///
    /// Commits still happen one after another and each takes the next sequence numbers, so the
    /// outboxes stay gap-free; only the building of reactions moves under the fsyncs.
    ///
    /// When nothing reacts to `round` (it is the last of its cascade), the next queued batch may
    /// run its commands meanwhile, if its store is not one `round` writes (`self.ahead`): no
    /// reaction to the batch before it is left to change that store, so its commands see what
    /// they would have seen after it, and it commits only after `round`.
    fn advance(
        &mut self,
        round: Round,
        now: Millis,
        upcoming: &mut dyn Upcoming,
    ) -> Result<Round, Advance> {
        let first_seq = self.next_seq;
        let mut events: Vec<StoredEvent> = Vec::with_capacity(round.events());
        for unit in &round.speaking {
            events.extend(unit.preview(first_seq + events.len() as u64, now));
        }
        let Round {
            speaking,
            silent,
            writes,
            persist,
            new_jobs_due,
        } = round;
        let stats = &self.signals.stats;
        let this = &*self;
        let (committed, next, ahead) = thread::scope(|scope| {
            let commit =
                scope.spawn(move || Round::commit(speaking, silent, first_seq, now, stats));
            let next = match events.last() {
                Some(last) => this.build_round(&events, last.seq).map(Some),
                None => Ok(None),
            };
            let last_round = matches!(&next, Ok(next) if next.as_ref().is_none_or(Round::is_empty));
            let ahead = match last_round {
                true => upcoming.next_batch(&writes),
                false => None,
            };
            // Only while the round commits: its answers must not wait for the next batch.
            let ahead = ahead
                .map(|(service, batch)| this.prepare(service, batch, || !commit.is_finished()));
            (
                commit.join().expect("a commit thread panicked"),
                next,
                ahead,
            )
        });
        if ahead.is_some() {
            self.signals.stats.ahead.inc();
            self.ahead = ahead;
        }
        committed.map_err(Advance::Commit)?;
        if !events.is_empty() {
            self.next_seq += events.len() as u64;
            self.signals
                .last_seq
                .store(self.next_seq - 1, Ordering::Release);
        }
        for (index, position) in persist {
            self.persisted[index] = position;
        }
        if new_jobs_due.is_some_and(|due| due.0 < self.signals.expiry_wake.load(Ordering::SeqCst)) {
            self.signals.expiry_changed.notify_one();
        }
        let next = next.map_err(Advance::React)?;
        if let Some(last) = events.last().map(|e| e.seq) {
            // Every consumer has now seen what this round wrote (its reactions, if any, are in the
            // next round).
            for applied in &mut self.applied {
                *applied = (*applied).max(last);
            }
        }
        Ok(next.unwrap_or_default())
    }

    /// The reactions of every consumer to `events` (whose last sequence is `last`), as a round
    /// not committed yet.
    fn build_round(&self, events: &[StoredEvent], last: u64) -> Result<Round, redb::Error> {
        let units = self.react_in_parallel(events, last)?;
        let mut round = Round {
            new_jobs_due: earliest_new_job(events),
            ..Round::default()
        };
        for (consumer, unit) in units {
            round.writes.push(consumer);
            let speaks = unit.pending_events() > 0;
            let durable = speaks || self.position_lags(consumer, last);
            if let (true, Some(index)) = (durable, consumer.consumer_index()) {
                round.persist.push((index, last));
            }
            if speaks {
                round.speaking.push(unit);
            } else {
                round.silent.push((unit, durable));
            }
        }
        Ok(round)
    }

    /// Whether a consumer's durable position has fallen far enough behind to be written now.
    fn position_lags(&self, consumer: Service, last: u64) -> bool {
        consumer
            .consumer_index()
            .is_some_and(|index| last.saturating_sub(self.persisted[index]) >= MAX_POSITION_LAG)
    }

    /// Makes every consumer's store durable at its current position; run when the writer stops, so
    /// a graceful restart replays nothing.
    pub(super) fn checkpoint(&mut self) -> Result<(), redb::Error> {
        for (index, consumer) in CONSUMERS.into_iter().enumerate() {
            let mut unit = Unit::begin(self.stores.db(consumer))?;
            unit.mark_applied(self.applied[index]);
            unit.commit(0, self.clock.now())?;
            self.signals.stats.quiet_commit(true);
            self.persisted[index] = self.applied[index];
        }
        Ok(())
    }

    /// Takes a read transaction on every store, between two batches: what a backup copies. No
    /// checkpoint first (it would hold the writer for seven commits): each consumer's position is
    /// already written with its reactions, at most `MAX_POSITION_LAG` behind, so a restored node
    /// replays no more than it would after a crash.
    pub(super) fn snapshot(&mut self) -> Result<Snapshot, WriteFailed> {
        self.ready()?;
        let started = std::time::Instant::now();
        let snapshot = Snapshot::of(&self.stores).map_err(|e| WriteFailed::new(Stage::Begin, e))?;
        info!(
            micros = started.elapsed().as_micros() as u64,
            "snapshot of the stores taken for a backup"
        );
        Ok(snapshot)
    }

    /// Prunes every outbox up to `acked`, held below what any consumer has durably applied (a
    /// restart replays from there) and capped at `PRUNE_BATCH` events per store, so that one call
    /// never stalls the writer for long. Pruning emits nothing and need not be durable: a crash
    /// only brings back events the hub will deduplicate. Answers how far the outboxes are pruned.
    pub(super) fn prune(&mut self, acked: u64) -> Result<u64, WriteFailed> {
        self.ready()?;
        self.prune_outboxes(acked).map_err(|e| {
            error!(error = %e, "pruning the outbox failed");
            self.needs_resync = true;
            WriteFailed::new(Stage::Commit, e)
        })
    }

    fn prune_outboxes(&mut self, acked: u64) -> Result<u64, redb::Error> {
        let floor = self.persisted.iter().copied().min().unwrap_or(0);
        let upto = acked.min(floor).min(self.next_seq - 1);
        let mut pruned = u64::MAX;
        for db in self.stores.databases() {
            let unit = Unit::begin(db)?;
            outbox::prune(&unit, upto, PRUNE_BATCH)?;
            unit.commit_volatile()?;
            self.signals.stats.quiet_commit(false);
            pruned = pruned.min(outbox::pruned(db)?);
        }
        Ok(pruned)
    }

    /// Builds, for every consumer with something to react to, its uncommitted unit of reactions:
    /// the first on this thread, the others alongside on threads of their own.
    fn react_in_parallel(
        &self,
        events: &[StoredEvent],
        last: u64,
    ) -> Result<Vec<(Service, Unit)>, redb::Error> {
        let stores = &*self.stores;
        let mut jobs = CONSUMERS
            .into_iter()
            .zip(self.applied)
            .zip(self.persisted)
            .filter_map(|((consumer, seen), persisted)| {
                let relevant: Vec<&StoredEvent> = events
                    .iter()
                    .filter(|e| e.seq > seen && consumer.reacts_to(e))
                    .collect();
                // A consumer with nothing to do still records its position now and then, so a
                // restart does not replay a long stretch of events it never needed.
                if relevant.is_empty() && last.saturating_sub(persisted) < MAX_POSITION_LAG {
                    return None;
                }
                Some((consumer, relevant))
            });
        let Some((first, relevant)) = jobs.next() else {
            return Ok(Vec::new());
        };
        let react = move |consumer: Service, relevant: Vec<&StoredEvent>| {
            let mut unit = Unit::begin(stores.db(consumer))?;
            for event in relevant {
                consumer.react(&mut unit, event)?;
            }
            unit.mark_applied(last);
            Ok((consumer, unit))
        };
        thread::scope(|scope| {
            let others: Vec<_> = jobs
                .map(|(consumer, relevant)| scope.spawn(move || react(consumer, relevant)))
                .collect();
            let mut units = vec![react(first, relevant)];
            for worker in others {
                units.push(worker.join().expect("a reaction thread panicked"));
            }
            units.into_iter().collect()
        })
    }
}

/// Why a round did not advance: its own commit failed (nothing of it may be durable), or the
/// next round could not be built (this one is durable).
enum Advance {
    Commit(redb::Error),
    React(redb::Error),
}

/// The earliest deadline among the expiry jobs `events` make the expiration store schedule.
fn earliest_new_job(events: &[StoredEvent]) -> Option<Millis> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            DomainEvent::OrderCreated(order) => Millis::parse_iso(&order.expires_at),
            _ => None,
        })
        .min()
}
