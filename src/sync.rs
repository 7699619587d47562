//! The synchronisation primitives our own state machines are built on, switched to loom's models
//! under `cfg(sniffer_loom)` so that `cargo test --cfg sniffer_loom` explores their interleavings (tokio's
//! `src/loom` shim does the same). Crossbeam's internals are outside loom's view; only code that
//! goes through this module is modelled.

#[cfg(sniffer_loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize};
#[cfg(sniffer_loom)]
pub(crate) use loom::sync::{Condvar, Mutex};

#[cfg(not(sniffer_loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize};
#[cfg(not(sniffer_loom))]
pub(crate) use std::sync::{Condvar, Mutex};

/// One round of waiting for another thread to finish a short critical step: a few spins, then
/// yielding the core. Under loom every round yields, which is how loom learns the loop waits.
#[inline]
pub(crate) fn spin_wait(round: &mut u32) {
    #[cfg(sniffer_loom)]
    {
        let _ = round;
        loom::thread::yield_now();
    }
    #[cfg(not(sniffer_loom))]
    {
        if *round < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
        *round = round.saturating_add(1);
    }
}
