//! Each store's schema version, kept in its `meta` table: a newer `tix-node` brings an older store
//! up to date when it opens it; an older one refuses a newer store rather than misread it.
//!
//! Invariants:
//! - Version 0 is a store written before versions were recorded (the format of 2026-12-01); a
//!   store that holds no table yet is new and starts at `CURRENT`.
//! - A migration runs in one write transaction with the version it reaches: a crash leaves the
//!   store at the version before or after it, never between.
//! - A store whose version is above `CURRENT` is not written to at all.
//!
//! Adding a version: push a migration to `MIGRATIONS` (it takes the store's name, so it can leave
//! other stores alone), bump `CURRENT`, and add a test that opens a store of the version before.

use redb::{Database, ReadableDatabase, WriteTransaction};

use crate::outbox::META;

/// The schema version this build writes.
pub const CURRENT: u64 = 3;
/// Its key in `meta`.
pub const KEY: &str = "schema_version";

/// A step from one version to the next, for the store named by the first argument.
type Migration = fn(&str, &WriteTransaction) -> Result<(), redb::Error>;

/// `MIGRATIONS[n]` brings a store from version `n` to `n + 1`.
const MIGRATIONS: [Migration; CURRENT as usize] = [
    // 0 → 1: the format of 2026-12-01 is version 1's; only the version is recorded.
    |_, _| Ok(()),
    // 1 → 2: the door store's email queue gains its index by due time.
    |store, txn| match store {
        "door" => crate::door::index_due(txn),
        _ => Ok(()),
    },
    // 2 → 3: the orders store counts each user's open orders beside their newest order instead
    // of keeping a set of them.
    |store, txn| match store {
        "orders" => crate::orders::count_open_orders(txn),
        _ => Ok(()),
    },
];

/// What opening a store did to its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// A new store, marked `CURRENT`.
    Created,
    /// Already at `CURRENT`.
    Current,
    /// Brought from `from` to `CURRENT`.
    Upgraded { from: u64 },
}

#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    #[error(
        "the {store} store has schema version {found}; this tix-node knows versions up to \
         {CURRENT}: run the newer tix-node that wrote it, or restore a backup made by this one"
    )]
    Newer { store: String, found: u64 },
    #[error(transparent)]
    Storage(#[from] redb::Error),
}

/// Refuses a store written by a newer build; changes nothing. Run it over every store before
/// `open` upgrades any, so that a data dir with one newer store is left whole.
pub fn refuse_newer(db: &Database, name: &str) -> Result<(), VersionError> {
    match read(db)? {
        Stored::Version(found) if found > CURRENT => Err(VersionError::Newer {
            store: name.to_owned(),
            found,
        }),
        _ => Ok(()),
    }
}

/// Checks the version of the store `name` in `db` before anything else touches it, and brings
/// an older one up to `CURRENT`.
pub fn open(db: &Database, name: &str) -> Result<Opened, VersionError> {
    let found = match read(db)? {
        Stored::Empty => {
            let write = db.begin_write().map_err(redb::Error::from)?;
            set(&write, CURRENT)?;
            write.commit().map_err(redb::Error::from)?;
            return Ok(Opened::Created);
        }
        Stored::Version(found) => found,
    };
    if found > CURRENT {
        return Err(VersionError::Newer {
            store: name.to_owned(),
            found,
        });
    }
    if found == CURRENT {
        return Ok(Opened::Current);
    }
    for (version, migrate) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let write = db.begin_write().map_err(redb::Error::from)?;
        migrate(name, &write)?;
        set(&write, version as u64 + 1)?;
        write.commit().map_err(redb::Error::from)?;
    }
    Ok(Opened::Upgraded { from: found })
}

/// What a store says of its version.
enum Stored {
    /// No table at all: a store being made.
    Empty,
    Version(u64),
}

fn read(db: &Database) -> Result<Stored, redb::Error> {
    let read = db.begin_read()?;
    if read.list_tables()?.next().is_none() {
        return Ok(Stored::Empty);
    }
    let version = match read.open_table(META) {
        Ok(meta) => meta.get(KEY)?.map_or(0, |v| v.value()),
        Err(redb::TableError::TableDoesNotExist(_)) => 0,
        Err(e) => return Err(e.into()),
    };
    Ok(Stored::Version(version))
}

fn set(write: &WriteTransaction, version: u64) -> Result<(), redb::Error> {
    write.open_table(META)?.insert(KEY, version)?;
    Ok(())
}

/// The version recorded in `db` (0 when none is), for tests and tools.
pub fn recorded(db: &Database) -> Result<u64, redb::Error> {
    Ok(match read(db)? {
        Stored::Empty => 0,
        Stored::Version(v) => v,
    })
}

#[cfg(test)]
mod tests {
    use redb::TableDefinition;

    use super::*;

    const DATA: TableDefinition<'_, &str, u64> = TableDefinition::new("data");

    fn database() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("s.redb")).unwrap();
        (dir, db)
    }

    #[test]
    fn a_new_store_starts_at_the_current_version() {
        let (_dir, db) = database();
        assert_eq!(open(&db, "orders").unwrap(), Opened::Created);
        assert_eq!(recorded(&db).unwrap(), CURRENT);
        assert_eq!(open(&db, "orders").unwrap(), Opened::Current);
    }

    #[test]
    fn a_store_from_before_versions_is_upgraded_and_keeps_its_rows() {
        let (_dir, db) = database();
        let write = db.begin_write().unwrap();
        write.open_table(DATA).unwrap().insert("kept", 7).unwrap();
        write.commit().unwrap();

        assert_eq!(open(&db, "tickets").unwrap(), Opened::Upgraded { from: 0 });

        assert_eq!(recorded(&db).unwrap(), CURRENT);
        let read = db.begin_read().unwrap();
        assert_eq!(
            read.open_table(DATA)
                .unwrap()
                .get("kept")
                .unwrap()
                .unwrap()
                .value(),
            7
        );
    }

    #[test]
    fn a_store_from_a_newer_build_is_refused_and_left_alone() {
        let (_dir, db) = database();
        let write = db.begin_write().unwrap();
        set(&write, CURRENT + 1).unwrap();
        write.commit().unwrap();

        let error = open(&db, "door").unwrap_err().to_string();

        let (newer, current) = (CURRENT + 1, CURRENT);
        assert!(
            error.contains(&format!("the door store has schema version {newer}")),
            "{error}"
        );
        assert!(
            error.contains(&format!("knows versions up to {current}")),
            "{error}"
        );
        assert_eq!(recorded(&db).unwrap(), CURRENT + 1);
    }
}
