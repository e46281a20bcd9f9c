//! The ledger's rules, each checked on SQLite and on PostgreSQL: order, duplicates, gaps,
//! conflicts, quarantine, and two ledgers (two hub instances) on one database.

use super::*;
use crate::testing::on_both_engines;
use tix_core::events::{DomainEvent, StoredEvent, TicketChanged};
use tix_core::ids::{TicketId, UserId};

on_both_engines!(
    applies_in_order_once_and_holds_back_on_a_gap,
    a_resend_of_stored_events_is_acknowledged_again,
    refusals_are_quarantined_not_applied,
    the_cursor_survives_a_reopen,
    cash_payments_and_refunds_are_kept_with_their_method,
    the_quarantine_keeps_each_venues_newest_refusals_up_to_a_cap_and_counts_them_all,
    two_ledgers_on_one_database_store_each_event_once_in_order,
    what_another_instance_stored_is_left_out_of_a_take_over,
);

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

fn count(db: &Db, sql: &str) -> i64 {
    db.read(|s| s.query_one(sql, &[], |r| r.get(0))).unwrap()
}

fn texts(db: &Db, sql: &str) -> Vec<String> {
    db.read(|s| s.query(sql, &[], |r| r.get(0))).unwrap()
}

fn applies_in_order_once_and_holds_back_on_a_gap(db: &Db) {
    let mut ledger = Ledger::open(db).unwrap();
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
    assert_eq!(count(db, "SELECT COUNT(*) FROM events"), 3);
    assert_eq!(count(db, "SELECT COUNT(*) FROM tickets"), 3);
    assert_eq!(count(db, "SELECT events FROM venues WHERE venue = 'a'"), 3);
    assert_eq!(count(db, "SELECT gaps FROM venues WHERE venue = 'a'"), 1);
}

fn a_resend_of_stored_events_is_acknowledged_again(db: &Db) {
    let mut ledger = Ledger::open(db).unwrap();
    let stored = [envelope("a", 7, 1, "one"), envelope("a", 7, 2, "two")];
    ledger.apply(&stored, Millis(1)).unwrap();
    // The venue sends 1 and 2 again: it has not seen the acknowledgement of 2 (lost on the way),
    // and without another it would resend until it has new events. Nothing is stored twice.
    let outcome = ledger.apply(&stored, Millis(2)).unwrap();
    assert_eq!((outcome.applied, outcome.duplicates), (0, 2));
    assert_eq!(
        outcome.acks,
        [Ack {
            venue: venue("a"),
            epoch: Epoch(7),
            seq: 2
        }]
    );
    assert_eq!(count(db, "SELECT COUNT(*) FROM events"), 2);
}

fn what_another_instance_stored_is_left_out_of_a_take_over(db: &Db) {
    // The instance that left stored a's 1 and 2 at epoch 7; this one had kept 1 to 4 of a, one
    // of a's at another epoch, b's first (a venue never stored) and something undecodable.
    let mut gone = Ledger::open(db).unwrap();
    gone.apply(
        &[envelope("a", 7, 1, "one"), envelope("a", 7, 2, "two")],
        Millis(1),
    )
    .unwrap();
    let mut garbage = envelope("a", 7, 9, "x");
    garbage.payload = b"not json".to_vec();
    let mut kept = vec![
        envelope("a", 7, 1, "one"),
        envelope("a", 7, 2, "two"),
        envelope("a", 7, 3, "three"),
        envelope("a", 8, 1, "other epoch"),
        envelope("b", 7, 1, "b one"),
        garbage,
        envelope("a", 7, 4, "four"),
    ];
    let mut ledger = Ledger::open(db).unwrap();
    let (left_out, acks) = ledger.leave_out_stored(&mut kept).unwrap();
    assert_eq!(left_out, 2);
    assert_eq!(
        acks,
        [Ack {
            venue: venue("a"),
            epoch: Epoch(7),
            seq: 2
        }],
        "what the departed instance stored, acknowledged again"
    );
    let rest: Vec<Vec<u8>> = kept.iter().map(|m| m.payload.clone()).collect();
    assert_eq!(
        rest,
        [
            envelope("a", 7, 3, "three").payload,
            envelope("a", 8, 1, "other epoch").payload,
            envelope("b", 7, 1, "b one").payload,
            b"not json".to_vec(),
            envelope("a", 7, 4, "four").payload,
        ],
        "the rest, in arrival order, for apply to judge"
    );
    let outcome = ledger.apply(&kept, Millis(2)).unwrap();
    assert_eq!(
        (outcome.applied, outcome.quarantined),
        (3, 2),
        "a 3 and 4, b 1; the other epoch and the garbage refused"
    );
}

fn refusals_are_quarantined_not_applied(db: &Db) {
    let mut ledger = Ledger::open(db).unwrap();
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
    let reasons = texts(db, "SELECT reason FROM quarantine ORDER BY id");
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
    assert_eq!(count(db, "SELECT COUNT(*) FROM quarantine"), 6);
    assert_eq!(count(db, "SELECT COUNT(*) FROM events"), 1);
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM venues WHERE venue = 'b'"),
        0
    );
}

fn the_cursor_survives_a_reopen(db: &Db) {
    {
        let mut ledger = Ledger::open(db).unwrap();
        ledger
            .apply(
                &[envelope("a", 7, 1, "one"), envelope("a", 7, 2, "two")],
                Millis(1),
            )
            .unwrap();
    }
    let mut ledger = Ledger::open(db).unwrap();
    assert_eq!(
        ledger.acks().unwrap(),
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

fn cash_payments_and_refunds_are_kept_with_their_method(db: &Db) {
    use tix_core::events::{PaymentCreated, PaymentMethod, PaymentRefunded};
    use tix_core::ids::{OrderId, PaymentId};
    let mut ledger = Ledger::open(db).unwrap();
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
            db,
            "SELECT COUNT(*) FROM payment_methods WHERE method = 'cash'"
        ),
        1
    );
    assert_eq!(
        count(
            db,
            "SELECT amount_cents FROM refunds WHERE venue = 'main-hall' AND method = 'cash'"
        ),
        4250
    );
}

fn the_quarantine_keeps_each_venues_newest_refusals_up_to_a_cap_and_counts_them_all(db: &Db) {
    let mut ledger = Ledger::open(db).unwrap();
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

    let kept: Vec<String> = db
        .read(|s| {
            s.query(
                "SELECT payload FROM quarantine WHERE topic = 'v1/venues/rogue/events'
                 ORDER BY id",
                &[],
                |r| r.get::<Vec<u8>>(0),
            )
        })
        .unwrap()
        .into_iter()
        .map(|p| String::from_utf8(p).unwrap())
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
            db,
            "SELECT COUNT(*) FROM quarantine WHERE topic = 'v1/venues/honest/events'"
        ),
        1,
        "another venue's refusal is not pushed out"
    );
    let counted = |venue: &str| {
        db.read(|s| {
            s.query_one(
                "SELECT CAST(SUM(count) AS BIGINT) FROM quarantine_counts WHERE venue = ?1",
                &[&venue],
                |r| r.get::<i64>(0),
            )
        })
        .unwrap()
    };
    assert_eq!(counted("rogue"), flood as i64);
    assert_eq!(counted("honest"), 1);
}

/// Two ledgers, as two hub instances would hold, apply overlapping batches of the same venues at
/// once (each batch run again when it met the other's): every event is stored once, in order,
/// and the read models and cursors agree.
fn two_ledgers_on_one_database_store_each_event_once_in_order(db: &Db) {
    const EVENTS: u64 = 300;
    let venues = ["v-one", "v-two", "v-three"];
    let run = |first: u64| {
        let db = db.clone();
        std::thread::spawn(move || {
            let mut ledger = Ledger::open(&db).unwrap();
            let mut applied = 0;
            // Batches of 7 events of every venue, each instance starting at its own offset and
            // both covering every sequence: most batches overlap the other instance's.
            let mut from = first;
            while from <= EVENTS {
                let batch: Vec<Incoming> = (from..(from + 7).min(EVENTS + 1))
                    .flat_map(|seq| venues.map(|v| envelope(v, 7, seq, "t")))
                    .collect();
                let outcome = loop {
                    match ledger.apply(&batch, Millis(from)) {
                        Ok(outcome) => break outcome,
                        Err(e) if e.is_contention() => continue,
                        Err(e) => panic!("{e}"),
                    }
                };
                applied += outcome.applied;
                // A gap (the other instance not there yet) is resent, as a venue would.
                if outcome.gaps == 0 {
                    from += 5;
                }
            }
            applied
        })
    };
    let (a, b) = (run(1), run(3));
    let applied = a.join().unwrap() + b.join().unwrap();
    assert_eq!(
        applied,
        EVENTS * venues.len() as u64,
        "each event applied once"
    );
    for v in venues {
        let seqs: Vec<i64> = db
            .read(|s| {
                s.query(
                    "SELECT seq FROM events WHERE venue = ?1 ORDER BY seq",
                    &[&v],
                    |r| r.get(0),
                )
            })
            .unwrap();
        assert_eq!(seqs, (1..=EVENTS as i64).collect::<Vec<_>>(), "venue {v}");
        let sql = format!("SELECT last_seq FROM venues WHERE venue = '{v}'");
        assert_eq!(count(db, &sql), EVENTS as i64);
        let sql = format!("SELECT events FROM venues WHERE venue = '{v}'");
        assert_eq!(
            count(db, &sql),
            EVENTS as i64,
            "the venue's count of events"
        );
    }
}
