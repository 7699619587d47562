//! [`MetricsSource`]: a cheap, cloneable handle that takes snapshots of a running engine from any
//! thread (the monitor, an HTTP listener, a bot's own reporter), and judges its health.
//!
//! It lives with the engine, which owns the queues: it reads their levels and hands them to
//! `metrics/`, which depends on nothing above it. It holds no sending side of anything: the end
//! of the bot's stream is the lanes' closed bit, so a source kept past shutdown (an HTTP server's)
//! never keeps a receiver waiting.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::backpressure::Gate;
use crate::candidate::monotonic_ns;
use crate::metrics::{HistoryStats, Levels, Metrics, MetricsSnapshot, PublishStats};
use crate::output::Lanes;
use crate::ring::StreamRing;
#[cfg(feature = "sqlite")]
use crate::sink::SinkStats;

/// The aggregates sink's metrics handle, or nothing without the `sqlite` feature.
#[cfg(feature = "sqlite")]
pub(crate) type SinkStatsOpt = SinkStats;
/// The aggregates sink's metrics handle, or nothing without the `sqlite` feature.
#[cfg(not(feature = "sqlite"))]
pub(crate) type SinkStatsOpt = std::convert::Infallible;

/// Takes snapshots of one engine; clone it freely, it outlives the engine's threads and never
/// keeps the engine's pipe alive.
#[derive(Clone)]
pub struct MetricsSource {
    pub(crate) metrics: Arc<Metrics>,
    /// The stream ring (`None` in direct mode).
    pub(crate) ring: Option<Arc<StreamRing>>,
    /// The bot's lanes (`None` with a handler).
    pub(crate) lanes: Option<Arc<Lanes>>,
    pub(crate) gate: Arc<Gate>,
    pub(crate) warn_pct: u8,
    /// The aggregates sink's metrics, when one was joined ([`SnifferBuilder::aggregates`]).
    ///
    /// [`SnifferBuilder::aggregates`]: crate::SnifferBuilder::aggregates
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))] // read only with the sink
    pub(crate) sink: Option<SinkStatsOpt>,
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
    /// The snapshot the verdict was made from.
    pub snapshot: MetricsSnapshot,
}

impl MetricsSource {
    /// Makes this engine's snapshots (JSON, Prometheus) carry a publisher's counters
    /// (`published`, `publish_dropped`, ...). One publisher per engine: returns false when
    /// another one is attached already.
    pub fn attach_publisher(&self, stats: &PublishStats) -> bool {
        self.metrics.publish.set(stats.0.clone()).is_ok()
    }

    /// Makes this engine's snapshots (JSON `history`, Prometheus `sniffer_history_*`) and
    /// `/health` carry a history writer's counters. One writer per engine: returns false when
    /// another one is attached already.
    pub fn attach_history(&self, stats: &HistoryStats) -> bool {
        self.metrics.history.set(stats.0.clone()).is_ok()
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
        let lane_issued = self
            .lanes
            .as_ref()
            .filter(|l| l.is_direct())
            .map(|l| l.issued());
        let issued = match (&self.ring, lane_issued) {
            (Some(r), _) => r.issued(),
            (None, Some([high, low])) => high + low,
            (None, None) => 0,
        };
        let levels = Levels {
            issued,
            lane_issued,
            depth,
            capacity,
            lane_depths,
            lane_capacity,
            paused_total_ns: self
                .gate
                .paused_total_ns(monotonic_ns(), &self.metrics.gate),
        };
        #[allow(unused_mut)] // the sink's metrics join only with the `sqlite` feature
        let mut s = self.metrics.snapshot(levels);
        #[cfg(feature = "sqlite")]
        {
            s.sink = self.sink.as_ref().map(SinkStats::snapshot);
        }
        s
    }

    /// Paused when the gate is paused; degraded when the ring or a lane is at or above the warn
    /// watermark, a live feed is disconnected, or a joined aggregates sink's input is past the
    /// warn level or its flushes are failing; healthy otherwise.
    pub fn health(&self) -> Health {
        let s = self.snapshot();
        let mut reasons = Vec::new();
        let warn = u64::from(self.warn_pct);
        if s.stream_buffer_depth * 100 >= warn * s.stream_buffer_capacity {
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
        Health {
            status,
            reasons,
            snapshot: s,
        }
    }
}
