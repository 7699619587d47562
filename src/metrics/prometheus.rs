//! The Prometheus text exposition (format 0.0.4) of a [`MetricsSnapshot`]: counters as
//! `sniffer_<name>_total`, gauges for levels and pause state, and the two latency distributions
//! as summaries with quantiles, `_sum` and `_count`. It is rendered from a snapshot, which reads
//! the same atomics as the JSON: no lock is added to the hot path.

use std::fmt::Write as _;

use super::{LatencySummary, MetricsSnapshot};

enum Kind {
    Counter,
    Gauge,
}

impl MetricsSnapshot {
    /// The snapshot in the Prometheus text format, with `# HELP` and `# TYPE` for every metric.
    ///
    /// # Examples
    ///
    /// ```
    /// let text = sniffer::MetricsSnapshot::default().to_prometheus();
    /// assert!(text.contains("# TYPE sniffer_candidates_sent_total counter"));
    /// ```
    pub fn to_prometheus(&self) -> String {
        use Kind::{Counter, Gauge};
        let s = self;
        let rows: [(&str, Kind, u64, &str); 36] = [
            (
                "tx_seen",
                Counter,
                s.tx_seen,
                "Transactions (input lines or messages) the feeds read.",
            ),
            (
                "tx_malformed",
                Counter,
                s.tx_malformed,
                "Inputs that could not be decoded.",
            ),
            (
                "candidates_detected",
                Counter,
                s.candidates_detected,
                "Candidates the engine took responsibility for.",
            ),
            (
                "candidates_sent",
                Counter,
                s.candidates_sent,
                "Candidates delivered to an output lane or handler.",
            ),
            (
                "high_sent",
                Counter,
                s.high_sent,
                "Candidates delivered on the High lane.",
            ),
            (
                "low_sent",
                Counter,
                s.low_sent,
                "Candidates delivered on the Low lane.",
            ),
            (
                "backpressure_events",
                Counter,
                s.backpressure_events,
                "Pushes that found the stream ring full.",
            ),
            (
                "dropped_full_buffer",
                Counter,
                s.dropped_full_buffer,
                "Dropped by drop_newest or after failed delivery.",
            ),
            (
                "dropped_oldest",
                Counter,
                s.dropped_oldest,
                "Evicted by drop_oldest.",
            ),
            (
                "dropped_stale",
                Counter,
                s.dropped_stale,
                "Dropped by the max_age or max_slot_lag bound.",
            ),
            (
                "dropped_shutdown",
                Counter,
                s.dropped_shutdown,
                "Abandoned at the shutdown deadline.",
            ),
            (
                "send_retries",
                Counter,
                s.send_retries,
                "Send attempts repeated because a lane was full.",
            ),
            (
                "send_failures",
                Counter,
                s.send_failures,
                "Deliveries that failed after the retries.",
            ),
            (
                "batches_sent",
                Counter,
                s.batches_sent,
                "Batches flushed by the batcher.",
            ),
            (
                "watermark_warn_events",
                Counter,
                s.watermark_warn_events,
                "Crossings of the warn watermark.",
            ),
            (
                "watermark_critical_events",
                Counter,
                s.watermark_critical_events,
                "Crossings of the critical watermark.",
            ),
            (
                "pause_count",
                Counter,
                s.pause_count,
                "Times the pull feeds were paused.",
            ),
            (
                "paused_alerts",
                Counter,
                s.paused_alerts,
                "Paused-too-long alerts fired.",
            ),
            (
                "gate_refusals",
                Counter,
                s.gate_refusals,
                "try_ingest calls refused while paused.",
            ),
            (
                "in_flight",
                Gauge,
                s.in_flight,
                "Candidates accepted but neither delivered nor dropped yet.",
            ),
            (
                "stream_buffer_depth",
                Gauge,
                s.stream_buffer_depth,
                "Candidates in the stream ring.",
            ),
            (
                "stream_buffer_capacity",
                Gauge,
                s.stream_buffer_capacity,
                "Slots of the stream ring.",
            ),
            (
                "high_lane_depth",
                Gauge,
                s.high_lane_depth,
                "Candidates waiting in the High lane.",
            ),
            (
                "low_lane_depth",
                Gauge,
                s.low_lane_depth,
                "Candidates waiting in the Low lane.",
            ),
            (
                "lane_capacity",
                Gauge,
                s.lane_capacity,
                "Capacity of each output lane.",
            ),
            (
                "paused",
                Gauge,
                u64::from(s.paused),
                "1 while the pull feeds are paused.",
            ),
            (
                "paused_ms",
                Counter,
                s.paused_total_ms,
                "Total time paused, in milliseconds.",
            ),
            (
                "publish_offered",
                Counter,
                s.publish_offered,
                "Candidates offered to the NATS publisher.",
            ),
            (
                "published",
                Counter,
                s.published,
                "Candidates acknowledged by the JetStream stream (duplicates included).",
            ),
            (
                "publish_duplicates",
                Counter,
                s.publish_duplicates,
                "Publishes the stream acknowledged as duplicates of a stored message id.",
            ),
            (
                "publish_dropped",
                Counter,
                s.publish_dropped,
                "Candidates refused by the publisher's full queue.",
            ),
            (
                "publish_failed",
                Counter,
                s.publish_failed,
                "Publishes given up (refused by the stream, or unacknowledged at shutdown).",
            ),
            (
                "publish_stream_full",
                Counter,
                s.publish_stream_full,
                "Publishes a full stream refused (part of publish_failed).",
            ),
            (
                "publish_retries",
                Counter,
                s.publish_retries,
                "Publishes sent again after a failure.",
            ),
            (
                "publish_pending",
                Gauge,
                s.publish_pending,
                "Candidates offered to the publisher and not settled yet.",
            ),
            (
                "uptime_ms",
                Gauge,
                s.uptime_ms,
                "Time since the engine started, in milliseconds.",
            ),
        ];
        let mut out = String::with_capacity(4096);
        for (name, kind, value, help) in rows {
            let (full, ty) = match kind {
                Counter => (format!("sniffer_{name}_total"), "counter"),
                Gauge => (format!("sniffer_{name}"), "gauge"),
            };
            let _ = writeln!(out, "# HELP {full} {help}");
            let _ = writeln!(out, "# TYPE {full} {ty}");
            let _ = writeln!(out, "{full} {value}");
        }
        summary(
            &mut out,
            "sniffer_latency_ns",
            "Detection-to-delivery latency in nanoseconds.",
            &s.latency_ns,
        );
        summary(
            &mut out,
            "sniffer_age_at_dequeue_ns",
            "Age of candidates when the batcher took them, in nanoseconds.",
            &s.age_at_dequeue_ns,
        );
        feeds(&mut out, &s.feeds);
        out
    }
}

/// A label value with `\`, `"` and newlines escaped, as the text format requires.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Per-feed series, labelled `feed` (the name, secrets removed) and `id` (its position).
fn feeds(out: &mut String, feeds: &[super::FeedSnapshot]) {
    if feeds.is_empty() {
        return;
    }
    type Get = fn(&super::FeedSnapshot) -> f64;
    let families: [(&str, &str, Get, &str); 16] = [
        (
            "sniffer_feed_messages_total",
            "counter",
            |f| f.messages as f64,
            "Messages (lines, frames, updates) a feed read.",
        ),
        (
            "sniffer_feed_bytes_total",
            "counter",
            |f| f.bytes as f64,
            "Bytes of the messages a feed read.",
        ),
        (
            "sniffer_feed_connects_total",
            "counter",
            |f| f.connects as f64,
            "Connections a live feed made.",
        ),
        (
            "sniffer_feed_reconnects_total",
            "counter",
            |f| f.reconnects as f64,
            "Connections after the first.",
        ),
        (
            "sniffer_feed_stalls_total",
            "counter",
            |f| f.stalls as f64,
            "Read-watchdog firings (silence or a missing pong).",
        ),
        (
            "sniffer_feed_refusals_total",
            "counter",
            |f| f.refusals as f64,
            "Connections the server refused (401/403/429, Unauthenticated).",
        ),
        (
            "sniffer_feed_reply_errors_total",
            "counter",
            |f| f.reply_errors as f64,
            "Error replies to the feed's requests.",
        ),
        (
            "sniffer_feed_unrouted_total",
            "counter",
            |f| f.unrouted as f64,
            "Notifications for unknown subscriptions.",
        ),
        (
            "sniffer_feed_resumed_skipped_total",
            "counter",
            |f| f.resumed_skipped as f64,
            "Transactions a resumed subscription replayed, skipped.",
        ),
        (
            "sniffer_feed_lost_total",
            "counter",
            |f| f.lost as f64,
            "Messages the transport dropped before the feed read them (a lower bound).",
        ),
        (
            "sniffer_feed_downtime_seconds_total",
            "counter",
            |f| f.downtime_ms as f64 / 1e3,
            "Time a live feed spent disconnected.",
        ),
        (
            "sniffer_feed_connected",
            "gauge",
            |f| f64::from(u8::from(f.connected)),
            "1 while a live feed is connected.",
        ),
        (
            "sniffer_feed_last_message_age_seconds",
            "gauge",
            |f| f.last_message_age_ms.map_or(f64::NAN, |ms| ms as f64 / 1e3),
            "Time since the feed's last message (NaN before the first).",
        ),
        (
            "sniffer_feed_wins_total",
            "counter",
            |f| f.wins as f64,
            "Launches this feed saw first.",
        ),
        (
            "sniffer_feed_duplicates_total",
            "counter",
            |f| f.duplicates as f64,
            "Launches this feed saw after another sighting.",
        ),
        (
            "sniffer_feed_win_share",
            "gauge",
            |f| f.win_share,
            "This feed's share of first sightings.",
        ),
    ];
    for (name, ty, get, help) in families {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {ty}");
        for f in feeds {
            let _ = writeln!(
                out,
                r#"{name}{{feed="{}",id="{}"}} {}"#,
                label(&f.name),
                f.id,
                get(f)
            );
        }
    }
    let name = "sniffer_feed_lead_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} How much earlier this feed saw the launches it won than the later copies."
    );
    let _ = writeln!(out, "# TYPE {name} summary");
    for f in feeds {
        let l = &f.lead_ns;
        let labels = format!(r#"feed="{}",id="{}""#, label(&f.name), f.id);
        for (q, v) in [("0.5", l.p50), ("0.99", l.p99), ("1", l.max)] {
            let _ = writeln!(
                out,
                r#"{name}{{{labels},quantile="{q}"}} {}"#,
                v as f64 / 1e9
            );
        }
        let _ = writeln!(
            out,
            "{name}_sum{{{labels}}} {}",
            (l.mean * l.count) as f64 / 1e9
        );
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", l.count);
    }
}

fn summary(out: &mut String, name: &str, help: &str, l: &LatencySummary) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} summary");
    for (q, v) in [
        ("0.5", l.p50),
        ("0.9", l.p90),
        ("0.99", l.p99),
        ("0.999", l.p999),
        ("1", l.max),
    ] {
        let _ = writeln!(out, r#"{name}{{quantile="{q}"}} {v}"#);
    }
    let _ = writeln!(
        out,
        "{name}_sum {}",
        (l.mean * l.count as f64).round() as u64
    );
    let _ = writeln!(out, "{name}_count {}", l.count);
}
