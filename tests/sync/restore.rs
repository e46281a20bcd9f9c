//! A node put back on an older copy of its data dir without the catch-up (same epoch, lower
//! sequence) stops syncing rather than trusting the hub's higher acknowledgement: it accepts no
//! ack, prunes nothing, publishes nothing, and says why in its log and in `/healthz`. (Restored
//! with `tix-node restore`, it catches up from the hub instead: `catch_up.rs`.)

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use tix_tests::{within, workspace_binary};

use crate::SERIAL;
use crate::checker::wait_for_sync;
use crate::harness::{OneVenue, VENUE, eventually, hub_get, node_health, start_node, venue_broker};
use crate::load::list_tickets;

const SYNC_LIMIT: Duration = Duration::from_secs(90);

/// Runs `tix-node` or `tix-hub` with `args` (an operator's task); whether it succeeded and what
/// it printed.
fn run(binary: &str, args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new(workspace_binary(binary))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), said)
}

/// Like `run`; panics unless the task succeeds.
pub(crate) fn task(binary: &str, args: &[&str]) -> String {
    let (ok, said) = run(binary, args);
    assert!(ok, "{binary} {args:?}: {said}");
    said
}

pub(crate) fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub(crate) fn seq(sync: &Value, field: &str) -> u64 {
    sync[field]
        .as_u64()
        .unwrap_or_else(|| panic!("no {field} in {sync}"))
}

/// The number of events the hub holds of `VENUE` and how many messages it quarantined.
pub(crate) async fn hub_holds(hub: &tix_tests::Served) -> (u64, usize) {
    let venues = hub_get(hub, "/api/hub/venues").await;
    let stored = venues
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["venue"] == VENUE)
        .and_then(|v| v["lastSeq"].as_u64())
        .unwrap_or(0);
    let quarantined = hub_get(hub, "/api/hub/quarantine")
        .await
        .as_array()
        .unwrap()
        .len();
    (stored, quarantined)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restored_from_an_older_copy_stops_syncing_and_prunes_nothing() {
    let _serial = SERIAL.lock().await;
    within(Duration::from_secs(240), async {
        let OneVenue {
            broker: _broker,
            dir,
            hub_db,
            hub,
            node_dir,
            node,
            url,
        } = OneVenue::start(venue_broker(&[VENUE]), false);
        assert_eq!(list_tickets(&node.url(""), 50, 4).await, 50);
        wait_for_sync(&hub, &node, VENUE, SYNC_LIMIT).await;
        // The operator's backups, taken while both run: the venue's and the hub's.
        let older = dir.path().join("older.tar.gz");
        let said = task(
            "tix-node",
            &[
                "backup",
                "--to",
                path(&older),
                "--data-dir",
                path(&node_dir),
            ],
        );
        assert!(said.contains("from the running node"), "{said}");
        let hub_backup = dir.path().join("hub.backup");
        let said = task(
            "tix-hub",
            &["backup", "--to", path(&hub_backup), "--db", path(&hub_db)],
        );
        let (stored, _) = hub_holds(&hub).await;
        assert!(
            said.contains(&format!("{stored} events of 1 venues")),
            "{said}"
        );
        node.stop_cleanly();

        let node = start_node(&node_dir, VENUE, &url, false);
        assert_eq!(list_tickets(&node.url(""), 300, 4).await, 300);
        wait_for_sync(&hub, &node, VENUE, SYNC_LIMIT).await;
        let hub_seq = seq(&node_health(&node).await["events"], "lastSeq");
        // The hub's ack of its last commit (the retained one the restored node will get) follows
        // the commit by a moment.
        let acked = eventually(Duration::from_secs(20), || async {
            node_health(&node).await["sync"]["lastAckedSeq"].as_u64() == Some(hub_seq)
        })
        .await;
        assert!(acked, "{}", node_health(&node).await);
        node.stop_cleanly();

        // The data dir is put back from the older backup without the catch-up (as an operator
        // copying files back would): same epoch, a lower sequence.
        std::fs::remove_dir_all(&node_dir).unwrap();
        let said = task(
            "tix-node",
            &[
                "restore",
                "--from",
                path(&older),
                "--data-dir",
                path(&node_dir),
                "--without-hub",
            ],
        );
        assert!(said.contains("restored"), "{said}");
        let node = start_node(&node_dir, VENUE, &url, false);
        let restored = node_health(&node).await;
        let (acked, pruned) = (
            seq(&restored["sync"], "lastAckedSeq"),
            seq(&restored["sync"], "prunedThrough"),
        );
        assert!(seq(&restored["events"], "lastSeq") < hub_seq, "{restored}");
        let noticed = eventually(Duration::from_secs(20), || async {
            node_health(&node).await["sync"]["hubAhead"] == true
        })
        .await;
        assert!(
            noticed,
            "the hub's ack arrives: {}",
            node_health(&node).await
        );

        // The venue sells on, past the sequence the hub holds of the timeline it lost.
        assert_eq!(list_tickets(&node.url(""), 400, 4).await, 400);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let health = node_health(&node).await;
        let sync = &health["sync"];
        assert!(seq(&health["events"], "lastSeq") > hub_seq, "{health}");
        assert_eq!(
            (seq(sync, "lastAckedSeq"), seq(sync, "prunedThrough")),
            (acked, pruned),
            "no ack accepted and nothing pruned after the restore: {sync}"
        );
        let halted = sync["halted"].as_str().unwrap_or_default();
        assert!(
            halted.contains("restored") && halted.contains(&hub_seq.to_string()),
            "/healthz says why sync stopped: {sync}"
        );
        assert_eq!(sync["connected"], false, "{sync}");
        assert!(
            node.log()
                .iter()
                .any(|line| line.contains("ERROR") && line.contains("restored")),
            "the log says why sync stopped"
        );
        assert_eq!(
            hub_holds(&hub).await,
            (hub_seq, 0),
            "the hub got nothing of the new timeline"
        );
        println!("sync after the restore: {sync}");
        node.stop_cleanly();

        // A restart remembers: the node's sequence is past the hub's now, yet sync stays stopped.
        let node = start_node(&node_dir, VENUE, &url, false);
        let halted = eventually(Duration::from_secs(10), || async {
            node_health(&node).await["sync"]["halted"]
                .as_str()
                .is_some_and(|h| h.contains("earlier run") && h.contains("restored"))
        })
        .await;
        let sync = node_health(&node).await["sync"].clone();
        assert!(halted, "{sync}");
        tokio::time::sleep(Duration::from_secs(2)).await;
        let sync = node_health(&node).await["sync"].clone();
        assert_eq!(
            (seq(&sync, "lastAckedSeq"), seq(&sync, "prunedThrough")),
            (pruned, pruned),
            "{sync}"
        );
        assert_eq!(hub_holds(&hub).await, (hub_seq, 0));
        node.stop_cleanly();
    })
    .await;
}

/// Runs `tix-hub venue adopt VENUE EPOCH` against the hub; its exit status and what it printed.
fn adopt(hub: &tix_tests::Served, venue: &str, epoch: &str) -> (bool, String) {
    let token = crate::harness::HUB_TOKEN;
    run(
        "tix-hub",
        &[
            "--api-token",
            token,
            "venue",
            "adopt",
            venue,
            epoch,
            "--listen",
            &hub.addr,
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_that_lost_its_stores_is_adopted_at_its_new_epoch_keeping_the_old_history() {
    let _serial = SERIAL.lock().await;
    within(Duration::from_secs(240), async {
        let OneVenue {
            broker: _broker,
            dir: _dir,
            hub_db,
            hub,
            node_dir,
            node,
            url,
        } = OneVenue::start(venue_broker(&[VENUE]), false);
        assert_eq!(list_tickets(&node.url(""), 40, 4).await, 40);
        wait_for_sync(&hub, &node, VENUE, SYNC_LIMIT).await;
        let old_epoch = node_health(&node).await["events"]["epoch"]
            .as_str()
            .unwrap()
            .to_owned();
        let (old_seq, _) = hub_holds(&hub).await;
        node.stop_cleanly();

        // The disk is lost with no backup: the node starts again on empty stores, a new epoch.
        std::fs::remove_dir_all(&node_dir).unwrap();
        let node = start_node(&node_dir, VENUE, &url, false);
        assert_eq!(list_tickets(&node.url(""), 25, 4).await, 25);
        let new_epoch = node_health(&node).await["events"]["epoch"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_ne!(new_epoch, old_epoch);
        let quarantined = eventually(Duration::from_secs(30), || async {
            hub_get(&hub, "/api/hub/quarantine/counts")
                .await
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["venue"] == VENUE && c["reason"] == "epoch")
        })
        .await;
        assert!(quarantined, "the new epoch's events wait in the quarantine");

        // Refused: an epoch never heard of, the one followed already, a venue unknown.
        let (ok, said) = adopt(&hub, VENUE, "00000000000000ab");
        assert!(
            !ok && said.contains("409") && said.contains("no message"),
            "{said}"
        );
        let (ok, said) = adopt(&hub, VENUE, &old_epoch);
        assert!(!ok && said.contains("already followed"), "{said}");
        let (ok, said) = adopt(&hub, "venue-z", &new_epoch);
        assert!(!ok && said.contains("404"), "{said}");

        let (ok, said) = adopt(&hub, VENUE, &new_epoch);
        assert!(ok, "{said}");
        assert!(
            said.contains(&format!("\"previousLastSeq\":{old_seq}")),
            "{said}"
        );
        // The node resends what the hub has not acknowledged; the hub now takes it all.
        wait_for_sync(&hub, &node, VENUE, SYNC_LIMIT).await;
        let venues = hub_get(&hub, "/api/hub/venues").await;
        let venue = venues
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["venue"] == VENUE)
            .unwrap()
            .clone();
        assert_eq!(venue["epoch"], new_epoch.as_str(), "{venue}");
        let new_seq = node_health(&node).await["events"]["lastSeq"]
            .as_u64()
            .unwrap();
        assert_eq!(venue["lastSeq"].as_u64(), Some(new_seq), "{venue}");

        // The old epoch's history is kept beside the new one.
        let db = rusqlite::Connection::open(&hub_db).unwrap();
        let count = |epoch: &str| -> i64 {
            db.query_row(
                "SELECT count(*) FROM events WHERE venue = ?1 AND epoch = ?2",
                [VENUE, epoch],
                |row| row.get(0),
            )
            .unwrap()
        };
        assert_eq!(count(&old_epoch), old_seq as i64);
        assert_eq!(count(&new_epoch), new_seq as i64);
        let recorded: (String, i64) = db
            .query_row(
                "SELECT previous_epoch, previous_last_seq FROM venue_epochs WHERE venue = ?1",
                [VENUE],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!(recorded, (old_epoch, old_seq as i64));
        node.stop_cleanly();
    })
    .await;
}
