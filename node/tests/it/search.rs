//! Ticket search: ranking, typos and prefixes, filters, consistency with locks and sales, rebuilding
//! a missing or damaged index, and bad queries.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use tix_tests::client::{Client, Node, NodeOptions, eventually, id};

use crate::NODE;

/// Waits until the index has followed every event the node wrote.
async fn caught_up(client: &Client) {
    let done = eventually(Duration::from_secs(30), || async {
        let health = client.get("/healthz").await.body;
        health["search"]["ready"] == true
            && health["search"]["indexedSeq"].as_u64() >= health["events"]["lastSeq"].as_u64()
    })
    .await;
    assert!(
        done,
        "search caught up: {}",
        client.get("/healthz").await.text
    );
}

async fn titles(client: &Client, query: &str) -> Vec<String> {
    let reply = client.get(&format!("/api/search?{query}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text);
    reply
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn catalogue(node: &Node) -> Client {
    let seller = node.client().user("seller@test.com").await;
    for (title, price) in [
        ("Jazz Friday Night", 30),
        ("Friday Rock Party", 25),
        ("Taylor Swift: The Eras Tour", 250),
        ("Bach Cello Suites", 40),
        ("Back to Black tribute", 20),
        ("Jazz Brunch Sunday", 15),
        ("Zoë Keating live", 35),
    ] {
        seller.sell(title, json!(price)).await;
    }
    caught_up(&seller).await;
    seller
}

#[tokio::test]
async fn finds_by_words_prefixes_and_typos_and_ranks_exact_matches_first() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let client = catalogue(&node).await;

    assert_eq!(titles(&client, "q=jazz+frid").await, ["Jazz Friday Night"]);
    assert_eq!(
        titles(&client, "q=taylr+swft").await,
        ["Taylor Swift: The Eras Tour"]
    );
    assert_eq!(
        titles(&client, "q=taylor+sw").await,
        ["Taylor Swift: The Eras Tour"]
    );
    let bach = titles(&client, "q=bach").await;
    assert_eq!(
        bach,
        ["Bach Cello Suites", "Back to Black tribute"],
        "the exact word first, the one-typo match after"
    );
    assert_eq!(titles(&client, "q=zoe").await, ["Zoë Keating live"]);
    let friday = titles(&client, "q=friday").await;
    assert_eq!(friday.len(), 2);
    let all = titles(&client, "q=&limit=100").await;
    assert_eq!(all.len(), 7, "an empty query lists everything");
    assert!(titles(&client, "q=opera").await.is_empty());

    // Hits carry the contract's ticket JSON plus a score.
    let reply = client.get("/api/search?q=jazz").await;
    let hit = &reply.body[0];
    for field in ["id", "title", "price", "userId", "version", "score"] {
        assert!(!hit[field].is_null(), "{field} in {hit}");
    }
    let scores: Vec<f64> = reply
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "ranked: {scores:?}"
    );
}

#[tokio::test]
async fn filters_by_price_and_availability_and_follows_locks_and_sales() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let seller = catalogue(&node).await;
    assert_eq!(
        titles(&seller, "q=jazz&minPrice=20&maxPrice=40").await,
        ["Jazz Friday Night"]
    );
    assert_eq!(
        titles(&seller, "maxPrice=20&limit=100").await.len(),
        2,
        "without text, the price filter alone"
    );

    let jazz = seller.get("/api/search?q=jazz+friday").await.body[0].clone();
    let buyer = node.client().user("buyer@test.com").await;
    let order = buyer
        .post("/api/orders", json!({ "ticketId": id(&jazz) }))
        .await;
    assert_eq!(order.status, StatusCode::CREATED);
    let gone = eventually(Duration::from_secs(2), || async {
        titles(&seller, "q=jazz&available=true").await == ["Jazz Brunch Sunday"]
    })
    .await;
    assert!(gone, "a locked ticket leaves the available results");
    let locked = seller.get("/api/search?q=jazz+friday").await.body[0].clone();
    assert_eq!(
        locked["orderId"], order.body["id"],
        "still found without the filter, as locked"
    );

    // Released: back in the available results.
    let cancel = buyer
        .delete(&format!("/api/orders/{}", id(&order.body)))
        .await;
    assert_eq!(cancel.status, StatusCode::NO_CONTENT, "{}", cancel.text);
    let back = eventually(Duration::from_secs(2), || async {
        titles(&seller, "q=jazz&available=true").await.len() == 2
    })
    .await;
    assert!(back, "a released ticket is available again");

    // Sold: gone for good.
    let order = buyer
        .post("/api/orders", json!({ "ticketId": id(&jazz) }))
        .await;
    let paid = buyer
        .post(
            "/api/payments",
            json!({ "orderId": id(&order.body), "token": "tok_visa" }),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text);
    let sold = eventually(Duration::from_secs(2), || async {
        titles(&seller, "q=jazz&available=true").await == ["Jazz Brunch Sunday"]
    })
    .await;
    assert!(sold, "a sold ticket is not available");
}

#[tokio::test]
async fn a_page_holds_the_best_matches_and_an_edit_after_a_release_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let seller = node.client().user("seller@test.com").await;
    // Details matches listed between the title matches, so the index meets them among the first
    // whatever its segments: they must still rank below every title match.
    let mut listed = Vec::new();
    for n in 0..24 {
        let club = seller
            .post(
                "/api/tickets",
                json!({ "title": format!("Late Set {n}"), "price": 30, "show": "Jazz Club" }),
            )
            .await;
        assert_eq!(club.status, StatusCode::CREATED, "{}", club.text);
        listed.push(seller.sell(&format!("Jazz Night {n}"), json!(20)).await);
    }
    caught_up(&seller).await;

    let first = titles(&seller, "q=jazz&limit=10").await;
    assert_eq!(first.len(), 10);
    assert!(
        first.iter().all(|t| t.starts_with("Jazz Night")),
        "{first:?}"
    );
    let last = titles(&seller, "q=jazz&limit=10&offset=20").await;
    assert_eq!(last.len(), 10, "{last:?}");
    assert!(
        last[..4].iter().all(|t| t.starts_with("Jazz Night"))
            && last[4..].iter().all(|t| t.starts_with("Late Set")),
        "the details matches come after the title matches: {last:?}"
    );
    let all: Vec<String> = [
        titles(&seller, "q=jazz+ni&limit=10").await,
        titles(&seller, "q=jazz+ni&limit=10&offset=10").await,
        titles(&seller, "q=jazz+ni&limit=10&offset=20").await,
    ]
    .concat();
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        (all.len(), unique.len()),
        (24, 24),
        "pages of a prefix query neither repeat nor skip: {all:?}"
    );
    let dearer = titles(&seller, "q=jazz&available=true&limit=100&minPrice=25").await;
    assert_eq!(dearer.len(), 24, "{dearer:?}");
    assert!(dearer.iter().all(|t| t.starts_with("Late Set")));

    // A lock and a release leave the indexed text alone; an edit after them is searchable.
    let ticket = &listed[3];
    let buyer = node.client().user("buyer@test.com").await;
    let order = buyer
        .post("/api/orders", json!({ "ticketId": id(ticket) }))
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text);
    let cancel = buyer
        .delete(&format!("/api/orders/{}", id(&order.body)))
        .await;
    assert_eq!(cancel.status, StatusCode::NO_CONTENT, "{}", cancel.text);
    let edit = seller
        .put(
            &format!("/api/tickets/{}", id(ticket)),
            json!({ "title": "Cello Morning", "price": 20 }),
        )
        .await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.text);
    caught_up(&seller).await;
    assert_eq!(titles(&seller, "q=cello").await, ["Cello Morning"]);
    assert_eq!(titles(&seller, "q=jazz+night&limit=100").await.len(), 23);
}

#[tokio::test]
async fn a_missing_or_damaged_index_is_rebuilt_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    catalogue(&node).await;
    node.terminate();

    std::fs::remove_dir_all(dir.path().join("search")).unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let client = node.client();
    // The node serves at once; until the index is rebuilt, search says so (and nothing else).
    let answered = eventually(Duration::from_secs(30), || async {
        let reply = client.get("/api/search?q=cello").await;
        if reply.status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(
                reply.body["errors"][0]["message"],
                "Search is warming up; try again in a moment"
            );
        } else {
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        }
        reply.status == StatusCode::OK
    })
    .await;
    assert!(answered);
    caught_up(&client).await;
    assert_eq!(titles(&client, "q=cello").await, ["Bach Cello Suites"]);
    node.terminate();

    // Damage every file of the index.
    for entry in std::fs::read_dir(dir.path().join("search")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && !path.ends_with(".tantivy-writer.lock") {
            std::fs::write(&path, b"garbage").unwrap();
        }
    }
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let client = node.client();
    caught_up(&client).await;
    assert_eq!(titles(&client, "q=cello").await, ["Bach Cello Suites"]);
    assert_eq!(titles(&client, "limit=100").await.len(), 7);
    node.terminate();

    // An index written by an older schema version is rebuilt too.
    let meta_path = dir.path().join("search/meta.json");
    let mut meta: Value = serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    let mut position: Value = serde_json::from_str(meta["payload"].as_str().unwrap()).unwrap();
    position["version"] = json!(1);
    meta["payload"] = json!(position.to_string());
    std::fs::write(&meta_path, meta.to_string()).unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let client = node.client();
    caught_up(&client).await;
    assert_eq!(titles(&client, "q=cello").await, ["Bach Cello Suites"]);
    assert!(
        node.log()
            .iter()
            .any(|line| line.contains("building the search index")
                && line.contains("another schema")),
        "rebuilt because of the schema"
    );
}

#[tokio::test]
async fn bad_queries_get_a_400_or_no_results_never_a_5xx() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let client = catalogue(&node).await;
    let long = "a".repeat(201);
    for (query, status) in [
        ("q=%22jazz", 200),
        ("q=jazz%22%20AND%20(", 200),
        ("q=%F0%9F%8E%B7", 200),
        ("q=%EF%BD%8A%EF%BD%81%EF%BD%9A%EF%BD%9A", 200),
        ("q=%00%01", 200),
        ("q=*:*", 200),
        ("q=title:jazz", 200),
        (&format!("q={long}"), 400),
        ("limit=-1", 400),
        ("limit=0", 400),
        ("limit=101", 400),
        ("offset=-5", 400),
        ("offset=99999999999999999999999", 400),
        ("minPrice=abc", 400),
        ("minPrice=-1", 400),
        ("maxPrice=NaN", 400),
        ("maxPrice=inf", 400),
        ("minPrice=50&maxPrice=10", 400),
        ("available=yes", 400),
    ] {
        let reply = client.get(&format!("/api/search?{query}")).await;
        assert_eq!(reply.status.as_u16(), status, "{query}: {}", reply.text);
        if status == 400 {
            let errors = reply.body["errors"].as_array().unwrap();
            assert!(!errors[0]["field"].is_null(), "{query}: {}", reply.text);
        } else {
            assert!(reply.body.is_array(), "{query}: {}", reply.text);
        }
    }
    let odd: Vec<Value> = client
        .get("/api/search?q=%F0%9F%8E%B7")
        .await
        .body
        .as_array()
        .unwrap()
        .clone();
    assert!(odd.is_empty(), "symbols alone find nothing");
}

#[tokio::test]
async fn tickets_carry_optional_details_that_search_finds_below_title_matches() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let seller = node.client().user("seller@test.com").await;
    let detailed = seller
        .post(
            "/api/tickets",
            json!({ "title": "Late Set", "price": 30, "show": "Blue Note Jazz Quartet",
                    "venue": "Main Hall", "startsAt": "2026-12-04T20:00:00Z", "seat": "Row F 12" }),
        )
        .await;
    assert_eq!(detailed.status, StatusCode::CREATED, "{}", detailed.text);
    assert_eq!(detailed.body["show"], "Blue Note Jazz Quartet");
    assert_eq!(detailed.body["startsAt"], "2026-12-04T20:00:00.000Z");
    let plain = seller.sell("Jazz Standards", json!(20)).await;
    for key in ["show", "venue", "startsAt", "seat"] {
        assert!(
            plain.get(key).is_none(),
            "a seed-style ticket has no {key}: {plain}"
        );
    }
    caught_up(&seller).await;

    assert_eq!(
        titles(&seller, "q=jazz").await,
        ["Jazz Standards", "Late Set"],
        "a title match ranks above a match in the details"
    );
    assert_eq!(
        titles(&seller, "q=jazz+frid").await,
        ["Late Set"],
        "the start's weekday"
    );
    assert_eq!(titles(&seller, "q=main+hall+row+f").await, ["Late Set"]);

    // An edit that leaves the details out keeps them; an empty one clears it.
    let path = format!("/api/tickets/{}", id(&detailed.body));
    let kept = seller
        .put(&path, json!({ "title": "Late Set", "price": 35 }))
        .await;
    assert_eq!(kept.body["venue"], "Main Hall", "{}", kept.text);
    let cleared = seller
        .put(
            &path,
            json!({ "title": "Late Set", "price": 35, "venue": "" }),
        )
        .await;
    assert!(cleared.body.get("venue").is_none(), "{}", cleared.text);
    assert_eq!(cleared.body["seat"], "Row F 12");

    for (body, field) in [
        (
            json!({ "title": "X", "price": 1, "startsAt": "next friday" }),
            "startsAt",
        ),
        (json!({ "title": "X", "price": 1, "show": 42 }), "show"),
        (
            json!({ "title": "X", "price": 1, "seat": "s".repeat(121) }),
            "seat",
        ),
    ] {
        let reply = seller.post("/api/tickets", body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(reply.body["errors"][0]["field"], field, "{}", reply.text);
    }
}

#[tokio::test]
async fn search_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let options = NodeOptions {
        env: vec![("TIX_SEARCH".into(), "false".into())],
        ..NodeOptions::default()
    };
    let node = Node::start(NODE, &dir, options);
    let client = node.client();
    let reply = client.get("/api/search?q=jazz").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        reply.body["errors"][0]["message"],
        "Search is turned off on this node"
    );
    assert_eq!(
        client.get("/healthz").await.body["search"]["enabled"],
        false
    );
    assert!(!dir.path().join("search").exists(), "no index is built");
}
