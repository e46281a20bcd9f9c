//! The expiry scheduler: the tokio task that asks the writer to fire due locks, on time.
//!
//! It sleeps until the earliest deadline in the expiration store, then fires what is due. Nothing is
//! held in memory per lock: the deadline queue lives in redb, so a million pending locks cost no RAM
//! here and no time at start-up, where overdue locks simply fire on the first round.
//!
//! It wakes for what is due, not per lock: it publishes the time it sleeps until
//! (`WriterSignals::expiry_wake`), and the writer wakes it only for a new lock due before that,
//! which new locks (due a whole TTL from now) almost never are. Rounds are at least `ROUND_GAP`
//! apart, so that when locks fall due by the thousand a round fires all that fell due meanwhile in
//! one batch (three commits for the lot) instead of one batch for every few.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tracing::{error, warn};

use tix_core::expiration::ExpirationStore;
use tix_core::reactions::Service;
use tix_core::time::Millis;

use crate::clock::Clock;
use crate::stores::Stores;
use crate::writer::{EXPIRE_BATCH, WriterHandle, WriterSignals};

/// How late locks were released (or, for search, how long a ticket change took to reach the index):
/// a histogram by millisecond, for `/healthz` and the benchmark.
pub struct Lateness {
    inner: Mutex<LatenessInner>,
    /// The same, for `/metrics`.
    pub histogram: prometheus::Histogram,
}

impl Default for Lateness {
    fn default() -> Self {
        let opts = prometheus::HistogramOpts::new(
            "tix_expiry_lateness_seconds",
            "How long after its expiresAt an unpaid order was released.",
        )
        .buckets(vec![
            0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ]);
        Lateness {
            inner: Mutex::default(),
            histogram: prometheus::Histogram::with_opts(opts)
                .expect("fixed histogram options are valid"),
        }
    }
}

#[derive(Default)]
struct LatenessInner {
    /// `buckets[ms]` counts expiries that were `ms` late; the last bucket takes everything later.
    buckets: Vec<u64>,
    count: u64,
    max_ms: u64,
}

const LATENESS_BUCKETS: usize = 10_001;

/// A summary of `Lateness`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LatenessSummary {
    pub expired: u64,
    pub p50_ms: u64,
    pub p99_ms: u64,
    pub max_ms: u64,
}

impl Lateness {
    pub(crate) fn record(&self, late_ms: u64) {
        self.histogram.observe(late_ms as f64 / 1000.0);
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.buckets.is_empty() {
            inner.buckets = vec![0; LATENESS_BUCKETS];
        }
        let bucket = (late_ms as usize).min(LATENESS_BUCKETS - 1);
        inner.buckets[bucket] += 1;
        inner.count += 1;
        inner.max_ms = inner.max_ms.max(late_ms);
    }

    pub fn summary(&self) -> LatenessSummary {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let quantile = |q: f64| {
            let rank = ((inner.count as f64) * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (ms, n) in inner.buckets.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    return ms as u64;
                }
            }
            0
        };
        LatenessSummary {
            expired: inner.count,
            p50_ms: quantile(0.50),
            p99_ms: quantile(0.99),
            max_ms: inner.max_ms,
        }
    }
}

/// The least time from one round's start to the next: what a due lock may wait beyond its deadline
/// so that rounds stay large when many fall due.
const ROUND_GAP: Duration = Duration::from_millis(5);

/// Runs until `shutdown` turns true.
pub async fn run(
    stores: Arc<Stores>,
    writer: WriterHandle,
    signals: Arc<WriterSignals>,
    clock: Arc<dyn Clock>,
    lateness: Arc<Lateness>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut last_round: Option<tokio::time::Instant> = None;
    loop {
        if *shutdown.borrow() {
            return;
        }
        // While the deadline is being read, any new lock wakes the scheduler (see `expiry_wake`).
        signals.expiry_wake.store(u64::MAX, Ordering::SeqCst);
        let wait = match stores.expiration.next_deadline() {
            Ok(Some(deadline)) => Duration::from_millis(deadline.0.saturating_sub(clock.now().0)),
            Ok(None) => Duration::from_secs(3600),
            Err(e) => {
                error!(error = %e, "reading the next expiry deadline failed");
                Duration::from_secs(1)
            }
        };
        let gap = last_round.map_or(Duration::ZERO, |at| ROUND_GAP.saturating_sub(at.elapsed()));
        let wait = wait.max(gap);
        let wake_at = clock.now().0.saturating_add(wait.as_millis() as u64);
        signals.expiry_wake.store(wake_at, Ordering::SeqCst);
        if !wait.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = signals.expiry_changed.notified() => continue,
                _ = shutdown.changed() => return,
            }
        }
        last_round = Some(tokio::time::Instant::now());
        if !fire_due(&writer, &clock, &lateness).await {
            // The writer is gone or failing; try again shortly rather than spin.
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// Fires every due lock, in as many writer batches as it takes. Returns false on failure.
async fn fire_due(writer: &WriterHandle, clock: &Arc<dyn Clock>, lateness: &Lateness) -> bool {
    loop {
        match writer
            .run(Service::Expiration, |unit, context| {
                ExpirationStore::fire_due(unit, context.now, EXPIRE_BATCH)
            })
            .await
        {
            Ok(Ok(fired)) => {
                let now: Millis = clock.now();
                for job in &fired {
                    lateness.record(now.0.saturating_sub(job.deadline.0));
                }
                if fired.len() < EXPIRE_BATCH {
                    return true;
                }
            }
            Ok(Err(e)) => {
                error!(error = %e, "firing due locks failed");
                return false;
            }
            Err(e) => {
                warn!(error = %e, "expiry round not done");
                return false;
            }
        }
    }
}
