//! # sniffer
//!
//! A lock-free, high-frequency sniffer engine for Solana token-launch ("premint") detection.
//!
//! Data flows one way: feeds (or the bot's [`IngestHandle`]) → the bounded [`StreamRing`] under a
//! [`DropPolicy`] → the batcher (priority split, sync or async senders with retries) → the bot's
//! [`CandidateReceiver`] or a handler closure. Every stage writes its own atomic metrics
//! ([`MetricsSnapshot`]), and [`Sniffer::shutdown`] drains within a timeout and reports exactly
//! what was left ([`ShutdownReport`]). Nothing is lost silently:
//!
//! `candidates_detected == candidates_sent + dropped_full_buffer + dropped_oldest + dropped_stale
//! + dropped_shutdown + in_flight`, with `in_flight == 0` after shutdown.
//!
//! ```
//! use std::time::Duration;
//! use sniffer::{PremintCandidate, Sniffer};
//!
//! let mut engine = Sniffer::builder().build()?;
//! let rx = engine.take_receiver().unwrap();
//! engine.ingest_handle().try_ingest(PremintCandidate { slot: 7, ..Default::default() })?;
//! assert_eq!(rx.recv_timeout(Duration::from_secs(5))?.slot, 7);
//! let report = engine.shutdown(Duration::from_secs(1));
//! assert!(report.metrics.accounting_holds());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod backpressure;
mod batch;
mod candidate;
mod config;
mod engine;
mod error;
mod feed;
#[cfg(feature = "http")]
mod http;
mod ingest;
mod meta;
mod metrics;
#[cfg(feature = "nats")]
pub mod nats;
mod output;
mod pinning;
mod ring;
#[cfg(feature = "sqlite")]
mod sink;
mod sync;
mod wait;

pub use batch::BatchSendMode;
pub use candidate::{
    monotonic_ns, unix_ns_at, LaunchKind, PremintCandidate, Priority, Pubkey, Signature,
    TokenProgram,
};
pub use config::{Commitment, NatsDiscard, NatsStorage, SnifferConfig};
pub use engine::{
    Health, HealthStatus, LaneReport, MetricsSource, ShutdownReport, Sniffer, SnifferBuilder,
};
pub use error::{
    BuildError, ConfigError, IngestError, PubkeyParseError, PushError, RecvError, RecvTimeoutError,
    TryIngestError, TryRecvError,
};
#[cfg(feature = "sqlite")]
pub use error::{FlushError, RecordError, SinkError, StoreError};
pub use feed::decode::{
    decode_pump_event, CreateEvent, Decoded, Decoder, DecoderConfig, Envelope, Format, LaunchMeta,
    Malformed, ParsedTx, PumpEvent, ScoreConfig, TradeEvent, MAX_LINE_LEN,
};
pub use feed::{
    Clock, DecodeObserver, DedupTable, Expected, Feed, FeedPoll, FeedSink, LineFeed, LinePoll,
    LineSource, ManualClock, MonotonicClock, PayloadConfig, PayloadGenerator, PayloadMix,
    PayloadSource, ReaderSource, ReplayConfig, ReplaySource, Sighting, SyntheticConfig,
    SyntheticFeed, DEDUP_CAPACITY, DEDUP_WINDOW,
};
#[cfg(feature = "geyser")]
pub use feed::{GeyserConfig, GeyserError, GeyserFeed};
#[cfg(feature = "ws")]
pub use feed::{Subscription, WsConfig, WsError, WsSource};
#[cfg(feature = "http")]
pub use http::{HttpLimits, HttpServer};
pub use ingest::IngestHandle;
pub use metrics::{
    health_line, FeedSnapshot, FeedStats, LatencyHistogram, LatencySummary, LeadSummary,
    MetricsSnapshot, PublishSnapshot, LATENCY_BUCKETS_NS,
};
#[cfg(feature = "stream")]
pub use output::CandidateStream;
pub use output::{CandidateReceiver, Handler, LATENCY_SAMPLE_EVERY};
pub use pinning::machine_cores;
pub use ring::{DropPolicy, StreamRing};
#[cfg(feature = "sqlite")]
pub use sink::{
    unix_ms, AggregateSink, AggregateState, AggregateStore, FlushMode, FlushStats, LaunchRow,
    SinkConfig, SinkHandle, SinkReport, SinkSnapshot, SinkStats, Window, WindowStats,
    COARSE_BUCKET_MS, FINE_BUCKET_MS, MAX_TRACKED_TRADERS,
};
pub use wait::{WaitStrategy, BACKOFF_SPIN_STEPS, BACKOFF_YIELD_EVERY, BACKOFF_YIELD_WINDOW};
