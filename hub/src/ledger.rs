//! The hub's write side: applies each venue's events exactly once, in order, in durable SQLite
//! transactions, and says which acknowledgements to publish.
//!
//! Per message: refused ones (oversized, malformed, from a topic that is not an events topic, whose
//! source is not the topic's venue, of an epoch the hub does not follow) go to the quarantine table;
//! an event below the venue's next sequence is a duplicate (a payload differing from the stored one
//! is quarantined as a conflict); the next sequence is stored and projected; one beyond it is held
//! back (the venue resends from the acknowledgement). A whole batch is one transaction.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tracing::warn;

use tix_core::events::DomainEvent;
use tix_core::time::Millis;
use tix_sync::protocol::{
    Ack, DecodeError, Envelope, Epoch, MAX_ENVELOPE_BYTES, VenueId, parse_events_topic,
};

use crate::schema;

/// Bytes of a refused payload kept in the quarantine table.
const QUARANTINE_KEEP: usize = 4096;

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
        for message in batch {
            let verdict = judge(message, &self.cursors);
            match verdict {
                Verdict::Refuse {
                    reason,
                    detail,
                    key,
                } => {
                    quarantine(&txn, message, reason, &detail, key.as_ref(), now)?;
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
                        quarantine(&txn, message, Refusal::Conflict, detail, Some(&key), now)?;
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
    if message.payload.len() > MAX_ENVELOPE_BYTES {
        let e = DecodeError::TooLarge(message.payload.len());
        return refuse(Refusal::Oversized, e.to_string(), None);
    }
    let topic_venue = match parse_events_topic(&message.topic) {
        Ok(venue) => venue,
        Err(e) => return refuse(Refusal::Topic, e.to_string(), None),
    };
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

fn quarantine(
    txn: &Transaction<'_>,
    message: &Incoming,
    reason: Refusal,
    detail: &str,
    key: Option<&Key>,
    now: Millis,
) -> rusqlite::Result<()> {
    let kept = &message.payload[..message.payload.len().min(QUARANTINE_KEEP)];
    // A resent refusal of the same event is stored once.
    txn.prepare_cached(
        "INSERT OR IGNORE INTO quarantine
            (received_ms, topic, reason, detail, venue, epoch, seq, size, payload)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        now.0 as i64,
        message.topic,
        reason.as_str(),
        detail,
        key.map(|k| k.venue.as_str()),
        key.map(|k| k.epoch.as_str()),
        key.map(|k| k.seq as i64),
        message.payload.len() as i64,
        kept,
    ])?;
    Ok(())
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

/// Updates the read models from one stored event.
fn project(txn: &Transaction<'_>, envelope: &Envelope) -> rusqlite::Result<()> {
    let venue = envelope.venue.as_str();
    let at = envelope.event.at as i64;
    match &envelope.event.event {
        DomainEvent::TicketCreated(t) | DomainEvent::TicketUpdated(t) => {
            txn.prepare_cached(
                "INSERT INTO tickets (venue, id, title, price, user_id, order_id, version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (venue, id) DO UPDATE SET title = excluded.title,
                    price = excluded.price, user_id = excluded.user_id,
                    order_id = excluded.order_id, version = excluded.version",
            )?
            .execute(params![
                venue,
                t.id.to_string(),
                t.title,
                t.price,
                t.user_id.to_string(),
                t.order_id.map(|o| o.to_string()),
                t.version as i64,
            ])?;
        }
        DomainEvent::OrderCreated(o) => {
            txn.prepare_cached(
                "INSERT OR REPLACE INTO orders (venue, id, user_id, ticket_id, price, status,
                    expires_at, payment_id, version, created_ms, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, ?9, ?9)",
            )?
            .execute(params![
                venue,
                o.id.to_string(),
                o.user_id.to_string(),
                o.ticket.id.to_string(),
                o.ticket.price,
                o.status.as_str(),
                o.expires_at,
                o.version as i64,
                at,
            ])?;
        }
        DomainEvent::OrderCancelled(o) => {
            txn.prepare_cached(
                "UPDATE orders SET status = 'cancelled', version = ?3, updated_ms = ?4
                 WHERE venue = ?1 AND id = ?2",
            )?
            .execute(params![venue, o.id.to_string(), o.version as i64, at])?;
        }
        DomainEvent::OrderCompleted(o) => {
            txn.prepare_cached(
                "UPDATE orders SET status = 'complete', version = ?3, updated_ms = ?4,
                    payment_id = ?5
                 WHERE venue = ?1 AND id = ?2",
            )?
            .execute(params![
                venue,
                o.id.to_string(),
                o.version as i64,
                at,
                o.payment_id.to_string()
            ])?;
        }
        DomainEvent::PaymentCreated(p) => {
            txn.prepare_cached(
                "INSERT OR REPLACE INTO payments (venue, id, order_id, stripe_id, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                venue,
                p.id.to_string(),
                p.order_id.to_string(),
                p.stripe_id,
                at
            ])?;
            txn.prepare_cached(
                "INSERT OR REPLACE INTO payment_methods (venue, id, method) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![venue, p.id.to_string(), p.method.as_str()])?;
        }
        DomainEvent::PaymentRefunded(r) => {
            txn.prepare_cached(
                "INSERT OR REPLACE INTO refunds (venue, payment_id, order_id, method, amount_cents, refunded_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                venue,
                r.id.to_string(),
                r.order_id.to_string(),
                r.method.as_str(),
                r.amount_cents,
                at
            ])?;
        }
        // Users stay at their venue (the hub keeps only the event); expiry shows up as the order's
        // cancellation that follows it.
        DomainEvent::UserCreated(_) | DomainEvent::ExpirationComplete(_) => {}
    }
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
mod tests {
    use tix_core::events::{StoredEvent, TicketChanged};
    use tix_core::ids::{TicketId, UserId};

    use super::*;

    fn venue(name: &str) -> VenueId {
        name.parse().unwrap()
    }

    fn envelope(venue_name: &str, epoch: u64, seq: u64, title: &str) -> Incoming {
        let ticket = TicketChanged {
            id: TicketId::from_bytes([seq as u8; 12]),
            version: 0,
            title: title.into(),
            price: 10.0,
            user_id: UserId::from_bytes([1; 12]),
            order_id: None,
            details: Default::default(),
        };
        let env = Envelope {
            venue: venue(venue_name),
            epoch: Epoch(epoch),
            event: StoredEvent {
                seq,
                at: 1_000,
                event: DomainEvent::TicketCreated(ticket),
            },
        };
        Incoming {
            topic: format!("v1/venues/{venue_name}/events"),
            payload: env.encode(),
        }
    }

    fn message(venue_name: &str, seq: u64, event: DomainEvent) -> Incoming {
        let env = Envelope {
            venue: venue(venue_name),
            epoch: Epoch(1),
            event: StoredEvent {
                seq,
                at: 2_000,
                event,
            },
        };
        Incoming {
            topic: format!("v1/venues/{venue_name}/events"),
            payload: env.encode(),
        }
    }

    fn count(ledger: &Ledger, sql: &str) -> i64 {
        ledger.conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn open() -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("hub.sqlite3")).unwrap();
        (dir, ledger)
    }

    #[test]
    fn applies_in_order_once_and_holds_back_on_a_gap() {
        let (_dir, mut ledger) = open();
        let batch = [
            envelope("a", 7, 1, "one"),
            envelope("a", 7, 3, "three"), // gap: 2 is missing
            envelope("a", 7, 2, "two"),
            envelope("a", 7, 1, "one"), // duplicate
        ];
        let outcome = ledger.apply(&batch, Millis(2_000)).unwrap();
        assert_eq!(
            (
                outcome.applied,
                outcome.gaps,
                outcome.duplicates,
                outcome.quarantined
            ),
            (2, 1, 1, 0)
        );
        assert_eq!(
            outcome.acks,
            [Ack {
                venue: venue("a"),
                epoch: Epoch(7),
                seq: 2
            }]
        );
        // The resend after the gap completes the stream.
        let outcome = ledger
            .apply(&[envelope("a", 7, 3, "three")], Millis(3_000))
            .unwrap();
        assert_eq!(outcome.applied, 1);
        assert_eq!(count(&ledger, "SELECT COUNT(*) FROM events"), 3);
        assert_eq!(count(&ledger, "SELECT COUNT(*) FROM tickets"), 3);
        assert_eq!(
            count(&ledger, "SELECT events FROM venues WHERE venue = 'a'"),
            3
        );
        assert_eq!(
            count(&ledger, "SELECT gaps FROM venues WHERE venue = 'a'"),
            1
        );
    }

    #[test]
    fn refusals_are_quarantined_not_applied() {
        let (_dir, mut ledger) = open();
        ledger
            .apply(&[envelope("a", 7, 1, "one")], Millis(1))
            .unwrap();
        let mut forged = envelope("b", 7, 1, "forged");
        forged.topic = "v1/venues/a/events".into();
        let mut oversized = envelope("a", 7, 2, "x");
        oversized.payload = vec![b' '; MAX_ENVELOPE_BYTES + 1];
        let batch = [
            forged,
            oversized,
            Incoming {
                topic: "v1/venues/a/events".into(),
                payload: b"{not json".to_vec(),
            },
            Incoming {
                topic: "v1/venues/a/other".into(),
                payload: b"{}".to_vec(),
            },
            envelope("a", 8, 2, "other epoch"),
            envelope("a", 7, 1, "rewritten"), // same seq, different payload
        ];
        let outcome = ledger.apply(&batch, Millis(2)).unwrap();
        assert_eq!((outcome.applied, outcome.quarantined), (0, 6));
        let reasons: Vec<String> = ledger
            .conn
            .prepare("SELECT reason FROM quarantine ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            reasons,
            [
                "source-mismatch",
                "oversized",
                "malformed",
                "topic",
                "epoch",
                "conflict"
            ]
        );
        // A resent refusal of the same event is kept once.
        ledger
            .apply(&[envelope("a", 8, 2, "other epoch")], Millis(3))
            .unwrap();
        assert_eq!(count(&ledger, "SELECT COUNT(*) FROM quarantine"), 6);
        assert_eq!(count(&ledger, "SELECT COUNT(*) FROM events"), 1);
        assert!(!ledger.cursors.contains_key(&venue("b")));
    }

    #[test]
    fn the_cursor_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.sqlite3");
        {
            let mut ledger = Ledger::open(&path).unwrap();
            ledger
                .apply(
                    &[envelope("a", 7, 1, "one"), envelope("a", 7, 2, "two")],
                    Millis(1),
                )
                .unwrap();
        }
        let mut ledger = Ledger::open(&path).unwrap();
        assert_eq!(
            ledger.acks(),
            [Ack {
                venue: venue("a"),
                epoch: Epoch(7),
                seq: 2
            }]
        );
        let outcome = ledger
            .apply(&[envelope("a", 7, 2, "two")], Millis(2))
            .unwrap();
        assert_eq!((outcome.applied, outcome.duplicates), (0, 1));
    }

    #[test]
    fn cash_payments_and_refunds_are_kept_with_their_method() {
        use tix_core::events::{PaymentCreated, PaymentMethod, PaymentRefunded};
        use tix_core::ids::{OrderId, PaymentId};
        let (_dir, mut ledger) = open();
        let cash = PaymentCreated {
            id: PaymentId::from_bytes([7; 12]),
            order_id: OrderId::from_bytes([8; 12]),
            stripe_id: String::new(),
            method: PaymentMethod::Cash,
        };
        let refund = PaymentRefunded {
            id: cash.id,
            order_id: cash.order_id,
            method: PaymentMethod::Cash,
            amount_cents: 4250,
            by: UserId::from_bytes([9; 12]),
        };
        ledger
            .apply(
                &[
                    message("main-hall", 1, DomainEvent::PaymentCreated(cash)),
                    message("main-hall", 2, DomainEvent::PaymentRefunded(refund)),
                ],
                Millis(3_000),
            )
            .unwrap();
        assert_eq!(
            count(
                &ledger,
                "SELECT COUNT(*) FROM payment_methods WHERE method = 'cash'"
            ),
            1
        );
        assert_eq!(
            count(
                &ledger,
                "SELECT amount_cents FROM refunds WHERE venue = 'main-hall' AND method = 'cash'"
            ),
            4250
        );
    }
}
