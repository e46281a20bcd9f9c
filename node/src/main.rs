//! `tix-node`: one venue's node. Loads its configuration, serves until SIGTERM or Ctrl-C.

use clap::Parser;

use tix_node::app::App;
use tix_node::backup;
use tix_node::config::{Config, Task};
use tix_process::{init_logging, shutdown_signal};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    match &config.task {
        Some(Task::Staff { action }) => {
            println!("{}", tix_node::staff::run(&config.data_dir, action)?);
            return Ok(());
        }
        Some(Task::Backup { to }) => {
            println!("{}", backup::backup_command(&config.data_dir, to).await?);
            return Ok(());
        }
        Some(Task::Health) => {
            return match tix_process::probe(config.listen, "/healthz", None).await {
                Ok(said) => {
                    println!("{said}");
                    Ok(())
                }
                Err(said) => anyhow::bail!("unhealthy: {said}"),
            };
        }
        Some(Task::Restore { from, without_hub }) => {
            let catch_up = !*without_hub;
            println!(
                "{}",
                backup::restore_command(from, &config.data_dir, catch_up)?
            );
            return Ok(());
        }
        None => {}
    }
    init_logging(config.log_format);
    // Installed before anything starts: a stop asked for while starting is honoured once serving.
    let stop = shutdown_signal();
    let app = App::build(config).await?;
    app.run_until_stopped(stop).await
}
