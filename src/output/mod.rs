//! The output side towards the bot: two bounded lanes (High and Low), each a [`StreamRing`] under
//! the engine's overflow policy, read through a [`CandidateReceiver`] (`receiver.rs`, or the
//! async `CandidateStream` in `stream.rs`); or a handler closure that the sending thread calls;
//! or, with inline delivery (`inline.rs`), the bot's handler called on the ingesting thread itself.
//!
//! This module owns the sending side: whoever delivers (the batcher in sync mode, a lane worker
//! in async mode, the producers' ingest handles in direct mode) calls [`Lanes::send`], which
//! applies the policy at the lane (`drop_oldest` evicts the lane's oldest, `drop_newest` refuses
//! the incoming one, `block` waits for room), wakes a waiting receiver and counts what happened in
//! the lane's own counters. The lanes hold no channel senders: the end of the stream is the lanes'
//! closed bit, set at shutdown, so a metrics handle that keeps the lanes alive never keeps the bot
//! waiting.

mod inline;
mod receiver;
#[cfg(feature = "stream")]
mod stream;

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{
    AtomicBool,
    Ordering::{Acquire, Release},
};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_utils::CachePadded;

use crate::candidate::{PremintCandidate, Priority};
use crate::error::PushError;
use crate::metrics::OutputCounters;
use crate::ring::{DropPolicy, StreamRing};
use crate::wait::{Signal, WaitStrategy};

pub(crate) use inline::{Inline, InlineGates};
pub use receiver::CandidateReceiver;
pub(crate) use receiver::ReceiverParts;
#[cfg(feature = "stream")]
pub use stream::CandidateStream;

/// A handler run on the sending thread for every delivered candidate (no extra hop).
pub type Handler = Arc<dyn Fn(&PremintCandidate) + Send + Sync + 'static>;

/// Where the senders deliver: the lanes, or the handler with the output's counters (the lanes
/// hold their own).
#[derive(Clone)]
pub(crate) enum Output {
    Lanes(Arc<Lanes>),
    Handler(Handler, Arc<OutputCounters>),
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Lanes(_) => f.write_str("Output::Lanes"),
            Output::Handler(..) => f.write_str("Output::Handler"),
        }
    }
}

/// How long a send may wait for room in a full lane (only the `block` policy ever waits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Room {
    /// Never wait: under `block` a full lane refuses the candidate with `Full`.
    Now,
    /// Wait under `block`, at most this long (`None`: until room or close).
    Wait(Option<Duration>),
}

/// The two lanes and their shared wake-up signal.
pub(crate) struct Lanes {
    rings: [StreamRing; 2],
    /// Direct mode: the producers' ingest handles send, taking their sequence numbers from the
    /// lanes' gates, and the lanes' deliveries are derived from those counts. Otherwise one
    /// sender per lane (the batcher, or the lane's worker) counts `delivered` with plain stores.
    direct: bool,
    /// The receiver parks here; a store into either lane notifies it.
    signal: Arc<Signal>,
    /// Set by `close`, after the rings' own closed bits. The receiver polls this read-mostly flag
    /// when it finds the lanes empty instead of the rings' gate words, which the producers write
    /// on every push: reading those from a spinning receiver pulled the producer's hottest line
    /// across cores at every empty poll.
    closed: CachePadded<AtomicBool>,
    /// The lanes' counters: written here, by whoever sends.
    counters: Arc<OutputCounters>,
    #[cfg(feature = "stream")]
    pub(crate) wake: stream::AsyncWake,
}

impl fmt::Debug for Lanes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lanes")
            .field("high", &self.rings[0])
            .field("low", &self.rings[1])
            .finish()
    }
}

impl Lanes {
    /// Two lanes of `capacity` each under `policy`.
    pub(crate) fn new(
        capacity: usize,
        policy: DropPolicy,
        wait: WaitStrategy,
        block_timeout: Option<Duration>,
        counters: Arc<OutputCounters>,
        direct: bool,
    ) -> Self {
        let signal = Arc::new(Signal::default());
        let ring = || {
            StreamRing::new(capacity, policy)
                .with_wait_strategy(wait)
                .with_block_timeout(block_timeout)
                .with_signal(signal.clone())
        };
        Lanes {
            rings: [ring(), ring()],
            direct,
            closed: CachePadded::new(AtomicBool::new(false)),
            signal,
            counters,
            #[cfg(feature = "stream")]
            wake: stream::AsyncWake::default(),
        }
    }

    /// Stores `c` in its priority's lane under the lane's policy and counts the outcome: a store
    /// in `delivered`, an eviction in `evicted` (the incoming candidate is stored), a lane found
    /// full in `backpressure` (only when `first_try`: a retry of the same candidate is not a new
    /// push). A refused candidate is handed back; the caller counts its fate.
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] (`drop_newest`, or `block` with [`Room::Now`]), [`PushError::Timeout`]
    /// (`block`), [`PushError::Closed`] (shutdown, or the receiver was dropped).
    #[inline(always)]
    pub(crate) fn send(
        &self,
        c: PremintCandidate,
        room: Room,
        first_try: bool,
    ) -> Result<(), PushError> {
        match self.rings[c.priority.lane()].enter() {
            Some(_push) => self.send_entered(c, room, first_try),
            None => Err(PushError::Closed(c)),
        }
    }

    /// [`Lanes::send`] for a caller that already holds the lane's push guard
    /// (`self.ring(c.priority).enter()`): direct-mode ingest, which counts the candidate inside
    /// the same guard so that the shutdown's counts are final once the lanes are idle.
    ///
    /// # Errors
    ///
    /// As [`Lanes::send`], except `Closed`.
    #[inline(always)]
    pub(crate) fn send_entered(
        &self,
        c: PremintCandidate,
        room: Room,
        first_try: bool,
    ) -> Result<(), PushError> {
        let lane = c.priority.lane();
        let ring = &self.rings[lane];
        let m = &self.counters.lanes[lane];
        let result = match ring.push_entered(c, false, None) {
            Err(PushError::Full(c)) => {
                if first_try {
                    m.backpressure.incr();
                }
                match room {
                    Room::Wait(timeout) if ring.policy() == DropPolicy::Block => {
                        ring.push_entered(c, true, timeout)
                    }
                    _ => Err(PushError::Full(c)),
                }
            }
            Ok(Some(_evicted)) => {
                m.evicted.incr();
                if first_try {
                    m.backpressure.incr();
                }
                Ok(None)
            }
            other => other,
        };
        if result.is_ok() {
            if !self.direct {
                m.delivered.add_owned(1);
            }
            #[cfg(feature = "stream")]
            self.wake.wake();
        }
        result.map(|_| ())
    }

    /// Sequence numbers each lane's gate issued (direct mode).
    pub(crate) fn issued(&self) -> [u64; 2] {
        [self.rings[0].issued(), self.rings[1].issued()]
    }

    /// True in direct mode (see the field).
    pub(crate) fn is_direct(&self) -> bool {
        self.direct
    }

    /// Candidates waiting in each lane now.
    pub(crate) fn depths(&self) -> [usize; 2] {
        [self.rings[0].len(), self.rings[1].len()]
    }

    /// Slots of each lane.
    pub(crate) fn capacity(&self) -> usize {
        self.rings[0].capacity()
    }

    /// The lane of `p`.
    #[inline]
    pub(crate) fn ring(&self, p: Priority) -> &StreamRing {
        &self.rings[p.lane()]
    }

    /// Refuses every later send and wakes the receiver, which takes what is left and then sees
    /// the end of the stream.
    pub(crate) fn close(&self) {
        for r in &self.rings {
            r.close();
        }
        self.closed.store(true, Release);
        self.signal.notify();
        #[cfg(feature = "stream")]
        self.wake.close();
    }

    /// True after `close`.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Acquire)
    }

    /// True when no send is in progress on either lane.
    pub(crate) fn producers_idle(&self) -> bool {
        self.rings.iter().all(StreamRing::producers_idle)
    }

    /// True when both lanes are empty.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.rings[0].is_empty() && self.rings[1].is_empty()
    }

    /// True once closed, with no send in progress and nothing left: the stream has ended.
    pub(crate) fn ended(&self) -> bool {
        self.is_closed() && self.producers_idle() && self.is_empty()
    }
}

impl Output {
    /// Calls the handler for `c`, counting a call that returned in `delivered`; a panic is caught
    /// and handed back as `Err` for the sender to count.
    #[inline]
    pub(crate) fn call_handler(
        h: &Handler,
        c: &PremintCandidate,
        counters: &OutputCounters,
    ) -> Result<(), ()> {
        match catch_unwind(AssertUnwindSafe(|| h(c))) {
            Ok(()) => {
                // One sender per lane calls the handler (the batcher, or the lane's worker).
                counters.lanes[c.priority.lane()].delivered.add_owned(1);
                Ok(())
            }
            Err(_) => Err(()),
        }
    }
}
