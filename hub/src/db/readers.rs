//! The database as the hub's parts reach it: where it is, the writer's connection, and read
//! connections for the HTTP API and the catch-up pages.
//!
//! SQLite readers are opened per read (cheap, and WAL lets them read while the ledger writes).
//! PostgreSQL connections cost a round of authentication, so up to `IDLE_READERS` are kept
//! between reads; one that failed is dropped rather than kept.

use std::sync::{Arc, Mutex};

use super::pg::PgConn;
use super::{Conn, DbError, Location, Sql};
use crate::schema;

/// Most idle PostgreSQL read connections kept.
const IDLE_READERS: usize = 4;

/// A handle on the hub's database; clones share the idle readers.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    location: Location,
    idle: Mutex<Vec<Conn>>,
}

impl Db {
    pub fn new(location: Location) -> Db {
        Db {
            inner: Arc::new(Inner {
                location,
                idle: Mutex::new(Vec::new()),
            }),
        }
    }

    pub fn location(&self) -> &Location {
        &self.inner.location
    }

    /// A connection for writing, with the schema created or migrated to this hub's version.
    /// Blocks (PostgreSQL's client runs its own runtime): call it off the async threads.
    pub fn open_writer(&self) -> Result<Conn, DbError> {
        match &self.inner.location {
            Location::Sqlite(path) => Ok(Conn::sqlite(schema::open_writer(path)?)),
            Location::Postgres(url) => {
                let mut conn = Conn::postgres(PgConn::connect(url)?);
                conn.transaction(schema::postgres::migrate)?;
                Ok(conn)
            }
        }
    }

    /// Runs `read` on a read connection. Blocks: call it off the async threads.
    pub fn read<T>(
        &self,
        read: impl FnOnce(&mut Sql<'_>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        match &self.inner.location {
            Location::Sqlite(path) => {
                let mut conn = Conn::sqlite(schema::open_reader(path)?);
                read(&mut conn.sql()?)
            }
            Location::Postgres(url) => {
                let idle = self.lock_idle().pop();
                let mut conn = match idle {
                    Some(conn) => conn,
                    None => Conn::postgres(PgConn::connect(url)?),
                };
                let result = read(&mut conn.sql()?);
                if result.is_ok() {
                    let mut idle = self.lock_idle();
                    if idle.len() < IDLE_READERS {
                        idle.push(conn);
                    }
                }
                result
            }
        }
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Conn>> {
        self.inner.idle.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Inner {
    /// Closing a PostgreSQL connection blocks (it says goodbye on its own runtime), and the last
    /// handle may go on an async thread, where blocking is not allowed: the idle readers are
    /// closed on a thread of their own.
    fn drop(&mut self) {
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(|e| e.into_inner()));
        if !idle.is_empty() {
            let _ = std::thread::Builder::new()
                .name("tix-hub-close-readers".into())
                .spawn(move || drop(idle));
        }
    }
}
