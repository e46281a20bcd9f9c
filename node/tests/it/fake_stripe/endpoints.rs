//! The fake Stripe's endpoints: creating, capturing and cancelling a PaymentIntent, refunding
//! one, and reading Stripe's form-encoded bodies. Each changes the fake's state under its lock and
//! answers what Stripe would.

use std::collections::{BTreeMap, HashMap};

use axum::http::StatusCode;
use serde_json::json;

use super::{Answer, DECLINED_TOKEN, Fake, Intent, error, no_such_intent, unexpected_state};
/// `POST /v1/payment_intents` with `confirm=true`: confirms the card at once.
pub(super) fn create_intent(fake: &mut Fake, form: &HashMap<String, String>) -> Answer {
    let Some(amount) = form
        .get("amount")
        .and_then(|amount| amount.parse::<i64>().ok())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_missing"),
            "Missing required param: amount.",
        );
    };
    if amount < 1 {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_invalid_integer"),
            "This value must be greater than or equal to 1.",
        );
    }
    let Some(currency) = form.get("currency").cloned() else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_missing"),
            "Missing required param: currency.",
        );
    };
    let token = form
        .get("payment_method_data[card][token]")
        .or_else(|| form.get("payment_method"))
        .cloned();
    let Some(token) = token else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_missing"),
            "Missing a payment method: payment_method_data[card][token].",
        );
    };
    if !token.starts_with("tok_") {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("resource_missing"),
            &format!("No such token: '{token}'"),
        );
    }
    let metadata = form
        .iter()
        .filter_map(|(name, value)| {
            let key = name.strip_prefix("metadata[")?.strip_suffix(']')?;
            Some((key.to_owned(), value.clone()))
        })
        .collect();
    let capture_method = form
        .get("capture_method")
        .cloned()
        .unwrap_or_else(|| "automatic".into());
    let confirmed = form.get("confirm").is_some_and(|confirm| confirm == "true");
    let declined = confirmed && (token.starts_with(DECLINED_TOKEN) || fake.decline_next > 0);
    if confirmed && !token.starts_with(DECLINED_TOKEN) {
        fake.decline_next = fake.decline_next.saturating_sub(1);
    }

    let created = fake.next_created();
    let id = format!("pi_{}", fake.intents.len() + 1);
    let status = match (confirmed, declined, capture_method.as_str()) {
        (false, _, _) => "requires_confirmation",
        (true, true, _) => "requires_payment_method",
        (true, false, "manual") => "requires_capture",
        (true, false, _) => "succeeded",
    };
    let mut intent = Intent {
        id: id.clone(),
        amount,
        currency,
        metadata,
        capture_method,
        status,
        created,
        canceled_at: None,
        refunded: 0,
        last_payment_error: None,
    };
    let answer = if declined {
        let decline = json!({
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "generic_decline",
            "message": "Your card was declined.",
        });
        intent.last_payment_error = Some(decline.clone());
        let mut body = json!({ "error": decline });
        body["error"]["payment_intent"] = intent.to_json();
        (StatusCode::PAYMENT_REQUIRED, body)
    } else {
        (StatusCode::OK, intent.to_json())
    };
    fake.intents.insert(id, intent);
    answer
}

/// `POST /v1/payment_intents/:id/capture`.
pub(super) fn capture(fake: &mut Fake, id: &str) -> Answer {
    let Some(intent) = fake.intents.get_mut(id) else {
        return no_such_intent(id);
    };
    if intent.status != "requires_capture" {
        let message = format!(
            "This PaymentIntent could not be captured because it has a status of {}. Only a \
             PaymentIntent with one of the following statuses may be captured: requires_capture.",
            intent.status
        );
        return unexpected_state(intent, message);
    }
    intent.status = "succeeded";
    fake.captures += 1;
    (StatusCode::OK, intent.to_json())
}

/// `POST /v1/payment_intents/:id/cancel`.
pub(super) fn cancel(fake: &mut Fake, id: &str) -> Answer {
    let created = fake.next_created();
    let Some(intent) = fake.intents.get_mut(id) else {
        return no_such_intent(id);
    };
    let cancelable = [
        "requires_payment_method",
        "requires_confirmation",
        "requires_capture",
    ];
    if !cancelable.contains(&intent.status) {
        let message = format!(
            "You cannot cancel this PaymentIntent because it has a status of {}. Only a \
             PaymentIntent with one of the following statuses may be canceled: {}.",
            intent.status,
            cancelable.join(", ")
        );
        return unexpected_state(intent, message);
    }
    intent.status = "canceled";
    intent.canceled_at = Some(created);
    fake.cancels += 1;
    (StatusCode::OK, intent.to_json())
}

/// `POST /v1/refunds` for a `payment_intent`, in full unless `amount` says otherwise.
pub(super) fn refund(fake: &mut Fake, form: &HashMap<String, String>) -> Answer {
    let Some(id) = form.get("payment_intent") else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_missing"),
            "Missing required param: payment_intent (the fake refunds PaymentIntents only).",
        );
    };
    let created = fake.next_created();
    let refund_id = format!("re_{}", fake.refunds.len() + 1);
    let Some(intent) = fake.intents.get_mut(id) else {
        return no_such_intent(id);
    };
    if intent.status != "succeeded" {
        return unexpected_state(
            intent,
            format!(
                "This PaymentIntent ({id}) does not have a successful charge to refund (status {}).",
                intent.status
            ),
        );
    }
    let left = intent.amount - intent.refunded;
    if left <= 0 {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("charge_already_refunded"),
            &format!("Charge for PaymentIntent {id} has already been refunded."),
        );
    }
    let amount = match form.get("amount").map(|amount| amount.parse::<i64>()) {
        None => left,
        Some(Ok(amount)) if (1..=left).contains(&amount) => amount,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                Some("amount_too_large"),
                "Refund amount is greater than the unrefunded amount.",
            );
        }
    };
    intent.refunded += amount;
    let metadata: BTreeMap<&str, &str> = form
        .iter()
        .filter_map(|(name, value)| {
            Some((
                name.strip_prefix("metadata[")?.strip_suffix(']')?,
                value.as_str(),
            ))
        })
        .collect();
    let json = json!({
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": null,
        "charge": null,
        "created": created,
        "currency": intent.currency,
        "metadata": metadata,
        "payment_intent": intent.id,
        "reason": null,
        "receipt_number": null,
        "source_transfer_reversal": null,
        "status": "succeeded",
        "transfer_reversal": null,
    });
    fake.refunds.push(refund_id);
    (StatusCode::OK, json)
}

/// Decodes an `application/x-www-form-urlencoded` body (keys keep their brackets: `a[b]`).
pub(super) fn parse_form(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 3 <= bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
