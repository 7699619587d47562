//! Outputs beyond the bot's channel: the aggregates sink, on SQLite or PostgreSQL, with an
//! optional crash-safe Redis write buffer.
//!
//! Bots want the state of each launch (first seen, creator, trades, volume, buyers), queryable
//! after the fact. The pipelines this replaces failed at exactly that (seeds 000 and 003): flushes
//! that walked every key ever seen, state that only grew, one giant transaction, and a database
//! write on every event. Here:
//!
//! ```text
//! hot path ── SinkHandle::record_* (try_send; full → input_drops) ──► bounded input
//!                                                                      │
//!   sniffer-sink thread: AggregateState (per-mint buckets, touched set) ◄┘
//!     every flush_interval       write the touched mints only (delta)
//!     every full_flush_interval  write every live mint (safety net)
//!     each in transactions of flush_batch_size rows (SQLite: BEGIN IMMEDIATE, cached upsert,
//!     WAL; PostgreSQL: one UNNEST upsert per batch, trades counted once by identity)
//!     failed batch → rolled back, counted, retried with backoff; its mints stay touched
//!     then prune mints idle > prune_threshold whose last state is written
//!   shutdown: apply queued input, final flush until the deadline → SinkReport
//! ```
//!
//! - `state.rs`: [`AggregateState`], pure, with an explicit clock (every method takes `now`).
//! - `store.rs`: [`AggregateStore`], the schema (documented there, one `launches` table), WAL,
//!   batched upserts, read helpers such as [`AggregateStore::top_by_buy_volume`].
//! - `backend.rs`: [`Store`], what the sink needs from a database, and [`flush_state`], the one
//!   delta/full flush every store is written by.
//! - `postgres.rs` (feature `postgres`): `PgStore`, the same table on PostgreSQL, shared by
//!   several sniffers.
//! - `buffer.rs` (feature `redis`): `RedisBuffer`, every burst of events in Redis before the
//!   store, pending mints written at the next start.
//! - `aggregates.rs`: [`AggregateSink`], the thread, its timers, retries, pruning and shutdown.

mod aggregates;
mod backend;
#[cfg(feature = "redis")]
mod buffer;
mod error;
#[cfg(feature = "postgres")]
mod postgres;
mod state;
mod store;

pub use aggregates::{unix_ms, AggregateSink, SinkConfig, SinkHandle, SinkReport, SinkStats};
pub use backend::{flush_state, RowWrite, Store, TradeMark};
#[cfg(feature = "redis")]
pub use buffer::{BufferConfig, RedisBuffer, RedisTarget, REDIS_PASSWORD_ENV};
pub use error::{FlushError, RecordError, SinkError, StoreError};
#[cfg(feature = "postgres")]
pub use postgres::{PgStore, PgTarget, PG_PASSWORD_ENV};
pub use state::{
    AggregateState, LaunchRow, Window, WindowStats, COARSE_BUCKET_MS, FINE_BUCKET_MS,
    MAX_TRACKED_TRADERS,
};
pub use store::{AggregateStore, FlushMode, FlushStats};
