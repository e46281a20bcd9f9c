//! The door's operations and schemas (check-in, the offline copy, conflicts, the pass key),
//! declared for the `OpenApi` derive in `openapi.rs`.

// Read by the derive only.
#![allow(dead_code)]

use serde::Serialize;
use utoipa::ToSchema;

use super::Errors;

/// A scan at a gate. `scannedAt` (with `scanId`) reports an admission an offline scanner made.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CheckInRequest {
    /// The pass's code as its QR code carries it (`TIX2:` and base32).
    #[schema(min_length = 1)]
    code: String,
    #[schema(min_length = 1, max_length = 40)]
    gate: String,
    /// The show this gate admits to; a pass for another show is `wrong-show`.
    #[schema(nullable = false, pattern = "^[0-9a-f]{24}$")]
    show_id: Option<String>,
    /// The scanner's own id for the scan: a resent scan answers as the first time.
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9_-]+$"
    )]
    scan_id: Option<String>,
    /// When an offline scanner let the holder in.
    #[schema(nullable = false, format = DateTime)]
    scanned_at: Option<String>,
    /// A scan out, at a show with re-entry (online only).
    #[schema(nullable = false)]
    exit: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum VerdictName {
    Admitted,
    AlreadyAdmitted,
    Refunded,
    WrongShow,
    NotValidNow,
    Forged,
    /// Scanned out at a show with re-entry.
    Exited,
}

/// What the door says of a code; always 200, whatever it says.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Verdict {
    result: VerdictName,
    /// A sentence for the door's screen.
    message: String,
    #[schema(nullable = false)]
    ticket_id: Option<String>,
    #[schema(nullable = false)]
    order_id: Option<String>,
    #[schema(nullable = false)]
    show_id: Option<String>,
    #[schema(nullable = false)]
    title: Option<String>,
    #[schema(nullable = false)]
    seat: Option<String>,
    /// The ticket's (first) admission.
    #[schema(nullable = false, format = DateTime)]
    admitted_at: Option<String>,
    #[schema(nullable = false)]
    gate: Option<String>,
    #[schema(nullable = false)]
    offline: Option<bool>,
    /// An offline scanner's admission the node would have refused: listed as a conflict.
    #[schema(nullable = false)]
    conflict: Option<bool>,
    #[schema(nullable = false, format = DateTime)]
    valid_from: Option<String>,
    #[schema(nullable = false, format = DateTime)]
    valid_until: Option<String>,
    #[schema(nullable = false)]
    counts: Option<DoorCounts>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DoorCounts {
    admitted: u32,
    sold: u32,
}

/// The key passes are signed with.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PassKey {
    /// The first 4 bytes of SHA-256 of the public key, in hex.
    key_id: String,
    /// The Ed25519 public key, 64 hex digits.
    public_key: String,
    algorithm: String,
    format: String,
}

/// A paid ticket's pass.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Pass {
    ticket_id: String,
    code: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CopyShow {
    id: String,
    title: String,
    starts_at: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TicketStatus {
    Valid,
    Admitted,
    Refunded,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CopyTicket {
    ticket_id: String,
    order_id: String,
    seat: String,
    status: TicketStatus,
    #[schema(nullable = false, format = DateTime)]
    admitted_at: Option<String>,
    #[schema(nullable = false)]
    gate: Option<String>,
    #[schema(nullable = false)]
    offline: Option<bool>,
    /// Admitted and scanned out (a show with re-entry).
    #[schema(nullable = false)]
    out: Option<bool>,
}

/// What an offline scanner keeps of a show.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ShowCopy {
    show: CopyShow,
    key: PassKey,
    sold: u32,
    admitted: u32,
    #[schema(nullable = false, format = DateTime)]
    valid_from: Option<String>,
    #[schema(nullable = false, format = DateTime)]
    valid_until: Option<String>,
    tickets: Vec<CopyTicket>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ConflictAdmission {
    at: String,
    gate: String,
    offline: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ConflictReason {
    AlreadyAdmitted,
    Refunded,
}

/// A ticket let in twice (or refunded and let in) while a scanner was offline.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Conflict {
    ticket_id: String,
    order_id: String,
    reason: ConflictReason,
    #[schema(nullable = false)]
    first: Option<ConflictAdmission>,
    second: ConflictAdmission,
    reported_at: String,
    #[schema(nullable = false)]
    show_id: Option<String>,
    #[schema(nullable = false)]
    title: Option<String>,
}

#[utoipa::path(post, path = "/api/check-in", tag = "door",
    request_body = CheckInRequest, security(("session" = [])),
    responses(
        (status = 200, description = "The verdict", body = Verdict),
        (status = 400, description = "No code, no gate, or a malformed id, scan id or time", body = Errors),
        (status = 401, description = "Not signed in as door staff or staff", body = Errors),
        (status = 413, description = "Body over 16 KiB", body = Errors),
    ))]
pub(crate) fn check_in() {}

#[utoipa::path(get, path = "/api/check-in/shows/{id}", tag = "door", security(("session" = [])),
    params(("id" = String, Path, description = "The show's id (24 hex digits)")),
    responses(
        (status = 200, description = "The key, the counts and every sold ticket of the show", body = ShowCopy),
        (status = 400, description = "Not a show id", body = Errors),
        (status = 401, description = "Not signed in as door staff or staff", body = Errors),
        (status = 404, description = "No such show", body = Errors),
    ))]
pub(crate) fn show_copy() {}

#[utoipa::path(get, path = "/api/check-in/conflicts", tag = "door", security(("session" = [])),
    responses(
        (status = 200, description = "Conflicts offline scanners reported, oldest first", body = Vec<Conflict>),
        (status = 401, description = "Not signed in as door staff or staff", body = Errors),
    ))]
pub(crate) fn conflicts() {}

#[utoipa::path(get, path = "/.well-known/tix-pass-key", tag = "door",
    responses(
        (status = 200, description = "The public key passes are checked with", body = PassKey),
    ))]
pub(crate) fn pass_key() {}
