//! `/api/users/*`: sign up, sign in, sign out, and who is signed in.

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use tix_core::auth::User;
use tix_core::ids::UserId;

use super::error::ApiError;
use super::input::{Body, Session, Validator, is_email, string};
use crate::session::COOKIE_NAME;
use crate::state::AppState;
use crate::writer::Command;

/// Clears the session; `SameSite=Lax` like the session itself.
pub(crate) const SIGNED_OUT_COOKIE: &str =
    "session=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; samesite=lax";

pub(super) async fn sign_up(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let user = register(&state, &body.object()?).await?;
    Ok(signed_in(&state, &headers, &user, StatusCode::CREATED))
}

pub(super) async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let user = authenticate(&state, &body.object()?).await?;
    Ok(signed_in(&state, &headers, &user, StatusCode::OK))
}

/// Signs a new user up from `{email, password}`, with the seed's checks and messages.
pub(crate) async fn register(
    state: &AppState,
    body: &Map<String, Value>,
) -> Result<User, ApiError> {
    let mut check = Validator::default();
    let email = check.require(
        string(body, "email").filter(|e| is_email(e)),
        "email",
        "Email must be valid",
    );
    let password = check.require(
        string(body, "password")
            .map(str::trim)
            .filter(|p| (4..=20).contains(&p.chars().count())),
        "password",
        "Password must be between 4 and 20 characters",
    );
    check.finish()?;
    let (email, password) = (
        email.unwrap_or_default().to_owned(),
        password.unwrap_or_default().to_owned(),
    );

    // Answer a taken email before paying for a hash; the writer re-checks atomically.
    if state.stores.auth.find_by_email(&email)?.is_some() {
        return Err(ApiError::BadRequest("Email in use".into()));
    }
    let password_hash = state
        .passwords
        .hash(password)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let now = state.clock.now();
    let user = User {
        id: UserId(state.ids.next(now)),
        email,
        password_hash,
        staff: false,
    };
    Ok(state
        .writer
        .request(|reply| Command::SignUp {
            user,
            first_is_staff: state.first_user_is_staff,
            reply,
        })
        .await??)
}

/// The user whose `{email, password}` these are, with the seed's checks and messages.
pub(crate) async fn authenticate(
    state: &AppState,
    body: &Map<String, Value>,
) -> Result<User, ApiError> {
    let mut check = Validator::default();
    let email = check.require(
        string(body, "email").filter(|e| is_email(e)),
        "email",
        "Email must be valid",
    );
    let password = check.require(
        string(body, "password")
            .map(str::trim)
            .filter(|p| !p.is_empty()),
        "password",
        "You must supply a password",
    );
    check.finish()?;
    let (email, password) = (
        email.unwrap_or_default(),
        password.unwrap_or_default().to_owned(),
    );

    let Some(user) = state.stores.auth.find_by_email(email)? else {
        return Err(ApiError::BadRequest("Invalid credentials".into()));
    };
    let matches = state
        .passwords
        .verify(password, user.password_hash.clone())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if !matches {
        return Err(ApiError::BadRequest("Invalid Credentials".into()));
    }
    Ok(user)
}

pub(super) async fn sign_out() -> Response {
    (
        StatusCode::OK,
        [(SET_COOKIE, HeaderValue::from_static(SIGNED_OUT_COOKIE))],
        Json(json!({})),
    )
        .into_response()
}

pub(super) async fn current_user(session: Session) -> Json<Value> {
    let current = session
        .0
        .map(|claims| json!({ "id": claims.id, "email": claims.email, "iat": claims.iat }));
    Json(json!({ "currentUser": current }))
}

fn signed_in(state: &AppState, headers: &HeaderMap, user: &User, status: StatusCode) -> Response {
    (
        status,
        [(SET_COOKIE, session_cookie(state, headers, user))],
        Json(json!({ "email": user.email, "id": user.id })),
    )
        .into_response()
}

/// The `Set-Cookie` value that signs `user` in: `HttpOnly`, `SameSite=Lax` (so no other site's
/// form can act with it), and `Secure` when the request came over HTTPS.
pub(crate) fn session_cookie(state: &AppState, headers: &HeaderMap, user: &User) -> HeaderValue {
    let value = state.sessions.issue(user, state.clock.now());
    // Browsers send a Secure cookie only over HTTPS; a TLS-terminating proxy tells us it was HTTPS.
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|proto| proto.as_bytes().eq_ignore_ascii_case(b"https"));
    let cookie = if secure {
        format!("{COOKIE_NAME}={value}; path=/; secure; httponly; samesite=lax")
    } else {
        format!("{COOKIE_NAME}={value}; path=/; httponly; samesite=lax")
    };
    HeaderValue::from_str(&cookie).expect("base64 cookie values are valid header text")
}
