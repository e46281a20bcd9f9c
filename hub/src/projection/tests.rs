//! The shows' read model, on SQLite and on PostgreSQL: counts after each step of a show order's
//! life, and every rule idempotent (a batch projected twice changes nothing).

use tix_core::events::{
    Area, Category, DomainEvent, Generate, OrderCancelled, OrderCompleted, OrderCreated,
    OrderStatus, PaymentMethod, PaymentRefunded, Seat, SeatRow, ShowCreated, ShowDetails, ShowPart,
    ShowSeats, ShowStatus, ShowUpdated, StoredEvent, TicketIdRef, TicketRef, UnitRef,
};
use tix_core::ids::{OrderId, PaymentId, ShowId, TicketId, UserId};
use tix_sync::protocol::{Envelope, Epoch};

use super::project;
use crate::db::{Conn, Db, DbError};
use crate::testing::on_both_engines;

on_both_engines!(
    counts_follow_each_step_of_an_orders_life,
    show_updates_move_forward_and_seats_count_once_in_order,
    a_batch_projected_twice_changes_nothing,
    seed_orders_and_their_refunds_leave_the_shows_alone,
    the_chains_sales_count_a_show_orders_total_not_its_first_ticket,
    a_shows_attendance_counts_each_ticket_let_in_once,
    a_venues_pass_keys_are_kept_once_each,
);

const VENUE: &str = "venue-a";
const SHOW: ShowId = ShowId(tix_core::ids::RawId([7; 12]));
const STANDING: u16 = 0;
const STALLS: u16 = 1;

fn open(db: &Db) -> Conn {
    db.open_writer().unwrap()
}

fn envelope(event: DomainEvent) -> Envelope {
    Envelope {
        venue: VENUE.parse().unwrap(),
        epoch: Epoch(1),
        event: StoredEvent {
            seq: 1,
            at: 5_000,
            event,
        },
    }
}

/// Projects `events` in one transaction, as the ledger does a batch.
fn apply(conn: &mut Conn, events: &[DomainEvent]) {
    conn.transaction(|sql| {
        for event in events {
            project(sql, &envelope(event.clone()))?;
        }
        Ok::<_, DbError>(())
    })
    .unwrap();
}

fn details(title: &str) -> ShowDetails {
    ShowDetails {
        title: title.into(),
        starts_at: "2030-12-04T20:00:00Z".into(),
        ..ShowDetails::default()
    }
}

/// Friday Jazz: 100 standing (20.00), one seat given by hand and 5 × 10 generated (45.00).
fn show_created() -> DomainEvent {
    DomainEvent::ShowCreated(ShowCreated {
        id: SHOW,
        version: 0,
        details: details("Friday Jazz"),
        status: ShowStatus::OnSale,
        max_per_order: 10,
        categories: vec![
            Category {
                name: "Standing".into(),
                price: 20.0,
            },
            Category {
                name: "Stalls".into(),
                price: 45.0,
            },
        ],
        areas: vec![Area {
            name: "Floor".into(),
            category: STANDING,
            capacity: 100,
        }],
        generate: vec![Generate {
            section: "Circle".into(),
            category: STALLS,
            rows: 5,
            seats_per_row: 10,
        }],
        given_rows: 1,
        units: 151,
    })
}

fn show_seats() -> DomainEvent {
    DomainEvent::ShowSeats(ShowSeats {
        show: SHOW,
        first_row: 0,
        first_unit: 100,
        rows: vec![SeatRow {
            section: "Stalls".into(),
            name: "A".into(),
            seats: vec![Seat {
                name: "1".into(),
                category: STALLS,
                x: 0.0,
                y: 0.0,
                rank: 1,
                flags: Vec::new(),
            }],
        }],
    })
}

fn order_id(n: u8) -> OrderId {
    OrderId::from_bytes([n; 12])
}

/// An order's show part: `units` as (unit index, category, price).
fn part(units: &[(u32, u16, f64)]) -> ShowPart {
    ShowPart {
        id: SHOW,
        tickets: units
            .iter()
            .map(|&(index, category, price)| UnitRef {
                id: SHOW.unit(index),
                index,
                category,
                price,
            })
            .collect(),
        total: units.iter().map(|u| u.2).sum(),
    }
}

fn created(n: u8, units: &[(u32, u16, f64)]) -> DomainEvent {
    DomainEvent::OrderCreated(OrderCreated {
        id: order_id(n),
        version: 0,
        status: OrderStatus::Created,
        user_id: UserId::from_bytes([1; 12]),
        expires_at: "2030-12-01T00:00:00.000Z".into(),
        ticket: TicketRef {
            id: SHOW.unit(units[0].0),
            price: units[0].2,
        },
        show: Some(part(units)),
    })
}

fn cancelled(n: u8, units: &[(u32, u16, f64)]) -> DomainEvent {
    DomainEvent::OrderCancelled(OrderCancelled {
        id: order_id(n),
        version: 1,
        ticket: TicketIdRef {
            id: SHOW.unit(units[0].0),
        },
        show: Some(part(units)),
    })
}

fn completed(n: u8, units: &[(u32, u16, f64)]) -> DomainEvent {
    DomainEvent::OrderCompleted(OrderCompleted {
        id: order_id(n),
        version: 1,
        ticket: TicketIdRef {
            id: SHOW.unit(units[0].0),
        },
        payment_id: PaymentId::from_bytes([n; 12]),
        show: Some(part(units)),
    })
}

fn refunded(n: u8, amount_cents: i64) -> DomainEvent {
    DomainEvent::PaymentRefunded(PaymentRefunded {
        id: PaymentId::from_bytes([n; 12]),
        order_id: order_id(n),
        method: PaymentMethod::Cash,
        amount_cents,
        by: UserId::from_bytes([2; 12]),
    })
}

/// (capacity, held, sold, revenue in cents) of each category, in the show's order.
fn counts(conn: &mut Conn) -> Vec<(i64, i64, i64, i64)> {
    conn.sql()
        .unwrap()
        .query(
            "SELECT capacity, held, sold, revenue_cents FROM show_categories
             WHERE venue = ?1 AND show_id = ?2 ORDER BY idx",
            &[&VENUE, &SHOW.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap()
}

/// Every row of the shows' tables, as text.
fn snapshot(conn: &mut Conn) -> Vec<String> {
    let mut rows = Vec::new();
    for (table, columns) in [
        (
            "shows",
            "venue id title starts_at status version seat_rows created_ms updated_ms",
        ),
        (
            "show_categories",
            "venue show_id idx name price capacity held sold revenue_cents",
        ),
        (
            "show_orders",
            "venue id show_id status created_ms updated_ms",
        ),
        (
            "show_order_lines",
            "venue order_id idx tickets amount_cents",
        ),
    ] {
        let text: Vec<String> = columns
            .split(' ')
            .map(|c| format!("CAST({c} AS TEXT)"))
            .collect();
        let query = format!(
            "SELECT {} FROM {table} ORDER BY 1",
            text.join(" || ', ' || ")
        );
        let found: Vec<String> = conn
            .sql()
            .unwrap()
            .query(&query, &[], |r| r.get(0))
            .unwrap();
        rows.extend(found.into_iter().map(|row| format!("{table}: {row}")));
    }
    rows
}

const THREE_STALLS: &[(u32, u16, f64)] = &[
    (101, STALLS, 45.0),
    (102, STALLS, 45.0),
    (103, STALLS, 45.0),
];
const TWO_STANDING: &[(u32, u16, f64)] = &[(0, STANDING, 20.0), (1, STANDING, 20.0)];
const MIXED: &[(u32, u16, f64)] = &[(2, STANDING, 20.0), (100, STALLS, 45.0)];

/// A show's whole life so far: created, its seats, three orders (paid, cancelled, paid and
/// refunded), a price change on the way.
fn life() -> Vec<DomainEvent> {
    vec![
        show_created(),
        show_seats(),
        created(1, THREE_STALLS),
        created(2, TWO_STANDING),
        created(3, MIXED),
        completed(1, THREE_STALLS),
        cancelled(2, TWO_STANDING),
        completed(3, MIXED),
        refunded(3, 6_500),
    ]
}

fn counts_follow_each_step_of_an_orders_life(db: &Db) {
    let mut conn = open(db);
    apply(&mut conn, &[show_created()]);
    assert_eq!(
        counts(&mut conn),
        [(100, 0, 0, 0), (50, 0, 0, 0)],
        "areas and generated rows"
    );
    apply(&mut conn, &[show_seats()]);
    assert_eq!(
        counts(&mut conn),
        [(100, 0, 0, 0), (51, 0, 0, 0)],
        "plus the given seat"
    );

    apply(
        &mut conn,
        &[created(1, THREE_STALLS), created(2, TWO_STANDING)],
    );
    assert_eq!(counts(&mut conn), [(100, 2, 0, 0), (51, 3, 0, 0)], "held");
    apply(&mut conn, &[cancelled(2, TWO_STANDING)]);
    assert_eq!(
        counts(&mut conn),
        [(100, 0, 0, 0), (51, 3, 0, 0)],
        "released"
    );
    apply(&mut conn, &[completed(1, THREE_STALLS)]);
    assert_eq!(
        counts(&mut conn),
        [(100, 0, 0, 0), (51, 0, 3, 13_500)],
        "sold and paid"
    );
    apply(&mut conn, &[refunded(1, 13_500)]);
    assert_eq!(
        counts(&mut conn),
        [(100, 0, 0, 0), (51, 0, 3, 0)],
        "refunded, still sold"
    );

    // A mixed order: a partial refund is shared by what each category was paid, to the cent.
    apply(
        &mut conn,
        &[created(3, MIXED), completed(3, MIXED), refunded(3, 1_000)],
    );
    assert_eq!(
        counts(&mut conn),
        [(100, 0, 1, 2_000 - 307), (51, 0, 4, 4_500 - 693)]
    );

    // Moves from a state the order is not in change nothing.
    apply(
        &mut conn,
        &[
            cancelled(1, THREE_STALLS), // paid: a late cancellation does not release it
            completed(2, TWO_STANDING), // cancelled: cannot be sold
            refunded(2, 4_000),         // never paid
            refunded(9, 4_000),         // not a show order
            created(1, TWO_STANDING),   // an order is created once
        ],
    );
    assert_eq!(counts(&mut conn), [(100, 0, 1, 1_693), (51, 0, 4, 3_807)]);
}

fn show_updates_move_forward_and_seats_count_once_in_order(db: &Db) {
    let mut conn = open(db);
    let update = |version, title: &str, stalls: f64| {
        DomainEvent::ShowUpdated(ShowUpdated {
            id: SHOW,
            version,
            details: details(title),
            status: ShowStatus::SalesStopped,
            max_per_order: 10,
            categories: vec![
                Category {
                    name: "Standing".into(),
                    price: 20.0,
                },
                Category {
                    name: "Stalls".into(),
                    price: stalls,
                },
            ],
        })
    };
    let later_rows = match show_seats() {
        DomainEvent::ShowSeats(seats) => DomainEvent::ShowSeats(ShowSeats {
            first_row: 1,
            ..seats
        }),
        _ => unreachable!(),
    };
    apply(
        &mut conn,
        &[
            show_created(),
            later_rows, // row 1 before row 0: not the rows the show expects yet
            update(2, "Friday Jazz (late)", 50.0),
            update(1, "Friday Jazz (early)", 40.0), // older than what the hub has
        ],
    );
    let show: (String, String, i64, f64) = conn
        .sql()
        .unwrap()
        .query_one(
            "SELECT s.title, s.status, s.version, c.price FROM shows s JOIN show_categories c
                ON c.venue = s.venue AND c.show_id = s.id AND c.idx = 1",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        show,
        ("Friday Jazz (late)".into(), "sales-stopped".into(), 2, 50.0)
    );
    assert_eq!(counts(&mut conn), [(100, 0, 0, 0), (50, 0, 0, 0)]);
}

fn a_batch_projected_twice_changes_nothing(db: &Db) {
    let mut conn = open(db);
    apply(&mut conn, &life());
    let once = snapshot(&mut conn);
    assert_eq!(counts(&mut conn), [(100, 0, 1, 0), (51, 0, 4, 13_500)]);
    assert_eq!(once.len(), 1 + 2 + 3 + 4, "{once:#?}");

    apply(&mut conn, &life());
    assert_eq!(snapshot(&mut conn), once, "the whole batch again");
    for event in life() {
        apply(&mut conn, &[event]);
        assert_eq!(snapshot(&mut conn), once, "each event again on its own");
    }
}

fn seed_orders_and_their_refunds_leave_the_shows_alone(db: &Db) {
    let mut conn = open(db);
    apply(&mut conn, &[show_created()]);
    let before = snapshot(&mut conn);
    let ticket = TicketId::from_bytes([3; 12]);
    let seed_order = DomainEvent::OrderCreated(OrderCreated {
        id: order_id(4),
        version: 0,
        status: OrderStatus::Created,
        user_id: UserId::from_bytes([1; 12]),
        expires_at: "2030-12-01T00:00:00.000Z".into(),
        ticket: TicketRef {
            id: ticket,
            price: 20.0,
        },
        show: None,
    });
    let seed_paid = DomainEvent::OrderCompleted(OrderCompleted {
        id: order_id(4),
        version: 1,
        ticket: TicketIdRef { id: ticket },
        payment_id: PaymentId::from_bytes([4; 12]),
        show: None,
    });
    apply(&mut conn, &[seed_order, seed_paid, refunded(4, 2_000)]);
    assert_eq!(snapshot(&mut conn), before);
}

fn the_chains_sales_count_a_show_orders_total_not_its_first_ticket(db: &Db) {
    let mut conn = open(db);
    apply(
        &mut conn,
        &[
            show_created(),
            created(1, THREE_STALLS),
            completed(1, THREE_STALLS),
        ],
    );
    let sales = crate::views::sales(&mut conn.sql().unwrap()).unwrap();
    assert_eq!(sales["venues"][0]["ordersComplete"], 1);
    assert_eq!(sales["venues"][0]["revenue"].as_f64(), Some(135.0));
}

fn admitted(ticket: u8, gate: &str) -> DomainEvent {
    DomainEvent::TicketAdmitted(tix_core::events::TicketAdmitted {
        ticket_id: TicketId::from_bytes([ticket; 12]),
        order_id: order_id(1),
        show_id: Some(SHOW),
        gate: gate.into(),
        admitted_at: "2030-12-04T19:03:11.000Z".into(),
        offline: false,
    })
}

fn a_shows_attendance_counts_each_ticket_let_in_once(db: &Db) {
    let mut conn = open(db);
    apply(&mut conn, &life());
    let attendance = |conn: &mut Conn| {
        crate::views::show(&mut conn.sql().unwrap(), VENUE, &SHOW.to_string())
            .unwrap()
            .unwrap()["admitted"]
            .clone()
    };
    assert_eq!(attendance(&mut conn), 0);
    apply(&mut conn, &[admitted(1, "North"), admitted(2, "South")]);
    assert_eq!(attendance(&mut conn), 2);
    apply(&mut conn, &[admitted(1, "North")]);
    assert_eq!(attendance(&mut conn), 2, "a replayed admission counts once");
}

fn a_venues_pass_keys_are_kept_once_each(db: &Db) {
    let mut conn = open(db);
    let key = DomainEvent::PassKey(tix_core::events::PassKeyChanged {
        key_id: "a1b2c3d4".into(),
        public_key: "ab".repeat(32),
    });
    apply(&mut conn, &[key.clone(), key]);
    let kept: Vec<(String, String)> = conn
        .sql()
        .unwrap()
        .query(
            "SELECT key_id, public_key FROM pass_keys WHERE venue = ?1",
            &[&VENUE],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(kept, [("a1b2c3d4".to_owned(), "ab".repeat(32))]);
}
