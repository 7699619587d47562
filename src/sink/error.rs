//! The aggregates sink's errors: the stores' ([`StoreError`], [`FlushError`]), starting the sink
//! ([`SinkError`]) and queueing an event ([`RecordError`]). All are payload-free.

use thiserror::Error;

use super::store::FlushStats;
use crate::error::ConfigError;

/// Why the aggregates database refused an operation. Payload-free: a failed batch stays in the
/// sink's state (touched) and is retried, so the error never needs to carry rows back.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another connection holds the write lock (`SQLITE_BUSY` / `SQLITE_LOCKED`).
    #[error("database is busy: another connection holds the write lock")]
    Busy,
    /// The disk, or the database's `max_page_count`, is full (`SQLITE_FULL`).
    #[error("database or disk is full")]
    Full,
    /// The file holds another schema version (`PRAGMA user_version`).
    #[error("unsupported schema version {0} (expected 1)")]
    Schema(i64),
    /// A stored value this crate cannot have written.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// Any other SQLite failure, with SQLite's message.
    #[error("sqlite: {0}")]
    Sqlite(String),
    /// The database server cannot be reached, or the connection broke (the sink reconnects at
    /// its next attempt).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Any other PostgreSQL failure: the SQLSTATE and the server's message.
    #[error("postgres: {0}")]
    Postgres(String),
}

/// A flush that stopped at a failing batch: what was committed before it, and why it failed.
/// The failed batch and the ones after it are still touched in the state.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
#[error("flush failed after {} rows in {} batches: {error}", written.rows, written.batches)]
pub struct FlushError {
    /// Committed before the failure.
    pub written: FlushStats,
    /// The failure.
    pub error: StoreError,
}

/// Why the aggregates sink could not start. No thread is left running when this is returned.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The sink configuration failed validation.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database could not be opened or read.
    #[error("aggregates database: {0}")]
    Store(#[from] StoreError),
    /// The write buffer could not be reached, or the recovery of its pending mints failed (they
    /// stay pending for the next start).
    #[error("write buffer: {0}")]
    Buffer(String),
    /// The operating system refused to start the sink thread.
    #[error("cannot spawn thread `sniffer-sink`: {0}")]
    Spawn(#[source] std::io::Error),
}

/// Why a `SinkHandle::record_*` call did not queue its event. Payload-free: the caller still
/// holds the record it passed by reference. Either way the event is counted, never lost silently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The sink's input is full: counted in `input_drops`.
    #[error("aggregates sink input is full")]
    Full,
    /// The sink has shut down: counted in `input_closed`.
    #[error("aggregates sink has shut down")]
    Closed,
}
