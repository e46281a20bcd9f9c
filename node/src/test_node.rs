//! A node's stores and writer on test disks that fail or crash on cue, with the usual first steps
//! (list a ticket, order it), for unit tests of the writer and of what uses it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tix_core::auth::{AuthStore, User};
use tix_core::ids::{OrderId, TicketId, UserId};
use tix_core::orders::{OrdersStore, Placing};
use tix_core::reactions::Service;
use tix_core::tickets::{TicketDraft, TicketsStore};

use crate::clock::SystemClock;
use crate::stores::test_disk::TestDisk;
use crate::stores::{NAMES, Stores};
use crate::writer::{WriteError, Writer, WriterHandle, WriterSignals};

pub(crate) const SELLER: UserId = UserId(tix_core::ids::RawId([1; 12]));
pub(crate) const BUYER: UserId = UserId(tix_core::ids::RawId([2; 12]));

/// A writer on a test disk per store.
pub(crate) struct Fixture {
    pub(crate) disks: HashMap<&'static str, TestDisk>,
    pub(crate) stores: Arc<Stores>,
    pub(crate) signals: Arc<WriterSignals>,
    writer: Option<Writer>,
    handle: Option<WriterHandle>,
}

impl Fixture {
    pub(crate) fn new() -> Fixture {
        let disks = NAMES.map(|name| (name, TestDisk::default())).into();
        Fixture::on(disks)
    }

    pub(crate) fn on(disks: HashMap<&'static str, TestDisk>) -> Fixture {
        let stores = stores_on(&disks);
        let signals = Arc::new(WriterSignals::new());
        let (writer, handle) = Writer::start(
            stores.clone(),
            Arc::new(SystemClock),
            Duration::from_secs(900),
            signals.clone(),
        )
        .unwrap();
        Fixture {
            disks,
            stores,
            signals,
            writer: Some(writer),
            handle: Some(handle),
        }
    }

    pub(crate) fn handle(&self) -> &WriterHandle {
        self.handle.as_ref().unwrap()
    }

    /// What a power cut now would leave: the synced bytes of every disk, as a new node's disks.
    pub(crate) fn after_crash(&self) -> HashMap<&'static str, TestDisk> {
        self.disks
            .iter()
            .map(|(name, disk)| (*name, disk.after_crash()))
            .collect()
    }

    pub(crate) async fn sell_and_order(&self, n: u8) -> OrderId {
        let ticket = self.sell(n).await;
        let order = OrderId::from_bytes([n + 100; 12]);
        self.place(order, ticket).await.unwrap();
        order
    }

    /// Lists ticket `n` ("Show n").
    pub(crate) async fn sell(&self, n: u8) -> TicketId {
        let ticket = TicketId::from_bytes([n; 12]);
        let draft = draft(n);
        self.handle()
            .run(Service::Tickets, move |unit, _| {
                TicketsStore::create(unit, ticket, SELLER, draft)
            })
            .await
            .unwrap()
            .unwrap();
        ticket
    }

    /// Places `order` for `ticket`; the writer's error if its batch failed.
    pub(crate) async fn place(&self, order: OrderId, ticket: TicketId) -> Result<(), WriteError> {
        Fixture::place_with(self.handle(), order, ticket).await
    }

    /// Places `order` for `ticket` through `handle` (from a task of its own, say).
    pub(crate) async fn place_with(
        handle: &WriterHandle,
        order: OrderId,
        ticket: TicketId,
    ) -> Result<(), WriteError> {
        handle
            .run(Service::Orders, move |unit, context| {
                OrdersStore::place(unit, placing(order, ticket), context.now, context.lock_ttl)
            })
            .await
            .map(|placed| drop(placed.unwrap()))
    }

    pub(crate) async fn sign_up(&self, n: u8) -> Result<(), WriteError> {
        Fixture::sign_up_with(self.handle(), n).await
    }

    /// Signs up user `n` through `handle` (from a task of its own, say).
    pub(crate) async fn sign_up_with(handle: &WriterHandle, n: u8) -> Result<(), WriteError> {
        let user = user(n);
        handle
            .run(Service::Auth, move |unit, _| {
                AuthStore::sign_up(unit, user, false)
            })
            .await
            .map(|answer| drop(answer.unwrap()))
    }
}

/// Every store on `disks`, as a node opens them.
pub(crate) fn stores_on(disks: &HashMap<&'static str, TestDisk>) -> Arc<Stores> {
    let stores = Stores::from_databases(
        |name| Ok(redb::Database::builder().create_with_backend(disks[name].backend())?),
        7,
    )
    .unwrap();
    Arc::new(stores)
}

/// Ticket `n`'s listing: "Show n" at 20.
pub(crate) fn draft(n: u8) -> TicketDraft {
    TicketDraft {
        title: format!("Show {n}"),
        price: 20.0,
        details: Default::default(),
    }
}

/// `BUYER` orders `ticket`, with no cap on open orders.
pub(crate) fn placing(order: OrderId, ticket: TicketId) -> Placing {
    Placing {
        id: order,
        buyer: BUYER,
        ticket,
        max_open: None,
    }
}

/// User `n`, `n@example.com`, no roles.
pub(crate) fn user(n: u8) -> User {
    User {
        id: UserId::from_bytes([n; 12]),
        email: format!("{n}@example.com"),
        password_hash: String::new(),
        staff: false,
        door: false,
    }
}

impl Fixture {
    /// A command that meets a store fault (not an I/O error): its batch fails and is rolled back.
    pub(crate) async fn fault(&self) -> Result<(), WriteError> {
        self.handle()
            .run(Service::Auth, |_, _| -> Result<(), redb::Error> {
                Err(redb::Error::Corrupted("a fault for the test".into()))
            })
            .await
            .map(|answer| answer.unwrap())
    }

    /// Stops the writer and starts a new one on the same disks, as a process restart would.
    pub(crate) fn restart(mut self) -> Fixture {
        drop(self.handle.take());
        if let Some(writer) = self.writer.take() {
            writer.join();
        }
        Fixture::on(self.disks.clone())
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        drop(self.handle.take());
        if let Some(writer) = self.writer.take() {
            writer.join();
        }
    }
}
