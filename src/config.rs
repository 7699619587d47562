//! [`SnifferConfig`]: every tunable of the engine, its defaults, its validation, and loading from
//! a TOML file overridden by `SNIFFER_<KEY>` environment variables.
//!
//! Precedence is file < environment < explicit setters (the CLI applies its flags last). Unknown
//! keys are errors in both the file and the environment, and [`SnifferConfig::validate`] names the
//! key and the value it rejects, before any thread starts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

// The value types of the configuration, here beside the keys that take them.
pub use crate::batch::BatchSendMode;
pub use crate::pinning::machine_cores;
pub use crate::ring::DropPolicy;
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

/// The engine's configuration. `Default` gives the seed defaults listed in docs/ARCHITECTURE.md.
///
/// # Examples
///
/// ```
/// use sniffer::SnifferConfig;
///
/// let cfg = SnifferConfig::from_toml_str("batch_size = 64\nbatch_timeout = \"2ms\"")?;
/// assert_eq!(cfg.batch_size, 64);
/// assert_eq!(cfg.stream_buffer_capacity, 2048);
/// cfg.validate()?;
/// # Ok::<(), sniffer::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnifferConfig {
    /// Flush a batch once it holds this many candidates (1..=`stream_buffer_capacity`).
    pub batch_size: usize,
    /// Longest time a candidate waits in an open batch.
    #[serde(with = "humantime_serde")]
    pub batch_timeout: Duration,
    /// Flush as soon as the ring runs dry instead of holding the batch open until `batch_size` or
    /// `batch_timeout` (smart batching: batches grow under load, latency stays low when idle).
    pub flush_on_idle: bool,
    /// Retries of a send to a full output lane before the candidate counts as a send failure.
    pub send_max_retries: u32,
    /// Pause between two send retries.
    #[serde(with = "humantime_serde")]
    pub send_retry_delay: Duration,
    /// Capacity of the stream ring between the feeds and the batcher.
    pub stream_buffer_capacity: usize,
    /// Capacity of each output lane (High and Low) towards the bot.
    pub output_lane_capacity: usize,
    /// What a push into a full ring does.
    pub drop_policy: DropPolicy,
    /// Longest wait of a producer under the `block` policy; absent means wait until room or shutdown.
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub block_timeout: Option<Duration>,
    /// `direct` (ingest pushes straight into the bot's per-priority lanes: one hop, no engine
    /// thread; the default), `sync` (through the ring and the batcher thread, which sends both
    /// lanes) or `async` (the batcher hands each lane to its own worker thread). With a handler,
    /// `direct` runs as `sync`.
    pub batch_send_mode: BatchSendMode,
    /// How idle threads wait for work: `backoff` (spin, yield, park), `spin`, `yield` or `park`.
    pub wait_strategy: WaitStrategy,
    /// Time budget of a graceful shutdown (drain ring, open batch and lanes).
    #[serde(with = "humantime_serde")]
    pub graceful_shutdown_timeout: Duration,
    /// Ring fill level (percent) that raises a warn watermark event.
    pub watermark_warn_pct: u8,
    /// Ring fill level (percent) that raises a critical watermark event.
    pub watermark_critical_pct: u8,
    /// Fill level (percent) at which pull feeds pause.
    pub pause_pct: u8,
    /// Fill level (percent) below which paused feeds resume.
    pub resume_pct: u8,
    /// Share (percent) of receives that go to the Low lane while both lanes hold candidates, so
    /// that Low never starves under saturation; 0 means strict High-first.
    pub low_share_pct: u8,
    /// Alert when the engine has been paused for longer than this.
    #[serde(with = "humantime_serde")]
    pub paused_alert_after: Duration,
    /// Repeat the paused-too-long alert at this interval while still paused.
    #[serde(with = "humantime_serde")]
    pub paused_alert_interval: Duration,
    /// Interval of the health line.
    #[serde(with = "humantime_serde")]
    pub health_interval: Duration,
    /// Drop candidates older than this (`drop_stale`); absent disables the age bound.
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub max_age: Option<Duration>,
    /// Drop candidates more than this many slots behind the newest slot seen; absent disables it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_slot_lag: Option<u64>,
    /// Pin engine threads to cores.
    pub pin_threads: bool,
    /// Cores to pin to, in thread start order; empty means every core this process may use.
    pub core_ids: Vec<usize>,
    /// Live feeds (WebSocket, gRPC) under `block`: longest wait for room in the ring before the
    /// candidate is counted in `dropped_full_buffer` and the feed goes back to its socket (a
    /// provider disconnects a client that stops reading).
    #[serde(with = "humantime_serde")]
    pub live_block_timeout: Duration,
    /// WebSocket feeds: send a ping this often; no pong within the interval means reconnect.
    #[serde(with = "humantime_serde")]
    pub ws_ping_interval: Duration,
    /// Live feeds: this long without a notification counts a stall and reconnects.
    #[serde(with = "humantime_serde")]
    pub feed_stall_timeout: Duration,
    /// Live feeds: first reconnect delay; doubles per failed attempt (with jitter).
    #[serde(with = "humantime_serde")]
    pub reconnect_backoff_min: Duration,
    /// Live feeds: longest reconnect delay.
    #[serde(with = "humantime_serde")]
    pub reconnect_backoff_max: Duration,
    /// Live feeds: commitment level of subscriptions (`processed`, `confirmed`, `finalized`).
    pub commitment: Commitment,
    /// Live feeds over TLS (`wss://`, `grpcs://`): a PEM file of root certificates trusted beside
    /// the webpki roots (a self-hosted node's private CA); absent: the webpki roots alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_ca_file: Option<PathBuf>,
    /// NATS: the JetStream stream launches are published to and consumed from (subjects
    /// `sniffer.launch.>`), created when missing.
    pub nats_stream: String,
    /// NATS: storage of the stream when it is created (`file` or `memory`).
    pub nats_storage: NatsStorage,
    /// NATS: the stream deletes messages older than this; `0s` keeps them (up to the limits).
    #[serde(with = "humantime_serde")]
    pub nats_max_age: Duration,
    /// NATS: window in which a second message with the same `Nats-Msg-Id` is dropped by the
    /// stream (at most `nats_max_age` when that is set).
    #[serde(with = "humantime_serde")]
    pub nats_duplicate_window: Duration,
    /// NATS: most messages the stream keeps (0 = no limit).
    pub nats_max_msgs: u64,
    /// NATS: most bytes the stream keeps (0 = no limit).
    pub nats_max_bytes: u64,
    /// NATS: what a full stream does with a new message (`old`: delete the oldest; `new`: refuse
    /// the new one, counted by the publisher).
    pub nats_discard: NatsDiscard,
    /// NATS: replicas of the stream in a cluster (1..=5; at most the number of servers).
    pub nats_replicas: usize,
    /// NATS: capacity of the publisher's queue; a full queue drops (counted in
    /// `publish_dropped`) instead of blocking the bot.
    pub nats_publish_queue: usize,
    /// NATS: longest wait for a JetStream publish acknowledgement or API reply before the
    /// publish is retried (with backoff).
    #[serde(with = "humantime_serde")]
    pub nats_ack_timeout: Duration,
    /// NATS: a JetStream consumer's message not acknowledged within this is delivered again
    /// (the feed skips the copies of what it already handled).
    #[serde(with = "humantime_serde")]
    pub nats_ack_wait: Duration,
    /// NATS: longest wait for a connection to a server.
    #[serde(with = "humantime_serde")]
    pub nats_connect_timeout: Duration,
    /// NATS: when no server answers at start, keep retrying in the background (true) instead
    /// of failing with an error (false).
    pub nats_connect_retry: bool,
    /// Aggregates sink: delta flush interval.
    #[serde(with = "humantime_serde")]
    pub flush_interval: Duration,
    /// Aggregates sink: full flush interval (safety net).
    #[serde(with = "humantime_serde")]
    pub full_flush_interval: Duration,
    /// Aggregates sink: rows per database transaction.
    pub flush_batch_size: usize,
    /// Aggregates sink: drop per-mint state after this long without activity.
    #[serde(with = "humantime_serde")]
    pub prune_threshold: Duration,
    /// Redis write buffer (`--buffer`): most mints pending at once; events of further mints are
    /// refused (counted, kept in memory until the next flush).
    pub buffer_max_pending: usize,
    /// Redis write buffer: expiry of each buffered mint's keys, refreshed at each write (the
    /// safety net; a restart must come within it).
    #[serde(with = "humantime_serde")]
    pub buffer_ttl: Duration,
    /// ClickHouse history (`--history`): rows the writer's queue holds; pull feeds pause at
    /// `pause_pct` of it, live feeds' rows beyond it are dropped (counted).
    pub history_queue: usize,
    /// ClickHouse history: most rows per INSERT.
    pub history_batch_size: usize,
    /// ClickHouse history: a batch is written once its first row waited this long.
    #[serde(with = "humantime_serde")]
    pub history_batch_age: Duration,
}

impl Default for SnifferConfig {
    fn default() -> Self {
        SnifferConfig {
            batch_size: 100,
            batch_timeout: Duration::from_millis(5),
            flush_on_idle: true,
            send_max_retries: 3,
            send_retry_delay: Duration::from_micros(100),
            stream_buffer_capacity: 2048,
            output_lane_capacity: 2048,
            drop_policy: DropPolicy::DropNewest,
            block_timeout: None,
            batch_send_mode: BatchSendMode::Direct,
            wait_strategy: WaitStrategy::Backoff,
            graceful_shutdown_timeout: Duration::from_secs(5),
            watermark_warn_pct: 80,
            watermark_critical_pct: 95,
            pause_pct: 80,
            resume_pct: 40,
            low_share_pct: 10,
            paused_alert_after: Duration::from_secs(600),
            paused_alert_interval: Duration::from_secs(60),
            health_interval: Duration::from_secs(30),
            max_age: None,
            max_slot_lag: None,
            pin_threads: true,
            core_ids: Vec::new(),
            live_block_timeout: Duration::from_millis(50),
            ws_ping_interval: Duration::from_secs(20),
            feed_stall_timeout: Duration::from_secs(30),
            reconnect_backoff_min: Duration::from_millis(100),
            reconnect_backoff_max: Duration::from_secs(10),
            commitment: Commitment::Processed,
            tls_ca_file: None,
            nats_stream: "SNIFFER".to_owned(),
            nats_storage: NatsStorage::File,
            nats_max_age: Duration::from_secs(3600),
            nats_duplicate_window: Duration::from_secs(120),
            nats_max_msgs: 0,
            nats_max_bytes: 0,
            nats_discard: NatsDiscard::Old,
            nats_replicas: 1,
            nats_publish_queue: 8192,
            nats_ack_timeout: Duration::from_secs(5),
            nats_ack_wait: Duration::from_secs(30),
            nats_connect_timeout: Duration::from_secs(5),
            nats_connect_retry: false,
            flush_interval: Duration::from_secs(5),
            full_flush_interval: Duration::from_secs(60),
            flush_batch_size: 500,
            prune_threshold: Duration::from_secs(2 * 3600),
            buffer_max_pending: 100_000,
            buffer_ttl: Duration::from_secs(24 * 3600),
            history_queue: 16_384,
            history_batch_size: 5_000,
            history_batch_age: Duration::from_secs(1),
        }
    }
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
    ];

    /// `SNIFFER_*` variables that are not configuration keys (`SNIFFER_LOG` is the log filter,
    /// `SNIFFER_X_TOKEN` the gRPC feeds' `x-token`, `SNIFFER_NATS_*` the NATS credentials, the
    /// `*_PASSWORD` ones those of Redis, PostgreSQL and ClickHouse).
    pub const RESERVED_ENV: &'static [&'static str] = &[
        "SNIFFER_LOG",
        "SNIFFER_X_TOKEN",
        "SNIFFER_NATS_TOKEN",
        "SNIFFER_NATS_USER",
        "SNIFFER_NATS_PASSWORD",
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
        for (name, raw) in env {
            let Some(key) = name.strip_prefix("SNIFFER_") else {
                continue;
            };
            if Self::RESERVED_ENV.contains(&name.as_str()) {
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
            let mut one = merged.clone();
            one.insert(key.clone(), value.clone());
            if let Err(e) = SnifferConfig::deserialize(toml::Value::Table(one)) {
                return Err(ConfigError::Invalid {
                    key: leak_key(&key),
                    value: value.to_string(),
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

    /// Bytes one queue slot takes: the record plus the queue's stamp, padded to the record's
    /// alignment (crossbeam's array slots hold a stamp next to the value).
    const SLOT_BYTES: u64 = (std::mem::size_of::<crate::candidate::PremintCandidate>()
        + std::mem::align_of::<crate::candidate::PremintCandidate>())
        as u64;

    /// The queues may take at most this share (percent) of the memory available at start.
    const MAX_MEMORY_PCT: u64 = 50;

    fn validate_with(&self, cores: &[usize], memory: Option<u64>) -> Result<(), ConfigError> {
        fn bad(key: &'static str, value: impl ToString, reason: &str) -> ConfigError {
            ConfigError::Invalid {
                key,
                value: value.to_string(),
                reason: reason.to_string(),
            }
        }
        let dur = |d: &Duration| humantime::format_duration(*d).to_string();
        if self.stream_buffer_capacity == 0 {
            return Err(bad("stream_buffer_capacity", 0, "must be at least 1"));
        }
        if self.output_lane_capacity == 0 {
            return Err(bad("output_lane_capacity", 0, "must be at least 1"));
        }
        // The queues are allocated whole when the engine starts: a capacity the machine cannot
        // hold must fail here, naming the key, not abort the process in the allocator.
        let queues = [
            ("stream_buffer_capacity", self.stream_buffer_capacity, 1),
            ("output_lane_capacity", self.output_lane_capacity, 2),
        ];
        for (key, cap, _) in queues {
            if cap > Self::MAX_QUEUE_CAPACITY {
                return Err(bad(
                    key,
                    cap,
                    &format!("must be at most {}", Self::MAX_QUEUE_CAPACITY),
                ));
            }
        }
        if let Some(avail) = memory {
            let bytes = |cap: usize, n: u64| cap as u64 * n * Self::SLOT_BYTES;
            let total: u64 = queues.iter().map(|(_, c, n)| bytes(*c, *n)).sum();
            if total > avail / 100 * Self::MAX_MEMORY_PCT {
                let (key, cap, _) = queues
                    .iter()
                    .copied()
                    .max_by_key(|(_, c, n)| bytes(*c, *n))
                    .unwrap_or(queues[0]);
                return Err(bad(
                    key,
                    cap,
                    &format!(
                        "the stream ring and the two output lanes would take {} MiB, more than \
                         {} % of the memory available ({} MiB)",
                        total >> 20,
                        Self::MAX_MEMORY_PCT,
                        avail >> 20
                    ),
                ));
            }
        }
        if self.batch_size == 0 {
            return Err(bad("batch_size", 0, "must be at least 1"));
        }
        if self.batch_size > self.stream_buffer_capacity {
            return Err(bad(
                "batch_size",
                self.batch_size,
                &format!(
                    "must not exceed stream_buffer_capacity ({})",
                    self.stream_buffer_capacity
                ),
            ));
        }
        let non_zero: [(&'static str, &Duration); 17] = [
            ("nats_duplicate_window", &self.nats_duplicate_window),
            ("nats_ack_timeout", &self.nats_ack_timeout),
            ("nats_ack_wait", &self.nats_ack_wait),
            ("nats_connect_timeout", &self.nats_connect_timeout),
            ("batch_timeout", &self.batch_timeout),
            ("live_block_timeout", &self.live_block_timeout),
            ("ws_ping_interval", &self.ws_ping_interval),
            ("feed_stall_timeout", &self.feed_stall_timeout),
            ("reconnect_backoff_min", &self.reconnect_backoff_min),
            ("reconnect_backoff_max", &self.reconnect_backoff_max),
            ("graceful_shutdown_timeout", &self.graceful_shutdown_timeout),
            ("paused_alert_after", &self.paused_alert_after),
            ("paused_alert_interval", &self.paused_alert_interval),
            ("health_interval", &self.health_interval),
            ("flush_interval", &self.flush_interval),
            ("full_flush_interval", &self.full_flush_interval),
            ("prune_threshold", &self.prune_threshold),
        ];
        for (key, d) in non_zero {
            if d.is_zero() {
                return Err(bad(key, dur(d), "must be greater than zero"));
            }
        }
        for (key, d) in [
            ("block_timeout", self.block_timeout),
            ("max_age", self.max_age),
        ] {
            if let Some(d) = d.filter(Duration::is_zero) {
                return Err(bad(key, dur(&d), "must be greater than zero when set"));
            }
        }
        if self.reconnect_backoff_min > self.reconnect_backoff_max {
            return Err(bad(
                "reconnect_backoff_min",
                dur(&self.reconnect_backoff_min),
                &format!(
                    "must not exceed reconnect_backoff_max ({})",
                    dur(&self.reconnect_backoff_max)
                ),
            ));
        }
        if let Some(path) = &self.tls_ca_file {
            if let Err(why) = read_ca_pem(path) {
                return Err(bad("tls_ca_file", path.display(), &why));
            }
        }
        if self.max_slot_lag == Some(0) {
            return Err(bad("max_slot_lag", 0, "must be at least 1 when set"));
        }
        if self.flush_batch_size == 0 {
            return Err(bad("flush_batch_size", 0, "must be at least 1"));
        }
        let pcts = [
            ("resume_pct", self.resume_pct),
            ("pause_pct", self.pause_pct),
            ("watermark_warn_pct", self.watermark_warn_pct),
            ("watermark_critical_pct", self.watermark_critical_pct),
        ];
        for (key, v) in pcts {
            if !(1..=100).contains(&v) {
                return Err(bad(key, v, "must be within 1..=100"));
            }
        }
        if self.resume_pct >= self.pause_pct {
            return Err(bad(
                "resume_pct",
                self.resume_pct,
                &format!("must be below pause_pct ({})", self.pause_pct),
            ));
        }
        if self.pause_pct > self.watermark_warn_pct {
            return Err(bad(
                "pause_pct",
                self.pause_pct,
                &format!(
                    "must not exceed watermark_warn_pct ({})",
                    self.watermark_warn_pct
                ),
            ));
        }
        if self.watermark_warn_pct >= self.watermark_critical_pct {
            return Err(bad(
                "watermark_warn_pct",
                self.watermark_warn_pct,
                &format!(
                    "must be below watermark_critical_pct ({})",
                    self.watermark_critical_pct
                ),
            ));
        }
        if self.low_share_pct > 100 {
            return Err(bad(
                "low_share_pct",
                self.low_share_pct,
                "must be within 0..=100",
            ));
        }
        self.validate_nats()?;
        self.validate_stores()?;
        if let Some(id) = self.core_ids.iter().find(|id| !cores.contains(id)) {
            return Err(bad(
                "core_ids",
                id,
                &format!("this machine has no core {id} (available: {cores:?})"),
            ));
        }
        Ok(())
    }
}

impl SnifferConfig {
    /// The keys of the Redis write buffer and the ClickHouse history: counts of at least 1,
    /// durations above zero.
    fn validate_stores(&self) -> Result<(), ConfigError> {
        let bad = |key: &'static str, value: String, reason: &str| ConfigError::Invalid {
            key,
            value,
            reason: reason.to_string(),
        };
        for (key, n) in [
            ("buffer_max_pending", self.buffer_max_pending),
            ("history_queue", self.history_queue),
            ("history_batch_size", self.history_batch_size),
        ] {
            if n == 0 {
                return Err(bad(key, "0".into(), "must be at least 1"));
            }
        }
        for (key, d) in [
            ("buffer_ttl", self.buffer_ttl),
            ("history_batch_age", self.history_batch_age),
        ] {
            if d.is_zero() {
                return Err(bad(key, "0s".into(), "must be greater than zero"));
            }
        }
        Ok(())
    }

    /// Most slots of the NATS publisher's queue.
    pub const MAX_PUBLISH_QUEUE: usize = 1 << 20;

    /// The NATS keys: names JetStream accepts, limits it accepts, and a queue that fits.
    fn validate_nats(&self) -> Result<(), ConfigError> {
        let bad = |key: &'static str, value: String, reason: &str| ConfigError::Invalid {
            key,
            value,
            reason: reason.to_string(),
        };
        let dur = |d: &Duration| humantime::format_duration(*d).to_string();
        if let Some(reason) = stream_name_problem(&self.nats_stream) {
            return Err(bad("nats_stream", self.nats_stream.clone(), reason));
        }
        if !self.nats_max_age.is_zero() && self.nats_duplicate_window > self.nats_max_age {
            return Err(bad(
                "nats_duplicate_window",
                dur(&self.nats_duplicate_window),
                &format!("must not exceed nats_max_age ({})", dur(&self.nats_max_age)),
            ));
        }
        // JetStream reads both limits as signed 64-bit numbers.
        for (key, v) in [
            ("nats_max_msgs", self.nats_max_msgs),
            ("nats_max_bytes", self.nats_max_bytes),
        ] {
            if v > i64::MAX as u64 {
                return Err(bad(key, v.to_string(), "must be at most 2^63 - 1"));
            }
        }
        if !(1..=5).contains(&self.nats_replicas) {
            return Err(bad(
                "nats_replicas",
                self.nats_replicas.to_string(),
                "must be within 1..=5",
            ));
        }
        if !(1..=Self::MAX_PUBLISH_QUEUE).contains(&self.nats_publish_queue) {
            return Err(bad(
                "nats_publish_queue",
                self.nats_publish_queue.to_string(),
                &format!("must be within 1..={}", Self::MAX_PUBLISH_QUEUE),
            ));
        }
        Ok(())
    }
}

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

/// The most a `tls_ca_file` may hold (a bundle of a few hundred roots is ~200 KiB).
const MAX_CA_FILE: u64 = 4 << 20;

/// Reads `tls_ca_file`: a PEM file that holds at least one certificate. The feeds parse the
/// certificates themselves; this check runs in [`SnifferConfig::validate`], before any thread.
pub(crate) fn read_ca_pem(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read it: {e}"))?;
    if !meta.is_file() {
        return Err("is not a regular file".into());
    }
    if meta.len() > MAX_CA_FILE {
        return Err(format!("is larger than {MAX_CA_FILE} bytes"));
    }
    let pem = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    let text = String::from_utf8_lossy(&pem);
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut rest = &*text;
    let mut found = 0;
    while let Some(at) = rest.find(BEGIN) {
        found += 1;
        let body = &rest[at + BEGIN.len()..];
        let Some(end) = body.find(END) else {
            return Err(format!("certificate {found} has no {END} line"));
        };
        let b64: String = body[..end].split_whitespace().collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("certificate {found} is not base64: {e}"))?;
        if !is_der_sequence(&der) {
            return Err(format!("certificate {found} is not a DER certificate"));
        }
        rest = &body[end + END.len()..];
    }
    if found == 0 {
        return Err(format!("holds no PEM certificate ({BEGIN})"));
    }
    Ok(pem)
}

/// True when `der` is one DER SEQUENCE whose definite length covers exactly the rest (the
/// outer shape of an X.509 certificate; the feeds' TLS stack parses the inside).
fn is_der_sequence(der: &[u8]) -> bool {
    let [0x30, first, rest @ ..] = der else {
        return false;
    };
    let (len, body) = if *first < 0x80 {
        (usize::from(*first), rest)
    } else {
        let n = usize::from(*first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return false;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |a, b| a << 8 | usize::from(*b));
        (len, &rest[n..])
    };
    len > 0 && len == body.len()
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
        // 1 GiB available: the queues may take 512 MiB, about 1.7 M slots of 320 bytes (the
        // 256-byte record plus the queue's own word, cache-line padded).
        let gib = 1 << 30;
        assert_eq!(SnifferConfig::SLOT_BYTES, 320);
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

    #[test]
    fn env_values_parse_as_toml_scalars_or_strings() {
        assert_eq!(env_value("64"), toml::Value::Integer(64));
        assert_eq!(env_value("true"), toml::Value::Boolean(true));
        assert_eq!(env_value("5ms"), toml::Value::String("5ms".into()));
        assert_eq!(env_value("[0, 1]").as_array().map(Vec::len), Some(2));
    }
}
