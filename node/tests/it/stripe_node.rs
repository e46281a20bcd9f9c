//! A node paying through the real Stripe client against the fake Stripe server: charges bound to the
//! lock, one charge per order, and the money given back when the lock was lost mid-payment.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::Barrier;

use tix_tests::client::{eventually, id, only_message, ordered};

use crate::fake_stripe::{FakeStripe, stripe_node};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_authorizes_then_captures_the_locked_price() {
    let fake = FakeStripe::start().await;
    let dir = tempfile::tempdir().unwrap();
    let node = stripe_node(&dir, &fake, "15m");
    assert_eq!(
        node.client().get("/healthz").await.body["payments"]["mode"],
        "stripe"
    );
    let (_seller, buyer, _ticket, order) = ordered(&node, "Symphony", json!("20.99")).await;

    let paid = buyer
        .post(
            "/api/payments",
            json!({"orderId": id(&order), "token": "tok_visa"}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text);
    assert_eq!(fake.intents_created(), 1);
    assert_eq!(fake.intent_status("pi_1").as_deref(), Some("succeeded"));
    assert_eq!(fake.intent_amount("pi_1"), Some((2099, "usd".into())));
    assert_eq!(
        fake.intent_metadata("pi_1").unwrap()["order_id"],
        id(&order)
    );
    assert_eq!(fake.captures(), 1);
    assert_eq!(
        buyer.get(&format!("/api/orders/{}", id(&order))).await.body["status"],
        "complete"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_payments_for_one_order_charge_once() {
    let fake = FakeStripe::start().await;
    let dir = tempfile::tempdir().unwrap();
    let node = stripe_node(&dir, &fake, "15m");
    let (_seller, buyer, _ticket, order) = ordered(&node, "Popular", json!(50)).await;

    let start = Arc::new(Barrier::new(10));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let buyer = buyer.clone();
        let start = start.clone();
        let order_id = id(&order);
        tasks.spawn(async move {
            start.wait().await;
            buyer
                .post(
                    "/api/payments",
                    json!({"orderId": order_id, "token": "tok_visa"}),
                )
                .await
        });
    }
    let replies = tasks.join_all().await;
    let payment_ids: Vec<String> = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .map(|r| id(&r.body))
        .collect();
    assert!(!payment_ids.is_empty());
    assert!(
        payment_ids.iter().all(|p| *p == payment_ids[0]),
        "every success names the same payment"
    );
    for refused in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert_eq!(only_message(refused), "Order has already been paid");
    }
    assert_eq!(fake.intents_created(), 1, "one PaymentIntent for the order");
    assert_eq!(fake.intent_status("pi_1").as_deref(), Some("succeeded"));
    assert_eq!(fake.refunds(), 0);
    assert_eq!(fake.cancels(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_leaves_the_order_payable_with_another_card() {
    let fake = FakeStripe::start().await;
    let dir = tempfile::tempdir().unwrap();
    let node = stripe_node(&dir, &fake, "15m");
    let (_seller, buyer, _ticket, order) = ordered(&node, "Indie", json!(12)).await;
    let declined = buyer
        .post(
            "/api/payments",
            json!({"orderId": id(&order), "token": "tok_chargeDeclined"}),
        )
        .await;
    assert_eq!(declined.status, StatusCode::BAD_REQUEST);
    assert_eq!(only_message(&declined), "Your card was declined.");
    assert_eq!(
        buyer.get(&format!("/api/orders/{}", id(&order))).await.body["status"],
        "created"
    );
    let paid = buyer
        .post(
            "/api/payments",
            json!({"orderId": id(&order), "token": "tok_visa"}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text);
    assert_eq!(fake.captures(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_failing_is_a_502_and_charges_nothing() {
    let fake = FakeStripe::start().await;
    let dir = tempfile::tempdir().unwrap();
    let node = stripe_node(&dir, &fake, "15m");
    let seller = node.client().user("seller@test.com").await;
    let buyer = node.client().user("buyer@test.com").await;
    let ticket = seller.sell("Outage", json!(12)).await;
    let order = buyer
        .post(
            "/api/orders",
            json!({"orderId": "x", "ticketId": id(&ticket)}),
        )
        .await
        .body;
    fake.set_failing(true);
    let reply = buyer
        .post(
            "/api/payments",
            json!({"orderId": id(&order), "token": "tok_visa"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert!(
        reply.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("payment provider")
    );
    assert_eq!(
        buyer.get(&format!("/api/orders/{}", id(&order))).await.body["status"],
        "created"
    );
    fake.set_failing(false);
    let paid = buyer
        .post(
            "/api/payments",
            json!({"orderId": id(&order), "token": "tok_visa"}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_while_the_lock_expires_gives_the_money_back_and_keeps_the_order_cancelled() {
    let fake = FakeStripe::start().await;
    let dir = tempfile::tempdir().unwrap();
    let node = stripe_node(&dir, &fake, "2s");
    let (_seller, buyer, ticket, order) = ordered(&node, "Last minute", json!(30)).await;

    // Stripe takes longer to authorize than the lock has left.
    fake.set_authorize_delay(Duration::from_secs(4));
    let reply = buyer
        .post(
            "/api/payments",
            json!({"orderId": id(&order), "token": "tok_visa"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(only_message(&reply), "Cannot pay for an cancelled order");

    assert_eq!(fake.intents_created(), 1);
    assert_eq!(fake.captures(), 0, "nothing was captured");
    let voided = eventually(Duration::from_secs(2), || async {
        fake.intent_status("pi_1").as_deref() == Some("canceled")
    })
    .await;
    assert!(
        voided,
        "the authorization was cancelled: {:?}",
        fake.intent_status("pi_1")
    );
    let shown = buyer.get(&format!("/api/orders/{}", id(&order))).await.body;
    assert_eq!(shown["status"], "cancelled");
    let ticket_now = node
        .client()
        .get(&format!("/api/tickets/{}", id(&ticket)))
        .await
        .body;
    assert!(
        ticket_now.get("orderId").is_none(),
        "the ticket is free again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_cards_refused_for_one_order_are_both_voided() {
    let fake = FakeStripe::start().await;
    let dir = tempfile::tempdir().unwrap();
    let node = stripe_node(&dir, &fake, "2s");
    let (_seller, buyer, _ticket, order) = ordered(&node, "Matinee", json!(12)).await;

    // Two cards at once, both slower than the lock: two PaymentIntents, both refused.
    fake.set_authorize_delay(Duration::from_secs(3));
    let pay = |token: &'static str| {
        let buyer = buyer.clone();
        let body = json!({"orderId": id(&order), "token": token});
        async move { buyer.post("/api/payments", body).await }
    };
    let (visa, mastercard) = tokio::join!(pay("tok_visa"), pay("tok_mastercard"));
    for refused in [&visa, &mastercard] {
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    }
    assert_eq!(fake.intents_created(), 2);
    for intent in ["pi_1", "pi_2"] {
        assert_eq!(
            fake.intent_status(intent).as_deref(),
            Some("canceled"),
            "{intent} is still held on the card"
        );
    }
}
