//! Open storefront pages during a load: `/live` streams, each on its own connection from one of
//! several loopback addresses (as many pages per address as the node admits by default), read
//! until the load ends, so a benchmark shows what the pages following the sales cost each sale.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Pages opened from one address: the node's default per-address cap on `/live` streams.
const PER_ADDRESS: usize = 32;
/// Longest the node may take to answer a page's `/live`.
const OPEN_LIMIT: Duration = Duration::from_secs(10);

/// Pages open on the node, each counting what it hears until `close`.
pub(crate) struct OpenPages {
    readers: JoinSet<Heard>,
    stop: watch::Sender<bool>,
}

/// What one page heard.
#[derive(Debug, Default, Clone, Copy)]
struct Heard {
    events: u64,
    resyncs: u64,
}

/// What the pages heard, summed up for printing.
pub(crate) struct PagesHeard {
    pub(crate) pages: usize,
    pub(crate) fewest: u64,
    pub(crate) most: u64,
    pub(crate) resyncs: u64,
}

impl std::fmt::Display for PagesHeard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} open pages heard {}..{} notices each; told to resync {} times",
            self.pages, self.fewest, self.most, self.resyncs
        )
    }
}

impl OpenPages {
    /// Opens `count` pages on the node at `node` (a loopback address); answers once every one
    /// has its stream's response head.
    pub(crate) async fn open(node: SocketAddr, count: usize) -> Result<OpenPages> {
        let (stop, stopped) = watch::channel(false);
        let mut readers = JoinSet::new();
        for page in 0..count {
            let stream = tokio::time::timeout(OPEN_LIMIT, open_one(node, page))
                .await
                .with_context(|| format!("page {page}: no answer to /live"))??;
            readers.spawn(listen(stream, stopped.clone()));
        }
        Ok(OpenPages { readers, stop })
    }

    /// Closes every page and says what they heard.
    pub(crate) async fn close(mut self) -> PagesHeard {
        let _ = self.stop.send(true);
        let mut heard = Vec::new();
        while let Some(joined) = self.readers.join_next().await {
            if let Ok(page) = joined {
                heard.push(page);
            }
        }
        PagesHeard {
            pages: heard.len(),
            fewest: heard.iter().map(|h| h.events).min().unwrap_or(0),
            most: heard.iter().map(|h| h.events).max().unwrap_or(0),
            resyncs: heard.iter().map(|h| h.resyncs).sum(),
        }
    }
}

/// Page `page`'s `/live` stream, its response head read and checked. Pages come from
/// 127.0.1.1, 127.0.1.2 ..., `PER_ADDRESS` from each.
async fn open_one(node: SocketAddr, page: usize) -> Result<TcpStream> {
    let address = page / PER_ADDRESS;
    let from = Ipv4Addr::new(127, 0, 1 + (address / 250) as u8, 1 + (address % 250) as u8);
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::V4(SocketAddrV4::new(from, 0)))?;
    let mut stream = socket.connect(node).await.context("connecting for /live")?;
    stream
        .write_all(
            format!("GET /live HTTP/1.1\r\nHost: {node}\r\nAccept: text/event-stream\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let mut head = vec![0u8; 4096];
    let n = stream.read(&mut head).await?;
    let head = String::from_utf8_lossy(&head[..n]);
    if !head.starts_with("HTTP/1.1 200") {
        bail!(
            "page {page}: /live answered {}",
            head.lines().next().unwrap_or_default()
        );
    }
    Ok(stream)
}

/// Reads a page's stream until it ends or `stopped` turns true, counting the events by their
/// `event:` lines.
async fn listen(mut stream: TcpStream, mut stopped: watch::Receiver<bool>) -> Heard {
    let mut heard = Heard::default();
    let mut buffer = vec![0u8; 64 * 1024];
    // The start of a line the last read ended inside of.
    let mut partial = Vec::new();
    loop {
        let read = tokio::select! {
            read = stream.read(&mut buffer) => read,
            _ = stopped.wait_for(|stop| *stop) => return heard,
        };
        let n = match read {
            Ok(0) | Err(_) => return heard,
            Ok(n) => n,
        };
        partial.extend_from_slice(&buffer[..n]);
        let complete = partial
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |at| at + 1);
        for line in partial[..complete].split(|b| *b == b'\n') {
            if let Some(name) = line.strip_prefix(b"event: ") {
                heard.events += 1;
                if name == b"resync" {
                    heard.resyncs += 1;
                }
            }
        }
        partial.drain(..complete);
    }
}
