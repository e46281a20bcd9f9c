//! Counted places: how many of something (connections, `/live` streams) are open, per client
//! address and in total, with a cap on each. A place is held by a `Slot` and given back when the
//! slot is dropped, however its holder ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Why a place was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This client address holds all the places it may.
    Address,
    /// All places are taken.
    Full,
}

/// Places of one kind, capped per address and in total.
#[derive(Clone)]
pub struct Admission {
    inner: Arc<Inner>,
}

struct Inner {
    total_cap: usize,
    per_address_cap: usize,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    /// Only addresses holding at least one place.
    by_address: HashMap<IpAddr, usize>,
}

/// One place, held until dropped.
pub struct Slot {
    inner: Arc<Inner>,
    address: IpAddr,
}

impl Admission {
    pub fn new(total_cap: usize, per_address_cap: usize) -> Admission {
        Admission {
            inner: Arc::new(Inner {
                total_cap,
                per_address_cap,
                counts: Mutex::new(Counts::default()),
            }),
        }
    }

    /// A place for `address`, if it and the whole are under their caps.
    pub fn admit(&self, address: IpAddr) -> Result<Slot, Refusal> {
        let mut counts = self.inner.lock();
        if counts.total >= self.inner.total_cap {
            return Err(Refusal::Full);
        }
        let held = counts.by_address.entry(address).or_insert(0);
        if *held >= self.inner.per_address_cap {
            return Err(Refusal::Address);
        }
        *held += 1;
        counts.total += 1;
        Ok(Slot {
            inner: self.inner.clone(),
            address,
        })
    }

    /// Places held now.
    pub fn open(&self) -> usize {
        self.inner.lock().total
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // The counts stay consistent even if a holder panicked: every change is one statement.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.inner.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(held) = counts.by_address.get_mut(&self.address) {
            *held -= 1;
            if *held == 0 {
                counts.by_address.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn places_are_capped_per_address_and_in_total_and_come_back_when_dropped() {
        let admission = Admission::new(3, 2);
        let a1 = admission.admit(ip(1)).unwrap();
        let _a2 = admission.admit(ip(1)).unwrap();
        assert_eq!(admission.admit(ip(1)).err(), Some(Refusal::Address));
        let _b1 = admission.admit(ip(2)).unwrap();
        assert_eq!(admission.admit(ip(3)).err(), Some(Refusal::Full));
        assert_eq!(admission.open(), 3);
        drop(a1);
        assert_eq!(admission.open(), 2);
        let _a3 = admission.admit(ip(1)).unwrap();
        assert_eq!(admission.admit(ip(2)).err(), Some(Refusal::Full));
    }
}
