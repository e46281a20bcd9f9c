//! The sync relay: ships the node's outbox to the hub through the MQTT broker, in sequence order,
//! and prunes what the hub has durably stored.
//!
//! The outbox is the source of truth, never the MQTT client: rumqttc keeps unacknowledged publishes
//! only in memory and drops them when the broker lost the session. So the relay keeps its own
//! cursor, resends from the hub's acknowledgement after every (re)connect, and rewinds when the
//! acknowledgement stops advancing while events are outstanding (a message lost on the way). The
//! hub deduplicates by (venue, epoch, sequence), so resending is always safe.
//!
//! At most `WINDOW` events are published beyond the hub's acknowledgement: that paces the relay to
//! the hub and bounds what the broker ever queues for the hub on this venue's behalf.
//!
//! An acknowledgement above anything these stores could have sent means they were restored from an
//! older copy: the relay then stops syncing for good (see `halt`), before it trusts that ack.

mod halt;
mod link;
mod status;

use std::path::PathBuf;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rumqttc::QoS;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use tix_sync::ack_delay::AckDelay;
use tix_sync::backoff::Backoff;
use tix_sync::broker::BrokerUrl;
use tix_sync::protocol::{Envelope, Epoch, VenueId, events_topic};
use tix_sync::qos::EventsQos;

use crate::stores::Stores;
use crate::writer::{WriteError, WriterHandle, WriterSignals};

pub use self::halt::HALT_FILE;
use self::halt::Halt;
use self::link::Link;
pub use self::status::SyncStatus;

/// Most events published beyond the hub's acknowledgement.
const WINDOW: u64 = 4096;
/// Events read from the outbox at a time.
const CHUNK: usize = 512;
/// Prune once the hub has acknowledged this many events beyond what is pruned.
const PRUNE_EVERY: u64 = 1024;
/// How long events may stay unacknowledged before the relay resends them, at least: the wait is
/// three times what acknowledgements have lately taken (`AckDelay`), and doubles while nothing
/// moves (the hub may be down), up to `STALL_MAX`.
const STALL_FIRST: Duration = Duration::from_secs(2);
const STALL_MAX: Duration = Duration::from_secs(60);
/// How long after a refused subscription the relay subscribes again.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);
/// Resends without progress after which the MQTT client is rebuilt (rumqttc can wedge itself after a
/// lost session, see SYNC.md §1.4).
const REBUILD_AFTER_STALLS: u32 = 3;

/// What the relay needs to know, from the node's configuration.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub venue: VenueId,
    pub broker: BrokerUrl,
    /// The QoS events are published at.
    pub qos: EventsQos,
    /// Keep events in the outbox after the hub stored them (for audit); otherwise they are pruned.
    pub keep_synced: bool,
    /// The node's data dir, where a halt is recorded (`HALT_FILE`).
    pub data_dir: PathBuf,
}

/// Starts the relay; it runs until `shutdown` turns true.
pub fn start(
    config: RelayConfig,
    stores: Arc<Stores>,
    signals: Arc<WriterSignals>,
    writer: WriterHandle,
    shutdown: watch::Receiver<bool>,
) -> (Arc<SyncStatus>, JoinHandle<()>) {
    let epoch = Epoch(stores.epoch);
    let status = Arc::new(SyncStatus::new(config.venue.clone(), epoch));
    let relay = Relay {
        topic: events_topic(&config.venue),
        config,
        epoch,
        stores,
        signals,
        writer,
        status: status.clone(),
    };
    let task = tokio::spawn(relay.run(shutdown));
    (status, task)
}

struct Relay {
    config: RelayConfig,
    epoch: Epoch,
    topic: String,
    stores: Arc<Stores>,
    signals: Arc<WriterSignals>,
    writer: WriterHandle,
    status: Arc<SyncStatus>,
}

impl Relay {
    async fn run(self, mut shutdown: watch::Receiver<bool>) {
        info!(venue = %self.config.venue, epoch = %self.epoch, broker = %self.config.broker, "sync relay starting");
        if let Some(halt) = self.sync(&mut shutdown).await {
            self.stop_syncing(halt).await;
            // Stopped for good: nothing to do but wait for the node to stop.
            while !*shutdown.borrow_and_update() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        }
        info!("sync relay stopped");
    }

    /// The publishing loop; ends at shutdown (or when the stores fail), or with the reason it
    /// must stop syncing.
    async fn sync(&self, shutdown: &mut watch::Receiver<bool>) -> Option<Halt> {
        if let Some(halt) = self.recorded_halt().await {
            return Some(halt);
        }
        // `held`: the sequence the stores reached before this run; earlier runs may have sent it.
        let (pruned, held) = self
            .read(|s| Ok((s.pruned_through()?, s.last_seq()?)))
            .await?;
        self.status.pruned.store(pruned, Ordering::Release);
        // How far pruning was last asked for (the writer may hold it further back).
        let mut prune_asked = pruned;
        let mut link = Link::open(&self.config, self.epoch, self.status.clone());
        let mut generation = 0;
        // Refused subscriptions seen, and when to subscribe again after the last.
        let mut refusals = 0;
        let mut resubscribe_at: Option<Instant> = None;
        // The hub's acknowledgement; until one arrives, everything not pruned is unacknowledged.
        let mut acked = pruned;
        let mut cursor = pruned + 1;
        let mut delays = AckDelay::default();
        let mut stall = Backoff::new(STALL_FIRST, STALL_MAX);
        let mut stall_after = STALL_FIRST;
        let mut last_progress = Instant::now();
        let mut stalls_in_a_row = 0;
        // The highest sequence handed to the MQTT client by this run.
        let mut sent = 0;
        let mut committed = self.signals.committed.subscribe();
        self.status.acked.store(acked, Ordering::Release);

        loop {
            if *shutdown.borrow() {
                break;
            }
            let now_generation = *link.connections.borrow_and_update();
            if now_generation != generation {
                generation = now_generation;
                if !subscribe_to_acks(&link, shutdown).await {
                    break;
                }
                if cursor > acked + 1 {
                    debug!(
                        from = acked + 1,
                        "reconnected; resending what the hub has not acknowledged"
                    );
                }
                cursor = acked + 1;
                delays.rewound();
                last_progress = Instant::now();
                resubscribe_at = None;
            }
            let now_refusals = *link.refusals.borrow_and_update();
            if now_refusals != refusals {
                refusals = now_refusals;
                resubscribe_at = Some(Instant::now() + RESUBSCRIBE_AFTER);
            }
            if resubscribe_at.is_some_and(|at| at <= Instant::now()) {
                resubscribe_at = None;
                if !subscribe_to_acks(&link, shutdown).await {
                    break;
                }
            }

            let hub = *link.acks.borrow_and_update();
            let last_seq = self.signals.last_seq.load(Ordering::Acquire);
            if let Some(hub) = hub {
                if let Err(halt) = Halt::check(hub, held, sent) {
                    link.close().await;
                    return Some(halt);
                }
                if hub > acked {
                    acked = hub;
                    cursor = cursor.max(acked + 1);
                    self.status.acked.store(acked, Ordering::Release);
                    last_progress = Instant::now();
                    delays.acked(acked, last_progress.into_std());
                    // A busy hub is waited for as long as it has lately taken, not sent to again.
                    stall_after = delays.patience(STALL_FIRST, STALL_MAX);
                    stall = Backoff::new(stall_after, STALL_MAX);
                    stalls_in_a_row = 0;
                }
            }

            if !self.config.keep_synced
                && (acked >= prune_asked + PRUNE_EVERY
                    || (acked > prune_asked && cursor > last_seq))
            {
                match self.writer.prune(acked).await {
                    Ok(now_pruned) => {
                        prune_asked = acked;
                        self.status.pruned.store(now_pruned, Ordering::Release);
                    }
                    Err(WriteError::Failed(e)) => {
                        warn!(error = %e, "pruning the outbox failed; will retry");
                        prune_asked = acked;
                    }
                    Err(WriteError::ShuttingDown) => break,
                }
            }

            let connected = self.status.connected.load(Ordering::Acquire);
            let limit = acked + WINDOW;
            if connected && cursor <= last_seq && cursor <= limit {
                let want = (limit.min(last_seq) - cursor + 1).min(CHUNK as u64) as usize;
                let after = cursor - 1;
                let Some(events) = self.read(move |s| s.events_after(after, want)).await else {
                    break;
                };
                for event in events {
                    let seq = event.seq;
                    let payload = Envelope {
                        venue: self.config.venue.clone(),
                        epoch: self.epoch,
                        event,
                    }
                    .encode();
                    let publish = link.client.publish(
                        self.topic.as_str(),
                        self.config.qos.mqtt(),
                        false,
                        payload,
                    );
                    tokio::select! {
                        _ = shutdown.changed() => {
                            link.close().await;
                            return None;
                        }
                        result = publish => if let Err(e) = result {
                            warn!(error = %e, "the MQTT client refused a publish");
                            break;
                        }
                    }
                    cursor = seq + 1;
                    sent = sent.max(seq);
                    delays.sent(seq, Instant::now().into_std());
                    self.status.published.fetch_add(1, Ordering::Relaxed);
                }
                continue;
            }

            let outstanding = cursor > acked + 1;
            if connected && outstanding && last_progress.elapsed() >= stall_after {
                stalls_in_a_row += 1;
                self.status.resends.fetch_add(1, Ordering::Relaxed);
                warn!(
                    from = acked + 1,
                    to = cursor - 1,
                    waited_ms = stall_after.as_millis() as u64,
                    "the hub has not acknowledged; resending"
                );
                cursor = acked + 1;
                delays.rewound();
                stall_after = stall.next_delay(rand::random());
                last_progress = Instant::now();
                if stalls_in_a_row >= REBUILD_AFTER_STALLS {
                    warn!(
                        "no progress after {stalls_in_a_row} resends; rebuilding the MQTT client"
                    );
                    stalls_in_a_row = 0;
                    link.close().await;
                    link = Link::open(&self.config, self.epoch, self.status.clone());
                    generation = 0;
                    refusals = 0;
                    resubscribe_at = None;
                }
                continue;
            }

            // The stall timer runs only while connected: a disconnected relay cannot resend, so
            // a deadline already past would wake it at once on every turn (a busy loop for as long
            // as the broker is away). A reconnect rewinds and restarts the timer anyway.
            let wake_at = last_progress + stall_after;
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = link.connections.changed() => {}
                _ = link.refusals.changed() => {}
                _ = link.acks.changed() => {}
                _ = committed.changed() => {}
                _ = tokio::time::sleep_until(wake_at), if connected && outstanding => {}
                _ = tokio::time::sleep_until(resubscribe_at.unwrap_or(wake_at)), if resubscribe_at.is_some() => {}
            }
        }
        link.close().await;
        None
    }

    /// The halt an earlier run recorded in the data dir, if any.
    async fn recorded_halt(&self) -> Option<Halt> {
        let dir = self.config.data_dir.clone();
        let path = dir.join(HALT_FILE);
        let read = tokio::task::spawn_blocking(move || halt::recorded(&dir)).await;
        match read.map_err(std::io::Error::other).and_then(|read| read) {
            Ok(halt) => halt,
            Err(e) => Some(Halt::Unreadable {
                path,
                error: e.to_string(),
            }),
        }
    }

    /// Says why sync stopped (log, `/healthz`) and records it in the data dir.
    async fn stop_syncing(&self, halt: Halt) {
        error!(venue = %self.config.venue, epoch = %self.epoch, "sync stopped: {halt}");
        // The reason first: whoever sees `hubAhead` also sees why sync stopped.
        self.status.set_halted(halt.to_string());
        if let Halt::HubAhead { .. } = halt {
            self.status.hub_ahead.store(true, Ordering::Release);
            let dir = self.config.data_dir.clone();
            match tokio::task::spawn_blocking(move || halt::record(&dir, &halt)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    error!(error = %e, file = HALT_FILE, "could not record why sync stopped; a restart will not remember it")
                }
                Err(e) => error!(error = %e, "recording why sync stopped panicked"),
            }
        }
    }

    /// Runs a store read off the async threads; `None` if the stores failed (logged).
    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Stores) -> Result<T, redb::Error> + Send + 'static,
    ) -> Option<T> {
        let stores = self.stores.clone();
        match tokio::task::spawn_blocking(move || read(&stores)).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                error!(error = %e, "sync relay cannot read the outbox; stopping the relay");
                None
            }
            Err(e) => {
                error!(error = %e, "outbox read panicked; stopping the relay");
                None
            }
        }
    }
}

/// Asks the broker for the hub's acknowledgements (again); `false` if shutdown came first.
async fn subscribe_to_acks(link: &Link, shutdown: &mut watch::Receiver<bool>) -> bool {
    let subscribe = link
        .client
        .subscribe(link.ack_topic.clone(), QoS::AtLeastOnce);
    tokio::select! {
        _ = shutdown.changed() => false,
        result = subscribe => {
            if let Err(e) = result {
                warn!(error = %e, "could not subscribe to the hub's acknowledgements");
            }
            true
        }
    }
}
