//! Turning requests into checked input: the session, the JSON body and ids in paths (the seed's
//! validators themselves are the actions' `validate`).
//!
//! The body is read by the extractor but parsed only when the handler asks, so that the contract's
//! order of checks holds: authentication (401) before validation (400) before lookup (404).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use http_body_util::BodyExt;
use serde_json::{Map, Value};

use crate::actions::ApiError;
use crate::actions::validate::parse_id;
use crate::session::Claims;
use crate::state::AppState;

/// The biggest request body the API accepts.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024;
/// The biggest body of a signed-in request to a route that takes a large one (a show with its
/// seat map of up to 100,000 seats).
pub(crate) const MAX_LARGE_BODY_BYTES: usize = 16 * 1024 * 1024;
/// How much of an oversized body is read and dropped before answering 413.
const DRAIN_BYTES: usize = 8 * 1024 * 1024;

/// The session a request carries, if a valid one.
pub(crate) struct Session(pub(crate) Option<Claims>);

impl Session {
    /// The seed's `requireAuth`.
    pub(crate) fn require(self) -> Result<Claims, ApiError> {
        self.0.ok_or(ApiError::NotAuthorized)
    }

    /// The signed-in user if their stored account holds `role` (read on every request, so a
    /// withdrawn role takes effect at once); anyone else gets the contract's 401.
    pub(crate) fn require_role(
        self,
        state: &AppState,
        role: tix_core::auth::Role,
    ) -> Result<tix_core::auth::User, ApiError> {
        let claims = self.require()?;
        match state.stores.auth.get(claims.id)? {
            Some(user) if user.has(role) => Ok(user),
            _ => Err(ApiError::NotAuthorized),
        }
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Session(state.sessions.from_headers(&parts.headers)))
    }
}

/// A request body, read but not yet parsed.
pub(crate) struct Body(Result<Bytes, ApiError>);

impl FromRequest<AppState> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Body(read_json(req, MAX_BODY_BYTES).await))
    }
}

/// A request body of up to `MAX_LARGE_BODY_BYTES` when the request carries a valid session, and
/// of the usual size otherwise (the handler refuses those with 401 anyway).
pub(crate) struct LargeBody(Result<Bytes, ApiError>);

impl FromRequest<AppState> for LargeBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let signed_in = state.sessions.from_headers(req.headers()).is_some();
        let limit = if signed_in {
            MAX_LARGE_BODY_BYTES
        } else {
            MAX_BODY_BYTES
        };
        Ok(LargeBody(read_json(req, limit).await))
    }
}

impl LargeBody {
    pub(crate) fn object(self) -> Result<Map<String, Value>, ApiError> {
        Body(self.0).object()
    }
}

/// Reads a body of at most `limit` bytes. A body not declared as JSON is no body, as the seed's
/// JSON body parser has it: a form on another site can post `text/plain` without a preflight,
/// and must not be acted upon.
async fn read_json(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    let json = declared_json(req.headers());
    let body = read_limited(req.into_body(), limit).await;
    body.map(|bytes| if json { bytes } else { Bytes::new() })
}

/// Whether the request says its body is JSON: `application/json` or `application/*+json`, with any
/// parameters.
fn declared_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let media_type = value.split(';').next().unwrap_or_default().trim();
    let media_type = media_type.to_ascii_lowercase();
    media_type == "application/json"
        || (media_type.starts_with("application/") && media_type.ends_with("+json"))
}

/// Reads at most `limit` bytes. A larger body is read on (and dropped) up to `DRAIN_BYTES`, so
/// the client, still sending, gets to read our 413 instead of a reset connection.
pub(crate) async fn read_limited(body: axum::body::Body, limit: usize) -> Result<Bytes, ApiError> {
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
        if seen <= limit {
            buffer.extend_from_slice(&data);
        } else if seen > DRAIN_BYTES.max(limit) {
            break;
        }
    }
    if seen > limit {
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
