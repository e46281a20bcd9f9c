//! The hub's HTTP API, for the chain's operators only: every request carries
//! `Authorization: Bearer TOKEN`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tower_http::catch_panic::CatchPanicLayer;

use tix_core::events::OrderStatus;
use tix_core::ids::ShowId;
use tix_sync::protocol::{Epoch, VenueId};

use crate::db::{Db, DbError, Sql};
use crate::ingest::{IngestStats, Work};
use crate::ledger::AdoptError;
use crate::link::LinkStatus;
use crate::membership::Ownership;
use crate::views;

const DEFAULT_LIMIT: u64 = 100;
const MAX_LIMIT: u64 = 1000;

#[derive(Clone)]
pub struct HubState {
    pub db: Db,
    pub token: Arc<String>,
    pub link: Arc<LinkStatus>,
    pub ingest: Arc<IngestStats>,
    /// Which venues this instance applies, and with whom it shares the database.
    pub ownership: Arc<Ownership>,
    /// The ingest thread's queue, for the operator's adoptions.
    pub work: tokio::sync::mpsc::Sender<Work>,
}

/// Errors of the hub's API, in the seed contract's error shape.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Not authorized")]
    Unauthorized,
    #[error("{0}")]
    BadRequest(String),
    #[error("Not Found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("the hub's database failed: {0}")]
    Database(#[from] DbError),
    #[error("the hub is shutting down")]
    Unavailable,
    /// A handler panicked; the detail goes to the log.
    #[error("Something went wrong")]
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Database(e) => {
                tracing::error!(error = %e, "hub query failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let mut response = (
            status,
            Json(json!({ "errors": [{ "message": self.to_string() }] })),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"tix-hub\""),
            );
        }
        response
    }
}

pub fn router(state: HubState) -> Router {
    Router::new()
        .route("/api/hub/health", get(health))
        .route("/api/hub/venues", get(venues))
        .route("/api/hub/venues/{venue}/events", get(events))
        .route("/api/hub/venues/{venue}/tickets", get(venue_tickets))
        .route("/api/hub/venues/{venue}/orders", get(venue_orders))
        .route("/api/hub/venues/{venue}/shows", get(venue_shows))
        .route("/api/hub/venues/{venue}/shows/{id}", get(venue_show))
        .route("/api/hub/tickets", get(tickets))
        .route("/api/hub/orders", get(orders))
        .route("/api/hub/sales", get(sales))
        .route("/api/hub/sales/daily", get(sales_daily))
        .route("/api/hub/quarantine", get(quarantine))
        .route("/api/hub/quarantine/counts", get(quarantine_counts))
        .route("/api/hub/venues/{venue}/adopt", post(adopt))
        .route("/metrics", get(metrics))
        .merge(crate::console::routes())
        .fallback(|| async { ApiError::NotFound })
        .layer(middleware::from_fn_with_state(state.clone(), require_token))
        .layer(CatchPanicLayer::custom(panicked as PanicAnswer))
        .with_state(state)
}

type PanicAnswer = fn(Box<dyn std::any::Any + Send + 'static>) -> Response;

/// A handler that panicked: a logged 500 in the error shape rather than a reset connection.
fn panicked(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(no message)".to_owned()
    };
    ApiError::Internal(format!("a request handler panicked: {detail}")).into_response()
}

/// Every route needs the token, as `Authorization: Bearer` or as the console's sign-in cookie;
/// only the console's own pages and assets are served without it.
async fn require_token(
    State(state): State<HubState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let valid: bool = presented.as_bytes().ct_eq(state.token.as_bytes()).into();
    let public = crate::console::PUBLIC.contains(&request.uri().path());
    if !valid && !public && !crate::console::signed_in(request.headers(), &state.token) {
        return Err(ApiError::Unauthorized);
    }
    Ok(next.run(request).await)
}

/// Runs a query on a read connection, off the async threads.
async fn query<T: Send + 'static>(
    state: &HubState,
    run: impl FnOnce(&mut Sql<'_>) -> Result<T, DbError> + Send + 'static,
) -> Result<T, ApiError> {
    let db = state.db.clone();
    tokio::task::spawn_blocking(move || db.read(run))
        .await
        .map_err(|_| ApiError::Unavailable)?
        .map_err(ApiError::from)
}

type Params = Query<HashMap<String, String>>;

/// A whole number from 0 that the database can take (at most `i64::MAX`).
fn number(params: &HashMap<String, String>, name: &str, default: u64) -> Result<u64, ApiError> {
    match params.get(name) {
        None => Ok(default),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| ApiError::BadRequest(format!("{name} must be a whole number from 0"))),
    }
}

fn paging(params: &HashMap<String, String>) -> Result<(u64, u64), ApiError> {
    let limit = number(params, "limit", DEFAULT_LIMIT)?;
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    Ok((limit, number(params, "offset", 0)?))
}

fn venue_id(text: &str) -> Result<VenueId, ApiError> {
    text.parse()
        .map_err(|e: tix_sync::protocol::TopicError| ApiError::BadRequest(e.to_string()))
}

async fn health(State(state): State<HubState>) -> Json<Value> {
    let link = &state.link;
    let ingest = &state.ingest;
    Json(json!({
        "status": "ok",
        "mqtt": {
            "connected": link.connected.load(Ordering::Acquire),
            "connections": link.connections.load(Ordering::Relaxed),
            "received": link.received.load(Ordering::Relaxed),
            "acksPublished": link.acks_published.load(Ordering::Relaxed),
            "skipped": link.skipped.load(Ordering::Relaxed),
            "takenOver": link.taken_over.load(Ordering::Relaxed),
            "lastError": *link.last_error.lock().unwrap_or_else(|e| e.into_inner()),
        },
        "ingest": {
            "applied": ingest.applied.load(Ordering::Relaxed),
            "duplicates": ingest.duplicates.load(Ordering::Relaxed),
            "gaps": ingest.gaps.load(Ordering::Relaxed),
            "quarantined": ingest.quarantined.load(Ordering::Relaxed),
            "batches": ingest.batches.load(Ordering::Relaxed),
            "failedBatches": ingest.failed_batches.load(Ordering::Relaxed),
        },
        // The hub instances sharing this database (this one alone on SQLite).
        "instances": state.ownership.members(),
    }))
}

async fn venues(State(state): State<HubState>) -> Result<Json<Vec<Value>>, ApiError> {
    Ok(Json(query(&state, views::venues).await?))
}

async fn events(
    State(state): State<HubState>,
    Path(venue): Path<String>,
    Query(params): Params,
) -> Result<Json<Vec<Value>>, ApiError> {
    let venue = venue_id(&venue)?;
    let after = number(&params, "after", 0)?;
    let (limit, _) = paging(&params)?;
    query(&state, move |c| {
        views::events(c, venue.as_str(), after, limit)
    })
    .await?
    .map(Json)
    .ok_or(ApiError::NotFound)
}

async fn venue_tickets(
    state: State<HubState>,
    Path(venue): Path<String>,
    Query(mut params): Params,
) -> Result<Json<Vec<Value>>, ApiError> {
    params.insert("venue".into(), venue);
    tickets(state, Query(params)).await
}

async fn venue_orders(
    state: State<HubState>,
    Path(venue): Path<String>,
    Query(mut params): Params,
) -> Result<Json<Vec<Value>>, ApiError> {
    params.insert("venue".into(), venue);
    orders(state, Query(params)).await
}

/// A venue's shows with their categories' counts and revenue; 404 for a venue the hub does not
/// know.
async fn venue_shows(
    State(state): State<HubState>,
    Path(venue): Path<String>,
    Query(params): Params,
) -> Result<Json<Vec<Value>>, ApiError> {
    let venue = venue_id(&venue)?;
    let (limit, offset) = paging(&params)?;
    query(&state, move |c| {
        views::shows(c, venue.as_str(), limit, offset)
    })
    .await?
    .map(Json)
    .ok_or(ApiError::NotFound)
}

/// One show of a venue; 404 when the hub has no such show there.
async fn venue_show(
    State(state): State<HubState>,
    Path((venue, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let venue = venue_id(&venue)?;
    let id: ShowId = id
        .parse()
        .map_err(|_| ApiError::BadRequest("a show id is 24 hexadecimal characters".into()))?;
    query(&state, move |c| {
        views::show(c, venue.as_str(), &id.to_string())
    })
    .await?
    .map(Json)
    .ok_or(ApiError::NotFound)
}

/// The `venue` filter, if given.
fn venue_filter(params: &HashMap<String, String>) -> Result<Option<VenueId>, ApiError> {
    params.get("venue").map(|v| venue_id(v)).transpose()
}

/// Tickets across the chain (`?venue=` narrows to one venue).
async fn tickets(
    State(state): State<HubState>,
    Query(params): Params,
) -> Result<Json<Vec<Value>>, ApiError> {
    let venue = venue_filter(&params)?;
    let (limit, offset) = paging(&params)?;
    Ok(Json(
        query(&state, move |c| {
            views::tickets(c, venue.as_ref().map(VenueId::as_str), limit, offset)
        })
        .await?,
    ))
}

/// Orders across the chain (`?venue=`, `?status=` narrow them).
async fn orders(
    State(state): State<HubState>,
    Query(params): Params,
) -> Result<Json<Vec<Value>>, ApiError> {
    let venue = venue_filter(&params)?;
    let (limit, offset) = paging(&params)?;
    let status = params.get("status").cloned();
    if status
        .as_deref()
        .is_some_and(|s| !OrderStatus::ALL.iter().any(|known| known.as_str() == s))
    {
        return Err(ApiError::BadRequest(
            "status must be created, awaiting:payment, complete or cancelled".into(),
        ));
    }
    Ok(Json(
        query(&state, move |c| {
            let venue = venue.as_ref().map(VenueId::as_str);
            views::orders(c, venue, status.as_deref(), limit, offset)
        })
        .await?,
    ))
}

async fn sales(State(state): State<HubState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(query(&state, views::sales).await?))
}

async fn quarantine(
    State(state): State<HubState>,
    Query(params): Params,
) -> Result<Json<Vec<Value>>, ApiError> {
    let (limit, _) = paging(&params)?;
    Ok(Json(
        query(&state, move |c| views::quarantine(c, limit)).await?,
    ))
}

/// `GET /api/hub/sales/daily?days=N`: paid orders and revenue per UTC day and venue, the last
/// `N` days (1-366, 14 by default), newest first.
async fn sales_daily(
    State(state): State<HubState>,
    Query(params): Params,
) -> Result<Json<Vec<Value>>, ApiError> {
    let days = number(&params, "days", 14)?;
    if !(1..=366).contains(&days) {
        return Err(ApiError::BadRequest(
            "days must be between 1 and 366".into(),
        ));
    }
    let now = tix_core::time::Millis::from_system_time(std::time::SystemTime::now());
    let since = now.0.saturating_sub(days * 86_400_000);
    Ok(Json(
        query(&state, move |c| views::sales_daily(c, since)).await?,
    ))
}

async fn quarantine_counts(State(state): State<HubState>) -> Result<Json<Vec<Value>>, ApiError> {
    Ok(Json(query(&state, views::quarantine_counts).await?))
}

/// `POST /api/hub/venues/{venue}/adopt` with `{"epoch": "<16 hex digits>"}`: follows the venue's
/// new epoch (its stores were recreated), keeping the old one's history (see `ledger::adopt`).
async fn adopt(
    State(state): State<HubState>,
    Path(venue): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let venue = venue_id(&venue)?;
    let bad = || {
        ApiError::BadRequest(
            "send {\"epoch\": \"...\"}: the venue's new epoch, 16 lowercase hex digits \
             (its node's /healthz shows it as events.epoch)"
                .into(),
        )
    };
    let body: Value = serde_json::from_slice(&body).map_err(|_| bad())?;
    let epoch = body["epoch"]
        .as_str()
        .and_then(|e| e.parse::<Epoch>().ok())
        .ok_or_else(bad)?;
    let (reply, answer) = tokio::sync::oneshot::channel();
    state
        .work
        .send(Work::Adopt {
            venue,
            epoch,
            reply,
        })
        .await
        .map_err(|_| ApiError::Unavailable)?;
    match answer.await.map_err(|_| ApiError::Unavailable)? {
        Ok(adopted) => Ok(Json(json!({
            "venue": adopted.ack.venue.as_str(),
            "epoch": adopted.ack.epoch.to_string(),
            "previousEpoch": adopted.previous_epoch.to_string(),
            "previousLastSeq": adopted.previous_last_seq,
        }))),
        Err(AdoptError::UnknownVenue(_)) => Err(ApiError::NotFound),
        Err(e @ (AdoptError::AlreadyFollowed { .. } | AdoptError::NeverSeen { .. })) => {
            Err(ApiError::Conflict(e.to_string()))
        }
        Err(AdoptError::Database(e)) => Err(ApiError::Database(e)),
    }
}

/// `GET /metrics`: Prometheus' text format (see `metrics`).
async fn metrics(State(state): State<HubState>) -> Result<Response, ApiError> {
    let (venues, quarantine) = query(&state, crate::metrics::read).await?;
    let text = crate::metrics::render(&state.link, &state.ingest, &venues, &quarantine)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use proptest::prelude::*;
    use tower::ServiceExt;

    use super::*;

    proptest! {
        #[test]
        fn paging_is_bounded_or_a_400(
            limit in proptest::option::of("\\PC{0,24}|-?[0-9]{1,25}"),
            offset in proptest::option::of("\\PC{0,24}|-?[0-9]{1,25}"),
        ) {
            let mut params = HashMap::new();
            if let Some(limit) = limit {
                params.insert("limit".to_owned(), limit);
            }
            if let Some(offset) = offset {
                params.insert("offset".to_owned(), offset);
            }
            match paging(&params) {
                Ok((limit, offset)) => {
                    prop_assert!((1..=MAX_LIMIT).contains(&limit));
                    prop_assert!(i64::try_from(offset).is_ok(), "SQLite takes it as it is");
                }
                Err(error) => prop_assert!(matches!(error, ApiError::BadRequest(_))),
            }
        }

        #[test]
        fn venue_ids_parse_or_are_a_400(text in "\\PC{0,80}|[a-z0-9_-]{1,70}") {
            match venue_id(&text) {
                Ok(venue) => prop_assert_eq!(venue.as_str(), text.as_str()),
                Err(error) => prop_assert!(matches!(error, ApiError::BadRequest(_))),
            }
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_500_in_the_error_shape() {
        let router: Router = Router::new()
            .route(
                "/boom",
                get(|| async {
                    if true {
                        panic!("deliberately, for this test");
                    }
                    "unreachable"
                }),
            )
            .layer(CatchPanicLayer::custom(panicked as PanicAnswer));
        let response = router
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body: Value =
            serde_json::from_slice(&to_bytes(response.into_body(), 1 << 16).await.unwrap())
                .unwrap();
        assert_eq!(
            body,
            json!({ "errors": [{ "message": "Something went wrong" }] })
        );
    }
}
