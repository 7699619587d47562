//! `drop_stale`: an age bound that combines with any overflow policy. A candidate older than
//! `max_age`, or more than `max_slot_lag` slots behind the newest slot seen at ingest, is dropped
//! at enqueue (by the ingest handle), again at dequeue (by the batcher) and once more when the bot
//! receives it (by the receiver), and counted in `dropped_stale`: sniping a late launch is worse
//! than not sniping it.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crossbeam_utils::CachePadded;

use crate::candidate::PremintCandidate;

/// The age bounds and the newest slot seen.
#[derive(Debug)]
pub(crate) struct StaleBound {
    max_age_ns: Option<u64>,
    max_slot_lag: Option<u64>,
    /// Highest slot seen at ingest; `fetch_max` by producers, read by the batcher. Only touched
    /// when `max_slot_lag` is set.
    newest_slot: CachePadded<AtomicU64>,
}

impl StaleBound {
    pub(crate) fn new(max_age: Option<Duration>, max_slot_lag: Option<u64>) -> Self {
        StaleBound {
            max_age_ns: max_age.map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
            max_slot_lag,
            newest_slot: CachePadded::new(AtomicU64::new(0)),
        }
    }

    /// True when `max_age` is set: checking needs a clock read.
    #[inline]
    pub(crate) fn needs_clock(&self) -> bool {
        self.max_age_ns.is_some()
    }

    /// True when no bound is configured (the checks cost nothing then).
    #[inline]
    pub(crate) fn is_off(&self) -> bool {
        self.max_age_ns.is_none() && self.max_slot_lag.is_none()
    }

    /// At enqueue: records the slot and says whether `c` is already stale.
    #[inline]
    pub(crate) fn stale_at_enqueue(&self, c: &PremintCandidate, now_ns: u64) -> bool {
        let newest = match self.max_slot_lag {
            Some(_) => self.newest_slot.fetch_max(c.slot, Relaxed).max(c.slot),
            None => 0,
        };
        self.is_stale(c, now_ns, newest)
    }

    /// At dequeue: whether `c` went stale while it waited.
    #[inline]
    pub(crate) fn stale_at_dequeue(&self, c: &PremintCandidate, now_ns: u64) -> bool {
        let newest = match self.max_slot_lag {
            Some(_) => self.newest_slot.load(Relaxed),
            None => 0,
        };
        self.is_stale(c, now_ns, newest)
    }

    #[inline]
    fn is_stale(&self, c: &PremintCandidate, now_ns: u64, newest_slot: u64) -> bool {
        self.max_age_ns
            .is_some_and(|max| now_ns.saturating_sub(c.detected_at_ns) > max)
            || self
                .max_slot_lag
                .is_some_and(|lag| newest_slot.saturating_sub(c.slot) > lag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(slot: u64, detected_at_ns: u64) -> PremintCandidate {
        PremintCandidate {
            slot,
            detected_at_ns,
            ..Default::default()
        }
    }

    #[test]
    fn age_bound_is_strict_at_both_points() {
        let b = StaleBound::new(Some(Duration::from_nanos(100)), None);
        assert!(
            !b.stale_at_enqueue(&at(1, 1000), 1100),
            "exactly max_age is not stale"
        );
        assert!(b.stale_at_enqueue(&at(1, 1000), 1101));
        assert!(!b.stale_at_dequeue(&at(1, 1000), 1100));
        assert!(b.stale_at_dequeue(&at(1, 1000), 1101));
    }

    #[test]
    fn slot_lag_uses_the_newest_slot_seen_at_ingest() {
        let b = StaleBound::new(None, Some(2));
        assert!(!b.stale_at_enqueue(&at(10, 0), 0));
        assert!(!b.stale_at_enqueue(&at(8, 0), 0), "lag 2 is allowed");
        assert!(b.stale_at_enqueue(&at(7, 0), 0), "lag 3 is not");
        // A later, newer slot makes a queued candidate stale at dequeue.
        let queued = at(10, 0);
        assert!(!b.stale_at_enqueue(&at(13, 0), 0));
        assert!(b.stale_at_dequeue(&queued, 0));
        assert!(!b.stale_at_dequeue(&at(11, 0), 0));
    }

    #[test]
    fn off_means_never_stale() {
        let b = StaleBound::new(None, None);
        assert!(b.is_off());
        assert!(!b.stale_at_enqueue(&at(0, 0), u64::MAX));
    }
}
