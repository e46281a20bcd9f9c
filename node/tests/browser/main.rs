//! The storefront in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`)
//! against real `tix-node` processes on loopback ports. Screenshots of the main pages are saved
//! under `artifacts/screenshots/`.

mod accessibility;
mod door;
mod journeys;
mod kiosk;
mod live;
mod manage;
mod seats;
mod storefront;

/// The node under test: this build's.
pub(crate) const NODE: &str = env!("CARGO_BIN_EXE_tix-node");

/// A node whose first account is staff (it puts shows on sale and works the door).
pub(crate) fn staff_first_node(dir: &tempfile::TempDir) -> tix_tests::client::Node {
    tix_tests::client::Node::start(
        NODE,
        dir,
        tix_tests::client::NodeOptions {
            env: vec![("TIX_FIRST_USER_IS_STAFF".into(), "1".into())],
            ..Default::default()
        },
    )
}
