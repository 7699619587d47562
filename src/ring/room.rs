//! Async waiting for room under `block` (cargo feature `stream`): a producer future that found
//! the ring full registers its waker here, and the consumer wakes every registered future once
//! the ring has drained to half, as it notifies parked threads (see `block.rs`). Runtime-agnostic:
//! only `std::task` wakers.
//!
//! Handshake: the future registers (under the lock), issues a `SeqCst` fence and re-checks the
//! ring; the consumer pops, issues a `SeqCst` fence and only then reads the count of registered
//! futures. Either the future sees the room or the consumer sees the future (the `Signal`
//! event-count rule, with wakers instead of a condition variable).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{
    fence, AtomicUsize,
    Ordering::{Relaxed, SeqCst},
};
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

use super::StreamRing;

/// Wakers of producers waiting for room.
#[derive(Debug, Default)]
pub(crate) struct Room {
    waiting: AtomicUsize,
    wakers: Mutex<Vec<Waker>>,
}

impl Room {
    /// After a pop (or a close): wakes every waiting future if `ready()` holds.
    #[inline]
    pub(crate) fn wake_if(&self, ready: impl Fn() -> bool) {
        fence(SeqCst);
        if self.waiting.load(Relaxed) != 0 && ready() {
            self.wake_all();
        }
    }

    #[cold]
    fn wake_all(&self) {
        let wakers = std::mem::take(&mut *self.wakers.lock());
        self.waiting.store(0, Relaxed);
        for w in wakers {
            w.wake();
        }
    }
}

/// Resolves once the ring has room (or is closed). Spurious completions are fine: the caller
/// retries its push.
pub(crate) struct RoomFuture<'a> {
    pub(crate) ring: &'a StreamRing,
}

impl Future for RoomFuture<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let ring = self.ring;
        let has_room = || ring.len() < ring.capacity() || ring.is_closed();
        if has_room() {
            return Poll::Ready(());
        }
        {
            let mut wakers = ring.room.wakers.lock();
            wakers.push(cx.waker().clone());
            ring.room.waiting.fetch_add(1, Relaxed);
        }
        fence(SeqCst);
        if has_room() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}
