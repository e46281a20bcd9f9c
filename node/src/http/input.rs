//! Turning requests into checked input: the session, the JSON body, ids in paths, and the seed's
//! validators with their exact messages.
//!
//! The body is read by the extractor but parsed only when the handler asks, so that the contract's
//! order of checks holds: authentication (401) before validation (400) before lookup (404).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use http_body_util::BodyExt;
use serde_json::{Map, Value};

use crate::http::error::{ApiError, FieldError};
use crate::session::Claims;
use crate::state::AppState;

/// The biggest request body the API accepts.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024;
/// How much of an oversized body is read and dropped before answering 413.
const DRAIN_BYTES: usize = 8 * 1024 * 1024;

/// The session a request carries, if a valid one.
pub(crate) struct Session(pub(crate) Option<Claims>);

impl Session {
    /// The seed's `requireAuth`.
    pub(crate) fn require(self) -> Result<Claims, ApiError> {
        self.0.ok_or(ApiError::NotAuthorized)
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Session(read_session(&parts.headers, state)))
    }
}

pub(crate) fn read_session(headers: &HeaderMap, state: &AppState) -> Option<Claims> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|cookies| state.sessions.read(cookies))
}

/// A request body, read but not yet parsed.
pub(crate) struct Body(Result<Bytes, ApiError>);

impl FromRequest<AppState> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Body(read_limited(req.into_body()).await))
    }
}

/// Reads at most `MAX_BODY_BYTES`. A larger body is read on (and dropped) up to `DRAIN_BYTES`, so
/// the client, still sending, gets to read our 413 instead of a reset connection.
pub(crate) async fn read_limited(body: axum::body::Body) -> Result<Bytes, ApiError> {
    let mut body = body;
    let mut buffer = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(ApiError::Malformed);
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len();
        if seen <= MAX_BODY_BYTES {
            buffer.extend_from_slice(&data);
        } else if seen > DRAIN_BYTES {
            break;
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(Bytes::from(buffer))
}

impl Body {
    /// The body as a JSON object. An empty body is `{}`, as is JSON that is not an object (so the
    /// validators report the missing fields); text that is not JSON is a 400.
    pub(crate) fn object(self) -> Result<Map<String, Value>, ApiError> {
        let bytes = self.0?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Ok(Map::new()),
            Err(_) => Err(ApiError::Malformed),
        }
    }
}

/// Parses an id from a path or body; a malformed one is the seed's CastError (400).
pub(crate) fn parse_id<T: std::str::FromStr>(text: &str) -> Result<T, ApiError> {
    text.parse().map_err(|_| ApiError::Malformed)
}

/// The `{id}` of a path, checked only when the handler looks it up (after auth and validation).
pub(crate) struct PathId(Result<String, ApiError>);

impl FromRequestParts<AppState> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let id = Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| id)
            .map_err(|_| ApiError::Malformed);
        Ok(PathId(id))
    }
}

impl PathId {
    pub(crate) fn parse<T: std::str::FromStr>(self) -> Result<T, ApiError> {
        parse_id(&self.0?)
    }
}

/// Collects validator failures in the order the seed's chains run them.
#[derive(Default)]
pub(crate) struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub(crate) fn fail(&mut self, field: &str, message: &str) {
        self.errors.push(FieldError {
            message: message.to_owned(),
            field: Some(field.to_owned()),
        });
    }

    /// Passes `value` through, recording `message` for `field` when it is missing.
    pub(crate) fn require<T>(&mut self, value: Option<T>, field: &str, message: &str) -> Option<T> {
        if value.is_none() {
            self.fail(field, message);
        }
        value
    }

    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// A field's value as a string, if it is one.
pub(crate) fn string<'a>(body: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Value::as_str)
}

/// validator.js `isFloat({gt: 0})` on a JSON number or numeric string, finite and positive.
pub(crate) fn positive_number(value: Option<&Value>) -> Option<f64> {
    let number = match value? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => {
            let s = s.trim();
            let numeric = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
                && s.chars().any(|c| c.is_ascii_digit());
            if !numeric {
                return None;
            }
            s.parse::<f64>().ok()?
        }
        _ => return None,
    };
    (number.is_finite() && number > 0.0).then_some(number)
}

/// A pragmatic `isEmail`: one `@`, a plausible local part, and a dotted domain with a letter TLD.
pub(crate) fn is_email(text: &str) -> bool {
    if text.len() > 254 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    if local.is_empty()
        || local.len() > 64
        || local.contains('@')
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
    {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(char::is_alphabetic))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn emails_are_checked_like_the_seed_does() {
        for good in ["test@test.com", "a.b+c@sub.example.org", "ü@exämple.de"] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "",
            "test",
            "test@",
            "@test.com",
            "a@b",
            "a b@c.com",
            "a@@b.com",
            "a@b.c",
            "a@-b.com",
            "a..b@c.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn prices_accept_positive_numbers_and_numeric_strings() {
        assert_eq!(positive_number(Some(&json!(20))), Some(20.0));
        assert_eq!(positive_number(Some(&json!("20.00"))), Some(20.0));
        assert_eq!(positive_number(Some(&json!(" 1e2 "))), Some(100.0));
        for bad in [
            json!(0),
            json!(-5),
            json!("abc"),
            json!(""),
            json!("inf"),
            json!("NaN"),
            json!(null),
            json!([1]),
            json!("1e999"),
        ] {
            assert_eq!(positive_number(Some(&bad)), None, "{bad}");
        }
        assert_eq!(positive_number(None), None);
    }
}
