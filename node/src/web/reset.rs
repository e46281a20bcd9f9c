//! "Forgot your password?": a code emailed to the account's address (or given out by the box
//! office), then a new password with it. The same actions and messages as the JSON API.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::actions::reset;
use crate::client::ClientAddr;
use crate::state::AppState;

use super::auth::signed_in;
use super::csrf::CheckedForm;
use super::frame::{Frame, Visitor, redirect};
use super::problem::{PageError, Problems, with_retry_after};

#[derive(Template)]
#[template(path = "reset.html")]
struct RequestPage {
    frame: Frame,
    /// Whether this venue emails codes (otherwise the box office gives them out).
    emails: bool,
    email: String,
    problems: Problems,
}

#[derive(Template)]
#[template(path = "reset_confirm.html")]
struct ConfirmPage {
    frame: Frame,
    email: String,
    /// Said when a code was just emailed.
    sent: bool,
    problems: Problems,
}

/// `GET /auth/reset`.
pub(crate) async fn request_form(State(state): State<AppState>, visitor: Visitor) -> Response {
    let page = RequestPage {
        frame: visitor.frame(&state),
        emails: state.mailer.is_some(),
        email: String::new(),
        problems: Problems::default(),
    };
    visitor.page(StatusCode::OK, &page)
}

/// `POST /auth/reset`: emails a code (if the address names a member) and goes on to the form
/// that takes it.
pub(crate) async fn request(
    State(state): State<AppState>,
    client: ClientAddr,
    visitor: Visitor,
    form: CheckedForm,
) -> Result<Response, PageError> {
    let email = form.text("email").unwrap_or_default().trim().to_owned();
    match reset::request(&state, client, &form.0).await {
        Ok(()) => {
            let query = email_query(&email);
            Ok(redirect(&format!("/auth/reset/confirm?sent=1&{query}")))
        }
        Err(error) => {
            let retry_after = error.retry_after();
            let (status, problems) = Problems::from_api(error)?;
            let page = RequestPage {
                frame: visitor.frame(&state),
                emails: state.mailer.is_some(),
                email,
                problems,
            };
            Ok(with_retry_after(visitor.page(status, &page), retry_after))
        }
    }
}

/// `GET /auth/reset/confirm`.
pub(crate) async fn confirm_form(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let page = ConfirmPage {
        frame: visitor.frame(&state),
        email: params.get("email").cloned().unwrap_or_default(),
        sent: params.contains_key("sent"),
        problems: Problems::default(),
    };
    visitor.page(StatusCode::OK, &page)
}

/// `POST /auth/reset/confirm`: sets the new password and signs the member in.
pub(crate) async fn confirm(
    State(state): State<AppState>,
    client: ClientAddr,
    visitor: Visitor,
    headers: HeaderMap,
    form: CheckedForm,
) -> Result<Response, PageError> {
    match reset::confirm(&state, client, &form.0).await {
        Ok(user) => Ok(signed_in(&state, &user, &headers, "/")),
        Err(error) => {
            let retry_after = error.retry_after();
            let (status, problems) = Problems::from_api(error)?;
            let page = ConfirmPage {
                frame: visitor.frame(&state),
                email: form.text("email").unwrap_or_default().trim().to_owned(),
                sent: false,
                problems,
            };
            Ok(with_retry_after(visitor.page(status, &page), retry_after))
        }
    }
}

/// `email=<the address, percent-encoded>`.
fn email_query(email: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("email", email)
        .finish()
}
