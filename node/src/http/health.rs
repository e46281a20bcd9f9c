//! `/healthz`: is the node up, how it takes payments, and how its queues stand; `/hello`, the
//! trivial endpoint the benchmark measures the HTTP ceiling with.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::actions::ApiError;
use crate::state::AppState;

pub(super) async fn health(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let test_mode = state.gateway.mode() == "test";
    // Counters poll this; a stale word on the gateway starts a probe for the next poll to see.
    state
        .gateway
        .refresh_reachability(std::time::Duration::from_secs(30));
    let last_seq = state.signals.last_seq.load(Ordering::Acquire);
    let sync = match &state.sync {
        Some(status) => status.report(last_seq),
        None => json!({ "enabled": false }),
    };
    Ok(Json(json!({
        "status": "ok",
        "payments": {
            "mode": state.gateway.mode(),
            "testMode": test_mode,
            "reachable": state.gateway.reachable(),
            "unsettled": state.checkout.unsettled()?,
            "note": if test_mode { "TEST MODE: no money moves; use Stripe test tokens such as tok_visa" } else { "live Stripe gateway" },
        },
        "events": {
            "epoch": format!("{:016x}", state.stores.epoch),
            "lastSeq": last_seq,
            "outboxBacklog": state.stores.outbox_len()?,
        },
        "sync": sync,
        "search": match &state.search {
            Some(search) => search.status(),
            None => json!({ "enabled": false }),
        },
        "passKey": super::door::pass_key_json(&state),
        "mail": {
            "enabled": state.mailer.is_some(),
            "queued": state.stores.door.deliveries_queued()?,
        },
        "locks": {
            "pending": state.stores.expiration.pending()?,
            "expiry": state.lateness.summary(),
        },
    })))
}

/// `GET /metrics`: the gauges read afresh, then every instrument in Prometheus' text format.
pub(super) async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let last_seq = state.signals.last_seq.load(Ordering::Acquire);
    let gauges = &state.metrics.gauges;
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    gauges.last_seq.set(count(last_seq));
    gauges.outbox_backlog.set(count(state.stores.outbox_len()?));
    let (connected, acked) = match &state.sync {
        Some(sync) => (sync.is_connected(), sync.acked_seq()),
        None => (false, last_seq),
    };
    gauges.sync_connected.set(i64::from(connected));
    gauges.sync_acked_seq.set(count(acked));
    gauges
        .sync_lag_events
        .set(count(last_seq.saturating_sub(acked)));
    let indexed = state.search.as_ref().map_or(last_seq, |s| s.indexed_seq());
    gauges
        .search_lag_events
        .set(count(last_seq.saturating_sub(indexed)));
    gauges
        .locks_pending
        .set(count(state.stores.expiration.pending()?));
    gauges
        .mail_queued
        .set(count(state.stores.door.deliveries_queued()?));
    gauges
        .payments_unsettled
        .set(count(state.checkout.unsettled()? as u64));
    let syncs = state.stores.syncs.load(Ordering::Relaxed);
    gauges
        .store_syncs
        .inc_by(syncs.saturating_sub(gauges.store_syncs.get()));
    let text = state
        .metrics
        .render()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response())
}

pub(super) async fn hello() -> &'static str {
    "hello"
}
