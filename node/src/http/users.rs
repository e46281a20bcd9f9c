//! `/api/users/*`: sign up, sign in, sign out, who is signed in, and a password reset.

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use tix_core::auth::User;

use super::input::{Body, Session};
use crate::actions::ApiError;
use crate::actions::reset;
use crate::actions::users::{self, authenticate, register};
use crate::client::ClientAddr;
use crate::session::SIGNED_OUT_COOKIE;
use crate::state::AppState;

pub(super) async fn sign_up(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let user = register(&state, client, &body.object()?).await?;
    Ok(signed_in(&state, &headers, &user, StatusCode::CREATED))
}

pub(super) async fn sign_in(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let user = authenticate(&state, client, &body.object()?).await?;
    Ok(signed_in(&state, &headers, &user, StatusCode::OK))
}

/// `POST /api/users/password-reset`: a reset code emailed if the address names a member.
pub(super) async fn request_reset(
    State(state): State<AppState>,
    client: ClientAddr,
    body: Body,
) -> Result<Response, ApiError> {
    reset::request(&state, client, &body.object()?).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({}))).into_response())
}

/// `POST /api/users/password-reset/confirm`: a new password from a code; signs the member in.
pub(super) async fn confirm_reset(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let user = reset::confirm(&state, client, &body.object()?).await?;
    Ok(signed_in(&state, &headers, &user, StatusCode::OK))
}

pub(super) async fn sign_out(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, ApiError> {
    if let Some(claims) = &session.0 {
        users::sign_out(&state, claims).await?;
    }
    Ok((
        StatusCode::OK,
        [(SET_COOKIE, HeaderValue::from_static(SIGNED_OUT_COOKIE))],
        Json(json!({})),
    )
        .into_response())
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
        [(
            SET_COOKIE,
            state.sessions.cookie(user, state.clock.now(), headers),
        )],
        Json(json!({ "email": user.email, "id": user.id })),
    )
        .into_response()
}
