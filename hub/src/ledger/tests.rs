//! The ledger's rules on an in-memory SQLite: order, duplicates, gaps, conflicts, quarantine.

use tix_core::events::{DomainEvent, StoredEvent, TicketChanged};
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

#[test]
fn the_quarantine_keeps_each_venues_newest_refusals_up_to_a_cap_and_counts_them_all() {
    let (_dir, mut ledger) = open();
    let bad = |venue: &str, n: usize| Incoming {
        topic: format!("v1/venues/{venue}/events"),
        payload: format!("not json {n}").into_bytes(),
    };
    ledger.apply(&[bad("honest", 0)], Millis(1)).unwrap();
    let flood = QUARANTINE_CAP + 250;
    let numbers: Vec<usize> = (0..flood).collect();
    for chunk in numbers.chunks(400) {
        let batch: Vec<Incoming> = chunk.iter().map(|&n| bad("rogue", n)).collect();
        ledger.apply(&batch, Millis(2)).unwrap();
    }

    let kept: Vec<String> = ledger
        .conn
        .prepare(
            "SELECT payload FROM quarantine WHERE topic = 'v1/venues/rogue/events' ORDER BY id",
        )
        .unwrap()
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|p| String::from_utf8(p.unwrap()).unwrap())
        .collect();
    assert_eq!(
        kept.len(),
        QUARANTINE_CAP,
        "rows kept of the flooding venue"
    );
    assert_eq!(kept[0], format!("not json {}", flood - QUARANTINE_CAP));
    assert_eq!(kept[QUARANTINE_CAP - 1], format!("not json {}", flood - 1));
    assert_eq!(
        count(
            &ledger,
            "SELECT COUNT(*) FROM quarantine WHERE topic = 'v1/venues/honest/events'"
        ),
        1,
        "another venue's refusal is not pushed out"
    );
    let counted = |venue: &str| {
        ledger
            .conn
            .query_row(
                "SELECT SUM(count) FROM quarantine_counts WHERE venue = ?1",
                [venue],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
    };
    assert_eq!(counted("rogue"), flood as i64);
    assert_eq!(counted("honest"), 1);
}
