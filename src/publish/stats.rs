//! The publisher's own counters and the read-only [`PublishStats`] handle that joins them to an
//! engine's snapshots (as the aggregates sink's `SinkStats` does): the publisher writes them, the
//! engine only reads them, and holding the handle never keeps the publisher's thread alive.
//!
//! All atomics are `Relaxed` statistics; `pending` is derived, and a snapshot reads the
//! downstream counters before `offered`, so it is never negative.

use std::fmt;
use std::sync::Arc;

use crate::metrics::{Counter, PublishSnapshot};

/// A read-only handle on one publisher's counters
/// ([`Publisher::stats`](super::Publisher::stats)), to attach to an engine with
/// [`SnifferBuilder::publisher`](crate::SnifferBuilder::publisher) or
/// [`MetricsSource::attach_publisher`](crate::MetricsSource::attach_publisher). It never keeps
/// the publisher's thread alive.
#[derive(Clone)]
pub struct PublishStats(pub(crate) Arc<PublishCounters>);

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
pub(crate) struct PublishCounters {
    /// Candidates handed to `try_publish` (written by the callers' threads, through their
    /// `PublishHandle`).
    pub(crate) offered: Counter,
    /// Refused by a full or closed queue (written by the callers' threads).
    pub(crate) dropped: Counter,
    /// Stored by the stream and acknowledged (JetStream), acknowledged by every in-sync
    /// replica (Kafka), or written to the connection (core NATS). Duplicates included. Written by the publisher thread, as are the rest.
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
    /// 1 while the publisher's connection is up (the publisher thread; `Publisher::start` sets
    /// the first value).
    pub(crate) connected: Counter,
}

impl PublishCounters {
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
