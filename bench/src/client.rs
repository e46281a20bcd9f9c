//! One keep-alive HTTP/1.1 connection to the node, timing each request from send to full body.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{ACCEPT_ENCODING, CONTENT_TYPE, COOKIE, HOST, SET_COOKIE};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

/// Longest a single request may take before it counts as failed.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a TCP connect plus HTTP handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an error body is kept for printing.
const MAX_TEXT_CHARS: usize = 300;

/// A response, read in full.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
    /// The `name=value` part of a `Set-Cookie` header, ready to send back as `Cookie`.
    pub(crate) cookie: Option<String>,
    /// From handing the request to the connection to having the whole body.
    pub(crate) latency: Duration,
    /// The node's own measure of the work, from a `Server-Timing: name;dur=MS` header.
    pub(crate) server_ms: Option<f64>,
}

impl Reply {
    pub(crate) fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.body)
            .with_context(|| format!("response is not JSON: {}", self.text()))
    }

    /// The body as text, shortened for printing.
    pub(crate) fn text(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let mut short: String = text.chars().take(MAX_TEXT_CHARS).collect();
        if short.len() < text.len() {
            short.push('…');
        }
        short
    }

    /// `HTTP status: body`, for error samples.
    pub(crate) fn describe(&self) -> String {
        format!("HTTP {}: {}", self.status, self.text())
    }
}

/// One HTTP/1.1 keep-alive connection; requests on it are sequential.
pub(crate) struct Conn {
    addr: SocketAddr,
    host: String,
    sender: SendRequest<Full<Bytes>>,
    /// The `Accept-Encoding` every request sends, if any.
    encoding: Option<&'static str>,
}

impl Conn {
    pub(crate) async fn connect(addr: SocketAddr) -> Result<Self> {
        let sender = tokio::time::timeout(CONNECT_TIMEOUT, handshake(addr))
            .await
            .map_err(|_| anyhow!("connecting to {addr} timed out"))??;
        Ok(Self {
            addr,
            host: addr.to_string(),
            sender,
            encoding: None,
        })
    }

    /// Replaces a broken connection with a fresh one.
    pub(crate) async fn reconnect(&mut self) -> Result<()> {
        let encoding = self.encoding;
        *self = Self::connect(self.addr).await?;
        self.encoding = encoding;
        Ok(())
    }

    pub(crate) async fn get(&mut self, path: &str, cookie: Option<&str>) -> Result<Reply> {
        self.request(Method::GET, path, cookie, None).await
    }

    /// Asks for every later response compressed with `encoding` (`br`, `gzip`), or plain.
    pub(crate) fn accept_encoding(&mut self, encoding: Option<&'static str>) {
        self.encoding = encoding;
    }

    pub(crate) async fn post(
        &mut self,
        path: &str,
        cookie: Option<&str>,
        body: &Value,
    ) -> Result<Reply> {
        self.request(Method::POST, path, cookie, Some(body)).await
    }

    /// Sends one request and reads the whole response, within [`REQUEST_TIMEOUT`]. After an error
    /// the connection may be unusable: call [`Conn::reconnect`].
    pub(crate) async fn request(
        &mut self,
        method: Method,
        path: &str,
        cookie: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Reply> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.host);
        if let Some(cookie) = cookie {
            builder = builder.header(COOKIE, cookie);
        }
        if let Some(encoding) = self.encoding {
            builder = builder.header(ACCEPT_ENCODING, encoding);
        }
        let payload = match body {
            Some(body) => {
                builder = builder.header(CONTENT_TYPE, "application/json");
                Bytes::from(serde_json::to_vec(body)?)
            }
            None => Bytes::new(),
        };
        let request = builder.body(Full::new(payload))?;
        tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(request))
            .await
            .map_err(|_| anyhow!("{path}: no response within {REQUEST_TIMEOUT:?}"))?
            .with_context(|| format!("{path}: request failed"))
    }

    async fn exchange(&mut self, request: Request<Full<Bytes>>) -> Result<Reply> {
        self.sender.ready().await?;
        let started = Instant::now();
        let response = self.sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        let latency = started.elapsed();
        let cookie = parts
            .headers
            .get(SET_COOKIE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(|pair| pair.trim().to_owned());
        let server_ms = parts
            .headers
            .get("server-timing")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split("dur=").nth(1))
            .and_then(|ms| ms.parse().ok());
        Ok(Reply {
            status: parts.status.as_u16(),
            body,
            cookie,
            latency,
            server_ms,
        })
    }
}

async fn handshake(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>> {
    if !addr.ip().is_loopback() {
        bail!("refusing to connect to {addr}: the benchmark only talks to 127.0.0.1");
    }
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // Ends when the sender is dropped or the node closes the connection; a broken connection
        // shows up as an error on the next request.
        let _ = connection.await;
    });
    Ok(sender)
}

/// Opens `count` connections, one after another.
pub(crate) async fn connect_all(addr: SocketAddr, count: usize) -> Result<Vec<Conn>> {
    let mut conns = Vec::with_capacity(count);
    for _ in 0..count {
        conns.push(Conn::connect(addr).await?);
    }
    Ok(conns)
}
