//! A Tauri app's window: tauri-driver on a free loopback port, fronting WebKitWebDriver (which it
//! starts itself, on a second port), on a given X display. WebKit's own data (cache, storage)
//! goes to the test's directory, not the user's. A session that fails to start is retried twice.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use fantoccini::ClientBuilder;
use serde_json::json;

use crate::display::Display;
use crate::ports::{free_port, wait_for_port};
use crate::process::Process;
use crate::webdriver::Page;

/// How long a window test waits for the window to change before it fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A running tauri-driver.
pub struct Driver {
    url: String,
    _process: Process,
}

impl Driver {
    /// Starts tauri-driver on `display`, with WebKit's data under `data_dir` and `env` set for
    /// the app it launches.
    pub async fn start(display: &Display, data_dir: &Path, env: &[(&str, &Path)]) -> Driver {
        let port = free_port();
        let native = free_port();
        let mut command = Command::new(tauri_driver());
        command
            .args(["--port", &port.to_string()])
            .args(["--native-port", &native.to_string()])
            .args(["--native-driver", &webkit_driver()])
            .env("DISPLAY", &display.name)
            .env("XDG_DATA_HOME", data_dir.join("xdg-data"))
            .env("XDG_CACHE_HOME", data_dir.join("xdg-cache"))
            .env("XDG_CONFIG_HOME", data_dir.join("xdg-config"))
            .env("RUST_LOG", "warn");
        for (key, value) in env {
            command.env(key, value);
        }
        let process = Process::spawn(command, "tauri-driver")
            .unwrap_or_else(|e| panic!("{e:#} (scripts/test.sh installs it with cargo install)"));
        wait_for_port(port, "tauri-driver", PATIENCE).await;
        // A session asked for before WebKitWebDriver listens is dropped.
        wait_for_port(native, "WebKitWebDriver", PATIENCE).await;
        Driver {
            url: format!("http://127.0.0.1:{port}"),
            _process: process,
        }
    }

    /// Launches `application` (a Tauri binary) in a new session.
    pub async fn launch(&self, application: &str) -> Page {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("wry"));
        capabilities.insert(
            "tauri:options".into(),
            json!({ "application": application }),
        );
        let mut attempt = 1;
        loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&self.url)
                .await
            {
                Ok(client) => {
                    return Page {
                        client,
                        patience: PATIENCE,
                    };
                }
                Err(e) if attempt < 3 => {
                    eprintln!("session attempt {attempt} for {application} failed: {e}; retrying");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => panic!("a session for {application}: {e}"),
            }
        }
    }
}

/// tauri-driver: `TIX_TAURI_DRIVER`, else `~/.cargo/bin/tauri-driver`, else the one on `PATH`.
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

/// WebKitWebDriver: `TIX_WEBKIT_DRIVER`, or Debian's.
fn webkit_driver() -> String {
    std::env::var("TIX_WEBKIT_DRIVER").unwrap_or_else(|_| "/usr/bin/WebKitWebDriver".into())
}
