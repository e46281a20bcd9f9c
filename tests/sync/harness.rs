//! The sync scenarios' cast, on the house's harness: a Mosquitto whose accounts are the hub and
//! the scenario's venues (password `<venue>-pass`), and real `tix-hub` and `tix-node` processes of
//! this build, each killable with SIGKILL and restartable on the same data.

use std::path::{Path, PathBuf};

use serde_json::Value;

use tix_tests::broker::{HUB_USER, SHIPPED_MAX_QUEUED};
use tix_tests::{Broker, NodeOptions, Served, workspace_binary};

pub(crate) use tix_tests::eventually;

pub(crate) const HUB_TOKEN: &str = "test-token-0123456789abcdef";
pub(crate) const HUB_PASS: &str = "hub-pass";

/// The password of a venue's broker account in these tests.
pub(crate) fn venue_pass(venue: &str) -> String {
    format!("{venue}-pass")
}

/// A broker whose accounts are the hub and `venues`, under the shipped ACL.
pub(crate) fn venue_broker(venues: &[&str]) -> Broker {
    venue_broker_with(venues, SHIPPED_MAX_QUEUED)
}

/// Like `venue_broker`, with at most `max_queued` messages queued per client: past that Mosquitto
/// silently drops messages for a subscriber that is away or slow.
pub(crate) fn venue_broker_with(venues: &[&str], max_queued: u32) -> Broker {
    let mut accounts = vec![(HUB_USER.to_owned(), HUB_PASS.to_owned())];
    accounts.extend(venues.iter().map(|v| (v.to_string(), venue_pass(v))));
    Broker::start(&accounts, max_queued)
}

/// The broker URL of `venue`'s account.
pub(crate) fn venue_url(broker: &Broker, venue: &str) -> String {
    broker.url(venue, &venue_pass(venue))
}

/// Starts a hub on `db` (a SQLite file or a `postgres://` URL), following `broker`.
pub(crate) fn start_hub(db: impl AsRef<std::ffi::OsStr>, broker: &Broker) -> Served {
    start_hub_at(db, &broker.url(HUB_USER, HUB_PASS))
}

/// Starts a hub on `db`, following the broker at `broker_url`.
pub(crate) fn start_hub_at(db: impl AsRef<std::ffi::OsStr>, broker_url: &str) -> Served {
    tix_tests::start_hub(workspace_binary("tix-hub"), db, broker_url, HUB_TOKEN)
}

/// Starts a venue node on `data_dir` syncing through `broker_url`; with `keep` the outbox is kept
/// after sync, so the checker can compare every event.
pub(crate) fn start_node(data_dir: &Path, venue: &str, broker_url: &str, keep: bool) -> Served {
    start_node_with(data_dir, venue, broker_url, keep, Vec::new())
}

/// Like `start_node`, with `env` set for the node (`TIX_FIRST_USER_IS_STAFF`, ...).
pub(crate) fn start_node_with(
    data_dir: &Path,
    venue: &str,
    broker_url: &str,
    keep: bool,
    env: Vec<(String, String)>,
) -> Served {
    let mut args = vec![
        "--venue-id".to_owned(),
        venue.to_owned(),
        "--mqtt-url".to_owned(),
        broker_url.to_owned(),
        // The load's few sessions leave many orders to expire: not hoarding, so no cap.
        "--max-open-orders".to_owned(),
        "0".to_owned(),
    ];
    if keep {
        args.push("--keep-synced-events".to_owned());
    }
    let options = NodeOptions {
        args,
        env,
        ..NodeOptions::default()
    };
    tix_tests::start_node(workspace_binary("tix-node"), data_dir, &options)
}

/// GET on the hub's API with the operators' token.
pub(crate) async fn hub_get(hub: &Served, path: &str) -> Value {
    let reply = reqwest::Client::new()
        .get(hub.url(path))
        .bearer_auth(HUB_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(
        reply.status().is_success(),
        "GET {path}: {}",
        reply.status()
    );
    reply.json().await.unwrap()
}

/// The node's `/healthz`.
pub(crate) async fn node_health(node: &Served) -> Value {
    reqwest::get(node.url("/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// One venue syncing to a hub through `broker`, everything in one temporary directory.
pub(crate) struct OneVenue {
    pub(crate) broker: Broker,
    /// Removed when dropped: keep it bound for the whole test.
    pub(crate) dir: tempfile::TempDir,
    pub(crate) hub_db: PathBuf,
    pub(crate) hub: Served,
    pub(crate) node_dir: PathBuf,
    pub(crate) node: Served,
    /// The venue's broker URL, for restarting its node.
    pub(crate) url: String,
}

/// The venue of the single-venue scenarios.
pub(crate) const VENUE: &str = "venue-a";

impl OneVenue {
    /// Starts a hub and the node of `VENUE` (keeping its outbox after sync when `keep`).
    pub(crate) fn start(broker: Broker, keep: bool) -> OneVenue {
        let dir = tempfile::tempdir().unwrap();
        let hub_db = dir.path().join("hub.sqlite3");
        let hub = start_hub(&hub_db, &broker);
        let node_dir = dir.path().join("node");
        let url = venue_url(&broker, VENUE);
        let node = start_node(&node_dir, VENUE, &url, keep);
        OneVenue {
            broker,
            dir,
            hub_db,
            hub,
            node_dir,
            node,
            url,
        }
    }
}
