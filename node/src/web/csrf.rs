//! Cross-site request forgery protection for the storefront's forms.
//!
//! Each visitor gets a random token in a `SameSite=Strict`, `HttpOnly` cookie; every form carries
//! the same token in a hidden field, and a state-changing request is accepted only when the two
//! match (another site can make a browser send the cookie's name, never read its value). Requests
//! the browser marks as cross-site, or whose `Origin` is another site, are refused before that.
//! The session cookie is `SameSite=Lax` as well, so the JSON API is not reachable that way either.

use axum::extract::{Form, FromRequest, Multipart, Request};
use axum::http::header::{COOKIE, HOST, ORIGIN};
use axum::http::{HeaderMap, HeaderValue};
use rand::RngCore;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::state::AppState;

use super::problem::PageError;

pub(crate) const COOKIE_NAME: &str = "tix_csrf";
/// The hidden field every form carries.
pub(crate) const FIELD: &str = "_csrf";
const TOKEN_HEX_LEN: usize = 32;

/// The visitor's token, if their cookie holds a well-formed one.
pub(crate) fn read(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| {
            *name == COOKIE_NAME
                && value.len() == TOKEN_HEX_LEN
                && value.bytes().all(|b| b.is_ascii_hexdigit())
        })
        .map(|(_, value)| value.to_owned())
}

pub(crate) fn fresh() -> String {
    let mut bytes = [0u8; TOKEN_HEX_LEN / 2];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub(crate) fn cookie(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={token}; path=/; httponly; samesite=strict"
    ))
    .expect("hex tokens are valid header text")
}

/// A submitted form (`application/x-www-form-urlencoded`) that passed the CSRF checks, as the
/// JSON-like map the API's validators read (every value a string; a name sent more than once, a
/// list of its strings in the order sent).
pub(crate) struct CheckedForm(pub(crate) Map<String, Value>);

impl CheckedForm {
    pub(crate) fn text(&self, field: &str) -> Option<&str> {
        self.0.get(field).and_then(Value::as_str)
    }

    /// Every value of a field a form may send many times (ticked checkboxes of one name).
    pub(crate) fn all(&self, field: &str) -> Vec<&str> {
        match self.0.get(field) {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

impl FromRequest<AppState> for CheckedForm {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let headers = req.headers();
        if !same_origin(headers) {
            return Err(PageError::Forbidden);
        }
        let expected = read(headers);
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(req, state)
            .await
            .map_err(|_| PageError::BadForm)?;
        checked(expected, pairs)
    }
}

/// A submitted `multipart/form-data` form (one with a file to upload) that passed the same checks;
/// every part, files included, read as text.
pub(crate) struct CheckedUpload(pub(crate) CheckedForm);

impl FromRequest<AppState> for CheckedUpload {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let headers = req.headers();
        if !same_origin(headers) {
            return Err(PageError::Forbidden);
        }
        let expected = read(headers);
        let mut parts = Multipart::from_request(req, state)
            .await
            .map_err(|_| PageError::BadForm)?;
        let mut pairs = Vec::new();
        while let Some(part) = parts.next_field().await.map_err(|_| PageError::BadForm)? {
            let name = part.name().unwrap_or_default().to_owned();
            let text = part.text().await.map_err(|_| PageError::BadForm)?;
            pairs.push((name, text));
        }
        checked(expected, pairs).map(CheckedUpload)
    }
}

/// The form's fields once its token matches the cookie's; refused otherwise.
fn checked(
    expected: Option<String>,
    pairs: Vec<(String, String)>,
) -> Result<CheckedForm, PageError> {
    let submitted = pairs
        .iter()
        .find(|(name, _)| name == FIELD)
        .map(|(_, value)| value.as_str());
    let matches = match (expected, submitted) {
        (Some(expected), Some(submitted)) => {
            bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
        }
        _ => false,
    };
    if !matches {
        return Err(PageError::Forbidden);
    }
    let mut map = Map::new();
    for (name, value) in pairs {
        if name == FIELD {
            continue;
        }
        match map.get_mut(&name) {
            Some(Value::Array(values)) => values.push(Value::String(value)),
            Some(first) => {
                let first = first.take();
                map.insert(name, Value::Array(vec![first, Value::String(value)]));
            }
            None => {
                map.insert(name, Value::String(value));
            }
        }
    }
    Ok(CheckedForm(map))
}

/// False when the browser says the request comes from another site: `Sec-Fetch-Site:
/// cross-site`, or an `Origin` whose host is not the one addressed.
fn same_origin(headers: &HeaderMap) -> bool {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|site| site.as_bytes() == b"cross-site")
    {
        return false;
    }
    let Some(origin) = headers.get(ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn only_a_well_formed_token_cookie_is_read() {
        let token = fresh();
        assert_eq!(token.len(), TOKEN_HEX_LEN);
        let with = headers(&[("cookie", &format!("session=x; tix_csrf={token}"))]);
        assert_eq!(read(&with), Some(token));
        assert_eq!(read(&headers(&[("cookie", "tix_csrf=short")])), None);
        assert_eq!(read(&HeaderMap::new()), None);
    }

    #[test]
    fn requests_from_other_sites_are_told_apart() {
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8080")])));
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "same-origin"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "null"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("sec-fetch-site", "cross-site"),
        ])));
    }

    proptest::proptest! {
        #[test]
        fn any_cookie_header_gives_a_well_formed_token_or_none(
            cookie in "[ -~]{0,80}|tix_csrf=[0-9a-fA-F]{30,34}(; [a-z]{1,5}=[ -:<-~]{0,10}){0,3}"
        ) {
            let Ok(value) = HeaderValue::from_str(&cookie) else {
                return Ok(());
            };
            let mut map = HeaderMap::new();
            map.append(COOKIE, value);
            if let Some(token) = read(&map) {
                proptest::prop_assert_eq!(token.len(), TOKEN_HEX_LEN);
                proptest::prop_assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
            }
        }

        #[test]
        fn any_host_and_origin_are_judged_without_panicking(
            host in "[ -~]{0,30}",
            origin in "[ -~]{0,40}",
        ) {
            let mut map = HeaderMap::new();
            for (name, text) in [("host", host), ("origin", origin)] {
                if let Ok(value) = HeaderValue::from_str(&text) {
                    map.append(name, value);
                }
            }
            let _ = same_origin(&map);
        }
    }
}
