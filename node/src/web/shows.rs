//! Show pages: "What's on" (shows by date, price from, availability in words) and a show with its
//! categories, where a buyer asks for a quantity of a category and gets the best available, all
//! or nothing, then pays on the order's page. Plain forms; no script needed.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use tix_core::ids::ShowId;
use tix_core::orders::Pick;
use tix_core::shows::{CategoryCounts, Show, selling};
use tix_core::time::Millis;

use crate::actions::{self, ApiError};
use crate::state::AppState;

use super::csrf::CheckedForm;
use super::frame::{Frame, Visitor, money, redirect, when};
use super::problem::{PageError, Problems};

/// Most shows "What's on" lists.
const LISTED: usize = 200;

/// Availability in words, as a buyer reads it.
fn availability(available: u32, capacity: u32) -> &'static str {
    match available {
        0 => "Sold out",
        n if u64::from(n) * 10 <= u64::from(capacity) => "Few left",
        _ => "Available",
    }
}

fn is_selling(show: &Show, now: Millis) -> bool {
    let at = |t: &Option<String>| t.as_deref().and_then(Millis::parse_iso);
    selling(
        show.status,
        at(&show.details.on_sale_at),
        at(&show.details.off_sale_at),
        now,
    )
    .is_ok()
}

struct ShowRow {
    id: ShowId,
    title: String,
    starts: String,
    hall: String,
    from: String,
    availability: &'static str,
}

#[derive(Template)]
#[template(path = "shows.html")]
struct ShowsPage {
    frame: Frame,
    rows: Vec<ShowRow>,
}

/// `/shows`: what's on, soonest first, from a day ago on.
pub(crate) async fn list(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    let from = Millis(now.0.saturating_sub(86_400_000));
    let rows = state
        .stores
        .shows
        .list(from, Millis::LAST_ISO, LISTED)?
        .into_iter()
        .filter(|show| show.status != tix_core::shows::ShowStatus::Draft)
        .map(|show| {
            let available: u32 = show.categories.iter().map(CategoryCounts::available).sum();
            let capacity: u32 = show.categories.iter().map(|c| c.capacity).sum();
            let cheapest = show
                .categories
                .iter()
                .map(|c| c.price)
                .fold(f64::MAX, f64::min);
            ShowRow {
                id: show.id,
                title: show.details.title.clone(),
                starts: when(&show.details.starts_at),
                hall: show.details.hall.clone(),
                from: money(cheapest, &state.currency),
                availability: if is_selling(&show, now) {
                    availability(available, capacity)
                } else {
                    "Not on sale"
                },
            }
        })
        .collect();
    let page = ShowsPage {
        frame: visitor.frame(&state),
        rows,
    };
    Ok(visitor.page(StatusCode::OK, &page))
}

struct CategoryRow {
    name: String,
    price: String,
    availability: &'static str,
    /// The quantities a buyer may ask for: 1 up to the maximum per order, or what is left.
    quantities: Vec<u32>,
    seated: bool,
}

#[derive(Template)]
#[template(path = "show.html")]
struct ShowPage {
    frame: Frame,
    id: ShowId,
    title: String,
    starts: String,
    hall: String,
    description: String,
    performers: String,
    selling: bool,
    categories: Vec<CategoryRow>,
    hold: String,
    problems: Problems,
}

fn find_show(state: &AppState, id: &str) -> Result<Show, PageError> {
    let id: ShowId = id.parse().map_err(|_| PageError::NotFound)?;
    match state.stores.shows.get(id)? {
        Some(show) if show.status != tix_core::shows::ShowStatus::Draft => Ok(show),
        _ => Err(PageError::NotFound),
    }
}

fn show_page(state: &AppState, visitor: &Visitor, show: &Show, problems: Problems) -> ShowPage {
    let seated = state
        .stores
        .orders
        .show(show.id)
        .ok()
        .flatten()
        .map(|replica| {
            replica
                .categories
                .iter()
                .map(|c| c.seated)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let categories = show
        .categories
        .iter()
        .enumerate()
        .map(|(i, c)| CategoryRow {
            name: c.name.clone(),
            price: money(c.price, &state.currency),
            availability: availability(c.available(), c.capacity),
            quantities: (1..=show.max_per_order.min(c.available())).collect(),
            seated: seated.get(i).copied().unwrap_or(false),
        })
        .collect();
    ShowPage {
        frame: visitor.frame(state),
        // The page has a form per category: a problem with a field is the page's problem.
        problems: problems.all_general(),
        id: show.id,
        title: show.details.title.clone(),
        starts: when(&show.details.starts_at),
        hall: show.details.hall.clone(),
        description: show.details.description.clone(),
        performers: show.details.performers.join(", "),
        selling: is_selling(show, state.clock.now()),
        categories,
        hold: humantime::format_duration(state.storefront.lock_ttl).to_string(),
    }
}

/// `/shows/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let show = find_show(&state, &id)?;
    let page = show_page(&state, &visitor, &show, Problems::default());
    Ok(visitor.page(StatusCode::OK, &page))
}

/// `POST /shows/{id}/order` `category=&quantity=`: the best available, then pay on the order's
/// page. Signed out: sign in first.
pub(crate) async fn order(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    form: CheckedForm,
) -> Result<Response, PageError> {
    let show = find_show(&state, &id)?;
    let Some(buyer) = &visitor.user else {
        return Ok(redirect(&format!("/auth/signin?next=/shows/{}", show.id)));
    };
    let pick = match form.text("quantity").map(str::trim).map(str::parse::<u32>) {
        Some(Ok(quantity)) => Ok(Pick::Best {
            category: form.text("category").unwrap_or_default().to_owned(),
            quantity,
            allow_split: form.text("allowSplit") == Some("on"),
        }),
        _ => Err(ApiError::BadRequest(
            "Please choose how many tickets you want.".into(),
        )),
    };
    let placed = match pick {
        Ok(pick) => actions::shows::order(&state, buyer.id, show.id, pick).await,
        Err(error) => Err(error),
    };
    match placed {
        Ok(order) => Ok(redirect(&format!("/orders/{}", order.id))),
        Err(error) => {
            let (status, problems) = Problems::from_api(error)?;
            let show = find_show(&state, &id)?;
            Ok(visitor.page(status, &show_page(&state, &visitor, &show, problems)))
        }
    }
}
