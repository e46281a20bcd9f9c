//! The messages of venues another hub instance applies, kept for a few seconds, so that when that
//! instance dies this one applies what it had received but not stored, instead of waiting for
//! the venues to notice and resend.
//!
//! Every instance subscribes to every venue's events and leaves the others' to them (see
//! `membership`). When an instance dies, the events the broker had just delivered to it are lost
//! with it, and its venues only resend after their acknowledgement has stalled for a while (two
//! seconds at least, doubling after each resend): a resend that comes before the survivors see the
//! lease run out is left to the dead instance again, and the next comes much later. The survivors
//! received the same messages; kept here, they are applied the moment their venue moves over.
//!
//! Invariants:
//! - kept are at most `KEEP_BYTES` of payload and nothing older than `KEEP_FOR`, oldest dropped
//!   first: memory is bounded whatever the traffic, and a message dropped here is only a resend
//!   the venue makes anyway;
//! - `take_owned` hands out messages in the order they arrived, before the poller forwards
//!   anything newer, so a venue's events reach the ledger in order;
//! - handing out a message the dead instance had stored is harmless: the ledger leaves it out
//!   (`Ledger::leave_out_stored`, one read of the venues' cursors for the lot).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::ledger::Incoming;

/// How long a message of another instance's venue is kept: that instance's lease (5 s), a beat,
/// and what it may have had queued unstored when it died. Beyond that the venue resends.
pub(super) const KEEP_FOR: Duration = Duration::from_secs(10);
/// Payload bytes kept at most.
pub(super) const KEEP_BYTES: usize = 64 << 20;

struct Kept {
    at: Instant,
    venue: String,
    message: Incoming,
}

/// Messages of other instances' venues, oldest first.
pub(super) struct Standby {
    kept: VecDeque<Kept>,
    bytes: usize,
    limit: usize,
}

impl Standby {
    pub(super) fn new() -> Standby {
        Standby::with_limit(KEEP_BYTES)
    }

    fn with_limit(limit: usize) -> Standby {
        Standby {
            kept: VecDeque::new(),
            bytes: 0,
            limit,
        }
    }

    /// Keeps `message` of `venue`, received `now`, dropping what is too old or too much.
    pub(super) fn keep(&mut self, venue: String, message: Incoming, now: Instant) {
        self.bytes += message.payload.len();
        self.kept.push_back(Kept {
            at: now,
            venue,
            message,
        });
        self.forget(now);
    }

    /// Removes and returns, in arrival order, the kept messages whose venue `owns` says is this
    /// instance's now.
    pub(super) fn take_owned(
        &mut self,
        owns: impl Fn(&str) -> bool,
        now: Instant,
    ) -> Vec<Incoming> {
        self.forget(now);
        let mut taken = Vec::new();
        let mut others = VecDeque::with_capacity(self.kept.len());
        for kept in self.kept.drain(..) {
            if owns(&kept.venue) {
                self.bytes -= kept.message.payload.len();
                taken.push(kept.message);
            } else {
                others.push_back(kept);
            }
        }
        self.kept = others;
        taken
    }

    fn forget(&mut self, now: Instant) {
        while let Some(oldest) = self.kept.front() {
            let stale = now.saturating_duration_since(oldest.at) > KEEP_FOR;
            if !stale && self.bytes <= self.limit {
                break;
            }
            self.bytes -= oldest.message.payload.len();
            self.kept.pop_front();
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.kept.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(venue: &str, seq: u64) -> Incoming {
        Incoming {
            topic: format!("v1/venues/{venue}/events"),
            payload: format!("{venue}:{seq}").into_bytes(),
        }
    }

    fn payloads(taken: &[Incoming]) -> Vec<String> {
        taken
            .iter()
            .map(|m| String::from_utf8(m.payload.clone()).unwrap())
            .collect()
    }

    #[test]
    fn a_venue_that_moves_here_gets_its_kept_messages_in_arrival_order() {
        let mut standby = Standby::new();
        let t0 = Instant::now();
        for seq in 1..=3 {
            standby.keep("east".into(), message("east", seq), t0);
            standby.keep("west".into(), message("west", seq), t0);
        }
        let taken = standby.take_owned(|venue| venue == "west", t0);
        assert_eq!(payloads(&taken), ["west:1", "west:2", "west:3"]);
        assert!(
            standby.take_owned(|venue| venue == "west", t0).is_empty(),
            "handed out once"
        );
        let taken = standby.take_owned(|_| true, t0);
        assert_eq!(payloads(&taken), ["east:1", "east:2", "east:3"]);
    }

    #[test]
    fn nothing_older_than_the_keeping_time_is_handed_out() {
        let mut standby = Standby::new();
        let t0 = Instant::now();
        standby.keep("east".into(), message("east", 1), t0);
        standby.keep("east".into(), message("east", 2), t0 + KEEP_FOR / 2);
        let later = t0 + KEEP_FOR + Duration::from_millis(1);
        assert_eq!(payloads(&standby.take_owned(|_| true, later)), ["east:2"]);
    }

    #[test]
    fn the_oldest_are_dropped_beyond_the_byte_limit() {
        let one = message("east", 1).payload.len();
        let mut standby = Standby::with_limit(one * 3);
        let t0 = Instant::now();
        for seq in 1..=5 {
            standby.keep("east".into(), message("east", seq), t0);
        }
        assert_eq!(standby.len(), 3);
        assert_eq!(
            payloads(&standby.take_owned(|_| true, t0)),
            ["east:3", "east:4", "east:5"]
        );
        assert_eq!(standby.bytes, 0);
    }
}
