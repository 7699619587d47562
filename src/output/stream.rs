//! The async face (cargo feature `stream`): a `Stream` over the same two lanes. A send into a lane
//! wakes it; a bot that stays synchronous pays a load per send for it, and only in builds with
//! the feature.

use std::pin::Pin;
use std::sync::atomic::{
    fence, AtomicBool,
    Ordering::{Acquire, Release, SeqCst},
};
use std::task::{Context, Poll};

use atomic_waker::AtomicWaker;

use super::CandidateReceiver;
use crate::candidate::PremintCandidate;
use crate::error::TryRecvError;

/// Shared by the lanes' sending side and the stream.
#[derive(Debug, Default)]
pub(crate) struct AsyncWake {
    /// Set once a stream exists; senders skip the wake otherwise.
    enabled: AtomicBool,
    /// Set at shutdown: once the lanes are empty the stream ends.
    closed: AtomicBool,
    waker: AtomicWaker,
}

impl AsyncWake {
    /// After a delivery: wakes a waiting stream. The load is `SeqCst` (a plain load on x86) and
    /// the lane's store before it is a `SeqCst` read-modify-write, so a stream that was enabled
    /// after this load read `false` finds the delivery in its own `SeqCst`-fenced re-check.
    #[inline]
    pub(crate) fn wake(&self) {
        if self.enabled.load(SeqCst) {
            self.waker.wake();
        }
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Release);
        fence(SeqCst);
        self.waker.wake();
    }
}

/// An async receiver (`futures_core::Stream`) of delivered candidates, from
/// [`CandidateReceiver::into_stream`]; High first, FIFO per lane, stale candidates skipped, ends
/// after shutdown once the lanes are empty. It needs no particular runtime.
#[derive(Debug)]
pub struct CandidateStream {
    rx: CandidateReceiver,
    /// The last poll returned `Pending`: the next candidate arrived after a wait.
    waited: bool,
}

impl CandidateReceiver {
    /// Turns the receiver into a `Stream` (cargo feature `stream`).
    pub fn into_stream(self) -> CandidateStream {
        // SeqCst: a sender that delivered before this store is caught by the first poll's check.
        self.lanes().wake.enabled.store(true, SeqCst);
        CandidateStream {
            rx: self,
            waited: false,
        }
    }
}

impl CandidateStream {
    /// The next candidate; `None` after shutdown once the lanes are empty.
    pub async fn recv(&mut self) -> Option<PremintCandidate> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next_inner(cx)).await
    }

    fn poll_next_inner(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<PremintCandidate>> {
        let waited = self.waited;
        match self.rx.take_after_wait(waited) {
            Ok(c) => {
                self.waited = false;
                return Poll::Ready(Some(c));
            }
            Err(TryRecvError::Disconnected) => return Poll::Ready(None),
            Err(_) => {}
        }
        let wake = &self.rx.lanes().wake;
        wake.waker.register(cx.waker());
        fence(SeqCst);
        // Re-check after registering: a delivery that came before the registration found no
        // waker to wake.
        let closed = wake.closed.load(Acquire);
        match self.rx.take_after_wait(waited) {
            Ok(c) => {
                self.waited = false;
                Poll::Ready(Some(c))
            }
            Err(TryRecvError::Disconnected) => Poll::Ready(None),
            Err(_) if closed && self.rx.lanes().ended() => Poll::Ready(None),
            Err(_) => {
                self.waited = true;
                Poll::Pending
            }
        }
    }
}

impl futures_core::Stream for CandidateStream {
    type Item = PremintCandidate;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_next_inner(cx)
    }
}
