//! Integration tests of the venue node, one binary: real `tix-node` processes on loopback ports,
//! each with its own data dir, driven over HTTP.

mod backup;
mod bad_input;
mod box_office;
mod concurrency;
mod door;
mod edge_dates;
mod email;
mod expiry;
mod fake_stripe;
mod metrics;
mod orders;
mod passes;
mod payment_crashes;
mod payments;
mod search;
mod show_pages;
mod show_rush;
mod shows;
mod sign_in_abuse;
mod slow_clients;
mod storefront;
mod stripe_gateway;
mod stripe_node;
mod ticket_list;
mod tickets;
mod upgrade;
mod users;
mod visitor;

/// The node under test: this build's.
pub(crate) const NODE: &str = env!("CARGO_BIN_EXE_tix-node");

/// A standalone box office's node: its first account is staff.
pub(crate) fn standalone(dir: &tempfile::TempDir) -> tix_tests::client::Node {
    tix_tests::client::Node::start(
        NODE,
        dir,
        tix_tests::client::NodeOptions {
            env: vec![("TIX_FIRST_USER_IS_STAFF".into(), "1".into())],
            ..Default::default()
        },
    )
}
