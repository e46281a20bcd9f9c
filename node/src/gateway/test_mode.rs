//! The test-mode gateway: used when no Stripe key is configured, so a node works out of the box.
//!
//! It accepts Stripe's documented test tokens and moves no money. `tok_chargeDeclined` (and the other
//! decline tokens) is declined as Stripe would decline it. The node says it is in test mode in its
//! log and in `/healthz`.

use std::collections::HashMap;
use std::sync::Mutex;

use tix_core::ids::OrderId;

use super::{Authorization, ChargeRequest, GatewayError};

/// Tokens that stand for a card that pays.
const APPROVED: &[&str] = &[
    "tok_visa",
    "tok_visa_debit",
    "tok_mastercard",
    "tok_mastercard_debit",
    "tok_amex",
    "tok_discover",
];

/// Where a test-mode charge stands, as Stripe would keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestCharge {
    Authorized,
    Captured,
    Voided,
    Refunded,
}

/// Keeps every charge's state in memory, so that captures, voids and refunds follow Stripe's
/// rules (a voided charge cannot be captured; voiding a captured one refunds it).
#[derive(Debug, Default)]
pub struct TestGateway {
    charges: Mutex<HashMap<String, TestCharge>>,
}

impl TestGateway {
    pub(crate) fn authorize(&self, request: &ChargeRequest) -> Result<Authorization, GatewayError> {
        if request.amount_cents <= 0 {
            return Err(GatewayError::Invalid("Amount must be positive".into()));
        }
        let token = request.token.as_str();
        if token.starts_with("tok_chargeDeclined") {
            return Err(GatewayError::Declined("Your card was declined.".into()));
        }
        if !APPROVED.contains(&token) {
            return Err(GatewayError::Invalid(format!(
                "No such token: '{}' (test mode accepts Stripe test tokens such as tok_visa)",
                token.chars().take(64).collect::<String>()
            )));
        }
        // Deterministic per order and token, like Stripe's answer to an idempotent request keyed by
        // both: the same request twice is the same charge.
        let charge_id = format!("pi_test_{}_{token}", request.order_id);
        self.lock()
            .entry(charge_id.clone())
            .or_insert(TestCharge::Authorized);
        Ok(Authorization { charge_id })
    }

    pub(crate) fn capture(&self, _order_id: OrderId, charge_id: &str) -> Result<(), GatewayError> {
        let mut charges = self.lock();
        let charge = known(&mut charges, charge_id, TestCharge::Authorized);
        match *charge {
            TestCharge::Authorized | TestCharge::Captured => {
                *charge = TestCharge::Captured;
                Ok(())
            }
            state => Err(GatewayError::Invalid(format!(
                "charge {charge_id} is {state:?} and cannot be captured"
            ))),
        }
    }

    pub(crate) fn void(&self, _order_id: OrderId, charge_id: &str) -> Result<(), GatewayError> {
        let mut charges = self.lock();
        let charge = known(&mut charges, charge_id, TestCharge::Authorized);
        *charge = match *charge {
            TestCharge::Authorized | TestCharge::Voided => TestCharge::Voided,
            TestCharge::Captured | TestCharge::Refunded => TestCharge::Refunded,
        };
        Ok(())
    }

    pub(crate) fn refund(&self, _order_id: OrderId, charge_id: &str) -> Result<(), GatewayError> {
        let mut charges = self.lock();
        let charge = known(&mut charges, charge_id, TestCharge::Captured);
        match *charge {
            TestCharge::Captured | TestCharge::Refunded => {
                *charge = TestCharge::Refunded;
                Ok(())
            }
            state => Err(GatewayError::Invalid(format!(
                "charge {charge_id} is {state:?} and cannot be refunded"
            ))),
        }
    }

    /// Where a charge stands; `None` for a charge this gateway never made.
    pub fn charge(&self, charge_id: &str) -> Option<TestCharge> {
        self.lock().get(charge_id).copied()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, TestCharge>> {
        self.charges.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A charge's state; one made before a restart (the state lives in memory, and test mode moves
/// no money) is taken to be `otherwise`, so that the reconciler can finish it.
fn known<'a>(
    charges: &'a mut HashMap<String, TestCharge>,
    charge_id: &str,
    otherwise: TestCharge,
) -> &'a mut TestCharge {
    charges.entry(charge_id.to_owned()).or_insert(otherwise)
}
