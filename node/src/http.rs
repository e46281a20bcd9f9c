//! The HTTP edge: the seed-compatible JSON API, `/healthz`, and the storefront's pages (`web`).
//!
//! Unknown routes and known API paths with the wrong method are 404 in the contract's error shape, as
//! the seed's catch-all does, except that a browser asking for HTML outside `/api` gets the
//! storefront's 404 page.

mod box_office;
mod error;
mod health;
pub(crate) mod input;
mod orders;
mod payments;
mod search;
pub(crate) mod tickets;
pub(crate) mod users;

use axum::Router;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

pub use self::error::{ApiError, FieldError};
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let storefront = crate::web::routes(&state);
    Router::new()
        .route("/api/users/signup", post(users::sign_up))
        .route("/api/users/signin", post(users::sign_in))
        .route("/api/users/signout", post(users::sign_out))
        .route("/api/users/currentuser", get(users::current_user))
        .route("/api/tickets", post(tickets::create).get(tickets::list))
        .route("/api/tickets/{id}", get(tickets::show).put(tickets::update))
        .route("/api/orders", post(orders::place).get(orders::list))
        .route("/api/orders/{id}", get(orders::show).delete(orders::cancel))
        .route("/api/payments", post(payments::pay))
        .route("/api/search", get(search::search))
        .route("/api/box-office/staff", get(box_office::whoami))
        .route("/api/box-office/payments/cash", post(box_office::pay_cash))
        .route("/api/box-office/refunds", post(box_office::refund))
        .route("/api/box-office/orders", get(box_office::orders_by_email))
        .route("/api/box-office/locks", get(box_office::locks))
        .route("/api/box-office/summary", get(box_office::summary))
        .route("/healthz", get(health::health))
        .route("/hello", get(health::hello))
        .merge(storefront)
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The contract's JSON 404, or the storefront's page for a browser (one that asks for HTML) outside
/// `/api`.
async fn not_found(
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let api = uri.path() == "/api" || uri.path().starts_with("/api/");
    let wants_html = headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|accept| accept.contains("text/html"));
    if api || !wants_html {
        ApiError::NotFound.into_response()
    } else {
        crate::web::not_found()
    }
}
