//! Show pages: "What's on" (shows by date, price from, availability in words) and a show with its
//! categories, where a buyer asks for a quantity of a category and gets the best available, or
//! ticks seats on its seat map; all or nothing, then pays on the order's page. Plain forms; the
//! page's script only makes the map clickable and keeps it live.

use std::collections::HashSet;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use tix_core::ids::{ShowId, TicketId, UserId};
use tix_core::orders::{self, Pick};
use tix_core::shows::{CategoryCounts, Show, selling};
use tix_core::time::Millis;

use crate::actions::{self, ApiError};
use crate::state::AppState;

use super::csrf::CheckedForm;
use super::frame::{Frame, Visitor, money, redirect, when};
use super::problem::{PageError, Problems};
use super::seat_map::{self, Drawn};

/// Most shows "What's on" lists.
const LISTED: usize = 200;
/// Most tiles a kiosk shows: today's and the next shows on sale, at a glance.
const TILES: usize = 12;

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

/// `/` and `/shows`: what's on, soonest first, from a day ago on; on a kiosk, as tiles of the
/// shows on sale.
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
        .filter(|show| !state.storefront.kiosk || is_selling(show, now))
        .take(if state.storefront.kiosk {
            TILES
        } else {
            LISTED
        })
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
    /// The seat map, for a show with reserved seats.
    map: Option<Drawn>,
    /// The seat map's version as drawn: a live notice that skips one makes the script refetch.
    map_version: u64,
    /// The categories with seats on the map, for its legend: (colour class, name, price).
    legend: Vec<(String, String, String)>,
}

impl ShowPage {
    /// The bytes of the seat map drawn for the page.
    fn map_bytes(&self) -> usize {
        self.map
            .as_ref()
            .map_or(0, |map| map.svg.len() + map.table.len())
    }
}

fn find_show(state: &AppState, id: &str) -> Result<Show, PageError> {
    let id: ShowId = id.parse().map_err(|_| PageError::NotFound)?;
    match state.stores.shows.get(id)? {
        Some(show) if show.status != tix_core::shows::ShowStatus::Draft => Ok(show),
        _ => Err(PageError::NotFound),
    }
}

fn show_page(
    state: &AppState,
    visitor: &Visitor,
    show: &Show,
    problems: Problems,
    chosen: &HashSet<u32>,
) -> Result<ShowPage, PageError> {
    let seated = state
        .stores
        .orders
        .show(show.id)?
        .map(|replica| {
            replica
                .categories
                .iter()
                .map(|c| c.seated)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let selling = is_selling(show, state.clock.now());
    let mut map_version = show.seats_version;
    // A kiosk sells by quantity, best available: three taps, no map to study standing up.
    let map = if seated.contains(&true) && !state.storefront.kiosk {
        state.stores.shows.seat_map(show.id)?.and_then(|map| {
            map_version = map.show.seats_version;
            (!map.rows.is_empty()).then(|| {
                seat_map::draw(
                    &map.rows,
                    &map.taken,
                    selling && visitor.user.is_some(),
                    chosen,
                )
            })
        })
    } else {
        None
    };
    let legend = show
        .categories
        .iter()
        .enumerate()
        .filter(|(i, _)| seated.get(*i).copied().unwrap_or(false))
        .map(|(i, c)| {
            (
                format!("c{}", i % 8),
                c.name.clone(),
                money(c.price, &state.currency),
            )
        })
        .collect();
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
    Ok(ShowPage {
        frame: visitor.frame(state),
        // The page has a form per category: a problem with a field is the page's problem.
        problems: problems.all_general(),
        id: show.id,
        title: show.details.title.clone(),
        starts: when(&show.details.starts_at),
        hall: show.details.hall.clone(),
        description: show.details.description.clone(),
        performers: show.details.performers.join(", "),
        selling,
        categories,
        hold: humantime::format_duration(state.storefront.lock_ttl).to_string(),
        map,
        map_version,
        legend,
    })
}

/// `/shows/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let show = find_show(&state, &id)?;
    let page = show_page(
        &state,
        &visitor,
        &show,
        Problems::default(),
        &HashSet::new(),
    )?;
    Ok(visitor.page_sized(StatusCode::OK, &page, page.map_bytes()))
}

/// `POST /shows/{id}/order` `category=&quantity=` (the best available) or `seat=` once per ticked
/// seat (its unit index), then pay on the order's page. Signed out: sign in first.
pub(crate) async fn order(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: CheckedForm,
) -> Result<Response, PageError> {
    let show = find_show(&state, &id)?;
    // A walk-in buyer at a kiosk buys as a guest, signed in for this visit of the screen.
    let mut session = None;
    let buyer = match &visitor.user {
        Some(user) => user.id,
        None if state.storefront.kiosk => {
            let guest = actions::users::guest(&state).await?;
            session = Some(state.sessions.cookie(&guest, state.clock.now(), &headers));
            guest.id
        }
        None => return Ok(redirect(&format!("/auth/signin?next=/shows/{}", show.id))),
    };
    let mut response = place_order(&state, &visitor, &show, buyer, &form).await?;
    if let Some(cookie) = session {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    Ok(response)
}

/// Places the order the form asks for; the order's page, or the show's page with the problem.
async fn place_order(
    state: &AppState,
    visitor: &Visitor,
    show: &Show,
    buyer: UserId,
    form: &CheckedForm,
) -> Result<Response, PageError> {
    let ticked = ticked_seats(form, show);
    let pick = match (
        &ticked,
        form.text("quantity").map(str::trim).map(str::parse::<u32>),
    ) {
        (Some(Ok(units)), _) => Ok(Pick::Seats(
            units.iter().map(|&unit| show.id.unit(unit)).collect(),
        )),
        (Some(Err(())), _) => Err(ApiError::BadRequest(
            "Please choose seats from the map.".into(),
        )),
        (None, Some(Ok(quantity))) => Ok(Pick::Best {
            category: form.text("category").unwrap_or_default().to_owned(),
            quantity,
            allow_split: form.text("allowSplit") == Some("on"),
        }),
        (None, _) => Err(ApiError::BadRequest(
            "Please choose how many tickets you want, or tick seats on the map.".into(),
        )),
    };
    let placed = match pick {
        Ok(pick) => actions::shows::place(state, buyer, show.id, pick).await,
        Err(error) => Err(error),
    };
    let mut chosen: HashSet<u32> = match ticked {
        Some(Ok(units)) => units.into_iter().collect(),
        _ => HashSet::new(),
    };
    let error = match placed {
        Ok(Ok(order)) => return Ok(redirect(&format!("/orders/{}", order.id))),
        Ok(Err(orders::Error::SeatsTaken(taken))) => {
            for ticket in &taken {
                if let Some(unit) = show.id.unit_index(*ticket, show.units) {
                    chosen.remove(&unit);
                }
            }
            ApiError::BadRequest(taken_message(state, show, &taken)?)
        }
        Ok(Err(refusal)) => refusal.into(),
        Err(error) => error,
    };
    let (status, problems) = Problems::from_api(error)?;
    let show = find_show(state, &show.id.to_string())?;
    let page = show_page(state, visitor, &show, problems, &chosen)?;
    Ok(visitor.page_sized(status, &page, page.map_bytes()))
}

/// The seats ticked on the map, as unit indices of `show`: none ticked, or `Err` for a value that
/// is not one of its seats.
fn ticked_seats(form: &CheckedForm, show: &Show) -> Option<Result<Vec<u32>, ()>> {
    let values = form.all("seat");
    if values.is_empty() {
        return None;
    }
    Some(
        values
            .iter()
            .map(|v| match v.parse::<u32>() {
                Ok(unit) if unit < show.units => Ok(unit),
                _ => Err(()),
            })
            .collect(),
    )
}

/// Says which seats someone else took first, by name, so the buyer knows what to choose again.
fn taken_message(state: &AppState, show: &Show, taken: &[TicketId]) -> Result<String, PageError> {
    let mut names = Vec::with_capacity(taken.len());
    for ticket in taken {
        let label = match show.id.unit_index(*ticket, show.units) {
            Some(unit) => state.stores.shows.unit_label(show, unit)?,
            None => ticket.to_string(),
        };
        names.push(label);
    }
    let (them, were) = if names.len() == 1 {
        ("it", "was")
    } else {
        ("them", "were")
    };
    Ok(format!(
        "Sorry, {} {were} taken by someone else a moment ago, so nothing was ordered. \
         The other seats you ticked are still ticked: choose again instead of {them}.",
        names.join(", ")
    ))
}
