//! [`SinkSnapshot`]: what the aggregates sink reports. The sink writes its own counters and
//! fills this; `metrics/` only defines the shape, so that the engine's [`MetricsSnapshot`] and
//! the Prometheus exposition can carry it without depending on the sink.
//!
//! [`MetricsSnapshot`]: super::MetricsSnapshot

use serde::{Deserialize, Serialize};

use super::{BufferSnapshot, LatencySummary};

/// A point-in-time copy of the sink's metrics.
///
/// Input accounting: `input_accepted == events_applied + input_pending`; events refused are in
/// `input_drops` (input full) or `input_closed` (after shutdown). After shutdown, `input_pending`
/// counts the events abandoned in the input at the deadline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SinkSnapshot {
    /// Duration of the flushes that wrote something (delta and full), ns.
    pub flush_latency_ns: LatencySummary,
    /// Rows upserted in committed transactions.
    pub rows_written: u64,
    /// Committed transactions.
    pub batches: u64,
    /// Transactions that failed and were rolled back.
    pub batch_failures: u64,
    /// ... of which because the database was busy.
    pub busy_failures: u64,
    /// ... of which because the disk or `max_page_count` was full.
    pub full_failures: u64,
    /// Flush attempts that retried an earlier failure.
    pub retries: u64,
    /// Delta flushes run (including the final one).
    pub delta_flushes: u64,
    /// Full flushes run.
    pub full_flushes: u64,
    /// Mints held in memory.
    pub live_mints: u64,
    /// Mints removed from memory by pruning.
    pub pruned_mints: u64,
    /// Mints changed and not yet written.
    pub touched_pending: u64,
    /// Events queued by handles.
    pub input_accepted: u64,
    /// Events applied to the state.
    pub events_applied: u64,
    /// Events queued but not applied (in the input, or abandoned at shutdown).
    pub input_pending: u64,
    /// Events refused because the input was full.
    pub input_drops: u64,
    /// Events refused because the sink had shut down.
    pub input_closed: u64,
    /// Mints loaded back from the database.
    pub reloaded_mints: u64,
    /// Look-ups of stored mints that failed (the mint then starts from zero in memory; the
    /// upsert still keeps its stored identity fields).
    pub reload_failures: u64,
    /// Trades skipped because the same trade was already applied: the same transaction seen
    /// over two feeds, or over two subscriptions of one (first sighting wins, as for launches).
    #[serde(default)]
    pub trade_duplicates: u64,
    /// Launches applied without a row: their mint is unknown (seen only through logs that do
    /// not name it), so there is nothing to aggregate under. Part of `events_applied`.
    #[serde(default)]
    pub launches_without_mint: u64,
    /// Events in the input when the sink thread last looked.
    #[serde(default)]
    pub input_depth: u64,
    /// Events the input holds.
    #[serde(default)]
    pub input_capacity: u64,
    /// Times the input filled past the warn level (80 %), once per episode (re-armed below 40 %).
    #[serde(default)]
    pub input_warn_events: u64,
    /// Times it filled past the critical level (95 %), once per episode (re-armed below 80 %).
    #[serde(default)]
    pub input_critical_events: u64,
    /// True while a failed flush waits for its retry (the database is busy or full).
    #[serde(default)]
    pub failing: bool,
    /// The Redis write buffer's metrics, when the sink has one (`--buffer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffer: Option<BufferSnapshot>,
}
