//! Building and running the hub: open the ledger, connect to the broker, serve HTTP, and stop all of
//! them in order.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use rand::RngCore;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use tix_core::secret_file;
use tix_core::time::Millis;

use crate::config::Config;
use crate::db::{Db, DbError, Location};
use crate::http::{self, HubState};
use crate::ingest::{Ingest, IngestStats};
use crate::ledger::Ledger;
use crate::link::{AckBoard, Link, LinkStatus, LinkTo};
use crate::membership::Membership;

/// Messages buffered between the MQTT poller and the ingest thread.
const QUEUE: usize = 16 * 1024;

pub struct App {
    listener: TcpListener,
    state: HubState,
    link: Link,
    ingest: Ingest,
    membership: Membership,
    shutdown_tx: watch::Sender<bool>,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<App> {
        config.check_identity()?;
        if let Location::Sqlite(path) = &config.db
            && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let db = Db::new(config.db.clone());
        let ledger = blocking({
            let db = db.clone();
            move || Ledger::open(&db)
        })
        .await
        .with_context(|| format!("opening the hub database {}", config.db))?;
        let token = match &config.api_token {
            Some(token) if token.trim().len() >= 16 => token.trim().to_owned(),
            Some(_) => anyhow::bail!("--api-token must be at least 16 characters"),
            None => match &config.db {
                Location::Sqlite(path) => load_or_create_token(&token_path(path))?,
                Location::Postgres(_) => {
                    let db = db.clone();
                    blocking(move || shared_token(&db))
                        .await
                        .context("reading or making the API token in the database")?
                }
            },
        };
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        // The instance's name among those sharing the database is its broker client id (which
        // must differ between instances anyway).
        let (ownership, membership) = blocking({
            let (db, me, shutdown) = (db.clone(), config.client_id.clone(), shutdown_rx.clone());
            move || Membership::join(&db, &me, shutdown)
        })
        .await
        .context("joining the hub instances sharing the database")?;
        let (messages_tx, messages_rx) = mpsc::channel(QUEUE);
        let acks = Arc::new(AckBoard::new(ownership.clone()));
        let ingest_stats = Arc::new(IngestStats::default());
        let ingest = Ingest::start(
            ledger,
            messages_rx,
            acks.clone(),
            ingest_stats.clone(),
            || Millis::from_system_time(std::time::SystemTime::now()),
        )?;
        let link_status = Arc::new(LinkStatus::default());
        info!(broker = %config.mqtt_url, client_id = %config.client_id, "connecting to the broker");
        let link = Link::start(
            &config.mqtt_url,
            &config.client_id,
            config.events_qos,
            LinkTo {
                events: messages_tx.clone(),
                db: db.clone(),
                acks,
                ownership: ownership.clone(),
            },
            link_status.clone(),
            shutdown_rx,
        );
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        Ok(App {
            listener,
            state: HubState {
                db,
                token: Arc::new(token),
                link: link_status,
                ingest: ingest_stats,
                ownership,
                work: messages_tx,
            },
            link,
            ingest,
            membership,
            shutdown_tx,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops HTTP, the MQTT link and the ingest thread
    /// (which finishes the batch it holds).
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let App {
            listener,
            state,
            link,
            ingest,
            membership,
            shutdown_tx,
        } = self;
        info!(addr = %listener.local_addr()?, "serving");
        axum::serve(listener, http::router(state))
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving HTTP")?;
        info!("HTTP stopped; stopping the MQTT link and ingest");
        let _ = shutdown_tx.send(true);
        link.stop().await;
        // The poller owned the last sender (the API's went with the router), so the ingest thread
        // ends after what it holds.
        tokio::task::spawn_blocking(move || ingest.join()).await?;
        // Last: the instance's venues move to the others once it has stored what it held.
        tokio::task::spawn_blocking(move || membership.wait()).await?;
        info!("stopped");
        Ok(())
    }
}

/// Runs blocking database work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, DbError> + Send + 'static,
) -> anyhow::Result<T> {
    Ok(tokio::task::spawn_blocking(work).await??)
}

/// The API token file of a SQLite hub: beside the database, named after it.
pub fn token_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".api-token");
    db.with_file_name(name)
}

fn load_or_create_token(path: &Path) -> anyhow::Result<String> {
    let secret = secret_file::load_or_create(path, || {
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        hex::encode(bytes)
    })
    .with_context(|| format!("reading or creating {}", path.display()))?;
    if secret.tightened {
        warn!(path = %path.display(), "API token file was readable by others; tightened to 0600");
    }
    if secret.created {
        // Printed once, at creation, for the operator to copy; afterwards it is only in the file.
        println!(
            "tix-hub: generated the API token (kept in {}): {}",
            path.display(),
            secret.value
        );
    }
    Ok(secret.value)
}

/// The API token of hubs sharing a PostgreSQL database: made by the first that needs it, and the
/// same for all of them (an operator's client may reach any).
pub fn shared_token(db: &Db) -> Result<String, DbError> {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let made = hex::encode(bytes);
    db.read(|sql| {
        let created = sql.execute(
            "INSERT INTO hub_secrets (name, value) VALUES ('api-token', ?1)
             ON CONFLICT DO NOTHING",
            &[&made],
        )? == 1;
        let token: String = sql.query_one(
            "SELECT value FROM hub_secrets WHERE name = 'api-token'",
            &[],
            |row| row.get(0),
        )?;
        if created {
            // Printed once, at creation, for the operator to copy; afterwards it is only in the
            // database.
            println!("tix-hub: generated the API token (kept in the database): {token}");
        }
        Ok(token)
    })
}
