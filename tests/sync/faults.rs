//! Faults under load: broker, hub and node killed and restarted, the broker away for a while, a
//! venue coming back with a backlog, two venues at once with replayed and reordered messages.

use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::SERIAL;
use crate::checker::{check, wait_for_sync};
use crate::harness::{
    OneVenue, eventually, hub_get, node_health, start_hub, start_node, venue_broker,
    venue_broker_with, venue_pass, venue_url,
};
use crate::load::Load;
use crate::mqtt::publish_as;

const SYNC_LIMIT: Duration = Duration::from_secs(90);

async fn run_load(node: &tix_tests::Served, tag: &str, time: Duration) -> u64 {
    let load = Load::start(&node.url(""), 4, tag).await;
    tokio::time::sleep(time).await;
    load.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_venues_sync_exactly_once_despite_replayed_and_reordered_messages() {
    let _serial = SERIAL.lock().await;
    let broker = venue_broker(&["east", "west"]);
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.sqlite3");
    let hub = start_hub(&hub_db, &broker);
    let east_dir = dir.path().join("east");
    let west_dir = dir.path().join("west");
    let east = start_node(&east_dir, "east", &venue_url(&broker, "east"), true);
    let west = start_node(&west_dir, "west", &venue_url(&broker, "west"), true);

    let east_load = Load::start(&east.url(""), 3, "east").await;
    let west_load = Load::start(&west.url(""), 3, "west").await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Replay what the hub already stored, newest first (reordered), as the venue itself would.
    let stored: Vec<(String, Vec<u8>)> = {
        let hub_conn =
            Connection::open_with_flags(&hub_db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let mut stmt = hub_conn
            .prepare("SELECT envelope FROM events WHERE venue = 'east' ORDER BY seq DESC LIMIT 200")
            .unwrap();
        stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))
            .unwrap()
            .map(|p| ("v1/venues/east/events".to_owned(), p.unwrap()))
            .collect()
    };
    assert!(stored.len() >= 50, "some events synced during the load");
    let replayed = stored.len() as u64;
    publish_as(&broker, "east", &venue_pass("east"), stored).await;

    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(east_load.stop().await > 0 && west_load.stop().await > 0);
    wait_for_sync(&hub, &east, "east", SYNC_LIMIT).await;
    wait_for_sync(&hub, &west, "west", SYNC_LIMIT).await;

    let health = hub_get(&hub, "/api/hub/health").await;
    assert!(
        health["ingest"]["duplicates"].as_u64().unwrap() >= replayed,
        "replays counted as duplicates: {health}"
    );
    let quarantine = hub_get(&hub, "/api/hub/quarantine").await;
    assert_eq!(
        quarantine,
        serde_json::json!([]),
        "a faithful replay is no conflict"
    );
    let venues = hub_get(&hub, "/api/hub/venues").await;
    assert_eq!(venues.as_array().unwrap().len(), 2);
    east.stop_cleanly();
    west.stop_cleanly();
    let east_events = check("east", &east_dir, &hub_db);
    let west_events = check("west", &west_dir, &hub_db);
    println!(
        "two venues: east {east_events} events, west {west_events} events, {replayed} replayed"
    );

    // The chain's sales view agrees with the orders.
    let sales = hub_get(&hub, "/api/hub/sales").await;
    let hub_conn = Connection::open_with_flags(&hub_db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let complete: i64 = hub_conn
        .query_row(
            "SELECT COUNT(*) FROM orders WHERE status = 'complete'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sales["total"]["ordersComplete"].as_i64(), Some(complete));
    assert!(complete > 0, "some orders were paid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_kill9_and_restart_under_load_loses_nothing() {
    let _serial = SERIAL.lock().await;
    let OneVenue {
        mut broker,
        dir: _dir,
        hub_db,
        hub,
        node_dir,
        node,
        url: _,
    } = OneVenue::start(venue_broker(&["venue-a"]), true);

    let load = Load::start(&node.url(""), 4, "a").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    broker.kill9();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let offline = node_health(&node).await;
    assert_eq!(offline["sync"]["connected"], false, "{offline}");
    broker.restart();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(load.stop().await > 0);

    wait_for_sync(&hub, &node, "venue-a", SYNC_LIMIT).await;
    // The hub's ack of its last commit reaches the venue a moment after the commit.
    let acked = eventually(Duration::from_secs(20), || async {
        node_health(&node).await["sync"]["backlog"] == 0
    })
    .await;
    let health = node_health(&node).await;
    assert!(
        acked,
        "the venue learns that the hub has everything: {health}"
    );
    assert_eq!(health["sync"]["connected"], true);
    assert!(
        health["sync"]["connections"].as_u64().unwrap() >= 2,
        "{health}"
    );
    node.stop_cleanly();
    check("venue-a", &node_dir, &hub_db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_kill9_and_restart_under_load_loses_nothing() {
    let _serial = SERIAL.lock().await;
    let OneVenue {
        broker,
        dir: _dir,
        hub_db,
        hub,
        node_dir,
        node,
        url: _,
    } = OneVenue::start(venue_broker(&["venue-a"]), true);

    let load = Load::start(&node.url(""), 4, "a").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    hub.kill9();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let hub = start_hub(&hub_db, &broker);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(load.stop().await > 0);

    wait_for_sync(&hub, &node, "venue-a", SYNC_LIMIT).await;
    node.stop_cleanly();
    check("venue-a", &node_dir, &hub_db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_kill9_and_restart_under_load_loses_nothing() {
    let _serial = SERIAL.lock().await;
    let OneVenue {
        broker: _broker,
        dir: _dir,
        hub_db,
        hub,
        node_dir,
        node,
        url,
    } = OneVenue::start(venue_broker(&["venue-a"]), true);

    let load = Load::start(&node.url(""), 4, "a").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    node.kill9();
    load.stop().await;
    let node = start_node(&node_dir, "venue-a", &url, true);
    assert!(run_load(&node, "a2", Duration::from_millis(1500)).await > 0);

    wait_for_sync(&hub, &node, "venue-a", SYNC_LIMIT).await;
    node.stop_cleanly();
    check("venue-a", &node_dir, &hub_db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_offline_with_a_100k_backlog_catches_up() {
    let _serial = SERIAL.lock().await;
    let OneVenue {
        mut broker,
        dir: _dir,
        hub_db,
        hub,
        node_dir,
        node,
        url: _,
    } = OneVenue::start(venue_broker(&["venue-a"]), true);
    assert!(
        eventually(Duration::from_secs(10), || async {
            node_health(&node).await["sync"]["connected"] == true
        })
        .await
    );

    // The broker goes away; the venue keeps selling.
    broker.kill9();
    let seller = node.url("");
    let created = crate::load::list_tickets(&seller, 100_000, 32).await;
    assert_eq!(created, 100_000);
    let health = node_health(&node).await;
    assert_eq!(health["sync"]["connected"], false, "{health}");
    let last_seq = health["events"]["lastSeq"].as_u64().unwrap();
    assert!(last_seq >= 100_000);
    assert!(
        health["sync"]["backlog"].as_u64().unwrap() >= 100_000,
        "{health}"
    );

    let started = Instant::now();
    broker.restart();
    wait_for_sync(&hub, &node, "venue-a", Duration::from_secs(180)).await;
    println!(
        "backlog of {last_seq} events drained in {:.1} s (debug build)",
        started.elapsed().as_secs_f64()
    );
    node.stop_cleanly();
    assert_eq!(check("venue-a", &node_dir, &hub_db), last_seq);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_is_pruned_only_below_the_hubs_ack() {
    let _serial = SERIAL.lock().await;
    let OneVenue {
        broker: _broker,
        dir: _dir,
        hub_db,
        hub,
        node_dir,
        node,
        url,
    } = OneVenue::start(venue_broker(&["venue-a"]), false);
    let created = crate::load::list_tickets(&node.url(""), 6_000, 16).await;
    assert_eq!(created, 6_000);
    wait_for_sync(&hub, &node, "venue-a", SYNC_LIMIT).await;
    let pruned = eventually(Duration::from_secs(20), || async {
        let sync = &node_health(&node).await["sync"];
        let pruned = sync["prunedThrough"].as_u64().unwrap();
        pruned > 0 && pruned <= sync["lastAckedSeq"].as_u64().unwrap()
    })
    .await;
    let health = node_health(&node).await;
    assert!(pruned, "outbox pruned below the ack: {health}");
    let last_seq = health["events"]["lastSeq"].as_u64().unwrap();
    assert!(
        health["events"]["outboxBacklog"].as_u64().unwrap() < last_seq,
        "{health}"
    );

    // After a restart the relay resumes from what is left, and new sales still reach the hub.
    node.stop_cleanly();
    let node = start_node(&node_dir, "venue-a", &url, false);
    assert_eq!(crate::load::list_tickets(&node.url(""), 100, 4).await, 100);
    wait_for_sync(&hub, &node, "venue-a", SYNC_LIMIT).await;
    let now_last = node_health(&node).await["events"]["lastSeq"]
        .as_u64()
        .unwrap();
    assert_eq!(now_last, last_seq + 101, "a new seller and 100 tickets");
    let hub_conn = Connection::open_with_flags(&hub_db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let (count, max): (i64, i64) = hub_conn
        .query_row(
            "SELECT COUNT(*), MAX(seq) FROM events WHERE venue = 'venue-a'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((count, max), (now_last as i64, now_last as i64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_the_broker_drops_while_the_hub_is_away_are_resent() {
    let _serial = SERIAL.lock().await;
    // The broker keeps at most 100 messages for the absent hub and silently drops the rest.
    let OneVenue {
        broker,
        dir: _dir,
        hub_db,
        hub,
        node_dir,
        node,
        url: _,
    } = OneVenue::start(venue_broker_with(&["venue-a"], 100), true);
    assert_eq!(crate::load::list_tickets(&node.url(""), 200, 4).await, 200);
    wait_for_sync(&hub, &node, "venue-a", SYNC_LIMIT).await;

    hub.kill9();
    let load = Load::start(&node.url(""), 4, "a").await;
    assert_eq!(
        crate::load::list_tickets(&node.url(""), 6_000, 8).await,
        6_000
    );
    let hub = start_hub(&hub_db, &broker);
    assert!(load.stop().await > 0);

    wait_for_sync(&hub, &node, "venue-a", SYNC_LIMIT).await;
    let venues = hub_get(&hub, "/api/hub/venues").await;
    let health = node_health(&node).await;
    assert!(
        health["sync"]["resends"].as_u64().unwrap() > 0,
        "the venue had to resend: {health}"
    );
    println!(
        "after the broker dropped messages: hub {venues}, node sync {}",
        health["sync"]
    );
    node.stop_cleanly();
    check("venue-a", &node_dir, &hub_db);
}
