//! End-to-end sync tests: real Mosquitto, real `tix-hub` and real `tix-node` processes on loopback
//! (and a real PostgreSQL for the hubs that keep their ledger there),
//! faults injected under load, and the same checker after each: nothing lost, nothing doubled. The
//! servers are this workspace's, from the target directory of this test (built there if missing).
//!
//! The scenarios are heavy (several processes each, on a two-core machine), so they run one at a
//! time.

mod api;
mod bad_input;
mod catch_up;
mod chain;
mod checker;
mod faults;
mod harness;
mod identity;
mod idle;
mod load;
mod mqtt;
mod postgres;
mod restore;
mod shows;

/// Held by each scenario for its whole run.
pub(crate) static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
