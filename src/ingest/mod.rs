//! [`IngestHandle`]: the producer side of the engine, used by the embedding bot and by the pull
//! feeds' threads. It stamps each candidate (sequence number, detection time), pushes it into the
//! stream ring under the configured policy and counts the outcome in exactly one counter of its
//! own (`IngestCounters`). The feeds' first-sighting race is judged here too (`dedup.rs`); ingest
//! counts the race's totals, each feed counts its own wins through its `FeedStats`.
//!
//! Counting happens inside the ring's producer gate (`ring/gate.rs`), so once the ring is
//! closed and its producers are idle every count is final: the shutdown snapshot is exact.

mod dedup;

pub(crate) use dedup::{DedupTable, Sighting};

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backpressure::Gate;
use crate::candidate::{
    monotonic_ns, unix_ns_at, LaunchKind, LaunchMeta, Malformed, PremintCandidate,
};
use crate::error::{IngestError, PushError, TryIngestError};
use crate::meta::MetaTable;
use crate::metrics::IngestCounters;
use crate::output::{Inline, Lanes, Room};
use crate::ring::{DropPolicy, StreamRing};
use crate::stale::StaleBound;
use crate::wait::WaitBudget;

/// Where ingest pushes: the stream ring (sync and async modes, and with a handler), straight
/// into the bot's lanes (direct mode), or into the inline handler, called on the ingesting
/// thread (inline delivery).
#[derive(Clone, Debug)]
pub(crate) enum Target {
    Ring(Arc<StreamRing>),
    Lanes(Arc<Lanes>),
    Inline(Arc<Inline>),
}

/// A cloneable handle that pushes candidates into a running engine.
///
/// `try_ingest` never blocks; `ingest` applies the policy (and so may wait under `block`).
/// Sequence numbers are unique per engine and increase in push order for each producer within a
/// priority (in direct mode each lane numbers its own pushes, the lane being the low bit).
///
/// # Examples
///
/// ```
/// use sniffer::{PremintCandidate, Sniffer};
///
/// let engine = Sniffer::builder().build()?;
/// let handle = engine.ingest_handle();
/// handle.try_ingest(PremintCandidate::default())?;
/// let report = engine.shutdown(std::time::Duration::from_secs(1));
/// assert_eq!(report.metrics.candidates_detected, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct IngestHandle {
    target: Target,
    policy: DropPolicy,
    block_timeout: Option<Duration>,
    /// Ingest's own counters: written by every clone of the handle, on the producers' threads.
    counters: Arc<IngestCounters>,
    gate: Arc<Gate>,
    stale: Arc<StaleBound>,
    meta: Arc<MetaTable>,
}

/// Why `ingest_inner` did not store a candidate.
enum Refused {
    Push(PushError),
    Stale(PremintCandidate),
}

impl fmt::Debug for IngestHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IngestHandle")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// How long a push may wait for room under `block`.
enum Wait<'b> {
    No,
    Policy,
    For(Duration),
    /// A live feed's push: at most what its budget has left (see `IngestHandle::push_budgeted`).
    Budget(&'b mut WaitBudget),
}

/// The parts an ingest handle is built from (see `Stages::ingest` in `engine/mod.rs`).
pub(crate) struct IngestParts {
    pub(crate) target: Target,
    pub(crate) policy: DropPolicy,
    pub(crate) block_timeout: Option<Duration>,
    pub(crate) counters: Arc<IngestCounters>,
    pub(crate) gate: Arc<Gate>,
    pub(crate) stale: Arc<StaleBound>,
    pub(crate) meta: Arc<MetaTable>,
}

impl IngestHandle {
    pub(crate) fn new(p: IngestParts) -> Self {
        IngestHandle {
            target: p.target,
            policy: p.policy,
            block_timeout: p.block_timeout,
            counters: p.counters,
            gate: p.gate,
            stale: p.stale,
            meta: p.meta,
        }
    }

    /// Offers a candidate without ever waiting.
    ///
    /// Under `drop_oldest` the candidate is always accepted (the evicted one is counted in
    /// `dropped_oldest`).
    ///
    /// # Errors
    ///
    /// [`TryIngestError::Full`]: under `drop_newest` the candidate was rejected and counted in
    /// `dropped_full_buffer`; under `block` it was not counted and may be offered again.
    /// [`TryIngestError::Backpressure`]: the gate is paused (the ring passed `pause_pct`); not
    /// counted, the bot decides (retry later, `ingest` anyway, or drop it).
    /// [`TryIngestError::Stale`]: older than `max_age` / `max_slot_lag`; counted in `dropped_stale`.
    /// [`TryIngestError::Closed`]: the engine is shutting down; not counted.
    #[inline(always)]
    pub fn try_ingest(&self, c: PremintCandidate) -> Result<(), TryIngestError> {
        if self.gate.is_paused() {
            self.counters.gate_refusals.incr();
            return Err(TryIngestError::Backpressure(c));
        }
        self.ingest_inner(c, Wait::No, None).map_err(|e| match e {
            Refused::Stale(c) => TryIngestError::Stale(c),
            Refused::Push(PushError::Closed(c)) => TryIngestError::Closed(c),
            Refused::Push(PushError::Full(c) | PushError::Timeout(c)) => TryIngestError::Full(c),
        })
    }

    /// True while the backpressure gate asks producers to pause (see `try_ingest`).
    #[inline]
    pub fn is_paused(&self) -> bool {
        self.gate.is_paused()
    }

    /// Offers a candidate under the configured policy: under `block` this waits for room (at most
    /// `block_timeout` when set), otherwise it never waits.
    ///
    /// # Errors
    ///
    /// [`IngestError::Full`] (drop_newest) hands back a candidate that was counted in
    /// `dropped_full_buffer`, [`IngestError::Stale`] one counted in `dropped_stale`.
    /// [`IngestError::Timeout`] (block) and [`IngestError::Closed`] (shutdown) hand back a
    /// candidate that was not counted: the caller still owns it. The backpressure gate does not
    /// apply here: `ingest` is how a bot pushes anyway.
    #[inline(always)]
    pub fn ingest(&self, c: PremintCandidate) -> Result<(), IngestError> {
        self.ingest_inner(c, Wait::Policy, None)
            .map_err(IngestError::from)
    }

    /// Like [`IngestHandle::ingest`], waiting at most `timeout` under `block`.
    ///
    /// # Errors
    ///
    /// As [`IngestHandle::ingest`].
    pub fn ingest_timeout(
        &self,
        c: PremintCandidate,
        timeout: Duration,
    ) -> Result<(), IngestError> {
        self.ingest_inner(c, Wait::For(timeout), None)
            .map_err(IngestError::from)
    }

    /// Like [`IngestHandle::ingest`], and keeps the launch's name, symbol and uri in the engine's
    /// side table, where the bot reads them with
    /// [`CandidateReceiver::launch_meta`](crate::CandidateReceiver::launch_meta).
    ///
    /// # Errors
    ///
    /// As [`IngestHandle::ingest`].
    pub fn ingest_with_meta(
        &self,
        c: PremintCandidate,
        meta: &LaunchMeta,
    ) -> Result<(), IngestError> {
        self.ingest_inner(c, Wait::Policy, Some(meta))
            .map_err(IngestError::from)
    }

    /// Like [`IngestHandle::ingest`] for async bots (cargo feature `stream`): under `block` it
    /// awaits room instead of blocking the thread, and wakes once the bot has drained the full
    /// ring (or lane) to half. It waits until room or shutdown (`block_timeout` needs a timer:
    /// wrap the call in the runtime's timeout). Under the drop policies it never waits.
    ///
    /// # Errors
    ///
    /// As [`IngestHandle::ingest`], except `Timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "stream")]
    /// # {
    /// use sniffer::{DropPolicy, PremintCandidate, Sniffer, SnifferConfig};
    ///
    /// let cfg = SnifferConfig { drop_policy: DropPolicy::Block, ..SnifferConfig::default() };
    /// let mut engine = Sniffer::builder().config(cfg).build()?;
    /// let mut stream = engine.take_receiver().unwrap().into_stream();
    /// let bot = engine.ingest_handle();
    /// let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// rt.block_on(async {
    ///     bot.ingest_async(PremintCandidate { slot: 3, ..Default::default() }).await?;
    ///     assert_eq!(stream.recv().await.map(|c| c.slot), Some(3));
    ///     Ok::<(), sniffer::IngestError>(())
    /// })?;
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "stream")]
    pub async fn ingest_async(&self, mut c: PremintCandidate) -> Result<(), IngestError> {
        loop {
            match self.ingest_inner(c, Wait::No, None) {
                Ok(()) => return Ok(()),
                Err(Refused::Push(PushError::Full(back))) if self.policy == DropPolicy::Block => {
                    c = back;
                    let ring = match &self.target {
                        Target::Ring(r) => &**r,
                        Target::Lanes(l) => l.ring(c.priority),
                        // An inline call is never refused for room.
                        Target::Inline(_) => return Err(IngestError::Full(c)),
                    };
                    crate::ring::RoomFuture { ring }.await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A feed's push: under `block` a live feed waits at most what its `budget` has left (a
    /// `Timeout` when it is spent), a pull feed (no budget) as the policy says; `meta` goes to
    /// the side table.
    #[inline(always)]
    pub(crate) fn ingest_for_feed(
        &self,
        c: PremintCandidate,
        meta: Option<&LaunchMeta>,
        budget: Option<&mut WaitBudget>,
    ) -> Result<(), IngestError> {
        let wait = match budget {
            Some(b) => Wait::Budget(b),
            None => Wait::Policy,
        };
        self.ingest_inner(c, wait, meta).map_err(IngestError::from)
    }

    /// Counts transactions read by the caller (the `tx_seen` metric).
    pub fn record_tx_seen(&self, n: u64) {
        self.counters.tx_seen.add(n);
    }

    /// Counts inputs the caller could not decode (the `tx_malformed` metric).
    pub fn record_malformed(&self, n: u64) {
        self.counters.tx_malformed.add(n);
    }

    /// Counts one input rejected for `reason` (in `tx_malformed` and `tx_malformed_by_reason`).
    pub fn record_malformed_reason(&self, reason: Malformed) {
        self.record_malformed(1);
        if let Some(i) = Malformed::ALL.iter().position(|m| *m == reason) {
            self.counters.malformed_by_reason[i].incr();
        }
    }

    /// Candidates waiting to be delivered now (in the stream ring, or in the lanes in direct
    /// mode).
    pub fn ring_len(&self) -> usize {
        match &self.target {
            Target::Ring(r) => r.len(),
            Target::Lanes(l) => l.depths().iter().sum(),
            Target::Inline(_) => 0,
        }
    }

    pub(crate) fn gate(&self) -> &Gate {
        &self.gate
    }

    /// The clock for the staleness check: read only when `max_age` needs it.
    #[inline]
    fn stale_clock(&self) -> u64 {
        if self.stale.needs_clock() {
            monotonic_ns()
        } else {
            0
        }
    }

    /// A candidate a pull feed could not store because the engine was shutting down: it was
    /// detected (the feed cannot hand it back) and is lost to the shutdown.
    pub(crate) fn record_lost_to_shutdown(&self, kind: LaunchKind) {
        let m = &*self.counters;
        m.lost_at_shutdown.incr();
        m.dropped_shutdown.incr();
        m.issued_by_kind[kind as usize].incr();
    }

    /// A candidate a live feed gave up on after `live_block_timeout` under `block` (it had to
    /// get back to its socket): detected, and counted like a `drop_newest` rejection.
    pub(crate) fn record_lost_live(&self, kind: LaunchKind) {
        let m = &*self.counters;
        m.lost_live.incr();
        m.issued_by_kind[kind as usize].incr();
    }

    /// Counts the dedup table's verdict on a feed's sighting in ingest's totals
    /// (`duplicates_dropped`, `dedup_untracked`, `dedup_evicted_fresh`); the feed counts its own
    /// win or duplicate (see `FeedSink::push_decoded`).
    pub(crate) fn record_sighting(&self, sighting: Sighting) {
        let m = &*self.counters;
        match sighting {
            Sighting::First => {}
            Sighting::Duplicate { .. } => m.duplicates.incr(),
            Sighting::Untracked => m.dedup_untracked.incr(),
            Sighting::FirstEvicting => m.dedup_evicted_fresh.incr(),
        }
    }

    #[inline(always)]
    fn ingest_inner(
        &self,
        mut c: PremintCandidate,
        wait: Wait<'_>,
        meta: Option<&LaunchMeta>,
    ) -> Result<(), Refused> {
        let (ring, lanes) = match &self.target {
            Target::Ring(r) => (&**r, None),
            Target::Lanes(l) => (l.ring(c.priority), Some(&**l)),
            Target::Inline(i) => return self.ingest_inline(i, c),
        };
        // Everything below is counted inside the guard: once the ring (or lane) is closed and
        // its producers are idle, every count is final. Issuing the sequence number counts the
        // candidate as detected, before the push: the consumer may take it before this returns.
        let Some((_push, n)) = ring.enter_issuing() else {
            return Err(Refused::Push(PushError::Closed(c)));
        };
        let lane = c.priority.lane();
        let kind = c.kind as usize;
        self.counters.issued_by_kind[kind].incr();
        // Direct mode: each lane's gate numbers its own pushes; the lane is the low bit.
        c.seq = match lanes {
            Some(_) => n << 1 | lane as u64,
            None => n,
        };
        let m = &*self.counters;
        if self.stamp_and_judge(&mut c) {
            m.dropped_stale[lane].incr();
            return Err(Refused::Stale(c));
        }
        if let Some(meta) = meta.filter(|m| !m.is_empty()) {
            self.meta.put(c.seq, meta);
        }
        let result = self.push(c, lanes, ring, wait);
        match &result {
            Ok(_) => {}
            Err(PushError::Full(_)) if self.policy != DropPolicy::Block => {
                m.dropped_full_buffer[lane].incr();
            }
            // `block` drops nothing: the caller keeps the candidate, uncounted.
            Err(_) => {
                m.handed_back[lane].incr();
                m.handed_back_by_kind[kind].incr();
            }
        }
        result.map(|_| ()).map_err(Refused::Push)
    }
}

impl IngestHandle {
    /// Inline delivery: calls the handler on this thread, inside the inline gate of `c`'s
    /// priority (which issues its sequence number and so counts it as detected). A stale
    /// candidate is counted in `dropped_stale` instead; a panicking call in `send_failures`
    /// (by `Inline::deliver`). The launch metadata side table is not written: it is read only
    /// through a receiver, which inline delivery has not.
    #[inline(always)]
    fn ingest_inline(&self, inline: &Inline, mut c: PremintCandidate) -> Result<(), Refused> {
        let Some((_call, n)) = inline.enter_issuing(c.priority) else {
            return Err(Refused::Push(PushError::Closed(c)));
        };
        let lane = c.priority.lane();
        self.counters.issued_by_kind[c.kind as usize].incr();
        // As in direct mode: each lane's gate numbers its own calls; the lane is the low bit.
        c.seq = n << 1 | lane as u64;
        if self.stamp_and_judge(&mut c) {
            self.counters.dropped_stale[lane].incr();
            return Err(Refused::Stale(c));
        }
        inline.deliver(&c);
        Ok(())
    }

    /// Stamps the detection time (and the wall clock from it) when the producer did not, and
    /// returns whether `c` is already stale at enqueue.
    #[inline(always)]
    fn stamp_and_judge(&self, c: &mut PremintCandidate) -> bool {
        if c.detected_at_ns == 0 {
            c.detected_at_ns = monotonic_ns();
        }
        if c.received_unix_ns == 0 {
            c.received_unix_ns = unix_ns_at(c.detected_at_ns);
        }
        !self.stale.is_off() && self.stale.stale_at_enqueue(c, self.stale_clock())
    }

    /// Pushes `c` into its lane (direct mode) or the ring under `wait`. In direct mode the lane
    /// applies the policy and counts stores, evictions and backpressure itself; the ring's
    /// evictions and backpressure are counted here. What either refuses the caller counts.
    #[inline(always)]
    fn push(
        &self,
        c: PremintCandidate,
        lanes: Option<&Lanes>,
        ring: &StreamRing,
        wait: Wait<'_>,
    ) -> Result<Option<PremintCandidate>, PushError> {
        let r = match wait {
            Wait::Budget(b) => self.push_budgeted(c, lanes, ring, b),
            Wait::No => push_room(c, lanes, ring, Room::Now, true),
            Wait::Policy => push_room(c, lanes, ring, Room::Wait(self.block_timeout), true),
            Wait::For(t) => push_room(c, lanes, ring, Room::Wait(Some(t)), true),
        };
        if lanes.is_none() {
            let m = &*self.counters;
            match &r {
                Ok(Some(_evicted)) => {
                    m.dropped_oldest.incr();
                    m.backpressure_events.incr();
                }
                Err(PushError::Full(_) | PushError::Timeout(_)) => m.backpressure_events.incr(),
                _ => {}
            }
        }
        r
    }

    /// A live feed's push: first without waiting; when the lane (or ring) is full under
    /// `block`, waits at most what `budget` has left in its window and charges the wait. The
    /// clock is read only when the target was full, so a feed that finds room pays nothing.
    #[inline]
    fn push_budgeted(
        &self,
        c: PremintCandidate,
        lanes: Option<&Lanes>,
        ring: &StreamRing,
        budget: &mut WaitBudget,
    ) -> Result<Option<PremintCandidate>, PushError> {
        let first = push_room(c, lanes, ring, Room::Now, true);
        match first {
            Err(PushError::Full(c)) if self.policy == DropPolicy::Block => {
                let from = Instant::now();
                let left = budget.left(from);
                let r = push_room(c, lanes, ring, Room::Wait(Some(left)), false);
                budget.charge(from, Instant::now());
                r
            }
            r => r,
        }
    }
}

/// One push into the lane (direct mode: `first_try` says whether a full lane counts a
/// backpressure event) or into the ring, waiting as `room` says under `block`.
#[inline(always)]
fn push_room(
    c: PremintCandidate,
    lanes: Option<&Lanes>,
    ring: &StreamRing,
    room: Room,
    first_try: bool,
) -> Result<Option<PremintCandidate>, PushError> {
    match (lanes, room) {
        (Some(l), room) => l.send_entered(c, room, first_try).map(|()| None),
        (None, Room::Now) => ring.push_entered(c, false, None),
        (None, Room::Wait(timeout)) => ring.push_entered(c, true, timeout),
    }
}

impl From<Refused> for IngestError {
    fn from(e: Refused) -> Self {
        match e {
            Refused::Stale(c) => IngestError::Stale(c),
            Refused::Push(PushError::Full(c)) => IngestError::Full(c),
            Refused::Push(PushError::Timeout(c)) => IngestError::Timeout(c),
            Refused::Push(PushError::Closed(c)) => IngestError::Closed(c),
        }
    }
}
