//! The hub's write side: applies each venue's events exactly once, in order, in durable
//! transactions (SQLite, or PostgreSQL shared by several hub instances), and says which
//! acknowledgements to publish.
//!
//! Per message: refused ones (oversized, malformed, from a topic that is not an events topic, whose
//! source is not the topic's venue, of an epoch the hub does not follow) go to the quarantine table;
//! an event below the venue's next sequence is a duplicate (a payload differing from the stored one
//! is quarantined as a conflict, see `resent`); the next sequence is stored and projected; one
//! beyond it is held back (the venue resends from the acknowledgement). A whole batch is one
//! transaction.
//!
//! The quarantine is bounded per venue (see `quarantine`): a venue sending garbage cannot fill the
//! hub's disk, and every refusal is still counted.
//!
//! The database decides, not the hub's memory: each batch reads the cursors (epoch, last sequence)
//! of its venues inside its transaction, locking their rows on PostgreSQL, so that two hub
//! instances applying the same venue's events serialise on that venue and the second sees what
//! the first committed. Two instances storing a venue's first event at once collide on the
//! events' primary key; the loser's transaction fails as contention and is run again.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tracing::warn;

use tix_core::time::Millis;
use tix_sync::protocol::{
    Ack, DecodeError, Envelope, Epoch, MAX_ENVELOPE_BYTES, VenueId, parse_events_topic,
};

use crate::db::{Conn, Db, DbError, Dialect, Sql};
use crate::projection::project;

mod adopt;
mod quarantine;
mod resent;

pub use self::adopt::{AdoptError, Adopted};
pub use self::quarantine::QUARANTINE_CAP;
use self::resent::Resent;

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
    /// The acknowledgements that advanced, or that a venue's resend shows it missed; one per
    /// venue.
    pub acks: Vec<Ack>,
}

#[derive(Debug, Clone)]
struct Cursor {
    epoch: Epoch,
    last_seq: u64,
}

pub struct Ledger {
    conn: Conn,
}

impl Ledger {
    /// Opens the ledger, creating or migrating the schema. Blocks.
    pub fn open(db: &Db) -> Result<Ledger, DbError> {
        Ok(Ledger {
            conn: db.open_writer()?,
        })
    }

    /// Every venue's current acknowledgement, as stored (republished whenever the hub connects,
    /// since a broker restart may have lost the retained ones), in venue order.
    pub fn acks(&mut self) -> Result<Vec<Ack>, DbError> {
        let rows = self.conn.sql()?.query(
            "SELECT venue, epoch, last_seq FROM venues ORDER BY venue",
            &[],
            cursor_row,
        )?;
        Ok(rows
            .into_iter()
            .flatten()
            .map(|(venue, c)| Ack {
                venue,
                epoch: c.epoch,
                seq: c.last_seq,
            })
            .collect())
    }

    /// Leaves out of `kept` (messages another instance received too, see `link/standby`) those at
    /// or below their venue's stored sequence of the same epoch: that instance stored them. Their
    /// stored copies are not read to compare: the same bytes went to that instance, which compared
    /// them if they were resends. Anything else (newer, undecodable, another epoch) stays for
    /// `apply` to judge. Returns how many were left out, and the acknowledgement of each of those
    /// venues as stored (the instance that stored them may have died before publishing it).
    pub fn leave_out_stored(
        &mut self,
        kept: &mut Vec<Incoming>,
    ) -> Result<(u64, Vec<Ack>), DbError> {
        let venues: BTreeSet<VenueId> = kept
            .iter()
            .filter_map(|m| parse_events_topic(&m.topic).ok())
            .collect();
        let cursors = self.conn.transaction(|sql| lock_cursors(sql, &venues))?;
        let before = kept.len();
        kept.retain(|message| !stored(message, &cursors));
        let acks = cursors
            .into_iter()
            .map(|(venue, cursor)| Ack {
                venue,
                epoch: cursor.epoch,
                seq: cursor.last_seq,
            })
            .collect();
        Ok(((before - kept.len()) as u64, acks))
    }

    /// Applies a batch in one durable transaction. On error nothing of it is kept.
    pub fn apply(&mut self, batch: &[Incoming], now: Millis) -> Result<Outcome, DbError> {
        let venues: BTreeSet<VenueId> = batch
            .iter()
            .filter_map(|m| parse_events_topic(&m.topic).ok())
            .collect();
        self.conn.transaction(|sql| {
            let mut cursors = lock_cursors(sql, &venues)?;
            apply_in_txn(sql, &mut cursors, batch, now)
        })
    }
}

/// Whether `message` is an event at or below its venue's stored sequence, of the stored epoch.
fn stored(message: &Incoming, cursors: &HashMap<VenueId, Cursor>) -> bool {
    let Ok(envelope) = Envelope::decode(&message.payload) else {
        return false;
    };
    cursors.get(&envelope.venue).is_some_and(|cursor| {
        cursor.epoch == envelope.epoch && envelope.event.seq <= cursor.last_seq
    })
}

/// Applies `batch` judged by `cursors` (its venues', as stored), advancing them.
fn apply_in_txn(
    sql: &mut Sql<'_>,
    cursors: &mut HashMap<VenueId, Cursor>,
    batch: &[Incoming],
    now: Millis,
) -> Result<Outcome, DbError> {
    let mut outcome = Outcome::default();
    let mut touched: BTreeMap<VenueId, VenueDelta> = BTreeMap::new();
    let mut refused_from = quarantine::Sources::default();
    let mut resent = Vec::new();
    for message in batch {
        match judge(message, cursors) {
            Verdict::Refuse {
                reason,
                detail,
                key,
            } => {
                quarantine::record(sql, message, reason, &detail, key.as_ref(), now)?;
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
                resent.push(Resent {
                    key: Key::of(&envelope),
                    message,
                });
            }
            Verdict::Gap(envelope) => {
                outcome.gaps += 1;
                touched.entry(envelope.venue).or_default().gaps += 1;
            }
            Verdict::Next(envelope) => {
                store(sql, &envelope, &message.payload, now)?;
                project(sql, &envelope)?;
                let delta = touched.entry(envelope.venue.clone()).or_default();
                delta.events += 1;
                delta.last_event_ms = envelope.event.at;
                let cursor = cursors.entry(envelope.venue.clone()).or_insert(Cursor {
                    epoch: envelope.epoch,
                    last_seq: 0,
                });
                cursor.last_seq = envelope.event.seq;
                outcome.applied += 1;
            }
        }
    }
    for conflict in resent::conflicting(sql, &resent)? {
        let detail = "differs from the stored event of the same sequence";
        let (message, key) = (conflict.message, &conflict.key);
        quarantine::record(sql, message, Refusal::Conflict, detail, Some(key), now)?;
        refused_from.add(&message.topic);
        outcome.quarantined += 1;
        warn!(venue = %key.venue, seq = key.seq, "conflicting rewrite of a stored event quarantined");
    }
    for (venue, delta) in &touched {
        let Some(cursor) = cursors.get(venue) else {
            continue; // only gaps from a venue the hub has never stored anything of
        };
        update_venue(sql, venue, cursor, delta, now)?;
        // A resend of stored events means the venue missed the acknowledgement: it goes again.
        if delta.events > 0 || delta.duplicates > 0 {
            outcome.acks.push(Ack {
                venue: venue.clone(),
                epoch: cursor.epoch,
                seq: cursor.last_seq,
            });
        }
    }
    refused_from.trim(sql)?;
    Ok(outcome)
}

/// The stored cursors of `venues`, their rows locked until the transaction ends (PostgreSQL; a
/// SQLite database has one writer). A venue the hub has stored nothing of has none.
fn lock_cursors(
    sql: &mut Sql<'_>,
    venues: &BTreeSet<VenueId>,
) -> Result<HashMap<VenueId, Cursor>, DbError> {
    if venues.is_empty() {
        return Ok(HashMap::new());
    }
    let names: Vec<&str> = venues.iter().map(VenueId::as_str).collect();
    let list = serde_json::Value::from(names).to_string();
    // In venue order, so that instances locking overlapping sets cannot deadlock.
    let query = match sql.dialect() {
        Dialect::Sqlite => {
            "SELECT venue, epoch, last_seq FROM venues
             WHERE venue IN (SELECT value FROM json_each(?1))"
        }
        Dialect::Postgres => {
            "SELECT venue, epoch, last_seq FROM venues
             WHERE venue IN (SELECT json_array_elements_text(?1::text::json))
             ORDER BY venue FOR UPDATE"
        }
    };
    Ok(sql
        .query(query, &[&list], cursor_row)?
        .into_iter()
        .flatten()
        .collect())
}

/// A `venues` row's cursor; `None` (and a warning) for one the hub cannot parse.
fn cursor_row(row: &crate::db::Row<'_>) -> Result<Option<(VenueId, Cursor)>, DbError> {
    let (venue, epoch, last_seq): (String, String, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
    match (venue.parse::<VenueId>(), epoch.parse::<Epoch>()) {
        (Ok(venue), Ok(epoch)) => Ok(Some((
            venue,
            Cursor {
                epoch,
                last_seq: last_seq as u64,
            },
        ))),
        _ => {
            warn!(venue, epoch, "skipping a venue row the hub cannot parse");
            Ok(None)
        }
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
    sql: &mut Sql<'_>,
    envelope: &Envelope,
    payload: &[u8],
    now: Millis,
) -> Result<(), DbError> {
    sql.write(
        "INSERT INTO events (venue, epoch, seq, type, time_ms, received_ms, envelope)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &[
            &envelope.venue.as_str(),
            &envelope.epoch.to_string(),
            &(envelope.event.seq as i64),
            &envelope.event.event.subject(),
            &(envelope.event.at as i64),
            &(now.0 as i64),
            &payload,
        ],
    )?;
    Ok(())
}

fn update_venue(
    sql: &mut Sql<'_>,
    venue: &VenueId,
    cursor: &Cursor,
    delta: &VenueDelta,
    now: Millis,
) -> Result<(), DbError> {
    let lag = if delta.events > 0 {
        Some(now.0.saturating_sub(delta.last_event_ms) as i64)
    } else {
        None
    };
    sql.write(
        "INSERT INTO venues (venue, epoch, last_seq, events, first_seen_ms, last_seen_ms,
            last_event_ms, lag_ms, duplicates, gaps)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (venue) DO UPDATE SET
            last_seq = excluded.last_seq,
            events = venues.events + excluded.events,
            last_seen_ms = excluded.last_seen_ms,
            last_event_ms = CASE WHEN excluded.events > 0 THEN excluded.last_event_ms
                ELSE venues.last_event_ms END,
            lag_ms = CASE WHEN excluded.events > 0 THEN excluded.lag_ms ELSE venues.lag_ms END,
            duplicates = venues.duplicates + excluded.duplicates,
            gaps = venues.gaps + excluded.gaps",
        &[
            &venue.as_str(),
            &cursor.epoch.to_string(),
            &(cursor.last_seq as i64),
            &(delta.events as i64),
            &(now.0 as i64),
            &(delta.last_event_ms as i64),
            &lag.unwrap_or(0),
            &(delta.duplicates as i64),
            &(delta.gaps as i64),
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests;
