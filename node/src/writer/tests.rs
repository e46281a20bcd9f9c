//! The writer against disks that fail or crash on cue: what a command is told when storage fails
//! around its batch, and what survives a power cut after a failed write.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tix_core::auth::{AuthStore, User};
use tix_core::events::OrderStatus;
use tix_core::ids::{OrderId, PaymentId, TicketId, UserId};
use tix_core::orders::OrdersStore;
use tix_core::payments::PaymentsStore;
use tix_core::reactions::Service;
use tix_core::tickets::{TicketDraft, TicketsStore};

use super::{Committed, Writer, WriterHandle, WriterSignals};
use crate::clock::SystemClock;
use crate::stores::Stores;
use crate::stores::test_disk::TestDisk;

const NAMES: [&str; 5] = ["auth", "tickets", "orders", "payments", "expiration"];
const SELLER: UserId = UserId(tix_core::ids::RawId([1; 12]));
const BUYER: UserId = UserId(tix_core::ids::RawId([2; 12]));

/// A writer on five test disks.
struct Fixture {
    disks: HashMap<&'static str, TestDisk>,
    stores: Arc<Stores>,
    writer: Option<Writer>,
    handle: Option<WriterHandle>,
}

impl Fixture {
    fn new() -> Fixture {
        let disks = NAMES.map(|name| (name, TestDisk::default())).into();
        Fixture::on(disks)
    }

    fn on(disks: HashMap<&'static str, TestDisk>) -> Fixture {
        let stores = Stores::from_databases(
            |name| Ok(redb::Database::builder().create_with_backend(disks[name].backend())?),
            7,
        )
        .unwrap();
        let stores = Arc::new(stores);
        let (writer, handle) = Writer::start(
            stores.clone(),
            Arc::new(SystemClock),
            Duration::from_secs(900),
            Arc::new(WriterSignals::new()),
        )
        .unwrap();
        Fixture {
            disks,
            stores,
            writer: Some(writer),
            handle: Some(handle),
        }
    }

    fn handle(&self) -> &WriterHandle {
        self.handle.as_ref().unwrap()
    }

    /// What a power cut now would leave: the synced bytes of every disk, as a new node's disks.
    fn after_crash(&self) -> HashMap<&'static str, TestDisk> {
        self.disks
            .iter()
            .map(|(name, disk)| (*name, disk.after_crash()))
            .collect()
    }

    async fn sell_and_order(&self, n: u8) -> OrderId {
        let ticket = TicketId::from_bytes([n; 12]);
        let draft = TicketDraft {
            title: format!("Show {n}"),
            price: 20.0,
            details: Default::default(),
        };
        self.handle()
            .run(Service::Tickets, move |unit, _| {
                TicketsStore::create(unit, ticket, SELLER, draft)
            })
            .await
            .unwrap()
            .unwrap();
        let order = OrderId::from_bytes([n + 100; 12]);
        self.handle()
            .run(Service::Orders, move |unit, context| {
                OrdersStore::place(unit, order, BUYER, ticket, context.now, context.lock_ttl)
            })
            .await
            .unwrap()
            .unwrap();
        order
    }

    async fn sign_up(&self, n: u8) -> Result<(), super::WriteError> {
        let user = User {
            id: UserId::from_bytes([n; 12]),
            email: format!("{n}@example.com"),
            password_hash: String::new(),
            staff: false,
        };
        self.handle()
            .run(Service::Auth, move |unit, _| {
                AuthStore::sign_up(unit, user, false)
            })
            .await
            .map(|answer| drop(answer.unwrap()))
    }
}

impl Fixture {
    /// A command that meets a store fault (not an I/O error): its batch fails and is rolled back.
    async fn fault(&self) -> Result<(), super::WriteError> {
        self.handle()
            .run(Service::Auth, |_, _| -> Result<(), redb::Error> {
                Err(redb::Error::Corrupted("a fault for the test".into()))
            })
            .await
            .map(|answer| answer.unwrap())
    }

    /// Stops the writer and starts a new one on the same disks, as a process restart would.
    fn restart(mut self) -> Fixture {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_whose_batch_committed_is_answered_with_its_result_when_a_reaction_fails() {
    let node = Fixture::new();
    let order = node.sell_and_order(1).await;

    // The payment commits in the payments store; the orders store then fails to react to it.
    node.disks["orders"].set_failing(true);
    let payment = PaymentId::from_bytes([9; 12]);
    let answer = node
        .handle()
        .run(Service::Payments, move |unit, context| {
            PaymentsStore::record(unit, payment, order, BUYER, "pi_1", context.now)
        })
        .await;
    let recorded = answer.expect("the payment committed, so its answer is the payment");
    assert_eq!(recorded.unwrap().id, payment);
    assert!(
        node.stores
            .payments
            .payment_for_order(order)
            .unwrap()
            .is_some()
    );

    // redb refuses a store's writes after an I/O error until it is reopened: once the disk works
    // again, a restart replays the reaction that failed.
    node.disks["orders"].set_failing(false);
    let node = node.restart();
    let status = node.stores.orders.get(order).unwrap().unwrap().status;
    assert_eq!(status, OrderStatus::Complete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_failed_to_commit_is_answered_as_not_committed_or_unknown() {
    let node = Fixture::new();
    let refused = node.fault().await.unwrap_err();
    assert_eq!(refused.committed(), Committed::No, "{refused}");
    node.sign_up(4).await.unwrap();

    node.disks["auth"].set_failing(true);
    let failed = node.sign_up(3).await.unwrap_err();
    assert_eq!(failed.committed(), Committed::Unknown, "{failed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_after_a_failed_write_never_removes_what_a_crash_would_need_to_replay() {
    let node = Fixture::new();
    // The payments store follows this order with a reaction that emits nothing: committed, but not
    // made durable (a restart would replay it from the orders outbox).
    let first = node.sell_and_order(1).await;
    // A write fails; the writer reloads its positions from the stores before the next batch.
    node.fault().await.unwrap_err();
    // The hub has everything: prune as far as the writer allows.
    let last = node.stores.last_seq().unwrap();
    node.handle().prune(last).await.unwrap();
    // A later durable commit of the orders store makes its pruning durable too.
    node.sell_and_order(2).await;

    let survivor = Fixture::on(node.after_crash());
    assert!(
        survivor.stores.payments.order(first).unwrap().is_some(),
        "the payments store lost its replica of an order whose events were pruned"
    );
}
