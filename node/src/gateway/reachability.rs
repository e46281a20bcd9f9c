//! Whether the payment gateway answered lately, so that counters can say plainly when card payments
//! cannot be taken (cash still can).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

const UNKNOWN: u8 = 0;
const REACHABLE: u8 = 1;
const UNREACHABLE: u8 = 2;

/// The outcome of the gateway's last call or probe, and when it was seen.
#[derive(Debug)]
pub struct Reachability {
    state: AtomicU8,
    seen: Mutex<Option<Instant>>,
    probing: AtomicBool,
}

impl Default for Reachability {
    fn default() -> Self {
        Reachability {
            state: AtomicU8::new(UNKNOWN),
            seen: Mutex::new(None),
            probing: AtomicBool::new(false),
        }
    }
}

impl Reachability {
    pub fn reachable(&self) -> Option<bool> {
        match self.state.load(Ordering::Acquire) {
            REACHABLE => Some(true),
            UNREACHABLE => Some(false),
            _ => None,
        }
    }

    /// Records what a call or probe found: any answer from the gateway (even a refusal) means
    /// it is reachable.
    pub fn record(&self, reachable: bool) {
        let state = if reachable { REACHABLE } else { UNREACHABLE };
        self.state.store(state, Ordering::Release);
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// True (and marks a probe as running) when nothing was seen within `max_age` and no probe
    /// is running already.
    pub fn begin_probe_if_older_than(&self, max_age: Duration) -> bool {
        let fresh = self
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|seen| seen.elapsed() < max_age);
        !fresh
            && self
                .probing
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    pub fn end_probe(&self, reachable: bool) {
        self.record(reachable);
        self.probing.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_until_seen_and_one_probe_at_a_time() {
        let reach = Reachability::default();
        assert_eq!(reach.reachable(), None);
        assert!(reach.begin_probe_if_older_than(Duration::from_secs(30)));
        assert!(!reach.begin_probe_if_older_than(Duration::from_secs(30)));
        reach.end_probe(false);
        assert_eq!(reach.reachable(), Some(false));
        // Just seen: no new probe until it is stale.
        assert!(!reach.begin_probe_if_older_than(Duration::from_secs(30)));
        assert!(reach.begin_probe_if_older_than(Duration::ZERO));
        reach.end_probe(true);
        assert_eq!(reach.reachable(), Some(true));
    }
}
