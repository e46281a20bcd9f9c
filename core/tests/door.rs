//! The door on in-memory stores: a paid show order's tickets are admitted once each, whatever
//! the order of scans; refunds, other shows, times outside the window and cancelled shows are
//! refused; an offline scanner's admissions are kept, conflicts recorded, and resent queues
//! answered as the first time.

use std::time::Duration;

use serde_json::json;
use tix_core::door::{Admission, ConflictReason, DoorStore, NotNow, Scan, Verdict};
use tix_core::ids::{OrderId, PaymentId, ShowId, UserId};
use tix_core::orders::{OrdersStore, Pick, ShowPlacing};
use tix_core::passes::{Pass, Scope};
use tix_core::payments::PaymentsStore;
use tix_core::reactions::Service;
use tix_core::shows::{ShowDraft, ShowsStore};
use tix_core::time::Millis;

mod support;

use support::{Node, id};

const BUYER: UserId = UserId(tix_core::ids::RawId([2; 12]));
const DOORMAN: UserId = UserId(tix_core::ids::RawId([3; 12]));
const SHOW: ShowId = ShowId(tix_core::ids::RawId([9; 12]));
const OTHER_SHOW: ShowId = ShowId(tix_core::ids::RawId([8; 12]));
const SOLD_AT: Millis = Millis(1_700_000_000_000);
/// 2026-12-04T20:00:00Z, the show's start.
const STARTS: Millis = Millis(1_796_414_400_000);
const HOUR: u64 = 3_600_000;

impl Node {
    fn show(&mut self, id: ShowId) {
        self.show_with(id, false);
    }

    fn show_with(&mut self, id: ShowId, reentry: bool) {
        let plan = ShowDraft(
            json!({
                "title": "Friday Jazz", "reentry": reentry,
                "startsAt": "2026-12-04T20:00:00Z",
                "doorsAt": "2026-12-04T19:00:00Z",
                "categories": [{"name": "Standing", "price": 20}],
                "areas": [{"name": "Floor", "category": "Standing", "capacity": 10}]
            })
            .as_object()
            .unwrap(),
        )
        .plan()
        .unwrap();
        self.run(Service::Shows, |unit| {
            ShowsStore::create(unit, id, plan, SOLD_AT).unwrap()
        });
    }

    /// A paid order of `quantity` standing places; its passes.
    fn sold(&mut self, n: u8, quantity: u32) -> Vec<Pass> {
        let placing = ShowPlacing {
            id: OrderId::from_bytes(id(n)),
            buyer: BUYER,
            show: SHOW,
            pick: Pick::Best {
                category: "Standing".into(),
                quantity,
                allow_split: true,
            },
            max_open: None,
        };
        let order = self
            .run(Service::Orders, |unit| {
                OrdersStore::place_show(unit, placing, SOLD_AT, Duration::from_secs(60))
            })
            .unwrap();
        self.run(Service::Payments, |unit| {
            PaymentsStore::record_cash(unit, PaymentId::from_bytes(id(n)), order.id, SOLD_AT)
        })
        .unwrap();
        let show = self.door.show(SHOW).unwrap();
        self.door
            .order_entries(order.id)
            .unwrap()
            .into_iter()
            .map(|(ticket, entry)| entry.pass(ticket, show.as_ref()))
            .collect()
    }

    fn scan(&mut self, pass: Pass, gate: &str, at: Millis) -> Verdict {
        self.scan_with(Scan {
            pass,
            gate: gate.into(),
            by: DOORMAN,
            at,
            offline: false,
            scan_id: None,
            for_show: Some(SHOW),
            exit: false,
        })
    }

    fn scan_with(&mut self, scan: Scan) -> Verdict {
        let now = scan.at;
        self.run(Service::Door, |unit| DoorStore::scan(unit, scan, now))
            .unwrap()
    }

    fn refund(&mut self, order: OrderId) {
        self.run(Service::Payments, |unit| {
            PaymentsStore::refund(unit, order, DOORMAN, SOLD_AT)
        })
        .unwrap();
    }

    fn offline(&mut self, pass: Pass, gate: &str, at: Millis, scan_id: &str) -> Verdict {
        self.scan_with(Scan {
            pass,
            gate: gate.into(),
            by: DOORMAN,
            at,
            offline: true,
            scan_id: Some(scan_id.into()),
            for_show: Some(SHOW),
            exit: false,
        })
    }
}

fn at_doors() -> Millis {
    Millis(STARTS.0 - HOUR / 2)
}

fn admitted_at(verdict: &Verdict) -> Admission {
    match verdict {
        Verdict::Admitted(a) => a.clone(),
        other => panic!("expected admitted, got {other:?}"),
    }
}

#[test]
fn a_paid_orders_tickets_get_passes_for_the_shows_window() {
    let mut node = Node::new();
    node.show(SHOW);
    let passes = node.sold(1, 3);
    assert_eq!(passes.len(), 3);
    for pass in &passes {
        assert!(matches!(pass.scope, Scope::Show { show, .. } if show == SHOW));
        // Doors at 19:00: open from 13:00; no end given: until 20:00 + 4 h + 2 h.
        assert_eq!(pass.window.from, Millis(STARTS.0 - 7 * HOUR));
        assert_eq!(pass.window.until, Some(Millis(STARTS.0 + 6 * HOUR)));
    }
    let counts = node.door.counts(Some(SHOW)).unwrap();
    assert_eq!((counts.sold, counts.admitted), (3, 0));
}

#[test]
fn a_ticket_is_admitted_once_and_every_later_scan_says_when_and_where() {
    let mut node = Node::new();
    node.show(SHOW);
    let pass = node.sold(1, 1)[0];
    let first = admitted_at(&node.scan(pass, "North", at_doors()));
    assert_eq!(first.gate, "North");
    assert_eq!(first.at, at_doors());
    for gate in ["North", "South"] {
        assert_eq!(
            node.scan(pass, gate, Millis(at_doors().0 + 60_000)),
            Verdict::AlreadyAdmitted {
                first: first.clone(),
                conflict: false
            }
        );
    }
    assert_eq!(node.door.counts(Some(SHOW)).unwrap().admitted, 1);
    let admitted: Vec<_> = node
        .log
        .iter()
        .filter(|e| e.event.subject() == "ticket:admitted")
        .collect();
    assert_eq!(admitted.len(), 1, "one event per admission");
}

#[test]
fn a_refunded_ticket_is_refused() {
    let mut node = Node::new();
    node.show(SHOW);
    let pass = node.sold(1, 2)[1];
    node.refund(pass.order);
    assert_eq!(
        node.scan(pass, "North", at_doors()),
        Verdict::Refunded { conflict: false }
    );
    let counts = node.door.counts(Some(SHOW)).unwrap();
    assert_eq!((counts.sold, counts.admitted), (0, 0));
}

#[test]
fn a_pass_for_another_show_is_refused_at_a_gate_for_this_one() {
    let mut node = Node::new();
    node.show(SHOW);
    let pass = node.sold(1, 1)[0];
    let verdict = node.scan_with(Scan {
        pass,
        gate: "North".into(),
        by: DOORMAN,
        at: at_doors(),
        offline: false,
        scan_id: None,
        for_show: Some(OTHER_SHOW),
        exit: false,
    });
    assert_eq!(verdict, Verdict::WrongShow { show: Some(SHOW) });
    admitted_at(&node.scan(pass, "North", at_doors()));
}

#[test]
fn scans_before_and_after_the_window_are_refused_without_admitting() {
    let mut node = Node::new();
    node.show(SHOW);
    let pass = node.sold(1, 1)[0];
    let early = Millis(STARTS.0 - 8 * HOUR);
    let late = Millis(STARTS.0 + 7 * HOUR);
    assert!(matches!(
        node.scan(pass, "North", early),
        Verdict::NotValidNow {
            why: NotNow::Early,
            ..
        }
    ));
    assert!(matches!(
        node.scan(pass, "North", late),
        Verdict::NotValidNow {
            why: NotNow::Late,
            ..
        }
    ));
    admitted_at(&node.scan(pass, "North", at_doors()));
}

#[test]
fn a_forged_order_for_a_real_ticket_is_unknown() {
    let mut node = Node::new();
    node.show(SHOW);
    let mut pass = node.sold(1, 1)[0];
    pass.order = OrderId::from_bytes(id(77));
    assert_eq!(node.scan(pass, "North", at_doors()), Verdict::Unknown);
}

#[test]
fn offline_admissions_are_kept_and_a_second_one_is_a_conflict_reported_once() {
    let mut node = Node::new();
    node.show(SHOW);
    let passes = node.sold(1, 2);
    // Gate South was offline and let both in; meanwhile North admitted the first online.
    let online = admitted_at(&node.scan(passes[0], "North", at_doors()));
    let south_first = Millis(at_doors().0 - 60_000);
    let kept = admitted_at(&node.offline(passes[1], "South", south_first, "s-1"));
    assert!(kept.offline);
    assert_eq!(kept.at, south_first, "the scanner's time is kept");
    let conflict = node.offline(passes[0], "South", south_first, "s-2");
    assert_eq!(
        conflict,
        Verdict::AlreadyAdmitted {
            first: online.clone(),
            conflict: true
        }
    );
    // The scanner resends its queue after a timeout: same answers, nothing doubled.
    assert_eq!(
        admitted_at(&node.offline(passes[1], "South", south_first, "s-1")),
        kept
    );
    assert_eq!(
        node.offline(passes[0], "South", south_first, "s-2"),
        conflict
    );
    let conflicts = node.door.conflicts().unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].ticket, passes[0].ticket);
    assert_eq!(conflicts[0].reason, ConflictReason::AlreadyAdmitted);
    assert_eq!(conflicts[0].first, Some(online));
    assert_eq!(conflicts[0].second.gate, "South");
    assert_eq!(node.door.counts(Some(SHOW)).unwrap().admitted, 2);
}

#[test]
fn an_offline_admission_of_a_refunded_ticket_is_a_conflict() {
    let mut node = Node::new();
    node.show(SHOW);
    let pass = node.sold(1, 1)[0];
    node.refund(pass.order);
    assert_eq!(
        node.offline(pass, "South", at_doors(), "s-9"),
        Verdict::Refunded { conflict: true }
    );
    let conflicts = node.door.conflicts().unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].reason, ConflictReason::Refunded);
    assert_eq!(conflicts[0].first, None);
}

#[test]
fn a_cancelled_shows_passes_are_not_valid() {
    let mut node = Node::new();
    node.show(SHOW);
    let pass = node.sold(1, 1)[0];
    node.run(Service::Shows, |unit| {
        ShowsStore::set_status(unit, SHOW, tix_core::events::ShowStatus::Cancelled).unwrap()
    });
    assert!(matches!(
        node.scan(pass, "North", at_doors()),
        Verdict::NotValidNow {
            why: NotNow::Cancelled,
            ..
        }
    ));
}

#[test]
fn replayed_events_do_not_count_a_sale_twice() {
    let mut node = Node::new();
    node.show(SHOW);
    node.sold(1, 2);
    let log = node.log.clone();
    let mut unit = tix_core::outbox::Unit::begin(node.door.db()).unwrap();
    for event in log.iter().filter(|e| Service::Door.reacts_to(e)) {
        DoorStore::react(&mut unit, event).unwrap();
    }
    node.commit(unit);
    assert_eq!(node.door.counts(Some(SHOW)).unwrap().sold, 2);
}

#[test]
fn a_paid_order_is_queued_for_email_once_until_done() {
    let mut node = Node::new();
    node.show(SHOW);
    let passes = node.sold(1, 2);
    let order = passes[0].order;
    let due = node.door.deliveries_due(SOLD_AT, 10, false).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].order, due[0].attempts), (order, 0));
    let later = Millis(SOLD_AT.0 + 60_000);
    node.run(Service::Door, |unit| {
        DoorStore::delivery_failed(unit, order, later).unwrap()
    });
    assert!(
        node.door
            .deliveries_due(SOLD_AT, 10, false)
            .unwrap()
            .is_empty()
    );
    assert_eq!(node.door.next_delivery().unwrap(), Some(later));
    assert_eq!(
        node.door.deliveries_due(later, 10, false).unwrap()[0].attempts,
        1
    );
    assert_eq!(
        node.door.deliveries_due(SOLD_AT, 10, true).unwrap().len(),
        1,
        "after a restart, everything queued is tried"
    );
    node.run(Service::Door, |unit| {
        DoorStore::delivery_done(unit, order).unwrap()
    });
    assert_eq!(node.door.deliveries_queued().unwrap(), 0);
    // A replay of the sale does not queue it again.
    let log = node.log.clone();
    let mut unit = tix_core::outbox::Unit::begin(node.door.db()).unwrap();
    for event in log.iter().filter(|e| Service::Door.reacts_to(e)) {
        DoorStore::react(&mut unit, event).unwrap();
    }
    node.commit(unit);
    assert_eq!(node.door.deliveries_queued().unwrap(), 0);
}

#[test]
fn a_read_answers_final_refusals_and_leaves_admissions_to_the_writer() {
    let mut node = Node::new();
    node.show(SHOW);
    let passes = node.sold(1, 2);
    let online = |pass: Pass| Scan {
        pass,
        gate: "North".into(),
        by: DOORMAN,
        at: at_doors(),
        offline: false,
        scan_id: None,
        for_show: Some(SHOW),
        exit: false,
    };
    assert_eq!(node.door.decide_now(&online(passes[0])).unwrap(), None);
    let first = admitted_at(&node.scan(passes[0], "North", at_doors()));
    assert_eq!(
        node.door.decide_now(&online(passes[0])).unwrap(),
        Some(Verdict::AlreadyAdmitted {
            first,
            conflict: false
        })
    );
    let early = Scan {
        at: Millis(STARTS.0 - 8 * HOUR),
        ..online(passes[1])
    };
    assert!(matches!(
        node.door.decide_now(&early).unwrap(),
        Some(Verdict::NotValidNow { .. })
    ));
    let offline = Scan {
        offline: true,
        scan_id: Some("s-1".into()),
        ..online(passes[0])
    };
    assert_eq!(
        node.door.decide_now(&offline).unwrap(),
        None,
        "an offline report may be a conflict to record"
    );
}

#[test]
fn a_pass_key_is_announced_once() {
    let mut node = Node::new();
    let noted = |node: &mut Node, id: &str| {
        let id = id.to_owned();
        node.run(Service::Door, move |unit| {
            DoorStore::note_key(unit, &id, &"ab".repeat(32)).unwrap()
        })
    };
    assert!(noted(&mut node, "a1b2c3d4"));
    assert!(
        !noted(&mut node, "a1b2c3d4"),
        "the same key at the next start"
    );
    assert!(noted(&mut node, "0badcafe"), "a replaced key");
    let announced = node
        .log
        .iter()
        .filter(|e| e.event.subject() == "pass:key")
        .count();
    assert_eq!(announced, 2);
}

fn exit(pass: Pass) -> Scan {
    Scan {
        pass,
        gate: "North".into(),
        by: DOORMAN,
        at: at_doors(),
        offline: false,
        scan_id: None,
        for_show: Some(SHOW),
        exit: true,
    }
}

#[test]
fn at_a_show_with_reentry_a_ticket_goes_out_and_back_in_counted_once() {
    let mut node = Node::new();
    node.show_with(SHOW, true);
    let pass = node.sold(1, 1)[0];
    assert_eq!(node.scan_with(exit(pass)), Verdict::NotInside);
    let first = admitted_at(&node.scan(pass, "North", at_doors()));
    assert_eq!(
        node.scan_with(exit(pass)),
        Verdict::Exited {
            admission: first.clone(),
            already: false
        }
    );
    assert_eq!(
        node.scan_with(exit(pass)),
        Verdict::Exited {
            admission: first.clone(),
            already: true
        }
    );
    assert_eq!(
        node.scan(pass, "South", at_doors()),
        Verdict::Readmitted {
            first: first.clone()
        }
    );
    assert_eq!(
        node.scan(pass, "South", at_doors()),
        Verdict::AlreadyAdmitted {
            first,
            conflict: false
        },
        "in is in: a second scan without going out is refused"
    );
    assert_eq!(node.door.counts(Some(SHOW)).unwrap().admitted, 1);
    let admissions = node
        .log
        .iter()
        .filter(|e| e.event.subject() == "ticket:admitted")
        .count();
    assert_eq!(admissions, 1, "attendance counts the ticket once");
}

#[test]
fn without_reentry_nobody_is_scanned_out() {
    let mut node = Node::new();
    node.show(SHOW);
    let pass = node.sold(1, 1)[0];
    admitted_at(&node.scan(pass, "North", at_doors()));
    assert_eq!(node.scan_with(exit(pass)), Verdict::NoReentry);
    assert_eq!(
        node.door.decide_now(&exit(pass)).unwrap(),
        Some(Verdict::NoReentry)
    );
}
