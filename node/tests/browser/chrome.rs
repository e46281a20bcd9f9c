//! Real headless Chromium driven over WebDriver: one `chromedriver` per test on a free loopback
//! port (killed with every browser it started when the test ends), fantoccini as the client, and
//! helpers for what the storefront tests do again and again.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// A running chromedriver.
pub(crate) struct Driver {
    child: Child,
    url: String,
    profiles: tempfile::TempDir,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scripts {
    On,
    Off,
}

impl Driver {
    pub(crate) async fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that dropping the driver ends every browser it started.
            .process_group(0)
            .spawn()
            .expect("chromedriver starts (scripts/test.sh installs chromium-driver)");
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profiles: tempfile::tempdir().expect("a temp dir for browser profiles"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return driver;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("chromedriver did not listen on {port} within 20 s");
    }

    /// A new headless browser window of `width` × `height`, with or without JavaScript.
    pub(crate) async fn browser(&self, scripts: Scripts, width: u32, height: u32) -> Browser {
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
            client,
            _profile: profile,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-9", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> String {
    std::env::var("TIX_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into())
}

fn chromium() -> String {
    std::env::var("TIX_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// One browser window.
pub(crate) struct Browser {
    pub(crate) client: Client,
    _profile: tempfile::TempDir,
}

/// How long a test waits for a page to change by itself before it fails.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

impl Browser {
    pub(crate) async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigation");
    }

    pub(crate) async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    pub(crate) async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clearing a field");
        field.send_keys(value).await.expect("typing");
    }

    pub(crate) async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    /// Clicks the link or button whose text contains `text`.
    pub(crate) async fn click_text(&self, text: &str) {
        let xpath =
            format!("//*[(self::a or self::button) and contains(normalize-space(.), '{text}')]");
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("nothing to click reading {text:?}: {e}"))
            .click()
            .await
            .expect("click");
    }

    pub(crate) async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("current url")
            .path()
            .to_owned()
    }

    pub(crate) async fn body_text(&self) -> String {
        self.text("body").await
    }

    /// Waits until the text of `css` contains `expected`; returns how long that took.
    pub(crate) async fn wait_for_text(&self, css: &str, expected: &str) -> Duration {
        let started = Instant::now();
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(expected) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{css} never read {expected:?}; last {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub(crate) async fn script(&self, source: &str) -> Value {
        self.client
            .execute(source, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    /// Saves a PNG of the window under `artifacts/screenshots/`.
    pub(crate) async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir).expect("the screenshots dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("saving a screenshot");
    }

    /// Signs up through the storefront's form and lands where it sends new users.
    pub(crate) async fn sign_up(&self, base: &str, email: &str) {
        self.goto(&format!("{base}/auth/signup")).await;
        self.fill("#email", email).await;
        self.fill("#password", "secret1").await;
        self.click("main button[type=submit]").await;
        self.wait_for_text("header", "Sign out").await;
    }

    /// Every resource the page loaded, as URLs (only with scripts on).
    pub(crate) async fn resources(&self) -> Vec<String> {
        let listed = self
            .script("return performance.getEntriesByType('resource').map(e => e.name);")
            .await;
        serde_json::from_value(listed).expect("a list of URLs")
    }

    pub(crate) async fn close(self) {
        let _ = self.client.close().await;
    }
}

pub(crate) fn artifacts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .join("artifacts")
        .join("screenshots")
}
