//! `sniffer run`: checks every path and spec, opens the outputs (aggregates sink, NATS or Kafka
//! publisher, `--candidates`, `--http`), starts the engine on the feeds and the consumer on its
//! receiver, watches until the feeds end, `--duration` passes or a signal comes, then shuts down
//! within `graceful_shutdown_timeout` and decides the exit code.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use sniffer::history::HistoryWriter;
use sniffer::sink::AggregateSink;
use sniffer::{
    feed::DecodeObserver, metrics::health_line, CandidateReceiver, MetricsSnapshot, ShutdownReport,
    Sniffer, SnifferConfig,
};

use super::consumer::{CandidateWriter, Consumer, Outputs};
use super::feeds::{self, Built, Synthetic};
use super::kafka::Publisher;
use super::metrics_file::MetricsFile;
use super::stores;
use super::{build_config, print_line, RunArgs, Signals, UsageError};

/// How long `--feed synthetic` generates when `--duration` is not given.
const DEFAULT_SYNTHETIC_DURATION: Duration = Duration::from_secs(3);

/// `sniffer run`: the steps of the module doc, in order.
pub(crate) fn run(mut args: RunArgs, signals: &Signals) -> anyhow::Result<ExitCode> {
    args.feed = feeds::join_split_feeds(std::mem::take(&mut args.feed));
    let cfg = build_config(&args)?;
    // `--feed`, else the file's `[[feeds]]` (their tokens read now), else `synthetic`.
    let specs = feeds::resolve(&args.feed, &cfg)?;
    args.feed = specs.iter().map(|f| f.spec.clone()).collect();
    // Every check on paths and feed specs comes before anything is opened, created or started.
    let mut metrics_file = check_before_opening(&args, &cfg)?;
    let syn = Synthetic {
        rate: args.rate,
        duration: args.duration.unwrap_or(DEFAULT_SYNTHETIC_DURATION),
        high_pct: args.high_pct,
    };
    // The aggregates sink: decoded feeds hand it launches and trades from their own threads
    // (try_send, never blocking); the consumer hands it the fast synthetic feed's candidates.
    // The history writer takes the same trades, and every launch the consumer receives.
    let sink = stores::open_sink(&args.stores, args.sqlite.as_deref(), &cfg)?;
    let history = stores::open_history(&args.stores, &cfg)?;
    let mut built = build_feeds(&args, &specs, &cfg, syn, sink.as_ref(), history.as_ref())?;
    // The publisher connects (and creates the stream) before the engine starts: an unreachable
    // server is an error here (exit 1), unless --nats-connect-retry.
    let publisher = match &args.publish {
        Some(url) => Some(Publisher::start(url, &cfg)?),
        None => None,
    };
    let (engine, rx) = start_engine(
        &cfg,
        &mut built,
        sink.as_ref(),
        history.as_ref(),
        publisher.as_ref(),
    )?;
    tracing::info!(
        policy = ?cfg.drop_policy,
        mode = ?cfg.batch_send_mode,
        wait = ?cfg.wait_strategy,
        ring = cfg.stream_buffer_capacity,
        lanes = cfg.output_lane_capacity,
        shutdown_timeout = ?cfg.graceful_shutdown_timeout,
        "engine started"
    );
    let fast = fast_feeds(&args);
    let outputs = Outputs {
        candidates: open_candidates(&args, &engine)?,
        aggregates: sink
            .as_ref()
            .filter(|_| !fast.is_empty())
            .map(|s| (s.handle(), fast)),
        publish: publisher.as_ref().map(|p| p.handle()),
        history: history.as_ref().map(|h| h.handle()),
    };
    let _http = start_http(args.http.as_deref(), &engine)?;
    let progress = progress_bar(&args.progress, &args.feed, syn.duration);
    let consumer = Consumer::spawn(rx, outputs, cfg.batch_size, args.consumer_delay)?;

    let started = Instant::now();
    let first = engine.snapshot();
    watch(
        &engine,
        signals,
        &args,
        &progress,
        metrics_file.as_mut(),
        started,
    );
    progress.finish_and_clear();
    if signals.received() {
        tracing::info!("signal received: draining");
    }

    let budget = Budget::start(
        cfg.graceful_shutdown_timeout,
        sink.is_some() || history.is_some(),
        publisher.is_some(),
    );
    let mut end = stop(engine, consumer, publisher, &budget)?;
    // The history writer and the aggregates sink have the last slice (they run on their own
    // threads); the final metrics carry their final counters.
    let mut failures: Vec<String> = publish_verdict(&end.metrics).into_iter().collect();
    failures.extend(live_verdict(&end.metrics));
    if let Some(h) = history {
        close_history(h, &budget, &mut end.metrics, &mut failures);
    }
    if let Some(sink) = sink {
        let r = sink.shutdown(budget.sink_left());
        failures.extend(stores::sink_verdict(&r));
        end.metrics.sink = Some(r.snapshot);
    }
    log_end(&first, &end, started, budget.started.elapsed());
    let metrics_to_stdout = args
        .candidates
        .as_ref()
        .is_none_or(|p| p.as_os_str() != "-");
    write_final_metrics(&end.metrics, metrics_file, metrics_to_stdout, &mut failures)?;
    verdict(&end, &built, failures)
}

/// The checks that need no output opened: the feed specs, the `--publish` URL, and a
/// `--metrics-json` path that no other file of the run uses.
fn check_before_opening(
    args: &RunArgs,
    cfg: &SnifferConfig,
) -> anyhow::Result<Option<MetricsFile>> {
    feeds::check_specs(&args.feed, &args.feed_opts)?;
    if let Some(url) = &args.publish {
        Publisher::check(url, cfg)?;
    }
    stores::check(&args.stores, args.sqlite.as_deref())?;
    let Some(path) = &args.metrics_json else {
        return Ok(None);
    };
    let mut taken = feeds::paths_in_use(&args.feed, &args.feed_opts);
    if let Some(db) = &args.sqlite {
        taken.push(("--sqlite", db.clone()));
    }
    Ok(Some(MetricsFile::check(path, &taken)?))
}

/// The feeds of the run, each decoded one tapped by the aggregates sink when there is one.
fn build_feeds(
    args: &RunArgs,
    specs: &[feeds::FeedSpec],
    cfg: &SnifferConfig,
    syn: Synthetic,
    sink: Option<&AggregateSink>,
    history: Option<&HistoryWriter>,
) -> anyhow::Result<Built> {
    let observer = stores::observer(sink.map(|s| s.handle()), history.map(|h| h.handle()));
    feeds::build(
        specs,
        &args.feed_opts,
        cfg,
        syn,
        observer.as_ref().map(|f| f as &dyn Fn() -> DecodeObserver),
    )
}

/// The ids of the fast synthetic feeds (their candidates reach the sink through the consumer).
fn fast_feeds(args: &RunArgs) -> Vec<u16> {
    args.feed
        .iter()
        .enumerate()
        .filter(|(_, spec)| feeds::is_fast_synthetic(spec, &args.feed_opts))
        .map(|(i, _)| i as u16)
        .collect()
}

/// The engine on the built feeds, with the sink's and the publisher's metrics attached (they
/// join the snapshot, Prometheus and /health), and its receiver.
fn start_engine(
    cfg: &SnifferConfig,
    built: &mut Built,
    sink: Option<&AggregateSink>,
    history: Option<&HistoryWriter>,
    publisher: Option<&Publisher>,
) -> anyhow::Result<(Sniffer, CandidateReceiver)> {
    let mut builder = Sniffer::builder().config(cfg.clone());
    if let Some(s) = sink {
        builder = builder.aggregates(s.stats());
    }
    if let Some(h) = history {
        // A ClickHouse that falls behind pauses the pull feeds, as a full ring does.
        let h = h.handle();
        builder = builder.watch_queue("history_queue", move || h.level());
    }
    let mut engine = std::mem::take(&mut built.feeds)
        .into_iter()
        .fold(builder, |b, f| b.boxed_feed(f))
        .build()?;
    let rx = engine.take_receiver().context("engine has no receiver")?;
    let feed_names = || -> Vec<String> {
        engine
            .snapshot()
            .feeds
            .into_iter()
            .map(|f| f.name)
            .collect()
    };
    if let Some(p) = publisher {
        engine.metrics_source().attach_publisher(&p.stats());
        p.set_feed_names(feed_names());
    }
    if let Some(h) = history {
        engine.metrics_source().attach_history(&h.stats());
        h.set_feed_names(feed_names());
    }
    Ok((engine, rx))
}

/// `--candidates`: a file, or stdout for `-`.
fn open_candidates(args: &RunArgs, engine: &Sniffer) -> anyhow::Result<Option<CandidateWriter>> {
    let feed_names: Vec<String> = engine
        .snapshot()
        .feeds
        .into_iter()
        .map(|f| f.name)
        .collect();
    Ok(match &args.candidates {
        None => None,
        Some(p) if p.as_os_str() == "-" => Some(CandidateWriter::stdout(feed_names)),
        Some(p) => Some(
            CandidateWriter::file(p, feed_names)
                .map_err(|e| UsageError(format!("--candidates {}: {e}", p.display())))?,
        ),
    })
}

fn start_http(
    addr: Option<&str>,
    engine: &Sniffer,
) -> anyhow::Result<Option<sniffer::http::HttpServer>> {
    let Some(addr) = addr else { return Ok(None) };
    let server = sniffer::http::HttpServer::start(addr, engine.metrics_source())
        .map_err(|e| UsageError(format!("--http {addr}: {e}")))?;
    tracing::info!(addr = %server.local_addr(), "serving /metrics and /health");
    Ok(Some(server))
}

/// A progress bar on stderr: elapsed time against the synthetic duration (a spinner for other
/// feeds), hidden when stderr is not a terminal unless asked for.
fn progress_bar(mode: &str, feeds: &[String], duration: Duration) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    let visible = match mode {
        "always" => true,
        "never" => false,
        _ => std::io::stderr().is_terminal(),
    };
    if !visible {
        return indicatif::ProgressBar::hidden();
    }
    let timed = feeds.iter().all(|f| f.starts_with("synthetic"));
    let bar = if timed {
        indicatif::ProgressBar::new(duration.as_millis() as u64)
    } else {
        indicatif::ProgressBar::new_spinner()
    };
    let template = if timed {
        "{elapsed_precise} [{bar:30}] {percent:>3}% {msg}"
    } else {
        "{spinner} {elapsed_precise} {msg}"
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(10));
    bar
}

/// Waits for the end of the run, updating the progress bar and writing the periodic metrics
/// dumps meanwhile (the engine's monitor thread logs the health line every `health_interval`).
/// Live feeds never finish: the run ends at --duration, or at a signal.
fn watch(
    engine: &Sniffer,
    signals: &Signals,
    args: &RunArgs,
    progress: &indicatif::ProgressBar,
    mut metrics_file: Option<&mut MetricsFile>,
    started: Instant,
) {
    let mut last_dump = Instant::now();
    let run_until = args.duration.map(|d| started + d);
    while !engine.feeds_finished()
        && !signals.received()
        && run_until.is_none_or(|t| Instant::now() < t)
    {
        std::thread::sleep(Duration::from_millis(10));
        if !progress.is_hidden() {
            let m = engine.snapshot();
            progress.set_position(started.elapsed().as_millis() as u64);
            progress.set_message(format!(
                "seen {} sent {} dropped {} ring {}/{}{}",
                m.tx_seen,
                m.candidates_sent,
                m.dropped_total(),
                m.stream_buffer_depth,
                m.stream_buffer_capacity,
                if m.paused { " PAUSED" } else { "" }
            ));
        }
        if let (Some(file), Some(every)) = (&mut metrics_file, args.metrics_interval) {
            if last_dump.elapsed() >= every {
                file.dump_periodic(&engine.snapshot());
                last_dump = Instant::now();
            }
        }
    }
}

/// How the exit shares `graceful_shutdown_timeout`: the engine and the consumer take what is
/// left after a slice (a fifth of the budget, at most 1 s) for the aggregates sink's final
/// flush and the history's last batches, and one for the publisher's last acknowledgements, each only when it runs.
#[derive(Debug)]
struct Budget {
    started: Instant,
    total: Duration,
    /// The engine's and the consumer's share.
    engine: Duration,
    publisher: Duration,
}

impl Budget {
    fn start(total: Duration, sink: bool, publisher: bool) -> Budget {
        let slice = (total / 5).min(Duration::from_secs(1));
        let share = |runs: bool| if runs { slice } else { Duration::ZERO };
        let publisher = share(publisher);
        Budget {
            started: Instant::now(),
            total,
            engine: total.saturating_sub(share(sink) + publisher),
            publisher,
        }
    }

    /// When the engine's and the consumer's share ends.
    fn engine_deadline(&self) -> Instant {
        self.started + self.engine
    }

    /// What is left for the publisher: its slice, and what the engine did not use.
    fn publisher_left(&self) -> Duration {
        (self.started + self.engine + self.publisher).saturating_duration_since(Instant::now())
    }

    /// What is left for the sink: the rest of the whole budget.
    fn sink_left(&self) -> Duration {
        (self.started + self.total).saturating_duration_since(Instant::now())
    }
}

/// What the run ended with, once the engine, the consumer and the publisher have stopped.
struct Ending {
    report: ShutdownReport,
    /// The final figures, the publisher's included.
    metrics: MetricsSnapshot,
    /// Candidates the consumer took.
    received: u64,
    /// Candidates delivered into the lanes that the consumer did not take by its deadline.
    unread: u64,
}

/// Shuts the engine down within its share of the budget, then the consumer (at the same
/// deadline), then the publisher within its own.
fn stop(
    engine: Sniffer,
    consumer: Consumer,
    publisher: Option<Publisher>,
    budget: &Budget,
) -> anyhow::Result<Ending> {
    // Kept past the shutdown (it holds no part of the pipe): the consumer may still skip stale
    // candidates left in the lanes, so the final figures are read once it has finished.
    let source = engine.metrics_source();
    consumer.stop_at(budget.engine_deadline());
    let report = engine.shutdown(budget.engine);
    let (received, rx) = consumer.join()?;
    // Every engine thread is joined: nothing more enters the lanes. What the consumer did not
    // take by the deadline was delivered by the engine (it is in `candidates_sent`) but never
    // read by this process's bot: count it, so that the check in `verdict` stays exact.
    let unread = rx.try_iter().count() as u64;
    drop(rx);
    // The consumer has handed its last candidate to the publisher: what is still queued or
    // unacknowledged gets the publisher's slice, then counts as failed.
    let mut metrics = source.snapshot();
    if let Some(p) = publisher {
        let counts = p.shutdown(budget.publisher_left());
        metrics.set_publish(&counts);
        tracing::info!(
            offered = counts.offered,
            published = counts.published,
            duplicates = counts.duplicates,
            dropped = counts.dropped,
            failed = counts.failed,
            stream_full = counts.stream_full,
            retries = counts.retries,
            "publisher"
        );
    }
    Ok(Ending {
        report,
        metrics,
        received,
        unread,
    })
}

/// A run with live feeds none of which ever connected saw nothing: a runtime failure naming
/// them (a feed that never connected while another did is a WARN line).
fn live_verdict(m: &MetricsSnapshot) -> Option<String> {
    let live: Vec<_> = m.feeds.iter().filter(|f| f.live).collect();
    let never: Vec<&str> = live
        .iter()
        .filter(|f| f.connects == 0)
        .map(|f| f.name.as_str())
        .collect();
    if never.is_empty() {
        return None;
    }
    for f in live.iter().filter(|f| f.connects == 0) {
        tracing::warn!(feed = %f.name, failures = f.connect_failures, "live feed never connected");
    }
    if never.len() < live.len() {
        return None;
    }
    tracing::error!(feeds = ?never, "no live feed ever connected: nothing was seen");
    Some(format!(
        "no live feed ever connected ({}); see the WARN lines for why",
        never.join(", ")
    ))
}

/// Launches the publisher could not publish (its queue was full, the stream refused them, or
/// they were unacknowledged at the deadline) are lost to the bus's consumers: a runtime failure
/// like lost aggregates, with an ERROR line.
fn publish_verdict(m: &MetricsSnapshot) -> Option<String> {
    let lost = m.publish_dropped + m.publish_failed;
    if lost == 0 {
        return None;
    }
    tracing::error!(
        offered = m.publish_offered,
        published = m.published,
        dropped = m.publish_dropped,
        failed = m.publish_failed,
        "publisher: launches not published; the bus's consumers never see them"
    );
    Some(format!(
        "{lost} of {} launches not published ({} dropped at the full queue, {} failed)",
        m.publish_offered, m.publish_dropped, m.publish_failed
    ))
}

/// The closing log lines: the final health line, the shutdown's figures, and a warning when the
/// consumer left delivered candidates unread.
fn log_end(first: &MetricsSnapshot, end: &Ending, started: Instant, exit: Duration) {
    let (m, report, unread) = (&end.metrics, &end.report, end.unread);
    tracing::info!("final {}", health_line(first, m));
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        // The whole exit: engine, consumer, publisher, history and sink.
        shutdown_ms = exit.as_millis() as u64,
        engine_shutdown_ms = report.elapsed.as_millis() as u64,
        delivered = report.delivered(),
        dropped_shutdown = m.dropped_shutdown,
        abandoned_high = report.high.abandoned,
        abandoned_low = report.low.abandoned,
        rejected_at_close = report.rejected_at_close,
        received = end.received,
        unread,
        accounting_holds = m.accounting_holds,
        detected = m.candidates_detected,
        sent = m.candidates_sent,
        dropped = m.dropped_total(),
        in_flight = m.in_flight,
        "run finished"
    );
    if unread > 0 {
        tracing::warn!(
            unread,
            "the consumer stopped at the shutdown deadline: {unread} delivered candidates were \
             left unread in the output lanes"
        );
    }
}

/// The history writer's last batches within half of what is left (the sink's final flush has
/// the rest); rows it could not write are a failure of the run.
fn close_history(
    h: HistoryWriter,
    budget: &Budget,
    metrics: &mut MetricsSnapshot,
    failures: &mut Vec<String>,
) {
    let r = h.shutdown(budget.sink_left() / 2);
    metrics.history = Some(r.snapshot);
    if !r.complete {
        tracing::error!(
            lost = r.lost,
            "history: rows not written by the shutdown deadline"
        );
        failures.push(format!("history rows lost at shutdown ({})", r.lost));
    }
}

/// The final metrics: to `--metrics-json` (a failed write is a failure of the run), the race
/// between feeds to the log, and the JSON to stdout unless `--candidates -` has it.
fn write_final_metrics(
    m: &MetricsSnapshot,
    metrics_file: Option<MetricsFile>,
    to_stdout: bool,
    failures: &mut Vec<String>,
) -> anyhow::Result<()> {
    if let Some(file) = metrics_file {
        if let Err(e) = file.write(m) {
            tracing::error!(error = %e, "writing the final metrics to --metrics-json failed");
            failures.push(format!("--metrics-json {}: {e}", file.path().display()));
        }
        if file.failures() > 0 {
            tracing::warn!(
                failures = file.failures(),
                "periodic --metrics-json dumps failed during the run"
            );
        }
    }
    if let Some(line) = race_summary(m) {
        tracing::info!("{line}");
    }
    if to_stdout {
        print_line(&m.to_json())?;
    }
    Ok(())
}

/// The exit code: a broken accounting invariant or a consumer count that disagrees with the
/// engine's is a runtime failure; so are `failures` and a replay that ended on a read error,
/// except a corrupt input file, which is bad input (exit 2).
fn verdict(end: &Ending, built: &Built, mut failures: Vec<String>) -> anyhow::Result<ExitCode> {
    let (m, received, unread) = (&end.metrics, end.received, end.unread);
    if !m.accounting_holds() || m.in_flight != 0 {
        anyhow::bail!("accounting invariant broken: {m:?}");
    }
    if received + unread != m.candidates_sent {
        anyhow::bail!(
            "consumer received {received} (+{unread} left unread) but the engine reports {} sent",
            m.candidates_sent
        );
    }
    let mut bad_input = false;
    for (name, e) in built.replay_errors() {
        tracing::error!(feed = %name, error = %e, "the replay ended early");
        bad_input |= e.kind() == std::io::ErrorKind::InvalidData;
        failures.push(format!("{name}: {e}"));
    }
    if failures.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let msg = failures.join("; ");
    Err(if bad_input {
        UsageError(msg).into()
    } else {
        anyhow::anyhow!(msg)
    })
}

/// One line on who won the race between feeds (two or more): each feed's wins, share and lead
/// over the later copies.
fn race_summary(m: &MetricsSnapshot) -> Option<String> {
    if m.feeds.len() < 2 {
        return None;
    }
    let ms = |ns: u64| ns as f64 / 1e6;
    let parts: Vec<String> = m
        .feeds
        .iter()
        .map(|f| {
            format!(
                "{} won {} ({:.1}%) lead p50 {:.2}ms p99 {:.2}ms, {} late copies, {} reconnects",
                f.name,
                f.wins,
                f.win_share * 100.0,
                ms(f.lead_ns.p50),
                ms(f.lead_ns.p99),
                f.duplicates,
                f.reconnects
            )
        })
        .collect();
    Some(format!("race: {}", parts.join("; ")))
}
