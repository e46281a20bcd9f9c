//! Slow, idle and too many clients: a request whose body never arrives does not hold up the
//! node's stop, idle kept-alive connections are closed, and connections and `/live` streams
//! beyond their caps are refused while other clients are still served. Loopback only: the
//! "other addresses" are 127.0.0.2 and up.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use tix_tests::client::{Node, NodeOptions, eventually, id};

use crate::NODE;

fn node_with(dir: &tempfile::TempDir, env: &[(&str, &str)]) -> Node {
    let env = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Node::start(
        NODE,
        dir,
        NodeOptions {
            env,
            ..NodeOptions::default()
        },
    )
}

/// A TCP connection to the node from the loopback address `from`.
async fn connect_from(from: Ipv4Addr, node: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    socket.connect(node).await.unwrap()
}

/// What the node answers on `stream` to `request` within 5 s: the text up to the end of the
/// headers, "" when the connection is closed or reset first.
async fn answer(stream: &mut TcpStream, request: &str) -> String {
    if stream.write_all(request.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::sleep(Duration::from_secs(5));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            read = stream.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    seen.extend_from_slice(&buffer[..n]);
                    if seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            },
            () = &mut deadline => break,
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_does_not_hold_up_the_stop() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("TIX_SHUTDOWN_GRACE", "2s"),
        ("TIX_BODY_READ_TIMEOUT", "120s"),
    ];
    let node = node_with(&dir, &env);
    let seller = node.client().user("seller@test.com").await;
    let ticket = seller.sell("Acknowledged", json!(10)).await;

    // Headers and a part of the body, then nothing: the handler waits for the rest.
    let mut slow = TcpStream::connect(node.socket_addr()).await.unwrap();
    let request = format!(
        "POST /api/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\nCookie: {}\r\n\r\n{{\"title\":",
        seller.cookie.as_deref().unwrap()
    );
    slow.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let asked = Instant::now();
    let status = node
        .stop(Duration::from_secs(15))
        .expect("the node stops although a request is still reading its body");
    assert!(status.success(), "exit status {status}");
    eprintln!("stopped {:?} after SIGTERM", asked.elapsed());
    drop(slow);

    // What it acknowledged before the stop is there after a restart.
    let node = node_with(&dir, &env);
    let reply = node
        .client()
        .get(&format!("/api/tickets/{}", id(&ticket)))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["title"], "Acknowledged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_kept_alive_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let node = node_with(&dir, &[("TIX_HEADER_READ_TIMEOUT", "1s")]);
    let mut idle = TcpStream::connect(node.socket_addr()).await.unwrap();
    let first = answer(&mut idle, &get("/hello")).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    // Read the body ("hello") and then wait, bounded, for the node to close the connection.
    let mut rest = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match idle.read(&mut rest).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "an idle connection was still open 10 s after a 1 s header read timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_caps_are_refused_while_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let node = node_with(
        &dir,
        &[
            ("TIX_MAX_CONNECTIONS", "6"),
            ("TIX_MAX_CONNECTIONS_PER_ADDRESS", "3"),
            ("TIX_HEADER_READ_TIMEOUT", "60s"),
        ],
    );
    let addr = node.socket_addr();
    let from = |last: u8| Ipv4Addr::new(127, 0, 0, last);

    // Three open connections from one address are its share.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from(from(2), addr).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut fourth = connect_from(from(2), addr).await;
    let refused = answer(&mut fourth, &get("/hello")).await;
    assert!(
        !refused.starts_with("HTTP/1.1 200"),
        "a fourth connection from one address was served: {refused}"
    );
    assert!(
        refused.is_empty() || refused.starts_with("HTTP/1.1 503"),
        "{refused}"
    );

    // Another client is still served.
    let mut other = connect_from(from(3), addr).await;
    let served = answer(&mut other, &get("/hello")).await;
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");

    // Two more fill the node (3 + 1 + 2 = 6); a seventh, from anywhere, is refused.
    for _ in 0..2 {
        held.push(connect_from(from(4), addr).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut seventh = connect_from(from(5), addr).await;
    let refused = answer(&mut seventh, &get("/hello")).await;
    assert!(
        !refused.starts_with("HTTP/1.1 200"),
        "a seventh connection was served: {refused}"
    );

    // Once some close, new clients are served again.
    held.clear();
    let served_again = eventually(Duration::from_secs(10), || async {
        let mut again = connect_from(from(5), addr).await;
        answer(&mut again, &get("/hello"))
            .await
            .starts_with("HTTP/1.1 200")
    })
    .await;
    assert!(served_again, "no connection served after the others closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_streams_beyond_the_per_address_cap_are_told_to_wait() {
    let dir = tempfile::tempdir().unwrap();
    let node = node_with(&dir, &[("TIX_MAX_LIVE_STREAMS_PER_ADDRESS", "2")]);
    let addr = node.socket_addr();
    let from = |last: u8| Ipv4Addr::new(127, 0, 0, last);
    let mut streams = Vec::new();
    for _ in 0..2 {
        let mut stream = connect_from(from(2), addr).await;
        let head = answer(&mut stream, &get("/live")).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        streams.push(stream);
    }
    let mut third = connect_from(from(2), addr).await;
    let head = answer(&mut third, &get("/live")).await;
    assert!(head.starts_with("HTTP/1.1 429"), "{head}");
    assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");
    // Another address still gets its stream.
    let mut other = connect_from(from(3), addr).await;
    let head = answer(&mut other, &get("/live")).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}
