//! A disk for tests: a redb storage backend in memory that can be told to fail, and that knows
//! what was synced, so a test can crash it and reopen what a power cut would have left.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use redb::StorageBackend;

/// The shared image of one file: what was written, and what the last `sync_data` made durable.
#[derive(Debug, Default)]
struct Image {
    live: Vec<u8>,
    durable: Vec<u8>,
    failing: bool,
}

/// A handle on a test disk; clones share the same image and switch.
#[derive(Debug, Clone, Default)]
pub(crate) struct TestDisk {
    image: Arc<Mutex<Image>>,
}

impl TestDisk {
    /// A backend for `redb::Builder::create_with_backend` writing to this disk.
    pub(crate) fn backend(&self) -> TestBackend {
        TestBackend { disk: self.clone() }
    }

    /// Makes every later write and sync fail (or work again).
    pub(crate) fn set_failing(&self, failing: bool) {
        self.lock().failing = failing;
    }

    /// What a crash would leave: a new disk holding only what was synced.
    pub(crate) fn after_crash(&self) -> TestDisk {
        let durable = self.lock().durable.clone();
        TestDisk {
            image: Arc::new(Mutex::new(Image {
                live: durable.clone(),
                durable,
                failing: false,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Image> {
        self.image.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Debug)]
pub(crate) struct TestBackend {
    disk: TestDisk,
}

fn injected() -> io::Error {
    io::Error::other("the test disk was told to fail")
}

impl StorageBackend for TestBackend {
    fn len(&self) -> Result<u64, io::Error> {
        Ok(self.disk.lock().live.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        let image = self.disk.lock();
        let start = offset as usize;
        let end = start + out.len();
        let bytes = image
            .live
            .get(start..end)
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
        out.copy_from_slice(bytes);
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        let mut image = self.disk.lock();
        if image.failing {
            return Err(injected());
        }
        image.live.resize(len as usize, 0);
        Ok(())
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        let mut image = self.disk.lock();
        if image.failing {
            return Err(injected());
        }
        image.durable = image.live.clone();
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        let mut image = self.disk.lock();
        if image.failing {
            return Err(injected());
        }
        let start = offset as usize;
        let end = start + data.len();
        if image.live.len() < end {
            image.live.resize(end, 0);
        }
        image.live[start..end].copy_from_slice(data);
        Ok(())
    }
}
