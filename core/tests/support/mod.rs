//! What the core test binaries share: in-memory stores for every service and the writer's
//! commit-then-react loop in miniature, passing events between services as the node's writer does.

#![allow(dead_code)]

use redb::Database;
use redb::backends::InMemoryBackend;
use tix_core::door::DoorStore;
use tix_core::events::StoredEvent;
use tix_core::expiration::ExpirationStore;
use tix_core::orders::OrdersStore;
use tix_core::outbox::Unit;
use tix_core::payments::PaymentsStore;
use tix_core::reactions::{CONSUMERS, Service};
use tix_core::recovery;
use tix_core::shows::ShowsStore;
use tix_core::tickets::TicketsStore;
use tix_core::time::Millis;

pub(crate) fn memory() -> Database {
    Database::builder()
        .create_with_backend(InMemoryBackend::new())
        .unwrap()
}

pub(crate) fn id(n: u8) -> [u8; 12] {
    [n; 12]
}

/// The stores of the services that react, and a sequence counter.
pub(crate) struct Node {
    pub(crate) tickets: TicketsStore,
    pub(crate) orders: OrdersStore,
    pub(crate) payments: PaymentsStore,
    pub(crate) expiration: ExpirationStore,
    pub(crate) shows: ShowsStore,
    pub(crate) door: DoorStore,
    pub(crate) next_seq: u64,
    pub(crate) log: Vec<StoredEvent>,
    /// The commit time events are stamped with (the node's writer stamps its `now`).
    pub(crate) at: Millis,
}

impl Node {
    pub(crate) fn new() -> Node {
        Node {
            tickets: TicketsStore::from_database(memory()).unwrap(),
            orders: OrdersStore::from_database(memory()).unwrap(),
            payments: PaymentsStore::from_database(memory()).unwrap(),
            expiration: ExpirationStore::from_database(memory()).unwrap(),
            shows: ShowsStore::from_database(memory()).unwrap(),
            door: DoorStore::from_database(memory()).unwrap(),
            next_seq: 1,
            log: Vec::new(),
            at: Millis(0),
        }
    }

    pub(crate) fn db(&self, service: Service) -> &Database {
        match service {
            Service::Tickets => self.tickets.db(),
            Service::Orders => self.orders.db(),
            Service::Payments => self.payments.db(),
            Service::Expiration => self.expiration.db(),
            Service::Shows => self.shows.db(),
            Service::Door => self.door.db(),
            Service::Auth => unreachable!("the auth store reacts to nothing"),
        }
    }

    pub(crate) fn commit(&mut self, unit: Unit) -> Vec<StoredEvent> {
        let events = unit.commit(self.next_seq, self.at).unwrap();
        self.next_seq += events.len() as u64;
        self.log.extend(events.iter().cloned());
        events
    }

    /// Delivers events to every service until nothing new is emitted.
    pub(crate) fn react(&mut self, mut events: Vec<StoredEvent>) {
        while !events.is_empty() {
            let mut emitted = Vec::new();
            for consumer in CONSUMERS {
                let mut unit = Unit::begin(self.db(consumer)).unwrap();
                for event in events.iter().filter(|e| consumer.reacts_to(e)) {
                    consumer.react(&mut unit, event).unwrap();
                }
                emitted.extend(self.commit(unit));
            }
            events = emitted;
        }
    }

    /// Runs `work` in one transaction on `service`'s store, commits, and lets the others react.
    pub(crate) fn run<T>(&mut self, service: Service, work: impl FnOnce(&mut Unit) -> T) -> T {
        let mut unit = Unit::begin(self.db(service)).unwrap();
        let result = work(&mut unit);
        let events = self.commit(unit);
        self.react(events);
        result
    }

    /// Puts back `events` (another node's log) as a restored node's catch-up does: each into its
    /// producer's store under its own number, the consumers reacting with what they emit forgotten.
    pub(crate) fn catch_up(&mut self, events: &[StoredEvent]) {
        for event in events {
            let producer = recovery::producer(&event.event);
            let mut unit = Unit::begin(self.db(producer)).unwrap();
            if !unit.holds_event(event.seq).unwrap() {
                recovery::restore(&mut unit, event).unwrap();
                unit.restore_event(event.clone());
            }
            unit.commit(0, Millis(0)).unwrap();
            // As the writer does: a consumer reacts only to what is beyond its applied position.
            for consumer in CONSUMERS.into_iter().filter(|c| c.reacts_to(event)) {
                let applied = tix_core::outbox::positions(self.db(consumer)).unwrap().1;
                if event.seq <= applied {
                    continue;
                }
                let mut unit = Unit::begin(self.db(consumer)).unwrap();
                consumer.react(&mut unit, event).unwrap();
                unit.forget_emitted();
                unit.mark_applied(event.seq);
                unit.commit(0, Millis(0)).unwrap();
            }
            self.next_seq = event.seq + 1;
            self.log.push(event.clone());
        }
    }
}
