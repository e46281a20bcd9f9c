//! `POST /api/payments`: pay for your order with a card token.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use tix_core::ids::OrderId;

use super::input::{Body, Session};
use crate::actions::validate::{Validator, parse_id, string};
use crate::actions::{self, ApiError};
use crate::state::AppState;

/// Longest token accepted; Stripe's are far shorter.
const MAX_TOKEN_CHARS: usize = 255;

pub(super) async fn pay(
    State(state): State<AppState>,
    session: Session,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let payer = session.require()?;
    let body = body.object()?;
    let mut check = Validator::default();
    let token = check.require(
        string(&body, "token").filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_CHARS),
        "token",
        "Invalid value",
    );
    let order_id = check.require(
        string(&body, "orderId").filter(|o| !o.is_empty()),
        "orderId",
        "Invalid value",
    );
    check.finish()?;
    let order_id: OrderId = parse_id(order_id.unwrap_or_default())?;
    let token = token.unwrap_or_default().to_owned();

    let payment = actions::payments::pay(&state, payer.id, order_id, token).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": payment.id }))))
}
