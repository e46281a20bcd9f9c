//! `tix-bench locks`: many pending ticket locks: memory per lock, restart time with them, how late
//! they expire and, with `--pause`, how fast expiry works off the locks that fell due in a stall.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::cli::LocksArgs;
use crate::device::{Device, DeviceCounts, DeviceSpan};
use crate::load;
use crate::node::{Harness, health_once};

/// Upper bound on creating the tickets, and on placing the orders.
const PHASE_LIMIT: Duration = Duration::from_secs(2 * 60 * 60);
/// How long past the TTL to wait for the last lock to expire.
const EXPIRY_GRACE: Duration = Duration::from_secs(10 * 60);
/// How long after a `--pause` the locks expired are counted.
const CAPACITY_WINDOW: Duration = Duration::from_secs(10);
/// How often to print progress while waiting for expiry.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

const MB: f64 = 1024.0 * 1024.0;

/// Runs the benchmark; `Ok(false)` when a check fails.
pub(crate) async fn run(args: &LocksArgs, harness: &mut Harness) -> Result<bool> {
    let mut passed = true;
    let count = args.count;
    let addr = harness.start().await?.addr();
    println!("node serving on {addr} (lock TTL {:?})", args.lock_ttl);

    // 1. Accounts and tickets; the memory baseline.
    let (seller, buyers) = load::sign_up_seller_and_buyers(addr, args.connections).await?;
    let (tickets, took) =
        load::create_tickets(addr, &seller, count, args.connections, PHASE_LIMIT).await?;
    let tickets_rate = tickets.len() as f64 / took.as_secs_f64().max(1e-9);
    let baseline = harness.node()?.rss_bytes()?;
    println!(
        "setup:    {} tickets in {:.2} s ({tickets_rate:.0} tickets/s); RSS {:.1} MB",
        tickets.len(),
        took.as_secs_f64(),
        baseline as f64 / MB
    );

    // 2. One order per ticket: the locks.
    let orders_started = Instant::now();
    let orders = load::place_orders(addr, &buyers, Arc::new(tickets), PHASE_LIMIT).await?;
    let after = harness.node()?.rss_bytes()?;
    let extra = after.saturating_sub(baseline);
    println!(
        "orders:   {} placed in {:.2} s ({:.0} orders/s)  {}  ({} failed)",
        orders.ok,
        orders.elapsed.as_secs_f64(),
        orders.rate(),
        orders.latency_line(),
        orders.failed
    );
    orders.print_errors("orders");
    if orders.ok != count as u64 {
        println!("  CHECK FAILED: {} of {count} orders placed", orders.ok);
        passed = false;
    }
    println!(
        "memory:   RSS {:.1} MB, +{:.1} MB for {} locks ({:.0} bytes per lock)",
        after as f64 / MB,
        extra as f64 / MB,
        orders.ok,
        extra as f64 / (orders.ok.max(1) as f64)
    );
    let pending = pending_of(&health_once(addr).await?)?;
    passed &= check_pending("after orders", pending, count);

    // 3. Restarts with the locks pending.
    let stopping = harness.stop().await?;
    let node = harness.start().await?;
    let (health, term_ready) = node.wait_healthy().await?;
    println!(
        "restart:  SIGTERM took {} ms; spawn to first /healthz {} ms",
        stopping.as_millis(),
        term_ready.as_millis()
    );
    passed &= check_pending("after SIGTERM restart", pending_of(&health)?, count);

    harness.kill9().await?;
    let node = harness.start().await?;
    let (health, kill_ready) = node.wait_healthy().await?;
    let addr = node.addr();
    println!(
        "restart:  after kill -9: spawn to first /healthz {} ms",
        kill_ready.as_millis()
    );
    passed &= check_pending("after kill -9 restart", pending_of(&health)?, count);

    let locked_for = orders_started.elapsed();
    if locked_for >= args.lock_ttl {
        println!(
            "WARNING: placing the orders and restarting took {:.1} s, longer than the lock TTL \
             ({:.1} s): some locks expired before the last restart, and the node's lateness \
             figures (kept in memory) miss them; use a longer --lock-ttl",
            locked_for.as_secs_f64(),
            args.lock_ttl.as_secs_f64()
        );
    }

    // 4. Wait for every lock to expire; read the node's lateness figures. With `--pause`, first
    // a stall at the first expiry, and how fast expiry then works off what fell due.
    println!("expiry:   waiting for {count} locks to expire ...");
    let capacity = match args.pause {
        Some(pause) => {
            let placing = Placing {
                count: orders.ok,
                started: orders_started,
                took: orders.elapsed,
                ttl: args.lock_ttl,
            };
            let capacity = pause_at_first_expiry(harness, pause, &placing).await?;
            println!("  {}", capacity.line());
            Some(capacity)
        }
        None => None,
    };
    let device = Device::of(harness.data_dir())?;
    let (expiry, device_span) =
        wait_for_expiry(addr, args.lock_ttl + EXPIRY_GRACE, device.as_ref()).await?;
    let summary = &expiry["locks"]["expiry"];
    let expired = summary["expired"].as_u64().unwrap_or(0);
    let pending_left = pending_of(&expiry)?;
    if pending_left != 0 {
        println!(
            "  CHECK FAILED: {pending_left} locks still pending {:.0} s past the TTL",
            EXPIRY_GRACE.as_secs_f64()
        );
        passed = false;
    }

    println!();
    println!("setup:    {tickets_rate:.0} tickets/s  ({count} tickets)");
    println!(
        "orders:   {:.0} orders/s  {}  ({} ok, {} failed)",
        orders.rate(),
        orders.latency_line(),
        orders.ok,
        orders.failed
    );
    println!(
        "memory:   +{:.1} MB RSS for {} locks ({:.0} bytes/lock; baseline {:.1} MB)",
        extra as f64 / MB,
        orders.ok,
        extra as f64 / (orders.ok.max(1) as f64),
        baseline as f64 / MB
    );
    println!(
        "restart:  {} ms after SIGTERM, {} ms after kill -9 (spawn to first /healthz)",
        term_ready.as_millis(),
        kill_ready.as_millis()
    );
    println!(
        "expiry:   {expired} of {count} expired  lateness p50 {} ms  p99 {} ms  max {} ms",
        number(&summary["p50Ms"]),
        number(&summary["p99Ms"]),
        number(&summary["maxMs"])
    );
    if let Some(capacity) = &capacity {
        println!("{}", capacity.line());
    }
    match (&device, device_span) {
        (Some(device), Some((span, expired))) => println!(
            "device:   {}: {} (from the first expiry seen to the last)",
            device.name,
            span.per_item_line(expired, "expired lock")
        ),
        (Some(device), None) => println!("device:   {}: no expiry seen to measure", device.name),
        (None, _) => println!("device:   no /proc/diskstats line for the data dir's file system"),
    }
    println!("checks:   {}", if passed { "all passed" } else { "FAILED" });
    Ok(passed)
}

/// When the locks were placed: enough to tell how many had fallen due at a given time.
struct Placing {
    count: u64,
    started: Instant,
    took: Duration,
    ttl: Duration,
}

impl Placing {
    /// About how many locks had fallen due at `at`, taking them as placed at an even rate.
    fn due_at(&self, at: Instant) -> u64 {
        let first_due = self.started + self.ttl;
        let Some(since) = at.checked_duration_since(first_due) else {
            return 0;
        };
        let share = since.as_secs_f64() / self.took.as_secs_f64().max(1e-9);
        (self.count as f64 * share.min(1.0)).round() as u64
    }

    fn rate(&self) -> f64 {
        self.count as f64 / self.took.as_secs_f64().max(1e-9)
    }
}

/// How fast expiry worked off the locks that fell due while the node stood still.
struct Capacity {
    pause: Duration,
    window: Duration,
    expired: u64,
    /// Locks due and not expired at the end of the window (estimated; negative: none).
    still_due: i64,
    placed_rate: f64,
}

impl Capacity {
    fn line(&self) -> String {
        let rate = self.expired as f64 / self.window.as_secs_f64().max(1e-9);
        let backlog = if self.still_due > 0 {
            format!("about {} still due at the end", self.still_due)
        } else {
            "none left due at the end, so this is a lower bound (use a longer --pause)".to_owned()
        };
        format!(
            "capacity: after a {:.0} s pause, {} locks expired in {:.1} s ({rate:.0}/s, {:.1}× the \
             {:.0}/s they were placed at); {backlog}",
            self.pause.as_secs_f64(),
            self.expired,
            self.window.as_secs_f64(),
            rate / self.placed_rate.max(1e-9),
            self.placed_rate,
        )
    }
}

/// Waits for the first expiry, stops the node for `pause`, then counts the locks expired in the
/// `CAPACITY_WINDOW` after it goes on.
async fn pause_at_first_expiry(
    harness: &Harness,
    pause: Duration,
    placing: &Placing,
) -> Result<Capacity> {
    let node = harness.node()?;
    let give_up = Instant::now() + placing.ttl + EXPIRY_GRACE;
    while expired_of(&health_once(node.addr()).await?) == 0 {
        anyhow::ensure!(Instant::now() < give_up, "no lock expired before the pause");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    node.freeze(pause).await?;
    let (from, before) = (Instant::now(), expired_of(&health_once(node.addr()).await?));
    tokio::time::sleep(CAPACITY_WINDOW).await;
    let (to, after) = (Instant::now(), expired_of(&health_once(node.addr()).await?));
    Ok(Capacity {
        pause,
        window: to - from,
        expired: after - before,
        still_due: placing.due_at(to) as i64 - after as i64,
        placed_rate: placing.rate(),
    })
}

fn expired_of(health: &Value) -> u64 {
    health["locks"]["expiry"]["expired"].as_u64().unwrap_or(0)
}

fn pending_of(health: &Value) -> Result<u64> {
    health["locks"]["pending"]
        .as_u64()
        .with_context(|| format!("/healthz without locks.pending: {health}"))
}

fn check_pending(when: &str, pending: u64, expected: usize) -> bool {
    if pending == expected as u64 {
        println!("pending:  {pending} locks {when} (as expected)");
        true
    } else {
        println!("pending:  CHECK FAILED {when}: {pending} locks pending, expected {expected}");
        false
    }
}

/// Polls `/healthz` every second until no lock is pending or `limit` has passed. With `device`,
/// also what it did from the first poll that saw an expiry to the last poll, and the locks that
/// expired in between.
async fn wait_for_expiry(
    addr: SocketAddr,
    limit: Duration,
    device: Option<&Device>,
) -> Result<(Value, Option<(DeviceSpan, u64)>)> {
    let started = Instant::now();
    let mut last_progress = started;
    let mut first_expiry: Option<(DeviceCounts, u64)> = None;
    loop {
        let health = health_once(addr).await?;
        let pending = pending_of(&health)?;
        let expired = expired_of(&health);
        if let (Some(device), None, true) = (device, &first_expiry, expired > 0) {
            first_expiry = Some((device.counts()?, expired));
        }
        if pending == 0 || started.elapsed() >= limit {
            let span = match (device, first_expiry) {
                (Some(device), Some((before, expired_before))) => {
                    Some((device.counts()?.since(&before), expired - expired_before))
                }
                _ => None,
            };
            return Ok((health, span));
        }
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            println!(
                "  {:.0} s: {pending} pending, {} expired",
                started.elapsed().as_secs_f64(),
                health["locks"]["expiry"]["expired"]
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// A JSON number as printed; `?` when missing.
fn number(value: &Value) -> String {
    match value {
        Value::Number(number) => number.to_string(),
        _ => "?".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placing(started: Instant) -> Placing {
        Placing {
            count: 1_000,
            started,
            took: Duration::from_secs(10),
            ttl: Duration::from_secs(60),
        }
    }

    #[test]
    fn locks_fall_due_at_the_rate_they_were_placed_from_one_ttl_on() {
        let started = Instant::now();
        let placing = placing(started);
        assert_eq!(placing.due_at(started + Duration::from_secs(59)), 0);
        assert_eq!(placing.due_at(started + Duration::from_secs(60)), 0);
        assert_eq!(placing.due_at(started + Duration::from_millis(62_500)), 250);
        assert_eq!(placing.due_at(started + Duration::from_secs(70)), 1_000);
        assert_eq!(placing.due_at(started + Duration::from_secs(600)), 1_000);
        assert_eq!(placing.rate(), 100.0);
    }

    #[test]
    fn the_capacity_line_says_whether_a_backlog_was_left() {
        let mut capacity = Capacity {
            pause: Duration::from_secs(20),
            window: Duration::from_secs(3),
            expired: 45_000,
            still_due: 40_000,
            placed_rate: 5_000.0,
        };
        assert_eq!(
            capacity.line(),
            "capacity: after a 20 s pause, 45000 locks expired in 3.0 s (15000/s, 3.0× the \
             5000/s they were placed at); about 40000 still due at the end"
        );
        capacity.still_due = -12;
        assert!(capacity.line().ends_with(
            "none left due at the end, so this is a lower bound (use a longer --pause)"
        ));
    }
}
