//! The Prometheus text exposition (format 0.0.4) of a [`MetricsSnapshot`], in base units and
//! aggregatable across bot processes:
//!
//! - `sniffer_build_info{version}` and `sniffer_delivery_info{mode}` (receiver, handler or
//!   inline), always 1;
//! - every counter of the snapshot as `sniffer_<name>_total`, every level as a gauge
//!   `sniffer_<name>`, times in seconds (`paused_total_ms` is `sniffer_paused_seconds_total`,
//!   `uptime_ms` is `sniffer_uptime_seconds`);
//! - the two latency distributions as histograms with fixed buckets
//!   (`sniffer_latency_seconds_bucket{le=..}`, from [`LATENCY_BUCKETS_NS`]), which sum across
//!   processes, and beside them the exact percentiles as summaries
//!   (`sniffer_latency_quantiles_seconds{quantile=..}`);
//! - `tx_malformed_by_reason` as `sniffer_tx_malformed_by_reason_total{reason=..}`, and
//!   `candidates_detected_by_kind` as `sniffer_candidates_detected_by_kind_total{kind=..}`;
//! - each feed's connection health and race figures labelled `feed` and `id`
//!   (`sniffer_feed_*`), a joined aggregates sink's metrics (`sniffer_sink_*`, its Redis write
//!   buffer's `sniffer_buffer_*`) and an attached history writer's (`sniffer_history_*`).
//!
//! It is rendered from a snapshot, which reads the same atomics as the JSON: no lock is added to
//! the hot path. Each family is a row of one of the tables below (name, type, help, value), and
//! the few renderers write them. `promtool check metrics` accepts it, and
//! `tests/golden/exposition.prom` holds the exact text of a fully populated snapshot (tested).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::SinkSnapshot;
use super::{FeedSnapshot, LatencySummary, MetricsSnapshot, LATENCY_BUCKETS_NS};

/// One series: its name, type, `# HELP` text and how its value is read from a `T`. Each table
/// below is written in its order; a new metric is one row in one of them.
type Row<T> = (&'static str, &'static str, &'static str, fn(&T) -> f64);

/// The engine's unlabelled series, written first.
const ENGINE: &[Row<MetricsSnapshot>] = &[
    (
        "sniffer_tx_seen_total",
        "counter",
        "Transactions (input lines or messages) the feeds read.",
        |s| s.tx_seen as f64,
    ),
    (
        "sniffer_tx_malformed_total",
        "counter",
        "Inputs that could not be decoded.",
        |s| s.tx_malformed as f64,
    ),
    (
        "sniffer_candidates_detected_total",
        "counter",
        "Candidates the engine took responsibility for.",
        |s| s.candidates_detected as f64,
    ),
    (
        "sniffer_candidates_sent_total",
        "counter",
        "Candidates delivered to the bot.",
        |s| s.candidates_sent as f64,
    ),
    (
        "sniffer_high_sent_total",
        "counter",
        "Candidates delivered on the High lane.",
        |s| s.high_sent as f64,
    ),
    (
        "sniffer_low_sent_total",
        "counter",
        "Candidates delivered on the Low lane.",
        |s| s.low_sent as f64,
    ),
    (
        "sniffer_backpressure_events_total",
        "counter",
        "Pushes that found a stage (ring or lane) full.",
        |s| s.backpressure_events as f64,
    ),
    (
        "sniffer_dropped_full_buffer_total",
        "counter",
        "Dropped by drop_newest, a live feed's block timeout, or failed delivery.",
        |s| s.dropped_full_buffer as f64,
    ),
    (
        "sniffer_dropped_oldest_total",
        "counter",
        "Evicted by drop_oldest (ring or lane).",
        |s| s.dropped_oldest as f64,
    ),
    (
        "sniffer_dropped_stale_total",
        "counter",
        "Dropped by max_age or max_slot_lag (enqueue, dequeue or receive).",
        |s| s.dropped_stale as f64,
    ),
    (
        "sniffer_dropped_shutdown_total",
        "counter",
        "Abandoned at the shutdown deadline.",
        |s| s.dropped_shutdown as f64,
    ),
    (
        "sniffer_send_retries_total",
        "counter",
        "Send attempts repeated because a lane was full.",
        |s| s.send_retries as f64,
    ),
    (
        "sniffer_send_failures_total",
        "counter",
        "Deliveries that failed (also in dropped_full_buffer).",
        |s| s.send_failures as f64,
    ),
    (
        "sniffer_batches_sent_total",
        "counter",
        "Batches flushed by the batcher.",
        |s| s.batches_sent as f64,
    ),
    (
        "sniffer_watermark_warn_events_total",
        "counter",
        "Warn watermark episodes (ring and lanes).",
        |s| s.watermark_warn_events as f64,
    ),
    (
        "sniffer_watermark_critical_events_total",
        "counter",
        "Critical watermark episodes (ring and lanes).",
        |s| s.watermark_critical_events as f64,
    ),
    (
        "sniffer_pause_count_total",
        "counter",
        "Times the pull feeds were paused.",
        |s| s.pause_count as f64,
    ),
    (
        "sniffer_paused_alerts_total",
        "counter",
        "Paused-too-long alerts fired.",
        |s| s.paused_alerts as f64,
    ),
    (
        "sniffer_gate_refusals_total",
        "counter",
        "try_ingest calls refused while paused (not counted as detected).",
        |s| s.gate_refusals as f64,
    ),
    (
        "sniffer_duplicates_dropped_total",
        "counter",
        "Launches already delivered from an earlier sighting (not detected again).",
        |s| s.duplicates_dropped as f64,
    ),
    (
        "sniffer_dedup_untracked_total",
        "counter",
        "Launches the dedup table had no room to track.",
        |s| s.dedup_untracked as f64,
    ),
    (
        "sniffer_dedup_evicted_fresh_total",
        "counter",
        "Fresh dedup entries evicted to make room.",
        |s| s.dedup_evicted_fresh as f64,
    ),
    (
        "sniffer_stream_buffer_depth",
        "gauge",
        "Candidates in the stream buffer now.",
        |s| s.stream_buffer_depth as f64,
    ),
    (
        "sniffer_stream_buffer_capacity",
        "gauge",
        "Slots of the stream buffer.",
        |s| s.stream_buffer_capacity as f64,
    ),
    (
        "sniffer_high_lane_depth",
        "gauge",
        "Candidates waiting in the High lane.",
        |s| s.high_lane_depth as f64,
    ),
    (
        "sniffer_low_lane_depth",
        "gauge",
        "Candidates waiting in the Low lane.",
        |s| s.low_lane_depth as f64,
    ),
    (
        "sniffer_lane_capacity",
        "gauge",
        "Capacity of each lane (0 with a handler).",
        |s| s.lane_capacity as f64,
    ),
    (
        "sniffer_in_flight",
        "gauge",
        "Accepted but neither delivered nor dropped yet.",
        |s| s.in_flight as f64,
    ),
    (
        "sniffer_accounting_holds",
        "gauge",
        "1 while detected == sent + dropped + in_flight and sent == high + low.",
        |s| f64::from(u8::from(s.accounting_holds)),
    ),
    (
        "sniffer_paused",
        "gauge",
        "1 while the pull feeds are paused.",
        |s| f64::from(u8::from(s.paused)),
    ),
    (
        "sniffer_paused_seconds_total",
        "counter",
        "Time spent paused, including a pause in progress.",
        |s| s.paused_total_ms as f64 / 1e3,
    ),
    (
        "sniffer_uptime_seconds",
        "gauge",
        "Time since the engine started.",
        |s| s.uptime_ms as f64 / 1e3,
    ),
];

/// Gauges written only once the engine has paused (or resumed): name, help, milliseconds.
type PauseRow = (
    &'static str,
    &'static str,
    fn(&MetricsSnapshot) -> Option<u64>,
);
const PAUSE_TIMES: &[PauseRow] = &[
    (
        "sniffer_last_pause_uptime_seconds",
        "Uptime of the last pause.",
        |s| s.last_pause_ms,
    ),
    (
        "sniffer_last_resume_uptime_seconds",
        "Uptime of the last resume.",
        |s| s.last_resume_ms,
    ),
];

/// The NATS publisher's series (zero when there is none).
const PUBLISH: &[Row<MetricsSnapshot>] = &[
    (
        "sniffer_publish_offered_total",
        "counter",
        "Candidates offered to the publisher (NATS or Kafka).",
        |s| s.publish_offered as f64,
    ),
    (
        "sniffer_published_total",
        "counter",
        "Acknowledged by the JetStream stream or every in-sync Kafka replica (or written to core NATS).",
        |s| s.published as f64,
    ),
    (
        "sniffer_publish_duplicates_total",
        "counter",
        "Acknowledged as duplicates (the stream held that message id).",
        |s| s.publish_duplicates as f64,
    ),
    (
        "sniffer_publish_dropped_total",
        "counter",
        "Refused by the publisher's full queue.",
        |s| s.publish_dropped as f64,
    ),
    (
        "sniffer_publish_failed_total",
        "counter",
        "Given up: refused for good or unacknowledged at shutdown.",
        |s| s.publish_failed as f64,
    ),
    (
        "sniffer_publish_stream_full_total",
        "counter",
        "Refused by a full stream.",
        |s| s.publish_stream_full as f64,
    ),
    (
        "sniffer_publish_retries_total",
        "counter",
        "Publishes sent again after a failure.",
        |s| s.publish_retries as f64,
    ),
    (
        "sniffer_publish_pending",
        "gauge",
        "Offered and not yet published, dropped or failed.",
        |s| s.publish_pending as f64,
    ),
];

/// Each feed's series, one sample per feed labelled `feed` and `id`.
const FEED: &[Row<FeedSnapshot>] = &[
    (
        "sniffer_feed_messages_total",
        "counter",
        "Messages (lines, frames, updates) a feed read.",
        |f| f.messages as f64,
    ),
    (
        "sniffer_feed_received_bytes_total",
        "counter",
        "Bytes of the messages a feed read.",
        |f| f.bytes as f64,
    ),
    (
        "sniffer_feed_connects_total",
        "counter",
        "Connections a live feed made.",
        |f| f.connects as f64,
    ),
    (
        "sniffer_feed_reconnects_total",
        "counter",
        "Connections after the first.",
        |f| f.reconnects as f64,
    ),
    (
        "sniffer_feed_stalls_total",
        "counter",
        "Read-watchdog firings (silence or a missing pong).",
        |f| f.stalls as f64,
    ),
    (
        "sniffer_feed_refusals_total",
        "counter",
        "Connections the server refused (401/403/429, Unauthenticated).",
        |f| f.refusals as f64,
    ),
    (
        "sniffer_feed_connect_failures_total",
        "counter",
        "Connection attempts that failed (refusals included).",
        |f| f.connect_failures as f64,
    ),
    (
        "sniffer_feed_reply_errors_total",
        "counter",
        "Error replies to the feed's requests.",
        |f| f.reply_errors as f64,
    ),
    (
        "sniffer_feed_unrouted_total",
        "counter",
        "Notifications for unknown subscriptions.",
        |f| f.unrouted as f64,
    ),
    (
        "sniffer_feed_resumed_skipped_total",
        "counter",
        "Transactions a resumed subscription replayed, skipped.",
        |f| f.resumed_skipped as f64,
    ),
    (
        "sniffer_feed_lost_total",
        "counter",
        "Messages the transport dropped before the feed read them (a lower bound).",
        |f| f.lost as f64,
    ),
    (
        "sniffer_feed_rebalances_total",
        "counter",
        "Times a consumer group revoked the feed's partitions (Kafka).",
        |f| f.rebalances as f64,
    ),
    (
        "sniffer_feed_downtime_seconds_total",
        "counter",
        "Time a live feed spent disconnected.",
        |f| f.downtime_ms as f64 / 1e3,
    ),
    (
        "sniffer_feed_connected",
        "gauge",
        "1 while a live feed is connected.",
        |f| f64::from(u8::from(f.connected)),
    ),
    (
        "sniffer_feed_live",
        "gauge",
        "1 for a live feed (never paused).",
        |f| f64::from(u8::from(f.live)),
    ),
    (
        "sniffer_feed_last_message_age_seconds",
        "gauge",
        "Time since the feed's last message (before the first: since the feed started).",
        |f| f.silent_ms as f64 / 1e3,
    ),
    (
        "sniffer_feed_wins_total",
        "counter",
        "Launches this feed saw first.",
        |f| f.wins as f64,
    ),
    (
        "sniffer_feed_duplicates_total",
        "counter",
        "Launches this feed saw after an earlier sighting.",
        |f| f.duplicates as f64,
    ),
    (
        "sniffer_feed_win_share",
        "gauge",
        "This feed's share of first sightings.",
        |f| f.win_share,
    ),
];

/// A joined aggregates sink's series.
const SINK: &[Row<SinkSnapshot>] = &[
    (
        "sniffer_sink_rows_written_total",
        "counter",
        "Rows upserted in committed transactions.",
        |k| k.rows_written as f64,
    ),
    (
        "sniffer_sink_batches_total",
        "counter",
        "Committed transactions.",
        |k| k.batches as f64,
    ),
    (
        "sniffer_sink_batch_failures_total",
        "counter",
        "Transactions rolled back.",
        |k| k.batch_failures as f64,
    ),
    (
        "sniffer_sink_busy_failures_total",
        "counter",
        "Transactions rolled back because the database was busy.",
        |k| k.busy_failures as f64,
    ),
    (
        "sniffer_sink_full_failures_total",
        "counter",
        "Transactions rolled back because the disk was full.",
        |k| k.full_failures as f64,
    ),
    (
        "sniffer_sink_retries_total",
        "counter",
        "Flush attempts that retried a failure.",
        |k| k.retries as f64,
    ),
    (
        "sniffer_sink_delta_flushes_total",
        "counter",
        "Delta flushes run.",
        |k| k.delta_flushes as f64,
    ),
    (
        "sniffer_sink_full_flushes_total",
        "counter",
        "Full flushes run.",
        |k| k.full_flushes as f64,
    ),
    (
        "sniffer_sink_pruned_mints_total",
        "counter",
        "Mints removed from memory by pruning.",
        |k| k.pruned_mints as f64,
    ),
    (
        "sniffer_sink_input_accepted_total",
        "counter",
        "Events queued by handles.",
        |k| k.input_accepted as f64,
    ),
    (
        "sniffer_sink_events_applied_total",
        "counter",
        "Events applied to the state.",
        |k| k.events_applied as f64,
    ),
    (
        "sniffer_sink_input_drops_total",
        "counter",
        "Events refused because the input was full.",
        |k| k.input_drops as f64,
    ),
    (
        "sniffer_sink_input_closed_total",
        "counter",
        "Events refused after shutdown.",
        |k| k.input_closed as f64,
    ),
    (
        "sniffer_sink_reloaded_mints_total",
        "counter",
        "Mints loaded back from the database.",
        |k| k.reloaded_mints as f64,
    ),
    (
        "sniffer_sink_reload_failures_total",
        "counter",
        "Failed look-ups of stored mints.",
        |k| k.reload_failures as f64,
    ),
    (
        "sniffer_sink_trade_duplicates_total",
        "counter",
        "Trades skipped as copies of one already applied.",
        |k| k.trade_duplicates as f64,
    ),
    (
        "sniffer_sink_launches_without_mint_total",
        "counter",
        "Launches applied without a row: no mint to aggregate under.",
        |k| k.launches_without_mint as f64,
    ),
    (
        "sniffer_sink_input_warn_events_total",
        "counter",
        "Input warn watermark episodes.",
        |k| k.input_warn_events as f64,
    ),
    (
        "sniffer_sink_input_critical_events_total",
        "counter",
        "Input critical watermark episodes.",
        |k| k.input_critical_events as f64,
    ),
    (
        "sniffer_sink_live_mints",
        "gauge",
        "Mints held in memory.",
        |k| k.live_mints as f64,
    ),
    (
        "sniffer_sink_touched_pending",
        "gauge",
        "Mints changed and not yet written.",
        |k| k.touched_pending as f64,
    ),
    (
        "sniffer_sink_input_pending",
        "gauge",
        "Events queued and not yet applied.",
        |k| k.input_pending as f64,
    ),
    (
        "sniffer_sink_input_depth",
        "gauge",
        "Events in the input when the sink last looked.",
        |k| k.input_depth as f64,
    ),
    (
        "sniffer_sink_input_capacity",
        "gauge",
        "Events the input holds.",
        |k| k.input_capacity as f64,
    ),
    (
        "sniffer_sink_failing",
        "gauge",
        "1 while a failed flush waits for its retry.",
        |k| f64::from(u8::from(k.failing)),
    ),
];

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

/// Every row of `rows` as one unlabelled sample read from `of`.
fn rows<T>(out: &mut String, rows: &[Row<T>], of: &T) {
    for (name, ty, help, get) in rows {
        single(out, name, ty, help, get(of));
    }
}

/// A counter family split by one label, one series per entry (none when empty).
fn labelled(
    out: &mut String,
    name: &str,
    help: &str,
    key: &str,
    values: &std::collections::BTreeMap<String, u64>,
) {
    if values.is_empty() {
        return;
    }
    family(out, name, "counter", help);
    for (value, n) in values {
        let _ = writeln!(out, r#"{name}{{{key}="{}"}} {n}"#, label(value));
    }
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

/// `{a,b}` of the label lists that are not empty; nothing when both are.
fn braced(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!("{{{a}}}"),
        (true, false) => format!("{{{b}}}"),
        (false, false) => format!("{{{a},{b}}}"),
    }
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
        let mut out = String::with_capacity(8192);
        family(
            &mut out,
            "sniffer_build_info",
            "gauge",
            "Always 1; the labels name the build.",
        );
        let _ = writeln!(
            out,
            r#"sniffer_build_info{{version="{}"}} 1"#,
            env!("CARGO_PKG_VERSION")
        );
        family(
            &mut out,
            "sniffer_delivery_info",
            "gauge",
            "Always 1; the label names how candidates reach the bot (receiver, handler, inline).",
        );
        let _ = writeln!(
            out,
            r#"sniffer_delivery_info{{mode="{}"}} 1"#,
            self.delivery.as_str()
        );
        rows(&mut out, ENGINE, self);
        for (name, help, get) in PAUSE_TIMES {
            if let Some(ms) = get(self) {
                single(&mut out, name, "gauge", help, ms as f64 / 1e3);
            }
        }
        histogram(
            &mut out,
            "sniffer_latency",
            "Detection-to-delivery latency.",
            &self.latency_ns,
            &self.latency_buckets,
        );
        histogram(
            &mut out,
            "sniffer_age_at_dequeue",
            "Age of candidates when the batcher took them.",
            &self.age_at_dequeue_ns,
            &self.age_at_dequeue_buckets,
        );
        labelled(
            &mut out,
            "sniffer_candidates_detected_by_kind_total",
            "Candidates the engine took responsibility for, by launch kind.",
            "kind",
            &self.candidates_detected_by_kind,
        );
        malformed_by_reason(&mut out, &self.tx_malformed_by_reason);
        rows(&mut out, PUBLISH, self);
        feeds(&mut out, &self.feeds);
        if let Some(k) = &self.sink {
            sink(&mut out, k);
            if let Some(b) = &k.buffer {
                from_table(&mut out, "sniffer_buffer_", b, BUFFER_SERIES);
            }
        }
        if let Some(h) = &self.history {
            from_table(&mut out, "sniffer_history_", h, HISTORY_SERIES);
        }
        out
    }
}

/// A histogram (fixed buckets, seconds) and the exact percentiles beside it as a summary.
fn histogram(out: &mut String, base: &str, help: &str, l: &LatencySummary, buckets: &[u64]) {
    let sum_ns = (l.mean * l.count as f64).round() as u64;
    let name = format!("{base}_seconds");
    family(out, &name, "histogram", help);
    for (le, n) in LATENCY_BUCKETS_NS.iter().zip(buckets) {
        let _ = writeln!(out, r#"{name}_bucket{{le="{}"}} {n}"#, num(secs(*le)));
    }
    let _ = writeln!(out, r#"{name}_bucket{{le="+Inf"}} {}"#, l.count);
    let _ = writeln!(out, "{name}_sum {}", num(secs(sum_ns)));
    let _ = writeln!(out, "{name}_count {}", l.count);
    let name = format!("{base}_quantiles_seconds");
    family(
        out,
        &name,
        "summary",
        &format!("{help} Exact percentiles of this process (not aggregatable)."),
    );
    let quantiles = [
        ("0.5", l.p50),
        ("0.9", l.p90),
        ("0.99", l.p99),
        ("0.999", l.p999),
        ("1", l.max),
    ];
    summary(out, &name, "", &quantiles, sum_ns, l.count);
}

/// A summary's samples (its family header written by the caller): the quantiles, the sum and
/// the count, each with `labels`; values in nanoseconds, written in seconds.
fn summary(
    out: &mut String,
    name: &str,
    labels: &str,
    quantiles: &[(&str, u64)],
    sum_ns: u64,
    count: u64,
) {
    for (q, v) in quantiles {
        let series = braced(labels, &format!(r#"quantile="{q}""#));
        let _ = writeln!(out, "{name}{series} {}", num(secs(*v)));
    }
    let series = braced(labels, "");
    let _ = writeln!(out, "{name}_sum{series} {}", num(secs(sum_ns)));
    let _ = writeln!(out, "{name}_count{series} {count}");
}

/// `tx_malformed_by_reason`, one sample per reason (nothing while it is empty).
fn malformed_by_reason(out: &mut String, reasons: &BTreeMap<String, u64>) {
    if reasons.is_empty() {
        return;
    }
    let name = "sniffer_tx_malformed_by_reason_total";
    let help = "Inputs that could not be decoded, by reason.";
    family(out, name, "counter", help);
    for (reason, n) in reasons {
        let _ = writeln!(out, r#"{name}{{reason="{}"}} {n}"#, label(reason));
    }
}

/// Per-feed series, labelled `feed` (the name, secrets removed) and `id` (its position).
fn feeds(out: &mut String, feeds: &[FeedSnapshot]) {
    if feeds.is_empty() {
        return;
    }
    let feed_labels = |f: &FeedSnapshot| format!(r#"feed="{}",id="{}""#, label(&f.name), f.id);
    for (name, ty, help, get) in FEED {
        family(out, name, ty, help);
        for f in feeds {
            let _ = writeln!(out, "{name}{{{}}} {}", feed_labels(f), num(get(f)));
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
        let quantiles = [("0.5", l.p50), ("0.99", l.p99), ("1", l.max)];
        let sum_ns = l.mean.saturating_mul(l.count);
        summary(out, name, &feed_labels(f), &quantiles, sum_ns, l.count);
    }
}

/// The aggregates sink's series (`sniffer_sink_*`).
fn sink(out: &mut String, k: &SinkSnapshot) {
    rows(out, SINK, k);
    let l = &k.flush_latency_ns;
    let name = "sniffer_sink_flush_duration_seconds";
    family(
        out,
        name,
        "summary",
        "Duration of the flushes that wrote something.",
    );
    let quantiles = [("0.5", l.p50), ("0.99", l.p99), ("1", l.max)];
    let sum_ns = (l.mean * l.count as f64).round() as u64;
    summary(out, name, "", &quantiles, sum_ns, l.count);
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
            candidates_detected_by_kind: [("launchlab".to_owned(), 3)].into(),
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
                "candidates_detected_by_kind" => "sniffer_candidates_detected_by_kind_total",
                "feeds" => "sniffer_feed_wins_total",
                "sink" => "sniffer_sink_rows_written_total",
                "history" => "sniffer_history_inserts_total",
                "published" => "sniffer_published_total",
                "delivery" => "sniffer_delivery_info",
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
                "last_message_age_ms" | "silent_ms" => {
                    "sniffer_feed_last_message_age_seconds".to_owned()
                }
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
