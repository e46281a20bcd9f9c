//! Which tickets no order holds, by listing position: a bitmap the indexer keeps in step with the
//! locks and releases, and that queries filter with. A million tickets take 125 KB.

use std::sync::{Arc, RwLock};

#[derive(Default)]
pub(crate) struct Availability {
    words: RwLock<Vec<u64>>,
}

impl Availability {
    pub(crate) fn set(&self, listing: u64, available: bool) {
        let (word, bit) = ((listing / 64) as usize, listing % 64);
        let mut words = self.words.write().unwrap_or_else(|e| e.into_inner());
        if words.len() <= word {
            if !available {
                return;
            }
            words.resize(word + 1, 0);
        }
        if available {
            words[word] |= 1 << bit;
        } else {
            words[word] &= !(1 << bit);
        }
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

    /// A copy to filter one query with, consistent for its whole run.
    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot(Arc::new(
            self.words.read().unwrap_or_else(|e| e.into_inner()).clone(),
        ))
    }
}

#[derive(Clone)]
pub(crate) struct Snapshot(Arc<Vec<u64>>);

impl Snapshot {
    pub(crate) fn contains(&self, listing: u64) -> bool {
        let (word, bit) = ((listing / 64) as usize, listing % 64);
        self.0.get(word).is_some_and(|w| w & (1 << bit) != 0)
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
        let snap = map.snapshot();
        let present: Vec<u64> = [0, 1, 64, 1000, 5000, 9999]
            .into_iter()
            .filter(|&l| snap.contains(l))
            .collect();
        assert_eq!(present, [1, 1000, 5000]);
    }
}
