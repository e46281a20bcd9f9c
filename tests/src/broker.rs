//! A Mosquitto broker of our own on a free loopback port, with config, password file and log in a
//! temporary directory. The config is the shipped one (`packaging/mosquitto/mosquitto.conf`) with
//! this broker's listener, files and queue limit, and no persistence; accounts are checked against
//! the shipped ACL (`packaging/mosquitto/acl`), or the broker is anonymous (no ACL, and client ids
//! are not bound to usernames, since there are none).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::binaries::{system_tool, workspace_dir};
use crate::ports::{free_port, listening};
use crate::process::Process;

/// The hub's broker account.
pub const HUB_USER: &str = "tix-hub";
/// How many messages the shipped config queues per client.
pub const SHIPPED_MAX_QUEUED: u32 = 200_000;
/// The shipped setting that binds client ids to usernames; an anonymous broker has no usernames.
const BY_USERNAME: &str = "use_username_as_clientid";
/// Settings of the shipped config this broker sets for itself.
const OWN_SETTINGS: [&str; 8] = [
    "listener",
    "allow_anonymous",
    "password_file",
    "acl_file",
    "max_queued_messages",
    "persistence",
    "persistence_location",
    "autosave_interval",
];

/// A broker; killed when dropped.
pub struct Broker {
    pub port: u16,
    dir: tempfile::TempDir,
    process: Option<Process>,
}

impl Broker {
    /// A broker whose accounts are `accounts` (user, password) under the shipped ACL, with at most
    /// `max_queued` messages queued per client (past that, Mosquitto silently drops messages for a
    /// subscriber that is away or slow).
    pub fn spawn(accounts: &[(String, String)], max_queued: u32) -> Result<Broker> {
        let dir = tempfile::tempdir().context("a temporary dir for mosquitto")?;
        let passwd = dir.path().join("passwd");
        for (n, (user, pass)) in accounts.iter().enumerate() {
            let mut command = Command::new(system_tool("mosquitto_passwd")?);
            command.arg("-b");
            if n == 0 {
                command.arg("-c");
            }
            let status = command
                .arg(&passwd)
                .args([user, pass])
                .stdout(Stdio::null())
                .status()
                .context("running mosquitto_passwd")?;
            ensure!(
                status.success(),
                "mosquitto_passwd for {user} failed: {status}"
            );
        }
        let acl = packaging("acl")?;
        let own = format!(
            "allow_anonymous false\npassword_file {}\nacl_file {}\n",
            passwd.display(),
            acl.display()
        );
        Broker::configured(dir, &own, max_queued, &[])
    }

    /// A broker anyone may use for anything (measuring transport, not authentication).
    pub fn spawn_anonymous(max_queued: u32) -> Result<Broker> {
        let dir = tempfile::tempdir().context("a temporary dir for mosquitto")?;
        Broker::configured(dir, "allow_anonymous true\n", max_queued, &[BY_USERNAME])
    }

    /// Like `spawn`, for tests: panics with the broker's log when it does not start.
    pub fn start(accounts: &[(String, String)], max_queued: u32) -> Broker {
        Broker::spawn(accounts, max_queued).unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// The shipped config with this broker's `own` settings, less the shipped ones in `without`.
    fn configured(
        dir: tempfile::TempDir,
        own: &str,
        max_queued: u32,
        without: &[&str],
    ) -> Result<Broker> {
        let shipped = std::fs::read_to_string(packaging("mosquitto.conf")?)
            .context("reading packaging/mosquitto/mosquitto.conf")?;
        let port = free_port();
        // The listener first, as in the shipped file: listener settings apply to the one above them.
        let conf = format!(
            "listener {port} 127.0.0.1\n{}{own}max_queued_messages {max_queued}\n\
             log_dest file {}\nuser root\n",
            kept_settings(&shipped, without),
            dir.path().join("mosquitto.log").display(),
        );
        std::fs::write(dir.path().join("mosquitto.conf"), conf)?;
        let mut broker = Broker {
            port,
            dir,
            process: None,
        };
        broker.respawn()?;
        Ok(broker)
    }

    /// Starts the broker process (again) on the same port, and waits until it accepts connections.
    pub fn respawn(&mut self) -> Result<()> {
        ensure!(self.process.is_none(), "the broker is already running");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mut command = Command::new(system_tool("mosquitto")?);
            command
                .arg("-c")
                .arg(self.dir.path().join("mosquitto.conf"));
            let mut process = Process::spawn(command, "mosquitto")?;
            while Instant::now() < deadline {
                if listening(self.port) {
                    self.process = Some(process);
                    return Ok(());
                }
                if process.exited().is_some() {
                    break; // the port may still be held by the killed broker: try again
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            drop(process);
            if Instant::now() >= deadline {
                bail!("mosquitto did not start; log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Like `respawn`, for tests.
    pub fn restart(&mut self) {
        self.respawn().unwrap_or_else(|e| panic!("{e:#}"));
    }

    /// SIGKILL; `restart` brings it back on the same port.
    pub fn kill9(&mut self) {
        let mut process = self.process.take().expect("the broker is running");
        process.kill9();
    }

    /// `mqtt://user:pass@127.0.0.1:PORT`.
    pub fn url(&self, user: &str, pass: &str) -> String {
        format!("mqtt://{user}:{pass}@127.0.0.1:{}", self.port)
    }

    /// `mqtt://127.0.0.1:PORT`, for an anonymous broker.
    pub fn anonymous_url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// What the broker wrote to its log file.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }
}

/// The shipped config's settings, less the ones each broker sets for itself and `without`.
fn kept_settings(shipped: &str, without: &[&str]) -> String {
    shipped
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter(|line| {
            let key = line.split_whitespace().next().unwrap_or_default();
            !OWN_SETTINGS.contains(&key) && !without.contains(&key)
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

/// A file of `packaging/mosquitto/`, absolute.
fn packaging(name: &str) -> Result<PathBuf> {
    let path = workspace_dir()
        .join("packaging")
        .join("mosquitto")
        .join(name);
    path.canonicalize()
        .with_context(|| format!("{} is missing", path.display()))
}

#[cfg(test)]
mod tests {
    use super::{BY_USERNAME, kept_settings};

    #[test]
    fn the_shipped_config_keeps_its_limits_but_not_its_listener_files_or_persistence() {
        let shipped = std::fs::read_to_string(super::packaging("mosquitto.conf").unwrap()).unwrap();
        let kept = kept_settings(&shipped, &[]);
        assert!(kept.contains("message_size_limit 262144"), "{kept}");
        assert!(kept.contains("use_username_as_clientid true"), "{kept}");
        assert!(!kept_settings(&shipped, &[BY_USERNAME]).contains(BY_USERNAME));
        assert!(kept.contains("max_inflight_messages 100"), "{kept}");
        for own in [
            "listener",
            "password_file",
            "acl_file",
            "persistence",
            "max_queued",
        ] {
            assert!(!kept.contains(own), "{own} in {kept}");
        }
    }
}
