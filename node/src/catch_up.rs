//! A node restored from an older backup fetches from the hub the events it lost, before it serves.
//!
//! `tix-node restore` leaves `MARKER` in the data dir before it moves the stores in. While the
//! marker is there, the node does not serve: the hub may hold sales made after the backup, and
//! selling from the older stores could sell those tickets again. At start it asks the hub, through
//! the broker, for its epoch's events after its last one (`tix_sync::protocol::replay`), page by
//! page, and has the writer put each page back (`tix_core::recovery`) until a page comes back
//! empty. Then it removes the marker and starts as always; the relay then finds the hub's ack
//! equal to what the stores hold.
//!
//! The marker says whether a catch-up already started (`STARTED`): a catch-up cut short by a stop
//! or a crash resumes from the position every store recorded (see the writer's `catch_up`).

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, SubscribeReasonCode};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{info, warn};

use tix_core::events::StoredEvent;
use tix_sync::backoff::Backoff;
use tix_sync::protocol::{
    Epoch, PAGE_BYTES, ReplayPage, ReplayRequest, replay_page_topic, replay_request_topic,
};

use crate::relay::RelayConfig;
use crate::writer::WriterHandle;

/// The file in the data dir that keeps a restored node from serving until it caught up.
pub const MARKER: &str = "catch-up";
/// What the marker holds once a catch-up has begun.
const STARTED: &str = "started";
/// How long an unanswered request waits before it is asked again.
const ASK_AGAIN: Duration = Duration::from_secs(5);
/// How often a long catch-up logs how far it got.
const REPORT_EVERY: Duration = Duration::from_secs(5);
const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Writes the marker into `data_dir` (before a restore moves the stores in), durably.
pub fn mark(data_dir: &Path, note: &str) -> io::Result<()> {
    write_durably(&data_dir.join(MARKER), note)
}

/// Whether `data_dir` was restored and has not caught up yet.
pub fn pending(data_dir: &Path) -> io::Result<bool> {
    match fs::metadata(data_dir.join(MARKER)) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Fetches and puts back every event the hub holds after this node's last one; returns how many.
/// Ends with an error when `shutdown` turns true first (the next start resumes).
pub async fn run(
    config: &RelayConfig,
    epoch: Epoch,
    writer: &WriterHandle,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<u64> {
    let marker = config.data_dir.join(MARKER);
    let note =
        fs::read_to_string(&marker).with_context(|| format!("reading {}", marker.display()))?;
    let fresh = note.trim() != STARTED;
    let mut position = writer.catch_up_position(fresh).await?;
    if fresh {
        write_durably(&marker, STARTED)?;
    }
    info!(
        after = position,
        "this data dir was restored from a backup: fetching the events after it from the hub before serving"
    );
    let page_topic = replay_page_topic(&config.venue);
    let request_topic = replay_request_topic(&config.venue);
    let (client, mut event_loop) = AsyncClient::new(options(config), 16);
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(15));
    let (started, mut reported) = (Instant::now(), Instant::now());
    let mut subscribed = false;
    let mut asked: Option<Instant> = None;
    let mut fetched = 0u64;
    loop {
        if subscribed && asked.is_none_or(|at| at.elapsed() >= ASK_AGAIN) {
            let request = ReplayRequest {
                epoch,
                after: position,
            };
            client
                .publish(&request_topic, QoS::AtLeastOnce, false, request.encode())
                .await?;
            asked = Some(Instant::now());
        }
        let event = tokio::select! {
            _ = shutdown.changed() => bail!("stopped while catching up from the hub at sequence {position}; the next start goes on from there"),
            _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
            event = event_loop.poll() => event,
        };
        let publish = match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff.reset();
                // A clean session: subscribe on every connection.
                client.subscribe(&page_topic, QoS::AtLeastOnce).await?;
                continue;
            }
            Ok(Event::Incoming(Packet::SubAck(ack)))
                if ack.return_codes.contains(&SubscribeReasonCode::Failure) =>
            {
                // A broker may refuse for a while (a NATS cluster that lost a node): again soon.
                warn!(
                    "the broker refused the subscription to the catch-up pages; subscribing again"
                );
                tokio::select! {
                    _ = shutdown.changed() => bail!("stopped while catching up from the hub at sequence {position}; the next start goes on from there"),
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                client.subscribe(&page_topic, QoS::AtLeastOnce).await?;
                continue;
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                subscribed = true;
                asked = None;
                continue;
            }
            Ok(Event::Incoming(Packet::Publish(publish))) if publish.topic == page_topic => publish,
            Ok(_) => continue,
            Err(e) => {
                subscribed = false;
                let delay = backoff.next_delay(rand::random());
                warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "cannot reach the broker to catch up; this node does not serve until it has");
                tokio::select! {
                    _ = shutdown.changed() => bail!("stopped while catching up from the hub at sequence {position}; the next start goes on from there"),
                    _ = tokio::time::sleep(delay) => continue,
                }
            }
        };
        let page = match ReplayPage::decode(&publish.payload, &config.venue) {
            Ok(page) => page,
            Err(e) => {
                warn!(error = %e, "the hub's catch-up page is unusable; asking again");
                continue;
            }
        };
        if page.header.epoch != epoch || page.header.after != position {
            continue; // the answer to an earlier request
        }
        if page.events.is_empty() {
            if page.header.through <= position {
                break;
            }
            warn!(
                through = page.header.through,
                after = position,
                "the hub says it holds more but sent none; asking again"
            );
            continue;
        }
        let events: Vec<StoredEvent> = page.events.into_iter().map(|e| e.event).collect();
        fetched += events.len() as u64;
        position = writer.catch_up(events).await?;
        asked = None;
        if reported.elapsed() >= REPORT_EVERY {
            reported = Instant::now();
            info!(
                at = position,
                hub = page.header.through,
                fetched,
                "catching up from the hub"
            );
        }
    }
    // Sends the DISCONNECT (the event loop does, when polled), so the broker ends the session
    // cleanly before the relay connects under the same account.
    let _ = client.try_disconnect();
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while event_loop.poll().await.is_ok() {}
    })
    .await;
    fs::remove_file(&marker).with_context(|| format!("removing {}", marker.display()))?;
    fs::File::open(&config.data_dir)?.sync_all()?;
    info!(
        events = fetched,
        last = position,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "caught up from the hub: every event it acknowledged is back"
    );
    Ok(fetched)
}

/// The relay's broker and account, on a clean session, taking pages up to the broker's limit.
fn options(config: &RelayConfig) -> MqttOptions {
    let mut options = MqttOptions::new(
        format!("tix-node-{}", config.venue),
        config.broker.host.clone(),
        config.broker.port,
    );
    let incoming = PAGE_BYTES + 64 * 1024 + 2 + 65_535 + 2;
    options
        .set_clean_session(true)
        .set_keep_alive(KEEP_ALIVE)
        .set_max_packet_size(incoming, 4096);
    if let Some((user, pass)) = &config.broker.credentials {
        options.set_credentials(user.clone(), pass.clone());
    }
    options
}

fn write_durably(path: &Path, text: &str) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    fs::File::open(dir)?.sync_all()
}
