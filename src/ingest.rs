//! [`IngestHandle`]: the producer side of the engine, used by the embedding bot and by the pull
//! feeds' threads. It stamps each candidate (sequence number, detection time), pushes it into the
//! stream ring under the configured policy and counts the outcome in exactly one counter.
//!
//! Counting happens inside the ring's producer gate (see `ring/mod.rs`), so once the ring is
//! closed and its producers are idle every count is final: the shutdown snapshot is exact.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::backpressure::Gate;
use crate::candidate::{monotonic_ns, PremintCandidate};
use crate::error::{IngestError, PushError, TryIngestError};
use crate::metrics::Metrics;
use crate::ring::{DropPolicy, StaleBound, StreamRing};

/// A cloneable handle that pushes candidates into a running engine.
///
/// `try_ingest` never blocks; `ingest` applies the policy (and so may wait under `block`).
/// Sequence numbers are unique per engine and increase in push order for each producer.
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
    ring: Arc<StreamRing>,
    metrics: Arc<Metrics>,
    gate: Arc<Gate>,
    stale: Arc<StaleBound>,
}

/// Why a feed could not store a candidate it detected ([`IngestHandle::count_unstored`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unstored {
    /// The ring had closed for the shutdown.
    Shutdown,
    /// A live feed waited `live_block_timeout` under `block` and had to get back to its socket.
    LiveTimeout,
}

/// Why `ingest_inner` did not store a candidate.
enum Refused {
    Push(PushError),
    Stale(PremintCandidate),
}

impl fmt::Debug for IngestHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IngestHandle")
            .field("ring", &self.ring)
            .finish()
    }
}

enum Wait {
    No,
    Policy,
    For(Duration),
}

impl IngestHandle {
    pub(crate) fn new(
        ring: Arc<StreamRing>,
        metrics: Arc<Metrics>,
        gate: Arc<Gate>,
        stale: Arc<StaleBound>,
    ) -> Self {
        IngestHandle {
            ring,
            metrics,
            gate,
            stale,
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
    #[inline]
    pub fn try_ingest(&self, c: PremintCandidate) -> Result<(), TryIngestError> {
        if self.gate.is_paused() {
            self.metrics.ingest.gate_refusals.incr();
            return Err(TryIngestError::Backpressure(c));
        }
        self.ingest_inner(c, Wait::No).map_err(|e| match e {
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
    #[inline]
    pub fn ingest(&self, c: PremintCandidate) -> Result<(), IngestError> {
        self.ingest_inner(c, Wait::Policy)
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
        self.ingest_inner(c, Wait::For(timeout))
            .map_err(IngestError::from)
    }

    /// Counts transactions read by the caller (the `tx_seen` metric).
    pub fn record_tx_seen(&self, n: u64) {
        self.metrics.ingest.tx_seen.add(n);
    }

    /// Counts inputs the caller could not decode (the `tx_malformed` metric).
    pub fn record_malformed(&self, n: u64) {
        self.metrics.ingest.tx_malformed.add(n);
    }

    /// Counts a candidate that a feed detected but could not store and cannot hand back to
    /// anyone: it enters `candidates_detected` and the drop counter of `why`.
    pub(crate) fn count_unstored(&self, why: Unstored) {
        let m = &self.metrics.ingest;
        m.issued.incr();
        match why {
            Unstored::Shutdown => m.dropped_shutdown.incr(),
            Unstored::LiveTimeout => m.dropped_full_buffer.incr(),
        }
    }

    /// Items in the stream ring now.
    pub fn ring_len(&self) -> usize {
        self.ring.len()
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub(crate) fn ring(&self) -> &StreamRing {
        &self.ring
    }

    pub(crate) fn gate(&self) -> &Gate {
        &self.gate
    }

    #[inline]
    fn ingest_inner(&self, mut c: PremintCandidate, wait: Wait) -> Result<(), Refused> {
        if !self.ring.enter() {
            return Err(Refused::Push(PushError::Closed(c)));
        }
        let m = &self.metrics.ingest;
        // Issuing the sequence number counts the candidate as detected, before the push: the
        // batcher may deliver it before this function returns.
        c.seq = m.issued.next();
        if c.detected_at_ns == 0 {
            c.detected_at_ns = monotonic_ns();
        }
        if !self.stale.is_off() && self.stale.stale_at_enqueue(&c, monotonic_ns()) {
            m.dropped_stale.incr();
            self.ring.exit();
            return Err(Refused::Stale(c));
        }
        let result = match wait {
            Wait::No => self.ring.push_entered(c, false, None),
            Wait::Policy => self.ring.push_entered(c, true, self.ring.block_timeout()),
            Wait::For(t) => self.ring.push_entered(c, true, Some(t)),
        };
        match &result {
            Ok(None) => {}
            Ok(Some(_evicted)) => {
                m.dropped_oldest.incr();
                m.backpressure_events.incr();
            }
            Err(PushError::Full(_)) if self.ring.policy() != DropPolicy::Block => {
                m.dropped_full_buffer.incr();
                m.backpressure_events.incr();
            }
            Err(PushError::Full(_)) | Err(PushError::Timeout(_)) => {
                // `block` drops nothing: the caller keeps the candidate, uncounted.
                m.handed_back.incr();
                m.backpressure_events.incr();
            }
            Err(PushError::Closed(_)) => m.handed_back.incr(),
        }
        self.ring.exit();
        result.map(|_| ()).map_err(Refused::Push)
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
