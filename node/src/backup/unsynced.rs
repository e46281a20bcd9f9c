//! The storage of a backup's working copies: files whose syncs are skipped.
//!
//! A working copy of a store is read back into the archive at once and then deleted; a crash
//! loses it with the backup that was being made, and the archive itself is synced before it is
//! kept. Syncing the copy would push gigabytes to the disk in one go, and the live stores' commits
//! (each with its own fsync) would wait behind it: with a million tickets, sales stalled for half
//! a second. Unsynced, the copy stays in the page cache until it is deleted or written back at the
//! kernel's pace.

use std::fs::File;
use std::io;

use redb::backends::FileBackend;
use redb::{Database, StorageBackend};

#[derive(Debug)]
struct Unsynced(FileBackend);

impl StorageBackend for Unsynced {
    fn len(&self) -> Result<u64, io::Error> {
        self.0.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        self.0.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        self.0.set_len(len)
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.0.write(offset, data)
    }

    fn close(&self) -> Result<(), io::Error> {
        self.0.close()
    }
}

/// A new database in `file` (empty, opened for reading and writing) that never syncs.
pub(super) fn create(file: File) -> Result<Database, redb::Error> {
    let backend = Unsynced(FileBackend::new(file)?);
    Ok(Database::builder().create_with_backend(backend)?)
}
