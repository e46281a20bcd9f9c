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
        Some(Task::Health) => {
            let token = match &config.api_token {
                Some(token) => Some(token.trim().to_owned()),
                None => std::fs::read_to_string(tix_hub::app::token_path(&config.db))
                    .ok()
                    .map(|t| t.trim().to_owned()),
            };
            let checked =
                tix_process::probe(config.listen, "/api/hub/health", token.as_deref()).await;
            return match checked {
                Ok(said) => {
                    println!("{said}");
                    Ok(())
                }
                Err(said) => anyhow::bail!("unhealthy: {said}"),
            };
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
