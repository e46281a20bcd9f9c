//! `/api/box-office/*`: what staff at the counter need besides the public API: take cash, refund,
//! find a customer's orders by email, see open locks and the day's takings.
//!
//! Every route is for staff only, checked against the stored user on each request (so a withdrawn
//! role takes effect at once); anyone else gets the contract's 401.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use tix_core::auth::User;
use tix_core::events::OrderStatus;
use tix_core::ids::OrderId;
use tix_core::payments::{MethodTakings, Payment, Takings};
use tix_core::time::Millis;

use super::input::{Body, PathId, Session};
use super::orders::order_json;
use crate::actions::validate::{Validator, parse_id, string};
use crate::actions::{self, ApiError, FieldError};
use crate::state::AppState;

/// Most open locks listed at once (soonest to expire first).
const LOCKS_SHOWN: usize = 500;
const DAY_MS: u64 = 86_400_000;

/// The signed-in user, if they are staff.
pub(super) async fn require_staff(state: &AppState, session: Session) -> Result<User, ApiError> {
    session.require_role(state, tix_core::auth::Role::Staff)
}

/// `GET /api/box-office/staff`: who is signed in, if staff (the app's check after sign-in).
pub(super) async fn whoami(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<Value>, ApiError> {
    let user = require_staff(&state, session).await?;
    Ok(Json(
        json!({ "id": user.id, "email": user.email, "staff": true }),
    ))
}

/// The order named by the body's `orderId`, with the contract's messages.
fn order_id_of(body: Body) -> Result<OrderId, ApiError> {
    let body = body.object()?;
    let mut check = Validator::default();
    let order_id = check.require(
        string(&body, "orderId").filter(|o| !o.is_empty()),
        "orderId",
        "Invalid value",
    );
    check.finish()?;
    parse_id(order_id.unwrap_or_default())
}

/// `POST /api/box-office/payments/cash` `{orderId}`: cash taken for an open order (anyone's).
pub(super) async fn pay_cash(
    State(state): State<AppState>,
    session: Session,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    require_staff(&state, session).await?;
    let order = order_id_of(body)?;
    let payment = actions::payments::pay_cash(&state, order).await?;
    Ok((StatusCode::CREATED, Json(payment_json(&payment))))
}

/// `POST /api/box-office/refunds` `{orderId}`: a paid order's money back (card through the gateway,
/// cash over the counter). The ticket stays sold.
pub(super) async fn refund(
    State(state): State<AppState>,
    session: Session,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let staff = require_staff(&state, session).await?;
    let order = order_id_of(body)?;
    let payment = actions::payments::refund(&state, staff.id, order).await?;
    Ok((StatusCode::CREATED, Json(payment_json(&payment))))
}

/// `GET /api/box-office/orders?email=`: a customer's orders, each with its payment.
pub(super) async fn orders_by_email(
    State(state): State<AppState>,
    session: Session,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    require_staff(&state, session).await?;
    let email = params.get("email").map(|e| e.trim()).unwrap_or_default();
    if email.is_empty() {
        return Err(ApiError::Validation(vec![FieldError {
            message: "Email must be given".into(),
            field: Some("email".into()),
        }]));
    }
    let Some(user) = state.stores.auth.find_by_email(email)? else {
        return Ok(Json(json!({ "user": null, "orders": [] })));
    };
    let mut orders = Vec::new();
    for order in state.stores.orders.list_for_user(user.id)? {
        let mut json = order_json(&state.stores, &order);
        let payment = state.stores.payments.payment_for_order(order.id)?;
        json["payment"] = payment.as_ref().map_or(Value::Null, payment_json);
        orders.push(json);
    }
    Ok(Json(json!({
        "user": { "id": user.id, "email": user.email },
        "orders": orders,
    })))
}

/// `GET /api/box-office/orders/{id}`: any order by its number, with its payment and its buyer's
/// email (a kiosk guest's order is found this way: the guest has no address to look up).
pub(super) async fn order_by_id(
    State(state): State<AppState>,
    session: Session,
    path: PathId,
) -> Result<Json<Value>, ApiError> {
    require_staff(&state, session).await?;
    let id: OrderId = path.parse()?;
    let order = state.stores.orders.get(id)?.ok_or(ApiError::NotFound)?;
    let mut json = order_json(&state.stores, &order);
    super::orders::put_passes(&state, &order, &mut json)?;
    let payment = state.stores.payments.payment_for_order(order.id)?;
    json["payment"] = payment.as_ref().map_or(Value::Null, payment_json);
    json["buyer"] = match state.stores.auth.get(order.user_id)? {
        Some(user) => json!(user.email),
        None => Value::Null,
    };
    Ok(Json(json))
}

/// `GET /api/box-office/locks`: orders holding a ticket while their buyer pays, soonest to
/// expire first, with the buyer's email.
pub(super) async fn locks(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<Value>, ApiError> {
    require_staff(&state, session).await?;
    let mut locks = Vec::new();
    for (_, order_id) in state.stores.expiration.upcoming(LOCKS_SHOWN)? {
        let Some(order) = state.stores.orders.get(order_id)? else {
            continue;
        };
        if !matches!(
            order.status,
            OrderStatus::Created | OrderStatus::AwaitingPayment
        ) {
            continue;
        }
        let mut json = order_json(&state.stores, &order);
        json["buyer"] = match state.stores.auth.get(order.user_id)? {
            Some(user) => json!(user.email),
            None => Value::Null,
        };
        locks.push(json);
    }
    Ok(Json(
        json!({ "now": state.clock.now().to_iso(), "locks": locks }),
    ))
}

/// `GET /api/box-office/summary?date=YYYY-MM-DD`: the day's sales and refunds per payment method
/// (UTC day; today by default), summed from the payments store's records.
pub(super) async fn summary(
    State(state): State<AppState>,
    session: Session,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    require_staff(&state, session).await?;
    let from = match params.get("date").map(|d| d.trim()) {
        None | Some("") => Millis(state.clock.now().0 / DAY_MS * DAY_MS),
        Some(date) => day_start(date).ok_or_else(|| {
            ApiError::Validation(vec![FieldError {
                message: "Date must be YYYY-MM-DD".into(),
                field: Some("date".into()),
            }])
        })?,
    };
    let to = Millis(from.0 + DAY_MS);
    let movements = state.stores.payments.movements(from, to)?;
    let takings = Takings::from_movements(&movements);
    Ok(Json(json!({
        "date": from.to_iso().get(..10),
        "from": from.to_iso(),
        "to": to.to_iso(),
        "currency": state.currency,
        "card": method_json(&takings.card),
        "cash": method_json(&takings.cash),
        "total": method_json(&takings.total()),
    })))
}

/// Midnight UTC of a `YYYY-MM-DD` date whose whole day can be shown (from 1970-01-01 to
/// 9999-12-30: the answer writes the next midnight too).
fn day_start(date: &str) -> Option<Millis> {
    let shaped = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return None;
    }
    let start = Millis::parse_iso(&format!("{date}T00:00:00Z"))?;
    if start.0.checked_add(DAY_MS)? > Millis::LAST_ISO.0 {
        return None;
    }
    // Rejects dates the parser rolled over (e.g. 2026-02-30) or clamped (before 1970).
    (start.to_iso().get(..10) == Some(date)).then_some(start)
}

fn amount(cents: i64) -> Value {
    json!(cents as f64 / 100.0)
}

fn method_json(takings: &MethodTakings) -> Value {
    json!({
        "sales": takings.sales,
        "salesAmount": amount(takings.sales_cents),
        "refunds": takings.refunds,
        "refundsAmount": amount(takings.refunds_cents),
        "net": amount(takings.net_cents()),
    })
}

fn payment_json(payment: &Payment) -> Value {
    json!({
        "id": payment.id,
        "orderId": payment.order_id,
        "method": payment.method.as_str(),
        "amount": amount(payment.amount_cents),
        "paidAt": payment.paid_at.to_iso(),
        "refundedAt": payment.refund.as_ref().map(|r| r.at.to_iso()),
    })
}

/// `POST /api/box-office/password-reset`: the reset code of the member with `{email}`, for staff
/// to hand over once they have seen who asks.
pub(super) async fn reset_code(
    State(state): State<AppState>,
    session: Session,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    require_staff(&state, session).await?;
    let code = actions::reset::code_for_staff(&state, &body.object()?)?;
    Ok(Json(json!({ "code": code, "validMinutes": 30 })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_strict_calendar_dates() {
        assert_eq!(day_start("2026-11-22"), Some(Millis(1_795_305_600_000)));
        for bad in [
            "2026-2-3",
            "2026-02-30",
            "22-11-2026",
            "2026-11-22T00",
            "",
            "2026/11/22",
        ] {
            assert_eq!(day_start(bad), None, "{bad}");
        }
        assert_eq!(day_start("9999-12-31"), None, "its end cannot be written");
        assert!(day_start("9999-12-30").is_some());
        assert_eq!(day_start("1969-12-31"), None, "before the epoch");
    }

    proptest::proptest! {
        #[test]
        fn any_date_text_is_a_day_or_refused_without_panicking(date in "\\PC{0,12}") {
            check_day(&date);
        }

        #[test]
        fn any_shaped_date_is_a_day_or_refused_without_panicking(
            date in "[0-9]{4}-[0-9]{2}-[0-9]{2}"
        ) {
            check_day(&date);
        }
    }

    /// A day, when accepted, starts at midnight and it and the next midnight can be written.
    #[track_caller]
    fn check_day(date: &str) {
        if let Some(start) = day_start(date) {
            assert_eq!(start.0 % DAY_MS, 0, "{date}");
            assert_eq!(&start.to_iso()[..10], date);
            let _ = Millis(start.0 + DAY_MS).to_iso();
        }
    }
}
