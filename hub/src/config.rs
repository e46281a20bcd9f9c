//! The hub's configuration: command-line flags, each also read from a `TIX_HUB_*` variable.
//!
//! Invariant: the hub's broker identity (client id, and username when it has one) is never one a
//! venue could have, so no venue's connection can take the hub's place at the broker.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use tix_sync::broker::BrokerUrl;
use tix_sync::qos::EventsQos;

use crate::db::Location;
use tix_sync::protocol::{HUB_ACCOUNT, VenueId};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "tix-hub",
    version,
    about = "Tix hub: every venue's events, applied once, for the chain's operators"
)]
pub struct Config {
    /// Address to serve the operators' HTTP API on.
    #[arg(
        long,
        env = "TIX_HUB_LISTEN",
        default_value = "127.0.0.1:8090",
        global = true
    )]
    pub listen: SocketAddr,

    /// The hub's database: a SQLite file (created if missing; WAL files live beside it), or a
    /// PostgreSQL database as postgres://USER:PASS@HOST:PORT/NAME, which several hubs may share.
    #[arg(
        long,
        env = "TIX_HUB_DB",
        default_value = "./hub.sqlite3",
        global = true,
        hide_env_values = true
    )]
    pub db: Location,

    /// The MQTT broker the venues publish to, as mqtt://USER:PASS@HOST:PORT.
    #[arg(
        long,
        env = "TIX_HUB_MQTT_URL",
        default_value = "mqtt://127.0.0.1:1883",
        hide_env_values = true
    )]
    pub mqtt_url: BrokerUrl,

    /// The MQTT QoS the hub subscribes to the venues' events and publishes its acknowledgements
    /// (retained either way) at: 1 (the default), or 0 where the broker is a NATS cluster
    /// (packaging/nats/README.md). The venues resend whatever they have not seen acknowledged.
    #[arg(long, env = "TIX_HUB_EVENTS_QOS", default_value = "1")]
    pub events_qos: EventsQos,

    /// MQTT client id: fixed, so the broker keeps the hub's session while it is away. The shipped
    /// broker config replaces it with the username; either way it must not be a legal venue id.
    #[arg(long, env = "TIX_HUB_CLIENT_ID", default_value = HUB_ACCOUNT)]
    pub client_id: String,

    /// Bearer token for the HTTP API; generated at first start and kept (0600) beside the
    /// database when not given.
    #[arg(long, env = "TIX_HUB_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,

    /// Log format: `text` or `json`.
    #[arg(
        long,
        env = "TIX_HUB_LOG_FORMAT",
        default_value = "text",
        ignore_case = true
    )]
    pub log_format: tix_process::LogFormat,

    /// An operator's task instead of serving.
    #[command(subcommand)]
    pub task: Option<Task>,
}

/// What the operator can do to a venue's stream (through the hub running on --listen).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum VenueAction {
    /// Follow VENUE at its new EPOCH from sequence 1 (its stores were lost with no backup and it
    /// started again), keeping the old epoch's history. EPOCH is what the venue's node shows as
    /// events.epoch in /healthz; the hub must have heard from it at that epoch.
    Adopt { venue: String, epoch: String },
}

/// What the chain's operator can do besides running the hub.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Task {
    /// Copy the database (--db) to FILE with SQLite's online backup API, while the hub runs.
    Backup {
        /// Where to write the backup; written beside it first and renamed once checked.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Check the hub serving on --listen: exit 0 if its /api/hub/health answers 200 within 3 s
    /// (a container's health check).
    Health,
    /// A venue's stream at the hub.
    Venue {
        #[command(subcommand)]
        action: VenueAction,
    },
    /// Copy a stopped hub's SQLite database (FILE) into the PostgreSQL database --db names,
    /// which must hold no events yet: how a hub on SQLite moves to PostgreSQL.
    Migrate {
        /// The SQLite database to copy (the hub using it must be stopped).
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
    /// Put a backup in place as the database (--db), which must not exist yet.
    Restore {
        /// The backup to restore.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
}

/// A broker identity the hub refuses to start with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error(
        "--client-id {0:?} is a legal venue id: a venue connecting with it would take the hub's \
         place at the broker (use {HUB_ACCOUNT:?})"
    )]
    ClientIdOfAVenue(String),
    #[error(
        "the broker user {0:?} is a legal venue id: a venue of that id would share the hub's \
         account (use {HUB_ACCOUNT:?})"
    )]
    UserOfAVenue(String),
}

impl Config {
    /// Refuses a client id or broker username that a venue could have too.
    pub fn check_identity(&self) -> Result<(), IdentityError> {
        if self.client_id.parse::<VenueId>().is_ok() {
            return Err(IdentityError::ClientIdOfAVenue(self.client_id.clone()));
        }
        match &self.mqtt_url.credentials {
            Some((user, _)) if user.parse::<VenueId>().is_ok() => {
                Err(IdentityError::UserOfAVenue(user.clone()))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(args: &[&str]) -> Result<(), IdentityError> {
        let config =
            Config::try_parse_from(std::iter::once("tix-hub").chain(args.iter().copied())).unwrap();
        config.check_identity()
    }

    #[test]
    fn a_log_format_other_than_text_or_json_is_refused() {
        let parse = |format| Config::try_parse_from(["tix-hub", "--log-format", format]);
        assert!(parse("text").is_ok());
        assert!(parse("Json").is_ok());
        let error = parse("xml").unwrap_err().to_string();
        assert!(
            error.contains("xml") && error.contains("text") && error.contains("json"),
            "{error}"
        );
    }

    #[test]
    fn the_hubs_own_account_is_accepted() {
        assert_eq!(check(&[]), Ok(()));
        assert_eq!(
            check(&["--mqtt-url", "mqtt://tix-hub:pass@127.0.0.1:1883"]),
            Ok(())
        );
    }

    #[test]
    fn a_client_id_or_user_a_venue_could_have_is_refused() {
        assert_eq!(
            check(&["--client-id", "main-hall"]),
            Err(IdentityError::ClientIdOfAVenue("main-hall".into()))
        );
        assert_eq!(
            check(&["--mqtt-url", "mqtt://hub2:pass@127.0.0.1:1883"]),
            Err(IdentityError::UserOfAVenue("hub2".into()))
        );
    }
}
