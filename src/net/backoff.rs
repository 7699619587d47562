//! [`Backoff`]: the reconnect schedule every live connection shares.
//!
//! Exponential from `min` to `max` with "equal jitter" (half the delay fixed, half random: AWS
//! Architecture Blog, "Exponential Backoff And Jitter"), so that many clients dropped at once do
//! not come back in lockstep. A refusal (HTTP 401/403/429 at the handshake, gRPC
//! `Unauthenticated`/`ResourceExhausted`) waits at least [`REFUSED_MIN`] or the server's
//! `Retry-After`, whichever is longer.
//!
//! The NATS client reconnects on its own, through a callback that gets the attempt number:
//! [`delay`] is the same schedule as a pure function of it, so both follow one formula.

// The NATS clients never see a refusal.
#![cfg_attr(not(any(feature = "ws", feature = "geyser")), allow(dead_code))]

use std::time::Duration;

use crate::candidate::monotonic_ns;
use crate::rng::TestRng;

/// Shortest wait after the server refused us (rate limit, bad key): hammering it only makes
/// the ban longer.
pub(crate) const REFUSED_MIN: Duration = Duration::from_secs(5);
/// Longest wait after a refusal, whatever `Retry-After` says.
pub(crate) const REFUSED_MAX: Duration = Duration::from_secs(60);

/// The reconnect schedule of one live feed.
#[derive(Debug)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    /// Failed attempts since the last healthy connection.
    failures: u32,
    rng: TestRng,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max: max.max(min),
            failures: 0,
            rng: TestRng::new(monotonic_ns() ^ 0x9e37_79b9_7f4a_7c15),
        }
    }

    /// The delay before the next attempt after a failure (and counts the failure).
    pub(crate) fn next_delay(&mut self) -> Duration {
        let d = delay(self.min, self.max, self.failures, self.rng.next_u64());
        self.failures = self.failures.saturating_add(1);
        d
    }

    /// The delay after the server refused us: at least [`REFUSED_MIN`] or `retry_after`.
    pub(crate) fn refused_delay(&mut self, retry_after: Option<Duration>) -> Duration {
        let exp = self.next_delay();
        exp.max(REFUSED_MIN)
            .max(retry_after.unwrap_or_default())
            .min(REFUSED_MAX)
    }

    /// The connection proved healthy (it delivered data): start again from `min`.
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }
}

/// The wait after `failures` failed attempts in a row: `min` doubled per failure up to `max`,
/// half of it fixed and half drawn from `random` (any 64 random bits).
pub(crate) fn delay(min: Duration, max: Duration, failures: u32, random: u64) -> Duration {
    let exp = min
        .saturating_mul(1u32 << failures.min(20))
        .min(max.max(min));
    let half = exp / 2;
    let span = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    half + Duration::from_nanos(random % span.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_max_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        let mut prev_cap = Duration::ZERO;
        for i in 0..12u32 {
            let cap = Duration::from_millis(100)
                .saturating_mul(1 << i)
                .min(Duration::from_secs(10));
            let d = b.next_delay();
            assert!(
                d >= cap / 2 && d <= cap,
                "attempt {i}: {d:?} not in [{:?}, {cap:?}]",
                cap / 2
            );
            assert!(cap >= prev_cap);
            prev_cap = cap;
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn refusals_wait_at_least_the_floor_or_retry_after() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        assert!(b.refused_delay(None) >= REFUSED_MIN);
        assert_eq!(
            b.refused_delay(Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
        assert_eq!(
            b.refused_delay(Some(Duration::from_secs(3600))),
            REFUSED_MAX
        );
    }

    #[test]
    fn the_pure_schedule_spans_half_to_all_of_the_capped_delay() {
        let (min, max) = (Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(delay(min, max, 0, 0), Duration::from_millis(50));
        assert_eq!(delay(min, max, 3, 0), Duration::from_millis(400));
        assert_eq!(delay(min, max, 30, 0), Duration::from_millis(500));
        assert_eq!(delay(min, max, 30, 500_000_000), max);
        // `max` below `min` is `min`.
        assert_eq!(delay(min, Duration::ZERO, 5, 0), Duration::from_millis(50));
    }
}
