//! `/healthz`: is the node up, how it takes payments, and how its queues stand; `/hello`, the
//! trivial endpoint the benchmark measures the HTTP ceiling with.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
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

pub(super) async fn hello() -> &'static str {
    "hello"
}
