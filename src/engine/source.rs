//! [`MetricsSource`]: a cheap, cloneable handle that takes snapshots of a running engine from any
//! thread (the monitor, an HTTP listener, a bot's own reporter), and judges its health.
//!
//! It lives with the engine, which owns the queues: it reads their levels and hands them to
//! `metrics/`, which depends on nothing above it. It holds no sending side of anything: the end
//! of the bot's stream is the lanes' closed bit, so a source kept past shutdown (an HTTP server's)
//! never keeps a receiver waiting.
//!
//! Outputs beyond the bot's channel (the aggregates sink, the NATS publisher) own and write their
//! counters; each hands out a read-only stats handle (`SinkStats`, `PublishStats`), and
//! [`Attached`] keeps one of each for the source to read into every snapshot. Both attach the same
//! way: through the builder (`SnifferBuilder::aggregates`, `SnifferBuilder::publisher`) or later
//! through the source (`MetricsSource::attach_sink`, `MetricsSource::attach_publisher`).

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::Serialize;

use crate::backpressure::Gate;
use crate::candidate::monotonic_ns;
use crate::metrics::{Delivery, HistoryStats, Levels, Metrics, MetricsSnapshot};
use crate::output::{InlineGates, Lanes};
#[cfg(feature = "nats")]
use crate::publish::PublishStats;
use crate::ring::StreamRing;
#[cfg(feature = "sqlite")]
use crate::sink::SinkStats;

/// The stats handles of the outputs attached to one engine, one of each kind at most. Each is
/// set once; the source only reads them.
#[derive(Debug, Default)]
pub(crate) struct Attached {
    #[cfg(feature = "sqlite")]
    sink: OnceLock<SinkStats>,
    #[cfg(feature = "nats")]
    publish: OnceLock<PublishStats>,
    history: OnceLock<HistoryStats>,
}

impl Attached {
    /// Attaches the aggregates sink's counters; false when one is attached already.
    #[cfg(feature = "sqlite")]
    pub(crate) fn sink(&self, stats: SinkStats) -> bool {
        self.sink.set(stats).is_ok()
    }

    /// The builder's attachment: a later call replaces an earlier one.
    #[cfg(feature = "sqlite")]
    pub(crate) fn replace_sink(&mut self, stats: SinkStats) {
        self.sink = OnceLock::from(stats);
    }

    /// The builder's attachment: a later call replaces an earlier one.
    #[cfg(feature = "nats")]
    pub(crate) fn replace_publisher(&mut self, stats: PublishStats) {
        self.publish = OnceLock::from(stats);
    }

    /// Attaches a publisher's counters; false when one is attached already.
    #[cfg(feature = "nats")]
    pub(crate) fn publisher(&self, stats: PublishStats) -> bool {
        self.publish.set(stats).is_ok()
    }

    /// Attaches a history writer's counters; false when one is attached already.
    pub(crate) fn history(&self, stats: HistoryStats) -> bool {
        self.history.set(stats).is_ok()
    }

    /// Copies the attached outputs' counters into `s`.
    fn fill(&self, s: &mut MetricsSnapshot) {
        s.history = self.history.get().map(HistoryStats::snapshot);
        #[cfg(feature = "sqlite")]
        {
            s.sink = self.sink.get().map(SinkStats::snapshot);
        }
        #[cfg(feature = "nats")]
        if let Some(p) = self.publish.get() {
            s.set_publish(&p.snapshot());
        }
    }
}

/// Takes snapshots of one engine; clone it freely, it outlives the engine's threads and never
/// keeps the engine's pipe alive.
///
/// # Examples
///
/// ```
/// use sniffer::{HealthStatus, PremintCandidate, Sniffer};
///
/// let engine = Sniffer::builder().build()?;
/// engine.ingest_handle().try_ingest(PremintCandidate::default())?;
/// let source = engine.metrics_source();
/// // A reporter thread of the bot's own: snapshots and health verdicts, no engine handle.
/// let health = std::thread::spawn(move || source.health()).join().unwrap();
/// assert_eq!(health.status, HealthStatus::Healthy);
/// assert_eq!(health.snapshot.candidates_detected, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct MetricsSource {
    pub(crate) metrics: Arc<Metrics>,
    /// The stream ring (`None` in direct mode).
    pub(crate) ring: Option<Arc<StreamRing>>,
    /// The bot's lanes (`None` with a handler or an inline handler).
    pub(crate) lanes: Option<Arc<Lanes>>,
    /// The inline handler's gates (inline delivery only; not the handler).
    pub(crate) inline: Option<Arc<InlineGates>>,
    pub(crate) delivery: Delivery,
    pub(crate) gate: Arc<Gate>,
    pub(crate) warn_pct: u8,
    /// The outputs' counters joined to this engine's snapshots.
    pub(crate) attached: Arc<Attached>,
}

impl fmt::Debug for MetricsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsSource")
            .field("ring", &self.ring)
            .field("lanes", &self.lanes)
            .finish_non_exhaustive()
    }
}

/// The engine's health as `/health` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Running, queues below their warn level.
    Healthy,
    /// Running, but a queue is at or above its warn level.
    Degraded,
    /// The backpressure gate has paused the pull feeds.
    Paused,
}

/// A health verdict with its reasons and the snapshot it was made from.
#[derive(Clone, Debug, Serialize)]
pub struct Health {
    /// The verdict.
    pub status: HealthStatus,
    /// Why it is not healthy (empty when healthy).
    pub reasons: Vec<String>,
    /// Whether this engine should get traffic (`/readyz`, and `/health`'s status code): false
    /// while no live feed is connected (when live feeds are configured), while the pull feeds
    /// have been paused past `paused_alert_after`, or while a store fails.
    pub ready: bool,
    /// Why it is not ready (empty when ready).
    pub not_ready: Vec<String>,
    /// The snapshot the verdict was made from.
    pub snapshot: MetricsSnapshot,
}

impl MetricsSource {
    /// Makes this engine's snapshots (JSON, Prometheus) carry a publisher's counters
    /// (`published`, `publish_dropped`, ...), as [`SnifferBuilder::publisher`] does at build
    /// time. One publisher per engine: returns false when another one is attached already.
    ///
    /// [`SnifferBuilder::publisher`]: crate::SnifferBuilder::publisher
    #[cfg(feature = "nats")]
    pub fn attach_publisher(&self, stats: &PublishStats) -> bool {
        self.attached.publisher(stats.clone())
    }

    /// Joins an aggregates sink's counters to this engine's snapshots, Prometheus and `/health`,
    /// as [`SnifferBuilder::aggregates`] does at build time. One sink per engine: returns false
    /// when another one is attached already.
    ///
    /// [`SnifferBuilder::aggregates`]: crate::SnifferBuilder::aggregates
    #[cfg(feature = "sqlite")]
    pub fn attach_sink(&self, stats: &SinkStats) -> bool {
        self.attached.sink(stats.clone())
    }

    /// Makes this engine's snapshots (JSON `history`, Prometheus `sniffer_history_*`) and
    /// `/health` carry a history writer's counters. One writer per engine: returns false when
    /// another one is attached already.
    pub fn attach_history(&self, stats: &HistoryStats) -> bool {
        self.attached.history(stats.clone())
    }

    /// Reads every metric now. Never waits for the engine's threads.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let lane_depths = self.lanes.as_ref().map_or([0, 0], |l| l.depths());
        let lane_capacity = self.lanes.as_ref().map_or(0, |l| l.capacity());
        // In direct mode the lanes are the only buffer: they are reported as the stream buffer too.
        let (depth, capacity) = match &self.ring {
            Some(r) => (r.len(), r.capacity()),
            None => (lane_depths[0] + lane_depths[1], 2 * lane_capacity),
        };
        let lane_issued = match (&self.lanes, &self.inline) {
            (Some(l), _) if l.is_direct() => Some(l.issued()),
            (_, Some(i)) => Some(i.issued()),
            _ => None,
        };
        let issued = match (&self.ring, lane_issued) {
            (Some(r), _) => r.issued(),
            (None, Some([high, low])) => high + low,
            (None, None) => 0,
        };
        let levels = Levels {
            issued,
            lane_issued,
            delivery: self.delivery,
            depth,
            capacity,
            lane_depths,
            lane_capacity,
            paused_total_ns: self.gate.paused_total_ns(monotonic_ns()),
        };
        let mut s = self.metrics.snapshot(levels);
        self.attached.fill(&mut s);
        s
    }

    /// Paused when the gate is paused; degraded when the ring or a lane is at or above the warn
    /// watermark, a live feed is disconnected, or a joined aggregates sink's input is past the
    /// warn level or its flushes are failing; healthy otherwise.
    pub fn health(&self) -> Health {
        let s = self.snapshot();
        let mut reasons = Vec::new();
        let warn = u64::from(self.warn_pct);
        // Inline delivery has no buffer at all (capacity 0): nothing to fill.
        if s.stream_buffer_capacity > 0
            && s.stream_buffer_depth * 100 >= warn * s.stream_buffer_capacity
        {
            reasons.push(format!(
                "stream ring at {}/{} (warn at {warn} %)",
                s.stream_buffer_depth, s.stream_buffer_capacity
            ));
        }
        for (name, depth) in [("high", s.high_lane_depth), ("low", s.low_lane_depth)] {
            if s.lane_capacity > 0 && depth * 100 >= warn * s.lane_capacity {
                reasons.push(format!(
                    "{name} lane at {depth}/{} (warn at {warn} %)",
                    s.lane_capacity
                ));
            }
        }
        for f in s.feeds.iter().filter(|f| f.live && !f.connected) {
            reasons.push(format!(
                "live feed {} disconnected ({} ms down in all)",
                f.name, f.downtime_ms
            ));
        }
        #[cfg(feature = "sqlite")]
        if let Some(k) = &s.sink {
            if k.input_capacity > 0 && k.input_depth * 100 >= warn * k.input_capacity {
                reasons.push(format!(
                    "aggregates sink input at {}/{} (warn at {warn} %)",
                    k.input_depth, k.input_capacity
                ));
            }
            if k.failing {
                reasons.push(format!(
                    "aggregates sink flushes failing ({} mints waiting)",
                    k.touched_pending
                ));
            }
        }
        if let Some(h) = &s.history {
            if h.queue_capacity > 0 && h.queue_depth * 100 >= warn * h.queue_capacity {
                reasons.push(format!(
                    "history queue at {}/{} (warn at {warn} %)",
                    h.queue_depth, h.queue_capacity
                ));
            }
            if h.failing {
                reasons.push(format!(
                    "history inserts failing ({} rows waiting)",
                    h.pending
                ));
            }
        }
        let status = if s.paused {
            reasons.insert(0, "pull feeds paused by backpressure".into());
            HealthStatus::Paused
        } else if reasons.is_empty() {
            HealthStatus::Healthy
        } else {
            HealthStatus::Degraded
        };
        let not_ready = self.not_ready(&s);
        Health {
            status,
            reasons,
            ready: not_ready.is_empty(),
            not_ready,
            snapshot: s,
        }
    }

    /// Why this engine should not get traffic now (see [`Health::ready`]).
    fn not_ready(&self, s: &MetricsSnapshot) -> Vec<String> {
        let mut why = Vec::new();
        let live = s.feeds.iter().filter(|f| f.live).count();
        if live > 0 && !s.feeds.iter().any(|f| f.live && f.connected) {
            why.push(format!("no live feed connected ({live} configured)"));
        }
        if let Some(d) = self.gate.paused_past_alert(monotonic_ns()) {
            why.push(format!(
                "pull feeds paused for {} s (past paused_alert_after)",
                d.as_secs()
            ));
        }
        #[cfg(feature = "sqlite")]
        if s.sink.as_ref().is_some_and(|k| k.failing) {
            why.push("aggregates sink flushes failing".into());
        }
        if s.history.as_ref().is_some_and(|h| h.failing) {
            why.push("history inserts failing".into());
        }
        why
    }
}
