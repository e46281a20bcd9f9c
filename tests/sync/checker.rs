//! The checker every scenario ends with: for a venue, the hub holds sequences 1..=N exactly once,
//! in order, byte for byte as the node's outbox holds them, and the hub's read model agrees with the
//! node's own stores. It reads the hub's database (SQLite or PostgreSQL) through the hub's own
//! database layer.

use std::path::Path;
use std::time::Duration;

use tix_hub::db::{Db, Location};

use tix_core::events::DomainEvent;
use tix_core::ids::{OrderId, TicketId};
use tix_node::stores::Stores;
use tix_sync::protocol::{Envelope, Epoch};
use tix_tests::Served;

use crate::harness::{eventually, hub_get, node_health};

/// Waits until the hub has stored every event the node has written.
pub(crate) async fn wait_for_sync(hub: &Served, node: &Served, venue: &str, limit: Duration) {
    let last_seq = node_health(node).await["events"]["lastSeq"]
        .as_u64()
        .unwrap();
    let synced = eventually(limit, || async {
        let venues = hub_get(hub, "/api/hub/venues").await;
        venues
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["venue"] == venue && v["lastSeq"].as_u64() == Some(last_seq))
    })
    .await;
    if !synced {
        let health = node_health(node).await;
        let venues = hub_get(hub, "/api/hub/venues").await;
        panic!(
            "venue {venue} not synced within {limit:?}: node lastSeq {last_seq}, node sync {}, hub {}",
            health["sync"], venues
        );
    }
}

/// Compares a stopped node's data dir with the hub's SQLite database. Returns the number of
/// events.
pub(crate) fn check(venue: &str, node_dir: &Path, hub_db: &Path) -> u64 {
    check_db(
        venue,
        node_dir,
        &Db::new(Location::Sqlite(hub_db.to_owned())),
    )
}

/// Compares a stopped node's data dir with the hub's database. Returns the number of events.
/// Called from a test's runtime: PostgreSQL's client blocks on a runtime of its own, so the work
/// runs on a thread of its own.
pub(crate) fn check_db(venue: &str, node_dir: &Path, hub: &Db) -> u64 {
    std::thread::scope(
        |scope| match scope.spawn(|| check_now(venue, node_dir, hub)).join() {
            Ok(events) => events,
            Err(panic) => std::panic::resume_unwind(panic),
        },
    )
}

fn check_now(venue: &str, node_dir: &Path, hub: &Db) -> u64 {
    let stores = Stores::open(node_dir, 1 << 20, 0).expect("open the node's stores");
    let epoch = Epoch(stores.epoch);
    let outbox = stores.events_after(0, usize::MAX).unwrap();
    let last_seq = stores.last_seq().unwrap();
    assert_eq!(
        outbox.len() as u64,
        last_seq,
        "the node kept its whole outbox (--keep-synced-events)"
    );

    let epoch_text = epoch.to_string();
    let (count, distinct, min, max): (i64, i64, Option<i64>, Option<i64>) = hub
        .read(|sql| {
            sql.query_one(
                "SELECT COUNT(*), COUNT(DISTINCT seq), MIN(seq), MAX(seq) FROM events
                 WHERE venue = ?1 AND epoch = ?2",
                &[&venue, &epoch_text],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
        })
        .unwrap();
    assert_eq!(
        (count, distinct, min, max),
        (
            last_seq as i64,
            last_seq as i64,
            Some(1),
            Some(last_seq as i64)
        ),
        "hub holds 1..=N exactly once"
    );
    let stored: Vec<(i64, Vec<u8>)> = hub
        .read(|sql| {
            sql.query(
                "SELECT seq, envelope FROM events WHERE venue = ?1 AND epoch = ?2 ORDER BY seq",
                &[&venue, &epoch_text],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .unwrap();
    for (event, (seq, bytes)) in outbox.iter().zip(&stored) {
        assert_eq!(event.seq as i64, *seq);
        let expected = Envelope {
            venue: venue.parse().unwrap(),
            epoch,
            event: event.clone(),
        }
        .encode();
        assert!(
            expected == *bytes,
            "event {seq} differs between node and hub"
        );
    }

    // The read model agrees with the node's own stores.
    let created_tickets = outbox
        .iter()
        .filter(|e| matches!(e.event, DomainEvent::TicketCreated(_)))
        .count() as i64;
    let created_orders = outbox
        .iter()
        .filter(|e| matches!(e.event, DomainEvent::OrderCreated(_)))
        .count() as i64;
    let tickets: Vec<(String, String, f64, Option<String>, i64)> = hub
        .read(|sql| {
            sql.query(
                "SELECT id, title, price, order_id, version FROM tickets WHERE venue = ?1",
                &[&venue],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
        })
        .unwrap();
    assert_eq!(
        tickets.len() as i64,
        created_tickets,
        "one hub ticket per ticket:created"
    );
    for (id, title, price, order_id, version) in tickets {
        let ticket = stores
            .tickets
            .get(id.parse::<TicketId>().unwrap())
            .unwrap()
            .expect("the node has the hub's ticket");
        assert_eq!(
            (
                ticket.title,
                ticket.price,
                ticket.order_id.map(|o| o.to_string()),
                ticket.version as i64
            ),
            (title, price, order_id, version),
            "ticket {id}"
        );
    }
    let orders: Vec<(String, String, i64)> = hub
        .read(|sql| {
            sql.query(
                "SELECT id, status, version FROM orders WHERE venue = ?1",
                &[&venue],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
        })
        .unwrap();
    assert_eq!(
        orders.len() as i64,
        created_orders,
        "one hub order per order:created"
    );
    for (id, status, version) in orders {
        let order = stores
            .orders
            .get(id.parse::<OrderId>().unwrap())
            .unwrap()
            .expect("the node has the hub's order");
        let node_status = order.status.as_str();
        assert_eq!(
            (node_status, order.version as i64),
            (status.as_str(), version),
            "order {id}"
        );
    }
    last_seq
}
