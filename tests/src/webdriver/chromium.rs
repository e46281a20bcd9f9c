//! Headless Chromium (Debian's `chromium` and `chromium-driver`): one chromedriver per test on a
//! free loopback port, in its own process group so that dropping it ends every browser it started;
//! each browser with its own profile directory, removed with it.

use std::ops::Deref;
use std::process::Command;
use std::time::Duration;

use fantoccini::ClientBuilder;
use serde_json::json;

use crate::ports::{free_port, wait_for_port};
use crate::process::Process;
use crate::webdriver::Page;

/// How long a storefront test waits for a page to change by itself before it fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A running chromedriver.
pub struct Driver {
    url: String,
    profiles: tempfile::TempDir,
    _process: Process,
}

/// Whether the browser runs JavaScript.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scripts {
    On,
    Off,
}

impl Driver {
    pub async fn start() -> Driver {
        let port = free_port();
        let mut command = Command::new(chromedriver());
        command.arg(format!("--port={port}"));
        let process = Process::spawn(command, "chromedriver")
            .unwrap_or_else(|e| panic!("{e:#} (scripts/test.sh installs chromium-driver)"));
        wait_for_port(port, "chromedriver", Duration::from_secs(20)).await;
        Driver {
            url: format!("http://127.0.0.1:{port}"),
            profiles: tempfile::tempdir().expect("a temp dir for browser profiles"),
            _process: process,
        }
    }

    /// A new headless browser window of `width` × `height`, with or without JavaScript.
    pub async fn browser(&self, scripts: Scripts, width: u32, height: u32) -> Browser {
        let profile = tempfile::tempdir_in(self.profiles.path()).expect("a browser profile dir");
        let mut options = json!({
            "binary": chromium(),
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions",
                format!("--window-size={width},{height}"),
                format!("--user-data-dir={}", profile.path().display()),
            ],
        });
        if scripts == Scripts::Off {
            options["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".into(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a chromium session");
        Browser {
            page: Page {
                client,
                patience: PATIENCE,
            },
            _profile: profile,
        }
    }
}

/// chromedriver: `TIX_CHROMEDRIVER`, or the one on `PATH`.
fn chromedriver() -> String {
    std::env::var("TIX_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into())
}

/// The browser: `TIX_CHROMIUM`, or Debian's.
fn chromium() -> String {
    std::env::var("TIX_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// One browser window and its profile.
pub struct Browser {
    pub page: Page,
    _profile: tempfile::TempDir,
}

impl Deref for Browser {
    type Target = Page;

    fn deref(&self) -> &Page {
        &self.page
    }
}

impl Browser {
    /// Ends the session (closing its window).
    pub async fn close(self) {
        self.page.close().await;
    }
}
