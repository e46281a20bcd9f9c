//! How long a venue waits for the hub's acknowledgement before it sends again: a multiple of how
//! long acknowledgements have lately taken, never less than a floor nor more than a cap.
//!
//! A hub that is merely busy acknowledges late but surely: at full load its queue (every venue's
//! window of events) takes seconds to drain. A fixed wait shorter than that sends everything again
//! exactly when the hub can least afford it, and the copies deepen the queue they were waiting on
//! (measured: at 1,000 venues and a 2 s wait, more resends than events). So the wait follows the
//! delays seen: from an event's first sending to the acknowledgement that covers it, smoothed by
//! 1/8 per sample (as TCP smooths its round trips), times `FACTOR`.
//!
//! Invariants: only events sent once give samples (after a resend one cannot tell which sending an
//! acknowledgement answers: `rewound` forgets the outstanding ones, and a sequence is recorded only
//! the first time it is sent); at most `TRACKED` sendings are remembered. The clock is passed in.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The wait is this many times the smoothed delay.
const FACTOR: u32 = 3;
/// Sendings remembered at most (a relay has at most its window outstanding).
const TRACKED: usize = 8192;

#[derive(Debug, Default, Clone)]
pub struct AckDelay {
    /// Sequences sent for the first time and not yet acknowledged, with when; in sequence order.
    sent: VecDeque<(u64, Instant)>,
    /// The highest sequence ever recorded: anything at or below it is a resend.
    highest: u64,
    smoothed: Option<Duration>,
}

impl AckDelay {
    /// Event `seq` was handed to the broker at `at`.
    pub fn sent(&mut self, seq: u64, at: Instant) {
        if seq <= self.highest {
            return;
        }
        self.highest = seq;
        if self.sent.len() < TRACKED {
            self.sent.push_back((seq, at));
        }
    }

    /// The acknowledgement reached `seq` at `at`: one sample, from the newest event it covers.
    pub fn acked(&mut self, seq: u64, at: Instant) {
        let mut newest = None;
        while let Some(&(sent_seq, sent_at)) = self.sent.front() {
            if sent_seq > seq {
                break;
            }
            newest = Some(sent_at);
            self.sent.pop_front();
        }
        if let Some(sent_at) = newest {
            let sample = at.saturating_duration_since(sent_at);
            self.smoothed = Some(match self.smoothed {
                None => sample,
                Some(smoothed) => smoothed * 7 / 8 + sample / 8,
            });
        }
    }

    /// Everything outstanding is being sent again: its acknowledgements will say nothing.
    pub fn rewound(&mut self) {
        self.sent.clear();
    }

    /// How long to wait without progress before sending again.
    pub fn patience(&self, floor: Duration, cap: Duration) -> Duration {
        self.smoothed
            .map_or(floor, |smoothed| smoothed * FACTOR)
            .clamp(floor, cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOOR: Duration = Duration::from_secs(2);
    const CAP: Duration = Duration::from_secs(60);

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn without_samples_the_floor_and_with_slow_acks_three_times_their_delay() {
        let start = Instant::now();
        let mut delay = AckDelay::default();
        assert_eq!(delay.patience(FLOOR, CAP), FLOOR);
        delay.sent(1, start);
        delay.sent(2, start + secs(1));
        // 2 is covered 4 s after it was sent: the first sample is taken as it is.
        delay.acked(2, start + secs(5));
        assert_eq!(delay.patience(FLOOR, CAP), secs(12));
        // Fast acknowledgements bring it down, an eighth per sample, never below the floor.
        for seq in 3..40 {
            let at = start + secs(10 + seq);
            delay.sent(seq, at);
            delay.acked(seq, at + Duration::from_millis(10));
        }
        assert_eq!(delay.patience(FLOOR, CAP), FLOOR);
    }

    #[test]
    fn resent_events_give_no_samples_and_the_wait_is_capped() {
        let start = Instant::now();
        let mut delay = AckDelay::default();
        delay.sent(1, start);
        delay.sent(2, start);
        delay.rewound();
        // Sent again (not recorded: they were sent before), acknowledged long after the first
        // sending: no sample, so no wait inflated by the resend.
        delay.sent(1, start + secs(30));
        delay.sent(2, start + secs(30));
        delay.acked(2, start + secs(31));
        assert_eq!(delay.patience(FLOOR, CAP), FLOOR);
        // A new event is measured again; a very slow hub is waited for at most the cap.
        delay.sent(3, start + secs(40));
        delay.acked(3, start + secs(100));
        assert_eq!(delay.patience(FLOOR, CAP), CAP);
    }

    #[test]
    fn an_acknowledgement_below_what_was_sent_keeps_the_rest_outstanding() {
        let start = Instant::now();
        let mut delay = AckDelay::default();
        for seq in 1..=4 {
            delay.sent(seq, start + secs(seq));
        }
        delay.acked(2, start + secs(4));
        assert_eq!(delay.patience(FLOOR, CAP), secs(6), "2 s from 2's sending");
        delay.acked(4, start + secs(5));
        // 1 s from 4's sending: 2 * 7/8 + 1/8 = 1.875 s, three times 5.625 s.
        assert_eq!(delay.patience(FLOOR, CAP), Duration::from_millis(5625));
    }
}
