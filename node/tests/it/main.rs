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
mod password_reset;
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

/// Runs `tix-node` with `args` (a task, not a server) within two minutes; whether it succeeded and
/// what it printed (stdout, then stderr).
pub(crate) async fn run_task(args: &[&str]) -> (bool, String) {
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        tokio::process::Command::new(NODE)
            .args(args)
            .env("RUST_BACKTRACE", "0")
            .output(),
    )
    .await
    .expect("the task ends within two minutes")
    .expect("tix-node runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

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
