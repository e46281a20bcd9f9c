//! The node's source of time, passed to everything that needs `now` so tests can fix it.

use std::time::SystemTime;

use tix_core::time::Millis;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Millis;
}

/// Wall-clock time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        Millis::from_system_time(SystemTime::now())
    }
}
