//! The seven service stores of a node, each its own redb file in the data directory.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use anyhow::Context;
use tix_core::auth::AuthStore;
use tix_core::door::DoorStore;
use tix_core::events::StoredEvent;
use tix_core::expiration::ExpirationStore;
use tix_core::orders::OrdersStore;
use tix_core::outbox;
use tix_core::payments::PaymentsStore;
use tix_core::reactions::Service;
use tix_core::shows::ShowsStore;
use tix_core::store_version::{self, Opened};
use tix_core::tickets::TicketsStore;
use tracing::info;

mod counted;
#[cfg(test)]
pub(crate) mod test_disk;

/// Each store's file name in the data dir (without `.redb`), in the writer's fixed order.
pub const NAMES: [&str; 7] = [
    "auth",
    "tickets",
    "orders",
    "payments",
    "expiration",
    "shows",
    "door",
];

pub struct Stores {
    pub auth: AuthStore,
    pub tickets: TicketsStore,
    pub orders: OrdersStore,
    pub payments: PaymentsStore,
    pub expiration: ExpirationStore,
    pub shows: ShowsStore,
    pub door: DoorStore,
    /// Random, fixed when the stores are created; names this incarnation of the node's sequence.
    pub epoch: u64,
    /// How many times the store files were synced to the disk since they were opened (counted
    /// when they are opened by `open`).
    pub syncs: Arc<AtomicU64>,
}

impl Stores {
    /// Opens (or creates) the stores; each keeps at most `cache_bytes` of pages in memory, beyond
    /// which reads go to the operating system's page cache.
    ///
    /// `epoch_candidate` becomes the epoch if the stores are new.
    pub fn open(
        data_dir: &Path,
        cache_bytes: usize,
        epoch_candidate: u64,
    ) -> anyhow::Result<Stores> {
        let syncs = Arc::new(AtomicU64::new(0));
        let open = |name: &str| {
            let path = data_dir.join(format!("{name}.redb"));
            counted::open(&path, cache_bytes, syncs.clone())
                .with_context(|| format!("opening {}", path.display()))
        };
        let mut stores = Stores::from_databases(open, epoch_candidate)?;
        stores.syncs = syncs;
        Ok(stores)
    }

    /// Prepares the stores on the databases `open` gives for each store's name.
    ///
    /// Every store's schema version is checked first: a data dir with a store from a newer build
    /// is refused whole, an older one is brought up to date (`store_version`).
    pub fn from_databases(
        open: impl Fn(&str) -> anyhow::Result<redb::Database>,
        epoch_candidate: u64,
    ) -> anyhow::Result<Stores> {
        let databases = NAMES
            .iter()
            .map(|name| open(name))
            .collect::<anyhow::Result<Vec<_>>>()?;
        for (name, db) in NAMES.iter().zip(&databases) {
            store_version::refuse_newer(db, name)?;
        }
        for (name, db) in NAMES.iter().zip(&databases) {
            if let Opened::Upgraded { from } = store_version::open(db, name)? {
                info!(
                    store = name,
                    from,
                    to = store_version::CURRENT,
                    "store schema upgraded"
                );
            }
        }
        let mut databases = databases.into_iter();
        let mut next = || databases.next().context("a store for every name");
        let auth = AuthStore::from_database(next()?).context("preparing auth store")?;
        let epoch = outbox::epoch(auth.db(), epoch_candidate).context("reading the store epoch")?;
        Ok(Stores {
            epoch,
            auth,
            tickets: TicketsStore::from_database(next()?).context("preparing tickets store")?,
            orders: OrdersStore::from_database(next()?).context("preparing orders store")?,
            payments: PaymentsStore::from_database(next()?).context("preparing payments store")?,
            expiration: ExpirationStore::from_database(next()?)
                .context("preparing expiration store")?,
            shows: ShowsStore::from_database(next()?).context("preparing shows store")?,
            door: DoorStore::from_database(next()?).context("preparing door store")?,
            syncs: Arc::default(),
        })
    }

    /// The database `service` writes.
    pub fn db(&self, service: Service) -> &redb::Database {
        match service {
            Service::Auth => self.auth.db(),
            Service::Tickets => self.tickets.db(),
            Service::Orders => self.orders.db(),
            Service::Payments => self.payments.db(),
            Service::Expiration => self.expiration.db(),
            Service::Shows => self.shows.db(),
            Service::Door => self.door.db(),
        }
    }

    /// Every store's database, in the writer's fixed order.
    pub fn databases(&self) -> [&redb::Database; 7] {
        [
            self.auth.db(),
            self.tickets.db(),
            self.orders.db(),
            self.payments.db(),
            self.expiration.db(),
            self.shows.db(),
            self.door.db(),
        ]
    }

    /// Every store's database with its file name (without `.redb`), in the writer's fixed order.
    pub fn named_databases(&self) -> [(&'static str, &redb::Database); 7] {
        let databases = self.databases();
        std::array::from_fn(|i| (NAMES[i], databases[i]))
    }

    /// The highest event sequence any store wrote: the node's last sequence.
    pub fn last_seq(&self) -> Result<u64, redb::Error> {
        let mut last = 0;
        for db in self.databases() {
            last = last.max(outbox::positions(db)?.0);
        }
        Ok(last)
    }

    /// The node's events with `seq > after`, in sequence order, at most `limit`: the seven outboxes
    /// merged. Stops before the first missing number, so what it returns is always contiguous.
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, redb::Error> {
        let mut events = Vec::new();
        for db in self.databases() {
            events.extend(outbox::read_after(db, after, limit)?);
        }
        events.sort_by_key(|e| e.seq);
        let through = contiguous_through(events.iter().map(|e| e.seq), after, limit);
        events.truncate((through - after) as usize);
        Ok(events)
    }

    /// Like `events_after`, but only the events `service` wrote, with the last number of the
    /// contiguous stretch they were taken from (`after` when there is none): the other outboxes
    /// are read for their numbers only, their events not decoded. For a reader that follows one
    /// service's events in the node's order.
    pub fn events_of_after(
        &self,
        service: Service,
        after: u64,
        limit: usize,
    ) -> Result<(Vec<StoredEvent>, u64), redb::Error> {
        let mut events = outbox::read_after(self.db(service), after, limit)?;
        let mut seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
        for db in self.databases() {
            if !std::ptr::eq(db, self.db(service)) {
                seqs.extend(outbox::seqs_after(db, after, limit)?);
            }
        }
        seqs.sort_unstable();
        let through = contiguous_through(seqs.into_iter(), after, limit);
        events.retain(|e| e.seq <= through);
        Ok((events, through))
    }

    /// Every event at or below this was acknowledged by the hub and pruned from the outboxes.
    pub fn pruned_through(&self) -> Result<u64, redb::Error> {
        let mut pruned = 0;
        for db in self.databases() {
            pruned = pruned.max(outbox::pruned(db)?);
        }
        Ok(pruned)
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

/// The last of `seqs` (sorted) that follow `after` without a gap, at most `limit` of them;
/// `after` when the first does not follow it.
fn contiguous_through(seqs: impl Iterator<Item = u64>, after: u64, limit: usize) -> u64 {
    seqs.zip(after + 1..)
        .take(limit)
        .take_while(|(seq, expected)| seq == expected)
        .last()
        .map_or(after, |(seq, _)| seq)
}

#[cfg(test)]
mod tests {
    use tix_core::auth::{AuthStore, User};
    use tix_core::ids::UserId;
    use tix_core::outbox::Unit;
    use tix_core::time::Millis;

    use super::Stores;

    fn sign_up(stores: &Stores, n: u8, seq: u64) {
        let mut unit = Unit::begin(stores.auth.db()).unwrap();
        let user = User {
            id: UserId::from_bytes([n; 12]),
            email: format!("{n}@x.io"),
            password_hash: String::new(),
            staff: false,
            door: false,
        };
        AuthStore::sign_up(&mut unit, user, false).unwrap();
        unit.commit(seq, Millis(0)).unwrap();
    }

    fn list_ticket(stores: &Stores, n: u8, seq: u64) {
        let mut tickets = Unit::begin(stores.tickets.db()).unwrap();
        tix_core::tickets::TicketsStore::create(
            &mut tickets,
            tix_core::ids::TicketId::from_bytes([n; 12]),
            UserId::from_bytes([1; 12]),
            tix_core::tickets::TicketDraft {
                title: "t".into(),
                price: 1.0,
                details: Default::default(),
            },
        )
        .unwrap();
        tickets.commit(seq, Millis(0)).unwrap();
    }

    #[test]
    fn events_merge_across_stores_in_order_and_stop_at_a_gap() {
        let dir = tempfile::tempdir().unwrap();
        let stores = Stores::open(dir.path(), 1 << 20, 7).unwrap();
        sign_up(&stores, 1, 1);
        // Seq 2 lives in another store's outbox.
        list_ticket(&stores, 9, 2);
        sign_up(&stores, 3, 3);
        sign_up(&stores, 5, 5);

        let seqs = |after, limit| {
            stores
                .events_after(after, limit)
                .unwrap()
                .iter()
                .map(|e| e.seq)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            seqs(0, 10),
            [1, 2, 3],
            "merged in order, cut before the missing 4"
        );
        assert_eq!(seqs(1, 1), [2]);
        assert_eq!(seqs(3, 10), Vec::<u64>::new(), "5 does not follow 3");
        assert_eq!(stores.last_seq().unwrap(), 5);
    }

    #[test]
    fn one_stores_events_come_with_how_far_all_are_contiguous() {
        let dir = tempfile::tempdir().unwrap();
        let stores = Stores::open(dir.path(), 1 << 20, 7).unwrap();
        sign_up(&stores, 1, 1);
        list_ticket(&stores, 2, 2);
        sign_up(&stores, 3, 3);
        list_ticket(&stores, 4, 4);
        sign_up(&stores, 6, 6);

        let tickets = |after, limit| {
            let (events, through) = stores
                .events_of_after(super::Service::Tickets, after, limit)
                .unwrap();
            (events.iter().map(|e| e.seq).collect::<Vec<_>>(), through)
        };
        assert_eq!(tickets(0, 10), (vec![2, 4], 4), "cut before the missing 5");
        assert_eq!(tickets(0, 3), (vec![2], 3), "at most `limit` numbers");
        assert_eq!(
            tickets(2, 1),
            (vec![], 3),
            "another store's number moves it on"
        );
        assert_eq!(tickets(4, 10), (vec![], 4), "6 does not follow 4");
        assert_eq!(tickets(6, 10), (vec![], 6), "nothing after the last");
    }

    #[test]
    fn the_epoch_is_chosen_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Stores::open(dir.path(), 1 << 20, 11).unwrap().epoch, 11);
        assert_eq!(Stores::open(dir.path(), 1 << 20, 22).unwrap().epoch, 11);
    }
}
