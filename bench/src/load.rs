//! The load phases shared by the subcommands: sign-ups, ticket creation, `/hello`, orders and
//! order counting, each run by concurrent workers, plus latency statistics.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::json;
use tokio::task::JoinSet;

use crate::client::{Conn, Reply, connect_all};

/// How many sign-ups run at once: each costs the node ~30 ms of CPU.
pub(crate) const SIGNUP_CONCURRENCY: usize = 8;
/// Password of every benchmark account.
const PASSWORD: &str = "bench-pass";
/// How many error descriptions are kept per phase.
const ERROR_SAMPLES: usize = 5;

/// Outcome of a load phase.
pub(crate) struct Stats {
    pub(crate) ok: u64,
    pub(crate) failed: u64,
    /// Wall time from the start of the phase until the last worker finished.
    pub(crate) elapsed: Duration,
    /// Sorted latencies of the successful requests, in microseconds.
    latencies_us: Vec<u32>,
    pub(crate) error_samples: Vec<String>,
    /// The phase ran out of work (tickets) before its time was up.
    pub(crate) exhausted: bool,
}

impl Stats {
    /// Successful requests per second.
    pub(crate) fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `p`-quantile (0..=1) of successful-request latency, in milliseconds.
    pub(crate) fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let rank = (p * self.latencies_us.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.latencies_us.len()) - 1;
        f64::from(self.latencies_us[index]) / 1000.0
    }

    /// `p50 X.XX ms  p99 X.XX ms  p99.9 X.XX ms  max X.XX ms`: the tail beyond p99 too, where a
    /// stall that holds back fewer than one request in a hundred shows.
    pub(crate) fn latency_line(&self) -> String {
        format!(
            "p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms",
            self.percentile_ms(0.50),
            self.percentile_ms(0.99),
            self.percentile_ms(0.999),
            self.percentile_ms(1.0)
        )
    }

    pub(crate) fn print_errors(&self, what: &str) {
        if self.failed == 0 {
            return;
        }
        println!("  {} failed {what}; first errors:", self.failed);
        for sample in &self.error_samples {
            println!("    {sample}");
        }
    }
}

impl Stats {
    /// The stats of several stretches of the same load, as one: their requests, times and
    /// latencies summed.
    pub(crate) fn combine(parts: Vec<Stats>) -> Stats {
        let mut all = Stats {
            ok: 0,
            failed: 0,
            elapsed: Duration::ZERO,
            latencies_us: Vec::new(),
            error_samples: Vec::new(),
            exhausted: false,
        };
        for part in parts {
            all.ok += part.ok;
            all.failed += part.failed;
            all.elapsed += part.elapsed;
            all.latencies_us.extend(part.latencies_us);
            let room = ERROR_SAMPLES.saturating_sub(all.error_samples.len());
            all.error_samples
                .extend(part.error_samples.into_iter().take(room));
            all.exhausted |= part.exhausted;
        }
        all.latencies_us.sort_unstable();
        all
    }

    /// The stats of workers that each kept their own latencies, failures and finishing time.
    pub(crate) fn from_parts(parts: Vec<(Vec<Duration>, u64, Instant)>, started: Instant) -> Stats {
        let tallies = parts
            .into_iter()
            .map(|(latencies, failed, finished)| {
                let mut tally = Tally {
                    failed,
                    finished: Some(finished),
                    ..Tally::default()
                };
                latencies.into_iter().for_each(|l| tally.success(l));
                tally
            })
            .collect();
        merge(tallies, started, &Samples::default(), false)
    }
}

/// What one worker saw.
#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    latencies_us: Vec<u32>,
    finished: Option<Instant>,
}

impl Tally {
    fn success(&mut self, latency: Duration) {
        self.ok += 1;
        self.latencies_us
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }

    /// Counts one request's outcome; after a transport error it reconnects. Returns false when the
    /// worker should stop (the node cannot be reached again).
    async fn count(
        &mut self,
        reply: Result<Reply>,
        expected: u16,
        samples: &Samples,
        conn: &mut Conn,
    ) -> bool {
        match reply {
            Ok(reply) if reply.status == expected => self.success(reply.latency),
            Ok(reply) => {
                self.failed += 1;
                samples.note(|| reply.describe());
            }
            Err(error) => {
                self.failed += 1;
                samples.note(|| format!("{error:#}"));
                return conn.reconnect().await.is_ok();
            }
        }
        true
    }
}

/// The first few errors of a phase, shared by its workers.
#[derive(Clone, Default)]
struct Samples(Arc<Mutex<Vec<String>>>);

impl Samples {
    fn note(&self, text: impl FnOnce() -> String) {
        let mut samples = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if samples.len() < ERROR_SAMPLES {
            samples.push(text());
        }
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }
}

/// Runs one task per connection and collects their results; the first error aborts the others.
pub(crate) async fn run_workers<T, Fut>(
    conns: Vec<Conn>,
    mut work: impl FnMut(usize, Conn) -> Fut,
) -> Result<Vec<T>>
where
    T: Send + 'static,
    Fut: Future<Output = Result<T>> + Send + 'static,
{
    let mut set = JoinSet::new();
    for (worker, conn) in conns.into_iter().enumerate() {
        set.spawn(work(worker, conn));
    }
    let mut results = Vec::with_capacity(set.len());
    while let Some(joined) = set.join_next().await {
        results.push(joined.context("a worker panicked")??);
    }
    Ok(results)
}

fn merge(tallies: Vec<Tally>, started: Instant, samples: &Samples, exhausted: bool) -> Stats {
    let mut stats = Stats {
        ok: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
        error_samples: samples.take(),
        exhausted,
    };
    let mut last = started;
    for tally in tallies {
        stats.ok += tally.ok;
        stats.failed += tally.failed;
        stats.latencies_us.extend(tally.latencies_us);
        last = last.max(tally.finished.unwrap_or(started));
    }
    stats.elapsed = last - started;
    stats.latencies_us.sort_unstable();
    stats
}

/// Signs up one account per email, `SIGNUP_CONCURRENCY` at a time; returns their session cookies
/// in the same order.
pub(crate) async fn sign_up(addr: SocketAddr, emails: Vec<String>) -> Result<Vec<String>> {
    let emails = Arc::new(emails);
    let next = Arc::new(AtomicUsize::new(0));
    let workers = SIGNUP_CONCURRENCY.min(emails.len()).max(1);
    let conns = connect_all(addr, workers).await?;
    let results = run_workers(conns, |_, mut conn| {
        let emails = Arc::clone(&emails);
        let next = Arc::clone(&next);
        async move {
            let mut cookies = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(email) = emails.get(index) else {
                    break;
                };
                let body = json!({ "email": email, "password": PASSWORD });
                let reply = conn.post("/api/users/signup", None, &body).await?;
                if reply.status != 201 {
                    bail!("signing up {email}: {}", reply.describe());
                }
                let cookie = reply
                    .cookie
                    .with_context(|| format!("signing up {email}: no Set-Cookie"))?;
                cookies.push((index, cookie));
            }
            Ok(cookies)
        }
    })
    .await?;
    let mut cookies: Vec<(usize, String)> = results.into_iter().flatten().collect();
    cookies.sort_unstable_by_key(|(index, _)| *index);
    Ok(cookies.into_iter().map(|(_, cookie)| cookie).collect())
}

/// Signs up a seller and `buyers` buyers (`seller@bench.test`, `buyerN@bench.test`); their session
/// cookies, the seller's first.
pub(crate) async fn sign_up_seller_and_buyers(
    addr: SocketAddr,
    buyers: usize,
) -> Result<(String, Vec<String>)> {
    let emails = std::iter::once("seller@bench.test".to_owned())
        .chain((0..buyers).map(|i| format!("buyer{i}@bench.test")))
        .collect();
    let mut cookies = sign_up(addr, emails).await?;
    let buyers = cookies.split_off(1);
    Ok((cookies.remove(0), buyers))
}

/// Creates `count` tickets as the seller over `workers` connections; returns their ids and the time
/// it took. Any failure aborts: later phases need every ticket.
pub(crate) async fn create_tickets(
    addr: SocketAddr,
    seller: &str,
    count: usize,
    workers: usize,
    limit: Duration,
) -> Result<(Vec<String>, Duration)> {
    let seller: Arc<str> = Arc::from(seller);
    let next = Arc::new(AtomicUsize::new(0));
    let conns = connect_all(addr, workers.min(count).max(1)).await?;
    let started = Instant::now();
    let deadline = started + limit;
    let results = run_workers(conns, |_, mut conn| {
        let seller = Arc::clone(&seller);
        let next = Arc::clone(&next);
        async move {
            let mut ids = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= count {
                    break;
                }
                if Instant::now() >= deadline {
                    bail!("creating tickets took longer than {limit:?}");
                }
                let body = json!({ "title": catalogue_title(index), "price": 10 + index % 90 });
                let reply = conn.post("/api/tickets", Some(&seller), &body).await?;
                if reply.status != 201 {
                    bail!("creating a ticket: {}", reply.describe());
                }
                let ticket = reply.json()?;
                let id = ticket["id"]
                    .as_str()
                    .with_context(|| format!("ticket without an id: {ticket}"))?;
                ids.push(id.to_owned());
            }
            Ok(ids)
        }
    })
    .await?;
    let elapsed = started.elapsed();
    Ok((results.into_iter().flatten().collect(), elapsed))
}

/// A varied, realistic title for ticket `index`: an act, a kind of event, a number.
pub(crate) fn catalogue_title(index: usize) -> String {
    const ACTS: [&str; 10] = [
        "Taylor Swift",
        "Miles Davis Tribute",
        "Blue Note Jazz Quartet",
        "Berlin Philharmonic",
        "Arctic Monkeys",
        "Nina Simone Songbook",
        "Friday Jazz Collective",
        "Bach Cello Suites",
        "Rolling Stones Revival",
        "Metallica",
    ];
    const KINDS: [&str; 8] = [
        "Night", "Matinee", "Live", "Tour", "Gala", "Session", "Festival", "Concert",
    ];
    format!(
        "{} {} {}",
        ACTS[index % ACTS.len()],
        KINDS[(index / ACTS.len()) % KINDS.len()],
        index / (ACTS.len() * KINDS.len())
    )
}

/// `workers` connections send `GET /hello` back to back for `duration`.
pub(crate) async fn hello(addr: SocketAddr, workers: usize, duration: Duration) -> Result<Stats> {
    let samples = Samples::default();
    let conns = connect_all(addr, workers).await?;
    let started = Instant::now();
    let deadline = started + duration;
    let tallies = run_workers(conns, |_, mut conn| {
        let samples = samples.clone();
        async move {
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                let reply = conn.get("/hello", None).await;
                if !tally.count(reply, 200, &samples, &mut conn).await {
                    break;
                }
            }
            tally.finished = Some(Instant::now());
            Ok(tally)
        }
    })
    .await?;
    Ok(merge(tallies, started, &samples, false))
}

/// One worker per buyer cookie places orders for the next unused ticket, until `duration` is up or
/// the tickets run out. Only 201s count as placed.
pub(crate) async fn place_orders(
    addr: SocketAddr,
    buyers: &[String],
    tickets: Arc<Vec<String>>,
    duration: Duration,
) -> Result<Stats> {
    place_orders_from(addr, buyers, tickets, 0, duration).await
}

/// `place_orders`, taking the tickets from index `first` on (those before were taken already).
pub(crate) async fn place_orders_from(
    addr: SocketAddr,
    buyers: &[String],
    tickets: Arc<Vec<String>>,
    first: usize,
    duration: Duration,
) -> Result<Stats> {
    let samples = Samples::default();
    let next = Arc::new(AtomicUsize::new(first));
    let exhausted = Arc::new(AtomicBool::new(false));
    let conns = connect_all(addr, buyers.len()).await?;
    let started = Instant::now();
    let deadline = started + duration;
    let tallies = run_workers(conns, |worker, mut conn| {
        let cookie = buyers[worker].clone();
        let tickets = Arc::clone(&tickets);
        let next = Arc::clone(&next);
        let exhausted = Arc::clone(&exhausted);
        let samples = samples.clone();
        async move {
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(ticket) = tickets.get(index) else {
                    exhausted.store(true, Ordering::Relaxed);
                    break;
                };
                let body = json!({ "ticketId": ticket });
                let reply = conn.post("/api/orders", Some(&cookie), &body).await;
                if !tally.count(reply, 201, &samples, &mut conn).await {
                    break;
                }
            }
            tally.finished = Some(Instant::now());
            Ok(tally)
        }
    })
    .await?;
    Ok(merge(
        tallies,
        started,
        &samples,
        exhausted.load(Ordering::Relaxed),
    ))
}

/// Sums the lengths of `GET /api/orders` over all buyers.
pub(crate) async fn count_orders(addr: SocketAddr, buyers: &[String]) -> Result<u64> {
    let buyers: Arc<Vec<String>> = Arc::new(buyers.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let conns = connect_all(addr, SIGNUP_CONCURRENCY.min(buyers.len()).max(1)).await?;
    let counts = run_workers(conns, |_, mut conn| {
        let buyers = Arc::clone(&buyers);
        let next = Arc::clone(&next);
        async move {
            let mut total = 0u64;
            while let Some(cookie) = buyers.get(next.fetch_add(1, Ordering::Relaxed)) {
                let reply = conn.get("/api/orders", Some(cookie)).await?;
                if reply.status != 200 {
                    bail!("listing orders: {}", reply.describe());
                }
                let orders = reply.json()?;
                let orders = orders
                    .as_array()
                    .with_context(|| format!("orders list is not an array: {}", reply.text()))?;
                total += orders.len() as u64;
            }
            Ok(total)
        }
    })
    .await?;
    Ok(counts.into_iter().sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One phase's stats: its workers' latencies in milliseconds, its failures, `took` long.
    fn phase(latencies_ms: &[u64], failed: u64, took: Duration) -> Stats {
        let started = Instant::now();
        let latencies = latencies_ms
            .iter()
            .map(|ms| Duration::from_millis(*ms))
            .collect();
        let mut stats = Stats::from_parts(vec![(latencies, failed, started + took)], started);
        stats.error_samples = vec![format!("failure after {took:?}")];
        stats
    }

    #[test]
    fn combined_rounds_count_every_request_over_their_summed_time() {
        let first = phase(&[30, 5, 60], 1, Duration::from_secs(1));
        let mut second = phase(&[10, 20, 40, 50, 1], 0, Duration::from_secs(3));
        second.exhausted = true;
        let all = Stats::combine(vec![first, second]);
        assert_eq!((all.ok, all.failed), (8, 1));
        assert_eq!(all.elapsed, Duration::from_secs(4));
        assert_eq!(all.rate(), 2.0);
        assert_eq!(
            all.percentile_ms(0.5),
            20.0,
            "the 4th of the 8 latencies sorted together"
        );
        assert_eq!(all.percentile_ms(1.0), 60.0);
        assert_eq!(
            all.latency_line(),
            "p50 20.00 ms  p99 60.00 ms  p99.9 60.00 ms  max 60.00 ms"
        );
        assert!(all.exhausted, "one round ran out of tickets");
        assert_eq!(all.error_samples.len(), 2);
    }
}
