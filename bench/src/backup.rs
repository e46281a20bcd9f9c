//! `tix-bench backup`: a backup of a large node taken while buyers order. Prints the backup's time
//! and size, the orders' p50/p99/max during it against the same load without it (the pause a
//! backup causes to sales), and the restore's time; checks that the node restored from it holds
//! at least every order acknowledged before the backup began.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cli::BackupArgs;
use crate::load;
use crate::node::Harness;
use crate::orders::LOCK_TTL;

/// Upper bound on creating the tickets.
const SETUP_LIMIT: Duration = Duration::from_secs(2 * 60 * 60);
/// How long the orders run before the backup starts.
const LEAD: Duration = Duration::from_secs(1);

/// Runs the benchmark; `Ok(false)` when the restored node lacks an acknowledged order.
pub(crate) async fn run(args: &BackupArgs, harness: &mut Harness) -> Result<bool> {
    let addr = harness.start().await?.addr();
    println!("node serving on {addr}");
    let (seller, buyers) = load::sign_up_seller_and_buyers(addr, args.connections).await?;
    let (tickets, took) =
        load::create_tickets(addr, &seller, args.tickets, args.connections, SETUP_LIMIT).await?;
    println!(
        "setup:   {} tickets in {:.1} s",
        tickets.len(),
        took.as_secs_f64()
    );
    let half = tickets.len() / 2;
    let (first, second) = (tickets[..half].to_vec(), tickets[half..].to_vec());

    println!(
        "orders without a backup: {} buyers for {:.1} s ...",
        buyers.len(),
        args.duration.as_secs_f64()
    );
    let quiet = load::place_orders(addr, &buyers, Arc::new(first), args.duration).await?;
    quiet.print_errors("orders");

    let work = tempfile::tempdir().context("a dir for the backup")?;
    let archive = work.path().join("node.tar.gz");
    println!("orders while `tix-node backup` runs ...");
    let during = {
        let buyers = buyers.clone();
        let second = Arc::new(second);
        let duration = args.duration;
        tokio::spawn(async move { load::place_orders(addr, &buyers, second, duration).await })
    };
    tokio::time::sleep(LEAD).await;
    let backup_started = Instant::now();
    let said = tix_node(
        harness.bin(),
        &["backup", "--to"],
        &archive,
        harness.data_dir(),
    )
    .await?;
    let backup_took = backup_started.elapsed();
    let during = during.await.context("the orders task")??;
    during.print_errors("orders");
    if LEAD + backup_took > args.duration {
        println!("  the backup outlasted the orders: use a longer --duration");
    }
    println!("  {said}");
    let archive_bytes = std::fs::metadata(&archive)?.len();
    let stores_bytes = stores_size(harness.data_dir())?;
    let before = quiet.ok;
    harness.shutdown().await;

    let restored_dir = work.path().join("restored");
    let restore_started = Instant::now();
    tix_node(
        harness.bin(),
        &["restore", "--without-hub", "--from"],
        &archive,
        &restored_dir,
    )
    .await?;
    let restore_took = restore_started.elapsed();
    let mut restored = Harness::new(harness.bin().to_owned(), &restored_dir, LOCK_TTL);
    let node = restored.start().await?;
    let (_, ready) = node.wait_healthy().await?;
    let found = load::count_orders(node.addr(), &buyers).await?;
    restored.shutdown().await;

    println!();
    println!(
        "backup:  {:.2} s for {} tickets; {:.1} MB archive from {:.1} MB of stores",
        backup_took.as_secs_f64(),
        tickets.len(),
        archive_bytes as f64 / 1e6,
        stores_bytes as f64 / 1e6
    );
    for (what, stats) in [("without", &quiet), ("during", &during)] {
        println!(
            "orders {what} a backup: {:.0} orders/s  {}  max {:.1} ms  ({} ok, {} failed)",
            stats.rate(),
            stats.latency_line(),
            stats.percentile_ms(1.0),
            stats.ok,
            stats.failed
        );
    }
    println!(
        "restore: {:.2} s, then the node served in {} ms",
        restore_took.as_secs_f64(),
        ready.as_millis()
    );
    let kept = found >= before;
    println!(
        "restored: {found} orders; {before} were acknowledged before the backup began{}",
        if kept { "" } else { ": MISSING ORDERS" }
    );
    Ok(kept)
}

/// Runs `tix-node ARGS PATH --data-dir DIR`; what it printed, or an error with it.
pub(crate) async fn tix_node(
    bin: &Path,
    args: &[&str],
    path: &Path,
    data_dir: &Path,
) -> Result<String> {
    let output = tokio::process::Command::new(bin)
        .args(args)
        .arg(path)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .await
        .with_context(|| format!("running {}", bin.display()))?;
    let said = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() {
        bail!(
            "tix-node {args:?} failed: {said}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(said)
}

/// The bytes of the `.redb` files in `dir`.
fn stores_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.path().extension().is_some_and(|e| e == "redb") {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}
