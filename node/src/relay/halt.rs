//! Why the relay stopped syncing for good, and the file in the data dir that remembers it.
//!
//! Invariant: the hub's acknowledgement of this venue and epoch can never be above what this copy
//! of the stores could have caused it to store: the events the stores held when the relay started
//! (earlier runs may have sent them all) and those this run has handed to the MQTT client. An ack
//! above that means the hub holds events this node does not: the data dir was restored from an
//! older copy (same epoch, lower sequence), and the sequence numbers the node writes from now on
//! name different events than the hub's. Trusting that ack would prune events the hub never stored,
//! and publishing would make the hub mix two timelines; so the relay stops, and says so in its log,
//! in `/healthz` and in `HALT_FILE`, which keeps it stopped across restarts until an operator acts.

use std::io;
use std::path::{Path, PathBuf};

/// The file in the data dir whose presence keeps sync stopped; it holds the reason.
pub const HALT_FILE: &str = "sync-halted";

/// Why sync is stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum Halt {
    #[error(
        "the hub has stored this venue's events up to sequence {hub}, but this node's stores held \
         only {held} when it started and it has sent nothing beyond {sent}: the data dir was \
         restored from an older copy (same epoch, lower sequence). Sync is stopped: no \
         acknowledgement is accepted, nothing is pruned or published until an operator acts"
    )]
    HubAhead { hub: u64, held: u64, sent: u64 },
    #[error("an earlier run stopped sync ({path}): {reason}")]
    Recorded { path: PathBuf, reason: String },
    #[error("cannot tell whether an earlier run stopped sync ({path}): {error}")]
    Unreadable { path: PathBuf, error: String },
}

impl Halt {
    /// Whether an acknowledgement of `hub` proves the stores went back in time, given the sequence
    /// they `held` when the relay started and the highest this run has `sent`.
    pub(super) fn check(hub: u64, held: u64, sent: u64) -> Result<(), Halt> {
        if hub > held.max(sent) {
            Err(Halt::HubAhead { hub, held, sent })
        } else {
            Ok(())
        }
    }
}

/// The halt recorded in `dir`, if any.
pub(super) fn recorded(dir: &Path) -> io::Result<Option<Halt>> {
    let path = dir.join(HALT_FILE);
    match std::fs::read_to_string(&path) {
        Ok(reason) => Ok(Some(Halt::Recorded {
            path,
            reason: reason.trim().to_owned(),
        })),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Records `halt` in `dir`, so that the next run stays stopped too.
pub(super) fn record(dir: &Path, halt: &Halt) -> io::Result<()> {
    std::fs::write(dir.join(HALT_FILE), format!("{halt}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(hub: u64, held: u64, sent: u64, halts: bool) {
        assert_eq!(Halt::check(hub, held, sent).is_err(), halts);
    }

    #[test]
    fn an_ack_within_what_the_stores_held_or_sent_is_trusted() {
        check(0, 0, 0, false);
        check(100, 100, 0, false);
        check(150, 100, 150, false);
        check(90, 100, 20, false);
    }

    #[test]
    fn an_ack_beyond_what_the_stores_held_and_sent_halts() {
        check(351, 51, 0, true);
        // Selling on after the restore does not make the hub's old timeline ours.
        check(351, 51, 200, true);
        check(101, 100, 100, true);
    }

    #[test]
    fn a_recorded_halt_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(recorded(dir.path()).unwrap(), None);
        let halt = Halt::HubAhead {
            hub: 351,
            held: 51,
            sent: 51,
        };
        record(dir.path(), &halt).unwrap();
        let Some(Halt::Recorded { path, reason }) = recorded(dir.path()).unwrap() else {
            panic!("no halt recorded");
        };
        assert_eq!(path, dir.path().join(HALT_FILE));
        assert_eq!(reason, halt.to_string());
    }
}
