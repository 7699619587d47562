//! Engine metrics: cache-padded atomic counters, each written only by the stage that owns it, and
//! detection-to-delivery latency in hdrhistogram recorders (one per sending thread, merged when a
//! snapshot is taken). [`MetricsSnapshot`] serializes to the JSON names fixed in DESIGN.md.
//!
//! Counters use `Relaxed` increments: they are statistics, not synchronisation. A snapshot taken
//! while the engine runs reads downstream counters before upstream ones, so `in_flight` never goes
//! negative; after shutdown every thread has been joined and the snapshot is exact.
//! `prometheus.rs` renders a snapshot in the Prometheus text exposition format.

mod feeds;
mod prometheus;
mod publish;
mod source;

pub(crate) use feeds::FeedMetrics;
pub use feeds::{FeedSnapshot, FeedStats, LeadSummary};
pub(crate) use publish::PublishMetrics;
pub use publish::PublishSnapshot;
pub use source::{Health, HealthStatus, MetricsSource};

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use hdrhistogram::sync::{Recorder, SyncHistogram};
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::candidate::{monotonic_ns, Priority};
use crate::feed::decode::Malformed;

/// An HdrHistogram of latencies in nanoseconds.
pub type LatencyHistogram = Histogram<u64>;

/// Highest latency the histograms track (60 s, in ns); larger values are clamped to it.
const LATENCY_MAX_NS: u64 = 60_000_000_000;

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

    /// Adds one and returns the value before.
    #[inline]
    pub(crate) fn next(&self) -> u64 {
        self.0.fetch_add(1, Relaxed)
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
    /// Sequence numbers issued: every candidate that entered the ring's gate takes one. Its
    /// `fetch_add` is the sequence number and the detection count at once (one RMW per push).
    pub(crate) issued: Counter,
    /// Issued candidates handed back to the caller uncounted (`block` refusals and timeouts,
    /// shutdown). `candidates_detected = issued - handed_back`.
    pub(crate) handed_back: Counter,
    /// `drop_newest` rejections.
    pub(crate) dropped_full_buffer: Counter,
    pub(crate) dropped_oldest: Counter,
    /// Pushes that found the ring full.
    pub(crate) backpressure_events: Counter,
    /// Candidates a pull feed could not store because the engine was shutting down.
    pub(crate) dropped_shutdown: Counter,
    /// Candidates older than `max_age` or `max_slot_lag` at enqueue.
    pub(crate) dropped_stale: Counter,
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

/// Counters written by whoever sends one output lane (the batcher in sync mode, the lane's
/// worker in async mode; the engine thread after they were joined, at shutdown).
#[derive(Debug, Default)]
pub(crate) struct LaneMetrics {
    pub(crate) sent: Counter,
    pub(crate) retries: Counter,
    /// Candidates whose delivery failed after the retries (lane full, receiver gone, handler
    /// panicked): counted here and in `dropped_full_buffer` of the snapshot.
    pub(crate) failures: Counter,
    /// Candidates abandoned in this lane at the shutdown deadline.
    pub(crate) dropped_shutdown: Counter,
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
    pub(crate) gate: GateMetrics,
    /// One entry per pull feed, set once by the builder; each feed thread holds its own entry.
    pub(crate) feeds: OnceLock<Box<[Arc<FeedMetrics>]>>,
    /// The counters of a publisher attached to this engine (set once; the publisher writes
    /// them, this only reads them: it never keeps the publisher's thread alive).
    pub(crate) publish: OnceLock<Arc<PublishMetrics>>,
    latency: Mutex<SyncHistogram<u64>>,
    /// Age of candidates when the batcher takes them from the ring.
    age: Mutex<SyncHistogram<u64>>,
    started: Instant,
    started_ns: u64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            ingest: IngestMetrics::default(),
            batch: BatchMetrics::default(),
            lanes: Default::default(),
            gate: GateMetrics::default(),
            feeds: OnceLock::new(),
            publish: OnceLock::new(),
            latency: Mutex::new(new_histogram().into()),
            age: Mutex::new(new_histogram().into()),
            started: Instant::now(),
            started_ns: monotonic_ns(),
        }
    }
}

/// What a snapshot needs from outside the counters: the queues' levels and the gate's clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Levels {
    pub(crate) depth: usize,
    pub(crate) capacity: usize,
    pub(crate) lane_depths: [usize; 2],
    pub(crate) lane_capacity: usize,
    /// Time paused so far, including a pause in progress.
    pub(crate) paused_total_ns: u64,
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_MAX_NS, 3).expect("constant histogram bounds are valid")
}

/// A sending thread's latency recorder: wait-free on `record`, merged into the engine's
/// histogram at snapshot time.
#[derive(Debug)]
pub(crate) struct LatencyRecorder(Recorder<u64>);

impl LatencyRecorder {
    /// Records the time from `detected_at_ns` to `now_ns`.
    #[inline]
    pub(crate) fn record_since(&mut self, detected_at_ns: u64, now_ns: u64) {
        let v = now_ns
            .saturating_sub(detected_at_ns)
            .clamp(1, LATENCY_MAX_NS);
        // In range by construction; a failure could only come from the bounds and is ignored.
        let _ = self.0.record(v);
    }
}

impl Metrics {
    pub(crate) fn recorder(&self) -> LatencyRecorder {
        LatencyRecorder(self.latency.lock().recorder())
    }

    /// A recorder for the age of candidates at dequeue (the batcher's).
    pub(crate) fn age_recorder(&self) -> LatencyRecorder {
        LatencyRecorder(self.age.lock().recorder())
    }

    /// A copy of the merged latency histogram (waits at most `refresh_wait` for the recorders).
    pub(crate) fn latency_histogram(&self, refresh_wait: Duration) -> Histogram<u64> {
        let mut h = self.latency.lock();
        h.refresh_timeout(refresh_wait);
        Histogram::clone(&h)
    }

    /// Reads every counter.
    pub(crate) fn snapshot(&self, levels: Levels, refresh_wait: Duration) -> MetricsSnapshot {
        let summarise = |h: &Mutex<SyncHistogram<u64>>| {
            let mut h = h.lock();
            h.refresh_timeout(refresh_wait);
            LatencySummary::from_histogram(&h)
        };
        let latency = summarise(&self.latency);
        let age = summarise(&self.age);
        // Downstream first, upstream last: a candidate is counted upstream before downstream.
        let [high, low] = &self.lanes;
        let high_sent = high.sent.get();
        let low_sent = low.sent.get();
        let send_failures = high.failures.get() + low.failures.get();
        let dropped_shutdown = high.dropped_shutdown.get()
            + low.dropped_shutdown.get()
            + self.batch.abandoned[0].get()
            + self.batch.abandoned[1].get()
            + self.ingest.dropped_shutdown.get();
        let dropped_stale = self.batch.dropped_stale.get() + self.ingest.dropped_stale.get();
        let dropped_oldest = self.ingest.dropped_oldest.get();
        let dropped_full_buffer = self.ingest.dropped_full_buffer.get() + send_failures;
        // `handed_back` before `issued`: a hand-back in between is then over-counted in flight,
        // never under-counted.
        let handed_back = self.ingest.handed_back.get();
        let candidates_detected = self.ingest.issued.get().saturating_sub(handed_back);
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
            backpressure_events: self.ingest.backpressure_events.get(),
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

/// A point-in-time copy of every metric, serializing to the names fixed in DESIGN.md.
///
/// The accounting invariant, exact after shutdown:
/// `candidates_detected == candidates_sent + dropped_full_buffer + dropped_oldest + dropped_stale
/// + dropped_shutdown + in_flight`.
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

/// One human-readable health line: throughput since `prev`, totals, drops, ring and pause state.
pub fn health_line(prev: &MetricsSnapshot, cur: &MetricsSnapshot) -> String {
    let secs = (cur.uptime_ms.saturating_sub(prev.uptime_ms) as f64 / 1000.0).max(1e-3);
    let rate = cur.candidates_sent.saturating_sub(prev.candidates_sent) as f64 / secs;
    format!(
        "health: {rate:.0}/s sent; detected={} sent={} (high={} low={}) dropped[full={} oldest={} stale={} shutdown={}] \
         batches={} retries={} failures={} ring={}/{} paused={} p50={}ns p99={}ns",
        cur.candidates_detected,
        cur.candidates_sent,
        cur.high_sent,
        cur.low_sent,
        cur.dropped_full_buffer,
        cur.dropped_oldest,
        cur.dropped_stale,
        cur.dropped_shutdown,
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
