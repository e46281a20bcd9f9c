//! `tix-bench sync`: events/s from one node to the hub through Mosquitto under an orders load,
//! the end-to-end lag (commit at the venue to the hub's transaction), and the time to drain a
//! backlog after the broker comes back. For scale, the same run measures the broker itself: raw
//! QoS 1 messages of about the size of an event, from one rumqttc client to another. Last, orders/s
//! with the broker away while events are outstanding (published, never acknowledged), and what the
//! node's CPU does then, busy and idle: a node must sell as fast without its broker as with it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, SubscribeReasonCode};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use tix_sync::broker::BrokerUrl;
use tokio::task::block_in_place;

use tix_tests::broker::SHIPPED_MAX_QUEUED;
use tix_tests::{Broker, Served};

use crate::cli::SyncArgs;
use crate::load;
use crate::node::Harness;

pub(crate) const VENUE: &str = "bench-venue";
pub(crate) const HUB_TOKEN: &str = "bench-token-0123456789abcdef";
/// Longest a catch-up may take before the benchmark gives up.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(30 * 60);
/// Orders placed after the hub is gone and before the broker goes, so that events are outstanding.
const PRIMING: Duration = Duration::from_secs(2);
/// How long the node's CPU is watched while it is idle and the broker is away.
const IDLE: Duration = Duration::from_secs(5);

/// The hub's stored sequence for the venue (0 before its first event).
fn hub_last_seq(db: &Path) -> Result<u64> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let seq: Option<i64> = conn
        .query_row(
            "SELECT last_seq FROM venues WHERE venue = ?1",
            [VENUE],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(seq.unwrap_or(0) as u64)
}

pub(crate) async fn node_last_seq(addr: SocketAddr) -> Result<u64> {
    let health = crate::node::health_once(addr).await?;
    health["events"]["lastSeq"]
        .as_u64()
        .context("no events.lastSeq in /healthz")
}

/// Waits until the node's search index (if it has one) has followed every event.
async fn wait_for_search(addr: SocketAddr) -> Result<Duration> {
    let started = Instant::now();
    loop {
        let health = crate::node::health_once(addr).await?;
        let search = &health["search"];
        let done = search["enabled"] == false
            || (search["ready"] == true
                && search["indexedSeq"].as_u64() >= health["events"]["lastSeq"].as_u64());
        if done {
            return Ok(started.elapsed());
        }
        if started.elapsed() > CATCH_UP_LIMIT {
            bail!("the search index did not catch up within {CATCH_UP_LIMIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the hub holds `target`; returns how long that took.
pub(crate) async fn wait_for_hub(db: &Path, target: u64) -> Result<Duration> {
    let started = Instant::now();
    while hub_last_seq(db)? < target {
        if started.elapsed() > CATCH_UP_LIMIT {
            bail!("the hub did not reach sequence {target} within {CATCH_UP_LIMIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(started.elapsed())
}

/// A hub on `dir/hub.sqlite3` following `broker`: the hub process and its database's path.
pub(crate) fn start_hub(broker: &Broker, dir: &Path) -> Result<(Served, PathBuf)> {
    let hub_bin = std::env::current_exe()?.with_file_name("tix-hub");
    if !hub_bin.is_file() {
        bail!("no hub binary at {}", hub_bin.display());
    }
    let hub_db = dir.join("hub.sqlite3");
    let hub = block_in_place(|| {
        tix_tests::spawn_hub(
            &hub_bin,
            &hub_db,
            &broker.anonymous_url(),
            HUB_TOKEN,
            Duration::from_secs(60),
        )
    })?;
    Ok((hub, hub_db))
}

/// The node's flags for syncing to `broker` as the benchmark's venue.
pub(crate) fn venue_args(broker: &Broker) -> Vec<String> {
    vec![
        "--venue-id".into(),
        VENUE.into(),
        "--mqtt-url".into(),
        broker.anonymous_url(),
    ]
}

/// Lag (hub transaction start minus venue commit) of the events in `(after, upto]`, sorted.
fn lags(db: &Path, after: u64, upto: u64) -> Result<Vec<i64>> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut stmt = conn.prepare(
        "SELECT received_ms - time_ms FROM events WHERE venue = ?1 AND seq > ?2 AND seq <= ?3",
    )?;
    let mut lags: Vec<i64> = stmt
        .query_map(rusqlite::params![VENUE, after as i64, upto as i64], |r| {
            r.get(0)
        })?
        .collect::<rusqlite::Result<_>>()?;
    lags.sort_unstable();
    Ok(lags)
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// The broker's own ceiling: `count` QoS 1 messages of `size` bytes on `topic` from one client (at
/// `publisher`, an `mqtt://` URL) to a subscriber (at `subscriber`), in messages per second (until
/// the subscriber has them all).
pub(crate) async fn broker_ceiling(
    publisher: &str,
    subscriber: &str,
    topic: &str,
    count: usize,
    size: usize,
) -> Result<f64> {
    let options = |url: &str, id: &str| -> Result<MqttOptions> {
        let broker: BrokerUrl = url.parse().map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
        let mut options = MqttOptions::new(id, broker.host.clone(), broker.port);
        if let Some((user, pass)) = &broker.credentials {
            options.set_credentials(user.clone(), pass.clone());
        }
        Ok(options)
    };
    let mut sub_options = options(subscriber, "bench-sub")?;
    sub_options.set_clean_session(false);
    let (sub, mut sub_loop) = AsyncClient::new(sub_options, 1024);
    sub.subscribe(topic, QoS::AtLeastOnce).await?;
    loop {
        if let Event::Incoming(Packet::SubAck(ack)) = sub_loop.poll().await? {
            if ack.return_codes.contains(&SubscribeReasonCode::Failure) {
                // A cluster still settling may refuse at first.
                tokio::time::sleep(Duration::from_secs(1)).await;
                sub.subscribe(topic, QoS::AtLeastOnce).await?;
                continue;
            }
            break;
        }
    }
    let received = tokio::spawn(async move {
        let mut n = 0;
        while n < count {
            if let Ok(Event::Incoming(Packet::Publish(_))) = sub_loop.poll().await {
                n += 1;
            }
        }
        drop(sub);
    });
    let (publisher, mut pub_loop) = AsyncClient::new(options(publisher, "bench-pub")?, 1024);
    let poller = tokio::spawn(async move { while pub_loop.poll().await.is_ok() {} });
    let payload = Arc::new(vec![b'x'; size]);
    let started = Instant::now();
    for _ in 0..count {
        publisher
            .publish(topic, QoS::AtLeastOnce, false, payload.to_vec())
            .await?;
    }
    tokio::time::timeout(Duration::from_secs(300), received)
        .await
        .context("the subscriber did not get every message within 300 s")??;
    let rate = count as f64 / started.elapsed().as_secs_f64();
    poller.abort();
    Ok(rate)
}

pub(crate) async fn run(args: &SyncArgs, harness: &mut Harness, dir: &Path) -> Result<bool> {
    // Anonymous on loopback: the benchmark measures transport, not authentication.
    let mut broker = block_in_place(|| Broker::spawn_anonymous(SHIPPED_MAX_QUEUED))?;
    let url = broker.anonymous_url();
    let ceiling = broker_ceiling(&url, &url, "bench/ceiling", 100_000, 400).await?;
    println!("broker:  {ceiling:.0} msg/s (QoS 1, 400 B, one rumqttc client to another)");

    let (hub, hub_db) = start_hub(&broker, dir)?;
    harness.set_extra_args(venue_args(&broker));
    let addr = harness.start().await?.addr();
    let (seller, buyers) = load::sign_up_seller_and_buyers(addr, args.connections).await?;
    let (mut tickets, took) = load::create_tickets(
        addr,
        &seller,
        args.tickets,
        args.connections,
        Duration::from_secs(3600),
    )
    .await?;
    println!(
        "setup:   {} tickets in {:.1} s (synced as they were created)",
        tickets.len(),
        took.as_secs_f64()
    );
    let setup_seq = node_last_seq(addr).await?;
    wait_for_hub(&hub_db, setup_seq).await?;
    // Start the sustained phase from a quiet node: the search index (when on) has caught up with
    // the listing too, so the phase measures selling and syncing, not bulk indexing.
    let index_wait = wait_for_search(addr).await?;
    println!(
        "setup:   hub and search index caught up ({:.1} s for the index)",
        index_wait.as_secs_f64()
    );

    println!(
        "sustained: orders for {:.0} s with sync on ...",
        args.duration.as_secs_f64()
    );
    let node_before = node_last_seq(addr).await?;
    let hub_before = hub_last_seq(&hub_db)?;
    // Half the tickets for orders with the broker up, the rest for the phase with it away.
    let mut away_tickets = tickets.split_off(tickets.len() / 2);
    let priming_tickets = away_tickets.split_off(away_tickets.len() * 9 / 10);
    let orders = load::place_orders(addr, &buyers, Arc::new(tickets), args.duration).await?;
    let window = orders.elapsed.as_secs_f64();
    let node_after = node_last_seq(addr).await?;
    let hub_after = hub_last_seq(&hub_db)?;
    let catch_up = wait_for_hub(&hub_db, node_after).await?;
    let produced = (node_after - node_before) as f64 / window;
    let shipped = (hub_after - hub_before) as f64 / window;
    let lag = lags(&hub_db, node_before, node_after)?;

    println!("backlog: broker down, {} events written ...", args.backlog);
    block_in_place(|| broker.kill9());
    let backlog_start = node_last_seq(addr).await?;
    let (_, backlog_took) = load::create_tickets(
        addr,
        &seller,
        args.backlog,
        args.connections,
        Duration::from_secs(3600),
    )
    .await?;
    let backlog_end = node_last_seq(addr).await?;
    let backlog = backlog_end - backlog_start;
    let drain_started = Instant::now();
    block_in_place(|| broker.respawn())?;
    wait_for_hub(&hub_db, backlog_end).await?;
    let drain = drain_started.elapsed();

    let search_on = crate::node::health_once(addr).await?["search"]["enabled"] != false;
    block_in_place(|| hub.stop(Duration::from_secs(60)))?;
    let db_bytes = std::fs::metadata(&hub_db)?.len();

    println!(
        "broker away: orders for {:.0} s with events outstanding ...",
        args.duration.as_secs_f64()
    );
    // The hub is gone: what the node publishes now is never acknowledged. Then the broker goes.
    let primed = load::place_orders(addr, &buyers, Arc::new(priming_tickets), PRIMING).await?;
    block_in_place(|| broker.kill9());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let node = harness.node()?;
    let cpu_before = node.cpu_time()?;
    let away = load::place_orders(addr, &buyers, Arc::new(away_tickets), args.duration).await?;
    let away_cpu = node.cpu_time()? - cpu_before;
    let idle_before = node.cpu_time()?;
    tokio::time::sleep(IDLE).await;
    let idle_cpu = node.cpu_time()? - idle_before;

    println!();
    println!("broker:   {ceiling:.0} msg/s raw QoS 1 ceiling (400 B messages)");
    println!(
        "search:   {}",
        if search_on {
            "on (the node indexes every ticket)"
        } else {
            "off"
        }
    );
    println!(
        "orders:   {:.0} orders/s  {}  ({} ok, {} failed)",
        orders.rate(),
        orders.latency_line(),
        orders.ok,
        orders.failed
    );
    println!(
        "sync:     {shipped:.0} events/s stored at the hub over {window:.1} s, venue produced {produced:.0} events/s; caught up {:.2} s after the load",
        catch_up.as_secs_f64()
    );
    println!(
        "lag:      p50 {} ms  p99 {} ms  max {} ms  ({} events, venue commit to hub transaction)",
        percentile(&lag, 0.5),
        percentile(&lag, 0.99),
        lag.last().copied().unwrap_or(0),
        lag.len()
    );
    println!(
        "ratio:    events/s stored / broker ceiling: {:.2}",
        shipped / ceiling.max(1e-9)
    );
    println!(
        "backlog:  {backlog} events (written in {:.1} s while the broker was down) drained in {:.1} s ({:.0} events/s)",
        backlog_took.as_secs_f64(),
        drain.as_secs_f64(),
        backlog as f64 / drain.as_secs_f64().max(1e-9)
    );
    println!("hub db:   {:.1} MB", db_bytes as f64 / 1e6);
    println!(
        "away:     {:.0} orders/s  {}  ({} ok, {} failed; broker down after {} orders with the hub gone){}",
        away.rate(),
        away.latency_line(),
        away.ok,
        away.failed,
        primed.ok,
        if away.exhausted {
            "; ran out of tickets"
        } else {
            ""
        }
    );
    println!(
        "away cpu: node {:.1} CPU-s over {:.1} s of orders; idle {:.2} CPU-s in {:.0} s",
        away_cpu.as_secs_f64(),
        away.elapsed.as_secs_f64(),
        idle_cpu.as_secs_f64(),
        IDLE.as_secs_f64()
    );
    Ok(true)
}
