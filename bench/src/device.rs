//! The block device under the node's data dir: what it did during a phase (`/proc/diskstats`), and
//! how many random page writes it takes when nothing else asks anything of it.
//!
//! An order's commits write pages at random places in the store files (a B-tree leaf per table it
//! changes), and a device's cost is mostly per request, not per byte. So the figure that bounds the
//! writer is write requests per second, and the way to read it is as a share of what the device
//! takes alone, measured in the same run, as `/hello` is for HTTP. The counters are the device's,
//! not the node's: anything else writing to it in that time is counted too.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rand::Rng;

/// Where the probe's page writes land: a file of this size per writer, written with zeros first.
const PROBE_FILE_BYTES: u64 = 64 << 20;
/// The page size of the stores (redb's) and of the probe's writes.
const PAGE: usize = 4096;

/// The block device holding a directory, as `/proc/diskstats` names it.
pub(crate) struct Device {
    major: u64,
    minor: u64,
    pub(crate) name: String,
}

/// A device's cumulative counters at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeviceCounts {
    writes: u64,
    sectors_written: u64,
    flushes: u64,
    /// Milliseconds with at least one request in flight.
    busy_ms: u64,
    at: Instant,
}

impl Device {
    /// The device of the file system `dir` is on; `None` when `/proc/diskstats` has no line for
    /// it (a tmpfs, an overlay, a network file system).
    pub(crate) fn of(dir: &Path) -> Result<Option<Device>> {
        let dev = std::fs::metadata(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .dev();
        let (major, minor) = split_dev(dev);
        let stats =
            std::fs::read_to_string("/proc/diskstats").context("reading /proc/diskstats")?;
        Ok(stats.lines().find_map(|line| {
            parse_line(line, major, minor)?;
            Some(Device {
                major,
                minor,
                name: line.split_whitespace().nth(2)?.to_owned(),
            })
        }))
    }

    pub(crate) fn counts(&self) -> Result<DeviceCounts> {
        let stats =
            std::fs::read_to_string("/proc/diskstats").context("reading /proc/diskstats")?;
        stats
            .lines()
            .find_map(|line| parse_line(line, self.major, self.minor))
            .with_context(|| format!("{} is gone from /proc/diskstats", self.name))
    }
}

/// The major and minor numbers packed in a `st_dev` (glibc's `gnu_dev_major`/`gnu_dev_minor`).
fn split_dev(dev: u64) -> (u64, u64) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & 0xffff_f000);
    let minor = (dev & 0xff) | ((dev >> 12) & 0xffff_ff00);
    (major, minor)
}

/// The counters on a `/proc/diskstats` line, if it is the device `major:minor`. The fields after
/// the name: reads (4), writes completed, merged, sectors written, ms writing, in flight, ms busy,
/// weighted ms (7), discards (4), flushes completed, ms flushing; kernels before 5.5 stop before
/// the flushes, which then count as none.
fn parse_line(line: &str, major: u64, minor: u64) -> Option<DeviceCounts> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let number = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    if number(0)? != major || number(1)? != minor {
        return None;
    }
    Some(DeviceCounts {
        writes: number(7)?,
        sectors_written: number(9)?,
        busy_ms: number(12)?,
        flushes: number(18).unwrap_or(0),
        at: Instant::now(),
    })
}

impl DeviceCounts {
    /// What the device did between `before` and `self`.
    pub(crate) fn since(&self, before: &DeviceCounts) -> DeviceSpan {
        DeviceSpan {
            writes: self.writes.saturating_sub(before.writes),
            bytes: self.sectors_written.saturating_sub(before.sectors_written) * 512,
            flushes: self.flushes.saturating_sub(before.flushes),
            busy_ms: self.busy_ms.saturating_sub(before.busy_ms),
            took: self.at.duration_since(before.at),
        }
    }
}

/// What a device did over one or more stretches of time (`DeviceCounts::since`, `add`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct DeviceSpan {
    writes: u64,
    bytes: u64,
    flushes: u64,
    busy_ms: u64,
    took: Duration,
}

impl DeviceSpan {
    pub(crate) fn add(&mut self, other: &DeviceSpan) {
        self.writes += other.writes;
        self.bytes += other.bytes;
        self.flushes += other.flushes;
        self.busy_ms += other.busy_ms;
        self.took += other.took;
    }

    /// One line: the write requests and flushes per `item` (of which there were `count`) and
    /// per second, and how much of the time the device had requests in flight.
    pub(crate) fn per_item_line(&self, count: u64, item: &str) -> String {
        let writes = self.writes as f64;
        let count = count.max(1) as f64;
        let busy = self.busy_ms as f64 / 1000.0 / self.took.as_secs_f64().max(1e-9);
        format!(
            "{:.1} write requests ({:.1} KB each) and {:.3} flushes per {item}; {:.0} writes/s, requests in flight {:.0} % of the time",
            writes / count,
            self.bytes as f64 / writes.max(1.0) / 1000.0,
            self.flushes as f64 / count,
            self.writes_per_second(),
            busy * 100.0
        )
    }

    pub(crate) fn writes_per_second(&self) -> f64 {
        self.writes as f64 / self.took.as_secs_f64().max(1e-9)
    }
}

/// What the device took alone (see `random_writes`).
pub(crate) struct Capacity {
    pub(crate) pages_per_second: f64,
    pub(crate) writers: usize,
    pub(crate) pages_per_sync: usize,
}

/// Page writes per second the file system under `dir` takes alone: `writers` threads, each on a
/// file of its own, writing `pages_per_sync` pages of 4 KiB at random places and then calling
/// `fdatasync`, as a commit of the stores does, for `duration`. The files are removed after.
pub(crate) fn random_writes(
    dir: &Path,
    writers: usize,
    pages_per_sync: usize,
    duration: Duration,
) -> Result<Capacity> {
    let paths: Vec<PathBuf> = (0..writers)
        .map(|i| dir.join(format!("device-probe-{i}.bin")))
        .collect();
    let written = std::thread::scope(|scope| {
        let threads: Vec<_> = paths
            .iter()
            .map(|path| scope.spawn(move || write_randomly(path, pages_per_sync, duration)))
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("a probe thread panicked"))
            .collect::<Result<Vec<(u64, Duration)>>>()
    });
    for path in &paths {
        let _ = std::fs::remove_file(path);
    }
    let written = written?;
    let pages: u64 = written.iter().map(|(pages, _)| pages).sum();
    let longest = written
        .iter()
        .map(|(_, took)| *took)
        .max()
        .unwrap_or_default();
    if pages == 0 {
        bail!("the device probe wrote nothing in {duration:?}");
    }
    Ok(Capacity {
        pages_per_second: pages as f64 / longest.as_secs_f64().max(1e-9),
        writers,
        pages_per_sync,
    })
}

/// One probe writer: fills its file (so that no write below allocates blocks), then writes and
/// syncs until `duration` has passed. Answers the pages written after the fill and how long that took.
fn write_randomly(
    path: &Path,
    pages_per_sync: usize,
    duration: Duration,
) -> Result<(u64, Duration)> {
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    let zeros = vec![0u8; 1 << 20];
    for offset in (0..PROBE_FILE_BYTES).step_by(zeros.len()) {
        file.write_all_at(&zeros, offset)?;
    }
    file.sync_all()?;
    let mut rng = rand::rng();
    let mut page = vec![0u8; PAGE];
    let slots = PROBE_FILE_BYTES / PAGE as u64;
    let started = Instant::now();
    let mut pages = 0;
    while started.elapsed() < duration {
        for _ in 0..pages_per_sync {
            rng.fill(&mut page[..]);
            file.write_all_at(&page, rng.random_range(0..slots) * PAGE as u64)?;
        }
        file.sync_data()?;
        pages += pages_per_sync as u64;
    }
    Ok((pages, started.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // A line as a 6.x kernel writes it (20 fields: with discards and flushes).
    const LINE: &str = " 254       0 vda 465531 17878 23811482 1166578 21125698 203994 285602744 16498529 0 488508 17757043 290097 4 25027232 34934 1065787 57001";

    #[test]
    fn a_diskstats_line_gives_the_write_counters_of_its_device_only() {
        let counts = parse_line(LINE, 254, 0).expect("the device's line");
        assert_eq!(counts.writes, 21_125_698);
        assert_eq!(counts.sectors_written, 285_602_744);
        assert_eq!(counts.busy_ms, 488_508);
        assert_eq!(counts.flushes, 1_065_787);
        assert!(parse_line(LINE, 254, 1).is_none());
        assert!(parse_line(LINE, 8, 0).is_none());
    }

    #[test]
    fn a_line_from_before_flushes_were_counted_counts_none() {
        let old = "   8       0 sda 100 0 800 10 200 5 1600 20 0 30 30";
        let counts = parse_line(old, 8, 0).expect("the device's line");
        assert_eq!(
            (counts.writes, counts.flushes, counts.busy_ms),
            (200, 0, 30)
        );
    }

    /// glibc's `makedev`: the minor's low byte and the major's low 12 bits in the low word.
    fn makedev(major: u64, minor: u64) -> u64 {
        ((major & 0xfff) << 8) | ((major & !0xfff) << 32) | (minor & 0xff) | ((minor & !0xff) << 12)
    }

    #[test]
    fn device_numbers_come_apart_as_glibc_packs_them() {
        assert_eq!(split_dev(0xfe00), (254, 0));
        assert_eq!(split_dev(0x811), (8, 17));
        for (major, minor) in [(259, 65_536), (4_099, 300), (8, 0)] {
            assert_eq!(split_dev(makedev(major, minor)), (major, minor));
        }
    }

    #[test]
    fn the_figures_per_order_come_from_the_differences_summed() {
        let before = parse_line(LINE, 254, 0).unwrap();
        let after = |writes: u64, flushes: u64, busy_ms: u64| DeviceCounts {
            writes: before.writes + writes,
            sectors_written: before.sectors_written + writes * 8,
            flushes: before.flushes + flushes,
            busy_ms: before.busy_ms + busy_ms,
            at: before.at + Duration::from_secs(1),
        };
        let mut span = after(3_000, 100, 200).since(&before);
        span.add(&after(1_000, 30, 60).since(&before));
        assert_eq!(
            span.per_item_line(1_000, "order"),
            "4.0 write requests (4.1 KB each) and 0.130 flushes per order; 2000 writes/s, requests in flight 13 % of the time"
        );
        assert_eq!(span.writes_per_second(), 2_000.0);
    }
}
