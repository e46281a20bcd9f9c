//! The Stripe gateway (placeholder until written).

use tix_core::ids::OrderId;

use super::{Authorization, ChargeRequest, GatewayError};

pub struct StripeGateway;

impl StripeGateway {
    pub(crate) async fn authorize(&self, _request: &ChargeRequest) -> Result<Authorization, GatewayError> {
        Err(GatewayError::Unavailable("not yet".into()))
    }
    pub(crate) async fn capture(&self, _order_id: OrderId, _charge_id: &str) -> Result<(), GatewayError> {
        Err(GatewayError::Unavailable("not yet".into()))
    }
    pub(crate) async fn void(&self, _order_id: OrderId, _charge_id: &str) -> Result<(), GatewayError> {
        Err(GatewayError::Unavailable("not yet".into()))
    }
}
