//! `tix-bench list`: what `GET /api/tickets` costs the node in memory when many clients read a
//! large catalogue at once. The node is restarted after the catalogue is created, so its peak
//! resident memory (VmHWM) starts from a fresh process; then `readers` clients each read the whole
//! list at the same time (streamed and counted, never held), and the peak is read again.
//!
//! Run it once per node build on the same stores (`--data-dir D --keep`, then `--seeded`) to
//! compare them. The figures are printed, not judged: memory depends on the machine's allocator.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::cli::ListArgs;
use crate::load;
use crate::node::Harness;

const SETUP_LIMIT: Duration = Duration::from_secs(3600);
/// Longest one reader may take for the whole list.
const READ_LIMIT: Duration = Duration::from_secs(1800);

/// What one reader got.
struct Read {
    bytes: u64,
    frames: u64,
    took: Duration,
}

pub(crate) async fn run(args: &ListArgs, harness: &mut Harness) -> Result<bool> {
    harness.set_extra_args(vec!["--search".into(), "false".into()]);
    if !args.seeded {
        let addr = harness.start().await?.addr();
        let seller = load::sign_up(addr, vec!["seller@bench.test".into()])
            .await?
            .pop()
            .context("seller")?;
        let (tickets, took) =
            load::create_tickets(addr, &seller, args.tickets, 32, SETUP_LIMIT).await?;
        println!(
            "setup:   {} tickets in {:.1} s",
            tickets.len(),
            took.as_secs_f64()
        );
        harness.stop().await?;
    }

    let node = harness.start().await?;
    let addr = node.addr();
    node.wait_healthy().await?;
    let peak_before = node.peak_rss_bytes()?;
    println!(
        "node:    fresh, VmHWM {:.1} MiB, VmRSS {:.1} MiB",
        mib(peak_before),
        mib(node.rss_bytes()?)
    );

    println!(
        "reading: {} clients each GET /api/tickets at once ...",
        args.readers
    );
    let started = Instant::now();
    let readers: Vec<_> = (0..args.readers)
        .map(|_| tokio::spawn(read_list(addr)))
        .collect();
    let mut reads = Vec::new();
    for reader in readers {
        reads.push(reader.await.context("a reader task")??);
    }
    let elapsed = started.elapsed();
    let node = harness.node()?;
    let peak_after = node.peak_rss_bytes()?;
    let rss_after = node.rss_bytes()?;

    let bytes = reads[0].bytes;
    let same = reads.iter().all(|r| r.bytes == bytes);
    let frames: Vec<u64> = reads.iter().map(|r| r.frames).collect();
    let slowest = reads.iter().map(|r| r.took).max().unwrap_or_default();
    println!(
        "list:    {:.1} MB per answer, {} to {} body frames each, all {}; slowest reader {:.1} s, all done in {:.1} s",
        bytes as f64 / 1e6,
        frames.iter().min().unwrap_or(&0),
        frames.iter().max().unwrap_or(&0),
        if same {
            "the same size"
        } else {
            "NOT the same size"
        },
        slowest.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!(
        "memory:  VmHWM {:.1} MiB before the readers, {:.1} MiB after ({:+.1} MiB); VmRSS after {:.1} MiB",
        mib(peak_before),
        mib(peak_after),
        mib(peak_after) - mib(peak_before),
        mib(rss_after)
    );
    Ok(same)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Reads `GET /api/tickets` to the end on a connection of its own, counting bytes and frames;
/// checks that it is one JSON array.
async fn read_list(addr: SocketAddr) -> Result<Read> {
    if !addr.ip().is_loopback() {
        bail!("refusing to connect to {addr}: the benchmark only talks to 127.0.0.1");
    }
    let started = Instant::now();
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    let connection = tokio::spawn(connection);
    let request = Request::get("/api/tickets")
        .header("host", addr.to_string())
        .body(Empty::<Bytes>::new())?;
    let read = tokio::time::timeout(READ_LIMIT, async {
        let response = sender.send_request(request).await?;
        if response.status() != 200 {
            bail!("GET /api/tickets: {}", response.status());
        }
        let mut body = response.into_body();
        let (mut bytes, mut frames) = (0u64, 0u64);
        let (mut first, mut last) = (None, None);
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame?.into_data() else {
                continue;
            };
            if data.is_empty() {
                continue;
            }
            first.get_or_insert(data[0]);
            last = data.last().copied();
            bytes += data.len() as u64;
            frames += 1;
        }
        if first != Some(b'[') || last != Some(b']') {
            bail!("GET /api/tickets: not one JSON array");
        }
        Ok(Read {
            bytes,
            frames,
            took: started.elapsed(),
        })
    })
    .await
    .map_err(|_| anyhow::anyhow!("GET /api/tickets took longer than {READ_LIMIT:?}"))??;
    drop(sender);
    connection.abort();
    Ok(read)
}
