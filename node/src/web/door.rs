//! `/door`: the door screen for staff phones. Pick the show and name the gate, then scan: with
//! the camera where the browser has the BarcodeDetector API, or by typing the code (a USB
//! scanner types it too). The verdict fills the screen, green to let in, red to stop. Without
//! JavaScript the form posts here and the page answers with the verdict.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use serde::Deserialize;

use tix_core::auth::Role;
use tix_core::door::GATE_MAX_CHARS;
use tix_core::ids::ShowId;
use tix_core::time::Millis;

use crate::actions::door::{CheckIn, Outcome};
use crate::actions::{self, ApiError};
use crate::state::AppState;

use super::csrf::CheckedForm;
use super::frame::{Frame, SignedIn, Visitor, when};
use super::problem::{PageError, Problems};

/// Shows from this long ago on are offered (a show that started still lets latecomers in).
const SINCE_MS: u64 = 12 * 3_600_000;
const OFFERED: usize = 30;

/// A signed-in member of the door staff (or staff); anyone else is told the page is for staff.
pub(crate) struct DoorStaff {
    visitor: Visitor,
    user: tix_core::ids::UserId,
}

impl FromRequestParts<AppState> for DoorStaff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let (visitor, account) = SignedIn::with_role(parts, state, Role::Door).await?;
        Ok(DoorStaff {
            visitor,
            user: account.id,
        })
    }
}

/// A show the door can admit to.
struct Offered {
    id: String,
    label: String,
    selected: bool,
}

/// The verdict as the screen shows it.
struct Shown {
    result: &'static str,
    admitted: bool,
    message: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "door.html")]
struct DoorPage {
    frame: Frame,
    shows: Vec<Offered>,
    gate: String,
    counts: Option<(u32, u32)>,
    verdict: Option<Shown>,
    problems: Problems,
}

#[derive(Deserialize)]
pub(crate) struct Choice {
    show: Option<String>,
    gate: Option<String>,
}

/// `GET /door?show=&gate=`.
pub(crate) async fn page(
    State(state): State<AppState>,
    door: DoorStaff,
    choice: Result<Query<Choice>, QueryRejection>,
) -> Result<Response, PageError> {
    let Query(choice) = choice.map_err(|_| PageError::BadForm)?;
    let show = choice.show.as_deref().and_then(|s| s.parse().ok());
    let page = door_page(
        &state,
        &door.visitor,
        show,
        choice.gate.unwrap_or_default(),
        None,
    )?;
    Ok(door.visitor.page(StatusCode::OK, &page))
}

/// `POST /door` `show, gate, code`: a scan without JavaScript.
pub(crate) async fn scan(
    State(state): State<AppState>,
    door: DoorStaff,
    form: CheckedForm,
) -> Result<Response, PageError> {
    let show: Option<ShowId> = form.text("show").and_then(|s| s.parse().ok());
    let gate = form.text("gate").unwrap_or_default().trim().to_owned();
    let code = form.text("code").unwrap_or_default().trim().to_owned();
    let mut problem = None;
    let mut verdict = None;
    if gate.is_empty() || gate.chars().count() > GATE_MAX_CHARS {
        problem = Some("Name the gate (1 to 40 characters).");
    } else if code.is_empty() {
        problem = Some("Scan or type a pass code.");
    } else {
        let request = CheckIn {
            code,
            gate: gate.clone(),
            for_show: show,
            scan_id: None,
            scanned_at: None,
            exit: form.text("exit").is_some(),
        };
        let outcome = actions::door::check_in(&state, door.user, request).await?;
        verdict = Some(shown(&state, &outcome));
    }
    let mut page = door_page(&state, &door.visitor, show, gate, verdict)?;
    let status = match problem {
        Some(problem) => {
            page.problems = Problems::one(problem);
            StatusCode::BAD_REQUEST
        }
        None => StatusCode::OK,
    };
    Ok(door.visitor.page(status, &page))
}

fn shown(state: &AppState, outcome: &Outcome) -> Shown {
    let (result, message) = actions::door::words(outcome);
    let detail = match outcome {
        Outcome::Decided { pass, .. } => actions::door::seat_of(&state.stores, pass),
        Outcome::Forged(_) => String::new(),
    };
    Shown {
        result,
        admitted: matches!(result, "admitted" | "exited"),
        message,
        detail,
    }
}

fn door_page(
    state: &AppState,
    visitor: &Visitor,
    show: Option<ShowId>,
    gate: String,
    verdict: Option<Shown>,
) -> Result<DoorPage, ApiError> {
    let now = state.clock.now();
    let shows = state
        .stores
        .shows
        .list(
            Millis(now.0.saturating_sub(SINCE_MS)),
            Millis::LAST_ISO,
            OFFERED,
        )?
        .into_iter()
        .map(|s| Offered {
            selected: Some(s.id) == show,
            label: format!("{} · {}", s.details.title, when(&s.details.starts_at)),
            id: s.id.to_string(),
        })
        .collect();
    let counts = match show {
        Some(show) => {
            let counts = state.stores.door.counts(Some(show))?;
            Some((counts.admitted, counts.sold))
        }
        None => None,
    };
    Ok(DoorPage {
        frame: visitor.frame(state),
        shows,
        gate,
        counts,
        verdict,
        problems: Problems::default(),
    })
}
