//! The feed against a real writer: what a batch of events tells, and a page that opens late.

use std::time::Duration;

use tokio::sync::watch;

use tix_core::events::OrderStatus;
use tix_core::ids::OrderId;

use super::{Notice, TicketState, Told, catch_up, start};
use crate::test_node::{BUYER, Fixture};

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

    let (cursor, reads) = catch_up(&node.stores, 0).unwrap();
    let notices = reads.concat();

    assert_eq!(cursor, node.stores.last_seq().unwrap());
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
            if told.notices.contains(&wanted) {
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
    let told = Told::new(vec![
        ticket_notice(1, TicketState::Reserved, 1, false),
        order(BUYER, 1),
        ticket_notice(2, TicketState::Reserved, 1, false),
        order(other, 2),
    ]);
    let event = |notice: &Notice| {
        format!(
            "event: {}\ndata: {}\n\n",
            notice.event(),
            serde_json::to_string(notice).unwrap()
        )
    };
    let [first, mine, second, theirs] = &told.notices[..] else {
        panic!("every notice is kept");
    };
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
    assert!(Told::new(vec![order(other, 3)]).for_page(None).is_empty());
}
