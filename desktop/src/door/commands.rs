//! The door mode's commands: the shows a door can open for, opening it at a gate (remembered in
//! the settings), a scan, the regular tick (probe, send the queue, refresh the copy) and closing.

use serde::Serialize;
use serde_json::Value;
use tauri::State;

use super::{DoorStatus, ScanAnswer, check_gate};
use crate::commands::{path_id, with_query};
use crate::desk::Desk;
use crate::error::DeskError;

/// The shows to choose from and the gate typed last time.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DoorShows {
    /// Today's shows first (from `from`, the start of the window's day), soonest first; when
    /// the node cannot be reached, the shows whose copies this computer keeps.
    pub shows: Vec<Value>,
    /// The list is this computer's copies: the node did not answer.
    pub offline: bool,
    pub gate: Option<String>,
    pub status: DoorStatus,
}

#[tauri::command]
pub async fn door_shows(
    desk: State<'_, Desk>,
    from: Option<String>,
) -> Result<DoorShows, DeskError> {
    let client = desk.client().await?;
    let path = match from.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        Some(from) => with_query("/api/shows", &[("from", from)]),
        None => "/api/shows".to_owned(),
    };
    let (shows, offline) = match client.get(&path).await {
        Ok(listed) => (listed.as_array().cloned().unwrap_or_default(), false),
        Err(DeskError::Unreachable(_)) => (desk.door().saved_shows(), true),
        Err(e) => return Err(e),
    };
    Ok(DoorShows {
        shows,
        offline,
        gate: desk.settings().load()?.door_gate,
        status: desk.door().status()?,
    })
}

/// Opens the door for `show_id` at `gate`; the gate is remembered for next time.
#[tauri::command]
pub async fn door_open(
    desk: State<'_, Desk>,
    show_id: String,
    gate: String,
) -> Result<DoorStatus, DeskError> {
    let gate = check_gate(&gate)?;
    let show_id = path_id(show_id.trim(), "a show")?;
    let client = desk.client().await?;
    let status = desk.door().open(&client, show_id, &gate).await?;
    desk.settings()
        .update(|settings| settings.door_gate = Some(gate))?;
    Ok(status)
}

/// One scanned code (what the scanner typed before its Enter).
#[tauri::command]
pub async fn door_scan(desk: State<'_, Desk>, code: String) -> Result<ScanAnswer, DeskError> {
    let client = desk.client().await?;
    desk.door().scan(&client, &code).await
}

/// Called every few seconds while the door is open or admissions wait to be sent.
#[tauri::command]
pub async fn door_tick(desk: State<'_, Desk>) -> Result<DoorStatus, DeskError> {
    let client = desk.client().await?;
    desk.door().tick(&client).await
}

#[tauri::command]
pub async fn door_close(desk: State<'_, Desk>) -> Result<DoorStatus, DeskError> {
    desk.door().close()
}
