//! Runs the node under test with the house's harness (`tix-tests`): spawns `tix-node` on a free
//! loopback port, reads its address from the JSON "serving" log line, stops it with SIGTERM or
//! SIGKILL, reads its RSS, owns its data dir. The harness waits on threads; the calls here step
//! out of the async runtime's way while it does (`block_in_place`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use tokio::task::block_in_place;

use tix_tests::{NodeOptions, Served, spawn_node};

use crate::client::Conn;

/// Longest the node may take from spawn to its "serving" line (recovering a big store is slow).
const READY_TIMEOUT: Duration = Duration::from_secs(600);
/// Longest a graceful shutdown may take before the node is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest the node may take to answer `/healthz` once it says it is serving.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(60);

/// The node's data directory; removed on drop when the benchmark created it, unless asked to keep.
pub(crate) struct DataDir {
    path: PathBuf,
    remove: bool,
}

impl DataDir {
    /// Uses `given` (which must be missing or empty unless `existing` says it holds an earlier
    /// run's stores; never removed) or creates a fresh one in /tmp.
    pub(crate) fn prepare(given: Option<PathBuf>, keep: bool, existing: bool) -> Result<Self> {
        if existing && given.is_none() {
            bail!("reusing stores needs --data-dir");
        }
        if let Some(path) = given {
            if existing {
                if !path.is_dir() {
                    bail!("data dir {} does not exist", path.display());
                }
            } else if path.exists() {
                let mut entries = std::fs::read_dir(&path)
                    .with_context(|| format!("reading data dir {}", path.display()))?;
                if entries.next().is_some() {
                    bail!(
                        "data dir {} is not empty; the benchmark needs a fresh one",
                        path.display()
                    );
                }
            } else {
                std::fs::create_dir_all(&path)
                    .with_context(|| format!("creating data dir {}", path.display()))?;
            }
            return Ok(Self {
                path,
                remove: false,
            });
        }
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.subsec_nanos();
        let path = std::env::temp_dir().join(format!("tix-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self {
            path,
            remove: !keep,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if self.remove {
            if let Err(error) = std::fs::remove_dir_all(&self.path) {
                eprintln!("warning: could not remove {}: {error}", self.path.display());
            }
        } else {
            println!("data dir kept: {}", self.path.display());
        }
    }
}

/// A running node process.
pub(crate) struct Node {
    served: Served,
    addr: SocketAddr,
    spawned_at: Instant,
}

impl Node {
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// CPU time (user + system) the node process has used so far.
    pub(crate) fn cpu_time(&self) -> Result<Duration> {
        tix_tests::cpu_time(self.served.pid())
    }

    /// Resident memory of the node process, in bytes.
    pub(crate) fn rss_bytes(&self) -> Result<u64> {
        self.memory("VmRSS:")
    }

    /// The most memory the node process has had resident so far (its high-water mark), in bytes.
    pub(crate) fn peak_rss_bytes(&self) -> Result<u64> {
        self.memory("VmHWM:")
    }

    /// Bytes the node process has caused to be written to storage so far (`write_bytes` of
    /// `/proc/PID/io`, counted as pages are dirtied: a page two commits write counts twice).
    pub(crate) fn written_bytes(&self) -> Result<u64> {
        proc_number(&self.proc_file("io")?, "write_bytes:")
    }

    /// Stops the node (SIGSTOP) for `pause` and lets it go on (SIGCONT): as a stall of the
    /// machine would, but of this process alone. It is let go on even when the wait fails.
    pub(crate) async fn freeze(&self, pause: Duration) -> Result<()> {
        self.served.signal("-STOP")?;
        tokio::time::sleep(pause).await;
        self.served.signal("-CONT")
    }

    /// A `kB` line of `/proc/PID/status`, in bytes.
    fn memory(&self, field: &str) -> Result<u64> {
        Ok(proc_number(&self.proc_file("status")?, field)? * 1024)
    }

    fn proc_file(&self, name: &str) -> Result<String> {
        let pid = self.served.pid();
        std::fs::read_to_string(format!("/proc/{pid}/{name}"))
            .with_context(|| format!("reading /proc/{pid}/{name}"))
    }

    /// Polls `/healthz` until it answers 200; returns its JSON and the time since spawn.
    pub(crate) async fn wait_healthy(&self) -> Result<(Value, Duration)> {
        let deadline = Instant::now() + HEALTH_TIMEOUT;
        let mut last_error = anyhow!("no attempt made");
        while Instant::now() < deadline {
            match health_once(self.addr).await {
                Ok(health) => return Ok((health, self.spawned_at.elapsed())),
                Err(error) => last_error = error,
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Err(last_error.context(format!("/healthz not answering within {HEALTH_TIMEOUT:?}")))
    }
}

/// The number on the line of a `/proc` file that starts with `field` (`VmRSS:  1234 kB`,
/// `write_bytes: 5`), without its unit.
fn proc_number(text: &str, field: &str) -> Result<u64> {
    let line = text
        .lines()
        .find(|line| line.starts_with(field))
        .with_context(|| format!("no {field} line"))?;
    line.trim_start_matches(field)
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("parsing {line:?}"))
}

/// One `GET /healthz` on a fresh connection.
pub(crate) async fn health_once(addr: SocketAddr) -> Result<Value> {
    let mut conn = Conn::connect(addr).await?;
    let reply = conn.get("/healthz", None).await?;
    if reply.status != 200 {
        bail!("/healthz: {}", reply.describe());
    }
    reply.json()
}

/// The node's counters of durable commits, volatile commits and fsyncs, from one `GET /metrics`,
/// and the bytes its process wrote, from `/proc`.
pub(crate) async fn disk_counts(node: &Node) -> Result<DiskCounts> {
    let mut conn = Conn::connect(node.addr()).await?;
    let reply = conn.get("/metrics", None).await?;
    if reply.status != 200 {
        bail!("/metrics: {}", reply.describe());
    }
    let text = String::from_utf8_lossy(&reply.body);
    let value = |series: &str| -> Result<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
            .with_context(|| format!("{series} in /metrics"))
    };
    Ok(DiskCounts {
        durable: value("tix_writer_commits_total{durability=\"durable\"}")?,
        volatile: value("tix_writer_commits_total{durability=\"volatile\"}")?,
        syncs: value("tix_store_syncs_total")?,
        written: node.written_bytes()? as f64,
    })
}

/// What the node asked of its disk (see `disk_counts`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct DiskCounts {
    pub(crate) durable: f64,
    pub(crate) volatile: f64,
    pub(crate) syncs: f64,
    /// Bytes (see `Node::written_bytes`).
    pub(crate) written: f64,
}

impl DiskCounts {
    /// One line: the commits, fsyncs and bytes written between `before` and `self`, per order.
    pub(crate) fn per_order_line(&self, before: &DiskCounts, orders: u64) -> String {
        let per = |now: f64, was: f64| (now - was) / orders.max(1) as f64;
        format!(
            "{:.3} durable commits, {:.3} volatile commits, {:.3} fsyncs per order; {:.1} KB written per order",
            per(self.durable, before.durable),
            per(self.volatile, before.volatile),
            per(self.syncs, before.syncs),
            per(self.written, before.written) / 1000.0
        )
    }
}

/// Starts, stops and kills the node; at most one runs at a time.
pub(crate) struct Harness {
    bin: PathBuf,
    data_dir: PathBuf,
    lock_ttl: Duration,
    extra_args: Vec<String>,
    node: Option<Node>,
}

impl Harness {
    pub(crate) fn new(bin: PathBuf, data_dir: &Path, lock_ttl: Duration) -> Self {
        Self {
            bin,
            data_dir: data_dir.to_owned(),
            lock_ttl,
            extra_args: Vec::new(),
            node: None,
        }
    }

    /// Passes `args` to every node started from now on.
    pub(crate) fn set_extra_args(&mut self, args: Vec<String>) {
        self.extra_args = args;
    }

    pub(crate) fn bin(&self) -> &Path {
        &self.bin
    }

    pub(crate) fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub(crate) fn node(&self) -> Result<&Node> {
        self.node.as_ref().context("the node is not running")
    }

    /// Spawns the node on `127.0.0.1:0` and waits for its "serving" log line.
    pub(crate) async fn start(&mut self) -> Result<&Node> {
        if self.node.is_some() {
            bail!("the node is already running");
        }
        let spawned_at = Instant::now();
        // Every client of a benchmark is one loopback address signing up many buyers at once: the
        // per-client limits meant for the public are lifted (the hashing queue stays as it is).
        let mut args = vec![
            "--lock-ttl".to_owned(),
            format!("{}ms", self.lock_ttl.as_millis()),
            // A few load connections each hold many orders: the per-account cap on open orders
            // (a guard against hoarding) is not what is measured.
            "--max-open-orders".to_owned(),
            "0".to_owned(),
            "--max-connections".to_owned(),
            "10000".to_owned(),
            "--max-connections-per-address".to_owned(),
            "10000".to_owned(),
            "--sign-in-attempts-per-address".to_owned(),
            "1000000".to_owned(),
        ];
        args.extend(self.extra_args.iter().cloned());
        let options = NodeOptions {
            args,
            ..NodeOptions::default()
        };
        let served =
            block_in_place(|| spawn_node(&self.bin, &self.data_dir, &options, READY_TIMEOUT))?;
        let addr = served.socket_addr();
        if !addr.ip().is_loopback() {
            bail!("the node listens on {addr}, not on loopback");
        }
        Ok(self.node.insert(Node {
            served,
            addr,
            spawned_at,
        }))
    }

    /// SIGTERM, then waits for the node to exit; returns how long the shutdown took.
    pub(crate) async fn stop(&mut self) -> Result<Duration> {
        let node = self.node.take().context("the node is not running")?;
        let started = Instant::now();
        let status = block_in_place(|| node.served.stop(STOP_TIMEOUT))?;
        if !status.success() {
            eprintln!("warning: the node exited with {status} after SIGTERM");
        }
        Ok(started.elapsed())
    }

    /// SIGKILL, then waits for the process to be gone.
    pub(crate) async fn kill9(&mut self) -> Result<()> {
        let node = self.node.take().context("the node is not running")?;
        block_in_place(|| node.served.kill9());
        Ok(())
    }

    /// Stops a node that is still running, at the end of a run or after an error.
    pub(crate) async fn shutdown(&mut self) {
        if self.node.is_some()
            && let Err(error) = self.stop().await
        {
            eprintln!("warning: stopping the node: {error:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_from_proc_lines_with_or_without_a_unit() {
        let status = "Name:\ttix-node\nVmHWM:\t  20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(proc_number(status, "VmRSS:").unwrap(), 10240);
        let io = "rchar: 1\nwrite_bytes: 921600\ncancelled_write_bytes: 4096\n";
        assert_eq!(proc_number(io, "write_bytes:").unwrap(), 921_600);
        assert!(proc_number(io, "read_bytes:").is_err());
    }
}
