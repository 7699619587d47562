//! Inline delivery: the bot's handler called on the thread that ingests each candidate (a feed's
//! own thread right after decode, dedupe and the stale check; the bot's thread for
//! `IngestHandle::try_ingest` / `ingest`), with no ring, no lane and no wake-up in between.
//!
//! What stands in for a lane is one producer gate per priority (`ring/gate.rs`): entering it
//! issues the candidate's sequence number (which counts it as detected) and registers the call in
//! progress, so that after [`Inline::close`] and once [`Inline::producers_idle`] holds every
//! handler call has returned and every count is final. A call that returns is a delivery and is
//! not counted separately: like direct mode's lanes, deliveries are derived from the gates'
//! issued counts less what ingest refused (see `Metrics::flow`), which keeps the hot path at the
//! gate's two locked instructions. A call that panics is caught and counted in the lane's
//! `failed` (`send_failures`); the feed carries on with its next message.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use super::Handler;
use crate::candidate::{PremintCandidate, Priority};
use crate::metrics::OutputCounters;
use crate::ring::{ProducerGate, PushGuard};

/// The inline handler and the gates its calls pass through: held by the ingest handles.
pub(crate) struct Inline {
    handler: Handler,
    gates: Arc<InlineGates>,
    /// The output's counters: only `lanes[..].failed` is written here (one `incr` per panic).
    counters: Arc<OutputCounters>,
}

/// One producer gate per priority: the closed bit, calls in progress and sequence numbers
/// issued. The engine and its metrics handles hold these alone, so that a metrics handle kept
/// past shutdown never keeps the bot's handler (and what it owns) alive.
#[derive(Debug, Default)]
pub(crate) struct InlineGates([ProducerGate; 2]);

impl fmt::Debug for Inline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inline")
            .field("gates", &self.gates)
            .finish_non_exhaustive()
    }
}

impl Inline {
    pub(crate) fn new(handler: Handler, counters: Arc<OutputCounters>) -> Self {
        Inline {
            handler,
            gates: Arc::default(),
            counters,
        }
    }

    /// The gates, for the engine (shutdown) and its metrics (issued counts).
    pub(crate) fn gates(&self) -> Arc<InlineGates> {
        self.gates.clone()
    }

    /// Registers a call for a candidate of priority `p` and takes its lane's next sequence
    /// number; `None` once closed (nothing issued).
    #[inline(always)]
    pub(crate) fn enter_issuing(&self, p: Priority) -> Option<(PushGuard<'_>, u64)> {
        self.gates.0[p.lane()].enter_issuing()
    }

    /// Calls the handler for `c` (inside the guard `enter_issuing` returned). A panic is caught
    /// and counted in the lane's `failed`.
    #[inline(always)]
    pub(crate) fn deliver(&self, c: &PremintCandidate) {
        if catch_unwind(AssertUnwindSafe(|| (self.handler)(c))).is_err() {
            self.panicked(c.priority);
        }
    }

    #[cold]
    fn panicked(&self, p: Priority) {
        let failed = &self.counters.lanes[p.lane()].failed;
        failed.incr();
        let n = failed.get();
        if n.is_power_of_two() {
            tracing::error!(
                lane = ?p,
                panics = n,
                "inline handler panicked; candidate counted in send_failures"
            );
        }
    }
}

impl InlineGates {
    /// Sequence numbers each lane's gate issued (exact once the producers are idle).
    pub(crate) fn issued(&self) -> [u64; 2] {
        [self.0[0].issued(), self.0[1].issued()]
    }

    /// Refuses every later call: ingest hands the candidate back as `Closed`.
    pub(crate) fn close(&self) {
        for g in &self.0 {
            g.close();
        }
    }

    /// True when no handler call is in progress.
    pub(crate) fn producers_idle(&self) -> bool {
        self.0.iter().all(ProducerGate::producers_idle)
    }
}
