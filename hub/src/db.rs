//! The hub's database: one SQLite file (the default) or PostgreSQL (several hubs sharing one
//! ledger), behind the small interface the ledger, the read models and the views are written
//! against.
//!
//! Statements are written once, in the SQL both engines understand, with `?1`-style placeholders
//! (PostgreSQL is given them as `$1`). Where the engines differ (the schema, row locks, a list as
//! a parameter), the caller asks `Sql::dialect` and says each form.
//!
//! Invariants:
//! - `Conn::transaction` commits only when its closure returns `Ok`, and rolls back otherwise; a
//!   PostgreSQL transaction left open by a panic is rolled back before the connection's next one.
//! - Prepared statements are cached per connection, by their text; a PostgreSQL connection that
//!   was lost is opened again (with an empty cache) at its next transaction.

mod column;
mod param;
mod pg;
mod readers;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

pub use self::column::FromColumn;
pub use self::param::{Param, ToParam};
pub use self::readers::Db;

/// Where the hub keeps its ledger, as `--db` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file (created if missing).
    Sqlite(PathBuf),
    /// A PostgreSQL database, as a `postgres://` URL.
    Postgres(String),
}

impl FromStr for Location {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(Location::Postgres(s.to_owned()))
        } else {
            Ok(Location::Sqlite(PathBuf::from(s)))
        }
    }
}

impl fmt::Display for Location {
    /// The file, or the URL without its password (for logs and messages).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => f.write_str(&pg::without_password(url)),
        }
    }
}

/// Which SQL a statement must be written in, where the engines differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// What went wrong with the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("column {index}: {detail}")]
    Column { index: usize, detail: String },
    #[error("expected a row, the query returned none")]
    NoRow,
    #[error("{0}")]
    Schema(String),
}

impl DbError {
    /// Whether running the same transaction again may succeed at once: another hub instance
    /// stored the same row first, or the two deadlocked, or the connection was lost.
    pub fn is_contention(&self) -> bool {
        match self {
            DbError::Postgres(e) => {
                use tokio_postgres::error::SqlState;
                e.is_closed()
                    || e.code().is_some_and(|code| {
                        [
                            SqlState::UNIQUE_VIOLATION,
                            SqlState::T_R_DEADLOCK_DETECTED,
                            SqlState::T_R_SERIALIZATION_FAILURE,
                        ]
                        .contains(code)
                    })
            }
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::DatabaseBusy
            }
            _ => false,
        }
    }
}

/// One connection, owned by its user (the ingest thread, a reader).
pub struct Conn {
    inner: Inner,
}

enum Inner {
    Sqlite(rusqlite::Connection),
    Postgres(Box<pg::PgConn>),
}

impl Conn {
    pub fn sqlite(conn: rusqlite::Connection) -> Conn {
        Conn {
            inner: Inner::Sqlite(conn),
        }
    }

    fn postgres(conn: pg::PgConn) -> Conn {
        Conn {
            inner: Inner::Postgres(Box::new(conn)),
        }
    }

    pub fn dialect(&self) -> Dialect {
        match &self.inner {
            Inner::Sqlite(_) => Dialect::Sqlite,
            Inner::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Statements outside a transaction (each its own, on PostgreSQL).
    pub fn sql(&mut self) -> Result<Sql<'_>, DbError> {
        Ok(Sql {
            inner: match &mut self.inner {
                Inner::Sqlite(conn) => SqlInner::Sqlite(conn),
                Inner::Postgres(conn) => SqlInner::Postgres(conn.ready()?, false),
            },
        })
    }

    /// Runs `work` in one transaction: committed if it returns `Ok`, rolled back if not.
    pub fn transaction<T, E: From<DbError>>(
        &mut self,
        work: impl FnOnce(&mut Sql<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        match &mut self.inner {
            Inner::Sqlite(conn) => {
                let txn = conn.transaction().map_err(DbError::from)?;
                let out = work(&mut Sql {
                    inner: SqlInner::Sqlite(&txn),
                })?;
                txn.commit().map_err(DbError::from)?;
                Ok(out)
            }
            Inner::Postgres(conn) => conn.transaction(|session| {
                work(&mut Sql {
                    inner: SqlInner::Postgres(session, true),
                })
            }),
        }
    }
}

/// Runs statements on a connection or in its transaction.
pub struct Sql<'c> {
    inner: SqlInner<'c>,
}

enum SqlInner<'c> {
    Sqlite(&'c rusqlite::Connection),
    /// The session, and whether writes may wait to be sent with the next statement (inside a
    /// transaction, which flushes them before it commits).
    Postgres(&'c mut pg::Session, bool),
}

impl Sql<'_> {
    pub fn dialect(&self) -> Dialect {
        match &self.inner {
            SqlInner::Sqlite(_) => Dialect::Sqlite,
            SqlInner::Postgres(..) => Dialect::Postgres,
        }
    }

    /// Runs a statement; answers the rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[&dyn ToParam]) -> Result<u64, DbError> {
        match &mut self.inner {
            SqlInner::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql)?;
                let changed = stmt.execute(rusqlite::params_from_iter(param::bound(params)))?;
                Ok(changed as u64)
            }
            SqlInner::Postgres(session, _) => session.execute(sql, &param::bound(params)),
        }
    }

    /// Runs a statement whose changed rows the caller does not need. Inside a PostgreSQL
    /// transaction it is sent later, with the next statement or the commit, in order (see
    /// `pg`): its error, if any, fails that statement or the commit instead.
    pub fn write(&mut self, sql: &str, params: &[&dyn ToParam]) -> Result<(), DbError> {
        match &mut self.inner {
            SqlInner::Postgres(session, true) => session.write(sql, &param::bound(params)),
            _ => self.execute(sql, params).map(drop),
        }
    }

    /// Runs a query; `read` turns each row into a `T`.
    pub fn query<T>(
        &mut self,
        sql: &str,
        params: &[&dyn ToParam],
        mut read: impl FnMut(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        let mut out = Vec::new();
        match &mut self.inner {
            SqlInner::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(param::bound(params)))?;
                while let Some(row) = rows.next()? {
                    out.push(read(&Row(RowInner::Sqlite(row)))?);
                }
            }
            SqlInner::Postgres(session, _) => {
                for row in session.query(sql, &param::bound(params))? {
                    out.push(read(&Row(RowInner::Postgres(&row)))?);
                }
            }
        }
        Ok(out)
    }

    /// The query's first row, if it has one.
    pub fn query_opt<T>(
        &mut self,
        sql: &str,
        params: &[&dyn ToParam],
        read: impl FnMut(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<Option<T>, DbError> {
        Ok(self.query(sql, params, read)?.into_iter().next())
    }

    /// The query's first row, which must exist.
    pub fn query_one<T>(
        &mut self,
        sql: &str,
        params: &[&dyn ToParam],
        read: impl FnMut(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.query_opt(sql, params, read)?.ok_or(DbError::NoRow)
    }

    /// Runs several statements without parameters (a schema, a migration step).
    pub fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        match &mut self.inner {
            SqlInner::Sqlite(conn) => conn.execute_batch(sql)?,
            SqlInner::Postgres(session, _) => session.batch(sql)?,
        }
        Ok(())
    }
}

/// One row of a query's answer.
pub struct Row<'r>(RowInner<'r>);

enum RowInner<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r tokio_postgres::Row),
}

impl Row<'_> {
    /// The value of column `index` (from 0).
    pub fn get<T: FromColumn>(&self, index: usize) -> Result<T, DbError> {
        match &self.0 {
            RowInner::Sqlite(row) => T::from_sqlite(row, index).map_err(DbError::from),
            RowInner::Postgres(row) => T::from_postgres(row, index),
        }
    }
}

#[cfg(test)]
mod tests;
