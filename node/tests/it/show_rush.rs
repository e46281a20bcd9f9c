//! Shows under a rush: hundreds of parties racing for the last seats of a row never share a seat
//! or get a partial order, and a kill -9 in the middle of an on-sale loses no acknowledged order.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use tix_tests::client::{Client, Node, NodeOptions, id};

use crate::NODE;
use crate::shows::{category, create, one_row, seats_of};

/// Places `parties` orders of 1 to 4 seats at once from `clients`; the answers by party size.
async fn rush(clients: &[Client], show_id: &str, parties: usize) -> Vec<(u64, StatusCode, Value)> {
    let clients = Arc::new(clients.to_vec());
    let mut tasks = tokio::task::JoinSet::new();
    for party in 0..parties {
        let clients = clients.clone();
        let path = format!("/api/shows/{show_id}/orders");
        tasks.spawn(async move {
            let quantity = (party % 4 + 1) as u64;
            let client = &clients[party % clients.len()];
            let reply = client
                .try_post(&path, json!({"category": "Seat", "quantity": quantity}))
                .await;
            reply.map(|r| (quantity, r.status, r.body))
        });
    }
    tasks.join_all().await.into_iter().flatten().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_parties_racing_for_the_last_seats_of_a_row_never_share_or_split() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        NODE,
        &dir,
        NodeOptions {
            env: vec![
                ("TIX_FIRST_USER_IS_STAFF".into(), "1".into()),
                ("TIX_MAX_OPEN_ORDERS".into(), "0".into()),
            ],
            ..Default::default()
        },
    );
    let staff = node.client().user("staff@test.com").await;
    let buyers = tix_tests::client::users(&node, "party", 8).await;
    let show = create(&staff, one_row(30)).await;
    let show_id = id(&show);
    let answers = rush(&buyers, &show_id, 300).await;
    assert_eq!(answers.len(), 300);
    let mut owner: HashMap<String, String> = HashMap::new();
    let mut seated = 0;
    for (quantity, status, body) in &answers {
        if *status != StatusCode::CREATED {
            assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
            continue;
        }
        let tickets = body["tickets"].as_array().unwrap();
        assert_eq!(tickets.len() as u64, *quantity, "all or nothing: {body}");
        let mut places: Vec<u32> = tickets
            .iter()
            .map(|t| {
                t["seat"]
                    .as_str()
                    .unwrap()
                    .rsplit_once(" seat ")
                    .unwrap()
                    .1
                    .parse()
                    .unwrap()
            })
            .collect();
        places.sort();
        assert!(
            places.windows(2).all(|w| w[1] == w[0] + 1),
            "a party apart: {places:?}"
        );
        for ticket in tickets {
            let previous = owner.insert(id(ticket), id(body));
            assert_eq!(previous, None, "a seat sold twice: {ticket}");
        }
        seated += tickets.len();
    }
    let map = node
        .client()
        .get(&format!("/api/shows/{show_id}/seats"))
        .await
        .body;
    let held: HashSet<String> = seats_of(&map)
        .into_iter()
        .filter(|s| s.4 == "h")
        .map(|s| s.0)
        .collect();
    assert_eq!(held, owner.keys().cloned().collect::<HashSet<_>>());
    assert!(
        seated >= 27,
        "only {seated} of 30 seated: the row should fill up to its last gaps"
    );
    let now = node
        .client()
        .get(&format!("/api/shows/{show_id}"))
        .await
        .body;
    assert_eq!(category(&now, "Seat")["held"], seated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_in_the_middle_of_an_on_sale_loses_no_acknowledged_order_and_sells_no_seat_twice()
{
    let dir = tempfile::tempdir().unwrap();
    let options = NodeOptions {
        env: vec![
            ("TIX_FIRST_USER_IS_STAFF".into(), "1".into()),
            ("TIX_MAX_OPEN_ORDERS".into(), "0".into()),
        ],
        ..Default::default()
    };
    let node = Node::start(NODE, &dir, options.clone());
    let staff = node.client().user("staff@test.com").await;
    let buyers = tix_tests::client::users(&node, "rush", 4).await;
    let show = create(
        &staff,
        json!({"title": "Rush", "startsAt": "2030-12-04T20:00:00Z",
               "categories": [{"name": "Seat", "price": "10.00"}],
               "generate": [{"section": "Stalls", "category": "Seat", "rows": 40, "seatsPerRow": 25}]}),
    )
    .await;
    let show_id = id(&show);
    // The kill comes once 10 rounds are answered (about 500 of the 1,000 seats asked for), however
    // fast the node sells: in the middle of the on-sale, not after it.
    let (halfway_tx, halfway) = tokio::sync::oneshot::channel();
    let rushing = {
        let buyers = buyers.clone();
        let show_id = show_id.clone();
        tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut halfway_tx = Some(halfway_tx);
            for round in 0..40 {
                if round == 10 {
                    halfway_tx.take().map(|tx| tx.send(()));
                }
                let answers = rush_without_node(&buyers, &show_id, 20, round).await;
                let done = answers.len() < 20;
                acknowledged.extend(
                    answers
                        .into_iter()
                        .filter(|a| a.0 == StatusCode::CREATED)
                        .map(|a| a.1),
                );
                if done {
                    break;
                }
            }
            acknowledged
        })
    };
    halfway.await.expect("10 rounds were answered");
    node.kill9();
    let acknowledged = rushing.await.unwrap();
    assert!(!acknowledged.is_empty(), "nothing was sold before the kill");

    let node = Node::start_in(NODE, dir.path(), options);
    let staff = staff.with_base(&node.url(""));
    let map = node
        .client()
        .get(&format!("/api/shows/{show_id}/seats"))
        .await
        .body;
    let held: HashSet<String> = seats_of(&map)
        .into_iter()
        .filter(|s| s.4 == "h")
        .map(|s| s.0)
        .collect();
    let mut seen = HashSet::new();
    for order in &acknowledged {
        for ticket in order["tickets"].as_array().unwrap() {
            assert!(seen.insert(id(ticket)), "a seat in two acknowledged orders");
            assert!(
                held.contains(&id(ticket)),
                "an acknowledged seat was lost: {ticket}"
            );
        }
    }
    let now = node
        .client()
        .get(&format!("/api/shows/{show_id}"))
        .await
        .body;
    assert!(
        held.len() < 1000,
        "sold out before the kill: {}",
        held.len()
    );
    assert_eq!(category(&now, "Seat")["held"], held.len());
    assert_eq!(category(&now, "Seat")["available"], 1000 - held.len());
    // And it sells on: best available after the restart agrees with what survived.
    let more = staff
        .post(
            &format!("/api/shows/{show_id}/orders"),
            json!({"category": "Seat", "quantity": 4}),
        )
        .await;
    assert_eq!(more.status, StatusCode::CREATED, "{}", more.text);
    for ticket in more.body["tickets"].as_array().unwrap() {
        assert!(
            !held.contains(&id(ticket)),
            "sold again after the restart: {ticket}"
        );
    }
}

/// One round of `parties` orders at once; stops counting at the first that cannot reach the node.
async fn rush_without_node(
    clients: &[Client],
    show_id: &str,
    parties: usize,
    round: usize,
) -> Vec<(StatusCode, Value)> {
    let mut tasks = tokio::task::JoinSet::new();
    for party in 0..parties {
        let client = clients[(party + round) % clients.len()].clone();
        let path = format!("/api/shows/{show_id}/orders");
        tasks.spawn(async move {
            let quantity = (party + round) % 4 + 1;
            client
                .try_post(&path, json!({"category": "Seat", "quantity": quantity}))
                .await
                .map(|r| (r.status, r.body))
        });
    }
    tasks.join_all().await.into_iter().flatten().collect()
}
