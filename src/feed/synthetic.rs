//! [`SyntheticFeed`]: the built-in load generator. It produces candidates at a target rate (or
//! flat out), with a share of High priority and a mix of launch kinds, from a seeded xorshift
//! generator so a run is reproducible. Pacing follows the wall clock: at every poll it emits what
//! is due since the start (at most `MAX_PER_POLL`), so a stalled ring never turns into a burst
//! larger than the backlog the rate implies.

use std::time::{Duration, Instant};

use super::{Feed, FeedPoll, FeedSink};
use crate::candidate::{LaunchKind, PremintCandidate, Priority};
use crate::rng::TestRng;

const MAX_PER_POLL: u64 = 256;

/// Settings of the synthetic feed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SyntheticConfig {
    /// Candidates per second; 0 means flat out.
    pub rate: u64,
    /// How long to produce.
    pub duration: Duration,
    /// Stop after this many candidates (whichever of count and duration comes first).
    pub max_candidates: Option<u64>,
    /// Percentage of High-priority candidates.
    pub high_pct: u8,
    /// Seed of the generator.
    pub seed: u64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            rate: 100_000,
            duration: Duration::from_secs(3),
            max_candidates: None,
            high_pct: 20,
            seed: 0x5eed_cafe,
        }
    }
}

/// Generates candidates at a paced rate.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sniffer::{Sniffer, feed::{SyntheticConfig, SyntheticFeed}};
///
/// let feed = SyntheticFeed::new(SyntheticConfig {
///     rate: 0,
///     duration: Duration::from_secs(5),
///     max_candidates: Some(1000),
///     ..Default::default()
/// });
/// let mut engine = Sniffer::builder().feed(feed).build()?;
/// let rx = engine.take_receiver().unwrap();
/// let consumer = std::thread::spawn(move || rx.iter().count());
/// engine.wait_feeds(Duration::from_secs(30));
/// let report = engine.shutdown(Duration::from_secs(5));
/// assert_eq!(consumer.join().unwrap() as u64, report.metrics.candidates_sent);
/// assert!(report.metrics.accounting_holds());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SyntheticFeed {
    cfg: SyntheticConfig,
    rng: TestRng,
    started: Option<Instant>,
    emitted: u64,
    slot: u64,
}

impl SyntheticFeed {
    /// A feed with these settings.
    pub fn new(cfg: SyntheticConfig) -> Self {
        SyntheticFeed {
            cfg,
            rng: TestRng::new(cfg.seed),
            started: None,
            emitted: 0,
            slot: 300_000_000,
        }
    }

    /// The next candidate the feed would emit.
    pub fn generate(&mut self) -> PremintCandidate {
        let r = self.rng.next_u64();
        if r.is_multiple_of(8) {
            self.slot += 1;
        }
        let kind = match r % 10 {
            0..=5 => LaunchKind::PumpCreate,
            6..=7 => LaunchKind::PumpCreateV2,
            8 => LaunchKind::PumpSwapPool,
            _ => LaunchKind::RaydiumPool,
        };
        let priority = if (r >> 32) % 100 < u64::from(self.cfg.high_pct) {
            Priority::High
        } else {
            Priority::Low
        };
        PremintCandidate {
            mint: self.rng.key(),
            creator: self.rng.key(),
            slot: self.slot,
            creator_buy_lamports: (r >> 40) % 5_000_000_000,
            score: ((r >> 16) % 1000) as u32,
            kind,
            priority,
            ..Default::default()
        }
    }

    fn limit(&self) -> u64 {
        self.cfg.max_candidates.unwrap_or(u64::MAX)
    }
}

impl Feed for SyntheticFeed {
    fn name(&self) -> &str {
        "synthetic"
    }

    fn poll(&mut self, sink: &mut FeedSink<'_>) -> FeedPoll {
        let started = *self.started.get_or_insert_with(Instant::now);
        let elapsed = started.elapsed();
        if elapsed >= self.cfg.duration || self.emitted >= self.limit() {
            return FeedPoll::Finished;
        }
        let due = if self.cfg.rate == 0 {
            u64::MAX
        } else {
            (elapsed.as_nanos() * u128::from(self.cfg.rate) / 1_000_000_000) as u64
        };
        let n = due
            .saturating_sub(self.emitted)
            .min(MAX_PER_POLL)
            .min(self.limit() - self.emitted);
        if n == 0 {
            // Sleep only when the next item is far enough away for the sleep to be accurate.
            let next_at = Duration::from_nanos(
                ((self.emitted + 1) as u128 * 1_000_000_000 / u128::from(self.cfg.rate.max(1)))
                    as u64,
            );
            let gap = next_at.saturating_sub(elapsed);
            if gap > Duration::from_micros(200) {
                std::thread::sleep(gap.min(Duration::from_millis(1)) - Duration::from_micros(100));
            } else {
                std::thread::yield_now();
            }
            return FeedPoll::Ready;
        }
        for _ in 0..n {
            let c = self.generate();
            sink.tx_seen(1);
            sink.push(c);
        }
        self.emitted += n;
        FeedPoll::Ready
    }
}
