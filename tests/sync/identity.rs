//! Client ids are identities: under the shipped broker config a client's id is its username, so an
//! account connecting with the hub's client id (or another venue's) pushes nobody off the broker.

use std::time::Duration;

use tix_tests::within;

use crate::SERIAL;
use crate::harness::{
    eventually, hub_get, node_health, start_hub, start_node, venue_broker, venue_pass, venue_url,
};
use crate::mqtt::hold_connection;

const HOLD: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_connecting_with_the_hubs_or_another_venues_client_id_disconnects_neither() {
    let _serial = SERIAL.lock().await;
    within(Duration::from_secs(90), async {
        let broker = venue_broker(&["east", "rogue"]);
        let dir = tempfile::tempdir().unwrap();
        let hub = start_hub(dir.path().join("hub.sqlite3"), &broker);
        let east = start_node(
            &dir.path().join("east"),
            "east",
            &venue_url(&broker, "east"),
            false,
        );
        let both_up = eventually(Duration::from_secs(20), || async {
            hub_get(&hub, "/api/hub/health").await["mqtt"]["connected"] == true
                && node_health(&east).await["sync"]["connected"] == true
        })
        .await;
        assert!(both_up, "hub and node connect");

        // The rogue venue's account, with the client ids the hub and the east node send.
        let rogue = venue_pass("rogue");
        let (as_hub, as_east) = tokio::join!(
            hold_connection(&broker, "tix-hub", "rogue", &rogue, HOLD),
            hold_connection(&broker, "tix-node-east", "rogue", &rogue, HOLD),
        );
        assert!(as_hub >= 1 && as_east >= 1, "the impostors got in");

        let hub_mqtt = hub_get(&hub, "/api/hub/health").await["mqtt"].clone();
        assert_eq!(
            (
                hub_mqtt["connected"].as_bool(),
                hub_mqtt["connections"].as_u64()
            ),
            (Some(true), Some(1)),
            "the hub kept its one connection: {hub_mqtt}"
        );
        let east_sync = node_health(&east).await["sync"].clone();
        assert_eq!(
            (
                east_sync["connected"].as_bool(),
                east_sync["connections"].as_u64()
            ),
            (Some(true), Some(1)),
            "the east node kept its one connection: {east_sync}"
        );
        east.stop_cleanly();
    })
    .await;
}
