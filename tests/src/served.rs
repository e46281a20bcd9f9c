//! A Tix server process (`tix-node`, `tix-hub`) that has said where it serves: both log JSON
//! and print `{"fields": {"message": "serving", "addr": "127.0.0.1:PORT"}}` once they listen,
//! which is what `serve` waits for. Start one on `127.0.0.1:0` and read its port from there.

use std::net::SocketAddr;
use std::process::{Command, ExitStatus};
use std::time::Duration;

use anyhow::{Result, bail};

use crate::log::Missing;
use crate::process::Process;

/// How long a test gives a graceful stop.
const STOP_LIMIT: Duration = Duration::from_secs(30);

/// A running server and its address.
pub struct Served {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    process: Process,
}

/// Spawns `command` and waits at most `limit` for its "serving" line; when it does not come, the
/// process is killed and the error holds its log.
pub fn serve(command: Command, what: &str, limit: Duration) -> Result<Served> {
    let mut process = Process::spawn(command, what)?;
    let why = match process.log().wait_for(limit, serving_addr) {
        Ok(addr) => return Ok(Served { addr, process }),
        Err(Missing::Ended) => "it exited".to_owned(),
        Err(Missing::TimedOut) => format!("no \"serving\" line within {limit:?}"),
    };
    process.kill9();
    bail!(
        "{what} did not start: {why}; its log:\n{}",
        process.log().text()
    )
}

/// The `addr` of a JSON log line whose message is "serving".
fn serving_addr(line: &str) -> Option<String> {
    let entry: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = &entry["fields"];
    if fields["message"] != "serving" {
        return None;
    }
    fields["addr"].as_str().map(str::to_owned)
}

impl Served {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn socket_addr(&self) -> SocketAddr {
        self.addr
            .parse()
            .expect("a socket address in the serving line")
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Log lines printed so far.
    pub fn log(&self) -> Vec<String> {
        self.process.log().lines()
    }

    /// Sends `signal` (e.g. `-STOP`) to the process; see [`Process::signal`].
    pub fn signal(&self, signal: &str) -> Result<()> {
        self.process.signal(signal)
    }

    /// SIGKILL: the process gets no chance to clean up.
    pub fn kill9(mut self) {
        self.process.kill9();
    }

    /// SIGTERM and a wait of at most `limit` for it to exit.
    pub fn stop(mut self, limit: Duration) -> Result<ExitStatus> {
        self.process.terminate(limit)
    }

    /// SIGTERM, then waits (bounded) for a graceful exit; panics when it does not come.
    pub fn terminate(self) -> ExitStatus {
        self.stop(STOP_LIMIT).unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// Like `terminate`, and panics unless the exit is clean (status 0).
    pub fn stop_cleanly(self) {
        let status = self.terminate();
        assert!(status.success(), "exit status {status}");
    }
}
