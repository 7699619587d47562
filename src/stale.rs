//! `drop_stale`: an age bound that combines with any overflow policy. A candidate older than
//! `max_age`, or more than `max_slot_lag` slots behind the reference slot, is dropped at enqueue
//! (by the ingest handle), again at dequeue (by the batcher) and once more when the bot receives
//! it (by the receiver), and counted in `dropped_stale`: sniping a late launch is worse than not
//! sniping it.
//!
//! The reference slot is the newest slot seen at ingest, with one guard: one absurd slot (a
//! corrupt line saying slot 2^64-1) must not make every later launch stale. A slot more than
//! `max_slot_lag` ahead of the reference is a *jump*; a jump moves the reference only when the
//! observation before it was a jump too, and then only to the lower of the two. One outlier
//! therefore never moves it; two in a row can (documented limit). A real jump (a feed that was
//! silent for a while, the first launch after start) is confirmed by the next launch, so the
//! reference lags by at most one observation after it; in steady traffic it is exactly the
//! newest slot.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crossbeam_utils::CachePadded;

use crate::candidate::PremintCandidate;

/// The age bounds and the reference slot.
#[derive(Debug)]
pub(crate) struct StaleBound {
    max_age_ns: Option<u64>,
    max_slot_lag: Option<u64>,
    /// Only touched when `max_slot_lag` is set.
    slots: CachePadded<SlotReference>,
}

/// The reference slot and the unconfirmed jump (see the module docs). Written by the producers
/// at ingest, read by the batcher at dequeue; `Relaxed` throughout: a race between two
/// producers can only delay a confirmation or confirm with a real observation, and the
/// reference only ever grows (`fetch_max`).
#[derive(Debug, Default)]
struct SlotReference {
    reference: AtomicU64,
    /// The last observation if it was a jump, 0 otherwise.
    pending_jump: AtomicU64,
}

impl SlotReference {
    /// Records `slot` and returns the reference after it.
    #[inline]
    fn observe(&self, slot: u64, max_jump: u64) -> u64 {
        let reference = self.reference.load(Relaxed);
        if slot <= reference.saturating_add(max_jump) {
            if self.pending_jump.load(Relaxed) != 0 {
                self.pending_jump.store(0, Relaxed);
            }
            return self.reference.fetch_max(slot, Relaxed).max(slot);
        }
        match self.pending_jump.swap(slot, Relaxed) {
            0 => reference,
            previous => {
                let confirmed = previous.min(slot);
                self.reference.fetch_max(confirmed, Relaxed).max(confirmed)
            }
        }
    }
}

impl StaleBound {
    pub(crate) fn new(max_age: Option<Duration>, max_slot_lag: Option<u64>) -> Self {
        StaleBound {
            max_age_ns: max_age.map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
            max_slot_lag,
            slots: CachePadded::new(SlotReference::default()),
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
        let reference = match self.max_slot_lag {
            Some(lag) => self.slots.observe(c.slot, lag),
            None => 0,
        };
        self.is_stale(c, now_ns, reference)
    }

    /// At dequeue: whether `c` went stale while it waited.
    #[inline]
    pub(crate) fn stale_at_dequeue(&self, c: &PremintCandidate, now_ns: u64) -> bool {
        let reference = match self.max_slot_lag {
            Some(_) => self.slots.reference.load(Relaxed),
            None => 0,
        };
        self.is_stale(c, now_ns, reference)
    }

    #[inline]
    fn is_stale(&self, c: &PremintCandidate, now_ns: u64, reference_slot: u64) -> bool {
        self.max_age_ns
            .is_some_and(|max| now_ns.saturating_sub(c.detected_at_ns) > max)
            || self
                .max_slot_lag
                .is_some_and(|lag| reference_slot.saturating_sub(c.slot) > lag)
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
        // The first slot is a jump from nothing: the second launch confirms it.
        assert!(!b.stale_at_enqueue(&at(10, 0), 0));
        assert!(!b.stale_at_enqueue(&at(10, 0), 0));
        assert!(!b.stale_at_enqueue(&at(8, 0), 0), "lag 2 is allowed");
        assert!(b.stale_at_enqueue(&at(7, 0), 0), "lag 3 is not");
        // A later, newer slot makes a queued candidate stale at dequeue.
        let queued = at(10, 0);
        assert!(!b.stale_at_enqueue(&at(12, 0), 0));
        assert!(!b.stale_at_enqueue(&at(13, 0), 0));
        assert!(b.stale_at_dequeue(&queued, 0));
        assert!(!b.stale_at_dequeue(&at(11, 0), 0));
    }

    #[test]
    fn one_absurd_slot_does_not_move_the_reference() {
        let b = StaleBound::new(None, Some(2));
        for slot in [300, 300, 301] {
            assert!(!b.stale_at_enqueue(&at(slot, 0), 0));
        }
        assert!(
            !b.stale_at_enqueue(&at(u64::MAX, 0), 0),
            "ahead is never stale"
        );
        // Every later valid launch is judged against 301, not against 2^64-1.
        for slot in [301, 302, 302, 303] {
            assert!(!b.stale_at_enqueue(&at(slot, 0), 0), "slot {slot}");
            assert!(!b.stale_at_dequeue(&at(slot, 0), 0), "slot {slot}");
        }
        assert!(b.stale_at_enqueue(&at(300, 0), 0), "lag 3 is still stale");
        // An outlier between two valid launches, and one right at the start: the same.
        assert!(!b.stale_at_enqueue(&at(1 << 60, 0), 0));
        assert!(!b.stale_at_enqueue(&at(304, 0), 0));
        assert!(!b.stale_at_enqueue(&at(1 << 60, 0), 0));
        assert!(!b.stale_at_dequeue(&at(303, 0), 0));
        let fresh = StaleBound::new(None, Some(2));
        assert!(!fresh.stale_at_enqueue(&at(u64::MAX, 0), 0));
        for slot in [500, 500, 501] {
            assert!(!fresh.stale_at_enqueue(&at(slot, 0), 0));
        }
        assert!(fresh.stale_at_dequeue(&at(498, 0), 0));
        assert!(!fresh.stale_at_dequeue(&at(499, 0), 0));
    }

    #[test]
    fn a_real_jump_is_followed_after_one_more_launch() {
        let b = StaleBound::new(None, Some(2));
        assert!(!b.stale_at_enqueue(&at(100, 0), 0));
        assert!(!b.stale_at_enqueue(&at(100, 0), 0));
        // The feed was silent for 1000 slots: the first launch after it is a jump...
        assert!(!b.stale_at_enqueue(&at(1100, 0), 0));
        assert!(!b.stale_at_dequeue(&at(100, 0), 0), "not confirmed yet");
        // ... the second confirms it.
        assert!(!b.stale_at_enqueue(&at(1101, 0), 0));
        assert!(b.stale_at_dequeue(&at(100, 0), 0));
        assert!(!b.stale_at_dequeue(&at(1099, 0), 0));
        // A sparse feed (every launch a jump) is followed one launch behind.
        for slot in [2000, 3000, 4000] {
            assert!(!b.stale_at_enqueue(&at(slot, 0), 0));
        }
        assert!(b.stale_at_dequeue(&at(2997, 0), 0));
        assert!(!b.stale_at_dequeue(&at(2998, 0), 0));
    }

    #[test]
    fn off_means_never_stale() {
        let b = StaleBound::new(None, None);
        assert!(b.is_off());
        assert!(!b.stale_at_enqueue(&at(0, 0), u64::MAX));
    }
}
