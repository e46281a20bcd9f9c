//! The hub's write side: applies each venue's events exactly once, in order, in durable SQLite
//! transactions, and says which acknowledgements to publish.
//!
//! Per message: refused ones (oversized, malformed, from a topic that is not an events topic, whose
//! source is not the topic's venue, of an epoch the hub does not follow) go to the quarantine table;
//! an event below the venue's next sequence is a duplicate (a payload differing from the stored one
//! is quarantined as a conflict); the next sequence is stored and projected; one beyond it is held
//! back (the venue resends from the acknowledgement). A whole batch is one transaction.
//!
//! The quarantine is bounded per venue (see `quarantine`): a venue sending garbage cannot fill the
//! hub's disk, and every refusal is still counted.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tracing::warn;

use tix_core::time::Millis;
use tix_sync::protocol::{
    Ack, DecodeError, Envelope, Epoch, MAX_ENVELOPE_BYTES, VenueId, parse_events_topic,
};

use crate::projection::project;
use crate::schema;

mod adopt;
mod quarantine;

pub use self::adopt::{AdoptError, Adopted};
pub use self::quarantine::QUARANTINE_CAP;

/// A message as it came from the broker.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub topic: String,
    pub payload: Vec<u8>,
}

/// Why a message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Oversized,
    Topic,
    Malformed,
    SourceMismatch,
    Epoch,
    Conflict,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Oversized => "oversized",
            Refusal::Topic => "topic",
            Refusal::Malformed => "malformed",
            Refusal::SourceMismatch => "source-mismatch",
            Refusal::Epoch => "epoch",
            Refusal::Conflict => "conflict",
        }
    }
}

/// What one batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub applied: u64,
    pub duplicates: u64,
    pub gaps: u64,
    pub quarantined: u64,
    /// The acknowledgements that advanced, one per venue.
    pub acks: Vec<Ack>,
}

#[derive(Debug, Clone)]
struct Cursor {
    epoch: Epoch,
    last_seq: u64,
}

pub struct Ledger {
    conn: Connection,
    cursors: HashMap<VenueId, Cursor>,
}

impl Ledger {
    pub fn open(path: &Path) -> rusqlite::Result<Ledger> {
        let conn = schema::open_writer(path)?;
        let mut ledger = Ledger {
            conn,
            cursors: HashMap::new(),
        };
        ledger.load_cursors()?;
        Ok(ledger)
    }

    fn load_cursors(&mut self) -> rusqlite::Result<()> {
        let mut stmt = self
            .conn
            .prepare("SELECT venue, epoch, last_seq FROM venues")?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
            ))
        })?;
        let mut cursors = HashMap::new();
        for row in rows {
            let (venue, epoch, last_seq) = row?;
            match (venue.parse::<VenueId>(), epoch.parse::<Epoch>()) {
                (Ok(venue), Ok(epoch)) => {
                    cursors.insert(
                        venue,
                        Cursor {
                            epoch,
                            last_seq: last_seq as u64,
                        },
                    );
                }
                _ => warn!(venue, epoch, "skipping a venue row the hub cannot parse"),
            }
        }
        drop(stmt);
        self.cursors = cursors;
        Ok(())
    }

    /// Every venue's current acknowledgement (republished whenever the hub connects, since a broker
    /// restart may have lost the retained ones).
    pub fn acks(&self) -> Vec<Ack> {
        let mut acks: Vec<Ack> = self
            .cursors
            .iter()
            .map(|(venue, c)| Ack {
                venue: venue.clone(),
                epoch: c.epoch,
                seq: c.last_seq,
            })
            .collect();
        acks.sort_by(|a, b| a.venue.cmp(&b.venue));
        acks
    }

    /// Applies a batch in one durable transaction. On error nothing of it is kept.
    pub fn apply(&mut self, batch: &[Incoming], now: Millis) -> rusqlite::Result<Outcome> {
        let before = self.cursors.clone();
        let result = self.apply_in_txn(batch, now);
        if result.is_err() {
            self.cursors = before;
        }
        result
    }

    fn apply_in_txn(&mut self, batch: &[Incoming], now: Millis) -> rusqlite::Result<Outcome> {
        let txn = self.conn.transaction()?;
        let mut outcome = Outcome::default();
        let mut touched: BTreeMap<VenueId, VenueDelta> = BTreeMap::new();
        let mut refused_from = quarantine::Sources::default();
        for message in batch {
            let verdict = judge(message, &self.cursors);
            match verdict {
                Verdict::Refuse {
                    reason,
                    detail,
                    key,
                } => {
                    quarantine::record(&txn, message, reason, &detail, key.as_ref(), now)?;
                    refused_from.add(&message.topic);
                    outcome.quarantined += 1;
                    warn!(topic = %message.topic, reason = reason.as_str(), %detail, "quarantined a message");
                }
                Verdict::Duplicate(envelope) => {
                    outcome.duplicates += 1;
                    touched
                        .entry(envelope.venue.clone())
                        .or_default()
                        .duplicates += 1;
                    let stored: Option<Vec<u8>> = txn
                        .prepare_cached(
                            "SELECT envelope FROM events WHERE venue = ?1 AND epoch = ?2 AND seq = ?3",
                        )?
                        .query_row(
                            params![
                                envelope.venue.as_str(),
                                envelope.epoch.to_string(),
                                envelope.event.seq as i64
                            ],
                            |row| row.get(0),
                        )
                        .optional()?;
                    if stored.as_deref().is_some_and(|s| s != message.payload) {
                        let key = Key::of(&envelope);
                        let detail = "differs from the stored event of the same sequence";
                        quarantine::record(
                            &txn,
                            message,
                            Refusal::Conflict,
                            detail,
                            Some(&key),
                            now,
                        )?;
                        refused_from.add(&message.topic);
                        outcome.quarantined += 1;
                        warn!(venue = %envelope.venue, seq = envelope.event.seq, "conflicting rewrite of a stored event quarantined");
                    }
                }
                Verdict::Gap(envelope) => {
                    outcome.gaps += 1;
                    touched.entry(envelope.venue).or_default().gaps += 1;
                }
                Verdict::Next(envelope) => {
                    store(&txn, &envelope, &message.payload, now)?;
                    project(&txn, &envelope)?;
                    let delta = touched.entry(envelope.venue.clone()).or_default();
                    delta.events += 1;
                    delta.last_event_ms = envelope.event.at;
                    let cursor = self
                        .cursors
                        .entry(envelope.venue.clone())
                        .or_insert(Cursor {
                            epoch: envelope.epoch,
                            last_seq: 0,
                        });
                    cursor.last_seq = envelope.event.seq;
                    outcome.applied += 1;
                }
            }
        }
        for (venue, delta) in &touched {
            let Some(cursor) = self.cursors.get(venue) else {
                continue; // only gaps from a venue the hub has never stored anything of
            };
            update_venue(&txn, venue, cursor, delta, now)?;
            if delta.events > 0 {
                outcome.acks.push(Ack {
                    venue: venue.clone(),
                    epoch: cursor.epoch,
                    seq: cursor.last_seq,
                });
            }
        }
        refused_from.trim(&txn)?;
        txn.commit()?;
        Ok(outcome)
    }
}

#[derive(Debug, Default)]
struct VenueDelta {
    events: u64,
    duplicates: u64,
    gaps: u64,
    last_event_ms: u64,
}

/// Identifies an event across resends: (venue, epoch, sequence).
struct Key {
    venue: String,
    epoch: String,
    seq: u64,
}

impl Key {
    fn of(envelope: &Envelope) -> Key {
        Key {
            venue: envelope.venue.to_string(),
            epoch: envelope.epoch.to_string(),
            seq: envelope.event.seq,
        }
    }
}

enum Verdict {
    Refuse {
        reason: Refusal,
        detail: String,
        key: Option<Key>,
    },
    Duplicate(Envelope),
    Gap(Envelope),
    Next(Envelope),
}

fn judge(message: &Incoming, cursors: &HashMap<VenueId, Cursor>) -> Verdict {
    let refuse = |reason, detail: String, key| Verdict::Refuse {
        reason,
        detail,
        key,
    };
    // The topic first: a refusal on a topic naming no venue is always `Topic`, which is how the
    // quarantine tells its buckets apart.
    let topic_venue = match parse_events_topic(&message.topic) {
        Ok(venue) => venue,
        Err(e) => return refuse(Refusal::Topic, e.to_string(), None),
    };
    if message.payload.len() > MAX_ENVELOPE_BYTES {
        let e = DecodeError::TooLarge(message.payload.len());
        return refuse(Refusal::Oversized, e.to_string(), None);
    }
    let envelope = match Envelope::decode(&message.payload) {
        Ok(envelope) => envelope,
        Err(e) => return refuse(Refusal::Malformed, e.to_string(), None),
    };
    if envelope.venue != topic_venue {
        let detail = format!(
            "source {} published on the topic of venue {topic_venue}",
            envelope.venue
        );
        return refuse(Refusal::SourceMismatch, detail, Some(Key::of(&envelope)));
    }
    let seq = envelope.event.seq;
    match cursors.get(&envelope.venue) {
        None if seq == 1 => Verdict::Next(envelope),
        None => Verdict::Gap(envelope),
        Some(cursor) if cursor.epoch != envelope.epoch => {
            let detail = format!(
                "venue {} is followed at epoch {}, not {} (were its stores recreated?)",
                envelope.venue, cursor.epoch, envelope.epoch
            );
            let key = Key::of(&envelope);
            refuse(Refusal::Epoch, detail, Some(key))
        }
        Some(cursor) if seq <= cursor.last_seq => Verdict::Duplicate(envelope),
        Some(cursor) if seq == cursor.last_seq + 1 => Verdict::Next(envelope),
        Some(_) => Verdict::Gap(envelope),
    }
}

fn store(
    txn: &Transaction<'_>,
    envelope: &Envelope,
    payload: &[u8],
    now: Millis,
) -> rusqlite::Result<()> {
    txn.prepare_cached(
        "INSERT INTO events (venue, epoch, seq, type, time_ms, received_ms, envelope)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        envelope.venue.as_str(),
        envelope.epoch.to_string(),
        envelope.event.seq as i64,
        envelope.event.event.subject(),
        envelope.event.at as i64,
        now.0 as i64,
        payload,
    ])?;
    Ok(())
}

fn update_venue(
    txn: &Transaction<'_>,
    venue: &VenueId,
    cursor: &Cursor,
    delta: &VenueDelta,
    now: Millis,
) -> rusqlite::Result<()> {
    let lag = if delta.events > 0 {
        Some(now.0.saturating_sub(delta.last_event_ms) as i64)
    } else {
        None
    };
    txn.prepare_cached(
        "INSERT INTO venues (venue, epoch, last_seq, events, first_seen_ms, last_seen_ms,
            last_event_ms, lag_ms, duplicates, gaps)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (venue) DO UPDATE SET
            last_seq = excluded.last_seq,
            events = events + excluded.events,
            last_seen_ms = excluded.last_seen_ms,
            last_event_ms = CASE WHEN ?4 > 0 THEN excluded.last_event_ms ELSE last_event_ms END,
            lag_ms = CASE WHEN ?4 > 0 THEN excluded.lag_ms ELSE lag_ms END,
            duplicates = duplicates + excluded.duplicates,
            gaps = gaps + excluded.gaps",
    )?
    .execute(params![
        venue.as_str(),
        cursor.epoch.to_string(),
        cursor.last_seq as i64,
        delta.events as i64,
        now.0 as i64,
        delta.last_event_ms as i64,
        lag.unwrap_or(0),
        delta.duplicates as i64,
        delta.gaps as i64,
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests;
