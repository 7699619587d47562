//! [`CandidateReceiver`]: the bot's end of the lanes.
//!
//! It polls High before Low, waits with the engine's [`WaitStrategy`] (spin, yield, then park on
//! the lanes' shared signal: one wait, woken directly by the store that made a lane non-empty),
//! skips candidates that went stale in the lane (counted in `dropped_stale`), and records the
//! detection-to-delivery latency of what it hands over.
//!
//! Starvation budget: every High candidate served while Low is waiting earns Low `low_share_pct`
//! credits; once the credits reach `100 - low_share_pct`, the next receive takes from Low and
//! pays that amount. Under saturation exactly `low_share_pct` % of receives therefore go to Low
//! (10 % by default: nine High, then one Low), and High gets the rest; a lane that is alone is
//! simply served. Batch receives apply the same rule to every candidate they take.
//!
//! Latency costs a clock read (~35-80 ns on the development machine, more than a whole hop), so
//! it is measured where the clock is cheap relative to the wait: after a receive that parked, and
//! when `max_age` already needs the clock. Other receives (a candidate was ready, or arrived while
//! the receiver spun) are sampled, one in [`LATENCY_SAMPLE_EVERY`], recorded with the weight of
//! the receives it stands for, so the histogram's counts still add up to the deliveries; a timed
//! batch receive takes one clock read for the whole batch. (Timing every receive that merely spun
//! made the flat-out receiver 3x slower here: it reads the clock once per candidate.)

use std::cell::{Cell, RefCell};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Lanes;
use crate::candidate::LaunchMeta;
use crate::candidate::{monotonic_ns, PremintCandidate, Priority};
use crate::error::{RecvError, RecvTimeoutError, TryRecvError};
use crate::meta::MetaTable;
use crate::metrics::{LatencyRecorder, ReceiverCounters};
use crate::stale::StaleBound;
use crate::wait::{Pause, WaitStrategy, Waiter};

/// Receives that find a candidate ready are timed one in this many (see the module docs).
pub(crate) const LATENCY_SAMPLE_EVERY: u32 = 32;

/// What the engine hands the receiver when it builds it.
pub(crate) struct ReceiverParts {
    pub(crate) lanes: Arc<Lanes>,
    pub(crate) meta: Arc<MetaTable>,
    /// The receiver's own counters.
    pub(crate) counters: Arc<ReceiverCounters>,
    /// Its cell of the detection-to-delivery histogram.
    pub(crate) latency: LatencyRecorder,
    pub(crate) stale: Arc<StaleBound>,
    pub(crate) wait: WaitStrategy,
    pub(crate) low_share_pct: u8,
}

/// The bot's end of the engine: High candidates are returned before Low ones that are ready at
/// the same time, except for the Low share of the starvation budget (see the module docs); order
/// is FIFO within a lane. A candidate older than `max_age` (or `max_slot_lag`) is never returned:
/// it is skipped and counted in `dropped_stale`.
///
/// After shutdown the lanes keep what was delivered to them: receives return it and then
/// [`RecvError`]. Dropping the receiver closes the lanes: what is left in them is counted in
/// `send_failures`, and later deliveries fail.
///
/// The receiver is `Send` but not `Sync`: it is read by one thread at a time (it counts and
/// records latency without atomic read-modify-writes).
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
    lanes: Arc<Lanes>,
    meta: Arc<MetaTable>,
    counters: Arc<ReceiverCounters>,
    stale: Arc<StaleBound>,
    wait: WaitStrategy,
    low_share: u32,
    /// Starvation-budget credits (see the module docs).
    credit: Cell<u32>,
    latency: RefCell<LatencyRecorder>,
    /// Ready receives since the last timed one.
    untimed: Cell<u32>,
}

impl fmt::Debug for CandidateReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [high, low] = self.lanes.depths();
        f.debug_struct("CandidateReceiver")
            .field("high_len", &high)
            .field("low_len", &low)
            .finish()
    }
}

/// One taken candidate and its lane.
type Taken = (usize, PremintCandidate);

impl CandidateReceiver {
    pub(crate) fn new(p: ReceiverParts) -> Self {
        CandidateReceiver {
            lanes: p.lanes,
            meta: p.meta,
            counters: p.counters,
            stale: p.stale,
            wait: p.wait,
            low_share: u32::from(p.low_share_pct.min(100)),
            credit: Cell::new(0),
            latency: RefCell::new(p.latency),
            untimed: Cell::new(0),
        }
    }

    /// Takes a ready candidate, High first. Never waits.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when nothing is ready, [`TryRecvError::Disconnected`] when the
    /// engine has shut down and both lanes are empty.
    pub fn try_recv(&self) -> Result<PremintCandidate, TryRecvError> {
        self.take_one(false)
    }

    /// Waits for the next candidate, High first.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the engine has shut down and both lanes are empty.
    #[inline]
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

    /// Appends up to `max` ready candidates to `buf`, in the order single receives would return
    /// them (High first, the Low share honoured). Never waits. Returns how many were appended.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when nothing is ready, [`TryRecvError::Disconnected`] when the
    /// engine has shut down and both lanes are empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use sniffer::{PremintCandidate, Sniffer};
    ///
    /// let mut engine = Sniffer::builder().build()?;
    /// let rx = engine.take_receiver().unwrap();
    /// let bot = engine.ingest_handle();
    /// for slot in 0..3 {
    ///     bot.ingest(PremintCandidate { slot, ..Default::default() })?;
    /// }
    /// let mut buf = Vec::with_capacity(64);
    /// assert_eq!(rx.recv_batch(&mut buf, 64)?, 3);
    /// assert_eq!(buf.iter().map(|c| c.slot).collect::<Vec<_>>(), [0, 1, 2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_recv_batch(
        &self,
        buf: &mut Vec<PremintCandidate>,
        max: usize,
    ) -> Result<usize, TryRecvError> {
        self.try_recv_batch_inner(buf, max, false)
    }

    fn try_recv_batch_inner(
        &self,
        buf: &mut Vec<PremintCandidate>,
        max: usize,
        parked: bool,
    ) -> Result<usize, TryRecvError> {
        match self.take_batch(buf, max, parked) {
            0 if max > 0 && self.lanes.ended() && self.lanes.is_empty() => {
                Err(TryRecvError::Disconnected)
            }
            0 if max > 0 => Err(TryRecvError::Empty),
            n => Ok(n),
        }
    }

    /// Waits for at least one candidate, then appends it and whatever else is ready, up to `max`,
    /// to `buf` (see [`CandidateReceiver::try_recv_batch`]). Returns how many were appended (0
    /// only when `max` is 0). One clock read serves the latency of the whole batch.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the engine has shut down and both lanes are empty.
    pub fn recv_batch(
        &self,
        buf: &mut Vec<PremintCandidate>,
        max: usize,
    ) -> Result<usize, RecvError> {
        if max == 0 {
            return Ok(0);
        }
        let mut waiter = Waiter::new(self.wait);
        let mut parked = false;
        loop {
            match self.try_recv_batch_inner(buf, max, parked) {
                Ok(n) => return Ok(n),
                Err(TryRecvError::Disconnected) => return Err(RecvError),
                Err(TryRecvError::Empty) => {}
            }
            if waiter.pause() == Pause::Park {
                self.park(None);
                parked = true;
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

    /// The name, symbol and uri of a received launch, when its feed decoded them (or the bot
    /// ingested it with [`IngestHandle::ingest_with_meta`](crate::IngestHandle::ingest_with_meta)).
    /// They sit in a bounded side table beside the lanes (the most recent 2048 launches), read
    /// without a lock; `None` when there were none or they were overwritten since.
    pub fn launch_meta(&self, c: &PremintCandidate) -> Option<LaunchMeta> {
        self.meta.get(c.seq)
    }

    /// Candidates waiting in the lane of `priority`.
    pub fn lane_len(&self, priority: Priority) -> usize {
        self.lanes.depths()[priority.lane()]
    }

    /// Candidates waiting in both lanes.
    pub fn len(&self) -> usize {
        let [high, low] = self.lanes.depths();
        high + low
    }

    /// True when both lanes are empty.
    pub fn is_empty(&self) -> bool {
        self.lanes.is_empty()
    }

    #[inline(always)]
    fn recv_until(&self, deadline: Option<Instant>) -> Result<PremintCandidate, RecvTimeoutError> {
        let mut waiter = Waiter::new(self.wait);
        let mut parked = false;
        loop {
            match self.take_one(parked) {
                Ok(c) => return Ok(c),
                Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
                Err(TryRecvError::Empty) => {}
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(RecvTimeoutError::Timeout);
            }
            if waiter.pause() == Pause::Park {
                self.park(deadline);
                parked = true;
                waiter.reset();
            }
        }
    }

    /// Sleeps until a lane has something, the lanes close, or `deadline` passes.
    #[cold]
    fn park(&self, deadline: Option<Instant>) {
        let lanes = &self.lanes;
        lanes
            .signal
            .wait_until(|| !lanes.is_empty() || lanes.is_closed(), deadline);
    }

    /// The next candidate by the priority rule, not yet checked for staleness.
    ///
    /// High is looked at with `is_empty` (two loads) before its pop: a pop that finds its queue
    /// empty costs a full fence in `ArrayQueue`, and High is the rarer lane.
    #[inline(always)]
    fn pop_next(&self) -> Option<Taken> {
        let [high, low] = &self.lanes.rings;
        let share = self.low_share;
        let credit = self.credit.get();
        if share > 0 && credit + share >= 100 && !low.is_empty() {
            // Low is due: serve it if it has something, and pay for it.
            if let Some(c) = low.try_pop() {
                self.credit.set((credit + share).saturating_sub(100));
                return Some((1, c));
            }
        }
        if !high.is_empty() {
            if let Some(c) = high.try_pop() {
                if share > 0 && share < 100 && !low.is_empty() {
                    // High served while Low waits: Low earns credit.
                    self.credit.set(credit + share);
                }
                return Some((0, c));
            }
        }
        if let Some(c) = low.try_pop() {
            return Some((1, c));
        }
        // High may have been filled meanwhile: an empty answer must hold for both lanes.
        high.try_pop().map(|c| (0, c))
    }

    /// One receive: skips stale candidates, counts and times the one it returns. `parked`: this
    /// receive slept before it found the candidate (so a clock read costs nothing that matters).
    #[inline(always)]
    fn take_one(&self, parked: bool) -> Result<PremintCandidate, TryRecvError> {
        let rx = &*self.counters;
        loop {
            let Some((lane, c)) = self.pop_next() else {
                // Nothing to deliver: samples set aside while a snapshot held the histogram
                // join it now, so that a reading after the bot went idle counts every receive.
                self.latency.borrow_mut().flush_aside();
                return Err(if self.lanes.ended() && self.lanes.is_empty() {
                    TryRecvError::Disconnected
                } else {
                    TryRecvError::Empty
                });
            };
            let mut now = None;
            if !self.stale.is_off() {
                let t = if self.stale.needs_clock() {
                    monotonic_ns()
                } else {
                    0
                };
                if self.stale.stale_at_dequeue(&c, t) {
                    rx.stale[lane].add_owned(1);
                    continue;
                }
                now = self.stale.needs_clock().then_some(t);
            }
            rx.received[lane].add_owned(1);
            let untimed = self.untimed.get() + 1;
            if parked || now.is_some() || untimed >= LATENCY_SAMPLE_EVERY {
                let now = now.unwrap_or_else(monotonic_ns);
                // A receive after a park stands for itself; a ready one stands for the untimed
                // ones before it.
                let weight = if parked { 1 } else { untimed };
                self.latency
                    .borrow_mut()
                    .record_n(now.saturating_sub(c.detected_at_ns), u64::from(weight));
                if !parked {
                    self.untimed.set(0);
                }
            } else {
                self.untimed.set(untimed);
            }
            return Ok(c);
        }
    }

    /// Takes up to `max` ready candidates into `buf`; one clock read times them all, when the
    /// batch is timed: after a park, or once `LATENCY_SAMPLE_EVERY` receives went untimed (the
    /// first candidate then also stands for those).
    fn take_batch(&self, buf: &mut Vec<PremintCandidate>, max: usize, parked: bool) -> usize {
        let rx = &*self.counters;
        let start = buf.len();
        let stale_on = !self.stale.is_off();
        let checked_at = if stale_on && self.stale.needs_clock() {
            monotonic_ns()
        } else {
            0
        };
        let mut counts = [0u64; 2];
        let mut skipped = [0u64; 2];
        while buf.len() - start < max {
            let Some((lane, c)) = self.pop_next() else {
                break;
            };
            if stale_on && self.stale.stale_at_dequeue(&c, checked_at) {
                skipped[lane] += 1;
                continue;
            }
            counts[lane] += 1;
            buf.push(c);
        }
        for lane in 0..2 {
            rx.received[lane].add_owned(counts[lane]);
            rx.stale[lane].add_owned(skipped[lane]);
        }
        let n = buf.len() - start;
        let untimed = self.untimed.get() + n as u32;
        if n > 0 && (parked || untimed >= LATENCY_SAMPLE_EVERY) {
            let now = monotonic_ns();
            let mut rec = self.latency.borrow_mut();
            let earlier = untimed - n as u32;
            if earlier > 0 {
                rec.record_n(
                    now.saturating_sub(buf[start].detected_at_ns),
                    u64::from(earlier),
                );
            }
            rec.record_all_since(buf[start..].iter().map(|c| c.detected_at_ns), now);
            self.untimed.set(0);
        } else {
            self.untimed.set(untimed);
        }
        n
    }
}

impl Drop for CandidateReceiver {
    /// Closes the lanes (later deliveries fail) and counts what is left in them in
    /// `send_failures`.
    fn drop(&mut self) {
        self.lanes.close();
        while !self.lanes.producers_idle() {
            std::thread::yield_now();
        }
        let rx = &*self.counters;
        for (lane, ring) in self.lanes.rings.iter().enumerate() {
            let mut left = 0;
            while ring.try_pop().is_some() {
                left += 1;
            }
            rx.discarded[lane].add_owned(left);
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

#[cfg(feature = "stream")]
impl CandidateReceiver {
    pub(crate) fn lanes(&self) -> &Lanes {
        &self.lanes
    }

    pub(crate) fn take_after_wait(&self, parked: bool) -> Result<PremintCandidate, TryRecvError> {
        self.take_one(parked)
    }
}
