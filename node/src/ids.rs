//! Minting ids: 12 bytes in the layout of a MongoDB ObjectId, so seed clients see familiar ids.
//!
//! Seconds since the epoch (4 bytes), a per-process random value (5 bytes), and a counter (3 bytes)
//! that starts at a random value. The randomness is passed in, which makes ids reproducible in tests.

use std::sync::atomic::{AtomicU32, Ordering};

use tix_core::ids::RawId;
use tix_core::time::Millis;

pub struct IdGen {
    process: [u8; 5],
    counter: AtomicU32,
}

impl IdGen {
    pub fn new(process: [u8; 5], counter_start: u32) -> IdGen {
        IdGen {
            process,
            counter: AtomicU32::new(counter_start),
        }
    }

    pub fn next(&self, now: Millis) -> RawId {
        self.next_block(now, 0)
    }

    /// An id followed by `more` counter values no other id of this generator will take: a show's
    /// id, whose units are the block after it (`ShowId::unit`).
    pub fn next_block(&self, now: Millis, more: u32) -> RawId {
        let seconds = (now.0 / 1000) as u32;
        let count = self.counter.fetch_add(more + 1, Ordering::Relaxed);
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&seconds.to_be_bytes());
        bytes[4..9].copy_from_slice(&self.process);
        bytes[9..].copy_from_slice(&count.to_be_bytes()[1..]);
        RawId(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_and_carry_their_second() {
        let ids = IdGen::new([1, 2, 3, 4, 5], 0x00ff_fffe);
        let a = ids.next(Millis(1_700_000_000_999));
        let b = ids.next(Millis(1_700_000_000_999));
        let c = ids.next(Millis(1_700_000_000_999));
        assert_ne!(a, b);
        assert_ne!(b, c);
        assert_eq!(&a.0[..4], &1_700_000_000u32.to_be_bytes());
        assert_eq!(a.to_string().len(), 24);
    }

    #[test]
    fn a_block_is_skipped_by_the_ids_after_it() {
        let ids = IdGen::new([1, 2, 3, 4, 5], 0x00ff_fff0);
        let now = Millis(1_700_000_000_000);
        let show = tix_core::ids::ShowId(ids.next_block(now, 100));
        let after = tix_core::ids::TicketId(ids.next(now));
        assert_eq!(after, show.unit(100));
        for index in 0..100 {
            assert_ne!(show.unit(index), after);
        }
    }
}
