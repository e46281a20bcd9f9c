//! `/api/orders*` route by route: placing (the lock), listing, showing, cancelling.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use serde_json::json;

use tix_tests::client::{Node, NodeOptions, id, only_message, ordered};

use crate::NODE;

#[tokio::test]
async fn placing_an_order_is_validated_like_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let anonymous = node.client().post("/api/orders", json!({})).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    let buyer = node.client().user("buyer@test.com").await;
    let missing = buyer.post("/api/orders", json!({})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.body,
        json!({"errors": [
            {"message": "Invalid value", "field": "ticketId"},
            {"message": "TicketId must be provided", "field": "ticketId"},
        ]})
    );
    let malformed = buyer.post("/api/orders", json!({"ticketId": "abc"})).await;
    assert_eq!(
        malformed.body,
        json!({"errors": [{"message": "TicketId must be provided", "field": "ticketId"}]})
    );
    let number = buyer.post("/api/orders", json!({"ticketId": 12})).await;
    assert_eq!(number.status, StatusCode::BAD_REQUEST);
    let unknown = buyer
        .post(
            "/api/orders",
            json!({"ticketId": "5f8d0d55b54764421b7156c9"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_order_locks_its_ticket_until_expires_at() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        NODE,
        &dir,
        NodeOptions {
            lock_ttl: Some("15m"),
            ..Default::default()
        },
    );
    let seller = node.client().user("seller@test.com").await;
    let mut buyer = node.client();
    let me = buyer.sign_up("buyer@test.com").await;
    let ticket = seller.sell("Opera", json!(45)).await;

    let before = SystemTime::now();
    let order = buyer
        .post("/api/orders", json!({"ticketId": id(&ticket)}))
        .await;
    assert_eq!(order.status, StatusCode::CREATED);
    let body = &order.body;
    assert_eq!(body["status"], "created");
    assert_eq!(body["userId"], me["id"]);
    assert_eq!(body["version"], 0);
    assert_eq!(
        body["ticket"],
        json!({"title": "Opera", "price": 45, "version": 0, "id": id(&ticket)})
    );
    let expires_at = humantime::parse_rfc3339(body["expiresAt"].as_str().unwrap()).unwrap();
    let ttl = expires_at.duration_since(before).unwrap();
    assert!(
        ttl > Duration::from_secs(899) && ttl < Duration::from_secs(905),
        "{ttl:?}"
    );
    assert!(body["expiresAt"].as_str().unwrap().ends_with('Z'));

    let second = node
        .client()
        .user("late@test.com")
        .await
        .post("/api/orders", json!({"ticketId": id(&ticket)}))
        .await;
    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    assert_eq!(only_message(&second), "Ticket is already reserved");
    let again = buyer
        .post("/api/orders", json!({"ticketId": id(&ticket)}))
        .await;
    assert_eq!(only_message(&again), "Ticket is already reserved");
}

#[tokio::test]
async fn a_user_sees_all_and_only_their_orders_in_the_order_placed() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let seller = node.client().user("seller@test.com").await;
    let alice = node.client().user("alice@test.com").await;
    let bob = node.client().user("bob@test.com").await;
    let mut mine = Vec::new();
    for n in 0..3 {
        let ticket = seller.sell(&format!("A{n}"), json!(5)).await;
        mine.push(id(&alice
            .post("/api/orders", json!({"ticketId": id(&ticket)}))
            .await
            .body));
    }
    let theirs = seller.sell("B", json!(5)).await;
    bob.post("/api/orders", json!({"ticketId": id(&theirs)}))
        .await;
    assert_eq!(
        alice
            .delete(&format!("/api/orders/{}", mine[1]))
            .await
            .status,
        StatusCode::NO_CONTENT
    );

    let listed = alice.get("/api/orders").await;
    assert_eq!(listed.status, StatusCode::OK);
    let orders = listed.body.as_array().unwrap();
    assert_eq!(orders.iter().map(id).collect::<Vec<_>>(), mine);
    assert_eq!(orders[1]["status"], "cancelled");
    assert_eq!(orders[0]["ticket"]["title"], "A0");
    assert_eq!(
        node.client().get("/api/orders").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        bob.get("/api/orders").await.body.as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn showing_an_order_checks_auth_id_existence_and_ownership() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let (seller, buyer, _ticket, order) = ordered(&node, "Gig", json!(30)).await;
    let path = format!("/api/orders/{}", id(&order));

    assert_eq!(
        node.client().get(&path).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        node.client().get("/api/orders/abc").await.status,
        StatusCode::UNAUTHORIZED,
        "auth comes first"
    );
    assert_eq!(
        buyer.get("/api/orders/abc").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        buyer
            .get("/api/orders/5f8d0d55b54764421b7156c9")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(seller.get(&path).await.status, StatusCode::UNAUTHORIZED);
    let shown = buyer.get(&path).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.body, order);
}

#[tokio::test]
async fn cancelling_releases_the_ticket_once_and_only_for_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let seller = node.client().user("seller@test.com").await;
    let alice = node.client().user("alice@test.com").await;
    let bob = node.client().user("bob@test.com").await;
    let ticket = seller.sell("Match", json!(60)).await;
    let ticket_path = format!("/api/tickets/{}", id(&ticket));
    let first = alice
        .post("/api/orders", json!({"ticketId": id(&ticket)}))
        .await
        .body;
    let first_path = format!("/api/orders/{}", id(&first));

    assert_eq!(
        node.client().delete(&first_path).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        bob.delete(&first_path).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        alice
            .delete("/api/orders/5f8d0d55b54764421b7156c9")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        alice.delete("/api/orders/nope").await.status,
        StatusCode::BAD_REQUEST
    );

    let cancelled = alice.delete(&first_path).await;
    assert_eq!(cancelled.status, StatusCode::NO_CONTENT);
    assert!(cancelled.text.is_empty());
    let shown = alice.get(&first_path).await.body;
    assert_eq!(shown["status"], "cancelled");
    assert_eq!(shown["version"], 1);
    let released = node.client().get(&ticket_path).await.body;
    assert!(released.get("orderId").is_none());
    assert_eq!(released["version"], 2);

    // Bob takes the ticket; Alice cancelling her old order again must not free Bob's lock.
    let second = bob
        .post("/api/orders", json!({"ticketId": id(&ticket)}))
        .await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert_eq!(
        alice.delete(&first_path).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        alice.get(&first_path).await.body["version"],
        1,
        "cancelling a cancelled order changes nothing"
    );
    let held = node.client().get(&ticket_path).await.body;
    assert_eq!(held["orderId"], second.body["id"]);
    let third = alice
        .post("/api/orders", json!({"ticketId": id(&ticket)}))
        .await;
    assert_eq!(only_message(&third), "Ticket is already reserved");
}

#[tokio::test]
async fn a_paid_order_cannot_be_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let (_seller, buyer, _ticket, order) = ordered(&node, "Final", json!(80)).await;
    let paid = buyer
        .post(
            "/api/payments",
            json!({"orderId": id(&order), "token": "tok_visa"}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED);
    let cancel = buyer.delete(&format!("/api/orders/{}", id(&order))).await;
    assert_eq!(cancel.status, StatusCode::BAD_REQUEST);
    assert_eq!(only_message(&cancel), "Cannot cancel a completed order");
    assert_eq!(
        buyer.get(&format!("/api/orders/{}", id(&order))).await.body["status"],
        "complete"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_account_cannot_hoard_the_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let node = crate::standalone(&dir);
    let staff = node.client().user("counter@test.com").await;
    let seller = node.client().user("seller@test.com").await;
    let hoarder = node.client().user("hoarder@test.com").await;
    let mut tickets = Vec::new();
    for n in 0..16 {
        tickets.push(seller.sell(&format!("Seat {n}"), json!(10)).await);
    }
    let order = |client: &tix_tests::client::Client, ticket: &serde_json::Value| {
        let client = client.clone();
        let body = json!({ "ticketId": id(ticket) });
        async move { client.post("/api/orders", body).await }
    };

    let mut held = Vec::new();
    // The default cap: ten unpaid orders per account.
    for ticket in &tickets[..10] {
        let placed = order(&hoarder, ticket).await;
        assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
        held.push(placed.body);
    }
    let eleventh = order(&hoarder, &tickets[10]).await;
    assert_eq!(
        eleventh.status,
        StatusCode::BAD_REQUEST,
        "{}",
        eleventh.text
    );
    assert_eq!(
        only_message(&eleventh),
        "You already have 10 unpaid orders: pay for or cancel one first"
    );
    assert_eq!(
        node.client()
            .get(&format!("/api/tickets/{}", id(&tickets[10])))
            .await
            .body["orderId"],
        serde_json::Value::Null,
        "the refused order locked nothing"
    );

    // A cancelled (or paid) order is no longer open.
    hoarder
        .delete(&format!("/api/orders/{}", id(&held[0])))
        .await;
    let paid = hoarder
        .post(
            "/api/payments",
            json!({"orderId": id(&held[1]), "token": "tok_visa"}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text);
    for ticket in &tickets[10..12] {
        let placed = order(&hoarder, ticket).await;
        assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
    }

    // Staff at the counter hold orders for many buyers at once.
    for ticket in &tickets[12..16] {
        let placed = order(&staff, ticket).await;
        assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
    }
}
