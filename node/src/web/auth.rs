//! Signing up, in and out from the storefront, with the JSON API's checks and messages.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use tix_core::auth::User;

use crate::actions::users::{self, authenticate, register};
use crate::client::ClientAddr;
use crate::session::SIGNED_OUT_COOKIE;
use crate::state::AppState;

use super::csrf::CheckedForm;
use super::frame::{Frame, Visitor, local_path, redirect};
use super::problem::{PageError, Problems, with_retry_after};

#[derive(Clone, Copy)]
pub(crate) enum Mode {
    SignUp,
    SignIn,
}

#[derive(Template)]
#[template(path = "auth.html")]
struct AuthPage {
    frame: Frame,
    heading: &'static str,
    action: &'static str,
    signing_up: bool,
    email: String,
    next: String,
    password_attrs: &'static str,
    password_hint: &'static str,
    problems: Problems,
}

fn auth_page(
    state: &AppState,
    visitor: &Visitor,
    mode: Mode,
    email: String,
    next: String,
    problems: Problems,
) -> AuthPage {
    let signing_up = matches!(mode, Mode::SignUp);
    AuthPage {
        frame: visitor.frame(state),
        heading: if signing_up { "Sign up" } else { "Sign in" },
        action: if signing_up {
            "/auth/signup"
        } else {
            "/auth/signin"
        },
        signing_up,
        email,
        next,
        password_attrs: if signing_up {
            "required autocomplete=\"new-password\""
        } else {
            "required autocomplete=\"current-password\""
        },
        password_hint: if signing_up { "4 to 20 characters" } else { "" },
        problems,
    }
}

/// `GET /auth/signup` and `GET /auth/signin`.
pub(crate) async fn form(
    mode: Mode,
    state: AppState,
    visitor: Visitor,
    params: HashMap<String, String>,
) -> Response {
    let next = local_path(params.get("next").map(String::as_str));
    let page = auth_page(
        &state,
        &visitor,
        mode,
        String::new(),
        next,
        Problems::default(),
    );
    visitor.page(StatusCode::OK, &page)
}

/// `POST /auth/signup` and `POST /auth/signin`: on success the session cookie is set and the
/// visitor goes where they were headed.
pub(crate) async fn submit(
    mode: Mode,
    state: AppState,
    (client, visitor): (ClientAddr, Visitor),
    headers: HeaderMap,
    form: CheckedForm,
) -> Result<Response, PageError> {
    let next = local_path(form.text("next"));
    let user = match mode {
        Mode::SignUp => register(&state, client, &form.0).await,
        Mode::SignIn => authenticate(&state, client, &form.0).await,
    };
    match user {
        Ok(user) => Ok(signed_in(&state, &user, &headers, &next)),
        Err(error) => {
            let retry_after = error.retry_after();
            let (status, problems) = Problems::from_api(error)?;
            let email = form.text("email").unwrap_or_default().to_owned();
            let page = auth_page(&state, &visitor, mode, email, next, problems);
            Ok(with_retry_after(visitor.page(status, &page), retry_after))
        }
    }
}

/// A redirect to `to` that signs `user` in (sets the session cookie).
pub(super) fn signed_in(state: &AppState, user: &User, headers: &HeaderMap, to: &str) -> Response {
    let mut response = redirect(to);
    response.headers_mut().append(
        SET_COOKIE,
        state.sessions.cookie(user, state.clock.now(), headers),
    );
    response
}

pub(crate) async fn sign_up_form(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    form(Mode::SignUp, state, visitor, params).await
}

pub(crate) async fn sign_in_form(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    form(Mode::SignIn, state, visitor, params).await
}

pub(crate) async fn sign_up(
    State(state): State<AppState>,
    client: ClientAddr,
    visitor: Visitor,
    headers: HeaderMap,
    form: CheckedForm,
) -> Result<Response, PageError> {
    submit(Mode::SignUp, state, (client, visitor), headers, form).await
}

pub(crate) async fn sign_in(
    State(state): State<AppState>,
    client: ClientAddr,
    visitor: Visitor,
    headers: HeaderMap,
    form: CheckedForm,
) -> Result<Response, PageError> {
    submit(Mode::SignIn, state, (client, visitor), headers, form).await
}

#[derive(Template)]
#[template(path = "signout.html")]
struct SignOutPage {
    frame: Frame,
}

/// `GET /auth/signout`: a button, since signing out changes state and so is a form.
pub(crate) async fn sign_out_form(State(state): State<AppState>, visitor: Visitor) -> Response {
    let page = SignOutPage {
        frame: visitor.frame(&state),
    };
    visitor.page(StatusCode::OK, &page)
}

/// `POST /auth/signout`: ends the session and goes back to the start.
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    visitor: Visitor,
    _form: CheckedForm,
) -> Result<Response, PageError> {
    if let Some(claims) = &visitor.user {
        users::sign_out(&state, claims).await?;
    }
    let mut response = redirect("/");
    response
        .headers_mut()
        .append(SET_COOKIE, HeaderValue::from_static(SIGNED_OUT_COOKIE));
    Ok(response.into_response())
}
