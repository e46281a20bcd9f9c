//! Paying for an order: authorize at the gateway, record atomically with the order's state, then
//! capture, or give the money back.
//!
//! Money follows the lock: the payments service records a payment only if, at that instant, the order
//! is still its buyer's, `created`, and not past `expiresAt`. If the order lost its ticket while the
//! card was being authorized, the authorization is voided and the order stays cancelled.

use std::time::Duration;

use tracing::{error, info, warn};

use tix_core::ids::{OrderId, PaymentId, UserId};
use tix_core::payments::{self, Payment, PaymentsStore};
use tix_core::reactions::Service;

use crate::gateway::{ChargeRequest, GatewayError};
use crate::state::AppState;
use crate::writer::WriteError;

#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error(transparent)]
    Payment(#[from] payments::Error),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// How often a capture is retried before it is left to the operator (the payment stays recorded).
const CAPTURE_ATTEMPTS: u32 = 3;

pub async fn pay(
    state: &AppState,
    payer: UserId,
    order_id: OrderId,
    token: String,
) -> Result<Payment, CheckoutError> {
    let now = state.clock.now();
    let order = state
        .stores
        .payments
        .order(order_id)
        .map_err(payments::Error::Store)?
        .ok_or(payments::Error::OrderNotFound)?;
    order.check_payable(payer, now)?;

    let request = ChargeRequest {
        order_id,
        amount_cents: order.amount_cents(),
        currency: state.currency.clone(),
        token,
    };
    let authorization = state.gateway.authorize(&request).await?;

    let payment_id = PaymentId(state.ids.next(now));
    let charge_id = authorization.charge_id.clone();
    let recorded = state
        .writer
        .run(Service::Payments, move |unit, context| {
            PaymentsStore::record(unit, payment_id, order_id, payer, &charge_id, context.now)
        })
        .await;
    match recorded {
        Ok(Ok(payment)) => {
            capture(state, order_id, &authorization.charge_id).await;
            Ok(payment)
        }
        Ok(Err(refused)) => {
            info!(order = %order_id, reason = %refused, "payment refused after authorization; voiding it");
            void(state, order_id, &authorization.charge_id).await;
            Err(refused.into())
        }
        Err(e) => {
            // Nothing was recorded, so the money must go back.
            void(state, order_id, &authorization.charge_id).await;
            Err(e.into())
        }
    }
}

/// Gives a paid order's money back: through the gateway for a card (idempotent per order), then
/// recorded; cash is recorded only (the staff member hands it over).
pub async fn refund(
    state: &AppState,
    by: UserId,
    order_id: OrderId,
) -> Result<Payment, CheckoutError> {
    let payment = state.stores.payments.refundable(order_id)?;
    // Cash needs no call: the staff member hands it over.
    if payment.method.is_card() {
        state.gateway.refund(order_id, &payment.stripe_id).await?;
        info!(order = %order_id, charge = payment.stripe_id, "card payment refunded at the gateway");
    }
    Ok(state
        .writer
        .run(Service::Payments, move |unit, context| {
            PaymentsStore::refund(unit, order_id, by, context.now)
        })
        .await??)
}

/// Which settling call to make.
#[derive(Clone, Copy)]
enum Settle {
    Capture,
    Void,
}

impl Settle {
    fn name(self) -> &'static str {
        match self {
            Settle::Capture => "capture",
            Settle::Void => "void",
        }
    }

    /// What is left for a person to do when every attempt failed.
    fn by_hand(self) -> &'static str {
        match self {
            Settle::Capture => "the payment is recorded; capture it by hand",
            Settle::Void => "the authorization lapses at the gateway unless voided by hand",
        }
    }
}

async fn capture(state: &AppState, order_id: OrderId, charge_id: &str) {
    settle(state, Settle::Capture, order_id, charge_id).await;
}

async fn void(state: &AppState, order_id: OrderId, charge_id: &str) {
    settle(state, Settle::Void, order_id, charge_id).await;
}

/// Captures or voids with a few spaced retries (the gateway calls are idempotent per order).
async fn settle(state: &AppState, how: Settle, order_id: OrderId, charge_id: &str) {
    for attempt in 1..=CAPTURE_ATTEMPTS {
        let result = match how {
            Settle::Capture => state.gateway.capture(order_id, charge_id).await,
            Settle::Void => state.gateway.void(order_id, charge_id).await,
        };
        match result {
            Ok(()) => return,
            Err(e) if attempt < CAPTURE_ATTEMPTS => {
                warn!(order = %order_id, charge = charge_id, attempt, error = %e, "{} failed; retrying", how.name());
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            Err(e) => {
                error!(order = %order_id, charge = charge_id, error = %e, "{} failed; {}", how.name(), how.by_hand())
            }
        }
    }
}
