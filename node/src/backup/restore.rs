//! Restoring a backup into an empty data dir: every file checked before any takes its place.
//!
//! The archive is unpacked into a work dir inside the data dir, each file checked against the
//! manifest (size, SHA-256), each store opened, its integrity checked and its tables counted
//! against the manifest; only then are the files renamed into place. A failure at any step leaves
//! the data dir as it was.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use tix_core::store_copy;

use super::{FileEntry, Manifest, SECRETS, read_archive};
use crate::stores::NAMES as STORES;

/// Restores the backup at `archive` into `data_dir`, which must hold no node's stores or
/// secrets. With `catch_up`, the node started there first fetches from the hub what it lost
/// (`crate::catch_up`). Answers the backup's manifest.
pub fn restore(archive: &Path, data_dir: &Path, catch_up: bool) -> anyhow::Result<Manifest> {
    prepare(data_dir)?;
    let work = tempfile::Builder::new()
        .prefix(".restore-")
        .tempdir_in(data_dir)
        .with_context(|| format!("making a work dir in {}", data_dir.display()))?;
    let manifest = read_archive(archive, |entry| {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(work.path().join(local_name(entry)?))?;
        Ok(Box::new(file) as Box<dyn Write>)
    })
    .with_context(|| format!("reading the backup {}", archive.display()))?;
    if !manifest.stores.iter().any(|s| s.name == "auth") {
        bail!("the backup holds no auth store (it names the node's epoch); it cannot be restored");
    }
    for store in &manifest.stores {
        check_store(&work.path().join(local_name(&store.file)?), store)?;
    }
    // Before any store moves in: a node started on these stores must first fetch from the hub
    // what was sold after the backup.
    if catch_up {
        let note = format!("restored from a backup at sequence {}", manifest.last_seq);
        crate::catch_up::mark(data_dir, &note)
            .with_context(|| format!("marking {} for a catch-up", data_dir.display()))?;
    }
    for entry in manifest.files() {
        let name = local_name(entry)?;
        File::open(work.path().join(&name))?.sync_all()?;
        fs::rename(work.path().join(&name), data_dir.join(&name))
            .with_context(|| format!("moving {name} into {}", data_dir.display()))?;
    }
    File::open(data_dir)?.sync_all()?;
    Ok(manifest)
}

/// Makes `data_dir` (0700) if it is missing; refuses one that holds a node's data.
fn prepare(data_dir: &Path) -> anyhow::Result<()> {
    if !data_dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
    }
    let taken: Vec<PathBuf> = STORES
        .iter()
        .map(|store| format!("{store}.redb"))
        .chain(SECRETS.iter().map(|s| s.to_string()))
        .map(|name| data_dir.join(name))
        .filter(|path| path.exists())
        .collect();
    if let Some(first) = taken.first() {
        bail!(
            "{} already holds a node's data ({}); restore into an empty data dir, or move that one aside first",
            data_dir.display(),
            first.display()
        );
    }
    Ok(())
}

/// The file name an archive's entry takes in the data dir: only the names a node keeps.
fn local_name(entry: &FileEntry) -> anyhow::Result<String> {
    let known = |name: &str| {
        entry
            .path
            .strip_prefix(name)
            .map(str::to_owned)
            .filter(|rest| {
                if name == "stores/" {
                    STORES.iter().any(|s| rest == &format!("{s}.redb"))
                } else {
                    SECRETS.contains(&rest.as_str())
                }
            })
    };
    known("stores/")
        .or_else(|| known("secrets/"))
        .with_context(|| {
            format!(
                "the backup lists {}, which is no file of a node",
                entry.path
            )
        })
}

/// Opens a restored store, checks its integrity and that its tables hold what the manifest says.
fn check_store(path: &Path, store: &super::StoreFile) -> anyhow::Result<()> {
    let mut db = redb::Database::open(path)
        .with_context(|| format!("the {} store in the backup does not open", store.name))?;
    if !db
        .check_integrity()
        .with_context(|| format!("checking the {} store", store.name))?
    {
        bail!(
            "the {} store in the backup needed repair; it is not restored",
            store.name
        );
    }
    let counts = store_copy::count_rows(&db)?;
    if counts != store.tables {
        bail!(
            "the {} store holds {counts:?}, the manifest says {:?}",
            store.name,
            store.tables
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> FileEntry {
        FileEntry {
            path: path.to_owned(),
            bytes: 0,
            sha256: String::new(),
        }
    }

    #[test]
    fn only_a_nodes_own_file_names_are_taken_from_a_backup() {
        assert_eq!(local_name(&entry("stores/auth.redb")).unwrap(), "auth.redb");
        assert_eq!(local_name(&entry("secrets/pass-key")).unwrap(), "pass-key");
        for bad in [
            "stores/../../etc/passwd",
            "stores/other.redb",
            "secrets/../auth.redb",
            "/etc/passwd",
            "pass-key",
            "secrets/",
        ] {
            assert!(local_name(&entry(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_data_dir_with_a_nodes_data_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        prepare(dir.path()).unwrap();
        fs::write(dir.path().join("pass-key"), "x").unwrap();
        let error = prepare(dir.path()).unwrap_err().to_string();
        assert!(error.contains("already holds a node's data"), "{error}");
        assert!(error.contains("pass-key"), "{error}");
    }
}
