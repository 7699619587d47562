//! [`DedupTable`]: first sighting wins, across feeds, per (mint, signature).
//!
//! The same launch may arrive over several feeds; each feed thread asks the shared table whether
//! it is the first to see a launch. The table is lock-free: a fixed-capacity open-addressing table
//! (linear probing over [`PROBE`] slots) of two atomics per slot, keyed by a keyed SipHash of the
//! mint and the signature (random key per table, so crafted inputs cannot aim at one probe run).
//! Memory is fixed at build time: 16 bytes per slot.
//!
//! A slot's `tag` runs a three-state machine (`seen_ns` holds the winner's receive time):
//! ```text
//! empty (0) ──CAS──► pending(fp, feed) ──store──► ready(fp, feed)
//!                      ▲                             │ older than `window`: may be reclaimed
//!                      └────────────CAS──────────────┘
//! ```
//! `fp` is 47 bits of the hash (top bit forced, so a tag is never 0), `feed` the winner's id.
//! A thread that finds its own `fp` pending waits (spins, then yields) for the few nanoseconds
//! until the winner publishes `seen_ns`. `seen_ns` is read seqlock-style: load `tag`, load
//! `seen_ns` (Acquire), load `tag` again; a changed tag means the slot was reclaimed meanwhile and
//! the slot is looked at afresh. Without reclaiming, linear probing with "claim the first empty
//! slot by CAS, re-examine the slot when the CAS fails" is an exact insert-if-absent (slots never
//! become empty again, so two threads with the same key meet in the same slot).
//!
//! Eviction rule: a ready entry older than `window` (30 s by default: feeds that carry the same
//! launch are seconds apart at most) may be reclaimed by the next key probing over it; a
//! duplicate arriving later than that counts as a new sighting. When all [`PROBE`] slots of a
//! key's run hold fresh entries, the oldest of them is evicted ([`Sighting::FirstEvicting`],
//! counted in `dedup_evicted_fresh` so an undersized table shows: a late copy of the evicted
//! launch would be delivered again). A key that finds its run all pending, or loses the eviction
//! race [`MAX_ATTEMPTS`] times, is [`Sighting::Untracked`] (delivered, counted apart).
//!
//! The inexact cases are reclaims racing with each other: two threads with the same key that
//! judge an aged entry on either side of `window` at the same instant, or that pick different
//! victims because the run changed between their scans. Both then deliver: the table errs
//! towards delivering twice, never towards losing a launch. Without reclaims (fewer than
//! `capacity` launches per `window`, spread by the hash) it is exact.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};
use std::time::Duration;

use crate::candidate::{Pubkey, Signature};
use crate::sync::{spin_wait, AtomicU64};

/// Slots probed per key (2 under loom, to keep the model small; the logic is the same).
pub(crate) const PROBE: usize = if cfg!(sniffer_loom) { 2 } else { 16 };
/// Scans of a key's run before it is given up as untracked (each retry follows a lost CAS).
pub(crate) const MAX_ATTEMPTS: usize = 4;
/// Default number of slots (4 MiB): 262 144 launches in flight per window before evictions.
pub(crate) const DEDUP_CAPACITY: usize = 1 << 18;
/// Default age after which an entry may be reclaimed.
pub(crate) const DEDUP_WINDOW: Duration = Duration::from_secs(30);

const READY: u64 = 1;
const FEED_MASK: u64 = 0xffff << 1;
const FP_SHIFT: u32 = 17;
const FP_TOP: u64 = 1 << 46;

/// What the table says about a sighting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sighting {
    /// The first sighting: deliver it.
    First,
    /// Seen before by feed `winner`, `lead_ns` earlier.
    Duplicate {
        /// The feed that saw it first.
        winner: u16,
        /// How much earlier the winner saw it.
        lead_ns: u64,
    },
    /// The first sighting, stored in place of the oldest fresh entry of the key's run (the
    /// table is under pressure): deliver it.
    FirstEvicting,
    /// No slot could be taken (every slot of the run pending, or lost races): deliver it.
    Untracked,
}

#[derive(Debug, Default)]
struct Slot {
    /// Written by whoever claims the slot (CAS), read by every prober. See the module docs.
    tag: AtomicU64,
    /// The winner's receive time; written (Release) between the claim and the `ready` store.
    seen_ns: AtomicU64,
}

/// The shared first-sighting table. See the module docs for the algorithm.
pub(crate) struct DedupTable {
    slots: Box<[Slot]>,
    mask: usize,
    window_ns: u64,
    hasher: RandomState,
}

impl std::fmt::Debug for DedupTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DedupTable")
            .field("slots", &self.slots.len())
            .field("window_ns", &self.window_ns)
            .finish_non_exhaustive()
    }
}

impl Default for DedupTable {
    fn default() -> Self {
        DedupTable::new(DEDUP_CAPACITY, DEDUP_WINDOW)
    }
}

impl DedupTable {
    /// A table of `capacity` slots (rounded up to a power of two, at least `PROBE`, 16).
    pub(crate) fn new(capacity: usize, window: Duration) -> Self {
        let n = capacity.max(PROBE).next_power_of_two();
        DedupTable {
            slots: (0..n).map(|_| Slot::default()).collect(),
            mask: n - 1,
            window_ns: u64::try_from(window.as_nanos()).unwrap_or(u64::MAX),
            hasher: RandomState::new(),
        }
    }

    /// Number of slots.
    #[cfg(all(test, sniffer_loom))]
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Records that feed `feed` received the launch (`mint`, `sig`) at `now_ns` and says whether
    /// it was first.
    pub(crate) fn observe(
        &self,
        mint: &Pubkey,
        sig: &Signature,
        feed: u16,
        now_ns: u64,
    ) -> Sighting {
        let mut h = self.hasher.build_hasher();
        h.write(&mint.0);
        h.write(&sig.0);
        self.observe_hash(h.finish(), feed, now_ns)
    }

    fn observe_hash(&self, h: u64, feed: u16, now_ns: u64) -> Sighting {
        let fp = (h >> FP_SHIFT) | FP_TOP;
        let pending = (fp << FP_SHIFT) | (u64::from(feed) << 1);
        // Keep times positive for the age test.
        let now = now_ns.max(1);
        for _ in 0..MAX_ATTEMPTS {
            if let Some(s) = self.scan(h, fp, pending, now) {
                return s;
            }
        }
        Sighting::Untracked
    }

    /// One pass over the key's run. `None` when the eviction CAS was lost: the run changed, and
    /// the key may now be in it, so the caller scans again.
    fn scan(&self, h: u64, fp: u64, pending: u64, now: u64) -> Option<Sighting> {
        // The oldest ready entry seen (slot, its tag, its time), the eviction victim.
        let mut oldest: Option<(&Slot, u64, u64)> = None;
        for i in 0..PROBE.min(self.slots.len()) {
            let slot = &self.slots[(h as usize).wrapping_add(i) & self.mask];
            let mut round = 0;
            loop {
                let tag = slot.tag.load(Acquire);
                if tag != 0 && tag >> FP_SHIFT == fp {
                    if tag & READY == 0 {
                        // The winner is between its claim and its publish.
                        spin_wait(&mut round);
                        continue;
                    }
                    let seen = slot.seen_ns.load(Acquire);
                    if slot.tag.load(Acquire) != tag {
                        continue; // reclaimed while reading `seen`
                    }
                    return Some(Sighting::Duplicate {
                        winner: ((tag & FEED_MASK) >> 1) as u16,
                        lead_ns: now.saturating_sub(seen),
                    });
                }
                let claimable = if tag == 0 {
                    true
                } else if tag & READY == 0 {
                    false // another key being inserted
                } else {
                    let seen = slot.seen_ns.load(Acquire);
                    if slot.tag.load(Acquire) != tag {
                        continue;
                    }
                    if oldest.is_none_or(|(_, _, t)| seen < t) {
                        oldest = Some((slot, tag, seen));
                    }
                    now.saturating_sub(seen) > self.window_ns
                };
                if !claimable {
                    break;
                }
                if Self::claim(slot, tag, pending, now) {
                    return Some(Sighting::First);
                }
                // Lost the slot to another thread: look at what it holds now.
            }
        }
        let (slot, tag, _) = oldest?;
        Self::claim(slot, tag, pending, now).then_some(Sighting::FirstEvicting)
    }

    fn claim(slot: &Slot, tag: u64, pending: u64, now: u64) -> bool {
        if slot
            .tag
            .compare_exchange(tag, pending, AcqRel, Acquire)
            .is_err()
        {
            return false;
        }
        slot.seen_ns.store(now, Release);
        slot.tag.store(pending | READY, Release);
        true
    }
}

#[cfg(all(test, not(sniffer_loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_second_sighting_names_the_winner_and_its_lead() {
        let t = DedupTable::new(1024, Duration::from_secs(30));
        let (mint, sig) = (Pubkey([1; 32]), Signature([2; 64]));
        assert_eq!(t.observe(&mint, &sig, 0, 1_000), Sighting::First);
        assert_eq!(
            t.observe(&mint, &sig, 1, 1_700),
            Sighting::Duplicate {
                winner: 0,
                lead_ns: 700
            }
        );
    }

    #[test]
    fn first_sighting_wins_and_leads_are_exact() {
        let t = DedupTable::new(64, Duration::from_secs(30));
        let key = |i: u8| (Pubkey([i; 32]), Signature([i; 64]));
        for i in 0..20u8 {
            let (m, s) = key(i);
            let first = if i % 4 == 0 { 1 } else { 0 };
            assert_eq!(t.observe(&m, &s, first, 1_000), Sighting::First);
        }
        for i in 0..20u8 {
            let (m, s) = key(i);
            let (late, winner) = if i % 4 == 0 { (0, 1) } else { (1, 0) };
            assert_eq!(
                t.observe(&m, &s, late, 1_000 + u64::from(i)),
                Sighting::Duplicate {
                    winner,
                    lead_ns: u64::from(i)
                }
            );
        }
        // Same mint, another signature: another launch record.
        assert_eq!(
            t.observe(&Pubkey([1; 32]), &Signature([9; 64]), 0, 5),
            Sighting::First
        );
    }

    #[test]
    fn a_full_run_evicts_its_oldest_entry_and_aged_entries_are_reclaimed() {
        let t = DedupTable::new(PROBE, Duration::from_nanos(100));
        // Every key hashes into the same run of PROBE slots: fill it (key i seen at 10 + i).
        for i in 0..PROBE as u64 {
            assert_eq!(t.observe_hash(i << 20, 0, 10 + i), Sighting::First);
        }
        // All fresh: the oldest (key 0) makes room.
        assert_eq!(t.observe_hash(999 << 20, 1, 50), Sighting::FirstEvicting);
        assert_eq!(t.observe_hash(0, 1, 60), Sighting::FirstEvicting);
        assert_eq!(
            t.observe_hash(3 << 20, 1, 70),
            Sighting::Duplicate {
                winner: 0,
                lead_ns: 57
            }
        );
        // Old enough (the first slot, key 999 seen at 50, is 150 old at 200): reclaimed as a
        // plain first sighting; a copy of the reclaimed key later is a new sighting.
        assert_eq!(t.observe_hash(777 << 20, 1, 200), Sighting::First);
        assert_eq!(t.observe_hash(999 << 20, 0, 250), Sighting::First);
        assert_eq!(
            t.observe_hash(777 << 20, 0, 260),
            Sighting::Duplicate {
                winner: 1,
                lead_ns: 60
            }
        );
    }

    #[test]
    fn threads_racing_on_one_key_get_one_winner() {
        let t = std::sync::Arc::new(DedupTable::new(1024, Duration::from_secs(30)));
        for round in 0..200u64 {
            let hs: Vec<_> = (0..4u16)
                .map(|f| {
                    let t = t.clone();
                    std::thread::spawn(move || t.observe_hash(round * 7919, f, 10 + u64::from(f)))
                })
                .collect();
            let r: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
            assert_eq!(r.iter().filter(|s| **s == Sighting::First).count(), 1);
            assert!(r.iter().all(|s| *s != Sighting::Untracked));
        }
    }
}

#[cfg(all(test, sniffer_loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    /// Two feeds see the same launch: exactly one wins, and the loser reads the winner's time.
    #[test]
    fn loom_dedup_one_winner() {
        loom::model(|| {
            let t = Arc::new(DedupTable::new(PROBE, Duration::from_secs(30)));
            let t2 = t.clone();
            let h = loom::thread::spawn(move || t2.observe_hash(3, 1, 20));
            let a = t.observe_hash(3, 0, 10);
            let b = h.join().unwrap();
            match (a, b) {
                (Sighting::First, Sighting::Duplicate { winner: 0, lead_ns }) => {
                    assert_eq!(lead_ns, 10)
                }
                (Sighting::Duplicate { winner: 1, lead_ns }, Sighting::First) => {
                    assert_eq!(lead_ns, 0) // saturates: the winner's clock was later
                }
                other => panic!("{other:?}"),
            }
        });
    }

    /// Two feeds race to reclaim an aged slot for the same key: still one winner.
    #[test]
    fn loom_dedup_reclaim_one_winner() {
        loom::model(|| {
            let t = Arc::new(DedupTable::new(PROBE, Duration::from_nanos(100)));
            // Fill the whole table with old entries so the key must reclaim one.
            for i in 0..t.capacity() as u64 {
                assert_eq!(t.observe_hash(i << 20, 2, 1), Sighting::First);
            }
            let t2 = t.clone();
            let h = loom::thread::spawn(move || t2.observe_hash(99 << 20, 1, 1_000));
            let a = t.observe_hash(99 << 20, 0, 1_000);
            let b = h.join().unwrap();
            let firsts = [a, b].iter().filter(|s| **s == Sighting::First).count();
            assert_eq!(firsts, 1, "{a:?} {b:?}");
        });
    }

    /// Two feeds race to evict the oldest fresh entry for the same key: still one winner.
    #[test]
    fn loom_dedup_evict_one_winner() {
        loom::model(|| {
            let t = Arc::new(DedupTable::new(PROBE, Duration::from_secs(30)));
            for i in 0..t.capacity() as u64 {
                assert_eq!(t.observe_hash(i << 20, 2, 1 + i), Sighting::First);
            }
            let t2 = t.clone();
            let h = loom::thread::spawn(move || t2.observe_hash(99 << 20, 1, 1_000));
            let a = t.observe_hash(99 << 20, 0, 1_000);
            let b = h.join().unwrap();
            let firsts = [a, b]
                .iter()
                .filter(|s| matches!(s, Sighting::First | Sighting::FirstEvicting))
                .count();
            assert_eq!(firsts, 1, "{a:?} {b:?}");
        });
    }
}
