//! Upgrades: stores written before schema versions were recorded (a backup made by `tix-node` on
//! 2026-12-01, in `fixtures/`) are brought up to date at start and serve their old orders; a store
//! from a newer build is refused with a message that says so, and nothing is changed.

use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use tix_core::outbox::META;
use tix_core::store_version::{self, CURRENT, KEY};
use tix_node::stores::NAMES;
use tix_tests::client::{Node, NodeOptions};

use crate::{NODE, run_task};

/// What the fixture holds: a paid order of "Old Gig" and "Old Matinee" still on sale.
const FIXTURE: &str = "tests/it/fixtures/stores-before-versions.tar.gz";
const PAID_ORDER: &str = "6b0ec11d87bae5c9e85538ad";
const ON_SALE: &str = "6b0ec11d87bae5c9e85538ac";

async fn restore_fixture(data_dir: &Path) {
    let data_dir = data_dir.to_str().unwrap();
    let (ok, said) = run_task(&[
        "restore",
        "--without-hub",
        "--from",
        FIXTURE,
        "--data-dir",
        data_dir,
    ])
    .await;
    assert!(ok, "{said}");
}

fn versions(data_dir: &Path) -> Vec<u64> {
    NAMES
        .iter()
        .map(|name| {
            let db = redb::Database::open(data_dir.join(format!("{name}.redb"))).unwrap();
            store_version::recorded(&db).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn stores_from_before_versions_are_upgraded_and_keep_their_orders() {
    let dir = tempfile::tempdir().unwrap();
    restore_fixture(dir.path()).await;
    assert_eq!(
        versions(dir.path()),
        [0; 7],
        "the fixture predates versions"
    );

    let node = Node::start_in(NODE, dir.path(), NodeOptions::default());
    let mut buyer = node.client();
    let signed_in = buyer
        .post(
            "/api/users/signin",
            json!({ "email": "buyer@venue.test", "password": "password" }),
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.text);
    buyer.keep_cookie(&signed_in);
    let paid = buyer.get(&format!("/api/orders/{PAID_ORDER}")).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text);
    assert_eq!(paid.body["status"], "complete", "{}", paid.text);
    assert_eq!(paid.body["ticket"]["title"], "Old Gig");
    let ordered = buyer
        .post("/api/orders", json!({ "ticketId": ON_SALE }))
        .await;
    assert_eq!(ordered.status, StatusCode::CREATED, "{}", ordered.text);
    let upgraded = node
        .log()
        .iter()
        .filter(|line| line.contains("store schema upgraded"))
        .count();
    assert_eq!(upgraded, 7, "one upgrade logged per store");
    node.stop(Duration::from_secs(30)).unwrap();

    assert_eq!(versions(dir.path()), [CURRENT; 7]);
}

#[tokio::test]
async fn a_store_from_a_newer_build_is_refused_and_nothing_is_changed() {
    let dir = tempfile::tempdir().unwrap();
    restore_fixture(dir.path()).await;
    {
        let db = redb::Database::open(dir.path().join("orders.redb")).unwrap();
        let write = db.begin_write().unwrap();
        write
            .open_table(META)
            .unwrap()
            .insert(KEY, CURRENT + 1)
            .unwrap();
        write.commit().unwrap();
    }

    let data_dir = dir.path().to_str().unwrap();
    let (started, said) = run_task(&["--listen", "127.0.0.1:0", "--data-dir", data_dir]).await;

    assert!(!started);
    assert!(
        said.contains(&format!(
            "the orders store has schema version {}",
            CURRENT + 1
        )),
        "{said}"
    );
    let mut expected = [0; 7];
    expected[2] = CURRENT + 1;
    assert_eq!(versions(dir.path()), expected, "no store was upgraded");
}
