//! The writer's part of a catch-up from the hub (see `tix_core::recovery`): pages of events this
//! node lost with its disk, put back in sequence order, each page in one transaction per store.
//!
//! Invariant: a page commits every store with the page's last sequence as its `caught_up`
//! position; a crash between two of those commits leaves some stores a page behind, and the next
//! start resumes from the lowest position. Every step checks the state it moves from (a producer
//! skips an event its outbox holds, a consumer one at or below its applied position), so the page
//! runs again safely.

use tix_core::events::StoredEvent;
use tix_core::outbox::{self, Unit};
use tix_core::reactions::{CONSUMERS, Service};
use tix_core::recovery;

use super::State;
use crate::writer::command::{Stage, WriteFailed};

/// Every service, in the order their units commit.
const SERVICES: [Service; 7] = [
    Service::Auth,
    Service::Tickets,
    Service::Orders,
    Service::Payments,
    Service::Expiration,
    Service::Shows,
    Service::Door,
];

impl State {
    /// Where a catch-up resumes: the lowest position any store recorded; with `fresh`, this is
    /// a new catch-up, and every store starts from the node's last sequence.
    pub(in crate::writer) fn catch_up_position(&mut self, fresh: bool) -> Result<u64, WriteFailed> {
        self.ready()?;
        let stores = self.stores.clone();
        let position = (|| -> Result<u64, redb::Error> {
            let last = stores.last_seq()?;
            if fresh {
                for service in SERVICES {
                    let unit = Unit::begin(stores.db(service))?;
                    outbox::set_caught_up(&unit, last)?;
                    unit.commit(0, self.clock.now())?;
                }
            }
            let mut lowest = u64::MAX;
            for db in stores.databases() {
                lowest = lowest.min(outbox::caught_up(db)?.unwrap_or(last));
            }
            Ok(lowest)
        })();
        position.map_err(|e| WriteFailed::new(Stage::Commit, e))
    }

    /// Puts a page of events back (contiguous, in order, starting at or below the resume position)
    /// and moves the writer's positions past it. Answers the page's last sequence.
    pub(in crate::writer) fn catch_up(
        &mut self,
        events: Vec<StoredEvent>,
    ) -> Result<u64, WriteFailed> {
        self.ready()?;
        let last = self.put_back(&events).map_err(|e| {
            self.needs_resync = true;
            WriteFailed::new(Stage::Commit, e)
        })?;
        // Every store committed the page durably, each consumer at `last`.
        self.next_seq = self.next_seq.max(last + 1);
        for (applied, persisted) in self.applied.iter_mut().zip(self.persisted.iter_mut()) {
            *applied = (*applied).max(last);
            *persisted = (*persisted).max(last);
        }
        self.signals
            .last_seq
            .store(self.next_seq - 1, std::sync::atomic::Ordering::Release);
        self.announce();
        Ok(last)
    }

    fn put_back(&mut self, events: &[StoredEvent]) -> Result<u64, redb::Error> {
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(self.next_seq - 1);
        };
        let mut units = SERVICES
            .iter()
            .map(|service| Unit::begin(self.stores.db(*service)))
            .collect::<Result<Vec<Unit>, _>>()?;
        let unit_of = |service: Service| {
            SERVICES
                .iter()
                .position(|s| *s == service)
                .expect("every service has a unit")
        };
        for event in events {
            let producer = &mut units[unit_of(recovery::producer(&event.event))];
            if !producer.holds_event(event.seq)? {
                recovery::restore(producer, event)?;
                producer.restore_event(event.clone());
            }
            for (consumer, applied) in CONSUMERS.into_iter().zip(self.applied) {
                if event.seq > applied && consumer.reacts_to(event) {
                    consumer.react(&mut units[unit_of(consumer)], event)?;
                }
            }
        }
        let now = self.clock.now();
        for (service, mut unit) in SERVICES.into_iter().zip(units) {
            unit.forget_emitted();
            if service.consumer_index().is_some() {
                unit.mark_applied(last);
            }
            outbox::set_caught_up(&unit, last)?;
            unit.commit(0, now)?;
        }
        Ok(last)
    }
}
