//! Command-line flags of `tix-bench`, and the duration syntax they accept (`500ms`, `3s`, `15m`, `1h30m`).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use tix_sync::qos::EventsQos;

#[derive(Debug, Parser)]
#[command(
    name = "tix-bench",
    version,
    about = "Benchmarks a tix-node it starts itself on 127.0.0.1"
)]
pub(crate) struct Cli {
    /// The node binary [default: `tix-node` next to this binary].
    #[arg(long, env = "TIX_BENCH_NODE_BIN", global = true)]
    pub(crate) node_bin: Option<PathBuf>,

    /// Data dir for the node; must be missing or empty, and is kept [default: a fresh dir in /tmp,
    /// removed at the end].
    #[arg(long, global = true)]
    pub(crate) data_dir: Option<PathBuf>,

    /// Keep the default data dir at the end.
    #[arg(long, global = true)]
    pub(crate) keep: bool,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Orders/s against `GET /hello` req/s, then checks every acknowledged order survives kill -9.
    Orders(OrdersArgs),
    /// Many pending locks: memory per lock, restart time, lateness of their expiry.
    Locks(LocksArgs),
    /// Sync to a hub through Mosquitto: events/s under orders, lag, draining a backlog.
    Sync(SyncArgs),
    /// Ticket search: index size and rebuild time, query latency under orders, orders/s on and off.
    Search(SearchArgs),
    /// The storefront: server time of the ticket list over a catalogue, bytes of each main page.
    Pages(PagesArgs),
    /// `GET /api/tickets` over a large catalogue read by many clients at once: the node's peak
    /// memory (VmHWM) before and after the readers.
    List(ListArgs),
    /// The show pages: a large seat map's server time and bytes, "What's on" over many shows,
    /// and how soon a seat locked elsewhere reaches an open page.
    Showpages(ShowPagesArgs),
    /// An on-sale rush: parties of 1 to 4 ask for a show's best available all at once; time to
    /// sell out, orders/s, latency, requests per ticket, parties seated together, and checks.
    Onsale(OnsaleArgs),
    /// Scans at the door: passes admitted, scanned again and forged, per second and p50/p99 per
    /// verdict against `GET /hello`, and a check that each pass was admitted once.
    Door(DoorArgs),
    /// A backup while buyers order: its time and size, the orders' p99 and max during it against
    /// the same load without it, the restore's time, and a check of the restored orders.
    Backup(BackupArgs),
    /// A venue restored from a backup taken before --events more events: the restore, then the
    /// catch-up from the hub (through Mosquitto) until the node serves, in events/s.
    Catchup(CatchUpArgs),
    /// The chain's hubs under many simulated venues: one hub on SQLite behind Mosquitto, then two
    /// on PostgreSQL behind a three-node NATS cluster with one killed halfway; events/s, lag,
    /// pauses, and a check that every event is stored once.
    Chain(ChainArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ChainArgs {
    /// Simulated venues, each with its own stream.
    #[arg(long, default_value_t = 1000, value_parser = parse_positive)]
    pub(crate) venues: usize,

    /// How long the venues make events, in each run.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub(crate) duration: Duration,

    /// MQTT connections the venues publish on (a chain's venues have one each).
    #[arg(long, default_value_t = 1000, value_parser = parse_positive)]
    pub(crate) connections: usize,

    /// Events each venue may have beyond the hub's acknowledgement (a relay allows 4096).
    #[arg(long, default_value_t = 32)]
    pub(crate) window: u64,

    /// The QoS events travel at through the NATS cluster (the venues publish and the hubs
    /// subscribe at it): 0, as packaging/nats/README.md advises, or 1. Mosquitto's runs use 1.
    #[arg(long, default_value = "0")]
    pub(crate) nats_qos: EventsQos,
}

#[derive(Debug, Args)]
pub(crate) struct CatchUpArgs {
    /// Events made after the backup (tickets listed and ordered: three events each).
    #[arg(long, default_value_t = 100_000, value_parser = parse_positive)]
    pub(crate) events: usize,

    /// Concurrent connections (and buyers).
    #[arg(long, default_value_t = 32, value_parser = parse_connections)]
    pub(crate) connections: usize,
}

#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    /// Tickets listed before the backup (half are ordered without a backup, half during it).
    #[arg(long, default_value_t = 1_000_000, value_parser = parse_positive)]
    pub(crate) tickets: usize,

    /// Concurrent buyers.
    #[arg(long, default_value_t = 64, value_parser = parse_connections)]
    pub(crate) connections: usize,

    /// How long each orders phase runs (the backup must fit in the second).
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub(crate) duration: Duration,
}

#[derive(Debug, Args)]
pub(crate) struct DoorArgs {
    /// Passes sold (standing places of one show), each scanned once and then again.
    #[arg(long, default_value_t = 50_000, value_parser = parse_positive)]
    pub(crate) tickets: usize,

    /// Concurrent connections scanning (and reading `/hello`).
    #[arg(long, default_value_t = 64, value_parser = parse_connections)]
    pub(crate) connections: usize,

    /// How long the `/hello` and forged-code phases run.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub(crate) duration: Duration,
}

#[derive(Debug, Args)]
pub(crate) struct OnsaleArgs {
    /// Parties, each asking once for 1 to 4 tickets (every other one seated).
    #[arg(long, default_value_t = 20_000, value_parser = parse_positive)]
    pub(crate) parties: usize,

    /// Concurrent connections the parties ask over.
    #[arg(long, default_value_t = 1_000, value_parser = parse_connections)]
    pub(crate) connections: usize,

    /// Accounts the parties are signed in as (each sign-up costs a password hash).
    #[arg(long, default_value_t = 200, value_parser = parse_positive)]
    pub(crate) accounts: usize,

    /// Rows of reserved seats.
    #[arg(long, default_value_t = 40, value_parser = parse_positive)]
    pub(crate) rows: usize,

    /// Seats in each row.
    #[arg(long, default_value_t = 50, value_parser = parse_positive)]
    pub(crate) seats_per_row: usize,

    /// Standing places.
    #[arg(long, default_value_t = 2_000, value_parser = parse_positive)]
    pub(crate) standing: usize,

    /// Pages open on the show during the rush (`/live` streams, 32 from each of several loopback
    /// addresses; the node admits 512 by default).
    #[arg(long, default_value_t = 0)]
    pub(crate) pages: usize,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Tickets in the catalogue.
    #[arg(long, default_value_t = 500_000, value_parser = parse_positive)]
    pub(crate) tickets: usize,

    /// Clients reading the whole list at the same time.
    #[arg(long, default_value_t = 50, value_parser = parse_connections)]
    pub(crate) readers: usize,

    /// The data dir (`--data-dir`) already holds the catalogue from an earlier run (`--keep`):
    /// skip creating it. Lets two node builds be compared on the same stores.
    #[arg(long)]
    pub(crate) seeded: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PagesArgs {
    /// Tickets in the catalogue.
    #[arg(long, default_value_t = 10_000, value_parser = parse_positive)]
    pub(crate) tickets: usize,

    /// Requests of the ticket list (and of `/hello`) measured.
    #[arg(long, default_value_t = 5_000, value_parser = parse_positive)]
    pub(crate) requests: usize,
}

#[derive(Debug, Args)]
pub(crate) struct ShowPagesArgs {
    /// Reserved seats of the big show.
    #[arg(long, default_value_t = 20_000, value_parser = parse_positive)]
    pub(crate) seats: usize,

    /// Shows in all, the big one included ("What's on" lists them).
    #[arg(long, default_value_t = 500, value_parser = parse_positive)]
    pub(crate) shows: usize,

    /// Requests measured of each page (and of `/hello`).
    #[arg(long, default_value_t = 300, value_parser = parse_positive)]
    pub(crate) requests: usize,

    /// Seats locked one by one while `/live` is open.
    #[arg(long, default_value_t = 200, value_parser = parse_positive)]
    pub(crate) changes: usize,
}

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// Tickets in the index.
    #[arg(long, default_value_t = 1_000_000, value_parser = parse_positive)]
    pub(crate) tickets: usize,

    /// Concurrent connections placing orders (and buyers).
    #[arg(long, default_value_t = 64, value_parser = parse_connections)]
    pub(crate) connections: usize,

    /// Connections sending queries during the last orders phase.
    #[arg(long, default_value_t = 2, value_parser = parse_connections)]
    pub(crate) query_connections: usize,

    /// How long each orders phase runs.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) duration: Duration,
}

#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// Concurrent connections (and buyers).
    #[arg(long, default_value_t = 64, value_parser = parse_connections)]
    pub(crate) connections: usize,

    /// How long orders are placed while sync runs.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub(crate) duration: Duration,

    /// Tickets created for the orders phase.
    #[arg(long, default_value_t = 300_000, value_parser = parse_positive)]
    pub(crate) tickets: usize,

    /// Events written (one ticket each) while the broker is down, then drained.
    #[arg(long, default_value_t = 1_000_000, value_parser = parse_positive)]
    pub(crate) backlog: usize,
}

#[derive(Debug, Args)]
pub(crate) struct OrdersArgs {
    /// Concurrent connections (and buyers), each one keep-alive HTTP/1.1 connection.
    #[arg(long, default_value_t = 64, value_parser = parse_connections)]
    pub(crate) connections: usize,

    /// How long each of the hello and orders phases runs.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) duration: Duration,

    /// The hello and orders phases alternate this many times, each for `--duration` divided by
    /// it, so that both meet the same machine (a shared machine's load drifts from one phase to
    /// the next); the figures are summed over the rounds, and each round's ratio is printed too.
    #[arg(long, default_value_t = 1, value_parser = parse_positive)]
    pub(crate) rounds: usize,

    /// Tickets created beforehand; the orders phase stops early when they run out.
    #[arg(long, default_value_t = 200_000, value_parser = parse_positive)]
    pub(crate) tickets: usize,

    /// Storefront pages open from the first orders phase to the end (`/live` streams, 32 from
    /// each of several loopback addresses; the node admits 512 by default); with `--rounds`, they
    /// stay open through the later hello phases, hearing nothing.
    #[arg(long, default_value_t = 0)]
    pub(crate) pages: usize,
}

#[derive(Debug, Args)]
pub(crate) struct LocksArgs {
    /// Tickets created, then ordered: the number of pending locks.
    #[arg(long, default_value_t = 1_000_000, value_parser = parse_positive)]
    pub(crate) count: usize,

    /// The node's lock TTL; must outlast placing the orders plus two restarts.
    #[arg(long, default_value = "300s", value_parser = parse_duration)]
    pub(crate) lock_ttl: Duration,

    /// Concurrent connections (and buyers).
    #[arg(long, default_value_t = 64, value_parser = parse_connections)]
    pub(crate) connections: usize,

    /// Stops the node (SIGSTOP) this long when the first lock expires, then measures how fast
    /// expiry works off the locks that fell due meanwhile: its capacity, against the rate the
    /// locks were placed. The lateness figures then include the pause.
    #[arg(long, value_parser = parse_duration)]
    pub(crate) pause: Option<Duration>,
}

/// Parses a count of at least 1.
fn parse_positive(text: &str) -> Result<usize, String> {
    match text.trim().replace('_', "").parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(error) => Err(format!("{text:?}: {error}")),
    }
}

/// Parses a connection count, 1 to 4096.
fn parse_connections(text: &str) -> Result<usize, String> {
    let n = parse_positive(text)?;
    if n > 4096 {
        return Err("at most 4096 connections".to_owned());
    }
    Ok(n)
}

/// Parses `500ms`, `3s`, `1.5s`, `15m`, `2h`, or several of these run together (`1m30s`).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".to_owned());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("{text:?}: missing unit (ms, s, m or h)"))?;
        let (number, tail) = rest.split_at(digits);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let value: f64 = number
            .parse()
            .map_err(|_| format!("{text:?}: bad number {number:?}"))?;
        let seconds = match unit {
            "ms" => value / 1000.0,
            "s" => value,
            "m" => value * 60.0,
            "h" => value * 3600.0,
            _ => {
                return Err(format!(
                    "{text:?}: unknown unit {unit:?} (use ms, s, m or h)"
                ));
            }
        };
        total += Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))?;
        rest = tail;
    }
    if total.is_zero() {
        return Err(format!("{text:?}: must be longer than zero"));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("").is_err());
    }
}
