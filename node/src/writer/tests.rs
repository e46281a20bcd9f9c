//! The writer against disks that fail or crash on cue: what a command is told when storage fails
//! around its batch, and what survives a power cut after a failed write.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use tix_core::auth::AuthStore;
use tix_core::events::OrderStatus;
use tix_core::ids::{OrderId, PaymentId, TicketId};
use tix_core::orders::OrdersStore;
use tix_core::outbox::Unit;
use tix_core::payments::PaymentsStore;
use tix_core::reactions::Service;
use tix_core::tickets::TicketsStore;

use super::batch::State;
use super::{
    Command, Committed, Context, NoneUpcoming, StoreFault, Upcoming, WriteError, WriteFailed,
    WriterSignals,
};
use crate::clock::SystemClock;
use crate::stores::NAMES;
use crate::stores::test_disk::TestDisk;
use crate::test_node::{BUYER, Fixture, SELLER, draft, placing, stores_on, user};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_whose_batch_committed_is_answered_with_its_result_when_a_reaction_fails() {
    let node = Fixture::new();
    let order = node.sell_and_order(1).await;

    // The payment commits in the payments store; the orders store then fails to react to it.
    node.disks["orders"].set_failing(true);
    let payment = PaymentId::from_bytes([9; 12]);
    let answer = node
        .handle()
        .run(Service::Payments, move |unit, context| {
            PaymentsStore::record(unit, payment, order, BUYER, "pi_1", context.now)
        })
        .await;
    let recorded = answer.expect("the payment committed, so its answer is the payment");
    assert_eq!(recorded.unwrap().id, payment);
    assert!(
        node.stores
            .payments
            .payment_for_order(order)
            .unwrap()
            .is_some()
    );

    // redb refuses a store's writes after an I/O error until it is reopened: once the disk works
    // again, a restart replays the reaction that failed.
    node.disks["orders"].set_failing(false);
    let node = node.restart();
    let status = node.stores.orders.get(order).unwrap().unwrap().status;
    assert_eq!(status, OrderStatus::Complete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_failed_to_commit_is_answered_as_not_committed_or_unknown() {
    let node = Fixture::new();
    let refused = node.fault().await.unwrap_err();
    assert_eq!(refused.committed(), Committed::No, "{refused}");
    node.sign_up(4).await.unwrap();

    node.disks["auth"].set_failing(true);
    let failed = node.sign_up(3).await.unwrap_err();
    assert_eq!(failed.committed(), Committed::Unknown, "{failed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_after_a_failed_write_never_removes_what_a_crash_would_need_to_replay() {
    let node = Fixture::new();
    // The payments store follows this order with a reaction that emits nothing: committed, but not
    // made durable (a restart would replay it from the orders outbox).
    let first = node.sell_and_order(1).await;
    // A write fails; the writer reloads its positions from the stores before the next batch.
    node.fault().await.unwrap_err();
    // The hub has everything: prune as far as the writer allows.
    let last = node.stores.last_seq().unwrap();
    node.handle().prune(last).await.unwrap();
    // A later durable commit of the orders store makes its pruning durable too.
    node.sell_and_order(2).await;

    let survivor = Fixture::on(node.after_crash());
    assert!(
        survivor.stores.payments.order(first).unwrap().is_some(),
        "the payments store lost its replica of an order whose events were pruned"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_built_while_their_cause_commits_are_dropped_when_that_commit_fails() {
    let node = Fixture::new();
    node.sell_and_order(1).await;
    let ticket = node.sell(2).await;

    // The order's batch fails to commit; the tickets and expiration stores build their reactions
    // to it meanwhile, and must drop them.
    node.disks["orders"].set_failing(true);
    let order = OrderId::from_bytes([102; 12]);
    let failed = node.place(order, ticket).await;
    assert!(failed.is_err(), "the order's batch did not commit");
    let unlocked = |node: &Fixture| node.stores.tickets.get(ticket).unwrap().unwrap().order_id;
    assert_eq!(unlocked(&node), None, "no lock for an order that never was");
    assert_eq!(
        node.stores.expiration.pending().unwrap(),
        1,
        "only order 1's job"
    );

    node.disks["orders"].set_failing(false);
    let node = node.restart();
    assert!(node.stores.orders.get(order).unwrap().is_none());
    assert_eq!(unlocked(&node), None);
    assert_eq!(node.stores.expiration.pending().unwrap(), 1);
}

/// Holds the writer inside a command until the returned sender is dropped or sent to, once the
/// command has started; the requests sent meanwhile queue up behind it.
async fn hold_the_writer(node: &Fixture) -> std::sync::mpsc::Sender<()> {
    let (release, held) = std::sync::mpsc::channel::<()>();
    let (entered_tx, entered) = tokio::sync::oneshot::channel();
    let handle = node.handle().clone();
    tokio::spawn(async move {
        let _ = handle
            .run(Service::Shows, move |_, _| -> Result<(), redb::Error> {
                let _ = entered_tx.send(());
                let _ = held.recv();
                Ok(())
            })
            .await;
    });
    entered.await.expect("the holding command started");
    release
}

fn signed_up_3(node: &Fixture) -> bool {
    let user = node.stores.auth.find_by_email("3@example.com").unwrap();
    user.is_some()
}

/// Waits (bounded) until `count` requests are queued for the writer.
async fn queued(node: &Fixture, count: usize) {
    let sender = &node.handle().requests_tx;
    for _ in 0..2000 {
        if sender.max_capacity() - sender.capacity() == count {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    panic!("{count} requests never queued up");
}

/// An order, and behind it in the queue a sign-up: the sign-up's batch runs while the order's
/// last reactions (the ticket's lock) commit, and commits after them.
async fn an_order_with_a_sign_up_behind_it(
    node: &Fixture,
    before_release: impl FnOnce(),
) -> (Result<(), WriteError>, Result<(), WriteError>) {
    let ticket = node.sell(1).await;
    let release = hold_the_writer(node).await;
    let order = {
        let handle = node.handle().clone();
        let id = OrderId::from_bytes([101; 12]);
        tokio::spawn(async move { Fixture::place_with(&handle, id, ticket).await })
    };
    queued(node, 1).await;
    let sign_up = {
        let handle = node.handle().clone();
        tokio::spawn(async move { Fixture::sign_up_with(&handle, 3).await })
    };
    queued(node, 2).await;
    before_release();
    release.send(()).unwrap();
    (order.await.unwrap(), sign_up.await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_queued_behind_a_cascade_runs_while_its_last_round_commits_and_commits_after_it() {
    let node = Fixture::new();
    let (order, sign_up) = an_order_with_a_sign_up_behind_it(&node, || {}).await;
    order.unwrap();
    sign_up.unwrap();
    // The order ran early behind the holding command (which nothing reacts to), the sign-up behind
    // the order.
    assert_eq!(
        node.signals.stats.ahead.get(),
        2,
        "the order and the sign-up ran early"
    );

    // Committed after the lock it ran beside: its event follows every event of the order's cascade.
    let events = node.stores.events_after(0, usize::MAX).unwrap();
    let position = |subject: &str| events.iter().position(|e| e.event.subject() == subject);
    let locked = position("ticket:updated").expect("the lock's event");
    let signed_up = position("user:created").expect("the sign-up's event");
    assert!(locked < signed_up, "{events:?}");
    assert!(
        events.windows(2).all(|w| w[1].seq == w[0].seq + 1),
        "the sequence has a gap: {events:?}"
    );
    assert!(signed_up_3(&node));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_run_early_is_dropped_unwritten_when_the_round_it_ran_beside_fails() {
    let node = Fixture::new();
    // The order commits; the ticket's lock (its last round) fails to commit.
    let (order, sign_up) =
        an_order_with_a_sign_up_behind_it(&node, || node.disks["tickets"].set_failing(true)).await;
    order.expect("the order's batch committed, so it is answered with its result");
    // The order ran early behind the holding command (which nothing reacts to), the sign-up behind
    // the order.
    assert_eq!(
        node.signals.stats.ahead.get(),
        2,
        "the order and the sign-up ran early"
    );
    let refused = sign_up.expect_err("the sign-up ran behind a batch that failed");
    assert_eq!(refused.committed(), Committed::No, "{refused}");
    assert!(!signed_up_3(&node));

    node.disks["tickets"].set_failing(false);
    let node = node.restart();
    assert!(!signed_up_3(&node));
    node.sign_up(3).await.unwrap();
    assert!(signed_up_3(&node));
}

/// A queue played from a script: one batch to be taken early, and commands that arrive after it.
struct Scripted {
    early: Option<(Service, Vec<Command>)>,
    /// The stores the round being committed wrote when the early batch was taken.
    taken_beside: Option<Vec<Service>>,
    later: Vec<Command>,
}

impl Upcoming for Scripted {
    fn next_batch(&mut self, busy: &[Service]) -> Option<(Service, Vec<Command>)> {
        let early = self.early.take_if(|(service, _)| !busy.contains(service))?;
        self.taken_beside = Some(busy.to_vec());
        Some(early)
    }

    fn more(&mut self, service: Service, room: usize) -> Vec<Command> {
        let (more, rest) = std::mem::take(&mut self.later)
            .into_iter()
            .partition(|c| c.service == service);
        self.later = rest;
        more.into_iter().take(room).collect()
    }
}

type Answer<T, E> = oneshot::Receiver<Result<Result<T, E>, WriteFailed>>;

/// A command on `service` and where its answer arrives.
fn command<T, E, F>(service: Service, work: F) -> (Command, Answer<T, E>)
where
    T: Send + 'static,
    E: StoreFault + Send + 'static,
    F: FnOnce(&mut Unit, &Context) -> Result<T, E> + Send + 'static,
{
    let (reply, answer) = oneshot::channel();
    (Command::new(service, reply, work), answer)
}

#[test]
fn a_batch_taken_early_takes_in_the_commands_of_its_store_queued_since_and_commits_them_at_once() {
    let disks = NAMES.map(|name| (name, TestDisk::default())).into();
    let stores = stores_on(&disks);
    let signals = Arc::new(WriterSignals::new());
    let mut state = State::recover(
        stores.clone(),
        Arc::new(SystemClock),
        Duration::from_secs(900),
        signals.clone(),
    )
    .unwrap();
    let ticket = TicketId::from_bytes([1; 12]);
    let (sell, sold) = command(Service::Tickets, move |unit, _| {
        TicketsStore::create(unit, ticket, SELLER, draft(1))
    });
    state.run_batch(Service::Tickets, vec![sell], &mut NoneUpcoming);
    sold.blocking_recv().unwrap().unwrap().unwrap();

    let order = OrderId::from_bytes([101; 12]);
    let (place, placed) = command(Service::Orders, move |unit, context| {
        OrdersStore::place(unit, placing(order, ticket), context.now, context.lock_ttl)
    });
    let (early, three) = command(Service::Auth, |unit, _| {
        AuthStore::sign_up(unit, user(3), false)
    });
    let (later, four) = command(Service::Auth, |unit, _| {
        AuthStore::sign_up(unit, user(4), false)
    });
    let mut queue = Scripted {
        early: Some((Service::Auth, vec![early])),
        taken_beside: None,
        later: vec![later],
    };
    state.run_batch(Service::Orders, vec![place], &mut queue);
    placed.blocking_recv().unwrap().unwrap().unwrap();
    let beside = queue
        .taken_beside
        .clone()
        .expect("the sign-up was taken early");
    assert!(
        beside.contains(&Service::Tickets) && !beside.contains(&Service::Orders),
        "taken beside the lock's round, the last of the order's cascade: {beside:?}"
    );

    let ahead = state.take_ahead().expect("a batch waits to be committed");
    let (batches, commands) = (
        signals.stats.batch_size.get_sample_count(),
        signals.stats.batch_size.get_sample_sum(),
    );
    state.complete(ahead, &mut queue);
    assert!(queue.later.is_empty(), "the later sign-up was taken in");
    three.blocking_recv().unwrap().unwrap().unwrap();
    four.blocking_recv().unwrap().unwrap().unwrap();
    assert_eq!(signals.stats.batch_size.get_sample_count(), batches + 1);
    assert_eq!(
        signals.stats.batch_size.get_sample_sum(),
        commands + 2.0,
        "both sign-ups in one batch"
    );
    assert!(state.take_ahead().is_none());
}
