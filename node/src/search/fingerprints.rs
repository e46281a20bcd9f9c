//! What the index holds of each ticket, as a fingerprint by listing position: a lock or a release
//! that leaves a ticket's searchable fields as they were only flips its availability bit.
//!
//! Locks and releases are most of the ticket events (every order locks, every expiry releases), and
//! rewriting a document for each kept the index's writer and merges busy with copies of what it
//! already held. A fingerprint of 0 means "not known": the ticket is indexed again.

use std::hash::{Hash, Hasher};

use tix_core::tickets::Ticket;

#[derive(Default)]
pub(super) struct Fingerprints(Vec<u64>);

impl Fingerprints {
    /// Notes what the index now holds for `ticket`.
    pub(super) fn record(&mut self, ticket: &Ticket) {
        let Ok(at) = usize::try_from(ticket.listing) else {
            return;
        };
        if self.0.len() <= at {
            self.0.resize(at + 1, 0);
        }
        self.0[at] = fingerprint(ticket);
    }

    /// Whether the index holds `ticket`'s searchable fields as they are.
    pub(super) fn unchanged(&self, ticket: &Ticket) -> bool {
        usize::try_from(ticket.listing)
            .ok()
            .and_then(|at| self.0.get(at))
            .is_some_and(|&known| known == fingerprint(ticket))
    }

    /// Forgets everything (before the index is filled again).
    pub(super) fn clear(&mut self) {
        self.0.clear();
    }
}

/// A hash of what the index holds of a ticket; never 0.
fn fingerprint(ticket: &Ticket) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    ticket.id.as_bytes().hash(&mut hasher);
    ticket.title.hash(&mut hasher);
    ticket.price.to_bits().hash(&mut hasher);
    let details = &ticket.details;
    for part in [
        &details.show,
        &details.venue,
        &details.starts_at,
        &details.seat,
    ] {
        part.hash(&mut hasher);
    }
    hasher.finish().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tix_core::ids::{OrderId, TicketId, UserId};
    use tix_core::tickets::TicketDetails;

    fn ticket(listing: u64, title: &str) -> Ticket {
        Ticket {
            id: TicketId::from_bytes([listing as u8; 12]),
            title: title.into(),
            price: 20.0,
            user_id: UserId::from_bytes([9; 12]),
            order_id: None,
            version: 0,
            listing,
            details: TicketDetails::default(),
        }
    }

    #[test]
    fn locks_and_releases_leave_a_ticket_unchanged_edits_do_not() {
        let mut known = Fingerprints::default();
        let mut jazz = ticket(3, "Jazz Night");
        assert!(!known.unchanged(&jazz), "never indexed");
        known.record(&jazz);
        jazz.order_id = Some(OrderId::from_bytes([1; 12]));
        jazz.version += 1;
        assert!(known.unchanged(&jazz), "a lock");
        jazz.order_id = None;
        jazz.version += 1;
        assert!(known.unchanged(&jazz), "a release");
        jazz.price = 25.0;
        assert!(!known.unchanged(&jazz), "a new price");
        known.record(&jazz);
        jazz.details.seat = Some("Row A".into());
        assert!(!known.unchanged(&jazz), "a seat added");
        assert!(
            !known.unchanged(&ticket(7, "Jazz Night")),
            "another listing"
        );
        known.clear();
        assert!(!known.unchanged(&ticket(3, "Jazz Night")));
    }
}
