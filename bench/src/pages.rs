//! `tix-bench pages`: the storefront's cost. Server time (the node's own `Server-Timing`) and
//! round-trip time of the ticket list over a catalogue, `GET /hello` on the same machine in the
//! same run for scale, and the bytes each main page sends.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::cli::PagesArgs;
use crate::client::Conn;
use crate::load;
use crate::node::Harness;

/// What a page may weigh before compression.
const PAGE_BUDGET_BYTES: usize = 50 * 1024;
const SETUP_LIMIT: Duration = Duration::from_secs(600);

pub(crate) async fn run(args: &PagesArgs, harness: &mut Harness) -> Result<bool> {
    let addr = harness.start().await?.addr();
    let mut cookies = load::sign_up(
        addr,
        vec!["seller@bench.test".into(), "buyer@bench.test".into()],
    )
    .await?;
    let buyer = cookies.pop().context("buyer")?;
    let seller = cookies.pop().context("seller")?;
    let (tickets, took) =
        load::create_tickets(addr, &seller, args.tickets, 16, SETUP_LIMIT).await?;
    println!(
        "setup:   {} tickets in {:.1} s",
        tickets.len(),
        took.as_secs_f64()
    );
    let mut conn = Conn::connect(addr).await?;
    let order = conn
        .post(
            "/api/orders",
            Some(&buyer),
            &json!({ "ticketId": tickets[tickets.len() / 2] }),
        )
        .await?;
    if order.status != 201 {
        bail!("placing an order: {}", order.describe());
    }
    let order_id = order.json()?["id"].as_str().context("order id")?.to_owned();

    let hello = timings(&mut conn, "/hello", None, args.requests).await?;
    let list = timings(&mut conn, "/tickets", Some(&buyer), args.requests).await?;
    let deep = timings(
        &mut conn,
        &format!("/tickets?after={}", args.tickets.saturating_sub(60)),
        Some(&buyer),
        args.requests / 4,
    )
    .await?;
    let search = timings(
        &mut conn,
        "/tickets?q=jazz+night",
        Some(&buyer),
        args.requests / 4,
    )
    .await?;
    println!(
        "hello:   round trip p50 {:.3} ms  p99 {:.3} ms  ({} requests, one connection)",
        hello.round_trip(0.50),
        hello.round_trip(0.99),
        hello.count()
    );
    for (label, t) in [
        ("list /tickets", &list),
        ("list, a late page", &deep),
        ("list, searched", &search),
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
        "ratio:   list round trip p50 / hello round trip p50: {:.2}",
        list.round_trip(0.50) / hello.round_trip(0.50)
    );

    let mut all_fit = true;
    let pages = [
        ("tickets", "/tickets".to_owned(), Some(&buyer)),
        ("search", "/tickets?q=jazz".to_owned(), Some(&buyer)),
        ("ticket", format!("/tickets/{}", tickets[0]), Some(&buyer)),
        ("order", format!("/orders/{order_id}"), Some(&buyer)),
        ("my orders", "/orders".to_owned(), Some(&buyer)),
        ("my listings", "/my/tickets".to_owned(), Some(&seller)),
        ("sell", "/tickets/new".to_owned(), Some(&seller)),
        ("sign in", "/auth/signin".to_owned(), None),
        ("sign up", "/auth/signup".to_owned(), None),
        ("app.css", "/static/app.css".to_owned(), None),
        ("app.js", "/static/app.js".to_owned(), None),
    ];
    println!("bytes (before compression; budget {PAGE_BUDGET_BYTES}):");
    for (label, path, cookie) in pages {
        let reply = conn.get(&path, cookie.map(String::as_str)).await?;
        if reply.status != 200 {
            bail!("{path}: {}", reply.describe());
        }
        let size = reply.body.len();
        let fits = size <= PAGE_BUDGET_BYTES;
        all_fit &= fits;
        let foreign = third_party_references(&reply.text());
        println!(
            "  {label:<12} {size:>6} B  {}{}",
            if fits { "ok" } else { "OVER BUDGET" },
            if foreign.is_empty() {
                String::new()
            } else {
                format!("  third-party: {foreign:?}")
            }
        );
        all_fit &= foreign.is_empty();
    }
    Ok(all_fit)
}

/// Absolute URLs in a page (test mode should have none that load anything).
fn third_party_references(html: &str) -> Vec<String> {
    html.match_indices("src=\"http")
        .chain(html.match_indices("href=\"http"))
        .map(|(at, _)| html[at..].chars().take(60).collect())
        .collect()
}

pub(crate) struct Timings {
    server_ms: Vec<f64>,
    round_trip_ms: Vec<f64>,
}

impl Timings {
    pub(crate) fn count(&self) -> usize {
        self.round_trip_ms.len()
    }

    pub(crate) fn server(&self, q: f64) -> f64 {
        quantile(&self.server_ms, q)
    }

    pub(crate) fn round_trip(&self, q: f64) -> f64 {
        quantile(&self.round_trip_ms, q)
    }
}

pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// `count` sequential requests of `path` on one connection.
pub(crate) async fn timings(
    conn: &mut Conn,
    path: &str,
    cookie: Option<&str>,
    count: usize,
) -> Result<Timings> {
    let mut server_ms = Vec::with_capacity(count);
    let mut round_trip_ms = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        let started = Instant::now();
        let reply = conn.get(path, cookie).await?;
        let took = started.elapsed();
        if reply.status != 200 {
            bail!("{path}: {}", reply.describe());
        }
        round_trip_ms.push(took.as_secs_f64() * 1000.0);
        if let Some(ms) = reply.server_ms {
            server_ms.push(ms);
        }
    }
    server_ms.sort_by(f64::total_cmp);
    round_trip_ms.sort_by(f64::total_cmp);
    Ok(Timings {
        server_ms,
        round_trip_ms,
    })
}
