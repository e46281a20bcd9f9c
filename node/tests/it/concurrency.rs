//! Races: many buyers on one ticket, and a seller editing while buyers race.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Barrier;

use tix_tests::client::{Node, NodeOptions, id, only_message, users};

use crate::NODE;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundreds_of_buyers_on_one_ticket_make_exactly_one_order() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let seller = node.client().user("seller@test.com").await;
    let buyers = users(&node, "buyer", 100).await;
    for round in 0..3 {
        let ticket = seller
            .sell(&format!("Hot ticket {round}"), json!(100))
            .await;
        let start = Arc::new(Barrier::new(buyers.len() * 3));
        let mut tasks = tokio::task::JoinSet::new();
        // Three requests per buyer: 300 concurrent attempts on one ticket.
        for buyer in buyers
            .iter()
            .flat_map(|b| [b.clone(), b.clone(), b.clone()])
        {
            let start = start.clone();
            let ticket_id = id(&ticket);
            tasks.spawn(async move {
                start.wait().await;
                buyer
                    .post("/api/orders", json!({"ticketId": ticket_id}))
                    .await
            });
        }
        let replies = tasks.join_all().await;
        let winners: Vec<&Value> = replies
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .map(|r| &r.body)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: exactly one winner");
        for loser in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
            assert_eq!(loser.status, StatusCode::BAD_REQUEST);
            assert_eq!(only_message(loser), "Ticket is already reserved");
        }
        let stored = node
            .client()
            .get(&format!("/api/tickets/{}", id(&ticket)))
            .await
            .body;
        assert_eq!(
            stored["orderId"], winners[0]["id"],
            "the tickets service agrees on the holder"
        );
        assert_eq!(stored["version"], 1, "exactly one lock was recorded");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_seller_editing_while_buyers_race_never_changes_a_locked_price() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let seller = node.client().user("seller@test.com").await;
    let buyers = users(&node, "racer", 30).await;
    for round in 0..10 {
        let ticket = seller.sell(&format!("Contested {round}"), json!(10)).await;
        let path = format!("/api/tickets/{}", id(&ticket));
        let start = Arc::new(Barrier::new(buyers.len() + 1));
        let mut orders = tokio::task::JoinSet::new();
        for buyer in buyers.clone() {
            let start = start.clone();
            let ticket_id = id(&ticket);
            orders.spawn(async move {
                start.wait().await;
                buyer
                    .post("/api/orders", json!({"ticketId": ticket_id}))
                    .await
            });
        }
        let editor = {
            let seller = seller.clone();
            let path = path.clone();
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                let mut outcomes = Vec::new();
                for price in 11..31 {
                    let reply = seller
                        .put(&path, json!({"title": "Contested", "price": price}))
                        .await;
                    outcomes.push((price, reply.status, reply.body));
                }
                outcomes
            })
        };
        let replies = orders.join_all().await;
        let edits = editor.await.unwrap();
        let winners: Vec<&Value> = replies
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .map(|r| &r.body)
            .collect();
        assert_eq!(winners.len(), 1);
        let locked_price = winners[0]["ticket"]["price"].clone();
        let final_ticket = node.client().get(&path).await.body;
        assert_eq!(
            final_ticket["price"], locked_price,
            "round {round}: the order pays what it locked"
        );
        // Every accepted edit happened before the lock; every refused one says why.
        let accepted: Vec<i64> = edits
            .iter()
            .filter(|(_, s, _)| *s == StatusCode::OK)
            .map(|(p, _, _)| *p)
            .collect();
        let expected_price = accepted.last().copied().unwrap_or(10);
        assert_eq!(
            locked_price,
            json!(expected_price),
            "round {round}: edits {accepted:?}"
        );
        for (_, status, body) in edits.iter().filter(|(_, s, _)| *s != StatusCode::OK) {
            assert_eq!(*status, StatusCode::BAD_REQUEST);
            assert_eq!(
                body["errors"][0]["message"],
                "Cannot edit a reserved ticket"
            );
        }
        let refused_after_accepted = edits
            .windows(2)
            .any(|w| w[0].1 == StatusCode::BAD_REQUEST && w[1].1 == StatusCode::OK);
        assert!(!refused_after_accepted, "once locked, no edit lands");
    }
}
