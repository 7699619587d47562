//! [`SnifferConfig`]: every tunable of the engine, its defaults, its validation, and loading from
//! a TOML file overridden by `SNIFFER_<KEY>` environment variables.
//!
//! Precedence is file < environment < explicit setters (the CLI applies its flags last). Unknown
//! keys are errors in both the file and the environment, and [`SnifferConfig::validate`] names the
//! key and the value it rejects, before any thread starts.
//!
//! The struct itself, its keys and their defaults, is in `keys.rs`: its one public path is the
//! crate root (`sniffer::SnifferConfig`), while this module's public items are the value types
//! the keys take.

mod feeds;
pub(crate) mod keys;

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ca_file::CaFile;
use crate::decode::Program;
use crate::error::ConfigError;
use crate::wait::WAIT_WINDOW;
pub use feeds::{Compression, FeedEntry, FeedKind};
pub(crate) use keys::SnifferConfig;

// The value types of the configuration, here beside the keys that take them.
pub use crate::batch::BatchSendMode;
pub use crate::pinning::machine_cores;
pub use crate::wait::{
    WaitStrategy, BACKOFF_SPIN_STEPS, BACKOFF_YIELD_EVERY, BACKOFF_YIELD_WINDOW,
};

/// The commitment level a live feed subscribes at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Commitment {
    /// The node's most recent bank: the earliest sighting (what sniping wants).
    #[default]
    Processed,
    /// Voted on by a supermajority.
    Confirmed,
    /// Rooted.
    Finalized,
}

impl Commitment {
    /// The JSON-RPC / gRPC name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Commitment::Processed => "processed",
            Commitment::Confirmed => "confirmed",
            Commitment::Finalized => "finalized",
        }
    }
}

impl std::str::FromStr for Commitment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [
            Commitment::Processed,
            Commitment::Confirmed,
            Commitment::Finalized,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
        .ok_or_else(|| format!("unknown commitment `{s}` (processed, confirmed, finalized)"))
    }
}

/// The launch programs the live feeds watch (`launchpads`, `--launchpads`): the WebSocket feeds'
/// default subscriptions (one `logsSubscribe` per program) and the gRPC feeds' transaction
/// filter. Written as the programs' names separated by commas (`pump,launchlab,dbc`), or `all`
/// (the default).
///
/// # Examples
///
/// ```
/// use sniffer::config::Launchpads;
/// use sniffer::decode::Program;
///
/// let l: Launchpads = "pump,launchlab".parse().unwrap();
/// assert_eq!(l.programs().collect::<Vec<_>>(), [Program::Pump, Program::LaunchLab]);
/// assert_eq!(l.to_string(), "pump,launchlab");
/// assert_eq!(Launchpads::default().programs().count(), Program::ALL.len());
/// assert!("pump,nope".parse::<Launchpads>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Launchpads(u16);

impl Launchpads {
    /// Every launch program.
    pub const ALL: Launchpads = Launchpads((1 << Program::ALL.len()) - 1);

    /// The selected programs, in [`Program::ALL`] order.
    pub fn programs(self) -> impl Iterator<Item = Program> {
        Program::ALL
            .into_iter()
            .filter(move |p| self.0 & 1 << *p as u16 != 0)
    }

    /// True when `p` is selected.
    pub fn contains(self, p: Program) -> bool {
        self.0 & 1 << p as u16 != 0
    }
}

impl Default for Launchpads {
    fn default() -> Self {
        Launchpads::ALL
    }
}

impl std::str::FromStr for Launchpads {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim() == "all" {
            return Ok(Launchpads::ALL);
        }
        let mut bits = 0u16;
        for name in s.split(',').map(str::trim) {
            let p = Program::from_name(name).ok_or_else(|| {
                let known: Vec<_> = Program::ALL.iter().map(|p| p.name()).collect();
                format!("unknown launchpad `{name}` (all, {})", known.join(", "))
            })?;
            bits |= 1 << p as u16;
        }
        Ok(Launchpads(bits))
    }
}

impl std::fmt::Display for Launchpads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if *self == Launchpads::ALL {
            return f.write_str("all");
        }
        for (i, p) in self.programs().enumerate() {
            write!(f, "{}{p}", if i > 0 { "," } else { "" })?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for Launchpads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Launchpads({self})")
    }
}

impl Serialize for Launchpads {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Launchpads {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a JetStream stream keeps its messages (`nats_storage`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NatsStorage {
    /// On disk: survives a server restart.
    #[default]
    File,
    /// In memory: faster, lost when the server stops.
    Memory,
}

/// What a full JetStream stream does with a new message (`nats_discard`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NatsDiscard {
    /// Deletes its oldest message to make room (launches age fast: the newest matter).
    #[default]
    Old,
    /// Refuses the new message: the publisher counts it in `publish_failed` and
    /// `publish_stream_full`.
    New,
}

impl SnifferConfig {
    /// Every key a file or a `SNIFFER_<KEY>` variable may set.
    pub const KEYS: &'static [&'static str] = &[
        "batch_size",
        "batch_timeout",
        "flush_on_idle",
        "send_max_retries",
        "send_retry_delay",
        "stream_buffer_capacity",
        "output_lane_capacity",
        "drop_policy",
        "block_timeout",
        "batch_send_mode",
        "wait_strategy",
        "busy_poll",
        "graceful_shutdown_timeout",
        "watermark_warn_pct",
        "watermark_critical_pct",
        "pause_pct",
        "resume_pct",
        "low_share_pct",
        "paused_alert_after",
        "paused_alert_interval",
        "health_interval",
        "max_age",
        "max_slot_lag",
        "pin_threads",
        "core_ids",
        "live_block_timeout",
        "ws_ping_interval",
        "feed_stall_timeout",
        "reconnect_backoff_min",
        "reconnect_backoff_max",
        "commitment",
        "launchpads",
        "tls_ca_file",
        "nats_stream",
        "nats_storage",
        "nats_max_age",
        "nats_duplicate_window",
        "nats_max_msgs",
        "nats_max_bytes",
        "nats_discard",
        "nats_replicas",
        "nats_publish_queue",
        "nats_ack_timeout",
        "nats_ack_wait",
        "nats_connect_timeout",
        "nats_connect_retry",
        "flush_interval",
        "full_flush_interval",
        "flush_batch_size",
        "prune_threshold",
        "buffer_max_pending",
        "buffer_ttl",
        "history_queue",
        "history_batch_size",
        "history_batch_age",
        "feeds",
    ];

    /// `SNIFFER_*` variables that are not configuration keys (`SNIFFER_LOG` is the log filter,
    /// `SNIFFER_X_TOKEN` the gRPC feeds' `x-token`, `SNIFFER_NATS_*` the NATS credentials,
    /// `SNIFFER_KAFKA_*` the Kafka SASL credentials, the `*_PASSWORD` ones those of Redis,
    /// PostgreSQL and ClickHouse).
    pub const RESERVED_ENV: &'static [&'static str] = &[
        "SNIFFER_LOG",
        "SNIFFER_LOG_FORMAT",
        "SNIFFER_X_TOKEN",
        "SNIFFER_NATS_TOKEN",
        "SNIFFER_NATS_USER",
        "SNIFFER_NATS_PASSWORD",
        "SNIFFER_KAFKA_USER",
        "SNIFFER_KAFKA_PASSWORD",
        "SNIFFER_KAFKA_SASL_MECHANISM",
        "SNIFFER_REDIS_PASSWORD",
        "SNIFFER_PG_PASSWORD",
        "SNIFFER_CLICKHOUSE_PASSWORD",
    ];

    /// Parses a TOML document; keys it does not set keep their defaults.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Parse`] for bad TOML, [`ConfigError::UnknownKey`] for a key that is not in
    /// [`SnifferConfig::KEYS`], [`ConfigError::Invalid`] for a value of the wrong type.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let table = parse_toml(text)?;
        Self::from_table(table, "file")
    }

    /// Reads a TOML file (see [`SnifferConfig::from_toml_str`]).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Io`] when the file cannot be read, otherwise as `from_toml_str`.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_toml_str(&text)
    }

    /// Loads the optional file, then applies every `SNIFFER_<KEY>` variable of this process.
    ///
    /// # Errors
    ///
    /// As [`SnifferConfig::from_file`], plus [`ConfigError::UnknownKey`] for a `SNIFFER_*`
    /// variable that names no key.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|e| ConfigError::Io {
                path: p.display().to_string(),
                message: e.to_string(),
            })?,
            None => String::new(),
        };
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        Self::from_sources(&text, vars)
    }

    /// Builds a config from TOML text and `(name, value)` environment pairs; names without the
    /// `SNIFFER_` prefix are ignored. Values are read as TOML scalars (`64`, `true`), and as
    /// strings otherwise (`5ms`, `drop_oldest`).
    ///
    /// # Errors
    ///
    /// As [`SnifferConfig::load`].
    pub fn from_sources(
        toml_text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = parse_toml(toml_text)?;
        check_keys(&table, "file")?;
        // A `[[feeds]]` entry's `x_token_env` may name a `SNIFFER_*` variable: a token.
        let token_vars = feeds::token_vars(&table);
        for (name, raw) in env {
            let Some(key) = name.strip_prefix("SNIFFER_") else {
                continue;
            };
            if Self::RESERVED_ENV.contains(&name.as_str()) || token_vars.contains(&name) {
                continue;
            }
            let key = key.to_ascii_lowercase();
            if !Self::KEYS.contains(&key.as_str()) {
                return Err(ConfigError::UnknownKey {
                    key,
                    source_name: format!("environment variable {name}"),
                });
            }
            table.insert(key, env_value(&raw));
        }
        Self::from_table(table, "environment")
    }

    fn from_table(table: toml::Table, source_name: &str) -> Result<Self, ConfigError> {
        check_keys(&table, source_name)?;
        // Deserialize key by key so that a type error names the key and the value it rejects.
        let mut cfg = SnifferConfig::default();
        let mut merged = toml::Table::try_from(&cfg).map_err(|e| ConfigError::Parse {
            source_name: source_name.into(),
            message: e.to_string(),
        })?;
        for (key, value) in table {
            if key == "feeds" {
                // Checked entry by entry: an error names the entry and the key, not the whole
                // list (whose URLs may hold credentials).
                feeds::check_toml(&value)?;
            }
            let mut one = merged.clone();
            one.insert(key.clone(), value.clone());
            if let Err(e) = SnifferConfig::deserialize(toml::Value::Table(one)) {
                // The feeds' URLs may hold credentials: `check_toml` named what it could.
                let shown = match key.as_str() {
                    "feeds" => "[[feeds]]".to_owned(),
                    _ => value.to_string(),
                };
                return Err(ConfigError::Invalid {
                    key: leak_key(&key),
                    value: shown,
                    reason: e.message().to_string(),
                });
            }
            merged.insert(key, value);
        }
        if !merged.is_empty() {
            cfg = SnifferConfig::deserialize(toml::Value::Table(merged)).map_err(|e| {
                ConfigError::Parse {
                    source_name: source_name.into(),
                    message: e.message().to_string(),
                }
            })?;
        }
        Ok(cfg)
    }

    /// Checks every bound, naming the first key that breaks one.
    ///
    /// Core ids are checked against the cores this process may use, captured once
    /// (see [`machine_cores`]).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] with the key, the value and the rule it breaks.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_with_cores(&crate::pinning::machine_core_ids())
    }

    /// [`SnifferConfig::validate`] against an explicit list of available core ids.
    ///
    /// # Errors
    ///
    /// As [`SnifferConfig::validate`].
    pub fn validate_with_cores(&self, cores: &[usize]) -> Result<(), ConfigError> {
        self.validate_with(cores, available_memory())
    }

    /// Most slots of one queue (the stream ring, or one output lane): 2^24, 3 GiB of slots.
    pub const MAX_QUEUE_CAPACITY: usize = 1 << 24;

    /// Most slots of the NATS publisher's queue.
    pub const MAX_PUBLISH_QUEUE: usize = 1 << 20;

    /// Bytes one queue slot takes: the record plus the queue's stamp, padded to the record's
    /// alignment (crossbeam's array slots hold a stamp next to the value).
    const SLOT_BYTES: u64 = (std::mem::size_of::<crate::candidate::PremintCandidate>()
        + std::mem::align_of::<crate::candidate::PremintCandidate>())
        as u64;

    /// The queues may take at most this share (percent) of the memory available at start.
    const MAX_MEMORY_PCT: u64 = 50;

    fn validate_with(&self, cores: &[usize], memory: Option<u64>) -> Result<(), ConfigError> {
        self.check(RULES, &Machine { cores, memory })
    }

    /// Applies `rules` in order; the first one broken is the error, naming its key.
    fn check<'r>(
        &self,
        rules: impl IntoIterator<Item = &'r (&'static str, Rule)>,
        machine: &Machine<'_>,
    ) -> Result<(), ConfigError> {
        for (key, rule) in rules {
            if let Err(Broken { value, reason }) = rule(self, machine) {
                return Err(ConfigError::Invalid { key, value, reason });
            }
        }
        Ok(())
    }

    /// The keys the aggregates sink takes from the configuration.
    // Read by the sink (`sqlite` feature) and by a test of the rules.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    const SINK_KEYS: [&'static str; 4] = [
        "flush_interval",
        "full_flush_interval",
        "flush_batch_size",
        "prune_threshold",
    ];

    /// How the feed threads idle and the receiver waits: under `busy_poll` they never sleep but
    /// give the core back between polls (`sched_yield`), so a third runnable thread on the
    /// same core (the kernel's network work, a co-located server) is not starved for a whole
    /// scheduler slice; the `wait_strategy` otherwise.
    pub(crate) fn idle_wait(&self) -> WaitStrategy {
        if self.busy_poll {
            WaitStrategy::Yield
        } else {
            self.wait_strategy
        }
    }

    /// Checks the aggregates sink's keys by their rules in [`RULES`]. The sink's
    /// `SinkConfig::validate` calls it for its copies of them, so each of these keys has one rule
    /// and one error text.
    #[cfg(feature = "sqlite")]
    pub(crate) fn validate_sink_keys(&self) -> Result<(), ConfigError> {
        let sink_keys = RULES
            .iter()
            .filter(|(key, _)| Self::SINK_KEYS.contains(key));
        self.check(
            sink_keys,
            &Machine {
                cores: &[],
                memory: None,
            },
        )
    }

    /// The queues allocated whole when the engine starts: key, slots, and how many of them.
    fn queues(&self) -> [(&'static str, usize, u64); 2] {
        [
            ("stream_buffer_capacity", self.stream_buffer_capacity, 1),
            ("output_lane_capacity", self.output_lane_capacity, 2),
        ]
    }

    /// The rule of a queue's capacity (`key`, one of [`SnifferConfig::queues`]): at least 1, at
    /// most [`SnifferConfig::MAX_QUEUE_CAPACITY`], and the queues together within
    /// [`SnifferConfig::MAX_MEMORY_PCT`] of the memory available. The queues are allocated whole
    /// at start: a capacity the machine cannot hold must fail here, naming the key, not abort
    /// the process in the allocator. The memory rule names the queue that takes the most.
    fn queue_rule(&self, key: &str, memory: Option<u64>) -> Result<(), Broken> {
        let queues = self.queues();
        let Some(&(_, cap, _)) = queues.iter().find(|q| q.0 == key) else {
            return Ok(());
        };
        at_least_one(cap)?;
        if cap > Self::MAX_QUEUE_CAPACITY {
            let reason = format!("must be at most {}", Self::MAX_QUEUE_CAPACITY);
            return Err(broken(cap, reason));
        }
        // The memory rule counts both queues: it waits until the other one keeps its own bounds.
        let in_bounds = |q: &(&str, usize, u64)| (1..=Self::MAX_QUEUE_CAPACITY).contains(&q.1);
        let Some(avail) = memory.filter(|_| queues.iter().all(in_bounds)) else {
            return Ok(());
        };
        let bytes = |q: &(&str, usize, u64)| q.1 as u64 * q.2 * Self::SLOT_BYTES;
        let total: u64 = queues.iter().map(bytes).sum();
        let largest = queues.iter().max_by_key(|q| bytes(q)).map_or(key, |q| q.0);
        if total > avail / 100 * Self::MAX_MEMORY_PCT && largest == key {
            return Err(broken(
                cap,
                format!(
                    "the stream ring and the two output lanes would take {} MiB, more than {} % \
                     of the memory available ({} MiB)",
                    total >> 20,
                    Self::MAX_MEMORY_PCT,
                    avail >> 20
                ),
            ));
        }
        Ok(())
    }

    /// `batch_size`: at least 1, and no more than the stream ring holds.
    fn batch_size_rule(&self) -> Result<(), Broken> {
        at_least_one(self.batch_size)?;
        if self.batch_size > self.stream_buffer_capacity {
            let reason = format!(
                "must not exceed stream_buffer_capacity ({})",
                self.stream_buffer_capacity
            );
            return Err(broken(self.batch_size, reason));
        }
        Ok(())
    }

    /// `reconnect_backoff_min`: greater than zero, and at most `reconnect_backoff_max` once that
    /// keeps its own rule.
    fn backoff_min_rule(&self) -> Result<(), Broken> {
        positive(self.reconnect_backoff_min)?;
        let (min, max) = (self.reconnect_backoff_min, self.reconnect_backoff_max);
        if !max.is_zero() && min > max {
            let reason = format!("must not exceed reconnect_backoff_max ({})", dur(max));
            return Err(broken(dur(min), reason));
        }
        Ok(())
    }

    /// `live_block_timeout`: greater than zero, and at most half the window it is spent over
    /// (a live feed reads its socket at least half of every second).
    fn live_block_rule(&self) -> Result<(), Broken> {
        positive(self.live_block_timeout)?;
        let most = WAIT_WINDOW / 2;
        if self.live_block_timeout > most {
            let reason = format!("must be at most {} (it is a budget per second)", dur(most));
            return Err(broken(dur(self.live_block_timeout), reason));
        }
        Ok(())
    }

    /// `nats_duplicate_window`: greater than zero, and at most `nats_max_age` when that is set.
    fn duplicate_window_rule(&self) -> Result<(), Broken> {
        let (window, max_age) = (self.nats_duplicate_window, self.nats_max_age);
        positive(window)?;
        if !max_age.is_zero() && window > max_age {
            let reason = format!("must not exceed nats_max_age ({})", dur(max_age));
            return Err(broken(dur(window), reason));
        }
        Ok(())
    }

    /// A watermark percentage `v` and its step to the `next` one, in the order
    /// `1 <= resume_pct < pause_pct <= watermark_warn_pct < watermark_critical_pct <= 100`. The
    /// step waits until all four are percentages (their own rules report the others).
    fn watermark_rule(&self, v: u8, step: Step, next: (&str, u8)) -> Result<(), Broken> {
        percent(v)?;
        let all = [
            self.resume_pct,
            self.pause_pct,
            self.watermark_warn_pct,
            self.watermark_critical_pct,
        ];
        if all.iter().any(|p| percent(*p).is_err()) {
            return Ok(());
        }
        let (key, n) = next;
        match step {
            Step::Below if v >= n => Err(broken(v, format!("must be below {key} ({n})"))),
            Step::AtMost if v > n => Err(broken(v, format!("must not exceed {key} ({n})"))),
            _ => Ok(()),
        }
    }
}

/// The machine a configuration is checked against: the cores this process may use, and the
/// memory available (`None` when unknown: the queues are then bounded by their maximum only).
#[derive(Debug)]
struct Machine<'a> {
    cores: &'a [usize],
    memory: Option<u64>,
}

/// A broken rule: the value as the error quotes it, and the rule.
#[derive(Debug)]
struct Broken {
    value: String,
    reason: String,
}

fn broken(value: impl ToString, reason: impl Into<String>) -> Broken {
    Broken {
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// A key's rule: `Err` says what is wrong with the key's value in this configuration.
type Rule = fn(&SnifferConfig, &Machine<'_>) -> Result<(), Broken>;

/// How a watermark percentage relates to the next one up.
#[derive(Clone, Copy, Debug)]
enum Step {
    Below,
    AtMost,
}

fn dur(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

fn positive(d: Duration) -> Result<(), Broken> {
    if d.is_zero() {
        return Err(broken(dur(d), "must be greater than zero"));
    }
    Ok(())
}

fn positive_when_set(d: Option<Duration>) -> Result<(), Broken> {
    match d.filter(Duration::is_zero) {
        Some(d) => Err(broken(dur(d), "must be greater than zero when set")),
        None => Ok(()),
    }
}

fn at_least_one(n: usize) -> Result<(), Broken> {
    if n == 0 {
        return Err(broken(0, "must be at least 1"));
    }
    Ok(())
}

fn percent(v: u8) -> Result<(), Broken> {
    if !(1..=100).contains(&v) {
        return Err(broken(v, "must be within 1..=100"));
    }
    Ok(())
}

/// JetStream reads its stream limits as signed 64-bit numbers.
fn signed_64(v: u64) -> Result<(), Broken> {
    if v > i64::MAX as u64 {
        return Err(broken(v, "must be at most 2^63 - 1"));
    }
    Ok(())
}

/// Every key that has a rule, with its rule, in the order [`SnifferConfig::validate`] checks
/// them (it reports the first one broken). Each key has one row; a rule that relates its key to
/// another key's value says so in its doc.
const RULES: &[(&str, Rule)] = &[
    ("stream_buffer_capacity", |c, m| {
        c.queue_rule("stream_buffer_capacity", m.memory)
    }),
    ("output_lane_capacity", |c, m| {
        c.queue_rule("output_lane_capacity", m.memory)
    }),
    ("batch_size", |c, _| c.batch_size_rule()),
    ("nats_duplicate_window", |c, _| c.duplicate_window_rule()),
    ("nats_ack_timeout", |c, _| positive(c.nats_ack_timeout)),
    ("nats_ack_wait", |c, _| positive(c.nats_ack_wait)),
    ("nats_connect_timeout", |c, _| {
        positive(c.nats_connect_timeout)
    }),
    ("batch_timeout", |c, _| positive(c.batch_timeout)),
    ("live_block_timeout", |c, _| c.live_block_rule()),
    ("ws_ping_interval", |c, _| positive(c.ws_ping_interval)),
    ("feed_stall_timeout", |c, _| positive(c.feed_stall_timeout)),
    ("reconnect_backoff_min", |c, _| c.backoff_min_rule()),
    ("reconnect_backoff_max", |c, _| {
        positive(c.reconnect_backoff_max)
    }),
    ("graceful_shutdown_timeout", |c, _| {
        positive(c.graceful_shutdown_timeout)
    }),
    ("paused_alert_after", |c, _| positive(c.paused_alert_after)),
    ("paused_alert_interval", |c, _| {
        positive(c.paused_alert_interval)
    }),
    ("health_interval", |c, _| positive(c.health_interval)),
    ("flush_interval", |c, _| positive(c.flush_interval)),
    ("full_flush_interval", |c, _| {
        positive(c.full_flush_interval)
    }),
    ("prune_threshold", |c, _| positive(c.prune_threshold)),
    ("block_timeout", |c, _| positive_when_set(c.block_timeout)),
    ("max_age", |c, _| positive_when_set(c.max_age)),
    ("tls_ca_file", |c, _| match &c.tls_ca_file {
        // Read and checked once: the feeds get the same bundle back when they are built.
        Some(path) => CaFile::read(path)
            .map(drop)
            .map_err(|why| broken(path.display(), why)),
        None => Ok(()),
    }),
    ("max_slot_lag", |c, _| match c.max_slot_lag {
        Some(0) => Err(broken(0, "must be at least 1 when set")),
        _ => Ok(()),
    }),
    ("flush_batch_size", |c, _| at_least_one(c.flush_batch_size)),
    ("buffer_max_pending", |c, _| {
        at_least_one(c.buffer_max_pending)
    }),
    ("buffer_ttl", |c, _| positive(c.buffer_ttl)),
    ("history_queue", |c, _| at_least_one(c.history_queue)),
    ("history_batch_size", |c, _| {
        at_least_one(c.history_batch_size)
    }),
    ("history_batch_age", |c, _| positive(c.history_batch_age)),
    ("resume_pct", |c, _| {
        c.watermark_rule(c.resume_pct, Step::Below, ("pause_pct", c.pause_pct))
    }),
    ("pause_pct", |c, _| {
        let next = ("watermark_warn_pct", c.watermark_warn_pct);
        c.watermark_rule(c.pause_pct, Step::AtMost, next)
    }),
    ("watermark_warn_pct", |c, _| {
        let next = ("watermark_critical_pct", c.watermark_critical_pct);
        c.watermark_rule(c.watermark_warn_pct, Step::Below, next)
    }),
    ("watermark_critical_pct", |c, _| {
        percent(c.watermark_critical_pct)
    }),
    ("low_share_pct", |c, _| match c.low_share_pct {
        v @ 101.. => Err(broken(v, "must be within 0..=100")),
        _ => Ok(()),
    }),
    ("nats_stream", |c, _| {
        match stream_name_problem(&c.nats_stream) {
            Some(reason) => Err(broken(&c.nats_stream, reason)),
            None => Ok(()),
        }
    }),
    ("nats_max_msgs", |c, _| signed_64(c.nats_max_msgs)),
    ("nats_max_bytes", |c, _| signed_64(c.nats_max_bytes)),
    ("nats_replicas", |c, _| match c.nats_replicas {
        1..=5 => Ok(()),
        v => Err(broken(v, "must be within 1..=5")),
    }),
    ("nats_publish_queue", |c, _| match c.nats_publish_queue {
        1..=SnifferConfig::MAX_PUBLISH_QUEUE => Ok(()),
        v => {
            let reason = format!("must be within 1..={}", SnifferConfig::MAX_PUBLISH_QUEUE);
            Err(broken(v, reason))
        }
    }),
    ("feeds", |c, _| {
        feeds::check_entries(&c.feeds).map_err(|(value, reason)| broken(value, reason))
    }),
    ("core_ids", |c, m| {
        match c.core_ids.iter().find(|id| !m.cores.contains(id)) {
            Some(id) => {
                let reason = format!("this machine has no core {id} (available: {:?})", m.cores);
                Err(broken(id, reason))
            }
            None => Ok(()),
        }
    }),
];

/// Why `name` cannot name a JetStream stream or consumer (`None` when it can): not empty, at
/// most 255 bytes, printable, and none of the characters NATS reserves in names (` `, `.`, `*`,
/// `>`, `/`, `\`).
pub(crate) fn stream_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("must not be empty")
    } else if name.len() > 255 {
        Some("must be at most 255 bytes")
    } else if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || ".*>/\\".contains(c))
    {
        Some("must not contain whitespace, control characters, `.`, `*`, `>`, `/` or `\\`")
    } else {
        None
    }
}

/// Parses TOML text. The parser's own messages for an integer out of range or a duplicate key do
/// not say which key: the error's span does, so the key and its text are taken from the line it
/// points at.
fn parse_toml(text: &str) -> Result<toml::Table, ConfigError> {
    text.parse().map_err(|e: toml::de::Error| {
        let message = e.message().trim().to_string();
        let Some(span) = e.span() else {
            return ConfigError::Parse {
                source_name: "toml".into(),
                message,
            };
        };
        let start = span.start.min(text.len());
        let line_no = text[..start].matches('\n').count() + 1;
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line = text[line_start..].lines().next().unwrap_or("").trim();
        if let Some((key, value)) = line.split_once('=') {
            let key = key.trim().trim_matches('"');
            if let Some(known) = SnifferConfig::KEYS.iter().find(|k| **k == key) {
                return ConfigError::Invalid {
                    key: known,
                    value: value.trim().to_string(),
                    reason: format!("line {line_no}: {message}"),
                };
            }
        }
        // A `[[feeds]]` URL may hold a credential: such a line shows its key alone.
        let line = match line.split_once('=') {
            Some((key, value)) if value.contains(['@', '?', '/']) => format!("{}= …", key),
            _ => line.to_owned(),
        };
        ConfigError::Parse {
            source_name: "toml".into(),
            message: format!("line {line_no}: `{line}`: {message}"),
        }
    })
}

fn check_keys(table: &toml::Table, source_name: &str) -> Result<(), ConfigError> {
    match table
        .keys()
        .find(|k| !SnifferConfig::KEYS.contains(&k.as_str()))
    {
        Some(k) => Err(ConfigError::UnknownKey {
            key: k.clone(),
            source_name: source_name.into(),
        }),
        None => Ok(()),
    }
}

/// `MemAvailable` from `/proc/meminfo`, in bytes; `None` where it cannot be read (the fixed
/// [`SnifferConfig::MAX_QUEUE_CAPACITY`] still applies there).
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// An environment value as a TOML value: scalars and arrays parse as TOML, anything else is a string.
fn env_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match doc.parse::<toml::Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.into())),
        Err(_) => toml::Value::String(raw.into()),
    }
}

/// Maps a known key to its `'static` name (keys were checked against `KEYS` before this is called).
fn leak_key(key: &str) -> &'static str {
    SnifferConfig::KEYS
        .iter()
        .copied()
        .find(|k| *k == key)
        .unwrap_or("<unknown>")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each rule names a configuration key, and no key has two rules.
    #[test]
    fn every_rule_is_one_keys_rule() {
        let mut seen = std::collections::HashSet::new();
        for (key, _) in RULES {
            assert!(SnifferConfig::KEYS.contains(key), "{key} is no key");
            assert!(seen.insert(key), "{key} has two rules");
        }
        for key in SnifferConfig::SINK_KEYS {
            assert!(seen.contains(&key), "{key} has no rule");
        }
    }

    #[test]
    fn keys_match_the_struct_fields() {
        let table = toml::Table::try_from(SnifferConfig {
            block_timeout: Some(Duration::from_millis(1)),
            max_age: Some(Duration::from_secs(1)),
            max_slot_lag: Some(1),
            tls_ca_file: Some("ca.pem".into()),
            ..SnifferConfig::default()
        })
        .unwrap();
        let mut fields: Vec<&str> = table.keys().map(String::as_str).collect();
        let mut keys = SnifferConfig::KEYS.to_vec();
        fields.sort_unstable();
        keys.sort_unstable();
        assert_eq!(fields, keys);
    }

    #[test]
    fn capacities_are_bounded_by_a_maximum_and_by_memory() {
        let cfg = |ring: usize, lane: usize| SnifferConfig {
            stream_buffer_capacity: ring,
            output_lane_capacity: lane,
            ..SnifferConfig::default()
        };
        let max = SnifferConfig::MAX_QUEUE_CAPACITY;
        let err = cfg(max + 1, 2048).validate_with(&[0], None).unwrap_err();
        assert_eq!(err.key(), Some("stream_buffer_capacity"));
        let err = cfg(2048, usize::MAX).validate_with(&[0], None).unwrap_err();
        assert_eq!(err.key(), Some("output_lane_capacity"));
        assert!(err.to_string().contains(&usize::MAX.to_string()), "{err}");
        cfg(max, max).validate_with(&[0], None).unwrap();
        // 1 GiB available: the queues may take 512 MiB, about 1.2 M slots of 448 bytes (the
        // 384-byte record plus the queue's own word, cache-line padded).
        let gib = 1 << 30;
        assert_eq!(SnifferConfig::SLOT_BYTES, 448);
        cfg(1 << 19, 1 << 18)
            .validate_with(&[0], Some(gib))
            .unwrap();
        let err = cfg(1 << 21, 1 << 18)
            .validate_with(&[0], Some(gib))
            .unwrap_err();
        assert_eq!(err.key(), Some("stream_buffer_capacity"));
        assert!(
            err.to_string().contains("memory available (1024 MiB)"),
            "{err}"
        );
        let err = cfg(2048, 1 << 20)
            .validate_with(&[0], Some(gib))
            .unwrap_err();
        assert_eq!(err.key(), Some("output_lane_capacity"));
    }

    #[test]
    fn toml_errors_without_a_key_in_the_message_name_the_key() {
        let err = SnifferConfig::from_toml_str(
            "batch_size = 10\nstream_buffer_capacity = 99999999999999999999\n",
        )
        .unwrap_err();
        assert_eq!(err.key(), Some("stream_buffer_capacity"), "{err}");
        assert!(err.to_string().contains("99999999999999999999"), "{err}");
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = SnifferConfig::from_toml_str("batch_size = 10\nbatch_size = 20\n").unwrap_err();
        assert_eq!(err.key(), Some("batch_size"), "{err}");
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = SnifferConfig::from_sources("turbo = = 1\n", Vec::new()).unwrap_err();
        assert!(err.to_string().contains("turbo"), "{err}");
    }

    /// A TOML error on a `[[feeds]]` line shows its key, not a URL that may hold a credential;
    /// a `SNIFFER_*` variable that an entry's `x_token_env` names is a token, not a key.
    #[test]
    fn feeds_tables_keep_their_secrets_and_token_variables() {
        let text = "[[feeds]]\nurl = \"wss://h/?api-key=S3CRET\"\nurl = \"wss://h/?k=S3CRET\"\n";
        let err = SnifferConfig::from_toml_str(text).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("url"), "{err}");
        assert!(!err.contains("S3CRET"), "{err}");
        let text = "[[feeds]]\nurl = \"grpc://h\"\nx_token_env = \"SNIFFER_A_TOKEN\"\n";
        let env = || vec![("SNIFFER_A_TOKEN".to_owned(), "S3CRET".to_owned())];
        let cfg = SnifferConfig::from_sources(text, env()).unwrap();
        assert_eq!(cfg.feeds[0].x_token_env.as_deref(), Some("SNIFFER_A_TOKEN"));
        let err = SnifferConfig::from_sources("", env()).unwrap_err();
        assert_eq!(err.key(), Some("a_token"));
    }

    #[test]
    fn env_values_parse_as_toml_scalars_or_strings() {
        assert_eq!(env_value("64"), toml::Value::Integer(64));
        assert_eq!(env_value("true"), toml::Value::Boolean(true));
        assert_eq!(env_value("5ms"), toml::Value::String("5ms".into()));
        assert_eq!(env_value("[0, 1]").as_array().map(Vec::len), Some(2));
    }
}
