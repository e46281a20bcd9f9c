//! Staff pages under `/manage`: tonight's and the coming shows with what is sold, held and available per
//! category (kept live by the page's script), putting a show on sale from a form with a preview of
//! its seat map before anything is saved, changing one, and stopping, resuming or cancelling its
//! sales. The same actions and rules as the JSON API; only staff get in.

mod show_form;

use std::collections::{BTreeMap, HashSet};

use askama::Template;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;

use tix_core::ids::ShowId;
use tix_core::shows::{MapRow, Show, ShowDraft, ShowStatus, map_rows};
use tix_core::time::Millis;

use crate::actions;
use crate::state::AppState;

use self::show_form::{ShowForm, TIMES};
use super::csrf::{CheckedForm, CheckedUpload};
use super::frame::{Frame, SignedIn, Visitor, money, redirect, when};
use super::problem::{PageError, Problems};
use super::seat_map::{self, Drawn};

/// How far back the dashboard looks: a show that started a few hours ago is still tonight's.
const TONIGHT_MS: u64 = 12 * 3_600_000;
/// Most shows the dashboard lists, soonest first.
const LISTED: usize = 50;

/// A signed-in member of staff; anyone else is sent to sign in, or told the page is for staff.
pub(crate) struct Staff {
    visitor: Visitor,
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let (visitor, _) = SignedIn::with_role(parts, state, tix_core::auth::Role::Staff).await?;
        Ok(Staff { visitor })
    }
}

/// A category's counts as the staff read them.
struct CountRow {
    name: String,
    price: String,
    capacity: u32,
    sold: u32,
    held: u32,
    available: u32,
}

/// A show with its counts.
struct Counted {
    id: ShowId,
    title: String,
    starts: String,
    status: &'static str,
    rows: Vec<CountRow>,
}

fn counted(state: &AppState, show: &Show) -> Counted {
    Counted {
        id: show.id,
        title: show.details.title.clone(),
        starts: when(&show.details.starts_at),
        status: status_label(show.status),
        rows: show
            .categories
            .iter()
            .map(|c| CountRow {
                name: c.name.clone(),
                price: money(c.price, &state.currency),
                capacity: c.capacity,
                sold: c.sold,
                held: c.held,
                available: c.available(),
            })
            .collect(),
    }
}

fn status_label(status: ShowStatus) -> &'static str {
    match status {
        ShowStatus::Draft => "Draft (not on sale)",
        ShowStatus::OnSale => "On sale",
        ShowStatus::SalesStopped => "Sales stopped",
        ShowStatus::Cancelled => "Cancelled",
    }
}

#[derive(Template)]
#[template(path = "manage.html")]
struct Dashboard {
    frame: Frame,
    shows: Vec<Counted>,
}

/// `GET /manage`: tonight's shows and the next ones, soonest first, with their counts.
pub(crate) async fn dashboard(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    let shows = state
        .stores
        .shows
        .list(
            Millis(now.0.saturating_sub(TONIGHT_MS)),
            Millis::LAST_ISO,
            LISTED,
        )?
        .iter()
        .map(|show| counted(&state, show))
        .collect();
    let page = Dashboard {
        frame: staff.visitor.frame(&state),
        shows,
    };
    Ok(staff.visitor.page(StatusCode::OK, &page))
}

/// What a preview shows of a planned show before it is saved.
struct Preview {
    /// Name, price, places.
    categories: Vec<(String, String, u32)>,
    units: u32,
    map: Option<Drawn>,
}

#[derive(Template)]
#[template(path = "manage_new.html")]
struct NewShowPage {
    frame: Frame,
    form: ShowForm,
    times: [(&'static str, &'static str, String); 4],
    problems: Problems,
    preview: Option<Preview>,
}

fn new_show_page(
    state: &AppState,
    visitor: &Visitor,
    form: ShowForm,
    problems: Problems,
    preview: Option<Preview>,
) -> NewShowPage {
    NewShowPage {
        frame: visitor.frame(state),
        times: times(&form),
        form,
        problems,
        preview,
    }
}

fn times(form: &ShowForm) -> [(&'static str, &'static str, String); 4] {
    let mut i = 0;
    TIMES.map(|(name, label)| {
        i += 1;
        (name, label, form.times[i - 1].clone())
    })
}

/// `GET /manage/shows/new`.
pub(crate) async fn new_show(State(state): State<AppState>, staff: Staff) -> Response {
    let page = new_show_page(
        &state,
        &staff.visitor,
        ShowForm::blank(),
        Problems::default(),
        None,
    );
    staff.visitor.page(StatusCode::OK, &page)
}

/// `POST /manage/shows/new` (multipart, for the CSV file): `action=preview` checks the show and
/// draws what it would be, saving nothing; `action=save` puts it on sale (or saves a draft).
pub(crate) async fn create(
    State(state): State<AppState>,
    staff: Staff,
    CheckedUpload(sent): CheckedUpload,
) -> Result<Response, PageError> {
    let form = ShowForm::read(&sent);
    let body = form.new_show_json();
    if sent.text("action") == Some("save") {
        return match actions::shows::create(&state, &body).await {
            Ok(show) => Ok(redirect(&format!("/manage/shows/{}", show.id))),
            Err(error) => {
                let (status, problems) = Problems::from_api(error)?;
                let page = new_show_page(&state, &staff.visitor, form, problems, None);
                Ok(staff.visitor.page(status, &page))
            }
        };
    }
    let (status, problems, preview) = match ShowDraft(&body).plan() {
        Ok(plan) => {
            let rows: Vec<MapRow> = map_rows(&plan.layout(), &plan.given, &plan.generate)
                .into_iter()
                .map(|(_, first_unit, row)| MapRow { first_unit, row })
                .collect();
            let map = (!rows.is_empty())
                .then(|| seat_map::draw(&rows, &BTreeMap::new(), false, &HashSet::new()));
            let preview = Preview {
                categories: plan
                    .categories
                    .iter()
                    .zip(plan.capacities())
                    .map(|(c, places)| (c.name.clone(), money(c.price, &state.currency), places))
                    .collect(),
                units: plan.units,
                map,
            };
            (StatusCode::OK, Problems::default(), Some(preview))
        }
        Err(found) => {
            let (status, problems) = Problems::from_api(actions::shows::problems(found))?;
            (status, problems, None)
        }
    };
    let page = new_show_page(&state, &staff.visitor, form, problems, preview);
    Ok(staff.visitor.page(status, &page))
}

#[derive(Template)]
#[template(path = "manage_show.html")]
struct ShowPage {
    frame: Frame,
    show: Counted,
    form: ShowForm,
    times: [(&'static str, &'static str, String); 4],
    problems: Problems,
    /// What the page says happened, after a change.
    done: String,
    can_stop: bool,
    can_resume: bool,
    can_cancel: bool,
}

fn find(state: &AppState, id: &str) -> Result<Show, PageError> {
    let id: ShowId = id.parse().map_err(|_| PageError::NotFound)?;
    state.stores.shows.get(id)?.ok_or(PageError::NotFound)
}

fn show_page(
    state: &AppState,
    visitor: &Visitor,
    show: &Show,
    form: ShowForm,
    problems: Problems,
    done: &str,
) -> ShowPage {
    ShowPage {
        frame: visitor.frame(state),
        show: counted(state, show),
        times: times(&form),
        form,
        problems,
        done: done.to_owned(),
        can_stop: show.status == ShowStatus::OnSale,
        can_resume: matches!(show.status, ShowStatus::SalesStopped | ShowStatus::Draft),
        can_cancel: show.status != ShowStatus::Cancelled,
    }
}

/// `GET /manage/shows/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let show = find(&state, &id)?;
    let form = ShowForm::of_show(&show);
    let page = show_page(&state, &staff.visitor, &show, form, Problems::default(), "");
    Ok(staff.visitor.page(StatusCode::OK, &page))
}

/// `POST /manage/shows/{id}`: changes its details and prices.
pub(crate) async fn edit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    sent: CheckedForm,
) -> Result<Response, PageError> {
    let show = find(&state, &id)?;
    let form = ShowForm::read(&sent);
    match actions::shows::edit(&state, show.id, &form.edit_json()).await {
        Ok(show) => {
            let form = ShowForm::of_show(&show);
            let page = show_page(
                &state,
                &staff.visitor,
                &show,
                form,
                Problems::default(),
                "Saved.",
            );
            Ok(staff.visitor.page(StatusCode::OK, &page))
        }
        Err(error) => {
            let (status, problems) = Problems::from_api(error)?;
            let page = show_page(&state, &staff.visitor, &show, form, problems, "");
            Ok(staff.visitor.page(status, &page))
        }
    }
}

/// `POST /manage/shows/{id}/status` `to=stop|resume|cancel` (cancelling needs `confirm=on`).
pub(crate) async fn set_status(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    sent: CheckedForm,
) -> Result<Response, PageError> {
    let show = find(&state, &id)?;
    let (status, done) = match sent.text("to") {
        Some("stop") => (ShowStatus::SalesStopped, "Sales stopped."),
        Some("resume") => (ShowStatus::OnSale, "On sale again."),
        Some("cancel") if sent.text("confirm") == Some("on") => (
            ShowStatus::Cancelled,
            "Cancelled. Unpaid orders were released; refund paid ones at the box office.",
        ),
        Some("cancel") => {
            let problems =
                Problems::one("Tick the box to confirm: cancelling a show cannot be undone.");
            let page = show_page(
                &state,
                &staff.visitor,
                &show,
                ShowForm::of_show(&show),
                problems,
                "",
            );
            return Ok(staff.visitor.page(StatusCode::BAD_REQUEST, &page));
        }
        _ => return Err(PageError::BadForm),
    };
    let (code, show, problems, done) =
        match actions::shows::set_status(&state, show.id, status).await {
            Ok(show) => (StatusCode::OK, show, Problems::default(), done),
            Err(error) => {
                let (code, problems) = Problems::from_api(error)?;
                (code, show, problems, "")
            }
        };
    let form = ShowForm::of_show(&show);
    let page = show_page(&state, &staff.visitor, &show, form, problems, done);
    Ok(staff.visitor.page(code, &page))
}
