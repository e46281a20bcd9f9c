//! The services together on in-memory redb: locks, reactions, idempotent replays and expiry, driven
//! by explicit `now` values, with the events passed between services by hand as the node's writer
//! passes them.

use std::time::Duration;

use redb::{ReadableDatabase, TableDefinition, TableError};
use tix_core::events::{DomainEvent, OrderStatus};
use tix_core::expiration::ExpirationStore;
use tix_core::ids::{OrderId, PaymentId, TicketId, UserId};
use tix_core::orders::{self, OrdersStore, Placing};
use tix_core::outbox::{self, Unit};
use tix_core::payments::{self, AttemptStep, PaymentsStore};
use tix_core::store_version::{self, Opened};
use tix_core::tickets::{self, TicketDraft, TicketsStore};
use tix_core::time::Millis;

mod support;

use support::{Node, id};

const SELLER: UserId = UserId(tix_core::ids::RawId([1; 12]));
const BUYER: UserId = UserId(tix_core::ids::RawId([2; 12]));
const OTHER: UserId = UserId(tix_core::ids::RawId([3; 12]));
const TTL: Duration = Duration::from_secs(60);

impl Node {
    fn sell(&mut self, n: u8, price: f64) -> TicketId {
        let mut unit = Unit::begin(self.tickets.db()).unwrap();
        let ticket = TicketsStore::create(
            &mut unit,
            TicketId::from_bytes(id(n)),
            SELLER,
            TicketDraft {
                title: format!("T{n}"),
                price,
                details: Default::default(),
            },
        )
        .unwrap();
        let events = self.commit(unit);
        self.react(events);
        ticket.id
    }

    fn place(
        &mut self,
        n: u8,
        buyer: UserId,
        ticket: TicketId,
        now: Millis,
    ) -> Result<OrderId, orders::Error> {
        let mut unit = Unit::begin(self.orders.db()).unwrap();
        let placing = Placing {
            id: OrderId::from_bytes(id(n)),
            buyer,
            ticket,
            max_open: Some(3),
        };
        let order = OrdersStore::place(&mut unit, placing, now, TTL);
        let events = self.commit(unit);
        self.react(events);
        order.map(|o| o.id)
    }

    fn edit(&mut self, ticket: TicketId, price: f64) -> Result<(), tickets::Error> {
        let mut unit = Unit::begin(self.tickets.db()).unwrap();
        let result = TicketsStore::update(
            &mut unit,
            ticket,
            SELLER,
            TicketDraft {
                title: "Edited".into(),
                price,
                details: Default::default(),
            },
        );
        let events = self.commit(unit);
        self.react(events);
        result.map(drop)
    }

    fn expire(&mut self, now: Millis) -> usize {
        let mut unit = Unit::begin(self.expiration.db()).unwrap();
        let fired = ExpirationStore::fire_due(&mut unit, now, 100).unwrap();
        let events = self.commit(unit);
        self.react(events);
        fired.len()
    }

    fn pay(&mut self, order: OrderId, payer: UserId, now: Millis) -> Result<(), payments::Error> {
        let mut unit = Unit::begin(self.payments.db()).unwrap();
        let result = PaymentsStore::record(
            &mut unit,
            PaymentId::from_bytes(id(200)),
            order,
            payer,
            "pi_1",
            now,
        );
        let events = self.commit(unit);
        self.react(events);
        result.map(drop)
    }
}

#[test]
fn a_second_order_on_a_held_ticket_is_refused_and_the_holder_is_recorded_everywhere() {
    let mut node = Node::new();
    let ticket = node.sell(10, 20.0);
    let order = node.place(20, BUYER, ticket, Millis(1_000)).unwrap();
    assert!(matches!(
        node.place(21, OTHER, ticket, Millis(1_001)),
        Err(orders::Error::AlreadyReserved(_))
    ));
    assert_eq!(
        node.tickets.get(ticket).unwrap().unwrap().order_id,
        Some(order)
    );
    assert_eq!(node.payments.order(order).unwrap().unwrap().price, 20.0);
    assert_eq!(
        node.expiration.next_deadline().unwrap(),
        Some(Millis(61_000))
    );
    assert!(matches!(
        node.edit(ticket, 99.0),
        Err(tickets::Error::Reserved)
    ));
}

#[test]
fn the_sequence_is_gap_free_across_stores_and_every_reaction_is_idempotent() {
    let mut node = Node::new();
    let ticket = node.sell(10, 20.0);
    node.place(20, BUYER, ticket, Millis(1_000)).unwrap();
    let seqs: Vec<u64> = node.log.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());

    // Replaying the whole log changes nothing and emits nothing.
    let before_ticket = node.tickets.get(ticket).unwrap();
    let before_len = node.log.len();
    let replay = node.log.clone();
    node.react(replay);
    assert_eq!(node.log.len(), before_len, "no event emitted twice");
    assert_eq!(node.tickets.get(ticket).unwrap(), before_ticket);
    let mut unread = 0;
    for db in [
        node.tickets.db(),
        node.orders.db(),
        node.payments.db(),
        node.expiration.db(),
    ] {
        unread += outbox::read_after(db, 0, usize::MAX).unwrap().len();
    }
    assert_eq!(unread, before_len, "the outboxes hold exactly the log");
}

#[test]
fn expiry_fires_once_at_the_deadline_and_releases_only_the_holder() {
    let mut node = Node::new();
    let ticket = node.sell(10, 20.0);
    let first = node.place(20, BUYER, ticket, Millis(0)).unwrap();
    assert_eq!(node.expire(Millis(59_999)), 0, "not yet due");
    assert_eq!(node.expire(Millis(60_000)), 1);
    assert_eq!(
        node.orders.get(first).unwrap().unwrap().status,
        OrderStatus::Cancelled
    );
    assert_eq!(node.tickets.get(ticket).unwrap().unwrap().order_id, None);
    assert_eq!(node.expire(Millis(120_000)), 0, "fires once");

    // A late, duplicated expiry of the first order must not free the second order's lock.
    let second = node.place(21, OTHER, ticket, Millis(70_000)).unwrap();
    let duplicate = node
        .log
        .iter()
        .find(|e| matches!(e.event, DomainEvent::ExpirationComplete(_)))
        .unwrap()
        .clone();
    node.react(vec![duplicate]);
    assert_eq!(
        node.tickets.get(ticket).unwrap().unwrap().order_id,
        Some(second)
    );
    assert_eq!(
        node.orders.get(second).unwrap().unwrap().status,
        OrderStatus::Created
    );
}

#[test]
fn a_payment_is_recorded_only_for_a_live_order_of_its_buyer() {
    let mut node = Node::new();
    let ticket = node.sell(10, 20.0);
    let order = node.place(20, BUYER, ticket, Millis(0)).unwrap();
    assert!(matches!(
        node.pay(order, OTHER, Millis(1)),
        Err(payments::Error::NotOwner)
    ));
    assert!(matches!(
        node.pay(order, BUYER, Millis(60_000)),
        Err(payments::Error::Expired)
    ));
    node.pay(order, BUYER, Millis(59_999)).unwrap();
    assert_eq!(
        node.orders.get(order).unwrap().unwrap().status,
        OrderStatus::Complete
    );
    assert_eq!(
        node.expiration.pending().unwrap(),
        0,
        "a paid order's expiry is dropped"
    );
    assert_eq!(node.expire(Millis(1_000_000)), 0);
    assert!(
        matches!(node.pay(order, BUYER, Millis(2)), Ok(())),
        "the same charge again is the same payment"
    );

    let other_ticket = node.sell(11, 5.0);
    let cancelled = node.place(22, BUYER, other_ticket, Millis(0)).unwrap();
    node.expire(Millis(60_000));
    assert!(matches!(
        node.pay(cancelled, BUYER, Millis(1)),
        Err(payments::Error::Cancelled)
    ));
}

#[test]
fn an_edit_before_the_lock_is_the_price_the_order_pays() {
    let mut node = Node::new();
    let ticket = node.sell(10, 20.0);
    node.edit(ticket, 35.0).unwrap();
    let order = node.place(20, BUYER, ticket, Millis(0)).unwrap();
    let order = node.orders.get(order).unwrap().unwrap();
    assert_eq!(order.ticket.price, 35.0);
    assert_eq!(order.ticket.title, "Edited");
    assert_eq!(
        node.payments
            .order(order.id)
            .unwrap()
            .unwrap()
            .amount_cents(),
        3500
    );
}

#[test]
fn the_available_listing_pages_in_listing_order_and_skips_held_tickets() {
    let mut node = Node::new();
    let tickets: Vec<TicketId> = (1..=5).map(|n| node.sell(n, 10.0)).collect();
    node.place(50, BUYER, tickets[1], Millis(0)).unwrap();

    let titles = |page: &[tix_core::tickets::Ticket]| -> Vec<String> {
        page.iter().map(|t| t.title.clone()).collect()
    };
    let first = node.tickets.available_page(0, 2).unwrap();
    assert_eq!(titles(&first), ["T1", "T3"]);
    let after = first.last().unwrap().listing;
    let second = node.tickets.available_page(after, 2).unwrap();
    assert_eq!(titles(&second), ["T4", "T5"]);
    let after = second.last().unwrap().listing;
    assert!(node.tickets.available_page(after, 2).unwrap().is_empty());
    assert!(node.tickets.available_page(u64::MAX, 2).unwrap().is_empty());
}

#[test]
fn a_sellers_tickets_are_listed_whatever_their_state() {
    let mut node = Node::new();
    let held = node.sell(1, 10.0);
    node.sell(2, 20.0);
    node.place(50, BUYER, held, Millis(0)).unwrap();
    let mine = node.tickets.list_for_seller(SELLER, 0, 10).unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].order_id, Some(OrderId::from_bytes(id(50))));
    let rest = node
        .tickets
        .list_for_seller(SELLER, mine[0].listing, 10)
        .unwrap();
    assert_eq!(rest, mine[1..]);
    assert_eq!(node.tickets.list_for_seller(SELLER, 0, 1).unwrap().len(), 1);
    assert!(
        node.tickets
            .list_for_seller(OTHER, 0, 10)
            .unwrap()
            .is_empty()
    );
}

fn attempt(n: u8, order: OrderId) -> payments::CardAttempt {
    payments::CardAttempt {
        id: PaymentId::from_bytes(id(n)),
        order_id: order,
        payer: BUYER,
        amount_cents: 2000,
        currency: "usd".into(),
        token: "tok_visa".into(),
        charge_id: None,
        step: AttemptStep::Authorizing,
        since: Millis(0),
    }
}

impl Node {
    /// Runs one payments-store change and lets the other services react, as the writer does.
    fn payments_change<T>(&mut self, change: impl FnOnce(&mut Unit) -> T) -> T {
        let mut unit = Unit::begin(self.payments.db()).unwrap();
        let result = change(&mut unit);
        let events = self.commit(unit);
        self.react(events);
        result
    }
}

#[test]
fn a_card_attempt_stays_open_until_captured_voided_or_declined() {
    let mut node = Node::new();
    let ticket = node.sell(10, 20.0);
    let order = node.place(20, BUYER, ticket, Millis(0)).unwrap();
    let first = attempt(100, order);
    let second = attempt(101, order);
    node.payments_change(|unit| PaymentsStore::begin_attempt(unit, &first))
        .unwrap();
    node.payments_change(|unit| PaymentsStore::begin_attempt(unit, &second))
        .unwrap();
    let open = |node: &Node| -> Vec<(PaymentId, AttemptStep)> {
        let attempts = node.payments.open_attempts().unwrap();
        attempts.iter().map(|a| (a.id, a.step)).collect()
    };
    assert_eq!(
        open(&node),
        [
            (first.id, AttemptStep::Authorizing),
            (second.id, AttemptStep::Authorizing)
        ]
    );

    let paid = node
        .payments_change(|unit| PaymentsStore::record_attempt(unit, first.id, "pi_1", Millis(1)))
        .unwrap();
    assert_eq!(paid.id, first.id, "the attempt's id is the payment's");
    assert_eq!(
        node.orders.get(order).unwrap().unwrap().status,
        OrderStatus::Complete
    );
    let refused = node
        .payments_change(|unit| PaymentsStore::record_attempt(unit, second.id, "pi_2", Millis(2)));
    assert!(matches!(refused, Err(payments::Error::AlreadyPaid)));
    assert_eq!(
        open(&node),
        [
            (first.id, AttemptStep::Recorded),
            (second.id, AttemptStep::Refused)
        ],
        "recording and refusing move the attempt in the same transaction"
    );
    let refused = node.payments.attempt(second.id).unwrap().unwrap();
    assert_eq!(refused.charge_id.as_deref(), Some("pi_2"));

    for (attempt, step) in [
        (first.id, AttemptStep::Captured),
        (second.id, AttemptStep::Voided),
    ] {
        node.payments_change(|unit| {
            PaymentsStore::advance_attempt(unit, attempt, step, None, Millis(3))
        })
        .unwrap();
    }
    assert_eq!(open(&node), [], "settled attempts leave the open set");
    assert_eq!(
        node.payments.attempt(first.id).unwrap().unwrap().step,
        AttemptStep::Captured,
        "and stay as history"
    );
    let moved_back = node.payments_change(|unit| {
        PaymentsStore::advance_attempt(unit, first.id, AttemptStep::Refused, None, Millis(4))
    });
    assert!(
        matches!(moved_back, Err(payments::Error::Store(_))),
        "a settled attempt never moves again"
    );
}

#[test]
fn a_card_refund_is_pending_from_the_ask_until_it_is_recorded() {
    let mut node = Node::new();
    let ticket = node.sell(10, 20.0);
    let order = node.place(20, BUYER, ticket, Millis(0)).unwrap();
    node.pay(order, BUYER, Millis(1)).unwrap();
    let asked =
        node.payments_change(|unit| PaymentsStore::ask_refund(unit, order, SELLER, Millis(2)));
    assert_eq!(asked.unwrap().stripe_id, "pi_1");
    node.payments_change(|unit| PaymentsStore::ask_refund(unit, order, SELLER, Millis(3)))
        .unwrap();
    let pending = node.payments.pending_refunds().unwrap();
    assert_eq!(pending.len(), 1, "asking twice is one refund");
    assert_eq!(
        (pending[0].charge_id.as_str(), pending[0].asked_at),
        ("pi_1", Millis(2))
    );

    node.payments_change(|unit| PaymentsStore::refund(unit, order, SELLER, Millis(4)))
        .unwrap();
    assert_eq!(node.payments.pending_refunds().unwrap(), []);
    let again =
        node.payments_change(|unit| PaymentsStore::ask_refund(unit, order, SELLER, Millis(5)));
    assert!(matches!(again, Err(payments::Error::AlreadyRefunded)));
}

#[test]
fn a_buyer_holds_at_most_the_cap_of_open_orders() {
    let mut node = Node::new();
    let tickets: Vec<TicketId> = (10..15).map(|n| node.sell(n, 5.0)).collect();
    let mut orders = Vec::new();
    for (n, ticket) in (20..).zip(&tickets[..3]) {
        orders.push(node.place(n, BUYER, *ticket, Millis(0)).unwrap());
    }
    assert!(matches!(
        node.place(23, BUYER, tickets[3], Millis(0)),
        Err(orders::Error::TooManyOpenOrders(3))
    ));
    assert!(
        node.place(24, OTHER, tickets[3], Millis(0)).is_ok(),
        "the cap is per buyer"
    );
    // Paid, cancelled or expired orders are no longer open.
    node.pay(orders[0], BUYER, Millis(1)).unwrap();
    node.place(25, BUYER, tickets[4], Millis(0)).unwrap();
    assert!(node.place(26, BUYER, tickets[3], Millis(0)).is_err());
    node.expire(Millis(60_000));
    let again = node.sell(16, 5.0);
    node.place(27, BUYER, again, Millis(60_000)).unwrap();
}

#[test]
fn an_orders_store_of_version_2_counts_its_open_orders_when_opened() {
    const BY_USER: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("orders_by_user");
    const OPEN_BY_USER_V2: TableDefinition<'_, &[u8], ()> =
        TableDefinition::new("open_orders_by_user");
    let mut node = Node::new();
    let tickets: Vec<TicketId> = (10..15).map(|n| node.sell(n, 5.0)).collect();
    let paid = node.place(20, BUYER, tickets[0], Millis(0)).unwrap();
    let open = node.place(21, BUYER, tickets[1], Millis(0)).unwrap();
    node.pay(paid, BUYER, Millis(1)).unwrap();

    // Back to version 2's shape: the buyer's open order in a set of its own, no count.
    let write = node.orders.db().begin_write().unwrap();
    let mut count_key = BUYER.as_bytes().to_vec();
    count_key.extend_from_slice(&u64::MAX.to_be_bytes());
    assert!(
        write
            .open_table(BY_USER)
            .unwrap()
            .remove(count_key.as_slice())
            .unwrap()
            .is_some(),
        "version 3 keeps the count under the last placement number"
    );
    let mut member = BUYER.as_bytes().to_vec();
    member.extend_from_slice(open.as_bytes());
    write
        .open_table(OPEN_BY_USER_V2)
        .unwrap()
        .insert(member.as_slice(), ())
        .unwrap();
    write
        .open_table(outbox::META)
        .unwrap()
        .insert(store_version::KEY, 2)
        .unwrap();
    write.commit().unwrap();

    assert_eq!(
        store_version::open(node.orders.db(), "orders").unwrap(),
        Opened::Upgraded { from: 2 }
    );
    let read = node.orders.db().begin_read().unwrap();
    assert!(
        matches!(
            read.open_table(OPEN_BY_USER_V2),
            Err(TableError::TableDoesNotExist(_))
        ),
        "the set is gone"
    );
    drop(read);
    // One order is open: two more fit under the cap of three, a third does not.
    let third = node.place(22, BUYER, tickets[2], Millis(0)).unwrap();
    let fourth = node.place(23, BUYER, tickets[3], Millis(0)).unwrap();
    assert!(matches!(
        node.place(24, BUYER, tickets[4], Millis(0)),
        Err(orders::Error::TooManyOpenOrders(3))
    ));
    let listed: Vec<OrderId> = node
        .orders
        .list_for_user(BUYER)
        .unwrap()
        .iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(
        listed,
        [paid, open, third, fourth],
        "the count is not an order"
    );
}
