//! `tix-node`: one venue's node. Loads its configuration, serves until SIGTERM or Ctrl-C.

use clap::Parser;

use tix_node::app::App;
use tix_node::config::{Config, Task};
use tix_process::{init_logging, shutdown_signal};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    if let Some(Task::Staff { action }) = &config.task {
        println!("{}", tix_node::staff::run(&config.data_dir, action)?);
        return Ok(());
    }
    init_logging(&config.log_format);
    let app = App::build(config).await?;
    app.run_until_stopped(shutdown_signal()).await
}
