//! The writer against disks that fail or crash on cue: what a command is told when storage fails
//! around its batch, and what survives a power cut after a failed write.

use tix_core::events::OrderStatus;
use tix_core::ids::{OrderId, PaymentId};
use tix_core::payments::PaymentsStore;
use tix_core::reactions::Service;

use super::Committed;
use crate::test_node::{BUYER, Fixture};

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
