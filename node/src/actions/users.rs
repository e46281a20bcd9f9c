//! Signing up and signing in: the seed's checks and messages, the password hash off the request's
//! thread, the account written by the writer.

use serde_json::{Map, Value};

use tix_core::auth::AuthStore;
use tix_core::auth::User;
use tix_core::ids::UserId;
use tix_core::reactions::Service;

use super::error::ApiError;
use super::validate::{Validator, is_email, string};
use crate::session::Claims;
use crate::state::AppState;

/// Signs a new user up from `{email, password}`.
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
    let first_is_staff = state.first_user_is_staff;
    Ok(state
        .writer
        .run(Service::Auth, move |unit, _| {
            AuthStore::sign_up(unit, user, first_is_staff)
        })
        .await??)
}

/// The user whose `{email, password}` these are.
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

/// Ends the session `claims` name: written down, so that no copy of its cookie works any more.
pub(crate) async fn sign_out(state: &AppState, claims: &Claims) -> Result<(), ApiError> {
    let session = claims.ended();
    state
        .writer
        .run(Service::Auth, move |unit, context| {
            AuthStore::end_session(unit, session, context.now.0 / 1000)
        })
        .await??;
    state.sessions.end(session, state.clock.now());
    Ok(())
}
