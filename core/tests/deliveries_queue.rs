//! The passes' email queue: what is due comes out in the order it fell due, whatever else is
//! queued, and a store from before its index gets one when opened.
//!
//! When the relay is down, paid orders pile up, backed off, and the sender looks at the queue after
//! every commit of the node. What one look costs as the queue grows is a benchmark, printed, not
//! asserted:
//!
//! ```sh
//! cargo test --release -p tix-core --test deliveries_queue -- --ignored --nocapture
//! ```

use std::time::Instant;

use redb::TableDefinition;
use tix_core::door::{Delivery, DoorStore};
use tix_core::events::{DomainEvent, OrderCompleted, StoredEvent, TicketIdRef};
use tix_core::ids::{OrderId, PaymentId, RawId, TicketId};
use tix_core::outbox::{META, Unit};
use tix_core::store_version::{self, Opened};
use tix_core::time::Millis;

mod support;

/// The door store's index of its queue by due time, as a store of schema version 1 lacks it.
const DUE: TableDefinition<'_, &[u8], ()> = TableDefinition::new("deliveries_due");

const PAID_AT: Millis = Millis(1_700_000_000_000);
/// Where every failed delivery's next attempt was put off to: none is due while the sender looks.
const RETRY_AT: Millis = Millis(PAID_AT.0 + 3_600_000);

fn raw(kind: u8, n: u32) -> RawId {
    let mut bytes = [kind; 12];
    bytes[8..].copy_from_slice(&n.to_be_bytes());
    RawId(bytes)
}

/// Order `n` of the marketplace paid at `at`, as the door store reacts to it: its passes queued.
fn pay(unit: &mut Unit, n: u32, at: Millis) -> OrderId {
    let order = OrderId(raw(1, n));
    let paid = StoredEvent {
        seq: u64::from(n) + 1,
        at: at.0,
        event: DomainEvent::OrderCompleted(OrderCompleted {
            id: order,
            version: 2,
            ticket: TicketIdRef {
                id: TicketId(raw(2, n)),
            },
            payment_id: PaymentId(raw(3, n)),
            show: None,
        }),
    };
    DoorStore::react(unit, &paid).unwrap();
    order
}

/// A door store whose queue holds `queued` paid orders, each tried once and put off.
fn queue_of(queued: u32) -> DoorStore {
    let door = DoorStore::from_database(support::memory()).unwrap();
    let mut unit = Unit::begin(door.db()).unwrap();
    for n in 0..queued {
        let order = pay(&mut unit, n, PAID_AT);
        DoorStore::delivery_failed(&mut unit, order, RETRY_AT).unwrap();
    }
    unit.commit(0, PAID_AT).unwrap();
    door
}

/// Runs `work` in one committed transaction on `door`; answers what it answered.
fn change<T>(door: &DoorStore, work: impl FnOnce(&mut Unit) -> T) -> T {
    let mut unit = Unit::begin(door.db()).unwrap();
    let answer = work(&mut unit);
    unit.commit(0, PAID_AT).unwrap();
    answer
}

fn orders(due: &[Delivery]) -> Vec<OrderId> {
    due.iter().map(|d| d.order).collect()
}

fn later(minutes: u64) -> Millis {
    Millis(PAID_AT.0 + minutes * 60_000)
}

#[test]
fn what_is_due_comes_first_in_the_order_it_fell_due() {
    let door = DoorStore::from_database(support::memory()).unwrap();
    let [a, b, c, d] = change(&door, |unit| {
        [
            pay(unit, 1, later(0)),
            pay(unit, 2, later(1)),
            pay(unit, 3, later(2)),
            pay(unit, 4, later(2)),
        ]
    });
    assert_eq!(door.next_delivery().unwrap(), Some(later(0)));
    assert_eq!(
        orders(&door.deliveries_due(later(1), 10, false).unwrap()),
        [a, b]
    );
    assert_eq!(
        orders(&door.deliveries_due(later(5), 3, false).unwrap()),
        [a, b, c],
        "at most the limit"
    );

    // A failed attempt puts a delivery off: it leaves its old place and takes its new one.
    change(&door, |unit| {
        DoorStore::delivery_failed(unit, a, later(30)).unwrap();
        DoorStore::delivery_failed(unit, a, later(60)).unwrap();
    });
    assert_eq!(door.next_delivery().unwrap(), Some(later(1)));
    assert_eq!(
        orders(&door.deliveries_due(later(30), 10, false).unwrap()),
        [b, c, d]
    );
    let all = door.deliveries_due(later(60), 10, false).unwrap();
    assert_eq!(orders(&all), [b, c, d, a]);
    assert_eq!(all[3].attempts, 2);
    assert_eq!(all[3].next_at, later(60));

    // Done leaves the queue wholly; a second done, or a failure reported after it, changes nothing.
    change(&door, |unit| {
        DoorStore::delivery_done(unit, b).unwrap();
        DoorStore::delivery_done(unit, c).unwrap();
        DoorStore::delivery_done(unit, c).unwrap();
        assert_eq!(DoorStore::delivery_failed(unit, c, later(5)).unwrap(), None);
    });
    assert_eq!(door.next_delivery().unwrap(), Some(later(2)));
    assert_eq!(
        orders(&door.deliveries_due(later(60), 10, false).unwrap()),
        [d, a]
    );
    assert_eq!(door.deliveries_queued().unwrap(), 2);
    change(&door, |unit| {
        DoorStore::delivery_done(unit, d).unwrap();
        DoorStore::delivery_done(unit, a).unwrap();
    });
    assert_eq!(door.next_delivery().unwrap(), None);
    assert!(
        door.deliveries_due(later(60), 10, false)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_door_store_from_before_the_index_gets_it_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("door.redb");
    {
        // A store of schema version 1: its queue, and no index by due time.
        let door = DoorStore::from_database(redb::Database::create(&path).unwrap()).unwrap();
        change(&door, |unit| {
            pay(unit, 1, later(3));
            let b = pay(unit, 2, later(0));
            DoorStore::delivery_failed(unit, b, later(9)).unwrap();
            pay(unit, 3, later(1));
        });
        let write = door.db().begin_write().unwrap();
        assert!(
            write.delete_table(DUE).unwrap(),
            "the index exists to be removed"
        );
        write
            .open_table(META)
            .unwrap()
            .insert(store_version::KEY, 1)
            .unwrap();
        write.commit().unwrap();
    }

    let db = redb::Database::open(&path).unwrap();
    assert_eq!(
        store_version::open(&db, "door").unwrap(),
        Opened::Upgraded { from: 1 }
    );
    let door = DoorStore::from_database(db).unwrap();

    let (a, b, c) = (OrderId(raw(1, 1)), OrderId(raw(1, 2)), OrderId(raw(1, 3)));
    assert_eq!(door.next_delivery().unwrap(), Some(later(1)));
    assert_eq!(
        orders(&door.deliveries_due(later(9), 10, false).unwrap()),
        [c, a, b]
    );
}

#[test]
#[ignore = "a benchmark: run it on its own, in release"]
fn what_the_sender_reads_after_each_commit_as_the_queue_grows() {
    const LOOKS: u32 = 200;
    for queued in [100, 1_000, 10_000, 50_000] {
        let door = queue_of(queued);
        let now = Millis(PAID_AT.0 + 60_000);
        let started = Instant::now();
        for _ in 0..LOOKS {
            // What the sender does when a commit wakes it: the due ones, then when to wake next.
            assert!(door.deliveries_due(now, 16, false).unwrap().is_empty());
            assert_eq!(door.next_delivery().unwrap(), Some(RETRY_AT));
        }
        let micros = started.elapsed().as_secs_f64() * 1e6 / f64::from(LOOKS);
        println!("queue of {queued:>6} backed-off deliveries: {micros:>10.1} µs per look");
    }
}
