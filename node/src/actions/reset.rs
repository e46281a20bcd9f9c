//! A member chooses a new password with a one-time code (`crate::reset_code`): emailed to the
//! account's address on request, or given out by the box office. The answer to a request never
//! says whether the address has an account.

use serde_json::{Map, Value};

use tix_core::auth::{AuthStore, User};
use tix_core::reactions::Service;

use super::error::ApiError;
use super::validate::{Validator, is_email, string};
use crate::client::ClientAddr;
use crate::mail::Letter;
use crate::state::AppState;

/// What a request is told where the node has no mail relay (a rule of this venue, not a fault).
const NO_EMAIL: &str = "This venue sends no email: ask the box office for a reset code";

/// What a wrong, used or expired code is told.
pub(crate) const BAD_CODE: &str = "That code is wrong or has expired: ask for a new one";

/// The member with this email, if there is one (a kiosk guest has no password to reset).
fn member(state: &AppState, email: &str) -> Result<Option<User>, ApiError> {
    Ok(state
        .stores
        .auth
        .find_by_email(email)?
        .filter(|user| !user.is_guest()))
}

fn email<'a>(check: &mut Validator, body: &'a Map<String, Value>) -> Option<&'a str> {
    check.require(
        string(body, "email").map(str::trim).filter(|e| is_email(e)),
        "email",
        "Email must be valid",
    )
}

/// Emails a reset code to `{email}` if it names a member; answers the same either way. Refused
/// when the node has no mail relay: the box office gives codes out then.
pub(crate) async fn request(
    state: &AppState,
    client: ClientAddr,
    body: &Map<String, Value>,
) -> Result<(), ApiError> {
    state
        .attempts
        .from_address(client.0)
        .map_err(ApiError::TooManyRequests)?;
    let mut check = Validator::default();
    let email = email(&mut check, body);
    check.finish()?;
    let email = email.unwrap_or_default();
    let Some(mailer) = state.mailer.clone() else {
        return Err(ApiError::BadRequest(NO_EMAIL.into()));
    };
    state
        .attempts
        .for_account(email)
        .map_err(ApiError::TooManyRequests)?;
    let Some(user) = member(state, email)? else {
        return Ok(());
    };
    let code = state.reset_codes.code(&user, state.clock.now());
    let letter = Letter {
        subject: "Your password reset code".into(),
        body: format!(
            "Someone asked to reset the password of the account {email}.\n\n\
             Your code: {code}\n\n\
             Enter it with your new password on the \"Forgot your password?\" page. It is good for \
             30 minutes and works once. If you did not ask, ignore this email: your password stays \
             as it is.\n"
        ),
        pdf: None,
    };
    // Sent in the background: the answer must not tell a member's address from another.
    let to = user.email.clone();
    tokio::spawn(async move {
        if let Err(e) = mailer.send_to_member(&to, letter).await {
            tracing::warn!(error = %e, "the password reset code was not emailed");
        }
    });
    Ok(())
}

/// The reset code of the member with `{email}`, for staff to hand over once they have seen who
/// asks.
pub(crate) fn code_for_staff(
    state: &AppState,
    body: &Map<String, Value>,
) -> Result<String, ApiError> {
    let mut check = Validator::default();
    let email = email(&mut check, body);
    check.finish()?;
    let user = member(state, email.unwrap_or_default())?.ok_or(ApiError::NotFound)?;
    Ok(state.reset_codes.code(&user, state.clock.now()))
}

/// Sets a new password from `{email, code, password}`; the member, to be signed in.
pub(crate) async fn confirm(
    state: &AppState,
    client: ClientAddr,
    body: &Map<String, Value>,
) -> Result<User, ApiError> {
    state
        .attempts
        .from_address(client.0)
        .map_err(ApiError::TooManyRequests)?;
    let mut check = Validator::default();
    let email = email(&mut check, body);
    let code = check.require(
        string(body, "code").filter(|c| !c.trim().is_empty()),
        "code",
        "You must supply the code you were given",
    );
    let password = super::users::new_password(&mut check, body);
    check.finish()?;
    let (email, code, password) = (
        email.unwrap_or_default(),
        code.unwrap_or_default(),
        password.unwrap_or_default().to_owned(),
    );
    state
        .attempts
        .for_account(email)
        .map_err(ApiError::TooManyRequests)?;
    let now = state.clock.now();
    let user = member(state, email)?
        .filter(|user| state.reset_codes.check(user, code, now))
        .ok_or_else(|| ApiError::BadRequest(BAD_CODE.into()))?;
    let hash = state.passwords.hash(password).await?;
    let (id, was) = (user.id, user.password_hash);
    Ok(state
        .writer
        .run(Service::Auth, move |unit, _| {
            AuthStore::set_password(unit, id, &was, hash)
        })
        .await??)
}
