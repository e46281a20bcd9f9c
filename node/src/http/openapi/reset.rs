//! The password reset's operations and schemas, declared for the `OpenApi` derive in
//! `openapi.rs`.

// Read by the derive only.
#![allow(dead_code)]

use serde::Serialize;
use utoipa::ToSchema;

use super::{Empty, Errors, UserOut};

#[derive(Serialize, ToSchema)]
pub(crate) struct EmailRequest {
    #[schema(format = Email)]
    email: String,
}

/// A new password with the code that allows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct ResetConfirm {
    #[schema(format = Email)]
    email: String,
    /// The code as given (`ABCD-EFGH-IJKL-MNOP`; case, dashes and spaces do not matter).
    #[schema(min_length = 1)]
    code: String,
    /// 4 to 20 characters once trimmed.
    #[schema(min_length = 4, max_length = 20)]
    password: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResetCode {
    code: String,
    /// How long the code is good for, at least.
    valid_minutes: u32,
}

#[utoipa::path(post, path = "/api/users/password-reset", tag = "users", request_body = EmailRequest,
    responses(
        (status = 202, description = "If the address names a member, a reset code is on its way to it (the answer is the same either way)", body = Empty),
        (status = 400, description = "Invalid email, or this venue sends no email (the box office gives reset codes out)", body = Errors),
        (status = 413, description = "Body over 16 KiB", body = Errors),
        (status = 429, description = "Too many attempts from this address or for this account; see Retry-After", body = Errors),
    ))]
pub(crate) fn request_reset() {}

#[utoipa::path(post, path = "/api/users/password-reset/confirm", tag = "users", request_body = ResetConfirm,
    responses(
        (status = 200, description = "The new password is set; signed in (sets the session cookie)", body = UserOut),
        (status = 400, description = "Invalid input, or the code is wrong, used or expired", body = Errors),
        (status = 413, description = "Body over 16 KiB", body = Errors),
        (status = 429, description = "Too many attempts from this address or for this account; see Retry-After", body = Errors),
        (status = 503, description = "Password hashing is saturated; see Retry-After", body = Errors),
    ))]
pub(crate) fn confirm_reset() {}

#[utoipa::path(post, path = "/api/box-office/password-reset", tag = "box office",
    request_body = EmailRequest, security(("session" = [])),
    responses(
        (status = 200, description = "The member's reset code, to hand over once staff have seen who asks", body = ResetCode),
        (status = 400, description = "Invalid email", body = Errors),
        (status = 401, description = "Not signed in as staff", body = Errors),
        (status = 404, description = "No member has that email", body = Errors),
        (status = 413, description = "Body over 16 KiB", body = Errors),
    ))]
pub(crate) fn reset_code() {}
