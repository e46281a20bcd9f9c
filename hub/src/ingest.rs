//! The ingest thread: owns the ledger, takes the broker's messages in batches, applies each batch in
//! one transaction and posts the acknowledgements it earned.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};

use tix_core::time::Millis;
use tix_sync::protocol::{Epoch, VenueId};

use crate::ledger::{AdoptError, Adopted, Incoming, Ledger};
use crate::link::AckBoard;

/// Most messages one transaction takes.
const MAX_BATCH: usize = 4096;
/// Attempts at a failing batch before it is given up (its venues resend it).
const ATTEMPTS: u32 = 5;

/// Running totals, for the health endpoint.
#[derive(Default)]
pub struct IngestStats {
    pub applied: AtomicU64,
    pub duplicates: AtomicU64,
    pub gaps: AtomicU64,
    pub quarantined: AtomicU64,
    pub batches: AtomicU64,
    pub failed_batches: AtomicU64,
}

/// What the ingest thread is given: the broker's messages, and the operator's adoptions (which
/// change the cursors the messages are judged by, so they go through the same thread).
pub enum Work {
    Message(Incoming),
    /// Messages of venues that just moved to this instance, received while another applied them
    /// (`link/standby`), in arrival order: what that instance stored is left out (and acknowledged
    /// again, in case it died before publishing that), the rest applied before anything after it.
    TakenOver(Vec<Incoming>),
    Adopt {
        venue: VenueId,
        epoch: Epoch,
        reply: oneshot::Sender<Result<Adopted, AdoptError>>,
    },
}

pub struct Ingest {
    thread: thread::JoinHandle<()>,
}

impl Ingest {
    /// Starts the thread; it ends when every sender of `messages` is gone.
    pub fn start(
        mut ledger: Ledger,
        mut messages: mpsc::Receiver<Work>,
        acks: Arc<AckBoard>,
        stats: Arc<IngestStats>,
        now: impl Fn() -> Millis + Send + 'static,
    ) -> std::io::Result<Ingest> {
        let thread = thread::Builder::new()
            .name("tix-hub-ingest".into())
            .spawn(move || {
                // Read here, not by the caller: the database may block (PostgreSQL's client).
                match ledger.acks() {
                    Ok(stored) => acks.post(stored),
                    Err(e) => error!(error = %e, "could not read the stored acknowledgements; each is published at its venue's next event"),
                }
                let mut carried = None;
                while let Some(first) = carried.take().or_else(|| messages.blocking_recv()) {
                    let first = match first {
                        Work::Message(message) => message,
                        Work::TakenOver(kept) => {
                            take_over(&mut ledger, kept, &acks, &stats, &now);
                            continue;
                        }
                        Work::Adopt {
                            venue,
                            epoch,
                            reply,
                        } => {
                            let adopted = ledger.adopt(&venue, epoch, now());
                            match &adopted {
                                Ok(done) => {
                                    info!(venue = %venue, epoch = %epoch, previous = %done.previous_epoch, "adopted the venue's new epoch");
                                    acks.post(vec![done.ack.clone()]);
                                }
                                Err(e) => info!(error = %e, "adoption refused"),
                            }
                            let _ = reply.send(adopted);
                            continue;
                        }
                    };
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match messages.try_recv() {
                            Ok(Work::Message(next)) => batch.push(next),
                            Ok(other) => {
                                carried = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    apply_with_retries(&mut ledger, &batch, &acks, &stats, &now);
                }
                info!("ingest stopped");
            })?;
        Ok(Ingest { thread })
    }

    pub fn join(self) {
        if self.thread.join().is_err() {
            error!("ingest thread panicked");
        }
    }
}

/// Applies what another instance had received of the venues now this one's, less what it stored.
fn take_over(
    ledger: &mut Ledger,
    mut kept: Vec<Incoming>,
    acks: &AckBoard,
    stats: &IngestStats,
    now: &impl Fn() -> Millis,
) {
    let handed = kept.len();
    match ledger.leave_out_stored(&mut kept) {
        Ok((stored, as_stored)) => {
            stats.duplicates.fetch_add(stored, Ordering::Relaxed);
            acks.post(as_stored);
        }
        // The ledger tells duplicates apart anyway, only at more cost.
        Err(e) => warn!(error = %e, "could not read the cursors of the venues taken over"),
    }
    info!(
        handed,
        unstored = kept.len(),
        "applying what the instance that left had received and not stored"
    );
    for batch in kept.chunks(MAX_BATCH) {
        apply_with_retries(ledger, batch, acks, stats, now);
    }
}

fn apply_with_retries(
    ledger: &mut Ledger,
    batch: &[Incoming],
    acks: &AckBoard,
    stats: &IngestStats,
    now: &impl Fn() -> Millis,
) {
    for attempt in 1..=ATTEMPTS {
        match ledger.apply(batch, now()) {
            Ok(outcome) => {
                stats.applied.fetch_add(outcome.applied, Ordering::Relaxed);
                stats
                    .duplicates
                    .fetch_add(outcome.duplicates, Ordering::Relaxed);
                stats.gaps.fetch_add(outcome.gaps, Ordering::Relaxed);
                stats
                    .quarantined
                    .fetch_add(outcome.quarantined, Ordering::Relaxed);
                stats.batches.fetch_add(1, Ordering::Relaxed);
                acks.post(outcome.acks);
                return;
            }
            Err(e) if e.is_contention() => {
                // Another hub instance stored some of it first, or the two deadlocked: the next
                // attempt sees what it committed.
                info!(error = %e, attempt, size = batch.len(), "a batch met another instance's; applying it again");
                thread::sleep(Duration::from_millis(10 * u64::from(attempt)));
            }
            Err(e) => {
                error!(error = %e, attempt, size = batch.len(), "applying a batch failed");
                thread::sleep(Duration::from_millis(200 * u64::from(attempt)));
            }
        }
    }
    stats.failed_batches.fetch_add(1, Ordering::Relaxed);
    error!(
        size = batch.len(),
        "gave up on a batch; nothing of it was kept and its venues will resend it"
    );
}
