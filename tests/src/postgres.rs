//! A PostgreSQL server of our own: Debian's server binaries, a fresh cluster made by `initdb` in a
//! temporary directory, listening on a free loopback port only, with trust authentication (only
//! this machine's loopback reaches it). Each test takes a database of its own (`database`).
//!
//! PostgreSQL refuses to run as root: run as root (as CI is), the cluster belongs to Debian's
//! `postgres` account, and its programs run as that account through `setpriv`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::binaries::system_tool;
use crate::ports::free_port;
use crate::process::Process;

/// The account of Debian's PostgreSQL packages.
const ACCOUNT: &str = "postgres";

/// A server; killed when dropped.
pub struct Postgres {
    pub port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// Run as `postgres` (when this process is root).
    as_account: bool,
    process: Option<Process>,
    databases: AtomicU32,
}

impl Postgres {
    /// A new cluster, started.
    pub fn spawn() -> Result<Postgres> {
        let bin = server_bin()?;
        let dir = tempfile::tempdir().context("a temporary dir for PostgreSQL")?;
        let as_account = is_root()?;
        let data = dir.path().join("data");
        std::fs::create_dir(&data)?;
        if as_account {
            let (uid, gid) = account_ids()?;
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))?;
            std::os::unix::fs::chown(&data, Some(uid), Some(gid))?;
        }
        let mut server = Postgres {
            port: free_port(),
            dir,
            bin,
            as_account,
            process: None,
            databases: AtomicU32::new(0),
        };
        let initdb = server
            .command("initdb")?
            .arg("-D")
            .arg(&data)
            .args(["-U", ACCOUNT, "--auth=trust", "--no-sync", "-E", "UTF8"])
            .args(["--locale=C.UTF-8"])
            .stdout(Stdio::null())
            .output()
            .context("running initdb")?;
        ensure!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        server.respawn()?;
        Ok(server)
    }

    /// Like `spawn`, for tests: panics with what went wrong.
    pub fn start() -> Postgres {
        Postgres::spawn().unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// Starts the server (again) on its port and data, and waits until it answers queries.
    pub fn respawn(&mut self) -> Result<()> {
        ensure!(self.process.is_none(), "PostgreSQL is already running");
        let mut command = self.command("postgres")?;
        command
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.path().display()
            ))
            .args(["-c", "max_connections=100", "-c", "shared_buffers=64MB"]);
        let mut process = Process::spawn(command, "postgres")?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.psql("postgres", "SELECT 1").is_ok() {
                self.process = Some(process);
                return Ok(());
            }
            if let Some(status) = process.exited() {
                bail!("postgres exited ({status}); log:\n{}", process.log().text());
            }
            if Instant::now() > deadline {
                bail!(
                    "postgres did not answer within 30 s; log:\n{}",
                    process.log().text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Like `respawn`, for tests.
    pub fn restart(&mut self) {
        self.respawn().unwrap_or_else(|e| panic!("{e:#}"));
    }

    /// SIGKILL to the server and its backends; `restart` brings it back (it recovers from its
    /// write-ahead log).
    pub fn kill9(&mut self) {
        let mut process = self.process.take().expect("PostgreSQL is running");
        process.kill9();
    }

    /// A new, empty database; answers its URL.
    pub fn database(&self) -> Result<String> {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("tix_{n}");
        self.psql("postgres", &format!("CREATE DATABASE {name}"))?;
        Ok(self.url(&name))
    }

    /// Like `database`, for tests.
    pub fn fresh_database(&self) -> String {
        self.database().unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// `postgres://postgres@127.0.0.1:PORT/NAME`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://{ACCOUNT}@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs one statement with `psql` in database `name`; answers what it printed.
    pub fn psql(&self, name: &str, statement: &str) -> Result<String> {
        let out = Command::new(system_tool("psql")?)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                ACCOUNT,
            ])
            .args(["-d", name, "-v", "ON_ERROR_STOP=1", "-At", "-c", statement])
            .stdin(Stdio::null())
            .output()
            .context("running psql")?;
        ensure!(
            out.status.success(),
            "psql {statement:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// What the server printed.
    pub fn log(&self) -> String {
        self.process
            .as_ref()
            .map(|p| p.log().text())
            .unwrap_or_default()
    }

    /// The server program `name`, as the account that owns the cluster.
    fn command(&self, name: &str) -> Result<Command> {
        let program = self.bin.join(name);
        Ok(if self.as_account {
            let mut command = Command::new(system_tool("setpriv")?);
            command
                .args([
                    "--reuid",
                    ACCOUNT,
                    "--regid",
                    ACCOUNT,
                    "--init-groups",
                    "--",
                ])
                .arg(program)
                .current_dir(self.dir.path());
            command
        } else {
            Command::new(program)
        })
    }
}

/// The newest of Debian's PostgreSQL server directories (`/usr/lib/postgresql/<version>/bin`).
fn server_bin() -> Result<PathBuf> {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .with_context(|| {
            format!(
                "{} not found: scripts/test.sh installs postgresql",
                root.display()
            )
        })?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .context("no PostgreSQL server under /usr/lib/postgresql")
}

fn is_root() -> Result<bool> {
    let out = Command::new("id")
        .arg("-u")
        .output()
        .context("running id -u")?;
    Ok(String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// The uid and gid of the `postgres` account.
fn account_ids() -> Result<(u32, u32)> {
    let id = |flag: &str| -> Result<u32> {
        let out = Command::new("id")
            .args([flag, ACCOUNT])
            .output()
            .context("running id")?;
        ensure!(
            out.status.success(),
            "no {ACCOUNT} account: install postgresql"
        );
        Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
    };
    Ok((id("-u")?, id("-g")?))
}
