//! [`MetricsSource`]: a cheap, cloneable handle that takes snapshots of a running engine from any
//! thread (the monitor, an HTTP listener, a bot's own reporter), and judges its health.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::{Levels, Metrics, MetricsSnapshot};
use crate::backpressure::Gate;
use crate::candidate::monotonic_ns;
use crate::output::Output;
use crate::ring::StreamRing;

/// Takes snapshots of one engine; clone it freely, it outlives the engine's threads.
#[derive(Clone)]
pub struct MetricsSource {
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) ring: Arc<StreamRing>,
    pub(crate) gate: Arc<Gate>,
    pub(crate) output: Output,
    pub(crate) lane_capacity: usize,
    pub(crate) warn_pct: u8,
}

impl fmt::Debug for MetricsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsSource")
            .field("ring", &self.ring)
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
    /// Reads every metric now, waiting at most 2 ms for latency recorders to hand in their data.
    pub fn snapshot(&self) -> MetricsSnapshot {
        self.snapshot_waiting(Duration::from_millis(2))
    }

    pub(crate) fn snapshot_waiting(&self, refresh_wait: Duration) -> MetricsSnapshot {
        let levels = Levels {
            depth: self.ring.len(),
            capacity: self.ring.capacity(),
            lane_depths: self.output.lane_depths(),
            lane_capacity: self.lane_capacity,
            paused_total_ns: self
                .gate
                .paused_total_ns(monotonic_ns(), &self.metrics.gate),
        };
        self.metrics.snapshot(levels, refresh_wait)
    }

    /// Paused when the gate is paused; degraded when the ring or a lane is at or above the warn
    /// watermark; healthy otherwise.
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
