//! The hub's MQTT connection: subscribes to every venue's events, hands them to the ledger, and
//! publishes the ledger's acknowledgements (each venue's retained now and then, see `ack_board`);
//! answers venues' catch-up requests with pages of their stored events, not retained.
//!
//! Four parts, so that nothing waits on itself: the poller only polls (and forwards what arrives;
//! the messages of venues another instance applies it keeps a while, see `standby`); the
//! subscriber subscribes after each connection, and again a moment after the broker refused a
//! subscription (a NATS cluster that lost a node refuses some for a while); the ack publisher
//! publishes; the replayer reads and publishes catch-up pages, one request at a time (a request it
//! has no room for is dropped: the venue asks again after a while). Incoming events are
//! acknowledged to the broker as they are read: the broker's acknowledgement means nothing to the
//! protocol, since a venue resends whatever the hub's own acknowledgement does not cover.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, Packet, QoS, SubscribeReasonCode,
};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use tix_sync::backoff::Backoff;
use tix_sync::broker::BrokerUrl;
use tix_sync::protocol::{
    EVENTS_FILTER, REPLAY_FILTER, ReplayRequest, VenueId, ack_topic, parse_events_topic,
    parse_replay_topic, replay_page_topic,
};
use tix_sync::qos::EventsQos;

use crate::db::Db;
use crate::ingest::Work;
use crate::ledger::Incoming;
use crate::membership::Ownership;

mod ack_board;
mod standby;

pub use ack_board::AckBoard;
use ack_board::QUIET;
use standby::Standby;

const KEEP_ALIVE: Duration = Duration::from_secs(10);
/// The broker's `message_size_limit` (`packaging/mosquitto/mosquitto.conf`): the broker accepts no
/// larger payload, so none reaches the hub. Envelopes above `MAX_ENVELOPE_BYTES` but within it
/// arrive and are quarantined as oversized.
pub const BROKER_MESSAGE_LIMIT: usize = 262_144;
/// What a PUBLISH carries beside its payload, at most: the topic's length, the longest topic MQTT
/// allows, the packet id.
const PUBLISH_OVERHEAD: usize = 2 + 65_535 + 2;
/// The largest packet the hub reads: any message the broker lets through. A larger one would fail
/// the connection and come back forever from the persistent session, so this must never be below
/// the broker's limit; above it, it would only let a broker without the limit make the hub buffer
/// up to 256 MiB per message.
const MAX_INCOMING: usize = BROKER_MESSAGE_LIMIT + PUBLISH_OVERHEAD;
/// The largest packet the hub sends: a catch-up page may be any message the broker accepts. A
/// packet above it fails the connection, and a QoS 1 one would be sent again on every reconnection.
const MAX_OUTGOING: usize = BROKER_MESSAGE_LIMIT + PUBLISH_OVERHEAD;
/// How long after a refused subscription the hub subscribes again.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);
/// Catch-up requests waiting for the replayer; more are dropped.
const REPLAY_QUEUE: usize = 64;

/// What the link reports for the hub's health endpoint.
#[derive(Default)]
pub struct LinkStatus {
    pub connected: AtomicBool,
    pub connections: AtomicU64,
    pub received: AtomicU64,
    /// Messages left to the hub instance that applies their venue.
    pub skipped: AtomicU64,
    /// Of those, handed to the ledger after all: their venue moved to this instance (see
    /// `standby`; the ledger leaves out what the instance that had it stored).
    pub taken_over: AtomicU64,
    pub acks_published: AtomicU64,
    /// Catch-up pages published.
    pub replay_pages: AtomicU64,
    /// Catch-up requests left unanswered: no room in the queue, malformed, or their page could not
    /// be read or published.
    pub replay_refused: AtomicU64,
    pub last_error: Mutex<Option<String>>,
}

pub struct Link {
    tasks: Vec<JoinHandle<()>>,
    client: AsyncClient,
}

/// What the link works with: where events go, the database catch-up pages are read from, the
/// acknowledgements to publish, and which venues are this instance's.
pub struct LinkTo {
    pub events: mpsc::Sender<Work>,
    pub db: Db,
    pub acks: Arc<AckBoard>,
    pub ownership: Arc<Ownership>,
}

impl Link {
    /// Connects (in the background) and starts forwarding events of this instance's venues, and
    /// answering their catch-up requests from the database. Every connection republishes the
    /// acknowledgements, since a restarted broker may have lost the retained ones.
    pub fn start(
        broker: &BrokerUrl,
        client_id: &str,
        events_qos: EventsQos,
        to: LinkTo,
        status: Arc<LinkStatus>,
        shutdown: watch::Receiver<bool>,
    ) -> Link {
        let LinkTo {
            events,
            db,
            acks,
            ownership,
        } = to;
        let mut options = MqttOptions::new(client_id, broker.host.clone(), broker.port);
        options
            .set_clean_session(false)
            .set_keep_alive(KEEP_ALIVE)
            .set_max_packet_size(MAX_INCOMING, MAX_OUTGOING);
        if let Some((user, pass)) = &broker.credentials {
            options.set_credentials(user.clone(), pass.clone());
        }
        let (client, event_loop) = AsyncClient::new(options, 1024);
        let (connected_tx, connected_rx) = watch::channel(0u64);
        let (refused_tx, refused_rx) = watch::channel(0u64);
        let (replays_tx, replays_rx) = mpsc::channel(REPLAY_QUEUE);
        let poller = tokio::spawn(poll(
            event_loop,
            Forward::new(events, replays_tx, ownership),
            Signals {
                connected: connected_tx,
                refused: refused_tx,
            },
            status.clone(),
            shutdown.clone(),
        ));
        let subscriber = tokio::spawn(subscribe_on_connect(
            client.clone(),
            events_qos.mqtt(),
            connected_rx,
            refused_rx,
            acks.clone(),
            shutdown.clone(),
        ));
        let replayer = tokio::spawn(serve_replays(
            client.clone(),
            db,
            replays_rx,
            status.clone(),
            shutdown.clone(),
        ));
        let publisher = tokio::spawn(publish_acks(
            client.clone(),
            events_qos.mqtt(),
            acks,
            status,
            shutdown,
        ));
        Link {
            tasks: vec![poller, subscriber, publisher, replayer],
            client,
        }
    }

    /// Waits for the tasks to end (they end when shutdown turns true).
    pub async fn stop(self) {
        let _ = tokio::time::timeout(Duration::from_millis(500), self.client.disconnect()).await;
        for task in self.tasks {
            if let Err(e) = task.await {
                warn!(error = %e, "an MQTT task ended abnormally");
            }
        }
    }
}

/// A catch-up request as it came: the asking venue (from the topic) and the payload.
struct Replay {
    venue: VenueId,
    payload: Vec<u8>,
}

/// Where the poller sends what arrives: events to the ingest thread, catch-up requests to the
/// replayer; events another instance applies, to the standby until their venue moves here.
struct Forward {
    events: mpsc::Sender<Work>,
    replays: mpsc::Sender<Replay>,
    ownership: Arc<Ownership>,
    standby: Standby,
    /// The ownership's `changes` when the standby was last looked at.
    seen: u64,
}

impl Forward {
    fn new(
        events: mpsc::Sender<Work>,
        replays: mpsc::Sender<Replay>,
        ownership: Arc<Ownership>,
    ) -> Forward {
        let seen = ownership.changes();
        Forward {
            events,
            replays,
            ownership,
            standby: Standby::new(),
            seen,
        }
    }

    /// The kept messages of venues that moved to this instance since it last looked.
    fn moved_here(&mut self) -> Vec<Incoming> {
        let changes = self.ownership.changes();
        if changes == self.seen {
            return Vec::new();
        }
        self.seen = changes;
        let ownership = &self.ownership;
        self.standby
            .take_owned(|venue| ownership.owns(venue), Instant::now())
    }
}

/// What the poller tells the subscriber: each connection, each refused subscription.
struct Signals {
    connected: watch::Sender<u64>,
    refused: watch::Sender<u64>,
}

async fn poll(
    mut event_loop: EventLoop,
    mut forward: Forward,
    signals: Signals,
    status: Arc<LinkStatus>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(15));
    'polling: loop {
        let event = tokio::select! {
            _ = shutdown.changed() => break,
            event = event_loop.poll() => event,
        };
        // Checked on every packet (a ping at least every keep-alive): what the broker gave this
        // instance of a venue just moved here goes to the ledger before anything newer.
        let moved = forward.moved_here();
        if !moved.is_empty() {
            status
                .taken_over
                .fetch_add(moved.len() as u64, Ordering::Relaxed);
            tokio::select! {
                _ = shutdown.changed() => break 'polling,
                sent = forward.events.send(Work::TakenOver(moved)) => if sent.is_err() { break 'polling },
            }
        }
        match event {
            Ok(Event::Incoming(Packet::ConnAck(connack))) => {
                backoff.reset();
                status.connected.store(true, Ordering::Release);
                status.connections.fetch_add(1, Ordering::Relaxed);
                *status.last_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
                info!(
                    session_present = connack.session_present,
                    "connected to the broker"
                );
                signals.connected.send_modify(|n| *n += 1);
            }
            Ok(Event::Incoming(Packet::SubAck(ack)))
                if ack.return_codes.contains(&SubscribeReasonCode::Failure) =>
            {
                warn!("the broker refused a subscription; subscribing again");
                signals.refused.send_modify(|n| *n += 1);
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                status.received.fetch_add(1, Ordering::Relaxed);
                if let Ok(venue) = parse_replay_topic(&publish.topic) {
                    if !forward.ownership.owns(venue.as_str()) {
                        status.skipped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let payload = publish.payload.to_vec();
                    match forward.replays.try_send(Replay { venue, payload }) {
                        Ok(()) => {}
                        Err(TrySendError::Full(replay)) => {
                            status.replay_refused.fetch_add(1, Ordering::Relaxed);
                            warn!(venue = %replay.venue, "too many catch-up requests waiting; dropped one (the venue asks again)");
                        }
                        Err(TrySendError::Closed(replay)) => {
                            status.replay_refused.fetch_add(1, Ordering::Relaxed);
                            warn!(venue = %replay.venue, "the catch-up replayer has stopped; dropped a request");
                        }
                    }
                    continue;
                }
                // Refusals of topics naming no venue belong to the owner of "".
                let venue = parse_events_topic(&publish.topic)
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                let message = Incoming {
                    topic: publish.topic,
                    payload: publish.payload.to_vec(),
                };
                if !forward.ownership.owns(&venue) {
                    status.skipped.fetch_add(1, Ordering::Relaxed);
                    forward.standby.keep(venue, message, Instant::now());
                    continue;
                }
                tokio::select! {
                    _ = shutdown.changed() => break,
                    sent = forward.events.send(Work::Message(message)) => if sent.is_err() { break },
                }
            }
            Ok(_) => {}
            Err(ConnectionError::RequestsDone) => break,
            Err(e) => {
                let was = status.connected.swap(false, Ordering::AcqRel);
                let delay = backoff.next_delay(rand::random());
                if was {
                    warn!(error = %e, "lost the broker; reconnecting");
                } else {
                    warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "cannot reach the broker");
                }
                *status.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
                tokio::select! {
                    _ = shutdown.changed() => break,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    status.connected.store(false, Ordering::Release);
}

async fn subscribe_on_connect(
    client: AsyncClient,
    events_qos: QoS,
    mut connected: watch::Receiver<u64>,
    mut refused: watch::Receiver<u64>,
    acks: Arc<AckBoard>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let connection = tokio::select! {
            _ = shutdown.changed() => break,
            changed = connected.changed() => if changed.is_err() { break } else { true },
            changed = refused.changed() => if changed.is_err() { break } else { false },
        };
        if !connection {
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = tokio::time::sleep(RESUBSCRIBE_AFTER) => {}
            }
        }
        // The session may be new (broker restarted without persistence): subscribe every time.
        if let Err(e) = client.subscribe(EVENTS_FILTER, events_qos).await {
            warn!(error = %e, "could not subscribe to the venues' events");
        }
        if let Err(e) = client.subscribe(REPLAY_FILTER, QoS::AtLeastOnce).await {
            warn!(error = %e, "could not subscribe to the venues' catch-up requests");
        }
        if connection {
            acks.repost_all();
        }
    }
}

/// Publishes the acknowledgements as they are posted, at the events' QoS (at QoS 1 a NATS cluster
/// would store each in its replicated stream before taking the next), retained as `AckBoard`
/// decides; wakes every `QUIET` to retain what went out not retained.
async fn publish_acks(
    client: AsyncClient,
    qos: QoS,
    board: Arc<AckBoard>,
    status: Arc<LinkStatus>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(QUIET);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = board.changed.notified() => {}
            _ = tick.tick() => {}
        }
        for out in board.take(Instant::now()) {
            let topic = ack_topic(&out.ack.venue);
            let publish = client.publish(topic, qos, out.retain, out.ack.encode());
            tokio::select! {
                _ = shutdown.changed() => return,
                result = publish => match result {
                    Ok(()) => { status.acks_published.fetch_add(1, Ordering::Relaxed); }
                    Err(e) => warn!(error = %e, venue = %out.ack.venue, "could not publish an acknowledgement"),
                }
            }
        }
    }
}

/// Answers catch-up requests one at a time: reads the page on a blocking thread from a read
/// connection, then publishes it to the asking venue, QoS 1, not retained.
async fn serve_replays(
    client: AsyncClient,
    db: Db,
    mut requests: mpsc::Receiver<Replay>,
    status: Arc<LinkStatus>,
    mut shutdown: watch::Receiver<bool>,
) {
    let refused = || status.replay_refused.fetch_add(1, Ordering::Relaxed);
    loop {
        let Replay { venue, payload } = tokio::select! {
            _ = shutdown.changed() => break,
            next = requests.recv() => match next {
                Some(replay) => replay,
                None => break,
            },
        };
        let request = match ReplayRequest::decode(&payload) {
            Ok(request) => request,
            Err(e) => {
                refused();
                warn!(error = %e, %venue, "ignoring a malformed catch-up request");
                continue;
            }
        };
        let (db, asking) = (db.clone(), venue.clone());
        let read = tokio::task::spawn_blocking(move || {
            db.read(|sql| crate::replay::page(sql, &asking, &request))
        });
        let page = tokio::select! {
            _ = shutdown.changed() => return,
            read = read => match read {
                Ok(Ok(page)) => page,
                Ok(Err(e)) => {
                    refused();
                    warn!(error = %e, %venue, "could not read a catch-up page");
                    continue;
                }
                Err(e) => {
                    refused();
                    warn!(error = %e, %venue, "reading a catch-up page ended abnormally");
                    continue;
                }
            },
        };
        if page.len() > BROKER_MESSAGE_LIMIT {
            // Only an envelope beyond anything the ledger stores could make one; the broker would
            // drop it anyway.
            refused();
            warn!(%venue, bytes = page.len(), after = request.after, "a catch-up page exceeds the broker's message limit; not sent");
            continue;
        }
        let publish = client.publish(replay_page_topic(&venue), QoS::AtLeastOnce, false, page);
        tokio::select! {
            _ = shutdown.changed() => return,
            result = publish => match result {
                Ok(()) => { status.replay_pages.fetch_add(1, Ordering::Relaxed); }
                Err(e) => {
                    refused();
                    warn!(error = %e, %venue, "could not publish a catch-up page");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hubs_packet_limit_matches_the_shipped_brokers_message_size_limit() {
        let shipped = include_str!("../../packaging/mosquitto/mosquitto.conf");
        let limit: Vec<usize> = shipped
            .lines()
            .filter_map(|line| line.trim().strip_prefix("message_size_limit "))
            .map(|value| value.trim().parse().unwrap())
            .collect();
        assert_eq!(limit, [BROKER_MESSAGE_LIMIT]);
    }

    #[test]
    fn the_fullest_catch_up_page_fits_the_brokers_message_limit() {
        use tix_sync::protocol::{Epoch, PAGE_BYTES, PageHeader, ReplayPage};
        let header = PageHeader {
            epoch: Epoch(u64::MAX),
            after: u64::MAX,
            through: u64::MAX,
        };
        // The longest header, a page's envelopes, and a newline after each of the most rows.
        let fullest =
            ReplayPage::encode(&header, &[]).len() + PAGE_BYTES + crate::replay::MAX_ROWS as usize;
        assert!(fullest <= BROKER_MESSAGE_LIMIT);
    }
}
