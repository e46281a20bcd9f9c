//! Settling an authorization at the gateway (capture or void, with a few spaced retries) and
//! writing down how far an attempt got.

use std::time::Duration;

use tracing::{error, warn};

use tix_core::ids::{OrderId, PaymentId};
use tix_core::payments::{AttemptStep, PaymentsStore};
use tix_core::reactions::Service;

use super::Checkout;

/// How often a capture or a void is tried in one go before it is left to the reconciler.
const SETTLE_ATTEMPTS: u32 = 3;

/// Which settling call to make.
#[derive(Clone, Copy)]
pub(super) enum Settle {
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

    /// Where the attempt stands once the call succeeded.
    fn done(self) -> AttemptStep {
        match self {
            Settle::Capture => AttemptStep::Captured,
            Settle::Void => AttemptStep::Voided,
        }
    }
}

impl Checkout {
    pub(super) async fn capture(&self, attempt: PaymentId, order_id: OrderId, charge_id: &str) {
        self.settle(Settle::Capture, attempt, order_id, charge_id)
            .await;
    }

    pub(super) async fn void(&self, attempt: PaymentId, order_id: OrderId, charge_id: &str) {
        self.settle(Settle::Void, attempt, order_id, charge_id)
            .await;
    }

    /// Captures or voids with a few spaced retries, then writes the attempt's new step. Returns
    /// whether it is settled; if not, the attempt stays open for the reconciler.
    pub(super) async fn settle(
        &self,
        how: Settle,
        attempt: PaymentId,
        order_id: OrderId,
        charge_id: &str,
    ) -> bool {
        for tries in 1..=SETTLE_ATTEMPTS {
            let result = match how {
                Settle::Capture => self.gateway.capture(order_id, charge_id).await,
                Settle::Void => self.gateway.void(order_id, charge_id).await,
            };
            match result {
                Ok(()) => return self.advance(attempt, how.done(), Some(charge_id)).await,
                Err(e) if tries < SETTLE_ATTEMPTS => {
                    warn!(order = %order_id, charge = charge_id, tries, error = %e, "{} failed; retrying", how.name());
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(tries))).await;
                }
                Err(e) => {
                    error!(order = %order_id, charge = charge_id, error = %e, "{} failed; the reconciler tries again", how.name());
                }
            }
        }
        false
    }

    /// Writes that `attempt` reached `step`. A failure is logged: the attempt stays where it was,
    /// and the reconciler repeats the (idempotent) step.
    pub(super) async fn advance(
        &self,
        attempt: PaymentId,
        step: AttemptStep,
        charge_id: Option<&str>,
    ) -> bool {
        let charge = charge_id.map(str::to_owned);
        let written = self
            .writer
            .run(Service::Payments, move |unit, context| {
                PaymentsStore::advance_attempt(unit, attempt, step, charge.as_deref(), context.now)
            })
            .await;
        match written {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                error!(%attempt, ?step, error = %e, "writing a card attempt's step was refused");
                false
            }
            Err(e) => {
                warn!(%attempt, ?step, error = %e, "writing a card attempt's step failed; the reconciler repeats it");
                false
            }
        }
    }
}
