//! The producers' side of shutdown: one word that holds a closed bit and the number of pushes in
//! progress (×2). A push registers itself with [`ProducerGate::enter`], which hands back a
//! [`PushGuard`] that unregisters it when dropped (no paired enter/exit calls to forget).
//!
//! After [`ProducerGate::close`] no new push can register, and once
//! [`ProducerGate::producers_idle`] is true every push that did register has finished and
//! everything it stored happens-before the caller's next read: the drain at shutdown is exact.
//! The word is modelled with loom in `tests` below (`make test-loom`).

use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};

use crossbeam_utils::CachePadded;

use crate::sync::AtomicUsize;

/// The closed bit; the rest of the word counts pushes in progress, `ONE_PUSH` each.
const CLOSED: usize = 1;
const ONE_PUSH: usize = 2;

/// Closed bit + 2 × pushes in progress. Producers `fetch_add` it on entry (Acquire) and
/// `fetch_sub` it on exit (Release); `close` sets the bit (AcqRel); `producers_idle` reads it
/// with Acquire, so a zero count means every stored item happens-before the reader.
#[derive(Debug, Default)]
pub(crate) struct ProducerGate(CachePadded<AtomicUsize>);

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
        self.0.load(Acquire) < ONE_PUSH
    }
}

#[cfg(all(test, loom))]
mod tests {
    use super::ProducerGate;
    use loom::sync::atomic::AtomicUsize;
    use loom::sync::Arc;
    use std::sync::atomic::Ordering::Relaxed;

    /// Two producers race a close: whatever a producer stored while registered is visible to the
    /// closer once the producers are idle, and no producer stores after that point.
    #[test]
    fn loom_close_then_idle_sees_every_store() {
        loom::model(|| {
            let gate = Arc::new(ProducerGate::default());
            let stored = Arc::new(AtomicUsize::new(0));
            let producers: Vec<_> = (0..2)
                .map(|_| {
                    let (g, s) = (gate.clone(), stored.clone());
                    loom::thread::spawn(move || match g.enter() {
                        Some(_push) => {
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
