//! Engine metrics: every stage's counters in a struct of its own (`stages.rs`), handed to that
//! stage alone; each feed's counters behind its [`FeedStats`](crate::feed::FeedStats) handle
//! (`feeds.rs`); detection-to-delivery latency in per-thread HdrHistogram cells (`latency.rs`,
//! merged when a snapshot is taken). `Metrics` composes them and reads them all into a
//! [`MetricsSnapshot`](crate::MetricsSnapshot) (`snapshot.rs`), which serializes to the stable
//! JSON names listed in docs/ARCHITECTURE.md; `prometheus.rs` renders a snapshot in the
//! Prometheus text exposition format. The sink's and the publisher's snapshot shapes live here
//! (`sink.rs`, `publish.rs`) so that the engine's snapshot can carry them; their counters belong
//! to the sink and the publisher.
//!
//! Counters use `Relaxed` increments: they are statistics, not synchronisation. A snapshot taken
//! while the engine runs reads downstream counters before upstream ones, so `in_flight` never goes
//! negative; after shutdown every thread has been joined and the snapshot is exact.
//!
//! This module depends only downward: it reads the counters it owns and the queue levels handed
//! to it (`Levels`); the engine, which owns the ring, the lanes and the gate, assembles those
//! (`MetricsSource` lives there).

pub(crate) mod feeds;
mod latency;
mod process;
mod prometheus;
mod publish;
mod sink;
pub(crate) mod snapshot;
mod stages;
mod stores;

pub(crate) use feeds::FeedStats;
pub use feeds::{FeedSnapshot, LeadSummary};
pub use latency::LatencyHistogram;
pub(crate) use latency::{LatencyCells, LatencyRecorder};
pub use process::process_exposition;
pub use publish::PublishSnapshot;
pub use sink::SinkSnapshot;
pub(crate) use snapshot::MetricsSnapshot;
pub use snapshot::{health_line, Delivery, LatencySummary, LATENCY_BUCKETS_NS};
pub(crate) use stages::{
    BatchCounters, GateCounters, IngestCounters, OutputCounters, ReceiverCounters,
};
#[cfg(feature = "clickhouse")]
pub(crate) use stores::HistoryMetrics;
pub use stores::{BufferSnapshot, HistorySnapshot, HistoryStats};

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crossbeam_utils::CachePadded;

use crate::candidate::Malformed;
use crate::candidate::{monotonic_ns, LaunchKind, Priority};

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

/// Every metric of one engine: the stages' counters (each stage holds a clone of its own `Arc`
/// and writes it; this only reads them), the feeds' and the latency cells.
#[derive(Debug)]
pub(crate) struct Metrics {
    pub(crate) ingest: Arc<IngestCounters>,
    pub(crate) output: Arc<OutputCounters>,
    pub(crate) batch: Arc<BatchCounters>,
    pub(crate) receiver: Arc<ReceiverCounters>,
    pub(crate) gate: Arc<GateCounters>,
    /// One handle per pull feed, set once by the builder; each feed thread writes its own
    /// through its `FeedSink`.
    pub(crate) feeds: OnceLock<Arc<[FeedStats]>>,
    /// Detection to delivery: recorders held by the receiver or the handler's sending threads.
    pub(crate) latency: LatencyCells,
    /// Age of candidates when the batcher takes them from the ring: the batcher's recorder.
    pub(crate) age: LatencyCells,
    started: Instant,
    started_ns: u64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            ingest: Arc::default(),
            output: Arc::default(),
            batch: Arc::default(),
            receiver: Arc::default(),
            gate: Arc::default(),
            feeds: OnceLock::new(),
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
    /// Direct mode and inline delivery: each lane gate's issued count (the lanes' deliveries
    /// are derived from it).
    pub(crate) lane_issued: Option<[u64; 2]>,
    /// How candidates reach the bot.
    pub(crate) delivery: Delivery,
    pub(crate) depth: usize,
    pub(crate) capacity: usize,
    pub(crate) lane_depths: [usize; 2],
    pub(crate) lane_capacity: usize,
    /// Time paused so far, including a pause in progress.
    pub(crate) paused_total_ns: u64,
}

/// The accounting figures of one snapshot, read downstream first.
struct Flow {
    high_sent: u64,
    low_sent: u64,
    candidates_detected: u64,
    dropped_full_buffer: u64,
    dropped_oldest: u64,
    dropped_stale: u64,
    dropped_shutdown: u64,
    send_failures: u64,
    backpressure_events: u64,
}

impl Flow {
    fn in_flight(&self) -> u64 {
        self.candidates_detected.saturating_sub(
            self.high_sent
                + self.low_sent
                + self.dropped_full_buffer
                + self.dropped_oldest
                + self.dropped_stale
                + self.dropped_shutdown,
        )
    }
}

/// Both lanes' values of a per-lane counter.
fn per_lane(c: &[Counter; 2]) -> [u64; 2] {
    [c[0].get(), c[1].get()]
}

impl Metrics {
    /// A copy of the merged detection-to-delivery latency histogram.
    pub(crate) fn latency_histogram(&self) -> LatencyHistogram {
        self.latency.merged()
    }

    /// Reads every counter.
    pub(crate) fn snapshot(&self, levels: Levels) -> MetricsSnapshot {
        let (latency, age) = (self.latency.merged(), self.age.merged());
        let flow = self.flow(&levels);
        let (ing, gate) = (&self.ingest, &self.gate);
        let uptime_ms = |ns: u64| (ns != 0).then(|| ns.saturating_sub(self.started_ns) / 1_000_000);
        let send = &self.batch.lanes;
        MetricsSnapshot {
            tx_seen: ing.tx_seen.get(),
            tx_malformed: ing.tx_malformed.get(),
            candidates_detected: flow.candidates_detected,
            candidates_sent: flow.high_sent + flow.low_sent,
            delivery: levels.delivery,
            high_sent: flow.high_sent,
            low_sent: flow.low_sent,
            stream_buffer_depth: levels.depth as u64,
            stream_buffer_capacity: levels.capacity as u64,
            high_lane_depth: levels.lane_depths[Priority::High.lane()] as u64,
            low_lane_depth: levels.lane_depths[Priority::Low.lane()] as u64,
            lane_capacity: levels.lane_capacity as u64,
            backpressure_events: flow.backpressure_events,
            dropped_full_buffer: flow.dropped_full_buffer,
            dropped_oldest: flow.dropped_oldest,
            dropped_stale: flow.dropped_stale,
            dropped_shutdown: flow.dropped_shutdown,
            in_flight: flow.in_flight(),
            send_retries: send[0].retries.get() + send[1].retries.get(),
            send_failures: flow.send_failures,
            batches_sent: self.batch.batches_sent.get(),
            watermark_warn_events: gate.watermark_warn_events.get(),
            watermark_critical_events: gate.watermark_critical_events.get(),
            paused: gate.paused.load(Relaxed),
            pause_count: gate.pause_count.get(),
            paused_total_ms: levels.paused_total_ns / 1_000_000,
            last_pause_ms: uptime_ms(gate.last_pause_ns.get()),
            last_resume_ms: uptime_ms(gate.last_resume_ns.get()),
            paused_alerts: gate.paused_alerts.get(),
            gate_refusals: ing.gate_refusals.get(),
            latency_ns: latency.summary(),
            age_at_dequeue_ns: age.summary(),
            latency_buckets: latency.buckets(),
            age_at_dequeue_buckets: age.buckets(),
            sink: None,
            uptime_ms: self.started.elapsed().as_millis() as u64,
            candidates_detected_by_kind: LaunchKind::ALL
                .iter()
                .map(|k| {
                    let (i, h) = (
                        &self.ingest.issued_by_kind,
                        &self.ingest.handed_back_by_kind,
                    );
                    let n = i[*k as usize].get().saturating_sub(h[*k as usize].get());
                    (k.as_str().to_owned(), n)
                })
                .collect(),
            tx_malformed_by_reason: Malformed::ALL
                .iter()
                .zip(&ing.malformed_by_reason)
                .map(|(m, c)| (m.as_str().to_owned(), c.get()))
                .collect(),
            duplicates_dropped: ing.duplicates.get(),
            dedup_untracked: ing.dedup_untracked.get(),
            dedup_evicted_fresh: ing.dedup_evicted_fresh.get(),
            feeds: self.feed_snapshots(),
            ..MetricsSnapshot::default()
        }
        .with_accounting()
    }

    /// The accounting figures. Downstream first, upstream last: a candidate is counted upstream
    /// before downstream. Receiver first: what it skipped or discarded was delivered into the
    /// lane before.
    fn flow(&self, levels: &Levels) -> Flow {
        let rx = &self.receiver;
        let rx_stale = per_lane(&rx.stale);
        let rx_discarded = per_lane(&rx.discarded);
        let [high, low] = &self.output.lanes;
        let evicted = [high.evicted.get(), low.evicted.get()];
        let inline_failed = [high.failed.get(), low.failed.get()];
        let send = &self.batch.lanes;
        let ing = &self.ingest;
        let handed_back = per_lane(&ing.handed_back);
        let full = per_lane(&ing.dropped_full_buffer);
        let stale_in = per_lane(&ing.dropped_stale);
        // A lane's sent: delivered into it, less what left it without reaching the bot. In direct
        // mode every issued candidate that ingest did not refuse was delivered into its lane;
        // with inline delivery, handed to the handler (less the calls that panicked).
        let sent = |lane: usize| {
            let delivered = match levels.lane_issued {
                Some(issued) => {
                    issued[lane].saturating_sub(handed_back[lane] + full[lane] + stale_in[lane])
                }
                None => self.output.lanes[lane].delivered.get(),
            };
            delivered.saturating_sub(
                evicted[lane] + rx_stale[lane] + rx_discarded[lane] + inline_failed[lane],
            )
        };
        let (high_sent, low_sent) = (sent(0), sent(1));
        let send_failures = send[0].failures.get()
            + send[1].failures.get()
            + rx_discarded[0]
            + rx_discarded[1]
            + inline_failed[0]
            + inline_failed[1];
        let abandoned = per_lane(&self.batch.abandoned);
        let dropped_shutdown = send[0].dropped_shutdown.get()
            + send[1].dropped_shutdown.get()
            + abandoned[0]
            + abandoned[1]
            + ing.dropped_shutdown.get();
        let dropped_stale =
            rx_stale[0] + rx_stale[1] + self.batch.dropped_stale.get() + stale_in[0] + stale_in[1];
        let dropped_oldest = evicted[0] + evicted[1] + ing.dropped_oldest.get();
        let lost_live = ing.lost_live.get();
        let backpressure_events =
            high.backpressure.get() + low.backpressure.get() + ing.backpressure_events.get();
        let candidates_detected = (levels.issued + ing.lost_at_shutdown.get() + lost_live)
            .saturating_sub(handed_back[0] + handed_back[1]);
        Flow {
            high_sent,
            low_sent,
            candidates_detected,
            dropped_full_buffer: full[0] + full[1] + send_failures + lost_live,
            dropped_oldest,
            dropped_stale,
            dropped_shutdown,
            send_failures,
            backpressure_events,
        }
    }

    fn feed_snapshots(&self) -> Vec<FeedSnapshot> {
        let Some(feeds) = self.feeds.get() else {
            return Vec::new();
        };
        let total_wins: u64 = feeds.iter().map(FeedStats::wins).sum();
        let now = monotonic_ns();
        feeds
            .iter()
            .enumerate()
            .map(|(id, f)| f.snapshot_as(id as u16, total_wins, now))
            .collect()
    }
}
