//! The test-mode gateway: used when no Stripe key is configured, so a node works out of the box.
//!
//! It accepts Stripe's documented test tokens and moves no money. `tok_chargeDeclined` (and the other
//! decline tokens) is declined as Stripe would decline it. The node says it is in test mode in its
//! log and in `/healthz`.

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

#[derive(Debug, Default)]
pub struct TestGateway;

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
        // Deterministic per order, like an idempotent Stripe request keyed by the order id.
        Ok(Authorization {
            charge_id: format!("pi_test_{}", request.order_id),
        })
    }

    pub(crate) fn capture(&self, _order_id: OrderId, _charge_id: &str) -> Result<(), GatewayError> {
        Ok(())
    }

    pub(crate) fn void(&self, _order_id: OrderId, _charge_id: &str) -> Result<(), GatewayError> {
        Ok(())
    }
}
