//! The quarantine: refused messages kept for an operator, bounded per venue, every one counted.
//!
//! A refusal belongs to the venue its topic names: under the shipped ACL only that venue's account
//! can publish there, so it is the sender whatever the payload claims. Refusals whose topic names no
//! venue share one bucket. Invariants: each bucket keeps at most `QUARANTINE_CAP` rows, the newest
//! (older ones are deleted in the transaction that went over the cap); `quarantine_counts` counts
//! every refused message per venue and reason, deleted rows included. So the table's size is
//! bounded by the number of broker accounts, however much garbage one of them sends.

use std::collections::BTreeSet;

use crate::db::{DbError, Sql};

use tix_core::time::Millis;
use tix_sync::protocol::parse_events_topic;

use super::{Incoming, Key, Refusal};

/// Rows of refused messages kept per venue (and for the bucket of topics naming no venue).
pub const QUARANTINE_CAP: usize = 1000;
/// Bytes of a refused payload kept in a row.
const KEEP_BYTES: usize = 4096;

/// The venue a refused message is counted against, as stored in `quarantine_counts.venue`: the
/// topic's venue, or "" when the topic names none.
fn counted_venue(topic: &str) -> String {
    parse_events_topic(topic)
        .map(|venue| venue.to_string())
        .unwrap_or_default()
}

/// Keeps a refused message (once per event, for those that name one) and counts it.
pub(super) fn record(
    sql: &mut Sql<'_>,
    message: &Incoming,
    reason: Refusal,
    detail: &str,
    key: Option<&Key>,
    now: Millis,
) -> Result<(), DbError> {
    let kept = &message.payload[..message.payload.len().min(KEEP_BYTES)];
    // A resent refusal of the same event is stored once (but counted each time).
    sql.write(
        "INSERT INTO quarantine
            (received_ms, topic, reason, detail, venue, epoch, seq, size, payload)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT DO NOTHING",
        &[
            &(now.0 as i64),
            &message.topic,
            &reason.as_str(),
            &detail,
            &key.map(|k| k.venue.as_str()),
            &key.map(|k| k.epoch.as_str()),
            &key.map(|k| k.seq as i64),
            &(message.payload.len() as i64),
            &kept,
        ],
    )?;
    sql.write(
        "INSERT INTO quarantine_counts (venue, reason, count, last_ms) VALUES (?1, ?2, 1, ?3)
         ON CONFLICT (venue, reason) DO UPDATE SET count = quarantine_counts.count + 1,
            last_ms = excluded.last_ms",
        &[
            &counted_venue(&message.topic),
            &reason.as_str(),
            &(now.0 as i64),
        ],
    )?;
    Ok(())
}

/// The buckets a batch added rows to, to be trimmed before it commits.
#[derive(Default)]
pub(super) struct Sources {
    /// Events topics (one per venue) that refused messages came on.
    topics: BTreeSet<String>,
    /// Whether a refused message came on a topic that names no venue.
    no_venue: bool,
}

impl Sources {
    pub(super) fn add(&mut self, topic: &str) {
        if parse_events_topic(topic).is_ok() {
            self.topics.insert(topic.to_owned());
        } else {
            self.no_venue = true;
        }
    }

    /// Deletes each touched bucket's rows beyond the newest `QUARANTINE_CAP`.
    pub(super) fn trim(&self, sql: &mut Sql<'_>) -> Result<(), DbError> {
        let cap = QUARANTINE_CAP as i64;
        for topic in &self.topics {
            // A topic naming a venue never carries a `topic` refusal, so the buckets are disjoint.
            sql.write(
                "DELETE FROM quarantine WHERE topic = ?1 AND id <= (
                    SELECT id FROM quarantine WHERE topic = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
                &[topic, &cap],
            )?;
        }
        if self.no_venue {
            sql.write(
                "DELETE FROM quarantine WHERE reason = ?1 AND id <= (
                    SELECT id FROM quarantine WHERE reason = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
                &[&Refusal::Topic.as_str(), &cap],
            )?;
        }
        Ok(())
    }
}
