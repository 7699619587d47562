//! # sniffer
//!
//! A lock-free, high-frequency sniffer engine for Solana token-launch ("premint") detection.
//!
//! Data flows one way: feeds (or the bot's [`IngestHandle`]) → bounded priority lanes under a
//! [`DropPolicy`] (or, in `sync`/`async` mode, a stream ring and a batcher between them) → the
//! bot's [`CandidateReceiver`] or a handler closure. Every stage writes its own atomic metrics
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
mod ca_file;
mod candidate;
pub mod config;
pub mod decode;
mod engine;
mod error;
pub mod feed;
#[cfg(feature = "clickhouse")]
pub mod history;
#[cfg(feature = "http")]
pub mod http;
mod ingest;
mod meta;
pub mod metrics;
pub mod net;
mod output;
mod pinning;
#[cfg(feature = "nats")]
pub mod publish;
pub mod ring;
mod rng;
#[cfg(feature = "sqlite")]
pub mod sink;
mod stale;
mod sync;
mod wait;

// The engine's own vocabulary; decoders, feeds, metrics details, the sink, the HTTP listener and
// NATS live in their modules.
pub use candidate::{
    monotonic_ns, unix_ns_at, LaunchKind, LaunchMeta, Launchpad, PremintCandidate, Priority,
    Pubkey, PubkeyParseError, Signature, TokenProgram,
};
pub use config::keys::SnifferConfig;
pub use engine::{
    Health, HealthStatus, LaneReport, MetricsSource, ShutdownReport, Sniffer, SnifferBuilder,
};
pub use error::{
    BuildError, ConfigError, IngestError, RecvError, RecvTimeoutError, TryIngestError, TryRecvError,
};
pub use ingest::IngestHandle;
pub use metrics::snapshot::MetricsSnapshot;
#[cfg(feature = "stream")]
pub use output::CandidateStream;
pub use output::{CandidateReceiver, Handler};
pub use ring::policy::DropPolicy;
