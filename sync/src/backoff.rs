//! How long to wait before the next attempt after a failure: exponential, capped, with jitter.
//!
//! rumqttc reconnects on the very next `poll()` after an error, so without a pause a venue whose
//! broker is down would spin. The jitter spreads a chain's venues out after a broker restart. The
//! random part is passed in, so the schedule is deterministic under test.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            next: first,
        }
    }

    /// The pause before the next attempt: the current step scaled by `jitter` (taken into
    /// 0.5..=1.0), after which the step doubles up to the cap.
    pub fn next_delay(&mut self, jitter: f64) -> Duration {
        let scale = 0.5 + 0.5 * jitter.clamp(0.0, 1.0);
        let delay = self.next.mul_f64(scale);
        self.next = (self.next * 2).min(self.max);
        delay
    }

    /// Back to the first step, after a success.
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(4));
        let steps: Vec<u128> = (0..6)
            .map(|_| backoff.next_delay(1.0).as_millis())
            .collect();
        assert_eq!(steps, [500, 1000, 2000, 4000, 4000, 4000]);
        backoff.reset();
        assert_eq!(backoff.next_delay(0.0), Duration::from_millis(250));
        assert_eq!(
            backoff.next_delay(7.0),
            Duration::from_millis(1000),
            "jitter is clamped"
        );
    }
}
