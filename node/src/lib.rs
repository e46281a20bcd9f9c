//! The Tix venue node: the seed app's JSON API and a web storefront over five per-service redb
//! stores, one writer that commits in batches, and a scheduler that ends unpaid locks on time.

pub mod actions;
pub mod admission;
pub mod app;
pub mod attempts;
pub mod backup;
pub mod catch_up;
pub mod checkout;
pub mod client;
pub mod clock;
pub mod config;
pub mod deliveries;
pub mod gateway;
pub mod http;
pub mod ids;
pub mod live;
pub mod mail;
pub mod metrics;
pub mod pass_key;
pub mod pass_pdf;
pub mod password;
mod priority;
pub mod relay;
pub mod reset_code;
pub mod scheduler;
pub mod search;
pub mod serve;
pub mod session;
pub mod staff;
pub mod state;
pub mod stores;
#[cfg(test)]
pub(crate) mod test_node;
pub mod web;
pub mod writer;
