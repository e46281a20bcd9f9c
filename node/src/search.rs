//! Full-text ticket search: a tantivy index in the data dir, kept in step with the tickets store by
//! the ticket events, rebuilt from the store when it is missing, damaged, of another schema or of
//! other stores, without holding up the node's start (queries answer "warming up" meanwhile).

mod availability;
mod dates;
mod engine;
mod fingerprints;
mod pool;
mod query;
mod schema;
mod shows;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread;

use tokio::sync::watch;
use tracing::error;

use crate::clock::Clock;
use crate::scheduler::Lateness;
use crate::stores::Stores;
use crate::writer::WriterSignals;

use self::availability::Availability;
use self::engine::{Engine, Indexer};
pub use self::query::{Hit, SearchError, SearchRequest};
use self::schema::Fields;
pub use self::shows::ShowQuery;

/// What the indexer thread shares with the queries.
pub struct Shared {
    engine: RwLock<Option<Arc<Engine>>>,
    ready: AtomicBool,
    indexed_seq: AtomicU64,
    /// From a ticket change's commit to its being searchable.
    lag: Lateness,
    available: Availability,
}

impl Shared {
    fn publish(&self, engine: Engine, seq: u64) {
        *self.engine.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(engine));
        self.indexed_seq.store(seq, Ordering::Release);
        self.ready.store(true, Ordering::Release);
    }

    fn engine(&self) -> Option<Arc<Engine>> {
        self.engine
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn fields(&self) -> Fields {
        self.engine().expect("the index is published").fields
    }

    fn reload(&self) -> tantivy::Result<()> {
        match self.engine() {
            Some(engine) => engine.reader.reload(),
            None => Ok(()),
        }
    }
}

/// The node's search: queries, and the indexer thread behind them.
pub struct Search {
    shared: Arc<Shared>,
    stores: Arc<Stores>,
    indexer: std::sync::Mutex<Option<thread::JoinHandle<()>>>,
    queries: pool::Pool,
}

impl Search {
    /// Starts the indexer thread (which opens or rebuilds the index); returns at once.
    pub fn start(
        data_dir: &Path,
        stores: Arc<Stores>,
        signals: &WriterSignals,
        clock: Arc<dyn Clock>,
        shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<Search> {
        let shared = Arc::new(Shared {
            engine: RwLock::new(None),
            ready: AtomicBool::new(false),
            indexed_seq: AtomicU64::new(0),
            lag: Lateness::default(),
            available: Availability::default(),
        });
        let indexer = Indexer {
            dir: engine::dir_in(data_dir),
            stores: stores.clone(),
            shared: shared.clone(),
            committed: signals.committed.subscribe(),
            shutdown,
            clock,
            runtime: tokio::runtime::Handle::current(),
            indexed: Default::default(),
        };
        let thread = thread::Builder::new()
            .name("tix-search".into())
            .spawn(move || indexer.run())?;
        Ok(Search {
            shared,
            stores,
            indexer: std::sync::Mutex::new(Some(thread)),
            queries: pool::Pool::start()?,
        })
    }

    /// Runs a query on the query threads (see `pool`); answers the hits and how long the query
    /// itself took.
    pub async fn query(
        self: &Arc<Self>,
        request: SearchRequest,
    ) -> Result<(Vec<Hit>, std::time::Duration), SearchError> {
        let search = self.clone();
        self.queries
            .run(move || {
                let started = std::time::Instant::now();
                search
                    .search(&request)
                    .map(|hits| (hits, started.elapsed()))
            })
            .await
            .unwrap_or(Err(SearchError::Stopping))
    }

    /// Runs a query on this thread; `WarmingUp` while the index is being built.
    fn search(&self, request: &SearchRequest) -> Result<Vec<Hit>, SearchError> {
        let engine = match self.shared.engine() {
            Some(engine) if self.shared.ready.load(Ordering::Acquire) => engine,
            _ => return Err(SearchError::WarmingUp),
        };
        query::run(&engine, &self.shared.available, &self.stores, request)
    }

    /// For `/healthz`: whether queries are answered, and how far the index has followed.
    /// The newest event sequence the index reflects.
    pub fn indexed_seq(&self) -> u64 {
        self.shared.indexed_seq.load(Ordering::Acquire)
    }

    pub fn status(&self) -> serde_json::Value {
        let docs = self.shared.engine().map(|e| e.reader.searcher().num_docs());
        let lag = self.shared.lag.summary();
        serde_json::json!({
            "ready": self.shared.ready.load(Ordering::Acquire),
            "indexedSeq": self.shared.indexed_seq.load(Ordering::Acquire),
            "tickets": docs,
            "lag": { "changes": lag.expired, "p50Ms": lag.p50_ms, "p99Ms": lag.p99_ms, "maxMs": lag.max_ms },
        })
    }

    /// Waits for the indexer thread (after shutdown was signalled) and stops the query threads.
    pub fn join(&self) {
        self.queries.stop();
        let thread = self
            .indexer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            error!("search indexer panicked");
        }
    }
}
