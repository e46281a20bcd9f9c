//! The acknowledgements waiting to be published, and which of them the broker should retain.
//!
//! An acknowledgement goes out as soon as its batch commits, to the venues listening. The retained
//! copy on the broker is for a venue that connects later: it tells the venue where to resume, and
//! a node restored from an older copy of its stores finds out from it that the hub is ahead
//! (`node/src/relay/halt.rs`). Keeping it current with every acknowledgement costs a NATS cluster
//! a replicated stream write each, so while a venue is busy its acknowledgement is retained at most
//! once per `RETAIN_EVERY`; the others go out not retained, and the latest is retained once the
//! venue has been quiet for `QUIET`.
//!
//! Invariants:
//! - every acknowledgement posted is published (the newest per venue, if several wait);
//! - a venue's retained copy is its current acknowledgement once none has been posted for it for
//!   `QUIET` (plus one publisher turn): a node stopped, restored and started again takes far
//!   longer, so it reads exactly how far the hub got;
//! - a busy venue's retained copy is at most `RETAIN_EVERY` (plus one turn) old;
//! - after `repost_all` (a new connection: the broker may have lost what it retained) every owned
//!   venue's current acknowledgement goes out retained.
//!
//! A retained copy behind the truth while the venue is busy is harmless: a venue reconnecting
//! resends from it, and the hub acknowledges a resend of stored events again.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tix_sync::protocol::{Ack, VenueId};
use tokio::sync::Notify;

use crate::membership::Ownership;

/// How often, at most, a busy venue's acknowledgement is retained.
pub(super) const RETAIN_EVERY: Duration = Duration::from_secs(2);
/// How long after a venue's last acknowledgement it is retained, if that one was not.
pub(super) const QUIET: Duration = Duration::from_millis(200);

/// An acknowledgement to publish, and whether the broker should retain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Outgoing {
    pub(super) ack: Ack,
    pub(super) retain: bool,
}

/// Acknowledgements: the current one of every venue, and those waiting to be published (the
/// newest per venue only).
pub struct AckBoard {
    board: Mutex<Board>,
    pub(super) changed: Notify,
    /// Republished are only the acknowledgements of venues this instance applies: another
    /// instance may have moved one on since this one knew it.
    ownership: Arc<Ownership>,
}

#[derive(Default)]
struct Board {
    current: BTreeMap<VenueId, Ack>,
    pending: BTreeMap<VenueId, Ack>,
    /// When each venue's acknowledgement was last published retained.
    retained_at: BTreeMap<VenueId, Instant>,
    /// Venues whose last acknowledgement went out not retained, and when it went out.
    behind: BTreeMap<VenueId, Instant>,
}

impl AckBoard {
    pub fn new(ownership: Arc<Ownership>) -> AckBoard {
        AckBoard {
            board: Mutex::default(),
            changed: Notify::new(),
            ownership,
        }
    }

    /// Queues acknowledgements; a newer one for a venue replaces an older one not yet published.
    pub fn post(&self, acks: impl IntoIterator<Item = Ack>) {
        let mut board = self.lock();
        let mut any = false;
        for ack in acks {
            board.current.insert(ack.venue.clone(), ack.clone());
            board.pending.insert(ack.venue.clone(), ack);
            any = true;
        }
        drop(board);
        if any {
            self.changed.notify_one();
        }
    }

    /// Queues every current acknowledgement again, of the venues this instance applies, to be
    /// retained.
    pub fn repost_all(&self) {
        let mut board = self.lock();
        let owned: BTreeMap<VenueId, Ack> = board
            .current
            .iter()
            .filter(|(venue, _)| self.ownership.owns(venue.as_str()))
            .map(|(venue, ack)| (venue.clone(), ack.clone()))
            .collect();
        for venue in owned.keys() {
            board.retained_at.remove(venue);
        }
        board.pending = owned;
        drop(board);
        self.changed.notify_one();
    }

    /// What to publish now: the waiting acknowledgements, and the current one of each venue whose
    /// retained copy is behind and that has been quiet for `QUIET` or retained `RETAIN_EVERY` ago.
    pub(super) fn take(&self, now: Instant) -> Vec<Outgoing> {
        let mut board = self.lock();
        let Board {
            current,
            pending,
            retained_at,
            behind,
        } = &mut *board;
        let since = |at: &Instant| now.saturating_duration_since(*at);
        let due = |retained_at: &BTreeMap<VenueId, Instant>, venue: &VenueId| {
            retained_at
                .get(venue)
                .is_none_or(|at| since(at) >= RETAIN_EVERY)
        };
        let mut out = Vec::new();
        for (venue, ack) in std::mem::take(pending) {
            let retain = due(retained_at, &venue);
            if retain {
                retained_at.insert(venue.clone(), now);
                behind.remove(&venue);
            } else {
                behind.insert(venue, now);
            }
            out.push(Outgoing { ack, retain });
        }
        let catching_up: Vec<VenueId> = behind
            .iter()
            .filter(|(venue, last)| since(last) >= QUIET || due(retained_at, venue))
            .map(|(venue, _)| venue.clone())
            .collect();
        for venue in catching_up {
            behind.remove(&venue);
            retained_at.insert(venue.clone(), now);
            if let Some(ack) = current.get(&venue) {
                out.push(Outgoing {
                    ack: ack.clone(),
                    retain: true,
                });
            }
        }
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Board> {
        self.board.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tix_sync::protocol::Epoch;

    fn ack(venue: &str, seq: u64) -> Ack {
        Ack {
            venue: venue.parse().unwrap(),
            epoch: Epoch(7),
            seq,
        }
    }

    fn board() -> AckBoard {
        AckBoard::new(Arc::new(Ownership::alone("tix-hub")))
    }

    fn sent(out: &[Outgoing]) -> Vec<(String, u64, bool)> {
        out.iter()
            .map(|o| (o.ack.venue.to_string(), o.ack.seq, o.retain))
            .collect()
    }

    #[test]
    fn a_venues_first_acknowledgement_is_retained_and_the_next_within_the_interval_is_not() {
        let board = board();
        let t0 = Instant::now();
        board.post([ack("east", 3), ack("west", 1)]);
        assert_eq!(
            sent(&board.take(t0)),
            [("east".into(), 3, true), ("west".into(), 1, true)]
        );
        board.post([ack("east", 5)]);
        board.post([ack("east", 9)]);
        assert_eq!(
            sent(&board.take(t0 + Duration::from_millis(10))),
            [("east".into(), 9, false)],
            "the newest waiting one only, not retained"
        );
        assert!(board.take(t0 + Duration::from_millis(20)).is_empty());
    }

    #[test]
    fn a_venue_gone_quiet_has_its_latest_acknowledgement_retained() {
        let board = board();
        let t0 = Instant::now();
        board.post([ack("east", 3)]);
        board.take(t0);
        let t1 = t0 + QUIET / 2;
        board.post([ack("east", 4)]);
        assert_eq!(sent(&board.take(t1)), [("east".into(), 4, false)]);
        assert!(board.take(t1 + QUIET / 2).is_empty(), "not quiet yet");
        assert_eq!(sent(&board.take(t1 + QUIET)), [("east".into(), 4, true)]);
        assert!(
            board.take(t1 + RETAIN_EVERY * 3).is_empty(),
            "retained copy current: nothing more"
        );
    }

    #[test]
    fn a_busy_venue_is_retained_once_per_interval() {
        let board = board();
        let t0 = Instant::now();
        let step_every = QUIET / 4;
        let steps = (RETAIN_EVERY.as_millis() / step_every.as_millis()) as u32 * 10;
        let mut retained = 0;
        for step in 0..steps {
            board.post([ack("east", u64::from(step) + 1)]);
            retained += board
                .take(t0 + step_every * step)
                .iter()
                .filter(|o| o.retain)
                .count();
        }
        assert_eq!(retained, 10, "{steps} acks over ten intervals");
    }

    #[test]
    fn a_new_connection_retains_every_current_acknowledgement_at_once() {
        let board = board();
        let t0 = Instant::now();
        board.post([ack("east", 3), ack("west", 1)]);
        board.take(t0);
        board.post([ack("east", 4)]);
        board.take(t0);
        board.repost_all();
        assert_eq!(
            sent(&board.take(t0)),
            [("east".into(), 4, true), ("west".into(), 1, true)]
        );
    }
}
