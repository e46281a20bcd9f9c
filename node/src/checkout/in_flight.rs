//! Which payments and refunds a live request is working on, so the reconciler leaves them alone.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tix_core::ids::{OrderId, PaymentId};

/// A piece of money work: a card attempt, or the refund of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Work {
    Attempt(PaymentId),
    Refund(OrderId),
}

/// The work held right now; a hold ends when its guard is dropped.
#[derive(Default)]
pub(crate) struct InFlight {
    held: Arc<Mutex<HashSet<Work>>>,
}

/// Releases a hold when dropped.
pub(crate) struct Hold {
    held: Arc<Mutex<HashSet<Work>>>,
    work: Work,
}

impl InFlight {
    /// Holds `work` for a live request (which may overlap another request on the same work: each
    /// step is idempotent, the hold only keeps the reconciler away).
    pub(crate) fn hold(&self, work: Work) -> Hold {
        self.lock().insert(work);
        Hold {
            held: self.held.clone(),
            work,
        }
    }

    /// Holds `work` unless something holds it already.
    pub(crate) fn try_hold(&self, work: Work) -> Option<Hold> {
        self.lock().insert(work).then(|| Hold {
            held: self.held.clone(),
            work,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<Work>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.work);
    }
}
