//! The sync tests' harness: a real Mosquitto on a free loopback port (with the shipped ACL), and
//! real `tix-hub` and `tix-node` processes, each killable with SIGKILL and restartable.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub(crate) const HUB_TOKEN: &str = "test-token-0123456789abcdef";
pub(crate) const HUB_PASS: &str = "hub-pass";

/// The password of a venue's broker account in these tests.
pub(crate) fn venue_pass(venue: &str) -> String {
    format!("{venue}-pass")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn find_tool(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        let path = Path::new(dir).join(name);
        if path.exists() {
            return path;
        }
    }
    panic!("{name} not found: install Debian's mosquitto package (scripts/test.sh does)");
}

/// A Mosquitto broker with its own config, password file and log in a temporary directory.
pub(crate) struct Broker {
    pub(crate) port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Broker {
    /// Starts a broker whose accounts are the hub and the given venues (password `<venue>-pass`),
    /// under the ACL shipped in `packaging/mosquitto/acl`.
    pub(crate) fn start(venues: &[&str]) -> Broker {
        Broker::start_with(venues, 200_000)
    }

    /// Like `start`, with at most `max_queued` messages queued per client: past that Mosquitto
    /// silently drops messages for a subscriber that is away or slow.
    pub(crate) fn start_with(venues: &[&str], max_queued: u32) -> Broker {
        let dir = tempfile::tempdir().unwrap();
        let passwd = dir.path().join("passwd");
        let mut accounts = vec![("tix-hub".to_owned(), HUB_PASS.to_owned())];
        accounts.extend(venues.iter().map(|v| (v.to_string(), venue_pass(v))));
        for (n, (user, pass)) in accounts.iter().enumerate() {
            let mut command = Command::new(find_tool("mosquitto_passwd"));
            command.arg("-b");
            if n == 0 {
                command.arg("-c");
            }
            let status = command
                .arg(&passwd)
                .arg(user)
                .arg(pass)
                .stdout(Stdio::null())
                .status()
                .expect("run mosquitto_passwd");
            assert!(status.success(), "mosquitto_passwd failed");
        }
        let acl = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/mosquitto/acl");
        let port = free_port();
        let conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\nacl_file {}\n\
             max_queued_messages {max_queued}\nmax_inflight_messages 100\n\
             log_dest file {}\nuser root\n",
            passwd.display(),
            acl.canonicalize()
                .expect("packaging/mosquitto/acl")
                .display(),
            dir.path().join("mosquitto.log").display(),
        );
        std::fs::write(dir.path().join("mosquitto.conf"), conf).unwrap();
        let mut broker = Broker {
            port,
            dir,
            child: None,
        };
        broker.restart();
        broker
    }

    /// Starts the broker process (again) on the same port, and waits until it accepts connections.
    pub(crate) fn restart(&mut self) {
        assert!(self.child.is_none(), "broker already running");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mut child = Command::new(find_tool("mosquitto"))
                .arg("-c")
                .arg(self.dir.path().join("mosquitto.conf"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn mosquitto");
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                    self.child = Some(child);
                    return;
                }
                if child.try_wait().unwrap().is_some() {
                    break; // the port may still be held by the killed broker: try again
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            if Instant::now() >= deadline {
                panic!("mosquitto did not start; log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub(crate) fn kill9(&mut self) {
        let mut child = self.child.take().expect("broker running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    pub(crate) fn url(&self, user: &str, pass: &str) -> String {
        format!("mqtt://{user}:{pass}@127.0.0.1:{}", self.port)
    }

    pub(crate) fn venue_url(&self, venue: &str) -> String {
        self.url(venue, &venue_pass(venue))
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A node or hub process logging JSON to stdout; killed when dropped.
pub(crate) struct Proc {
    child: Option<Child>,
    pub(crate) addr: String,
}

impl Proc {
    fn spawn(mut command: Command, what: &str) -> Proc {
        command.stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(entry) = serde_json::from_str::<Value>(&line)
                    && entry["fields"]["message"] == "serving"
                    && let Some(addr) = entry["fields"]["addr"].as_str()
                {
                    let _ = addr_tx.send(addr.to_owned());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let Ok(addr) = addr_rx.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            panic!(
                "{what} did not start; log:\n{}",
                log.lock().unwrap().join("\n")
            );
        };
        Proc {
            child: Some(child),
            addr,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub(crate) fn kill9(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM and a bounded wait for a clean exit.
    pub(crate) fn terminate(mut self) {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "exit status {status}");
                return;
            }
            assert!(Instant::now() < deadline, "no exit within 30 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn sibling_binary(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_tix-hub")).with_file_name(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace (cargo test --workspace builds it)",
        path.display()
    );
    path
}

/// Starts a hub on `db`, following `broker`.
pub(crate) fn start_hub(db: &Path, broker: &Broker) -> Proc {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tix-hub"));
    command
        .args(["--listen", "127.0.0.1:0", "--api-token", HUB_TOKEN])
        .arg("--db")
        .arg(db)
        .arg("--mqtt-url")
        .arg(broker.url("tix-hub", HUB_PASS))
        .env("TIX_HUB_LOG_FORMAT", "json")
        .env("RUST_LOG", "info");
    Proc::spawn(command, "tix-hub")
}

/// Starts a venue node on `data_dir` syncing through `broker_url`; with `keep` the outbox is kept
/// after sync, so the checker can compare every event.
pub(crate) fn start_node(data_dir: &Path, venue: &str, broker_url: &str, keep: bool) -> Proc {
    let mut command = Command::new(sibling_binary("tix-node"));
    command
        .args(["--listen", "127.0.0.1:0", "--venue-id", venue])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--mqtt-url")
        .arg(broker_url)
        .env("TIX_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env_remove("STRIPE_SECRET_KEY")
        .env_remove("TIX_JWT_SECRET");
    if keep {
        command.arg("--keep-synced-events");
    }
    Proc::spawn(command, "tix-node")
}

/// GET on the hub's API with the operators' token.
pub(crate) async fn hub_get(hub: &Proc, path: &str) -> Value {
    let reply = reqwest::Client::new()
        .get(hub.url(path))
        .bearer_auth(HUB_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(
        reply.status().is_success(),
        "GET {path}: {}",
        reply.status()
    );
    reply.json().await.unwrap()
}

/// The node's `/healthz`.
pub(crate) async fn node_health(node: &Proc) -> Value {
    reqwest::get(node.url("/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls `check` until it holds, for at most `limit`.
pub(crate) async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// One venue syncing to a hub through `broker`, everything in one temporary directory.
pub(crate) struct OneVenue {
    pub(crate) broker: Broker,
    /// Removed when dropped: keep it bound for the whole test.
    pub(crate) dir: tempfile::TempDir,
    pub(crate) hub_db: PathBuf,
    pub(crate) hub: Proc,
    pub(crate) node_dir: PathBuf,
    pub(crate) node: Proc,
    /// The venue's broker URL, for restarting its node.
    pub(crate) url: String,
}

/// The venue of the single-venue scenarios.
pub(crate) const VENUE: &str = "venue-a";

impl OneVenue {
    /// Starts a hub and the node of `VENUE` (keeping its outbox after sync when `keep`).
    pub(crate) fn start(broker: Broker, keep: bool) -> OneVenue {
        let dir = tempfile::tempdir().unwrap();
        let hub_db = dir.path().join("hub.sqlite3");
        let hub = start_hub(&hub_db, &broker);
        let node_dir = dir.path().join("node");
        let url = broker.venue_url(VENUE);
        let node = start_node(&node_dir, VENUE, &url, keep);
        OneVenue {
            broker,
            dir,
            hub_db,
            hub,
            node_dir,
            node,
            url,
        }
    }
}
