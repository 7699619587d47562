//! The output side towards the bot: two bounded lanes (High and Low) read through a
//! [`CandidateReceiver`], or a handler closure that the sending thread calls directly.
//!
//! The receiver waits with the engine's [`WaitStrategy`]: it polls High before Low, spins and
//! yields briefly, and only then blocks on both lanes with a crossbeam `Select`, so a bot that is
//! keeping up does not pay a park/unpark wake-up per candidate.
//!
//! Starvation budget: every High candidate served while Low is waiting earns Low `low_share_pct`
//! credits; once the credits reach `100 - low_share_pct`, the next receive takes from Low and
//! pays that amount. Under saturation exactly `low_share_pct` % of receives therefore go to Low
//! (10 % by default: nine High, then one Low), and High gets the rest; a lane that is alone is
//! simply served. A handler has no such
//! budget to apply: every batch is delivered whole, High first, so Low cannot starve there.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvError, RecvTimeoutError, Select, Sender, TryRecvError};

use crate::candidate::{PremintCandidate, Priority};
use crate::ring::{Pause, WaitStrategy, Waiter};

/// A handler run on the sending thread for every delivered candidate (no extra hop).
pub type Handler = Arc<dyn Fn(&PremintCandidate) + Send + Sync + 'static>;

/// Where the senders deliver.
#[derive(Clone)]
pub(crate) enum Output {
    Lanes(Lanes),
    Handler(Handler),
}

/// The sending side of the two lanes.
#[derive(Clone)]
pub(crate) struct Lanes {
    pub(crate) tx: [Sender<PremintCandidate>; 2],
    /// Wakes an async receiver (see [`CandidateStream`]).
    #[cfg(feature = "tokio")]
    pub(crate) wake: Arc<stream::AsyncWake>,
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Lanes(_) => f.write_str("Output::Lanes"),
            Output::Handler(_) => f.write_str("Output::Handler"),
        }
    }
}

impl Output {
    pub(crate) fn lane_depths(&self) -> [usize; 2] {
        match self {
            Output::Lanes(l) => [l.tx[0].len(), l.tx[1].len()],
            Output::Handler(_) => [0, 0],
        }
    }
}

/// Creates the two bounded lanes and the bot's receiver.
pub(crate) fn lanes(
    capacity: usize,
    wait: WaitStrategy,
    low_share_pct: u8,
) -> (Output, CandidateReceiver) {
    let (high_tx, high_rx) = crossbeam_channel::bounded(capacity);
    let (low_tx, low_rx) = crossbeam_channel::bounded(capacity);
    #[cfg(feature = "tokio")]
    let wake = Arc::new(stream::AsyncWake::default());
    (
        Output::Lanes(Lanes {
            tx: [high_tx, low_tx],
            #[cfg(feature = "tokio")]
            wake: wake.clone(),
        }),
        CandidateReceiver {
            high: high_rx,
            low: low_rx,
            wait,
            low_share: u32::from(low_share_pct.min(100)),
            credit: AtomicU32::new(0),
            #[cfg(feature = "tokio")]
            wake,
        },
    )
}

/// The bot's end of the engine: High candidates are returned before Low ones that are ready at
/// the same time, except for the Low share of the starvation budget (see the module docs); order
/// is FIFO within a lane.
///
/// After shutdown the lanes keep what was delivered to them; `recv` returns it and then
/// [`RecvError`]. Dropping the receiver makes later deliveries fail (counted in `send_failures`).
///
/// # Examples
///
/// ```
/// use sniffer::{PremintCandidate, Priority, Sniffer};
///
/// let mut engine = Sniffer::builder().build()?;
/// let rx = engine.take_receiver().expect("no handler was set");
/// engine.ingest_handle().ingest(PremintCandidate { priority: Priority::High, ..Default::default() })?;
/// let got = rx.recv_timeout(std::time::Duration::from_secs(5))?;
/// assert_eq!(got.priority, Priority::High);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CandidateReceiver {
    high: Receiver<PremintCandidate>,
    low: Receiver<PremintCandidate>,
    wait: WaitStrategy,
    low_share: u32,
    /// Starvation-budget credits (see the module docs). Relaxed: a receiver shared by several
    /// threads only makes the split approximate, never loses a candidate.
    credit: AtomicU32,
    #[cfg(feature = "tokio")]
    wake: Arc<stream::AsyncWake>,
}

impl fmt::Debug for CandidateReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CandidateReceiver")
            .field("high_len", &self.high.len())
            .field("low_len", &self.low.len())
            .finish()
    }
}

impl CandidateReceiver {
    /// Takes a ready candidate, High first. Never waits.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when nothing is ready, [`TryRecvError::Disconnected`] when the engine
    /// has shut down and both lanes are empty.
    pub fn try_recv(&self) -> Result<PremintCandidate, TryRecvError> {
        let share = self.low_share;
        if share > 0 && self.credit.load(Relaxed) + share >= 100 {
            // Low is due: serve it if it has something, and pay for it.
            if let Ok(c) = self.low.try_recv() {
                self.credit.store(
                    (self.credit.load(Relaxed) + share).saturating_sub(100),
                    Relaxed,
                );
                return Ok(c);
            }
        }
        match self.high.try_recv() {
            Ok(c) => {
                if share > 0 && share < 100 && !self.low.is_empty() {
                    // High served while Low waits: Low earns credit.
                    self.credit.fetch_add(share, Relaxed);
                }
                Ok(c)
            }
            Err(high) => match self.low.try_recv() {
                Ok(c) => Ok(c),
                Err(TryRecvError::Disconnected) if high.is_disconnected() => {
                    Err(TryRecvError::Disconnected)
                }
                Err(_) => Err(TryRecvError::Empty),
            },
        }
    }

    /// Waits for the next candidate, High first.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the engine has shut down and both lanes are empty.
    pub fn recv(&self) -> Result<PremintCandidate, RecvError> {
        self.recv_until(None).map_err(|_| RecvError)
    }

    /// Waits at most `timeout` for the next candidate.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`], or [`RecvTimeoutError::Disconnected`] after shutdown with
    /// both lanes empty.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<PremintCandidate, RecvTimeoutError> {
        self.recv_until(Some(Instant::now() + timeout))
    }

    fn recv_until(&self, deadline: Option<Instant>) -> Result<PremintCandidate, RecvTimeoutError> {
        let mut waiter = Waiter::new(self.wait);
        loop {
            match self.try_recv() {
                Ok(c) => return Ok(c),
                Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
                Err(TryRecvError::Empty) => {}
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(RecvTimeoutError::Timeout);
            }
            if waiter.pause() == Pause::Park {
                let mut sel = Select::new();
                sel.recv(&self.high);
                sel.recv(&self.low);
                // `ready` also returns for a disconnected lane; the loop sorts that out.
                match deadline {
                    None => {
                        sel.ready();
                    }
                    Some(d) => {
                        let _ = sel.ready_deadline(d);
                    }
                }
                waiter.reset();
            }
        }
    }

    /// Blocking iterator that ends after shutdown once both lanes are empty.
    pub fn iter(&self) -> impl Iterator<Item = PremintCandidate> + '_ {
        std::iter::from_fn(move || self.recv().ok())
    }

    /// Iterator over what is ready now, High first.
    pub fn try_iter(&self) -> impl Iterator<Item = PremintCandidate> + '_ {
        std::iter::from_fn(move || self.try_recv().ok())
    }

    /// The receiver of one lane, for bots that read the lanes separately.
    pub fn lane(&self, priority: Priority) -> &Receiver<PremintCandidate> {
        match priority {
            Priority::High => &self.high,
            Priority::Low => &self.low,
        }
    }

    /// Candidates waiting in both lanes.
    pub fn len(&self) -> usize {
        self.high.len() + self.low.len()
    }

    /// True when both lanes are empty.
    pub fn is_empty(&self) -> bool {
        self.high.is_empty() && self.low.is_empty()
    }
}

#[cfg(feature = "tokio")]
pub use stream::CandidateStream;

#[cfg(feature = "tokio")]
mod stream {
    //! The async face: a `Stream` over the same two lanes. The sender wakes it after each lane
    //! part it delivers; a bot that stays synchronous pays a fence and a load per lane part, and
    //! only in builds with the `tokio` feature.

    use std::pin::Pin;
    use std::sync::atomic::{
        fence, AtomicBool,
        Ordering::{Acquire, Relaxed, Release, SeqCst},
    };
    use std::task::{Context, Poll};

    use atomic_waker::AtomicWaker;
    use crossbeam_channel::TryRecvError;

    use super::CandidateReceiver;
    use crate::candidate::PremintCandidate;

    /// Shared by the lane senders and the stream.
    #[derive(Debug, Default)]
    pub(crate) struct AsyncWake {
        /// Set once a stream exists; senders skip the wake otherwise.
        enabled: AtomicBool,
        /// Set at shutdown: once the lanes are empty the stream ends.
        closed: AtomicBool,
        waker: AtomicWaker,
    }

    impl AsyncWake {
        /// After a delivery: wakes a waiting stream. The fence pairs with the one in `poll_next`
        /// so that a stream created concurrently is never missed.
        #[inline]
        pub(crate) fn wake(&self) {
            fence(SeqCst);
            if self.enabled.load(Relaxed) {
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
    /// [`CandidateReceiver::into_stream`]; High first, FIFO per lane, ends after shutdown once
    /// the lanes are empty. It needs no particular runtime.
    #[derive(Debug)]
    pub struct CandidateStream {
        rx: CandidateReceiver,
    }

    impl CandidateReceiver {
        /// Turns the receiver into a `Stream` (cargo feature `tokio`).
        pub fn into_stream(self) -> CandidateStream {
            self.wake.enabled.store(true, SeqCst);
            CandidateStream { rx: self }
        }
    }

    impl CandidateStream {
        /// The next candidate; `None` after shutdown once the lanes are empty.
        pub async fn recv(&mut self) -> Option<PremintCandidate> {
            std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next_inner(cx)).await
        }

        fn poll_next_inner(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<PremintCandidate>> {
            let rx = &self.rx;
            match rx.try_recv() {
                Ok(c) => return Poll::Ready(Some(c)),
                Err(TryRecvError::Disconnected) => return Poll::Ready(None),
                Err(TryRecvError::Empty) => {}
            }
            rx.wake.waker.register(cx.waker());
            fence(SeqCst);
            // Re-check after registering: a delivery that came before the registration found no
            // waker to wake.
            match rx.try_recv() {
                Ok(c) => Poll::Ready(Some(c)),
                Err(TryRecvError::Disconnected) => Poll::Ready(None),
                Err(TryRecvError::Empty) if rx.wake.closed.load(Acquire) => Poll::Ready(None),
                Err(TryRecvError::Empty) => Poll::Pending,
            }
        }
    }

    impl futures_core::Stream for CandidateStream {
        type Item = PremintCandidate;

        fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.poll_next_inner(cx)
        }
    }
}

impl Output {
    /// Tells an async receiver that no more candidates will come.
    pub(crate) fn close(&self) {
        #[cfg(feature = "tokio")]
        if let Output::Lanes(l) = self {
            l.wake.close();
        }
    }
}

impl IntoIterator for CandidateReceiver {
    type Item = PremintCandidate;
    type IntoIter = Box<dyn Iterator<Item = PremintCandidate> + Send>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(std::iter::from_fn(move || self.recv().ok()))
    }
}
