//! The named scenarios. Each returns its runs and the bounds it holds them to; `smoke` shrinks
//! durations and sizes so that `make test` can run every scenario in a few seconds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sniffer::{config::BatchSendMode, DropPolicy, PremintCandidate, SnifferConfig};

use crate::harness::{new_histogram, rss_kib, run, Bound, BoundKind, Consumer, Load, RunResult};

/// What a scenario produced.
pub(crate) struct Outcome {
    pub(crate) runs: Vec<RunResult>,
    pub(crate) bounds: Vec<Bound>,
    /// Extra figures (name, value) that are not tied to one run.
    pub(crate) figures: Vec<(String, f64)>,
}

/// Every scenario `all` runs, in order (`soak` is separate), with what it measures in one line
/// (`--help` lists them).
pub(crate) const ALL: &[(&str, &str)] = &[
    (
        "backpressure",
        "a 20k/s producer against a consumer that sleeps 20 ms per batch, for each policy",
    ),
    (
        "async_ordering",
        "async mode, 5 producers: no duplicates, FIFO per producer within each priority",
    ),
    (
        "graceful_shutdown",
        "shut down mid-burst with a slow consumer: all delivered or an exact abandoned count",
    ),
    (
        "sustained",
        "10k/s and 1M/s with a consumer that keeps up: zero drops",
    ),
    (
        "overload_10x",
        "200k/s against a 20 ms consumer: exact accounting, RSS held after the warm-up",
    ),
    (
        "burst",
        "20k/s, a 10x burst, then back: how long until the ring drains",
    ),
    (
        "policy_delivery",
        "slow consumer: drop_oldest delivers at least 85 % of what block delivers",
    ),
    (
        "latency",
        "detection-to-delivery latency at 100k/s, default mode and wait strategy",
    ),
    (
        "sparse",
        "one launch a millisecond: one-way latency of the engine, a bare channel, a spin wait",
    ),
    (
        "max_throughput",
        "flat out: hop ratios against raw crossbeam, then the engine end to end in each mode",
    ),
    (
        "live_latency",
        "paced launches over a loopback WebSocket and a stdin-style pipe, write to receive",
    ),
    (
        "wire_to_bot",
        "WebSocket logs and jsonParsed, gRPC and ShredStream launches, server write to bot recv: ours, (a), (b), busy-poll",
    ),
    (
        "nats_latency",
        "publish to a second engine over loopback NATS (JetStream, core): latency, top rate",
    ),
];

pub(crate) fn run_scenario(name: &str, smoke: bool) -> Option<Outcome> {
    let scale = |full: Duration, short: Duration| if smoke { short } else { full };
    Some(match name {
        "backpressure" => backpressure(scale(Duration::from_secs(3), Duration::from_millis(400))),
        "async_ordering" => async_ordering(if smoke { 10_000 } else { 100_000 }),
        "graceful_shutdown" => graceful_shutdown(),
        "sustained" => sustained(scale(Duration::from_secs(2), Duration::from_millis(400))),
        "overload_10x" => overload(
            scale(Duration::from_secs(30), Duration::from_secs(1)),
            smoke,
        ),
        "burst" => burst(if smoke { 0.2 } else { 1.0 }),
        "policy_delivery" => {
            policy_delivery(scale(Duration::from_secs(2), Duration::from_millis(400)))
        }
        "latency" => latency(scale(Duration::from_secs(3), Duration::from_millis(400))),
        "sparse" => sparse(if smoke { 200 } else { 3000 }),
        "max_throughput" => max_throughput(if smoke { 200_000 } else { 2_000_000 }),
        "live_latency" => {
            crate::live::live_latency(scale(Duration::from_secs(2), Duration::from_millis(100)))
        }
        "wire_to_bot" => {
            let mut ws = crate::wire::wire_to_bot(smoke);
            let rpc = wire_to_bot_grpc(smoke);
            ws.runs.extend(rpc.runs);
            ws.bounds.extend(rpc.bounds);
            ws.figures.extend(rpc.figures);
            ws
        }
        "nats_latency" => crate::nats::nats_latency(
            scale(Duration::from_secs(2), Duration::from_millis(100)),
            if smoke { 2_000 } else { 100_000 },
        ),
        _ => return None,
    })
}

/// The gRPC and ShredStream rows of `wire_to_bot`.
fn wire_to_bot_grpc(smoke: bool) -> Outcome {
    let d = if smoke {
        Duration::from_millis(100)
    } else {
        Duration::from_secs(2)
    };
    crate::wire_grpc::wire_to_bot_grpc(d, if smoke { 20 } else { 200 })
}

/// The scenario's policy and mode on top of the defaults, with `SNIFFER_*` environment overrides
/// (e.g. `SNIFFER_WAIT_STRATEGY=spin`) so that variants can be compared without a rebuild.
fn cfg(policy: DropPolicy, mode: BatchSendMode) -> SnifferConfig {
    let base = SnifferConfig::load(None).unwrap_or_else(|e| {
        eprintln!("ignoring the SNIFFER_* environment: {e}");
        SnifferConfig::default()
    });
    SnifferConfig {
        drop_policy: policy,
        batch_send_mode: mode,
        ..base
    }
}

fn slow(delay_ms: u64) -> Consumer {
    Consumer {
        delay_per_batch: Some(Duration::from_millis(delay_ms)),
        collect: false,
    }
}

/// A producer at 20k/s against a consumer that sleeps 20 ms per batch, for each policy.
fn backpressure(d: Duration) -> Outcome {
    let mut runs = Vec::new();
    let mut bounds = Vec::new();
    for policy in DropPolicy::ALL {
        let r = run(
            &format!("backpressure/{policy}"),
            cfg(policy, BatchSendMode::Sync),
            Load {
                time_pushes: true,
                ..Load::constant(20_000, d)
            },
            slow(20),
            None,
        );
        bounds.push(r.accounting_bound());
        let m = r.metrics();
        if policy == DropPolicy::Block {
            bounds.push(Bound::at_most(
                &format!("{}: candidates dropped", r.label),
                BoundKind::Correctness,
                m.dropped_total() as f64,
                0.0,
            ));
        } else {
            bounds.push(Bound::at_most(
                &format!("{}: ingest p99.99 (ns), never blocks", r.label),
                BoundKind::Timing,
                r.push_ns.value_at_quantile(0.9999) as f64,
                100_000.0,
            ));
        }
        runs.push(r);
    }
    Outcome {
        runs,
        bounds,
        figures: Vec::new(),
    }
}

/// Async mode, 5 producers: no duplicates and FIFO per producer within each priority.
fn async_ordering(per_producer: u64) -> Outcome {
    let load = Load {
        producers: 5,
        per_producer: Some(per_producer),
        duration: Duration::from_secs(120),
        high_pct: 30,
        ..Load::constant(0, Duration::ZERO)
    };
    let r = run(
        "async_ordering/block",
        cfg(DropPolicy::Block, BatchSendMode::Async),
        load,
        Consumer {
            delay_per_batch: None,
            collect: true,
        },
        None,
    );
    let bounds = vec![
        r.accounting_bound(),
        r.ordering_bound(),
        Bound::at_least(
            &format!("{}: delivered", r.label),
            BoundKind::Correctness,
            r.metrics().candidates_sent as f64,
            (5 * per_producer) as f64,
        ),
    ];
    Outcome {
        runs: vec![r],
        bounds,
        figures: Vec::new(),
    }
}

/// Shut down mid-burst with a slow consumer: 100 % delivered or an exact abandoned count, in time.
fn graceful_shutdown() -> Outcome {
    let mut runs = Vec::new();
    let mut bounds = Vec::new();
    for mode in [BatchSendMode::Sync, BatchSendMode::Async] {
        let timeout = Duration::from_millis(500);
        let c = SnifferConfig {
            graceful_shutdown_timeout: timeout,
            output_lane_capacity: 256,
            ..cfg(DropPolicy::Block, mode)
        };
        let r = run(
            &format!("graceful_shutdown/{mode:?}").to_lowercase(),
            c,
            Load::constant(0, Duration::from_secs(60)),
            slow(5),
            Some(Duration::from_millis(300)),
        );
        let rep = &r.report;
        bounds.push(r.accounting_bound());
        let lanes = rep.delivered() + rep.abandoned() + rep.high.failed + rep.low.failed;
        bounds.push(Bound::holds(
            &format!("{}: delivered + abandoned == accepted", r.label),
            BoundKind::Correctness,
            lanes == r.accepted && rep.metrics.candidates_detected == r.accepted,
            format!(
                "lanes={lanes} accepted={} detected={}",
                r.accepted, rep.metrics.candidates_detected
            ),
        ));
        bounds.push(Bound::at_most(
            &format!("{}: shutdown time (ms), timeout 500 + 500 margin", r.label),
            BoundKind::Timing,
            rep.elapsed.as_secs_f64() * 1000.0,
            1000.0,
        ));
        runs.push(r);
    }
    Outcome {
        runs,
        bounds,
        figures: Vec::new(),
    }
}

/// 10k/s and 1M/s with a consumer that keeps up: zero drops. The ring holds the default 2048 at
/// 10k/s (200 ms of input) and 65,536 at 1M/s (65 ms): 2048 slots are only 2 ms at 1M/s, shorter
/// than the scheduling hiccups of a shared 2-core machine (measured: 0.16 % dropped with 2048).
fn sustained(d: Duration) -> Outcome {
    let mut runs = Vec::new();
    let mut bounds = Vec::new();
    for (rate, capacity, label) in [
        (10_000, 2048, "sustained/10k"),
        (1_000_000, 65_536, "sustained/1m"),
    ] {
        let c = SnifferConfig {
            stream_buffer_capacity: capacity,
            output_lane_capacity: capacity,
            ..cfg(DropPolicy::DropNewest, BatchSendMode::Sync)
        };
        let r = run(label, c, Load::constant(rate, d), Consumer::default(), None);
        bounds.push(r.accounting_bound());
        bounds.push(Bound::at_most(
            &format!("{label}: candidates dropped"),
            BoundKind::Timing,
            r.metrics().dropped_total() as f64,
            0.0,
        ));
        let offered_rate = r.offered as f64 / d.as_secs_f64();
        bounds.push(Bound::at_least(
            &format!("{label}: offered rate reached (/s)"),
            BoundKind::Timing,
            offered_rate,
            rate as f64 * 0.9,
        ));
        runs.push(r);
    }
    Outcome {
        runs,
        bounds,
        figures: Vec::new(),
    }
}

/// 200k/s against the 20 ms consumer: memory stays bounded and the accounting exact.
///
/// RSS is compared between the first sample after the warm-up (the first second, or the first
/// quarter of a short run: the queues, the latency histogram and the threads' stacks are touched
/// then) and the end. Measured here (issue 14): the 13.5-16 % growth that failed this bound was
/// the harness's own ring-depth sample vector growing during the run (24 bytes a millisecond);
/// with the sampler's buffers written before the warm-up sample it was 1.7, 1.7 and 2.5 %.
fn overload(d: Duration, smoke: bool) -> Outcome {
    let r = run(
        "overload_10x/drop_newest",
        cfg(DropPolicy::DropNewest, BatchSendMode::Sync),
        Load::constant(200_000, d),
        slow(20),
        None,
    );
    let (warm, end, growth) = rss_growth(&r.rss_kib, d);
    let bounds = vec![r.accounting_bound(), rss_bound(&r.label, growth, smoke)];
    let figures = vec![
        ("rss_warm_kib".into(), warm as f64),
        ("rss_end_kib".into(), end as f64),
        ("now_rss_kib".into(), rss_kib() as f64),
    ];
    Outcome {
        runs: vec![r],
        bounds,
        figures,
    }
}

/// RSS at the first sample after the warm-up, at the end, and the growth between them (%).
pub(crate) fn rss_growth(samples: &[(Duration, u64)], d: Duration) -> (u64, u64, f64) {
    let warm = samples
        .iter()
        .find(|(t, _)| *t >= (d / 4).min(Duration::from_secs(1)))
        .or(samples.first())
        .map(|x| x.1)
        .unwrap_or(0);
    let end = samples.last().map(|x| x.1).unwrap_or(0);
    let growth = if warm == 0 {
        0.0
    } else {
        (end as f64 / warm as f64 - 1.0) * 100.0
    };
    (warm, end, growth)
}

/// The overload's memory bound: at most 5 % growth after the warm-up, asserted in full runs
/// (a smoke run is too short for its warm-up to settle).
pub(crate) fn rss_bound(label: &str, growth: f64, smoke: bool) -> Bound {
    Bound::at_most(
        &format!("{label}: RSS growth (%) after warm-up"),
        if smoke {
            BoundKind::Timing
        } else {
            BoundKind::Correctness
        },
        growth,
        5.0,
    )
}

/// 20k/s, then a 10x burst for `unit` seconds, then back: how long until the ring drains.
fn burst(unit: f64) -> Outcome {
    let base = 20_000;
    let burst_start = Duration::from_secs_f64(unit);
    let burst_end = Duration::from_secs_f64(2.0 * unit);
    let load = Load {
        rate: Arc::new(move |t| {
            if t >= burst_start && t < burst_end {
                base * 10
            } else {
                base
            }
        }),
        ..Load::constant(base, Duration::from_secs_f64(4.0 * unit))
    };
    let c = SnifferConfig {
        stream_buffer_capacity: 65_536,
        ..cfg(DropPolicy::DropNewest, BatchSendMode::Sync)
    };
    // The consumer takes ~100k/s: the burst builds a backlog that must drain afterwards.
    let r = run(
        "burst/drop_newest",
        c,
        load,
        Consumer {
            delay_per_batch: Some(Duration::from_millis(1)),
            collect: false,
        },
        None,
    );
    let calm = (65_536 / 10) as u64;
    let recovered_at = r
        .samples
        .iter()
        .find(|(t, depth)| *t >= burst_end && *depth <= calm)
        .map(|(t, _)| *t - burst_end);
    let recovery_ms = recovered_at
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(f64::INFINITY);
    let bounds = vec![
        r.accounting_bound(),
        Bound::at_most(
            &format!("{}: recovery time (ms) to <10% depth", r.label),
            BoundKind::Timing,
            recovery_ms,
            1000.0,
        ),
    ];
    let figures = vec![
        ("recovery_ms".into(), recovery_ms),
        ("max_depth".into(), r.max_depth as f64),
    ];
    Outcome {
        runs: vec![r],
        bounds,
        figures,
    }
}

/// With a slow consumer, drop_oldest must deliver at least 85 % of what block delivers.
fn policy_delivery(d: Duration) -> Outcome {
    let mut runs = Vec::new();
    for policy in [DropPolicy::Block, DropPolicy::DropOldest] {
        runs.push(run(
            &format!("policy_delivery/{policy}"),
            cfg(policy, BatchSendMode::Sync),
            Load::constant(200_000, d),
            slow(1),
            None,
        ));
    }
    let block = runs[0].throughput();
    let oldest = runs[1].throughput();
    let mut bounds: Vec<Bound> = runs.iter().map(RunResult::accounting_bound).collect();
    bounds.push(Bound::at_least(
        "policy_delivery: drop_oldest / block delivered rate",
        BoundKind::Timing,
        oldest / block.max(1.0),
        0.85,
    ));
    Outcome {
        runs,
        bounds,
        figures: vec![
            ("block_per_s".into(), block),
            ("drop_oldest_per_s".into(), oldest),
        ],
    }
}

/// Detection-to-delivery latency at 100k/s with the default mode (direct) and wait strategy. (Sync
/// mode puts the producer on the bot's core, beside the batcher's: it measures the core sharing.)
fn latency(d: Duration) -> Outcome {
    let r = run(
        "latency/100k",
        cfg(DropPolicy::DropNewest, BatchSendMode::Direct),
        Load::constant(100_000, d),
        Consumer::default(),
        None,
    );
    let l = r.metrics().latency_ns;
    let bounds = vec![
        r.accounting_bound(),
        Bound::at_most(
            "latency/100k: p50 (ns)",
            BoundKind::Timing,
            l.p50 as f64,
            1_000.0,
        ),
        Bound::at_most(
            "latency/100k: p90 (ns)",
            BoundKind::Timing,
            l.p90 as f64,
            2_000.0,
        ),
        Bound::at_most(
            "latency/100k: p99 (ns)",
            BoundKind::Timing,
            l.p99 as f64,
            50_000.0,
        ),
    ];
    Outcome {
        runs: vec![r],
        bounds,
        figures: Vec::new(),
    }
}

/// What one flat-out hop moves candidates through (see `hop_rate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hop {
    RawCrossbeam,
    DirectRecv,
    DirectRecvBatch,
    SyncRecv,
}

/// Moves `n` stamped candidates (one clock read per 64, as a feed stamps what it reads) from a
/// producer on the first core to a consumer on the last through `hop`, with the same loops for
/// the baseline and the engine. Returns candidates per second and whether the engine's
/// accounting was exact (always true for the baseline).
fn hop_rate(hop: Hop, n: u64) -> (f64, bool) {
    use crate::harness::pin_to;
    use sniffer::{Priority, Sniffer};
    let cores = sniffer::config::machine_cores();
    let (first, last) = (cores.first().copied(), cores.last().copied());
    pin_to(last);
    let produce = move |send: &dyn Fn(PremintCandidate)| {
        pin_to(first);
        let mut stamp = sniffer::monotonic_ns();
        for i in 0..n {
            if i % 64 == 0 {
                stamp = sniffer::monotonic_ns();
            }
            send(PremintCandidate {
                seq: i,
                slot: i,
                detected_at_ns: stamp,
                priority: if i % 4 == 0 {
                    Priority::High
                } else {
                    Priority::Low
                },
                ..Default::default()
            });
        }
    };
    if hop == Hop::RawCrossbeam {
        let (tx, rx) = crossbeam_channel::bounded::<PremintCandidate>(2048);
        let start = Instant::now();
        let p = std::thread::spawn(move || produce(&|c| tx.send(c).expect("receiver alive")));
        for _ in 0..n {
            std::hint::black_box(rx.recv().expect("sender alive"));
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        p.join().expect("producer");
        return (rate, true);
    }
    let mode = if hop == Hop::SyncRecv {
        BatchSendMode::Sync
    } else {
        BatchSendMode::Direct
    };
    let mut engine = Sniffer::builder()
        .config(cfg(DropPolicy::Block, mode))
        .build()
        .expect("valid config");
    let rx = engine.take_receiver().expect("receiver");
    let h = engine.ingest_handle();
    let start = Instant::now();
    let p = std::thread::spawn(move || produce(&|c| h.ingest(c).expect("block accepts")));
    if hop == Hop::DirectRecvBatch {
        let mut buf = Vec::with_capacity(256);
        let mut got = 0;
        while got < n as usize {
            buf.clear();
            got += rx.recv_batch(&mut buf, 256).expect("engine running");
            std::hint::black_box(&buf);
        }
    } else {
        for _ in 0..n {
            std::hint::black_box(rx.recv().expect("engine running"));
        }
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    p.join().expect("producer");
    let m = engine.shutdown(Duration::from_secs(5)).metrics;
    (
        rate,
        m.accounting_holds() && m.in_flight == 0 && m.candidates_sent == n,
    )
}

/// Median and range of a few figures.
fn spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// Flat out. First the hop ratios: raw crossbeam one hop and the engine (direct mode with `recv`
/// and with `recv_batch`, sync mode) with the same record and the same producer and consumer
/// loops, interleaved over several rounds so that the shared machine's drift hits every case
/// alike; each round's ratio is taken within the round. Then the engine end to end through the
/// harness in direct, sync and async mode (accounting checked).
fn max_throughput(n: u64) -> Outcome {
    let rounds = if n > 1_000_000 { 5 } else { 1 };
    let hops = [
        Hop::RawCrossbeam,
        Hop::DirectRecv,
        Hop::DirectRecvBatch,
        Hop::SyncRecv,
    ];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); hops.len()];
    let mut exact = true;
    for _ in 0..rounds {
        for (i, hop) in hops.iter().enumerate() {
            let (rate, ok) = hop_rate(*hop, n / 2);
            rates[i].push(rate);
            exact &= ok;
        }
    }
    let ratio =
        |i: usize| -> Vec<f64> { rates[i].iter().zip(&rates[0]).map(|(e, r)| e / r).collect() };
    let (direct_ratio, direct_lo, direct_hi) = spread(ratio(1));
    let (batch_ratio, batch_lo, batch_hi) = spread(ratio(2));
    let (sync_ratio, _, _) = spread(ratio(3));
    let (raw, raw_lo, raw_hi) = spread(rates[0].clone());
    let mut runs = Vec::new();
    for mode in [
        BatchSendMode::Direct,
        BatchSendMode::Sync,
        BatchSendMode::Async,
    ] {
        let load = Load {
            per_producer: Some(n),
            duration: Duration::from_secs(120),
            ..Load::constant(0, Duration::ZERO)
        };
        runs.push(run(
            &format!("max_throughput/{mode:?}").to_lowercase(),
            cfg(DropPolicy::Block, mode),
            load,
            Consumer::default(),
            None,
        ));
    }
    let mut bounds: Vec<Bound> = runs.iter().map(RunResult::accounting_bound).collect();
    bounds.push(Bound::holds(
        "max_throughput: hop rounds, engine accounting exact",
        BoundKind::Correctness,
        exact,
        "a hop round lost or double-counted a candidate".into(),
    ));
    bounds.push(Bound::at_least(
        "max_throughput: direct recv / raw crossbeam one hop (median of rounds)",
        BoundKind::Timing,
        direct_ratio,
        0.9,
    ));
    let figures = vec![
        ("rounds".into(), rounds as f64),
        ("raw_crossbeam_per_s_median".into(), raw),
        ("raw_crossbeam_per_s_min".into(), raw_lo),
        ("raw_crossbeam_per_s_max".into(), raw_hi),
        ("direct_recv_over_raw_median".into(), direct_ratio),
        ("direct_recv_over_raw_min".into(), direct_lo),
        ("direct_recv_over_raw_max".into(), direct_hi),
        ("direct_recv_batch_over_raw_median".into(), batch_ratio),
        ("direct_recv_batch_over_raw_min".into(), batch_lo),
        ("direct_recv_batch_over_raw_max".into(), batch_hi),
        ("sync_recv_over_raw_median".into(), sync_ratio),
        ("harness_direct_per_s".into(), runs[0].throughput()),
        ("harness_sync_per_s".into(), runs[1].throughput()),
        ("harness_async_per_s".into(), runs[2].throughput()),
    ];
    Outcome {
        runs,
        bounds,
        figures,
    }
}

/// `sparse`'s producer: `n` High candidates, one a millisecond, stamped as they are sent, from
/// the first core.
fn sparse_drive(
    n: u64,
    send: impl Fn(PremintCandidate) + Send + 'static,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        crate::harness::pin_to(sniffer::config::machine_cores().first().copied());
        for i in 0..n {
            std::thread::sleep(Duration::from_millis(1));
            send(PremintCandidate {
                seq: i,
                slot: i,
                priority: sniffer::Priority::High,
                detected_at_ns: sniffer::monotonic_ns(),
                ..Default::default()
            });
        }
    })
}

/// `sparse`'s receiver, on the last core: the one-way latency of each of `n` candidates, read
/// on its own clock after `recv` returns.
fn sparse_receive(
    n: u64,
    mut recv: impl FnMut() -> Option<PremintCandidate>,
) -> hdrhistogram::Histogram<u64> {
    crate::harness::pin_to(sniffer::config::machine_cores().last().copied());
    let mut h = new_histogram();
    for _ in 0..n {
        let Some(c) = recv() else { break };
        h.saturating_record(
            sniffer::monotonic_ns()
                .saturating_sub(c.detected_at_ns)
                .max(1),
        );
    }
    h
}

/// One candidate every millisecond (the real launch cadence), `n` of them, one-way latency
/// measured by the receiving thread's own clock read after its receive returns, for: the engine
/// with the default wait (backoff: spin, yield, park), a bare crossbeam channel's blocking `recv`
/// with the same record, and the engine with a spinning wait. The producer runs on the first core
/// and the receiver on the last (its own core: only the spinning case keeps it busy).
fn sparse(n: u64) -> Outcome {
    use crate::harness::summary;
    use sniffer::{config::WaitStrategy, Sniffer};

    let engine_case = |wait: WaitStrategy| {
        let cfg = SnifferConfig {
            wait_strategy: wait,
            ..cfg(DropPolicy::DropNewest, BatchSendMode::Direct)
        };
        let mut engine = Sniffer::builder()
            .config(cfg)
            .build()
            .expect("valid config");
        let rx = engine.take_receiver().expect("receiver");
        let h = engine.ingest_handle();
        let producer = sparse_drive(n, move |c| {
            let _ = h.ingest(c);
        });
        let hist = sparse_receive(n, || rx.recv().ok());
        producer.join().expect("producer");
        let report = engine.shutdown(Duration::from_secs(5));
        let ok = report.metrics.accounting_holds()
            && report.metrics.in_flight == 0
            && report.metrics.candidates_sent == hist.len();
        (hist, ok)
    };
    let (default_wait, default_ok) = engine_case(WaitStrategy::Backoff);
    let (tx, rx) = crossbeam_channel::bounded::<PremintCandidate>(2048);
    let producer = sparse_drive(n, move |c| {
        let _ = tx.send(c);
    });
    let bare = sparse_receive(n, || rx.recv().ok());
    producer.join().expect("producer");
    let (spin, spin_ok) = engine_case(WaitStrategy::Spin);
    let (d, b, sp) = (summary(&default_wait), summary(&bare), summary(&spin));
    let bounds = vec![
        Bound::holds(
            "sparse/engine: accounting exact, every candidate received",
            BoundKind::Correctness,
            default_ok && spin_ok && default_wait.len() == n && spin.len() == n,
            format!("default {} spin {} of {n}", default_wait.len(), spin.len()),
        ),
        Bound::at_most(
            "sparse: engine p50 (default wait) / crossbeam blocking recv p50",
            BoundKind::Timing,
            d.p50 as f64 / b.p50.max(1) as f64,
            1.0,
        ),
        Bound::at_most(
            "sparse: engine p50 (spin wait, dedicated cores) (ns)",
            BoundKind::Timing,
            sp.p50 as f64,
            2_000.0,
        ),
    ];
    let figures = vec![
        ("engine_default_p50_ns".into(), d.p50 as f64),
        ("engine_default_p99_ns".into(), d.p99 as f64),
        ("crossbeam_recv_p50_ns".into(), b.p50 as f64),
        ("crossbeam_recv_p99_ns".into(), b.p99 as f64),
        ("engine_spin_p50_ns".into(), sp.p50 as f64),
        ("engine_spin_p99_ns".into(), sp.p99 as f64),
    ];
    Outcome {
        runs: Vec::new(),
        bounds,
        figures,
    }
}
