//! Taking money and giving it back: a card payment by its buyer, cash and refunds by staff.
//!
//! A card payment and a refund each run as a task of their own (`checkout`), awaited here: if the
//! client's connection drops mid-payment, the authorization is still recorded and captured, or
//! voided, and a refund is still recorded, rather than left half done.

use tix_core::ids::{OrderId, PaymentId, UserId};
use tix_core::payments::{Payment, PaymentsStore};
use tix_core::reactions::Service;

use super::error::ApiError;
use crate::state::AppState;

/// Pays `order` with the card `token` on behalf of `payer`, its buyer.
pub(crate) async fn pay(
    state: &AppState,
    payer: UserId,
    order: OrderId,
    token: String,
) -> Result<Payment, ApiError> {
    let checkout = state.checkout.clone();
    let task = tokio::spawn(async move { checkout.pay(payer, order, token).await });
    Ok(task
        .await
        .map_err(|e| ApiError::Internal(format!("checkout task: {e}")))??)
}

/// Records cash taken by staff for an open order (anyone's).
pub(crate) async fn pay_cash(state: &AppState, order: OrderId) -> Result<Payment, ApiError> {
    let id = PaymentId(state.ids.next(state.clock.now()));
    Ok(state
        .writer
        .run(Service::Payments, move |unit, context| {
            PaymentsStore::record_cash(unit, id, order, context.now)
        })
        .await??)
}

/// Gives a paid order's money back on behalf of staff member `by`; the ticket stays sold.
pub(crate) async fn refund(
    state: &AppState,
    by: UserId,
    order: OrderId,
) -> Result<Payment, ApiError> {
    let checkout = state.checkout.clone();
    let task = tokio::spawn(async move { checkout.refund(by, order).await });
    Ok(task
        .await
        .map_err(|e| ApiError::Internal(format!("refund task: {e}")))??)
}
