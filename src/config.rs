//! [`SnifferConfig`]: every tunable of the engine, its defaults, its validation, and loading from
//! a TOML file overridden by `SNIFFER_<KEY>` environment variables.
//!
//! Precedence is file < environment < explicit setters (the CLI applies its flags last). Unknown
//! keys are errors in both the file and the environment, and [`SnifferConfig::validate`] names the
//! key and the value it rejects, before any thread starts.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::batch::BatchSendMode;
use crate::error::ConfigError;
use crate::ring::DropPolicy;
use crate::wait::WaitStrategy;

/// The engine's configuration. `Default` gives the seed defaults listed in DESIGN.md.
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
            flush_interval: Duration::from_secs(5),
            full_flush_interval: Duration::from_secs(60),
            flush_batch_size: 500,
            prune_threshold: Duration::from_secs(2 * 3600),
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
        "flush_interval",
        "full_flush_interval",
        "flush_batch_size",
        "prune_threshold",
    ];

    /// `SNIFFER_*` variables that are not configuration keys (`SNIFFER_LOG` is the log filter).
    pub const RESERVED_ENV: &'static [&'static str] = &["SNIFFER_LOG"];

    /// Parses a TOML document; keys it does not set keep their defaults.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Parse`] for bad TOML, [`ConfigError::UnknownKey`] for a key that is not in
    /// [`SnifferConfig::KEYS`], [`ConfigError::Invalid`] for a value of the wrong type.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                source_name: "toml".into(),
                message: e.message().to_string(),
            })?;
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
        let mut table: toml::Table =
            toml_text
                .parse()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    source_name: "toml".into(),
                    message: e.message().to_string(),
                })?;
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
    /// (see [`machine_cores`](crate::machine_cores)).
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
        let non_zero: [(&'static str, &Duration); 8] = [
            ("batch_timeout", &self.batch_timeout),
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
    fn env_values_parse_as_toml_scalars_or_strings() {
        assert_eq!(env_value("64"), toml::Value::Integer(64));
        assert_eq!(env_value("true"), toml::Value::Boolean(true));
        assert_eq!(env_value("5ms"), toml::Value::String("5ms".into()));
        assert_eq!(env_value("[0, 1]").as_array().map(Vec::len), Some(2));
    }
}
