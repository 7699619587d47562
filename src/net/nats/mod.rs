//! What the NATS publisher (`publish/nats.rs`) and the NATS feeds (`feed/nats/`) share: the
//! server settings ([`NatsConfig`], [`NatsAuth`]), the URLs (`url.rs`), connecting and making
//! sure the stream exists (`client.rs`), the subjects, message ids and body of a launch
//! (`wire.rs`), and [`NatsError`]. The server is `nats-server`; the client the official
//! `async-nats` crate (rustls, no OpenSSL), on a current-thread tokio runtime inside the thread
//! that uses it.
//!
//! **Wire.** Subject `sniffer.launch.<kind>.<priority>` (`pump_create`, `pump_create_v2`,
//! `pump_swap_pool`, `raydium_pool`; `high`, `low`); body the JSON of the record; header
//! `Nats-Msg-Id` = the launch's identity, so that JetStream stores a launch published by several
//! sniffer instances once (within the stream's duplicate window), as the engine's
//! first-sighting dedup does within one process.
//!
//! **URLs.** `nats://[USER:PASS@|TOKEN@]HOST[:PORT][,HOST[:PORT]...][/PATH][?PARAMS]`, default
//! port 4222; several hosts are seeds of one cluster. Credentials never leave the process in a
//! name, log line, metric or error: `Display` shows the hosts, the path and the parameters only.

pub(crate) mod client;
pub(crate) mod url;
pub(crate) mod wire;

use std::fmt;
use std::time::Duration;

use thiserror::Error;

use crate::config::{NatsDiscard, NatsStorage, SnifferConfig};

/// Credentials for the NATS server. `Debug` never shows them. Credentials in the URL
/// (`nats://user:pass@host` or `nats://token@host`) take precedence.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum NatsAuth {
    /// No credentials.
    #[default]
    None,
    /// A token (`authorization { token: ... }` on the server).
    Token(String),
    /// A user and a password.
    UserPassword {
        /// The user.
        user: String,
        /// The password.
        password: String,
    },
}

impl fmt::Debug for NatsAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NatsAuth::None => "None",
            NatsAuth::Token(_) => "Token(<redacted>)",
            NatsAuth::UserPassword { .. } => "UserPassword(<redacted>)",
        })
    }
}

/// Settings shared by the publisher and the NATS feeds; `From<&SnifferConfig>` reads the
/// `nats_*` keys and the live feeds' reconnect delays.
///
/// # Examples
///
/// ```
/// use sniffer::net::nats::{NatsAuth, NatsConfig};
/// use sniffer::publish::Publisher;
/// use sniffer::SnifferConfig;
///
/// let cfg = SnifferConfig { nats_stream: "LAUNCHES".into(), ..SnifferConfig::default() };
/// let nats = NatsConfig {
///     auth: NatsAuth::Token("s3cret".into()),
///     ..NatsConfig::from(&cfg)
/// };
/// assert_eq!(nats.stream, "LAUNCHES");
/// assert!(!format!("{nats:?}").contains("s3cret"));
/// // Checked as `Publisher::start` would, without connecting.
/// Publisher::check_url("nats://127.0.0.1:4222/LAUNCHES", &nats)?;
/// # Ok::<(), sniffer::net::nats::NatsError>(())
/// ```
#[derive(Clone, Debug)]
pub struct NatsConfig {
    /// The stream (`nats_stream`); a JetStream feed's URL path overrides it.
    pub stream: String,
    /// Storage of the stream when it is created.
    pub storage: NatsStorage,
    /// The stream deletes messages older than this (zero: never).
    pub max_age: Duration,
    /// The stream's duplicate window (same `Nats-Msg-Id` within it: stored once).
    pub duplicate_window: Duration,
    /// Most messages the stream keeps (0: no limit).
    pub max_msgs: u64,
    /// Most bytes the stream keeps (0: no limit).
    pub max_bytes: u64,
    /// What a full stream does with a new message.
    pub discard: NatsDiscard,
    /// Replicas of the stream (a cluster).
    pub replicas: usize,
    /// Capacity of the publisher's queue.
    pub queue: usize,
    /// Longest wait for a publish acknowledgement or a JetStream API reply.
    pub ack_timeout: Duration,
    /// A consumer's message unacknowledged for this long is delivered again.
    pub ack_wait: Duration,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// No server at start: retry in the background instead of failing.
    pub connect_retry: bool,
    /// First reconnect delay (doubles per failed attempt, with jitter).
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// Credentials (never displayed).
    pub auth: NatsAuth,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig::from(&SnifferConfig::default())
    }
}

impl From<&SnifferConfig> for NatsConfig {
    fn from(c: &SnifferConfig) -> Self {
        NatsConfig {
            stream: c.nats_stream.clone(),
            storage: c.nats_storage,
            max_age: c.nats_max_age,
            duplicate_window: c.nats_duplicate_window,
            max_msgs: c.nats_max_msgs,
            max_bytes: c.nats_max_bytes,
            discard: c.nats_discard,
            replicas: c.nats_replicas,
            queue: c.nats_publish_queue,
            ack_timeout: c.nats_ack_timeout,
            ack_wait: c.nats_ack_wait,
            connect_timeout: c.nats_connect_timeout,
            connect_retry: c.nats_connect_retry,
            backoff_min: c.reconnect_backoff_min,
            backoff_max: c.reconnect_backoff_max,
            auth: NatsAuth::None,
        }
    }
}

/// Why a NATS publisher or feed could not start. Messages never show the credentials of the URL
/// or of the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum NatsError {
    /// The URL (or one of its parameters) is not usable: bad usage.
    #[error("{0}")]
    Url(String),
    /// No server could be reached, or it refused us (with `nats_connect_retry = false`).
    #[error("{0}")]
    Connect(String),
    /// The stream or the consumer could not be created or read.
    #[error("{0}")]
    Setup(String),
    /// A runtime or thread could not be started.
    #[error("{0}")]
    Start(String),
}
