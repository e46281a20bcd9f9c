//! Load on a venue node while faults happen: users list tickets, buy, pay or cancel, over HTTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::JoinSet;

/// Most purchase rounds one worker runs, whatever happens.
const MAX_ROUNDS: u64 = 20_000;

pub(crate) struct Load {
    stop: Arc<AtomicBool>,
    tasks: JoinSet<()>,
    /// Requests the node answered with success.
    pub(crate) ok: Arc<AtomicU64>,
}

struct Session {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Session {
    async fn sign_up(base: &str, email: &str) -> Option<Session> {
        let http = reqwest::Client::new();
        let reply = http
            .post(format!("{base}/api/users/signup"))
            .json(&json!({ "email": email, "password": "password" }))
            .send()
            .await
            .ok()?;
        let cookie = reply
            .headers()
            .get("set-cookie")?
            .to_str()
            .ok()?
            .split(';')
            .next()?
            .to_owned();
        Some(Session {
            http,
            base: base.to_owned(),
            cookie,
        })
    }

    /// POSTs and returns the JSON reply of a 2xx; `None` on any failure (the node may be down).
    async fn post(&self, path: &str, body: Value) -> Option<Value> {
        let reply = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .json(&body)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .ok()?;
        if !reply.status().is_success() {
            return None;
        }
        reply.json().await.ok()
    }
}

impl Load {
    /// Starts `workers` buyers-and-sellers on the node at `base` (`http://addr`).
    pub(crate) async fn start(base: &str, workers: usize, tag: &str) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let mut tasks = JoinSet::new();
        for worker in 0..workers {
            let email = format!("{tag}-{worker}-{}@load.test", rand_suffix());
            let session = Session::sign_up(base, &email)
                .await
                .expect("load worker signs up");
            let stop = stop.clone();
            let ok = ok.clone();
            tasks.spawn(async move {
                for round in 0..MAX_ROUNDS {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    if !purchase(&session, round, &ok).await {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            });
        }
        Load { stop, tasks, ok }
    }

    /// Stops the workers and waits for them.
    pub(crate) async fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Release);
        while self.tasks.join_next().await.is_some() {}
        self.ok.load(Ordering::Acquire)
    }
}

/// One round: list a ticket, order it, then pay for it or cancel the order (or leave it to expire).
async fn purchase(session: &Session, round: u64, ok: &AtomicU64) -> bool {
    let Some(ticket) = session
        .post(
            "/api/tickets",
            json!({ "title": format!("Show {round}"), "price": 10 + round % 90 }),
        )
        .await
    else {
        return false;
    };
    ok.fetch_add(1, Ordering::Relaxed);
    let Some(order) = session
        .post("/api/orders", json!({ "ticketId": ticket["id"] }))
        .await
    else {
        return false;
    };
    ok.fetch_add(1, Ordering::Relaxed);
    let done = match round % 3 {
        0 => {
            session
                .post(
                    "/api/payments",
                    json!({ "orderId": order["id"], "token": "tok_visa" }),
                )
                .await
        }
        1 => {
            let path = format!("/api/orders/{}", order["id"].as_str().unwrap_or(""));
            let reply = session
                .http
                .delete(format!("{}{path}", session.base))
                .header("cookie", &session.cookie)
                .send()
                .await
                .ok();
            reply
                .filter(|r| r.status().is_success())
                .map(|_| Value::Null)
        }
        _ => Some(Value::Null),
    };
    if done.is_some() {
        ok.fetch_add(1, Ordering::Relaxed);
    }
    true
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Lists `count` tickets as one seller with `concurrency` requests in flight; returns how many the
/// node accepted.
pub(crate) async fn list_tickets(base: &str, count: u64, concurrency: u64) -> u64 {
    let email = format!("seller-{}@load.test", rand_suffix());
    let session = Arc::new(
        Session::sign_up(base, &email)
            .await
            .expect("seller signs up"),
    );
    let next = Arc::new(AtomicU64::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency {
        let (session, next, ok) = (session.clone(), next.clone(), ok.clone());
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    break;
                }
                let body = json!({ "title": format!("Backlog {n}"), "price": 5 + n % 50 });
                if session.post("/api/tickets", body).await.is_some() {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    ok.load(Ordering::Acquire)
}
