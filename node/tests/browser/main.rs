//! The storefront in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`)
//! against real `tix-node` processes on loopback ports. Screenshots of the main pages are saved
//! under `artifacts/screenshots/`.

mod accessibility;
mod axe_source;
mod chrome;
mod journeys;
mod live;

// The node fixture and the JSON client are the integration suite's own.
#[allow(dead_code)]
#[path = "../it/helpers.rs"]
mod helpers;
