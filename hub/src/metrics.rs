//! The hub's metrics, in Prometheus' text format at `GET /metrics` (behind the API token, like
//! every other route: a scrape config gives it as a bearer token).
//!
//! Everything is read when scraped: the ingest thread's and the broker link's counters, and each
//! venue's stream and quarantine from the database, so nothing here can drift from `/api/hub/*`.
//! The names are listed in the README.

use std::sync::atomic::Ordering;

use crate::db::{DbError, Sql};
use prometheus::{Encoder, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use crate::ingest::IngestStats;
use crate::link::LinkStatus;

/// One venue's stream as the hub holds it.
pub struct VenueRow {
    pub venue: String,
    pub events: i64,
    pub last_seq: i64,
    pub lag_ms: i64,
    pub last_seen_ms: i64,
}

/// Quarantined messages of one venue (`""` for topics naming none) for one reason.
pub struct QuarantineRow {
    pub venue: String,
    pub reason: String,
    pub count: i64,
}

/// What the database says, for one scrape.
pub fn read(sql: &mut Sql<'_>) -> Result<(Vec<VenueRow>, Vec<QuarantineRow>), DbError> {
    let venues = sql.query(
        "SELECT venue, events, last_seq, lag_ms, last_seen_ms FROM venues ORDER BY venue",
        &[],
        |row| {
            Ok(VenueRow {
                venue: row.get(0)?,
                events: row.get(1)?,
                last_seq: row.get(2)?,
                lag_ms: row.get(3)?,
                last_seen_ms: row.get(4)?,
            })
        },
    )?;
    let quarantine = sql.query(
        "SELECT venue, reason, count FROM quarantine_counts ORDER BY venue, reason",
        &[],
        |row| {
            Ok(QuarantineRow {
                venue: row.get(0)?,
                reason: row.get(1)?,
                count: row.get(2)?,
            })
        },
    )?;
    Ok((venues, quarantine))
}

/// Everything, in Prometheus' text format.
pub fn render(
    link: &LinkStatus,
    ingest: &IngestStats,
    venues: &[VenueRow],
    quarantine: &[QuarantineRow],
) -> prometheus::Result<String> {
    let registry = Registry::new();
    let counter = |name: &str, help: &str, value: u64| -> prometheus::Result<()> {
        let counter = IntCounter::new(name, help)?;
        counter.inc_by(value);
        registry.register(Box::new(counter))
    };
    let load = |n: &std::sync::atomic::AtomicU64| n.load(Ordering::Relaxed);
    counter(
        "tix_hub_events_applied_total",
        "Venue events stored, each once.",
        load(&ingest.applied),
    )?;
    counter(
        "tix_hub_events_duplicate_total",
        "Venue events received again and dropped (already stored).",
        load(&ingest.duplicates),
    )?;
    counter(
        "tix_hub_events_gap_total",
        "Venue events that arrived ahead of a missing one (held back until it comes).",
        load(&ingest.gaps),
    )?;
    counter(
        "tix_hub_quarantined_total",
        "Messages refused into the quarantine since the hub started.",
        load(&ingest.quarantined),
    )?;
    counter(
        "tix_hub_ingest_batches_total",
        "Batches applied by the ingest thread.",
        load(&ingest.batches),
    )?;
    counter(
        "tix_hub_ingest_failed_batches_total",
        "Batches given up after their retries (their venues resend them).",
        load(&ingest.failed_batches),
    )?;
    counter(
        "tix_hub_mqtt_received_total",
        "Messages received from the broker.",
        load(&link.received),
    )?;
    counter(
        "tix_hub_mqtt_skipped_total",
        "Messages left to the hub instance that applies their venue (several sharing PostgreSQL).",
        load(&link.skipped),
    )?;
    counter(
        "tix_hub_mqtt_taken_over_total",
        "Of those, applied here after all: their venue moved to this instance (its owner left).",
        load(&link.taken_over),
    )?;
    counter(
        "tix_hub_replay_pages_total",
        "Catch-up pages published to venues restored from an older backup.",
        load(&link.replay_pages),
    )?;
    counter(
        "tix_hub_replay_requests_refused_total",
        "Venues' catch-up requests dropped: malformed, unreadable, unpublished or while busy.",
        load(&link.replay_refused),
    )?;
    let connected = IntGauge::new("tix_hub_mqtt_connected", "1 while connected to the broker.")?;
    connected.set(i64::from(link.connected.load(Ordering::Acquire)));
    registry.register(Box::new(connected))?;

    let per_venue = |name: &str, help: &str| -> prometheus::Result<IntGaugeVec> {
        let gauge = IntGaugeVec::new(Opts::new(name, help), &["venue"])?;
        registry.register(Box::new(gauge.clone()))?;
        Ok(gauge)
    };
    let events = per_venue("tix_hub_venue_events", "Events stored of each venue.")?;
    let last_seq = per_venue(
        "tix_hub_venue_last_seq",
        "The newest sequence stored of each venue.",
    )?;
    let lag = per_venue(
        "tix_hub_venue_lag_ms",
        "From a venue's commit to the hub's, for its newest stored event (ms).",
    )?;
    let seen = per_venue(
        "tix_hub_venue_last_seen_ms",
        "When each venue was last heard from (Unix time, ms).",
    )?;
    for row in venues {
        let venue = [row.venue.as_str()];
        events.with_label_values(&venue).set(row.events);
        last_seq.with_label_values(&venue).set(row.last_seq);
        lag.with_label_values(&venue).set(row.lag_ms);
        seen.with_label_values(&venue).set(row.last_seen_ms);
    }
    let quarantined = IntCounterVec::new(
        Opts::new(
            "tix_hub_quarantine_messages_total",
            "Messages each venue had refused, per reason (venue \"\" for topics naming none).",
        ),
        &["venue", "reason"],
    )?;
    for row in quarantine {
        quarantined
            .with_label_values(&[row.venue.as_str(), row.reason.as_str()])
            .inc_by(u64::try_from(row.count).unwrap_or(0));
    }
    registry.register(Box::new(quarantined))?;

    let mut out = Vec::new();
    prometheus::TextEncoder::new().encode(&registry.gather(), &mut out)?;
    String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
}
