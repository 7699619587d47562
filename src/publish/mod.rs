//! Outputs beyond the bot's channel that carry launches to other processes: the NATS
//! [`Publisher`] (`nats.rs`) and the [`KafkaPublisher`] (`kafka.rs`), with their counters
//! (`stats.rs`, read through [`PublishStats`]; their snapshot shape is
//! [`PublishSnapshot`](crate::metrics::PublishSnapshot)). Publishing happens after delivery and
//! never blocks the bot: a bounded queue in front of the publisher's own thread, every refusal
//! counted, the same counters (`publish_*`) for both.

#[cfg(feature = "kafka")]
mod kafka;
mod nats;
mod stats;

pub use crate::net::nats::wire::{message_id, subject, STREAM_SUBJECTS, SUBJECT_PREFIX};
#[cfg(feature = "kafka")]
pub use kafka::{KafkaPublishHandle, KafkaPublisher};
pub use nats::{PublishHandle, Publisher, MAX_INFLIGHT};
pub use stats::PublishStats;

/// A launch queued for publishing: the record and its metadata (empty when unknown).
type Queued = (
    crate::candidate::PremintCandidate,
    crate::candidate::LaunchMeta,
);

/// The engine's feed names, by `feed_id`, for the records' `feed`: set once by the embedder
/// (`set_feed_names`), read by the publisher's thread.
#[derive(Default)]
struct FeedNames(std::sync::OnceLock<Vec<String>>);

impl FeedNames {
    fn set(&self, names: Vec<String>) {
        let _ = self.0.set(names);
    }

    fn name(&self, feed_id: u16) -> Option<&str> {
        self.0.get()?.get(usize::from(feed_id)).map(String::as_str)
    }
}

/// Why a publisher's `try_publish` did not queue a candidate. Either way the candidate is
/// counted in `publish_dropped` (handed back for the caller's own logs, not to be offered again).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TryPublishError {
    /// The publisher's queue is full (the server is slow or unreachable).
    Full(crate::candidate::PremintCandidate),
    /// The publisher has shut down.
    Closed(crate::candidate::PremintCandidate),
}

crate::error::payload_error!(TryPublishError {
    Full => "the publisher's queue is full",
    Closed => "the publisher has shut down",
});
