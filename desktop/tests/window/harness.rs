//! The real box office window under Xvfb, driven over WebDriver (`tauri-driver` in front of
//! Debian's `WebKitWebDriver`), against a real venue node started in this process (the same code
//! as `tix-node`, on a loopback port, stores in a temporary directory).

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use tix_desktop::standalone::Standalone;

/// How long a test waits for the window to change before it fails.
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

/// Runs a whole test within `limit`: a window that stops answering fails the test instead of
/// hanging it.
pub(crate) async fn within<T>(limit: Duration, test: impl Future<Output = T>) -> T {
    // One window at a time: two WebKit sessions starting together have been seen to fail.
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(limit, test)
        .await
        .unwrap_or_else(|_| panic!("the test did not finish within {limit:?}"))
}

/// A process in its own group, killed with everything it started when dropped.
pub(crate) struct Spawned(Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-9", "--", &group]).status();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

async fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what} did not listen on {port}");
}

/// Whether display `number` is free: no X server holds its lock. A server killed outright leaves
/// its lock and socket behind; those are removed here so the number can be used again.
fn display_free(number: u32) -> bool {
    let lock = format!("/tmp/.X{number}-lock");
    let socket = format!("/tmp/.X11-unix/X{number}");
    match std::fs::read_to_string(&lock) {
        Ok(pid) => {
            let alive = std::path::Path::new(&format!("/proc/{}", pid.trim())).exists();
            if alive {
                return false;
            }
            let _ = std::fs::remove_file(&lock);
            let _ = std::fs::remove_file(&socket);
            true
        }
        Err(_) => !std::path::Path::new(&socket).exists(),
    }
}

/// An X server of our own: the first free display from :90 up.
pub(crate) struct Display {
    pub(crate) name: String,
    server: Spawned,
}

impl Drop for Display {
    fn drop(&mut self) {
        // SIGTERM lets the server remove its lock and socket; `Spawned` kills it if it lingers.
        let _ = Command::new("kill")
            .args(["-TERM", &self.server.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if self.server.0.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Display {
    pub(crate) async fn start() -> Display {
        for number in 90..140 {
            if !display_free(number) {
                continue;
            }
            let name = format!(":{number}");
            let child = Command::new("Xvfb")
                .args([
                    name.as_str(),
                    "-screen",
                    "0",
                    "1280x800x24",
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("Xvfb starts (scripts/test.sh installs xvfb)");
            let mut server = Spawned(child);
            let socket = format!("/tmp/.X11-unix/X{number}");
            let deadline = Instant::now() + Duration::from_secs(10);
            // Another test may take the same number at the same moment: the server that loses
            // exits at once, so ours must still be running once the socket is there.
            let mut settled = None;
            while Instant::now() < deadline {
                if server.0.try_wait().ok().flatten().is_some() {
                    break;
                }
                if std::path::Path::new(&socket).exists() {
                    let since = *settled.get_or_insert_with(Instant::now);
                    if since.elapsed() > Duration::from_millis(300) {
                        return Display { name, server };
                    }
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
        panic!("no free X display between :90 and :139");
    }
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

/// tauri-driver on a free port, fronting WebKitWebDriver, on `display`, with the app's settings
/// in `settings_dir`.
pub(crate) struct Driver {
    url: String,
    _process: Spawned,
}

impl Driver {
    pub(crate) async fn start(display: &Display, settings_dir: &std::path::Path) -> Driver {
        let port = free_port();
        let native = free_port();
        let child = Command::new(tauri_driver())
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
                "--native-driver",
                &webkit_driver(),
            ])
            .env("DISPLAY", &display.name)
            .env("TIX_BOX_OFFICE_DIR", settings_dir)
            // WebKit's own data (cache, storage) in the test's directory, not the user's.
            .env("XDG_DATA_HOME", settings_dir.join("xdg-data"))
            .env("XDG_CACHE_HOME", settings_dir.join("xdg-cache"))
            .env("XDG_CONFIG_HOME", settings_dir.join("xdg-config"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .expect("tauri-driver starts (scripts/test.sh installs it with cargo install)");
        let driver = Driver {
            url: format!("http://127.0.0.1:{port}"),
            _process: Spawned(child),
        };
        wait_for_port(port, "tauri-driver").await;
        // tauri-driver forwards to WebKitWebDriver, which it starts itself: a session asked for
        // before that one listens is dropped.
        wait_for_port(native, "WebKitWebDriver").await;
        driver
    }

    /// Launches the box office (the binary built with this test) in a new session.
    pub(crate) async fn launch(&self) -> Window {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("wry"));
        capabilities.insert(
            "tauri:options".into(),
            json!({ "application": env!("CARGO_BIN_EXE_tix-box-office") }),
        );
        // A session that fails to start is retried twice; a third failure fails the test.
        let mut attempt = 1;
        loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&self.url)
                .await
            {
                Ok(client) => return Window { client },
                Err(e) if attempt < 3 => {
                    eprintln!("box office session attempt {attempt} failed: {e}; retrying");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => panic!("a box office session: {e}"),
            }
        }
    }
}

fn tauri_driver() -> PathBuf {
    if let Ok(path) = std::env::var("TIX_TAURI_DRIVER") {
        return path.into();
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let installed = PathBuf::from(home).join(".cargo/bin/tauri-driver");
    if installed.exists() {
        installed
    } else {
        "tauri-driver".into()
    }
}

fn webkit_driver() -> String {
    std::env::var("TIX_WEBKIT_DRIVER").unwrap_or_else(|_| "/usr/bin/WebKitWebDriver".into())
}

/// The app's window, over WebDriver.
pub(crate) struct Window {
    pub(crate) client: Client,
}

impl Window {
    pub(crate) async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// Waits until `script` (a JavaScript expression) is true in the window.
    pub(crate) async fn until(&self, script: &str) {
        let deadline = Instant::now() + PATIENCE;
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
                panic!("the window never satisfied {script}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until the element with this id is shown.
    pub(crate) async fn shows(&self, id: &str) {
        self.until(&format!("!document.getElementById('{id}').hidden"))
            .await;
    }

    /// Signs in from the sign-in screen and waits for the counter.
    pub(crate) async fn sign_in(&self, email: &str, password: &str) {
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("#signin-button").await;
        self.shows("screen-counter").await;
    }

    /// Types `query` into the finder, waits for exactly one ticket, and locks it with Enter.
    pub(crate) async fn lock_the_one_match(&self, query: &str) {
        self.fill("#search", query).await;
        self.until("document.querySelectorAll('#results li.ticket').length === 1")
            .await;
        self.press("#search", ENTER).await;
        self.shows("sale-locked").await;
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

    /// Presses a key in the focused element (WebDriver's key codes, e.g. "\u{E007}" for Enter).
    pub(crate) async fn press(&self, css: &str, key: &str) {
        self.find(css)
            .await
            .send_keys(key)
            .await
            .expect("a key press");
    }

    pub(crate) async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../artifacts/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    pub(crate) async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// WebDriver's code for the Enter key.
pub(crate) const ENTER: &str = "\u{E007}";
/// WebDriver's code for F8 (cash).
pub(crate) const F8: &str = "\u{E038}";
