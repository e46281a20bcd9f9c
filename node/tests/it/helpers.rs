//! The test harness: real `tix-node` processes on free loopback ports with their own data dirs, and
//! a small JSON client that carries the session cookie like a browser.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};

/// A running node process; killed when dropped.
pub(crate) struct Node {
    child: Option<Child>,
    pub(crate) addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

/// Options for starting a node.
#[derive(Clone, Default)]
pub(crate) struct NodeOptions {
    pub(crate) lock_ttl: Option<&'static str>,
    pub(crate) env: Vec<(String, String)>,
}

impl Node {
    /// Starts a node on a fresh temporary data dir.
    pub(crate) fn start(dir: &tempfile::TempDir, options: NodeOptions) -> Node {
        Node::start_in(dir.path(), options)
    }

    /// Starts a node on `data_dir` (which may hold an earlier node's stores).
    pub(crate) fn start_in(data_dir: &Path, options: NodeOptions) -> Node {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tix-node"));
        command
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--lock-ttl")
            .arg(options.lock_ttl.unwrap_or("15m"))
            .env("TIX_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env_remove("STRIPE_SECRET_KEY")
            .env_remove("TIX_JWT_SECRET")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in &options.env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("spawn tix-node");
        let stdout = child.stdout.take().expect("node stdout");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(entry) = serde_json::from_str::<Value>(&line)
                    && entry["fields"]["message"] == "serving"
                    && let Some(addr) = entry["fields"]["addr"].as_str()
                {
                    let _ = addr_tx.send(addr.to_owned());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = match addr_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "node did not start; log:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        Node {
            child: Some(child),
            addr,
            log,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub(crate) fn client(&self) -> Client {
        Client::new(&self.url(""))
    }

    /// Log lines printed so far.
    pub(crate) fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// SIGKILL: the process gets no chance to clean up.
    pub(crate) fn kill9(mut self) {
        let mut child = self.child.take().expect("running node");
        child.kill().expect("kill -9");
        child.wait().expect("reap node");
    }

    /// SIGTERM, then waits (bounded) for a graceful exit.
    pub(crate) fn terminate(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running node");
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("wait node") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("node did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A JSON client with one user's session cookie.
#[derive(Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    pub(crate) cookie: Option<String>,
}

/// A response's status, raw headers of interest, and JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) set_cookie: Option<String>,
    pub(crate) body: Value,
    pub(crate) text: String,
}

impl Client {
    pub(crate) fn new(base: &str) -> Client {
        Client {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .expect("http client"),
            base: base.to_owned(),
            cookie: None,
        }
    }

    pub(crate) fn with_cookie(mut self, cookie: Option<String>) -> Client {
        self.cookie = cookie;
        self
    }

    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Reply {
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
    pub(crate) async fn try_post(&self, path: &str, body: Value) -> Option<Reply> {
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

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(
            reqwest::Method::POST,
            path,
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub(crate) async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(
            reqwest::Method::PUT,
            path,
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub(crate) async fn delete(&self, path: &str) -> Reply {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// Signs up and keeps the session cookie; panics unless the node says 201.
    pub(crate) async fn sign_up(&mut self, email: &str) -> Value {
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

    pub(crate) fn keep_cookie(&mut self, reply: &Reply) {
        let set_cookie = reply.set_cookie.as_deref().expect("a Set-Cookie header");
        self.cookie = Some(set_cookie.split(';').next().unwrap().to_owned());
    }

    /// A client for a new user, signed up.
    pub(crate) async fn user(&self, email: &str) -> Client {
        let mut client = Client {
            cookie: None,
            ..self.clone()
        };
        client.sign_up(email).await;
        client
    }

    /// Lists a ticket; panics unless 201. Returns its JSON.
    pub(crate) async fn sell(&self, title: &str, price: Value) -> Value {
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
pub(crate) fn only_message(reply: &Reply) -> &str {
    let errors = reply.body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors array in {}", reply.text));
    assert_eq!(errors.len(), 1, "one error expected: {}", reply.text);
    errors[0]["message"].as_str().expect("message")
}

/// Polls `check` until it holds, for at most `limit`.
pub(crate) async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

pub(crate) fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

/// Signs up `count` users named `prefix-N@test.com`, a few at a time (hashing is expensive).
pub(crate) async fn users(node: &Node, prefix: &str, count: usize) -> Vec<Client> {
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
pub(crate) async fn ordered(
    node: &Node,
    title: &str,
    price: Value,
) -> (Client, Client, Value, Value) {
    let seller = node.client().user("seller@test.com").await;
    let buyer = node.client().user("buyer@test.com").await;
    let ticket = seller.sell(title, price).await;
    let order = buyer
        .post("/api/orders", json!({ "ticketId": id(&ticket) }))
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "order: {}", order.text);
    (seller, buyer, ticket, order.body)
}
