//! Ticket pages: the list (with search), a ticket with its Buy button, selling and editing, and a
//! seller's own listings.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use tix_core::ids::TicketId;
use tix_core::tickets::Ticket;

use crate::actions::tickets::{EDIT_PRICE_MESSAGE, NEW_PRICE_MESSAGE, draft, edit, sell};
use crate::actions::{self, ApiError};
use crate::live::TicketState;
use crate::search::{SearchError, SearchRequest};
use crate::state::AppState;

use super::csrf::CheckedForm;
use super::frame::{Frame, SignedIn, Visitor, money, redirect, when};
use super::problem::{PageError, Problems};

/// Tickets per page of the list: a page stays small on a phone and under 50 KB.
const PAGE_SIZE: usize = 50;
/// Deepest page of search results offered.
const MAX_SEARCH_OFFSET: usize = 10_000;

/// A ticket as a row of a list.
pub(crate) struct Row {
    id: TicketId,
    title: String,
    detail: String,
    price: String,
    state: &'static str,
    state_label: &'static str,
}

impl Row {
    fn new(ticket: &Ticket, state: TicketState, currency: &str) -> Row {
        let details = &ticket.details;
        let detail = [
            details.show.clone(),
            details.venue.clone(),
            details.starts_at.as_deref().map(when),
            details.seat.clone(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
        Row {
            id: ticket.id,
            title: ticket.title.clone(),
            detail,
            price: money(ticket.price, currency),
            state: state_name(state),
            state_label: state.label(),
        }
    }
}

fn state_name(state: TicketState) -> &'static str {
    match state {
        TicketState::Available => "available",
        TicketState::Reserved => "reserved",
        TicketState::Sold => "sold",
    }
}

/// Where `ticket` stands, looking up the order holding it.
fn state_of(state: &AppState, ticket: &Ticket) -> Result<TicketState, redb::Error> {
    TicketState::read(&state.stores, ticket)
}

#[derive(Template)]
#[template(path = "tickets.html")]
struct ListPage {
    frame: Frame,
    query: String,
    note: String,
    rows: Vec<Row>,
    currency: String,
    /// New tickets may be added to this page as they are listed (the first page of the plain list).
    live_append: bool,
    first_href: String,
    next_href: String,
}

/// `/`: the tickets on sale, a page at a time, or the results of a search (`?q=`).
pub(crate) async fn list(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let query: String = params
        .get("q")
        .map(|q| q.trim().chars().take(200).collect())
        .unwrap_or_default();
    let currency = state.currency.clone();
    let mut page = ListPage {
        frame: visitor.frame(&state),
        query: query.clone(),
        note: String::new(),
        rows: Vec::new(),
        currency: currency.clone(),
        live_append: false,
        first_href: String::new(),
        next_href: String::new(),
    };
    let searched = if query.is_empty() {
        None
    } else {
        let offset = number(&params, "offset").min(MAX_SEARCH_OFFSET);
        match search(&state, &query, offset).await? {
            Some(tickets) => {
                let encoded: String =
                    url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
                if tickets.len() == PAGE_SIZE && offset + PAGE_SIZE <= MAX_SEARCH_OFFSET {
                    page.next_href = format!("/tickets?q={encoded}&offset={}", offset + PAGE_SIZE);
                }
                if offset > 0 {
                    page.first_href = format!("/tickets?q={encoded}");
                }
                Some(tickets)
            }
            None => {
                page.note =
                    "Search is not available right now; here are all the tickets on sale.".into();
                None
            }
        }
    };
    let tickets = match searched {
        Some(tickets) => tickets,
        None => {
            let after = number(&params, "after") as u64;
            let tickets = state.stores.tickets.available_page(after, PAGE_SIZE)?;
            if tickets.len() == PAGE_SIZE
                && let Some(last) = tickets.last()
            {
                page.next_href = format!("/tickets?after={}", last.listing);
            }
            if after > 0 {
                page.first_href = "/tickets".into();
            } else {
                page.live_append = true;
            }
            tickets
        }
    };
    for ticket in &tickets {
        let ticket_state = state_of(&state, ticket)?;
        page.rows.push(Row::new(ticket, ticket_state, &currency));
    }
    Ok(visitor.page(StatusCode::OK, &page))
}

fn number(params: &HashMap<String, String>, name: &str) -> usize {
    params.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Available tickets matching `query`; `None` when search is off or still warming up.
async fn search(
    state: &AppState,
    query: &str,
    offset: usize,
) -> Result<Option<Vec<Ticket>>, PageError> {
    let Some(search) = state.search.clone() else {
        return Ok(None);
    };
    let request = SearchRequest {
        text: query.to_owned(),
        available_only: true,
        min_price: None,
        max_price: None,
        limit: PAGE_SIZE,
        offset,
    };
    match search.query(request).await {
        Ok((hits, _)) => Ok(Some(hits.into_iter().map(|hit| hit.ticket).collect())),
        Err(SearchError::WarmingUp | SearchError::Stopping) => Ok(None),
        Err(SearchError::Index(detail)) => Err(ApiError::Internal(detail).into()),
    }
}

#[derive(Template)]
#[template(path = "ticket.html")]
struct TicketPage {
    frame: Frame,
    id: TicketId,
    title: String,
    details: Vec<(&'static str, String)>,
    price: String,
    state: &'static str,
    state_label: &'static str,
    owner: bool,
    hold: String,
    problems: Problems,
}

fn ticket_page(
    state: &AppState,
    visitor: &Visitor,
    ticket: &Ticket,
    problems: Problems,
) -> Result<TicketPage, PageError> {
    let ticket_state = state_of(state, ticket)?;
    let d = &ticket.details;
    let details = [
        ("Show", d.show.clone()),
        ("Venue", d.venue.clone()),
        ("Starts", d.starts_at.as_deref().map(when)),
        ("Seat", d.seat.clone()),
    ]
    .into_iter()
    .filter_map(|(term, value)| value.map(|v| (term, v)))
    .collect();
    Ok(TicketPage {
        frame: visitor.frame(state),
        id: ticket.id,
        title: ticket.title.clone(),
        details,
        price: money(ticket.price, &state.currency),
        state: state_name(ticket_state),
        state_label: ticket_state.label(),
        owner: visitor
            .user
            .as_ref()
            .is_some_and(|u| u.id == ticket.user_id),
        hold: humantime::format_duration(state.storefront.lock_ttl).to_string(),
        problems,
    })
}

fn find_ticket(state: &AppState, id: &str) -> Result<Ticket, PageError> {
    let id: TicketId = id.parse().map_err(|_| PageError::NotFound)?;
    state.stores.tickets.get(id)?.ok_or(PageError::NotFound)
}

/// `/tickets/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let ticket = find_ticket(&state, &id)?;
    let page = ticket_page(&state, &visitor, &ticket, Problems::default())?;
    Ok(visitor.page(StatusCode::OK, &page))
}

/// `POST /tickets/{id}/buy`: lock the ticket with an order, then pay on the order's page.
pub(crate) async fn buy(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    _form: CheckedForm,
) -> Result<Response, PageError> {
    let ticket = find_ticket(&state, &id)?;
    let Some(buyer) = &visitor.user else {
        return Ok(redirect(&format!(
            "/auth/signin?next=/tickets/{}",
            ticket.id
        )));
    };
    match actions::orders::place(&state, buyer.id, ticket.id).await {
        Ok(order) => Ok(redirect(&format!("/orders/{}", order.id))),
        Err(error) => {
            let (status, problems) = Problems::from_api(error)?;
            // Show the ticket as it is now: most likely someone else holds it.
            let ticket = find_ticket(&state, &id)?;
            let page = ticket_page(&state, &visitor, &ticket, problems)?;
            Ok(visitor.page(status, &page))
        }
    }
}

#[derive(Template)]
#[template(path = "ticket_form.html")]
struct TicketForm {
    frame: Frame,
    heading: &'static str,
    submit: &'static str,
    action: String,
    title: String,
    price: String,
    show: String,
    venue: String,
    starts_at: String,
    seat: String,
    currency_hint: String,
    problems: Problems,
}

impl TicketForm {
    fn blank(state: &AppState, visitor: &Visitor) -> TicketForm {
        TicketForm {
            frame: visitor.frame(state),
            heading: "Sell a ticket",
            submit: "List the ticket",
            action: "/tickets/new".into(),
            title: String::new(),
            price: String::new(),
            show: String::new(),
            venue: String::new(),
            starts_at: String::new(),
            seat: String::new(),
            currency_hint: format!("In {}", state.currency.to_uppercase()),
            problems: Problems::default(),
        }
    }

    fn editing(state: &AppState, visitor: &Visitor, ticket: &Ticket) -> TicketForm {
        let d = &ticket.details;
        TicketForm {
            heading: "Edit your ticket",
            submit: "Save changes",
            action: format!("/tickets/{}/edit", ticket.id),
            title: ticket.title.clone(),
            price: format!("{:.2}", ticket.price),
            show: d.show.clone().unwrap_or_default(),
            venue: d.venue.clone().unwrap_or_default(),
            starts_at: d
                .starts_at
                .as_deref()
                .map(|iso| iso.chars().take(16).collect())
                .unwrap_or_default(),
            seat: d.seat.clone().unwrap_or_default(),
            ..TicketForm::blank(state, visitor)
        }
    }

    /// Keeps what the seller typed, to show it again beside the problems.
    fn refill(mut self, form: &CheckedForm, problems: Problems) -> TicketForm {
        let text = |field: &str| form.text(field).unwrap_or_default().to_owned();
        self.title = text("title");
        self.price = text("price");
        self.show = text("show");
        self.venue = text("venue");
        self.starts_at = text("startsAt");
        self.seat = text("seat");
        self.problems = problems;
        self
    }
}

/// The form's fields as the API's validators read them: a `datetime-local` start (no seconds, no
/// zone) is taken as UTC.
fn as_draft_body(form: &CheckedForm) -> serde_json::Map<String, serde_json::Value> {
    let mut body = form.0.clone();
    if let Some(serde_json::Value::String(start)) = body.get_mut("startsAt") {
        let trimmed = start.trim();
        if trimmed.len() == 16 && trimmed.as_bytes()[10] == b'T' {
            *start = format!("{trimmed}:00Z");
        }
    }
    body
}

/// `/tickets/new`.
pub(crate) async fn new(
    State(state): State<AppState>,
    SignedIn { visitor, .. }: SignedIn,
) -> Response {
    visitor.page(StatusCode::OK, &TicketForm::blank(&state, &visitor))
}

/// `POST /tickets/new`: list the ticket, then show it.
pub(crate) async fn create(
    State(state): State<AppState>,
    SignedIn {
        visitor,
        user: seller,
    }: SignedIn,
    form: CheckedForm,
) -> Result<Response, PageError> {
    let listed = match draft(&as_draft_body(&form), NEW_PRICE_MESSAGE) {
        Ok(draft) => sell(&state, seller.id, draft).await,
        Err(e) => Err(e),
    };
    match listed {
        Ok(ticket) => Ok(redirect(&format!("/tickets/{}", ticket.id))),
        Err(error) => {
            let (status, problems) = Problems::from_api(error)?;
            let page = TicketForm::blank(&state, &visitor).refill(&form, problems);
            Ok(visitor.page(status, &page))
        }
    }
}

/// `/tickets/{id}/edit`: the seller's own ticket, while no order holds it.
pub(crate) async fn edit_form(
    State(state): State<AppState>,
    SignedIn {
        visitor,
        user: editor,
    }: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let ticket = find_ticket(&state, &id)?;
    if ticket.user_id != editor.id {
        return Err(PageError::NotFound);
    }
    let mut page = TicketForm::editing(&state, &visitor, &ticket);
    if ticket.order_id.is_some() {
        page.problems = Problems::one("Cannot edit a reserved ticket");
    }
    Ok(visitor.page(StatusCode::OK, &page))
}

/// `POST /tickets/{id}/edit`.
pub(crate) async fn update(
    State(state): State<AppState>,
    SignedIn {
        visitor,
        user: editor,
    }: SignedIn,
    Path(id): Path<String>,
    form: CheckedForm,
) -> Result<Response, PageError> {
    let ticket = find_ticket(&state, &id)?;
    let saved = match draft(&as_draft_body(&form), EDIT_PRICE_MESSAGE) {
        Ok(draft) => edit(&state, editor.id, ticket.id, draft).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(ticket) => Ok(redirect(&format!("/tickets/{}", ticket.id))),
        Err(error) => {
            let (status, problems) = Problems::from_api(error)?;
            let page = TicketForm::editing(&state, &visitor, &ticket).refill(&form, problems);
            Ok(visitor.page(status, &page))
        }
    }
}

#[derive(Template)]
#[template(path = "listings.html")]
struct ListingsPage {
    frame: Frame,
    rows: Vec<Row>,
    first_href: String,
    next_href: String,
}

/// `/my/tickets`: everything the visitor listed, and where each stands.
pub(crate) async fn listings(
    State(state): State<AppState>,
    SignedIn {
        visitor,
        user: seller,
    }: SignedIn,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let after = number(&params, "after") as u64;
    let tickets = state
        .stores
        .tickets
        .list_for_seller(seller.id, after, PAGE_SIZE)?;
    let mut rows = Vec::new();
    for ticket in &tickets {
        let ticket_state = state_of(&state, ticket)?;
        rows.push(Row::new(ticket, ticket_state, &state.currency));
    }
    let next_href = match tickets.last() {
        Some(last) if tickets.len() == PAGE_SIZE => format!("/my/tickets?after={}", last.listing),
        _ => String::new(),
    };
    let page = ListingsPage {
        frame: visitor.frame(&state),
        rows,
        first_href: if after > 0 {
            "/my/tickets".into()
        } else {
            String::new()
        },
        next_href,
    };
    Ok(visitor.page(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::number;

    proptest! {
        #[test]
        fn page_positions_are_numbers_or_the_start(text in "\\PC{0,30}|[0-9]{1,30}") {
            let params = HashMap::from([("after".to_owned(), text.clone())]);
            let n = number(&params, "after");
            prop_assert!(n == 0 || text.parse::<usize>() == Ok(n));
        }

        #[test]
        fn ticket_and_order_ids_in_paths_parse_or_are_refused(text in "\\PC{0,30}|[0-9a-fA-F]{24}") {
            if let Ok(id) = text.parse::<tix_core::ids::TicketId>() {
                prop_assert_eq!(id.to_string(), text.to_lowercase());
            }
            let _ = text.parse::<tix_core::ids::OrderId>();
        }
    }
}
