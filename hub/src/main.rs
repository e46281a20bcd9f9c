//! `tix-hub`: the chain's hub. Loads its configuration, serves until SIGTERM or Ctrl-C.

use clap::Parser;

use tix_hub::app::App;
use tix_hub::backup;
use tix_hub::config::{Config, Task};
use tix_process::{init_logging, shutdown_signal};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    match &config.task {
        Some(Task::Backup { to }) => {
            println!("{}", backup::backup_command(&config.db, to)?);
            return Ok(());
        }
        Some(Task::Restore { from }) => {
            println!("{}", backup::restore_command(from, &config.db)?);
            return Ok(());
        }
        None => {}
    }
    init_logging(&config.log_format);
    let app = App::build(config).await?;
    app.run_until_stopped(shutdown_signal()).await
}
