//! A child's captured output: every line of its stdout and stderr, in arrival order, read by one
//! thread per stream so that the pipes never fill. Lines past `KEPT` are dropped oldest first.
//! Waiting for a line scans each line once. Lines on stderr, and the first few warnings and
//! errors of a JSON log, are echoed (under the test's own output capture) as they arrive.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How many lines are kept.
const KEPT: usize = 100_000;
/// How many warning or error lines of a JSON log are echoed.
const ECHOED_WARNINGS: usize = 10;

/// The shared, growing log of one child.
#[derive(Clone, Default)]
pub struct Log {
    inner: Arc<(Mutex<Lines>, Condvar)>,
}

#[derive(Default)]
struct Lines {
    kept: VecDeque<String>,
    /// How many lines were dropped from the front.
    dropped: usize,
    /// How many of the streams have ended.
    ended: usize,
    echoed: usize,
}

/// The two streams a child writes to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Why a wait for a line gave up.
#[derive(Debug, PartialEq, Eq)]
pub enum Missing {
    /// Both streams ended (the child exited) without the line.
    Ended,
    /// The time ran out.
    TimedOut,
}

impl Log {
    /// Reads `stream` into the log on a thread of its own; `who` prefixes echoed lines.
    pub fn follow(&self, reader: impl Read + Send + 'static, stream: Stream, who: String) {
        let log = self.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(reader).lines() {
                let Ok(line) = line else { break };
                log.push(line, stream, &who);
            }
            log.lock().ended += 1;
            log.inner.1.notify_all();
        });
    }

    fn lock(&self) -> MutexGuard<'_, Lines> {
        self.inner
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn push(&self, line: String, stream: Stream, who: &str) {
        let mut lines = self.lock();
        if stream == Stream::Stderr {
            eprintln!("{who}: {line}");
        } else if lines.echoed < ECHOED_WARNINGS && is_warning(&line) {
            lines.echoed += 1;
            eprintln!("{who}: {line}");
        }
        if lines.kept.len() == KEPT {
            lines.kept.pop_front();
            lines.dropped += 1;
        }
        lines.kept.push_back(line);
        drop(lines);
        self.inner.1.notify_all();
    }

    /// Every kept line.
    pub fn lines(&self) -> Vec<String> {
        self.lock().kept.iter().cloned().collect()
    }

    /// Every kept line, one per line: for a failure message.
    pub fn text(&self) -> String {
        self.lines().join("\n")
    }

    /// Waits for the first line `find` answers something for, at most `limit`.
    pub fn wait_for<T>(
        &self,
        limit: Duration,
        mut find: impl FnMut(&str) -> Option<T>,
    ) -> Result<T, Missing> {
        let deadline = Instant::now() + limit;
        let mut next = 0;
        let mut lines = self.lock();
        loop {
            let start = next.max(lines.dropped);
            for line in lines.kept.iter().skip(start - lines.dropped) {
                if let Some(found) = find(line) {
                    return Ok(found);
                }
            }
            next = lines.dropped + lines.kept.len();
            if lines.ended == 2 {
                return Err(Missing::Ended);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Missing::TimedOut);
            }
            lines = self
                .inner
                .1
                .wait_timeout(lines, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }
}

/// Whether a JSON log line is at level WARN or ERROR.
fn is_warning(line: &str) -> bool {
    let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else {
        return false;
    };
    matches!(entry["level"].as_str(), Some("WARN" | "ERROR"))
}
