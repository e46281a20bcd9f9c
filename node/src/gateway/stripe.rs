//! The Stripe gateway: takes a buyer's money with Stripe's PaymentIntents API.
//!
//! `authorize` creates and confirms a PaymentIntent with manual capture, so the amount is only held
//! on the card; `capture` settles it; `void` cancels the hold, or refunds if the intent had already
//! been captured. Every write carries an idempotency key, so a retried call never moves money twice:
//! the authorization's is derived from the order and the card token (`order-<id>-authorize-<token>`:
//! one token authorizes one PaymentIntent), and each later step's from the PaymentIntent it acts on
//! (`intent-<pi>-capture`, `-void`, `-refund`), so that every intent of an order can be settled.

use std::collections::HashMap;
use std::time::Duration;

use stripe::{
    ApiErrors, ApiErrorsCode, ApiErrorsType, Client, ClientBuilder, IdempotencyKey,
    RequestStrategy, StripeError, StripeRequest,
};
use stripe_core::payment_intent::{
    CancelPaymentIntent, CapturePaymentIntent, CreatePaymentIntent,
    CreatePaymentIntentAutomaticPaymentMethods,
    CreatePaymentIntentAutomaticPaymentMethodsAllowRedirects, RetrievePaymentIntent,
};
use stripe_core::refund::CreateRefund;
use stripe_core::{PaymentIntent, PaymentIntentCaptureMethod, PaymentIntentStatus};
use stripe_types::Currency;
use tix_core::ids::OrderId;

use super::{Authorization, ChargeRequest, GatewayError};

/// What the buyer is told when Stripe declines a card without saying why.
const DECLINED: &str = "Your card was declined.";

/// How long one HTTP attempt to Stripe may take before the gateway gives up on it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a reachability probe waits for Stripe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// A payment gateway backed by a Stripe account.
#[derive(Debug, Clone)]
pub struct StripeGateway {
    /// Boxed: the client is large, and it sits in a variant of `Gateway`.
    client: Box<Client>,
    /// What the last call or probe found.
    pub(crate) reachability: std::sync::Arc<super::Reachability>,
}

impl StripeGateway {
    /// A gateway using the secret key `secret_key`; `api_base` replaces `https://api.stripe.com/`
    /// (tests point it at a fake server).
    pub fn new(secret_key: &str, api_base: Option<&str>) -> Result<StripeGateway, GatewayError> {
        let mut builder = ClientBuilder::new(secret_key)
            .timeout(REQUEST_TIMEOUT)
            .app_info("tix-node", Some(env!("CARGO_PKG_VERSION").to_owned()), None);
        if let Some(base) = api_base {
            // The client appends `v1/...` to the base as is, so the base must end with a slash.
            let base = if base.ends_with('/') {
                base.to_owned()
            } else {
                format!("{base}/")
            };
            builder = builder.url(base);
        }
        let client = builder
            .build()
            .map_err(|err| GatewayError::Invalid(format!("invalid Stripe configuration: {err}")))?;
        Ok(StripeGateway {
            client: Box::new(client),
            reachability: Default::default(),
        })
    }

    /// Holds `amount_cents` on the card behind the request's token: a confirmed PaymentIntent with
    /// manual capture. The same order always gets the same PaymentIntent (idempotency key).
    pub(crate) async fn authorize(
        &self,
        request: &ChargeRequest,
    ) -> Result<Authorization, GatewayError> {
        let Ok(currency) = request.currency.parse::<Currency>();
        let metadata = HashMap::from([("order_id".to_owned(), request.order_id.to_string())]);
        let create = CreatePaymentIntent::new(request.amount_cents, currency)
            .capture_method(PaymentIntentCaptureMethod::Manual)
            .confirm(true)
            // Nobody is there to complete 3-D Secure: fail such a card at once, as a card error.
            .error_on_requires_action(true)
            .automatic_payment_methods(CreatePaymentIntentAutomaticPaymentMethods {
                allow_redirects: Some(
                    CreatePaymentIntentAutomaticPaymentMethodsAllowRedirects::Never,
                ),
                enabled: true,
            })
            .metadata(metadata);

        // The card is a legacy token (`tok_...`) from Stripe.js. Stripe takes it on a PaymentIntent
        // as `payment_method_data[type]=card&payment_method_data[card][token]=...`, but the generated
        // `CreatePaymentIntentPaymentMethodData` has no `card` variant (raw card data is not meant to
        // pass through servers), so those two fields are appended to the typed request's form body.
        let mut built = create.build();
        let form = built.body.get_or_insert_with(String::new);
        if !form.is_empty() {
            form.push('&');
        }
        form.push_str(
            "payment_method_data%5Btype%5D=card&payment_method_data%5Bcard%5D%5Btoken%5D=",
        );
        form.push_str(&form_encode(&request.token));

        let intent = built
            .customize::<PaymentIntent>()
            .request_strategy(idempotent(
                request.order_id,
                &authorize_step(&request.token),
            )?)
            .send(&*self.client)
            .await
            .map_err(gateway_error)?;
        match intent.status {
            PaymentIntentStatus::RequiresCapture => {
                Ok(Authorization { charge_id: intent.id.as_str().to_owned() })
            }
            PaymentIntentStatus::RequiresPaymentMethod => Err(GatewayError::Declined(
                intent
                    .last_payment_error
                    .and_then(|error| error.message)
                    .unwrap_or_else(|| DECLINED.to_owned()),
            )),
            PaymentIntentStatus::RequiresAction => Err(GatewayError::Declined(
                "This card needs authentication, which is not supported here; please use another card."
                    .to_owned(),
            )),
            status => Err(GatewayError::Unavailable(format!(
                "Stripe left PaymentIntent {} in status {}",
                intent.id,
                status.as_str()
            ))),
        }
    }

    /// Settles an authorization. An intent that is already captured counts as captured.
    pub(crate) async fn capture(&self, charge_id: &str) -> Result<(), GatewayError> {
        let result = CapturePaymentIntent::new(charge_id)
            .customize()
            .request_strategy(idempotent_for_intent(charge_id, "capture")?)
            .send(&*self.client)
            .await;
        let status = match result {
            Ok(intent) => intent.status,
            Err(StripeError::Stripe(error, _)) if unexpected_state(&error) => {
                match self.status_of(charge_id, &error).await? {
                    PaymentIntentStatus::Succeeded => return Ok(()),
                    _ => return Err(GatewayError::Invalid(message_of(&error))),
                }
            }
            Err(err) => return Err(gateway_error(err)),
        };
        match status {
            PaymentIntentStatus::Succeeded => Ok(()),
            status => Err(GatewayError::Unavailable(format!(
                "capture left PaymentIntent {charge_id} in status {}",
                status.as_str()
            ))),
        }
    }

    /// Gives the money back: cancels the authorization, or refunds the payment if the intent turns
    /// out to have been captured. An intent that is already canceled counts as voided.
    pub(crate) async fn void(
        &self,
        order_id: OrderId,
        charge_id: &str,
    ) -> Result<(), GatewayError> {
        let result = CancelPaymentIntent::new(charge_id)
            .customize()
            .request_strategy(idempotent_for_intent(charge_id, "void")?)
            .send(&*self.client)
            .await;
        let status = match result {
            Ok(intent) => intent.status,
            Err(StripeError::Stripe(error, _)) if unexpected_state(&error) => {
                match self.status_of(charge_id, &error).await? {
                    status @ (PaymentIntentStatus::Canceled | PaymentIntentStatus::Succeeded) => {
                        status
                    }
                    _ => return Err(GatewayError::Invalid(message_of(&error))),
                }
            }
            Err(err) => return Err(gateway_error(err)),
        };
        match status {
            PaymentIntentStatus::Canceled => Ok(()),
            PaymentIntentStatus::Succeeded => self.refund(order_id, charge_id).await,
            status => Err(GatewayError::Unavailable(format!(
                "cancel left PaymentIntent {charge_id} in status {}",
                status.as_str()
            ))),
        }
    }

    /// Refunds a captured PaymentIntent in full. A payment already refunded counts as refunded.
    /// Notes whether a call's outcome shows Stripe reachable, and passes it on.
    pub(crate) fn observed<T>(&self, result: Result<T, GatewayError>) -> Result<T, GatewayError> {
        self.reachability
            .record(!matches!(result, Err(GatewayError::Unavailable(_))));
        result
    }

    /// Asks Stripe for a PaymentIntent that does not exist: any answer from Stripe (a 404 included)
    /// shows it reachable; a timeout, a refused connection or a 5xx does not.
    pub(crate) async fn probe(&self) {
        let retrieve = RetrievePaymentIntent::new("pi_tix_reachability_probe");
        let call = retrieve.send(&*self.client);
        let reachable = match tokio::time::timeout(PROBE_TIMEOUT, call).await {
            Ok(Ok(_)) => true,
            Ok(Err(StripeError::Stripe(_, status))) => status < 500,
            Ok(Err(_)) | Err(_) => false,
        };
        self.reachability.end_probe(reachable);
    }

    pub(crate) async fn refund(
        &self,
        order_id: OrderId,
        charge_id: &str,
    ) -> Result<(), GatewayError> {
        let metadata = HashMap::from([("order_id".to_owned(), order_id.to_string())]);
        let result = CreateRefund::new()
            .payment_intent(charge_id)
            .metadata(metadata)
            .customize()
            .request_strategy(idempotent_for_intent(charge_id, "refund")?)
            .send(&*self.client)
            .await;
        match result {
            Ok(refund) => match refund.status.as_deref() {
                Some(status @ ("failed" | "canceled")) => Err(GatewayError::Unavailable(format!(
                    "refund {} of PaymentIntent {charge_id} is {status}",
                    refund.id
                ))),
                _ => Ok(()),
            },
            Err(StripeError::Stripe(error, _))
                if matches!(error.code, Some(ApiErrorsCode::ChargeAlreadyRefunded)) =>
            {
                Ok(())
            }
            Err(err) => Err(gateway_error(err)),
        }
    }

    /// The current status of a PaymentIntent a request was refused for: from the error if Stripe
    /// enclosed the intent (it usually does), otherwise fetched.
    async fn status_of(
        &self,
        charge_id: &str,
        error: &ApiErrors,
    ) -> Result<PaymentIntentStatus, GatewayError> {
        if let Some(intent) = &error.payment_intent
            && intent.id.as_str() == charge_id
        {
            return Ok(intent.status.clone());
        }
        let intent = RetrievePaymentIntent::new(charge_id)
            .send(&*self.client)
            .await
            .map_err(gateway_error)?;
        Ok(intent.status)
    }
}

/// The authorize step's key names the card token too: a buyer whose card was declined may retry
/// with another card (Stripe replays a key's first answer, decline included, and refuses a key reused
/// with other parameters). Tokens are single-use, so one token still authorizes at most once; the
/// payments store keeps at most one payment per order and the node voids any other authorization.
fn authorize_step(token: &str) -> String {
    let token: String = token
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(180)
        .collect();
    format!("authorize-{token}")
}

/// The request strategy for the authorization of an order: sent once, with the key
/// `order-<id>-<step>` so that Stripe answers a repeated request with the first answer.
fn idempotent(order_id: OrderId, step: &str) -> Result<RequestStrategy, GatewayError> {
    idempotency_key(format!("order-{order_id}-{step}"))
}

/// The request strategy for a step on one PaymentIntent (`intent-<pi>-<step>`): an order with two
/// intents (two cards tried at once) gets each settled under its own key.
fn idempotent_for_intent(charge_id: &str, step: &str) -> Result<RequestStrategy, GatewayError> {
    idempotency_key(format!("intent-{charge_id}-{step}"))
}

fn idempotency_key(key: String) -> Result<RequestStrategy, GatewayError> {
    let key = IdempotencyKey::new(key).map_err(|err| GatewayError::Unavailable(err.to_string()))?;
    Ok(RequestStrategy::Idempotent(key))
}

/// Whether Stripe refused a request because of the PaymentIntent's status.
fn unexpected_state(error: &ApiErrors) -> bool {
    matches!(
        error.code,
        Some(ApiErrorsCode::PaymentIntentUnexpectedState)
    )
}

/// Stripe's message for an error, or its type if it gave none.
fn message_of(error: &ApiErrors) -> String {
    error
        .message
        .clone()
        .unwrap_or_else(|| format!("Stripe {} error", error.type_.as_str()))
}

/// Sorts a failed Stripe call into what the node can act on.
fn gateway_error(err: StripeError) -> GatewayError {
    match err {
        StripeError::Stripe(error, status) => {
            let message = message_of(&error);
            if status >= 500 || matches!(error.type_, ApiErrorsType::ApiError) {
                GatewayError::Unavailable(format!("Stripe answered {status}: {message}"))
            } else if matches!(error.type_, ApiErrorsType::CardError) {
                GatewayError::Declined(error.message.unwrap_or_else(|| DECLINED.to_owned()))
            } else if matches!(status, 401 | 403 | 409 | 429) {
                // Bad key, missing permission, conflicting concurrent request, rate limit: not the
                // buyer's doing, and nothing was charged.
                GatewayError::Unavailable(format!("Stripe answered {status}: {message}"))
            } else {
                GatewayError::Invalid(message)
            }
        }
        StripeError::Timeout => {
            GatewayError::Unavailable("timed out waiting for Stripe".to_owned())
        }
        other => GatewayError::Unavailable(other.to_string()),
    }
}

/// Percent-encodes a value for an `application/x-www-form-urlencoded` body.
fn form_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::form_encode;

    #[test]
    fn form_encode_escapes_everything_but_unreserved() {
        assert_eq!(form_encode("tok_visa"), "tok_visa");
        assert_eq!(form_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
