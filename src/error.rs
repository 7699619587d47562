//! The engine's errors: configuration ([`ConfigError`]), building ([`BuildError`]), ingesting
//! ([`TryIngestError`], [`IngestError`]) and receiving ([`TryRecvError`], [`RecvError`],
//! [`RecvTimeoutError`]). The parts beyond the engine keep theirs beside them: the aggregates sink
//! in `sink/error.rs`, NATS in `net/nats/`, the publisher in `publish/`, the feeds in their files.
//!
//! Errors that hand a candidate back carry it (`into_inner()`), and their `Debug` output does not
//! dump the payload, following crossbeam-channel's `err.rs`.

use thiserror::Error;

/// A configuration that cannot be used. Every variant names what was wrong.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A key has a value outside its rules.
    #[error("invalid value `{value}` for `{key}`: {reason}")]
    Invalid {
        /// The offending key.
        key: &'static str,
        /// The value as given.
        value: String,
        /// The rule it breaks.
        reason: String,
    },
    /// A key that no setting has.
    #[error("unknown key `{key}` in {source_name}")]
    UnknownKey {
        /// The unknown key.
        key: String,
        /// Where it came from (file, environment variable ...).
        source_name: String,
    },
    /// The text is not valid TOML.
    #[error("cannot parse {source_name}: {message}")]
    Parse {
        /// What was being parsed.
        source_name: String,
        /// The parser's message.
        message: String,
    },
    /// The file cannot be read.
    #[error("cannot read config file {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The system's message.
        message: String,
    },
}

impl ConfigError {
    /// The key the error is about, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            ConfigError::UnknownKey { key, .. } => Some(key),
            ConfigError::Parse { .. } | ConfigError::Io { .. } => None,
        }
    }
}

/// Why the engine could not be built. No thread is left running when this is returned.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The configuration failed validation.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The operating system refused to start a thread.
    #[error("cannot spawn thread `{thread}`: {source}")]
    Spawn {
        /// The thread's name.
        thread: String,
        /// The system error.
        source: std::io::Error,
    },
}

/// Implements the payload-handing parts shared by the errors that carry a candidate.
macro_rules! payload_error {
    ($name:ident { $($variant:ident => $msg:literal),+ $(,)? }) => {
        impl $name {
            /// Hands the candidate back.
            pub fn into_inner(self) -> crate::candidate::PremintCandidate {
                match self {
                    $($name::$variant(c) => c,)+
                }
            }
        }

        // Hand-written so that logging an error never dumps the payload (crossbeam's `err.rs`).
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    $($name::$variant(_) => write!(f, concat!(stringify!($variant), "(..)")),)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    $($name::$variant(_) => f.write_str($msg),)+
                }
            }
        }

        impl std::error::Error for $name {}
    };
}
#[cfg(feature = "nats")]
pub(crate) use payload_error;

/// Why [`StreamRing::push`](crate::ring::StreamRing::push) did not store a candidate.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushError {
    /// The ring is full (`drop_newest`, or a non-waiting push under `block`).
    Full(crate::candidate::PremintCandidate),
    /// The ring stayed full for the whole timeout (`block`).
    Timeout(crate::candidate::PremintCandidate),
    /// The ring was closed for shutdown.
    Closed(crate::candidate::PremintCandidate),
}

payload_error!(PushError {
    Full => "stream ring is full",
    Timeout => "timed out waiting for room in the stream ring",
    Closed => "stream ring is closed",
});

/// Why [`IngestHandle::try_ingest`](crate::IngestHandle::try_ingest) did not accept a candidate.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryIngestError {
    /// The ring is full: under `drop_newest` the candidate was counted in `dropped_full_buffer`;
    /// under `block` nothing was counted and the caller may retry.
    Full(crate::candidate::PremintCandidate),
    /// The backpressure gate is paused (the ring passed `pause_pct` and has not yet fallen below
    /// `resume_pct`); nothing was counted: the bot decides (retry later, `ingest` anyway, drop).
    Backpressure(crate::candidate::PremintCandidate),
    /// Older than `max_age` or `max_slot_lag`: counted in `dropped_stale`.
    Stale(crate::candidate::PremintCandidate),
    /// The engine is shutting down; the candidate was not counted.
    Closed(crate::candidate::PremintCandidate),
}

payload_error!(TryIngestError {
    Full => "stream ring is full",
    Backpressure => "backpressure: the engine asks producers to pause",
    Stale => "candidate is stale",
    Closed => "engine is shutting down",
});

/// Why [`IngestHandle::ingest`](crate::IngestHandle::ingest) did not accept a candidate.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IngestError {
    /// Rejected by `drop_newest` (counted in `dropped_full_buffer`).
    Full(crate::candidate::PremintCandidate),
    /// `block_timeout` passed with the ring still full; not counted, the caller keeps it.
    Timeout(crate::candidate::PremintCandidate),
    /// Older than `max_age` or `max_slot_lag`: counted in `dropped_stale`.
    Stale(crate::candidate::PremintCandidate),
    /// The engine is shutting down; the candidate was not counted.
    Closed(crate::candidate::PremintCandidate),
}

payload_error!(IngestError {
    Full => "stream ring is full",
    Timeout => "timed out waiting for room in the stream ring",
    Stale => "candidate is stale",
    Closed => "engine is shutting down",
});

/// Why [`CandidateReceiver::try_recv`](crate::CandidateReceiver::try_recv) returned nothing.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum TryRecvError {
    /// Nothing is ready now.
    #[error("no candidate is ready")]
    Empty,
    /// The engine has shut down and both lanes are empty: nothing more will come.
    #[error("the engine has shut down and the lanes are empty")]
    Disconnected,
}

/// [`CandidateReceiver::recv`](crate::CandidateReceiver::recv) found the stream ended: the engine
/// has shut down and both lanes are empty. (A unit struct, like crossbeam's: there is nothing to
/// add to it, so it is not `#[non_exhaustive]`, which would forbid naming it in a pattern.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Error)]
#[error("the engine has shut down and the lanes are empty")]
pub struct RecvError;

/// Why [`CandidateReceiver::recv_timeout`](crate::CandidateReceiver::recv_timeout) returned
/// nothing.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum RecvTimeoutError {
    /// Nothing arrived within the timeout.
    #[error("timed out waiting for a candidate")]
    Timeout,
    /// The engine has shut down and both lanes are empty: nothing more will come.
    #[error("the engine has shut down and the lanes are empty")]
    Disconnected,
}
