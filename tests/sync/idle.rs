//! An idle node whose broker is away sleeps: with events published but not acknowledged, the relay
//! waits for the broker to come back instead of spinning on a stall timer that cannot fire usefully.

use std::time::Duration;

use tix_tests::{cpu_time, within};

use crate::SERIAL;
use crate::harness::{VENUE, eventually, node_health, start_node, venue_broker, venue_url};
use crate::load::list_tickets;

/// CPU time an idle node may use in `IDLE_WINDOW` while its broker is away: a bound on a busy
/// loop (which burns a whole core), not a performance figure.
const IDLE_CPU_LIMIT: Duration = Duration::from_millis(300);
const IDLE_WINDOW: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_node_sleeps_while_its_broker_is_away_with_events_outstanding() {
    let _serial = SERIAL.lock().await;
    within(Duration::from_secs(120), async {
        let mut broker = venue_broker(&[VENUE]);
        let dir = tempfile::tempdir().unwrap();
        // No hub: nothing is acknowledged, so whatever the node publishes stays outstanding.
        let node_dir = dir.path().join("node");
        let node = start_node(&node_dir, VENUE, &venue_url(&broker, VENUE), false);
        assert_eq!(list_tickets(&node.url(""), 100, 4).await, 100);
        let published = eventually(Duration::from_secs(20), || async {
            let health = node_health(&node).await;
            health["sync"]["published"].as_u64() >= health["events"]["lastSeq"].as_u64()
        })
        .await;
        assert!(published, "{}", node_health(&node).await);

        broker.kill9();
        let gone = eventually(Duration::from_secs(20), || async {
            node_health(&node).await["sync"]["connected"] == false
        })
        .await;
        assert!(gone, "{}", node_health(&node).await);
        let before = cpu_time(node.pid()).unwrap();
        tokio::time::sleep(IDLE_WINDOW).await;
        let used = cpu_time(node.pid()).unwrap() - before;
        println!(
            "idle node, broker away: {:.2} CPU-s in {IDLE_WINDOW:?}",
            used.as_secs_f64()
        );
        assert!(
            used < IDLE_CPU_LIMIT,
            "an idle node used {:.2} CPU-s in {IDLE_WINDOW:?} while its broker was away",
            used.as_secs_f64()
        );
        node.stop_cleanly();
    })
    .await;
}
