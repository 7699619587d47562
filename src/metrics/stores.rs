//! The shapes of what the aggregates sink's Redis write buffer ([`BufferSnapshot`]) and the
//! ClickHouse history writer ([`HistorySnapshot`]) report, and the history writer's counters
//! ([`HistoryStats`]), attached to an engine like the publisher's. Their owners write them;
//! `metrics/` only defines them, so the engine's snapshot and the Prometheus exposition can
//! carry them without depending on the sink or the history writer.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Counter;

/// A point-in-time copy of the write buffer's metrics (`sink.buffer` in the JSON snapshot).
///
/// Events: `offered == acknowledged + refused + unprotected + unacknowledged`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BufferSnapshot {
    /// Events the sink applied and handed to the buffer.
    pub offered: u64,
    /// Events Redis acknowledged: a crash of the sniffer loses none of them.
    pub acknowledged: u64,
    /// Events of mints that did not fit in `buffer_max_pending` (kept in memory only until the
    /// next flush).
    pub refused: u64,
    /// Events the store wrote before Redis acknowledged them (during an outage): never
    /// crash-safe, never lost.
    pub unprotected: u64,
    /// Events waiting for a successful round trip now.
    pub unacknowledged: u64,
    /// Failed round trips (timeouts, refused or broken connections).
    pub failures: u64,
    /// Connections made after the first.
    pub reconnects: u64,
    /// Pending mints of an earlier run written to the store at start.
    pub recovered_mints: u64,
    /// Trade marks among them.
    pub recovered_trades: u64,
    /// Pending mints whose keys had expired (`buffer_ttl`) when they were recovered: lost.
    pub expired_mints: u64,
    /// Mints removed from the pending set after the store committed them.
    pub committed_mints: u64,
    /// Flushes started because the pending set passed 80 % of `buffer_max_pending`.
    pub early_flushes: u64,
    /// Times the pending set passed 80 %, once per episode (re-armed below 40 %).
    pub warn_events: u64,
    /// Mints in the pending set now.
    pub pending_mints: u64,
    /// `buffer_max_pending`.
    pub max_pending: u64,
    /// False after a failed round trip, until one succeeds.
    pub connected: bool,
}

/// A point-in-time copy of the history writer's metrics (`history` in the JSON snapshot).
///
/// Rows: `launches_offered + trades_offered == launches_written + trades_written +
/// trade_duplicates + lost + pending`; refusals are in `dropped` and `closed`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistorySnapshot {
    /// Delivered launches accepted into the writer's queue.
    pub launches_offered: u64,
    /// Decoded trades accepted into the writer's queue.
    pub trades_offered: u64,
    /// Rows refused because the queue was full (live feeds shed; pull feeds are paused before).
    pub dropped: u64,
    /// Rows refused after the writer shut down.
    pub closed: u64,
    /// Launch rows in acknowledged INSERTs.
    pub launches_written: u64,
    /// Trade rows in acknowledged INSERTs.
    pub trades_written: u64,
    /// Trades skipped as copies of one already queued (the same trade over two feeds).
    pub trade_duplicates: u64,
    /// Rows not written by the shutdown deadline.
    pub lost: u64,
    /// Accepted rows not yet written (queued or in a batch being retried).
    pub pending: u64,
    /// Acknowledged INSERT statements.
    pub inserts: u64,
    /// INSERTs that failed (ClickHouse down, slow or refusing); each is retried.
    pub insert_failures: u64,
    /// Rows of the largest INSERT.
    pub max_batch_rows: u64,
    /// Rows in the queue now.
    pub queue_depth: u64,
    /// Rows the queue holds.
    pub queue_capacity: u64,
    /// True while a failed INSERT waits for its retry.
    pub failing: bool,
}

/// The history writer's counters. The writer's handles write the `offered`, `dropped` and
/// `closed` counts; its thread writes the rest. All `Relaxed` statistics.
#[derive(Debug, Default)]
pub(crate) struct HistoryMetrics {
    pub(crate) launches_offered: Counter,
    pub(crate) trades_offered: Counter,
    pub(crate) dropped: Counter,
    pub(crate) closed: Counter,
    pub(crate) launches_written: Counter,
    pub(crate) trades_written: Counter,
    pub(crate) trade_duplicates: Counter,
    pub(crate) lost: Counter,
    pub(crate) inserts: Counter,
    pub(crate) insert_failures: Counter,
    pub(crate) max_batch_rows: Counter,
    pub(crate) queue_depth: Counter,
    pub(crate) queue_capacity: Counter,
    pub(crate) failing: Counter,
}

impl HistoryMetrics {
    pub(crate) fn snapshot(&self) -> HistorySnapshot {
        // Done before offered: a row is offered before it is written, so `pending` never goes
        // negative.
        let done = self.launches_written.get()
            + self.trades_written.get()
            + self.trade_duplicates.get()
            + self.lost.get();
        let offered = self.launches_offered.get() + self.trades_offered.get();
        HistorySnapshot {
            launches_offered: self.launches_offered.get(),
            trades_offered: self.trades_offered.get(),
            dropped: self.dropped.get(),
            closed: self.closed.get(),
            launches_written: self.launches_written.get(),
            trades_written: self.trades_written.get(),
            trade_duplicates: self.trade_duplicates.get(),
            lost: self.lost.get(),
            pending: offered.saturating_sub(done),
            inserts: self.inserts.get(),
            insert_failures: self.insert_failures.get(),
            max_batch_rows: self.max_batch_rows.get(),
            queue_depth: self.queue_depth.get(),
            queue_capacity: self.queue_capacity.get(),
            failing: self.failing.get() != 0,
        }
    }
}

/// A read-only handle on a history writer's counters, attached to an engine with
/// [`MetricsSource::attach_history`](crate::MetricsSource::attach_history) so its snapshot,
/// Prometheus exposition and `/health` carry them. It never keeps the writer alive.
#[derive(Clone, Debug, Default)]
pub struct HistoryStats(pub(crate) Arc<HistoryMetrics>);

impl HistoryStats {
    /// The counters now.
    pub fn snapshot(&self) -> HistorySnapshot {
        self.0.snapshot()
    }
}
