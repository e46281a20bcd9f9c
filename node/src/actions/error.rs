//! `ApiError`: every failure an action or a request can meet, and the status and messages the
//! contract gives it.
//!
//! The JSON API answers with the seed's shape `{"errors":[{"message", "field"?}]}`; the storefront
//! shows the same messages beside its fields. Domain errors from the services are mapped here, in
//! one place for both edges; nothing in `core` knows about HTTP.

use std::time::Duration;

use axum::Json;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tracing::error;

use tix_core::{auth, orders, payments, shows, tickets};

use crate::checkout::CheckoutError;
use crate::gateway::GatewayError;
use crate::password::PasswordError;
use crate::writer::WriteError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug)]
pub enum ApiError {
    /// Failed validators, one entry each (400).
    Validation(Vec<FieldError>),
    /// A business rule said no (400), with a message for the user.
    BadRequest(String),
    NotAuthorized,
    NotFound,
    /// Input that could not be understood at all: bad JSON, a malformed id (400).
    Malformed,
    PayloadTooLarge,
    /// The payment provider could not be reached (502).
    GatewayUnavailable,
    /// The node is stopping (503).
    ShuttingDown,
    /// A part of the node is still starting (503), with what to tell the user.
    Unavailable(&'static str),
    /// Too many requests from this client or for this account (429); try again after this long.
    TooManyRequests(Duration),
    /// The node has no room for this work now (503); try again after this long.
    Busy(Duration),
    /// A fault of ours (500); the detail goes to the log, not to the client.
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody {
    errors: Vec<FieldError>,
}

fn message(text: &str) -> Vec<FieldError> {
    vec![FieldError {
        message: text.to_owned(),
        field: None,
    }]
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after();
        let (status, errors) = self.parts();
        let mut response = (status, Json(ErrorBody { errors })).into_response();
        if let Some(wait) = retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, retry_after_value(wait));
        }
        response
    }
}

/// `Retry-After` in whole seconds, rounded up and at least 1.
pub fn retry_after_value(wait: Duration) -> HeaderValue {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HeaderValue::from(seconds.max(1))
}

impl ApiError {
    /// When a client refused for now may try again (429 and the busy 503).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::TooManyRequests(wait) | ApiError::Busy(wait) => Some(*wait),
            _ => None,
        }
    }

    /// The status and the messages the contract gives this error (the storefront shows the same
    /// messages beside its fields).
    pub fn parts(self) -> (StatusCode, Vec<FieldError>) {
        match self {
            ApiError::Validation(errors) => (StatusCode::BAD_REQUEST, errors),
            ApiError::BadRequest(text) => (StatusCode::BAD_REQUEST, message(&text)),
            ApiError::NotAuthorized => (StatusCode::UNAUTHORIZED, message("Not authorized")),
            ApiError::NotFound => (StatusCode::NOT_FOUND, message("Not Found")),
            ApiError::Malformed => (StatusCode::BAD_REQUEST, message("Something went wrong")),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                message("Request body is too large"),
            ),
            ApiError::GatewayUnavailable => (
                StatusCode::BAD_GATEWAY,
                message("The payment provider could not be reached; please try again"),
            ),
            ApiError::ShuttingDown => (
                StatusCode::SERVICE_UNAVAILABLE,
                message("The node is restarting; please try again"),
            ),
            ApiError::Unavailable(text) => (StatusCode::SERVICE_UNAVAILABLE, message(text)),
            ApiError::TooManyRequests(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                message("Too many requests; please try again later"),
            ),
            ApiError::Busy(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                message("The node is busy; please try again shortly"),
            ),
            ApiError::Internal(detail) => {
                error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    message("Something went wrong"),
                )
            }
        }
    }
}

impl From<redb::Error> for ApiError {
    fn from(e: redb::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

/// How long a client refused by a full hashing queue is told to wait.
const HASHING_BUSY_RETRY: Duration = Duration::from_secs(1);

impl From<PasswordError> for ApiError {
    fn from(e: PasswordError) -> Self {
        match e {
            PasswordError::Busy => ApiError::Busy(HASHING_BUSY_RETRY),
            PasswordError::Stopped => ApiError::ShuttingDown,
            PasswordError::Failed(detail) => ApiError::Internal(detail),
        }
    }
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Failed(e) => ApiError::Internal(e.to_string()),
            WriteError::ShuttingDown => ApiError::ShuttingDown,
        }
    }
}

impl From<auth::Error> for ApiError {
    fn from(e: auth::Error) -> Self {
        match e {
            auth::Error::EmailInUse => ApiError::BadRequest("Email in use".into()),
            auth::Error::NoSuchUser => ApiError::NotFound,
            auth::Error::PasswordChanged => ApiError::BadRequest(super::reset::BAD_CODE.into()),
            auth::Error::Store(e) => e.into(),
        }
    }
}

impl From<tickets::Error> for ApiError {
    fn from(e: tickets::Error) -> Self {
        match e {
            tickets::Error::NotFound => ApiError::NotFound,
            tickets::Error::Reserved => {
                ApiError::BadRequest("Cannot edit a reserved ticket".into())
            }
            tickets::Error::NotOwner => ApiError::NotAuthorized,
            tickets::Error::Store(e) => e.into(),
        }
    }
}

impl From<orders::Error> for ApiError {
    fn from(e: orders::Error) -> Self {
        match e {
            orders::Error::NotFound | orders::Error::TicketNotFound => ApiError::NotFound,
            orders::Error::NotOwner => ApiError::NotAuthorized,
            orders::Error::AlreadyReserved(_) => {
                ApiError::BadRequest("Ticket is already reserved".into())
            }
            orders::Error::AlreadyComplete => {
                ApiError::BadRequest("Cannot cancel a completed order".into())
            }
            orders::Error::TooManyOpenOrders(max) => ApiError::BadRequest(format!(
                "You already have {max} unpaid orders: pay for or cancel one first"
            )),
            orders::Error::ShowNotFound => ApiError::NotFound,
            orders::Error::NotSelling(why) => ApiError::BadRequest(sentence(&why.to_string())),
            orders::Error::UnknownCategory(name) => {
                field_error("category", format!("The show has no category {name:?}"))
            }
            orders::Error::TooManyTickets(max) => field_error(
                "quantity",
                format!("An order holds from 1 to {max} tickets of this show"),
            ),
            orders::Error::NotEnough {
                category,
                available,
            } => ApiError::BadRequest(format!("Only {available} tickets of {category:?} are left")),
            orders::Error::NotTogether { category, quantity } => ApiError::BadRequest(format!(
                "No {quantity} seats of {category:?} are free together in one row; \
                 allow the party to be split to seat it apart"
            )),
            orders::Error::SeatsTaken(taken) => {
                field_error("seats", format!("Already taken: {}", id_list(&taken)))
            }
            orders::Error::NotOfShow(ids) => field_error(
                "seats",
                format!("Not tickets of this show: {}", id_list(&ids)),
            ),
            orders::Error::SeatGivenTwice(id) => {
                field_error("seats", format!("Ticket {id} is named twice"))
            }
            orders::Error::Store(e) => e.into(),
        }
    }
}

impl From<shows::Error> for ApiError {
    fn from(e: shows::Error) -> Self {
        match e {
            shows::Error::NotFound => ApiError::NotFound,
            shows::Error::Invalid(problems) => ApiError::Validation(
                problems
                    .into_iter()
                    .map(|p| FieldError {
                        message: p.message,
                        field: Some(p.field),
                    })
                    .collect(),
            ),
            shows::Error::Cancelled => ApiError::BadRequest("The show is cancelled".into()),
            shows::Error::PriceLocked(name) => ApiError::BadRequest(format!(
                "The price of {name:?} cannot change: some of its tickets are held or sold"
            )),
            shows::Error::Store(e) => e.into(),
        }
    }
}

fn field_error(field: &str, message: String) -> ApiError {
    ApiError::Validation(vec![FieldError {
        message,
        field: Some(field.to_owned()),
    }])
}

fn id_list(ids: &[tix_core::ids::TicketId]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A message that starts with a capital, as the contract's do.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

impl From<payments::Error> for ApiError {
    fn from(e: payments::Error) -> Self {
        match e {
            payments::Error::OrderNotFound => ApiError::NotFound,
            payments::Error::NotOwner => ApiError::NotAuthorized,
            payments::Error::Cancelled => {
                ApiError::BadRequest("Cannot pay for an cancelled order".into())
            }
            payments::Error::AlreadyPaid => {
                ApiError::BadRequest("Order has already been paid".into())
            }
            payments::Error::Expired => ApiError::BadRequest("Order has expired".into()),
            payments::Error::NotPaid => ApiError::BadRequest("Order has not been paid".into()),
            payments::Error::AlreadyRefunded => {
                ApiError::BadRequest("Order has already been refunded".into())
            }
            payments::Error::Store(e) => e.into(),
        }
    }
}

impl From<CheckoutError> for ApiError {
    fn from(e: CheckoutError) -> Self {
        match e {
            CheckoutError::Payment(e) => e.into(),
            CheckoutError::Gateway(GatewayError::Declined(text) | GatewayError::Invalid(text)) => {
                ApiError::BadRequest(text)
            }
            CheckoutError::Gateway(GatewayError::Unavailable(_)) => ApiError::GatewayUnavailable,
            CheckoutError::Write(e) => e.into(),
        }
    }
}
