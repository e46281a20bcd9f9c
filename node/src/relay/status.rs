//! What the relay reports about itself, for `/healthz`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde_json::{Value, json};

use tix_sync::protocol::{Epoch, VenueId};

/// Counters and flags the relay and its MQTT link update, read by `/healthz`.
pub struct SyncStatus {
    pub venue: VenueId,
    pub epoch: Epoch,
    pub connected: AtomicBool,
    /// The hub's acknowledgement: every event up to here is stored at the hub.
    pub acked: AtomicU64,
    /// Every event up to here is gone from the outboxes.
    pub pruned: AtomicU64,
    /// Events handed to the MQTT client (resends included).
    pub published: AtomicU64,
    /// Times the relay resent because the hub's acknowledgement stopped moving.
    pub resends: AtomicU64,
    /// Connections made to the broker.
    pub connections: AtomicU64,
    /// The hub acknowledged more than this node ever wrote: its stores went back in time.
    pub hub_ahead: AtomicBool,
    /// Why the relay stopped syncing for good, if it did (see `relay::halt`).
    pub halted: Mutex<Option<String>>,
    pub last_error: Mutex<Option<String>>,
}

impl SyncStatus {
    pub fn new(venue: VenueId, epoch: Epoch) -> SyncStatus {
        SyncStatus {
            venue,
            epoch,
            connected: AtomicBool::new(false),
            acked: AtomicU64::new(0),
            pruned: AtomicU64::new(0),
            published: AtomicU64::new(0),
            resends: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            hub_ahead: AtomicBool::new(false),
            halted: Mutex::new(None),
            last_error: Mutex::new(None),
        }
    }

    pub fn set_error(&self, error: Option<String>) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = error;
    }

    pub fn set_halted(&self, reason: String) {
        *self.halted.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
    }

    /// The `sync` object of `/healthz`, given the node's last sequence.
    /// The newest sequence the hub acknowledged.
    pub fn acked_seq(&self) -> u64 {
        self.acked.load(Ordering::Acquire)
    }

    /// Whether the relay is connected to the broker now.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    pub fn report(&self, last_seq: u64) -> Value {
        let acked = self.acked.load(Ordering::Acquire);
        json!({
            "enabled": true,
            "venue": self.venue,
            "connected": self.connected.load(Ordering::Acquire),
            "lastAckedSeq": acked,
            "backlog": last_seq.saturating_sub(acked),
            "prunedThrough": self.pruned.load(Ordering::Acquire),
            "published": self.published.load(Ordering::Relaxed),
            "resends": self.resends.load(Ordering::Relaxed),
            "connections": self.connections.load(Ordering::Relaxed),
            "hubAhead": self.hub_ahead.load(Ordering::Acquire),
            "halted": *self.halted.lock().unwrap_or_else(|e| e.into_inner()),
            "lastError": *self.last_error.lock().unwrap_or_else(|e| e.into_inner()),
        })
    }
}
