//! The producers' side of shutdown: one word that holds a closed bit, the number of pushes in
//! progress and the number of sequence numbers issued. A push registers itself with
//! [`ProducerGate::enter`] (or [`ProducerGate::enter_issuing`], which also takes the next
//! sequence number in the same read-modify-write), and gets a [`PushGuard`] that unregisters it
//! when dropped (no paired enter/exit calls to forget). Two locked instructions per push cover the
//! shutdown handshake, the sequence number and the detection count: a separate issued counter
//! was a third (~5.5 ns each here, on a path where a whole hop costs ~50-100 ns).
//!
//! After [`ProducerGate::close`] no new push can register, and once
//! [`ProducerGate::producers_idle`] is true every push that did register has finished and
//! everything it stored happens-before the caller's next read: the drain at shutdown is exact.
//! The word is modelled with loom in `tests` below (`make test-loom`).

use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};

use crossbeam_utils::CachePadded;

use crate::sync::AtomicU64;

/// Bit 0: closed. Bits 1..=15: pushes in progress (`ONE_PUSH` each; at most 16,383 at once).
/// Bits 16..=63: sequence numbers issued (`ONE_ISSUED` each; 48 bits wrap after 2.8 × 10^14,
/// 325 days at a sustained 10 M/s).
const CLOSED: u64 = 1;
const ONE_PUSH: u64 = 2;
const ISSUED_SHIFT: u32 = 16;
const ONE_ISSUED: u64 = 1 << ISSUED_SHIFT;
const IN_PROGRESS: u64 = ONE_ISSUED - ONE_PUSH;

/// Closed bit, pushes in progress and issued count (see the constants). Producers `fetch_add`
/// it on entry (Acquire) and `fetch_sub` it on exit (Release); `close` sets the bit (AcqRel);
/// `producers_idle` reads it with Acquire, so no push in progress means every stored item (and
/// every count made inside a guard) happens-before the reader.
#[derive(Debug, Default)]
pub(crate) struct ProducerGate(CachePadded<AtomicU64>);

/// A push in progress; dropping it ends the push.
#[derive(Debug)]
#[must_use = "the push ends when the guard is dropped"]
pub(crate) struct PushGuard<'a>(&'a ProducerGate);

impl Drop for PushGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0 .0.fetch_sub(ONE_PUSH, Release);
    }
}

impl ProducerGate {
    /// Registers a push in progress; `None` (and nothing registered) once closed.
    #[inline]
    pub(crate) fn enter(&self) -> Option<PushGuard<'_>> {
        if self.0.fetch_add(ONE_PUSH, Acquire) & CLOSED != 0 {
            self.0.fetch_sub(ONE_PUSH, Release);
            return None;
        }
        Some(PushGuard(self))
    }

    /// Like [`ProducerGate::enter`], and takes the next sequence number (counted as issued) in
    /// the same instruction. A refused entry takes none.
    #[inline]
    pub(crate) fn enter_issuing(&self) -> Option<(PushGuard<'_>, u64)> {
        let before = self.0.fetch_add(ONE_PUSH + ONE_ISSUED, Acquire);
        if before & CLOSED != 0 {
            self.0.fetch_sub(ONE_PUSH + ONE_ISSUED, Release);
            return None;
        }
        Some((PushGuard(self), before >> ISSUED_SHIFT))
    }

    /// Sequence numbers issued so far (exact once the producers are idle).
    pub(crate) fn issued(&self) -> u64 {
        self.0.load(Acquire) >> ISSUED_SHIFT
    }

    /// Refuses every later `enter`.
    pub(crate) fn close(&self) {
        self.0.fetch_or(CLOSED, AcqRel);
    }

    /// True after `close`.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.0.load(Acquire) & CLOSED != 0
    }

    /// True when no push is in progress.
    #[inline]
    pub(crate) fn producers_idle(&self) -> bool {
        self.0.load(Acquire) & IN_PROGRESS == 0
    }
}

#[cfg(all(test, sniffer_loom))]
mod tests {
    use super::ProducerGate;
    use loom::sync::atomic::AtomicUsize;
    use loom::sync::Arc;
    use std::sync::atomic::Ordering::Relaxed;

    /// Two producers race a close: whatever a producer stored while registered is visible to the
    /// closer once the producers are idle, no producer stores after that point, and the issued
    /// count is exactly the accepted pushes.
    #[test]
    fn loom_close_then_idle_sees_every_store() {
        loom::model(|| {
            let gate = Arc::new(ProducerGate::default());
            let stored = Arc::new(AtomicUsize::new(0));
            let producers: Vec<_> = (0..2)
                .map(|_| {
                    let (g, s) = (gate.clone(), stored.clone());
                    loom::thread::spawn(move || match g.enter_issuing() {
                        Some((_push, _seq)) => {
                            // Relaxed on purpose: the guard's Release is what publishes it.
                            s.fetch_add(1, Relaxed);
                            1
                        }
                        None => 0,
                    })
                })
                .collect();
            gate.close();
            while !gate.producers_idle() {
                loom::thread::yield_now();
            }
            let drained = stored.load(Relaxed);
            assert!(gate.enter().is_none(), "closed for good");
            let accepted: usize = producers.into_iter().map(|p| p.join().unwrap()).sum();
            assert_eq!(
                drained, accepted,
                "the drain saw exactly the accepted pushes"
            );
        });
    }
}

#[cfg(all(test, not(sniffer_loom)))]
mod unit_tests {
    use super::ProducerGate;

    #[test]
    fn issues_sequence_numbers_in_order_and_counts_pushes_in_progress() {
        let g = ProducerGate::default();
        let (a, s0) = g.enter_issuing().unwrap();
        let (b, s1) = g.enter_issuing().unwrap();
        let c = g.enter().unwrap();
        assert_eq!((s0, s1), (0, 1));
        assert!(!g.producers_idle());
        drop((a, b, c));
        assert!(g.producers_idle());
        assert_eq!(g.issued(), 2, "a plain enter issues nothing");
        g.close();
        assert!(g.enter_issuing().is_none());
        assert_eq!(g.issued(), 2, "a refused entry issues nothing");
        assert!(g.is_closed() && g.producers_idle());
    }
}
