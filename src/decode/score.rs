//! Deterministic launch scoring with a bounded per-creator history.
//!
//! The score is integer arithmetic on the launch alone plus what this decoder has seen from the
//! same creator before, so the same sequence of input lines yields the same scores and priorities
//! on every run (no clocks, no hash-order dependence: the map is only probed, never iterated).
//!
//! ```text
//! score = base(kind)
//!       + min(buy / 10_000_000, 500)              buy: this launch's creator buy, lamports
//!       + min(ema / 20_000_000, 250)              ema: creator's EMA of buys over earlier launches
//!       - 25 * min(launches_before, 8)            serial launchers lose up to 200 points
//! base:  curves (pump.fun, LaunchLab, DBC, Moonshot, Boop) 100, pools 150, graduations 200
//! ema' = ema + (buy - ema) / 4                    (alpha = 1/4, updated after scoring)
//! priority = High when score >= high_threshold
//! ```
//! One point is 0.01 SOL of own buy (capped at 5 SOL; a buy in another quote mint counts its base
//! units the same way); a creator whose earlier launches carried big buys adds half a point per
//! 0.01 SOL of that average. The score saturates at 0. A launch whose creator is not known (a
//! logs-only DBC or Moonshot launch, a graduation) has no history: it is scored on its kind and
//! buy alone and recorded under no creator.
//!
//! History is capped at `capacity` creators with first-in-first-out eviction: the oldest creator
//! to have been inserted is forgotten first. The map is allocated once at twice the capacity so
//! that inserts after eviction never grow or reallocate it.

use std::collections::{HashMap, VecDeque};

use crate::candidate::{LaunchKind, Priority, Pubkey};

/// Scoring parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScoreConfig {
    /// Scores at or above this are [`Priority::High`].
    pub high_threshold: u32,
    /// Most creators remembered (FIFO eviction beyond).
    pub history_capacity: usize,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        ScoreConfig {
            high_threshold: 300,
            history_capacity: 16_384,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct History {
    ema_buy: u64,
    launches: u32,
}

/// Scores launches and remembers creators.
#[derive(Debug)]
pub(crate) struct Scorer {
    cfg: ScoreConfig,
    history: HashMap<Pubkey, History>,
    order: VecDeque<Pubkey>,
}

impl Scorer {
    pub(crate) fn new(cfg: ScoreConfig) -> Self {
        let cap = cfg.history_capacity;
        Scorer {
            cfg,
            history: HashMap::with_capacity(cap.saturating_mul(2)),
            order: VecDeque::with_capacity(cap),
        }
    }

    fn base(kind: LaunchKind) -> u32 {
        if kind.is_curve() {
            100
        } else if kind.is_graduation() {
            200
        } else {
            150
        }
    }

    /// Scores one launch and then records it in the creator's history.
    pub(crate) fn score(&mut self, kind: LaunchKind, creator: Pubkey, buy: u64) -> (u32, Priority) {
        let known = creator != Pubkey::ZERO;
        let prior = known.then(|| self.history.get(&creator).copied()).flatten();
        let buy_pts = (buy / 10_000_000).min(500) as u32;
        let (hist_pts, penalty) = match prior {
            Some(h) => (
                (h.ema_buy / 20_000_000).min(250) as u32,
                25 * h.launches.min(8),
            ),
            None => (0, 0),
        };
        let score = (Self::base(kind) + buy_pts + hist_pts).saturating_sub(penalty);
        let priority = if score >= self.cfg.high_threshold {
            Priority::High
        } else {
            Priority::Low
        };
        if known {
            self.record(creator, prior, buy);
        }
        (score, priority)
    }

    fn record(&mut self, creator: Pubkey, prior: Option<History>, buy: u64) {
        if self.cfg.history_capacity == 0 {
            return;
        }
        let next = match prior {
            // ema + (buy - ema) / 4 without signed overflow.
            Some(h) => History {
                ema_buy: if buy >= h.ema_buy {
                    h.ema_buy + (buy - h.ema_buy) / 4
                } else {
                    h.ema_buy - (h.ema_buy - buy) / 4
                },
                launches: h.launches.saturating_add(1),
            },
            None => {
                if self.order.len() >= self.cfg.history_capacity {
                    if let Some(old) = self.order.pop_front() {
                        self.history.remove(&old);
                    }
                }
                self.order.push_back(creator);
                History {
                    ema_buy: buy,
                    launches: 1,
                }
            }
        };
        self.history.insert(creator, next);
    }

    /// Creators currently remembered.
    #[cfg(test)]
    pub(crate) fn remembered(&self) -> usize {
        self.history.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u8) -> Pubkey {
        Pubkey([i; 32])
    }

    #[test]
    fn formula_matches_the_docs() {
        let mut s = Scorer::new(ScoreConfig::default());
        // First launch, 2 SOL own buy: 100 + 200.
        assert_eq!(
            s.score(LaunchKind::PumpCreate, key(1), 2_000_000_000),
            (300, Priority::High)
        );
        // Second launch, no buy: 100 + 0 + ema 2 SOL / 0.02 = 100, minus 25.
        assert_eq!(
            s.score(LaunchKind::PumpCreate, key(1), 0),
            (175, Priority::Low)
        );
        // EMA is now 1.5 SOL, two launches before: 150 + 75 - 50.
        assert_eq!(
            s.score(LaunchKind::RaydiumPool, key(1), 0),
            (175, Priority::Low)
        );
        // A stranger with nothing: just the base.
        assert_eq!(
            s.score(LaunchKind::PumpCreateV2, key(2), 0),
            (100, Priority::Low)
        );
    }

    #[test]
    fn history_is_bounded_and_deterministic() {
        let cfg = ScoreConfig {
            high_threshold: 150,
            history_capacity: 4,
        };
        let run = || {
            let mut s = Scorer::new(cfg);
            let out: Vec<_> = (0..100u32)
                .map(|i| {
                    s.score(
                        LaunchKind::PumpCreate,
                        key((i % 7) as u8),
                        u64::from(i) * 7_000_000,
                    )
                })
                .collect();
            assert!(s.remembered() <= 4);
            out
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn zero_capacity_remembers_nothing() {
        let mut s = Scorer::new(ScoreConfig {
            high_threshold: 1,
            history_capacity: 0,
        });
        s.score(LaunchKind::PumpCreate, key(1), 0);
        assert_eq!(s.remembered(), 0);
    }
}
