//! The Tix hub: follows every venue's event stream over MQTT, applies each event exactly once into
//! SQLite, acknowledges what it stored, and serves the chain's view to its operators.

pub mod app;
pub mod backup;
pub mod config;
pub mod console;
pub mod db;
pub mod http;
pub mod ingest;
pub mod ledger;
pub mod link;
pub mod membership;
pub mod metrics;
pub mod migrate;
mod projection;
pub mod replay;
pub mod schema;
#[cfg(test)]
mod testing;
pub mod views;
