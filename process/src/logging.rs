//! Logging to stdout, once per process: `json` gives one JSON object a line (what the tests and the
//! load generator read, e.g. the "serving" line), anything else human-readable text. `RUST_LOG`
//! filters; without it, info and up, and tower_http's warnings only.

use tracing_subscriber::EnvFilter;

/// The filter when `RUST_LOG` is not set.
const DEFAULT_FILTER: &str = "info,tower_http=warn";

/// Installs the global subscriber for `format` (`text` or `json`).
pub fn init_logging(format: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    if format == "json" {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .json()
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
}
