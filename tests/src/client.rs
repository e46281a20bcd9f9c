//! The node's suites' fixture (integration and browser tests): a `tix-node` process on its own data
//! dir, and a small JSON client that carries the session cookie like a browser, with the usual
//! steps (sign up, list a ticket, order it). The node's binary is the caller's: the node's own
//! tests pass `env!("CARGO_BIN_EXE_tix-node")`.

use std::ops::Deref;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};

use crate::node::start_node;
use crate::served::Served;

pub use crate::node::NodeOptions;
pub use crate::wait::eventually;

/// A running `tix-node`; killed when dropped.
pub struct Node(Served);

impl Node {
    /// Starts a node on a fresh temporary data dir.
    pub fn start(bin: &str, dir: &tempfile::TempDir, options: NodeOptions) -> Node {
        Node::start_in(bin, dir.path(), options)
    }

    /// Starts a node on `data_dir` (which may hold an earlier node's stores).
    pub fn start_in(bin: &str, data_dir: &Path, options: NodeOptions) -> Node {
        Node(start_node(bin, data_dir, &options))
    }

    pub fn client(&self) -> Client {
        Client::new(&self.url(""))
    }

    /// SIGKILL: the process gets no chance to clean up.
    pub fn kill9(self) {
        self.0.kill9();
    }

    /// SIGTERM, then waits (bounded) for a graceful exit.
    pub fn terminate(self) -> ExitStatus {
        self.0.terminate()
    }

    /// SIGTERM and a wait of at most `limit` for the exit; an error (the node killed) when it
    /// does not come.
    pub fn stop(self, limit: std::time::Duration) -> anyhow::Result<ExitStatus> {
        self.0.stop(limit)
    }
}

impl Deref for Node {
    type Target = Served;

    fn deref(&self) -> &Served {
        &self.0
    }
}

/// A JSON client with one user's session cookie.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    pub cookie: Option<String>,
}

/// A response's status, raw headers of interest, and JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub set_cookie: Option<String>,
    pub body: Value,
    pub text: String,
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                // The node closes a connection idle for its header read timeout (10 s); a pooled
                // connection reused just as it closes fails a POST, which is never retried.
                // Dropping idle ones well before that keeps the race out of the tests.
                .pool_idle_timeout(std::time::Duration::from_secs(4))
                .build()
                .expect("http client"),
            base: base.to_owned(),
            cookie: None,
        }
    }

    /// The same session against another address: a node restarted on the same data dir.
    pub fn with_base(mut self, base: &str) -> Client {
        self.base = base.to_owned();
        self
    }

    pub fn with_cookie(mut self, cookie: Option<String>) -> Client {
        self.cookie = cookie;
        self
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Vec<u8>>) -> Reply {
        let mut request = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.expect("request reaches the node");
        let status = response.status();
        let set_cookie = response
            .headers()
            .get(SET_COOKIE)
            .map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.expect("response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            set_cookie,
            body,
            text,
        }
    }

    /// Like `post`, but `None` when the node cannot be reached (it was killed).
    pub async fn try_post(&self, path: &str, body: Value) -> Option<Reply> {
        let mut request = self
            .http
            .post(format!("{}{}", self.base, path))
            .header("content-type", "application/json");
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        let response = request.body(body.to_string()).send().await.ok()?;
        let status = response.status();
        let text = response.text().await.ok()?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Some(Reply {
            status,
            set_cookie: None,
            body,
            text,
        })
    }

    /// A GET with `If-None-Match: etag` when given: the status and the answer's `ETag`.
    pub async fn conditional_get(
        &self,
        path: &str,
        etag: Option<&str>,
    ) -> (StatusCode, Option<String>) {
        let mut request = self.http.get(format!("{}{}", self.base, path));
        if let Some(etag) = etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        let response = request.send().await.expect("request reaches the node");
        let tag = response
            .headers()
            .get(reqwest::header::ETAG)
            .map(|v| v.to_str().unwrap().to_owned());
        (response.status(), tag)
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(
            reqwest::Method::POST,
            path,
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(
            reqwest::Method::PUT,
            path,
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// Signs up and keeps the session cookie; panics unless the node says 201.
    pub async fn sign_up(&mut self, email: &str) -> Value {
        let reply = self
            .post(
                "/api/users/signup",
                json!({ "email": email, "password": "password" }),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "signup {email}: {}",
            reply.text
        );
        self.keep_cookie(&reply);
        reply.body
    }

    pub fn keep_cookie(&mut self, reply: &Reply) {
        let set_cookie = reply.set_cookie.as_deref().expect("a Set-Cookie header");
        self.cookie = Some(set_cookie.split(';').next().unwrap().to_owned());
    }

    /// A client for a new user, signed up.
    pub async fn user(&self, email: &str) -> Client {
        let mut client = Client {
            cookie: None,
            ..self.clone()
        };
        client.sign_up(email).await;
        client
    }

    /// Lists a ticket; panics unless 201. Returns its JSON.
    pub async fn sell(&self, title: &str, price: Value) -> Value {
        let reply = self
            .post("/api/tickets", json!({ "title": title, "price": price }))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "create ticket: {}",
            reply.text
        );
        reply.body
    }
}

/// The single error message of a contract error body.
#[track_caller]
pub fn only_message(reply: &Reply) -> &str {
    let errors = reply.body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors array in {}", reply.text));
    assert_eq!(errors.len(), 1, "one error expected: {}", reply.text);
    errors[0]["message"].as_str().expect("message")
}

pub fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

/// Signs up `count` users named `prefix-N@test.com`, a few at a time (hashing is expensive).
pub async fn users(node: &Node, prefix: &str, count: usize) -> Vec<Client> {
    let limit = Arc::new(tokio::sync::Semaphore::new(8));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..count {
        let client = node.client();
        let limit = limit.clone();
        let email = format!("{prefix}-{n}@test.com");
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.unwrap();
            (n, client.user(&email).await)
        });
    }
    let mut users: Vec<(usize, Client)> = tasks.join_all().await;
    users.sort_by_key(|(n, _)| *n);
    users.into_iter().map(|(_, client)| client).collect()
}

/// The usual cast: a seller lists a ticket and a buyer orders it. Returns both users, the ticket
/// and the order.
pub async fn ordered(node: &Node, title: &str, price: Value) -> (Client, Client, Value, Value) {
    let seller = node.client().user("seller@test.com").await;
    let buyer = node.client().user("buyer@test.com").await;
    let ticket = seller.sell(title, price).await;
    let order = buyer
        .post("/api/orders", json!({ "ticketId": id(&ticket) }))
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "order: {}", order.text);
    (seller, buyer, ticket, order.body)
}
