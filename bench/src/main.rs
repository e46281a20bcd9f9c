//! `tix-bench`: starts a tix-node on 127.0.0.1 and measures it: orders/s against a trivial
//! endpoint with a kill -9 durability check (`orders`), pending locks at scale (`locks`), sync
//! to a hub through Mosquitto (`sync`), ticket search (`search`), the storefront's pages
//! (`pages`) and the show pages with a large seat map (`showpages`), the node's memory while many
//! clients read the whole ticket list (`list`), an on-sale rush of a show's best available
//! (`onsale`), scans at the door (`door`), a backup under load (`backup`), and the chain's hubs fed
//! by many simulated venues (`chain`: SQLite + Mosquitto against PostgreSQL + a NATS cluster).

mod backup;
mod catch_up;
mod chain;
mod cli;
mod client;
mod cpu;
mod device;
mod door;
mod list;
mod load;
mod locks;
mod node;
mod onsale;
mod open_pages;
mod orders;
mod pages;
mod search;
mod show_pages;
mod sync;
mod venues;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use crate::cli::{Cli, Command};
use crate::node::{DataDir, Harness};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs a subcommand; `Ok(false)` when one of its checks failed.
async fn run(cli: Cli) -> Result<bool> {
    let bin = match cli.node_bin {
        Some(bin) => bin,
        None => std::env::current_exe()
            .context("locating this binary")?
            .with_file_name("tix-node"),
    };
    if !bin.is_file() {
        anyhow::bail!("no node binary at {} (use --node-bin)", bin.display());
    }
    let seeded = matches!(&cli.command, Command::List(args) if args.seeded);
    let data_dir = DataDir::prepare(cli.data_dir, cli.keep, seeded)?;
    let lock_ttl = match &cli.command {
        Command::Orders(_) => orders::LOCK_TTL,
        Command::Locks(args) => args.lock_ttl,
        Command::Sync(_)
        | Command::Search(_)
        | Command::Pages(_)
        | Command::Showpages(_)
        | Command::List(_)
        | Command::Onsale(_)
        | Command::Door(_)
        | Command::Backup(_)
        | Command::Catchup(_)
        | Command::Chain(_) => orders::LOCK_TTL,
    };
    println!(
        "node: {}  data dir: {}",
        bin.display(),
        data_dir.path().display()
    );
    let mut harness = Harness::new(bin, data_dir.path(), lock_ttl);
    let outcome = match &cli.command {
        Command::Orders(args) => orders::run(args, &mut harness).await,
        Command::Locks(args) => locks::run(args, &mut harness).await,
        Command::Sync(args) => sync::run(args, &mut harness, data_dir.path()).await,
        Command::Search(args) => search::run(args, &mut harness, data_dir.path()).await,
        Command::Pages(args) => pages::run(args, &mut harness).await,
        Command::Showpages(args) => show_pages::run(args, &mut harness).await,
        Command::List(args) => list::run(args, &mut harness).await,
        Command::Onsale(args) => onsale::run(args, &mut harness, data_dir.path()).await,
        Command::Door(args) => door::run(args, &mut harness).await,
        Command::Backup(args) => backup::run(args, &mut harness).await,
        Command::Catchup(args) => catch_up::run(args, &mut harness, data_dir.path()).await,
        Command::Chain(args) => chain::run(args, data_dir.path()).await,
    };
    // Stop the node before its data dir goes away (when `data_dir` drops).
    harness.shutdown().await;
    outcome
}
