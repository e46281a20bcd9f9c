//! The door scanner's rounds with the node, one at a time: the probe while offline, sending the
//! queue of offline admissions in order (each removed from its file only after the node's
//! answer), and fetching the show's copy and the node's conflicts again.

use std::time::Instant;

use serde_json::{Value, json};

use super::copy::{ShowCopy, clock_time};
use super::{
    COPY_WAIT, Door, DoorStatus, PROBE_WAIT, Queued, REFRESH_EVERY, SEND_WAIT, lost, node_away, now,
};
use crate::error::DeskError;
use crate::node_client::NodeClient;

impl Door {
    /// The window's regular call: while offline, probe the node and, once it answers, send the
    /// queue; while online, fetch the copy again every `REFRESH_EVERY`.
    pub async fn tick(&self, client: &NodeClient) -> Result<DoorStatus, DeskError> {
        let _busy = self.busy.lock().await;
        let (online, due) = {
            let inner = self.inner()?;
            let due = inner
                .refreshed
                .is_none_or(|at| at.elapsed() >= REFRESH_EVERY);
            (inner.online, due)
        };
        if !online {
            if client.health_within(PROBE_WAIT).await.is_none() {
                return self.status();
            }
            if !self.send_queue(client).await? {
                return self.status();
            }
            self.refresh(client).await;
        } else if due {
            self.refresh(client).await;
        }
        self.status()
    }

    /// Sends the queue, oldest first, each entry removed after the node's answer. True when it
    /// is empty (the scanner is online again), false when the node went away meanwhile.
    async fn send_queue(&self, client: &NodeClient) -> Result<bool, DeskError> {
        loop {
            let head = {
                let mut inner = self.inner()?;
                match inner.queue.as_deref().unwrap_or_default().first() {
                    Some(head) => head.clone(),
                    None => {
                        inner.online = true;
                        return Ok(true);
                    }
                }
            };
            let body = json!({
                "code": head.code, "gate": head.gate, "showId": head.show_id,
                "scanId": head.scan_id, "scannedAt": head.scanned_at,
            });
            let answer = client.post_within("/api/check-in", body, SEND_WAIT).await;
            let mut inner = self.inner()?;
            match answer {
                Ok(verdict) if verdict["result"].is_string() => {
                    if verdict["conflict"] == true {
                        let seat = inner.seat_of(&verdict);
                        inner
                            .conflicts
                            .insert(0, conflict_json(&head, &verdict, seat));
                    }
                    self.hear(&mut inner, &verdict, true);
                }
                Ok(_) => return Ok(false),
                Err(e) if node_away(&e) => {
                    inner.online = false;
                    return Ok(false);
                }
                Err(DeskError::Refused { status, messages }) if status != 401 => {
                    let why = messages.first().map(|m| m.message.clone());
                    let kept = json!({ "entry": head, "status": status, "message": why });
                    self.rejected_file().append(&kept).map_err(lost)?;
                    inner.rejected.get_or_insert_default().push(kept);
                }
                Err(e) => return Err(e),
            }
            let queue = inner.queue.get_or_insert_default();
            let rest: Vec<Queued> = queue
                .iter()
                .filter(|q| q.scan_id != head.scan_id)
                .cloned()
                .collect();
            if let Err(e) = self.queue_file().rewrite(&rest) {
                inner.problem = Some(format!("the queue file cannot be written: {e}"));
                return Err(lost(e));
            }
            *queue = rest;
        }
    }

    /// Fetches the copy of the open show again (keeping what was learned since) and the node's
    /// conflicts; the node not answering makes the scanner offline.
    async fn refresh(&self, client: &NodeClient) {
        self.fetch_conflicts(client).await;
        let show_id = match self.inner() {
            Ok(inner) => inner.open.as_ref().map(|o| o.copy.show_id.clone()),
            Err(_) => None,
        };
        let Some(show_id) = show_id else {
            return;
        };
        let path = format!("/api/check-in/shows/{show_id}");
        let fetched = client.get_within(&path, COPY_WAIT).await;
        let Ok(mut inner) = self.inner() else {
            return;
        };
        match fetched {
            Ok(json) => {
                let fetched_at = now().to_iso();
                let copy = match ShowCopy::from_node(&json) {
                    Ok(copy) => copy,
                    Err(e) => {
                        inner.problem = Some(format!("the node's copy: {e}"));
                        return;
                    }
                };
                // Written while holding the state, so a scan never sees the old file with the
                // new copy; a copy is a few hundred kilobytes even for a large hall.
                if let Err(e) = self.save_copy(&show_id, &json, &fetched_at) {
                    inner.problem = Some(e.to_string());
                }
                let queue = inner.queue.clone().unwrap_or_default();
                if let Some(open) = inner.open.as_mut().filter(|o| o.copy.show_id == show_id) {
                    open.copy = copy;
                    open.catch_up(&queue);
                    inner.refreshed = Some(Instant::now());
                    inner.copy_at = Some(fetched_at);
                }
            }
            Err(e) if node_away(&e) => inner.online = false,
            Err(e) => inner.problem = Some(e.to_string()),
        }
    }

    pub(super) async fn fetch_conflicts(&self, client: &NodeClient) {
        let fetched = client
            .get_within("/api/check-in/conflicts", COPY_WAIT)
            .await;
        if let (Ok(list), Ok(mut inner)) = (fetched, self.inner()) {
            inner.node_conflicts = list.as_array().cloned().unwrap_or_default();
            inner.node_conflicts.reverse();
        }
    }
}

/// A conflict the node reported for one of this scanner's queued admissions: the ticket, its
/// seat, the admission on record (if any) and this scanner's.
fn conflict_json(entry: &Queued, verdict: &Value, seat: Option<String>) -> Value {
    let mut json = json!({
        "ticketId": verdict["ticketId"],
        "orderId": verdict["orderId"],
        "title": verdict["title"],
        "seat": seat,
        "reason": verdict["result"],
        "message": verdict["message"],
        "second": { "at": entry.scanned_at, "gate": entry.gate, "offline": true },
    });
    if let Some(at) = verdict["admittedAt"].as_str() {
        json["first"] = json!({
            "at": at,
            "gate": verdict["gate"],
            "offline": verdict["offline"] == true,
            "clock": clock_time(at),
        });
    }
    json
}
