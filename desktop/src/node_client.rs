//! `NodeClient`: the box office's HTTP client for one venue node, carrying the staff member's
//! session cookie, and turning the node's answers into `DeskError`s.

use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::error::{DeskError, FieldMessage};

/// Long enough for a card payment through the gateway; short enough that a dead node is told
/// plainly while the customer waits.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(40);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// `/healthz` is polled: it must answer fast or count as unreachable.
const STATUS_TIMEOUT: Duration = Duration::from_secs(3);

pub struct NodeClient {
    http: reqwest::Client,
    base: String,
    session: Mutex<Option<String>>,
}

impl NodeClient {
    pub fn new(base: &str) -> Result<NodeClient, DeskError> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| DeskError::Local(format!("HTTP client: {e}")))?;
        Ok(NodeClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            session: Mutex::new(None),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn signed_in(&self) -> bool {
        self.session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    pub fn forget_session(&self) {
        *self.session.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// `GET /healthz`, quickly: `None` when the node does not answer.
    pub async fn health(&self) -> Option<Value> {
        self.health_within(STATUS_TIMEOUT).await
    }

    /// `GET /healthz` answered within `limit`, or `None`.
    pub async fn health_within(&self, limit: Duration) -> Option<Value> {
        let response = self
            .http
            .get(format!("{}/healthz", self.base))
            .timeout(limit)
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json().await.ok()
    }

    /// Signs in (or up) and keeps the session cookie.
    pub async fn authenticate(
        &self,
        sign_up: bool,
        email: &str,
        password: &str,
    ) -> Result<Value, DeskError> {
        let path = if sign_up {
            "/api/users/signup"
        } else {
            "/api/users/signin"
        };
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .map_err(|_| DeskError::Unreachable(self.base.clone()))?;
        let cookie = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("session="))
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        let body = Self::answer(response).await?;
        *self.session.lock().unwrap_or_else(|e| e.into_inner()) = cookie;
        Ok(body)
    }

    pub async fn get(&self, path: &str) -> Result<Value, DeskError> {
        self.call(Method::GET, path, None, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<Value, DeskError> {
        self.call(Method::POST, path, Some(body), None).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, DeskError> {
        self.call(Method::DELETE, path, None, None).await
    }

    /// A GET whose whole answer must arrive within `limit`, else `DeskError::Unreachable`.
    pub async fn get_within(&self, path: &str, limit: Duration) -> Result<Value, DeskError> {
        self.call(Method::GET, path, None, Some(limit)).await
    }

    /// A POST whose whole answer must arrive within `limit`, else `DeskError::Unreachable`.
    pub async fn post_within(
        &self,
        path: &str,
        body: Value,
        limit: Duration,
    ) -> Result<Value, DeskError> {
        self.call(Method::POST, path, Some(body), Some(limit)).await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        limit: Option<Duration>,
    ) -> Result<Value, DeskError> {
        let cookie = self
            .session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(DeskError::NotSignedIn)?;
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(COOKIE, cookie);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(limit) = limit {
            request = request.timeout(limit);
        }
        let response = request
            .send()
            .await
            .map_err(|_| DeskError::Unreachable(self.base.clone()))?;
        match Self::answer(response).await {
            // The session ended (expired, or the role was withdrawn): sign in again.
            Err(DeskError::Refused { status: 401, .. }) => Err(DeskError::NotSignedIn),
            other => other,
        }
    }

    /// The body of a success (`Null` when empty); the node's messages otherwise.
    async fn answer(response: reqwest::Response) -> Result<Value, DeskError> {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let messages: Vec<FieldMessage> = body
            .get("errors")
            .and_then(|errors| serde_json::from_value(errors.clone()).ok())
            .filter(|m: &Vec<FieldMessage>| !m.is_empty())
            .unwrap_or_else(|| {
                vec![FieldMessage {
                    message: fallback_message(status),
                    field: None,
                }]
            });
        Err(DeskError::Refused {
            status: status.as_u16(),
            messages,
        })
    }
}

fn fallback_message(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("The node answered {} {reason}", status.as_u16()),
        None => format!("The node answered {}", status.as_u16()),
    }
}
