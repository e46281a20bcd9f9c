//! Door mode: the box office as a pass scanner at a gate, which goes on deciding when the node
//! cannot be reached.
//!
//! Online, each scan is the node's `POST /api/check-in` (with a fresh scan id). When the node does
//! not answer within `SCAN_WAIT`, the scanner is offline: it decides from its copy of the show's
//! tickets and the venue's public key (`copy`), and writes every admission it makes to a queue
//! file, synced to the disk before the verdict is shown. While offline, a probe of `/healthz`
//! runs at every tick (the window ticks every few seconds); once the node answers, the queue is
//! sent in order, each entry with its scan id and the time it was scanned, and removed from the
//! file only after the node's 200. The node answers a resent entry as it did the first time, so a
//! crash between the answer and the removal costs nothing. Verdicts marked `conflict` (the node
//! had let that ticket in already, or refunded it) are shown beside the node's own list.
//!
//! Files, in the app's data dir under `door/`: `queue.jsonl` (offline admissions not yet sent),
//! `copy-<show>.json` (the node's copy, replaced atomically), `learned-<show>.jsonl` (admissions
//! and refunds heard since the copy, so a restart while offline forgets none) and
//! `rejected.jsonl` (queued scans the node refused as malformed, kept for the door manager).

pub mod commands;
mod copy;
mod files;
mod sync;

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tix_core::time::Millis;

use self::copy::{Learned, ShowCopy};
use self::files::{JsonLines, write_atomic};
use crate::error::DeskError;
use crate::node_client::NodeClient;

/// How long a scan waits for the node before deciding on its own.
const SCAN_WAIT: Duration = Duration::from_millis(1500);
/// How long the probe of an offline scanner waits for `/healthz`.
const PROBE_WAIT: Duration = Duration::from_millis(1500);
/// How long sending one queued admission may take.
const SEND_WAIT: Duration = Duration::from_secs(5);
/// How long fetching a show's copy (or the conflicts) may take.
const COPY_WAIT: Duration = Duration::from_secs(10);
/// How often the copy is fetched again while online.
const REFRESH_EVERY: Duration = Duration::from_secs(30);
/// The longest gate name the node keeps.
const GATE_MAX_CHARS: usize = 40;

/// An admission made offline, waiting to be sent: a line of `queue.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Queued {
    pub scan_id: String,
    pub code: String,
    pub gate: String,
    pub show_id: String,
    /// When the holder was let in (ISO).
    pub scanned_at: String,
}

/// The door scanner: its files and what it knows now.
pub struct Door {
    dir: PathBuf,
    inner: Mutex<Inner>,
    /// One round of talking to the node at a time (a tick's probe, sending and refreshing, or
    /// opening a show), so two never write the same file.
    busy: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Inner {
    open: Option<Open>,
    /// The queue, once read from its file.
    queue: Option<Vec<Queued>>,
    /// The node answered last time and nothing waits to be sent: scans go to the node.
    online: bool,
    refreshed: Option<Instant>,
    /// When the copy in use was fetched (ISO).
    copy_at: Option<String>,
    /// This scanner's admissions the node reported as conflicts, newest first.
    conflicts: Vec<Value>,
    /// The node's list of conflicts (all scanners), as last fetched.
    node_conflicts: Vec<Value>,
    /// Queued scans the node refused, once read from their file.
    rejected: Option<Vec<Value>>,
    /// A local failure to show (a file that cannot be written).
    problem: Option<String>,
}

/// The show the door is open for.
struct Open {
    gate: String,
    copy: ShowCopy,
    /// What was learned since the copy was taken (also in `learned-<show>.jsonl`).
    learned: Vec<Learned>,
}

/// What the door screen shows besides a verdict.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DoorStatus {
    /// `{id, title, startsAt}` of the show the door is open for.
    pub show: Option<Value>,
    pub gate: Option<String>,
    pub online: bool,
    /// Offline admissions waiting to be sent to the node.
    pub waiting: usize,
    pub sold: usize,
    pub admitted: usize,
    pub copy_at: Option<String>,
    pub conflicts: Vec<Value>,
    pub node_conflicts: Vec<Value>,
    pub rejected: Vec<Value>,
    pub problem: Option<String>,
}

/// A scan's verdict (the node's, or this computer's, marked `local`) and the door's state after it.
#[derive(Debug, Clone, Serialize)]
pub struct ScanAnswer {
    pub verdict: Value,
    pub status: DoorStatus,
}

fn lost(e: impl std::fmt::Display) -> DeskError {
    DeskError::Local(format!("door mode: {e}"))
}

/// Whether an error means the node cannot decide now (gone, too slow, or failing), so the
/// scanner decides itself.
fn node_away(error: &DeskError) -> bool {
    matches!(error, DeskError::Unreachable(_))
        || matches!(error, DeskError::Refused { status, .. } if *status >= 500)
}

fn now() -> Millis {
    Millis::from_system_time(SystemTime::now())
}

/// A scan id no other scan of any scanner has: the time and 64 unpredictable bits.
fn new_scan_id() -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let count = COUNT.fetch_add(1, Ordering::Relaxed);
    let millis = now().0;
    let noise = RandomState::new().hash_one((count, millis, std::process::id()));
    format!("bo-{millis:x}-{noise:016x}")
}

/// A gate name as the node accepts it: 1 to 40 characters, trimmed.
pub fn check_gate(gate: &str) -> Result<String, DeskError> {
    let gate = gate.trim();
    if gate.is_empty() || gate.chars().count() > GATE_MAX_CHARS {
        return Err(DeskError::Refused {
            status: 400,
            messages: vec![crate::error::FieldMessage {
                message: "Name the gate: 1 to 40 characters".into(),
                field: Some("gate".into()),
            }],
        });
    }
    Ok(gate.to_owned())
}

impl Door {
    pub fn new(dir: PathBuf) -> Door {
        Door {
            dir,
            inner: Mutex::new(Inner::default()),
            busy: tokio::sync::Mutex::new(()),
        }
    }

    fn queue_file(&self) -> JsonLines<Queued> {
        JsonLines::new(self.dir.join("queue.jsonl"))
    }

    fn learned_file(&self, show_id: &str) -> JsonLines<Learned> {
        JsonLines::new(self.dir.join(format!("learned-{show_id}.jsonl")))
    }

    fn rejected_file(&self) -> JsonLines<Value> {
        JsonLines::new(self.dir.join("rejected.jsonl"))
    }

    fn copy_path(&self, show_id: &str) -> PathBuf {
        self.dir.join(format!("copy-{show_id}.json"))
    }

    /// The state, its queue and rejected list read from their files the first time.
    fn inner(&self) -> Result<std::sync::MutexGuard<'_, Inner>, DeskError> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.queue.is_none() {
            inner.queue = Some(self.queue_file().read().map_err(lost)?);
        }
        if inner.rejected.is_none() {
            inner.rejected = Some(self.rejected_file().read().map_err(lost)?);
        }
        Ok(inner)
    }

    /// The door's state now.
    pub fn status(&self) -> Result<DoorStatus, DeskError> {
        Ok(self.inner()?.status())
    }

    /// The shows whose copies this computer keeps (for opening the door while the node is away).
    pub fn saved_shows(&self) -> Vec<Value> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut shows: Vec<Value> = entries
            .flatten()
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with("copy-") && name.ends_with(".json")
            })
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .map(|saved| {
                let mut show = saved["copy"]["show"].clone();
                show["savedAt"] = saved["fetchedAt"].clone();
                show
            })
            .filter(|show| show["id"].is_string())
            .collect();
        shows.sort_by(|a, b| a["startsAt"].as_str().cmp(&b["startsAt"].as_str()));
        shows
    }

    /// Opens the door for a show at a gate: its copy fetched from the node and kept, or (the node
    /// away) the copy kept last time.
    pub async fn open(
        &self,
        client: &NodeClient,
        show_id: &str,
        gate: &str,
    ) -> Result<DoorStatus, DeskError> {
        let gate = check_gate(gate)?;
        let _busy = self.busy.lock().await;
        let path = format!("/api/check-in/shows/{show_id}");
        let (copy_json, fetched_at, online) = match client.get_within(&path, COPY_WAIT).await {
            Ok(json) => {
                let fetched_at = now().to_iso();
                self.save_copy(show_id, &json, &fetched_at)?;
                (json, fetched_at, true)
            }
            Err(e) if node_away(&e) => {
                let (json, fetched_at) = self.saved_copy(show_id).ok_or_else(|| {
                    DeskError::Local(
                        "The node cannot be reached and this computer has no copy of that \
                         show's tickets yet: door mode needs the node once per show."
                            .into(),
                    )
                })?;
                (json, fetched_at, false)
            }
            Err(DeskError::Refused { status: 404, .. }) => {
                return Err(DeskError::NotFound(
                    "That show is no longer on the node".into(),
                ));
            }
            Err(e) => return Err(e),
        };
        let copy = ShowCopy::from_node(&copy_json).map_err(lost)?;
        let learned = self.learned_file(&copy.show_id).read().map_err(lost)?;
        {
            let mut inner = self.inner()?;
            let mut open = Open {
                gate,
                copy,
                learned,
            };
            open.catch_up(inner.queue.as_deref().unwrap_or_default());
            inner.open = Some(open);
            inner.online = online && inner.waiting() == 0;
            inner.refreshed = online.then(Instant::now);
            inner.copy_at = Some(fetched_at);
            inner.problem = None;
        }
        if online {
            self.fetch_conflicts(client).await;
        }
        self.status()
    }

    /// Closes the door (the queue is still sent at every tick).
    pub fn close(&self) -> Result<DoorStatus, DeskError> {
        let mut inner = self.inner()?;
        inner.open = None;
        Ok(inner.status())
    }

    /// Decides a scanned code: by the node when it answers in time, else here.
    pub async fn scan(&self, client: &NodeClient, code: &str) -> Result<ScanAnswer, DeskError> {
        let code = code.trim();
        if code.is_empty() {
            return Err(DeskError::Local("Nothing was scanned".into()));
        }
        let scan_id = new_scan_id();
        let (online, gate, show_id) = {
            let inner = self.inner()?;
            let open = inner
                .open
                .as_ref()
                .ok_or_else(|| DeskError::Local("Open the door for a show first".into()))?;
            (inner.online, open.gate.clone(), open.copy.show_id.clone())
        };
        if online {
            let body = json!({ "code": code, "gate": gate, "showId": show_id, "scanId": scan_id });
            match client.post_within("/api/check-in", body, SCAN_WAIT).await {
                Ok(verdict) if verdict["result"].is_string() => {
                    let mut inner = self.inner()?;
                    self.hear(&mut inner, &verdict, true);
                    return Ok(ScanAnswer {
                        verdict,
                        status: inner.status(),
                    });
                }
                Ok(_) => {}
                Err(e) if node_away(&e) => {}
                Err(e) => return Err(e),
            }
        }
        let mut inner = self.inner()?;
        inner.online = false;
        self.decide_here(&mut inner, code, scan_id)
    }

    /// The offline decision; an admission is in the queue file, synced, before it is answered.
    fn decide_here(
        &self,
        inner: &mut Inner,
        code: &str,
        scan_id: String,
    ) -> Result<ScanAnswer, DeskError> {
        let at = now();
        let open = inner
            .open
            .as_mut()
            .ok_or_else(|| DeskError::Local("Open the door for a show first".into()))?;
        let decision = open.copy.decide(code, at);
        if let Some(pass) = decision.admits() {
            let entry = Queued {
                scan_id,
                code: code.to_owned(),
                gate: open.gate.clone(),
                show_id: open.copy.show_id.clone(),
                scanned_at: at.to_iso(),
            };
            self.queue_file().append(&entry).map_err(|e| {
                DeskError::Local(format!(
                    "This admission could not be written down on this computer ({e}): \
                     do not let the holder in yet"
                ))
            })?;
            open.copy.admit_here(pass, at, &open.gate);
            inner.queue.get_or_insert_default().push(entry);
        }
        let verdict = open.copy.verdict_json(&decision);
        Ok(ScanAnswer {
            verdict,
            status: inner.status(),
        })
    }

    /// Takes in a verdict of the node: what it says of its ticket goes into the copy and the
    /// journal (`here`: the verdict answers this scanner's own scan).
    fn hear(&self, inner: &mut Inner, verdict: &Value, here: bool) {
        let Some(open) = inner.open.as_mut() else {
            return;
        };
        if verdict["showId"].as_str() != Some(open.copy.show_id.as_str()) {
            return;
        }
        let Some(learned) = Learned::from_verdict(verdict, here) else {
            return;
        };
        // Best effort: the node has the truth; the journal only spares a restart offline.
        if let Err(e) = self.learned_file(&open.copy.show_id).append(&learned) {
            tracing::warn!(error = %e, "writing down what the node said");
        }
        open.copy.learn(&learned);
        open.learned.push(learned);
    }

    fn save_copy(&self, show_id: &str, json: &Value, fetched_at: &str) -> Result<(), DeskError> {
        let saved = json!({ "fetchedAt": fetched_at, "copy": json });
        let bytes = serde_json::to_vec(&saved).map_err(lost)?;
        write_atomic(&self.copy_path(show_id), &bytes)
            .map_err(|e| lost(format!("keeping the copy of the show: {e}")))
    }

    fn saved_copy(&self, show_id: &str) -> Option<(Value, String)> {
        let bytes = std::fs::read(self.copy_path(show_id)).ok()?;
        let saved: Value = serde_json::from_slice(&bytes).ok()?;
        let at = saved["fetchedAt"].as_str().unwrap_or_default().to_owned();
        Some((saved["copy"].clone(), at))
    }
}

impl Open {
    /// Brings a fresh copy up to what this scanner knows: what it learned, and its admissions
    /// still waiting in the queue.
    fn catch_up(&mut self, queue: &[Queued]) {
        for learned in &self.learned {
            self.copy.learn(learned);
        }
        let show_id = self.copy.show_id.clone();
        for entry in queue.iter().filter(|q| q.show_id == show_id) {
            if let (Ok(pass), Some(at)) = (
                self.copy.read(&entry.code),
                Millis::parse_iso(&entry.scanned_at),
            ) {
                self.copy.admit_here(&pass, at, &entry.gate);
            }
        }
    }
}

impl Inner {
    fn waiting(&self) -> usize {
        self.queue.as_ref().map_or(0, Vec::len)
    }

    fn seat_of(&self, verdict: &Value) -> Option<String> {
        if let Some(seat) = verdict["seat"].as_str() {
            return Some(seat.to_owned());
        }
        let open = self.open.as_ref()?;
        open.copy
            .seat(verdict["ticketId"].as_str()?)
            .map(str::to_owned)
    }

    fn status(&self) -> DoorStatus {
        let (show, gate, (sold, admitted)) = match &self.open {
            Some(open) => (
                Some(json!({
                    "id": open.copy.show_id,
                    "title": open.copy.title,
                    "startsAt": open.copy.starts_at,
                })),
                Some(open.gate.clone()),
                open.copy.counts(),
            ),
            None => (None, None, (0, 0)),
        };
        DoorStatus {
            show,
            gate,
            online: self.online,
            waiting: self.waiting(),
            sold,
            admitted,
            copy_at: self.copy_at.clone(),
            conflicts: self.conflicts.clone(),
            node_conflicts: self.node_conflicts.clone(),
            rejected: self.rejected.clone().unwrap_or_default(),
            problem: self.problem.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
