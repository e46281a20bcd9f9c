//! The catch-up of a node restored from an older backup: the events it lost with its disk, put
//! back from the hub's copy into the store that wrote each one.
//!
//! Every event has one producing service (`producer`); `restore` makes that service's store hold
//! what the event describes, as the command that emitted it did, and the caller puts the event
//! back in that store's outbox under its own sequence number (`Unit::restore_event`). The other
//! services then react to it as they always do, with what their reactions emit forgotten
//! (`Unit::forget_emitted`): those events are among the ones being put back, under the numbers
//! they had. Each restore checks the state it moves from, so a catch-up cut short by a crash can
//! run again over what it already did.

use crate::auth::AuthStore;
use crate::door::DoorStore;
use crate::events::{DomainEvent as E, StoredEvent};
use crate::expiration::ExpirationStore;
use crate::orders::OrdersStore;
use crate::outbox::Unit;
use crate::payments::PaymentsStore;
use crate::reactions::Service;
use crate::shows::ShowsStore;
use crate::tickets::TicketsStore;

/// The service whose store wrote `event` into its outbox.
pub fn producer(event: &E) -> Service {
    match event {
        E::UserCreated(_) => Service::Auth,
        E::TicketCreated(_) | E::TicketUpdated(_) => Service::Tickets,
        E::OrderCreated(_) | E::OrderCancelled(_) | E::OrderCompleted(_) => Service::Orders,
        E::ExpirationComplete(_) => Service::Expiration,
        E::PaymentCreated(_) | E::PaymentRefunded(_) => Service::Payments,
        E::ShowCreated(_) | E::ShowSeats(_) | E::ShowUpdated(_) => Service::Shows,
        E::TicketAdmitted(_) | E::PassKey(_) => Service::Door,
    }
}

/// Applies `event` to its producer's store within `unit` (a transaction on that store).
pub fn restore(unit: &mut Unit, event: &StoredEvent) -> Result<(), redb::Error> {
    match &event.event {
        E::UserCreated(e) => AuthStore::restore(unit, e),
        E::TicketCreated(t) | E::TicketUpdated(t) => TicketsStore::restore(unit, t),
        E::ExpirationComplete(e) => ExpirationStore::restore(unit, e),
        _ => match producer(&event.event) {
            Service::Orders => OrdersStore::restore(unit, event),
            Service::Payments => PaymentsStore::restore(unit, event),
            Service::Shows => ShowsStore::restore(unit, event),
            Service::Door => DoorStore::restore(unit, event),
            Service::Auth | Service::Tickets | Service::Expiration => Ok(()),
        },
    }
}
