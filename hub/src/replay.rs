//! Catch-up pages: the hub's answer to a venue that asks for the events of its epoch after a
//! sequence (`tix_sync::protocol::replay`), read from the stored envelopes.
//!
//! One request, one page: the header names the request and `through`, the highest sequence the hub
//! stores of that venue and epoch (0 if none); then the stored envelopes after `after`, in order, as
//! many as fit in `PAGE_BYTES` (always at least one when there is one). The query is bounded, so
//! a request costs at most `MAX_ROWS` rows whatever it asks.

use crate::db::{DbError, Sql};
use tix_sync::protocol::{PAGE_BYTES, PageHeader, ReplayPage, ReplayRequest, VenueId};

/// Most rows one page reads: more than any page can carry of real envelopes (their JSON is well
/// over `PAGE_BYTES / MAX_ROWS` = 48 bytes each).
pub const MAX_ROWS: i64 = 4096;

/// The encoded page answering `request` of `venue`.
pub fn page(
    sql: &mut Sql<'_>,
    venue: &VenueId,
    request: &ReplayRequest,
) -> Result<Vec<u8>, DbError> {
    let epoch = request.epoch.to_string();
    // A sequence beyond what the database holds (a signed 64-bit integer) has nothing after it.
    let after = i64::try_from(request.after).unwrap_or(i64::MAX);
    let mut envelopes: Vec<Vec<u8>> = Vec::new();
    let mut bytes = 0usize;
    let mut last_seq = 0i64;
    let rows: Vec<(i64, Vec<u8>)> = sql.query(
        "SELECT seq, envelope FROM events WHERE venue = ?1 AND epoch = ?2 AND seq > ?3
         ORDER BY seq LIMIT ?4",
        &[&venue.as_str(), &epoch, &after, &MAX_ROWS],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    {
        for (seq, mut envelope) in rows {
            if !envelopes.is_empty() && bytes + envelope.len() > PAGE_BYTES {
                break;
            }
            // A page holds one envelope per line. The hub stores what the venue sent, and JSON
            // carries a newline only as whitespace between tokens (never inside a string), so
            // dropping any leaves the same envelope, on one line.
            if envelope.contains(&b'\n') {
                envelope.retain(|b| *b != b'\n');
            }
            bytes += envelope.len();
            last_seq = seq;
            envelopes.push(envelope);
        }
    }
    // Read after the envelopes, in a snapshot of its own: the ledger only adds, so `through` is
    // never below the last envelope sent even while it writes (the `max` says so regardless).
    let stored: i64 = sql.query_one(
        "SELECT COALESCE(MAX(seq), 0) FROM events WHERE venue = ?1 AND epoch = ?2",
        &[&venue.as_str(), &epoch],
        |row| row.get(0),
    )?;
    let header = PageHeader {
        epoch: request.epoch,
        after: request.after,
        through: u64::try_from(stored.max(last_seq)).unwrap_or(0),
    };
    Ok(ReplayPage::encode(&header, &envelopes))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use tix_core::events::{DomainEvent, StoredEvent, TicketChanged};
    use tix_core::ids::{TicketId, UserId};
    use tix_core::time::Millis;
    use tix_sync::protocol::{Envelope, Epoch, MAX_ENVELOPE_BYTES};

    use super::*;
    use crate::db::{Db, Location};
    use crate::ledger::{Incoming, Ledger};
    use crate::schema;

    fn venue(name: &str) -> VenueId {
        name.parse().unwrap()
    }

    /// An envelope as a venue sends it, its title `title_len` bytes long.
    fn envelope(venue_name: &str, epoch: u64, seq: u64, title_len: usize) -> Envelope {
        let ticket = TicketChanged {
            id: TicketId::from_bytes([seq as u8; 12]),
            version: 0,
            title: "t".repeat(title_len),
            price: 10.0,
            user_id: UserId::from_bytes([1; 12]),
            order_id: None,
            details: Default::default(),
        };
        Envelope {
            venue: venue(venue_name),
            epoch: Epoch(epoch),
            event: StoredEvent {
                seq,
                at: 1_000,
                event: DomainEvent::TicketCreated(ticket),
            },
        }
    }

    fn message(venue_name: &str, epoch: u64, seq: u64, title_len: usize) -> Incoming {
        Incoming {
            topic: format!("v1/venues/{venue_name}/events"),
            payload: envelope(venue_name, epoch, seq, title_len).encode(),
        }
    }

    /// A hub database holding `seqs` of venue `a` at epoch 7, stored through the ledger.
    fn hub(seqs: std::ops::RangeInclusive<u64>, title_len: usize) -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(&sqlite(dir.path())).unwrap();
        let batch: Vec<Incoming> = seqs.map(|s| message("a", 7, s, title_len)).collect();
        let outcome = ledger.apply(&batch, Millis(2_000)).unwrap();
        assert_eq!(outcome.applied, batch.len() as u64);
        (dir, ledger)
    }

    fn sqlite(dir: &Path) -> Db {
        Db::new(Location::Sqlite(dir.join("hub.sqlite3")))
    }

    fn ask(dir: &Path, venue_name: &str, epoch: u64, after: u64) -> ReplayPage {
        let request = ReplayRequest {
            epoch: Epoch(epoch),
            after,
        };
        let bytes = sqlite(dir)
            .read(|sql| page(sql, &venue(venue_name), &request))
            .unwrap();
        ReplayPage::decode(&bytes, &venue(venue_name)).unwrap()
    }

    fn seqs(page: &ReplayPage) -> Vec<u64> {
        page.events.iter().map(|e| e.event.seq).collect()
    }

    #[test]
    fn a_venue_the_hub_holds_nothing_of_gets_an_empty_page() {
        let (dir, _ledger) = hub(1..=3, 5);
        let page = ask(dir.path(), "b", 7, 0);
        assert_eq!(
            page.header,
            PageHeader {
                epoch: Epoch(7),
                after: 0,
                through: 0
            }
        );
        assert!(page.events.is_empty());
    }

    #[test]
    fn a_page_carries_the_stored_envelopes_after_the_request_in_order() {
        let (dir, _ledger) = hub(1..=5, 5);
        let page = ask(dir.path(), "a", 7, 2);
        assert_eq!(page.header.through, 5);
        assert_eq!(page.header.after, 2);
        assert_eq!(seqs(&page), [3, 4, 5]);
        assert_eq!(page.events[0], envelope("a", 7, 3, 5));
        let whole = ask(dir.path(), "a", 7, 0);
        assert_eq!(seqs(&whole), [1, 2, 3, 4, 5]);
        // Caught up, or beyond what the hub holds (even beyond what SQLite can): nothing more, and
        // where the hub stands.
        for after in [5, 9, i64::MAX as u64 + 1] {
            let page = ask(dir.path(), "a", 7, after);
            assert_eq!((page.header.after, page.header.through), (after, 5));
            assert!(page.events.is_empty());
        }
    }

    #[test]
    fn a_page_stops_at_page_bytes_and_the_venue_asks_on_from_its_last_event() {
        let big = MAX_ENVELOPE_BYTES - 1_024;
        let (dir, _ledger) = hub(1..=5, big);
        let first = ask(dir.path(), "a", 7, 0);
        let per_page = PAGE_BYTES / envelope("a", 7, 1, big).encode().len();
        assert!((1..5).contains(&per_page));
        assert_eq!(first.header.through, 5);
        assert_eq!(seqs(&first), (1..=per_page as u64).collect::<Vec<_>>());
        let mut asked = vec![first];
        while let Some(last) = asked.last().unwrap().events.last() {
            let after = last.event.seq;
            asked.push(ask(dir.path(), "a", 7, after));
        }
        let all: Vec<u64> = asked.iter().flat_map(seqs).collect();
        assert_eq!(all, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn an_envelope_larger_than_a_page_still_goes_alone() {
        let (dir, _ledger) = hub(1..=1, 5);
        // Beyond anything the ledger stores, written straight into the table.
        let huge = envelope("a", 7, 2, PAGE_BYTES).encode();
        let writer = schema::open_writer(&dir.path().join("hub.sqlite3")).unwrap();
        for seq in [2, 3] {
            writer
                .execute(
                    "INSERT INTO events (venue, epoch, seq, type, time_ms, received_ms, envelope)
                     VALUES ('a', ?1, ?2, 'ticket:created', 1, 1, ?3)",
                    rusqlite::params![Epoch(7).to_string(), seq, huge],
                )
                .unwrap();
        }
        let request = ReplayRequest {
            epoch: Epoch(7),
            after: 1,
        };
        let bytes = sqlite(dir.path())
            .read(|sql| page(sql, &venue("a"), &request))
            .unwrap();
        let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
        let header: PageHeader = serde_json::from_slice(lines[0]).unwrap();
        assert_eq!((header.after, header.through), (1, 3));
        assert_eq!(lines[1..], [huge.as_slice(), b""]);
    }

    #[test]
    fn another_epoch_or_another_venue_is_not_in_the_page() {
        let (dir, mut ledger) = hub(1..=3, 5);
        // Venue b's own stream, and venue a's stores recreated under epoch 9 (adopted).
        ledger
            .apply(
                &[message("b", 7, 1, 5), message("b", 7, 2, 5)],
                Millis(3_000),
            )
            .unwrap();
        ledger
            .apply(&[message("a", 9, 1, 5)], Millis(4_000))
            .unwrap();
        ledger.adopt(&venue("a"), Epoch(9), Millis(5_000)).unwrap();
        let outcome = ledger
            .apply(&[message("a", 9, 1, 5)], Millis(6_000))
            .unwrap();
        assert_eq!(outcome.applied, 1);

        let old = ask(dir.path(), "a", 7, 0);
        assert_eq!((old.header.through, seqs(&old)), (3, vec![1, 2, 3]));
        let new = ask(dir.path(), "a", 9, 0);
        assert_eq!((new.header.through, seqs(&new)), (1, vec![1]));
        let other = ask(dir.path(), "b", 7, 1);
        assert_eq!((other.header.through, seqs(&other)), (2, vec![2]));
        let never = ask(dir.path(), "a", 8, 0);
        assert_eq!((never.header.through, seqs(&never)), (0, vec![]));
    }

    #[test]
    fn a_stored_envelope_with_newlines_goes_on_one_line() {
        let (dir, mut ledger) = hub(1..=1, 5);
        let mut pretty = serde_json::to_vec_pretty(
            &serde_json::from_slice::<serde_json::Value>(&envelope("a", 7, 2, 5).encode()).unwrap(),
        )
        .unwrap();
        pretty.push(b'\n');
        let outcome = ledger
            .apply(
                &[Incoming {
                    topic: "v1/venues/a/events".into(),
                    payload: pretty,
                }],
                Millis(3_000),
            )
            .unwrap();
        assert_eq!(outcome.applied, 1);
        let page = ask(dir.path(), "a", 7, 0);
        assert_eq!(page.events[1], envelope("a", 7, 2, 5));
    }
}
