//! `POST /api/payments` in test mode: validation, the order of checks, and the order's completion.

use reqwest::StatusCode;
use serde_json::json;

use tix_tests::client::{Node, NodeOptions, id, only_message, ordered};

use crate::NODE;

#[tokio::test]
async fn payments_check_auth_then_validation_then_existence_then_ownership_then_state() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let (seller, buyer, ticket, order) = ordered(&node, "Ballet", json!(25)).await;

    assert_eq!(
        node.client().post("/api/payments", json!({})).await.status,
        StatusCode::UNAUTHORIZED
    );
    let invalid = buyer
        .post("/api/payments", json!({"token": "", "orderId": ""}))
        .await;
    assert_eq!(
        invalid.body,
        json!({"errors": [
            {"message": "Invalid value", "field": "token"},
            {"message": "Invalid value", "field": "orderId"},
        ]})
    );
    let malformed = buyer
        .post(
            "/api/payments",
            json!({"token": "tok_visa", "orderId": "xyz"}),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(only_message(&malformed), "Something went wrong");
    let unknown = buyer
        .post(
            "/api/payments",
            json!({"token": "tok_visa", "orderId": "5f8d0d55b54764421b7156c9"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let not_mine = seller
        .post(
            "/api/payments",
            json!({"token": "tok_visa", "orderId": id(&order)}),
        )
        .await;
    assert_eq!(not_mine.status, StatusCode::UNAUTHORIZED);

    let paid = buyer
        .post(
            "/api/payments",
            json!({"token": "tok_visa", "orderId": id(&order)}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text);
    assert_eq!(paid.body.as_object().unwrap().len(), 1);
    assert_eq!(id(&paid.body).len(), 24);
    let shown = buyer.get(&format!("/api/orders/{}", id(&order))).await.body;
    assert_eq!(shown["status"], "complete");
    assert_eq!(shown["version"], 1);
    // A paid ticket stays reserved for good.
    assert_eq!(
        node.client()
            .get(&format!("/api/tickets/{}", id(&ticket)))
            .await
            .body["orderId"],
        order["id"]
    );

    let twice = buyer
        .post(
            "/api/payments",
            json!({"token": "tok_visa", "orderId": id(&order)}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    assert_eq!(only_message(&twice), "Order has already been paid");
}

#[tokio::test]
async fn a_cancelled_order_cannot_be_paid() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let (_seller, buyer, _ticket, order) = ordered(&node, "Circus", json!(15)).await;
    buyer.delete(&format!("/api/orders/{}", id(&order))).await;
    let reply = buyer
        .post(
            "/api/payments",
            json!({"token": "tok_visa", "orderId": id(&order)}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(only_message(&reply), "Cannot pay for an cancelled order");
}

#[tokio::test]
async fn a_declined_card_is_a_clear_400_and_the_order_can_still_be_paid() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let (_seller, buyer, _ticket, order) = ordered(&node, "Comedy", json!(9.99)).await;
    let declined = buyer
        .post(
            "/api/payments",
            json!({"token": "tok_chargeDeclined", "orderId": id(&order)}),
        )
        .await;
    assert_eq!(declined.status, StatusCode::BAD_REQUEST);
    assert_eq!(only_message(&declined), "Your card was declined.");
    assert_eq!(
        buyer.get(&format!("/api/orders/{}", id(&order))).await.body["status"],
        "created"
    );
    let unknown_token = buyer
        .post(
            "/api/payments",
            json!({"token": "tok_bogus", "orderId": id(&order)}),
        )
        .await;
    assert_eq!(unknown_token.status, StatusCode::BAD_REQUEST);
    let paid = buyer
        .post(
            "/api/payments",
            json!({"token": "tok_visa", "orderId": id(&order)}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED);
}

#[tokio::test]
async fn healthz_says_when_payments_are_in_test_mode() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let health = node.client().get("/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["status"], "ok");
    assert_eq!(health.body["payments"]["mode"], "test");
    assert_eq!(health.body["payments"]["testMode"], true);
    assert!(
        node.log().iter().any(|line| line.contains("TEST MODE")),
        "the log says test mode"
    );
}
