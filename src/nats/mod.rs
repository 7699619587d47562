//! Launches beyond one machine, through an existing NATS server or cluster (JetStream): a
//! [`Publisher`] that publishes every candidate the bot hands it, and two feeds that bring
//! them into another engine: [`JetStreamFeed`] (a pull consumer: it can wait, so the
//! backpressure gate pauses it, and it acknowledges a message only once its candidate is in the
//! ring or counted) and [`CoreNatsFeed`] (a core-NATS subscription: a live source that cannot
//! wait; a full ring drops and counts). Nothing here is a broker or a cluster protocol: the
//! server is `nats-server`, the client the official `async-nats` crate (rustls, no OpenSSL), on
//! a current-thread tokio runtime inside the publisher thread and inside each feed thread.
//!
//! **Wire.** Subject `sniffer.launch.<kind>.<priority>` (`pump_create`, `pump_create_v2`,
//! `pump_swap_pool`, `raydium_pool`; `high`, `low`); body the JSON of the record (serde, so it
//! grows with the record); header `Nats-Msg-Id` = [`message_id`], so that JetStream stores a
//! launch published by several sniffer instances once (within the stream's duplicate window),
//! as the engine's first-sighting dedup does within one process.
//!
//! **URLs.** `nats://[USER:PASS@|TOKEN@]HOST[:PORT][,HOST[:PORT]...][/PATH][?PARAMS]`, default
//! port 4222; several hosts are seeds of one cluster. Credentials never leave the process in a
//! name, log line, metric or error: `Display` shows the hosts, the path and the parameters
//! only. `wire.rs` owns the subjects, ids and body; `url.rs` the URLs; `client.rs` connecting and
//! the stream; `publish.rs`, `consume.rs` and `subscribe.rs` the three components.

mod client;
mod consume;
mod publish;
mod subscribe;
mod url;
mod wire;

use std::fmt;
use std::time::Duration;

use crate::config::{NatsDiscard, NatsStorage, SnifferConfig};

pub use crate::error::{NatsError, TryPublishError};
pub use crate::metrics::PublishSnapshot;
pub use consume::JetStreamFeed;
pub use publish::{PublishHandle, Publisher, MAX_INFLIGHT};
pub use subscribe::CoreNatsFeed;
pub use wire::{message_id, subject, STREAM_SUBJECTS, SUBJECT_PREFIX};

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
