//! The real box office window under Xvfb, driven over WebDriver (the house's tauri-driver in front
//! of Debian's `WebKitWebDriver`), against a real venue node started in this process (the same code
//! as `tix-node`, on a loopback port, stores in a temporary directory), or against a `tix-node`
//! process that can be stopped and started again on the same port and data (the door's outage).
//! What is the box office's own is here: its nodes, a user's session on one, and the steps its
//! screens take.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use tix_desktop::standalone::Standalone;
use tix_tests::webdriver::{Page, tauri};

pub(crate) use tix_tests::webdriver::page::ENTER;
pub(crate) use tix_tests::{Display, free_port};

/// The app's window, over WebDriver.
pub(crate) type Window = Page;

/// Runs a whole test within `limit`: a window that stops answering fails the test instead of
/// hanging it.
pub(crate) async fn within<T>(limit: Duration, test: impl Future<Output = T>) -> T {
    // One window at a time: two WebKit sessions starting together have been seen to fail.
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = ONE_AT_A_TIME.lock().await;
    tix_tests::within(limit, test).await
}

/// A venue node in this process: the box office's own standalone node (the same code as
/// `tix-node`), with its stores in a temporary directory.
pub(crate) struct Node {
    pub(crate) url: String,
    node: Standalone,
    _dir: tempfile::TempDir,
}

impl Node {
    /// A node whose first account is staff (as a standalone box office's is).
    pub(crate) async fn start() -> Node {
        Node::start_with(&[]).await
    }

    /// The same, with more of `tix-node`'s flags.
    pub(crate) async fn start_with(flags: &[&str]) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["--search", "false"];
        args.extend_from_slice(flags);
        let node = Standalone::start_with(dir.path(), &args)
            .await
            .expect("node starts");
        Node {
            url: node.url().to_owned(),
            node,
            _dir: dir,
        }
    }

    /// Stops it and checks that it stopped cleanly.
    pub(crate) async fn stop(self) {
        self.node.stop().await.expect("the node stops cleanly");
    }
}

/// A `tix-node` process (the workspace's binary) on a fixed loopback port and its own data dir,
/// stopped and started again at will: what a box office on the LAN sees when the node goes away
/// and comes back. Its first account is staff.
pub(crate) struct OutsideNode {
    pub(crate) url: String,
    port: u16,
    dir: tempfile::TempDir,
    served: Option<tix_tests::Served>,
}

impl OutsideNode {
    /// Builds `tix-node` if it is not up to date (once per process). Called before a test's time
    /// limit starts: on a cold target directory that build takes minutes, which is not the test's.
    pub(crate) fn build() {
        tix_tests::workspace_binary("tix-node");
    }

    pub(crate) fn start() -> OutsideNode {
        let port = free_port();
        let mut node = OutsideNode {
            url: format!("http://127.0.0.1:{port}"),
            port,
            dir: tempfile::tempdir().unwrap(),
            served: None,
        };
        node.restart();
        node
    }

    /// Starts the node (again) on its port and data dir; waits until it serves.
    pub(crate) fn restart(&mut self) {
        self.served = Some(self.serve_on(self.port));
    }

    /// The same node (its stores and keys) on another port, which the box office does not know.
    pub(crate) fn start_elsewhere(&mut self) -> String {
        let served = self.serve_on(free_port());
        let url = served.url("");
        self.served = Some(served);
        url
    }

    fn serve_on(&self, port: u16) -> tix_tests::Served {
        assert!(self.served.is_none(), "the node is running already");
        let mut command = std::process::Command::new(tix_tests::workspace_binary("tix-node"));
        command
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(["--search", "false", "--first-user-is-staff"])
            .env("TIX_LOG_FORMAT", "json")
            .env("RUST_LOG", "info,tower_http=warn")
            .env_remove("STRIPE_SECRET_KEY")
            .env_remove("TIX_STRIPE_API_BASE")
            .env_remove("TIX_JWT_SECRET");
        tix_tests::served::serve(command, "tix-node", Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// SIGTERM and a wait for its clean exit: from here on connections are refused.
    pub(crate) fn stop(&mut self) {
        if let Some(served) = self.served.take() {
            served.stop_cleanly();
        }
    }
}

/// A user's session on the node, over plain HTTP.
pub(crate) struct Api {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Api {
    pub(crate) async fn sign_up(base: &str, email: &str, password: &str) -> Api {
        let http = reqwest::Client::new();
        let response = http
            .post(format!("{base}/api/users/signup"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "sign up {email}");
        let cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        Api {
            http,
            base: base.to_owned(),
            cookie,
        }
    }

    /// The same session on another address of the node (its session secret is in its data dir).
    pub(crate) fn at(&self, base: &str) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: base.to_owned(),
            cookie: self.cookie.clone(),
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "POST {path}");
        response.json().await.unwrap()
    }

    pub(crate) async fn sell(&self, title: &str, price: f64) -> String {
        let ticket: Value = self
            .http
            .post(format!("{}/api/tickets", self.base))
            .header("cookie", &self.cookie)
            .json(&json!({ "title": title, "price": price }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ticket["id"].as_str().expect("a ticket id").to_owned()
    }
}

/// tauri-driver on `display`, with the app's settings (and WebKit's data) in `settings_dir`.
pub(crate) struct Driver(tauri::Driver);

impl Driver {
    pub(crate) async fn start(display: &Display, settings_dir: &Path) -> Driver {
        let env = [("TIX_BOX_OFFICE_DIR", settings_dir)];
        Driver(tauri::Driver::start(display, settings_dir, &env).await)
    }

    /// Launches the box office (the binary built with this test) in a new session.
    pub(crate) async fn launch(&self) -> Window {
        self.0.launch(env!("CARGO_BIN_EXE_tix-box-office")).await
    }
}

/// The box office's own steps on its window.
pub(crate) trait BoxOffice {
    /// Waits until the element with this id is shown.
    async fn shows(&self, id: &str);
    /// Signs in from the sign-in screen and waits for the counter.
    async fn sign_in(&self, email: &str, password: &str);
    /// Types `query` into the finder, waits for exactly one ticket, and locks it with Enter.
    async fn lock_the_one_match(&self, query: &str);
}

impl BoxOffice for Window {
    async fn shows(&self, id: &str) {
        self.until(&format!("!document.getElementById('{id}').hidden"))
            .await;
    }

    async fn sign_in(&self, email: &str, password: &str) {
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("#signin-button").await;
        self.shows("screen-counter").await;
    }

    async fn lock_the_one_match(&self, query: &str) {
        self.fill("#search", query).await;
        self.until("document.querySelectorAll('#results li.ticket').length === 1")
            .await;
        self.press("#search", ENTER).await;
        self.shows("sale-locked").await;
    }
}

/// WebDriver's code for F8 (cash).
pub(crate) const F8: &str = "\u{E038}";

/// WebDriver's codes for the other keys the counter uses.
pub(crate) mod keys {
    pub(crate) const F2: &str = "\u{E032}";
    pub(crate) const F3: &str = "\u{E033}";
    pub(crate) const F5: &str = "\u{E035}";
    pub(crate) const F6: &str = "\u{E036}";
    pub(crate) const F10: &str = "\u{E03A}";
    pub(crate) const ESCAPE: &str = "\u{E00C}";
    pub(crate) const SPACE: &str = "\u{E00D}";
    pub(crate) const BACKSPACE: &str = "\u{E003}";
    pub(crate) const LEFT: &str = "\u{E012}";
    pub(crate) const RIGHT: &str = "\u{E014}";
    pub(crate) const DOWN: &str = "\u{E015}";
    /// Held until `RELEASE`: `CONTROL` then `p` then `RELEASE` is Ctrl+P.
    pub(crate) const CONTROL: &str = "\u{E009}";
    pub(crate) const RELEASE: &str = "\u{E000}";
}
