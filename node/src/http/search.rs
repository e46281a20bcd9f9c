//! `GET /api/search`: ranked ticket search, in the contract's ticket JSON plus a `score`.
//!
//! Parameters: `q` (what to look for; empty lists everything), `available` (`true` or `false`),
//! `minPrice`, `maxPrice`, `limit` (1-100, default 20), `offset` (0-10000). Anything else wrong is a
//! 400 naming the parameter.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::Value;

use super::tickets::ticket_json;
use crate::actions::{ApiError, FieldError};
use crate::search::{SearchError, SearchRequest};
use crate::state::AppState;

const MAX_QUERY_CHARS: usize = 200;
const MAX_LIMIT: usize = 100;
const MAX_OFFSET: usize = 10_000;

pub(super) async fn search(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let request = parse(&params).map_err(ApiError::Validation)?;
    let Some(search) = state.search.clone() else {
        return Err(ApiError::Unavailable("Search is turned off on this node"));
    };
    let hits = search.query(request).await.map_err(|e| match e {
        SearchError::WarmingUp => {
            ApiError::Unavailable("Search is warming up; try again in a moment")
        }
        SearchError::Stopping => ApiError::Unavailable("The node is shutting down"),
        SearchError::Index(detail) => ApiError::Internal(detail),
    })?;
    let (hits, took) = hits;
    let hits: Vec<Value> = hits
        .into_iter()
        .map(|hit| {
            let mut json = ticket_json(&hit.ticket);
            json["score"] = Value::from(hit.score);
            json
        })
        .collect();
    // How long the query itself took, for browsers' dev tools and the benchmark.
    let timing = format!("search;dur={:.3}", took.as_secs_f64() * 1000.0);
    Ok((
        [(header::HeaderName::from_static("server-timing"), timing)],
        Json(hits),
    ))
}

fn parse(params: &HashMap<String, String>) -> Result<SearchRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut fail = |field: &str, message: &str| {
        errors.push(FieldError {
            message: message.to_owned(),
            field: Some(field.to_owned()),
        })
    };
    let text = params.get("q").cloned().unwrap_or_default();
    if text.chars().count() > MAX_QUERY_CHARS {
        fail("q", "Search text must be at most 200 characters");
    }
    let available_only = match params.get("available").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            fail("available", "available must be true or false");
            false
        }
    };
    let mut price = |name: &str| match params.get(name) {
        None => None,
        Some(text) => match text.parse::<f64>() {
            Ok(p) if p.is_finite() && p >= 0.0 => Some(p),
            _ => {
                fail(name, &format!("{name} must be a number from 0"));
                None
            }
        },
    };
    let min_price = price("minPrice");
    let max_price = price("maxPrice");
    let mut count =
        |name: &str, default: usize, range: std::ops::RangeInclusive<usize>| match params.get(name)
        {
            None => default,
            Some(text) => match text.parse::<usize>() {
                Ok(n) if range.contains(&n) => n,
                _ => {
                    fail(
                        name,
                        &format!(
                            "{name} must be a whole number from {} to {}",
                            range.start(),
                            range.end()
                        ),
                    );
                    default
                }
            },
        };
    let limit = count("limit", 20, 1..=MAX_LIMIT);
    let offset = count("offset", 0, 0..=MAX_OFFSET);
    if let (Some(min), Some(max)) = (min_price, max_price)
        && min > max
    {
        fail("minPrice", "minPrice must not be above maxPrice");
    }
    if errors.is_empty() {
        Ok(SearchRequest {
            text,
            available_only,
            min_price,
            max_price,
            limit,
            offset,
        })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::{MAX_LIMIT, MAX_OFFSET, parse};

    fn params() -> impl Strategy<Value = HashMap<String, String>> {
        let key = prop_oneof![
            Just("q".to_owned()),
            Just("available".to_owned()),
            Just("minPrice".to_owned()),
            Just("maxPrice".to_owned()),
            Just("limit".to_owned()),
            Just("offset".to_owned()),
            "\\PC{0,8}",
        ];
        let value = prop_oneof![
            "\\PC{0,24}",
            "-?[0-9]{0,30}(\\.[0-9]{0,5})?(e[+-]?[0-9]{1,4})?",
            Just("NaN".to_owned()),
            Just("inf".to_owned()),
        ];
        proptest::collection::hash_map(key, value, 0..8)
    }

    proptest! {
        #[test]
        fn any_parameters_are_a_bounded_request_or_named_errors(params in params()) {
            match parse(&params) {
                Ok(request) => {
                    prop_assert!((1..=MAX_LIMIT).contains(&request.limit));
                    prop_assert!(request.offset <= MAX_OFFSET);
                    for price in [request.min_price, request.max_price].into_iter().flatten() {
                        prop_assert!(price.is_finite() && price >= 0.0);
                    }
                }
                Err(errors) => {
                    prop_assert!(!errors.is_empty());
                    prop_assert!(errors.iter().all(|e| e.field.is_some()));
                }
            }
        }
    }
}
