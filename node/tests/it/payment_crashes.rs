//! A node killed (SIGKILL) at each step of a card payment or refund, while the fake Stripe holds
//! the call in flight: after a restart the reconciler settles what the crash left, so no money is
//! held on a card for nothing, none is left uncaptured, and no refund is half done.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use tix_tests::client::{Client, eventually, id, only_message, ordered};

use crate::fake_stripe::{Call, FakeStripe, stripe_node};

const SETTLED_WITHIN: Duration = Duration::from_secs(20);

/// Starts paying `order` in the background (the node dies before it answers).
fn pay_in_background(buyer: &Client, order: &serde_json::Value, token: &'static str) {
    let buyer = buyer.clone();
    let body = json!({"orderId": id(order), "token": token});
    tokio::spawn(async move { buyer.try_post("/api/payments", body).await });
}

/// Waits until the node's `call` reached the fake and is held there.
async fn arrived(fake: &FakeStripe, call: Call, count: usize) {
    assert!(
        eventually(SETTLED_WITHIN, || async { fake.arrived(call) >= count }).await,
        "the node never made the {call:?} call"
    );
}

/// Kills the node while the fake holds its `call`, waits until the fake saw the caller go (the
/// held request dropped, as a real server's would be), then lets held calls of that kind go on.
/// Releasing before the fake noticed would let the dead node's call run after all.
async fn crash_while_held(node: tix_tests::client::Node, fake: &FakeStripe, call: Call) {
    node.kill9();
    assert!(
        eventually(SETTLED_WITHIN, || async { fake.abandoned(call) >= 1 }).await,
        "the fake never noticed that the node went away during its {call:?} call"
    );
    fake.release(call);
}

async fn intent_becomes(fake: &FakeStripe, intent: &str, status: &str) -> bool {
    eventually(SETTLED_WITHIN, || async {
        fake.intent_status(intent).as_deref() == Some(status)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_stripe_authorizes_leaves_no_hold_on_the_card() {
    let fake = FakeStripe::start().await;
    let dir = tempfile::tempdir().unwrap();
    let node = stripe_node(&dir, &fake, "15m");
    let (_seller, buyer, _ticket, order) = ordered(&node, "Opera", json!(40)).await;

    fake.hold(Call::Authorize);
    pay_in_background(&buyer, &order, "tok_visa");
    arrived(&fake, Call::Authorize, 1).await;
    crash_while_held(node, &fake, Call::Authorize).await;
    assert_eq!(
        fake.intent_status("pi_1").as_deref(),
        Some("requires_capture")
    );

    let node = stripe_node(&dir, &fake, "15m");
    assert!(
        intent_becomes(&fake, "pi_1", "canceled").await,
        "the authorization was left on the card: {:?}",
        fake.intent_status("pi_1")
    );
    let buyer = buyer.with_base(&node.url(""));
    let shown = buyer.get(&format!("/api/orders/{}", id(&order))).await;
    assert_eq!(shown.body["status"], "created", "nothing was paid");
    let paid = buyer
        .post(
            "/api/payments",
            json!({"orderId": id(&order), "token": "tok_mastercard"}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text);
    assert_eq!(fake.intent_status("pi_2").as_deref(), Some("succeeded"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_the_capture_is_captured_after_the_restart() {
    let fake = FakeStripe::start().await;
    let dir = tempfile::tempdir().unwrap();
    let node = stripe_node(&dir, &fake, "15m");
    let (_seller, buyer, _ticket, order) = ordered(&node, "Ballet", json!(25)).await;

    fake.hold(Call::Capture);
    pay_in_background(&buyer, &order, "tok_visa");
    arrived(&fake, Call::Capture, 1).await;
    crash_while_held(node, &fake, Call::Capture).await;
    assert_eq!(
        fake.intent_status("pi_1").as_deref(),
        Some("requires_capture")
    );

    let node = stripe_node(&dir, &fake, "15m");
    assert!(
        intent_becomes(&fake, "pi_1", "succeeded").await,
        "the recorded payment was never captured: {:?}",
        fake.intent_status("pi_1")
    );
    assert_eq!(fake.captures(), 1);
    let buyer = buyer.with_base(&node.url(""));
    let shown = buyer.get(&format!("/api/orders/{}", id(&order))).await;
    assert_eq!(shown.body["status"], "complete");
    assert!(
        eventually(SETTLED_WITHIN, || async {
            node.client().get("/healthz").await.body["payments"]["unsettled"] == 0
        })
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_voiding_a_refused_payment_is_voided_after_the_restart() {
    let fake = FakeStripe::start().await;
    let dir = tempfile::tempdir().unwrap();
    let node = stripe_node(&dir, &fake, "2s");
    let (_seller, buyer, _ticket, order) = ordered(&node, "Circus", json!(15)).await;

    // Stripe is slower than the lock: the order expires while the card is authorized, so the
    // node refuses the payment and must void the authorization.
    fake.set_authorize_delay(Duration::from_secs(3));
    fake.hold(Call::Cancel);
    pay_in_background(&buyer, &order, "tok_visa");
    arrived(&fake, Call::Cancel, 1).await;
    crash_while_held(node, &fake, Call::Cancel).await;
    fake.set_authorize_delay(Duration::ZERO);
    assert_eq!(
        fake.intent_status("pi_1").as_deref(),
        Some("requires_capture")
    );

    let node = stripe_node(&dir, &fake, "2s");
    assert!(
        intent_becomes(&fake, "pi_1", "canceled").await,
        "the refused payment's authorization was left on the card: {:?}",
        fake.intent_status("pi_1")
    );
    let buyer = buyer.with_base(&node.url(""));
    let shown = buyer.get(&format!("/api/orders/{}", id(&order))).await;
    assert_eq!(shown.body["status"], "cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_during_a_refund_is_finished_after_the_restart() {
    let fake = FakeStripe::start().await;
    let dir = tempfile::tempdir().unwrap();
    let node = stripe_node(&dir, &fake, "15m");
    let staff = node.client().user("counter@test.com").await;
    let (_seller, buyer, _ticket, order) = ordered(&node, "Jazz", json!(30)).await;
    let paid = buyer
        .post(
            "/api/payments",
            json!({"orderId": id(&order), "token": "tok_visa"}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text);

    fake.hold(Call::Refund);
    let asking = staff.clone();
    let body = json!({"orderId": id(&order)});
    tokio::spawn(async move { asking.try_post("/api/box-office/refunds", body).await });
    arrived(&fake, Call::Refund, 1).await;
    crash_while_held(node, &fake, Call::Refund).await;
    assert_eq!(fake.refunds(), 0);

    let node = stripe_node(&dir, &fake, "15m");
    assert!(
        eventually(SETTLED_WITHIN, || async { fake.refunds() == 1 }).await,
        "the refund asked for was never made"
    );
    let staff = staff.with_base(&node.url(""));
    let recorded = eventually(SETTLED_WITHIN, || async {
        let again = staff
            .post("/api/box-office/refunds", json!({"orderId": id(&order)}))
            .await;
        again.status == StatusCode::BAD_REQUEST
            && only_message(&again) == "Order has already been refunded"
    })
    .await;
    assert!(recorded, "the refund was made but never recorded");
    assert_eq!(fake.refunds(), 1, "and made once");
}

/// A node told to stop while its reconciler waits on Stripe (a capture left by a crash, held by
/// the gateway) stops within its grace instead of waiting out the call; cutting the pass there is
/// as safe as a crash, and the next start captures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_while_the_reconciler_waits_on_stripe_does_not_wait_for_it() {
    let fake = FakeStripe::start().await;
    let dir = tempfile::tempdir().unwrap();
    let node = stripe_node(&dir, &fake, "15m");
    let (_seller, buyer, _ticket, order) = ordered(&node, "Recital", json!(30)).await;
    fake.hold(Call::Capture);
    pay_in_background(&buyer, &order, "tok_visa");
    arrived(&fake, Call::Capture, 1).await;
    node.kill9();
    assert!(
        eventually(SETTLED_WITHIN, || async {
            fake.abandoned(Call::Capture) >= 1
        })
        .await,
        "the fake saw the node go"
    );

    // The restarted node's reconciler retries the capture, which the gateway holds.
    let node = stripe_node(&dir, &fake, "15m");
    arrived(&fake, Call::Capture, 2).await;
    let stopped = std::time::Instant::now();
    let status = node.stop(Duration::from_secs(15));
    assert!(
        matches!(&status, Ok(exit) if exit.success()),
        "the node did not stop by itself within 15 s: {status:?}"
    );
    println!("stopped in {} ms", stopped.elapsed().as_millis());

    fake.release(Call::Capture);
    let node = stripe_node(&dir, &fake, "15m");
    assert!(
        intent_becomes(&fake, "pi_1", "succeeded").await,
        "captured after the restart: {:?}",
        fake.intent_status("pi_1")
    );
    let shown = buyer
        .with_base(&node.url(""))
        .get(&format!("/api/orders/{}", id(&order)))
        .await;
    assert_eq!(shown.body["status"], "complete");
}
