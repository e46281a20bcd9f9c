//! Locks end on time: expiry within a second of `expiresAt`, across a graceful restart and a kill -9.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use serde_json::{Value, json};

use tix_tests::client::{Client, Node, NodeOptions, eventually, id, only_message};

use crate::NODE;

fn expires_at(order: &Value) -> SystemTime {
    humantime::parse_rfc3339(order["expiresAt"].as_str().unwrap()).unwrap()
}

async fn status_of(client: &Client, order: &Value) -> String {
    client.get(&format!("/api/orders/{}", id(order))).await.body["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn an_unpaid_order_expires_within_a_second_and_frees_its_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        NODE,
        &dir,
        NodeOptions {
            lock_ttl: Some("2s"),
            ..Default::default()
        },
    );
    let seller = node.client().user("seller@test.com").await;
    let buyer = node.client().user("buyer@test.com").await;
    let ticket = seller.sell("Short lock", json!(5)).await;
    let order = buyer
        .post("/api/orders", json!({"ticketId": id(&ticket)}))
        .await
        .body;
    assert_eq!(status_of(&buyer, &order).await, "created");

    let deadline = expires_at(&order);
    tokio::time::sleep(
        deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default(),
    )
    .await;
    // The client may be scheduled late on a busy machine, so it observes with some slack; the
    // guarantee itself is checked on the node's own measurement of how late the release was.
    let expired = eventually(Duration::from_secs(3), || async {
        status_of(&buyer, &order).await == "cancelled"
    })
    .await;
    assert!(expired, "the order was cancelled after expiresAt");
    // The scheduler records the release once the writer has finished all its reactions, a moment
    // after the cancellation itself is visible.
    let health = node.client();
    let recorded = eventually(Duration::from_secs(3), || async {
        health.get("/healthz").await.body["locks"]["expiry"]["expired"] == 1
    })
    .await;
    assert!(recorded, "the node recorded one expiry");
    let lateness = health.get("/healthz").await.body["locks"]["expiry"].clone();
    assert!(
        lateness["maxMs"].as_u64().unwrap() < 1000,
        "released within a second: {lateness}"
    );
    let shown = buyer.get(&format!("/api/orders/{}", id(&order))).await.body;
    assert_eq!(shown["version"], 1);
    let ticket_now = node
        .client()
        .get(&format!("/api/tickets/{}", id(&ticket)))
        .await
        .body;
    assert!(ticket_now.get("orderId").is_none());
    let listed = node.client().get("/api/tickets").await.body;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == ticket["id"])
    );
    let pay = buyer
        .post(
            "/api/payments",
            json!({"orderId": id(&order), "token": "tok_visa"}),
        )
        .await;
    assert_eq!(only_message(&pay), "Cannot pay for an cancelled order");
    let health = node.client().get("/healthz").await.body;
    assert_eq!(health["locks"]["pending"], 0);
    assert_eq!(health["locks"]["expiry"]["expired"], 1);
    // Someone else can now lock it.
    let again = node
        .client()
        .user("next@test.com")
        .await
        .post("/api/orders", json!({"ticketId": id(&ticket)}))
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
}

/// Places `count` orders on fresh tickets; returns the orders.
async fn place_orders(seller: &Client, buyer: &Client, count: usize) -> Vec<Value> {
    let mut orders = Vec::new();
    for n in 0..count {
        let ticket = seller.sell(&format!("Restart {n}"), json!(10)).await;
        let order = buyer
            .post("/api/orders", json!({"ticketId": id(&ticket)}))
            .await;
        assert_eq!(order.status, StatusCode::CREATED);
        orders.push(order.body);
    }
    orders
}

/// Every order is cancelled soon after the node is back, and its ticket is free.
///
/// The ticket's `orderId` follows the order by reaction, committed a moment after the order's own
/// transaction, so a reader may see the cancelled order just before the released ticket: both are
/// awaited within the same bound.
async fn assert_all_expired_promptly(node: &Node, buyer: &Client, orders: &[Value]) {
    let buyer = Client::new(&node.url("")).with_cookie(buyer.cookie.clone());
    let all_cancelled = eventually(Duration::from_secs(2), || async {
        let listed = buyer.get("/api/orders").await.body;
        listed.as_array().is_some_and(|list| {
            list.len() == orders.len() && list.iter().all(|o| o["status"] == "cancelled")
        })
    })
    .await;
    assert!(
        all_cancelled,
        "overdue locks are released right after start-up"
    );
    let client = node.client();
    let all_released = eventually(Duration::from_secs(2), || async {
        let mut released = true;
        for order in orders {
            let path = format!("/api/tickets/{}", order["ticket"]["id"].as_str().unwrap());
            released &= client.get(&path).await.body.get("orderId").is_none();
        }
        released
    })
    .await;
    assert!(
        all_released,
        "every ticket of a cancelled order is released"
    );
    assert_eq!(
        node.client().get("/healthz").await.body["locks"]["pending"],
        0
    );
}

/// Places five 2-second locks, stops the node with `stop`, waits until they are all overdue, and
/// starts the node again. Returns the new node, the buyer and the orders.
async fn restart_after_locks_fall_due(
    dir: &tempfile::TempDir,
    stop: impl FnOnce(Node),
) -> (Node, Client, Vec<Value>) {
    let options = NodeOptions {
        lock_ttl: Some("2s"),
        ..Default::default()
    };
    let node = Node::start(NODE, dir, options.clone());
    let seller = node.client().user("seller@test.com").await;
    let buyer = node.client().user("buyer@test.com").await;
    let orders = place_orders(&seller, &buyer, 5).await;
    stop(node);
    let last_deadline = orders.iter().map(expires_at).max().unwrap();
    let overdue = last_deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    tokio::time::sleep(overdue + Duration::from_millis(500)).await;
    (Node::start(NODE, dir, options), buyer, orders)
}

#[tokio::test]
async fn locks_that_fall_due_during_a_graceful_stop_are_released_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let (node, buyer, orders) = restart_after_locks_fall_due(&dir, |node| {
        let status = node.terminate();
        assert!(status.success(), "graceful stop exits 0: {status:?}");
    })
    .await;
    let replayed = node
        .log()
        .iter()
        .any(|line| line.contains("replaying reactions"));
    assert!(
        !replayed,
        "a graceful stop checkpoints every store, so nothing is replayed"
    );
    assert_all_expired_promptly(&node, &buyer, &orders).await;
}

#[tokio::test]
async fn locks_that_fall_due_after_a_kill_9_are_released_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let (node, buyer, orders) = restart_after_locks_fall_due(&dir, Node::kill9).await;
    assert_all_expired_promptly(&node, &buyer, &orders).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_9_under_load_loses_no_acknowledged_order_and_leaves_stores_consistent() {
    let dir = tempfile::tempdir().unwrap();
    // One buyer stands for many here: no cap on its open orders.
    let options = NodeOptions {
        args: vec!["--max-open-orders".into(), "0".into()],
        ..NodeOptions::default()
    };
    let node = Node::start(NODE, &dir, options.clone());
    let seller = node.client().user("seller@test.com").await;
    let buyer = node.client().user("buyer@test.com").await;
    let mut tickets = Vec::new();
    for n in 0..150 {
        tickets.push(id(&seller.sell(&format!("Load {n}"), json!(10)).await));
    }
    // Orders stream in from 8 workers; the node is killed while they run.
    let mut workers = tokio::task::JoinSet::new();
    let placed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for chunk in tickets
        .chunks(tickets.len() / 8 + 1)
        .map(<[String]>::to_vec)
    {
        let buyer = buyer.clone();
        let placed = placed.clone();
        workers.spawn(async move {
            let mut acknowledged = Vec::new();
            for ticket in chunk {
                let attempt = buyer.try_post("/api/orders", json!({"ticketId": ticket}));
                let Ok(reply) = tokio::time::timeout(Duration::from_secs(5), attempt).await else {
                    break;
                };
                match reply {
                    Some(reply) if reply.status == StatusCode::CREATED => {
                        placed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        acknowledged.push(reply.body)
                    }
                    Some(_) => {}
                    None => break,
                }
            }
            acknowledged
        });
    }
    // Kill once the orders are flowing (a few dozen acknowledged), wherever the writer is then.
    let flowing = eventually(Duration::from_secs(20), || async {
        placed.load(std::sync::atomic::Ordering::Relaxed) >= 30
    })
    .await;
    assert!(flowing, "orders are being placed");
    node.kill9();
    let acknowledged: Vec<Value> = workers.join_all().await.into_iter().flatten().collect();
    assert!(
        !acknowledged.is_empty(),
        "some orders were placed before the kill"
    );

    let node = Node::start(NODE, &dir, options);
    let buyer = Client::new(&node.url("")).with_cookie(buyer.cookie.clone());
    let stored = buyer.get("/api/orders").await.body;
    let stored_ids: Vec<String> = stored.as_array().unwrap().iter().map(id).collect();
    for order in &acknowledged {
        assert!(
            stored_ids.contains(&id(order)),
            "acknowledged order {} survived",
            id(order)
        );
    }
    // Every stored order holds its ticket in the tickets store too (reactions were replayed).
    for order in stored.as_array().unwrap() {
        let ticket = node
            .client()
            .get(&format!(
                "/api/tickets/{}",
                order["ticket"]["id"].as_str().unwrap()
            ))
            .await
            .body;
        assert_eq!(ticket["orderId"], order["id"]);
    }
    let health = node.client().get("/healthz").await.body;
    assert_eq!(
        health["locks"]["pending"].as_u64().unwrap(),
        stored_ids.len() as u64
    );
}
