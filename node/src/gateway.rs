//! Payment gateways: what takes a buyer's money for an order.
//!
//! A payment is two steps so that money follows the lock: `authorize` reserves the amount on the
//! card (idempotent per order and card), then the node decides, atomically with the order's state,
//! whether the order still holds its ticket. If it does the node calls `capture`; if not it calls
//! `void`, which gives the money back (cancels the authorization, or refunds if it had been
//! captured). Capture, void and refund are idempotent per PaymentIntent.

pub mod reachability;
pub mod stripe;
pub mod test_mode;

use tix_core::ids::OrderId;

pub use self::reachability::Reachability;
pub use self::stripe::StripeGateway;
pub use self::test_mode::{TestCharge, TestGateway};

/// What to charge, for which order. The order id is the idempotency key.
#[derive(Debug, Clone)]
pub struct ChargeRequest {
    pub order_id: OrderId,
    /// Amount in the currency's smallest unit (cents).
    pub amount_cents: i64,
    /// ISO currency code in lowercase, e.g. "usd".
    pub currency: String,
    /// The token the client obtained from Stripe (e.g. `tok_visa`).
    pub token: String,
}

/// An authorization that holds the buyer's money until captured or voided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The gateway's id for the charge (a PaymentIntent id for Stripe).
    pub charge_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The card was declined; the message is fit to show the buyer.
    #[error("{0}")]
    Declined(String),
    /// The request was refused as invalid (bad token, bad amount); fit to show the buyer.
    #[error("{0}")]
    Invalid(String),
    /// The gateway could not be reached or failed; nothing is known to have been charged.
    #[error("payment gateway unavailable: {0}")]
    Unavailable(String),
}

/// The gateway a node uses, chosen at start-up.
pub enum Gateway {
    Test(TestGateway),
    Stripe(StripeGateway),
}

impl Gateway {
    /// "test" or "stripe", for logs and `/healthz`.
    pub fn mode(&self) -> &'static str {
        match self {
            Gateway::Test(_) => "test",
            Gateway::Stripe(_) => "stripe",
        }
    }

    pub async fn authorize(&self, request: &ChargeRequest) -> Result<Authorization, GatewayError> {
        match self {
            Gateway::Test(gateway) => gateway.authorize(request),
            Gateway::Stripe(gateway) => gateway.observed(gateway.authorize(request).await),
        }
    }

    pub async fn capture(&self, order_id: OrderId, charge_id: &str) -> Result<(), GatewayError> {
        match self {
            Gateway::Test(gateway) => gateway.capture(order_id, charge_id),
            Gateway::Stripe(gateway) => gateway.observed(gateway.capture(charge_id).await),
        }
    }

    pub async fn void(&self, order_id: OrderId, charge_id: &str) -> Result<(), GatewayError> {
        match self {
            Gateway::Test(gateway) => gateway.void(order_id, charge_id),
            Gateway::Stripe(gateway) => gateway.observed(gateway.void(order_id, charge_id).await),
        }
    }

    /// Gives a captured charge's money back in full (idempotent per PaymentIntent).
    pub async fn refund(&self, order_id: OrderId, charge_id: &str) -> Result<(), GatewayError> {
        match self {
            Gateway::Test(gateway) => gateway.refund(order_id, charge_id),
            Gateway::Stripe(gateway) => gateway.observed(gateway.refund(order_id, charge_id).await),
        }
    }

    /// Whether the gateway answered lately: the test gateway always does; Stripe's is what its
    /// last call or probe found (`None` before either).
    pub fn reachable(&self) -> Option<bool> {
        match self {
            Gateway::Test(_) => Some(true),
            Gateway::Stripe(gateway) => gateway.reachability.reachable(),
        }
    }

    /// Starts a probe of the gateway in the background when the last word on it is older than
    /// `max_age` (none for the test gateway, which is always there).
    pub fn refresh_reachability(self: &std::sync::Arc<Self>, max_age: std::time::Duration) {
        let Gateway::Stripe(gateway) = &**self else {
            return;
        };
        if !gateway.reachability.begin_probe_if_older_than(max_age) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            if let Gateway::Stripe(gateway) = &*this {
                gateway.probe().await;
            }
        });
    }
}
