//! Backups: `tix-node backup` from a node that goes on selling, `tix-node restore` into a new data
//! dir, and a node started there that has every order acknowledged before the backup began, the
//! same sessions and the same pass key; damaged archives and occupied data dirs are refused.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use tix_tests::client::{Client, Node, NodeOptions, id, users};

use crate::{NODE, run_task};

const TICKETS: usize = 300;
const BUYERS: usize = 6;
/// Each buyer's pause after an acknowledged order.
const BETWEEN_ORDERS: Duration = Duration::from_millis(40);
/// Orders acknowledged before the backup begins.
const ORDERS_BEFORE: usize = 12;

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A node on which one buyer may hold any number of unpaid orders.
fn unlimited() -> NodeOptions {
    NodeOptions {
        env: vec![("TIX_MAX_OPEN_ORDERS".into(), "0".into())],
        ..Default::default()
    }
}

/// An order the node acknowledged, with the buyer who placed it and when the 201 arrived.
struct Acked {
    buyer: usize,
    order: Value,
    at: Instant,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_buyers_buy_restores_every_order_acknowledged_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let first_dir = dir.path().join("first");
    let node = Node::start_in(NODE, &first_dir, unlimited());
    let seller = node.client().user("seller@test.com").await;
    let mut tickets = Vec::new();
    for n in 0..TICKETS {
        tickets.push(id(&seller.sell(&format!("Gig {n}"), json!(10 + n)).await));
    }
    let buyers = users(&node, "buyer", BUYERS).await;
    let pass_key = node.client().get("/.well-known/tix-pass-key").await.body;

    // Buyers order one ticket after another until told to stop, each pausing between orders so
    // that the tickets last well beyond the backup (at most 6 × 1 / 40 ms = 150 orders/s: two
    // seconds of orders).
    let acked = Arc::new(Mutex::new(Vec::<Acked>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = tokio::task::JoinSet::new();
    for (n, buyer) in buyers.iter().cloned().enumerate() {
        let (acked, stop) = (acked.clone(), stop.clone());
        let mine: Vec<String> = tickets.iter().skip(n).step_by(BUYERS).cloned().collect();
        load.spawn(async move {
            for ticket in mine {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let reply = buyer
                    .post("/api/orders", json!({ "ticketId": ticket }))
                    .await;
                assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
                acked.lock().await.push(Acked {
                    buyer: n,
                    order: reply.body,
                    at: Instant::now(),
                });
                tokio::time::sleep(BETWEEN_ORDERS).await;
            }
        });
    }
    // The backup begins once buyers are buying: some orders are acknowledged before it.
    let waiting = Instant::now();
    while acked.lock().await.len() < ORDERS_BEFORE {
        assert!(
            waiting.elapsed() < Duration::from_secs(30),
            "{ORDERS_BEFORE} orders within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let backup = dir.path().join("venue.tar.gz");
    let began = Instant::now();
    let (ok, said) = run_task(&[
        "backup",
        "--to",
        path(&backup),
        "--data-dir",
        path(&first_dir),
    ])
    .await;
    assert!(ok, "{said}");
    assert!(said.contains("from the running node"), "{said}");
    let ended = Instant::now();
    stop.store(true, Ordering::Relaxed);
    while let Some(done) = load.join_next().await {
        done.unwrap();
    }
    let acked = std::mem::take(&mut *acked.lock().await);
    let before: Vec<&Acked> = acked.iter().filter(|a| a.at < began).collect();
    let during = acked
        .iter()
        .filter(|a| (began..=ended).contains(&a.at))
        .count();
    // Else this test would not show what it says: a backup of a node that goes on selling.
    assert!(
        before.len() >= ORDERS_BEFORE && during > 0,
        "orders acknowledged: {} before the backup, {during} while it was taken (in {:?}), {} \
         in all",
        before.len(),
        ended - began,
        acked.len()
    );
    node.stop(Duration::from_secs(30)).unwrap();

    let second_dir = dir.path().join("second");
    // This node syncs to no hub: it serves what the backup holds.
    let (ok, said) = run_task(&[
        "restore",
        "--without-hub",
        "--from",
        path(&backup),
        "--data-dir",
        path(&second_dir),
    ])
    .await;
    assert!(ok, "{said}");
    assert!(said.contains("7 stores"), "{said}");
    let restored = Node::start_in(NODE, &second_dir, unlimited());
    // The buyers' sessions still hold (the session secret came back), and so does every order
    // acknowledged before the backup began.
    for a in &before {
        let buyer: &Client = &buyers[a.buyer];
        let buyer = buyer.clone().with_base(&restored.url(""));
        let reply = buyer.get(&format!("/api/orders/{}", id(&a.order))).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["ticket"]["id"], a.order["ticket"]["id"]);
    }
    let listed = restored.client().get("/api/tickets").await.body;
    let on_sale = listed.as_array().unwrap().len();
    assert!(
        on_sale <= TICKETS - before.len(),
        "{on_sale} tickets on sale, {} were ordered before the backup",
        before.len()
    );
    // Passes sold before the backup still scan: the same pass key.
    assert_eq!(
        restored
            .client()
            .get("/.well-known/tix-pass-key")
            .await
            .body,
        pass_key
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_backups_and_occupied_data_dirs_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node_dir = dir.path().join("node");
    let node = Node::start_in(NODE, &node_dir, NodeOptions::default());
    let seller = node.client().user("seller@test.com").await;
    seller.sell("Matinee", json!(12)).await;
    node.stop(Duration::from_secs(30)).unwrap();

    // A stopped node's stores are backed up directly.
    let backup = dir.path().join("stopped.tar.gz");
    let (ok, said) = run_task(&[
        "backup",
        "--to",
        path(&backup),
        "--data-dir",
        path(&node_dir),
    ])
    .await;
    assert!(ok, "{said}");
    assert!(said.contains("the node is not running"), "{said}");

    // Into the data dir it came from: refused, nothing touched.
    let (ok, said) = run_task(&[
        "restore",
        "--from",
        path(&backup),
        "--data-dir",
        path(&node_dir),
    ])
    .await;
    assert!(
        !ok && said.contains("already holds a node's data"),
        "{said}"
    );

    // A byte changed in the manifest, a store or a secret, or the archive cut short: each
    // refused, the target left empty. (The byte is changed in the tar inside the gzip: a bit
    // flipped in the compressed stream may decode to the same bytes, which are then intact.)
    let bytes = std::fs::read(&backup).unwrap();
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut tar)
        .unwrap();
    let mut bad = Vec::new();
    for name in [
        "backup.json",
        "stores/auth.redb",
        "stores/door.redb",
        "secrets/pass-key",
    ] {
        let header = tar
            .windows(name.len() + 1)
            .position(|w| w == format!("{name}\0").as_bytes())
            .unwrap_or_else(|| panic!("{name} in the archive"));
        let mut changed = tar.clone();
        changed[header + 512 + 5] ^= 0x01;
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(&changed).unwrap();
        bad.push((format!("a byte of {name} changed"), gzip.finish().unwrap()));
    }
    bad.push(("cut short".into(), bytes[..bytes.len() - 200].to_vec()));
    bad.push((
        "the last byte cut".into(),
        bytes[..bytes.len() - 1].to_vec(),
    ));
    for (what, archive) in &bad {
        let bad = dir.path().join("bad.tar.gz");
        std::fs::write(&bad, archive).unwrap();
        let target = dir.path().join("target");
        let (ok, said) =
            run_task(&["restore", "--from", path(&bad), "--data-dir", path(&target)]).await;
        assert!(!ok, "{what} was restored: {said}");
        assert!(
            ["damaged", "ends early", "ends before", "backup.json"]
                .iter()
                .any(|why| said.contains(why)),
            "{said}"
        );
        let left: Vec<_> = std::fs::read_dir(&target).unwrap().collect();
        assert!(left.is_empty(), "{what} left {left:?}");
    }

    // The intact one restores, and the node there sells what was listed.
    let target = dir.path().join("good");
    let (ok, said) = run_task(&[
        "restore",
        "--without-hub",
        "--from",
        path(&backup),
        "--data-dir",
        path(&target),
    ])
    .await;
    assert!(ok, "{said}");
    let restored = Node::start_in(NODE, &target, NodeOptions::default());
    let listed = restored.client().get("/api/tickets").await.body;
    assert_eq!(listed[0]["title"], "Matinee", "{listed}");
}
