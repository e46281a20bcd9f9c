//! The five service stores of a node, each its own redb file in the data directory.

use std::path::Path;

use anyhow::Context;
use tix_core::auth::AuthStore;
use tix_core::expiration::ExpirationStore;
use tix_core::orders::OrdersStore;
use tix_core::outbox;
use tix_core::payments::PaymentsStore;
use tix_core::tickets::TicketsStore;

pub struct Stores {
    pub auth: AuthStore,
    pub tickets: TicketsStore,
    pub orders: OrdersStore,
    pub payments: PaymentsStore,
    pub expiration: ExpirationStore,
}

impl Stores {
    pub fn open(data_dir: &Path) -> anyhow::Result<Stores> {
        let path = |name: &str| data_dir.join(format!("{name}.redb"));
        Ok(Stores {
            auth: AuthStore::open(&path("auth")).context("opening auth store")?,
            tickets: TicketsStore::open(&path("tickets")).context("opening tickets store")?,
            orders: OrdersStore::open(&path("orders")).context("opening orders store")?,
            payments: PaymentsStore::open(&path("payments")).context("opening payments store")?,
            expiration: ExpirationStore::open(&path("expiration"))
                .context("opening expiration store")?,
        })
    }

    /// Every store's database, in the writer's fixed order.
    pub fn databases(&self) -> [&redb::Database; 5] {
        [
            self.auth.db(),
            self.tickets.db(),
            self.orders.db(),
            self.payments.db(),
            self.expiration.db(),
        ]
    }

    /// The highest event sequence any store wrote: the node's last sequence.
    pub fn last_seq(&self) -> Result<u64, redb::Error> {
        let mut last = 0;
        for db in self.databases() {
            last = last.max(outbox::positions(db)?.0);
        }
        Ok(last)
    }

    /// Events waiting in all outboxes.
    pub fn outbox_len(&self) -> Result<u64, redb::Error> {
        let mut total = 0;
        for db in self.databases() {
            total += outbox::len(db)?;
        }
        Ok(total)
    }
}
