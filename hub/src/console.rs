//! The operators' web view of the chain, at `/`: a sign-in with the hub's API token, kept as a
//! cookie, then one page of the venues (sync state, lag, sales, a new epoch to adopt), sales per
//! day and the quarantine, which its script refreshes from the JSON API every few seconds.
//!
//! Invariants:
//! - The cookie never holds the token itself, only a hash of it that the hub recomputes: a leaked
//!   cookie is no API token for scripts elsewhere. It is `HttpOnly` and `SameSite=Strict`, so no
//!   other site's page can send it, and the JSON API takes it besides `Authorization: Bearer`.
//! - Only the pages and assets here are served without a credential; everything they show comes
//!   from the API, which checks one.

use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::http::HubState;

/// The cookie's name.
const COOKIE: &str = "tix_hub";
/// The paths served without a credential.
pub const PUBLIC: [&str; 5] = ["/", "/sign-in", "/sign-out", "/console.js", "/console.css"];

const CONSOLE: &str = include_str!("../web/console.html");
const SIGN_IN: &str = include_str!("../web/sign-in.html");
const SCRIPT: &str = include_str!("../web/console.js");
const STYLE: &str = include_str!("../web/console.css");

pub fn routes() -> Router<HubState> {
    Router::new()
        .route("/", get(page))
        .route("/sign-in", post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/console.js", get(script))
        .route("/console.css", get(style))
}

/// What the cookie holds for `token`.
fn cookie_value(token: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"tix-hub console\0");
    hash.update(token.as_bytes());
    hex::encode(hash.finalize())
}

/// Whether `headers` carry the console's cookie for `token`.
pub fn signed_in(headers: &HeaderMap, token: &str) -> bool {
    let expected = cookie_value(token);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .any(|value| bool::from(value.as_bytes().ct_eq(expected.as_bytes())))
}

async fn page(State(state): State<HubState>, headers: HeaderMap) -> Response {
    if signed_in(&headers, &state.token) {
        Html(CONSOLE).into_response()
    } else {
        sign_in_page(StatusCode::OK, "")
    }
}

fn sign_in_page(status: StatusCode, problem: &str) -> Response {
    let alert = if problem.is_empty() {
        String::new()
    } else {
        format!("<p class=\"problem\" role=\"alert\">{problem}</p>")
    };
    (status, Html(SIGN_IN.replace("<!-- problem -->", &alert))).into_response()
}

#[derive(serde::Deserialize)]
struct SignIn {
    token: String,
}

async fn sign_in(State(state): State<HubState>, Form(form): Form<SignIn>) -> Response {
    let given = form.token.trim();
    if !bool::from(given.as_bytes().ct_eq(state.token.as_bytes())) {
        return sign_in_page(
            StatusCode::UNAUTHORIZED,
            "That is not this hub's API token. It is in the hub's settings (TIX_HUB_API_TOKEN) \
             or in the file beside its database (hub.sqlite3.api-token).",
        );
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
        cookie_value(&state.token)
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

async fn sign_out() -> Response {
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn only_the_cookie_of_this_token_signs_in() {
        let token = "an-operator-token-0123";
        let mut headers = HeaderMap::new();
        assert!(!signed_in(&headers, token));
        let cookie = format!("other=1; {COOKIE}={}", cookie_value(token));
        headers.insert(header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
        assert!(signed_in(&headers, token));
        assert!(!signed_in(&headers, "another-token-0123456"));
        assert_ne!(cookie_value(token), token, "the cookie is not the token");
    }
}
