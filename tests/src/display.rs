//! An X server of our own (Xvfb) for windows under test: the first free display from :90 up. A
//! display is free when no live server holds its lock; a server killed outright leaves its lock
//! and socket behind, which are removed here so the number can be used again. Two tests may pick
//! the same number at once: the server that loses exits at once, so ours must still run a moment
//! after its socket appears.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::Process;

/// The displays tried.
const NUMBERS: std::ops::Range<u32> = 90..140;

/// A running Xvfb; stopped with SIGTERM (so it removes its lock) when dropped.
pub struct Display {
    /// `:N`, for `DISPLAY`.
    pub name: String,
    server: Process,
}

impl Display {
    pub async fn start() -> Display {
        for number in NUMBERS {
            if !display_free(number) {
                continue;
            }
            let name = format!(":{number}");
            let mut command = Command::new("Xvfb");
            command.args([&name, "-screen", "0", "1280x800x24", "-nolisten", "tcp"]);
            let server = Process::spawn(command, "Xvfb")
                .unwrap_or_else(|e| panic!("{e:#} (scripts/test.sh installs xvfb)"));
            if let Some(server) = settled(server, number).await {
                return Display { name, server };
            }
        }
        panic!(
            "no free X display between :{} and :{}",
            NUMBERS.start,
            NUMBERS.end - 1
        );
    }
}

/// The server, once its socket has been there for a moment and it still runs; `None` when it
/// exited (another took the number) or never made its socket.
async fn settled(mut server: Process, number: u32) -> Option<Process> {
    let socket = format!("/tmp/.X11-unix/X{number}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut since = None;
    while Instant::now() < deadline {
        if server.exited().is_some() {
            return None;
        }
        if Path::new(&socket).exists() {
            let since = *since.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_millis(300) {
                return Some(server);
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    None
}

impl Drop for Display {
    fn drop(&mut self) {
        // A server that lingers is killed with its group by `Process`.
        let _ = self.server.terminate(Duration::from_secs(3));
    }
}

/// Whether display `number` is free (clearing what a killed server left behind).
fn display_free(number: u32) -> bool {
    let lock = format!("/tmp/.X{number}-lock");
    let socket = format!("/tmp/.X11-unix/X{number}");
    match std::fs::read_to_string(&lock) {
        Ok(pid) => {
            if Path::new(&format!("/proc/{}", pid.trim())).exists() {
                return false;
            }
            let _ = std::fs::remove_file(&lock);
            let _ = std::fs::remove_file(&socket);
            true
        }
        Err(_) => !Path::new(&socket).exists(),
    }
}
