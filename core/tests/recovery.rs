//! The catch-up of a restored node on in-memory stores: a node that gets another's events back
//! from any point of its history (each into the store that wrote it, the others reacting) ends
//! with the same shows, orders, payments, refunds, expiry jobs and admissions, and the same
//! outbox, as the node that lived them; putting the same events back twice changes nothing.

use std::time::Duration;

use serde_json::json;
use tix_core::door::{DoorStore, Scan};
use tix_core::events::{ShowStatus, StoredEvent};
use tix_core::expiration::ExpirationStore;
use tix_core::ids::{OrderId, PaymentId, ShowId, TicketId, UserId};
use tix_core::orders::{Order, OrdersStore, Pick, ShowPlacing};
use tix_core::outbox;
use tix_core::payments::PaymentsStore;
use tix_core::reactions::Service;
use tix_core::shows::{ShowDraft, ShowsStore};
use tix_core::tickets::{TicketDraft, TicketsStore};
use tix_core::time::Millis;

mod support;

use support::{Node, id};

const BUYER: UserId = UserId(tix_core::ids::RawId([2; 12]));
const STAFF: UserId = UserId(tix_core::ids::RawId([3; 12]));
const SHOW: ShowId = ShowId(tix_core::ids::RawId([9; 12]));
const NOW: Millis = Millis(1_796_400_000_000);
const TTL: Duration = Duration::from_secs(60);

fn create_show(node: &mut Node) {
    let seats: Vec<_> = (1..=4)
        .map(|n| json!({"name": n.to_string(), "category": "Boxes", "x": n, "y": 0, "rank": n}))
        .collect();
    let plan = ShowDraft(
        json!({
            "title": "Friday Jazz",
            "startsAt": "2026-12-04T20:00:00Z",
            "doorsAt": "2026-12-01T00:00:00Z",
            "categories": [
                {"name": "Standing", "price": 20}, {"name": "Stalls", "price": 45.5},
                {"name": "Boxes", "price": 80}
            ],
            "areas": [{"name": "Floor", "category": "Standing", "capacity": 10}],
            "seatMap": {"sections": [{"name": "Boxes", "rows": [{"name": "B", "seats": seats}]}]},
            "generate": [{"section": "Stalls", "category": "Stalls", "rows": 3, "seatsPerRow": 6}]
        })
        .as_object()
        .unwrap(),
    )
    .plan()
    .unwrap();
    node.run(Service::Shows, |unit| {
        ShowsStore::create(unit, SHOW, plan, NOW).unwrap()
    });
}

fn order(node: &mut Node, n: u8, category: &str, quantity: u32) -> Order {
    let placing = ShowPlacing {
        id: OrderId::from_bytes(id(n)),
        buyer: BUYER,
        show: SHOW,
        pick: Pick::Best {
            category: category.into(),
            quantity,
            allow_split: true,
        },
        max_open: None,
    };
    node.run(Service::Orders, |unit| {
        OrdersStore::place_show(unit, placing, NOW, TTL)
    })
    .unwrap()
}

fn pay(node: &mut Node, order: &Order) {
    node.run(Service::Payments, |unit| {
        PaymentsStore::record_cash(
            unit,
            PaymentId::from_bytes(*order.id.as_bytes()),
            order.id,
            NOW,
        )
    })
    .unwrap();
}

/// A venue's evening: a show, a listed ticket bought, orders paid, refunded, expired, cancelled
/// with the show's sales stopped, and a ticket let in.
fn history() -> Node {
    let mut node = Node::new();
    node.at = NOW;
    create_show(&mut node);
    let listed = TicketId::from_bytes(id(40));
    node.run(Service::Tickets, |unit| {
        let draft = TicketDraft {
            title: "Resale".into(),
            price: 12.0,
            details: Default::default(),
        };
        TicketsStore::create(unit, listed, STAFF, draft).unwrap()
    });
    let resale = node
        .run(Service::Orders, |unit| {
            let placing = tix_core::orders::Placing {
                id: OrderId::from_bytes(id(41)),
                buyer: BUYER,
                ticket: listed,
                max_open: None,
            };
            OrdersStore::place(unit, placing, NOW, TTL)
        })
        .unwrap();
    pay(&mut node, &resale);
    let paid = order(&mut node, 1, "Stalls", 3);
    pay(&mut node, &paid);
    let boxes = order(&mut node, 2, "Boxes", 2);
    pay(&mut node, &boxes);
    let refunded = order(&mut node, 3, "Standing", 2);
    pay(&mut node, &refunded);
    node.run(Service::Payments, |unit| {
        PaymentsStore::refund(unit, refunded.id, STAFF, NOW)
    })
    .unwrap();
    order(&mut node, 4, "Stalls", 2);
    node.run(Service::Expiration, |unit| {
        ExpirationStore::fire_due(unit, NOW.plus(TTL).plus(Duration::from_secs(1)), 100)
    })
    .unwrap();
    let cancelled = order(&mut node, 5, "Standing", 1);
    node.run(Service::Orders, |unit| {
        OrdersStore::cancel(unit, cancelled.id, BUYER)
    })
    .unwrap();
    order(&mut node, 6, "Stalls", 1);
    node.run(Service::Shows, |unit| {
        ShowsStore::set_status(unit, SHOW, ShowStatus::SalesStopped)
    })
    .unwrap();
    let pass = node.door.order_entries(paid.id).unwrap()[0].clone();
    let show = node.door.show(SHOW).unwrap();
    let scan = Scan {
        pass: pass.1.pass(pass.0, show.as_ref()),
        gate: "North".into(),
        by: STAFF,
        at: NOW,
        offline: false,
        scan_id: None,
        for_show: Some(SHOW),
        exit: false,
    };
    node.run(Service::Door, |unit| DoorStore::scan(unit, scan, NOW))
        .unwrap();
    node
}

/// What a node's stores say, as its readers see it (the scanner of an admission aside: its event
/// does not name them).
fn state(node: &Node) -> String {
    let mut out = String::new();
    let show = node.shows.get(SHOW).unwrap().unwrap();
    let map = node.shows.seat_map(SHOW).unwrap().unwrap();
    out += &format!("{:?}\n{:?}\n{:?}\n", show, map.rows, map.taken);
    out += &format!("{:?}\n", node.shows.paid_orders(SHOW).unwrap());
    out += &format!("{:?}\n", node.orders.show(SHOW).unwrap());
    for n in [1, 2, 3, 4, 5, 6, 41] {
        let order = OrderId::from_bytes(id(n));
        out += &format!("{:?}\n", node.orders.get(order).unwrap());
        out += &format!("{:?}\n", node.payments.payment_for_order(order).unwrap());
        for (ticket, mut entry) in node.door.order_entries(order).unwrap() {
            if let Some(admission) = &mut entry.admitted {
                admission.by = UserId::from_bytes([0; 12]);
            }
            out += &format!("{ticket:?} {entry:?}\n");
        }
    }
    out += &format!("{:?}\n", node.tickets.list_available().unwrap());
    out += &format!("{:?}\n", node.expiration.upcoming(100).unwrap());
    out += &format!("{:?}\n", node.door.counts(Some(SHOW)).unwrap());
    out += &format!(
        "{:?}\n",
        node.payments
            .movements(Millis(0), Millis(u64::MAX))
            .unwrap()
    );
    out
}

fn outboxes(node: &Node) -> Vec<StoredEvent> {
    let mut events: Vec<StoredEvent> = [
        Service::Tickets,
        Service::Orders,
        Service::Payments,
        Service::Expiration,
        Service::Shows,
        Service::Door,
    ]
    .into_iter()
    .flat_map(|s| outbox::read_after(node.db(s), 0, usize::MAX).unwrap())
    .collect();
    events.sort_by_key(|e| e.seq);
    events
}

#[test]
fn a_node_caught_up_from_any_point_of_its_history_ends_as_the_node_that_lived_it() {
    let lived = history();
    let log = lived.log.clone();
    let expected = state(&lived);
    assert!(log.len() > 20, "{} events", log.len());
    for split in 0..=log.len() {
        // The backup: a node that lived the history up to `split`; then the catch-up.
        let mut restored = Node::new();
        restored.catch_up(&log[..split]);
        restored.catch_up(&log[split..]);
        assert_eq!(state(&restored), expected, "backup at event {split}");
        assert_eq!(outboxes(&restored), log, "backup at event {split}");
    }
    let mut twice = Node::new();
    twice.catch_up(&log);
    twice.catch_up(&log);
    assert_eq!(state(&twice), expected, "the same events put back twice");
}
