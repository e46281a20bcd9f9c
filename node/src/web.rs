//! The storefront: server-rendered pages for buyers at home and at the venue's kiosks, built on the
//! same actions and messages as the JSON API.
//!
//! Staff manage shows under `/manage` (not on a kiosk).
//!
//! Every page works without JavaScript (plain forms, `303` redirects); `web/static/app.js` adds
//! the payment countdown, live updates (`/live`), search as you type and the kiosk's idle return.
//! Templates (askama, escaped by default) and assets live in `web/` and are compiled in.

mod assets;
mod auth;
mod csrf;
mod door;
mod frame;
mod manage;
mod orders;
mod passes;
mod problem;
mod reset;
mod seat_map;
mod shows;
mod stream;
mod tickets;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

pub(crate) use self::problem::PageError;

/// Biggest form body accepted.
const MAX_FORM_BYTES: usize = 16 * 1024;
/// Biggest new show accepted from the manage form: a seat map of tens of thousands of seats as CSV.
const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;

/// The storefront's routes. A kiosk serves only what buying needs: no selling, no editing.
pub fn routes(state: &AppState) -> Router<AppState> {
    let mut pages = Router::new()
        .route("/", get(shows::list))
        .route("/tickets", get(tickets::list))
        .route("/tickets/{id}", get(tickets::show))
        .route("/tickets/{id}/buy", axum::routing::post(tickets::buy))
        .route("/shows", get(shows::list))
        .route("/shows/{id}", get(shows::show))
        .route("/shows/{id}/order", axum::routing::post(shows::order))
        .route("/orders", get(orders::list))
        .route("/orders/{id}", get(orders::show))
        .route("/orders/{id}/pay", axum::routing::post(orders::pay))
        .route("/orders/{id}/cancel", axum::routing::post(orders::cancel))
        .route("/orders/{id}/email", axum::routing::post(orders::email))
        .route("/orders/{id}/passes.pdf", get(passes::pdf))
        .route("/auth/signup", get(auth::sign_up_form).post(auth::sign_up))
        .route("/auth/signin", get(auth::sign_in_form).post(auth::sign_in))
        .route(
            "/auth/signout",
            get(auth::sign_out_form).post(auth::sign_out),
        )
        .route("/auth/reset", get(reset::request_form).post(reset::request))
        .route(
            "/auth/reset/confirm",
            get(reset::confirm_form).post(reset::confirm),
        )
        .route("/live", get(stream::live))
        .route("/static/{file}", get(assets::file));
    if !state.storefront.kiosk {
        pages = pages
            .route("/tickets/new", get(tickets::new).post(tickets::create))
            .route(
                "/tickets/{id}/edit",
                get(tickets::edit_form).post(tickets::update),
            )
            .route("/my/tickets", get(tickets::listings))
            .route("/door", get(door::page).post(door::scan))
            .route("/manage", get(manage::dashboard))
            .route(
                "/manage/shows/new",
                get(manage::new_show)
                    .post(manage::create)
                    .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
            )
            .route("/manage/shows/{id}", get(manage::show).post(manage::edit))
            .route(
                "/manage/shows/{id}/status",
                axum::routing::post(manage::set_status),
            );
    }
    pages
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            frame::security_headers,
        ))
}

/// What a browser sees for a path that is neither a page nor part of the API.
pub(crate) fn not_found() -> Response {
    PageError::NotFound.into_response()
}
