//! `tix-bench orders`: orders/s against the trivial `/hello` endpoint, then a kill -9 durability check.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cli::OrdersArgs;
use crate::cpu::Spent;
use crate::device::{self, Device, DeviceSpan};
use crate::load::{self, Stats};
use crate::node::{Harness, disk_counts};
use crate::open_pages::OpenPages;

/// The lock TTL the node runs with: long enough that no lock expires during the run.
pub(crate) const LOCK_TTL: Duration = Duration::from_secs(15 * 60);
/// Upper bound on creating the tickets.
const SETUP_LIMIT: Duration = Duration::from_secs(2 * 60 * 60);
/// How long the device is measured alone, after the orders: two writers of 64 random pages per
/// `fdatasync`, about what the writer's two commits of a batch ask of it at once.
const PROBE: Duration = Duration::from_secs(3);
const PROBE_WRITERS: usize = 2;
const PROBE_PAGES_PER_SYNC: usize = 64;

/// Runs the benchmark; `Ok(false)` when the durability check fails.
pub(crate) async fn run(args: &OrdersArgs, harness: &mut Harness) -> Result<bool> {
    let addr = harness.start().await?.addr();
    println!("node serving on {addr}");

    let signup_started = Instant::now();
    let (seller, buyers) = load::sign_up_seller_and_buyers(addr, args.connections).await?;
    println!(
        "signed up 1 seller and {} buyers in {:.2} s",
        buyers.len(),
        signup_started.elapsed().as_secs_f64()
    );

    let (tickets, took) =
        load::create_tickets(addr, &seller, args.tickets, args.connections, SETUP_LIMIT).await?;
    let tickets_rate = tickets.len() as f64 / took.as_secs_f64().max(1e-9);
    println!(
        "setup:   {} tickets in {:.2} s ({tickets_rate:.0} tickets/s over {} connections)",
        tickets.len(),
        took.as_secs_f64(),
        args.connections
    );

    let slice = args.duration / u32::try_from(args.rounds).unwrap_or(u32::MAX);
    if args.rounds > 1 {
        println!(
            "hello and orders alternate {} times, {:.1} s each ...",
            args.rounds,
            slice.as_secs_f64()
        );
    }
    let mut pages = None;
    let disk_before = disk_counts(harness.node()?).await?;
    let device = Device::of(harness.data_dir())?;
    let mut device_span = DeviceSpan::default();
    let (mut hellos, mut placed) = (Vec::new(), Vec::new());
    let (mut hello_spent, mut orders_spent) = (Spent::default(), Spent::default());
    let tickets = Arc::new(tickets);
    let mut first = 0;
    for round in 1..=args.rounds {
        if args.rounds == 1 {
            println!(
                "hello:   {} connections for {:.1} s ...",
                args.connections,
                slice.as_secs_f64()
            );
        }
        let before = Spent::now(harness.node()?)?;
        let hello = load::hello(addr, args.connections, slice).await?;
        hello_spent.add(&before.since(harness.node()?)?);

        if args.rounds == 1 {
            println!(
                "orders:  {} buyers for {:.1} s, {} pages open ...",
                args.connections,
                slice.as_secs_f64(),
                args.pages
            );
        }
        if pages.is_none() {
            pages = Some(OpenPages::open(addr, args.pages).await?);
        }
        let before = Spent::now(harness.node()?)?;
        let device_before = device.as_ref().map(Device::counts).transpose()?;
        let orders =
            load::place_orders_from(addr, &buyers, Arc::clone(&tickets), first, slice).await?;
        orders_spent.add(&before.since(harness.node()?)?);
        if let (Some(device), Some(before)) = (&device, device_before) {
            device_span.add(&device.counts()?.since(&before));
        }
        if args.rounds > 1 {
            println!(
                "  round {round}: hello {:.0} req/s, orders {:.0} orders/s (p99 {:.2} ms), ratio {:.3}",
                hello.rate(),
                orders.rate(),
                orders.percentile_ms(0.99),
                orders.rate() / hello.rate().max(1e-9)
            );
        }
        // Each attempt took the next ticket, whatever its answer; the next round starts after them.
        first += usize::try_from(orders.ok + orders.failed).unwrap_or(usize::MAX);
        let exhausted = orders.exhausted;
        hellos.push(hello);
        placed.push(orders);
        if exhausted {
            break;
        }
    }
    let hello = Stats::combine(hellos);
    let orders = Stats::combine(placed);
    hello.print_errors("hello requests");
    let hello_cpu = hello_spent.per_request(hello.ok);
    let orders_cpu = orders_spent.per_request(orders.ok);
    let disk = disk_counts(harness.node()?)
        .await?
        .per_order_line(&disk_before, orders.ok);
    if orders.exhausted {
        println!(
            "  ran out of tickets after {:.2} s of orders: all {} were taken; use more --tickets",
            orders.elapsed.as_secs_f64(),
            tickets.len()
        );
    }
    orders.print_errors("orders");
    let heard = match pages {
        Some(pages) => Some(pages.close().await),
        None => None,
    };
    let device_line = match &device {
        Some(device) => {
            println!(
                "device:  {} alone for {:.0} s, {PROBE_WRITERS} writers of {PROBE_PAGES_PER_SYNC} random 4 KiB pages per fdatasync ...",
                device.name,
                PROBE.as_secs_f64()
            );
            let data_dir = harness.data_dir().to_owned();
            let alone = tokio::task::spawn_blocking(move || {
                device::random_writes(&data_dir, PROBE_WRITERS, PROBE_PAGES_PER_SYNC, PROBE)
            })
            .await??;
            format!(
                "{}: {}; alone it took {:.0} random page writes/s ({} writers, {} per fdatasync): orders used {:.2} of it",
                device.name,
                device_span.per_item_line(orders.ok, "order"),
                alone.pages_per_second,
                alone.writers,
                alone.pages_per_sync,
                device_span.writes_per_second() / alone.pages_per_second.max(1e-9)
            )
        }
        None => "no /proc/diskstats line for the data dir's file system".to_owned(),
    };

    println!("durability: kill -9 the node, restart it on the same data dir ...");
    harness.kill9().await?;
    let node = harness.start().await?;
    let (_, ready) = node.wait_healthy().await?;
    let addr = node.addr();
    println!("  restarted in {} ms", ready.as_millis());
    let found = load::count_orders(addr, &buyers).await?;
    let durable = found == orders.ok;

    println!();
    println!(
        "setup:   {tickets_rate:.0} tickets/s  ({} tickets)",
        tickets.len()
    );
    println!(
        "hello:   {:.0} req/s  {}  ({} ok, {} failed)",
        hello.rate(),
        hello.latency_line(),
        hello.ok,
        hello.failed
    );
    println!(
        "orders:  {:.0} orders/s  {}  ({} ok, {} failed{})",
        orders.rate(),
        orders.latency_line(),
        orders.ok,
        orders.failed,
        if orders.exhausted {
            ", stopped early: out of tickets"
        } else {
            ""
        }
    );
    println!(
        "ratio orders/hello: {:.2}",
        orders.rate() / hello.rate().max(1e-9)
    );
    println!(
        "cpu:     hello: node {:.1} µs + bench {:.1} µs per request; orders: node {:.0} µs + bench {:.0} µs per order ({:.1}× a hello's)",
        hello_cpu.node,
        hello_cpu.bench,
        orders_cpu.node,
        orders_cpu.bench,
        (orders_cpu.node + orders_cpu.bench) / (hello_cpu.node + hello_cpu.bench).max(1e-9)
    );
    println!("disk:    {disk}");
    println!("device:  {device_line}");
    if let Some(heard) = heard.filter(|heard| heard.pages > 0) {
        println!("pages:   {heard}");
    }
    if durable {
        println!("durable: {found} of {} orders survived kill -9", orders.ok);
    } else {
        println!(
            "durable: MISMATCH: {found} orders found after kill -9, {} were acknowledged with 201",
            orders.ok
        );
    }
    Ok(durable)
}
