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

/// The inline handler and the gates its calls pass through.
pub(crate) struct Inline {
    handler: Handler,
    /// One per priority: the closed bit, calls in progress and sequence numbers issued.
    gates: [ProducerGate; 2],
    /// The output's counters: only `lanes[..].failed` is written here (one `incr` per panic).
    counters: Arc<OutputCounters>,
}

impl fmt::Debug for Inline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inline")
            .field("issued", &self.issued())
            .finish_non_exhaustive()
    }
}

impl Inline {
    pub(crate) fn new(handler: Handler, counters: Arc<OutputCounters>) -> Self {
        Inline {
            handler,
            gates: [ProducerGate::default(), ProducerGate::default()],
            counters,
        }
    }

    /// Registers a call for a candidate of priority `p` and takes its lane's next sequence
    /// number; `None` once closed (nothing issued).
    #[inline(always)]
    pub(crate) fn enter_issuing(&self, p: Priority) -> Option<(PushGuard<'_>, u64)> {
        self.gates[p.lane()].enter_issuing()
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

    /// Sequence numbers each lane's gate issued (exact once the producers are idle).
    pub(crate) fn issued(&self) -> [u64; 2] {
        [self.gates[0].issued(), self.gates[1].issued()]
    }

    /// Refuses every later call: ingest hands the candidate back as `Closed`.
    pub(crate) fn close(&self) {
        for g in &self.gates {
            g.close();
        }
    }

    /// True when no handler call is in progress.
    pub(crate) fn producers_idle(&self) -> bool {
        self.gates.iter().all(ProducerGate::producers_idle)
    }
}
