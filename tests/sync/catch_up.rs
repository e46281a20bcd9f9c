//! A venue restored from a backup taken before 1,000 further sales gets every one of them back
//! from the hub before it serves, and syncs on from there.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::task::JoinSet;

use tix_tests::within;

use crate::SERIAL;
use crate::checker::{check, wait_for_sync};
use crate::harness::{OneVenue, VENUE, node_health, start_node};
use crate::load::list_tickets;
use crate::restore::{hub_holds, path, seq, task};

const SYNC_LIMIT: Duration = Duration::from_secs(120);
const SALES: usize = 1000;

/// A buyer signed up on the node at `base`, with their session cookie.
struct Buyer {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Buyer {
    async fn sign_up(base: &str, email: &str) -> Buyer {
        let http = reqwest::Client::new();
        let reply = http
            .post(format!("{base}/api/users/signup"))
            .json(&json!({ "email": email, "password": "password" }))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 201, "{email} signs up");
        let cookie = reply.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        Buyer {
            http,
            base: base.to_owned(),
            cookie,
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .timeout(Duration::from_secs(20));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = request.send().await.unwrap();
        let status = reply.status().as_u16();
        (status, reply.json().await.unwrap_or(Value::Null))
    }

    /// Orders and pays for `ticket`; the order's id.
    async fn buy(&self, ticket: &str) -> String {
        let (status, order) = self
            .send(
                reqwest::Method::POST,
                "/api/orders",
                Some(json!({ "ticketId": ticket })),
            )
            .await;
        assert_eq!(status, 201, "{order}");
        let id = order["id"].as_str().unwrap().to_owned();
        let (status, paid) = self
            .send(
                reqwest::Method::POST,
                "/api/payments",
                Some(json!({ "orderId": id, "token": "tok_visa" })),
            )
            .await;
        assert_eq!(status, 201, "{paid}");
        id
    }
}

async fn available(base: &str) -> Vec<String> {
    let tickets: Value = reqwest::get(format!("{base}/api/tickets"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tickets
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_restored_from_an_older_backup_gets_every_later_sale_back_from_the_hub() {
    let _serial = SERIAL.lock().await;
    within(Duration::from_secs(420), async {
        let OneVenue {
            broker: _broker,
            dir,
            hub_db,
            hub,
            node_dir,
            node,
            url,
        } = OneVenue::start(crate::harness::venue_broker(&[VENUE]), true);
        let base = node.url("");
        assert_eq!(
            list_tickets(&base, SALES as u64 + 20, 8).await,
            SALES as u64 + 20
        );
        wait_for_sync(&hub, &node, VENUE, SYNC_LIMIT).await;
        let backup = dir.path().join("before-the-sales.tar.gz");
        task(
            "tix-node",
            &[
                "backup",
                "--to",
                path(&backup),
                "--data-dir",
                path(&node_dir),
            ],
        );

        // After the backup: a buyer who signs up then, and 1,000 sales (orders paid by card).
        let buyer = Arc::new(Buyer::sign_up(&base, "late@buyer.test").await);
        let tickets = available(&base).await;
        let mut sales = JoinSet::new();
        for chunk in tickets[..SALES].chunks(SALES / 8) {
            let (buyer, chunk) = (buyer.clone(), chunk.to_vec());
            sales.spawn(async move {
                let mut orders = Vec::new();
                for ticket in &chunk {
                    orders.push(buyer.buy(ticket).await);
                }
                orders
            });
        }
        let mut orders = Vec::new();
        while let Some(done) = sales.join_next().await {
            orders.extend(done.unwrap());
        }
        assert_eq!(orders.len(), SALES);
        wait_for_sync(&hub, &node, VENUE, SYNC_LIMIT).await;
        let last = seq(&node_health(&node).await["events"], "lastSeq");
        node.stop_cleanly();

        // The disk dies: the operator restores the backup into a new data dir and starts the node.
        std::fs::remove_dir_all(&node_dir).unwrap();
        let started = Instant::now();
        let said = task(
            "tix-node",
            &[
                "restore",
                "--from",
                path(&backup),
                "--data-dir",
                path(&node_dir),
            ],
        );
        assert!(said.contains("fetches from the hub"), "{said}");
        let node = start_node(&node_dir, VENUE, &url, true);
        println!(
            "restore and catch-up of {} events: {:?}",
            last,
            started.elapsed()
        );
        let health = node_health(&node).await;
        assert_eq!(seq(&health["events"], "lastSeq"), last, "{health}");
        assert!(
            node.log()
                .iter()
                .any(|l| l.contains("caught up from the hub")),
            "the log says the node caught up"
        );
        assert!(!node_dir.join("catch-up").exists());

        // Every sale is back: paid, its ticket no longer for sale.
        let base = node.url("");
        let buyer = Buyer {
            base: base.clone(),
            ..Arc::into_inner(buyer).unwrap()
        };
        for id in &orders {
            let (status, order) = buyer
                .send(reqwest::Method::GET, &format!("/api/orders/{id}"), None)
                .await;
            assert_eq!(
                (status, order["status"].as_str()),
                (200, Some("complete")),
                "{order}"
            );
        }
        assert_eq!(available(&base).await.len(), 20);
        // The late buyer's password hash never left the venue: they are told to reset it.
        let (status, said) = buyer
            .send(
                reqwest::Method::POST,
                "/api/users/signin",
                Some(json!({ "email": "late@buyer.test", "password": "password" })),
            )
            .await;
        assert_eq!(status, 400, "{said}");
        assert!(said.to_string().contains("must be reset"), "{said}");

        // Sync goes on from the hub's sequence, nothing quarantined.
        assert_eq!(list_tickets(&base, 10, 2).await, 10);
        wait_for_sync(&hub, &node, VENUE, SYNC_LIMIT).await;
        assert_eq!(hub_holds(&hub).await.1, 0, "nothing quarantined");
        node.stop_cleanly();
        let events = check(VENUE, &node_dir, &hub_db);
        assert!(events > last, "{events} events checked");
    })
    .await;
}
