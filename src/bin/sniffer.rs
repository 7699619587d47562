//! The `sniffer` command line: `run` the engine on feeds, `check-config` a file, `decode` a file.
//!
//! Exit codes: 0 ok, 2 bad usage / config / input file, 1 runtime failure (including a broken
//! accounting invariant). SIGINT/SIGTERM drain gracefully and still write the final metrics; a
//! second signal exits at once.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use sniffer::RecvTimeoutError;
use sniffer::{
    feed::DecodeObserver,
    metrics::health_line,
    sink::{AggregateStore, Window},
    Sniffer, SnifferConfig,
};

// A crate root resolves `mod` paths from its own directory (src/bin/), hence the explicit path.
#[path = "sniffer/feeds.rs"]
mod feeds;
#[path = "sniffer/metrics_file.rs"]
mod metrics_file;
#[path = "sniffer/stores.rs"]
mod stores;

use metrics_file::MetricsFile;

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
    /// Query the aggregates database written by `run --sqlite` (or `--store`): the launches with
    /// the most buying in a window, as JSON lines (or run your own SQL: see the schema in the
    /// README).
    Query {
        /// The SQLite file, or a `postgres://` URL (password: SNIFFER_PG_PASSWORD).
        db: PathBuf,
        /// Window: 1m, 5m or 1h.
        #[arg(long, env = "SNIFFER_QUERY_WINDOW", default_value = "5m", value_parser = ["1m", "5m", "1h"])]
        window: String,
        /// How many launches.
        #[arg(long, env = "SNIFFER_QUERY_LIMIT", default_value_t = 10)]
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
  sniffer run --feed wss://... --publish nats://127.0.0.1:4222      share launches through JetStream
  sniffer run --feed 'nats://127.0.0.1:4222/SNIFFER?durable=bot1'   consume them on another machine

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
    /// Input feed: `synthetic`, `synthetic:payloads`, `replay:PATH`, `stdin`, or a live
    /// provider: `ws://HOST[:PORT]/PATH`, `wss://...` (Solana JSON-RPC WebSocket; see
    /// --subscribe), `grpc://HOST:PORT`, `grpcs://...` (Yellowstone), or NATS:
    /// `nats://HOST[:PORT][,HOST...]/STREAM[?durable=NAME&deliver=new|all&filter=SUBJECT]` (a
    /// JetStream pull consumer: paused by backpressure, acknowledged once in the ring),
    /// `nats+core://HOST[:PORT]/SUBJECT` (a core-NATS subscription: live, drops counted when
    /// full); repeat for several feeds at once (launches deduplicated across them, first
    /// sighting wins: race two providers).
    #[arg(
        long,
        env = "SNIFFER_FEED",
        hide_env_values = true,
        value_delimiter = ',',
        default_value = "synthetic"
    )]
    feed: Vec<String>,
    #[command(flatten)]
    feed_opts: feeds::FeedArgs,
    /// Synthetic feed rate in candidates per second (0 = flat out).
    #[arg(long, env = "SNIFFER_RATE", default_value_t = 100_000)]
    rate: u64,
    /// How long to run (humantime: 3s, 500ms): the synthetic feed generates for this long
    /// (default 3s); live feeds (ws://, grpc://) are read until then (default: until
    /// SIGINT/SIGTERM); file and stdin feeds end at their end or then, whichever comes first.
    #[arg(long, env = "SNIFFER_DURATION", value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// Percentage of High-priority synthetic candidates.
    #[arg(long, env = "SNIFFER_HIGH_PCT", default_value_t = 20, value_parser = clap::value_parser!(u8).range(0..=100))]
    high_pct: u8,
    /// The consumer sleeps this long after each batch it takes (simulates a slow bot).
    #[arg(long, env = "SNIFFER_CONSUMER_DELAY", value_parser = humantime::parse_duration)]
    consumer_delay: Option<Duration>,
    /// Overflow policy of the stream ring [config: drop_policy].
    #[arg(long, env = "SNIFFER_POLICY", value_parser = ["drop_newest", "drop_oldest", "block"])]
    policy: Option<String>,
    /// Batch send mode [config: batch_send_mode].
    #[arg(long, env = "SNIFFER_MODE", value_parser = ["direct", "sync", "async"])]
    mode: Option<String>,
    /// Wait strategy of idle threads [config: wait_strategy].
    #[arg(long, env = "SNIFFER_WAIT", value_parser = ["backoff", "spin", "yield", "park"])]
    wait: Option<String>,
    /// Stream ring capacity [config: stream_buffer_capacity].
    #[arg(long, env = "SNIFFER_CAPACITY")]
    capacity: Option<usize>,
    /// Batch size [config: batch_size].
    #[arg(long, env = "SNIFFER_BATCH_SIZE")]
    batch_size: Option<usize>,
    /// Graceful shutdown timeout [config: graceful_shutdown_timeout].
    #[arg(long, env = "SNIFFER_SHUTDOWN_TIMEOUT", value_parser = humantime::parse_duration)]
    shutdown_timeout: Option<Duration>,
    /// Interval of the health line [config: health_interval].
    #[arg(long, env = "SNIFFER_HEALTH_INTERVAL", value_parser = humantime::parse_duration)]
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
    #[command(flatten)]
    stores: stores::StoreArgs,
    /// Write every delivered candidate as one JSON line (mint, creator, kind, slot, signature,
    /// score, priority, feed, detect-to-deliver latency) to this file, or `-` for stdout (the
    /// final metrics JSON then goes only to --metrics-json).
    #[arg(long, env = "SNIFFER_CANDIDATES")]
    candidates: Option<PathBuf>,
    /// Publish every delivered candidate to NATS: `nats://HOST[:PORT][,HOST...][/STREAM]`
    /// (JetStream, subjects sniffer.launch.<kind>.<priority>, Nats-Msg-Id for de-duplication;
    /// the stream, default nats_stream, is created when missing) or `nats+core://HOST[:PORT]`.
    /// Off the hot path: a full queue is counted in publish_dropped. Credentials: `user:pass@`
    /// in the URL, or SNIFFER_NATS_USER / SNIFFER_NATS_PASSWORD / SNIFFER_NATS_TOKEN.
    #[arg(long, env = "SNIFFER_PUBLISH", hide_env_values = true)]
    publish: Option<String>,
    /// When no NATS server answers at start, keep retrying in the background instead of
    /// failing (exit 1) [config: nats_connect_retry].
    #[arg(long, env = "SNIFFER_NATS_CONNECT_RETRY", action = clap::ArgAction::SetTrue,
          value_parser = clap::builder::BoolishValueParser::new())]
    nats_connect_retry: bool,
    /// Show a progress bar on stderr: auto (when stderr is a terminal), always, never.
    #[arg(long, env = "SNIFFER_PROGRESS", default_value = "auto", value_parser = ["auto", "always", "never"])]
    progress: String,
}

/// How long `--feed synthetic` generates when `--duration` is not given.
const DEFAULT_SYNTHETIC_DURATION: Duration = Duration::from_secs(3);

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
    // The signal handler comes first, before logging, configuration and threads: a signal that
    // arrives while the run is still starting makes it drain instead of killing the process.
    let signals = Arc::new(Signals::default());
    if matches!(cli.command, Command::Run(_)) {
        if let Err(e) = signals.install() {
            say(format_args!("error: installing the signal handler: {e}"));
            return ExitCode::from(1);
        }
    }
    match log_filter() {
        Ok(filter) => {
            use std::io::IsTerminal;
            // Colour codes only for a terminal: a file or a pipe gets plain text.
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal())
                .with_env_filter(filter)
                .init()
        }
        Err(e) => {
            say(format_args!("error: {e}"));
            return ExitCode::from(2);
        }
    }
    let result = match cli.command {
        Command::Run(args) => run(args, &signals),
        Command::CheckConfig { file } => check_config(&file),
        Command::Decode(args) => feeds::decode(&args),
        Command::Query { db, window, limit } => query(&db, &window, limit),
    };
    match result {
        Ok(code) => code,
        Err(e) if e.downcast_ref::<UsageError>().is_some() => {
            say(format_args!("error: {e:#}"));
            ExitCode::from(2)
        }
        Err(e) => {
            say(format_args!("error: {e:#}"));
            ExitCode::from(1)
        }
    }
}

/// Writes one line to stderr, ignoring failures: a closed or broken stderr must not turn into a
/// panic (`eprintln!` panics when the write fails).
fn say(msg: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{msg}");
}

/// Writes one line to stdout. A reader that went away (`| head`) is not an error: whoever
/// closed the pipe did not want the rest, so the caller carries on (exit 0).
fn print_line(line: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing to stdout"),
        _ => Ok(()),
    }
}

/// The log filter from `SNIFFER_LOG` (`info` when unset or empty).
///
/// # Errors
///
/// A value that does not parse, or a bare word that is neither a level nor one of this crate's
/// targets: `EnvFilter` would read `SNIFFER_LOG=verbose` as "only the target `verbose`" and
/// silence every log line, which is the silent failure this check exists to prevent.
fn log_filter() -> Result<tracing_subscriber::EnvFilter, String> {
    const LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];
    let value = match std::env::var("SNIFFER_LOG") {
        Err(std::env::VarError::NotPresent) => String::new(),
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err("SNIFFER_LOG is not valid UTF-8".into())
        }
        Ok(v) => v,
    };
    if value.trim().is_empty() {
        return Ok(tracing_subscriber::EnvFilter::new("info"));
    }
    for d in value.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let bare = !d.contains('=') && !d.contains('[');
        if bare && !LEVELS.contains(&d.to_ascii_lowercase().as_str()) && !d.starts_with("sniffer") {
            return Err(format!(
                "SNIFFER_LOG: `{d}` is neither a level ({}) nor TARGET=LEVEL",
                LEVELS.join(", ")
            ));
        }
    }
    let mut filter = tracing_subscriber::EnvFilter::builder()
        .parse(&value)
        .map_err(|e| format!("SNIFFER_LOG: invalid filter `{value}`: {e}"))?;
    // The network crates log requests (paths, queries, headers: API keys and tokens) at debug
    // and trace: they stay at warn whatever the filter asks. Our own feeds log what matters,
    // redacted.
    for target in QUIET_CRATES {
        filter = filter.add_directive(
            format!("{target}=warn")
                .parse()
                .map_err(|e| format!("SNIFFER_LOG: {e}"))?,
        );
    }
    Ok(filter)
}

/// Dependencies whose debug and trace output can carry a feed's secrets (see `log_filter`).
const QUIET_CRATES: &[&str] = &[
    "tungstenite",
    "rustls",
    "hyper",
    "hyper_util",
    "h2",
    "tonic",
    "tower",
    "async_nats",
];

/// SIGINT, SIGTERM and SIGHUP seen by `run`. The first one drains; signals within
/// [`Signals::WINDOW`] of it are the same request (GNU `timeout` signals the child and then its
/// whole process group, so one `timeout` delivers two SIGTERMs microseconds apart); one that
/// comes later exits at once with 130.
#[derive(Debug)]
struct Signals {
    /// Nanoseconds after `epoch` of the first signal, plus one (0 = none yet). Written by the
    /// handler thread with a compare-exchange, read by the main thread.
    first: AtomicU64,
    epoch: Instant,
}

impl Default for Signals {
    fn default() -> Self {
        Signals {
            first: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }
}

impl Signals {
    const WINDOW: Duration = Duration::from_millis(500);

    fn install(self: &Arc<Self>) -> Result<(), ctrlc::Error> {
        let me = self.clone();
        ctrlc::set_handler(move || {
            if me.arrived() == SignalVerdict::Again {
                say(format_args!("second signal: exiting without draining"));
                std::process::exit(130);
            }
        })
    }

    fn arrived(&self) -> SignalVerdict {
        let now = u64::try_from(self.epoch.elapsed().as_nanos())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1);
        match self
            .first
            .compare_exchange(0, now, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => SignalVerdict::First,
            Err(first) if now.saturating_sub(first) < Self::WINDOW.as_nanos() as u64 => {
                SignalVerdict::SameBurst
            }
            Err(_) => SignalVerdict::Again,
        }
    }

    fn received(&self) -> bool {
        self.first.load(Ordering::SeqCst) != 0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SignalVerdict {
    First,
    SameBurst,
    Again,
}

/// Checks what `run` would load from `file` and the `SNIFFER_*` environment (flags aside).
fn check_config(file: &Path) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| UsageError(format!("cannot read config file {}: {e}", file.display())))?;
    SnifferConfig::from_sources(&text, config_env())
        .and_then(|c| c.validate())
        .map_err(|e| UsageError(format!("{}: {e}", file.display())))?;
    print_line(&format!("{}: ok", file.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// The `SNIFFER_*` variables that are configuration keys (those of `run`'s own flags aside).
fn config_env() -> Vec<(String, String)> {
    let own = cli_env_names();
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| !own.contains(k))
        .collect()
}

fn build_config(args: &RunArgs) -> Result<SnifferConfig, UsageError> {
    let text = match &args.config {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| UsageError(format!("cannot read config file {}: {e}", p.display())))?,
        None => String::new(),
    };
    let mut cfg =
        SnifferConfig::from_sources(&text, config_env()).map_err(|e| UsageError(e.to_string()))?;
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
    if args.nats_connect_retry {
        cfg.nats_connect_retry = true;
    }
    cfg.validate().map_err(|e| UsageError(e.to_string()))?;
    Ok(cfg)
}

fn run(mut args: RunArgs, signals: &Signals) -> anyhow::Result<ExitCode> {
    args.feed = feeds::join_split_feeds(std::mem::take(&mut args.feed));
    let cfg = build_config(&args)?;
    // Every check on paths and feed specs comes before anything is opened, created or started.
    feeds::check_specs(&args.feed, &args.feed_opts)?;
    if let Some(url) = &args.publish {
        sniffer::publish::Publisher::check_url(url, &sniffer::net::nats::NatsConfig::from(&cfg))
            .map_err(|e| feeds::nats_error("--publish", e))?;
    }
    stores::check(&args.stores, args.sqlite.as_deref())?;
    let mut metrics_file = match &args.metrics_json {
        Some(path) => {
            let mut taken = feeds::paths_in_use(&args.feed, &args.feed_opts);
            if let Some(db) = &args.sqlite {
                taken.push(("--sqlite", db.clone()));
            }
            Some(MetricsFile::check(path, &taken)?)
        }
        None => None,
    };
    let syn = feeds::Synthetic {
        rate: args.rate,
        duration: args.duration.unwrap_or(DEFAULT_SYNTHETIC_DURATION),
        high_pct: args.high_pct,
    };
    // The aggregates sink: decoded feeds hand it launches and trades from their own threads
    // (try_send, never blocking); the consumer hands it the fast synthetic feed's candidates.
    // The history writer takes the same trades, and every launch the consumer receives.
    let sink = stores::open_sink(&args.stores, args.sqlite.as_deref(), &cfg)?;
    let history = stores::open_history(&args.stores, &cfg)?;
    let observer = stores::observer(
        sink.as_ref().map(|s| s.handle()),
        history.as_ref().map(|h| h.handle()),
    );
    let fast_feeds: Vec<u16> = args
        .feed
        .iter()
        .enumerate()
        .filter(|(_, spec)| feeds::is_fast_synthetic(spec, &args.feed_opts))
        .map(|(i, _)| i as u16)
        .collect();
    let mut built = feeds::build(
        &args.feed,
        &args.feed_opts,
        &cfg,
        syn,
        observer.as_ref().map(|f| f as &dyn Fn() -> DecodeObserver),
    )?;

    // The publisher connects (and creates the stream) before the engine starts: an unreachable
    // server is an error here (exit 1), unless --nats-connect-retry.
    let publisher = match &args.publish {
        Some(url) => Some(
            sniffer::publish::Publisher::start(url, feeds::nats_config(&cfg))
                .map_err(|e| feeds::nats_error("--publish", e))?,
        ),
        None => None,
    };

    let mut builder = Sniffer::builder().config(cfg.clone());
    if let Some(s) = &sink {
        // The sink's metrics join the engine's snapshot, Prometheus and /health.
        builder = builder.aggregates(s.stats());
    }
    if let Some(h) = &history {
        // A ClickHouse that falls behind pauses the pull feeds, as a full ring does.
        let h = h.handle();
        builder = builder.watch_queue("history_queue", move || h.level());
    }
    let mut engine = std::mem::take(&mut built.feeds)
        .into_iter()
        .fold(builder, |b, f| b.boxed_feed(f))
        .build()?;
    let rx = engine.take_receiver().context("engine has no receiver")?;
    if let Some(p) = &publisher {
        engine.metrics_source().attach_publisher(&p.stats());
    }
    let feed_names: Vec<String> = engine
        .snapshot()
        .feeds
        .into_iter()
        .map(|f| f.name)
        .collect();
    if let Some(h) = &history {
        engine.metrics_source().attach_history(&h.stats());
        h.set_feed_names(feed_names.clone());
    }
    let mut candidates_out = match &args.candidates {
        None => None,
        Some(p) if p.as_os_str() == "-" => Some(CandidateWriter::stdout(feed_names)),
        Some(p) => Some(
            CandidateWriter::file(p, feed_names)
                .map_err(|e| UsageError(format!("--candidates {}: {e}", p.display())))?,
        ),
    };
    let metrics_to_stdout = args
        .candidates
        .as_ref()
        .is_none_or(|p| p.as_os_str() != "-");
    let _http = start_http(args.http.as_deref(), &engine)?;
    let progress = progress_bar(&args.progress, &args.feed, syn.duration);
    let received = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(ConsumerStop::default());
    let consumer = {
        let received = received.clone();
        let stop = stop.clone();
        let delay = args.consumer_delay;
        let batch = cfg.batch_size;
        let aggregates = sink
            .as_ref()
            .filter(|_| !fast_feeds.is_empty())
            .map(|s| s.handle());
        let publish = publisher.as_ref().map(|p| p.handle());
        let history_out = history.as_ref().map(|h| h.handle());
        std::thread::Builder::new()
            .name("sniffer-consumer".into())
            .spawn(move || {
                // Take a batch (one receive, then what is ready), then pause if asked; stop at
                // the end of the lanes or at the shutdown deadline, whichever comes first.
                while !stop.passed() {
                    let first = match rx.recv_timeout(ConsumerStop::POLL) {
                        Ok(c) => c,
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(_) => break,
                    };
                    let mut n = 0u64;
                    for c in std::iter::once(first).chain(rx.try_iter().take(batch - 1)) {
                        n += 1;
                        if let Some(w) = &mut candidates_out {
                            w.write(&c);
                        }
                        if let Some(h) = &aggregates {
                            if fast_feeds.contains(&c.feed_id) {
                                let _ = h.record_candidate(&c);
                            }
                        }
                        // Never blocks; a full queue is counted in publish_dropped.
                        if let Some(p) = &publish {
                            let _ = p.try_publish(&c);
                        }
                        // Never blocks; a full queue is counted in the history's `dropped`.
                        if let Some(h) = &history_out {
                            h.record_launch(&c, rx.launch_meta(&c));
                        }
                    }
                    received.fetch_add(n, Ordering::Relaxed);
                    if let Some(w) = &mut candidates_out {
                        w.flush();
                    }
                    if let Some(d) = delay {
                        stop.sleep(d);
                    }
                }
                rx
            })
            .context("spawning the consumer thread")?
    };

    // The engine's monitor thread logs the health line every `health_interval`.
    let started = Instant::now();
    let mut last_dump = Instant::now();
    let first = engine.snapshot();
    // Live feeds never finish: the run ends at --duration, or at a signal.
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
    progress.finish_and_clear();
    if signals.received() {
        tracing::info!("signal received: draining");
    }

    // The whole exit fits in graceful_shutdown_timeout: the engine and the consumer share it,
    // less a slice kept for the aggregates sink's final flush and one for the publisher's
    // last acknowledgements.
    let budget = cfg.graceful_shutdown_timeout;
    let slice = (budget / 5).min(Duration::from_secs(1));
    let sink_share = if sink.is_some() || history.is_some() {
        slice
    } else {
        Duration::ZERO
    };
    // Kept past the shutdown (it holds no part of the pipe): the consumer may still skip stale
    // candidates left in the lanes, so the final figures are read once it has finished.
    let source = engine.metrics_source();
    let publish_share = if publisher.is_some() {
        slice
    } else {
        Duration::ZERO
    };
    let engine_budget = budget.saturating_sub(sink_share + publish_share);
    let shutdown_started = Instant::now();
    stop.set(shutdown_started + engine_budget);
    let report = engine.shutdown(engine_budget);
    let rx = consumer
        .join()
        .map_err(|_| anyhow::anyhow!("consumer thread panicked"))?;
    // Every engine thread is joined: nothing more enters the lanes. What the consumer did not
    // take by the deadline was delivered by the engine (it is in `candidates_sent`) but never
    // read by this process's bot: count it, so that the check below stays exact.
    let unread = rx.try_iter().count() as u64;
    drop(rx);
    let received = received.load(Ordering::Relaxed);
    // The consumer has handed its last candidate to the publisher: what is still queued or
    // unacknowledged gets the publisher's slice, then counts as failed.
    let mut final_metrics = source.snapshot();
    if let Some(p) = publisher {
        let left = (shutdown_started + engine_budget + publish_share)
            .saturating_duration_since(Instant::now());
        let counts = p.shutdown(left);
        final_metrics.set_publish(&counts);
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
    // The history writer and the aggregates sink have the last slice (half each of what is
    // left; they run on their own threads); the final metrics carry their final counters.
    let mut failures: Vec<String> = Vec::new();
    if let Some(h) = history {
        let left = (shutdown_started + budget).saturating_duration_since(Instant::now());
        let r = h.shutdown(left / 2);
        final_metrics.history = Some(r.snapshot);
        if !r.complete {
            failures.push(format!("history rows lost at shutdown ({})", r.lost));
        }
    }
    if let Some(sink) = sink {
        let left = (shutdown_started + budget).saturating_duration_since(Instant::now());
        let r = sink.shutdown(left);
        failures.extend(stores::sink_verdict(&r));
        final_metrics.sink = Some(r.snapshot);
    }
    let m = &final_metrics;
    tracing::info!("final {}", health_line(&first, m));
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        shutdown_ms = report.elapsed.as_millis() as u64,
        delivered = report.delivered(),
        dropped_shutdown = m.dropped_shutdown,
        abandoned_high = report.high.abandoned,
        abandoned_low = report.low.abandoned,
        rejected_at_close = report.rejected_at_close,
        received,
        unread,
        "run finished"
    );
    if unread > 0 {
        tracing::warn!(
            unread,
            "the consumer stopped at the shutdown deadline: {unread} delivered candidates were \
             left unread in the output lanes"
        );
    }
    if let Some(file) = &mut metrics_file {
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
    if metrics_to_stdout {
        print_line(&m.to_json())?;
    }
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
    if !failures.is_empty() {
        let msg = failures.join("; ");
        return Err(if bad_input {
            UsageError(msg).into()
        } else {
            anyhow::anyhow!(msg)
        });
    }
    Ok(ExitCode::SUCCESS)
}

/// When the CLI's consumer stops: at the end of the lanes, or at the shutdown deadline, so that
/// a slow (or stuck) consumer cannot hold the exit past `graceful_shutdown_timeout`.
#[derive(Debug, Default)]
struct ConsumerStop {
    deadline: std::sync::OnceLock<Instant>,
    lock: std::sync::Mutex<()>,
    cv: std::sync::Condvar,
}

impl ConsumerStop {
    /// Longest wait of one receive, so the deadline is noticed while the lanes are idle.
    const POLL: Duration = Duration::from_millis(20);

    fn set(&self, at: Instant) {
        let _ = self.deadline.set(at);
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.cv.notify_all();
    }

    fn passed(&self) -> bool {
        self.deadline.get().is_some_and(|d| Instant::now() >= *d)
    }

    /// Sleeps `d`, cut short by the deadline.
    fn sleep(&self, d: Duration) {
        let until = Instant::now() + d;
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let now = Instant::now();
            let end = match self.deadline.get() {
                Some(dl) => until.min(*dl),
                None => until,
            };
            if now >= end {
                return;
            }
            guard = self
                .cv
                .wait_timeout(guard, end - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

fn query(db: &Path, window: &str, limit: usize) -> anyhow::Result<ExitCode> {
    let window = match window {
        "1m" => Window::M1,
        "1h" => Window::H1,
        _ => Window::M5,
    };
    let rows = match db.to_str().filter(|s| s.starts_with("postgres")) {
        Some(url) => stores::query_postgres(url, window, limit)?,
        None => AggregateStore::open_read_only(db)
            .map_err(|e| UsageError(format!("{}: {e}", db.display())))?
            .top_by_buy_volume(window, limit)?,
    };
    for row in rows {
        print_line(&serde_json::to_string(&row)?)?;
    }
    Ok(ExitCode::SUCCESS)
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

/// `--candidates`: one JSON line per delivered candidate (what a buy needs: mint, creator,
/// signature, market and its token account, token program, the creator's buy; score, priority,
/// feed and detect-to-deliver latency), on the consumer thread. A write error
/// (a closed pipe, a full disk) stops the writing, once, with a warning; consuming goes on.
struct CandidateWriter {
    out: Option<Box<dyn std::io::Write + Send>>,
    feeds: Vec<String>,
}

impl CandidateWriter {
    fn stdout(feeds: Vec<String>) -> Self {
        CandidateWriter {
            out: Some(Box::new(std::io::BufWriter::new(std::io::stdout()))),
            feeds,
        }
    }

    fn file(path: &Path, feeds: Vec<String>) -> std::io::Result<Self> {
        let f = std::fs::File::create(path)?;
        Ok(CandidateWriter {
            out: Some(Box::new(std::io::BufWriter::new(f))),
            feeds,
        })
    }

    fn write(&mut self, c: &sniffer::PremintCandidate) {
        let Some(out) = &mut self.out else { return };
        let latency_ns = sniffer::monotonic_ns().saturating_sub(c.detected_at_ns);
        let v = serde_json::json!({
            "mint": c.mint,
            "creator": c.creator,
            "kind": c.kind,
            "slot": c.slot,
            "signature": c.signature,
            "market": c.market,
            // Derived for logs-only pump.fun launches (off the hot path: this is the bot).
            "market_token_account": c.associated_bonding_curve().unwrap_or(c.market_token_account),
            "token_program": c.token_program,
            "creator_buy_lamports": c.creator_buy_lamports,
            "creator_buy_tokens": c.creator_buy_tokens,
            "score": c.score,
            "priority": c.priority,
            "received_unix_ns": c.received_unix_ns,
            "feed": self.feeds.get(usize::from(c.feed_id)),
            "latency_ns": latency_ns,
        });
        let r = serde_json::to_writer(&mut *out, &v).map_err(std::io::Error::from);
        if let Err(e) = r.and_then(|()| out.write_all(b"\n")) {
            self.fail(&e);
        }
    }

    fn flush(&mut self) {
        if let Some(Err(e)) = self.out.as_mut().map(|o| o.flush()) {
            self.fail(&e);
        }
    }

    fn fail(&mut self, e: &std::io::Error) {
        tracing::warn!(error = %e, "writing candidates failed; no more are written");
        self.out = None;
    }
}

/// One line on who won the race between feeds (two or more): each feed's wins, share and lead
/// over the later copies.
fn race_summary(m: &sniffer::MetricsSnapshot) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_has_an_environment_fallback() {
        use clap::CommandFactory;
        let mut missing = Vec::new();
        for sub in Cli::command().get_subcommands() {
            for arg in sub.get_arguments() {
                let id = arg.get_id().as_str();
                if arg.is_positional() || matches!(id, "help" | "version") {
                    continue;
                }
                if arg.get_env().is_none() {
                    missing.push(format!("{} --{id}", sub.get_name()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "flags without SNIFFER_* fallback: {missing:?}"
        );
    }

    #[test]
    fn commas_inside_a_feed_survive_the_comma_split_of_feed() {
        let split = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            feeds::join_split_feeds(split(&[
                "nats://a:1",
                "b:2",
                "c:3/S?durable=x",
                "synthetic",
                "nats+core://d",
                "e/sniffer.launch.>",
                "replay:f",
                "g",
                "wss://g/h?api-key=a",
                "b",
                "ws://i/",
                "stdin",
            ])),
            split(&[
                "nats://a:1,b:2,c:3/S?durable=x",
                "synthetic",
                "nats+core://d,e/sniffer.launch.>",
                "replay:f,g",
                "wss://g/h?api-key=a,b",
                "ws://i/",
                "stdin",
            ])
        );
    }

    #[test]
    fn signals_within_the_window_are_one_request() {
        let s = Signals::default();
        assert!(!s.received());
        assert_eq!(s.arrived(), SignalVerdict::First);
        assert!(s.received());
        assert_eq!(s.arrived(), SignalVerdict::SameBurst);
        assert_eq!(s.arrived(), SignalVerdict::SameBurst);
        // A signal a second after the first one is a new request: exit at once.
        let earlier = Signals {
            first: AtomicU64::new(1),
            epoch: Instant::now()
                .checked_sub(Duration::from_secs(1))
                .expect("the clock is past one second"),
        };
        assert_eq!(earlier.arrived(), SignalVerdict::Again);
    }
}
