//! A chain beyond one machine: two hub instances sharing one PostgreSQL database, two venues, and a
//! three-node NATS cluster between them (venues and hubs on different nodes). Under load, one hub
//! instance is killed (the other takes its venues over) and restarted, then one NATS node is
//! killed and restarted. The same checker as every scenario, for both venues: 1..N once each, in
//! order, byte for byte, read models agreeing. The events' QoS differs on purpose (as in a chain
//! moving to QoS 0 one part at a time): east publishes at 1, west at 0, hub a subscribes at 1,
//! hub b at 0, so every pairing is crossed. And a hub whose subscription the cluster refuses
//! subscribes again until it is granted.

use std::time::Duration;

use serde_json::Value;

use tix_hub::db::{Db, Location};
use tix_tests::broker::HUB_USER;
use tix_tests::hub::hub_command;
use tix_tests::served::serve;
use tix_tests::{NatsCluster, Postgres, Served, workspace_binary};

use crate::SERIAL;
use crate::checker::{check_db, wait_for_sync};
use crate::harness::{
    HUB_PASS, HUB_TOKEN, eventually, hub_get, start_node, start_node_with, venue_pass,
};
use crate::load::Load;

const SYNC_LIMIT: Duration = Duration::from_secs(120);
const VENUES: [&str; 2] = ["east", "west"];

/// A hub instance named `instance` (its broker client id) on `db`, following `broker_url`,
/// subscribed to the events at `qos`.
fn start_instance(db: &str, broker_url: &str, instance: &str, qos: &str) -> Served {
    let mut command = hub_command(&workspace_binary("tix-hub"), db, broker_url, HUB_TOKEN);
    command.env("TIX_HUB_CLIENT_ID", instance);
    command.env("TIX_HUB_EVENTS_QOS", qos);
    serve(command, instance, Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e:#}"))
}

/// The instances `hub` sees sharing the database.
async fn instances(hub: &Served) -> Vec<Value> {
    hub_get(hub, "/api/hub/health").await["instances"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hubs_and_a_nats_cluster_lose_nothing_through_a_hub_kill_and_a_node_kill() {
    let _serial = SERIAL.lock().await;
    let postgres = Postgres::start();
    let db = postgres.fresh_database();
    let mut accounts = vec![(HUB_USER.to_owned(), HUB_PASS.to_owned())];
    accounts.extend(VENUES.iter().map(|v| (v.to_string(), venue_pass(v))));
    let mut nats = NatsCluster::start(&accounts);
    let hub_url = |node| nats.url(node, HUB_USER, HUB_PASS);
    let (a_url, b_url) = (hub_url(0), hub_url(1));
    let hub_a = start_instance(&db, &a_url, "tix-hub.a", "1");
    let hub_b = start_instance(&db, &b_url, "tix-hub.b", "0");
    let both = eventually(Duration::from_secs(20), || async {
        instances(&hub_a).await.len() == 2 && instances(&hub_b).await.len() == 2
    })
    .await;
    assert!(
        both,
        "each instance sees both: {:?}",
        instances(&hub_a).await
    );

    let dir = tempfile::tempdir().unwrap();
    let east_dir = dir.path().join("east");
    let west_dir = dir.path().join("west");
    let east = start_node(
        &east_dir,
        "east",
        &nats.url(0, "east", &venue_pass("east")),
        true,
    );
    let west = start_node_with(
        &west_dir,
        "west",
        &nats.url(2, "west", &venue_pass("west")),
        true,
        vec![("TIX_SYNC_QOS".to_owned(), "0".to_owned())],
    );
    let east_load = Load::start(&east.url(""), 3, "east").await;
    let west_load = Load::start(&west.url(""), 3, "west").await;

    tokio::time::sleep(Duration::from_secs(3)).await;
    // One instance dies: its venues stay unacknowledged until its lease runs out and the other
    // instance applies them: what it kept of their messages at once, the rest as the venues resend.
    let skipped = hub_get(&hub_b, "/api/hub/health").await["mqtt"]["skipped"].clone();
    assert!(
        skipped.as_u64() > Some(0),
        "hub a applies one of the venues (the instances' names decide which): hub b skipped {skipped}"
    );
    hub_a.kill9();
    let alone = eventually(Duration::from_secs(20), || async {
        instances(&hub_b).await.len() == 1
    })
    .await;
    assert!(alone, "the survivor sees the dead instance go");
    let taken_over = eventually(Duration::from_secs(10), || async {
        hub_get(&hub_b, "/api/hub/health").await["mqtt"]["takenOver"].as_u64() > Some(0)
    })
    .await;
    assert!(
        taken_over,
        "the survivor applies what it kept of the dead instance's venues: {}",
        hub_get(&hub_b, "/api/hub/health").await
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let hub_a = start_instance(&db, &a_url, "tix-hub.a", "1");

    tokio::time::sleep(Duration::from_secs(2)).await;
    // One broker node dies (the one hub b uses): the cluster goes on with two; what hub b's
    // QoS 0 subscription misses meanwhile the venues resend.
    nats.kill9(1);
    tokio::time::sleep(Duration::from_secs(4)).await;
    nats.restart(1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(east_load.stop().await > 0 && west_load.stop().await > 0);

    for (venue, node) in [("east", &east), ("west", &west)] {
        wait_for_sync(&hub_a, node, venue, SYNC_LIMIT).await;
    }
    let health_a = hub_get(&hub_a, "/api/hub/health").await;
    let health_b = hub_get(&hub_b, "/api/hub/health").await;
    east.stop_cleanly();
    west.stop_cleanly();
    let db = Db::new(Location::Postgres(db));
    let east_events = check_db("east", &east_dir, &db);
    let west_events = check_db("west", &west_dir, &db);
    println!(
        "two hubs, NATS cluster: east {east_events} events, west {west_events}; \
         hub a {health_a}; hub b {health_b}"
    );
}

/// The hub's account at first without the right to read the venues' events: the broker refuses
/// that subscription (SUBACK 0x80), as a NATS cluster that lost a node refuses some for a while.
fn hub_entry_without_events() -> String {
    format!(
        "    {{\n        user: \"{HUB_USER}\"\n        password: \"{HUB_PASS}\"\n        \
         allowed_connection_types: [\"MQTT\"]\n        permissions: {{\n            \
         publish: {{ allow: [\"v1.hub.venues.*.ack\", \"v1.hub.venues.*.replay\"] }}\n            \
         subscribe: {{ allow: [\"v1.venues.*.replay\", \"$MQTT.sub.>\"] }}\n        }}\n    }}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_subscription_is_made_again_until_the_broker_grants_it() {
    let _serial = SERIAL.lock().await;
    let venues = [("east".to_owned(), venue_pass("east"))];
    let nats = NatsCluster::start_with(&venues, &[hub_entry_without_events()]);
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.sqlite3");
    let hub = crate::harness::start_hub_at(&hub_db, &nats.url(0, HUB_USER, HUB_PASS));
    let east_dir = dir.path().join("east");
    let east = start_node(
        &east_dir,
        "east",
        &nats.url(1, "east", &venue_pass("east")),
        true,
    );
    let load = Load::start(&east.url(""), 2, "east").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        hub_get(&hub, "/api/hub/venues").await,
        serde_json::json!([]),
        "refused, the hub has read nothing"
    );
    // The operator fixes the account; the hub's next attempt is granted, with no reconnection.
    let mut granted = venues.to_vec();
    granted.push((HUB_USER.to_owned(), HUB_PASS.to_owned()));
    nats.set_accounts(&granted, &[]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(load.stop().await > 0);
    wait_for_sync(&hub, &east, "east", SYNC_LIMIT).await;
    let health = hub_get(&hub, "/api/hub/health").await;
    assert_eq!(
        health["mqtt"]["connections"], 1,
        "no reconnection: {health}"
    );
    east.stop_cleanly();
    crate::checker::check("east", &east_dir, &hub_db);
}
