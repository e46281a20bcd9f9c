//! A child process in its own process group, so that ending it ends everything it started (a
//! WebDriver's browsers, tauri-driver's WebKitWebDriver). Its stdin is closed; its stdout and
//! stderr go to a `Log`. Dropped while running, the whole group gets SIGKILL and the child is
//! reaped. Signals are sent with `kill(1)`: the workspace allows no unsafe code.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::log::{Log, Stream};

/// A running child and its captured output.
pub struct Process {
    /// `None` once reaped.
    child: Option<Child>,
    pid: u32,
    what: String,
    log: Log,
}

impl Process {
    /// Spawns `command` as the leader of a new process group; `what` names it in messages.
    pub fn spawn(mut command: Command, what: &str) -> Result<Process> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {what} ({:?})", command.get_program()))?;
        let pid = child.id();
        let log = Log::default();
        let who = format!("{what}[{pid}]");
        if let Some(stdout) = child.stdout.take() {
            log.follow(stdout, Stream::Stdout, who.clone());
        }
        if let Some(stderr) = child.stderr.take() {
            log.follow(stderr, Stream::Stderr, who);
        }
        Ok(Process {
            child: Some(child),
            pid,
            what: what.to_owned(),
            log,
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// What the process is, as named when spawned.
    pub fn what(&self) -> &str {
        &self.what
    }

    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Its exit status if it has exited (and is now reaped).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let status = child.try_wait().ok().flatten()?;
        self.child = None;
        Some(status)
    }

    /// SIGKILL to the whole group, then reaps the leader: nothing gets a chance to clean up.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal_group(self.pid, "-KILL");
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (e.g. `-HUP`, `-STOP`) to the leader alone; an error when kill(1) fails,
    /// for instance because the process is gone.
    pub fn signal(&self, signal: &str) -> Result<()> {
        signal_one(self.pid, &self.what, signal)
    }

    /// SIGTERM to the leader, and a wait of at most `limit` for it to exit. When it does not, the
    /// group is killed and the answer is an error.
    pub fn terminate(&mut self, limit: Duration) -> Result<ExitStatus> {
        let Some(child) = self.child.as_mut() else {
            bail!("{} is not running", self.what);
        };
        signal_one(self.pid, &self.what, "-TERM")?;
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = child.try_wait()? {
                self.child = None;
                return Ok(status);
            }
            if Instant::now() > deadline {
                self.kill9();
                bail!(
                    "{} did not stop within {limit:?} of SIGTERM; killed it",
                    self.what
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Sends `signal` to the one process `pid` (`what`, for the message); an error when kill(1) fails,
/// for instance because the process is gone.
fn signal_one(pid: u32, what: &str, signal: &str) -> Result<()> {
    let sent = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .with_context(|| format!("running kill {signal}"))?;
    if !sent.success() {
        bail!("kill {signal} {pid} ({what}) failed: {sent}");
    }
    Ok(())
}

/// Sends `signal` (e.g. `-KILL`) to every process of the group `pgid`; a group already gone is
/// not an error.
fn signal_group(pgid: u32, signal: &str) {
    let group = format!("-{pgid}");
    let _ = Command::new("kill")
        .args([signal, "--", &group])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// CPU time (user + system, all threads) the live process `pid` has used so far, from
/// `/proc/<pid>/stat`; for bounding busy loops, not for measuring performance.
pub fn cpu_time(pid: u32) -> Result<Duration> {
    let (_, used) = cpu_ticks(pid)?;
    Ok(Duration::from_secs_f64(
        used as f64 / clock_ticks_per_second()? as f64,
    ))
}

/// The command name of the live process `pid` and the CPU it has used so far (user + system, all
/// threads) in clock ticks, the unit of `/proc/stat`, from `/proc/<pid>/stat`.
pub fn cpu_ticks(pid: u32) -> Result<(String, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let (before, after_name) = stat
        .rsplit_once(')')
        .context("no command name in /proc/<pid>/stat")?;
    let command = before
        .split_once('(')
        .map_or("", |(_, name)| name)
        .to_owned();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime), numbered from 1 with the state (field 3) at index 0.
    let ticks = |index: usize| -> Result<u64> {
        let field = fields.get(index).context("/proc/<pid>/stat is too short")?;
        field
            .parse()
            .with_context(|| format!("CPU ticks {field:?} in /proc/{pid}/stat"))
    };
    Ok((command, ticks(11)? + ticks(12)?))
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`; the workspace allows no unsafe code to
/// ask `sysconf` directly).
fn clock_ticks_per_second() -> Result<u64> {
    let output = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .context("running getconf CLK_TCK")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let ticks: u64 = text
        .trim()
        .parse()
        .with_context(|| format!("getconf CLK_TCK said {text:?}"))?;
    if ticks == 0 {
        bail!("getconf CLK_TCK said 0");
    }
    Ok(ticks)
}
