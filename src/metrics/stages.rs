//! Each stage's counters, in a struct of its own. The engine hands a stage the `Arc` of its own
//! struct and nothing else (ingest gets [`IngestCounters`], the lanes [`OutputCounters`], the
//! batcher [`BatchCounters`], the receiver [`ReceiverCounters`], the gate [`GateCounters`]), so a
//! stage can write only what it owns; [`Metrics`](super::Metrics) holds every struct and reads
//! them all into a snapshot. Another stage that needs a count changed asks the owner (an
//! `IngestHandle` method), it never writes the owner's struct.
//!
//! Every field is a cache-padded [`Counter`] with `Relaxed` increments: statistics, not
//! synchronisation. Per-lane arrays are indexed by `Priority::lane` (0 High, 1 Low).

use std::sync::atomic::AtomicBool;

use crossbeam_utils::CachePadded;

use super::Counter;
use crate::candidate::{LaunchKind, Malformed};

/// Written by ingest: the `IngestHandle` methods, called by the bot's threads and by the feed
/// threads' `FeedSink`s. The push outcomes are counted inside the ring's (or, in direct mode, the
/// lane's) producer gate, so they are final once the producers are idle.
#[derive(Debug, Default)]
pub(crate) struct IngestCounters {
    /// Transactions read (`IngestHandle::record_tx_seen`).
    pub(crate) tx_seen: Counter,
    /// Inputs that could not be decoded (`IngestHandle::record_malformed`).
    pub(crate) tx_malformed: Counter,
    /// `tx_malformed` split by reason, indexed like [`Malformed::ALL`] (feeds that know it;
    /// `IngestHandle::record_malformed_reason`).
    pub(crate) malformed_by_reason: [Counter; Malformed::ALL.len()],
    /// Candidates a pull feed could not store because the engine was shutting down: detected
    /// (the feed cannot hand them back) without a sequence number from the gate
    /// (`IngestHandle::record_lost_to_shutdown`).
    pub(crate) lost_at_shutdown: Counter,
    /// Candidates a live feed gave up on after `live_block_timeout` under `block`: detected
    /// (handed back by the ring, the feed cannot keep them) and counted in `dropped_full_buffer`
    /// (`IngestHandle::record_lost_live`).
    pub(crate) lost_live: Counter,
    /// Issued candidates handed back to the caller uncounted (`block` refusals and timeouts,
    /// shutdown), per lane. `candidates_detected = issued - handed_back`, where `issued` is the
    /// count in the ring's (or, in direct mode, the lanes') gate word.
    pub(crate) handed_back: [Counter; 2],
    /// `drop_newest` rejections at ingest, per lane.
    pub(crate) dropped_full_buffer: [Counter; 2],
    /// Queued candidates the stream ring evicted under `drop_oldest` (sync and async modes).
    pub(crate) dropped_oldest: Counter,
    /// Pushes that found the stream ring full.
    pub(crate) backpressure_events: Counter,
    /// Candidates a pull feed could not store because the engine was shutting down (with
    /// `lost_at_shutdown`).
    pub(crate) dropped_shutdown: Counter,
    /// Candidates older than `max_age` or `max_slot_lag` at enqueue, per lane.
    pub(crate) dropped_stale: [Counter; 2],
    /// `try_ingest` calls refused because the gate was paused (handed back, not counted as
    /// detected).
    pub(crate) gate_refusals: Counter,
    /// Launches another feed had already delivered (never counted as detected), from the dedup
    /// table's verdict (`IngestHandle::record_sighting`).
    pub(crate) duplicates: Counter,
    /// Launches the dedup table had no room to track (delivered).
    pub(crate) dedup_untracked: Counter,
    /// Fresh dedup entries evicted to make room (the table is undersized for the load).
    pub(crate) dedup_evicted_fresh: Counter,
    /// Candidates issued (or detected without an issue, like `lost_at_shutdown`), per
    /// [`LaunchKind`]; with `handed_back_by_kind`, the split of `candidates_detected` by kind
    /// (ingest, inside the producer gate).
    pub(crate) issued_by_kind: [Counter; LaunchKind::ALL.len()],
    /// Issued candidates handed back to the caller, per kind (the split of `handed_back`).
    pub(crate) handed_back_by_kind: [Counter; LaunchKind::ALL.len()],
}

/// Written by `output`, the lanes' sending side (`Lanes::send`, and the handler call), whoever
/// calls it: the batcher in sync mode, a lane's worker in async mode, the producers' ingest
/// handles in direct mode. One entry per lane.
#[derive(Debug, Default)]
pub(crate) struct OutputCounters {
    pub(crate) lanes: [LaneCounters; 2],
}

/// One lane's part of [`OutputCounters`].
#[derive(Debug, Default)]
pub(crate) struct LaneCounters {
    /// Candidates stored in the lane, or handed to the handler without a panic, by the lane's
    /// one sender (the batcher or the lane's worker; `add_owned`). Unused in direct mode, where
    /// it is derived from the lane gate's issued count (see `Metrics::snapshot`).
    pub(crate) delivered: Counter,
    /// Queued candidates evicted by `drop_oldest` to make room (counted in `dropped_oldest`).
    pub(crate) evicted: Counter,
    /// Sends that found the lane full.
    pub(crate) backpressure: Counter,
    /// Inline delivery: handler calls that panicked (counted in `send_failures`; written by
    /// `Inline::deliver` on whichever thread ingested the candidate).
    pub(crate) failed: Counter,
}

/// Written by the batcher thread and by its lane senders (`LaneSender`, on the batcher thread in
/// sync mode, on each lane's worker in async mode).
#[derive(Debug, Default)]
pub(crate) struct BatchCounters {
    /// Batches flushed (the batcher).
    pub(crate) batches_sent: Counter,
    /// Candidates that went stale in the ring, dropped when the batcher took them.
    pub(crate) dropped_stale: Counter,
    /// Candidates left in the ring or in the open batch at the shutdown deadline (or not handed
    /// to a lane worker by then), per lane (the batcher).
    pub(crate) abandoned: [Counter; 2],
    /// The lane senders' outcomes, per lane.
    pub(crate) lanes: [SendCounters; 2],
}

/// One lane sender's part of [`BatchCounters`].
#[derive(Debug, Default)]
pub(crate) struct SendCounters {
    /// Sends repeated because the lane was full.
    pub(crate) retries: Counter,
    /// Candidates whose delivery failed after the retries (lane full, receiver gone, handler
    /// panicked): counted here and in `dropped_full_buffer` of the snapshot.
    pub(crate) failures: Counter,
    /// Candidates abandoned by this sender at the shutdown deadline.
    pub(crate) dropped_shutdown: Counter,
}

/// Written only by the bot's `CandidateReceiver` (one thread at a time: the receiver is not
/// `Sync`, so it counts with `add_owned`), per lane.
#[derive(Debug, Default)]
pub(crate) struct ReceiverCounters {
    /// Candidates handed to the bot.
    pub(crate) received: [Counter; 2],
    /// Candidates skipped at receive because they had gone stale (`dropped_stale`).
    pub(crate) stale: [Counter; 2],
    /// Candidates left in the lanes when the receiver was dropped (`send_failures`).
    pub(crate) discarded: [Counter; 2],
}

/// Written by the backpressure gate: by whichever observer (a feed thread, the batcher, the
/// monitor) wins a transition's compare-and-swap, so each transition is counted once.
#[derive(Debug, Default)]
pub(crate) struct GateCounters {
    /// Crossings of the warn watermark (one per episode).
    pub(crate) watermark_warn_events: Counter,
    /// Crossings of the critical watermark (one per episode).
    pub(crate) watermark_critical_events: Counter,
    /// Whether the gate is paused now (set by the observer that paused or resumed it).
    pub(crate) paused: CachePadded<AtomicBool>,
    /// Pauses.
    pub(crate) pause_count: Counter,
    /// Time spent in completed pauses, ns.
    pub(crate) paused_total_ns: Counter,
    /// `monotonic_ns` of the last pause and resume (0: never).
    pub(crate) last_pause_ns: Counter,
    /// See `last_pause_ns`.
    pub(crate) last_resume_ns: Counter,
    /// Paused-too-long alerts fired.
    pub(crate) paused_alerts: Counter,
}
