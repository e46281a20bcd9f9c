//! `GET /api/tickets` over a catalogue too big for one piece: the answer is streamed (chunked, no
//! `Content-Length` decided up front) and is byte for byte the seed's JSON array.

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use serde_json::{Value, json};

use tix_tests::client::{Node, NodeOptions, id};

use crate::NODE;

/// Enough tickets for several of the list's pieces.
const TICKETS: usize = 700;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_ticket_list_is_streamed_as_the_same_json_array() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let seller = node.client().user("seller@test.com").await;
    let limit = Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..TICKETS {
        let seller = seller.clone();
        let limit = limit.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.unwrap();
            seller
                .sell(
                    &format!("Row {} seat {}", n / 20, n % 20),
                    json!(10 + n % 7),
                )
                .await
        });
    }
    tasks.join_all().await;
    // One ticket held by an order is not on the list.
    let first = seller.get("/api/tickets").await.body[0].clone();
    let buyer = node.client().user("buyer@test.com").await;
    let order = buyer
        .post("/api/orders", json!({ "ticketId": id(&first) }))
        .await;
    assert_eq!(order.status, StatusCode::CREATED);

    let response = reqwest::get(node.url("/api/tickets")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    assert!(
        headers.get(CONTENT_LENGTH).is_none()
            && headers
                .get(TRANSFER_ENCODING)
                .is_some_and(|v| v == "chunked"),
        "a {} byte list was built whole before sending (content-length {:?})",
        text.len(),
        headers.get(CONTENT_LENGTH)
    );

    // Byte for byte the array of the tickets' own JSON, in listing order.
    let list: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(list.len(), TICKETS - 1);
    assert!(list.iter().all(|t| t["id"] != first["id"]));
    let mut expected = Vec::new();
    for ticket in &list {
        let own = seller.get(&format!("/api/tickets/{}", id(ticket))).await;
        expected.push(own.body);
    }
    assert_eq!(
        text,
        serde_json::to_string(&Value::Array(expected)).unwrap()
    );

    // An empty catalogue is still `[]`.
    let empty_dir = tempfile::tempdir().unwrap();
    let empty = Node::start(NODE, &empty_dir, NodeOptions::default());
    let reply = empty.client().get("/api/tickets").await;
    assert_eq!(reply.text, "[]");
}
