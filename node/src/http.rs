//! The JSON edge: the seed-compatible API, the box office's endpoints, search, `/healthz`, and the
//! API's OpenAPI description.
//!
//! Handlers parse the request (`input`), call an action or read the stores, and shape the JSON.
//! Unknown routes are the app's to answer (`app::router`), with `not_found` for API paths.

mod box_office;
mod door;
mod health;
mod input;
mod json_array;
mod openapi;
mod orders;
mod panic;
mod payments;
mod search;
mod shows;
mod tickets;
mod users;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::actions::ApiError;
use crate::state::AppState;

pub use self::panic::{PanicAnswer, catch_panics};

/// The API's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/users/signup", post(users::sign_up))
        .route("/api/users/signin", post(users::sign_in))
        .route("/api/users/signout", post(users::sign_out))
        .route("/api/users/password-reset", post(users::request_reset))
        .route(
            "/api/users/password-reset/confirm",
            post(users::confirm_reset),
        )
        .route("/api/users/currentuser", get(users::current_user))
        .route("/api/tickets", post(tickets::create).get(tickets::list))
        .route("/api/tickets/{id}", get(tickets::show).put(tickets::update))
        .route("/api/orders", post(orders::place).get(orders::list))
        .route("/api/orders/{id}", get(orders::show).delete(orders::cancel))
        .route("/api/payments", post(payments::pay))
        .route("/api/search", get(search::search))
        .route("/api/shows", post(shows::create).get(shows::list))
        .route("/api/shows/{id}", get(shows::show).patch(shows::edit))
        .route("/api/shows/{id}/seats", get(shows::seats))
        .route(
            "/api/shows/{id}/orders",
            post(shows::order).get(shows::paid_orders),
        )
        .route("/api/shows/{id}/stop", post(shows::stop))
        .route("/api/shows/{id}/resume", post(shows::resume))
        .route("/api/shows/{id}/cancel", post(shows::cancel))
        .route("/api/box-office/staff", get(box_office::whoami))
        .route("/api/box-office/payments/cash", post(box_office::pay_cash))
        .route("/api/box-office/refunds", post(box_office::refund))
        .route("/api/box-office/orders", get(box_office::orders_by_email))
        .route("/api/box-office/orders/{id}", get(box_office::order_by_id))
        .route("/api/box-office/locks", get(box_office::locks))
        .route("/api/box-office/summary", get(box_office::summary))
        .route(
            "/api/box-office/password-reset",
            post(box_office::reset_code),
        )
        .route("/api/check-in", post(door::check_in))
        .route("/api/check-in/shows/{id}", get(door::show_copy))
        .route("/api/check-in/conflicts", get(door::conflicts))
        .route("/.well-known/tix-pass-key", get(door::pass_key))
        .route("/api/openapi.json", get(openapi::document))
        .route("/healthz", get(health::health))
        .route("/metrics", get(health::metrics))
        .route("/hello", get(health::hello))
}

/// The contract's JSON 404, as the seed's catch-all answers.
pub fn not_found() -> Response {
    ApiError::NotFound.into_response()
}
