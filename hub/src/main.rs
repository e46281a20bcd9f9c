//! `tix-hub`: the chain's hub. Loads its configuration, serves until SIGTERM or Ctrl-C.

use clap::Parser;

use tix_hub::app::App;
use tix_hub::backup;
use tix_hub::config::{Config, Task, VenueAction};
use tix_hub::db::{Db, Location};
use tix_hub::migrate;
use tix_process::{init_logging, shutdown_signal};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    match &config.task {
        Some(Task::Backup { to }) => {
            println!("{}", backup::backup_command(sqlite_only(&config.db)?, to)?);
            return Ok(());
        }
        Some(Task::Migrate { from }) => {
            let (from, to) = (from.clone(), config.db.clone());
            let said =
                tokio::task::spawn_blocking(move || migrate::migrate_command(&from, &to)).await??;
            println!("{said}");
            return Ok(());
        }
        Some(Task::Health) => {
            let token = token(&config).await;
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
            let token = token(&config).await;
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
            println!(
                "{}",
                backup::restore_command(from, sqlite_only(&config.db)?)?
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

/// The API token as the hub finds it: given, in its file beside a SQLite database, or in a
/// PostgreSQL database.
async fn token(config: &Config) -> Option<String> {
    match (&config.api_token, &config.db) {
        (Some(token), _) => Some(token.trim().to_owned()),
        (None, Location::Sqlite(path)) => std::fs::read_to_string(tix_hub::app::token_path(path))
            .ok()
            .map(|t| t.trim().to_owned()),
        (None, location) => {
            let db = Db::new(location.clone());
            tokio::task::spawn_blocking(move || tix_hub::app::shared_token(&db).ok())
                .await
                .ok()
                .flatten()
        }
    }
}

/// The SQLite file --db names; backups of a PostgreSQL hub are PostgreSQL's own.
fn sqlite_only(db: &Location) -> anyhow::Result<&std::path::Path> {
    match db {
        Location::Sqlite(path) => Ok(path),
        Location::Postgres(_) => anyhow::bail!(
            "backup and restore are for a SQLite hub; back up a PostgreSQL hub's database with \
             PostgreSQL's own tools (pg_dump, pg_basebackup)"
        ),
    }
}
