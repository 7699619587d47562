//! Engine metrics: cache-padded atomic counters, each written only by the stage that owns it, and
//! detection-to-delivery latency in per-thread HdrHistogram cells (`latency.rs`, merged when a
//! snapshot is taken). [`MetricsSnapshot`] serializes to the stable JSON names listed in docs/ARCHITECTURE.md.
//!
//! Counters use `Relaxed` increments: they are statistics, not synchronisation. A snapshot taken
//! while the engine runs reads downstream counters before upstream ones, so `in_flight` never goes
//! negative; after shutdown every thread has been joined and the snapshot is exact.
//! `prometheus.rs` renders a snapshot in the Prometheus text exposition format.
//!
//! This module depends only downward: it reads the counters it owns and the queue levels handed
//! to it (`Levels`); the engine, which owns the ring, the lanes and the gate, assembles those
//! (`MetricsSource` lives there).

mod feeds;
mod latency;
mod prometheus;
mod publish;
mod sink;
mod stores;

pub(crate) use feeds::FeedMetrics;
pub use feeds::{FeedSnapshot, FeedStats, LeadSummary};
pub(crate) use latency::{LatencyCells, LatencyRecorder};
pub(crate) use publish::PublishMetrics;
pub use publish::{PublishSnapshot, PublishStats};
pub use sink::SinkSnapshot;
pub(crate) use stores::HistoryMetrics;
pub use stores::{BufferSnapshot, HistorySnapshot, HistoryStats};

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crossbeam_utils::CachePadded;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::candidate::Malformed;
use crate::candidate::{monotonic_ns, Priority};

/// An HdrHistogram of latencies in nanoseconds.
pub type LatencyHistogram = Histogram<u64>;

/// A cache-padded counter.
#[derive(Debug, Default)]
pub(crate) struct Counter(CachePadded<AtomicU64>);

impl Counter {
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        if n != 0 {
            self.0.fetch_add(n, Relaxed);
        }
    }

    #[inline]
    pub(crate) fn incr(&self) {
        self.0.fetch_add(1, Relaxed);
    }

    /// Adds `n` without a read-modify-write: only for counters with a single writer (the receiver,
    /// a lane's one sender), where a load and a store cost a fraction of a locked add.
    #[inline]
    pub(crate) fn add_owned(&self, n: u64) {
        if n != 0 {
            self.0.store(self.0.load(Relaxed).wrapping_add(n), Relaxed);
        }
    }

    #[inline]
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }

    pub(crate) fn set(&self, v: u64) {
        self.0.store(v, Relaxed);
    }
}

/// Counters written by the ingest stage: feeds and the bot's ingest handles.
#[derive(Debug, Default)]
pub(crate) struct IngestMetrics {
    pub(crate) tx_seen: Counter,
    pub(crate) tx_malformed: Counter,
    /// Candidates a pull feed could not store because the engine was shutting down: detected
    /// (the feed cannot hand them back) without a sequence number from the gate.
    pub(crate) lost_at_shutdown: Counter,
    /// Candidates a live feed gave up on after `live_block_timeout` under `block`: detected
    /// (handed back by the ring, the feed cannot keep them) and counted in `dropped_full_buffer`.
    pub(crate) lost_live: Counter,
    /// Issued candidates handed back to the caller uncounted (`block` refusals and timeouts,
    /// shutdown), per lane. `candidates_detected = issued - handed_back`, where `issued` is the
    /// count in the ring's (or, in direct mode, the lanes') gate word.
    pub(crate) handed_back: [Counter; 2],
    /// `drop_newest` rejections at ingest, per lane.
    pub(crate) dropped_full_buffer: [Counter; 2],
    pub(crate) dropped_oldest: Counter,
    /// Pushes that found the ring full.
    pub(crate) backpressure_events: Counter,
    /// Candidates a pull feed could not store because the engine was shutting down.
    pub(crate) dropped_shutdown: Counter,
    /// Candidates older than `max_age` or `max_slot_lag` at enqueue, per lane.
    pub(crate) dropped_stale: [Counter; 2],
    /// `try_ingest` calls refused because the gate was paused (handed back, not counted as
    /// detected).
    pub(crate) gate_refusals: Counter,
    /// `tx_malformed` split by reason, indexed like [`Malformed::ALL`] (feeds that know it).
    pub(crate) malformed_by_reason: [Counter; Malformed::ALL.len()],
    /// Launches another feed had already delivered (never counted as detected).
    pub(crate) duplicates: Counter,
    /// Launches the dedup table had no room to track (delivered).
    pub(crate) dedup_untracked: Counter,
    /// Fresh dedup entries evicted to make room (the table is undersized for the load).
    pub(crate) dedup_evicted_fresh: Counter,
}

/// Counters of one output lane's sending side. `delivered`, `evicted` and `backpressure` are
/// written by `output` (the lane's own `send`), whoever calls it: the batcher in sync mode, the
/// lane's worker in async mode, the producers' ingest handles in direct mode. `retries`,
/// `failures` and `dropped_shutdown` are written by the sender (the batcher or the lane worker).
#[derive(Debug, Default)]
pub(crate) struct LaneMetrics {
    /// Candidates stored in the lane, or handed to the handler without a panic, by the lane's one
    /// sender (the batcher or the lane's worker; `add_owned`). Unused in direct mode, where it is
    /// derived from the lane gate's issued count (see `Metrics::snapshot`).
    pub(crate) delivered: Counter,
    /// Queued candidates evicted by `drop_oldest` to make room (counted in `dropped_oldest`).
    pub(crate) evicted: Counter,
    /// Sends that found the lane full.
    pub(crate) backpressure: Counter,
    pub(crate) retries: Counter,
    /// Candidates whose delivery failed after the retries (lane full, receiver gone, handler
    /// panicked): counted here and in `dropped_full_buffer` of the snapshot.
    pub(crate) failures: Counter,
    /// Candidates abandoned in this lane at the shutdown deadline.
    pub(crate) dropped_shutdown: Counter,
}

/// Counters written only by the bot's [`CandidateReceiver`](crate::CandidateReceiver) (one
/// thread at a time: the receiver is not `Sync`), per lane.
#[derive(Debug, Default)]
pub(crate) struct ReceiverMetrics {
    /// Candidates handed to the bot.
    pub(crate) received: [Counter; 2],
    /// Candidates skipped at receive because they had gone stale (`dropped_stale`).
    pub(crate) stale: [Counter; 2],
    /// Candidates left in the lanes when the receiver was dropped (`send_failures`).
    pub(crate) discarded: [Counter; 2],
}

/// Counters written by the batcher.
#[derive(Debug, Default)]
pub(crate) struct BatchMetrics {
    pub(crate) batches_sent: Counter,
    pub(crate) dropped_stale: Counter,
    /// Candidates left in the ring or in the open batch at the shutdown deadline (or not handed
    /// to a lane worker by then), per lane.
    pub(crate) abandoned: [Counter; 2],
}

/// Counters written by the backpressure gate (by whichever observer wins a transition).
#[derive(Debug, Default)]
pub(crate) struct GateMetrics {
    pub(crate) watermark_warn_events: Counter,
    pub(crate) watermark_critical_events: Counter,
    pub(crate) paused: CachePadded<AtomicBool>,
    pub(crate) pause_count: Counter,
    /// Time spent in completed pauses.
    pub(crate) paused_total_ns: Counter,
    /// `monotonic_ns` of the last pause and resume (0: never).
    pub(crate) last_pause_ns: Counter,
    pub(crate) last_resume_ns: Counter,
    pub(crate) paused_alerts: Counter,
}

/// Every metric of one engine.
#[derive(Debug)]
pub(crate) struct Metrics {
    pub(crate) ingest: IngestMetrics,
    pub(crate) batch: BatchMetrics,
    pub(crate) lanes: [LaneMetrics; 2],
    pub(crate) receiver: ReceiverMetrics,
    pub(crate) gate: GateMetrics,
    /// One entry per pull feed, set once by the builder; each feed thread holds its own entry.
    pub(crate) feeds: OnceLock<Box<[Arc<FeedMetrics>]>>,
    /// The counters of a publisher attached to this engine (set once; the publisher writes
    /// them, this only reads them: it never keeps the publisher's thread alive).
    pub(crate) publish: OnceLock<Arc<PublishMetrics>>,
    /// The counters of a history writer attached to this engine (set once, read only).
    pub(crate) history: OnceLock<Arc<HistoryMetrics>>,
    /// Detection to delivery: recorded by the receiver or the handler's sending thread.
    pub(crate) latency: LatencyCells,
    /// Age of candidates when the batcher takes them from the ring.
    pub(crate) age: LatencyCells,
    started: Instant,
    started_ns: u64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            ingest: IngestMetrics::default(),
            batch: BatchMetrics::default(),
            lanes: Default::default(),
            receiver: ReceiverMetrics::default(),
            gate: GateMetrics::default(),
            feeds: OnceLock::new(),
            publish: OnceLock::new(),
            history: OnceLock::new(),
            latency: LatencyCells::default(),
            age: LatencyCells::default(),
            started: Instant::now(),
            started_ns: monotonic_ns(),
        }
    }
}

/// What a snapshot needs from outside the counters: the queues' levels, the sequence numbers
/// their gates issued, and the gate's clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Levels {
    /// Sequence numbers issued by the ring's gate, or the lanes' gates in direct mode.
    pub(crate) issued: u64,
    /// Direct mode: each lane gate's issued count (the lanes' deliveries are derived from it).
    pub(crate) lane_issued: Option<[u64; 2]>,
    pub(crate) depth: usize,
    pub(crate) capacity: usize,
    pub(crate) lane_depths: [usize; 2],
    pub(crate) lane_capacity: usize,
    /// Time paused so far, including a pause in progress.
    pub(crate) paused_total_ns: u64,
}

impl Metrics {
    /// A copy of the merged detection-to-delivery latency histogram.
    pub(crate) fn latency_histogram(&self) -> Histogram<u64> {
        self.latency.merged()
    }

    /// Reads every counter.
    pub(crate) fn snapshot(&self, levels: Levels) -> MetricsSnapshot {
        let (latency_h, age_h) = (self.latency.merged(), self.age.merged());
        let latency = LatencySummary::from_histogram(&latency_h);
        let age = LatencySummary::from_histogram(&age_h);
        // Downstream first, upstream last: a candidate is counted upstream before downstream.
        // Receiver first: what it skipped or discarded was delivered into the lane before.
        let rx = &self.receiver;
        let rx_stale = [rx.stale[0].get(), rx.stale[1].get()];
        let rx_discarded = [rx.discarded[0].get(), rx.discarded[1].get()];
        let [high, low] = &self.lanes;
        let evicted = [high.evicted.get(), low.evicted.get()];
        let ing = &self.ingest;
        let per_lane = |c: &[Counter; 2]| [c[0].get(), c[1].get()];
        let handed_back = per_lane(&ing.handed_back);
        let full = per_lane(&ing.dropped_full_buffer);
        let stale_in = per_lane(&ing.dropped_stale);
        // A lane's sent: delivered into it, less what left it without reaching the bot. In direct
        // mode every issued candidate that ingest did not refuse was delivered into its lane.
        let delivered = |lane: usize, m: &LaneMetrics| match levels.lane_issued {
            Some(issued) => {
                issued[lane].saturating_sub(handed_back[lane] + full[lane] + stale_in[lane])
            }
            None => m.delivered.get(),
        };
        let sent = |lane: usize, m: &LaneMetrics| {
            delivered(lane, m).saturating_sub(evicted[lane] + rx_stale[lane] + rx_discarded[lane])
        };
        let high_sent = sent(0, high);
        let low_sent = sent(1, low);
        let send_failures =
            high.failures.get() + low.failures.get() + rx_discarded[0] + rx_discarded[1];
        let dropped_shutdown = high.dropped_shutdown.get()
            + low.dropped_shutdown.get()
            + self.batch.abandoned[0].get()
            + self.batch.abandoned[1].get()
            + self.ingest.dropped_shutdown.get();
        let dropped_stale =
            rx_stale[0] + rx_stale[1] + self.batch.dropped_stale.get() + stale_in[0] + stale_in[1];
        let dropped_oldest = evicted[0] + evicted[1] + self.ingest.dropped_oldest.get();
        let lost_live = self.ingest.lost_live.get();
        let dropped_full_buffer = full[0] + full[1] + send_failures + lost_live;
        let backpressure_events = high.backpressure.get()
            + low.backpressure.get()
            + self.ingest.backpressure_events.get();
        let candidates_detected = (levels.issued + self.ingest.lost_at_shutdown.get() + lost_live)
            .saturating_sub(handed_back[0] + handed_back[1]);
        let uptime_ms = |ns: u64| (ns != 0).then(|| ns.saturating_sub(self.started_ns) / 1_000_000);
        let publish = self.publish.get().map(|p| p.snapshot()).unwrap_or_default();
        let mut snapshot = MetricsSnapshot {
            tx_seen: self.ingest.tx_seen.get(),
            tx_malformed: self.ingest.tx_malformed.get(),
            candidates_detected,
            candidates_sent: high_sent + low_sent,
            high_sent,
            low_sent,
            stream_buffer_depth: levels.depth as u64,
            stream_buffer_capacity: levels.capacity as u64,
            high_lane_depth: levels.lane_depths[Priority::High.lane()] as u64,
            low_lane_depth: levels.lane_depths[Priority::Low.lane()] as u64,
            lane_capacity: levels.lane_capacity as u64,
            backpressure_events,
            dropped_full_buffer,
            dropped_oldest,
            dropped_stale,
            dropped_shutdown,
            in_flight: candidates_detected.saturating_sub(
                high_sent
                    + low_sent
                    + dropped_full_buffer
                    + dropped_oldest
                    + dropped_stale
                    + dropped_shutdown,
            ),
            send_retries: high.retries.get() + low.retries.get(),
            send_failures,
            batches_sent: self.batch.batches_sent.get(),
            watermark_warn_events: self.gate.watermark_warn_events.get(),
            watermark_critical_events: self.gate.watermark_critical_events.get(),
            paused: self.gate.paused.load(Relaxed),
            pause_count: self.gate.pause_count.get(),
            paused_total_ms: levels.paused_total_ns / 1_000_000,
            last_pause_ms: uptime_ms(self.gate.last_pause_ns.get()),
            last_resume_ms: uptime_ms(self.gate.last_resume_ns.get()),
            paused_alerts: self.gate.paused_alerts.get(),
            gate_refusals: self.ingest.gate_refusals.get(),
            latency_ns: latency,
            age_at_dequeue_ns: age,
            latency_buckets: buckets(&latency_h),
            age_at_dequeue_buckets: buckets(&age_h),
            sink: None,
            uptime_ms: self.started.elapsed().as_millis() as u64,
            tx_malformed_by_reason: Malformed::ALL
                .iter()
                .zip(&self.ingest.malformed_by_reason)
                .map(|(m, c)| (m.as_str().to_owned(), c.get()))
                .collect(),
            duplicates_dropped: self.ingest.duplicates.get(),
            dedup_untracked: self.ingest.dedup_untracked.get(),
            dedup_evicted_fresh: self.ingest.dedup_evicted_fresh.get(),
            feeds: self.feed_snapshots(),
            history: self.history.get().map(|h| h.snapshot()),
            ..MetricsSnapshot::default()
        };
        snapshot.set_publish(&publish);
        snapshot
    }

    fn feed_snapshots(&self) -> Vec<FeedSnapshot> {
        let Some(feeds) = self.feeds.get() else {
            return Vec::new();
        };
        let total_wins: u64 = feeds.iter().map(|f| f.wins.get()).sum();
        let now = monotonic_ns();
        feeds
            .iter()
            .enumerate()
            .map(|(id, f)| f.snapshot(id as u16, total_wins, now))
            .collect()
    }
}

/// The fixed upper bounds (ns) of the latency histograms Prometheus gets: 1 us to 1 s in 1-2.5-5
/// steps (values above the last go to `+Inf` only).
pub const LATENCY_BUCKETS_NS: [u64; 19] = [
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
];

/// Cumulative counts at [`LATENCY_BUCKETS_NS`] (HdrHistogram's values are exact to 3 digits, so
/// the counts are exact at these round bounds).
fn buckets(h: &Histogram<u64>) -> Vec<u64> {
    LATENCY_BUCKETS_NS
        .iter()
        .map(|&le| {
            if h.is_empty() {
                0
            } else {
                h.count_between(0, le)
            }
        })
        .collect()
}

/// Percentiles of detection-to-delivery latency, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest value recorded.
    pub max: u64,
    /// Number of values recorded.
    pub count: u64,
    /// Mean of the values recorded.
    pub mean: f64,
}

impl LatencySummary {
    /// Summarises a histogram.
    pub fn from_histogram(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            count: h.len(),
            mean: h.mean(),
        }
    }
}

/// A point-in-time copy of every metric, serializing to the stable names listed in docs/ARCHITECTURE.md.
///
/// The accounting invariant, exact after shutdown:
/// `candidates_detected == candidates_sent + dropped_full_buffer + dropped_oldest + dropped_stale
/// + dropped_shutdown + in_flight`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    /// Transactions (input lines or messages) the feeds read.
    pub tx_seen: u64,
    /// Inputs that could not be decoded (counted and skipped).
    pub tx_malformed: u64,
    /// Candidates the engine took responsibility for.
    pub candidates_detected: u64,
    /// Candidates delivered to an output lane or a handler.
    pub candidates_sent: u64,
    /// Delivered on the High lane.
    pub high_sent: u64,
    /// Delivered on the Low lane.
    pub low_sent: u64,
    /// Candidates in the stream ring now.
    pub stream_buffer_depth: u64,
    /// Slots of the stream ring.
    pub stream_buffer_capacity: u64,
    /// Candidates waiting in the High output lane for the bot.
    pub high_lane_depth: u64,
    /// Candidates waiting in the Low output lane for the bot.
    pub low_lane_depth: u64,
    /// Capacity of each output lane (0 with a handler).
    pub lane_capacity: u64,
    /// Pushes that found the ring full.
    pub backpressure_events: u64,
    /// Rejected by `drop_newest`, timed out under `block`, or failed delivery after retries.
    pub dropped_full_buffer: u64,
    /// Evicted by `drop_oldest`.
    pub dropped_oldest: u64,
    /// Dropped by the age or slot-lag bound.
    pub dropped_stale: u64,
    /// Abandoned at the shutdown deadline.
    pub dropped_shutdown: u64,
    /// Accepted but neither delivered nor dropped yet (0 after shutdown).
    pub in_flight: u64,
    /// Send attempts repeated because a lane was full.
    pub send_retries: u64,
    /// Deliveries that failed after the retries (also in `dropped_full_buffer`).
    pub send_failures: u64,
    /// Batches flushed by the batcher.
    pub batches_sent: u64,
    /// Crossings of the warn watermark.
    pub watermark_warn_events: u64,
    /// Crossings of the critical watermark.
    pub watermark_critical_events: u64,
    /// Whether pull feeds are paused now.
    pub paused: bool,
    /// Times the feeds were paused.
    pub pause_count: u64,
    /// Total time spent paused, including a pause in progress.
    pub paused_total_ms: u64,
    /// Uptime (ms) of the last pause, if any.
    pub last_pause_ms: Option<u64>,
    /// Uptime (ms) of the last resume, if any.
    pub last_resume_ms: Option<u64>,
    /// Paused-too-long alerts fired.
    pub paused_alerts: u64,
    /// `try_ingest` calls refused with `Backpressure` while the gate was paused (handed back,
    /// not counted as detected).
    pub gate_refusals: u64,
    /// Detection-to-delivery latency.
    pub latency_ns: LatencySummary,
    /// Age of candidates when the batcher took them from the ring.
    pub age_at_dequeue_ns: LatencySummary,
    /// Time since the engine started.
    pub uptime_ms: u64,
    /// `tx_malformed` by reason ([`Malformed::as_str`] names, every reason listed), for the inputs
    /// whose feeds decode real formats.
    #[serde(default)]
    pub tx_malformed_by_reason: BTreeMap<String, u64>,
    /// Launches dropped because another feed delivered them first (not in `candidates_detected`).
    #[serde(default)]
    pub duplicates_dropped: u64,
    /// Launches the dedup table had no room to track (delivered, possibly twice).
    #[serde(default)]
    pub dedup_untracked: u64,
    /// Fresh dedup entries evicted to make room: a late copy of one of them is delivered again.
    #[serde(default)]
    pub dedup_evicted_fresh: u64,
    /// Per feed: connection health, messages, wins, duplicates, win share and lead time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feeds: Vec<FeedSnapshot>,
    /// Cumulative counts of `latency_ns` at the fixed bounds of [`LATENCY_BUCKETS_NS`] (what
    /// Prometheus' histogram needs; summaries cannot be aggregated across processes).
    #[serde(default)]
    pub latency_buckets: Vec<u64>,
    /// The same for `age_at_dequeue_ns`.
    #[serde(default)]
    pub age_at_dequeue_buckets: Vec<u64>,
    /// The aggregates sink's metrics, when one was joined to the engine (`sqlite` feature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sink: Option<SinkSnapshot>,
    /// The ClickHouse history writer's metrics, when one was attached
    /// ([`MetricsSource::attach_history`](crate::MetricsSource::attach_history)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistorySnapshot>,
    /// Candidates offered to an attached NATS publisher (0 without one). Publishing happens
    /// after delivery: the `publish_*` counters are outside the accounting invariant and keep
    /// their own (`publish_offered == published + publish_dropped + publish_failed +
    /// publish_pending`).
    #[serde(default)]
    pub publish_offered: u64,
    /// Acknowledged by the JetStream stream (duplicates included), or written to a core-NATS
    /// connection.
    #[serde(default)]
    pub published: u64,
    /// Acknowledged as duplicates: the stream already held that launch's message id.
    #[serde(default)]
    pub publish_duplicates: u64,
    /// Refused by the publisher's full queue (the bot was never blocked).
    #[serde(default)]
    pub publish_dropped: u64,
    /// Given up: refused by the stream for good, or unacknowledged at the shutdown deadline.
    #[serde(default)]
    pub publish_failed: u64,
    /// The part of `publish_failed` that a full stream refused (`nats_discard = "new"`).
    #[serde(default)]
    pub publish_stream_full: u64,
    /// Publishes sent again after a failure (timeout, server restart).
    #[serde(default)]
    pub publish_retries: u64,
    /// Offered and not yet published, dropped or failed (0 after the publisher shut down).
    #[serde(default)]
    pub publish_pending: u64,
}

impl MetricsSnapshot {
    /// Sum of every drop counter of the invariant.
    pub fn dropped_total(&self) -> u64 {
        self.dropped_full_buffer + self.dropped_oldest + self.dropped_stale + self.dropped_shutdown
    }

    /// True when the accounting invariant holds exactly for this snapshot.
    pub fn accounting_holds(&self) -> bool {
        self.candidates_detected == self.candidates_sent + self.dropped_total() + self.in_flight
            && self.candidates_sent == self.high_sent + self.low_sent
    }

    /// Copies a publisher's counters into the `publish_*` fields (what an attached publisher
    /// does at every snapshot; call it with the publisher's final snapshot after its shutdown).
    pub fn set_publish(&mut self, p: &PublishSnapshot) {
        self.publish_offered = p.offered;
        self.published = p.published;
        self.publish_duplicates = p.duplicates;
        self.publish_dropped = p.dropped;
        self.publish_failed = p.failed;
        self.publish_stream_full = p.stream_full;
        self.publish_retries = p.retries;
        self.publish_pending = p.pending;
    }

    /// The snapshot as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// One human-readable health line: throughput since `prev`, totals, drops, ring and pause state,
/// live feeds connected.
///
/// # Examples
///
/// ```
/// use sniffer::{MetricsSnapshot, metrics::health_line};
///
/// let mut prev = MetricsSnapshot::default();
/// (prev.uptime_ms, prev.candidates_sent) = (1_000, 100);
/// let mut cur = MetricsSnapshot::default();
/// (cur.uptime_ms, cur.candidates_sent) = (3_000, 700);
/// assert!(health_line(&prev, &cur).starts_with("health: 300/s sent;"));
/// ```
pub fn health_line(prev: &MetricsSnapshot, cur: &MetricsSnapshot) -> String {
    let secs = (cur.uptime_ms.saturating_sub(prev.uptime_ms) as f64 / 1000.0).max(1e-3);
    let rate = cur.candidates_sent.saturating_sub(prev.candidates_sent) as f64 / secs;
    let live = cur.feeds.iter().filter(|f| f.live).count();
    let up = cur.feeds.iter().filter(|f| f.live && f.connected).count();
    format!(
        "health: {rate:.0}/s sent; seen={} malformed={} detected={} sent={} (high={} low={}) \
         dropped[full={} oldest={} stale={} shutdown={}] duplicates={} \
         batches={} retries={} failures={} ring={}/{} paused={} live_feeds_up={up}/{live} p50={}ns p99={}ns",
        cur.tx_seen,
        cur.tx_malformed,
        cur.candidates_detected,
        cur.candidates_sent,
        cur.high_sent,
        cur.low_sent,
        cur.dropped_full_buffer,
        cur.dropped_oldest,
        cur.dropped_stale,
        cur.dropped_shutdown,
        cur.duplicates_dropped,
        cur.batches_sent,
        cur.send_retries,
        cur.send_failures,
        cur.stream_buffer_depth,
        cur.stream_buffer_capacity,
        cur.paused,
        cur.latency_ns.p50,
        cur.latency_ns.p99,
    )
}

/// The monotonic clock used for latency (re-exported so the senders read one clock).
#[inline]
pub(crate) fn now_ns() -> u64 {
    monotonic_ns()
}

#[cfg(test)]
mod health_tests {
    use super::*;

    #[test]
    fn the_health_line_names_every_field() {
        let prev = MetricsSnapshot {
            uptime_ms: 10_000,
            candidates_sent: 1_000,
            ..MetricsSnapshot::default()
        };
        let cur = MetricsSnapshot {
            uptime_ms: 12_000,
            tx_seen: 9_000,
            tx_malformed: 7,
            candidates_detected: 3_010,
            candidates_sent: 3_000,
            high_sent: 600,
            low_sent: 2_400,
            dropped_full_buffer: 4,
            dropped_oldest: 3,
            dropped_stale: 2,
            dropped_shutdown: 1,
            duplicates_dropped: 11,
            batches_sent: 30,
            send_retries: 5,
            send_failures: 4,
            stream_buffer_depth: 12,
            stream_buffer_capacity: 2048,
            latency_ns: LatencySummary {
                p50: 700,
                p99: 9_000,
                ..LatencySummary::default()
            },
            feeds: vec![
                FeedSnapshot {
                    live: true,
                    connected: true,
                    ..FeedSnapshot::default()
                },
                FeedSnapshot {
                    live: true,
                    ..FeedSnapshot::default()
                },
                FeedSnapshot::default(),
            ],
            ..MetricsSnapshot::default()
        };
        assert_eq!(
            health_line(&prev, &cur),
            "health: 1000/s sent; seen=9000 malformed=7 detected=3010 sent=3000 (high=600 low=2400) \
             dropped[full=4 oldest=3 stale=2 shutdown=1] duplicates=11 batches=30 retries=5 \
             failures=4 ring=12/2048 paused=false live_feeds_up=1/2 p50=700ns p99=9000ns"
        );
    }
}
