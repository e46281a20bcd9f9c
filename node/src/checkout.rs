//! Paying for an order: authorize at the gateway, record atomically with the order's state, then
//! capture, or give the money back; and refunds.
//!
//! Money follows the lock: the payments service records a payment only if, at that instant, the order
//! is still its buyer's, `created`, and not past `expiresAt`. If the order lost its ticket while the
//! card was being authorized, the authorization is voided and the order stays cancelled.
//!
//! Invariants (the gateway and the stores cannot change in one transaction):
//! - Every step is written to the payments store's progress trail (`CardAttempt`, pending refunds)
//!   before the gateway call that depends on it, so a crash at any point leaves a record of what
//!   may be owed; `reconcile` finishes it.
//! - An authorization is voided only when its payment is known not to be recorded: a write whose
//!   outcome is unknown is left to the reconciler, which reads the store first.
//! - Gateway calls are idempotent per PaymentIntent, so a step repeated after a crash (or by the
//!   reconciler while nothing else works on it, see `InFlight`) never moves money twice.

mod in_flight;
pub mod reconcile;
mod settle;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use tracing::{info, warn};

use tix_core::ids::{OrderId, PaymentId, UserId};
use tix_core::payments::{self, AttemptStep, CardAttempt, Payment, PaymentsStore};
use tix_core::reactions::Service;

use self::in_flight::{InFlight, Work};
use crate::clock::Clock;
use crate::gateway::{ChargeRequest, Gateway, GatewayError};
use crate::ids::IdGen;
use crate::stores::Stores;
use crate::writer::{Committed, WriteError, WriterHandle};

#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error(transparent)]
    Payment(#[from] payments::Error),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// What takes and gives back card money: shared by request handlers and the reconciler.
pub struct Checkout {
    stores: Arc<Stores>,
    writer: WriterHandle,
    gateway: Arc<Gateway>,
    ids: Arc<IdGen>,
    clock: Arc<dyn Clock>,
    /// ISO currency code in lowercase.
    currency: String,
    in_flight: InFlight,
}

impl Checkout {
    pub fn new(
        stores: Arc<Stores>,
        writer: WriterHandle,
        gateway: Arc<Gateway>,
        ids: Arc<IdGen>,
        clock: Arc<dyn Clock>,
        currency: String,
    ) -> Checkout {
        Checkout {
            stores,
            writer,
            gateway,
            ids,
            clock,
            currency,
            in_flight: InFlight::default(),
        }
    }

    /// Pays `order_id` with the card `token` on behalf of `payer`.
    pub async fn pay(
        &self,
        payer: UserId,
        order_id: OrderId,
        token: String,
    ) -> Result<Payment, CheckoutError> {
        let now = self.clock.now();
        let order = self
            .stores
            .payments
            .order(order_id)
            .map_err(payments::Error::Store)?
            .ok_or(payments::Error::OrderNotFound)?;
        order.check_payable(payer, now)?;
        let attempt = CardAttempt {
            id: PaymentId(self.ids.next(now)),
            order_id,
            payer,
            amount_cents: order.amount_cents(),
            currency: self.currency.clone(),
            token,
            charge_id: None,
            step: AttemptStep::Authorizing,
            since: now,
        };
        let _working = self.in_flight.hold(Work::Attempt(attempt.id));
        let begun = attempt.clone();
        self.writer
            .run(Service::Payments, move |unit, _| {
                PaymentsStore::begin_attempt(unit, &begun)
            })
            .await??;

        let authorization = match self.gateway.authorize(&charge_request(&attempt)).await {
            Ok(authorization) => authorization,
            Err(e @ GatewayError::Unavailable(_)) => {
                // Stripe may have authorized without our hearing: the reconciler asks again with the
                // same idempotency key and voids what it finds.
                warn!(order = %order_id, attempt = %attempt.id, error = %e, "authorization outcome unknown; left to the reconciler");
                return Err(e.into());
            }
            Err(refused) => {
                self.advance(attempt.id, AttemptStep::Declined, None).await;
                return Err(refused.into());
            }
        };
        let charge_id = authorization.charge_id;
        let charge = charge_id.clone();
        let recorded = self
            .writer
            .run(Service::Payments, move |unit, context| {
                PaymentsStore::record_attempt(unit, attempt.id, &charge, context.now)
            })
            .await;
        match recorded {
            Ok(Ok(payment)) => {
                self.capture(attempt.id, order_id, &charge_id).await;
                Ok(payment)
            }
            Ok(Err(refused)) => {
                info!(order = %order_id, reason = %refused, "payment refused after authorization; voiding it");
                self.void(attempt.id, order_id, &charge_id).await;
                Err(refused.into())
            }
            Err(e) if e.committed() == Committed::No => {
                // Nothing was recorded, so the money must go back.
                self.void(attempt.id, order_id, &charge_id).await;
                Err(e.into())
            }
            Err(e) => {
                warn!(order = %order_id, attempt = %attempt.id, charge = charge_id, error = %e, "whether the payment was recorded is unknown; left to the reconciler");
                Err(e.into())
            }
        }
    }

    /// Gives a paid order's money back: noted as pending, then through the gateway for a card
    /// (idempotent per PaymentIntent), then recorded; cash is recorded only (the staff member hands
    /// it over).
    pub async fn refund(&self, by: UserId, order_id: OrderId) -> Result<Payment, CheckoutError> {
        let payment = self.stores.payments.refundable(order_id)?;
        if payment.method.is_card() {
            let _working = self.in_flight.hold(Work::Refund(order_id));
            self.writer
                .run(Service::Payments, move |unit, context| {
                    PaymentsStore::ask_refund(unit, order_id, by, context.now)
                })
                .await??;
            self.gateway.refund(order_id, &payment.stripe_id).await?;
            info!(order = %order_id, charge = payment.stripe_id, "card payment refunded at the gateway");
        }
        self.record_refund(by, order_id).await
    }

    async fn record_refund(&self, by: UserId, order_id: OrderId) -> Result<Payment, CheckoutError> {
        Ok(self
            .writer
            .run(Service::Payments, move |unit, context| {
                PaymentsStore::refund(unit, order_id, by, context.now)
            })
            .await??)
    }

    /// Card payments and refunds not finished yet (each is the reconciler's until it is).
    pub fn unsettled(&self) -> Result<usize, redb::Error> {
        let payments = &self.stores.payments;
        Ok(payments.open_attempts()?.len() + payments.pending_refunds()?.len())
    }
}

/// The authorization request of an attempt: the same every time it is sent, so that the gateway
/// answers a repeat with the first answer.
fn charge_request(attempt: &CardAttempt) -> ChargeRequest {
    ChargeRequest {
        order_id: attempt.order_id,
        amount_cents: attempt.amount_cents,
        currency: attempt.currency.clone(),
        token: attempt.token.clone(),
    }
}
