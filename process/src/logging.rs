//! Logging to stdout, once per process: `json` gives one JSON object a line (what the tests and the
//! load generator read, e.g. the "serving" line), `text` human-readable lines. `RUST_LOG` filters;
//! without it, info and up, and tower_http's warnings only.

use tracing_subscriber::EnvFilter;

/// The filter when `RUST_LOG` is not set.
const DEFAULT_FILTER: &str = "info,tower_http=warn";

/// How log lines are written. A flag of this type refuses any other word (in any case), so that
/// a misspelt `json` does not quietly feed a log collector text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "lower")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

/// Installs the global subscriber for `format`.
pub fn init_logging(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    match format {
        LogFormat::Json => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .json()
            .init(),
        LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter).init(),
    }
}
