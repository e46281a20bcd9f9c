//! Building and running a node: open the stores, recover, start the writer and the scheduler, serve
//! HTTP, and stop all of them in order.

use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use axum::Router;
use axum::http::header::ACCEPT;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use rand::RngCore;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;
use tracing::{info, warn};

use tix_core::secret_file;
use tix_sync::protocol::Epoch;

use crate::admission::Admission;
use crate::attempts::Attempts;
use crate::catch_up;
use crate::checkout::{Checkout, reconcile};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, EdgeLimits};
use crate::gateway::{Gateway, StripeGateway, TestGateway};
use crate::http;
use crate::ids::IdGen;
use crate::live;
use crate::mail::Mailer;
use crate::metrics::{self, Metrics};
use crate::password::Passwords;
use crate::relay;
use crate::reset_code::ResetCodes;
use crate::scheduler::{self, Lateness};
use crate::search::Search;
use crate::serve;
use crate::session::Sessions;
use crate::state::{AppState, Storefront};
use crate::stores::Stores;
use crate::web;
use crate::writer::{Writer, WriterSignals};

pub struct App {
    listener: TcpListener,
    edge_limits: EdgeLimits,
    state: AppState,
    writer: Writer,
    scheduler: JoinHandle<()>,
    reconciler: JoinHandle<()>,
    deliveries: JoinHandle<()>,
    control: JoinHandle<()>,
    relay: Option<JoinHandle<()>>,
    live: JoinHandle<()>,
    search: Option<Arc<Search>>,
    closing_tx: watch::Sender<bool>,
    shutdown_tx: watch::Sender<bool>,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<App> {
        config.check_secrets()?;
        let relay_config = config.relay()?;
        let edge_limits = config.edge_limits();
        fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let started = std::time::Instant::now();
        let stores = Arc::new(Stores::open(
            &config.data_dir,
            config.store_cache_mb << 20,
            rand::rng().next_u64(),
        )?);
        let signals = Arc::new(WriterSignals::new());
        let (writer, writer_handle) = Writer::start(
            stores.clone(),
            clock.clone(),
            config.lock_ttl,
            signals.clone(),
        )?;
        info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "stores open and recovered"
        );
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        if catch_up::pending(&config.data_dir)? {
            let Some(relay_config) = &relay_config else {
                bail!(
                    "{} was restored from a backup and must fetch the events after it from the hub first: start it with --mqtt-url and --venue-id of the chain's broker (or, with no hub to ask, delete {} to serve without them)",
                    config.data_dir.display(),
                    config.data_dir.join(catch_up::MARKER).display()
                );
            };
            let stop = shutdown_on_signal(shutdown_tx.clone());
            let caught_up = catch_up::run(
                relay_config,
                Epoch(stores.epoch),
                &writer_handle,
                shutdown_rx.clone(),
            )
            .await;
            stop.abort();
            if let Err(e) = caught_up {
                drop(writer_handle);
                tokio::task::spawn_blocking(move || writer.join()).await?;
                return Err(e);
            }
        }

        let secret = match &config.jwt_secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => load_or_create_secret(&config.data_dir.join("jwt-secret"))?,
        };
        let gateway = match &config.stripe_secret_key {
            Some(key) => {
                Gateway::Stripe(StripeGateway::new(key, config.stripe_api_base.as_deref())?)
            }
            None => {
                warn!(
                    "no STRIPE_SECRET_KEY: payments run in TEST MODE (tok_visa pays, tok_chargeDeclined is declined, no money moves)"
                );
                Gateway::Test(TestGateway::default())
            }
        };
        if gateway.mode() != "test" && config.stripe_publishable_key.is_none() {
            warn!(
                "no STRIPE_PUBLISHABLE_KEY: the storefront cannot show Stripe's card form; the JSON API still takes payments"
            );
        }
        let mut process = [0u8; 5];
        rand::rng().fill_bytes(&mut process);
        let (closing_tx, closing_rx) = watch::channel(false);
        let (live, live_task) =
            live::start(stores.clone(), &signals, closing_rx, shutdown_rx.clone())?;
        let sessions = Sessions::new(&secret, config.session_ttl);
        for ended in stores.auth.ended_sessions(clock.now().0 / 1000)? {
            sessions.end(ended, clock.now());
        }
        let gateway = Arc::new(gateway);
        let ids = Arc::new(IdGen::new(process, rand::rng().next_u32()));
        let checkout = Arc::new(Checkout::new(
            stores.clone(),
            writer_handle.clone(),
            gateway.clone(),
            ids.clone(),
            clock.clone(),
            config.currency.clone(),
        ));
        let reconciler = reconcile::start(
            checkout.clone(),
            config.reconcile_every,
            shutdown_rx.clone(),
        );
        let lateness = Arc::new(Lateness::default());
        let metrics =
            Arc::new(Metrics::new(&signals.stats, &lateness).context("registering the metrics")?);
        let mut state = AppState {
            stores: stores.clone(),
            writer: writer_handle,
            signals: signals.clone(),
            sessions: Arc::new(sessions),
            passwords: Arc::new(Passwords::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
                config.password_queue as usize,
            )?),
            attempts: Arc::new(Attempts::new(
                config.sign_in_attempts_per_address,
                config.sign_in_attempts_per_account,
            )),
            ids,
            clock: clock.clone(),
            gateway,
            checkout,
            lateness: lateness.clone(),
            currency: config.currency.clone(),
            sync: None,
            search: None,
            live,
            live_streams: Admission::new(
                edge_limits.max_live_streams,
                edge_limits.max_live_streams_per_address,
            ),
            storefront: Arc::new(Storefront {
                kiosk: config.kiosk,
                kiosk_idle: config.kiosk_idle,
                lock_ttl: config.lock_ttl,
                stripe_publishable_key: config.stripe_publishable_key.clone(),
            }),
            pass_key: Arc::new(crate::pass_key::load_or_create(
                &config.data_dir.join("pass-key"),
            )?),
            first_user_is_staff: config.first_user_is_staff,
            max_open_orders: config.max_open_orders,
            mailer: match &config.smtp_url {
                Some(url) => Some(Arc::new(Mailer::new(url, &config.mail_from)?)),
                None => None,
            },
            reset_codes: Arc::new(ResetCodes::new(&secret)),
            metrics,
        };
        announce_pass_key(&state).await?;
        if config.search {
            let search = Search::start(
                &config.data_dir,
                stores.clone(),
                &signals,
                clock.clone(),
                shutdown_rx.clone(),
            )?;
            state.search = Some(Arc::new(search));
        }
        let relay = match relay_config {
            Some(relay_config) => {
                let (status, task) = relay::start(
                    relay_config,
                    stores.clone(),
                    signals.clone(),
                    state.writer.clone(),
                    shutdown_rx.clone(),
                );
                state.sync = Some(status);
                Some(task)
            }
            None => {
                info!("no --mqtt-url: sync to a hub is off");
                None
            }
        };
        let scheduler = tokio::spawn(scheduler::run(
            stores,
            state.writer.clone(),
            signals,
            clock,
            state.lateness.clone(),
            shutdown_rx,
        ));
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let search = state.search.clone();
        let deliveries = crate::deliveries::start(state.clone(), shutdown_tx.subscribe());
        let control = crate::backup::control::start(
            config.data_dir.clone(),
            state.writer.clone(),
            state.clock.clone(),
            shutdown_tx.subscribe(),
        )?;
        Ok(App {
            listener,
            edge_limits,
            state,
            writer,
            scheduler,
            reconciler,
            deliveries,
            control,
            relay,
            live: live_task,
            search,
            closing_tx,
            shutdown_tx,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests (for at most the
    /// configured grace), stops the scheduler, lets the writer drain its queue, and closes the
    /// stores.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let App {
            listener,
            edge_limits,
            state,
            writer,
            scheduler,
            reconciler,
            deliveries,
            control,
            relay,
            live,
            search,
            closing_tx,
            shutdown_tx,
        } = self;
        info!(addr = %listener.local_addr()?, payments = state.gateway.mode(), "serving");
        let router = router(state, &edge_limits);
        // Live-update streams never end by themselves: they are told to when the stop begins, so
        // that the graceful stop only waits for ordinary requests.
        let shutdown = async move {
            shutdown.await;
            let _ = closing_tx.send(true);
        };
        serve::serve(listener, router, &edge_limits, shutdown).await;
        info!("HTTP stopped; stopping the scheduler and the writer");
        let _ = shutdown_tx.send(true);
        if let Err(e) = scheduler.await {
            warn!(error = %e, "scheduler task ended abnormally");
        }
        if let Err(e) = deliveries.await {
            warn!(error = %e, "the passes' email sender ended abnormally");
        }
        if let Err(e) = control.await {
            warn!(error = %e, "the control socket ended abnormally");
        }
        if let Err(e) = reconciler.await {
            warn!(error = %e, "payments reconciler ended abnormally");
        }
        if let Some(Err(e)) = match relay {
            Some(task) => Some(task.await),
            None => None,
        } {
            warn!(error = %e, "sync relay ended abnormally");
        }
        if let Err(e) = live.await {
            warn!(error = %e, "live updates task ended abnormally");
        }
        if let Some(search) = search {
            tokio::task::spawn_blocking(move || search.join()).await?;
        }
        // Every writer handle is gone now (router and scheduler dropped), so the writer ends.
        tokio::task::spawn_blocking(move || writer.join()).await?;
        info!("stopped");
        Ok(())
    }
}

/// The node's routes: the JSON API and the storefront side by side. Unknown routes and known API
/// paths with the wrong method are 404 in the contract's error shape, as the seed's catch-all does,
/// except that a browser asking for HTML outside `/api` gets the storefront's 404 page. A handler
/// that panics is a logged 500 in the error shape, not a reset connection.
fn router(state: AppState, limits: &EdgeLimits) -> Router {
    Router::new()
        .merge(http::routes())
        .merge(web::routes(&state))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .layer(RequestBodyTimeoutLayer::new(limits.body_read_timeout))
        // Pages, JSON and assets go out gzip- or brotli-compressed when the client accepts it
        // (a 20,000-seat map is megabytes raw); the live feed and tiny bodies are left as they are.
        .layer(CompressionLayer::new())
        .layer(http::catch_panics())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found(uri: Uri, headers: HeaderMap) -> Response {
    let api = uri.path() == "/api" || uri.path().starts_with("/api/");
    let wants_html = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|accept| accept.contains("text/html"));
    if api || !wants_html {
        http::not_found()
    } else {
        web::not_found()
    }
}

/// Records the pass key in the door store; a key new to it goes to the hub as `pass:key`.
async fn announce_pass_key(state: &AppState) -> anyhow::Result<()> {
    let verifier = state.pass_key.verifier();
    let (id, public) = (verifier.id().to_string(), verifier.public_hex());
    let new = state
        .writer
        .run(tix_core::reactions::Service::Door, move |unit, _| {
            tix_core::door::DoorStore::note_key(unit, &id, &public)
        })
        .await
        .map_err(|e| anyhow::anyhow!("recording the pass key: {e:?}"))?
        .context("recording the pass key")?;
    if new {
        info!(key_id = %verifier.id(), "announced the pass key");
    }
    Ok(())
}

/// The session-signing secret kept in the data dir, created on first start with mode 0600.
fn load_or_create_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    let secret = secret_file::load_or_create(path, || {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        hex::encode(bytes)
    })
    .with_context(|| format!("reading or creating {}", path.display()))?;
    if secret.tightened {
        warn!(path = %path.display(), "secret file was readable by others; tightened to 0600");
    }
    if secret.created {
        info!(path = %path.display(), "generated a session secret");
    }
    Ok(secret.value.into_bytes())
}

/// Turns SIGTERM (or Ctrl-C) into `shutdown` while the node is not serving yet (a catch-up from
/// the hub may wait long for it).
fn shutdown_on_signal(shutdown: watch::Sender<bool>) -> JoinHandle<()> {
    let stop = tix_process::shutdown_signal();
    tokio::spawn(async move {
        stop.await;
        let _ = shutdown.send(true);
    })
}
