//! `tix-bench onsale`: an on-sale rush. A show of reserved seats and standing places goes on sale
//! and thousands of parties of 1 to 4 ask for the best available at the same moment, over many
//! connections. Reports the time to sell out, orders/s and seats/s, the latency of the answers,
//! requests per ticket sold and the share of parties seated together, with `GET /hello` for
//! scale; checks that no seat was sold twice and that the node's counts and seat map, and the
//! hub's read model (the node syncs to a hub through Mosquitto, as a venue does), agree with the
//! answers.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OpenFlags};
use serde_json::{Value, json};
use tix_tests::broker::{Broker, SHIPPED_MAX_QUEUED};
use tokio::task::block_in_place;

use crate::cli::OnsaleArgs;
use crate::client::connect_all;
use crate::load::{self, run_workers};
use crate::node::Harness;
use crate::open_pages::OpenPages;
use crate::sync::{VENUE, node_last_seq, start_hub, venue_args, wait_for_hub};

/// How long `/hello` is measured before the rush.
const HELLO: Duration = Duration::from_secs(3);

/// What one party's request came to.
struct Answer {
    latency: Duration,
    status: u16,
    /// For a 201: the order.
    order: Option<Value>,
    /// When the answer arrived, from the start of the rush.
    at: Duration,
    /// A retry with `allowSplit` after "not together".
    retry: bool,
}

/// Runs the rush; `Ok(false)` when a check fails.
pub(crate) async fn run(args: &OnsaleArgs, harness: &mut Harness, dir: &Path) -> Result<bool> {
    // Anonymous on loopback, as in `sync`: the hub is here to be compared, not measured.
    let broker = block_in_place(|| Broker::spawn_anonymous(SHIPPED_MAX_QUEUED))?;
    let (_hub, hub_db) = start_hub(&broker, dir)?;
    let mut args_for_node = vec!["--first-user-is-staff".to_owned()];
    args_for_node.extend(venue_args(&broker));
    harness.set_extra_args(args_for_node);
    let addr = harness.start().await?.addr();
    // The first account is staff: it signs up alone, before the parties' accounts.
    let staff = load::sign_up(addr, vec!["staff@bench.test".to_owned()])
        .await?
        .remove(0);
    let emails = (0..args.accounts)
        .map(|i| format!("party{i}@bench.test"))
        .collect();
    let buyers = Arc::new(load::sign_up(addr, emails).await?);

    println!(
        "hello:    {} connections for {:.0} s ...",
        args.connections,
        HELLO.as_secs_f64()
    );
    let hello = load::hello(addr, args.connections, HELLO).await?;
    hello.print_errors("hello");

    let seats = args.rows * args.seats_per_row;
    let body = json!({
        "title": "On-sale rush", "startsAt": "2030-12-04T20:00:00Z",
        "categories": [{"name": "Standing", "price": "20.00"}, {"name": "Seated", "price": "45.00"}],
        "areas": [{"name": "Floor", "category": "Standing", "capacity": args.standing}],
        "generate": [{"section": "Stalls", "category": "Seated", "rows": args.rows, "seatsPerRow": args.seats_per_row}],
        "maxPerOrder": 4
    });
    let mut conn = crate::client::Conn::connect(addr).await?;
    let created = conn.post("/api/shows", Some(&staff), &body).await?;
    if created.status != 201 {
        bail!("creating the show: {}", created.describe());
    }
    let show_id = created.json()?["id"]
        .as_str()
        .context("the show's id")?
        .to_owned();
    let total = seats + args.standing;
    println!(
        "show:     {seats} seats ({} rows of {}) and {} standing; {} parties of 1 to 4 from {} connections as {} accounts ...",
        args.rows, args.seats_per_row, args.standing, args.parties, args.connections, args.accounts
    );

    let pages = OpenPages::open(addr, args.pages).await?;
    let answers = rush(addr, args, &show_id, &buyers).await?;
    let heard = pages.close().await;
    report(args, &hello, &answers, total)?;
    if heard.pages > 0 {
        println!("pages:    {heard}");
    }
    let node_ok = check(&mut conn, &show_id, &answers).await?;
    let synced = wait_for_hub(&hub_db, node_last_seq(addr).await?).await?;
    let hub_ok = check_hub(&mut conn, &hub_db, &show_id, synced).await?;
    Ok(node_ok && hub_ok)
}

/// The hub's counts per category, once it has every event, against the node's.
async fn check_hub(
    conn: &mut crate::client::Conn,
    hub_db: &Path,
    show_id: &str,
    synced: Duration,
) -> Result<bool> {
    let show = conn
        .get(&format!("/api/shows/{show_id}"), None)
        .await?
        .json()?;
    let db = Connection::open_with_flags(hub_db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut ok = true;
    println!(
        "hub:      caught up {:.2} s after the rush's last answer",
        synced.as_secs_f64()
    );
    for category in show["categories"].as_array().context("categories")? {
        let name = category["name"].as_str().unwrap_or_default();
        let hub: Option<(i64, i64, i64)> = db
            .query_row(
                "SELECT capacity, held, sold FROM show_categories
                 WHERE venue = ?1 AND show_id = ?2 AND name = ?3",
                rusqlite::params![VENUE, show_id, name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .ok();
        let node = (
            category["capacity"].as_i64().unwrap_or(-1),
            category["held"].as_i64().unwrap_or(-1),
            category["sold"].as_i64().unwrap_or(-1),
        );
        let same = hub == Some(node);
        ok &= same;
        println!(
            "          {name}: hub (capacity, held, sold) {hub:?}, node {node:?}: {}",
            if same { "equal" } else { "MISMATCH" }
        );
    }
    Ok(ok)
}

/// Every party asks at once (as fast as the connections go), each once, and once more with
/// `allowSplit` if its seats are not free together.
async fn rush(
    addr: std::net::SocketAddr,
    args: &OnsaleArgs,
    show_id: &str,
    buyers: &Arc<Vec<String>>,
) -> Result<Vec<Answer>> {
    let conns = connect_all(addr, args.connections).await?;
    let next = Arc::new(AtomicUsize::new(0));
    let answers = Arc::new(Mutex::new(Vec::with_capacity(
        args.parties + args.parties / 4,
    )));
    let path = Arc::new(format!("/api/shows/{show_id}/orders"));
    let parties = args.parties;
    let started = Instant::now();
    run_workers(conns, |_, mut conn| {
        let (next, answers, path, buyers) =
            (next.clone(), answers.clone(), path.clone(), buyers.clone());
        async move {
            let mut mine = Vec::new();
            loop {
                let party = next.fetch_add(1, Ordering::Relaxed);
                if party >= parties {
                    break;
                }
                let cookie = &buyers[party % buyers.len()];
                let category = if party % 2 == 0 { "Seated" } else { "Standing" };
                let quantity = party * 7919 % 4 + 1;
                let mut body = json!({"category": category, "quantity": quantity});
                for retry in [false, true] {
                    if retry {
                        body["allowSplit"] = json!(true);
                    }
                    let sent = Instant::now();
                    let reply = match conn.post(&path, Some(cookie), &body).await {
                        Ok(reply) => reply,
                        Err(_) => {
                            conn.reconnect().await?;
                            mine.push(Answer {
                                latency: sent.elapsed(),
                                status: 0,
                                order: None,
                                at: started.elapsed(),
                                retry,
                            });
                            break;
                        }
                    };
                    let order = if reply.status == 201 {
                        Some(reply.json()?)
                    } else {
                        None
                    };
                    let apart = reply.status == 400 && reply.text().contains("together in one row");
                    mine.push(Answer {
                        latency: reply.latency,
                        status: reply.status,
                        order,
                        at: started.elapsed(),
                        retry,
                    });
                    if !apart {
                        break;
                    }
                }
            }
            answers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(mine);
            Ok(())
        }
    })
    .await?;
    let answers = std::mem::take(&mut *answers.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(answers)
}

fn tickets_of(order: &Value) -> &[Value] {
    order["tickets"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The row and seat number of a seated ticket (`Stalls row 3 seat 17`).
fn row_and_seat(ticket: &Value) -> Option<(String, u32)> {
    let (row, seat) = ticket["seat"].as_str()?.rsplit_once(" seat ")?;
    Some((row.to_owned(), seat.parse().ok()?))
}

/// Whether a party's seats are side by side in one row.
fn together(order: &Value) -> bool {
    let mut places: Vec<(String, u32)> =
        tickets_of(order).iter().filter_map(row_and_seat).collect();
    places.sort();
    places
        .windows(2)
        .all(|w| w[0].0 == w[1].0 && w[1].1 == w[0].1 + 1)
}

fn report(args: &OnsaleArgs, hello: &load::Stats, answers: &[Answer], total: usize) -> Result<()> {
    let mut latencies: Vec<Duration> = answers
        .iter()
        .filter(|a| a.status != 0)
        .map(|a| a.latency)
        .collect();
    latencies.sort_unstable();
    let quantile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let index = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[index].as_secs_f64() * 1000.0
    };
    let placed: Vec<&Answer> = answers.iter().filter(|a| a.order.is_some()).collect();
    let mut placed_latencies: Vec<Duration> = placed.iter().map(|a| a.latency).collect();
    placed_latencies.sort_unstable();
    let placed_quantile = |p: f64| -> f64 {
        if placed_latencies.is_empty() {
            return f64::NAN;
        }
        let last = placed_latencies.len();
        let index = ((p * last as f64).ceil() as usize).clamp(1, last) - 1;
        placed_latencies[index].as_secs_f64() * 1000.0
    };
    let sold: usize = placed
        .iter()
        .map(|a| tickets_of(a.order.as_ref().expect("placed")).len())
        .sum();
    let sold_out_at = placed.iter().map(|a| a.at).max().unwrap_or_default();
    let last_answer = answers.iter().map(|a| a.at).max().unwrap_or_default();
    let failed = answers
        .iter()
        .filter(|a| a.status == 0 || a.status >= 500)
        .count();
    let seated: Vec<&Value> = placed
        .iter()
        .filter_map(|a| a.order.as_ref())
        .filter(|o| {
            tickets_of(o)
                .first()
                .is_some_and(|t| t["category"] == "Seated")
        })
        .collect();
    let seated_together = seated.iter().filter(|o| together(o)).count();
    let split = placed.iter().filter(|a| a.retry).count();
    let secs = sold_out_at.as_secs_f64().max(1e-9);
    println!();
    println!(
        "hello:    {:.0} req/s  {}  ({} connections)",
        hello.rate(),
        hello.latency_line(),
        args.connections
    );
    if sold == total {
        println!(
            "sold out: {total} tickets in {secs:.2} s (from the first request to the answer that took the last ticket)"
        );
    } else {
        println!("sold:     {sold} of {total} tickets; the last order was placed at {secs:.2} s");
    }
    println!(
        "orders:   {} placed, {:.0} orders/s, {:.0} seats/s until then; answers p50 {:.2} ms  p99 {:.2} ms  ({} answers, {} failed)",
        placed.len(),
        placed.len() as f64 / secs,
        sold as f64 / secs,
        quantile(0.50),
        quantile(0.99),
        answers.len(),
        failed
    );
    println!(
        "placed:   p50 {:.2} ms  p99 {:.2} ms  (the answers that placed an order)",
        placed_quantile(0.50),
        placed_quantile(0.99)
    );
    println!(
        "answers:  {} in {:.2} s ({:.0} answers/s; a refusal once a category is gone is answered from a read)",
        answers.len(),
        last_answer.as_secs_f64(),
        answers.len() as f64 / last_answer.as_secs_f64().max(1e-9)
    );
    println!(
        "requests: {} from {} parties ({:.2} each) for {sold} tickets: {:.2} per ticket sold, {:.2} per order placed",
        answers.len(),
        args.parties,
        answers.len() as f64 / args.parties as f64,
        answers.len() as f64 / sold.max(1) as f64,
        answers.len() as f64 / placed.len().max(1) as f64
    );
    println!(
        "together: {seated_together} of {} seated parties side by side in one row ({:.1} %); {split} parties took seats apart after asking (allowSplit)",
        seated.len(),
        100.0 * seated_together as f64 / seated.len().max(1) as f64
    );
    println!(
        "ratio:    orders/s while selling / hello req/s: {:.3}",
        placed.len() as f64 / secs / hello.rate().max(1e-9)
    );
    Ok(())
}

/// No seat sold twice; the node's counts and seat map agree with the answers.
async fn check(conn: &mut crate::client::Conn, show_id: &str, answers: &[Answer]) -> Result<bool> {
    let mut owner: HashMap<String, String> = HashMap::new();
    let mut twice = 0;
    let mut per_category: HashMap<String, u64> = HashMap::new();
    for order in answers.iter().filter_map(|a| a.order.as_ref()) {
        for ticket in tickets_of(order) {
            let id = ticket["id"].as_str().unwrap_or_default().to_owned();
            if owner.insert(id, order["id"].to_string()).is_some() {
                twice += 1;
            }
            *per_category
                .entry(ticket["category"].as_str().unwrap_or_default().to_owned())
                .or_default() += 1;
        }
    }
    let show = conn
        .get(&format!("/api/shows/{show_id}"), None)
        .await?
        .json()?;
    let map = conn
        .get(&format!("/api/shows/{show_id}/seats"), None)
        .await?
        .json()?;
    let mut held_on_map = HashSet::new();
    for section in map["sections"].as_array().context("sections")? {
        for row in section["rows"].as_array().context("rows")? {
            for seat in row["seats"].as_array().context("seats")? {
                if seat[5] == "h" {
                    held_on_map.insert(seat[0].as_str().unwrap_or_default().to_owned());
                }
            }
        }
    }
    let mut ok = twice == 0;
    println!(
        "checks:   {} tickets in the answers, {twice} of them in two orders",
        owner.len()
    );
    for category in show["categories"].as_array().context("categories")? {
        let name = category["name"].as_str().unwrap_or_default();
        let answered = per_category.get(name).copied().unwrap_or(0);
        let held = category["held"].as_u64().unwrap_or(u64::MAX);
        let same = held == answered && category["sold"] == 0;
        ok &= same;
        println!(
            "          {name}: the node holds {held} for orders (available {}), the answers placed {answered}: {}",
            category["available"],
            if same { "equal" } else { "MISMATCH" }
        );
    }
    let seated: HashSet<String> = answers
        .iter()
        .filter_map(|a| a.order.as_ref())
        .flat_map(|o| tickets_of(o).iter())
        .filter(|t| t["category"] == "Seated")
        .filter_map(|t| t["id"].as_str().map(str::to_owned))
        .collect();
    let map_agrees = held_on_map == seated;
    ok &= map_agrees;
    println!(
        "          seat map: {} seats held, the answers seated {}: {}",
        held_on_map.len(),
        seated.len(),
        if map_agrees {
            "the same seats"
        } else {
            "MISMATCH"
        }
    );
    Ok(ok)
}
