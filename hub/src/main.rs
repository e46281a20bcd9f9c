//! `tix-hub`: the chain's hub. Loads its configuration, serves until SIGTERM or Ctrl-C.

use clap::Parser;

use tix_hub::app::App;
use tix_hub::backup;
use tix_hub::config::{Config, Task, VenueAction};
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
            let token = token(&config);
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
        Some(Task::Venue {
            action: VenueAction::Adopt { venue, epoch },
        }) => {
            let token = token(&config);
            let path = format!("/api/hub/venues/{venue}/adopt");
            let body = serde_json::json!({ "epoch": epoch }).to_string();
            let (status, said) =
                tix_process::call(config.listen, "POST", &path, token.as_deref(), Some(body))
                    .await
                    .map_err(|e| anyhow::anyhow!("no hub answered: {e}"))?;
            if status != 200 {
                anyhow::bail!("the hub refused ({status}): {said}");
            }
            println!("{said}");
            return Ok(());
        }
        Some(Task::Restore { from }) => {
            println!("{}", backup::restore_command(from, &config.db)?);
            return Ok(());
        }
        None => {}
    }
    init_logging(&config.log_format);
    // Installed before anything starts: a stop asked for while starting is honoured once serving.
    let stop = shutdown_signal();
    let app = App::build(config).await?;
    app.run_until_stopped(stop).await
}

/// The API token as the hub finds it: given, or in its file beside the database.
fn token(config: &Config) -> Option<String> {
    match &config.api_token {
        Some(token) => Some(token.trim().to_owned()),
        None => std::fs::read_to_string(tix_hub::app::token_path(&config.db))
            .ok()
            .map(|t| t.trim().to_owned()),
    }
}
