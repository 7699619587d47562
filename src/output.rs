//! The output side towards the bot: two bounded lanes (High and Low) read through a
//! [`CandidateReceiver`], or a handler closure that the sending thread calls directly.
//!
//! The receiver waits with the engine's [`WaitStrategy`]: it polls High before Low, spins and
//! yields briefly, and only then blocks on both lanes with a crossbeam `Select`, so a bot that is
//! keeping up does not pay a park/unpark wake-up per candidate.
//!
//! Starvation budget: while both lanes hold candidates, each receive adds `low_share_pct` credits;
//! once the credits reach 100 the receive takes from Low and pays 100. Under saturation exactly
//! `low_share_pct` % of receives therefore go to Low (10 % by default), and High gets the rest;
//! when only one lane has candidates it is served and no credit accrues. A handler has no such
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
    Lanes([Sender<PremintCandidate>; 2]),
    Handler(Handler),
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
            Output::Lanes([high, low]) => [high.len(), low.len()],
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
    (
        Output::Lanes([high_tx, low_tx]),
        CandidateReceiver {
            high: high_rx,
            low: low_rx,
            wait,
            low_share: u32::from(low_share_pct.min(100)),
            credit: AtomicU32::new(0),
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
        if self.low_share > 0 && !self.low.is_empty() && !self.high.is_empty() {
            let credit = self.credit.load(Relaxed) + self.low_share;
            if credit >= 100 {
                self.credit.store(credit - 100, Relaxed);
                if let Ok(c) = self.low.try_recv() {
                    return Ok(c);
                }
            } else {
                self.credit.store(credit, Relaxed);
            }
        }
        match self.high.try_recv() {
            Ok(c) => Ok(c),
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

impl IntoIterator for CandidateReceiver {
    type Item = PremintCandidate;
    type IntoIter = Box<dyn Iterator<Item = PremintCandidate> + Send>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(std::iter::from_fn(move || self.recv().ok()))
    }
}
