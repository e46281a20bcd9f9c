//! A stand-in venue node for the door's unit tests: plain HTTP/1.1 on a loopback port (one
//! request per connection), answering sign-in, `/healthz`, a show's copy, the conflicts and
//! check-ins, with the verdicts a real node would give for codes signed by its key. It can be
//! stopped (connections refused) and started again on the same port, and told to swallow a
//! check-in without answering, as a node that dies mid-request does.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tix_core::passes::PassVerifier;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the fake node was asked, and how it answers.
#[derive(Default)]
pub(super) struct Script {
    /// Every check-in body received, in order.
    pub(super) check_ins: Vec<Value>,
    /// For each coming check-in: `false` swallows it (the connection closes unanswered).
    pub(super) answer: VecDeque<bool>,
    /// Tickets another gate (South) let in already.
    pub(super) admitted_elsewhere: HashSet<String>,
}

pub(super) struct FakeNode {
    pub(super) port: u16,
    pub(super) script: Arc<Mutex<Script>>,
    copy: Value,
    task: Option<JoinHandle<()>>,
}

impl FakeNode {
    /// Serves `copy` (the node's copy JSON of one show, with its key) on a free port.
    pub(super) async fn start(copy: Value) -> FakeNode {
        let mut node = FakeNode {
            port: 0,
            script: Arc::default(),
            copy,
            task: None,
        };
        node.resume().await;
        node
    }

    pub(super) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops listening: from its return on, connections are refused.
    pub(super) async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again, on the same port once it has one.
    pub(super) async fn resume(&mut self) {
        self.stop().await;
        let mut listener = TcpListener::bind(("127.0.0.1", self.port)).await;
        for _ in 0..50 {
            if listener.is_ok() {
                break;
            }
            // The aborted task may still hold the old socket for a moment.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            listener = TcpListener::bind(("127.0.0.1", self.port)).await;
        }
        let listener = listener.unwrap();
        self.port = listener.local_addr().unwrap().port();
        let script = self.script.clone();
        let copy = self.copy.clone();
        self.task = Some(tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, script.clone(), copy.clone()));
            }
        }));
    }
}

impl Drop for FakeNode {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn serve(mut stream: TcpStream, script: Arc<Mutex<Script>>, copy: Value) {
    let Some((method, path, body)) = read_request(&mut stream).await else {
        return;
    };
    let (status, answer, cookie) = match (method.as_str(), path.as_str()) {
        ("POST", "/api/users/signin") => (200, json!({ "email": "door@venue.test" }), true),
        ("GET", "/healthz") => (200, json!({ "events": {}, "payments": {} }), false),
        ("GET", "/api/check-in/conflicts") => (200, json!([]), false),
        ("GET", p) if p.starts_with("/api/check-in/shows/") => (200, copy.clone(), false),
        ("POST", "/api/check-in") => {
            let verdict = {
                let mut script = script.lock().unwrap();
                script.check_ins.push(body.clone());
                if !script.answer.pop_front().unwrap_or(true) {
                    return; // swallowed: closed without an answer
                }
                verdict(&copy, &body, &script.admitted_elsewhere)
            };
            (200, verdict, false)
        }
        _ => (
            404,
            json!({ "errors": [{ "message": "Not found" }] }),
            false,
        ),
    };
    let text = answer.to_string();
    let cookie = if cookie {
        "Set-Cookie: session=fake-session; Path=/\r\n"
    } else {
        ""
    };
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{cookie}\r\n{text}",
        text.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The node's verdict for a check-in, for the codes of the copy's key.
fn verdict(copy: &Value, body: &Value, elsewhere: &HashSet<String>) -> Value {
    let key = PassVerifier::from_hex(copy["key"]["publicKey"].as_str().unwrap()).unwrap();
    let Ok(pass) = key.verify(body["code"].as_str().unwrap_or_default()) else {
        return json!({ "result": "forged", "message": "Not a valid pass of this venue" });
    };
    let ticket = pass.ticket.to_string();
    let offline = body["scannedAt"].is_string();
    let mut verdict = json!({
        "ticketId": ticket,
        "orderId": pass.order.to_string(),
        "showId": copy["show"]["id"],
        "title": copy["show"]["title"],
    });
    if elsewhere.contains(&ticket) {
        verdict["result"] = json!("already-admitted");
        verdict["message"] = json!("Already admitted at 20:01:02 UTC at gate South");
        verdict["admittedAt"] = json!("2030-01-01T20:01:02.000Z");
        verdict["gate"] = json!("South");
        verdict["conflict"] = json!(offline);
    } else {
        verdict["result"] = json!("admitted");
        verdict["message"] = json!("Admitted");
        let now = tix_core::time::Millis::from_system_time(std::time::SystemTime::now());
        verdict["admittedAt"] = match body["scannedAt"].as_str() {
            Some(at) => json!(at),
            None => json!(now.to_iso()),
        };
        verdict["gate"] = body["gate"].clone();
        verdict["offline"] = json!(offline);
    }
    verdict
}

/// Method, path and JSON body of one request.
async fn read_request(stream: &mut TcpStream) -> Option<(String, String, Value)> {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 {
            return None;
        }
        bytes.extend_from_slice(&buffer[..n]);
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let mut words = head.split_whitespace();
    let method = words.next()?.to_owned();
    let path = words.next()?.to_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while bytes.len() < head_end + length {
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 {
            return None;
        }
        bytes.extend_from_slice(&buffer[..n]);
    }
    let body = serde_json::from_slice(&bytes[head_end..head_end + length]).unwrap_or(Value::Null);
    Some((method, path, body))
}
