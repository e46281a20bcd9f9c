//! The node's single writer: every change of state goes through it, in batches, in one thread.
//!
//! A batch takes the queued commands that target the same store, runs them in one write transaction,
//! commits once (one fsync for many requests: group commit), then lets the other services react to
//! the batch's events, each in one transaction of its own, until no new events appear. Only then are
//! the callers answered, so a client that got its 201 reads its own write everywhere, and the next
//! batch starts from stores that agree with each other.
//!
//! Architecture invariant: commits happen one after another, and each commit's events take the next
//! contiguous sequence numbers, so the union of the outboxes is gap-free. After a crash the reactions
//! that did not happen yet are replayed from the outboxes (`recover`); every reaction is idempotent and
//! each store records how far it has applied.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use tokio::sync::{Notify, mpsc, oneshot, watch};
use tracing::{error, info};

use tix_core::auth::{self, AuthStore, User};
use tix_core::events::StoredEvent;
use tix_core::expiration::{ExpirationStore, Fired};
use tix_core::ids::{OrderId, PaymentId, TicketId, UserId};
use tix_core::orders::{self, Order, OrdersStore};
use tix_core::outbox::{self, Unit};
use tix_core::payments::{self, Payment, PaymentsStore};
use tix_core::tickets::{self, Ticket, TicketDraft, TicketsStore};
use tix_core::time::Millis;

use crate::clock::Clock;
use crate::stores::Stores;

/// Most commands one batch takes; bounds the latency a batch adds.
const MAX_BATCH: usize = 1024;
/// How far a consumer's recorded position may fall behind before it is written anyway.
const MAX_POSITION_LAG: u64 = 4096;
/// Most outbox events one prune deletes from each store.
const PRUNE_BATCH: usize = 16 * 1024;
/// Most expiry jobs one batch fires.
pub const EXPIRE_BATCH: usize = 4096;

/// The store a command writes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Auth,
    Tickets,
    Orders,
    Payments,
    Expiration,
    /// Housekeeping across every store (outbox pruning); emits no events.
    Maintenance,
}

/// The services that react to others' events, in the order they react.
const CONSUMERS: [Service; 4] = [
    Service::Tickets,
    Service::Orders,
    Service::Payments,
    Service::Expiration,
];

/// The write failed as a whole (storage error); nothing of it was committed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("store write failed: {0}")]
pub struct WriteFailed(pub String);

type Reply<T, E> = oneshot::Sender<Result<Result<T, E>, WriteFailed>>;

/// A change requested of the writer, with where to send its outcome.
pub enum Command {
    SignUp {
        user: User,
        /// A standalone box office: the first account becomes staff.
        first_is_staff: bool,
        reply: Reply<User, auth::Error>,
    },
    CreateTicket {
        id: TicketId,
        seller: UserId,
        draft: TicketDraft,
        reply: Reply<Ticket, tickets::Error>,
    },
    UpdateTicket {
        id: TicketId,
        editor: UserId,
        draft: TicketDraft,
        reply: Reply<Ticket, tickets::Error>,
    },
    PlaceOrder {
        id: OrderId,
        buyer: UserId,
        ticket: TicketId,
        reply: Reply<Order, orders::Error>,
    },
    CancelOrder {
        id: OrderId,
        requester: UserId,
        reply: Reply<Order, orders::Error>,
    },
    RecordPayment {
        id: PaymentId,
        order: OrderId,
        payer: UserId,
        charge_id: String,
        reply: Reply<Payment, payments::Error>,
    },
    /// Cash taken by staff at the box office.
    RecordCashPayment {
        id: PaymentId,
        order: OrderId,
        reply: Reply<Payment, payments::Error>,
    },
    /// A paid order's money given back by staff (the gateway already refunded a card).
    RecordRefund {
        order: OrderId,
        by: UserId,
        reply: Reply<Payment, payments::Error>,
    },
    ExpireDue {
        reply: Reply<Vec<Fired>, redb::Error>,
    },
    /// Deletes outbox events the hub has stored (`seq <= acked`), but never one that a reaction
    /// may still need to replay after a crash. Answers how far the outboxes are now pruned.
    PruneOutbox {
        acked: u64,
        reply: Reply<u64, redb::Error>,
    },
}

impl Command {
    fn service(&self) -> Service {
        match self {
            Command::SignUp { .. } => Service::Auth,
            Command::CreateTicket { .. } | Command::UpdateTicket { .. } => Service::Tickets,
            Command::PlaceOrder { .. } | Command::CancelOrder { .. } => Service::Orders,
            Command::RecordPayment { .. }
            | Command::RecordCashPayment { .. }
            | Command::RecordRefund { .. } => Service::Payments,
            Command::ExpireDue { .. } => Service::Expiration,
            Command::PruneOutbox { .. } => Service::Maintenance,
        }
    }
}

/// A command that ran; its reply waits until its batch is committed and reacted to.
enum Done {
    User(Reply<User, auth::Error>, Result<User, auth::Error>),
    Ticket(
        Reply<Ticket, tickets::Error>,
        Result<Ticket, tickets::Error>,
    ),
    Order(Reply<Order, orders::Error>, Result<Order, orders::Error>),
    Payment(
        Reply<Payment, payments::Error>,
        Result<Payment, payments::Error>,
    ),
    Expired(Reply<Vec<Fired>, redb::Error>, Vec<Fired>),
}

impl Done {
    fn send(self) {
        // A caller that went away (client disconnected) no longer needs the answer.
        match self {
            Done::User(reply, result) => {
                let _ = reply.send(Ok(result));
            }
            Done::Ticket(reply, result) => {
                let _ = reply.send(Ok(result));
            }
            Done::Order(reply, result) => {
                let _ = reply.send(Ok(result));
            }
            Done::Payment(reply, result) => {
                let _ = reply.send(Ok(result));
            }
            Done::Expired(reply, fired) => {
                let _ = reply.send(Ok(Ok(fired)));
            }
        }
    }

    fn fail(self, failure: WriteFailed) {
        match self {
            Done::User(reply, _) => {
                let _ = reply.send(Err(failure));
            }
            Done::Ticket(reply, _) => {
                let _ = reply.send(Err(failure));
            }
            Done::Order(reply, _) => {
                let _ = reply.send(Err(failure));
            }
            Done::Payment(reply, _) => {
                let _ = reply.send(Err(failure));
            }
            Done::Expired(reply, _) => {
                let _ = reply.send(Err(failure));
            }
        }
    }
}

/// The sending side of the writer, cloned into every request handler.
#[derive(Clone)]
pub struct WriterHandle {
    commands_tx: mpsc::Sender<Command>,
}

/// Why a request to the writer got no domain answer.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Failed(#[from] WriteFailed),
    #[error("the node is shutting down")]
    ShuttingDown,
}

impl WriterHandle {
    /// Sends a command built around a reply channel and waits for its outcome.
    pub async fn request<T, E>(
        &self,
        command: impl FnOnce(Reply<T, E>) -> Command,
    ) -> Result<Result<T, E>, WriteError> {
        let (reply_tx, reply_rx) = oneshot::channel();
        self.commands_tx
            .send(command(reply_tx))
            .await
            .map_err(|_| WriteError::ShuttingDown)?;
        match reply_rx.await {
            Ok(outcome) => Ok(outcome?),
            Err(_) => Err(WriteError::ShuttingDown),
        }
    }
}

/// What the writer shares with the rest of the node.
pub struct WriterSignals {
    /// The node's highest committed event sequence.
    pub last_seq: AtomicU64,
    /// Woken whenever the expiration store gained or lost jobs.
    pub expiry_changed: Notify,
    /// The last sequence, announced after every commit that wrote events (the sync relay and the
    /// search indexer follow it).
    pub committed: watch::Sender<u64>,
}

impl WriterSignals {
    pub fn new() -> WriterSignals {
        WriterSignals {
            last_seq: AtomicU64::new(0),
            expiry_changed: Notify::new(),
            committed: watch::Sender::new(0),
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
        let (commands_tx, mut commands_rx) = mpsc::channel::<Command>(4 * MAX_BATCH);
        let thread = thread::Builder::new()
            .name("tix-writer".into())
            .spawn(move || {
                let mut carried: Option<Command> = None;
                loop {
                    let Some(first) = carried.take().or_else(|| commands_rx.blocking_recv()) else {
                        break;
                    };
                    let service = first.service();
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match commands_rx.try_recv() {
                            Ok(next) if next.service() == service => batch.push(next),
                            Ok(next) => {
                                carried = Some(next);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    state.run_batch(service, batch);
                }
                match state.checkpoint() {
                    Ok(()) => info!("writer stopped; stores checkpointed"),
                    Err(e) => error!(error = %e, "final checkpoint failed; the next start replays reactions"),
                }
            })?;
        Ok((Writer { thread }, WriterHandle { commands_tx }))
    }

    /// Waits for the writer to finish; call after every handle is dropped.
    pub fn join(self) {
        if self.thread.join().is_err() {
            error!("writer thread panicked");
        }
    }
}

struct State {
    stores: Arc<Stores>,
    clock: Arc<dyn Clock>,
    lock_ttl: std::time::Duration,
    signals: Arc<WriterSignals>,
    next_seq: u64,
    /// Per consumer: every event at or below this has been seen by its reactions.
    applied: [u64; 4],
    /// Per consumer: the position last written to its store (what a restart replays from).
    persisted: [u64; 4],
    /// A write failed; positions must be reloaded from the stores before the next batch.
    needs_resync: bool,
}

impl State {
    fn recover(
        stores: Arc<Stores>,
        clock: Arc<dyn Clock>,
        lock_ttl: std::time::Duration,
        signals: Arc<WriterSignals>,
    ) -> anyhow::Result<State> {
        let mut state = State {
            stores,
            clock,
            lock_ttl,
            signals,
            next_seq: 1,
            applied: [0; 4],
            persisted: [0; 4],
            needs_resync: false,
        };
        state.resync()?;
        Ok(state)
    }

    /// Reloads the sequence and every consumer's position from the stores, then replays the
    /// reactions they have not applied. Runs at start-up and after a failed write.
    fn resync(&mut self) -> Result<(), redb::Error> {
        let last_seq = self.stores.last_seq()?;
        for (slot, consumer) in self.applied.iter_mut().zip(CONSUMERS) {
            *slot = outbox::positions(db_of(&self.stores, consumer))?.1;
        }
        self.persisted = self.applied;
        self.next_seq = last_seq + 1;
        self.signals.last_seq.store(last_seq, Ordering::Release);
        let from = self.applied.iter().copied().min().unwrap_or(last_seq);
        let replay = self.stores.events_after(from, usize::MAX)?;
        let pending = replay
            .iter()
            .filter(|e| {
                CONSUMERS
                    .iter()
                    .zip(self.applied)
                    .any(|(c, a)| e.seq > a && reacts_to(*c, e))
            })
            .count();
        if pending > 0 {
            info!(
                from,
                pending, "replaying reactions interrupted by a stop or a failed write"
            );
        }
        self.cascade(replay)
    }

    fn run_batch(&mut self, service: Service, batch: Vec<Command>) {
        if self.needs_resync {
            if let Err(e) = self.resync() {
                error!(error = %e, "stores still failing; refusing writes");
                let failure = WriteFailed(e.to_string());
                batch.into_iter().for_each(|c| c.fail(failure.clone()));
                return;
            }
            self.needs_resync = false;
        }
        if service == Service::Maintenance {
            for command in batch {
                if let Command::PruneOutbox { acked, reply } = command {
                    let outcome = self.prune(acked);
                    if let Err(e) = &outcome {
                        error!(error = %e, "pruning the outbox failed");
                        self.needs_resync = true;
                    }
                    let _ = reply.send(Ok(outcome));
                }
            }
            return;
        }
        let now = self.clock.now();
        let mut done = Vec::with_capacity(batch.len());
        let mut commands = batch.into_iter();
        match self.execute(service, &mut commands, &mut done, now) {
            Ok(()) => done.into_iter().for_each(Done::send),
            Err(e) => {
                error!(error = %e, "write batch failed; its replies report the failure");
                // Part of the batch or of its reactions may have committed: start the next batch
                // from what the stores say, replaying what is missing.
                self.needs_resync = true;
                let failure = WriteFailed(e);
                done.into_iter().for_each(|d| d.fail(failure.clone()));
                commands.for_each(|c| c.fail(failure.clone()));
            }
        }
    }

    /// Runs a batch in one transaction, commits it, and lets the other services react.
    fn execute(
        &mut self,
        service: Service,
        commands: &mut impl Iterator<Item = Command>,
        done: &mut Vec<Done>,
        now: Millis,
    ) -> Result<(), String> {
        let mut unit = Unit::begin(db_of(&self.stores, service)).map_err(|e| e.to_string())?;
        for command in commands {
            let (ran, store_error) = run(&mut unit, command, now, self.lock_ttl);
            done.push(ran);
            if let Some(e) = store_error {
                return Err(e);
            }
        }
        let position = consumer_index(service).map(|index| (index, self.applied[index]));
        if let Some((_, applied)) = position {
            unit.mark_applied(applied);
        }
        let events = self.commit(unit, now).map_err(|e| e.to_string())?;
        if let Some((index, applied)) = position {
            self.persisted[index] = applied;
        }
        if service == Service::Expiration {
            self.signals.expiry_changed.notify_one();
        }
        self.cascade(events).map_err(|e| e.to_string())
    }

    fn commit(&mut self, unit: Unit, now: Millis) -> Result<Vec<StoredEvent>, redb::Error> {
        let events = unit.commit(self.next_seq, now)?;
        if !events.is_empty() {
            self.next_seq += events.len() as u64;
            self.signals
                .last_seq
                .store(self.next_seq - 1, Ordering::Release);
            self.signals.committed.send_replace(self.next_seq - 1);
        }
        Ok(events)
    }

    /// Lets every consumer react to `events` (and to what its reactions emit) until all are seen.
    ///
    /// The consumers of one round work on different stores, so each builds its transaction on its
    /// own thread. Transactions that emit no events carry no sequence numbers and commit in
    /// parallel; those that do emit commit one after another, keeping the outboxes gap-free.
    fn cascade(&mut self, mut events: Vec<StoredEvent>) -> Result<(), redb::Error> {
        let now = self.clock.now();
        while let Some(last) = events.last().map(|e| e.seq) {
            let units = self.react_in_parallel(&events, last)?;
            let durable: Vec<Service> = units
                .iter()
                .filter(|(consumer, unit)| {
                    unit.pending_events() > 0 || self.position_lags(*consumer, last)
                })
                .map(|(consumer, _)| *consumer)
                .collect();
            let durable_due = |consumer: Service| durable.contains(&consumer);
            let committed: Vec<Service> = units.iter().map(|(c, _)| *c).collect();
            let expiration_changed = committed.contains(&Service::Expiration);
            let (speaking, silent): (Vec<_>, Vec<_>) = units
                .into_iter()
                .partition(|(_, unit)| unit.pending_events() > 0);
            let mut emitted = Vec::new();
            thread::scope(|scope| -> Result<(), redb::Error> {
                // Reactions without events need not be durable (a crash replays them), except now
                // and then, so that a restart replays only a short stretch.
                let silent: Vec<_> = silent
                    .into_iter()
                    .map(|(consumer, unit)| {
                        let durable = durable_due(consumer);
                        scope.spawn(move || {
                            if durable {
                                unit.commit(0, now).map(drop)
                            } else {
                                unit.commit_volatile()
                            }
                        })
                    })
                    .collect();
                let mut result = Ok(());
                for (_, unit) in speaking {
                    match self.commit(unit, now) {
                        Ok(events) => emitted.extend(events),
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    }
                }
                for commit in silent {
                    let committed = commit.join().expect("a commit thread panicked");
                    result = result.and(committed);
                }
                result
            })?;
            if expiration_changed {
                self.signals.expiry_changed.notify_one();
            }
            for (index, consumer) in CONSUMERS.into_iter().enumerate() {
                self.applied[index] = self.applied[index].max(last);
                if durable.contains(&consumer) {
                    self.persisted[index] = last;
                }
            }
            events = emitted;
        }
        Ok(())
    }

    /// Whether a consumer's durable position has fallen far enough behind to be written now.
    fn position_lags(&self, consumer: Service, last: u64) -> bool {
        consumer_index(consumer)
            .is_some_and(|index| last.saturating_sub(self.persisted[index]) >= MAX_POSITION_LAG)
    }

    /// Makes every consumer's store durable at its current position; run when the writer stops, so
    /// a graceful restart replays nothing.
    fn checkpoint(&mut self) -> Result<(), redb::Error> {
        for (index, consumer) in CONSUMERS.into_iter().enumerate() {
            let mut unit = Unit::begin(db_of(&self.stores, consumer))?;
            unit.mark_applied(self.applied[index]);
            unit.commit(0, self.clock.now())?;
            self.persisted[index] = self.applied[index];
        }
        Ok(())
    }

    /// Prunes every outbox up to `acked`, held below what any consumer has durably applied (a
    /// restart replays from there) and capped at `PRUNE_BATCH` events per store, so that one call
    /// never stalls the writer for long. Pruning emits nothing and need not be durable: a crash
    /// only brings back events the hub will deduplicate.
    fn prune(&mut self, acked: u64) -> Result<u64, redb::Error> {
        let floor = self.persisted.iter().copied().min().unwrap_or(0);
        let upto = acked.min(floor).min(self.next_seq - 1);
        let mut pruned = u64::MAX;
        for db in self.stores.databases() {
            let unit = Unit::begin(db)?;
            outbox::prune(&unit, upto, PRUNE_BATCH)?;
            unit.commit_volatile()?;
            pruned = pruned.min(outbox::pruned(db)?);
        }
        Ok(pruned)
    }

    /// Builds, for every consumer with something to react to, its uncommitted unit of reactions.
    fn react_in_parallel(
        &self,
        events: &[StoredEvent],
        last: u64,
    ) -> Result<Vec<(Service, Unit)>, redb::Error> {
        let stores = &*self.stores;
        thread::scope(|scope| {
            let workers: Vec<_> = CONSUMERS
                .into_iter()
                .zip(self.applied)
                .zip(self.persisted)
                .filter_map(|((consumer, seen), persisted)| {
                    let relevant: Vec<&StoredEvent> = events
                        .iter()
                        .filter(|e| e.seq > seen && reacts_to(consumer, e))
                        .collect();
                    // A consumer with nothing to do still records its position now and then, so
                    // a restart does not replay a long stretch of events it never needed.
                    if relevant.is_empty() && last.saturating_sub(persisted) < MAX_POSITION_LAG {
                        return None;
                    }
                    Some(
                        scope.spawn(move || -> Result<(Service, Unit), redb::Error> {
                            let mut unit = Unit::begin(db_of(stores, consumer))?;
                            for event in relevant {
                                react(consumer, &mut unit, event)?;
                            }
                            unit.mark_applied(last);
                            Ok((consumer, unit))
                        }),
                    )
                })
                .collect();
            workers
                .into_iter()
                .map(|worker| worker.join().expect("a reaction thread panicked"))
                .collect()
        })
    }
}

/// Runs one command in the batch's transaction. Returns its deferred reply, and the message of a
/// storage error if the store failed under it (the whole batch is then abandoned).
fn run(
    unit: &mut Unit,
    command: Command,
    now: Millis,
    lock_ttl: std::time::Duration,
) -> (Done, Option<String>) {
    match command {
        Command::SignUp {
            user,
            first_is_staff,
            reply,
        } => {
            let result = AuthStore::sign_up(unit, user, first_is_staff);
            let failed = match &result {
                Err(auth::Error::Store(e)) => Some(e.to_string()),
                _ => None,
            };
            (Done::User(reply, result), failed)
        }
        Command::CreateTicket {
            id,
            seller,
            draft,
            reply,
        } => {
            let result = TicketsStore::create(unit, id, seller, draft);
            let failed = ticket_store_error(&result);
            (Done::Ticket(reply, result), failed)
        }
        Command::UpdateTicket {
            id,
            editor,
            draft,
            reply,
        } => {
            let result = TicketsStore::update(unit, id, editor, draft);
            let failed = ticket_store_error(&result);
            (Done::Ticket(reply, result), failed)
        }
        Command::PlaceOrder {
            id,
            buyer,
            ticket,
            reply,
        } => {
            let result = OrdersStore::place(unit, id, buyer, ticket, now, lock_ttl);
            let failed = order_store_error(&result);
            (Done::Order(reply, result), failed)
        }
        Command::CancelOrder {
            id,
            requester,
            reply,
        } => {
            let result = OrdersStore::cancel(unit, id, requester);
            let failed = order_store_error(&result);
            (Done::Order(reply, result), failed)
        }
        Command::RecordPayment {
            id,
            order,
            payer,
            charge_id,
            reply,
        } => {
            let result = PaymentsStore::record(unit, id, order, payer, &charge_id, now);
            let failed = payment_store_error(&result);
            (Done::Payment(reply, result), failed)
        }
        Command::RecordCashPayment { id, order, reply } => {
            let result = PaymentsStore::record_cash(unit, id, order, now);
            let failed = payment_store_error(&result);
            (Done::Payment(reply, result), failed)
        }
        Command::RecordRefund { order, by, reply } => {
            let result = PaymentsStore::refund(unit, order, by, now);
            let failed = payment_store_error(&result);
            (Done::Payment(reply, result), failed)
        }
        Command::PruneOutbox { .. } => {
            unreachable!("maintenance commands never join a store batch")
        }
        Command::ExpireDue { reply } => match ExpirationStore::fire_due(unit, now, EXPIRE_BATCH) {
            Ok(fired) => (Done::Expired(reply, fired), None),
            Err(e) => (Done::Expired(reply, Vec::new()), Some(e.to_string())),
        },
    }
}

fn ticket_store_error<T>(result: &Result<T, tickets::Error>) -> Option<String> {
    match result {
        Err(tickets::Error::Store(e)) => Some(e.to_string()),
        _ => None,
    }
}

fn payment_store_error<T>(result: &Result<T, payments::Error>) -> Option<String> {
    match result {
        Err(payments::Error::Store(e)) => Some(e.to_string()),
        _ => None,
    }
}

fn order_store_error<T>(result: &Result<T, orders::Error>) -> Option<String> {
    match result {
        Err(orders::Error::Store(e)) => Some(e.to_string()),
        _ => None,
    }
}

impl Command {
    /// Answers a command that never ran because its batch failed first.
    fn fail(self, failure: WriteFailed) {
        match self {
            Command::SignUp { reply, .. } => {
                let _ = reply.send(Err(failure));
            }
            Command::CreateTicket { reply, .. } | Command::UpdateTicket { reply, .. } => {
                let _ = reply.send(Err(failure));
            }
            Command::PlaceOrder { reply, .. } | Command::CancelOrder { reply, .. } => {
                let _ = reply.send(Err(failure));
            }
            Command::RecordPayment { reply, .. }
            | Command::RecordCashPayment { reply, .. }
            | Command::RecordRefund { reply, .. } => {
                let _ = reply.send(Err(failure));
            }
            Command::ExpireDue { reply } => {
                let _ = reply.send(Err(failure));
            }
            Command::PruneOutbox { reply, .. } => {
                let _ = reply.send(Err(failure));
            }
        }
    }
}

fn db_of(stores: &Stores, service: Service) -> &redb::Database {
    match service {
        Service::Auth => stores.auth.db(),
        Service::Tickets => stores.tickets.db(),
        Service::Orders => stores.orders.db(),
        Service::Payments => stores.payments.db(),
        Service::Expiration => stores.expiration.db(),
        Service::Maintenance => unreachable!("maintenance spans every store"),
    }
}

fn consumer_index(service: Service) -> Option<usize> {
    CONSUMERS.iter().position(|c| *c == service)
}

fn reacts_to(consumer: Service, event: &StoredEvent) -> bool {
    use tix_core::events::DomainEvent as E;
    match consumer {
        Service::Tickets => matches!(event.event, E::OrderCreated(_) | E::OrderCancelled(_)),
        // A ticket:updated that records a lock never changes title or price (a locked ticket cannot
        // be edited), so the orders replica only needs those without an orderId.
        Service::Orders => match &event.event {
            E::TicketUpdated(ticket) => ticket.order_id.is_none(),
            other => matches!(
                other,
                E::TicketCreated(_) | E::ExpirationComplete(_) | E::PaymentCreated(_)
            ),
        },
        Service::Payments => matches!(
            event.event,
            E::OrderCreated(_) | E::OrderCancelled(_) | E::OrderCompleted(_)
        ),
        Service::Expiration => matches!(
            event.event,
            E::OrderCreated(_) | E::OrderCancelled(_) | E::OrderCompleted(_)
        ),
        Service::Auth | Service::Maintenance => false,
    }
}

fn react(consumer: Service, unit: &mut Unit, event: &StoredEvent) -> Result<(), redb::Error> {
    match consumer {
        Service::Tickets => TicketsStore::react(unit, event),
        Service::Orders => OrdersStore::react(unit, event),
        Service::Payments => PaymentsStore::react(unit, event),
        Service::Expiration => ExpirationStore::react(unit, event),
        Service::Auth | Service::Maintenance => Ok(()),
    }
}
