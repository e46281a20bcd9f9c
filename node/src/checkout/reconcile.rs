//! The payments reconciler: finishes every card payment and refund a crash or a failure left
//! half done, at start-up and then periodically.
//!
//! For each open attempt that no live request holds, from what the store says:
//! - `Authorizing`: the gateway's answer was never written down. The same request is sent again
//!   (same idempotency key, so the gateway answers with the first outcome); a charge found is
//!   captured if a payment holds it, otherwise voided; a decline closes the attempt.
//! - `Recorded`: captured. `Refused`: voided.
//!
//! Each pending card refund is sent again (idempotent per PaymentIntent) and recorded. A failure
//! leaves the work for the next pass; every pass logs what is still unsettled.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use tix_core::payments::{AttemptStep, CardAttempt, PendingRefund};

use super::in_flight::Work;
use super::settle::Settle;
use super::{Checkout, charge_request};
use crate::gateway::GatewayError;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub settled: usize,
    /// Left for a later pass (the gateway or the store failed).
    pub left: usize,
}

/// Runs a pass now and then every `every`, until `shutdown` turns true. A pass under way then is
/// cut short rather than awaited (a gateway call may take its full timeout): every step is written
/// down before the gateway call it depends on, so stopping there is as safe as a crash, and the
/// next start's pass finishes the work.
pub fn start(
    checkout: Arc<Checkout>,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let pass = tokio::select! {
                pass = checkout.reconcile() => pass,
                _ = shutdown.changed() => {
                    info!("stopping: the payments reconciler's pass is left for the next start");
                    return;
                }
            };
            if pass.settled > 0 || pass.left > 0 {
                info!(
                    settled = pass.settled,
                    left = pass.left,
                    "payments reconciled"
                );
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => return,
            }
        }
    })
}

impl Checkout {
    /// One pass over every unfinished card payment and refund no live request is working on.
    pub async fn reconcile(&self) -> Pass {
        let mut pass = Pass::default();
        let (attempts, refunds) = match (
            self.stores.payments.open_attempts(),
            self.stores.payments.pending_refunds(),
        ) {
            (Ok(attempts), Ok(refunds)) => (attempts, refunds),
            (Err(e), _) | (_, Err(e)) => {
                error!(error = %e, "reading unfinished payments failed");
                return pass;
            }
        };
        for attempt in attempts {
            let Some(_hold) = self.in_flight.try_hold(Work::Attempt(attempt.id)) else {
                continue;
            };
            match self.finish_attempt(&attempt).await {
                true => pass.settled += 1,
                false => pass.left += 1,
            }
        }
        for refund in refunds {
            let Some(_hold) = self.in_flight.try_hold(Work::Refund(refund.order_id)) else {
                continue;
            };
            match self.finish_refund(&refund).await {
                true => pass.settled += 1,
                false => pass.left += 1,
            }
        }
        pass
    }

    async fn finish_attempt(&self, attempt: &CardAttempt) -> bool {
        let (id, order) = (attempt.id, attempt.order_id);
        match (attempt.step, attempt.charge_id.as_deref()) {
            (AttemptStep::Recorded, Some(charge)) => {
                self.settle(Settle::Capture, id, order, charge).await
            }
            (AttemptStep::Refused, Some(charge)) => {
                self.settle(Settle::Void, id, order, charge).await
            }
            (AttemptStep::Authorizing, _) => self.find_authorization(attempt).await,
            (step, charge) => {
                error!(attempt = %id, ?step, ?charge, "a card attempt in an impossible state; settle it by hand");
                false
            }
        }
    }

    /// Asks the gateway again for an authorization whose answer was lost, then settles it.
    async fn find_authorization(&self, attempt: &CardAttempt) -> bool {
        let (id, order) = (attempt.id, attempt.order_id);
        let charge = match self.gateway.authorize(&charge_request(attempt)).await {
            Ok(authorization) => authorization.charge_id,
            Err(GatewayError::Unavailable(e)) => {
                warn!(attempt = %id, order = %order, error = e, "the gateway is unavailable; the attempt waits for the next pass");
                return false;
            }
            Err(refused) => {
                info!(attempt = %id, order = %order, reason = %refused, "an interrupted authorization was declined; nothing is held");
                return self.advance(id, AttemptStep::Declined, None).await;
            }
        };
        // The same card token on the same order is the same PaymentIntent: a retried request may
        // have recorded it under another attempt. Never void money a payment holds.
        let held = match self.stores.payments.payment_for_order(order) {
            Ok(payment) => payment.is_some_and(|p| p.stripe_id == charge),
            Err(e) => {
                error!(attempt = %id, error = %e, "reading the order's payment failed");
                return false;
            }
        };
        let how = if held { Settle::Capture } else { Settle::Void };
        info!(attempt = %id, order = %order, charge, held, "settling an interrupted authorization");
        self.settle(how, id, order, &charge).await
    }

    async fn finish_refund(&self, refund: &PendingRefund) -> bool {
        let order = refund.order_id;
        if let Err(e) = self.gateway.refund(order, &refund.charge_id).await {
            warn!(order = %order, charge = refund.charge_id, error = %e, "refund failed; the next pass tries again");
            return false;
        }
        match self.record_refund(refund.by, order).await {
            Ok(_) => {
                info!(order = %order, charge = refund.charge_id, "an interrupted refund is finished");
                true
            }
            Err(e) => {
                warn!(order = %order, error = %e, "recording a finished refund failed");
                false
            }
        }
    }
}
