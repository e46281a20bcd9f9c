//! A change asked of the writer: the store it writes first, the work to run in that store's
//! transaction, and where its answer goes.
//!
//! A command is built from a closure (`Command::new`), so adding one is writing the closure where
//! the request is made: the writer runs it, keeps its result until the batch is committed and
//! reacted to, then sends it. A store fault inside the closure's result fails the whole batch.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use tix_core::outbox::Unit;
use tix_core::reactions::Service;
use tix_core::time::Millis;
use tix_core::{auth, orders, payments, shows, tickets};

/// What a command's work may read besides its store: the batch's time and the node's settings.
pub struct Context {
    /// The time of the batch; every command of a batch sees the same instant.
    pub now: Millis,
    /// How long an order holds its tickets.
    pub lock_ttl: Duration,
}

/// Where in a batch the storage failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Opening the batch's write transaction; nothing ran.
    Begin,
    /// A command of the batch met a store error; nothing of the batch was committed.
    Run,
    /// Committing the batch's own transaction.
    Commit,
    /// A reaction to the batch's events, after the batch itself committed.
    React,
    /// The stores failed before and still fail to reload; writes are refused.
    Resync,
    /// The batch ran early, behind one whose write failed, and was dropped with it.
    Behind,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Begin => "opening the batch",
            Stage::Run => "running the batch",
            Stage::Commit => "committing the batch",
            Stage::React => "reacting to the batch",
            Stage::Resync => "reloading the stores",
            Stage::Behind => "waiting behind a batch that failed",
        })
    }
}

/// The storage failed under a command's batch; `stage` says how far the batch got.
#[derive(Debug, Clone, thiserror::Error)]
#[error("store write failed while {stage}: {source}")]
pub struct WriteFailed {
    pub stage: Stage,
    source: Arc<redb::Error>,
}

/// What became of a command's changes when its batch failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// Nothing of the batch was committed.
    No,
    /// The commit itself failed: its changes may or may not be durable.
    Unknown,
    /// The batch committed (only the reactions to it failed).
    Yes,
}

impl WriteFailed {
    /// Whether the command's changes were committed, as far as the stage tells.
    pub fn committed(&self) -> Committed {
        match self.stage {
            Stage::Begin | Stage::Run | Stage::Resync | Stage::Behind => Committed::No,
            Stage::Commit => Committed::Unknown,
            Stage::React => Committed::Yes,
        }
    }

    pub(crate) fn new(stage: Stage, source: redb::Error) -> WriteFailed {
        WriteFailed {
            stage,
            source: Arc::new(source),
        }
    }

    /// The failure of a batch that ran early behind this one and is dropped with it.
    pub(crate) fn behind(&self) -> WriteFailed {
        WriteFailed {
            stage: Stage::Behind,
            source: self.source.clone(),
        }
    }
}

/// The channel a command's outcome travels on.
pub type Reply<T, E> = oneshot::Sender<Result<Result<T, E>, WriteFailed>>;

/// A domain error that may carry a storage fault: the fault fails the batch, anything else is the
/// command's own answer.
pub trait StoreFault: Sized {
    /// `Err` with the storage error if this is one, `Ok(self)` for a business outcome.
    fn into_fault(self) -> Result<Self, redb::Error>;
}

impl StoreFault for redb::Error {
    fn into_fault(self) -> Result<Self, redb::Error> {
        Err(self)
    }
}

macro_rules! store_fault {
    ($($module:ident),*) => {$(
        impl StoreFault for $module::Error {
            fn into_fault(self) -> Result<Self, redb::Error> {
                match self {
                    $module::Error::Store(e) => Err(e),
                    other => Ok(other),
                }
            }
        }
    )*};
}

store_fault!(auth, tickets, orders, payments, shows);

/// A change for the writer.
pub struct Command {
    pub(crate) service: Service,
    pub(crate) job: Box<dyn Job>,
}

impl Command {
    /// A command that runs `work` in a transaction on `service`'s store and answers on `reply`.
    pub fn new<T, E, F>(service: Service, reply: Reply<T, E>, work: F) -> Command
    where
        T: Send + 'static,
        E: StoreFault + Send + 'static,
        F: FnOnce(&mut Unit, &Context) -> Result<T, E> + Send + 'static,
    {
        Command {
            service,
            job: Box::new(Work { reply, work }),
        }
    }

    /// Answers a command that never ran because its batch failed first.
    pub(crate) fn fail(self, failure: WriteFailed) {
        self.job.fail(failure);
    }
}

/// The type-erased side of a command, as the writer holds it.
pub(crate) trait Job: Send {
    /// Runs the work in `unit`. Returns the answer to send once the batch is through, and the
    /// storage error that fails the batch, if one happened.
    fn run(
        self: Box<Self>,
        unit: &mut Unit,
        context: &Context,
    ) -> (Box<dyn Ran>, Option<redb::Error>);
    fn fail(self: Box<Self>, failure: WriteFailed);
}

/// A command that ran; its answer waits until its batch is committed and reacted to.
pub(crate) trait Ran: Send {
    fn send(self: Box<Self>);
    fn fail(self: Box<Self>, failure: WriteFailed);
}

struct Work<T, E, F> {
    reply: Reply<T, E>,
    work: F,
}

impl<T, E, F> Job for Work<T, E, F>
where
    T: Send + 'static,
    E: StoreFault + Send + 'static,
    F: FnOnce(&mut Unit, &Context) -> Result<T, E> + Send + 'static,
{
    fn run(
        self: Box<Self>,
        unit: &mut Unit,
        context: &Context,
    ) -> (Box<dyn Ran>, Option<redb::Error>) {
        let Work { reply, work } = *self;
        match work(unit, context) {
            Ok(value) => (
                Box::new(Answer {
                    reply,
                    result: Some(Ok(value)),
                }),
                None,
            ),
            Err(error) => match error.into_fault() {
                Ok(refused) => (
                    Box::new(Answer {
                        reply,
                        result: Some(Err(refused)),
                    }),
                    None,
                ),
                Err(fault) => (
                    Box::new(Answer {
                        reply,
                        result: None,
                    }),
                    Some(fault),
                ),
            },
        }
    }

    fn fail(self: Box<Self>, failure: WriteFailed) {
        // A caller that went away (client disconnected) no longer needs the answer.
        let _ = self.reply.send(Err(failure));
    }
}

/// A ran command's answer; `None` when its own work met the fault that failed the batch.
struct Answer<T, E> {
    reply: Reply<T, E>,
    result: Option<Result<T, E>>,
}

impl<T: Send, E: Send> Ran for Answer<T, E> {
    fn send(self: Box<Self>) {
        if let Some(result) = self.result {
            let _ = self.reply.send(Ok(result));
        }
    }

    fn fail(self: Box<Self>, failure: WriteFailed) {
        let _ = self.reply.send(Err(failure));
    }
}
