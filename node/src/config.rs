//! The node's configuration: command-line flags, each also read from a `TIX_*` environment variable.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use tix_sync::broker::BrokerUrl;
use tix_sync::protocol::VenueId;
use tix_sync::qos::EventsQos;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "tix-node",
    version,
    about = "Tix venue node: sells tickets, online or not"
)]
pub struct Config {
    /// Address to serve HTTP on.
    #[arg(
        long,
        env = "TIX_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen: SocketAddr,

    /// Directory holding the node's redb stores and its generated secrets.
    #[arg(long, env = "TIX_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// How long an order holds its ticket while the buyer pays (e.g. 90s, 15m).
    #[arg(long, env = "TIX_LOCK_TTL", default_value = "15m", value_parser = positive_duration)]
    pub lock_ttl: Duration,

    /// Secret for signing session tokens; generated and kept in the data dir (0600) when not given.
    #[arg(long, env = "TIX_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// How long a sign-in lasts.
    #[arg(long, env = "TIX_SESSION_TTL", default_value = "24h", value_parser = positive_duration)]
    pub session_ttl: Duration,

    /// Currency charged for tickets: its three-letter ISO 4217 code (`usd`, `eur`, `chf`, ...),
    /// in any case.
    #[arg(long, env = "TIX_CURRENCY", default_value = "usd", value_parser = currency_code)]
    pub currency: String,

    /// Stripe secret key; without it the node runs the test-mode gateway.
    #[arg(long, env = "STRIPE_SECRET_KEY", hide_env_values = true)]
    pub stripe_secret_key: Option<String>,

    /// Stripe publishable key, for the storefront's card form (Stripe's own card element) when a
    /// secret key is set.
    #[arg(long, env = "STRIPE_PUBLISHABLE_KEY")]
    pub stripe_publishable_key: Option<String>,

    /// Stripe API base URL, for testing against a local server.
    #[arg(long, env = "TIX_STRIPE_API_BASE")]
    pub stripe_api_base: Option<String>,

    /// SMTP relay for emailing a paid order's tickets (`smtp://host:25`,
    /// `smtps://user:password@host`, `smtp://host:587?tls=required`); without it nothing is emailed.
    #[arg(long, env = "TIX_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of those emails.
    #[arg(
        long,
        env = "TIX_MAIL_FROM",
        default_value = "Tix tickets <tickets@localhost>"
    )]
    pub mail_from: String,

    /// Most unpaid orders one account may hold at once, so that no buyer can lock the whole
    /// inventory (staff are exempt); 0 turns the cap off.
    #[arg(long, env = "TIX_MAX_OPEN_ORDERS", default_value_t = 10)]
    pub max_open_orders: usize,

    /// How often unfinished card payments and refunds (left by a crash or a gateway outage) are
    /// settled; they are also settled at start-up.
    #[arg(long, env = "TIX_RECONCILE_EVERY", default_value = "60s", value_parser = positive_duration)]
    pub reconcile_every: Duration,

    /// Page cache of each of the seven stores, in MiB; more only helps stores larger than the OS
    /// page cache can hold.
    #[arg(long, env = "TIX_STORE_CACHE_MB", default_value_t = 8)]
    pub store_cache_mb: usize,

    /// Keep a full-text search index of the tickets (`--search false` turns it off).
    #[arg(long, env = "TIX_SEARCH", default_value_t = true, action = clap::ArgAction::Set)]
    pub search: bool,

    /// This venue's id at the hub and in broker topics (a-z, 0-9, '-', '_'; at most 64; not
    /// `tix-hub`, the hub's account). It is also the venue's broker username.
    #[arg(long, env = "TIX_VENUE_ID")]
    pub venue_id: Option<VenueId>,

    /// The MQTT broker to sync events to the hub through, as mqtt://USER:PASS@HOST:PORT. Without
    /// it sync is off and the node works on its own.
    #[arg(long, env = "TIX_MQTT_URL", hide_env_values = true)]
    pub mqtt_url: Option<BrokerUrl>,

    /// The MQTT QoS the relay publishes events at: 1 (the default), or 0 where the broker is a
    /// NATS cluster (packaging/nats/README.md). Either way the relay resends whatever the hub has
    /// not acknowledged.
    #[arg(long, env = "TIX_SYNC_QOS", default_value = "1")]
    pub sync_qos: EventsQos,

    /// Keep events in the outbox after the hub has stored them (an audit trail); by default they
    /// are pruned.
    #[arg(long, env = "TIX_KEEP_SYNCED_EVENTS")]
    pub keep_synced_events: bool,

    /// Kiosk mode for a touch screen in the foyer: large targets, only the pages buying needs, and
    /// back to the start (signed out) after `--kiosk-idle` without a touch.
    #[arg(long, env = "TIX_KIOSK", value_parser = clap::builder::BoolishValueParser::new())]
    pub kiosk: bool,

    /// How long a kiosk waits without input before it returns to the start.
    #[arg(long, env = "TIX_KIOSK_IDLE", default_value = "60s", value_parser = positive_duration)]
    pub kiosk_idle: Duration,

    /// Make the first account that signs up box-office staff (a standalone box office, where
    /// no operator is around to grant it).
    #[arg(long, env = "TIX_FIRST_USER_IS_STAFF", value_parser = clap::builder::BoolishValueParser::new())]
    pub first_user_is_staff: bool,

    /// How long a client has to send a request's headers; also how long a kept-alive connection
    /// may sit idle between requests before it is closed.
    #[arg(long, env = "TIX_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = positive_duration)]
    pub header_read_timeout: Duration,

    /// How long a request's body may go without a byte arriving before the request fails (400).
    #[arg(long, env = "TIX_BODY_READ_TIMEOUT", default_value = "30s", value_parser = positive_duration)]
    pub body_read_timeout: Duration,

    /// Open connections served at once; more are answered 503 and closed.
    #[arg(long, env = "TIX_MAX_CONNECTIONS", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Open connections served at once from one client address (IPv6: one /64).
    #[arg(long, env = "TIX_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_address: u32,

    /// Open `/live` streams at once; more are answered 503.
    #[arg(long, env = "TIX_MAX_LIVE_STREAMS", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_live_streams: u32,

    /// Open `/live` streams at once from one client address; more are answered 429.
    #[arg(long, env = "TIX_MAX_LIVE_STREAMS_PER_ADDRESS", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_live_streams_per_address: u32,

    /// How long a stopping node lets requests in flight finish before it closes their
    /// connections anyway (what it acknowledged is committed either way).
    #[arg(long, env = "TIX_SHUTDOWN_GRACE", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,

    /// Password checks and hashes that may wait for the hashing threads; beyond it sign-ins and
    /// sign-ups are answered 503 with `Retry-After`.
    #[arg(long, env = "TIX_PASSWORD_QUEUE", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub password_queue: u32,

    /// Sign-ins and sign-ups a minute from one client address (a burst of this many, then one
    /// per 1/n minute); beyond it, 429.
    #[arg(long, env = "TIX_SIGN_IN_ATTEMPTS_PER_ADDRESS", default_value = "300")]
    pub sign_in_attempts_per_address: NonZeroU32,

    /// Sign-ins a minute for one account, from anywhere; beyond it, 429.
    #[arg(long, env = "TIX_SIGN_IN_ATTEMPTS_PER_ACCOUNT", default_value = "5")]
    pub sign_in_attempts_per_account: NonZeroU32,

    /// Log format: `text` or `json`.
    #[arg(
        long,
        env = "TIX_LOG_FORMAT",
        default_value = "text",
        ignore_case = true
    )]
    pub log_format: tix_process::LogFormat,

    /// An operator's task instead of serving.
    #[command(subcommand)]
    pub task: Option<Task>,
}

/// What the venue's operator can do besides running the node.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Task {
    /// Box-office staff: who may take cash, refund, look up anyone's orders and see the takings.
    /// Run it while the node is stopped (the node holds its stores while it runs).
    Staff {
        #[command(subcommand)]
        action: StaffAction,
    },
    /// Write a backup of the stores and the node's secrets to FILE (a gzip'd tar), from the node
    /// running on --data-dir (it goes on selling) or, when none runs, from the stores themselves.
    Backup {
        /// Where to write the backup; written beside it first and renamed once checked.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Check the node serving on --listen: exit 0 if its /healthz answers 200 within 3 s (a
    /// container's health check; the images have no shell or curl).
    Health,
    /// Restore a backup made by `backup` into --data-dir, which must hold no node's data; every
    /// file is checked before any is put in place. Start the node on that dir afterwards: before
    /// it serves, it fetches from the hub every event it lost (it needs --mqtt-url for that).
    Restore {
        /// The backup to restore.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// This venue syncs to no hub: serve what the backup holds, with no catch-up. Sales made
        /// after the backup are then lost, and their tickets may be sold again.
        #[arg(long)]
        without_hub: bool,
    },
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum StaffAction {
    /// Make the user with this email staff (with --door: door staff, who only check tickets in).
    Grant {
        email: String,
        #[arg(long)]
        door: bool,
    },
    /// Take the staff role (with --door: the door role) away from the user with this email.
    Revoke {
        email: String,
        #[arg(long)]
        door: bool,
    },
    /// List the staff and door staff.
    List,
}

/// How the node guards its HTTP edge against slow, idle and too many clients.
#[derive(Debug, Clone)]
pub struct EdgeLimits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    pub max_live_streams: usize,
    pub max_live_streams_per_address: usize,
    pub shutdown_grace: Duration,
}

/// The shortest session secret taken, in bytes: 32, the size of an HS256 key (256 bits).
const MIN_SESSION_SECRET: usize = 32;

/// A duration such as `90s` or `15m` that must be more than zero: a lock, a session or a
/// timeout of nothing would make the node useless rather than fast.
fn positive_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if duration.is_zero() {
        return Err("it must be more than zero".into());
    }
    Ok(duration)
}

/// A currency's ISO 4217 code, lowercase as the payment gateway takes it.
fn currency_code(text: &str) -> Result<String, String> {
    let code = text.trim();
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err("a currency is its three-letter ISO 4217 code, such as usd or eur".into());
    }
    Ok(code.to_ascii_lowercase())
}

impl Config {
    /// The edge's limits, as configured.
    pub fn edge_limits(&self) -> EdgeLimits {
        EdgeLimits {
            header_read_timeout: self.header_read_timeout,
            body_read_timeout: self.body_read_timeout,
            max_connections: self.max_connections as usize,
            max_connections_per_address: self.max_connections_per_address as usize,
            max_live_streams: self.max_live_streams as usize,
            max_live_streams_per_address: self.max_live_streams_per_address as usize,
            shutdown_grace: self.shutdown_grace,
        }
    }

    /// An error, which never repeats the value, when a secret cannot be what it should: a session
    /// secret short enough to guess, or a Stripe key of the wrong kind (an empty
    /// `STRIPE_SECRET_KEY=` line in an env file would otherwise send every payment to Stripe with
    /// no key, and a publishable key in its place would fail them all).
    pub fn check_secrets(&self) -> anyhow::Result<()> {
        if self
            .jwt_secret
            .as_ref()
            .is_some_and(|s| s.len() < MIN_SESSION_SECRET)
        {
            anyhow::bail!(
                "--jwt-secret (TIX_JWT_SECRET) must be at least {MIN_SESSION_SECRET} characters; \
                 leave it unset and the node generates one in the data dir"
            );
        }
        let stripe_key = |key: &Option<String>, prefixes: &[&str]| {
            key.as_ref()
                .is_none_or(|key| prefixes.iter().any(|p| key.starts_with(p)))
        };
        if !stripe_key(&self.stripe_secret_key, &["sk_", "rk_"]) {
            anyhow::bail!(
                "STRIPE_SECRET_KEY (--stripe-secret-key) is not a Stripe secret key, which starts \
                 with sk_ (or rk_ for a restricted one); leave it unset for test mode"
            );
        }
        if !stripe_key(&self.stripe_publishable_key, &["pk_"]) {
            anyhow::bail!(
                "STRIPE_PUBLISHABLE_KEY (--stripe-publishable-key) is not a Stripe publishable \
                 key, which starts with pk_"
            );
        }
        Ok(())
    }

    /// The relay's settings if sync is on; an error if it is half configured.
    pub fn relay(&self) -> anyhow::Result<Option<crate::relay::RelayConfig>> {
        match (&self.mqtt_url, &self.venue_id) {
            (None, _) => Ok(None),
            (Some(_), None) => anyhow::bail!("--mqtt-url needs --venue-id (or TIX_VENUE_ID)"),
            (Some(broker), Some(venue)) => Ok(Some(crate::relay::RelayConfig {
                venue: venue.clone(),
                broker: broker.clone(),
                qos: self.sync_qos,
                keep_synced: self.keep_synced_events,
                data_dir: self.data_dir.clone(),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Config::try_parse_from(std::iter::once("tix-node").chain(args.iter().copied()))
    }

    #[test]
    fn a_duration_that_must_pass_is_refused_at_zero() {
        for flag in [
            "--lock-ttl",
            "--session-ttl",
            "--reconcile-every",
            "--kiosk-idle",
            "--header-read-timeout",
            "--body-read-timeout",
        ] {
            let error = parse(&[flag, "0s"]).unwrap_err().to_string();
            assert!(
                error.contains(flag) && error.contains("more than zero"),
                "{flag}: {error}"
            );
            assert!(parse(&[flag, "1s"]).is_ok(), "{flag}");
        }
        assert!(parse(&["--shutdown-grace", "0s"]).is_ok());
    }

    #[test]
    fn short_session_secrets_and_stripe_keys_of_the_wrong_kind_are_refused_unrepeated() {
        let check = |args: &[&str]| {
            parse(args)
                .unwrap()
                .check_secrets()
                .map_err(|e| e.to_string())
        };
        assert!(check(&[]).is_ok());
        assert!(check(&["--jwt-secret", &"x".repeat(32)]).is_ok());
        let error = check(&["--jwt-secret", "changeme"]).unwrap_err();
        assert!(
            error.contains("--jwt-secret") && error.contains("32") && !error.contains("changeme"),
            "{error}"
        );
        let stripe = [
            "--stripe-secret-key",
            "sk_test_a1",
            "--stripe-publishable-key",
        ];
        assert!(check(&[&stripe[..], &["pk_test_b2"]].concat()).is_ok());
        assert!(check(&["--stripe-secret-key", "rk_live_c3"]).is_ok());
        for bad in ["", "pk_live_d4", "sk-live-e5"] {
            let error = check(&["--stripe-secret-key", bad]).unwrap_err();
            assert!(
                error.contains("STRIPE_SECRET_KEY") && error.contains("sk_"),
                "{error}"
            );
            assert!(bad.is_empty() || !error.contains(bad), "{error}");
        }
        let error = check(&[&stripe[..], &["sk_live_f6"]].concat()).unwrap_err();
        assert!(
            error.contains("STRIPE_PUBLISHABLE_KEY")
                && error.contains("pk_")
                && !error.contains("f6"),
            "{error}"
        );
    }

    #[test]
    fn a_currency_is_its_three_letter_code() {
        assert_eq!(parse(&[]).unwrap().currency, "usd");
        assert_eq!(parse(&["--currency", " EUR "]).unwrap().currency, "eur");
        for bad in ["US-Dollars", "eu", "euro", "€", "us1", ""] {
            let error = parse(&["--currency", bad]).unwrap_err().to_string();
            assert!(error.contains("ISO 4217"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn a_log_format_other_than_text_or_json_is_refused() {
        assert!(parse(&["--log-format", "json"]).is_ok());
        assert!(parse(&["--log-format", "JSON"]).is_ok());
        let error = parse(&["--log-format", "jsno"]).unwrap_err().to_string();
        assert!(
            error.contains("jsno") && error.contains("text") && error.contains("json"),
            "{error}"
        );
    }

    #[test]
    fn sync_is_off_without_a_broker_and_needs_a_venue_with_one() {
        assert!(parse(&[]).unwrap().relay().unwrap().is_none());
        let half = parse(&["--mqtt-url", "mqtt://u:p@127.0.0.1:1883"]).unwrap();
        let error = half.relay().unwrap_err().to_string();
        assert!(error.contains("--venue-id"), "{error}");
        let full = parse(&[
            "--mqtt-url",
            "mqtt://main-hall:p@127.0.0.1:1883",
            "--venue-id",
            "main-hall",
        ])
        .unwrap();
        let relay = full.relay().unwrap().unwrap();
        assert_eq!(relay.venue.as_str(), "main-hall");
        assert_eq!(relay.broker.port, 1883);
        assert!(!relay.keep_synced);
        assert_eq!(relay.qos, EventsQos::AtLeastOnce);
    }

    #[test]
    fn events_go_at_qos_1_unless_0_is_asked_for_and_nothing_else_is_taken() {
        let base = [
            "--mqtt-url",
            "mqtt://main-hall:p@127.0.0.1:1883",
            "--venue-id",
            "main-hall",
        ];
        let at_zero = parse(&[&base[..], &["--sync-qos", "0"]].concat()).unwrap();
        assert_eq!(at_zero.relay().unwrap().unwrap().qos, EventsQos::AtMostOnce);
        let error = parse(&[&base[..], &["--sync-qos", "2"]].concat())
            .unwrap_err()
            .to_string();
        assert!(error.contains("0 or 1"), "{error}");
    }

    #[test]
    fn kiosk_mode_is_off_unless_asked_for() {
        assert!(!parse(&[]).unwrap().kiosk);
        let kiosk = parse(&["--kiosk", "--kiosk-idle", "90s"]).unwrap();
        assert!(kiosk.kiosk);
        assert_eq!(kiosk.kiosk_idle, Duration::from_secs(90));
    }

    #[test]
    fn staff_tasks_take_the_data_dir_before_or_after_them() {
        let before = parse(&["--data-dir", "/srv/tix", "staff", "grant", "a@b.c"]).unwrap();
        assert_eq!(before.data_dir, PathBuf::from("/srv/tix"));
        assert!(matches!(
            before.task,
            Some(Task::Staff { action: StaffAction::Grant { ref email, door: false } }) if email == "a@b.c"
        ));
        let after = parse(&["staff", "list", "--data-dir", "/srv/tix"]).unwrap();
        assert_eq!(after.data_dir, PathBuf::from("/srv/tix"));
        assert!(parse(&[]).unwrap().task.is_none());
        assert!(parse(&["staff", "grant"]).is_err());
    }

    #[test]
    fn the_edge_is_limited_by_default_and_limits_are_positive() {
        let limits = parse(&[]).unwrap().edge_limits();
        assert_eq!(limits.header_read_timeout, Duration::from_secs(10));
        assert_eq!(limits.shutdown_grace, Duration::from_secs(10));
        assert!(limits.max_connections_per_address <= limits.max_connections);
        assert!(parse(&["--max-connections", "0"]).is_err());
        let set = parse(&[
            "--max-live-streams-per-address",
            "2",
            "--shutdown-grace",
            "2s",
        ])
        .unwrap();
        assert_eq!(set.edge_limits().max_live_streams_per_address, 2);
        assert_eq!(set.edge_limits().shutdown_grace, Duration::from_secs(2));
    }

    #[test]
    fn bad_venue_ids_and_broker_urls_are_refused_at_start() {
        assert!(parse(&["--venue-id", "Main Hall"]).is_err());
        // The hub's account: a venue of that id would be the hub at the broker.
        let hubs = parse(&["--venue-id", "tix-hub"]).unwrap_err().to_string();
        assert!(hubs.contains("the hub's broker account"), "{hubs}");
        assert!(parse(&["--mqtt-url", "http://127.0.0.1:1883"]).is_err());
    }
}
