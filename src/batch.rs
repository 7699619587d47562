//! The batcher: takes candidates from the stream ring, flushes a batch at `batch_size`, at
//! `batch_timeout`, or (by default) as soon as the ring runs dry, splits it by priority (High
//! first) and sends it, either from the batcher thread (`sync`) or through one worker thread per
//! lane (`async`, FIFO within a lane).
//!
//! Delivery to a full output lane is retried `send_max_retries` times, `send_retry_delay` apart;
//! a candidate that still cannot be delivered is counted in `send_failures` (and so in
//! `dropped_full_buffer`), never lost silently. Under the `block` policy, and while draining for
//! shutdown, the sender waits for room instead, so backpressure reaches the ring and its producers
//! rather than dropping anything. At the shutdown deadline whatever is left is counted as
//! abandoned (`dropped_shutdown`) per lane.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender};
use serde::{Deserialize, Serialize};

use crate::backpressure::Watch;
use crate::candidate::{monotonic_ns, PremintCandidate, Priority};
use crate::error::PushError;
use crate::metrics::{BatchCounters, LatencyRecorder};
use crate::output::{Lanes, Output, Room};
use crate::ring::{DropPolicy, StreamRing};
use crate::stale::StaleBound;
use crate::wait::{Pause, WaitStrategy, Waiter};

/// How candidates travel from ingest to the bot's lanes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchSendMode {
    /// No engine thread in between: ingest pushes straight into per-priority lanes (bounded rings
    /// under the drop policy) that the bot reads; batching, the priority order and the Low share
    /// apply on the receive side. One hop, the fastest (see the README's figures). With a
    /// handler, which needs a thread to run on, the engine uses `sync` instead.
    #[default]
    Direct,
    /// Through the stream ring and the batcher thread, which sends both lanes, High first.
    Sync,
    /// Through the stream ring and the batcher; each lane has its own worker thread, so a slow
    /// lane does not hold up the other.
    Async,
}

impl std::str::FromStr for BatchSendMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "direct" => Ok(BatchSendMode::Direct),
            "sync" => Ok(BatchSendMode::Sync),
            "async" => Ok(BatchSendMode::Async),
            other => Err(format!(
                "unknown batch send mode `{other}` (expected direct, sync or async)"
            )),
        }
    }
}

/// The shutdown deadline shared by the batcher and the lane workers: 0 while running, then the
/// [`monotonic_ns`] instant after which nothing more is delivered. Written once by the engine thread
/// (Relaxed: the ring's close, which precedes it, is what the readers synchronise on).
#[derive(Debug, Default)]
pub(crate) struct Deadline(AtomicU64);

impl Deadline {
    pub(crate) fn set(&self, at_ns: u64) {
        self.0.store(at_ns.max(1), Relaxed);
    }

    #[inline]
    fn draining(&self) -> bool {
        self.0.load(Relaxed) != 0
    }

    #[inline]
    fn passed(&self) -> bool {
        let d = self.0.load(Relaxed);
        d != 0 && monotonic_ns() >= d
    }

    fn remaining(&self) -> Duration {
        let d = self.0.load(Relaxed);
        Duration::from_nanos(d.saturating_sub(monotonic_ns()))
    }
}

/// Deliveries per latency clock read (see `LaneSender::deliver_lane`).
const LATENCY_CHUNK: usize = 8;

/// How one lane's sender treats a full lane.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SendPolicy {
    pub(crate) drop_policy: DropPolicy,
    pub(crate) max_retries: u32,
    pub(crate) retry_delay: Duration,
}

enum Outcome {
    Sent,
    Failed,
    Abandoned,
}

/// Delivers one lane: through `output`'s sending side into the bot's lane, or to the handler
/// (recording latency then: the handler call is the delivery). It keeps only batching, retries
/// and the shutdown deadline; the lane applies the policy and counts stores and evictions.
pub(crate) struct LaneSender {
    lane: Priority,
    output: Output,
    /// The batch stage's counters; this sender writes its lane's `SendCounters`.
    counters: Arc<BatchCounters>,
    deadline: Arc<Deadline>,
    policy: SendPolicy,
    /// Latency of handler deliveries (a receiver records its own); `None` with lanes.
    recorder: Option<LatencyRecorder>,
    handler_panics: u64,
}

impl fmt::Debug for LaneSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LaneSender")
            .field("lane", &self.lane)
            .finish_non_exhaustive()
    }
}

impl LaneSender {
    /// A sender of `lane`; `recorder` times handler deliveries (pass `None` with lanes: the
    /// receiver times those).
    pub(crate) fn new(
        lane: Priority,
        output: Output,
        counters: Arc<BatchCounters>,
        deadline: Arc<Deadline>,
        policy: SendPolicy,
        recorder: Option<LatencyRecorder>,
    ) -> Self {
        LaneSender {
            lane,
            output,
            counters,
            deadline,
            policy,
            recorder,
            handler_panics: 0,
        }
    }

    /// Delivers the candidates of this lane's priority from `batch`, in order.
    fn deliver_lane(&mut self, batch: &[PremintCandidate]) {
        let (mut failed, mut abandoned) = (0, 0);
        let lane = self.lane;
        // Handler latency is recorded per chunk of LATENCY_CHUNK deliveries with one clock read
        // taken after the chunk: a clock read costs about as much as a delivery here, and reading
        // it after (not before) the chunk can only overstate a latency, never understate it.
        let mut chunk = [0u64; LATENCY_CHUNK];
        let mut in_chunk = 0;
        for c in batch.iter().filter(|c| c.priority == lane) {
            match self.deliver(*c) {
                Outcome::Sent => {
                    chunk[in_chunk] = c.detected_at_ns;
                    in_chunk += 1;
                    if in_chunk == LATENCY_CHUNK {
                        self.record_chunk(&chunk);
                        in_chunk = 0;
                    }
                }
                Outcome::Failed => failed += 1,
                Outcome::Abandoned => abandoned += 1,
            }
        }
        self.record_chunk(&chunk[..in_chunk]);
        let m = &self.counters.lanes[self.lane.lane()];
        m.failures.add(failed);
        m.dropped_shutdown.add(abandoned);
    }

    #[inline]
    fn deliver(&mut self, c: PremintCandidate) -> Outcome {
        if self.deadline.passed() {
            return Outcome::Abandoned;
        }
        match &self.output {
            Output::Lanes(lanes) => match lanes.send(c, Room::Now, true) {
                Ok(()) => Outcome::Sent,
                Err(PushError::Full(c)) => {
                    let lanes = lanes.clone();
                    self.send_slow(&lanes, c)
                }
                // The receiver was dropped.
                Err(_) => Outcome::Failed,
            },
            Output::Handler(h, counters) => match Output::call_handler(h, &c, counters) {
                Ok(()) => Outcome::Sent,
                Err(()) => {
                    self.handler_panics += 1;
                    if self.handler_panics.is_power_of_two() {
                        tracing::error!(
                            lane = ?self.lane,
                            panics = self.handler_panics,
                            "candidate handler panicked; candidate counted in send_failures"
                        );
                    }
                    Outcome::Failed
                }
            },
        }
    }

    fn record_chunk(&mut self, detected: &[u64]) {
        let Some(rec) = &mut self.recorder else {
            return;
        };
        if detected.is_empty() {
            return;
        }
        let now = monotonic_ns();
        for &d in detected {
            rec.record_since(d, now);
        }
    }

    /// The lane was full: under `block` (and while draining for shutdown) wait for room in short
    /// slices so that the deadline is noticed; under `drop_newest` retry, then count a failure.
    /// (`drop_oldest` never gets here: the lane evicts its oldest instead.)
    #[cold]
    fn send_slow(&mut self, lanes: &Lanes, mut c: PremintCandidate) -> Outcome {
        let retries = &self.counters.lanes[self.lane.lane()].retries;
        if self.policy.drop_policy == DropPolicy::Block || self.deadline.draining() {
            loop {
                if self.deadline.passed() {
                    return Outcome::Abandoned;
                }
                let slice = if self.deadline.draining() {
                    self.deadline.remaining().min(Duration::from_millis(1))
                } else {
                    Duration::from_millis(1)
                };
                let room = if lanes.ring(c.priority).policy() == DropPolicy::Block {
                    Room::Wait(Some(slice))
                } else {
                    std::thread::sleep(slice.min(self.policy.retry_delay));
                    Room::Now
                };
                match lanes.send(c, room, false) {
                    Ok(()) => return Outcome::Sent,
                    Err(PushError::Full(back) | PushError::Timeout(back)) => c = back,
                    Err(PushError::Closed(_)) => return Outcome::Failed,
                }
            }
        }
        for _ in 0..self.policy.max_retries {
            retries.incr();
            std::thread::sleep(self.policy.retry_delay);
            match lanes.send(c, Room::Now, false) {
                Ok(()) => return Outcome::Sent,
                Err(PushError::Full(back) | PushError::Timeout(back)) => c = back,
                Err(PushError::Closed(_)) => return Outcome::Failed,
            }
        }
        Outcome::Failed
    }
}

/// Where the batcher hands a flushed batch.
pub(crate) enum Dispatch {
    /// Send both lanes from the batcher thread.
    Sync(Box<[LaneSender; 2]>),
    /// Hand each lane's part to its worker; empty vectors come back through `recycle`.
    Async {
        handoff: [Sender<Vec<PremintCandidate>>; 2],
        recycle: Receiver<Vec<PremintCandidate>>,
    },
}

/// Batch sizing and timing.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchPolicy {
    pub(crate) batch_size: usize,
    pub(crate) batch_timeout: Duration,
    pub(crate) flush_on_idle: bool,
}

/// The batcher thread's state.
pub(crate) struct Batcher {
    pub(crate) ring: Arc<StreamRing>,
    /// The batch stage's own counters.
    pub(crate) counters: Arc<BatchCounters>,
    /// Its cell of the age-at-dequeue histogram.
    pub(crate) age: LatencyRecorder,
    pub(crate) deadline: Arc<Deadline>,
    pub(crate) watch: Arc<Watch>,
    pub(crate) stale: Arc<StaleBound>,
    pub(crate) policy: BatchPolicy,
    pub(crate) dispatch: Dispatch,
}

/// The batcher reports the ring's level to the gate at least this often (in loop rounds), and at
/// every round that filled a batch or while the gate is paused.
const GATE_EVERY: u32 = 64;

impl fmt::Debug for Batcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batcher")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Batcher {
    /// Runs until the ring is closed and drained (or the shutdown deadline passes).
    pub(crate) fn run(mut self) {
        let size = self.policy.batch_size;
        let mut batch: Vec<PremintCandidate> = Vec::with_capacity(size);
        let mut opened_at: Option<Instant> = None;
        let mut round = 0u32;
        loop {
            let before = batch.len();
            // One clock read per round serves the age histogram, the stale bound and the gate.
            let now = monotonic_ns();
            while batch.len() < size {
                match self.ring.try_pop() {
                    Some(c) => {
                        self.age.record_since(c.detected_at_ns, now);
                        if !self.stale.is_off() && self.stale.stale_at_dequeue(&c, now) {
                            self.counters.dropped_stale.incr();
                            continue;
                        }
                        batch.push(c);
                    }
                    None => break,
                }
            }
            round = round.wrapping_add(1);
            if batch.len() >= size
                || round.is_multiple_of(GATE_EVERY)
                || self.watch.gate().is_paused()
            {
                self.watch.observe(now);
            }
            if self.deadline.passed() {
                self.abandon_rest(&mut batch);
                break;
            }
            if !batch.is_empty() {
                let flush = batch.len() >= size
                    || self.policy.flush_on_idle
                    || self.ring.is_closed()
                    || opened_at.is_some_and(|t| t.elapsed() >= self.policy.batch_timeout);
                if flush {
                    self.flush(&mut batch);
                    opened_at = None;
                    continue;
                }
                if before == 0 {
                    opened_at.get_or_insert_with(Instant::now);
                }
            } else if self.ring.is_closed() && self.ring.producers_idle() && self.ring.is_empty() {
                break;
            }
            let wait_until = opened_at.map(|t| t + self.policy.batch_timeout);
            if let Some(c) = self.ring.pop_deadline(wait_until) {
                let now = monotonic_ns();
                self.age.record_since(c.detected_at_ns, now);
                if !self.stale.is_off() && self.stale.stale_at_dequeue(&c, now) {
                    self.counters.dropped_stale.incr();
                } else {
                    if batch.is_empty() && !self.policy.flush_on_idle {
                        opened_at = Some(Instant::now());
                    }
                    batch.push(c);
                }
            }
        }
    }

    fn flush(&mut self, batch: &mut Vec<PremintCandidate>) {
        match &mut self.dispatch {
            Dispatch::Sync(senders) => {
                for sender in senders.iter_mut() {
                    sender.deliver_lane(batch);
                }
            }
            Dispatch::Async { handoff, recycle } => {
                for lane in Priority::ALL {
                    let mut part = recycle
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(batch.len()));
                    part.extend(batch.iter().filter(|c| c.priority == lane));
                    if part.is_empty() {
                        continue;
                    }
                    let n = part.len() as u64;
                    if !hand_off(&handoff[lane.lane()], part, &self.deadline) {
                        self.counters.abandoned[lane.lane()].add(n);
                    }
                }
            }
        }
        self.counters.batches_sent.incr();
        batch.clear();
    }

    /// At the deadline: counts the open batch and everything still in (or entering) the ring.
    fn abandon_rest(&mut self, batch: &mut Vec<PremintCandidate>) {
        let mut counts = [0u64; 2];
        for c in batch.drain(..) {
            counts[c.priority.lane()] += 1;
        }
        loop {
            while let Some(c) = self.ring.try_pop() {
                counts[c.priority.lane()] += 1;
            }
            if self.ring.producers_idle() && self.ring.is_empty() {
                break;
            }
            std::thread::yield_now();
        }
        for lane in Priority::ALL {
            self.counters.abandoned[lane.lane()].add(counts[lane.lane()]);
        }
    }
}

/// Sends a lane's part to its worker, waiting while the worker is behind; false when the
/// shutdown deadline passed first (or the worker is gone) and the part was not handed over.
fn hand_off(
    tx: &Sender<Vec<PremintCandidate>>,
    mut part: Vec<PremintCandidate>,
    deadline: &Deadline,
) -> bool {
    loop {
        match tx.send_timeout(part, Duration::from_millis(1)) {
            Ok(()) => return true,
            Err(SendTimeoutError::Timeout(back)) => {
                if deadline.passed() {
                    return false;
                }
                part = back;
            }
            Err(SendTimeoutError::Disconnected(_)) => return false,
        }
    }
}

/// An async-mode lane worker: delivers the parts handed to it, in order, until the batcher is
/// gone and the handoff queue is empty.
pub(crate) fn run_lane_worker(
    mut sender: LaneSender,
    handoff: Receiver<Vec<PremintCandidate>>,
    recycle: Sender<Vec<PremintCandidate>>,
    wait: WaitStrategy,
) {
    let mut waiter = Waiter::new(wait);
    loop {
        let part = match handoff.try_recv() {
            Ok(part) => part,
            Err(crossbeam_channel::TryRecvError::Disconnected) => break,
            Err(crossbeam_channel::TryRecvError::Empty) => {
                if waiter.pause() == Pause::Park {
                    match handoff.recv_timeout(Duration::from_millis(50)) {
                        Ok(part) => part,
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                } else {
                    continue;
                }
            }
        };
        waiter.reset();
        sender.deliver_lane(&part);
        let mut part = part;
        part.clear();
        // The batcher may be gone or have enough spares; dropping the vector is fine then.
        let _ = recycle.try_send(part);
    }
}
