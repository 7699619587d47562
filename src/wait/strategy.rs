//! [`WaitStrategy`]: how an idle engine thread waits for work or for room.
//!
//! On a 2-core machine a spinning consumer and a spinning producer fill the machine, so the
//! default, [`WaitStrategy::Backoff`], spins briefly (exponential `spin_loop` hints, as
//! crossbeam-utils' `Backoff`), then for a bounded window keeps spinning (it could yield the core
//! every few rounds; measured, that costs a whole time slice on a shared machine, so by default it
//! does not), then parks on a `Signal`. Pure unbounded spinning is opt-in.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// How idle threads wait.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitStrategy {
    /// Spin with growing pauses, then keep spinning for up to [`BACKOFF_YIELD_WINDOW`] (yielding
    /// every [`BACKOFF_YIELD_EVERY`] rounds, by default never), then park until notified.
    #[default]
    Backoff,
    /// Busy-spin with `spin_loop` hints: lowest latency, burns a core. Opt-in.
    Spin,
    /// Busy-loop on `thread::yield_now`: lets co-located threads run, still burns a core.
    Yield,
    /// Park at once until notified: cheapest on CPU, ~10 µs wake-up.
    Park,
}

impl std::str::FromStr for WaitStrategy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "backoff" => Ok(WaitStrategy::Backoff),
            "spin" => Ok(WaitStrategy::Spin),
            "yield" => Ok(WaitStrategy::Yield),
            "park" => Ok(WaitStrategy::Park),
            other => Err(format!(
                "unknown wait strategy `{other}` (expected backoff, spin, yield or park)"
            )),
        }
    }
}

impl WaitStrategy {
    /// Whether a thread waiting this way may park (and so needs a wake-up).
    #[inline]
    pub(crate) fn may_park(self) -> bool {
        matches!(self, WaitStrategy::Backoff | WaitStrategy::Park)
    }
}

/// Spin steps of the backoff: step `k` issues `2^k` spin hints (127 hints in all).
pub const BACKOFF_SPIN_STEPS: u32 = 7;
/// How long the backoff keeps yielding before it parks. Long enough that a stream at 100k/s
/// (one item every 10 µs) never pays a park/unpark wake-up (~10 µs here).
pub const BACKOFF_YIELD_WINDOW: Duration = Duration::from_micros(200);

/// In the window, one round in this many yields the core; the others spin briefly. 0: the window
/// never yields, which is the measured choice: on the shared 2-core development machine a
/// `sched_yield` with another runnable process on the core hands it over for a whole time slice
/// (milliseconds), which put the p50 of a 100k/s stream at 12-88 µs with a yield every 8 rounds
/// against 1.1 µs spinning (same load, back to back). The window is bounded, so a co-located
/// thread waits at most `BACKOFF_YIELD_WINDOW` before this one parks; a parked thread is woken
/// with the scheduler's wake-up preference, which also keeps sparse traffic's tail shorter.
pub const BACKOFF_YIELD_EVERY: u32 = 0;

/// Spin hints per non-yielding round of the yield window (a `pause` is ~40 to ~140 cycles).
const YIELD_WINDOW_SPINS: u32 = 32;

/// Where a waiting loop is in its strategy; `next()` says what to do before the next check.
#[derive(Debug)]
pub(crate) struct Waiter {
    strategy: WaitStrategy,
    step: u32,
    yield_until: Option<Instant>,
    rounds: u32,
}

/// What the caller should do after `Waiter::pause` returned.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pause {
    /// Check the condition again.
    Retry,
    /// Stop busy-waiting; park on the signal.
    Park,
}

impl Waiter {
    pub(crate) fn new(strategy: WaitStrategy) -> Self {
        Waiter {
            strategy,
            step: 0,
            yield_until: None,
            rounds: 0,
        }
    }

    /// Burns one round of the strategy, or says it is time to park.
    #[inline]
    pub(crate) fn pause(&mut self) -> Pause {
        match self.strategy {
            WaitStrategy::Spin => {
                std::hint::spin_loop();
                Pause::Retry
            }
            WaitStrategy::Yield => {
                std::thread::yield_now();
                Pause::Retry
            }
            WaitStrategy::Park => Pause::Park,
            WaitStrategy::Backoff => {
                if self.step < BACKOFF_SPIN_STEPS {
                    for _ in 0..(1u32 << self.step) {
                        std::hint::spin_loop();
                    }
                    self.step += 1;
                    return Pause::Retry;
                }
                let until = *self
                    .yield_until
                    .get_or_insert_with(|| Instant::now() + BACKOFF_YIELD_WINDOW);
                if Instant::now() >= until {
                    return Pause::Park;
                }
                self.rounds = self.rounds.wrapping_add(1);
                if self.rounds.checked_rem(BACKOFF_YIELD_EVERY) == Some(0) {
                    std::thread::yield_now();
                } else {
                    for _ in 0..YIELD_WINDOW_SPINS {
                        std::hint::spin_loop();
                    }
                }
                Pause::Retry
            }
        }
    }

    /// Starts over (after useful work was found).
    #[inline]
    pub(crate) fn reset(&mut self) {
        self.step = 0;
        self.yield_until = None;
        self.rounds = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rounds of `waiter` until `stop` holds after at least `min_rounds` rounds, or until it says
    /// to park; returns (rounds, parked).
    fn rounds_until(waiter: &mut Waiter, min_rounds: u32, stop: impl Fn() -> bool) -> (u32, bool) {
        let mut rounds = 0;
        loop {
            let done = rounds >= min_rounds && stop();
            if waiter.pause() == Pause::Park {
                return (rounds, true);
            }
            rounds += 1;
            if done {
                return (rounds, false);
            }
        }
    }

    /// Spin and yield never park, however long they wait: ten busy windows of backoff, measured
    /// before the round (a spinner aliased to backoff parks within the run).
    #[test]
    fn spin_and_yield_never_park() {
        for strategy in [WaitStrategy::Spin, WaitStrategy::Yield] {
            let start = Instant::now();
            let mut waiter = Waiter::new(strategy);
            let (rounds, parked) = rounds_until(&mut waiter, BACKOFF_SPIN_STEPS + 2, || {
                start.elapsed() > 10 * BACKOFF_YIELD_WINDOW
            });
            assert!(!parked, "{strategy:?} parked after {rounds} rounds");
        }
    }

    /// Park parks at the first round, and again after a reset.
    #[test]
    fn park_parks_at_once() {
        let mut waiter = Waiter::new(WaitStrategy::Park);
        assert_eq!(waiter.pause(), Pause::Park);
        waiter.reset();
        assert_eq!(waiter.pause(), Pause::Park);
    }

    /// Backoff spins its growing steps first (never parking there, whatever the clock), then
    /// parks once its window has passed; a reset starts the steps over.
    #[test]
    fn backoff_spins_its_steps_then_parks() {
        let mut waiter = Waiter::new(WaitStrategy::Backoff);
        for _ in 0..2 {
            for step in 0..BACKOFF_SPIN_STEPS {
                assert_eq!(waiter.pause(), Pause::Retry, "step {step}");
            }
            let until = Instant::now() + Duration::from_secs(20);
            let (rounds, parked) = rounds_until(&mut waiter, 0, || Instant::now() > until);
            assert!(parked, "backoff never parked ({rounds} rounds)");
            waiter.reset();
        }
    }
}
