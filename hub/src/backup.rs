//! The hub's backup and restore: SQLite's online backup API, while the hub runs.
//!
//! Invariants:
//! - A backup is one consistent state of the database: the backup API restarts its copy if the
//!   hub writes a page it already copied, and the hub keeps writing meanwhile (WAL).
//! - A file is called a backup only once it is complete and `PRAGMA integrity_check` passed on
//!   it: it is written beside its target and renamed into place.
//! - Restore never overwrites a database: the target must not exist.
//!
//! The API token file beside the database is not in it: a restored hub either keeps the token its
//! configuration gives or makes a new one.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use rusqlite::backup::Backup;
use rusqlite::{Connection, OpenFlags};

use crate::schema;

/// Pages copied per step; between steps the hub's writer gets the database.
const PAGES_PER_STEP: std::ffi::c_int = 256;
/// The pause between steps.
const PAUSE: Duration = Duration::from_millis(5);

/// `tix-hub backup --to FILE`: copies the database at `db` into `to`. Answers what to tell the
/// operator.
pub fn backup_command(db: &Path, to: &Path) -> anyhow::Result<String> {
    if !db.exists() {
        bail!("{} does not exist", db.display());
    }
    let source = schema::open_reader(db).with_context(|| format!("opening {}", db.display()))?;
    let dir = to.parent().filter(|p| !p.as_os_str().is_empty());
    let partial = tempfile::Builder::new()
        .prefix(".tix-hub-backup-")
        .tempfile_in(dir.unwrap_or(Path::new(".")))
        .with_context(|| format!("making a file beside {}", to.display()))?;
    {
        let mut copy = Connection::open(partial.path())?;
        Backup::new(&source, &mut copy)?
            .run_to_completion(PAGES_PER_STEP, PAUSE, None)
            .context("copying the database")?;
        check(&copy)?;
    }
    partial.as_file().sync_all()?;
    let (events, venues) = counts(&Connection::open_with_flags(
        partial.path(),
        OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?)?;
    partial
        .persist(to)
        .with_context(|| format!("moving the backup to {}", to.display()))?;
    Ok(format!(
        "backup written to {}: {events} events of {venues} venues",
        to.display()
    ))
}

/// `tix-hub restore --from FILE`: puts a backup in place as the database at `db`, which must
/// not exist yet.
pub fn restore_command(from: &Path, db: &Path) -> anyhow::Result<String> {
    if db.exists() {
        bail!(
            "{} already exists; restore to a new path, or move that database aside first (with its -wal and -shm files)",
            db.display()
        );
    }
    let source = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", from.display()))?;
    check(&source).with_context(|| format!("{} is not a sound hub backup", from.display()))?;
    let (events, venues) = counts(&source)?;
    let dir = db.parent().filter(|p| !p.as_os_str().is_empty());
    let partial = tempfile::Builder::new()
        .prefix(".tix-hub-restore-")
        .tempfile_in(dir.unwrap_or(Path::new(".")))
        .with_context(|| format!("making a file beside {}", db.display()))?;
    {
        let mut copy = Connection::open(partial.path())?;
        Backup::new(&source, &mut copy)?.run_to_completion(PAGES_PER_STEP, PAUSE, None)?;
    }
    partial.as_file().sync_all()?;
    partial
        .persist_noclobber(db)
        .with_context(|| format!("moving the database to {}", db.display()))?;
    // The hub's own open brings the schema up to this version, as for any older database.
    drop(schema::open_writer(db)?);
    Ok(format!(
        "restored {} into {}: {events} events of {venues} venues",
        from.display(),
        db.display()
    ))
}

/// Fails unless SQLite finds the database sound and it holds a hub's tables.
fn check(conn: &Connection) -> anyhow::Result<()> {
    let verdict: String = conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
    if verdict != "ok" {
        bail!("integrity check failed: {verdict}");
    }
    counts(conn).context("it holds no hub's tables")?;
    Ok(())
}

/// The events and venues a hub database holds.
fn counts(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row(
        "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM venues)",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_restores_into_a_new_path_and_never_over_a_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("hub.sqlite3");
        let conn = schema::open_writer(&db).unwrap();
        conn.execute(
            "INSERT INTO venues (venue, epoch, last_seq, events, first_seen_ms, last_seen_ms, \
             last_event_ms, lag_ms) VALUES ('north', '1', 0, 0, 0, 0, 0, 0)",
            [],
        )
        .unwrap();
        let backup = dir.path().join("hub.backup");

        let said = backup_command(&db, &backup).unwrap();
        assert!(said.contains("0 events of 1 venues"), "{said}");

        let refused = restore_command(&backup, &db).unwrap_err().to_string();
        assert!(refused.contains("already exists"), "{refused}");
        let restored = dir.path().join("restored.sqlite3");
        let said = restore_command(&backup, &restored).unwrap();
        assert!(said.contains("1 venues"), "{said}");
        let venue: String = schema::open_reader(&restored)
            .unwrap()
            .query_row("SELECT venue FROM venues", [], |row| row.get(0))
            .unwrap();
        assert_eq!(venue, "north");
    }

    #[test]
    fn a_file_that_is_no_hub_database_is_not_restored() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk");
        std::fs::write(&junk, vec![7u8; 8192]).unwrap();
        let target = dir.path().join("hub.sqlite3");
        assert!(restore_command(&junk, &target).is_err());
        assert!(!target.exists());
    }
}
