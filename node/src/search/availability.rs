//! Which tickets no order holds, by listing position: a bitmap the indexer keeps in step with the
//! locks and releases, and that queries filter with. A million tickets take 125 KB.
//!
//! The words are atomics, so a lock or a release flips its bit while queries read the map, and a
//! query reads it in place rather than copying it. Only growing the map (a ticket listed beyond its
//! end) waits for the queries reading it; it grows by doubling, so that is rare.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard};

#[derive(Default)]
pub(crate) struct Availability {
    words: RwLock<Vec<AtomicU64>>,
}

impl Availability {
    pub(crate) fn set(&self, listing: u64, available: bool) {
        let (word, bit) = ((listing / 64) as usize, 1u64 << (listing % 64));
        {
            let words = self.words.read().unwrap_or_else(|e| e.into_inner());
            if let Some(w) = words.get(word) {
                flip(w, bit, available);
                return;
            }
        }
        if !available {
            return; // beyond the end every bit is clear
        }
        let mut words = self.words.write().unwrap_or_else(|e| e.into_inner());
        if words.len() <= word {
            let len = (word + 1).max(words.len() * 2);
            words.resize_with(len, AtomicU64::default);
        }
        flip(&words[word], bit, available);
    }

    /// Replaces the whole map.
    pub(crate) fn reset(&self, available: impl IntoIterator<Item = u64>) {
        let fresh = Availability::default();
        for listing in available {
            fresh.set(listing, true);
        }
        let words = fresh.words.into_inner().unwrap_or_else(|e| e.into_inner());
        *self.words.write().unwrap_or_else(|e| e.into_inner()) = words;
    }

    /// The map as it is, for one query to read.
    pub(crate) fn read(&self) -> View<'_> {
        View(self.words.read().unwrap_or_else(|e| e.into_inner()))
    }
}

fn flip(word: &AtomicU64, bit: u64, available: bool) {
    if available {
        word.fetch_or(bit, Ordering::Relaxed);
    } else {
        word.fetch_and(!bit, Ordering::Relaxed);
    }
}

pub(crate) struct View<'a>(RwLockReadGuard<'a, Vec<AtomicU64>>);

impl View<'_> {
    pub(crate) fn contains(&self, listing: u64) -> bool {
        let (word, bit) = ((listing / 64) as usize, listing % 64);
        self.0
            .get(word)
            .is_some_and(|w| w.load(Ordering::Relaxed) & (1 << bit) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_follow_locks_and_releases() {
        let map = Availability::default();
        map.reset([1, 64, 1000]);
        map.set(64, false);
        map.set(5000, true);
        map.set(9999, false);
        let view = map.read();
        let present: Vec<u64> = [0, 1, 64, 1000, 5000, 9999]
            .into_iter()
            .filter(|&l| view.contains(l))
            .collect();
        assert_eq!(present, [1, 1000, 5000]);
    }
}
