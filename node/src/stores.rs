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
    /// Opens (or creates) the stores; each keeps at most `cache_bytes` of pages in memory, beyond
    /// which reads go to the operating system's page cache.
    pub fn open(data_dir: &Path, cache_bytes: usize) -> anyhow::Result<Stores> {
        let open = |name: &str| {
            let path = data_dir.join(format!("{name}.redb"));
            redb::Database::builder()
                .set_cache_size(cache_bytes)
                .create(&path)
                .with_context(|| format!("opening {}", path.display()))
        };
        Ok(Stores {
            auth: AuthStore::from_database(open("auth")?).context("preparing auth store")?,
            tickets: TicketsStore::from_database(open("tickets")?)
                .context("preparing tickets store")?,
            orders: OrdersStore::from_database(open("orders")?)
                .context("preparing orders store")?,
            payments: PaymentsStore::from_database(open("payments")?)
                .context("preparing payments store")?,
            expiration: ExpirationStore::from_database(open("expiration")?)
                .context("preparing expiration store")?,
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
