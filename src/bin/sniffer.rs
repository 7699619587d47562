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
use sniffer::sink::{AggregateStore, Window};
use sniffer::SnifferConfig;

// A crate root resolves `mod` paths from its own directory (src/bin/), hence the explicit path.
#[path = "sniffer/consumer.rs"]
mod consumer;
#[path = "sniffer/feeds.rs"]
mod feeds;
#[path = "sniffer/kafka.rs"]
mod kafka;
#[path = "sniffer/metrics_file.rs"]
mod metrics_file;
#[path = "sniffer/run.rs"]
mod run;
#[path = "sniffer/stores.rs"]
mod stores;

#[derive(Parser, Debug)]
#[command(
    name = "sniffer",
    version,
    about = "Lock-free Solana token-launch sniffer engine"
)]
struct Cli {
    /// Log format on stderr: `text`, or `json` (one JSON object per line, the same fields).
    #[arg(long, global = true, env = "SNIFFER_LOG_FORMAT", default_value = "text",
          value_parser = ["text", "json"])]
    log_format: String,
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
  sniffer run --feed wss://... --publish kafka://127.0.0.1:9092/launches        the same through Kafka
  sniffer run --feed 'kafka://127.0.0.1:9092/launches?group=bot1'              (SASL: SNIFFER_KAFKA_USER/_PASSWORD)

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
    /// --subscribe), `grpc://HOST:PORT`, `grpcs://...` (Yellowstone), `shred://HOST:PORT`,
    /// `shreds://...` (a Jito ShredStream proxy: launches before they execute), or NATS:
    /// `nats://HOST[:PORT][,HOST...]/STREAM[?durable=NAME&deliver=new|all&filter=SUBJECT]` (a
    /// JetStream pull consumer: paused by backpressure, acknowledged once in the ring),
    /// `nats+core://HOST[:PORT]/SUBJECT` (a core-NATS subscription: live, drops counted when
    /// full), or Kafka: `kafka://BROKER[:PORT][,BROKER...]/TOPIC?group=NAME[&format=lines]
    /// [&offset=earliest]` (a consumer group member: paused natively by backpressure, offsets
    /// committed once in the ring; `kafka+tls://` for TLS); repeat for several feeds at once
    /// (launches deduplicated across them, first sighting wins: race two providers). Yellowstone
    /// also as `grpc+https://` and `grpc+http://`, with `?compression=zstd|gzip`. Default: the
    /// config file's [[feeds]] tables (per-feed x-token, kind, compression), else `synthetic`.
    #[arg(
        long,
        env = "SNIFFER_FEED",
        hide_env_values = true,
        value_delimiter = ','
    )]
    feed: Vec<String>,
    #[command(flatten)]
    feed_opts: feeds::FeedArgs,
    /// Synthetic feed rate in candidates per second (0 = flat out).
    #[arg(long, env = "SNIFFER_RATE", default_value_t = 100_000)]
    rate: u64,
    /// How long to run (humantime: 3s, 500ms): the synthetic feed generates for this long
    /// (default 3s); live feeds (ws://, grpc://, shred://) are read until then (default: until
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
    /// Busy-poll for a dedicated core: the feed threads never sleep (a WebSocket feed reads its
    /// socket without waiting in the kernel, a gRPC or ShredStream feed its stream without
    /// waiting on its runtime) and the bot's receiver spins; each keeps a core
    /// busy [config: busy_poll].
    #[arg(long, env = "SNIFFER_BUSY_POLL", action = clap::ArgAction::SetTrue,
          value_parser = clap::builder::BoolishValueParser::new())]
    busy_poll: bool,
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
    /// in the URL, or SNIFFER_NATS_USER / SNIFFER_NATS_PASSWORD / SNIFFER_NATS_TOKEN. Or Kafka:
    /// `kafka://BROKER[:PORT][,BROKER...]/TOPIC` (idempotent, acks=all, key = mint:signature;
    /// SASL from SNIFFER_KAFKA_USER / SNIFFER_KAFKA_PASSWORD / SNIFFER_KAFKA_SASL_MECHANISM).
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
    let json = cli.log_format == "json";
    match log_filter() {
        Ok(filter) => init_logs(filter, json),
        Err(e) => {
            say(format_args!("error: {e}"));
            return ExitCode::from(2);
        }
    }
    let result = match cli.command {
        Command::Run(args) => run::run(args, &signals),
        Command::CheckConfig { file } => check_config(&file),
        Command::Decode(args) => feeds::decode(&args),
        Command::Query { db, window, limit } => query(&db, &window, limit),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let code = if e.downcast_ref::<UsageError>().is_some() {
                2
            } else {
                1
            };
            if json {
                tracing::error!(exit_code = code, "error: {e:#}");
            } else {
                say(format_args!("error: {e:#}"));
            }
            ExitCode::from(code)
        }
    }
}

/// Logs on stderr: plain text (colour codes only for a terminal), or one JSON object per line
/// with the event's fields at the top level.
fn init_logs(filter: tracing_subscriber::EnvFilter, json: bool) {
    use std::io::IsTerminal;
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    if json {
        logs.json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init()
    } else {
        logs.with_ansi(std::io::stderr().is_terminal()).init()
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
    "rdkafka",
    "librdkafka",
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
    let cfg = SnifferConfig::from_sources(&text, config_env())
        .and_then(|c| c.validate().map(|()| c))
        .map_err(|e| UsageError(format!("{}: {e}", file.display())))?;
    // The `[[feeds]]` as `run` reads them: their kinds, their token variables and files.
    feeds::resolve(&[], &cfg).map_err(|e| UsageError(format!("{}: {}", file.display(), e.0)))?;
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
    if args.busy_poll {
        cfg.busy_poll = true;
    }
    if args.nats_connect_retry {
        cfg.nats_connect_retry = true;
    }
    if let Some(l) = args.feed_opts.launchpads {
        cfg.launchpads = l;
    }
    cfg.validate().map_err(|e| UsageError(e.to_string()))?;
    Ok(cfg)
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
