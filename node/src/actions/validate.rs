//! The seed's validators with their exact messages, shared by every action: fields collected in
//! the order the seed's chains run them, emails, positive prices, ids.

use serde_json::{Map, Value};

use super::error::{ApiError, FieldError};

/// Parses an id from a path or body; a malformed one is the seed's CastError (400).
pub(crate) fn parse_id<T: std::str::FromStr>(text: &str) -> Result<T, ApiError> {
    text.parse().map_err(|_| ApiError::Malformed)
}

/// Collects validator failures in the order the seed's chains run them.
#[derive(Default)]
pub(crate) struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub(crate) fn fail(&mut self, field: &str, message: &str) {
        self.errors.push(FieldError {
            message: message.to_owned(),
            field: Some(field.to_owned()),
        });
    }

    /// Passes `value` through, recording `message` for `field` when it is missing.
    pub(crate) fn require<T>(&mut self, value: Option<T>, field: &str, message: &str) -> Option<T> {
        if value.is_none() {
            self.fail(field, message);
        }
        value
    }

    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// A field's value as a string, if it is one.
pub(crate) fn string<'a>(body: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Value::as_str)
}

/// validator.js `isFloat({gt: 0})` on a JSON number or numeric string, finite and positive.
pub(crate) fn positive_number(value: Option<&Value>) -> Option<f64> {
    let number = match value? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => {
            let s = s.trim();
            let numeric = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
                && s.chars().any(|c| c.is_ascii_digit());
            if !numeric {
                return None;
            }
            s.parse::<f64>().ok()?
        }
        _ => return None,
    };
    (number.is_finite() && number > 0.0).then_some(number)
}

/// A pragmatic `isEmail`: one `@`, a plausible local part, and a dotted domain with a letter TLD.
pub(crate) fn is_email(text: &str) -> bool {
    if text.len() > 254 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    if local.is_empty()
        || local.len() > 64
        || local.contains('@')
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
    {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(char::is_alphabetic))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn emails_are_checked_like_the_seed_does() {
        for good in ["test@test.com", "a.b+c@sub.example.org", "ü@exämple.de"] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "",
            "test",
            "test@",
            "@test.com",
            "a@b",
            "a b@c.com",
            "a@@b.com",
            "a@b.c",
            "a@-b.com",
            "a..b@c.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn prices_accept_positive_numbers_and_numeric_strings() {
        assert_eq!(positive_number(Some(&json!(20))), Some(20.0));
        assert_eq!(positive_number(Some(&json!("20.00"))), Some(20.0));
        assert_eq!(positive_number(Some(&json!(" 1e2 "))), Some(100.0));
        for bad in [
            json!(0),
            json!(-5),
            json!("abc"),
            json!(""),
            json!("inf"),
            json!("NaN"),
            json!(null),
            json!([1]),
            json!("1e999"),
        ] {
            assert_eq!(positive_number(Some(&bad)), None, "{bad}");
        }
        assert_eq!(positive_number(None), None);
    }

    proptest::proptest! {
        #[test]
        fn any_id_text_is_an_id_or_the_cast_error(text in "\\PC{0,30}|[0-9a-fA-F]{24}") {
            match parse_id::<tix_core::ids::TicketId>(&text) {
                Ok(id) => proptest::prop_assert_eq!(id.to_string(), text.to_lowercase()),
                Err(error) => proptest::prop_assert!(matches!(error, ApiError::Malformed)),
            }
        }

        #[test]
        fn any_price_is_positive_and_finite_or_refused(text in "\\PC{0,20}|-?[0-9.eE+-]{0,20}") {
            if let Some(price) = positive_number(Some(&Value::String(text))) {
                proptest::prop_assert!(price.is_finite() && price > 0.0);
            }
        }
    }
}
