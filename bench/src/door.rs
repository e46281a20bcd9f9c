//! `tix-bench door`: scans at the door. A show starting within the hour sells its standing places
//! (cash, at the counter); then 64 connections scan every pass once (admissions), scan them again
//! (already admitted) and scan altered codes (forged), each phase against `GET /hello` in the
//! same run; and a check that every pass was admitted exactly once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::cli::DoorArgs;
use crate::client::{Conn, connect_all};
use crate::load::{self, run_workers};
use crate::node::Harness;

/// Most tickets one order holds (the most a show allows).
const PER_ORDER: usize = 50;

pub(crate) async fn run(args: &DoorArgs, harness: &mut Harness) -> Result<bool> {
    harness.set_extra_args(vec!["--first-user-is-staff".to_owned()]);
    let addr = harness.start().await?.addr();
    let staff = load::sign_up(addr, vec!["door@bench.test".to_owned()])
        .await?
        .remove(0);
    let started = Instant::now();
    let (show, codes) = sell(addr, &staff, args.tickets).await?;
    println!(
        "setup:    {} passes of one show sold in {:.1} s",
        codes.len(),
        started.elapsed().as_secs_f64()
    );
    let codes = Arc::new(codes);

    let hello = load::hello(addr, args.connections, args.duration).await?;
    hello.print_errors("hello");
    let admit = scan(addr, &staff, &codes, args, Mode::First).await?;
    let again = scan(addr, &staff, &codes, args, Mode::Again).await?;
    let forged = scan(addr, &staff, &codes, args, Mode::Forged).await?;
    let hello_after = load::hello(addr, args.connections, args.duration).await?;

    println!();
    println!("connections: {}", args.connections);
    for (name, stats) in [
        ("hello", &hello),
        ("admitted", &admit.stats),
        ("already-admitted", &again.stats),
        ("forged", &forged.stats),
        ("hello again", &hello_after),
    ] {
        println!(
            "{name:<17} {:>7.0} req/s  {}  ({} ok, {} failed)",
            stats.rate(),
            stats.latency_line(),
            stats.ok,
            stats.failed
        );
    }
    println!(
        "scans/s as a share of /hello req/s: admitted {:.2}, already-admitted {:.2}, forged {:.2}",
        admit.stats.rate() / hello.rate(),
        again.stats.rate() / hello.rate(),
        forged.stats.rate() / hello.rate()
    );

    let mut ok = true;
    for (phase, expected, seen) in [
        ("first scans", "admitted", &admit),
        ("second scans", "already-admitted", &again),
        ("altered codes", "forged", &forged),
    ] {
        if seen.wrong > 0 {
            println!("FAIL: {} of the {phase} were not {expected}", seen.wrong);
            ok = false;
        }
    }
    let mut conn = Conn::connect(addr).await?;
    let copy = conn
        .get(&format!("/api/check-in/shows/{show}"), Some(&staff))
        .await?
        .json()?;
    let admitted = copy["admitted"].as_u64().unwrap_or_default();
    if admitted != admit.stats.ok {
        println!(
            "FAIL: the node counts {admitted} admitted, the first scans saw {}",
            admit.stats.ok
        );
        ok = false;
    } else {
        println!("check: {admitted} passes admitted, each exactly once");
    }
    Ok(ok)
}

/// A show starting in an hour with `tickets` standing places, all sold: its id and the passes.
async fn sell(addr: SocketAddr, staff: &str, tickets: usize) -> Result<(String, Vec<String>)> {
    let mut conn = Conn::connect(addr).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    let starts = tix_core::time::Millis(now + 3_600_000).to_iso();
    let created = conn
        .post(
            "/api/shows",
            Some(staff),
            &json!({
                "title": "Door rush", "startsAt": starts, "maxPerOrder": PER_ORDER,
                "categories": [{"name": "Standing", "price": "10.00"}],
                "areas": [{"name": "Floor", "category": "Standing", "capacity": tickets}]
            }),
        )
        .await?;
    if created.status != 201 {
        bail!("creating the show: {}", created.describe());
    }
    let show = created.json()?["id"]
        .as_str()
        .context("show id")?
        .to_owned();
    let mut codes = Vec::with_capacity(tickets);
    while codes.len() < tickets {
        let quantity = PER_ORDER.min(tickets - codes.len());
        let order = conn
            .post(
                &format!("/api/shows/{show}/orders"),
                Some(staff),
                &json!({"category": "Standing", "quantity": quantity}),
            )
            .await?;
        if order.status != 201 {
            bail!("ordering: {}", order.describe());
        }
        let id = order.json()?["id"].as_str().context("order id")?.to_owned();
        let paid = conn
            .post(
                "/api/box-office/payments/cash",
                Some(staff),
                &json!({"orderId": id}),
            )
            .await?;
        if paid.status != 201 {
            bail!("paying: {}", paid.describe());
        }
        let shown = conn
            .get(&format!("/api/box-office/orders/{id}"), Some(staff))
            .await?
            .json()?;
        for pass in shown["passes"].as_array().context("passes")? {
            codes.push(pass["code"].as_str().context("code")?.to_owned());
        }
    }
    Ok((show, codes))
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Every pass once, in order.
    First,
    /// Every pass again.
    Again,
    /// Passes with one character of the signature changed.
    Forged,
}

struct Phase {
    stats: load::Stats,
    /// Answers that were not the verdict the phase expects.
    wrong: u64,
}

/// Scans the passes over `args.connections` connections until each was scanned once (`First`,
/// `Again`) or `args.duration` is up (`Forged`, cycling).
async fn scan(
    addr: SocketAddr,
    staff: &str,
    codes: &Arc<Vec<String>>,
    args: &DoorArgs,
    mode: Mode,
) -> Result<Phase> {
    let expected = match mode {
        Mode::First => "admitted",
        Mode::Again => "already-admitted",
        Mode::Forged => "forged",
    };
    let next = Arc::new(AtomicUsize::new(0));
    let wrong = Arc::new(AtomicUsize::new(0));
    let conns = connect_all(addr, args.connections).await?;
    let started = Instant::now();
    let deadline = started + args.duration;
    let staff = staff.to_owned();
    let tallies = run_workers(conns, |worker, mut conn| {
        let codes = Arc::clone(codes);
        let next = Arc::clone(&next);
        let wrong = Arc::clone(&wrong);
        let staff = staff.clone();
        async move {
            let mut latencies = Vec::new();
            let mut failed = 0u64;
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let code = match mode {
                    Mode::Forged if Instant::now() < deadline => forge(&codes[index % codes.len()]),
                    Mode::Forged => break,
                    _ => match codes.get(index) {
                        Some(code) => code.clone(),
                        None => break,
                    },
                };
                let body = json!({"code": code, "gate": format!("Gate {}", worker % 8)});
                let sent = Instant::now();
                let reply = conn.post("/api/check-in", Some(&staff), &body).await;
                let latency = sent.elapsed();
                match reply {
                    Ok(reply) if reply.status == 200 => {
                        latencies.push(latency);
                        let verdict: Value = reply.json()?;
                        if verdict["result"] != expected {
                            wrong.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(_) => failed += 1,
                    Err(_) => {
                        failed += 1;
                        conn.reconnect().await?;
                    }
                }
            }
            Ok((latencies, failed, Instant::now()))
        }
    })
    .await?;
    let stats = load::Stats::from_parts(tallies, started);
    Ok(Phase {
        stats,
        wrong: wrong.load(Ordering::Relaxed) as u64,
    })
}

/// `code` with one character of its signature changed.
fn forge(code: &str) -> String {
    let mut bytes = code.as_bytes().to_vec();
    let at = bytes.len() - 10;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap_or_default()
}
