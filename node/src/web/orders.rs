//! Order pages: an order with its countdown and payment form, paying and releasing, emailing a
//! paid order's tickets, and the list of the visitor's orders.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use tix_core::events::OrderStatus;
use tix_core::ids::OrderId;
use tix_core::orders::Order;
use tix_core::time::Millis;

use crate::actions::{self, ApiError};
use crate::mail::MailError;
use crate::session::Claims;
use crate::state::AppState;

use super::csrf::CheckedForm;
use super::frame::{Frame, SignedIn, Visitor, money, redirect, when};
use super::problem::{PageError, Problems};

/// Longest card token accepted, as in the JSON API.
const MAX_TOKEN_CHARS: usize = 255;

/// The label a page shows for an order's status; a cancelled order past its deadline expired.
pub(crate) fn status_label(order: &Order, now: Millis) -> &'static str {
    match order.status {
        OrderStatus::Created | OrderStatus::AwaitingPayment => "Awaiting payment",
        OrderStatus::Complete => "Complete",
        OrderStatus::Cancelled if now >= order.expires_at => "Expired",
        OrderStatus::Cancelled => "Cancelled",
    }
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    frame: Frame,
    id: OrderId,
    ticket_id: String,
    title: String,
    /// What the order costs: the ticket's price, or a show order's total.
    price: String,
    /// An order of a show: every ticket with its seat, category and price.
    seats: Vec<SeatRow>,
    status_label: &'static str,
    awaiting: bool,
    expires_at: String,
    expires_ms: u64,
    now_ms: u64,
    time_left: String,
    stripe_key: String,
    outcome: String,
    problems: Problems,
    /// A paid order's tickets may be emailed (a relay is configured): to this address at first.
    email: Option<String>,
    /// What the page says after an email went.
    emailed: String,
    /// A paid order's passes with their QR codes.
    passes: Vec<super::passes::PassCard>,
}

/// The visitor's own order `id`; anyone else's is not found, as far as they can tell.
pub(super) fn own_order(state: &AppState, buyer: &Claims, id: &str) -> Result<Order, PageError> {
    let id: OrderId = id.parse().map_err(|_| PageError::NotFound)?;
    match state.stores.orders.get(id)? {
        Some(order) if order.user_id == buyer.id => Ok(order),
        _ => Err(PageError::NotFound),
    }
}

/// A ticket of an order of a show, as the order page lists it.
struct SeatRow {
    id: String,
    seat: String,
    category: String,
    price: String,
}

fn order_page(state: &AppState, visitor: &Visitor, order: &Order, problems: Problems) -> OrderPage {
    let seats: Vec<SeatRow> = actions::shows::seat_lines(&state.stores, order)
        .into_iter()
        .map(|line| SeatRow {
            id: line.id.to_string(),
            seat: line.seat,
            category: line.category,
            price: money(line.price, &state.currency),
        })
        .collect();
    let now = state.clock.now();
    let awaiting = order.status.holds_ticket() && order.status != OrderStatus::Complete;
    let label = status_label(order, now);
    let outcome = match label {
        "Complete" if order.show.is_some() => {
            "Paid, thank you. Show the codes below at the door, one per person.".into()
        }
        "Complete" => "Paid, thank you. Show the code below at the door.".into(),
        "Expired" | "Cancelled" if !seats.is_empty() => {
            "This order ended before it was paid; its tickets went back on sale.".into()
        }
        "Expired" => "This order expired before it was paid; the ticket went back on sale.".into(),
        "Cancelled" => "You released this ticket; it went back on sale.".into(),
        _ => String::new(),
    };
    let left = order.expires_at.0.saturating_sub(now.0) / 1000;
    let stripe_key = match &state.storefront.stripe_publishable_key {
        Some(key) if state.gateway.mode() != "test" => key.clone(),
        _ => String::new(),
    };
    OrderPage {
        frame: visitor.frame(state),
        id: order.id,
        ticket_id: order.ticket.id.to_string(),
        title: order.ticket.title.clone(),
        price: money(order.total(), &state.currency),
        seats,
        status_label: label,
        awaiting,
        expires_at: when(&order.expires_at.to_iso()),
        expires_ms: order.expires_at.0,
        now_ms: now.0,
        time_left: format!("{}:{:02}", left / 60, left % 60),
        stripe_key,
        outcome,
        problems,
        email: (state.mailer.is_some() && order.status == OrderStatus::Complete).then(|| {
            visitor
                .user
                .as_ref()
                .map(|user| user.email.clone())
                .filter(|email| !tix_core::auth::is_guest_email(email))
                .unwrap_or_default()
        }),
        emailed: String::new(),
        passes: super::passes::cards(state, order),
    }
}

/// `/orders/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn {
        visitor,
        user: buyer,
    }: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let order = own_order(&state, &buyer, &id)?;
    let page = order_page(&state, &visitor, &order, Problems::default());
    Ok(visitor.page(StatusCode::OK, &page))
}

/// `POST /orders/{id}/pay`: charge the card token (a test token in test mode), then show the order.
pub(crate) async fn pay(
    State(state): State<AppState>,
    SignedIn {
        visitor,
        user: buyer,
    }: SignedIn,
    Path(id): Path<String>,
    form: CheckedForm,
) -> Result<Response, PageError> {
    let order = own_order(&state, &buyer, &id)?;
    let token = form
        .text("token")
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_CHARS)
        .map(str::to_owned);
    let paid = match token {
        None => Err(ApiError::BadRequest(
            "Please enter your card details.".into(),
        )),
        Some(token) => actions::payments::pay(&state, buyer.id, order.id, token).await,
    };
    match paid {
        Ok(_) => Ok(redirect(&format!("/orders/{}", order.id))),
        Err(error) => {
            let (status, problems) = Problems::from_api(error)?;
            let order = own_order(&state, &buyer, &id)?;
            Ok(visitor.page(status, &order_page(&state, &visitor, &order, problems)))
        }
    }
}

/// `POST /orders/{id}/email` `email=`: a paid order's tickets sent to that address.
pub(crate) async fn email(
    State(state): State<AppState>,
    SignedIn {
        visitor,
        user: buyer,
    }: SignedIn,
    Path(id): Path<String>,
    form: CheckedForm,
) -> Result<Response, PageError> {
    let order = own_order(&state, &buyer, &id)?;
    let Some(mailer) = state.mailer.clone() else {
        return Err(PageError::NotFound);
    };
    if order.status != OrderStatus::Complete {
        return Err(PageError::BadForm);
    }
    let to = form.text("email").unwrap_or_default().trim().to_owned();
    let sent = mailer
        .send(order.id, &to, crate::deliveries::letter(&state, &order)?)
        .await;
    let mut page = order_page(&state, &visitor, &order, Problems::default());
    let status = match sent {
        Ok(()) => {
            page.emailed = format!("Sent to {to}.");
            StatusCode::OK
        }
        Err(error) => {
            page.problems = Problems::one(error.to_string());
            page.email = Some(to);
            match error {
                MailError::BadAddress | MailError::TooMany => StatusCode::BAD_REQUEST,
                MailError::Relay(_) => StatusCode::BAD_GATEWAY,
            }
        }
    };
    Ok(visitor.page(status, &page))
}

/// `POST /orders/{id}/cancel`: give the ticket back before paying.
pub(crate) async fn cancel(
    State(state): State<AppState>,
    SignedIn {
        visitor,
        user: buyer,
    }: SignedIn,
    Path(id): Path<String>,
    _form: CheckedForm,
) -> Result<Response, PageError> {
    let order = own_order(&state, &buyer, &id)?;
    match actions::orders::cancel(&state, buyer.id, order.id).await {
        Ok(_) => Ok(redirect(&format!("/orders/{}", order.id))),
        Err(error) => {
            let (status, problems) = Problems::from_api(error)?;
            let order = own_order(&state, &buyer, &id)?;
            Ok(visitor.page(status, &order_page(&state, &visitor, &order, problems)))
        }
    }
}

pub(crate) struct OrderRow {
    id: OrderId,
    title: String,
    /// A show order's seats (or places), in words; empty for a listing.
    seats: String,
    price: String,
    status: &'static str,
    status_label: &'static str,
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    frame: Frame,
    rows: Vec<OrderRow>,
}

/// `/orders`: the visitor's orders with their statuses.
pub(crate) async fn list(
    State(state): State<AppState>,
    SignedIn {
        visitor,
        user: buyer,
    }: SignedIn,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    let rows = state
        .stores
        .orders
        .list_for_user(buyer.id)?
        .iter()
        .map(|order| OrderRow {
            id: order.id,
            title: match order.quantity() {
                1 => order.ticket.title.clone(),
                n => format!("{} ({n} tickets)", order.ticket.title),
            },
            seats: actions::shows::seat_lines(&state.stores, order)
                .into_iter()
                .map(|line| line.seat)
                .collect::<Vec<_>>()
                .join(", "),
            price: money(order.total(), &state.currency),
            status: order.status.as_str(),
            status_label: status_label(order, now),
        })
        .collect();
    let page = OrdersPage {
        frame: visitor.frame(&state),
        rows,
    };
    Ok(visitor.page(StatusCode::OK, &page))
}
