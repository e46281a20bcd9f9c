//! `tix-bench search`: builds an index of many tickets (time, size on disk, rebuild from scratch),
//! measures query latency for plain, prefix and typo queries while orders are placed, and orders/s
//! with the index on and off.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cli::SearchArgs;
use crate::client::Conn;
use crate::load::{self, Stats};
use crate::node::{Harness, health_once};

/// The queries, by kind: each kind cycles through its list.
const QUERIES: [(&str, &[&str]); 3] = [
    (
        "plain",
        &["jazz+night", "taylor+swift", "bach+cello", "metallica+tour"],
    ),
    (
        "prefix",
        &["jazz+ni", "taylor+sw", "berlin+phil", "arctic+mon"],
    ),
    (
        "typo",
        &["jaz+nihgt", "taylr+swft", "bahc+cello", "metalica+tuor"],
    ),
];
const READY_LIMIT: Duration = Duration::from_secs(3600);

/// Waits until search is ready and has followed every event; returns how long that took.
async fn wait_indexed(addr: SocketAddr) -> Result<(Duration, serde_json::Value)> {
    let started = Instant::now();
    loop {
        if let Ok(health) = health_once(addr).await {
            let search = &health["search"];
            if search["ready"] == true
                && search["indexedSeq"].as_u64() >= health["events"]["lastSeq"].as_u64()
            {
                return Ok((started.elapsed(), health));
            }
        }
        if started.elapsed() > READY_LIMIT {
            bail!("search not ready within {READY_LIMIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

/// Latencies of one kind of query, client side (whole HTTP exchange) and server side.
#[derive(Default)]
struct QueryStats {
    client_us: Vec<u64>,
    server_us: Vec<u64>,
    hits: u64,
}

fn quantile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

/// One connection cycles through the queries until `stop`.
async fn query_worker(addr: SocketAddr, stop: Arc<AtomicBool>) -> Result<Vec<QueryStats>> {
    let mut conn = Conn::connect(addr).await?;
    let mut stats: Vec<QueryStats> = QUERIES.iter().map(|_| QueryStats::default()).collect();
    let mut round = 0;
    while !stop.load(Ordering::Relaxed) {
        for (kind, (_, queries)) in QUERIES.iter().enumerate() {
            let q = queries[round % queries.len()];
            let reply = conn
                .get(&format!("/api/search?q={q}&available=true&limit=20"), None)
                .await?;
            if reply.status != 200 {
                bail!("search {q}: {}", reply.describe());
            }
            let hits = reply.json()?.as_array().map_or(0, |a| a.len());
            let entry = &mut stats[kind];
            entry.client_us.push(reply.latency.as_micros() as u64);
            if let Some(ms) = reply.server_ms {
                entry.server_us.push((ms * 1000.0) as u64);
            }
            entry.hits += hits as u64;
        }
        round += 1;
    }
    Ok(stats)
}

/// One line per kind of query: the node's time and the client's.
fn print_queries(all: &mut [QueryStats]) {
    for ((kind, _), stats) in QUERIES.iter().zip(all) {
        stats.client_us.sort_unstable();
        stats.server_us.sort_unstable();
        println!(
            "  {kind:<6}: server p50 {:.2} ms  p99 {:.2} ms | client p50 {:.2} ms  p99 {:.2} ms  ({} queries, {:.1} hits each)",
            quantile(&stats.server_us, 0.5),
            quantile(&stats.server_us, 0.99),
            quantile(&stats.client_us, 0.5),
            quantile(&stats.client_us, 0.99),
            stats.client_us.len(),
            stats.hits as f64 / stats.client_us.len().max(1) as f64
        );
    }
}

fn print_orders(label: &str, orders: &Stats) {
    println!(
        "orders {label}: {:.0} orders/s  {}  ({} ok, {} failed)",
        orders.rate(),
        orders.latency_line(),
        orders.ok,
        orders.failed
    );
}

pub(crate) async fn run(args: &SearchArgs, harness: &mut Harness, data_dir: &Path) -> Result<bool> {
    let addr = harness.start().await?.addr();
    let (seller, buyers) = load::sign_up_seller_and_buyers(addr, args.connections).await?;

    let (tickets, took) =
        load::create_tickets(addr, &seller, args.tickets, args.connections, READY_LIMIT).await?;
    let (follow, _) = wait_indexed(addr).await?;
    println!(
        "setup:   {} tickets in {:.1} s ({:.0}/s) with the index following; caught up {:.2} s later",
        tickets.len(),
        took.as_secs_f64(),
        tickets.len() as f64 / took.as_secs_f64(),
        follow.as_secs_f64()
    );

    // Rebuild from scratch: what a node does when its index is missing or damaged.
    harness.stop().await?;
    let index_dir = data_dir.join("search");
    let live_size = dir_size(&index_dir);
    std::fs::remove_dir_all(&index_dir).context("removing the index")?;
    let addr = harness.start().await?.addr();
    let (rebuild, health) = wait_indexed(addr).await?;
    let rebuilt_size = dir_size(&index_dir);
    let docs = health["search"]["tickets"].as_u64().unwrap_or(0);
    println!(
        "rebuild: {docs} tickets indexed in {:.2} s ({:.0} tickets/s), {:.1} MB on disk",
        rebuild.as_secs_f64(),
        docs as f64 / rebuild.as_secs_f64(),
        rebuilt_size as f64 / 1e6
    );

    let third = tickets.len() / 3;
    let mut slices = tickets.chunks(third.max(1)).map(|c| Arc::new(c.to_vec()));
    let (on_slice, off_slice, query_slice) = (
        slices.next().context("tickets")?,
        slices.next().context("tickets")?,
        slices.next().context("tickets")?,
    );

    println!(
        "orders with the index on, {:.0} s ...",
        args.duration.as_secs_f64()
    );
    let on = load::place_orders(addr, &buyers, on_slice, args.duration).await?;

    harness.stop().await?;
    harness.set_extra_args(vec!["--search".into(), "false".into()]);
    let addr = harness.start().await?.addr();
    println!(
        "orders with the index off, {:.0} s ...",
        args.duration.as_secs_f64()
    );
    let off = load::place_orders(addr, &buyers, off_slice, args.duration).await?;
    harness.stop().await?;
    harness.set_extra_args(Vec::new());
    let addr = harness.start().await?.addr();
    wait_indexed(addr).await?;

    println!(
        "queries alone with {} connections, {:.0} s ...",
        args.query_connections,
        args.duration.as_secs_f64()
    );
    let stop = Arc::new(AtomicBool::new(false));
    let idle_workers: Vec<_> = (0..args.query_connections)
        .map(|_| tokio::spawn(query_worker(addr, stop.clone())))
        .collect();
    tokio::time::sleep(args.duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut idle: Vec<QueryStats> = QUERIES.iter().map(|_| QueryStats::default()).collect();
    for worker in idle_workers {
        for (into, from) in idle.iter_mut().zip(worker.await??) {
            into.client_us.extend(from.client_us);
            into.server_us.extend(from.server_us);
            into.hits += from.hits;
        }
    }

    println!(
        "queries with {} connections while orders are placed, {:.0} s ...",
        args.query_connections,
        args.duration.as_secs_f64()
    );
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..args.query_connections)
        .map(|_| tokio::spawn(query_worker(addr, stop.clone())))
        .collect();
    let during = load::place_orders(addr, &buyers, query_slice, args.duration).await?;
    stop.store(true, Ordering::Relaxed);
    let mut merged: Vec<QueryStats> = QUERIES.iter().map(|_| QueryStats::default()).collect();
    for worker in workers {
        for (into, from) in merged.iter_mut().zip(worker.await??) {
            into.client_us.extend(from.client_us);
            into.server_us.extend(from.server_us);
            into.hits += from.hits;
        }
    }
    let health = health_once(addr).await?;

    println!();
    println!(
        "index:   {} tickets; rebuilt in {:.2} s ({:.0} tickets/s); {:.1} MB on disk ({:.1} MB as built live)",
        docs,
        rebuild.as_secs_f64(),
        docs as f64 / rebuild.as_secs_f64(),
        rebuilt_size as f64 / 1e6,
        live_size as f64 / 1e6
    );
    for (label, all) in [("alone", &mut idle), ("under orders", &mut merged)] {
        println!("queries {label}:");
        print_queries(all);
    }
    print_orders("(index on) ", &on);
    print_orders("(index off)", &off);
    print_orders("(on, with queries)", &during);
    println!(
        "ratio:   orders/s index on / off: {:.2}",
        on.rate() / off.rate().max(1e-9)
    );
    let lag = &health["search"]["lag"];
    println!(
        "index lag (commit to searchable), since the last start: p50 {} ms  p99 {} ms  max {} ms ({} changes)",
        lag["p50Ms"], lag["p99Ms"], lag["maxMs"], lag["changes"]
    );
    Ok(true)
}
