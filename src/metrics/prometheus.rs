//! The Prometheus text exposition (format 0.0.4) of a [`MetricsSnapshot`], in base units and
//! aggregatable across bot processes:
//!
//! - every counter of the snapshot as `sniffer_<name>_total`, every level as a gauge
//!   `sniffer_<name>`, times in seconds (`paused_total_ms` is `sniffer_paused_seconds_total`,
//!   `uptime_ms` is `sniffer_uptime_seconds`);
//! - the two latency distributions as histograms with fixed buckets
//!   (`sniffer_latency_seconds_bucket{le=..}`, from [`LATENCY_BUCKETS_NS`]), which sum across
//!   processes, and beside them the exact percentiles as summaries
//!   (`sniffer_latency_quantiles_seconds{quantile=..}`);
//! - `tx_malformed_by_reason` as `sniffer_tx_malformed_by_reason_total{reason=..}`;
//! - each feed's connection health and race figures labelled `feed` and `id`
//!   (`sniffer_feed_*`), a joined aggregates sink's metrics (`sniffer_sink_*`, its Redis write
//!   buffer's `sniffer_buffer_*`) and an attached history writer's (`sniffer_history_*`).
//!
//! It is rendered from a snapshot, which reads the same atomics as the JSON: no lock is added to
//! the hot path. `promtool check metrics` accepts it (tested).

use std::fmt::Write as _;

use super::SinkSnapshot;
use super::{FeedSnapshot, LatencySummary, MetricsSnapshot, LATENCY_BUCKETS_NS};

/// Writes one family's `# HELP` and `# TYPE` lines.
fn family(out: &mut String, name: &str, ty: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {ty}");
}

/// One unlabelled sample with its family header.
fn single(out: &mut String, name: &str, ty: &str, help: &str, value: f64) {
    family(out, name, ty, help);
    let _ = writeln!(out, "{name} {}", num(value));
}

/// A number in the text format (`NaN`, `+Inf` spelled as Prometheus wants).
fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else {
        format!("{v}")
    }
}

/// A label value with `\`, `"` and newlines escaped, as the text format requires.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

impl MetricsSnapshot {
    /// The snapshot in the Prometheus text format, with `# HELP` and `# TYPE` for every family.
    ///
    /// # Examples
    ///
    /// ```
    /// let text = sniffer::MetricsSnapshot::default().to_prometheus();
    /// assert!(text.contains("# TYPE sniffer_candidates_sent_total counter"));
    /// assert!(text.contains("# TYPE sniffer_latency_seconds histogram"));
    /// ```
    pub fn to_prometheus(&self) -> String {
        let s = self;
        let mut out = String::with_capacity(8192);
        let counters: [(&str, u64, &str); 22] = [
            (
                "tx_seen",
                s.tx_seen,
                "Transactions (input lines or messages) the feeds read.",
            ),
            (
                "tx_malformed",
                s.tx_malformed,
                "Inputs that could not be decoded.",
            ),
            (
                "candidates_detected",
                s.candidates_detected,
                "Candidates the engine took responsibility for.",
            ),
            (
                "candidates_sent",
                s.candidates_sent,
                "Candidates delivered to the bot.",
            ),
            (
                "high_sent",
                s.high_sent,
                "Candidates delivered on the High lane.",
            ),
            (
                "low_sent",
                s.low_sent,
                "Candidates delivered on the Low lane.",
            ),
            (
                "backpressure_events",
                s.backpressure_events,
                "Pushes that found a stage (ring or lane) full.",
            ),
            (
                "dropped_full_buffer",
                s.dropped_full_buffer,
                "Dropped by drop_newest, a live feed's block timeout, or failed delivery.",
            ),
            (
                "dropped_oldest",
                s.dropped_oldest,
                "Evicted by drop_oldest (ring or lane).",
            ),
            (
                "dropped_stale",
                s.dropped_stale,
                "Dropped by max_age or max_slot_lag (enqueue, dequeue or receive).",
            ),
            (
                "dropped_shutdown",
                s.dropped_shutdown,
                "Abandoned at the shutdown deadline.",
            ),
            (
                "send_retries",
                s.send_retries,
                "Send attempts repeated because a lane was full.",
            ),
            (
                "send_failures",
                s.send_failures,
                "Deliveries that failed (also in dropped_full_buffer).",
            ),
            (
                "batches_sent",
                s.batches_sent,
                "Batches flushed by the batcher.",
            ),
            (
                "watermark_warn_events",
                s.watermark_warn_events,
                "Warn watermark episodes (ring and lanes).",
            ),
            (
                "watermark_critical_events",
                s.watermark_critical_events,
                "Critical watermark episodes (ring and lanes).",
            ),
            (
                "pause_count",
                s.pause_count,
                "Times the pull feeds were paused.",
            ),
            (
                "paused_alerts",
                s.paused_alerts,
                "Paused-too-long alerts fired.",
            ),
            (
                "gate_refusals",
                s.gate_refusals,
                "try_ingest calls refused while paused (not counted as detected).",
            ),
            (
                "duplicates_dropped",
                s.duplicates_dropped,
                "Launches already delivered from an earlier sighting (not detected again).",
            ),
            (
                "dedup_untracked",
                s.dedup_untracked,
                "Launches the dedup table had no room to track.",
            ),
            (
                "dedup_evicted_fresh",
                s.dedup_evicted_fresh,
                "Fresh dedup entries evicted to make room.",
            ),
        ];
        for (name, value, help) in counters {
            single(
                &mut out,
                &format!("sniffer_{name}_total"),
                "counter",
                help,
                value as f64,
            );
        }
        let gauges: [(&str, f64, &str); 7] = [
            (
                "stream_buffer_depth",
                s.stream_buffer_depth as f64,
                "Candidates in the stream buffer now.",
            ),
            (
                "stream_buffer_capacity",
                s.stream_buffer_capacity as f64,
                "Slots of the stream buffer.",
            ),
            (
                "high_lane_depth",
                s.high_lane_depth as f64,
                "Candidates waiting in the High lane.",
            ),
            (
                "low_lane_depth",
                s.low_lane_depth as f64,
                "Candidates waiting in the Low lane.",
            ),
            (
                "lane_capacity",
                s.lane_capacity as f64,
                "Capacity of each lane (0 with a handler).",
            ),
            (
                "in_flight",
                s.in_flight as f64,
                "Accepted but neither delivered nor dropped yet.",
            ),
            (
                "paused",
                f64::from(u8::from(s.paused)),
                "1 while the pull feeds are paused.",
            ),
        ];
        for (name, value, help) in gauges {
            single(&mut out, &format!("sniffer_{name}"), "gauge", help, value);
        }
        single(
            &mut out,
            "sniffer_paused_seconds_total",
            "counter",
            "Time spent paused, including a pause in progress.",
            s.paused_total_ms as f64 / 1e3,
        );
        single(
            &mut out,
            "sniffer_uptime_seconds",
            "gauge",
            "Time since the engine started.",
            s.uptime_ms as f64 / 1e3,
        );
        for (name, v, help) in [
            ("last_pause", s.last_pause_ms, "Uptime of the last pause."),
            (
                "last_resume",
                s.last_resume_ms,
                "Uptime of the last resume.",
            ),
        ] {
            if let Some(ms) = v {
                single(
                    &mut out,
                    &format!("sniffer_{name}_uptime_seconds"),
                    "gauge",
                    help,
                    ms as f64 / 1e3,
                );
            }
        }
        histogram(
            &mut out,
            "sniffer_latency",
            "Detection-to-delivery latency.",
            &s.latency_ns,
            &s.latency_buckets,
        );
        histogram(
            &mut out,
            "sniffer_age_at_dequeue",
            "Age of candidates when the batcher took them.",
            &s.age_at_dequeue_ns,
            &s.age_at_dequeue_buckets,
        );
        if !s.tx_malformed_by_reason.is_empty() {
            let name = "sniffer_tx_malformed_by_reason_total";
            family(
                &mut out,
                name,
                "counter",
                "Inputs that could not be decoded, by reason.",
            );
            for (reason, n) in &s.tx_malformed_by_reason {
                let _ = writeln!(out, r#"{name}{{reason="{}"}} {n}"#, label(reason));
            }
        }
        let publish: [(&str, &str, f64, &str); 8] = [
            (
                "sniffer_publish_offered_total",
                "counter",
                s.publish_offered as f64,
                "Candidates offered to the NATS publisher.",
            ),
            (
                "sniffer_published_total",
                "counter",
                s.published as f64,
                "Acknowledged by the JetStream stream (or written to core NATS).",
            ),
            (
                "sniffer_publish_duplicates_total",
                "counter",
                s.publish_duplicates as f64,
                "Acknowledged as duplicates (the stream held that message id).",
            ),
            (
                "sniffer_publish_dropped_total",
                "counter",
                s.publish_dropped as f64,
                "Refused by the publisher's full queue.",
            ),
            (
                "sniffer_publish_failed_total",
                "counter",
                s.publish_failed as f64,
                "Given up: refused for good or unacknowledged at shutdown.",
            ),
            (
                "sniffer_publish_stream_full_total",
                "counter",
                s.publish_stream_full as f64,
                "Refused by a full stream.",
            ),
            (
                "sniffer_publish_retries_total",
                "counter",
                s.publish_retries as f64,
                "Publishes sent again after a failure.",
            ),
            (
                "sniffer_publish_pending",
                "gauge",
                s.publish_pending as f64,
                "Offered and not yet published, dropped or failed.",
            ),
        ];
        for (name, ty, v, help) in publish {
            single(&mut out, name, ty, help, v);
        }
        feeds(&mut out, &s.feeds);
        if let Some(k) = &s.sink {
            sink(&mut out, k);
            if let Some(b) = &k.buffer {
                from_table(&mut out, "sniffer_buffer_", b, BUFFER_SERIES);
            }
        }
        if let Some(h) = &s.history {
            from_table(&mut out, "sniffer_history_", h, HISTORY_SERIES);
        }
        out
    }
}

/// A histogram (fixed buckets, seconds) and the exact percentiles beside it as a summary.
fn histogram(out: &mut String, base: &str, help: &str, l: &LatencySummary, buckets: &[u64]) {
    let sum = secs((l.mean * l.count as f64).round() as u64);
    let name = format!("{base}_seconds");
    family(out, &name, "histogram", help);
    for (le, n) in LATENCY_BUCKETS_NS.iter().zip(buckets) {
        let _ = writeln!(out, r#"{name}_bucket{{le="{}"}} {n}"#, num(secs(*le)));
    }
    let _ = writeln!(out, r#"{name}_bucket{{le="+Inf"}} {}"#, l.count);
    let _ = writeln!(out, "{name}_sum {}", num(sum));
    let _ = writeln!(out, "{name}_count {}", l.count);
    let name = format!("{base}_quantiles_seconds");
    family(
        out,
        &name,
        "summary",
        &format!("{help} Exact percentiles of this process (not aggregatable)."),
    );
    for (q, v) in [
        ("0.5", l.p50),
        ("0.9", l.p90),
        ("0.99", l.p99),
        ("0.999", l.p999),
        ("1", l.max),
    ] {
        let _ = writeln!(out, r#"{name}{{quantile="{q}"}} {}"#, num(secs(v)));
    }
    let _ = writeln!(out, "{name}_sum {}", num(sum));
    let _ = writeln!(out, "{name}_count {}", l.count);
}

/// Per-feed series, labelled `feed` (the name, secrets removed) and `id` (its position).
fn feeds(out: &mut String, feeds: &[FeedSnapshot]) {
    if feeds.is_empty() {
        return;
    }
    type Get = fn(&FeedSnapshot) -> f64;
    let families: [(&str, &str, Get, &str); 18] = [
        (
            "sniffer_feed_messages_total",
            "counter",
            |f| f.messages as f64,
            "Messages (lines, frames, updates) a feed read.",
        ),
        (
            "sniffer_feed_received_bytes_total",
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
            "sniffer_feed_connect_failures_total",
            "counter",
            |f| f.connect_failures as f64,
            "Connection attempts that failed (refusals included).",
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
            "sniffer_feed_live",
            "gauge",
            |f| f64::from(u8::from(f.live)),
            "1 for a live feed (never paused).",
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
            "Launches this feed saw after an earlier sighting.",
        ),
        (
            "sniffer_feed_win_share",
            "gauge",
            |f| f.win_share,
            "This feed's share of first sightings.",
        ),
    ];
    for (name, ty, get, help) in families {
        family(out, name, ty, help);
        for f in feeds {
            let _ = writeln!(
                out,
                r#"{name}{{feed="{}",id="{}"}} {}"#,
                label(&f.name),
                f.id,
                num(get(f))
            );
        }
    }
    let name = "sniffer_feed_lead_seconds";
    family(
        out,
        name,
        "summary",
        "How much earlier this feed saw the launches it won than the later copies.",
    );
    for f in feeds {
        let l = &f.lead_ns;
        let labels = format!(r#"feed="{}",id="{}""#, label(&f.name), f.id);
        for (q, v) in [("0.5", l.p50), ("0.99", l.p99), ("1", l.max)] {
            let _ = writeln!(out, r#"{name}{{{labels},quantile="{q}"}} {}"#, num(secs(v)));
        }
        let _ = writeln!(
            out,
            "{name}_sum{{{labels}}} {}",
            num(secs(l.mean.saturating_mul(l.count)))
        );
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", l.count);
    }
}

/// The aggregates sink's series (`sniffer_sink_*`).
fn sink(out: &mut String, k: &SinkSnapshot) {
    let counters: [(&str, u64, &str); 18] = [
        (
            "rows_written",
            k.rows_written,
            "Rows upserted in committed transactions.",
        ),
        ("batches", k.batches, "Committed transactions."),
        (
            "batch_failures",
            k.batch_failures,
            "Transactions rolled back.",
        ),
        (
            "busy_failures",
            k.busy_failures,
            "Transactions rolled back because the database was busy.",
        ),
        (
            "full_failures",
            k.full_failures,
            "Transactions rolled back because the disk was full.",
        ),
        (
            "retries",
            k.retries,
            "Flush attempts that retried a failure.",
        ),
        ("delta_flushes", k.delta_flushes, "Delta flushes run."),
        ("full_flushes", k.full_flushes, "Full flushes run."),
        (
            "pruned_mints",
            k.pruned_mints,
            "Mints removed from memory by pruning.",
        ),
        (
            "input_accepted",
            k.input_accepted,
            "Events queued by handles.",
        ),
        (
            "events_applied",
            k.events_applied,
            "Events applied to the state.",
        ),
        (
            "input_drops",
            k.input_drops,
            "Events refused because the input was full.",
        ),
        (
            "input_closed",
            k.input_closed,
            "Events refused after shutdown.",
        ),
        (
            "reloaded_mints",
            k.reloaded_mints,
            "Mints loaded back from the database.",
        ),
        (
            "reload_failures",
            k.reload_failures,
            "Failed look-ups of stored mints.",
        ),
        (
            "trade_duplicates",
            k.trade_duplicates,
            "Trades skipped as copies of one already applied.",
        ),
        (
            "input_warn_events",
            k.input_warn_events,
            "Input warn watermark episodes.",
        ),
        (
            "input_critical_events",
            k.input_critical_events,
            "Input critical watermark episodes.",
        ),
    ];
    for (name, v, help) in counters {
        single(
            out,
            &format!("sniffer_sink_{name}_total"),
            "counter",
            help,
            v as f64,
        );
    }
    let gauges: [(&str, f64, &str); 6] = [
        ("live_mints", k.live_mints as f64, "Mints held in memory."),
        (
            "touched_pending",
            k.touched_pending as f64,
            "Mints changed and not yet written.",
        ),
        (
            "input_pending",
            k.input_pending as f64,
            "Events queued and not yet applied.",
        ),
        (
            "input_depth",
            k.input_depth as f64,
            "Events in the input when the sink last looked.",
        ),
        (
            "input_capacity",
            k.input_capacity as f64,
            "Events the input holds.",
        ),
        (
            "failing",
            f64::from(u8::from(k.failing)),
            "1 while a failed flush waits for its retry.",
        ),
    ];
    for (name, v, help) in gauges {
        single(out, &format!("sniffer_sink_{name}"), "gauge", help, v);
    }
    let l = &k.flush_latency_ns;
    let name = "sniffer_sink_flush_duration_seconds";
    family(
        out,
        name,
        "summary",
        "Duration of the flushes that wrote something.",
    );
    for (q, v) in [("0.5", l.p50), ("0.99", l.p99), ("1", l.max)] {
        let _ = writeln!(out, r#"{name}{{quantile="{q}"}} {}"#, num(secs(v)));
    }
    let _ = writeln!(
        out,
        "{name}_sum {}",
        num(secs((l.mean * l.count as f64).round() as u64))
    );
    let _ = writeln!(out, "{name}_count {}", l.count);
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;

    /// Every field of the snapshot's JSON (and of its feeds and sink) has its series: adding a
    /// field without exporting it fails here.
    #[test]
    fn every_snapshot_field_is_exported() {
        let mut s = MetricsSnapshot {
            tx_malformed_by_reason: [("too_long".to_owned(), 2)].into(),
            feeds: vec![FeedSnapshot {
                name: "ws://h:1/…".into(),
                last_message_age_ms: Some(5),
                ..FeedSnapshot::default()
            }],
            sink: Some(SinkSnapshot::default()),
            last_pause_ms: Some(1),
            last_resume_ms: Some(2),
            ..MetricsSnapshot::default()
        };
        s.latency_buckets = vec![0; LATENCY_BUCKETS_NS.len()];
        s.age_at_dequeue_buckets = vec![0; LATENCY_BUCKETS_NS.len()];
        let text = s.to_prometheus();
        let has = |metric: &str| {
            text.lines()
                .any(|l| l.starts_with(&format!("# TYPE {metric} ")))
        };
        // Fields whose series carry another name (units, histograms, labels).
        let renamed = |field: &str| -> Option<&str> {
            Some(match field {
                "paused_total_ms" => "sniffer_paused_seconds_total",
                "uptime_ms" => "sniffer_uptime_seconds",
                "last_pause_ms" => "sniffer_last_pause_uptime_seconds",
                "last_resume_ms" => "sniffer_last_resume_uptime_seconds",
                "latency_ns" | "latency_buckets" => "sniffer_latency_seconds",
                "age_at_dequeue_ns" | "age_at_dequeue_buckets" => "sniffer_age_at_dequeue_seconds",
                "tx_malformed_by_reason" => "sniffer_tx_malformed_by_reason_total",
                "feeds" => "sniffer_feed_wins_total",
                "sink" => "sniffer_sink_rows_written_total",
                "history" => "sniffer_history_inserts_total",
                "published" => "sniffer_published_total",
                _ => return None,
            })
        };
        let json = serde_json::to_value(&s).unwrap();
        for field in json.as_object().unwrap().keys() {
            let want = renamed(field).map(str::to_owned).unwrap_or_else(|| {
                if has(&format!("sniffer_{field}_total")) {
                    format!("sniffer_{field}_total")
                } else {
                    format!("sniffer_{field}")
                }
            });
            assert!(has(&want), "{field} is not exported (looked for {want})");
        }
        let feed = serde_json::to_value(&s.feeds[0]).unwrap();
        for field in feed.as_object().unwrap().keys() {
            let want = match field.as_str() {
                "id" | "name" => continue,
                "bytes" => "sniffer_feed_received_bytes_total".to_owned(),
                "downtime_ms" => "sniffer_feed_downtime_seconds_total".to_owned(),
                "last_message_age_ms" => "sniffer_feed_last_message_age_seconds".to_owned(),
                "lead_ns" => "sniffer_feed_lead_seconds".to_owned(),
                f if has(&format!("sniffer_feed_{f}_total")) => format!("sniffer_feed_{f}_total"),
                f => format!("sniffer_feed_{f}"),
            };
            assert!(
                has(&want),
                "feed field {field} is not exported (looked for {want})"
            );
        }
        let sink = serde_json::to_value(s.sink.as_ref().unwrap()).unwrap();
        for field in sink.as_object().unwrap().keys() {
            let want = match field.as_str() {
                "flush_latency_ns" => "sniffer_sink_flush_duration_seconds".to_owned(),
                f if has(&format!("sniffer_sink_{f}_total")) => format!("sniffer_sink_{f}_total"),
                f => format!("sniffer_sink_{f}"),
            };
            assert!(
                has(&want),
                "sink field {field} is not exported (looked for {want})"
            );
        }
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_the_count() {
        let s = MetricsSnapshot {
            latency_ns: LatencySummary {
                count: 10,
                mean: 2_000.0,
                ..LatencySummary::default()
            },
            latency_buckets: vec![
                3, 7, 9, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10,
            ],
            ..MetricsSnapshot::default()
        };
        let text = s.to_prometheus();
        assert!(
            text.contains("sniffer_latency_seconds_bucket{le=\"0.000001\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("sniffer_latency_seconds_bucket{le=\"0.0000025\"} 7\n"));
        assert!(text.contains("sniffer_latency_seconds_bucket{le=\"1\"} 10\n"));
        assert!(text.contains("sniffer_latency_seconds_bucket{le=\"+Inf\"} 10\n"));
        assert!(text.contains("sniffer_latency_seconds_sum 0.00002\n"));
        assert!(text.contains("sniffer_latency_seconds_count 10\n"));
    }
}

/// A series of a table rendered by [`from_table`]: a field of the snapshot's JSON, whether it is
/// a counter (`<prefix><field>_total`) or a gauge (`<prefix><field>`; booleans as 0/1), its help.
type Series = (&'static str, bool, &'static str);

const BUFFER_SERIES: &[Series] = &[
    ("offered", true, "Events handed to the Redis write buffer."),
    (
        "acknowledged",
        true,
        "Events Redis acknowledged (crash-safe).",
    ),
    (
        "refused",
        true,
        "Events of mints beyond buffer_max_pending (memory only).",
    ),
    (
        "unprotected",
        true,
        "Events the store wrote before Redis acknowledged them.",
    ),
    (
        "unacknowledged",
        false,
        "Events waiting for a Redis round trip.",
    ),
    ("failures", true, "Failed Redis round trips."),
    (
        "reconnects",
        true,
        "Redis connections made after the first.",
    ),
    (
        "recovered_mints",
        true,
        "Pending mints of an earlier run written at start.",
    ),
    (
        "recovered_trades",
        true,
        "Trade marks among the recovered mints.",
    ),
    (
        "expired_mints",
        true,
        "Pending mints found expired at start (lost).",
    ),
    (
        "committed_mints",
        true,
        "Mints removed from the pending set after the store committed them.",
    ),
    (
        "early_flushes",
        true,
        "Flushes started by a pending set past 80 %.",
    ),
    (
        "warn_events",
        true,
        "Pending set warn episodes (80 %, re-armed below 40 %).",
    ),
    ("pending_mints", false, "Mints in the pending set."),
    ("max_pending", false, "buffer_max_pending."),
    (
        "connected",
        false,
        "1 unless the last Redis round trip failed.",
    ),
];

const HISTORY_SERIES: &[Series] = &[
    (
        "launches_offered",
        true,
        "Delivered launches queued for ClickHouse.",
    ),
    (
        "trades_offered",
        true,
        "Decoded trades queued for ClickHouse.",
    ),
    ("dropped", true, "History rows refused by the full queue."),
    ("closed", true, "History rows refused after shutdown."),
    (
        "launches_written",
        true,
        "Launch rows in acknowledged INSERTs.",
    ),
    (
        "trades_written",
        true,
        "Trade rows in acknowledged INSERTs.",
    ),
    (
        "trade_duplicates",
        true,
        "Trades skipped as copies of one already queued.",
    ),
    (
        "lost",
        true,
        "History rows not written by the shutdown deadline.",
    ),
    (
        "pending",
        false,
        "History rows accepted and not yet written.",
    ),
    ("inserts", true, "Acknowledged INSERT statements."),
    (
        "insert_failures",
        true,
        "Failed INSERT statements (each retried).",
    ),
    ("max_batch_rows", false, "Rows of the largest INSERT."),
    ("queue_depth", false, "Rows in the history queue."),
    ("queue_capacity", false, "Rows the history queue holds."),
    (
        "failing",
        false,
        "1 while a failed INSERT waits for its retry.",
    ),
];

/// One sample per table row, read from `snapshot`'s JSON by field name.
fn from_table(out: &mut String, prefix: &str, snapshot: &impl serde::Serialize, table: &[Series]) {
    let json = serde_json::to_value(snapshot).unwrap_or_default();
    for (field, counter, help) in table {
        let v = match &json[field] {
            serde_json::Value::Bool(b) => f64::from(u8::from(*b)),
            v => v.as_f64().unwrap_or(f64::NAN),
        };
        let (name, ty) = if *counter {
            (format!("{prefix}{field}_total"), "counter")
        } else {
            (format!("{prefix}{field}"), "gauge")
        };
        single(out, &name, ty, help, v);
    }
}

#[cfg(test)]
mod store_tests {
    use super::super::{BufferSnapshot, HistorySnapshot};
    use super::*;

    /// Every field of the buffer's and the history writer's snapshots has its series.
    #[test]
    fn every_buffer_and_history_field_is_exported() {
        let json_fields = |v: serde_json::Value| -> Vec<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        for (fields, table) in [
            (
                json_fields(serde_json::to_value(BufferSnapshot::default()).unwrap()),
                BUFFER_SERIES,
            ),
            (
                json_fields(serde_json::to_value(HistorySnapshot::default()).unwrap()),
                HISTORY_SERIES,
            ),
        ] {
            assert_eq!(fields.len(), table.len());
            for f in fields {
                assert!(
                    table.iter().any(|(name, ..)| *name == f),
                    "{f} is not exported"
                );
            }
        }
        let s = MetricsSnapshot {
            history: Some(HistorySnapshot {
                failing: true,
                inserts: 3,
                ..HistorySnapshot::default()
            }),
            ..MetricsSnapshot::default()
        };
        let text = s.to_prometheus();
        assert!(
            text.contains("\nsniffer_history_inserts_total 3\n"),
            "{text}"
        );
        assert!(text.contains("\nsniffer_history_failing 1\n"));
    }
}
