//! Many simulated venues at once, for `tix-bench chain`: each venue id publishes a stream of
//! protocol-valid envelopes (tix-sync's, of `ticket:created` events) as a venue's relay does: in
//! sequence order, at most `window` beyond the hub's acknowledgement, and again from the
//! acknowledgement when it stops moving. A resent event is byte for byte the first one.
//!
//! The venues are spread over `connections` MQTT connections (as many as venues is what a chain
//! has: each venue its own), these over the broker URLs given (a cluster's nodes each carry some);
//! one more connection follows every venue's acknowledgement.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS, SubscribeReasonCode};
use tokio::sync::{Notify, watch};

use tix_core::events::{DomainEvent, StoredEvent, TicketChanged};
use tix_core::ids::{TicketId, UserId};
use tix_sync::ack_delay::AckDelay;
use tix_sync::broker::BrokerUrl;
use tix_sync::protocol::{Ack, Envelope, Epoch, VenueId, events_topic};
use tix_sync::qos::EventsQos;

/// How long a venue's events may stay unacknowledged before they are sent again, at least (three
/// times what acknowledgements have lately taken, see `AckDelay`); doubled after each resend
/// without progress, up to `STALL_MAX` (as a relay does).
const STALL_FIRST: Duration = Duration::from_secs(2);
const STALL_MAX: Duration = Duration::from_secs(60);
/// The acknowledgements of every venue.
const ACKS_FILTER: &str = "v1/hub/venues/+/ack";

/// What the venues do.
pub(crate) struct Plan {
    pub(crate) venues: usize,
    /// Publishing connections, the venues spread over them.
    pub(crate) connections: usize,
    /// The brokers the connections go to, in turn.
    pub(crate) publish_to: Vec<String>,
    /// Where the acknowledgements are read.
    pub(crate) acks_from: String,
    /// Events beyond the acknowledgement each venue may have out.
    pub(crate) window: u64,
    /// The QoS the venues publish at.
    pub(crate) qos: EventsQos,
    /// How long new events are made.
    pub(crate) making: Duration,
    /// How long the venues then wait, at most, for the hub to acknowledge everything.
    pub(crate) drain: Duration,
}

/// What the venues did.
pub(crate) struct Made {
    pub(crate) venues: Vec<VenueId>,
    pub(crate) epoch: Epoch,
    /// Events made per venue (sequences 1..=N).
    pub(crate) made: Vec<u64>,
    /// Of them, acknowledged by the end.
    pub(crate) acked: Vec<u64>,
    pub(crate) resent: u64,
    /// When making began and ended (Unix ms).
    pub(crate) from_ms: u64,
    pub(crate) until_ms: u64,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Runs the venues until they made events for `plan.making` and the hub acknowledged them all (or
/// `plan.drain` ran out).
pub(crate) async fn run(plan: Plan) -> Result<Made> {
    let venues: Vec<VenueId> = (0..plan.venues)
        .map(|n| format!("sim-{n:05}").parse())
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("a simulated venue id: {e}"))?;
    let epoch = Epoch(now_ms());
    let index: Arc<HashMap<VenueId, usize>> = Arc::new(
        venues
            .iter()
            .enumerate()
            .map(|(n, v)| (v.clone(), n))
            .collect(),
    );
    let acked: Arc<Vec<AtomicU64>> =
        Arc::new((0..plan.venues).map(|_| AtomicU64::new(0)).collect());
    let lanes = plan.connections.clamp(1, plan.venues.max(1));
    // One per lane: an acknowledgement wakes the lane of its venue only.
    let moved: Arc<Vec<Notify>> = Arc::new((0..lanes).map(|_| Notify::new()).collect());
    let (stop_tx, stop) = watch::channel(false);
    let follower = tokio::spawn(follow_acks(
        connect(&plan.acks_from, "tix-bench-acks", true)?,
        epoch,
        index,
        acked.clone(),
        moved.clone(),
        stop.clone(),
    ));

    let from_ms = now_ms();
    let making_until = Instant::now() + plan.making;
    let give_up = making_until + plan.drain;
    let mut publishers = Vec::new();
    for lane in 0..lanes {
        let url = &plan.publish_to[lane % plan.publish_to.len()];
        let (client, event_loop) = connect(url, &format!("tix-bench-pub-{lane}"), true)?;
        let poller = tokio::spawn(keep_polling(event_loop, stop.clone()));
        let mine: Vec<(usize, VenueId)> = venues
            .iter()
            .enumerate()
            .filter(|(n, _)| n % lanes == lane)
            .map(|(n, v)| (n, v.clone()))
            .collect();
        let lane = Lane {
            client,
            epoch,
            window: plan.window,
            qos: plan.qos.mqtt(),
            acked: acked.clone(),
            moved: moved.clone(),
            lane,
        };
        publishers.push((poller, tokio::spawn(lane.run(mine, making_until, give_up))));
    }
    let mut made = vec![0; plan.venues];
    let mut resent = 0;
    let mut until_ms = from_ms;
    let mut pollers = Vec::new();
    for (poller, publisher) in publishers {
        let outcome = publisher.await.context("a publishing lane")??;
        for (n, count) in outcome.made {
            made[n] = count;
        }
        resent += outcome.resent;
        until_ms = until_ms.max(outcome.made_until_ms);
        pollers.push(poller);
    }
    let _ = stop_tx.send(true);
    for poller in pollers {
        let _ = poller.await;
    }
    let _ = follower.await;
    Ok(Made {
        venues,
        epoch,
        made,
        acked: acked.iter().map(|a| a.load(Ordering::Acquire)).collect(),
        resent,
        from_ms,
        until_ms,
    })
}

/// A connection to `url` as `id`; `clean` for no session kept.
fn connect(url: &str, id: &str, clean: bool) -> Result<(AsyncClient, EventLoop)> {
    let broker: BrokerUrl = url.parse().map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
    let mut options = MqttOptions::new(id, broker.host.clone(), broker.port);
    options
        .set_clean_session(clean)
        .set_keep_alive(Duration::from_secs(10))
        .set_inflight(1000)
        .set_max_packet_size(1 << 20, 1 << 20);
    if let Some((user, pass)) = &broker.credentials {
        options.set_credentials(user.clone(), pass.clone());
    }
    Ok(AsyncClient::new(options, 4096))
}

/// Polls a publishing connection (reconnecting after a pause) until stopped.
async fn keep_polling(mut event_loop: EventLoop, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            event = event_loop.poll() => if event.is_err() {
                tokio::time::sleep(Duration::from_millis(250)).await;
            },
        }
    }
}

/// Follows every venue's acknowledgement of this run's epoch, subscribing again when the broker
/// refuses (a NATS cluster may, for a while).
async fn follow_acks(
    (client, mut event_loop): (AsyncClient, EventLoop),
    epoch: Epoch,
    index: Arc<HashMap<VenueId, usize>>,
    acked: Arc<Vec<AtomicU64>>,
    moved: Arc<Vec<Notify>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let event = tokio::select! {
            _ = stop.changed() => return,
            event = event_loop.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                let _ = client.try_subscribe(ACKS_FILTER, QoS::AtLeastOnce);
            }
            Ok(Event::Incoming(Packet::SubAck(ack)))
                if ack.return_codes.contains(&SubscribeReasonCode::Failure) =>
            {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let _ = client.try_subscribe(ACKS_FILTER, QoS::AtLeastOnce);
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                if let Ok(ack) = Ack::decode(&publish.payload)
                    && ack.epoch == epoch
                    && let Some(&n) = index.get(&ack.venue)
                {
                    acked[n].fetch_max(ack.seq, Ordering::AcqRel);
                    moved[n % moved.len()].notify_one();
                }
            }
            Ok(_) => {}
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// One publishing connection and the venues on it.
struct Lane {
    client: AsyncClient,
    epoch: Epoch,
    window: u64,
    qos: QoS,
    acked: Arc<Vec<AtomicU64>>,
    moved: Arc<Vec<Notify>>,
    /// This lane's number: its venues are those whose number leaves it modulo the lanes.
    lane: usize,
}

/// A venue as its relay sees it.
struct Venue {
    n: usize,
    topic: String,
    id: VenueId,
    /// The highest sequence made.
    made: u64,
    /// Made and not yet acknowledged, oldest first.
    out: VecDeque<(u64, Vec<u8>)>,
    last_progress: Instant,
    /// How long from the last progress until the next resend.
    stall: Duration,
    /// How long acknowledgements have lately taken.
    delays: AckDelay,
    acked: u64,
}

struct LaneOutcome {
    made: Vec<(usize, u64)>,
    resent: u64,
    made_until_ms: u64,
}

impl Lane {
    async fn run(
        self,
        mine: Vec<(usize, VenueId)>,
        making_until: Instant,
        give_up: Instant,
    ) -> Result<LaneOutcome> {
        let mut venues: Vec<Venue> = mine
            .into_iter()
            .map(|(n, id)| Venue {
                n,
                topic: events_topic(&id),
                id,
                made: 0,
                out: VecDeque::new(),
                last_progress: Instant::now(),
                stall: STALL_FIRST,
                delays: AckDelay::default(),
                acked: 0,
            })
            .collect();
        let mut resent = 0;
        let mut made_until_ms = now_ms();
        loop {
            let now = Instant::now();
            let making = now < making_until;
            if making {
                made_until_ms = now_ms();
            }
            let mut waiting = false;
            for venue in &mut venues {
                let acked = self.acked[venue.n].load(Ordering::Acquire);
                if acked > venue.acked {
                    venue.acked = acked;
                    venue.last_progress = now;
                    venue.delays.acked(acked, now);
                    venue.stall = venue.delays.patience(STALL_FIRST, STALL_MAX);
                    while venue.out.front().is_some_and(|(seq, _)| *seq <= acked) {
                        venue.out.pop_front();
                    }
                }
                if !venue.out.is_empty() && now.duration_since(venue.last_progress) >= venue.stall {
                    venue.last_progress = now;
                    venue.stall = (venue.stall * 2).min(STALL_MAX);
                    venue.delays.rewound();
                    for (_, payload) in &venue.out {
                        self.publish(&venue.topic, payload.clone()).await?;
                        resent += 1;
                    }
                }
                while making && venue.made < venue.acked + self.window {
                    venue.made += 1;
                    let payload = self.envelope(&venue.id, venue.made);
                    self.publish(&venue.topic, payload.clone()).await?;
                    venue.delays.sent(venue.made, Instant::now());
                    venue.out.push_back((venue.made, payload));
                }
                waiting |= !venue.out.is_empty();
            }
            if (!making && !waiting) || now >= give_up {
                break;
            }
            // Woken by an acknowledgement, or to make more and check for stalls.
            let woken = self.moved[self.lane].notified();
            let _ = tokio::time::timeout(Duration::from_millis(50), woken).await;
        }
        Ok(LaneOutcome {
            made: venues.iter().map(|v| (v.n, v.made)).collect(),
            resent,
            made_until_ms,
        })
    }

    async fn publish(&self, topic: &str, payload: Vec<u8>) -> Result<()> {
        self.client
            .publish(topic, self.qos, false, payload)
            .await
            .context("publishing an event")
    }

    /// Event `seq` of `venue`: a ticket listed now.
    fn envelope(&self, venue: &VenueId, seq: u64) -> Vec<u8> {
        // Unique within the venue, as a ticket id is.
        let mut id = [0u8; 12];
        id[4..].copy_from_slice(&seq.to_be_bytes());
        let ticket = TicketChanged {
            id: TicketId::from_bytes(id),
            version: 0,
            title: format!("Simulated show {seq}"),
            price: 25.0,
            user_id: UserId::from_bytes([7; 12]),
            order_id: None,
            details: Default::default(),
        };
        Envelope {
            venue: venue.clone(),
            epoch: self.epoch,
            event: StoredEvent {
                seq,
                at: now_ms(),
                event: DomainEvent::TicketCreated(ticket),
            },
        }
        .encode()
    }
}
