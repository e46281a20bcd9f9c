//! How busy the machine's CPUs were over a stretch, from `/proc/stat`: every process counted
//! (the load generator too), so a run whose cores were all busy shows it was bound by CPU rather
//! than by waiting on something.

use anyhow::{Context, Result};

/// The kernel's CPU counters at one instant, in clock ticks summed over all cores.
pub(crate) struct CpuSample {
    busy: u64,
    total: u64,
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
        })
    }

    /// The share (0 to 1) of all cores' time that was busy since `self`.
    pub(crate) fn busy_share_since(&self) -> Result<f64> {
        let now = CpuSample::now()?;
        let total = now.total.saturating_sub(self.total).max(1);
        Ok(now.busy.saturating_sub(self.busy) as f64 / total as f64)
    }
}
