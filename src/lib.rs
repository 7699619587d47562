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
mod metrics;
#[cfg(feature = "nats")]
pub mod nats;
mod output;
mod pinning;
mod ring;
mod sink;
mod sync;

pub use batch::BatchSendMode;
pub use candidate::{monotonic_ns, LaunchKind, PremintCandidate, Priority, Pubkey};
pub use config::{Commitment, NatsDiscard, NatsStorage, SnifferConfig};
pub use crossbeam_channel::{RecvError, RecvTimeoutError, TryRecvError};
pub use engine::{LaneReport, ShutdownReport, Sniffer, SnifferBuilder};
pub use error::{
    BuildError, ConfigError, FlushError, IngestError, PubkeyParseError, PushError, RecordError,
    SinkError, StoreError, TryIngestError,
};
pub use feed::decode::{
    decode_pump_event, CreateEvent, Decoded, Decoder, DecoderConfig, Envelope, Format, LaunchMeta,
    Malformed, ParsedTx, PumpEvent, ScoreConfig, Signature, TradeEvent, MAX_LINE_LEN,
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
    health_line, FeedSnapshot, FeedStats, Health, HealthStatus, LatencyHistogram, LatencySummary,
    LeadSummary, MetricsSnapshot, MetricsSource, PublishSnapshot,
};
#[cfg(feature = "tokio")]
pub use output::CandidateStream;
pub use output::{CandidateReceiver, Handler};
pub use pinning::machine_cores;
pub use ring::{
    DropPolicy, StreamRing, WaitStrategy, BACKOFF_SPIN_STEPS, BACKOFF_YIELD_EVERY,
    BACKOFF_YIELD_WINDOW,
};
pub use sink::{
    unix_ms, AggregateSink, AggregateState, AggregateStore, FlushMode, FlushStats, LaunchRow,
    SinkConfig, SinkHandle, SinkReport, SinkSnapshot, Window, WindowStats, COARSE_BUCKET_MS,
    FINE_BUCKET_MS, MAX_TRACKED_TRADERS,
};
