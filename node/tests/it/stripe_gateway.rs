//! The Stripe gateway against the fake Stripe server: authorize, capture, void, idempotency, and
//! how declines and failures come back.

use std::time::{Duration, Instant};

use tix_core::ids::OrderId;
use tix_node::gateway::{ChargeRequest, Gateway, GatewayError, StripeGateway};

use crate::fake_stripe::FakeStripe;

const ORDER: &str = "5f8d0d55b54764421b7156c9";
const OTHER_ORDER: &str = "5f8d0d55b54764421b7156ca";

fn order(id: &str) -> OrderId {
    id.parse().expect("a 24-hex-character order id")
}

fn charge(order_id: &str, token: &str) -> ChargeRequest {
    ChargeRequest {
        order_id: order(order_id),
        amount_cents: 2500,
        currency: "usd".to_owned(),
        token: token.to_owned(),
    }
}

fn gateway(fake: &FakeStripe) -> Gateway {
    let stripe = StripeGateway::new("sk_test_fake", Some(&fake.url())).expect("a Stripe gateway");
    Gateway::Stripe(stripe)
}

#[tokio::test]
async fn authorize_holds_the_amount_on_the_card() {
    let fake = FakeStripe::start().await;
    let gateway = gateway(&fake);
    assert_eq!(gateway.mode(), "stripe");

    let authorization = gateway
        .authorize(&charge(ORDER, "tok_visa"))
        .await
        .expect("authorized");

    assert_eq!(authorization.charge_id, "pi_1");
    assert_eq!(
        fake.intent_status("pi_1").as_deref(),
        Some("requires_capture")
    );
    assert_eq!(fake.intent_amount("pi_1"), Some((2500, "usd".to_owned())));
    let metadata = fake.intent_metadata("pi_1").expect("the intent exists");
    assert_eq!(metadata.get("order_id").map(String::as_str), Some(ORDER));
    assert_eq!(fake.captures(), 0);
}

#[tokio::test]
async fn capture_settles_the_payment_once() {
    let fake = FakeStripe::start().await;
    let gateway = gateway(&fake);
    let authorization = gateway
        .authorize(&charge(ORDER, "tok_visa"))
        .await
        .expect("authorized");

    gateway
        .capture(order(ORDER), &authorization.charge_id)
        .await
        .expect("captured");
    assert_eq!(
        fake.intent_status(&authorization.charge_id).as_deref(),
        Some("succeeded")
    );
    assert_eq!(fake.captures(), 1);

    // A repeated capture is answered from the idempotency key and captures nothing more.
    gateway
        .capture(order(ORDER), &authorization.charge_id)
        .await
        .expect("captured again");
    assert_eq!(fake.captures(), 1);
}

#[tokio::test]
async fn capture_of_an_already_captured_intent_is_ok() {
    let fake = FakeStripe::start().await;
    let gateway = gateway(&fake);
    let authorization = gateway
        .authorize(&charge(ORDER, "tok_visa"))
        .await
        .expect("authorized");
    gateway
        .capture(order(ORDER), &authorization.charge_id)
        .await
        .expect("captured");

    // Stripe forgets idempotency keys after a day: the capture is then refused because the intent
    // has succeeded, which counts as captured.
    fake.forget_keys();
    gateway
        .capture(order(ORDER), &authorization.charge_id)
        .await
        .expect("already captured counts as captured");
    assert_eq!(fake.captures(), 1);
}

#[tokio::test]
async fn the_same_order_is_authorized_once() {
    let fake = FakeStripe::start().await;
    let gateway = gateway(&fake);

    let first = gateway
        .authorize(&charge(ORDER, "tok_visa"))
        .await
        .expect("authorized");
    let second = gateway
        .authorize(&charge(ORDER, "tok_visa"))
        .await
        .expect("authorized again");

    assert_eq!(first, second);
    assert_eq!(fake.intents_created(), 1);

    let other = gateway
        .authorize(&charge(OTHER_ORDER, "tok_visa"))
        .await
        .expect("authorized");
    assert_eq!(other.charge_id, "pi_2");
    assert_eq!(fake.intents_created(), 2);
}

#[tokio::test]
async fn a_declined_card_is_declined_with_stripes_message() {
    let fake = FakeStripe::start().await;
    let gateway = gateway(&fake);

    let result = gateway
        .authorize(&charge(ORDER, "tok_chargeDeclined"))
        .await;

    match result {
        Err(GatewayError::Declined(message)) => assert_eq!(message, "Your card was declined."),
        other => panic!("expected a decline, got {other:?}"),
    }
    assert_eq!(
        fake.intent_status("pi_1").as_deref(),
        Some("requires_payment_method")
    );
}

#[tokio::test]
async fn the_decline_switch_declines_a_good_card() {
    let fake = FakeStripe::start().await;
    let gateway = gateway(&fake);
    fake.decline_next(1);

    let declined = gateway.authorize(&charge(ORDER, "tok_visa")).await;
    assert!(
        matches!(declined, Err(GatewayError::Declined(_))),
        "got {declined:?}"
    );

    let next = gateway
        .authorize(&charge(OTHER_ORDER, "tok_visa"))
        .await
        .expect("authorized");
    assert_eq!(
        fake.intent_status(&next.charge_id).as_deref(),
        Some("requires_capture")
    );
}

#[tokio::test]
async fn an_unknown_token_is_invalid() {
    let fake = FakeStripe::start().await;
    let gateway = gateway(&fake);

    let result = gateway.authorize(&charge(ORDER, "not a token")).await;

    match result {
        Err(GatewayError::Invalid(message)) => {
            assert!(message.contains("No such token"), "{message}")
        }
        other => panic!("expected an invalid request, got {other:?}"),
    }
    assert_eq!(fake.intents_created(), 0);
}

#[tokio::test]
async fn void_after_authorize_cancels_the_hold() {
    let fake = FakeStripe::start().await;
    let gateway = gateway(&fake);
    let authorization = gateway
        .authorize(&charge(ORDER, "tok_visa"))
        .await
        .expect("authorized");

    gateway
        .void(order(ORDER), &authorization.charge_id)
        .await
        .expect("voided");

    assert_eq!(
        fake.intent_status(&authorization.charge_id).as_deref(),
        Some("canceled")
    );
    assert_eq!(fake.cancels(), 1);
    assert_eq!(fake.refunds(), 0);

    // Already canceled (once Stripe forgot the key, it refuses the cancel) counts as voided.
    fake.forget_keys();
    gateway
        .void(order(ORDER), &authorization.charge_id)
        .await
        .expect("voided again");
    assert_eq!(fake.cancels(), 1);
    assert_eq!(fake.refunds(), 0);
}

#[tokio::test]
async fn void_after_capture_refunds_once() {
    let fake = FakeStripe::start().await;
    let gateway = gateway(&fake);
    let authorization = gateway
        .authorize(&charge(ORDER, "tok_visa"))
        .await
        .expect("authorized");
    gateway
        .capture(order(ORDER), &authorization.charge_id)
        .await
        .expect("captured");

    gateway
        .void(order(ORDER), &authorization.charge_id)
        .await
        .expect("refunded");
    assert_eq!(fake.refunds(), 1);
    assert_eq!(fake.cancels(), 0);

    gateway
        .void(order(ORDER), &authorization.charge_id)
        .await
        .expect("refunded again");
    assert_eq!(fake.refunds(), 1);
}

#[tokio::test]
async fn two_intents_of_one_order_are_each_voided() {
    let fake = FakeStripe::start().await;
    let gateway = gateway(&fake);
    // Two cards tried at once for the same order: two PaymentIntents, neither recorded.
    let first = gateway.authorize(&charge(ORDER, "tok_visa")).await.unwrap();
    let second = gateway
        .authorize(&charge(ORDER, "tok_mastercard"))
        .await
        .unwrap();
    assert_ne!(first.charge_id, second.charge_id);
    for authorization in [&first, &second] {
        gateway
            .void(order(ORDER), &authorization.charge_id)
            .await
            .expect("voided");
    }
    assert_eq!(
        fake.cancels(),
        2,
        "each intent is cancelled under its own key"
    );
    for authorization in [&first, &second] {
        assert_eq!(
            fake.intent_status(&authorization.charge_id).as_deref(),
            Some("canceled")
        );
    }
}

#[tokio::test]
async fn a_server_error_is_unavailable_and_not_remembered() {
    let fake = FakeStripe::start().await;
    let gateway = gateway(&fake);

    fake.set_failing(true);
    let result = gateway.authorize(&charge(ORDER, "tok_visa")).await;
    assert!(
        matches!(result, Err(GatewayError::Unavailable(_))),
        "got {result:?}"
    );
    assert_eq!(fake.intents_created(), 0);
    fake.set_failing(false);

    fake.fail_next(1);
    let result = gateway.authorize(&charge(ORDER, "tok_visa")).await;
    assert!(
        matches!(result, Err(GatewayError::Unavailable(_))),
        "got {result:?}"
    );

    let authorization = gateway
        .authorize(&charge(ORDER, "tok_visa"))
        .await
        .expect("authorized");
    assert_eq!(authorization.charge_id, "pi_1");

    fake.fail_next(1);
    let result = gateway
        .capture(order(ORDER), &authorization.charge_id)
        .await;
    assert!(
        matches!(result, Err(GatewayError::Unavailable(_))),
        "got {result:?}"
    );
    assert_eq!(
        fake.intent_status("pi_1").as_deref(),
        Some("requires_capture")
    );
}

#[tokio::test]
async fn an_unreachable_stripe_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("local address"));
    drop(listener);
    let gateway = Gateway::Stripe(StripeGateway::new("sk_test_fake", Some(&url)).expect("gateway"));

    let result = gateway.authorize(&charge(ORDER, "tok_visa")).await;

    assert!(
        matches!(result, Err(GatewayError::Unavailable(_))),
        "got {result:?}"
    );
}

#[tokio::test]
async fn the_authorize_delay_holds_the_answer() {
    let fake = FakeStripe::start().await;
    let gateway = gateway(&fake);
    fake.set_authorize_delay(Duration::from_millis(300));

    let started = Instant::now();
    gateway
        .authorize(&charge(ORDER, "tok_visa"))
        .await
        .expect("authorized");

    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "took {:?}",
        started.elapsed()
    );
}
