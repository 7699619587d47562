//! [`SnifferConfig`]: the engine's keys, what each one means, and their defaults. Loading and
//! validation are in `config.rs`.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    BatchSendMode, Commitment, FeedEntry, Launchpads, NatsDiscard, NatsStorage, WaitStrategy,
};
use crate::ring::DropPolicy;

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
    /// Busy-poll for a dedicated core (opt-in): the feed threads never sleep (a WebSocket feed
    /// polls its socket without waiting in the kernel) and the bot's receiver spins instead of
    /// parking, whatever `wait_strategy` says. Lowest wire-to-bot latency; costs one core per
    /// feed thread and one for the bot, busy all the time.
    pub busy_poll: bool,
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
    /// Live feeds (WebSocket, gRPC, core NATS) under `block`: the most a feed waits for room in
    /// all, per second (not per candidate); once that is spent, a candidate that finds no room
    /// is counted in `dropped_full_buffer` at once and the feed goes back to its socket (a
    /// provider disconnects a client that stops reading). At most 500 ms.
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
    /// Live feeds: the launch programs watched by default (`all`, or names separated by commas:
    /// `pump`, `pumpswap`, `raydium`, `launchlab`, `dbc`, `moonshot`, `boop`, `cpmm`, `damm`).
    pub launchpads: Launchpads,
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
    /// The feeds of `sniffer run` (the file's `[[feeds]]` tables), each with its own options:
    /// `url`, `kind`, `x_token_env` or `token_file`, `compression` (see [`FeedEntry`]).
    /// `--feed` on the command line replaces them.
    pub feeds: Vec<FeedEntry>,
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
            busy_poll: false,
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
            launchpads: Launchpads::ALL,
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
            feeds: Vec::new(),
        }
    }
}
