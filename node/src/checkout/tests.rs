//! Checkout against a writer whose stores fail on cue: money is never given back for a payment
//! that was recorded.

use std::sync::Arc;

use tix_core::payments::AttemptStep;

use super::Checkout;
use crate::clock::SystemClock;
use crate::gateway::{Gateway, TestCharge, TestGateway};
use crate::ids::IdGen;
use crate::test_node::{BUYER, Fixture};

fn checkout(node: &Fixture, gateway: &Arc<Gateway>) -> Checkout {
    Checkout::new(
        node.stores.clone(),
        node.handle().clone(),
        gateway.clone(),
        Arc::new(IdGen::new([1; 5], 0)),
        Arc::new(SystemClock),
        "usd".into(),
    )
}

fn charge(gateway: &Gateway, charge_id: &str) -> Option<TestCharge> {
    match gateway {
        Gateway::Test(test) => test.charge(charge_id),
        Gateway::Stripe(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_recorded_while_a_reaction_fails_is_captured_never_voided() {
    let node = Fixture::new();
    let order = node.sell_and_order(1).await;
    let gateway = Arc::new(Gateway::Test(TestGateway::default()));
    let checkout = checkout(&node, &gateway);

    // The payment is recorded; the orders store then fails to complete the order.
    node.disks["orders"].set_failing(true);
    let payment = checkout
        .pay(BUYER, order, "tok_visa".into())
        .await
        .expect("the payment was recorded, so the buyer paid");
    assert_eq!(
        charge(&gateway, &payment.stripe_id),
        Some(TestCharge::Captured),
        "the recorded payment's money is taken, not given back"
    );
    let attempt = node.stores.payments.attempt(payment.id).unwrap().unwrap();
    assert!(
        matches!(attempt.step, AttemptStep::Recorded | AttemptStep::Captured),
        "{attempt:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconciler_captures_what_a_failed_write_left_recorded() {
    let node = Fixture::new();
    let order = node.sell_and_order(1).await;
    let gateway = Arc::new(Gateway::Test(TestGateway::default()));
    let checkout = checkout(&node, &gateway);
    node.disks["orders"].set_failing(true);
    let payment = checkout.pay(BUYER, order, "tok_visa".into()).await.unwrap();

    // The stores refuse writes until the node restarts; after it, the reconciler finishes.
    node.disks["orders"].set_failing(false);
    drop(checkout);
    let node = node.restart();
    let checkout = super::Checkout::new(
        node.stores.clone(),
        node.handle().clone(),
        gateway.clone(),
        Arc::new(IdGen::new([2; 5], 0)),
        Arc::new(SystemClock),
        "usd".into(),
    );
    checkout.reconcile().await;
    let attempt = node.stores.payments.attempt(payment.id).unwrap().unwrap();
    assert_eq!(attempt.step, AttemptStep::Captured);
    assert_eq!(checkout.unsettled().unwrap(), 0);
    assert_eq!(
        charge(&gateway, &payment.stripe_id),
        Some(TestCharge::Captured)
    );
}
