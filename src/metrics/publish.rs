//! [`PublishSnapshot`]: what a publisher reports (`published`, `publish_dropped`,
//! `publish_failed`, ...). The publisher owns and writes its counters (`publish/stats.rs`) and
//! fills this; `metrics/` only defines the shape, so that the engine's
//! [`MetricsSnapshot`](crate::MetricsSnapshot) and the Prometheus exposition can carry it once the
//! publisher is attached, without depending on the publisher.
//!
//! Publishing happens after delivery, so none of this is part of the engine's accounting
//! invariant. The publisher has its own, exact once it has shut down:
//! `publish_offered == published + publish_dropped + publish_failed + publish_pending`.

use serde::{Deserialize, Serialize};

/// A publisher's counters at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishSnapshot {
    /// Candidates offered to the publisher.
    pub offered: u64,
    /// Acknowledged by the stream (JetStream; duplicates included), or written to the
    /// connection (core NATS).
    pub published: u64,
    /// Acknowledged as duplicates: the stream already held the message id (another instance
    /// published the same launch, or an earlier attempt of ours landed before its ack was lost).
    pub duplicates: u64,
    /// Refused because the publisher's queue was full.
    pub dropped: u64,
    /// Given up: refused by the stream for good, or unacknowledged at the shutdown deadline.
    pub failed: u64,
    /// The part of `failed` that a full stream refused.
    pub stream_full: u64,
    /// Publishes sent again after a failure.
    pub retries: u64,
    /// Offered and not yet published, dropped or failed (0 after shutdown).
    pub pending: u64,
    /// Whether the connection is up.
    pub connected: bool,
}

impl PublishSnapshot {
    /// True when every offered candidate is published, dropped, failed or still pending.
    pub fn accounting_holds(&self) -> bool {
        self.offered == self.published + self.dropped + self.failed + self.pending
    }
}
