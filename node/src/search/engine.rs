//! The index on disk: opened (and checked) or created, rebuilt from the tickets store, and kept in
//! step with the ticket events. Runs on its own thread; queries read through the `IndexReader` it
//! publishes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tantivy::schema::Term;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, doc};
use tokio::sync::watch;
use tracing::{error, info, warn};

use tix_core::events::DomainEvent;
use tix_core::reactions::Service;
use tix_core::tickets::{Ticket, TicketDetails};
use tix_core::time::Millis;

use super::Shared;
use super::dates::date_words;
use super::fingerprints::Fingerprints;
use super::schema::{self, Fields};
use crate::clock::Clock;
use crate::stores::Stores;

/// Memory the index writer may use before it flushes a segment.
const WRITER_MEMORY: usize = 64 << 20;
/// Events read from the outboxes at a time.
const CHUNK: usize = 4096;
/// New and edited tickets are committed at most this often while more events keep coming.
const COMMIT_INTERVAL: Duration = Duration::from_millis(100);
/// The index records how far it followed at least this often (in events), even when only locks
/// moved, so that a restart replays little.
const COMMIT_AT_LEAST_EVERY: u64 = 50_000;

/// What each commit of the index records: which schema, which store incarnation, and how far the
/// index has followed the node's events.
#[derive(Debug, Serialize, Deserialize)]
struct Position {
    version: u32,
    epoch: String,
    seq: u64,
}

pub(super) struct Engine {
    pub(super) index: Index,
    pub(super) reader: IndexReader,
    pub(super) fields: Fields,
}

/// Why the index is rebuilt.
#[derive(Debug, thiserror::Error)]
enum Stale {
    #[error("there is no index yet")]
    Missing,
    #[error("the index cannot be read: {0}")]
    Unreadable(String),
    #[error("{0} index files fail their checksum")]
    Damaged(usize),
    #[error("the index has another schema")]
    OtherSchema,
    #[error("the index belongs to other stores (another epoch)")]
    OtherStores,
}

pub(super) struct Indexer {
    pub(super) dir: PathBuf,
    pub(super) stores: Arc<Stores>,
    pub(super) shared: Arc<Shared>,
    pub(super) committed: watch::Receiver<u64>,
    pub(super) shutdown: watch::Receiver<bool>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) runtime: tokio::runtime::Handle,
    /// What the index holds of each ticket (see `Fingerprints`).
    pub(super) indexed: Fingerprints,
}

impl Indexer {
    /// Opens or rebuilds the index, then follows the node's events until shutdown.
    pub(super) fn run(mut self) {
        if let Err(e) = self.run_inner() {
            error!(error = %e, "search indexer stopped; search stays unavailable until a restart");
        }
    }

    fn run_inner(&mut self) -> anyhow::Result<()> {
        let started_at = self.clock.now().0;
        let epoch = format!("{:016x}", self.stores.epoch);
        // Events up to here are indexed again whatever the fingerprints say: an index opened from
        // disk may hold an older state of a ticket than the store the fingerprints were read from.
        let (engine, mut writer, mut seq, mut reindex_through) = match self.open(&epoch) {
            Ok(opened) => opened,
            Err(stale) => {
                info!(reason = %stale, "building the search index from the tickets store");
                let (engine, writer, seq) = self.create_and_build(&epoch)?;
                (engine, writer, seq, 0)
            }
        };
        let mut committed_seq = seq;
        self.shared.publish(engine, seq);
        // Documents added but not committed yet, and when their changes were made.
        let mut pending: Vec<u64> = Vec::new();
        let mut last_commit = Instant::now();
        loop {
            if *self.shutdown.borrow() {
                break;
            }
            // Only the tickets store's events change the index; the others are counted, not read.
            let (events, through) = self.stores.events_of_after(Service::Tickets, seq, CHUNK)?;
            if through == seq {
                if !pending.is_empty() {
                    // Caught up: make what is pending searchable now.
                    self.commit(&mut writer, &epoch, seq, &mut pending, started_at)?;
                    committed_seq = seq;
                    last_commit = Instant::now();
                    continue;
                }
                let last = self.stores.last_seq()?;
                if last > seq && self.stores.pruned_through()? > seq {
                    // The events the index missed were pruned (synced to the hub) before it read
                    // them: only the store itself can tell what changed.
                    warn!(
                        indexed = seq,
                        last, "search index fell behind the outbox; rebuilding"
                    );
                    self.shared.ready.store(false, Ordering::Release);
                    seq = self.rebuild(&mut writer, &epoch)?;
                    committed_seq = seq;
                    reindex_through = 0;
                    self.shared.ready.store(true, Ordering::Release);
                    continue;
                }
                self.wait_for_commits(seq);
                continue;
            }
            let fields = self.shared.fields();
            let now = self.clock.now().0;
            for event in &events {
                let id = match &event.event {
                    DomainEvent::TicketCreated(t) | DomainEvent::TicketUpdated(t) => t.id,
                    _ => continue,
                };
                // The store has the ticket as it is now; replaying an older event converges on it.
                let Some(ticket) = self.stores.tickets.get(id)? else {
                    continue;
                };
                self.shared
                    .available
                    .set(ticket.listing, ticket.order_id.is_none());
                // A lock or a release moves only the availability bit; a new ticket or an edit
                // changes what is searchable.
                if event.seq <= reindex_through || !self.indexed.unchanged(&ticket) {
                    writer.delete_term(Term::from_field_text(fields.id, &id.to_string()));
                    writer.add_document(document(&fields, &ticket))?;
                    self.indexed.record(&ticket);
                    pending.push(event.at);
                } else if event.at >= started_at {
                    // Changes made while the index was not running are replayed, not late.
                    self.shared.lag.record(now.saturating_sub(event.at));
                }
            }
            seq = through;
            // New and edited tickets are committed in batches (a commit per event would leave
            // the index merging small segments all day); locks are searchable at once.
            let due = !pending.is_empty() && last_commit.elapsed() >= COMMIT_INTERVAL;
            if due || seq >= committed_seq + COMMIT_AT_LEAST_EVERY {
                self.commit(&mut writer, &epoch, seq, &mut pending, started_at)?;
                committed_seq = seq;
                last_commit = Instant::now();
            } else if pending.is_empty() {
                self.shared.indexed_seq.store(seq, Ordering::Release);
            }
        }
        writer.wait_merging_threads()?;
        Ok(())
    }

    /// Commits what was added up to `seq`, makes it searchable, and records how late it is.
    fn commit(
        &self,
        writer: &mut IndexWriter,
        epoch: &str,
        seq: u64,
        pending: &mut Vec<u64>,
        started_at: u64,
    ) -> anyhow::Result<()> {
        commit(writer, epoch, seq)?;
        self.shared.reload()?;
        self.shared.indexed_seq.store(seq, Ordering::Release);
        let now = self.clock.now().0;
        for at in pending.drain(..).filter(|&at| at >= started_at) {
            self.shared.lag.record(now.saturating_sub(at));
        }
        Ok(())
    }

    /// Blocks until a commit beyond `seq` or shutdown.
    fn wait_for_commits(&mut self, seq: u64) {
        let committed = &mut self.committed;
        let shutdown = &mut self.shutdown;
        self.runtime.block_on(async {
            if *committed.borrow_and_update() > seq {
                return;
            }
            tokio::select! {
                _ = committed.changed() => {}
                _ = shutdown.changed() => {}
            }
        });
    }

    /// Reads every ticket of the store once: which are available (the map lives only in memory)
    /// and the fingerprint of each, handing each ticket to `also` on the way.
    fn load_known(&mut self, mut also: impl FnMut(&Ticket)) -> Result<(), redb::Error> {
        let mut available = Vec::new();
        self.indexed.clear();
        let indexed = &mut self.indexed;
        self.stores.tickets.for_each(|ticket| {
            if ticket.order_id.is_none() {
                available.push(ticket.listing);
            }
            indexed.record(&ticket);
            also(&ticket);
        })?;
        self.shared.available.reset(available);
        Ok(())
    }

    /// Opens the index on disk if it is whole, of our schema and of these stores.
    fn open(&mut self, epoch: &str) -> Result<(Engine, IndexWriter, u64, u64), Stale> {
        if !self.dir.join("meta.json").exists() {
            return Err(Stale::Missing);
        }
        let unreadable = |e: tantivy::TantivyError| Stale::Unreadable(e.to_string());
        let index = Index::open_in_dir(&self.dir).map_err(unreadable)?;
        let fields = schema::fields_of(&index).ok_or(Stale::OtherSchema)?;
        let damaged = index.validate_checksum().map_err(unreadable)?;
        if !damaged.is_empty() {
            return Err(Stale::Damaged(damaged.len()));
        }
        let payload = index.load_metas().map_err(unreadable)?.payload;
        let position: Position = payload
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .ok_or(Stale::OtherSchema)?;
        if position.version != schema::VERSION {
            return Err(Stale::OtherSchema);
        }
        if position.epoch != epoch {
            return Err(Stale::OtherStores);
        }
        schema::register_tokenizer(&index);
        let reader = reader(&index).map_err(unreadable)?;
        let writer = index.writer(WRITER_MEMORY).map_err(unreadable)?;
        let unreadable_store = |e: redb::Error| Stale::Unreadable(e.to_string());
        self.load_known(|_| {}).map_err(unreadable_store)?;
        // The fingerprints may be newer than what the index holds for events up to here.
        let reindex_through = self.stores.last_seq().map_err(unreadable_store)?;
        info!(indexed = position.seq, "search index opened");
        Ok((
            Engine {
                index,
                reader,
                fields,
            },
            writer,
            position.seq,
            reindex_through,
        ))
    }

    /// Replaces whatever is in the index directory with a fresh index built from the store.
    fn create_and_build(&mut self, epoch: &str) -> anyhow::Result<(Engine, IndexWriter, u64)> {
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir)?;
        }
        std::fs::create_dir_all(&self.dir)?;
        let (schema, fields) = schema::schema();
        let index = Index::create_in_dir(&self.dir, schema)?;
        schema::register_tokenizer(&index);
        let mut writer = index.writer(WRITER_MEMORY)?;
        let reader = reader(&index)?;
        let seq = self.fill(&mut writer, &fields, epoch)?;
        reader.reload()?;
        Ok((
            Engine {
                index,
                reader,
                fields,
            },
            writer,
            seq,
        ))
    }

    fn rebuild(&mut self, writer: &mut IndexWriter, epoch: &str) -> anyhow::Result<u64> {
        writer.delete_all_documents()?;
        let fields = self.shared.fields();
        let seq = self.fill(writer, &fields, epoch)?;
        self.shared.reload()?;
        self.shared.indexed_seq.store(seq, Ordering::Release);
        Ok(seq)
    }

    /// Adds every ticket of the store and commits; returns the sequence the index now follows from.
    fn fill(
        &mut self,
        writer: &mut IndexWriter,
        fields: &Fields,
        epoch: &str,
    ) -> anyhow::Result<u64> {
        let started = Instant::now();
        // Read before the snapshot: every ticket event up to here is in it, and later ones follow.
        let seq = self.stores.last_seq()?;
        let mut count = 0u64;
        let mut failed = None;
        self.load_known(|ticket| {
            if failed.is_none() {
                match writer.add_document(document(fields, ticket)) {
                    Ok(_) => count += 1,
                    Err(e) => failed = Some(e),
                }
            }
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        commit(writer, epoch, seq)?;
        info!(
            tickets = count,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "search index built"
        );
        Ok(seq)
    }
}

fn reader(index: &Index) -> tantivy::Result<IndexReader> {
    index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
}

fn commit(writer: &mut IndexWriter, epoch: &str, seq: u64) -> tantivy::Result<()> {
    let position = Position {
        version: schema::VERSION,
        epoch: epoch.to_owned(),
        seq,
    };
    let mut prepared = writer.prepare_commit()?;
    prepared.set_payload(&serde_json::to_string(&position).expect("positions serialize"));
    prepared.commit()?;
    Ok(())
}

fn document(fields: &Fields, ticket: &Ticket) -> TantivyDocument {
    let (high, low) = schema::id_parts(ticket.id);
    doc!(
        fields.id => ticket.id.to_string(),
        fields.id_high => high,
        fields.id_low => low,
        fields.title => ticket.title.as_str(),
        fields.details => details_text(&ticket.details),
        fields.price => ticket.price,
        fields.listing => ticket.listing,
    )
}

/// The searchable text of a ticket's details: show, venue, seat, and the start as words ("friday
/// december 31 2026"), so that a buyer can type the day. Days are UTC days.
fn details_text(details: &TicketDetails) -> String {
    let mut text: Vec<String> = [&details.show, &details.venue, &details.seat]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    if let Some(at) = details.starts_at.as_deref().and_then(Millis::parse_iso) {
        text.extend(date_words(at));
    }
    text.join(" ")
}

/// The index directory inside a data dir.
pub(super) fn dir_in(data_dir: &Path) -> PathBuf {
    data_dir.join("search")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_reads_as_words() {
        let details = TicketDetails {
            show: Some("Blue Note".into()),
            venue: Some("Main Hall".into()),
            starts_at: Some("2026-12-04T20:00:00.000Z".into()),
            seat: Some("Row F".into()),
        };
        assert_eq!(
            details_text(&details),
            "Blue Note Main Hall Row F friday december 12 04 4 2026"
        );
        assert_eq!(details_text(&TicketDetails::default()), "");
    }
}
