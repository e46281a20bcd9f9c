//! A three-node NATS cluster of our own, as `packaging/nats/` ships it: `nats-server` (Debian's)
//! with JetStream and its MQTT listener, each node configured from `node.conf.in` on free loopback
//! ports, its store in a temporary directory, and the accounts made by the shipped `add-venue`.
//! Any node can be killed (SIGKILL) and restarted on its store and ports.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::binaries::{system_tool, workspace_dir};
use crate::ports::{free_port, listening};
use crate::process::Process;

/// The nodes' password among themselves.
const ROUTE_PASSWORD: &str = "route-pass";
/// How long a node may take to join the cluster.
const READY_LIMIT: Duration = Duration::from_secs(60);
/// Times a cluster is started on new ports before its failure is reported.
const ATTEMPTS: u32 = 3;

/// One node's ports and process.
struct Node {
    dir: PathBuf,
    http_port: u16,
    mqtt_port: u16,
    process: Option<Process>,
}

/// The cluster; every node is killed when dropped.
pub struct NatsCluster {
    _dir: tempfile::TempDir,
    nodes: Vec<Node>,
}

impl NatsCluster {
    /// Three nodes whose accounts are `accounts` (user, password), made as `add-venue` makes
    /// them; started, and waited for until each knows the cluster's JetStream leader.
    pub fn spawn(accounts: &[(String, String)]) -> Result<NatsCluster> {
        NatsCluster::spawn_with(accounts, &[])
    }

    /// Like `spawn`, with `extra` entries of `users.conf` as written (an account no venue has,
    /// such as a load generator's that publishes for many venues).
    ///
    /// A port found free may be taken before its node binds it (as the source port of some
    /// connection: the other nodes dial their routes at once): a cluster that fails to start is
    /// started again on new ports, up to `ATTEMPTS` times.
    pub fn spawn_with(accounts: &[(String, String)], extra: &[String]) -> Result<NatsCluster> {
        let mut attempt = 1;
        loop {
            match NatsCluster::spawn_once(accounts, extra) {
                Ok(cluster) => return Ok(cluster),
                Err(e) if attempt < ATTEMPTS => {
                    eprintln!("the NATS cluster did not start (attempt {attempt}): {e:#}");
                    attempt += 1;
                }
                Err(e) => return Err(e.context(format!("after {ATTEMPTS} attempts"))),
            }
        }
    }

    fn spawn_once(accounts: &[(String, String)], extra: &[String]) -> Result<NatsCluster> {
        let dir = tempfile::tempdir().context("a temporary dir for NATS")?;
        let users = users_file(accounts, extra)?;
        let template = std::fs::read_to_string(packaging("node.conf.in"))
            .context("reading packaging/nats/node.conf.in")?;
        let ports: Vec<[u16; 4]> = (0..3)
            .map(|_| [free_port(), free_port(), free_port(), free_port()])
            .collect();
        let routes: Vec<String> = ports
            .iter()
            .map(|[_, cluster, _, _]| {
                format!("nats-route://tix-route:{ROUTE_PASSWORD}@127.0.0.1:{cluster}")
            })
            .collect();
        let mut nodes = Vec::new();
        for (n, [client, cluster, mqtt, http]) in ports.into_iter().enumerate() {
            let node_dir = dir.path().join(format!("n{n}"));
            std::fs::create_dir_all(node_dir.join("store"))?;
            let conf = template
                .replace("@SERVER_NAME@", &format!("tix-{n}"))
                .replace("@CLIENT_PORT@", &client.to_string())
                .replace("@HTTP_PORT@", &http.to_string())
                .replace("@STORE_DIR@", &node_dir.join("store").display().to_string())
                .replace("@CLUSTER_HOST@", "127.0.0.1")
                .replace("@CLUSTER_PORT@", &cluster.to_string())
                .replace("@ROUTE_PASSWORD@", ROUTE_PASSWORD)
                .replace("@ROUTES@", &routes.join(", "))
                .replace("@MQTT_HOST@", "127.0.0.1")
                .replace("@MQTT_PORT@", &mqtt.to_string());
            ensure!(
                !has_placeholder(&conf),
                "a placeholder of node.conf.in was left unfilled"
            );
            std::fs::write(node_dir.join("node.conf"), conf)?;
            std::fs::write(node_dir.join("users.conf"), &users)?;
            nodes.push(Node {
                dir: node_dir,
                http_port: http,
                mqtt_port: mqtt,
                process: None,
            });
        }
        let mut cluster = NatsCluster { _dir: dir, nodes };
        for n in 0..3 {
            cluster.launch(n)?;
        }
        for n in 0..3 {
            cluster.wait_ready(n)?;
        }
        Ok(cluster)
    }

    /// Like `spawn`, for tests: panics with what went wrong.
    pub fn start(accounts: &[(String, String)]) -> NatsCluster {
        NatsCluster::spawn(accounts).unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// Like `spawn_with`, for tests.
    pub fn start_with(accounts: &[(String, String)], extra: &[String]) -> NatsCluster {
        NatsCluster::spawn_with(accounts, extra).unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// `mqtt://user:pass@127.0.0.1:PORT` of node `n`'s MQTT listener.
    pub fn url(&self, n: usize, user: &str, pass: &str) -> String {
        format!("mqtt://{user}:{pass}@127.0.0.1:{}", self.nodes[n].mqtt_port)
    }

    /// SIGKILL to node `n`.
    pub fn kill9(&mut self, n: usize) {
        let mut process = self.nodes[n].process.take().expect("the node is running");
        process.kill9();
    }

    /// Starts node `n` again on its store and ports, and waits until it listens for MQTT.
    pub fn restart(&mut self, n: usize) {
        self.launch(n).unwrap_or_else(|e| panic!("{e:#}"));
        let deadline = Instant::now() + READY_LIMIT;
        while !listening(self.nodes[n].mqtt_port) {
            assert!(Instant::now() < deadline, "NATS node {n} did not come back");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Replaces every node's accounts with `accounts` and `extra` (as `spawn_with` makes them) and
    /// has each running node reload its configuration (SIGHUP).
    pub fn set_accounts(&self, accounts: &[(String, String)], extra: &[String]) {
        let users = users_file(accounts, extra).unwrap_or_else(|e| panic!("{e:#}"));
        for node in &self.nodes {
            std::fs::write(node.dir.join("users.conf"), &users).unwrap();
            if let Some(process) = &node.process {
                process.signal("-HUP").unwrap_or_else(|e| panic!("{e:#}"));
            }
        }
    }

    /// The JSON node `n` answers on a monitoring path (`/varz`, `/connz`, ...).
    pub fn monitor(&self, n: usize, path: &str) -> Result<serde_json::Value> {
        let Some((200, body)) = monitor_get(self.nodes[n].http_port, path) else {
            bail!("nats-{n} did not answer {path} with 200");
        };
        serde_json::from_str(&body).with_context(|| format!("nats-{n} {path}: {body}"))
    }

    /// What node `n` printed.
    pub fn log(&self, n: usize) -> String {
        self.nodes[n]
            .process
            .as_ref()
            .map(|p| p.log().text())
            .unwrap_or_default()
    }

    fn launch(&mut self, n: usize) -> Result<()> {
        let node = &mut self.nodes[n];
        ensure!(node.process.is_none(), "NATS node {n} is already running");
        let mut command = Command::new(system_tool("nats-server")?);
        command.arg("-c").arg(node.dir.join("node.conf"));
        node.process = Some(Process::spawn(command, &format!("nats-{n}"))?);
        Ok(())
    }

    /// Waits until node `n` says it is healthy: in the cluster, with a JetStream leader known.
    fn wait_ready(&mut self, n: usize) -> Result<()> {
        let deadline = Instant::now() + READY_LIMIT;
        loop {
            if healthy(self.nodes[n].http_port) {
                return Ok(());
            }
            let node = &mut self.nodes[n];
            if let Some(process) = node.process.as_mut()
                && let Some(status) = process.exited()
            {
                bail!("nats-{n} exited ({status}):\n{}", process.log().text());
            }
            if Instant::now() > deadline {
                bail!(
                    "nats-{n} not healthy within {READY_LIMIT:?}:\n{}",
                    self.log(n)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Whether `conf` still holds an `@NAME@` placeholder outside its comments.
fn has_placeholder(conf: &str) -> bool {
    conf.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .any(|line| {
            let parts: Vec<&str> = line.split('@').collect();
            parts.len() > 2
                && parts[1..parts.len() - 1].iter().any(|name| {
                    !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
                })
        })
}

/// Whether the node's monitoring port answers `/healthz` with 200.
fn healthy(port: u16) -> bool {
    monitor_get(port, "/healthz").is_some_and(|(status, _)| status == 200)
}

/// The status and body of `GET path` on a monitoring port; `None` if it does not answer.
fn monitor_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// `users.conf` holding `accounts`, each entry made by the shipped `add-venue`.
fn users_file(accounts: &[(String, String)], extra: &[String]) -> Result<String> {
    let script = packaging("add-venue");
    let mut entries = Vec::new();
    for (user, pass) in accounts {
        let out = Command::new("sh")
            .arg(&script)
            .args(["--password", pass, user])
            .stdin(Stdio::null())
            .output()
            .context("running packaging/nats/add-venue")?;
        ensure!(
            out.status.success(),
            "add-venue {user}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        entries.push(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    entries.extend(extra.iter().map(|entry| format!("{entry}\n")));
    Ok(format!("users: [\n{}]\n", entries.join("")))
}

fn packaging(name: &str) -> PathBuf {
    workspace_dir().join("packaging").join("nats").join(name)
}
