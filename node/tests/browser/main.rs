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
