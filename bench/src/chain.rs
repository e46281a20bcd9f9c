//! `tix-bench chain`: many simulated venues (`venues`) sending their events through a broker into
//! the hub, three times in one run. First one hub on SQLite behind one Mosquitto; then two hub
//! instances on PostgreSQL behind the same Mosquitto (the hubs' scaling alone); then two on
//! PostgreSQL behind a three-node NATS cluster, one instance killed (-9) halfway. Each run:
//! events/s stored while the venues made events, lag (venue commit to hub transaction) p50/p99 over
//! all events and per venue, events stored per second, the longest pause of a venue's stream, and
//! the check that every venue's 1..N is stored once (none lost, none doubled).

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::task::block_in_place;

use tix_hub::db::{Db, Location};
use tix_sync::qos::EventsQos;
use tix_tests::broker::{HUB_USER, SHIPPED_MAX_QUEUED};
use tix_tests::hub::hub_command;
use tix_tests::served::serve;
use tix_tests::{Broker, NatsCluster, Postgres, Served};

use crate::cli::ChainArgs;
use crate::cpu::{CpuSample, ProgramShare};
use crate::sync::broker_ceiling;
use crate::venues::{self, Made, Plan};

const HUB_TOKEN: &str = "bench-token-0123456789abcdef";
const HUB_PASS: &str = "bench-hub-pass";
/// The load generator's NATS account: it publishes for every venue and reads every ack.
const SIM_USER: &str = "tix-bench";
const SIM_PASS: &str = "bench-sim-pass";
/// A venue's events topic no simulated venue uses: the brokers' ceilings are measured on it
/// before any hub runs.
const CEILING_TOPIC: &str = "v1/venues/ceiling/events";
/// How long, at most, the hubs get to acknowledge everything after the venues stop.
const DRAIN: Duration = Duration::from_secs(120);
/// A venue's stream pausing longer than this is counted.
const LONG_PAUSE_MS: i64 = 5_000;
/// Programs named in the CPU breakdown; the rest are summed.
const PROGRAMS_SHOWN: usize = 6;

pub(crate) async fn run(args: &ChainArgs, dir: &Path) -> Result<bool> {
    let hub_bin = std::env::current_exe()?.with_file_name("tix-hub");
    if !hub_bin.is_file() {
        bail!("no hub binary at {}", hub_bin.display());
    }
    println!(
        "chain: {} simulated venues on {} connections, {} each run, window {} events per venue",
        args.venues,
        args.connections,
        humantime(args.duration),
        args.window
    );

    // One hub on SQLite behind Mosquitto; first the broker alone, for scale.
    let broker = Broker::spawn_anonymous(SHIPPED_MAX_QUEUED)?;
    let url = broker.anonymous_url();
    let mosquitto_ceiling = broker_ceiling(&url, &url, CEILING_TOPIC, 50_000, 400).await?;
    println!(
        "Mosquitto alone: {mosquitto_ceiling:.0} QoS 1 messages/s from one client to one subscriber"
    );
    let sqlite = dir.join("hub.sqlite3");
    let hub = start_hub(
        &hub_bin,
        sqlite.as_os_str(),
        &broker.anonymous_url(),
        "tix-hub",
        EventsQos::AtLeastOnce,
    )?;
    let cpu = Cpus::start(&[&hub])?;
    let made = venues::run(plan(
        args,
        vec![url.clone(); 3],
        url.clone(),
        EventsQos::AtLeastOnce,
    ))
    .await?;
    let cpu = cpu.stop()?;
    let single = measure(&Db::new(Location::Sqlite(sqlite)), &made).await?;
    drop(hub);
    single.print("SQLite + Mosquitto, one hub");
    cpu.print(single.stored);

    // Two hubs on PostgreSQL behind the same Mosquitto (anonymous here, so that the instances'
    // client ids are their own): the hubs' side of scaling, without NATS.
    let postgres = block_in_place(Postgres::spawn)?;
    let db_url = postgres.database()?;
    let qos = EventsQos::AtLeastOnce;
    let hub_a = start_hub(&hub_bin, db_url.as_ref(), &url, "tix-hub.a", qos)?;
    let hub_b = start_hub(&hub_bin, db_url.as_ref(), &url, "tix-hub.b", qos)?;
    wait_for_instances(&hub_a, 2).await?;
    wait_for_instances(&hub_b, 2).await?;
    let cpu = Cpus::start(&[&hub_a, &hub_b])?;
    let made = venues::run(plan(args, vec![url.clone(); 3], url, qos)).await?;
    let cpu = cpu.stop()?;
    let on_mosquitto = measure(&Db::new(Location::Postgres(db_url)), &made).await?;
    drop((hub_a, hub_b, broker));
    on_mosquitto.print("PostgreSQL + Mosquitto, two hubs");
    cpu.print(on_mosquitto.stored);

    // Two hubs on PostgreSQL behind a NATS cluster; one killed halfway.
    let db_url = postgres.database()?;
    let sim_entry = format!(
        "    {{\n        user: \"{SIM_USER}\"\n        password: \"{SIM_PASS}\"\n        \
         allowed_connection_types: [\"MQTT\"]\n        permissions: {{\n            \
         publish: {{ allow: [\"v1.venues.*.events\"] }}\n            \
         subscribe: {{ allow: [\"v1.hub.venues.*.ack\", \"$MQTT.sub.>\"] }}\n        }}\n    }}"
    );
    let accounts = [(HUB_USER.to_owned(), HUB_PASS.to_owned())];
    let nats = block_in_place(|| NatsCluster::spawn_with(&accounts, &[sim_entry]))?;
    let nats_ceiling = broker_ceiling(
        &nats.url(0, SIM_USER, SIM_PASS),
        &nats.url(1, HUB_USER, HUB_PASS),
        CEILING_TOPIC,
        10_000,
        400,
    )
    .await?;
    println!(
        "the NATS cluster alone: {nats_ceiling:.0} QoS 1 messages/s from one client (node 0) to one \
         subscriber (node 1)"
    );
    let hub_a = start_hub(
        &hub_bin,
        db_url.as_ref(),
        &nats.url(0, HUB_USER, HUB_PASS),
        "tix-hub.a",
        args.nats_qos,
    )?;
    let hub_b = start_hub(
        &hub_bin,
        db_url.as_ref(),
        &nats.url(1, HUB_USER, HUB_PASS),
        "tix-hub.b",
        args.nats_qos,
    )?;
    wait_for_instances(&hub_a, 2).await?;
    wait_for_instances(&hub_b, 2).await?;
    let publish_to = (0..3).map(|n| nats.url(n, SIM_USER, SIM_PASS)).collect();
    // The hubs' CPU is not summed here: one of them is killed.
    let cpu = Cpus::start(&[])?;
    let running = tokio::spawn(venues::run(plan(
        args,
        publish_to,
        nats.url(2, SIM_USER, SIM_PASS),
        args.nats_qos,
    )));
    tokio::time::sleep(args.duration / 2).await;
    let killed_at = venues_now_ms();
    hub_a.kill9();
    let made = running.await??;
    let cpu = cpu.stop()?;
    let shared = measure(&Db::new(Location::Postgres(db_url)), &made).await?;
    let health = hub_get(&hub_b, "/api/hub/health").await.unwrap_or_default();
    drop(hub_b);
    shared.print(&format!(
        "PostgreSQL + NATS cluster, events at QoS {}, two hubs (one killed halfway)",
        args.nats_qos
    ));
    cpu.print(shared.stored);
    let before_kill = shared.rate_between(made.from_ms, killed_at);
    let after_kill = shared.rate_between(killed_at, made.until_ms);
    println!(
        "  two hubs before the kill ({:.1} s into the run): {before_kill:.0} events/s; the \
         survivor alone after it: {after_kill:.0} events/s",
        killed_at.saturating_sub(made.from_ms) as f64 / 1000.0
    );
    println!(
        "  the survivor's view: instances {}, skipped {}, of which applied after the kill {}",
        health["instances"], health["mqtt"]["skipped"], health["mqtt"]["takenOver"]
    );
    let slow: Vec<String> = (0..3)
        .map(|n| {
            block_in_place(|| nats.monitor(n, "/varz"))
                .map_or_else(|_| "?".to_owned(), |v| v["slow_consumers"].to_string())
        })
        .collect();
    println!(
        "  slow consumers the NATS nodes cut off (their undelivered messages lost): {}",
        slow.join(" ")
    );
    println!(
        "ratios to one hub on SQLite + Mosquitto: two hubs on PostgreSQL + Mosquitto {:.2}, two \
         hubs on PostgreSQL + NATS (before the kill) {:.2}",
        on_mosquitto.rate / single.rate,
        before_kill / single.rate
    );
    Ok(single.complete() && on_mosquitto.complete() && shared.complete())
}

fn plan(args: &ChainArgs, publish_to: Vec<String>, acks_from: String, qos: EventsQos) -> Plan {
    Plan {
        qos,
        venues: args.venues,
        connections: args.connections,
        publish_to,
        acks_from,
        window: args.window,
        making: args.duration,
        drain: DRAIN,
    }
}

fn venues_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn humantime(d: Duration) -> String {
    format!("{:.0} s", d.as_secs_f64())
}

fn start_hub(
    bin: &Path,
    db: &std::ffi::OsStr,
    mqtt: &str,
    instance: &str,
    qos: EventsQos,
) -> Result<Served> {
    let mut command = hub_command(bin, db, mqtt, HUB_TOKEN);
    command.env("TIX_HUB_CLIENT_ID", instance);
    command.env("TIX_HUB_EVENTS_QOS", qos.to_string());
    block_in_place(|| serve(command, instance, Duration::from_secs(60)))
}

async fn hub_get(hub: &Served, path: &str) -> Result<Value> {
    let (status, body) = tix_process::call(hub.socket_addr(), "GET", path, Some(HUB_TOKEN), None)
        .await
        .map_err(anyhow::Error::msg)?;
    if status != 200 {
        bail!("GET {path}: {status} {body}");
    }
    Ok(serde_json::from_str(&body)?)
}

async fn wait_for_instances(hub: &Served, count: usize) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let health = hub_get(hub, "/api/hub/health").await?;
        if health["instances"].as_array().map(Vec::len) == Some(count) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("the hub instances did not see each other within 30 s")
}

/// The machine's and the hubs' CPU over one run.
struct Cpus<'h> {
    machine: CpuSample,
    hubs: Vec<(&'h Served, Duration)>,
}

/// What `Cpus` found.
struct CpuUse {
    busy_share: f64,
    /// The programs that took it, most first.
    programs: Vec<ProgramShare>,
    /// CPU time the hubs used, if they were counted.
    hubs: Option<Duration>,
}

impl<'h> Cpus<'h> {
    fn start(hubs: &[&'h Served]) -> Result<Cpus<'h>> {
        let hubs = hubs
            .iter()
            .map(|h| Ok((*h, tix_tests::cpu_time(h.pid())?)))
            .collect::<Result<_>>()?;
        Ok(Cpus {
            machine: CpuSample::now()?,
            hubs,
        })
    }

    fn stop(self) -> Result<CpuUse> {
        let busy_share = self.machine.busy_share_since()?;
        let programs = self.machine.programs_since()?;
        let mut used = Duration::ZERO;
        for (hub, before) in &self.hubs {
            used += tix_tests::cpu_time(hub.pid())?.saturating_sub(*before);
        }
        Ok(CpuUse {
            busy_share,
            programs,
            hubs: (!self.hubs.is_empty()).then_some(used),
        })
    }
}

impl CpuUse {
    fn print(&self, stored: u64) {
        let hubs = self.hubs.map_or_else(String::new, |used| {
            format!(
                "; the hubs {:.1} CPU-s, {:.0} µs per event stored",
                used.as_secs_f64(),
                used.as_secs_f64() * 1e6 / stored.max(1) as f64
            )
        });
        println!(
            "  CPU (all processes, venues and brokers included): cores {:.0} % busy{hubs}",
            self.busy_share * 100.0
        );
        let mut programs: Vec<String> = self
            .programs
            .iter()
            .take(PROGRAMS_SHOWN)
            .map(|p| format!("{} {:.0} %", p.command, p.share * 100.0))
            .collect();
        let rest: f64 = self
            .programs
            .iter()
            .skip(PROGRAMS_SHOWN)
            .map(|p| p.share)
            .sum();
        programs.push(format!("others {:.0} %", rest * 100.0));
        println!("  of all cores' time: {}", programs.join(", "));
    }
}

/// What one run stored, read back from the hub's database.
struct Measured {
    /// Events stored per second while the venues made events.
    rate: f64,
    lag_p50: i64,
    lag_p99: i64,
    /// Of the venues' own p99 lags: the median and the worst.
    venue_p99_median: i64,
    venue_p99_max: i64,
    /// The longest time between two consecutive stored events of one venue, while making, and
    /// when it began (ms into the run).
    longest_pause_ms: i64,
    longest_pause_from_ms: i64,
    /// Venues whose stream paused longer than `LONG_PAUSE_MS` at least once.
    venues_paused_long: usize,
    per_second: Vec<u64>,
    stored_ms: Vec<i64>,
    made: u64,
    stored: u64,
    lost: u64,
    doubled: u64,
    unacked: u64,
    resent: u64,
}

impl Measured {
    fn complete(&self) -> bool {
        self.lost == 0 && self.doubled == 0
    }

    /// Events stored per second between two instants (Unix ms).
    fn rate_between(&self, from: u64, until: u64) -> f64 {
        let (from, until) = (from as i64, until as i64);
        let count = self
            .stored_ms
            .iter()
            .filter(|&&t| t >= from && t < until)
            .count();
        count as f64 * 1000.0 / (until - from).max(1) as f64
    }

    fn print(&self, what: &str) {
        println!("{what}:");
        println!(
            "  stored {:.0} events/s while the venues made events; lag p50 {} ms p99 {} ms; \
             per venue p99: median {} ms, worst {} ms",
            self.rate, self.lag_p50, self.lag_p99, self.venue_p99_median, self.venue_p99_max
        );
        println!(
            "  longest pause of a venue's stream: {} ms, from {:.1} s into the run; venues that \
             paused over {} s: {}; resent by the venues: {}",
            self.longest_pause_ms,
            self.longest_pause_from_ms as f64 / 1000.0,
            LONG_PAUSE_MS / 1000,
            self.venues_paused_long,
            self.resent
        );
        let seconds: Vec<String> = self.per_second.iter().map(u64::to_string).collect();
        println!("  stored per second: {}", seconds.join(" "));
        println!(
            "  made {}, stored {}, lost {}, doubled {}, unacknowledged at the end {}: {}",
            self.made,
            self.stored,
            self.lost,
            self.doubled,
            self.unacked,
            if self.complete() { "ok" } else { "FAILED" }
        );
    }
}

/// Reads every stored event of the run back and measures it against what the venues made.
async fn measure(db: &Db, made: &Made) -> Result<Measured> {
    let epoch = made.epoch.to_string();
    let db = db.clone();
    let rows: Vec<(String, i64, i64, i64)> = tokio::task::spawn_blocking(move || {
        db.read(|sql| {
            sql.query(
                "SELECT venue, seq, time_ms, received_ms FROM events WHERE epoch = ?1",
                &[&epoch],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
        })
    })
    .await?
    .context("reading the stored events")?;
    let mut per_venue: HashMap<String, Vec<(i64, i64, i64)>> = HashMap::new();
    for (venue, seq, time, received) in rows {
        per_venue
            .entry(venue)
            .or_default()
            .push((seq, time, received));
    }
    let (from, until) = (made.from_ms as i64, made.until_ms as i64);
    let mut lags = Vec::new();
    let mut venue_p99 = Vec::new();
    let mut stored_ms = Vec::new();
    let (mut lost, mut doubled, mut stored) = (0u64, 0u64, 0u64);
    let (mut longest_pause, mut longest_pause_from, mut venues_paused_long) = (0i64, 0i64, 0usize);
    for (n, venue) in made.venues.iter().enumerate() {
        let mut events = per_venue.remove(venue.as_str()).unwrap_or_default();
        events.sort_unstable();
        let distinct = {
            let mut seqs: Vec<i64> = events.iter().map(|e| e.0).collect();
            seqs.dedup();
            seqs
        };
        doubled += (events.len() - distinct.len()) as u64;
        let expected: Vec<i64> = (1..=made.made[n] as i64).collect();
        lost += expected
            .iter()
            .filter(|s| distinct.binary_search(s).is_err())
            .count() as u64;
        stored += distinct.len() as u64;
        let mut own: Vec<i64> = events
            .iter()
            .map(|(_, time, received)| received - time)
            .collect();
        own.sort_unstable();
        venue_p99.push(percentile(&own, 0.99));
        lags.extend(own);
        let mut times: Vec<i64> = events
            .iter()
            .map(|e| e.2)
            .filter(|t| (from..until).contains(t))
            .collect();
        times.sort_unstable();
        for pair in times.windows(2) {
            if pair[1] - pair[0] > longest_pause {
                longest_pause = pair[1] - pair[0];
                longest_pause_from = pair[0] - from;
            }
        }
        if times
            .windows(2)
            .any(|pair| pair[1] - pair[0] > LONG_PAUSE_MS)
        {
            venues_paused_long += 1;
        }
        stored_ms.extend(events.iter().map(|e| e.2));
    }
    lags.sort_unstable();
    venue_p99.sort_unstable();
    let seconds = ((until - from) / 1000).max(1) as usize;
    let mut per_second = vec![0u64; seconds];
    for &t in &stored_ms {
        if (from..until).contains(&t) {
            let second = ((t - from) / 1000) as usize;
            if let Some(count) = per_second.get_mut(second) {
                *count += 1;
            }
        }
    }
    let within = per_second.iter().sum::<u64>();
    Ok(Measured {
        rate: within as f64 * 1000.0 / (until - from).max(1) as f64,
        lag_p50: percentile(&lags, 0.50),
        lag_p99: percentile(&lags, 0.99),
        venue_p99_median: percentile(&venue_p99, 0.50),
        venue_p99_max: venue_p99.last().copied().unwrap_or(0),
        longest_pause_ms: longest_pause,
        longest_pause_from_ms: longest_pause_from,
        venues_paused_long,
        per_second,
        stored_ms,
        made: made.made.iter().sum(),
        stored,
        lost,
        doubled,
        unacked: made
            .made
            .iter()
            .zip(&made.acked)
            .map(|(m, a)| m.saturating_sub(*a))
            .sum(),
        resent: made.resent,
    })
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}
