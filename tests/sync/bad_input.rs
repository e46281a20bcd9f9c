//! Bad input on the wire: malformed, oversized and forged messages are refused, counted and kept in
//! the quarantine, the broker's ACL keeps venues in their own topics, and sync goes on.

use std::time::Duration;

use serde_json::Value;

use crate::SERIAL;
use crate::checker::{check, wait_for_sync};
use crate::harness::{
    eventually, hub_get, start_hub, start_node, venue_broker, venue_pass, venue_url,
};
use crate::load::Load;
use crate::mqtt::{listen_as, publish_as};

fn reasons(quarantine: &Value) -> Vec<String> {
    let mut reasons: Vec<String> = quarantine
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["reason"].as_str().unwrap().to_owned())
        .collect();
    reasons.sort();
    reasons
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_malformed_and_oversized_messages_are_quarantined_and_sync_goes_on() {
    let _serial = SERIAL.lock().await;
    let broker = venue_broker(&["honest", "rogue"]);
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.sqlite3");
    let hub = start_hub(&hub_db, &broker);
    let node_dir = dir.path().join("honest");
    let node = start_node(&node_dir, "honest", &venue_url(&broker, "honest"), true);
    let load = Load::start(&node.url(""), 2, "honest").await;
    tokio::time::sleep(Duration::from_millis(800)).await;

    // A genuine envelope of the honest venue, to forge from.
    let genuine: Value = hub_get(&hub, "/api/hub/venues/honest/events?limit=1").await[0].clone();
    assert_eq!(genuine["sequence"], "1");
    let mut forged = genuine.clone();
    forged["id"] = format!("honest:{}:999999", genuine["epoch"].as_str().unwrap()).into();
    forged["sequence"] = "999999".into();

    let rogue_pass = venue_pass("rogue");
    // The ACL drops a publish under another venue's topic: the hub never sees it.
    publish_as(
        &broker,
        "rogue",
        &rogue_pass,
        vec![(
            "v1/venues/honest/events".into(),
            forged.to_string().into_bytes(),
        )],
    )
    .await;
    // Under its own topic the rogue venue can publish, but the hub checks every message.
    let mut claims_other_source = genuine.clone();
    claims_other_source["sequence"] = "1".into();
    let own = "v1/venues/rogue/events".to_owned();
    publish_as(
        &broker,
        "rogue",
        &rogue_pass,
        vec![
            (own.clone(), claims_other_source.to_string().into_bytes()),
            (own.clone(), b"{\"specversion\":\"1.0\"".to_vec()),
            (own.clone(), vec![0xff, 0xfe, 0x00]),
            (own.clone(), vec![b'x'; 200 * 1024]),
        ],
    )
    .await;
    let all_in = eventually(Duration::from_secs(20), || async {
        hub_get(&hub, "/api/hub/quarantine")
            .await
            .as_array()
            .unwrap()
            .len()
            >= 4
    })
    .await;
    let quarantine = hub_get(&hub, "/api/hub/quarantine").await;
    assert!(all_in, "quarantine: {quarantine}");
    assert_eq!(
        reasons(&quarantine),
        ["malformed", "malformed", "oversized", "source-mismatch"],
        "{quarantine}"
    );
    let oversized = quarantine
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["reason"] == "oversized")
        .unwrap();
    assert_eq!(oversized["size"], 200 * 1024);
    assert!(
        quarantine
            .as_array()
            .unwrap()
            .iter()
            .all(|row| row["topic"] == own),
        "nothing arrived from the topic the ACL protects: {quarantine}"
    );
    let health = hub_get(&hub, "/api/hub/health").await;
    assert_eq!(health["ingest"]["quarantined"], 4, "{health}");
    let counts = hub_get(&hub, "/api/hub/quarantine/counts").await;
    assert_eq!(
        counts
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (
                c["venue"].as_str().unwrap(),
                c["reason"].as_str().unwrap(),
                c["count"].as_u64().unwrap()
            ))
            .collect::<Vec<_>>(),
        [
            ("rogue", "malformed", 2),
            ("rogue", "oversized", 1),
            ("rogue", "source-mismatch", 1)
        ],
        "refusals are counted against the venue that sent them: {counts}"
    );

    // The ACL also keeps a venue from reading another's acknowledgements.
    let peeked = listen_as(
        &broker,
        "rogue",
        &rogue_pass,
        "v1/hub/venues/honest/ack",
        Duration::from_secs(1),
    )
    .await;
    assert!(peeked.is_empty(), "rogue read the honest venue's ack");
    let own_ack = listen_as(
        &broker,
        "honest",
        &venue_pass("honest"),
        "v1/hub/venues/honest/ack",
        Duration::from_secs(1),
    )
    .await;
    assert!(!own_ack.is_empty(), "a venue reads its own retained ack");

    assert!(load.stop().await > 0);
    wait_for_sync(&hub, &node, "honest", Duration::from_secs(60)).await;
    let venues = hub_get(&hub, "/api/hub/venues").await;
    assert_eq!(
        venues.as_array().unwrap().len(),
        1,
        "no venue made up: {venues}"
    );
    node.stop_cleanly();
    check("honest", &node_dir, &hub_db);
}
