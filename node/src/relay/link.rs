//! The relay's MQTT connection: one rumqttc client and the task that polls its event loop.
//!
//! The polling task never publishes (rumqttc deadlocks when the poller waits on its own full request
//! channel); it only reports connections, refused subscriptions and the hub's acknowledgements
//! through watch channels, and pauses with jittered backoff after a failure (rumqttc would otherwise
//! reconnect in a hot loop). A broker may refuse a subscription for a while (a NATS cluster that
//! lost a node does): the relay then subscribes again.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, Packet, SubscribeReasonCode,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use tix_sync::backoff::Backoff;
use tix_sync::protocol::{Ack, Epoch, MAX_ENVELOPE_BYTES, ack_topic};

use super::RelayConfig;
use super::status::SyncStatus;

/// Publishes the client queues before `publish` waits.
const REQUEST_CAPACITY: usize = 1024;
/// Publishes in flight between the node and the broker.
const INFLIGHT: u16 = 100;
const KEEP_ALIVE: Duration = Duration::from_secs(10);

pub(super) struct Link {
    pub(super) client: AsyncClient,
    pub(super) ack_topic: String,
    /// Counts successful connections; changes on each one.
    pub(super) connections: watch::Receiver<u64>,
    /// Counts subscriptions the broker refused; changes on each one.
    pub(super) refusals: watch::Receiver<u64>,
    /// The newest acknowledgement of this venue and epoch.
    pub(super) acks: watch::Receiver<Option<u64>>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Link {
    pub(super) fn open(config: &RelayConfig, epoch: Epoch, status: Arc<SyncStatus>) -> Link {
        let mut options = MqttOptions::new(
            format!("tix-node-{}", config.venue),
            config.broker.host.clone(),
            config.broker.port,
        );
        options
            .set_clean_session(false)
            .set_keep_alive(KEEP_ALIVE)
            .set_inflight(INFLIGHT)
            .set_max_packet_size(MAX_ENVELOPE_BYTES + 1024, MAX_ENVELOPE_BYTES + 1024);
        if let Some((user, pass)) = &config.broker.credentials {
            options.set_credentials(user.clone(), pass.clone());
        }
        let (client, event_loop) = AsyncClient::new(options, REQUEST_CAPACITY);
        let (connections_tx, connections) = watch::channel(0);
        let (refusals_tx, refusals) = watch::channel(0);
        let (acks_tx, acks) = watch::channel(None);
        let (stop, stop_rx) = watch::channel(false);
        let poller = Poller {
            ack_topic: ack_topic(&config.venue),
            venue: config.venue.clone(),
            epoch,
            status,
            connections_tx,
            refusals_tx,
            acks_tx,
        };
        let task = tokio::spawn(poller.run(event_loop, stop_rx));
        Link {
            client,
            ack_topic: ack_topic(&config.venue),
            connections,
            refusals,
            acks,
            stop,
            task,
        }
    }

    /// Disconnects politely if connected, then stops the polling task.
    pub(super) async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_millis(500), self.client.disconnect()).await;
        // Give the poller a moment to send the DISCONNECT before it is told to stop.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            warn!(error = %e, "MQTT polling task ended abnormally");
        }
    }
}

struct Poller {
    ack_topic: String,
    venue: tix_sync::protocol::VenueId,
    epoch: Epoch,
    status: Arc<SyncStatus>,
    connections_tx: watch::Sender<u64>,
    refusals_tx: watch::Sender<u64>,
    acks_tx: watch::Sender<Option<u64>>,
}

impl Poller {
    async fn run(self, mut event_loop: EventLoop, mut stop: watch::Receiver<bool>) {
        let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(15));
        loop {
            let event = tokio::select! {
                _ = stop.changed() => break,
                event = event_loop.poll() => event,
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(connack))) => {
                    backoff.reset();
                    self.status.connected.store(true, Ordering::Release);
                    self.status.connections.fetch_add(1, Ordering::Relaxed);
                    self.status.set_error(None);
                    info!(
                        session_present = connack.session_present,
                        "connected to the broker"
                    );
                    self.connections_tx.send_modify(|n| *n += 1);
                }
                Ok(Event::Incoming(Packet::SubAck(ack)))
                    if ack.return_codes.contains(&SubscribeReasonCode::Failure) =>
                {
                    warn!(
                        "the broker refused the subscription to the hub's acknowledgements; subscribing again"
                    );
                    self.refusals_tx.send_modify(|n| *n += 1);
                }
                Ok(Event::Incoming(Packet::Publish(publish)))
                    if publish.topic == self.ack_topic =>
                {
                    self.on_ack(&publish.payload);
                }
                Ok(_) => {}
                Err(ConnectionError::RequestsDone) => break,
                Err(e) => {
                    let was_connected = self.status.connected.swap(false, Ordering::AcqRel);
                    let delay = backoff.next_delay(rand::random());
                    if was_connected {
                        warn!(error = %e, "lost the broker; reconnecting");
                    } else {
                        warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "cannot reach the broker");
                    }
                    self.status.set_error(Some(e.to_string()));
                    tokio::select! {
                        _ = stop.changed() => break,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
        self.status.connected.store(false, Ordering::Release);
    }

    fn on_ack(&self, payload: &[u8]) {
        match Ack::decode(payload) {
            Ok(ack) if ack.venue == self.venue && ack.epoch == self.epoch => {
                self.acks_tx.send_if_modified(|current| {
                    let newer = current.is_none_or(|c| ack.seq > c);
                    if newer {
                        *current = Some(ack.seq);
                    }
                    newer
                });
            }
            Ok(ack) => warn!(
                ack_venue = %ack.venue,
                ack_epoch = %ack.epoch,
                "ignoring an acknowledgement for another venue or epoch (the hub knew an earlier incarnation of this venue)"
            ),
            Err(e) => warn!(error = %e, "ignoring a malformed acknowledgement"),
        }
    }
}
