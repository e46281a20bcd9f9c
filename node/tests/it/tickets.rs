//! `/api/tickets*` route by route: validation messages, the order of checks, versions, listing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use tix_tests::client::{Node, NodeOptions, id, only_message};

use crate::NODE;

#[tokio::test]
async fn creating_a_ticket_needs_a_session_before_anything_else() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let anonymous = node.client();
    let reply = anonymous
        .post("/api/tickets", json!({"title": "", "price": -1}))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.body,
        json!({"errors": [{"message": "Not authorized"}]})
    );
}

#[tokio::test]
async fn ticket_fields_are_validated_with_the_seed_messages() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let seller = node.client().user("seller@test.com").await;
    let both = seller
        .post("/api/tickets", json!({"title": "", "price": -10}))
        .await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        both.body,
        json!({"errors": [
            {"message": "Title is required", "field": "title"},
            {"message": "Price must be greater than 0", "field": "price"},
        ]})
    );
    for price in [
        json!(0),
        json!("abc"),
        json!(null),
        json!(true),
        json!("NaN"),
        json!([20]),
    ] {
        let reply = seller
            .post("/api/tickets", json!({"title": "Show", "price": price}))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{price}");
        assert_eq!(reply.body["errors"][0]["field"], "price", "{price}");
    }
    let no_title = seller.post("/api/tickets", json!({"price": 10})).await;
    assert_eq!(
        no_title.body,
        json!({"errors": [{"message": "Title is required", "field": "title"}]})
    );
    // The seed does not trim titles: a blank title passes.
    assert_eq!(
        seller
            .post("/api/tickets", json!({"title": " ", "price": 10}))
            .await
            .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_created_ticket_has_version_0_and_its_seller_and_accepts_a_numeric_string_price() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let mut seller = node.client();
    let me = seller.sign_up("seller@test.com").await;
    let ticket = seller.sell("Concert", json!("20.00")).await;
    assert_eq!(ticket["title"], "Concert");
    assert_eq!(ticket["price"], json!(20));
    assert_eq!(ticket["version"], 0);
    assert_eq!(ticket["userId"], me["id"]);
    assert!(ticket.get("orderId").is_none());
    let fetched = node
        .client()
        .get(&format!("/api/tickets/{}", id(&ticket)))
        .await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.body, ticket);
    let fractional = seller.sell("Cheap", json!(12.5)).await;
    assert_eq!(fractional["price"], json!(12.5));
}

#[tokio::test]
async fn showing_a_ticket_distinguishes_unknown_from_malformed_ids() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let client = node.client();
    let unknown = client.get("/api/tickets/5f8d0d55b54764421b7156c9").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body, json!({"errors": [{"message": "Not Found"}]}));
    let malformed = client.get("/api/tickets/abc").await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(only_message(&malformed), "Something went wrong");
}

#[tokio::test]
async fn the_list_shows_unreserved_tickets_in_listing_order() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let seller = node.client().user("seller@test.com").await;
    let buyer = node.client().user("buyer@test.com").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(id(&seller.sell(&format!("T{n}"), json!(10 + n)).await));
    }
    let listed: Vec<String> = node
        .client()
        .get("/api/tickets")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(listed, ids);
    let order = buyer.post("/api/orders", json!({"ticketId": ids[2]})).await;
    assert_eq!(order.status, StatusCode::CREATED);
    let listed: Vec<String> = node
        .client()
        .get("/api/tickets")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(
        listed,
        [
            ids[0].clone(),
            ids[1].clone(),
            ids[3].clone(),
            ids[4].clone()
        ]
    );
    // Reserved tickets still show by id, with their order.
    let reserved = node.client().get(&format!("/api/tickets/{}", ids[2])).await;
    assert_eq!(reserved.body["orderId"], order.body["id"]);
    assert_eq!(reserved.body["version"], 1);
    buyer
        .delete(&format!("/api/orders/{}", id(&order.body)))
        .await;
    let listed: Vec<String> = node
        .client()
        .get("/api/tickets")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(listed, ids, "a released ticket goes back to its place");
}

#[tokio::test]
async fn updating_checks_auth_then_validation_then_existence_then_reservation_then_ownership() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let seller = node.client().user("seller@test.com").await;
    let other = node.client().user("other@test.com").await;
    let ticket = seller.sell("Original", json!(10)).await;
    let path = format!("/api/tickets/{}", id(&ticket));

    let anonymous = node
        .client()
        .put(&path, json!({"title": "x", "price": 5}))
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    let invalid = seller
        .put(
            "/api/tickets/5f8d0d55b54764421b7156c9",
            json!({"title": "x", "price": 0}),
        )
        .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        invalid.body,
        json!({"errors": [{"message": "Price must be provided and must be greater than 0", "field": "price"}]})
    );

    let unknown = seller
        .put(
            "/api/tickets/5f8d0d55b54764421b7156c9",
            json!({"title": "x", "price": 5}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let malformed = seller
        .put("/api/tickets/zzz", json!({"title": "x", "price": 5}))
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(only_message(&malformed), "Something went wrong");

    let not_owner = other
        .put(&path, json!({"title": "Mine now", "price": 1}))
        .await;
    assert_eq!(not_owner.status, StatusCode::UNAUTHORIZED);

    let updated = seller
        .put(&path, json!({"title": "Renamed", "price": "15.5"}))
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(updated.body["title"], "Renamed");
    assert_eq!(updated.body["price"], json!(15.5));
    assert_eq!(updated.body["version"], 1);

    let order = other
        .post("/api/orders", json!({"ticketId": id(&ticket)}))
        .await;
    assert_eq!(order.status, StatusCode::CREATED);
    assert_eq!(
        order.body["ticket"]["price"],
        json!(15.5),
        "the order sees the price it locked"
    );
    for editor in [&seller, &other] {
        let reserved = editor
            .put(&path, json!({"title": "Later", "price": 99}))
            .await;
        assert_eq!(
            reserved.status,
            StatusCode::BAD_REQUEST,
            "reserved is checked before ownership"
        );
        assert_eq!(only_message(&reserved), "Cannot edit a reserved ticket");
    }
    let after: Value = node.client().get(&path).await.body;
    assert_eq!(after["price"], json!(15.5));
    assert_eq!(after["title"], "Renamed");
}
