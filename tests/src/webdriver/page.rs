//! One WebDriver session's page, whatever the browser: what tests do again and again (find,
//! wait, fill, click, press, read, screenshot), each waiting at most the page's `patience` for
//! the page to get there before it fails the test saying what it waited for.

use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::{Client, Locator};
use serde_json::Value;

use crate::binaries::screenshots_dir;

/// WebDriver's code for the Enter key.
pub const ENTER: &str = "\u{E007}";

/// Whether a click failed because the page changed under it: the element was covered, hidden,
/// moved or replaced, as when a live update lands between finding a button and clicking it.
pub fn page_changed_under(click: &CmdError) -> bool {
    click.is_stale_element_reference()
        || click.is_element_not_interactable()
        || matches!(click, CmdError::Standard(w) if w.error == ErrorStatus::ElementClickIntercepted)
}

/// A session and how long it waits for its page to change.
pub struct Page {
    pub client: Client,
    pub patience: Duration,
}

impl Page {
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigation");
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(self.patience)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    pub async fn body_text(&self) -> String {
        self.text("body").await
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clearing a field");
        field.send_keys(value).await.expect("typing");
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    /// Clicks the link or button whose text contains `text`.
    pub async fn click_text(&self, text: &str) {
        let xpath =
            format!("//*[(self::a or self::button) and contains(normalize-space(.), '{text}')]");
        self.client
            .wait()
            .at_most(self.patience)
            .for_element(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("nothing to click reading {text:?}: {e}"))
            .click()
            .await
            .expect("click");
    }

    /// Presses a key in an element (WebDriver's key codes, e.g. `ENTER`).
    pub async fn press(&self, css: &str, key: &str) {
        self.find(css)
            .await
            .send_keys(key)
            .await
            .expect("a key press");
    }

    /// Waits until `script` (a JavaScript expression) is true in the page.
    pub async fn until(&self, script: &str) {
        let deadline = Instant::now() + self.patience;
        loop {
            let value = self
                .client
                .execute(&format!("return !!({script});"), vec![])
                .await
                .expect("script runs");
            if value == Value::Bool(true) {
                return;
            }
            if Instant::now() > deadline {
                panic!("the page never satisfied {script}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until the text of `css` contains `expected`; returns how long that took.
    pub async fn wait_for_text(&self, css: &str, expected: &str) -> Duration {
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
                started.elapsed() < self.patience,
                "{css} never read {expected:?}; last {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Runs `source` (a function body) in the page; its return value.
    pub async fn script(&self, source: &str) -> Value {
        self.client
            .execute(source, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    /// The path of the page's URL.
    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("current url")
            .path()
            .to_owned()
    }

    /// Every resource the page loaded, as URLs (only with scripts on).
    pub async fn resources(&self) -> Vec<String> {
        let listed = self
            .script("return performance.getEntriesByType('resource').map(e => e.name);")
            .await;
        serde_json::from_value(listed).expect("a list of URLs")
    }

    /// Saves a PNG of the window as `artifacts/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = screenshots_dir();
        std::fs::create_dir_all(&dir).expect("the screenshots dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("saving a screenshot");
    }

    /// Ends the session (closing its window).
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
