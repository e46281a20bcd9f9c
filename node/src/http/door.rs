//! `/api/check-in*` and the node's public pass key: scanning passes at the door (door staff and
//! staff), the copy of a show's tickets an offline scanner keeps, and the conflicts offline
//! scanners reported.
//!
//! A scan always answers 200 with a verdict, whatever it says; only a request that cannot be
//! understood (no code, no gate, a malformed id or time) is a 400.

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use tix_core::auth::{Role, User};
use tix_core::door::{Admission, Conflict, Entry, Verdict};
use tix_core::ids::{ShowId, TicketId};
use tix_core::passes::{Pass, PassError, Scope, Window};
use tix_core::shows::Show;
use tix_core::time::Millis;

use super::input::{Body, PathId, Session};
use crate::actions::door::{CheckIn, Outcome};
use crate::actions::validate::{Validator, string};
use crate::actions::{self, ApiError};
use crate::state::AppState;
use crate::stores::Stores;

/// The longest scan id a scanner may send.
const SCAN_ID_MAX: usize = 64;
/// How far in the future an offline scanner's clock may be believed.
const CLOCK_SKEW_MS: u64 = 5 * 60_000;

/// The signed-in user, if they may check tickets in.
async fn require_door(state: &AppState, session: Session) -> Result<User, ApiError> {
    session.require_role(state, Role::Door)
}

/// `GET /.well-known/tix-pass-key`: the key passes are checked with.
pub(super) async fn pass_key(State(state): State<AppState>) -> Json<Value> {
    Json(pass_key_json(&state))
}

pub(super) fn pass_key_json(state: &AppState) -> Value {
    let verifier = state.pass_key.verifier();
    json!({
        "keyId": verifier.id().to_string(),
        "publicKey": verifier.public_hex(),
        "algorithm": "Ed25519",
        "format": tix_core::passes::PREFIX,
    })
}

/// `POST /api/check-in` `{code, gate, showId?, scanId?, scannedAt?, exit?}`.
pub(super) async fn check_in(
    State(state): State<AppState>,
    session: Session,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let user = require_door(&state, session).await?;
    let request = check_in_request(&body.object()?, state.clock.now())?;
    let outcome = actions::door::check_in(&state, user.id, request).await?;
    Ok(Json(match outcome {
        Outcome::Forged(why) => forged_json(&why),
        Outcome::Decided { pass, verdict } => verdict_json(&state.stores, &pass, &verdict),
    }))
}

fn check_in_request(body: &Map<String, Value>, now: Millis) -> Result<CheckIn, ApiError> {
    let mut check = Validator::default();
    let code = check.require(
        string(body, "code")
            .map(str::trim)
            .filter(|c| !c.is_empty()),
        "code",
        "A pass code is required",
    );
    let gate = check.require(
        string(body, "gate")
            .map(str::trim)
            .filter(|g| !g.is_empty() && g.chars().count() <= tix_core::door::GATE_MAX_CHARS),
        "gate",
        "A gate name of 1 to 40 characters is required",
    );
    let for_show = optional(
        body,
        "showId",
        &mut check,
        "showId must be a valid id",
        |s| s.parse::<ShowId>().ok(),
    );
    let scan_id = optional(
        body,
        "scanId",
        &mut check,
        "scanId must be 1 to 64 letters, digits, - or _",
        |s| {
            let fits = !s.is_empty()
                && s.len() <= SCAN_ID_MAX
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            fits.then(|| s.to_owned())
        },
    );
    let scanned_at = optional(
        body,
        "scannedAt",
        &mut check,
        "scannedAt must be an ISO 8601 time, not in the future",
        |s| Millis::parse_iso(s).filter(|at| at.0 <= now.0 + CLOCK_SKEW_MS),
    );
    if scanned_at.is_some() && scan_id.is_none() && !body.contains_key("scanId") {
        check.fail(
            "scanId",
            "An offline scan (with scannedAt) needs its scanId",
        );
    }
    let exit = match body.get("exit") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(exit)) => *exit,
        Some(_) => {
            check.fail("exit", "exit must be true or false");
            false
        }
    };
    if exit && body.get("scannedAt").is_some_and(|at| !at.is_null()) {
        check.fail("exit", "Scans out are made online only, not reported later");
    }
    check.finish()?;
    Ok(CheckIn {
        code: code.unwrap_or_default().to_owned(),
        gate: gate.unwrap_or_default().to_owned(),
        for_show,
        scan_id,
        scanned_at,
        exit,
    })
}

/// An optional string field: absent or null is `None`; present, it must parse.
fn optional<T>(
    body: &Map<String, Value>,
    field: &str,
    check: &mut Validator,
    message: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Option<T> {
    match body.get(field) {
        None | Some(Value::Null) => None,
        Some(value) => {
            let parsed = value.as_str().and_then(parse);
            if parsed.is_none() {
                check.fail(field, message);
            }
            parsed
        }
    }
}

fn forged_json(why: &PassError) -> Value {
    let (result, message) = actions::door::words(&Outcome::Forged(why.clone()));
    json!({ "result": result, "message": message })
}

/// The verdict's JSON: `result` (the pinned name), a sentence for the screen, and the ticket.
pub(crate) fn verdict_json(stores: &Stores, pass: &Pass, verdict: &Verdict) -> Value {
    let (result, message) = actions::door::verdict_words(verdict);
    let mut json = json!({
        "result": result,
        "message": message,
        "ticketId": pass.ticket,
        "orderId": pass.order,
    });
    describe(stores, pass, &mut json);
    match verdict {
        Verdict::Admitted(admission) => put_admission(&mut json, admission),
        Verdict::AlreadyAdmitted { first, conflict } => {
            put_admission(&mut json, first);
            json["conflict"] = json!(conflict);
        }
        Verdict::Refunded { conflict } => json["conflict"] = json!(conflict),
        Verdict::NotValidNow { window, .. } => put_window(&mut json, window),
        Verdict::Exited { admission, .. } | Verdict::Readmitted { first: admission } => {
            put_admission(&mut json, admission)
        }
        Verdict::WrongShow { .. } | Verdict::Unknown | Verdict::NoReentry | Verdict::NotInside => {}
    }
    json
}

/// The show, seat and category of the pass's ticket, as the shows store names them.
fn describe(stores: &Stores, pass: &Pass, json: &mut Value) {
    let Scope::Show { show, unit } = pass.scope else {
        return;
    };
    json["showId"] = json!(show);
    if let Ok(counts) = stores.door.counts(Some(show)) {
        json["counts"] = json!({"admitted": counts.admitted, "sold": counts.sold});
    }
    let Ok(Some(show)) = stores.shows.get(show) else {
        return;
    };
    json["title"] = json!(show.details.title);
    if let Ok(seat) = stores.shows.unit_label(&show, unit) {
        json["seat"] = json!(seat);
    }
}

fn put_admission(json: &mut Value, admission: &Admission) {
    json["admittedAt"] = json!(admission.at.to_iso());
    json["gate"] = json!(admission.gate);
    if admission.offline {
        json["offline"] = json!(true);
    }
}

fn put_window(json: &mut Value, window: &Window) {
    json["validFrom"] = json!(window.from.to_iso());
    if let Some(until) = window.until {
        json["validUntil"] = json!(until.to_iso());
    }
}

/// `GET /api/check-in/shows/{id}`: what an offline scanner keeps of a show: the key, the counts
/// and every sold ticket with its state.
pub(super) async fn show_copy(
    State(state): State<AppState>,
    session: Session,
    path: PathId,
) -> Result<Json<Value>, ApiError> {
    require_door(&state, session).await?;
    let id: ShowId = path.parse()?;
    let show = state.stores.shows.get(id)?.ok_or(ApiError::NotFound)?;
    let counts = state.stores.door.counts(Some(id))?;
    let door_show = state.stores.door.show(id)?;
    let tickets: Vec<Value> = state
        .stores
        .door
        .show_entries(id)?
        .iter()
        .map(|(ticket, entry)| ticket_json(&state.stores, &show, *ticket, entry))
        .collect();
    let mut json = json!({
        "show": {"id": show.id, "title": show.details.title, "startsAt": show.details.starts_at},
        "key": pass_key_json(&state),
        "sold": counts.sold,
        "admitted": counts.admitted,
        "tickets": tickets,
    });
    if let Some(window) = door_show.map(|s| s.window()) {
        put_window(&mut json, &window);
    }
    Ok(Json(json))
}

fn ticket_json(stores: &Stores, show: &Show, ticket: TicketId, entry: &Entry) -> Value {
    let status = if entry.refunded {
        "refunded"
    } else if entry.admitted.is_some() {
        "admitted"
    } else {
        "valid"
    };
    let mut json = json!({
        "ticketId": ticket,
        "orderId": entry.order,
        "seat": stores.shows.unit_label(show, entry.unit).unwrap_or_default(),
        "status": status,
    });
    if let Some(admission) = &entry.admitted {
        put_admission(&mut json, admission);
    }
    if entry.outside {
        json["out"] = json!(true);
    }
    json
}

/// `GET /api/check-in/conflicts`: tickets let in twice (or refunded and let in) while a scanner
/// was offline, oldest report first.
pub(super) async fn conflicts(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<Value>, ApiError> {
    require_door(&state, session).await?;
    let conflicts = state.stores.door.conflicts()?;
    Ok(Json(Value::Array(
        conflicts
            .iter()
            .map(|c| conflict_json(&state.stores, c))
            .collect(),
    )))
}

fn conflict_json(stores: &Stores, conflict: &Conflict) -> Value {
    let admission =
        |a: &Admission| json!({"at": a.at.to_iso(), "gate": a.gate, "offline": a.offline});
    let mut json = json!({
        "ticketId": conflict.ticket,
        "orderId": conflict.order,
        "reason": conflict.reason,
        "second": admission(&conflict.second),
        "reportedAt": conflict.reported_at.to_iso(),
    });
    if let Some(first) = &conflict.first {
        json["first"] = admission(first);
    }
    if let Some(show) = conflict.show {
        json["showId"] = json!(show);
        if let Ok(Some(show)) = stores.shows.get(show) {
            json["title"] = json!(show.details.title);
        }
    }
    json
}
