//! The stream ring: a bounded lock-free MPMC queue of [`PremintCandidate`]s between the feeds and
//! the batcher, with one overflow policy per file (`drop_newest.rs`, `drop_oldest.rs`,
//! `block.rs`; the [`DropPolicy`] enum in `policy.rs`).
//!
//! Storage is crossbeam-queue's [`ArrayQueue`] (Vyukov's bounded MPMC array queue), rather than
//! a crossbeam-channel, for two reasons: `ArrayQueue::force_push` evicts exactly one queued
//! item per overflowing push and hands it back, which makes `drop_oldest` exact (a receiver-clone
//! `try_recv` loop can evict more than one item per push when producers race, and measured slower:
//! see `benches/ring.rs`), and it carries no waker bookkeeping on the fast path. Waiting is ours:
//! [`WaitStrategy`] for the busy part and a `Signal` (`wait::signal`) event count for parking.
//!
//! The ring also owns the producers' side of shutdown (`gate.rs`): after [`StreamRing::close`] no
//! push can store an item, and once [`StreamRing::producers_idle`] is true every item that was
//! ever stored is visible to the consumer, so the drain at shutdown is exact.
//!
//! The same ring, one per priority, is an output lane (`output/`): in direct mode the producers
//! push straight into the lanes and the bot pops from them; the lanes then share one `not_empty`
//! signal so that a receiver waits on both at once.

mod block;
mod drop_newest;
mod drop_oldest;
mod gate;
pub(crate) mod policy;
#[cfg(feature = "stream")]
mod room;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;

use crate::candidate::PremintCandidate;
pub use crate::error::PushError;
use crate::wait::{Pause, Signal, WaitStrategy, Waiter};
pub(crate) use gate::{ProducerGate, PushGuard};
pub(crate) use policy::DropPolicy;
#[cfg(feature = "stream")]
pub(crate) use room::RoomFuture;

/// A bounded ring of candidates with an overflow policy.
///
/// Any number of producers may push; the engine has one consumer (the batcher), but popping from
/// several threads is safe.
///
/// # Examples
///
/// ```
/// use sniffer::{DropPolicy, PremintCandidate, ring::StreamRing};
///
/// let ring = StreamRing::new(2, DropPolicy::DropOldest);
/// for seq in 0..3 {
///     let evicted = ring.push(PremintCandidate { seq, ..Default::default() })?;
///     assert_eq!(evicted.map(|c| c.seq), if seq == 2 { Some(0) } else { None });
/// }
/// assert_eq!(ring.try_pop().map(|c| c.seq), Some(1));
/// # Ok::<(), sniffer::ring::PushError>(())
/// ```
pub struct StreamRing {
    queue: ArrayQueue<PremintCandidate>,
    policy: DropPolicy,
    wait: WaitStrategy,
    block_timeout: Option<Duration>,
    /// Closed bit + pushes in progress (see `gate.rs`).
    gate: ProducerGate,
    /// The consumer parks here; producers notify after storing an item. Shared by the two output
    /// lanes, whose receiver waits on both.
    not_empty: Arc<Signal>,
    /// Producers under `block` park here; the consumer notifies after taking an item.
    not_full: Signal,
    /// Async producers under `block` wait here (cargo feature `stream`).
    #[cfg(feature = "stream")]
    room: room::Room,
}

impl fmt::Debug for StreamRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamRing")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("policy", &self.policy)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl StreamRing {
    /// A ring of `capacity` slots with the given policy, the default wait strategy and no block
    /// timeout.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0 (the engine's config validation rejects that first).
    pub fn new(capacity: usize, policy: DropPolicy) -> Self {
        StreamRing {
            queue: ArrayQueue::new(capacity),
            policy,
            wait: WaitStrategy::default(),
            block_timeout: None,
            gate: ProducerGate::default(),
            not_empty: Arc::new(Signal::default()),
            not_full: Signal::default(),
            #[cfg(feature = "stream")]
            room: room::Room::default(),
        }
    }

    /// Wakes consumers through `signal` (shared with another ring) instead of its own.
    pub(crate) fn with_signal(mut self, signal: Arc<Signal>) -> Self {
        self.not_empty = signal;
        self
    }

    /// Sets how waiting producers and consumers wait.
    pub fn with_wait_strategy(mut self, wait: WaitStrategy) -> Self {
        self.wait = wait;
        self
    }

    /// Bounds how long [`StreamRing::push`] waits under [`DropPolicy::Block`].
    pub fn with_block_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.block_timeout = timeout;
        self
    }

    /// Pushes under the ring's policy. `Ok(Some(old))` hands back the candidate that
    /// `drop_oldest` evicted.
    ///
    /// Never waits unless the policy is `block`.
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] under `drop_newest` when the ring is full, [`PushError::Timeout`] under
    /// `block` when `block_timeout` passed, [`PushError::Closed`] after [`StreamRing::close`].
    /// Every error hands the candidate back.
    #[inline]
    pub fn push(&self, item: PremintCandidate) -> Result<Option<PremintCandidate>, PushError> {
        self.push_inner(item, true, self.block_timeout)
    }

    /// Like [`StreamRing::push`] but never waits: under `block` a full ring gives
    /// [`PushError::Full`].
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] or [`PushError::Closed`], handing the candidate back.
    #[inline]
    pub fn try_push(&self, item: PremintCandidate) -> Result<Option<PremintCandidate>, PushError> {
        self.push_inner(item, false, None)
    }

    /// Like [`StreamRing::push`], waiting at most `timeout` under `block` (whatever the ring's own
    /// block timeout is).
    ///
    /// # Errors
    ///
    /// As [`StreamRing::push`].
    pub fn push_timeout(
        &self,
        item: PremintCandidate,
        timeout: Duration,
    ) -> Result<Option<PremintCandidate>, PushError> {
        self.push_inner(item, true, Some(timeout))
    }

    #[inline]
    fn push_inner(
        &self,
        item: PremintCandidate,
        may_wait: bool,
        timeout: Option<Duration>,
    ) -> Result<Option<PremintCandidate>, PushError> {
        match self.enter() {
            Some(_push) => self.push_entered(item, may_wait, timeout),
            None => Err(PushError::Closed(item)),
        }
    }

    /// Registers a push in progress, ended when the guard drops; `None` once the ring is closed.
    #[inline(always)]
    pub(crate) fn enter(&self) -> Option<PushGuard<'_>> {
        self.gate.enter()
    }

    /// [`StreamRing::enter`] that also issues the next sequence number of this ring (see
    /// `gate.rs`): the ingest path's only two locked instructions besides the queue's own.
    #[inline(always)]
    pub(crate) fn enter_issuing(&self) -> Option<(PushGuard<'_>, u64)> {
        self.gate.enter_issuing()
    }

    /// Sequence numbers issued by [`StreamRing::enter_issuing`] so far.
    pub(crate) fn issued(&self) -> u64 {
        self.gate.issued()
    }

    /// Applies the policy; the caller holds the gate (`enter` returned true).
    #[inline(always)]
    pub(crate) fn push_entered(
        &self,
        item: PremintCandidate,
        may_wait: bool,
        timeout: Option<Duration>,
    ) -> Result<Option<PremintCandidate>, PushError> {
        match self.policy {
            DropPolicy::DropNewest => drop_newest::push(self, item),
            DropPolicy::DropOldest => Ok(drop_oldest::push(self, item)),
            DropPolicy::Block if may_wait => block::push(self, item, timeout),
            DropPolicy::Block => drop_newest::push(self, item),
        }
    }

    /// Wakes a consumer parked on an empty ring. Spinning and yielding waiters never park, so
    /// with those strategies the fence is skipped.
    #[inline(always)]
    fn item_added(&self) {
        // A fence-less notify that leans on `ArrayQueue`'s SeqCst compare-exchange (as
        // crossbeam-channel's wakers do) saves ~5 ns here, but loom, which models SeqCst accesses
        // as acquire/release, cannot check it (it reports the lost wake-up): the fence stays.
        if self.wait.may_park() {
            self.not_empty.notify();
        }
    }

    /// Takes the oldest candidate, if any. Never waits.
    #[inline(always)]
    pub fn try_pop(&self) -> Option<PremintCandidate> {
        let item = self.queue.pop();
        if item.is_some() && self.policy == DropPolicy::Block && self.wait.may_park() {
            self.not_full.notify_if(|| self.drained_to_half());
        }
        #[cfg(feature = "stream")]
        if item.is_some() && self.policy == DropPolicy::Block {
            self.room.wake_if(|| self.drained_to_half());
        }
        item
    }

    /// The wake-up level of producers parked under `block` (see `block.rs`).
    #[inline]
    fn drained_to_half(&self) -> bool {
        self.queue.len() <= self.queue.capacity() / 2
    }

    /// Takes the oldest candidate, waiting with the ring's strategy until one arrives, `deadline`
    /// passes (`None`: no deadline) or the ring is closed and empty.
    pub fn pop_deadline(&self, deadline: Option<Instant>) -> Option<PremintCandidate> {
        let mut waiter = Waiter::new(self.wait);
        loop {
            if let Some(item) = self.try_pop() {
                return Some(item);
            }
            if self.is_closed() || deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            if waiter.pause() == Pause::Park {
                self.not_empty
                    .wait_until(|| !self.queue.is_empty() || self.is_closed(), deadline);
                waiter.reset();
            }
        }
    }

    /// Closes the ring: later pushes fail with [`PushError::Closed`], producers waiting under
    /// `block` are released with their item, and a waiting consumer wakes up. Queued items stay
    /// and can still be popped.
    pub fn close(&self) {
        self.gate.close();
        self.not_full.notify();
        self.not_empty.notify();
        #[cfg(feature = "stream")]
        self.room.wake_if(|| true);
    }

    /// True after [`StreamRing::close`].
    #[inline]
    pub fn is_closed(&self) -> bool {
        self.gate.is_closed()
    }

    /// True when no push is in progress. After `close`, once this is true no item can be added.
    pub fn producers_idle(&self) -> bool {
        self.gate.producers_idle()
    }

    /// Items queued now. Reads the queue's head and tail indices only: no write, no lock.
    #[inline]
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when nothing is queued.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Number of slots.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.queue.capacity()
    }

    /// The overflow policy.
    pub fn policy(&self) -> DropPolicy {
        self.policy
    }

    /// The block timeout (`None`: wait until room or close).
    pub fn block_timeout(&self) -> Option<Duration> {
        self.block_timeout
    }

    /// The wait strategy.
    pub fn wait_strategy(&self) -> WaitStrategy {
        self.wait
    }

    /// How many times a producer under `block` went to sleep waiting for room. Spinning and
    /// yielding producers never sleep; `park` sleeps at once; `backoff` after its busy window.
    /// A diagnostic count, kept off the fast path (written only when a producer sleeps).
    pub fn producer_parks(&self) -> u64 {
        self.not_full.parks()
    }

    /// How many times a consumer went to sleep waiting for an item (see
    /// [`StreamRing::producer_parks`]). For an output lane, the count of both lanes' shared
    /// wake-up.
    pub fn consumer_parks(&self) -> u64 {
        self.not_empty.parks()
    }
}
