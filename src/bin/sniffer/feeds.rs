//! Feed construction for `sniffer run --feed ...` and the `sniffer decode FILE` command.
//!
//! Feed specs: `synthetic` (the fast candidate generator; `--synthetic payloads` switches it to
//! real-format lines), `synthetic:payloads`, `replay:PATH` (a recording at its recorded pace
//! times `--speed`, a plain JSON-lines file flat out or at `--plain-rate`), `stdin`, the live
//! providers (`ws://`, `wss://`, `grpc://`, `grpcs://`, `grpc+http://`, `grpc+https://`,
//! ShredStream `shred://`, `shreds://`) and NATS (`nats://HOST/STREAM`, a JetStream pull
//! consumer; `nats+core://HOST/SUBJECT`) and Kafka (`kafka://BROKER/TOPIC?group=NAME`, see
//! `kafka.rs`). `--feed` may be repeated: the engine
//! then deduplicates launches across feeds (first sighting wins).
//!
//! The feeds come from `--feed`, or else from the config file's `[[feeds]]` tables, which add
//! what a URL should not carry: a gRPC feed's own `x-token` (`x_token_env`, `token_file`), its
//! `kind` (`https://` is a gRPC endpoint with `kind = "grpc"`) and its `compression`.
//! [`kind_of`] is the one place a spec's kind is chosen.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};
use sniffer::feed::{CoreNatsFeed, JetStreamFeed};
use sniffer::net::nats::{NatsAuth, NatsConfig, NatsError};
use sniffer::{
    config::{Compression, FeedEntry, FeedKind, Launchpads},
    decode::{DecoderConfig, Format, Malformed, MAX_LINE_LEN},
    feed::{
        DecodeObserver, Feed, GeyserConfig, GeyserFeed, LineFeed, LinePoll, LineSource,
        PayloadConfig, ReplayConfig, ReplaySource, ShredConfig, ShredFeed, Subscription,
        SyntheticConfig, SyntheticFeed, WsConfig,
    },
    SnifferConfig,
};

use super::UsageError;

/// What `--feed synthetic` generates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum SyntheticKind {
    /// Candidates straight into the ring (no decoding): the load generator.
    Fast,
    /// Real-format lines through the decoder.
    Payloads,
}

/// Options of the line-based feeds.
#[derive(Args, Debug)]
pub(crate) struct FeedArgs {
    /// Input format of decoded feeds.
    #[arg(long, env = "SNIFFER_FORMAT", default_value = "auto", value_parser = parse_format)]
    format: Format,
    /// Replay pace multiplier (1 = as recorded, 0 = flat out).
    #[arg(long, env = "SNIFFER_SPEED", default_value_t = 1.0)]
    speed: f64,
    /// Lines per second for plain (unrecorded) replay files, times --speed; 0 = flat out.
    #[arg(long, env = "SNIFFER_PLAIN_RATE", default_value_t = 0)]
    plain_rate: u64,
    /// Record what each decoded feed received, with receive times (PATH, or PATH.<id> with
    /// several feeds); replay it with --feed replay:PATH.
    #[arg(long, env = "SNIFFER_RECORD")]
    record: Option<PathBuf>,
    /// What `--feed synthetic` generates.
    #[arg(long, env = "SNIFFER_SYNTHETIC", value_enum, default_value = "fast")]
    synthetic: SyntheticKind,
    /// Percentage of malformed lines of the payload generator.
    #[arg(long, env = "SNIFFER_MALFORMED_PCT", default_value_t = 0.0)]
    malformed_pct: f64,
    /// Payload bursts: one every this often (humantime).
    #[arg(long, env = "SNIFFER_BURST_EVERY", value_parser = humantime::parse_duration)]
    burst_every: Option<Duration>,
    /// Length of each payload burst.
    #[arg(long, env = "SNIFFER_BURST_LEN", default_value = "100ms", value_parser = humantime::parse_duration)]
    burst_len: Duration,
    /// Rate multiplier during a payload burst.
    #[arg(long, env = "SNIFFER_BURST_FACTOR", default_value_t = 10)]
    burst_factor: u32,
    /// Seed of the synthetic generators.
    #[arg(long, env = "SNIFFER_SEED", default_value_t = 0x5eed_cafe)]
    seed: u64,
    /// Longest input line accepted, bytes; longer lines are skipped and counted as too_long.
    #[arg(long, env = "SNIFFER_MAX_LINE_LEN", default_value_t = MAX_LINE_LEN)]
    max_line_len: usize,
    /// WebSocket subscriptions (repeatable, all on each ws:// feed's connection):
    /// `logs:PROGRAM` (logsSubscribe mentions), `transactions:ACCOUNT[,ACCOUNT...]` (Helius
    /// transactionSubscribe, jsonParsed), `blocks:ACCOUNT` (blockSubscribe). Default: one
    /// `logs:` per program of --launchpads.
    #[arg(long = "subscribe", env = "SNIFFER_SUBSCRIBE", value_delimiter = ';', value_parser = parse_subscription)]
    subscribe: Vec<Subscription>,
    /// Launch programs the live feeds watch by default (the `launchpads` key): `all` or names
    /// separated by commas: pump, pumpswap, raydium, launchlab, dbc, moonshot, boop, cpmm, damm.
    #[arg(long, env = "SNIFFER_LAUNCHPADS", value_parser = parse_launchpads)]
    pub(crate) launchpads: Option<Launchpads>,
}

fn parse_launchpads(s: &str) -> Result<Launchpads, String> {
    s.parse()
}

fn parse_subscription(s: &str) -> Result<Subscription, String> {
    s.parse()
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::from_name(s).ok_or_else(|| format!("unknown format `{s}` (auto, logs, tx, block)"))
}

/// True for the feeds that produce candidates without decoding (no launch metadata, no trades).
pub(crate) fn is_fast_synthetic(spec: &str, args: &FeedArgs) -> bool {
    spec == "synthetic" && args.synthetic == SyntheticKind::Fast
}

/// What a feed spec names (see [`kind_of`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `synthetic`: fast or payloads, as `--synthetic` says.
    Synthetic,
    Payloads,
    Stdin,
    Replay,
    Kafka,
    Nats,
    Ws,
    Grpc,
    /// `shred://`, `shreds://`: a Jito ShredStream proxy.
    Shred,
}

/// The schemes that are gRPC whatever the `kind`.
const GRPC_SCHEMES: &[&str] = &["grpc://", "grpcs://", "grpc+http://", "grpc+https://"];

/// The kind of `spec`, with a `[[feeds]]` entry's `kind` when it has one: the one place a feed
/// spec's kind is chosen (a new kind of feed is a row here and an arm in [`build`]).
///
/// # Errors
///
/// A spec that names no feed, an `http(s)://` URL without `kind` (the error says how to name
/// it), or a `kind` the spec contradicts. The messages never repeat more than a scheme.
pub(crate) fn kind_of(spec: &str, declared: Option<FeedKind>) -> Result<Kind, UsageError> {
    let any = |list: &[&str]| list.iter().any(|p| has_prefix(spec, p));
    let http = any(&["http://", "https://"]);
    let kind = match spec {
        "synthetic" => Kind::Synthetic,
        "synthetic:payloads" => Kind::Payloads,
        "stdin" => Kind::Stdin,
        s if s.len() > "replay:".len() && s.starts_with("replay:") => Kind::Replay,
        s if super::kafka::is_kafka(s) => Kind::Kafka,
        s if is_nats(s) => Kind::Nats,
        _ if any(&["ws://", "wss://"]) => Kind::Ws,
        _ if any(&["shred://", "shreds://"]) => Kind::Shred,
        _ if any(GRPC_SCHEMES) || (http && declared == Some(FeedKind::Grpc)) => Kind::Grpc,
        _ if http && declared.is_none() => return Err(http_needs_a_kind(spec)),
        // `http(s)://` with another kind: the mismatch below says so.
        _ if http => Kind::Grpc,
        _ => return Err(unknown_feed(spec)),
    };
    let wanted = declared.map(|k| match k {
        FeedKind::Grpc => Kind::Grpc,
        FeedKind::Ws => Kind::Ws,
    });
    match declared {
        Some(k) if wanted != Some(kind) => Err(UsageError(format!(
            "`{}` is not a {} feed (kind = \"{}\")",
            shown_scheme(spec),
            k.as_str(),
            k.as_str()
        ))),
        _ => Ok(kind),
    }
}

/// `scheme://…` of a URL (what an error may show of it).
fn shown_scheme(spec: &str) -> String {
    let shown = spec.split([':', '?', '/', '@']).next().unwrap_or_default();
    format!("{shown}://…")
}

/// `http://` and `https://` are every provider's: the error says how to name a gRPC feed.
fn http_needs_a_kind(spec: &str) -> UsageError {
    let s = shown_scheme(spec);
    UsageError(format!(
        "`{s}` does not say which kind of feed it is: a Yellowstone gRPC endpoint is \
         `grpc+{s}` (or `url = \"{s}\"` with `kind = \"grpc\"` in a [[feeds]] table of \
         the config file); a WebSocket endpoint is `ws://` or `wss://`"
    ))
}

/// One feed of the run: its spec as `--feed` takes it, its kind, and the options of its
/// `[[feeds]]` entry.
pub(crate) struct FeedSpec {
    pub(crate) spec: String,
    pub(crate) kind: Kind,
    /// The gRPC `x-token` of this feed (secret: never shown).
    x_token: Option<String>,
    compression: Compression,
}

impl std::fmt::Debug for FeedSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedSpec")
            .field("kind", &self.kind)
            .field("x_token", &self.x_token.as_ref().map(|_| "<redacted>"))
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

/// The feeds of the run: `--feed` (replacing the file's `[[feeds]]`, with a warning), else the
/// `[[feeds]]` tables with their tokens read, else `synthetic`. Checked before anything starts.
///
/// # Errors
///
/// A spec of no known kind, a token variable that is not set or a token file that cannot be
/// read (named, never its content), gRPC options on a feed that is not gRPC.
pub(crate) fn resolve(flags: &[String], cfg: &SnifferConfig) -> Result<Vec<FeedSpec>, UsageError> {
    if !flags.is_empty() {
        if !cfg.feeds.is_empty() {
            tracing::warn!(
                file_feeds = cfg.feeds.len(),
                "--feed (or SNIFFER_FEED) given: the config file's [[feeds]] are not used"
            );
        }
        return flags.iter().map(|s| plain(s)).collect();
    }
    if cfg.feeds.is_empty() {
        return Ok(vec![plain("synthetic")?]);
    }
    cfg.feeds
        .iter()
        .enumerate()
        .map(|(i, e)| from_entry(i + 1, e))
        .collect()
}

/// A feed of `--feed`: its spec alone.
fn plain(spec: &str) -> Result<FeedSpec, UsageError> {
    Ok(FeedSpec {
        kind: kind_of(spec, None)?,
        spec: spec.to_owned(),
        x_token: None,
        compression: Compression::None,
    })
}

/// `[[feeds]]` entry `n` as a feed of the run.
fn from_entry(n: usize, e: &FeedEntry) -> Result<FeedSpec, UsageError> {
    let at = |why: String| UsageError(format!("[[feeds]] entry {n}: {why}"));
    let kind = kind_of(&e.url, e.kind).map_err(|UsageError(why)| at(why))?;
    if kind != Kind::Grpc
        && (e.x_token_env.is_some() || e.token_file.is_some() || e.compression.is_some())
    {
        return Err(at(
            "`x_token_env`, `token_file` and `compression` are for gRPC feeds".into(),
        ));
    }
    Ok(FeedSpec {
        spec: e.url.clone(),
        kind,
        x_token: entry_token(e).map_err(at)?,
        compression: e.compression.unwrap_or_default(),
    })
}

/// The token an entry names, read now: from its `x_token_env` variable or its `token_file`
/// (surrounding whitespace trimmed). Errors name the variable or the file, never the token.
fn entry_token(e: &FeedEntry) -> Result<Option<String>, String> {
    let token = if let Some(var) = &e.x_token_env {
        match std::env::var(var) {
            Ok(t) => t,
            Err(std::env::VarError::NotPresent) => {
                return Err(format!("x_token_env: the variable {var} is not set"))
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(format!(
                    "x_token_env: the variable {var} is not valid UTF-8"
                ))
            }
        }
    } else if let Some(path) = &e.token_file {
        std::fs::read_to_string(path)
            .map_err(|err| format!("token_file {}: {err}", path.display()))?
    } else {
        return Ok(None);
    };
    let token = token.trim();
    if token.is_empty() {
        let from = match &e.x_token_env {
            Some(var) => format!("x_token_env: the variable {var}"),
            None => format!(
                "token_file {}",
                e.token_file.as_deref().unwrap_or(Path::new("")).display()
            ),
        };
        return Err(format!("{from} is empty"));
    }
    Ok(Some(token.to_owned()))
}

/// True for the NATS feeds (they run until the duration or a signal).
pub(crate) fn is_nats(spec: &str) -> bool {
    ["nats://", "nats+core://"]
        .iter()
        .any(|p| has_prefix(spec, p))
}

fn has_prefix(spec: &str, p: &str) -> bool {
    spec.len() >= p.len()
        && spec.is_char_boundary(p.len())
        && spec[..p.len()].eq_ignore_ascii_case(p)
}

/// `--feed` splits its values on commas, but a comma can belong to a feed: a NATS URL's host
/// list (`nats://a:4222,b:4222/SNIFFER`), a URL's query (`?api-key=a,b`: cut there, the tail
/// of the key would be taken for an unknown feed) or a replay path. The pieces after such a spec
/// that are no feed of their own (every other spec has a scheme or is a bare keyword) are
/// joined back to it.
pub(crate) fn join_split_feeds(specs: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(specs.len());
    for s in specs {
        let is_own_feed = s.contains("://")
            || matches!(s.as_str(), "synthetic" | "synthetic:payloads" | "stdin")
            || s.starts_with("replay:");
        let takes_commas = |p: &str| {
            is_nats(p) || super::kafka::is_kafka(p) || p.contains('?') || p.starts_with("replay:")
        };
        match out.last_mut() {
            Some(prev) if !is_own_feed && takes_commas(prev) => {
                prev.push(',');
                prev.push_str(&s);
            }
            _ => out.push(s),
        }
    }
    out
}

/// Environment variables holding NATS credentials (never flags: flags show in `ps`); a URL's
/// own `user:pass@` or `token@` wins over them.
pub(crate) const NATS_TOKEN_ENV: &str = "SNIFFER_NATS_TOKEN";
pub(crate) const NATS_USER_ENV: &str = "SNIFFER_NATS_USER";
pub(crate) const NATS_PASSWORD_ENV: &str = "SNIFFER_NATS_PASSWORD";

/// The NATS settings of `cfg`, with the credentials of the environment.
pub(crate) fn nats_config(cfg: &SnifferConfig) -> NatsConfig {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let auth = match (
        var(NATS_USER_ENV),
        var(NATS_PASSWORD_ENV),
        var(NATS_TOKEN_ENV),
    ) {
        (Some(user), Some(password), _) => NatsAuth::UserPassword { user, password },
        (_, _, Some(token)) => NatsAuth::Token(token),
        _ => NatsAuth::None,
    };
    NatsConfig {
        auth,
        ..NatsConfig::from(cfg)
    }
}

/// A NATS error as the CLI reports it: a bad URL is bad usage (exit 2), an unreachable or
/// refusing server a runtime failure (exit 1).
pub(crate) fn nats_error(what: &str, e: NatsError) -> anyhow::Error {
    match e {
        NatsError::Url(m) => UsageError(format!("{what}: {m}")).into(),
        other => anyhow::anyhow!("{what}: {other}"),
    }
}

/// The synthetic settings that `run` already had.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Synthetic {
    pub(crate) rate: u64,
    pub(crate) duration: Duration,
    pub(crate) high_pct: u8,
}

impl FeedArgs {
    fn decoder(&self) -> DecoderConfig {
        DecoderConfig {
            format: self.format,
            max_line_len: self.max_line_len,
            ..DecoderConfig::default()
        }
    }
}

/// The replay files named by `specs`.
fn replay_paths(specs: &[String]) -> impl Iterator<Item = &Path> {
    specs
        .iter()
        .filter_map(|s| s.strip_prefix("replay:"))
        .filter(|p| !p.is_empty())
        .map(Path::new)
}

/// The file `--record` writes for feed `i` of `n` (PATH, or PATH.<i> with several feeds).
fn record_path(base: &Path, i: usize, n: usize) -> PathBuf {
    if n > 1 {
        PathBuf::from(format!("{}.{i}", base.display()))
    } else {
        base.to_path_buf()
    }
}

/// Checks the feed specs against each other before anything is opened: one `stdin` at most
/// (two readers of one stream tear its lines apart), and no `--record` file that is also a
/// replayed input (recording truncates it while the replay reads it).
pub(crate) fn check_specs(specs: &[String], args: &FeedArgs) -> Result<(), UsageError> {
    if specs.iter().filter(|s| s.as_str() == "stdin").count() > 1 {
        return Err(UsageError(
            "--feed stdin given more than once: standard input can be read by one feed only".into(),
        ));
    }
    if let Some(base) = &args.record {
        for i in 0..specs.len() {
            let rec = record_path(base, i, specs.len());
            let rec_resolved = super::metrics_file::resolved(&rec);
            if let Some(input) =
                replay_paths(specs).find(|p| super::metrics_file::resolved(p) == rec_resolved)
            {
                return Err(UsageError(format!(
                    "--record {} would overwrite the replayed input {}",
                    rec.display(),
                    input.display()
                )));
            }
        }
    }
    Ok(())
}

/// The files the feeds read or write, as `(flag, path)`, for other outputs to stay clear of.
pub(crate) fn paths_in_use(specs: &[String], args: &FeedArgs) -> Vec<(&'static str, PathBuf)> {
    let mut v: Vec<(&'static str, PathBuf)> = replay_paths(specs)
        .map(|p| ("--feed replay:", p.to_path_buf()))
        .collect();
    if let Some(base) = &args.record {
        for i in 0..specs.len() {
            v.push(("--record", record_path(base, i, specs.len())));
        }
    }
    v
}

/// A replay source that keeps the read error that ended it where the CLI can see it after the
/// run (the engine owns the feed until then).
struct WatchedReplay {
    inner: ReplaySource,
    error: ReplayError,
}

/// Where a replay leaves the read error that ended it.
type ReplayError = Arc<Mutex<Option<std::io::Error>>>;

impl LineSource for WatchedReplay {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn next_line(&mut self, buf: &mut Vec<u8>) -> LinePoll {
        let poll = self.inner.next_line(buf);
        if poll == LinePoll::Finished {
            if let Some(e) = self.inner.read_error() {
                let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
                if slot.is_none() {
                    *slot = Some(std::io::Error::new(e.kind(), e.to_string()));
                }
            }
        }
        poll
    }
}

/// The feeds of a run, and where the replays report a read error that ended them early.
pub(crate) struct Built {
    pub(crate) feeds: Vec<Box<dyn Feed>>,
    replays: Vec<(String, ReplayError)>,
}

impl Built {
    /// `(feed spec, error)` for every replay that ended on a read error (or a corrupt
    /// recording).
    pub(crate) fn replay_errors(&self) -> Vec<(String, std::io::Error)> {
        self.replays
            .iter()
            .filter_map(|(name, slot)| {
                let e = slot.lock().unwrap_or_else(|p| p.into_inner()).take()?;
                Some((name.clone(), e))
            })
            .collect()
    }
}

/// Builds the feeds named by `specs`; each decoded feed gets an observer from `observer` (the
/// aggregates sink's tap), when one is given. NATS feeds connect here: a server that cannot be
/// reached is a runtime error (exit 1), any other problem bad usage (exit 2).
pub(crate) fn build(
    specs: &[FeedSpec],
    args: &FeedArgs,
    cfg: &SnifferConfig,
    syn: Synthetic,
    observer: Option<&dyn Fn() -> DecodeObserver>,
) -> anyhow::Result<Built> {
    check_args(args)?;
    let ctx = Ctx {
        args,
        cfg,
        syn,
        observer,
        count: specs.len(),
    };
    let mut built = Built {
        feeds: Vec::new(),
        replays: Vec::new(),
    };
    for (i, f) in specs.iter().enumerate() {
        let s = f.spec.as_str();
        let feed = match f.kind {
            Kind::Synthetic if args.synthetic == SyntheticKind::Fast => ctx.fast_synthetic()?,
            Kind::Synthetic | Kind::Payloads => ctx.tap(i, ctx.payloads())?,
            Kind::Stdin => {
                let feed = LineFeed::stdin(args.decoder())
                    .map_err(|e| UsageError(format!("stdin feed: {e}")))?;
                ctx.tap(i, feed)?
            }
            Kind::Kafka => {
                let record = args.record.as_ref().map(|b| record_path(b, i, specs.len()));
                let decoder = args.decoder();
                super::kafka::feed(s, i, decoder, cfg, observer, record.as_deref())?
            }
            Kind::Nats => ctx.nats(i, s)?,
            Kind::Ws => ctx.tap(i, ctx.websocket(i, s)?)?,
            Kind::Grpc => ctx.tap(i, ctx.grpc(i, f)?)?,
            Kind::Shred => ctx.shred(i, s)?,
            Kind::Replay => {
                let (feed, error) = ctx.replay(&s["replay:".len()..])?;
                built.replays.push((f.spec.clone(), error));
                ctx.tap(i, feed)?
            }
        };
        built.feeds.push(feed);
    }
    Ok(built)
}

/// The feed options every feed kind shares, checked once before any feed is built.
fn check_args(args: &FeedArgs) -> Result<(), UsageError> {
    if !(args.speed.is_finite() && args.speed >= 0.0) {
        return Err(UsageError(format!(
            "--speed must be >= 0, got {}",
            args.speed
        )));
    }
    if !(0.0..=100.0).contains(&args.malformed_pct) {
        return Err(UsageError(format!(
            "--malformed-pct must be in 0..=100, got {}",
            args.malformed_pct
        )));
    }
    if args.max_line_len == 0 {
        return Err(UsageError("--max-line-len must be > 0".into()));
    }
    Ok(())
}

/// The error for a spec that names no feed kind. It shows only what precedes a colon, path or
/// query: a mistyped URL may carry a key or `user:pass@`.
fn unknown_feed(spec: &str) -> UsageError {
    let shown = spec.split([':', '?', '/', '@']).next().unwrap_or_default();
    UsageError(format!(
        "unknown feed `{shown}…` (synthetic, synthetic:payloads, replay:PATH, stdin, \
         ws://HOST/PATH, wss://HOST/PATH, grpc://HOST:PORT, grpcs://HOST:PORT, \
         grpc+http://HOST:PORT, grpc+https://HOST[:PORT], shred://HOST:PORT, \
         shreds://HOST:PORT, nats://HOST:PORT/STREAM, nats+core://HOST:PORT/SUBJECT, \
         kafka://BROKER/TOPIC?group=NAME)"
    ))
}

/// A decoded feed: the aggregates sink's observer and `--record` attach to it.
trait DecodedFeed: Feed + Sized + 'static {
    fn with_observer(self, observer: DecodeObserver) -> Self;
    fn record_to(self, path: &Path) -> std::io::Result<Self>;
}

impl DecodedFeed for LineFeed {
    fn with_observer(self, observer: DecodeObserver) -> Self {
        LineFeed::with_observer(self, observer)
    }

    fn record_to(self, path: &Path) -> std::io::Result<Self> {
        LineFeed::record_to(self, path)
    }
}

impl DecodedFeed for GeyserFeed {
    fn with_observer(self, observer: DecodeObserver) -> Self {
        GeyserFeed::with_observer(self, observer)
    }

    fn record_to(self, path: &Path) -> std::io::Result<Self> {
        GeyserFeed::record_to(self, path)
    }
}

/// What building one feed of a run needs besides its spec.
struct Ctx<'a> {
    args: &'a FeedArgs,
    cfg: &'a SnifferConfig,
    syn: Synthetic,
    observer: Option<&'a dyn Fn() -> DecodeObserver>,
    /// Feeds in the run (`--record` numbers its files when there are several).
    count: usize,
}

impl Ctx<'_> {
    /// Decoded feed `i` with the sink's observer and the `--record` file attached, when asked.
    fn tap<F: DecodedFeed>(&self, i: usize, feed: F) -> Result<Box<dyn Feed>, UsageError> {
        let feed = match self.observer {
            Some(make) => feed.with_observer(make()),
            None => feed,
        };
        let feed = match &self.args.record {
            Some(base) => {
                let path = record_path(base, i, self.count);
                feed.record_to(&path)
                    .map_err(|e| UsageError(format!("cannot create {}: {e}", path.display())))?
            }
            None => feed,
        };
        Ok(Box::new(feed))
    }

    /// `--record` asks for lines, which `what` does not have.
    fn refuse_record(&self, what: &str) -> Result<(), UsageError> {
        match self.args.record {
            Some(_) => Err(UsageError(format!(
                "--record needs a decoded feed ({what})"
            ))),
            None => Ok(()),
        }
    }

    /// `synthetic`: candidates straight into the ring, no decoding.
    fn fast_synthetic(&self) -> Result<Box<dyn Feed>, UsageError> {
        self.refuse_record("the fast synthetic feed has no lines; use --synthetic payloads")?;
        Ok(Box::new(SyntheticFeed::new(SyntheticConfig {
            rate: self.syn.rate,
            duration: self.syn.duration,
            max_candidates: None,
            high_pct: self.syn.high_pct,
            seed: self.args.seed,
        })))
    }

    /// `synthetic:payloads`: real-format lines through the decoder.
    fn payloads(&self) -> LineFeed {
        let args = self.args;
        LineFeed::payloads(
            PayloadConfig {
                seed: args.seed,
                rate: self.syn.rate,
                duration: self.syn.duration,
                max_lines: None,
                burst_every: args.burst_every,
                burst_len: args.burst_len,
                burst_factor: args.burst_factor,
                malformed_pct: args.malformed_pct,
                ..PayloadConfig::default()
            },
            args.decoder(),
        )
    }

    /// `nats://` (JetStream) or `nats+core://`: candidates, connected here. Errors name the
    /// servers and the stream, never the credentials.
    fn nats(&self, i: usize, spec: &str) -> anyhow::Result<Box<dyn Feed>> {
        self.refuse_record("NATS feeds carry candidates, not lines")?;
        let ncfg = nats_config(self.cfg);
        Ok(if has_prefix(spec, "nats+core://") {
            Box::new(
                CoreNatsFeed::new(spec, ncfg)
                    .map_err(|e| nats_error(&format!("feed {i} (core NATS)"), e))?,
            )
        } else {
            Box::new(
                JetStreamFeed::new(spec, ncfg)
                    .map_err(|e| nats_error(&format!("feed {i} (JetStream)"), e))?,
            )
        })
    }

    /// `ws://` or `wss://` with the `--subscribe` subscriptions (by default one `logsSubscribe` per
    /// launch program of `launchpads`).
    /// The error never repeats the URL's path or query (API keys live there).
    fn websocket(&self, i: usize, spec: &str) -> Result<LineFeed, UsageError> {
        let ws = WsConfig {
            subscriptions: if self.args.subscribe.is_empty() {
                Subscription::for_launchpads(self.cfg.launchpads)
            } else {
                self.args.subscribe.clone()
            },
            ..WsConfig::from(self.cfg)
        };
        LineFeed::ws(spec, ws, self.args.decoder())
            .map_err(|e| UsageError(format!("feed {i} (WebSocket): {e}")))
    }

    /// A Yellowstone gRPC feed: the accounts of `--subscribe transactions:..`, its entry's
    /// `x-token` and compression, else the `x-token` of `SNIFFER_X_TOKEN`.
    fn grpc(&self, i: usize, f: &FeedSpec) -> Result<GeyserFeed, UsageError> {
        let x_token = match &f.x_token {
            Some(t) => Some(t.clone()),
            None => std::env::var(X_TOKEN_ENV).ok().filter(|t| !t.is_empty()),
        };
        let mut grpc = GeyserConfig {
            x_token,
            compression: f.compression,
            ..GeyserConfig::from(self.cfg)
        };
        let accounts: Vec<_> = self
            .args
            .subscribe
            .iter()
            .filter_map(|s| match s {
                Subscription::Transactions(a) => Some(a.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        if !accounts.is_empty() {
            grpc.accounts = accounts;
        }
        GeyserFeed::new(&f.spec, grpc, self.args.decoder())
            .map_err(|e| UsageError(format!("feed {i} (gRPC): {e}")))
    }

    /// `shred://` or `shreds://` (a Jito ShredStream proxy): the aggregates sink's observer, no
    /// `--record` (entries are not lines).
    fn shred(&self, i: usize, spec: &str) -> Result<Box<dyn Feed>, UsageError> {
        self.refuse_record("a ShredStream feed carries ledger entries, not lines")?;
        let feed = ShredFeed::new(spec, ShredConfig::from(self.cfg), self.args.decoder())
            .map_err(|e| UsageError(format!("feed {i} (ShredStream): {e}")))?;
        Ok(match self.observer {
            Some(make) => Box::new(feed.with_observer(make())),
            None => Box::new(feed),
        })
    }

    /// `replay:PATH`, and where it will report a read error that ends it early.
    fn replay(&self, path: &str) -> Result<(LineFeed, ReplayError), UsageError> {
        let cfg = ReplayConfig {
            speed: self.args.speed,
            plain_rate: self.args.plain_rate,
            max_line_len: self.args.max_line_len,
        };
        let inner = ReplaySource::open(Path::new(path), cfg)
            .map_err(|e| UsageError(format!("cannot read {path}: {e}")))?;
        let error = ReplayError::default();
        let feed = LineFeed::new(
            WatchedReplay {
                inner,
                error: error.clone(),
            },
            self.args.decoder(),
        );
        Ok((feed, error))
    }
}

/// The environment variable holding the gRPC `x-token` (never a flag: flags show in `ps`).
pub(crate) const X_TOKEN_ENV: &str = "SNIFFER_X_TOKEN";

/// `sniffer decode FILE`.
#[derive(Args, Debug)]
pub(crate) struct DecodeArgs {
    /// A JSON-lines file (logsNotification, getTransaction, blockNotification) or a recording.
    file: PathBuf,
    /// Input format.
    #[arg(long, env = "SNIFFER_FORMAT", default_value = "auto", value_parser = parse_format)]
    format: Format,
    /// Longest input line accepted, bytes.
    #[arg(long, env = "SNIFFER_MAX_LINE_LEN", default_value_t = MAX_LINE_LEN)]
    max_line_len: usize,
}

/// Prints one JSON line per decoded launch; a summary with per-reason malformed counts goes to
/// stderr. Exit 2 when the file cannot be read.
pub(crate) fn decode(args: &DecodeArgs) -> anyhow::Result<ExitCode> {
    let path = &args.file;
    let cfg = ReplayConfig {
        speed: 0.0,
        plain_rate: 0,
        max_line_len: args.max_line_len,
    };
    let mut src = ReplaySource::open(path, cfg)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
    let mut dec = sniffer::decode::Decoder::with_config(DecoderConfig {
        format: args.format,
        max_line_len: args.max_line_len,
        ..DecoderConfig::default()
    });
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut line, mut found) = (Vec::new(), Vec::new());
    // Lines that did not decode at all (a block whose transactions are malformed did).
    let (mut lines, mut launches, mut bad_lines) = (0u64, 0u64, 0u64);
    let mut malformed = [0u64; Malformed::ALL.len()];
    let mut count = |m: Malformed| {
        if let Some(i) = Malformed::ALL.iter().position(|x| *x == m) {
            malformed[i] += 1;
        }
    };
    loop {
        match src.next_line(&mut line) {
            LinePoll::Line => {
                lines += 1;
                found.clear();
                match dec.decode_line(&line, &mut found) {
                    Ok(_) => {
                        for &m in dec.last_skipped() {
                            count(m);
                        }
                        for d in &found {
                            launches += 1;
                            // The launch's record (`Decoded`'s serde form), as every output.
                            let v = serde_json::to_string(d).unwrap_or_default();
                            match writeln!(out, "{v}") {
                                Ok(()) => {}
                                // The reader went away (`| head`): nothing left to do.
                                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                                    return Ok(ExitCode::SUCCESS)
                                }
                                Err(e) => return Err(e).context("writing to stdout"),
                            }
                        }
                    }
                    Err(m) => {
                        count(m);
                        bad_lines += 1;
                    }
                }
            }
            LinePoll::TooLong => {
                lines += 1;
                bad_lines += 1;
                count(Malformed::TooLong);
            }
            LinePoll::NotUtf8 => {
                lines += 1;
                count(Malformed::NotUtf8);
            }
            LinePoll::Pending | LinePoll::Idle | LinePoll::Waited => {}
            LinePoll::Finished => break,
        }
    }
    match out.flush() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        r => r.context("writing to stdout")?,
    }
    if let Some(e) = src.read_error() {
        return Err(UsageError(format!("cannot read {}: {e}", path.display())).into());
    }
    let reasons: serde_json::Map<String, serde_json::Value> = Malformed::ALL
        .iter()
        .zip(malformed)
        .filter(|(_, n)| *n > 0)
        .map(|(m, n)| (m.as_str().to_owned(), n.into()))
        .collect();
    super::say(format_args!(
        "{}",
        serde_json::json!({
            "lines": lines,
            "candidates": launches,
            "malformed": malformed.iter().sum::<u64>(),
            "malformed_by_reason": reasons,
        })
    ));
    if lines > 0 && bad_lines == lines {
        return Err(UsageError(nothing_decoded_hint(path, lines)).into());
    }
    Ok(ExitCode::SUCCESS)
}

/// What `decode` expected, when not one line of `path` decoded.
fn nothing_decoded_hint(path: &Path, lines: u64) -> String {
    format!(
        "none of the {lines} lines of {} decoded: `decode` reads JSON lines (one whole message \
         per line: a logsNotification, transactionNotification or blockNotification, a \
         getTransaction response, a Yellowstone update as JSON) or a `--record` recording. A \
         pretty-printed JSON file spreads one message over many lines: compact it first, e.g. \
         `jq -c . {} > one-per-line.jsonl`; --format logs|tx|block forces one shape",
        path.display(),
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_specs_kind_comes_from_its_scheme_or_its_declared_kind() {
        for (spec, kind) in [
            ("synthetic", Kind::Synthetic),
            ("synthetic:payloads", Kind::Payloads),
            ("stdin", Kind::Stdin),
            ("replay:a.jsonl", Kind::Replay),
            ("nats+core://h/s", Kind::Nats),
            ("WSS://h", Kind::Ws),
            ("grpcs://h", Kind::Grpc),
            ("grpc+https://h", Kind::Grpc),
            ("grpc+http://h:1", Kind::Grpc),
        ] {
            assert_eq!(kind_of(spec, None).unwrap(), kind, "{spec}");
        }
        let grpc = Some(FeedKind::Grpc);
        assert_eq!(kind_of("https://h", grpc).unwrap(), Kind::Grpc);
        assert_eq!(kind_of("HTTP://h", grpc).unwrap(), Kind::Grpc);
        assert_eq!(kind_of("wss://h", Some(FeedKind::Ws)).unwrap(), Kind::Ws);
        let e = kind_of("https://u:S3CRET@h/?k=S3CRET", None).unwrap_err().0;
        assert!(e.contains("grpc+https://") && !e.contains("S3CRET"), "{e}");
        let e = kind_of("wss://h/?k=S3CRET", grpc).unwrap_err().0;
        assert!(
            e.contains("not a grpc feed") && !e.contains("S3CRET"),
            "{e}"
        );
        assert!(kind_of("replay:", None).is_err());
        assert!(kind_of("https://h", Some(FeedKind::Ws)).is_err());
    }
}
