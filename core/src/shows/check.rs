//! Reading a request's fields into checked values, collecting every problem with the field it is
//! about instead of stopping at the first.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::events::Category;
use crate::time::Millis;

/// The longest name (of a category, area, section, row, seat, performer or flag).
pub(super) const MAX_NAME: usize = 120;
/// The highest price, so that every total can be charged.
const MAX_PRICE: f64 = 999_999.99;

/// One thing wrong with a request, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

/// Collects problems while reading a request.
#[derive(Default)]
pub(super) struct Check {
    problems: Vec<Problem>,
}

impl Check {
    pub(super) fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            field: field.into(),
            message: message.into(),
        });
    }

    pub(super) fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    pub(super) fn finish<T>(self, value: T) -> Result<T, Vec<Problem>> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            Err(self.problems)
        }
    }

    /// An optional string of at most `max` characters.
    pub(super) fn text(
        &mut self,
        body: &Map<String, Value>,
        field: &str,
        max: usize,
    ) -> Option<String> {
        match body.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.chars().count() > max => {
                self.fail(field, format!("must be at most {max} characters"));
                None
            }
            Some(Value::String(s)) => Some(s.trim().to_owned()),
            Some(_) => {
                self.fail(field, "must be a string");
                None
            }
        }
    }

    /// A required, non-empty name of at most `MAX_NAME` characters.
    pub(super) fn name(&mut self, value: Option<&Value>, field: &str) -> Option<String> {
        match value {
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.fail(field, "must not be empty");
                None
            }
            Some(Value::String(s)) if s.chars().count() > MAX_NAME => {
                self.fail(field, format!("must be at most {MAX_NAME} characters"));
                None
            }
            Some(Value::String(s)) => Some(s.trim().to_owned()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => {
                self.fail(field, "is required");
                None
            }
        }
    }

    /// An optional instant in RFC 3339 form.
    pub(super) fn instant(&mut self, body: &Map<String, Value>, field: &str) -> Option<Millis> {
        let text = self.text(body, field, 64)?;
        let at = Millis::parse_iso(&text);
        if at.is_none() {
            self.fail(
                field,
                "must be a date and time such as 2026-12-04T20:00:00Z",
            );
        }
        at
    }

    /// A whole number in `1..=max`, or `None` when absent.
    pub(super) fn count(&mut self, value: Option<&Value>, field: &str, max: u32) -> Option<u32> {
        match value {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64() {
                Some(n) if (1..=u64::from(max)).contains(&n) => Some(n as u32),
                _ => {
                    self.fail(field, format!("must be a whole number from 1 to {max}"));
                    None
                }
            },
        }
    }

    pub(super) fn number(&mut self, value: Option<&Value>, field: &str) -> Option<f64> {
        match value.and_then(Value::as_f64) {
            Some(n) if n.is_finite() && n.abs() <= 1e9 => Some(n),
            _ => {
                self.fail(field, "must be a number");
                None
            }
        }
    }

    /// A price: a number or a decimal string, above 0, in whole cents.
    pub(super) fn price(&mut self, value: Option<&Value>, field: &str) -> Option<f64> {
        let parsed = match value {
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            Some(Value::Number(n)) => n.as_f64(),
            _ => None,
        };
        match parsed {
            Some(p) if p.is_finite() && p > 0.0 && p <= MAX_PRICE => {
                let cents = (p * 100.0).round();
                if (p * 100.0 - cents).abs() > 1e-6 {
                    self.fail(field, "must be in whole cents");
                    None
                } else {
                    Some(cents / 100.0)
                }
            }
            _ => {
                self.fail(
                    field,
                    format!("must be a price above 0 and at most {MAX_PRICE}"),
                );
                None
            }
        }
    }

    pub(super) fn array<'v>(&mut self, value: Option<&'v Value>, field: &str) -> &'v [Value] {
        match value {
            None | Some(Value::Null) => &[],
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.fail(field, "must be a list");
                &[]
            }
        }
    }

    pub(super) fn object<'v>(
        &mut self,
        value: &'v Value,
        field: &str,
    ) -> Option<&'v Map<String, Value>> {
        let object = value.as_object();
        if object.is_none() {
            self.fail(field, "must be an object");
        }
        object
    }
}

/// Category names and their indexes, for resolving the names seats and areas use.
pub(super) struct Categories<'a>(HashMap<&'a str, u16>);

impl<'a> Categories<'a> {
    pub(super) fn new(list: &'a [Category]) -> Categories<'a> {
        Categories(
            list.iter()
                .enumerate()
                .map(|(i, c)| (c.name.as_str(), i as u16))
                .collect(),
        )
    }

    pub(super) fn resolve(
        &self,
        check: &mut Check,
        value: Option<&Value>,
        field: &str,
    ) -> Option<u16> {
        let name = check.name(value, field)?;
        let index = self.0.get(name.as_str()).copied();
        if index.is_none() {
            check.fail(field, format!("names no category of the show: {name:?}"));
        }
        index
    }
}
