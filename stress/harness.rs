//! The pieces every scenario uses: paced producers that time each ingest call, a consumer with a
//! per-batch delay, bounds that are checked and reported, and the process's resident memory.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;
use sniffer::{
    metrics::{LatencyHistogram, LatencySummary},
    CandidateReceiver, IngestError, IngestHandle, MetricsSnapshot, PremintCandidate, Priority,
    ShutdownReport, Sniffer, SnifferConfig,
};

/// Whether a bound is about correctness (always asserted) or timing (asserted unless in CI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BoundKind {
    Correctness,
    Timing,
}

/// One figure and the limit it is held to.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Bound {
    pub(crate) name: String,
    pub(crate) kind: BoundKind,
    pub(crate) value: f64,
    pub(crate) limit: String,
    pub(crate) pass: bool,
    /// How far off a failed bound is, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) miss: Option<String>,
}

impl Bound {
    pub(crate) fn at_most(name: &str, kind: BoundKind, value: f64, max: f64) -> Self {
        let pass = value <= max;
        Bound {
            name: name.into(),
            kind,
            value,
            limit: format!("<= {max}"),
            pass,
            miss: (!pass).then(|| {
                format!(
                    "{:.1}% over",
                    (value / max.max(f64::MIN_POSITIVE) - 1.0) * 100.0
                )
            }),
        }
    }

    pub(crate) fn at_least(name: &str, kind: BoundKind, value: f64, min: f64) -> Self {
        let pass = value >= min;
        Bound {
            name: name.into(),
            kind,
            value,
            limit: format!(">= {min}"),
            pass,
            miss: (!pass).then(|| format!("{:.1}% short", (1.0 - value / min) * 100.0)),
        }
    }

    pub(crate) fn holds(name: &str, kind: BoundKind, ok: bool, detail: String) -> Self {
        Bound {
            name: name.into(),
            kind,
            value: if ok { 1.0 } else { 0.0 },
            limit: "true".into(),
            pass: ok,
            miss: (!ok).then_some(detail),
        }
    }
}

/// How the producers offer load.
#[derive(Clone)]
pub(crate) struct Load {
    pub(crate) producers: u16,
    /// Per-producer rate as a function of elapsed time (candidates/s; 0 = flat out).
    pub(crate) rate: Arc<dyn Fn(Duration) -> u64 + Send + Sync>,
    pub(crate) duration: Duration,
    /// Stop each producer after this many candidates.
    pub(crate) per_producer: Option<u64>,
    /// Percentage of High candidates.
    pub(crate) high_pct: u64,
    /// Time every ingest call (two clock reads per candidate; only where the figure is needed).
    pub(crate) time_pushes: bool,
}

impl Load {
    pub(crate) fn constant(rate: u64, duration: Duration) -> Self {
        Load {
            producers: 1,
            rate: Arc::new(move |_| rate),
            duration,
            per_producer: None,
            high_pct: 20,
            time_pushes: false,
        }
    }
}

/// How the consumer reads.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Consumer {
    /// Sleep after each batch it takes.
    pub(crate) delay_per_batch: Option<Duration>,
    /// Keep every candidate (for ordering checks).
    pub(crate) collect: bool,
}

/// What one engine run produced.
#[derive(Debug)]
pub(crate) struct RunResult {
    pub(crate) label: String,
    pub(crate) offered: u64,
    pub(crate) accepted: u64,
    pub(crate) elapsed: Duration,
    pub(crate) report: ShutdownReport,
    pub(crate) push_ns: Histogram<u64>,
    pub(crate) received: Vec<PremintCandidate>,
    pub(crate) received_count: u64,
    pub(crate) max_depth: u64,
    pub(crate) samples: Vec<(Duration, u64)>,
    pub(crate) rss_kib: Vec<(Duration, u64)>,
}

impl RunResult {
    pub(crate) fn metrics(&self) -> &MetricsSnapshot {
        &self.report.metrics
    }

    /// The run's detection-to-delivery histogram, as an HdrHistogram for the percentile file
    /// and the plot (the same buckets: the engine's values are re-recorded at their bucket).
    pub(crate) fn latency(&self) -> Histogram<u64> {
        hdr(&self.report.latency)
    }

    pub(crate) fn throughput(&self) -> f64 {
        self.metrics().candidates_sent as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The accounting invariant, `in_flight == 0`, and received == sent.
    pub(crate) fn accounting_bound(&self) -> Bound {
        let m = self.metrics();
        let ok =
            m.accounting_holds() && m.in_flight == 0 && self.received_count == m.candidates_sent;
        Bound::holds(
            &format!("{}: accounting exact", self.label),
            BoundKind::Correctness,
            ok,
            format!(
                "detected={} sent={} drops={} in_flight={} received={}",
                m.candidates_detected,
                m.candidates_sent,
                m.dropped_total(),
                m.in_flight,
                self.received_count
            ),
        )
    }

    /// No duplicate sequence number and FIFO per producer within each priority.
    pub(crate) fn ordering_bound(&self) -> Bound {
        let mut seen = HashSet::new();
        let mut last: HashMap<(u16, Priority), u64> = HashMap::new();
        let mut problem = None;
        for c in &self.received {
            if !seen.insert(c.seq) {
                problem.get_or_insert(format!("sequence {} delivered twice", c.seq));
            }
            if let Some(prev) = last.insert((c.feed_id, c.priority), c.slot) {
                if prev >= c.slot {
                    problem.get_or_insert(format!(
                        "producer {} {:?}: {} after {}",
                        c.feed_id, c.priority, c.slot, prev
                    ));
                }
            }
        }
        Bound::holds(
            &format!(
                "{}: no duplicates, FIFO per producer and priority",
                self.label
            ),
            BoundKind::Correctness,
            problem.is_none(),
            problem.unwrap_or_default(),
        )
    }
}

/// Resident set size of this process, in KiB (Linux; 0 elsewhere).
pub(crate) fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The topology every scenario uses. In sync and async mode the engine's batcher pins itself to
/// the first core and the bot's threads (producers, consumer) go to the last one, as a
/// latency-minded bot would do; a producer that wakes on the batcher's core would pre-empt it
/// (measured: p50 at 100k/s swung between ~1 µs and ~10 µs from run to run with unpinned
/// producers). In direct mode the engine has no thread: producers take the first core and the
/// consumer the last, as in the raw crossbeam baseline.
fn pin_bot_thread(direct: bool, consumer: bool) {
    let cores = sniffer::config::machine_cores();
    if cores.len() >= 2 {
        let core = if direct && !consumer {
            cores.first()
        } else {
            cores.last()
        };
        pin_to(core.copied());
    }
}

/// Pins the calling thread to `core` (no-op for `None`).
pub(crate) fn pin_to(core: Option<usize>) {
    if let Some(id) = core {
        core_affinity::set_for_current(core_affinity::CoreId { id });
    }
}

fn consume(
    rx: CandidateReceiver,
    c: Consumer,
    batch: usize,
    count: Arc<AtomicU64>,
) -> Vec<PremintCandidate> {
    let mut kept = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut n = 1;
        if c.collect {
            kept.push(first);
        }
        for item in rx.try_iter().take(batch - 1) {
            n += 1;
            if c.collect {
                kept.push(item);
            }
        }
        count.fetch_add(n, Ordering::Relaxed);
        if let Some(d) = c.delay_per_batch {
            std::thread::sleep(d);
        }
    }
    kept
}

fn produce(
    h: IngestHandle,
    id: u16,
    load: Load,
    stop: Arc<AtomicBool>,
    started: Instant,
) -> (u64, u64, Histogram<u64>) {
    let mut push_ns = new_histogram();
    let (mut offered, mut accepted) = (0u64, 0u64);
    let limit = load.per_producer.unwrap_or(u64::MAX);
    // Paced by integrating the (possibly changing) rate over time.
    let mut due = 0.0f64;
    let mut last = Instant::now();
    while offered < limit && !stop.load(Ordering::Relaxed) {
        // Flat out, the clock is read only every 1024 candidates (to honour the duration).
        let flat_out = due == f64::MAX;
        if !flat_out || offered % 1024 == 0 {
            let now = Instant::now();
            let elapsed = now - started;
            if elapsed >= load.duration {
                break;
            }
            let rate = (load.rate)(elapsed);
            if rate == 0 {
                due = f64::MAX;
            } else {
                due += (now - last).as_secs_f64() * rate as f64;
            }
            last = now;
            if (offered as f64) >= due {
                // Nothing due. Gaps shorter than a sleep (~80 us here) are waited out spinning
                // on the bot's core (pinned away from the batcher), so items leave on time
                // instead of in bursts; longer ones sleep, as a feed waiting on its socket would.
                if rate > 20_000 {
                    std::hint::spin_loop();
                } else {
                    std::thread::sleep(Duration::from_micros(50));
                }
                continue;
            }
        }
        let c = PremintCandidate {
            feed_id: id,
            slot: offered,
            priority: if offered % 100 < load.high_pct {
                Priority::High
            } else {
                Priority::Low
            },
            ..Default::default()
        };
        let r = if load.time_pushes {
            let t0 = Instant::now();
            let r = h.ingest(c);
            push_ns.saturating_record(t0.elapsed().as_nanos() as u64);
            r
        } else {
            h.ingest(c)
        };
        offered += 1;
        match r {
            Ok(()) => accepted += 1,
            Err(IngestError::Full(_) | IngestError::Stale(_)) => {}
            Err(_) => {
                // Handed back uncounted: not offered to the engine after all.
                offered -= 1;
                break;
            }
        }
    }
    (offered, accepted, push_ns)
}

/// Appends `LABEL: p50 (us)`, `LABEL: p99 (us)` and `LABEL: max (us)` of `h` (nanoseconds) to
/// a scenario's figures.
pub(crate) fn push_latency_us(figures: &mut Vec<(String, f64)>, label: &str, h: &Histogram<u64>) {
    for (q, v) in [("p50", 0.5), ("p99", 0.99)] {
        figures.push((
            format!("{label}: {q} (us)"),
            h.value_at_quantile(v) as f64 / 1e3,
        ));
    }
    figures.push((format!("{label}: max (us)"), h.max() as f64 / 1e3));
}

pub(crate) fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("constant bounds")
}

/// Runs one engine under `load` and `consumer`. With `shutdown_after`, the engine is shut down at
/// that point even if the producers are still pushing (mid-burst); otherwise after the load ends.
pub(crate) fn run(
    label: &str,
    cfg: SnifferConfig,
    load: Load,
    consumer: Consumer,
    shutdown_after: Option<Duration>,
) -> RunResult {
    let batch = cfg.batch_size;
    let timeout = cfg.graceful_shutdown_timeout;
    let mut engine = Sniffer::builder()
        .config(cfg)
        .build()
        .expect("valid scenario config");
    let rx = engine.take_receiver().expect("receiver");
    let direct = engine.send_mode() == sniffer::config::BatchSendMode::Direct;
    let count = Arc::new(AtomicU64::new(0));
    let consumer_thread = {
        let count = count.clone();
        std::thread::Builder::new()
            .name("stress-consumer".into())
            .spawn(move || {
                pin_bot_thread(direct, true);
                consume(rx, consumer, batch, count)
            })
            .expect("spawn consumer")
    };
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let producers: Vec<_> = (0..load.producers)
        .map(|id| {
            let (h, load, stop) = (engine.ingest_handle(), load.clone(), stop.clone());
            std::thread::Builder::new()
                .name(format!("stress-producer-{id}"))
                .spawn(move || {
                    pin_bot_thread(direct, false);
                    produce(h, id, load, stop, started)
                })
                .expect("spawn producer")
        })
        .collect();
    let watched = watch(&engine, load.duration, started, |elapsed| {
        producers.iter().all(|p| p.is_finished()) || shutdown_after.is_some_and(|t| elapsed >= t)
    });
    let report = engine.shutdown(timeout);
    stop.store(true, Ordering::Relaxed);
    let mut offered = 0;
    let mut accepted = 0;
    let mut push_ns = new_histogram();
    for p in producers {
        let (o, a, h) = p.join().expect("producer thread");
        offered += o;
        accepted += a;
        push_ns.add(&h).expect("same bounds");
    }
    let received = consumer_thread.join().expect("consumer thread");
    RunResult {
        label: label.into(),
        offered,
        accepted,
        elapsed: started.elapsed(),
        report,
        push_ns,
        received,
        received_count: count.load(Ordering::Relaxed),
        max_depth: watched.max_depth,
        samples: watched.depth,
        rss_kib: watched.rss,
    }
}

/// What [`watch`] saw while the load ran.
struct Watched {
    /// (elapsed, ring depth), at most [`MAX_DEPTH_SAMPLES`].
    depth: Vec<(Duration, u64)>,
    /// (elapsed, RSS in KiB): at the start, every 250 ms, and at the end.
    rss: Vec<(Duration, u64)>,
    max_depth: u64,
}

/// Samples the ring depth and the memory, on the calling thread, until `done(elapsed)`. Its buffers are
/// allocated and written once before the first RSS sample: grown while the load ran (24 bytes a
/// millisecond, 720 KB over 30 s), they were the whole RSS "growth" that overload_10x measured
/// (issue 14). A long run samples less often instead of growing. The fill value is not zero,
/// so that the pages are really written now (a zeroed allocation would only be mapped when
/// first used).
fn watch(
    engine: &Sniffer,
    duration: Duration,
    started: Instant,
    done: impl Fn(Duration) -> bool,
) -> Watched {
    let max_samples = MAX_DEPTH_SAMPLES;
    let sample_every = (duration / max_samples as u32).max(Duration::from_millis(1));
    let mut samples = vec![(Duration::MAX, u64::MAX); max_samples];
    samples.clear();
    let mut rss = vec![(Duration::MAX, u64::MAX); MAX_RSS_SAMPLES];
    rss.clear();
    rss.push((Duration::ZERO, rss_kib()));
    let mut next_rss = Duration::from_millis(250);
    let mut next_sample = Duration::ZERO;
    let mut max_depth = 0;
    loop {
        let elapsed = started.elapsed();
        if done(elapsed) {
            break;
        }
        let depth = engine.ring_len() as u64;
        max_depth = max_depth.max(depth);
        if elapsed >= next_sample && samples.len() < samples.capacity() {
            samples.push((elapsed, depth));
            next_sample = elapsed + sample_every;
        }
        if elapsed >= next_rss && rss.len() < rss.capacity() {
            rss.push((elapsed, rss_kib()));
            next_rss += Duration::from_millis(250);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    rss.push((started.elapsed(), rss_kib()));
    Watched {
        depth: samples,
        rss,
        max_depth,
    }
}

/// Ring-depth samples kept per run (1 ms apart, or further apart for long runs).
const MAX_DEPTH_SAMPLES: usize = 32_768;
/// RSS samples kept per run (250 ms apart).
const MAX_RSS_SAMPLES: usize = 4096;

/// Percentiles of a histogram, for the JSON report.
pub(crate) fn summary(h: &Histogram<u64>) -> LatencySummary {
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

/// An engine latency histogram as an HdrHistogram of the same bounds.
pub(crate) fn hdr(h: &LatencyHistogram) -> Histogram<u64> {
    let mut out = new_histogram();
    for (value, count) in h.iter_recorded() {
        out.saturating_record_n(value, count);
    }
    out
}
