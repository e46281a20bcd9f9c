//! What the writer measures of itself (batch sizes, commit times, the events it committed), for
//! `/metrics`.

use std::time::Duration;

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts};
use tix_core::events::{DomainEvent, StoredEvent};

/// The writer's instruments; clones share the same counts.
#[derive(Clone)]
pub struct WriterStats {
    pub batch_size: Histogram,
    pub commit_seconds: Histogram,
    pub events: IntCounterVec,
    pub orders: IntCounterVec,
    /// Commits by durability: `durable` ones wait for the disk, `volatile` ones do not (a crash
    /// replays them).
    pub commits: IntCounterVec,
    /// Batches taken while the last reactions of the batch before them committed (their commands
    /// run for as long as that commit lasts).
    pub ahead: IntCounter,
}

/// What became of orders, each counted from 0 so that a rate is defined from the start.
const OUTCOMES: [&str; 4] = ["placed", "paid", "expired", "cancelled"];

impl WriterStats {
    pub fn new() -> WriterStats {
        // The options are fixed here and valid; only an invalid name or bucket list could fail.
        let histogram = |name: &str, help: &str, buckets: Vec<f64>| {
            Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
                .expect("fixed histogram options are valid")
        };
        let counter = |name: &str, help: &str, label: &str| {
            IntCounterVec::new(Opts::new(name, help), &[label])
                .expect("fixed counter options are valid")
        };
        let orders = counter(
            "tix_orders_total",
            "Orders by what became of them: placed, paid, expired, cancelled.",
            "outcome",
        );
        for outcome in OUTCOMES {
            orders.with_label_values(&[outcome]);
        }
        let commits = counter(
            "tix_writer_commits_total",
            "Write transactions committed by the writer, durable (synced) or volatile.",
            "durability",
        );
        for durability in ["durable", "volatile"] {
            commits.with_label_values(&[durability]);
        }
        WriterStats {
            orders,
            commits,
            ahead: IntCounter::new(
                "tix_writer_batches_ahead_total",
                "Batches taken while the last reactions of the batch before them committed; their commands run for as long as that commit lasts.",
            )
            .expect("fixed counter options are valid"),
            batch_size: histogram(
                "tix_writer_batch_size",
                "Commands per write batch (one transaction, one commit).",
                vec![
                    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
                ],
            ),
            commit_seconds: histogram(
                "tix_writer_commit_seconds",
                "Time to commit one write transaction (a batch's or a reaction round's).",
                prometheus::exponential_buckets(0.0001, 2.0, 16).expect("fixed buckets are valid"),
            ),
            events: counter(
                "tix_events_total",
                "Domain events committed, by type (the seed app's subject).",
                "type",
            ),
        }
    }

    pub(super) fn batch(&self, commands: usize) {
        self.batch_size.observe(commands as f64);
    }

    /// Counts a commit that carried no events (a reaction's, a checkpoint's, a prune's).
    pub(super) fn quiet_commit(&self, durable: bool) {
        let durability = if durable { "durable" } else { "volatile" };
        self.commits.with_label_values(&[durability]).inc();
    }

    pub(super) fn commit(&self, took: Duration, events: &[StoredEvent]) {
        self.commit_seconds.observe(took.as_secs_f64());
        self.quiet_commit(true);
        for event in events {
            self.events
                .with_label_values(&[event.event.subject()])
                .inc();
            let outcome = match &event.event {
                DomainEvent::OrderCreated(_) => "placed",
                DomainEvent::OrderCompleted(_) => "paid",
                DomainEvent::ExpirationComplete(_) => "expired",
                DomainEvent::OrderCancelled(_) => "cancelled",
                _ => continue,
            };
            self.orders.with_label_values(&[outcome]).inc();
        }
    }
}

impl Default for WriterStats {
    fn default() -> Self {
        WriterStats::new()
    }
}
