//! `tix-bench catchup`: a venue restored from a backup taken before `--events` more events gets them
//! back from the hub before it serves. Prints the restore's time, the time from start to serving
//! (the catch-up), events/s, and checks that the restored node holds every order and the hub's
//! last sequence.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::task::block_in_place;

use tix_tests::Broker;
use tix_tests::broker::SHIPPED_MAX_QUEUED;

use crate::backup::tix_node;
use crate::cli::CatchUpArgs;
use crate::load;
use crate::node::Harness;
use crate::orders::LOCK_TTL;
use crate::sync::{node_last_seq, start_hub, venue_args, wait_for_hub};

/// Upper bound on making the events after the backup.
const SETUP_LIMIT: Duration = Duration::from_secs(60 * 60);
/// Tickets listed before the backup.
const BEFORE: usize = 1000;

/// Runs the benchmark; `Ok(false)` when the restored node lacks an order or an event.
pub(crate) async fn run(args: &CatchUpArgs, harness: &mut Harness, dir: &Path) -> Result<bool> {
    let broker = block_in_place(|| Broker::spawn_anonymous(SHIPPED_MAX_QUEUED))?;
    let (_hub, hub_db) = start_hub(&broker, dir)?;
    harness.set_extra_args(venue_args(&broker));
    let addr = harness.start().await?.addr();
    let (seller, buyers) = load::sign_up_seller_and_buyers(addr, args.connections).await?;
    load::create_tickets(addr, &seller, BEFORE, args.connections, SETUP_LIMIT).await?;
    let backed_up = node_last_seq(addr).await?;
    wait_for_hub(&hub_db, backed_up).await?;
    let work = tempfile::tempdir().context("a dir for the backup")?;
    let archive = work.path().join("node.tar.gz");
    tix_node(
        harness.bin(),
        &["backup", "--to"],
        &archive,
        harness.data_dir(),
    )
    .await?;

    // Each ticket listed and ordered after the backup is three events: ticket:created,
    // order:created and the lock's ticket:updated.
    let (tickets, took) = load::create_tickets(
        addr,
        &seller,
        args.events.div_ceil(3),
        args.connections,
        SETUP_LIMIT,
    )
    .await?;
    let ordered = load::place_orders(addr, &buyers, Arc::new(tickets), SETUP_LIMIT).await?;
    ordered.print_errors("orders");
    let last = node_last_seq(addr).await?;
    wait_for_hub(&hub_db, last).await?;
    let orders = load::count_orders(addr, &buyers).await?;
    println!(
        "after the backup: {} events ({} orders) in {:.1} s, all stored at the hub",
        last - backed_up,
        orders,
        took.as_secs_f64() + ordered.elapsed.as_secs_f64()
    );
    harness.shutdown().await;

    let restored_dir = work.path().join("restored");
    let restore_started = Instant::now();
    tix_node(
        harness.bin(),
        &["restore", "--from"],
        &archive,
        &restored_dir,
    )
    .await?;
    let restore_took = restore_started.elapsed();
    let mut restored = Harness::new(harness.bin().to_owned(), &restored_dir, LOCK_TTL);
    restored.set_extra_args(venue_args(&broker));
    let start = Instant::now();
    let node = restored.start().await?;
    let serving = start.elapsed();
    let caught_up = node_last_seq(node.addr()).await?;
    let found = load::count_orders(node.addr(), &buyers).await?;
    restored.shutdown().await;

    let missing = last - backed_up;
    println!();
    println!(
        "restore:  {:.2} s; then the node fetched {missing} events from the hub and served {:.2} s after it started ({:.0} events/s)",
        restore_took.as_secs_f64(),
        serving.as_secs_f64(),
        missing as f64 / serving.as_secs_f64()
    );
    let complete = caught_up == last && found == orders;
    println!(
        "restored: last sequence {caught_up} (the hub's: {last}), {found} orders of {orders}{}",
        if complete { "" } else { ": MISSING" }
    );
    Ok(complete)
}
