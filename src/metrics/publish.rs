//! The publisher's counters (`published`, `publish_dropped`, `publish_failed`, ...): written by
//! a NATS or Kafka publisher (its queue's sending side counts `publish_offered` and `publish_dropped`,
//! its thread everything else), read into [`PublishSnapshot`] and, once the publisher is
//! attached to an engine, into the engine's [`MetricsSnapshot`](super::MetricsSnapshot).
//!
//! Publishing happens after delivery, so none of this is part of the engine's accounting
//! invariant. The publisher has its own, exact once it has shut down:
//! `publish_offered == published + publish_dropped + publish_failed + publish_pending`.
//! All atomics are `Relaxed` statistics; `pending` is derived, and a snapshot reads the
//! downstream counters before `offered`, so it is never negative.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Counter;

/// A read-only handle on one publisher's counters (`Publisher::stats`). It never keeps the
/// publisher's thread alive.
#[derive(Clone)]
pub struct PublishStats(pub(crate) Arc<PublishMetrics>);

impl fmt::Debug for PublishStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishStats").finish_non_exhaustive()
    }
}

impl PublishStats {
    /// The publisher's counters now.
    pub fn snapshot(&self) -> PublishSnapshot {
        self.0.snapshot()
    }
}

/// The counters of one publisher.
#[derive(Debug, Default)]
pub(crate) struct PublishMetrics {
    /// Candidates handed to `try_publish` (written by the callers).
    pub(crate) offered: Counter,
    /// Refused by a full queue (written by the callers).
    pub(crate) dropped: Counter,
    /// Stored by the stream and acknowledged (JetStream), acknowledged by every in-sync
    /// replica (Kafka), or written to the connection (core NATS). Duplicates included. Written
    /// by the publisher thread, as are the rest.
    pub(crate) published: Counter,
    /// Acknowledged as duplicates: the stream already held that `Nats-Msg-Id`.
    pub(crate) duplicates: Counter,
    /// Given up: refused by the stream for good (full, too large), or still unacknowledged at
    /// the shutdown deadline.
    pub(crate) failed: Counter,
    /// The part of `failed` a full stream (`nats_discard = "new"`) refused.
    pub(crate) stream_full: Counter,
    /// Publishes sent again after a failure (timeout, server restart, no stream yet).
    pub(crate) retries: Counter,
    /// 1 while the publisher's connection is up.
    pub(crate) connected: Counter,
}

impl PublishMetrics {
    pub(crate) fn snapshot(&self) -> PublishSnapshot {
        let published = self.published.get();
        let failed = self.failed.get();
        let dropped = self.dropped.get();
        let offered = self.offered.get();
        PublishSnapshot {
            offered,
            published,
            duplicates: self.duplicates.get(),
            dropped,
            failed,
            stream_full: self.stream_full.get(),
            retries: self.retries.get(),
            pending: offered.saturating_sub(published + dropped + failed),
            connected: self.connected.get() != 0,
        }
    }
}

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
