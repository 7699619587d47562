//! The `sniffer` command line: `run` the engine on feeds, `check-config` a file, `decode` a file.
//!
//! Exit codes: 0 ok, 2 bad usage / config / input file, 1 runtime failure (including a broken
//! accounting invariant). SIGINT/SIGTERM drain gracefully and still write the final metrics; a
//! second signal exits at once.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use sniffer::{
    health_line, unix_ms, AggregateSink, AggregateStore, DecodeObserver, MetricsSnapshot,
    SinkConfig, Sniffer, SnifferConfig, Window,
};

// A crate root resolves `mod` paths from its own directory (src/bin/), hence the explicit path.
#[path = "sniffer/feeds.rs"]
mod feeds;

#[derive(Parser, Debug)]
#[command(
    name = "sniffer",
    version,
    about = "Lock-free Solana token-launch sniffer engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
// Parsed once at start-up; boxing `RunArgs` would only add noise to the dispatch.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Run the engine on a feed until it ends (or SIGINT/SIGTERM), then drain and report.
    Run(RunArgs),
    /// Validate a config file: exit 0 when valid, 2 with the key and value when not.
    CheckConfig {
        /// TOML file to check.
        file: PathBuf,
    },
    /// Decode a JSON-lines file (or a recording): one JSON line per detected launch on stdout,
    /// a summary with malformed counts by reason on stderr; exit 2 if the file cannot be read.
    Decode(feeds::DecodeArgs),
    /// Query the aggregates database written by `run --sqlite`: the launches with the most
    /// buying in a window, as JSON lines (or run your own SQL: see the schema in the README).
    Query {
        /// The SQLite file.
        db: PathBuf,
        /// Window: 1m, 5m or 1h.
        #[arg(long, default_value = "5m", value_parser = ["1m", "5m", "1h"])]
        window: String,
        /// How many launches.
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
}

/// Examples printed under `sniffer run --help`.
const RUN_EXAMPLES: &str = "\
Examples:
  sniffer run                                          100k/s synthetic candidates for 3 s
  sniffer run --rate 0 --duration 10s --mode async     flat out, one sender thread per lane
  sniffer run --policy block --consumer-delay 20ms     a slow bot: backpressure, nothing dropped
  sniffer run --feed replay:day.rec --speed 10         a recording at 10x its pace
  sniffer run --feed synthetic:payloads --malformed-pct 5 --record out.rec
  sniffer run --feed replay:a.jsonl --feed replay:b.jsonl   two feeds, first sighting wins
  sniffer run --metrics-json m.json --metrics-interval 1s --http 127.0.0.1:9898

Every configuration key (see examples/sniffer.example.toml) can also be set with --config FILE or
a SNIFFER_<KEY> environment variable; flags win over both. Logs go to stderr (SNIFFER_LOG sets the
filter), the final metrics JSON to stdout. SIGINT/SIGTERM drain and write the final metrics; a
second signal exits at once. Exit codes: 0 ok, 2 bad usage/config/input, 1 runtime failure.";

#[derive(Args, Debug)]
#[command(after_help = RUN_EXAMPLES)]
struct RunArgs {
    /// TOML config file; SNIFFER_<KEY> environment variables override it, flags override both.
    #[arg(long, env = "SNIFFER_CONFIG")]
    config: Option<PathBuf>,
    /// Input feed: `synthetic`, `synthetic:payloads`, `replay:PATH` or `stdin`; repeat for
    /// several feeds at once (launches deduplicated across them, first sighting wins).
    #[arg(
        long,
        env = "SNIFFER_FEED",
        value_delimiter = ',',
        default_value = "synthetic"
    )]
    feed: Vec<String>,
    #[command(flatten)]
    feed_opts: feeds::FeedArgs,
    /// Synthetic feed rate in candidates per second (0 = flat out).
    #[arg(long, env = "SNIFFER_RATE", default_value_t = 100_000)]
    rate: u64,
    /// How long the synthetic feed produces (humantime: 3s, 500ms).
    #[arg(long, env = "SNIFFER_DURATION", default_value = "3s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Percentage of High-priority synthetic candidates.
    #[arg(long, env = "SNIFFER_HIGH_PCT", default_value_t = 20, value_parser = clap::value_parser!(u8).range(0..=100))]
    high_pct: u8,
    /// The consumer sleeps this long after each batch it takes (simulates a slow bot).
    #[arg(long, env = "SNIFFER_CONSUMER_DELAY", value_parser = humantime::parse_duration)]
    consumer_delay: Option<Duration>,
    /// Overflow policy of the stream ring [config: drop_policy].
    #[arg(long, value_parser = ["drop_newest", "drop_oldest", "block"])]
    policy: Option<String>,
    /// Batch send mode [config: batch_send_mode].
    #[arg(long, value_parser = ["direct", "sync", "async"])]
    mode: Option<String>,
    /// Wait strategy of idle threads [config: wait_strategy].
    #[arg(long, value_parser = ["backoff", "spin", "yield", "park"])]
    wait: Option<String>,
    /// Stream ring capacity [config: stream_buffer_capacity].
    #[arg(long)]
    capacity: Option<usize>,
    /// Batch size [config: batch_size].
    #[arg(long)]
    batch_size: Option<usize>,
    /// Graceful shutdown timeout [config: graceful_shutdown_timeout].
    #[arg(long, value_parser = humantime::parse_duration)]
    shutdown_timeout: Option<Duration>,
    /// Interval of the health line [config: health_interval].
    #[arg(long, value_parser = humantime::parse_duration)]
    health_interval: Option<Duration>,
    /// Write the metrics snapshot (JSON) here, atomically: periodically with --metrics-interval,
    /// and at the end.
    #[arg(long, env = "SNIFFER_METRICS_JSON")]
    metrics_json: Option<PathBuf>,
    /// Interval of periodic metrics dumps.
    #[arg(long, env = "SNIFFER_METRICS_INTERVAL", value_parser = humantime::parse_duration)]
    metrics_interval: Option<Duration>,
    /// Serve /metrics (Prometheus) and /health (JSON) on this address (needs the `http` feature).
    #[arg(long, env = "SNIFFER_HTTP")]
    http: Option<String>,
    /// Keep per-launch aggregates (first seen, creator, trades, volumes, traders per window) in
    /// this SQLite file, with delta flushes every flush_interval [config: flush_*, prune_threshold].
    #[arg(long, env = "SNIFFER_SQLITE")]
    sqlite: Option<PathBuf>,
    /// Show a progress bar on stderr: auto (when stderr is a terminal), always, never.
    #[arg(long, env = "SNIFFER_PROGRESS", default_value = "auto", value_parser = ["auto", "always", "never"])]
    progress: String,
}

/// The `SNIFFER_*` names the CLI's own flags read; the configuration loader skips them.
fn cli_env_names() -> Vec<String> {
    use clap::CommandFactory;
    let mut names = Vec::new();
    let cmd = Cli::command();
    for sub in cmd.get_subcommands() {
        for arg in sub.get_arguments() {
            if let Some(env) = arg.get_env() {
                names.push(env.to_string_lossy().into_owned());
            }
        }
    }
    names
}

/// An error that maps to exit code 2 (bad usage, config or input).
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SNIFFER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::CheckConfig { file } => check_config(&file),
        Command::Decode(args) => feeds::decode(&args),
        Command::Query { db, window, limit } => query(&db, &window, limit),
    };
    match result {
        Ok(code) => code,
        Err(e) if e.downcast_ref::<UsageError>().is_some() => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn check_config(file: &Path) -> anyhow::Result<ExitCode> {
    SnifferConfig::from_file(file)
        .and_then(|c| c.validate())
        .map_err(|e| UsageError(format!("{}: {e}", file.display())))?;
    println!("{}: ok", file.display());
    Ok(ExitCode::SUCCESS)
}

fn build_config(args: &RunArgs) -> Result<SnifferConfig, UsageError> {
    let text = match &args.config {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| UsageError(format!("cannot read config file {}: {e}", p.display())))?,
        None => String::new(),
    };
    let own = cli_env_names();
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| !own.contains(k));
    let mut cfg = SnifferConfig::from_sources(&text, env).map_err(|e| UsageError(e.to_string()))?;
    let parse = |v: &str| v.parse().map_err(UsageError);
    if let Some(p) = &args.policy {
        cfg.drop_policy = parse(p)?;
    }
    if let Some(m) = &args.mode {
        cfg.batch_send_mode = m.parse().map_err(UsageError)?;
    }
    if let Some(w) = &args.wait {
        cfg.wait_strategy = w.parse().map_err(UsageError)?;
    }
    if let Some(c) = args.capacity {
        cfg.stream_buffer_capacity = c;
    }
    if let Some(b) = args.batch_size {
        cfg.batch_size = b;
    }
    if let Some(t) = args.shutdown_timeout {
        cfg.graceful_shutdown_timeout = t;
    }
    if let Some(h) = args.health_interval {
        cfg.health_interval = h;
    }
    cfg.validate().map_err(|e| UsageError(e.to_string()))?;
    Ok(cfg)
}

fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let cfg = build_config(&args)?;
    let syn = feeds::Synthetic {
        rate: args.rate,
        duration: args.duration,
        high_pct: args.high_pct,
    };
    // The aggregates sink: decoded feeds hand it launches and trades from their own threads
    // (try_send, never blocking); the consumer hands it the fast synthetic feed's candidates.
    let sink = match &args.sqlite {
        Some(path) => Some(
            AggregateSink::start(path, SinkConfig::from(&cfg))
                .map_err(|e| UsageError(format!("--sqlite {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let observer = sink.as_ref().map(|s| {
        let handle = s.handle();
        move || -> DecodeObserver {
            let h = handle.clone();
            Box::new(move |launches, trades, slot| {
                let now = unix_ms();
                // Refusals (full input, closed) are counted by the sink itself.
                for d in launches {
                    let _ = h.record_launch_at(d, now);
                }
                for t in trades {
                    let _ = h.record_trade(t, slot, now);
                }
            })
        }
    });
    let fast_feeds: Vec<u16> = args
        .feed
        .iter()
        .enumerate()
        .filter(|(_, spec)| feeds::is_fast_synthetic(spec, &args.feed_opts))
        .map(|(i, _)| i as u16)
        .collect();
    let feeds = feeds::build(
        &args.feed,
        &args.feed_opts,
        syn,
        observer.as_ref().map(|f| f as &dyn Fn() -> DecodeObserver),
    )?;

    let signals = Arc::new(AtomicU32::new(0));
    {
        let signals = signals.clone();
        ctrlc::set_handler(move || {
            if signals.fetch_add(1, Ordering::SeqCst) >= 1 {
                eprintln!("second signal: exiting without draining");
                std::process::exit(130);
            }
        })
        .context("installing the signal handler")?;
    }

    let builder = Sniffer::builder().config(cfg.clone());
    let mut engine = feeds
        .into_iter()
        .fold(builder, |b, f| b.boxed_feed(f))
        .build()?;
    let rx = engine.take_receiver().context("engine has no receiver")?;
    let _http = start_http(args.http.as_deref(), &engine)?;
    let progress = progress_bar(&args.progress, &args.feed, args.duration);
    let received = Arc::new(AtomicU64::new(0));
    let consumer_done = Arc::new(AtomicBool::new(false));
    let consumer = {
        let received = received.clone();
        let done = consumer_done.clone();
        let delay = args.consumer_delay;
        let batch = cfg.batch_size;
        let aggregates = sink
            .as_ref()
            .filter(|_| !fast_feeds.is_empty())
            .map(|s| s.handle());
        std::thread::Builder::new()
            .name("sniffer-consumer".into())
            .spawn(move || {
                // Take a batch (one blocking receive, then what is ready), then pause if asked.
                while let Ok(first) = rx.recv() {
                    let mut n = 0u64;
                    for c in std::iter::once(first).chain(rx.try_iter().take(batch - 1)) {
                        n += 1;
                        if let Some(h) = &aggregates {
                            if fast_feeds.contains(&c.feed_id) {
                                let _ = h.record_candidate(&c);
                            }
                        }
                    }
                    received.fetch_add(n, Ordering::Relaxed);
                    if let Some(d) = delay {
                        std::thread::sleep(d);
                    }
                }
                done.store(true, Ordering::Release);
            })
            .context("spawning the consumer thread")?
    };

    // The engine's monitor thread logs the health line every `health_interval`.
    let started = Instant::now();
    let mut last_dump = Instant::now();
    let first = engine.snapshot();
    while !engine.feeds_finished() && signals.load(Ordering::SeqCst) == 0 {
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
        if let (Some(path), Some(every)) = (&args.metrics_json, args.metrics_interval) {
            if last_dump.elapsed() >= every {
                write_json_atomically(path, &engine.snapshot())?;
                last_dump = Instant::now();
            }
        }
    }
    progress.finish_and_clear();
    if signals.load(Ordering::SeqCst) > 0 {
        tracing::info!("signal received: draining");
    }
    // Kept past the shutdown (it holds no part of the pipe): the consumer may still skip stale
    // candidates left in the lanes, so the final figures are read once it has finished.
    let source = engine.metrics_source();
    let report = engine.shutdown(cfg.graceful_shutdown_timeout);
    consumer
        .join()
        .map_err(|_| anyhow::anyhow!("consumer thread panicked"))?;
    let after = source.snapshot();
    let m = &after;
    tracing::info!("final {}", health_line(&first, m));
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        shutdown_ms = report.elapsed.as_millis() as u64,
        delivered = report.delivered(),
        abandoned = report.abandoned(),
        received = received.load(Ordering::Relaxed),
        "run finished"
    );
    if let Some(sink) = sink {
        let r = sink.shutdown(cfg.graceful_shutdown_timeout);
        tracing::info!(report = %serde_json::to_string(&r).unwrap_or_default(), "aggregates sink");
    }
    if let Some(path) = &args.metrics_json {
        write_json_atomically(path, m)?;
    }
    println!("{}", m.to_json());
    if !m.accounting_holds() || m.in_flight != 0 {
        anyhow::bail!("accounting invariant broken: {m:?}");
    }
    if received.load(Ordering::Relaxed) != m.candidates_sent {
        anyhow::bail!(
            "consumer received {} but the engine reports {} sent",
            received.load(Ordering::Relaxed),
            m.candidates_sent
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn query(db: &Path, window: &str, limit: usize) -> anyhow::Result<ExitCode> {
    let store = AggregateStore::open_read_only(db)
        .map_err(|e| UsageError(format!("{}: {e}", db.display())))?;
    let window = match window {
        "1m" => Window::M1,
        "1h" => Window::H1,
        _ => Window::M5,
    };
    for row in store.top_by_buy_volume(window, limit)? {
        println!("{}", serde_json::to_string(&row)?);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "http")]
fn start_http(addr: Option<&str>, engine: &Sniffer) -> anyhow::Result<Option<sniffer::HttpServer>> {
    let Some(addr) = addr else { return Ok(None) };
    let server = sniffer::HttpServer::start(addr, engine.metrics_source())
        .map_err(|e| UsageError(format!("--http {addr}: {e}")))?;
    tracing::info!(addr = %server.local_addr(), "serving /metrics and /health");
    Ok(Some(server))
}

#[cfg(not(feature = "http"))]
fn start_http(addr: Option<&str>, _engine: &Sniffer) -> anyhow::Result<Option<()>> {
    match addr {
        None => Ok(None),
        Some(_) => Err(UsageError(
            "--http needs the HTTP listener: build with `cargo build --release --features http`"
                .into(),
        )
        .into()),
    }
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

/// Writes JSON to a temporary file beside `path`, then renames it: readers never see half a file.
fn write_json_atomically(path: &Path, snapshot: &MetricsSnapshot) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, snapshot.to_json())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}
