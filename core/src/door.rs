//! The door: which sold tickets may come in, and letting each in once.
//!
//! The door service keeps its own replica of what it needs (it reacts to `show:created`,
//! `show:updated`, `order:completed` and `payment:refunded`): every sold ticket with its order,
//! show and unit, whether its money was given back, and its admission. A scan is one command on
//! this store, so the node's single writer makes admissions atomic: of any number of scans of
//! one ticket, exactly one is `Admitted`.
//!
//! Invariants:
//! - a ticket is admitted at most once; later scans answer with the first admission;
//! - an admission reported by a scanner that was offline is never refused after the fact (the
//!   holder is inside): if the node would not have admitted it, it is kept as a `Conflict` for the
//!   door manager instead;
//! - a scan carrying a scan id already recorded answers as it did the first time, so a scanner
//!   may resend its queue after any failure;
//! - counts (`sold`, `admitted`) move in the same transaction as the entries they count.
//!
//! The store also keeps the queue of paid orders whose passes are still to be emailed
//! (`deliveries`).
//!
//! Signatures are checked before a scan gets here (`crate::passes`); this module never reads the
//! clock: the scan's time is passed in.

mod deliveries;
mod store;

pub(crate) use deliveries::index_due;

use serde::{Deserialize, Serialize};

use crate::ids::{OrderId, ShowId, TicketId, UserId};
use crate::passes::{OutsideWindow, Pass, Scope, Window};
use crate::time::Millis;

pub use self::deliveries::Delivery;
pub use self::store::DoorStore;

const HOUR_MS: u64 = 3_600_000;
/// A show's passes open this long before its doors (or its start, if earlier).
pub const OPENS_BEFORE_MS: u64 = 6 * HOUR_MS;
/// A show without an end time is taken to last this long.
pub const ASSUMED_LENGTH_MS: u64 = 4 * HOUR_MS;
/// A show's passes close this long after its end.
pub const CLOSES_AFTER_MS: u64 = 2 * HOUR_MS;
/// The longest gate name kept.
pub const GATE_MAX_CHARS: usize = 40;

/// A sold ticket as the door knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub order: OrderId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show: Option<ShowId>,
    #[serde(default)]
    pub unit: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<u16>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refunded: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admitted: Option<Admission>,
    /// Admitted, then scanned out at a show with re-entry: may come back in.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outside: bool,
}

impl Entry {
    /// What this ticket's pass says, given its show as the door knows it now.
    pub fn pass(&self, ticket: TicketId, show: Option<&DoorShow>) -> Pass {
        let scope = match self.show {
            Some(show) => Scope::Show {
                show,
                unit: self.unit,
            },
            None => Scope::Listing,
        };
        Pass {
            ticket,
            order: self.order,
            scope,
            window: show.map_or(Window::ALWAYS, DoorShow::window),
        }
        .rounded()
    }
}

/// One admission: when, where, by whom, and whether the scanner was offline then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admission {
    pub at: Millis,
    pub gate: String,
    pub by: UserId,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub offline: bool,
    /// The scanner's own id for this scan, when it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<String>,
}

/// A show as the door needs it: its name and times, and whether it was cancelled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoorShow {
    pub title: String,
    pub starts_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doors_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cancelled: bool,
    /// Re-entry: a ticket scanned out may come back in.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reentry: bool,
}

impl DoorShow {
    /// When the show's passes may be used: from `OPENS_BEFORE_MS` before the doors (or the start)
    /// until `CLOSES_AFTER_MS` after the end.
    pub fn window(&self) -> Window {
        let opens = self
            .doors_at
            .map_or(self.starts_at, |d| d.min(self.starts_at));
        let ends = self
            .ends_at
            .unwrap_or(Millis(self.starts_at.0 + ASSUMED_LENGTH_MS));
        Window {
            from: Millis(opens.0.saturating_sub(OPENS_BEFORE_MS)),
            until: Some(Millis(ends.0 + CLOSES_AFTER_MS)),
        }
        .rounded()
    }
}

/// Tickets of a show (or of the marketplace) sold and admitted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub sold: u32,
    pub admitted: u32,
}

/// A scan of a verified pass at a gate.
#[derive(Debug, Clone)]
pub struct Scan {
    pub pass: Pass,
    pub gate: String,
    pub by: UserId,
    /// When the ticket was scanned: now, or the moment an offline scanner let it in.
    pub at: Millis,
    /// The scanner was offline and already let the holder in.
    pub offline: bool,
    pub scan_id: Option<String>,
    /// The show this gate admits to, if it admits to one only.
    pub for_show: Option<ShowId>,
    /// A scan out of the venue (at a show with re-entry), not in.
    pub exit: bool,
}

/// The door's answer to a scan.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Admitted(Admission),
    /// Admitted before; `conflict` when this scan came from an offline scanner that let the
    /// holder in too.
    AlreadyAdmitted {
        first: Admission,
        conflict: bool,
    },
    /// The ticket's money was given back; `conflict` as above.
    Refunded {
        conflict: bool,
    },
    /// The pass is for another show than the gate's (`None`: a marketplace listing).
    WrongShow {
        show: Option<ShowId>,
    },
    /// Too early or too late for the pass, or its show was cancelled.
    NotValidNow {
        window: Window,
        why: NotNow,
    },
    /// Signed by this node, but no sale of its ticket is on record here.
    Unknown,
    /// Scanned out at a show with re-entry (`already`: it was out before this scan).
    Exited {
        admission: Admission,
        already: bool,
    },
    /// Back in after being scanned out; `first` is the ticket's first admission.
    Readmitted {
        first: Admission,
    },
    /// A scan out at a show without re-entry.
    NoReentry,
    /// A scan out of a ticket that was never let in.
    NotInside,
}

/// Why a pass is not valid now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotNow {
    Early,
    Late,
    Cancelled,
}

impl From<OutsideWindow> for NotNow {
    fn from(outside: OutsideWindow) -> NotNow {
        match outside {
            OutsideWindow::Early => NotNow::Early,
            OutsideWindow::Late => NotNow::Late,
        }
    }
}

/// An admission an offline scanner made that the node would have refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    pub ticket: TicketId,
    pub order: OrderId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show: Option<ShowId>,
    /// The admission on record when the offline one was reported; `None` for a refunded ticket
    /// nobody had admitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<Admission>,
    /// The offline scanner's admission.
    pub second: Admission,
    pub reason: ConflictReason,
    pub reported_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictReason {
    AlreadyAdmitted,
    Refunded,
}
