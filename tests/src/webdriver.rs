//! WebDriver sessions through fantoccini: headless Chromium behind chromedriver (the storefront),
//! the box office's WebKit window behind tauri-driver, the same `Page` helpers for both, and
//! axe-core's accessibility run.

pub mod axe;
pub mod chromium;
pub mod page;
pub mod tauri;

pub use page::Page;
