//! The node's single writer: every change of state goes through it, in batches, in one thread.
//!
//! This file is the plumbing: the queue, the batching of queued commands aimed at the same store, and
//! the handle requests use. `command` is what a change is (a closure on one store's transaction and
//! its answer); `batch` runs a batch in one write transaction, commits once (one fsync for many
//! requests: group commit), then lets the other services react to the batch's events, each in one
//! transaction of its own, until no new events appear. Only then are the callers answered, so a
//! client that got its 201 reads its own write everywhere, and the next batch starts from stores
//! that agree with each other.

mod batch;
mod command;
mod stats;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::thread;

use tokio::sync::{Notify, mpsc, oneshot, watch};
use tracing::{error, info};

use tix_core::events::StoredEvent;
use tix_core::outbox::Unit;
use tix_core::reactions::Service;

use self::batch::State;
pub use self::command::{Command, Committed, Context, Reply, Stage, StoreFault, WriteFailed};
pub use self::stats::WriterStats;
use crate::clock::Clock;
use crate::stores::Stores;

/// Most commands one batch takes; bounds the latency a batch adds.
const MAX_BATCH: usize = 1024;
/// Most expiry jobs one batch fires.
pub const EXPIRE_BATCH: usize = 4096;

/// What the writer's queue carries.
enum Request {
    /// A change of one store, batched with the changes of the same store queued behind it.
    Change(Command),
    /// Deletes outbox events the hub has stored (`seq <= acked`), but never one that a reaction
    /// may still need to replay after a crash. Answers how far the outboxes are now pruned.
    Prune {
        acked: u64,
        reply: oneshot::Sender<Result<u64, WriteFailed>>,
    },
    /// Where a catch-up from the hub resumes (`fresh`: a new one, from the node's last sequence).
    CatchUpPosition {
        fresh: bool,
        reply: oneshot::Sender<Result<u64, WriteFailed>>,
    },
    /// Puts back a page of events the hub sent (see `tix_core::recovery`); answers its last
    /// sequence.
    CatchUp {
        events: Vec<StoredEvent>,
        reply: oneshot::Sender<Result<u64, WriteFailed>>,
    },
    /// Opens a read transaction on every store between two batches (see `Snapshot`).
    Snapshot {
        reply: oneshot::Sender<Result<Snapshot, WriteFailed>>,
    },
}

/// Every store as it stood between two batches: one state the seven agree on, which a backup
/// copies while the writer goes on (redb keeps a read transaction's pages until it ends).
pub struct Snapshot {
    pub epoch: u64,
    /// Each store's file name (without `.redb`) and its read transaction.
    pub stores: Vec<(&'static str, redb::ReadTransaction)>,
}

impl Snapshot {
    /// Read transactions on `stores` as they are now; consistent only when nothing writes them
    /// (the writer takes its own between batches).
    pub fn of(stores: &Stores) -> Result<Snapshot, redb::Error> {
        let mut reads = Vec::new();
        use redb::ReadableDatabase;
        for (name, db) in stores.named_databases() {
            reads.push((name, db.begin_read()?));
        }
        Ok(Snapshot {
            epoch: stores.epoch,
            stores: reads,
        })
    }
}

/// The sending side of the writer, cloned into every request handler.
#[derive(Clone)]
pub struct WriterHandle {
    requests_tx: mpsc::Sender<Request>,
}

/// Why a request to the writer got no domain answer.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Failed(#[from] WriteFailed),
    #[error("the node is shutting down")]
    ShuttingDown,
}

impl WriteError {
    /// Whether the command's changes were committed: unknown when the writer went away with it.
    pub fn committed(&self) -> Committed {
        match self {
            WriteError::Failed(failed) => failed.committed(),
            WriteError::ShuttingDown => Committed::Unknown,
        }
    }
}

impl WriterHandle {
    /// Runs `work` in a write transaction on `service`'s store, batched with other changes of that
    /// store, and answers once the batch is committed and every reaction to it is done.
    pub async fn run<T, E, F>(&self, service: Service, work: F) -> Result<Result<T, E>, WriteError>
    where
        T: Send + 'static,
        E: StoreFault + Send + 'static,
        F: FnOnce(&mut Unit, &Context) -> Result<T, E> + Send + 'static,
    {
        let (reply_tx, reply_rx) = oneshot::channel();
        self.send(Request::Change(Command::new(service, reply_tx, work)))
            .await?;
        match reply_rx.await {
            Ok(outcome) => Ok(outcome?),
            Err(_) => Err(WriteError::ShuttingDown),
        }
    }

    /// Prunes the outboxes up to `acked` (see `Request::Prune`); answers how far they are pruned.
    pub async fn prune(&self, acked: u64) -> Result<u64, WriteError> {
        let (reply, reply_rx) = oneshot::channel();
        self.send(Request::Prune { acked, reply }).await?;
        match reply_rx.await {
            Ok(outcome) => Ok(outcome?),
            Err(_) => Err(WriteError::ShuttingDown),
        }
    }

    /// A snapshot of every store, taken between two batches; the writer pauses only for the
    /// seven read transactions to begin.
    pub async fn snapshot(&self) -> Result<Snapshot, WriteError> {
        let (reply, reply_rx) = oneshot::channel();
        self.send(Request::Snapshot { reply }).await?;
        match reply_rx.await {
            Ok(outcome) => Ok(outcome?),
            Err(_) => Err(WriteError::ShuttingDown),
        }
    }

    /// Where a catch-up from the hub resumes; with `fresh`, a new one starts from the node's
    /// last sequence.
    pub async fn catch_up_position(&self, fresh: bool) -> Result<u64, WriteError> {
        let (reply, reply_rx) = oneshot::channel();
        self.send(Request::CatchUpPosition { fresh, reply }).await?;
        match reply_rx.await {
            Ok(outcome) => Ok(outcome?),
            Err(_) => Err(WriteError::ShuttingDown),
        }
    }

    /// Puts back a page of events the hub sent, contiguous and in order; answers the page's
    /// last sequence once every store committed it.
    pub async fn catch_up(&self, events: Vec<StoredEvent>) -> Result<u64, WriteError> {
        let (reply, reply_rx) = oneshot::channel();
        self.send(Request::CatchUp { events, reply }).await?;
        match reply_rx.await {
            Ok(outcome) => Ok(outcome?),
            Err(_) => Err(WriteError::ShuttingDown),
        }
    }

    async fn send(&self, request: Request) -> Result<(), WriteError> {
        self.requests_tx
            .send(request)
            .await
            .map_err(|_| WriteError::ShuttingDown)
    }
}

/// What the writer shares with the rest of the node.
pub struct WriterSignals {
    /// The node's highest committed event sequence.
    pub last_seq: AtomicU64,
    /// Woken when the expiration store gained a job due before `expiry_wake`.
    pub expiry_changed: Notify,
    /// When the expiry scheduler will wake next (ms since the epoch; `u64::MAX` while it is reading
    /// the next deadline): a new job due later needs no wake-up.
    pub expiry_wake: AtomicU64,
    /// The last sequence, announced after every commit that wrote events (the sync relay and the
    /// search indexer follow it).
    pub committed: watch::Sender<u64>,
    /// What the writer measures, for `/metrics`.
    pub stats: WriterStats,
}

impl WriterSignals {
    pub fn new() -> WriterSignals {
        WriterSignals {
            last_seq: AtomicU64::new(0),
            expiry_changed: Notify::new(),
            expiry_wake: AtomicU64::new(u64::MAX),
            committed: watch::Sender::new(0),
            stats: WriterStats::new(),
        }
    }
}

impl Default for WriterSignals {
    fn default() -> Self {
        WriterSignals::new()
    }
}

/// The writer thread; dropping every `WriterHandle` ends it after the queued commands are done.
pub struct Writer {
    thread: thread::JoinHandle<()>,
}

impl Writer {
    /// Replays unfinished reactions, then starts the writer thread.
    pub fn start(
        stores: Arc<Stores>,
        clock: Arc<dyn Clock>,
        lock_ttl: std::time::Duration,
        signals: Arc<WriterSignals>,
    ) -> anyhow::Result<(Writer, WriterHandle)> {
        let mut state = State::recover(stores, clock, lock_ttl, signals)?;
        let (requests_tx, requests_rx) = mpsc::channel::<Request>(4 * MAX_BATCH);
        let thread = thread::Builder::new()
            .name("tix-writer".into())
            .spawn(move || {
                serve(&mut state, requests_rx);
                match state.checkpoint() {
                    Ok(()) => info!("writer stopped; stores checkpointed"),
                    Err(e) => error!(error = %e, "final checkpoint failed; the next start replays reactions"),
                }
            })?;
        Ok((Writer { thread }, WriterHandle { requests_tx }))
    }

    /// Waits for the writer to finish; call after every handle is dropped.
    pub fn join(self) {
        if self.thread.join().is_err() {
            error!("writer thread panicked");
        }
    }
}

/// Takes requests until every handle is gone: each change with the changes of the same store
/// queued right behind it (up to `MAX_BATCH`), as one batch. A batch the writer ran ahead (see
/// `Upcoming`) goes first.
fn serve(state: &mut State, requests_rx: mpsc::Receiver<Request>) {
    let mut queue = Queue {
        requests_rx,
        carried: None,
    };
    loop {
        if let Some(ahead) = state.take_ahead() {
            state.complete(ahead, &mut queue);
            continue;
        }
        let Some(first) = queue
            .carried
            .take()
            .or_else(|| queue.requests_rx.blocking_recv())
        else {
            break;
        };
        let first = match first {
            Request::Change(command) => command,
            Request::Prune { acked, reply } => {
                let _ = reply.send(state.prune(acked));
                continue;
            }
            Request::Snapshot { reply } => {
                let _ = reply.send(state.snapshot());
                continue;
            }
            Request::CatchUpPosition { fresh, reply } => {
                let _ = reply.send(state.catch_up_position(fresh));
                continue;
            }
            Request::CatchUp { events, reply } => {
                let _ = reply.send(state.catch_up(events));
                continue;
            }
        };
        let service = first.service;
        let batch = queue.gather(first);
        state.run_batch(service, batch, &mut queue);
    }
}

/// What is queued behind the batch being written, as the writer may take it early: while the last
/// round of a batch's reactions commits, the next batch can run its commands on a store that
/// round does not write (its fsyncs and the commands' work then overlap).
pub(crate) trait Upcoming {
    /// The next batch, if it is a change of a store not in `busy` and is already queued; never
    /// waits, and never passes a request that is not a change.
    fn next_batch(&mut self, busy: &[Service]) -> Option<(Service, Vec<Command>)>;

    /// The changes of `service` queued right behind a batch taken early, up to `room` of them, so
    /// that it commits as many as it would have taken had it waited; none when another request
    /// is next (it keeps its place).
    fn more(&mut self, service: Service, room: usize) -> Vec<Command>;
}

/// Nothing is taken early (a replay or a catch-up has no queue behind it).
pub(crate) struct NoneUpcoming;

impl Upcoming for NoneUpcoming {
    fn next_batch(&mut self, _busy: &[Service]) -> Option<(Service, Vec<Command>)> {
        None
    }

    fn more(&mut self, _service: Service, _room: usize) -> Vec<Command> {
        Vec::new()
    }
}

/// The writer's queue, with the request that ended the last batch's gathering.
struct Queue {
    requests_rx: mpsc::Receiver<Request>,
    carried: Option<Request>,
}

impl Queue {
    /// `first` and the changes of the same store queued right behind it, up to `MAX_BATCH`.
    fn gather(&mut self, first: Command) -> Vec<Command> {
        let service = first.service;
        let mut batch = vec![first];
        self.gather_into(service, &mut batch, MAX_BATCH);
        batch
    }

    /// Adds to `batch` the changes of `service` queued next, until it holds `up_to`.
    fn gather_into(&mut self, service: Service, batch: &mut Vec<Command>, up_to: usize) {
        while batch.len() < up_to {
            match self.requests_rx.try_recv() {
                Ok(Request::Change(next)) if next.service == service => batch.push(next),
                Ok(other) => {
                    self.carried = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
    }
}

impl Upcoming for Queue {
    fn next_batch(&mut self, busy: &[Service]) -> Option<(Service, Vec<Command>)> {
        let first = match self.carried.take() {
            Some(carried) => carried,
            None => self.requests_rx.try_recv().ok()?,
        };
        match first {
            Request::Change(command) if !busy.contains(&command.service) => {
                Some((command.service, self.gather(command)))
            }
            other => {
                self.carried = Some(other);
                None
            }
        }
    }

    fn more(&mut self, service: Service, room: usize) -> Vec<Command> {
        let mut more = Vec::new();
        if self.carried.is_none() {
            self.gather_into(service, &mut more, room);
        }
        more
    }
}
