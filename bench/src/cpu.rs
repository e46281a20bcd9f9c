//! How busy the machine's CPUs were over a stretch, from `/proc/stat`: every process counted
//! (the load generator too), so a run whose cores were all busy shows it was bound by CPU rather
//! than by waiting on something; and which programs took that time, from `/proc/<pid>/stat`.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::node::Node;

/// The kernel's CPU counters at one instant, in clock ticks summed over all cores, and each live
/// process's.
pub(crate) struct CpuSample {
    busy: u64,
    total: u64,
    /// Command name and CPU ticks used so far, by process id.
    processes: HashMap<u32, (String, u64)>,
}

/// The share of all cores' time one program (every process of that command name) took.
pub(crate) struct ProgramShare {
    pub(crate) command: String,
    pub(crate) share: f64,
}

impl CpuSample {
    pub(crate) fn now() -> Result<CpuSample> {
        let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
        let line = stat
            .lines()
            .find(|l| l.starts_with("cpu "))
            .context("no cpu line in /proc/stat")?;
        let ticks: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .context("a cpu counter in /proc/stat")?;
        // user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
        let total: u64 = ticks.iter().take(8).sum();
        let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
        Ok(CpuSample {
            busy: total - idle,
            total,
            processes: processes(),
        })
    }

    /// The share (0 to 1) of all cores' time that was busy since `self`.
    pub(crate) fn busy_share_since(&self) -> Result<f64> {
        let now = CpuSample::now()?;
        let total = now.total.saturating_sub(self.total).max(1);
        Ok(now.busy.saturating_sub(self.busy) as f64 / total as f64)
    }

    /// The share (0 to 1) of all cores' time each program took since `self`, most first. A
    /// process that ended in between is not counted; one that started counts from its start.
    pub(crate) fn programs_since(&self) -> Result<Vec<ProgramShare>> {
        let now = CpuSample::now()?;
        let total = now.total.saturating_sub(self.total).max(1);
        let mut by_command: HashMap<String, u64> = HashMap::new();
        for (pid, (command, ticks)) in &now.processes {
            let before = self.processes.get(pid).map_or(0, |(_, t)| *t);
            *by_command.entry(command.clone()).or_default() += ticks.saturating_sub(before);
        }
        let mut shares: Vec<ProgramShare> = by_command
            .into_iter()
            .filter(|(_, ticks)| *ticks > 0)
            .map(|(command, ticks)| ProgramShare {
                command,
                share: ticks as f64 / total as f64,
            })
            .collect();
        shares.sort_by(|a, b| b.share.total_cmp(&a.share));
        Ok(shares)
    }
}

/// Every live process's command name and CPU ticks; processes that end while being read are left
/// out.
fn processes() -> HashMap<u32, (String, u64)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, tix_tests::cpu_ticks(pid).ok()?)))
        .collect()
}

/// The CPU time the node and this load generator had used at one instant, to share out over the
/// requests of a phase. CPU per request moves far less with a noisy neighbour than a rate does,
/// so it shows what a change saved even when requests per second cannot.
#[derive(Default)]
pub(crate) struct Spent {
    node: Duration,
    bench: Duration,
}

/// CPU per request over a phase, in microseconds.
pub(crate) struct PerRequest {
    pub(crate) node: f64,
    pub(crate) bench: f64,
}

impl Spent {
    pub(crate) fn now(node: &Node) -> Result<Spent> {
        Ok(Spent {
            node: node.cpu_time()?,
            bench: tix_tests::cpu_time(std::process::id())?,
        })
    }

    /// What was spent since `self`.
    pub(crate) fn since(&self, node: &Node) -> Result<Spent> {
        let now = Spent::now(node)?;
        Ok(Spent {
            node: now.node.saturating_sub(self.node),
            bench: now.bench.saturating_sub(self.bench),
        })
    }

    /// Adds a stretch's spending (from `since`) to this sum.
    pub(crate) fn add(&mut self, stretch: &Spent) {
        self.node += stretch.node;
        self.bench += stretch.bench;
    }

    /// What each of `requests` cost, when `self` is what they spent.
    pub(crate) fn per_request(&self, requests: u64) -> PerRequest {
        let micros = |spent: Duration| spent.as_secs_f64() * 1e6 / requests.max(1) as f64;
        PerRequest {
            node: micros(self.node),
            bench: micros(self.bench),
        }
    }
}
