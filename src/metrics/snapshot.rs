//! [`MetricsSnapshot`]: a point-in-time copy of every metric, the shape the JSON and Prometheus
//! renderings and the accounting invariant are read from, with its latency summaries and the
//! one-line health summary. `Metrics::snapshot` fills it; nothing here reads an atomic.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::{FeedSnapshot, HistorySnapshot, PublishSnapshot, SinkSnapshot};

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

/// How an engine hands candidates to the bot (the snapshot's `delivery`, Prometheus'
/// `sniffer_delivery_info{mode=..}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Through the output lanes to a [`CandidateReceiver`](crate::CandidateReceiver).
    #[default]
    Receiver,
    /// To a handler on the sending thread (the batcher, or a lane worker):
    /// [`SnifferBuilder::handler`](crate::SnifferBuilder::handler).
    Handler,
    /// To a handler called on the thread that ingests each candidate (a feed's thread, or the
    /// bot's for `IngestHandle`): [`SnifferBuilder::inline_handler`](crate::SnifferBuilder::inline_handler).
    Inline,
}

impl Delivery {
    /// The name in the JSON snapshot and the Prometheus label.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Receiver => "receiver",
            Delivery::Handler => "handler",
            Delivery::Inline => "inline",
        }
    }
}

/// Percentiles of a latency distribution (detection to delivery, age at dequeue, the sink's
/// flushes), in nanoseconds.
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
    /// Summarises a histogram (the sink's flush latency; the engine's distributions go through
    /// [`LatencyHistogram::summary`](super::LatencyHistogram::summary)).
    pub(crate) fn from_histogram(h: &Histogram<u64>) -> Self {
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
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sniffer::{PremintCandidate, Sniffer};
///
/// let engine = Sniffer::builder().build()?;
/// engine.ingest_handle().try_ingest(PremintCandidate::default())?;
/// let m = engine.shutdown(Duration::from_secs(1)).metrics;
/// assert!(m.accounting_holds());
/// assert_eq!((m.candidates_detected, m.candidates_sent, m.in_flight), (1, 1, 0));
/// assert!(m.to_json().contains("\"candidates_detected\": 1"));
/// assert!(m.to_prometheus().contains("\nsniffer_candidates_detected_total 1\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    /// How candidates reach the bot: `receiver`, `handler` or `inline`.
    #[serde(default)]
    pub delivery: Delivery,
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
    /// The accounting invariant over the figures above, evaluated when the snapshot was taken:
    /// `candidates_detected == candidates_sent + dropped_full_buffer + dropped_oldest +
    /// dropped_stale + dropped_shutdown + in_flight` and `candidates_sent == high_sent +
    /// low_sent` (see [`accounting_holds`](Self::accounting_holds)). Scripts and alerts read it
    /// here instead of re-adding the terms.
    #[serde(default)]
    pub accounting_holds: bool,
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
    /// `tx_malformed` by reason ([`Malformed::as_str`](crate::candidate::Malformed::as_str) names, every reason listed), for the inputs
    /// whose feeds decode real formats.
    #[serde(default)]
    pub tx_malformed_by_reason: BTreeMap<String, u64>,
    /// `candidates_detected` by launch kind ([`LaunchKind::as_str`] names, every kind listed);
    /// the values add up to `candidates_detected`.
    ///
    /// [`LaunchKind::as_str`]: crate::LaunchKind::as_str
    #[serde(default)]
    pub candidates_detected_by_kind: BTreeMap<String, u64>,
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
    /// Candidates offered to an attached publisher, NATS or Kafka (0 without one). Publishing
    /// happens after delivery: the `publish_*` counters are outside the accounting invariant
    /// and keep their own (`publish_offered == published + publish_dropped + publish_failed +
    /// publish_pending`).
    #[serde(default)]
    pub publish_offered: u64,
    /// Acknowledged by the JetStream stream (duplicates included) or by Kafka (`acks=all`), or
    /// written to a core-NATS connection.
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

    /// True when the accounting invariant holds exactly for this snapshot's figures (computed
    /// from them; the `accounting_holds` field is the same verdict stored when it was taken).
    pub fn accounting_holds(&self) -> bool {
        self.candidates_detected == self.candidates_sent + self.dropped_total() + self.in_flight
            && self.candidates_sent == self.high_sent + self.low_sent
    }

    /// Stores the invariant's verdict in the `accounting_holds` field.
    pub(crate) fn with_accounting(mut self) -> Self {
        self.accounting_holds = self.accounting_holds();
        self
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
