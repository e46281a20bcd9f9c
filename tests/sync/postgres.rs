//! The hub on PostgreSQL: a venue followed through a load while the hub is killed and restarted
//! and PostgreSQL itself is killed and restarted; and a SQLite hub moved into PostgreSQL with
//! `tix-hub migrate`, the venue followed on from where it was. The same checker as every scenario:
//! 1..N once each, in order, byte for byte, read models agreeing.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tix_hub::db::{Db, Location};
use tix_tests::{Postgres, workspace_binary};

use crate::SERIAL;
use crate::checker::{check_db, wait_for_sync};
use crate::harness::{hub_get, start_hub, start_node, venue_broker, venue_url};
use crate::load::Load;

const SYNC_LIMIT: Duration = Duration::from_secs(90);
const VENUE: &str = "venue-pg";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_on_postgres_loses_nothing_through_its_own_kill_and_a_postgres_restart() {
    let _serial = SERIAL.lock().await;
    let mut postgres = Postgres::start();
    let url = postgres.fresh_database();
    let broker = venue_broker(&[VENUE]);
    let dir = tempfile::tempdir().unwrap();
    let hub = start_hub(&url, &broker);
    let node_dir = dir.path().join("node");
    let node = start_node(&node_dir, VENUE, &venue_url(&broker, VENUE), true);

    let load = Load::start(&node.url(""), 4, "pg").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    hub.kill9();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let hub = start_hub(&url, &broker);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // PostgreSQL dies under the hub: its batches fail and are retried, or given up and resent by
    // the venue; nothing it acknowledged is lost (PostgreSQL recovers from its log).
    postgres.kill9();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    postgres.restart();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(load.stop().await > 0);

    wait_for_sync(&hub, &node, VENUE, SYNC_LIMIT).await;
    node.stop_cleanly();
    let events = check_db(VENUE, &node_dir, &Db::new(Location::Postgres(url)));
    let health = hub_get(&hub, "/api/hub/health").await;
    println!("hub on PostgreSQL: {events} events; hub health {health}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_hub_moved_into_postgres_follows_its_venue_on() {
    let _serial = SERIAL.lock().await;
    let postgres = Postgres::start();
    let url = postgres.fresh_database();
    let broker = venue_broker(&[VENUE]);
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("hub.sqlite3");
    let hub = start_hub(&sqlite, &broker);
    let node_dir = dir.path().join("node");
    let node = start_node(&node_dir, VENUE, &venue_url(&broker, VENUE), true);
    let load = Load::start(&node.url(""), 3, "before").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(load.stop().await > 0);
    wait_for_sync(&hub, &node, VENUE, SYNC_LIMIT).await;
    let venues_before = hub_get(&hub, "/api/hub/venues").await;
    hub.stop_cleanly();

    let said = migrate(&sqlite, &url);
    assert!(said.contains("events"), "{said}");
    // Migrating twice would double nothing: the target is no longer empty.
    let again = Command::new(workspace_binary("tix-hub"))
        .args(["--db", &url, "migrate", "--from"])
        .arg(&sqlite)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("migrate only into an empty hub"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let hub = start_hub(&url, &broker);
    let venues_after = hub_get(&hub, "/api/hub/venues").await;
    assert_eq!(
        venues_after, venues_before,
        "the moved hub shows what the old one showed"
    );
    let load = Load::start(&node.url(""), 3, "after").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(load.stop().await > 0);
    wait_for_sync(&hub, &node, VENUE, SYNC_LIMIT).await;
    node.stop_cleanly();
    let events = check_db(VENUE, &node_dir, &Db::new(Location::Postgres(url)));
    println!("moved into PostgreSQL: {events} events in all; {said}");
}

/// `tix-hub migrate`; panics with what it said when it fails.
fn migrate(from: &Path, url: &str) -> String {
    let out = Command::new(workspace_binary("tix-hub"))
        .args(["--db", url, "migrate", "--from"])
        .arg(from)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "migrate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
