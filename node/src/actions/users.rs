//! Signing up and signing in: the seed's checks and messages, the password hash off the request's
//! thread, the account written by the writer.
//!
//! Both count against the client address's allowance, and a sign-in against the account's too
//! (`attempts`): over it, 429 before any hashing. A sign-in for an unknown email verifies a dummy
//! hash all the same, so its answer takes as long as a wrong password's.

use serde_json::{Map, Value};

use tix_core::auth::AuthStore;
use tix_core::auth::{User, is_guest_email};
use tix_core::ids::UserId;
use tix_core::reactions::Service;

use super::error::ApiError;
use super::validate::{Validator, is_email, string};
use crate::client::ClientAddr;
use crate::password::DUMMY_HASH;
use crate::session::Claims;
use crate::state::AppState;

/// The body's `email` if it is one, or the seed's message for it.
fn valid_email<'a>(check: &mut Validator, body: &'a Map<String, Value>) -> Option<&'a str> {
    check.require(
        string(body, "email").filter(|e| is_email(e) && !is_guest_email(e)),
        "email",
        "Email must be valid",
    )
}

/// The body's `password` for a new password (trimmed, 4 to 20 characters), or the seed's message.
pub(crate) fn new_password<'a>(
    check: &mut Validator,
    body: &'a Map<String, Value>,
) -> Option<&'a str> {
    check.require(
        string(body, "password")
            .map(str::trim)
            .filter(|p| (4..=20).contains(&p.chars().count())),
        "password",
        "Password must be between 4 and 20 characters",
    )
}

/// Signs a new user up from `{email, password}`.
pub(crate) async fn register(
    state: &AppState,
    client: ClientAddr,
    body: &Map<String, Value>,
) -> Result<User, ApiError> {
    state
        .attempts
        .from_address(client.0)
        .map_err(ApiError::TooManyRequests)?;
    let mut check = Validator::default();
    let email = valid_email(&mut check, body);
    let password = new_password(&mut check, body);
    check.finish()?;
    let (email, password) = (
        email.unwrap_or_default().to_owned(),
        password.unwrap_or_default().to_owned(),
    );

    // Answer a taken email before paying for a hash; the writer re-checks atomically.
    if state.stores.auth.find_by_email(&email)?.is_some() {
        return Err(ApiError::BadRequest("Email in use".into()));
    }
    let password_hash = state.passwords.hash(password).await?;
    let now = state.clock.now();
    let user = User {
        id: UserId(state.ids.next(now)),
        email,
        password_hash,
        staff: false,
        door: false,
    };
    let first_is_staff = state.first_user_is_staff;
    Ok(state
        .writer
        .run(Service::Auth, move |unit, _| {
            AuthStore::sign_up(unit, user, first_is_staff)
        })
        .await??)
}

/// A new guest account for a walk-in buyer at a kiosk (see [`User::guest`]).
pub(crate) async fn guest(state: &AppState) -> Result<User, ApiError> {
    let guest = User::guest(UserId(state.ids.next(state.clock.now())));
    Ok(state
        .writer
        .run(Service::Auth, move |unit, _| {
            AuthStore::sign_up(unit, guest, false)
        })
        .await??)
}

/// The user whose `{email, password}` these are.
pub(crate) async fn authenticate(
    state: &AppState,
    client: ClientAddr,
    body: &Map<String, Value>,
) -> Result<User, ApiError> {
    state
        .attempts
        .from_address(client.0)
        .map_err(ApiError::TooManyRequests)?;
    let mut check = Validator::default();
    let email = valid_email(&mut check, body);
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

    state
        .attempts
        .for_account(email)
        .map_err(ApiError::TooManyRequests)?;
    let user = state.stores.auth.find_by_email(email)?;
    credentials(user, password, |password, stored| async move {
        Ok(state.passwords.verify(password, stored).await?)
    })
    .await
}

/// What a member whose account came back from the hub is told at sign-in (see
/// `User::needs_new_password`).
pub(crate) const RECOVERED: &str = "This account was recovered after the venue lost its data, but its password could not be: it must be reset before you can sign in";

/// `user` if `password` is theirs, with the seed's two messages: "Invalid credentials" for an
/// unknown email, "Invalid Credentials" for a wrong password. `verify(password, stored)` checks a
/// password against a stored hash.
async fn credentials<V, F>(
    user: Option<User>,
    password: String,
    verify: V,
) -> Result<User, ApiError>
where
    V: FnOnce(String, String) -> F,
    F: Future<Output = Result<bool, ApiError>>,
{
    // A guest has no password: as for an unknown email, with the same work, so the answer's
    // timing does not tell them apart from a known one.
    let Some(user) = user.filter(|user| !user.is_guest()) else {
        verify(password, DUMMY_HASH.to_owned()).await?;
        return Err(ApiError::BadRequest("Invalid credentials".into()));
    };
    if user.needs_new_password() {
        verify(password, DUMMY_HASH.to_owned()).await?;
        return Err(ApiError::BadRequest(RECOVERED.into()));
    }
    if !verify(password, user.password_hash.clone()).await? {
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    fn user() -> User {
        User {
            id: UserId::from_bytes([1; 12]),
            email: "known@test.com".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA".into(),
            staff: false,
            door: false,
        }
    }

    /// What a verifier was asked: (password, stored hash) per call.
    type Calls = Arc<Mutex<Vec<(String, String)>>>;

    /// A verifier that records what it was asked and answers `answer`.
    fn recording(
        answer: bool,
    ) -> (
        Calls,
        impl FnOnce(String, String) -> std::future::Ready<Result<bool, ApiError>>,
    ) {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = calls.clone();
        let verify = move |password: String, stored: String| {
            seen.lock().unwrap().push((password, stored));
            std::future::ready(Ok(answer))
        };
        (calls, verify)
    }

    #[track_caller]
    fn check_refused(result: Result<User, ApiError>, expected: &str) {
        match result {
            Err(ApiError::BadRequest(message)) => assert_eq!(message, expected),
            other => panic!("expected {expected:?}, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_unknown_email_costs_a_password_check_all_the_same() {
        let (calls, verify) = recording(true);
        check_refused(
            credentials(None, "guess".into(), verify).await,
            "Invalid credentials",
        );
        let calls = calls.lock().unwrap();
        assert_eq!(
            calls.len(),
            1,
            "the verifier runs for an unknown email too, so timing does not tell which exist"
        );
        assert_eq!(calls[0].0, "guess");
        assert!(
            calls[0].1.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "checked against a hash as costly as a real one: {}",
            calls[0].1
        );
    }

    #[tokio::test]
    async fn a_known_email_is_checked_against_its_own_hash() {
        let (calls, verify) = recording(false);
        check_refused(
            credentials(Some(user()), "wrong".into(), verify).await,
            "Invalid Credentials",
        );
        assert_eq!(calls.lock().unwrap()[0].1, user().password_hash);
        let (_, verify) = recording(true);
        assert_eq!(
            credentials(Some(user()), "right".into(), verify)
                .await
                .unwrap()
                .email,
            "known@test.com"
        );
    }
}
