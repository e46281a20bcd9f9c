//! `tix-node`: one venue's node. Loads its configuration, serves until SIGTERM or Ctrl-C.

use clap::Parser;
use tracing_subscriber::EnvFilter;

use tix_node::app::App;
use tix_node::config::{Config, Task};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    if let Some(Task::Staff { action }) = &config.task {
        println!("{}", tix_node::staff::run(&config.data_dir, action)?);
        return Ok(());
    }
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn"));
    if config.log_format == "json" {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .json()
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let app = App::build(config).await?;
    app.run_until_stopped(shutdown_signal()).await
}

async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutdown requested");
}
