//! `tix-bench showpages`: what a buyer's browser waits for on the show pages. A show of
//! `--seats` reserved seats and `--shows` shows in all: the seat map page's server time (the
//! node's `Server-Timing`) and round trip, its bytes raw, brotli and gzip; "What's on" over every
//! show; and, with `/live` open, the time from a seat locked by someone else to the notice that
//! greys it out arriving at the open page's stream. `GET /hello` in the same run, for scale.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::cli::ShowPagesArgs;
use crate::client::Conn;
use crate::load;
use crate::node::Harness;
use crate::pages::{quantile, timings};

/// Seats per generated row of the big show.
const ROW: usize = 200;
/// The most one live change may take before the run fails.
const LIVE_LIMIT: Duration = Duration::from_secs(5);

/// Targets the issue set; printed beside the figures, not enforced.
const MAP_SERVER_P99_MS: f64 = 10.0;
const MAP_COMPRESSED_BYTES: usize = 250 * 1024;
const WHATS_ON_SERVER_P99_MS: f64 = 5.0;
const LIVE_P99_MS: f64 = 1000.0;

pub(crate) async fn run(args: &ShowPagesArgs, harness: &mut Harness) -> Result<bool> {
    harness.set_extra_args(vec!["--first-user-is-staff".to_owned()]);
    let addr = harness.start().await?.addr();
    let staff = load::sign_up(addr, vec!["staff@bench.test".to_owned()])
        .await?
        .remove(0);
    let mut conn = Conn::connect(addr).await?;
    let started = Instant::now();
    let big = create_big_show(&mut conn, &staff, args.seats).await?;
    for i in 1..args.shows {
        create_small_show(&mut conn, &staff, i).await?;
    }
    println!(
        "setup:   a show of {} seats and {} others in {:.1} s",
        args.seats,
        args.shows - 1,
        started.elapsed().as_secs_f64()
    );
    let map_path = format!("/shows/{big}");

    let hello = timings(&mut conn, "/hello", None, args.requests).await?;
    let map = timings(&mut conn, &map_path, Some(&staff), args.requests).await?;
    conn.accept_encoding(Some("br"));
    let map_br = timings(&mut conn, &map_path, Some(&staff), args.requests).await?;
    let br_bytes = conn.get(&map_path, Some(&staff)).await?.body.len();
    conn.accept_encoding(Some("gzip"));
    let gzip_bytes = conn.get(&map_path, Some(&staff)).await?.body.len();
    conn.accept_encoding(None);
    let raw_bytes = conn.get(&map_path, Some(&staff)).await?.body.len();
    let whats_on = timings(&mut conn, "/", Some(&staff), args.requests).await?;
    println!(
        "hello:   round trip p50 {:.3} ms  p99 {:.3} ms  ({} requests, one connection)",
        hello.round_trip(0.50),
        hello.round_trip(0.99),
        hello.count()
    );
    for (label, t) in [
        ("seat map page, plain", &map),
        ("seat map page, brotli", &map_br),
        ("what's on", &whats_on),
    ] {
        println!(
            "{label}: server p50 {:.3} ms  p99 {:.3} ms; round trip p50 {:.3} ms  p99 {:.3} ms  ({} requests)",
            t.server(0.50),
            t.server(0.99),
            t.round_trip(0.50),
            t.round_trip(0.99),
            t.count()
        );
    }
    println!(
        "ratio:   seat map round trip p50 (brotli) / hello round trip p50: {:.1}",
        map_br.round_trip(0.50) / hello.round_trip(0.50)
    );
    println!(
        "bytes:   seat map page {raw_bytes} B raw, {br_bytes} B brotli, {gzip_bytes} B gzip ({} seats)",
        args.seats
    );

    let live = live_changes(addr, &mut conn, &staff, &big, args.changes).await?;
    println!(
        "live:    seat locked -> notice at an open page's stream: p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms  ({} changes)",
        quantile(&live, 0.50),
        quantile(&live, 0.99),
        live.last().copied().unwrap_or(f64::NAN),
        live.len()
    );
    for (what, met) in [
        (
            format!("seat map server p99 < {MAP_SERVER_P99_MS} ms"),
            map.server(0.99) < MAP_SERVER_P99_MS,
        ),
        (
            format!("seat map < {} KB compressed", MAP_COMPRESSED_BYTES / 1024),
            br_bytes.min(gzip_bytes) < MAP_COMPRESSED_BYTES,
        ),
        (
            format!("what's on server p99 < {WHATS_ON_SERVER_P99_MS} ms"),
            whats_on.server(0.99) < WHATS_ON_SERVER_P99_MS,
        ),
        (
            format!("live change p99 < {LIVE_P99_MS} ms"),
            quantile(&live, 0.99) < LIVE_P99_MS,
        ),
    ] {
        println!("target:  {what}: {}", if met { "met" } else { "MISSED" });
    }
    Ok(true)
}

/// The big show: rows of [`ROW`] seats in two sections, the last row shorter if need be.
async fn create_big_show(conn: &mut Conn, staff: &str, seats: usize) -> Result<String> {
    let rows = seats / ROW;
    let rest = seats % ROW;
    let stalls = rows * 2 / 3;
    let mut generate = vec![
        json!({"section": "Stalls", "category": "Stalls", "rows": stalls, "seatsPerRow": ROW}),
        json!({"section": "Circle", "category": "Circle", "rows": rows - stalls, "seatsPerRow": ROW}),
    ];
    if rest > 0 {
        generate
            .push(json!({"section": "Box", "category": "Circle", "rows": 1, "seatsPerRow": rest}));
    }
    generate.retain(|block| block["rows"] != 0);
    let body = json!({"title": "Grand Hall Gala", "startsAt": "2030-12-31T20:00:00Z",
        "hall": "Grand hall",
        "categories": [{"name": "Stalls", "price": "45.00"}, {"name": "Circle", "price": "30.00"}],
        "generate": generate});
    let created = conn.post("/api/shows", Some(staff), &body).await?;
    if created.status != 201 {
        bail!("creating the big show: {}", created.describe());
    }
    Ok(created.json()?["id"]
        .as_str()
        .context("show id")?
        .to_owned())
}

async fn create_small_show(conn: &mut Conn, staff: &str, i: usize) -> Result<()> {
    let day = 1 + i % 28;
    let month = 1 + (i / 28) % 12;
    let body = json!({"title": format!("Evening {i}"), "startsAt": format!("2030-{month:02}-{day:02}T19:30:00Z"),
        "hall": "Studio",
        "categories": [{"name": "Standing", "price": "15.00"}, {"name": "Bar", "price": "20.00"}],
        "areas": [{"name": "Floor", "category": "Standing", "capacity": 200},
                  {"name": "Bar", "category": "Bar", "capacity": 50}]});
    let created = conn.post("/api/shows", Some(staff), &body).await?;
    if created.status != 201 {
        bail!("creating show {i}: {}", created.describe());
    }
    Ok(())
}

/// Locks `count` seats of `show` one by one, each in its own order, with `/live` open; the time
/// from sending each lock to its notice arriving, sorted.
async fn live_changes(
    addr: std::net::SocketAddr,
    conn: &mut Conn,
    staff: &str,
    show: &str,
    count: usize,
) -> Result<Vec<f64>> {
    let map = conn
        .get(&format!("/api/shows/{show}/seats"), Some(staff))
        .await?
        .json()?;
    let seats: Vec<String> = map["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["rows"].as_array().into_iter().flatten())
        .flat_map(|r| r["seats"].as_array().into_iter().flatten())
        .filter_map(|seat| seat[0].as_str().map(str::to_owned))
        .collect();
    if seats.len() < count {
        bail!("{} seats, {count} changes asked for", seats.len());
    }
    let stride = seats.len() / count;
    let mut stream = open_live(addr).await?;
    let mut seen = String::new();
    let mut took = Vec::with_capacity(count);
    for i in 0..count {
        let ticket = &seats[i * stride];
        let sent = Instant::now();
        let order = conn
            .post(
                &format!("/api/shows/{show}/orders"),
                Some(staff),
                &json!({"seats": [ticket]}),
            )
            .await?;
        if order.status != 201 {
            bail!("locking a seat: {}", order.describe());
        }
        loop {
            if let Some(at) = seen.find(ticket.as_str()) {
                took.push(sent.elapsed().as_secs_f64() * 1000.0);
                seen.drain(..at + ticket.len());
                break;
            }
            let remaining = LIVE_LIMIT.saturating_sub(sent.elapsed());
            match tokio::time::timeout(remaining, stream.recv()).await {
                Ok(Some(chunk)) => seen.push_str(&chunk),
                Ok(None) => bail!("the live stream closed"),
                Err(_) => bail!("no notice for seat {ticket} within {LIVE_LIMIT:?}"),
            }
        }
    }
    took.sort_by(f64::total_cmp);
    Ok(took)
}

/// `GET /live` on its own connection, read by a task into a channel of text as it arrives.
async fn open_live(addr: std::net::SocketAddr) -> Result<mpsc::Receiver<String>> {
    let mut socket = TcpStream::connect(addr)
        .await
        .context("connecting for /live")?;
    socket
        .write_all(
            format!("GET /live HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let (sender, receiver) = mpsc::channel(1024);
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let text = String::from_utf8_lossy(&buffer[..n]).into_owned();
                    if sender.send(text).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    // The stream's headers and first bytes, so the changes start with the page open.
    let mut receiver = receiver;
    let first = tokio::time::timeout(LIVE_LIMIT, receiver.recv())
        .await
        .context("no answer to /live")?
        .context("the live stream closed at once")?;
    if !first.starts_with("HTTP/1.1 200") {
        bail!(
            "/live answered {}",
            first.lines().next().unwrap_or_default()
        );
    }
    Ok(receiver)
}
