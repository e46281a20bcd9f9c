//! The feed against a real writer: what a batch of events tells, and a page that opens late.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::watch;

use tix_core::events::OrderStatus;
use tix_core::ids::{OrderId, ShowId, TicketId};

use super::{Notice, Position, TicketState, Told, catch_up, one_seat_notice_per_show, start};
use crate::test_node::{BUYER, Fixture};

/// The server-sent event a page is sent for `notice`.
fn event(notice: &Notice) -> String {
    format!(
        "event: {}\ndata: {}\n\n",
        notice.event(),
        serde_json::to_string(notice).unwrap()
    )
}

fn contains(text: &[u8], part: &str) -> bool {
    text.windows(part.len()).any(|w| w == part.as_bytes())
}

fn ticket_notice(n: u8, state: TicketState, version: u64, listed: bool) -> Notice {
    Notice::Ticket {
        id: tix_core::ids::TicketId::from_bytes([n; 12]),
        title: format!("Show {n}"),
        price: 20.0,
        state,
        version,
        listed,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_tells_its_records_as_they_stand_now() {
    let node = Fixture::new();
    let held = node.sell_and_order(1).await;
    node.sell(2).await;

    let mut position = Position::at(0);
    let notices = catch_up(&node.stores, &mut position).unwrap().concat();

    assert_eq!(position.cursor, node.stores.last_seq().unwrap());
    let order = Notice::Order {
        id: held,
        buyer: BUYER,
        status: OrderStatus::Created,
        ticket: tix_core::ids::TicketId::from_bytes([1; 12]),
    };
    assert_eq!(
        notices,
        [
            // Listed, then ordered: by the time the feed reads it, the ticket is held.
            ticket_notice(1, TicketState::Reserved, 1, true),
            order,
            ticket_notice(1, TicketState::Reserved, 1, false),
            ticket_notice(2, TicketState::Available, 0, true),
        ]
    );
    assert_ne!(held, OrderId::from_bytes([0; 12]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_opens_after_unwatched_changes_follows_the_changes_after_it() {
    let node = Fixture::new();
    let (_closing_tx, closing) = watch::channel(false);
    let (shutdown_tx, shutdown) = watch::channel(false);
    let (live, feed) = start(node.stores.clone(), &node.signals, closing, shutdown).unwrap();

    // Nobody listens to these.
    for n in 1..=3 {
        node.sell_and_order(n).await;
    }
    let mut page = live.subscribe();
    node.sell(9).await;

    let wanted = ticket_notice(9, TicketState::Available, 0, true);
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let told = page.recv().await.expect("the feed keeps running");
            if contains(&told.for_page(None), &event(&wanted)) {
                return;
            }
        }
    })
    .await;
    assert!(
        found.is_ok(),
        "the page was told of the ticket listed after it opened"
    );

    shutdown_tx.send(true).unwrap();
    feed.await.unwrap();
}

#[test]
fn a_read_is_written_once_as_events_and_each_page_hears_its_own_orders_only() {
    let other = tix_core::ids::UserId::from_bytes([7; 12]);
    let order = |buyer, n: u8| Notice::Order {
        id: OrderId::from_bytes([n; 12]),
        buyer,
        status: OrderStatus::Created,
        ticket: tix_core::ids::TicketId::from_bytes([n; 12]),
    };
    let notices = [
        ticket_notice(1, TicketState::Reserved, 1, false),
        order(BUYER, 1),
        ticket_notice(2, TicketState::Reserved, 1, false),
        order(other, 2),
    ];
    let told = Told::new(&notices);
    let [first, mine, second, theirs] = &notices;
    let public = format!("{}{}", event(first), event(second));
    assert!(public.starts_with("event: ticket\ndata: {\"kind\":\"ticket\",\"id\":\"010101"));

    assert_eq!(told.for_page(None), public.as_bytes());
    assert_eq!(
        told.for_page(Some(BUYER)),
        format!("{}{}{}", event(first), event(mine), event(second)).as_bytes()
    );
    assert_eq!(
        told.for_page(Some(other)),
        format!("{}{}{}", event(first), event(second), event(theirs)).as_bytes()
    );
    let stranger = tix_core::ids::UserId::from_bytes([9; 12]);
    assert_eq!(told.for_page(Some(stranger)), public.as_bytes());
    assert!(Told::new(&[order(other, 3)]).for_page(None).is_empty());
}

#[test]
fn a_reads_seat_notices_of_a_show_become_one_that_follows_on_from_the_last_told() {
    let show = |n: u8| ShowId::from_bytes([n; 12]);
    let unit = |n: u8| TicketId::from_bytes([n; 12]);
    let seats = |of: u8, version: u64, units: &[(u8, &'static str)]| Notice::Seats {
        show: show(of),
        from: version,
        version,
        seats: units.iter().map(|(n, state)| (unit(*n), *state)).collect(),
        available: vec![10],
        held: vec![2],
        sold: vec![0],
    };
    let ticket = ticket_notice(9, TicketState::Available, 0, true);
    let mut told_versions = HashMap::from([(show(1), 3)]);

    let read = one_seat_notice_per_show(
        vec![
            seats(1, 6, &[(1, "h")]),
            ticket.clone(),
            seats(2, 1, &[(5, "h")]),
            seats(1, 6, &[(2, "h"), (1, "a")]),
            seats(1, 6, &[(3, "s")]),
        ],
        &mut told_versions,
    );

    let Notice::Seats { seats: units, .. } = seats(1, 6, &[(1, "h"), (2, "h"), (1, "a"), (3, "s")])
    else {
        unreachable!()
    };
    let merged = Notice::Seats {
        show: show(1),
        from: 3,
        version: 6,
        seats: units,
        available: vec![10],
        held: vec![2],
        sold: vec![0],
    };
    // A show the feed has told nothing of yet: its version less the read's one change.
    let mut second = seats(2, 1, &[(5, "h")]);
    if let Notice::Seats { from, .. } = &mut second {
        *from = 0;
    }
    assert_eq!(read, [merged, ticket, second]);
    assert_eq!(told_versions, HashMap::from([(show(1), 6), (show(2), 1)]));

    let next = one_seat_notice_per_show(vec![seats(2, 2, &[(6, "h")])], &mut told_versions);
    let Notice::Seats { from, version, .. } = &next[0] else {
        panic!("a seat notice: {next:?}")
    };
    assert_eq!((*from, *version), (1, 2));
    // A change of the show itself (no units) moves no seat version.
    let mut untold = HashMap::new();
    let changed = one_seat_notice_per_show(vec![seats(3, 5, &[])], &mut untold);
    let Notice::Seats { from, .. } = &changed[0] else {
        panic!("a seat notice: {changed:?}")
    };
    assert_eq!(*from, 5);
}

#[test]
fn moving_past_untold_events_forgets_what_was_told() {
    let mut position = Position::at(10);
    position
        .told_versions
        .insert(ShowId::from_bytes([1; 12]), 4);
    position.skip_to(10);
    assert_eq!(position.told_versions.len(), 1, "nothing skipped");
    position.skip_to(12);
    assert_eq!(position.cursor, 12);
    assert!(position.told_versions.is_empty());
}
