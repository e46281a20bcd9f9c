//! A node's backup: one gzip'd tar of every store's snapshot and the node's secrets, led by a
//! manifest that says what each file must be.
//!
//! Invariants:
//! - The stores in an archive are one state they all agree on (a `Snapshot`, taken between two of
//!   the writer's batches), so a restored node starts as if it had stopped at that moment.
//! - An archive is checked before it is called a backup: `Manifest::verify` reads it through and
//!   compares every file's size and SHA-256, so a truncated or altered archive is refused by name.
//! - The manifest comes first in the archive and lists exactly the files that follow; restore takes
//!   no other name from the archive (no path in an archive ever reaches the file system).
//!
//! The search index is not in it: a node rebuilds it from the tickets store when it is missing.

pub mod control;
pub mod restore;
mod unsynced;

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::time::SystemTime;

use redb::ReadableDatabase;

use anyhow::{Context, bail};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tix_core::outbox;
use tix_core::store_copy::{self, TableCount};
use tix_core::time::Millis;

use crate::stores::NAMES;
use crate::writer::Snapshot;

/// The archive layout this node writes and reads.
pub const FORMAT: u32 = 1;
/// The manifest's name in the archive.
const MANIFEST: &str = "backup.json";
/// The secrets of a data dir that a restored node needs to be the same node: sessions stay valid
/// (`jwt-secret`) and passes already sold still scan (`pass-key`).
pub const SECRETS: [&str; 2] = ["jwt-secret", "pass-key"];

/// What an archive holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: u32,
    /// The `tix-node` version that wrote it.
    pub node_version: String,
    pub epoch: u64,
    /// The highest event sequence in the stores.
    pub last_seq: u64,
    pub taken_at: Millis,
    pub stores: Vec<StoreFile>,
    pub secrets: Vec<FileEntry>,
}

/// One store's file in an archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreFile {
    pub name: String,
    #[serde(flatten)]
    pub file: FileEntry,
    pub tables: Vec<TableCount>,
}

/// A file in an archive: its path there, size and SHA-256 (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

impl Manifest {
    /// Every file the manifest lists, stores first.
    pub fn files(&self) -> impl Iterator<Item = &FileEntry> {
        self.stores.iter().map(|s| &s.file).chain(&self.secrets)
    }

    /// Reads the archive at `path` through: the manifest, then every file it lists with the size
    /// and hash it gives, and nothing else. The manifest if all of it holds.
    pub fn verify(path: &Path) -> anyhow::Result<Manifest> {
        read_archive(path, |_| Ok(Box::new(io::sink())))
    }
}

/// `tix-node backup --to FILE`: from the node running on `data_dir` through its control socket,
/// or, when none runs, from the stores themselves. Answers what to tell the operator.
pub async fn backup_command(data_dir: &Path, to: &Path) -> anyhow::Result<String> {
    if let Some(manifest) = control::request_backup(data_dir, to).await? {
        return Ok(format!(
            "{} (from the running node)",
            summary(&manifest, to)
        ));
    }
    // No node runs: the stores are read as they are, without writing to them (an older store
    // is not upgraded by being backed up).
    let mut databases = Vec::new();
    for name in NAMES {
        let path = data_dir.join(format!("{name}.redb"));
        if !path.exists() {
            bail!(
                "{} holds no {name} store: no node's data to back up",
                data_dir.display()
            );
        }
        let db = redb::Database::open(&path).with_context(|| {
            format!(
                "no node answers on {} and {} cannot be opened",
                data_dir.join(control::SOCKET).display(),
                path.display()
            )
        })?;
        databases.push((name, db));
    }
    let mut stores = Vec::new();
    for (name, db) in &databases {
        stores.push((*name, db.begin_read()?));
    }
    let snapshot = Snapshot {
        epoch: outbox::stored_epoch(&databases[0].1)?.unwrap_or(0),
        stores,
    };
    let now = Millis::from_system_time(SystemTime::now());
    let manifest = write_archive(snapshot, data_dir, now, to)?;
    drop(databases);
    Ok(format!(
        "{} (the node is not running)",
        summary(&manifest, to)
    ))
}

/// `tix-node restore --from FILE`: into `data_dir`, which must hold no node's data.
pub fn restore_command(from: &Path, data_dir: &Path, catch_up: bool) -> anyhow::Result<String> {
    let manifest = restore::restore(from, data_dir, catch_up)?;
    let next = if catch_up {
        "when the node starts, it fetches from the hub the events after the backup before it serves, and rebuilds the search index"
    } else {
        "the node serves what the backup holds (no catch-up from a hub) and rebuilds the search index when it starts"
    };
    Ok(format!(
        "restored the backup taken at {} into {}: epoch {}, events through {}, {} stores, {} rows; \
         {next}",
        manifest.taken_at.to_iso(),
        data_dir.display(),
        manifest.epoch,
        manifest.last_seq,
        manifest.stores.len(),
        rows(&manifest),
    ))
}

fn summary(manifest: &Manifest, to: &Path) -> String {
    format!(
        "backup written to {}: taken at {}, epoch {}, events through {}, {} stores, {} rows, {} secrets",
        to.display(),
        manifest.taken_at.to_iso(),
        manifest.epoch,
        manifest.last_seq,
        manifest.stores.len(),
        rows(manifest),
        manifest.secrets.len(),
    )
}

fn rows(manifest: &Manifest) -> u64 {
    manifest
        .stores
        .iter()
        .flat_map(|s| &s.tables)
        .map(|t| t.rows)
        .sum()
}

/// Copies `snapshot` and the secrets in `data_dir` into a new archive at `out`, written to a
/// temporary file beside it and renamed into place once complete.
pub fn write_archive(
    snapshot: Snapshot,
    data_dir: &Path,
    now: Millis,
    out: &Path,
) -> anyhow::Result<Manifest> {
    let work = tempfile::Builder::new()
        .prefix(".backup-")
        .tempdir_in(data_dir)
        .with_context(|| format!("making a work dir in {}", data_dir.display()))?;
    let epoch = snapshot.epoch;
    let mut stores = Vec::new();
    let mut last_seq = 0;
    for (name, read) in snapshot.stores {
        let path = work.path().join(format!("{name}.redb"));
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        let copy =
            unsynced::create(file).with_context(|| format!("creating {}", path.display()))?;
        let tables = store_copy::copy_snapshot(&read, &copy)
            .with_context(|| format!("copying the {name} store"))?;
        drop(read); // the live store may reuse the snapshot's pages from here on
        last_seq = last_seq.max(outbox::positions(&copy)?.0);
        drop(copy);
        let file = describe(&path, format!("stores/{name}.redb"))?;
        stores.push(StoreFile {
            name: name.to_owned(),
            file,
            tables,
        });
    }
    let mut secrets = Vec::new();
    for secret in SECRETS {
        let path = data_dir.join(secret);
        if path.exists() {
            secrets.push(describe(&path, format!("secrets/{secret}"))?);
        }
    }
    let manifest = Manifest {
        format: FORMAT,
        node_version: env!("CARGO_PKG_VERSION").to_owned(),
        epoch,
        last_seq,
        taken_at: now,
        stores,
        secrets,
    };
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty());
    let partial = tempfile::Builder::new()
        .prefix(".tix-backup-")
        .tempfile_in(dir.unwrap_or(Path::new(".")))
        .with_context(|| format!("making a file beside {}", out.display()))?;
    pack(&manifest, work.path(), data_dir, partial.as_file())?;
    partial.as_file().sync_all()?;
    partial
        .persist(out)
        .with_context(|| format!("moving the backup to {}", out.display()))?;
    Ok(manifest)
}

/// Writes the manifest, then each file it lists, as a gzip'd tar.
fn pack(manifest: &Manifest, copies: &Path, data_dir: &Path, out: &File) -> anyhow::Result<()> {
    let gzip = GzEncoder::new(BufWriter::new(out), Compression::fast());
    let mut tar = tar::Builder::new(gzip);
    let json = serde_json::to_vec_pretty(manifest)?;
    append(&mut tar, MANIFEST, json.len() as u64, json.as_slice())?;
    for store in &manifest.stores {
        let source = copies.join(format!("{}.redb", store.name));
        append(
            &mut tar,
            &store.file.path,
            store.file.bytes,
            File::open(source)?,
        )?;
    }
    for secret in &manifest.secrets {
        let name = secret.path.trim_start_matches("secrets/");
        let source = data_dir.join(name);
        append(&mut tar, &secret.path, secret.bytes, File::open(source)?)?;
    }
    let gzip = tar.into_inner()?;
    gzip.finish()?.flush()?;
    Ok(())
}

fn append(
    tar: &mut tar::Builder<impl Write>,
    path: &str,
    bytes: u64,
    data: impl Read,
) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes);
    header.set_mode(0o600);
    header.set_cksum();
    tar.append_data(&mut header, path, data)
}

/// The size and hash of the file at `path`, to be stored in an archive as `archive_path`.
fn describe(path: &Path, archive_path: String) -> anyhow::Result<FileEntry> {
    let mut file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hashing = Hashing::new(io::sink());
    io::copy(&mut file, &mut hashing)?;
    let (bytes, sha256) = hashing.finish();
    Ok(FileEntry {
        path: archive_path,
        bytes,
        sha256,
    })
}

/// Reads the archive at `path`: the manifest, then each file it lists, copied into what `open`
/// gives for it while its size and hash are checked. Any other entry, a missing file or a file
/// out of the manifest's order is an error; so is a file whose size or hash differ, after it was
/// copied (the caller discards what it wrote). The manifest if all of it holds.
pub(crate) fn read_archive(
    path: &Path,
    mut open: impl FnMut(&FileEntry) -> anyhow::Result<Box<dyn Write>>,
) -> anyhow::Result<Manifest> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut tar = tar::Archive::new(GzDecoder::new(io::BufReader::new(file)));
    let mut entries = tar.entries().context("reading the archive")?;
    let mut first = entries
        .next()
        .context("the archive is empty")?
        .context("reading the archive's first entry")?;
    if first.path()?.to_str() != Some(MANIFEST) {
        bail!("not a Tix node backup: its first entry is not {MANIFEST}");
    }
    let manifest: Manifest =
        serde_json::from_reader(&mut first).with_context(|| format!("reading {MANIFEST}"))?;
    if manifest.format > FORMAT {
        bail!(
            "the backup is in format {} (written by tix-node {}); this tix-node reads format {FORMAT} and older",
            manifest.format,
            manifest.node_version
        );
    }
    let expected: Vec<FileEntry> = manifest.files().cloned().collect();
    let mut listed = expected.iter();
    for entry in entries {
        let mut entry = entry.context("the archive ends early or is damaged")?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let Some(want) = listed.next() else {
            bail!("the archive holds {name}, which its manifest does not list");
        };
        if name != want.path {
            bail!(
                "the archive holds {name} where its manifest lists {}",
                want.path
            );
        }
        let mut sink = Hashing::new(open(want)?);
        io::copy(&mut entry, &mut sink)
            .with_context(|| format!("{name}: the archive ends early or is damaged"))?;
        sink.inner.flush()?;
        let (bytes, sha256) = sink.finish();
        if bytes != want.bytes || sha256 != want.sha256 {
            bail!(
                "{name} is damaged: {bytes} bytes with SHA-256 {sha256}, the manifest says {} bytes with {}",
                want.bytes,
                want.sha256
            );
        }
    }
    if let Some(missing) = listed.next() {
        bail!(
            "the archive ends before {}, which its manifest lists",
            missing.path
        );
    }
    // The rest of the stream (the tar's end blocks) read too, so that gzip checks its CRC and
    // length over all of it: no byte of an archive called good goes unchecked.
    let rest =
        io::copy(&mut tar.into_inner(), &mut io::sink()).context("the archive's end is damaged")?;
    if rest > 64 * 1024 {
        bail!("the archive has {rest} bytes after its last file");
    }
    Ok(manifest)
}

/// A writer that counts and hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    fn finish(self) -> (u64, String) {
        (self.bytes, hex::encode(self.hasher.finalize()))
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Removes `path` if it is there.
pub(crate) fn remove_if_there(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
