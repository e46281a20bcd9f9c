//! Which service reacts to which event, and how: the one copy of the rules that the node's writer
//! and the services' own tests follow.
//!
//! A service's store is changed in two ways: by the commands it owns (`OrdersStore::place` ...), and
//! by reacting to the events other services committed (`OrdersStore::react`). The reaction order of
//! `CONSUMERS` is fixed; each consumer sees only the events `reacts_to` lets through, so a replay
//! after a crash feeds exactly what the live path would have fed.

use crate::door::DoorStore;
use crate::events::{DomainEvent as E, StoredEvent};
use crate::expiration::ExpirationStore;
use crate::orders::OrdersStore;
use crate::outbox::Unit;
use crate::payments::PaymentsStore;
use crate::shows::ShowsStore;
use crate::tickets::TicketsStore;

/// A service of the node, named by the store it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Auth,
    Tickets,
    Orders,
    Payments,
    Expiration,
    Shows,
    Door,
}

/// The services that react to others' events, in the order they react.
pub const CONSUMERS: [Service; 6] = [
    Service::Tickets,
    Service::Orders,
    Service::Payments,
    Service::Expiration,
    Service::Shows,
    Service::Door,
];

impl Service {
    /// Where this service stands in `CONSUMERS`; `None` for a service that reacts to nothing.
    pub fn consumer_index(self) -> Option<usize> {
        CONSUMERS.iter().position(|c| *c == self)
    }

    /// Whether this service's store changes when `event` is committed.
    pub fn reacts_to(self, event: &StoredEvent) -> bool {
        match self {
            // An order of a show's units locks no listing of the tickets store.
            Service::Tickets => match &event.event {
                E::OrderCreated(e) => e.show.is_none(),
                E::OrderCancelled(e) => e.show.is_none(),
                _ => false,
            },
            // A ticket:updated that records a lock never changes title or price (a locked ticket
            // cannot be edited), so the orders replica only needs those without an orderId.
            Service::Orders => match &event.event {
                E::TicketUpdated(ticket) => ticket.order_id.is_none(),
                other => matches!(
                    other,
                    E::TicketCreated(_)
                        | E::ExpirationComplete(_)
                        | E::PaymentCreated(_)
                        | E::ShowCreated(_)
                        | E::ShowSeats(_)
                        | E::ShowUpdated(_)
                ),
            },
            Service::Payments | Service::Expiration => matches!(
                event.event,
                E::OrderCreated(_) | E::OrderCancelled(_) | E::OrderCompleted(_)
            ),
            Service::Shows => match &event.event {
                E::OrderCreated(e) => e.show.is_some(),
                E::OrderCancelled(e) => e.show.is_some(),
                E::OrderCompleted(e) => e.show.is_some(),
                _ => false,
            },
            Service::Door => matches!(
                event.event,
                E::ShowCreated(_)
                    | E::ShowUpdated(_)
                    | E::OrderCompleted(_)
                    | E::PaymentRefunded(_)
            ),
            Service::Auth => false,
        }
    }

    /// Applies `event` to this service's store within `unit` (a transaction on that store).
    /// Idempotent: each reaction checks the state it moves from.
    pub fn react(self, unit: &mut Unit, event: &StoredEvent) -> Result<(), redb::Error> {
        match self {
            Service::Tickets => TicketsStore::react(unit, event),
            Service::Orders => OrdersStore::react(unit, event),
            Service::Payments => PaymentsStore::react(unit, event),
            Service::Expiration => ExpirationStore::react(unit, event),
            Service::Shows => ShowsStore::react(unit, event),
            Service::Door => DoorStore::react(unit, event),
            Service::Auth => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_consumer_knows_its_place_and_auth_reacts_to_nothing() {
        for (index, consumer) in CONSUMERS.into_iter().enumerate() {
            assert_eq!(consumer.consumer_index(), Some(index));
        }
        assert_eq!(Service::Auth.consumer_index(), None);
    }
}
