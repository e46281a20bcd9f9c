//! The ingest thread: owns the ledger, takes the broker's messages in batches, applies each batch in
//! one transaction and posts the acknowledgements it earned.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{error, info};

use tix_core::time::Millis;

use crate::ledger::{Incoming, Ledger};
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

pub struct Ingest {
    thread: thread::JoinHandle<()>,
}

impl Ingest {
    /// Starts the thread; it ends when every sender of `messages` is gone.
    pub fn start(
        mut ledger: Ledger,
        mut messages: mpsc::Receiver<Incoming>,
        acks: Arc<AckBoard>,
        stats: Arc<IngestStats>,
        now: impl Fn() -> Millis + Send + 'static,
    ) -> std::io::Result<Ingest> {
        acks.post(ledger.acks());
        let thread = thread::Builder::new()
            .name("tix-hub-ingest".into())
            .spawn(move || {
                while let Some(first) = messages.blocking_recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match messages.try_recv() {
                            Ok(next) => batch.push(next),
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
