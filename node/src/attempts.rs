//! How often signing in and up may be tried: per client address (sign-ins and sign-ups together)
//! and per account (sign-ins for one email, from anywhere), so that guessing a password is slow
//! and one client cannot keep the hashing threads busy for everyone.
//!
//! Each is a GCRA quota from the `governor` crate: a burst of `n`, then one more every minute / n.
//! Attempts count whether they succeed or not. The clock is passed in (tests advance a fake one).
//! Keys whose allowance has fully come back are forgotten once many are remembered, so the maps
//! stay as small as the recent traffic.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

/// Remembered keys above which fully recovered ones are dropped.
const FORGET_ABOVE: usize = 10_000;

type Keyed<K, C> = RateLimiter<K, HashMapStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The two allowances.
pub struct Attempts<C: Clock = DefaultClock> {
    by_address: Keyed<IpAddr, C>,
    by_account: Keyed<String, C>,
    clock: C,
}

impl Attempts<DefaultClock> {
    /// Allowances of `per_address` and `per_account` attempts a minute, on the real clock.
    pub fn new(per_address: NonZeroU32, per_account: NonZeroU32) -> Attempts<DefaultClock> {
        Attempts::with_clock(per_address, per_account, DefaultClock::default())
    }
}

impl<C: Clock + Clone> Attempts<C> {
    pub fn with_clock(per_address: NonZeroU32, per_account: NonZeroU32, clock: C) -> Attempts<C> {
        Attempts {
            by_address: RateLimiter::new(
                Quota::per_minute(per_address),
                HashMapStateStore::default(),
                clock.clone(),
            ),
            by_account: RateLimiter::new(
                Quota::per_minute(per_account),
                HashMapStateStore::default(),
                clock.clone(),
            ),
            clock,
        }
    }

    /// Counts an attempt from `client`; `Err(wait)` when it is over its allowance.
    pub fn from_address(&self, client: IpAddr) -> Result<(), Duration> {
        let outcome = self.by_address.check_key(&client);
        if self.by_address.len() > FORGET_ABOVE {
            self.by_address.retain_recent();
        }
        outcome.map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Counts a sign-in attempt for the account `email` (compared without case); `Err(wait)` when
    /// it is over its allowance.
    pub fn for_account(&self, email: &str) -> Result<(), Duration> {
        let outcome = self.by_account.check_key(&email.trim().to_lowercase());
        if self.by_account.len() > FORGET_ABOVE {
            self.by_account.retain_recent();
        }
        outcome.map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn n(value: u32) -> NonZeroU32 {
        NonZeroU32::new(value).unwrap()
    }

    #[test]
    fn each_allowance_is_a_burst_then_one_more_per_share_of_the_minute() {
        let clock = FakeRelativeClock::default();
        let attempts = Attempts::with_clock(n(10), n(3), clock.clone());
        for _ in 0..3 {
            attempts.for_account("Victim@Test.com").unwrap();
        }
        let wait = attempts.for_account("victim@test.com ").unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        attempts.for_account("other@test.com").unwrap();
        clock.advance(Duration::from_secs(20));
        attempts.for_account("victim@test.com").unwrap();
        assert!(attempts.for_account("victim@test.com").is_err());

        let client = IpAddr::from([192, 0, 2, 1]);
        for _ in 0..10 {
            attempts.from_address(client).unwrap();
        }
        assert!(attempts.from_address(client).is_err());
        attempts.from_address(IpAddr::from([192, 0, 2, 2])).unwrap();
    }
}
