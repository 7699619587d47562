//! Inputs. A pull [`Feed`] runs on its own engine thread: the engine calls [`Feed::poll`] in a
//! loop and the feed hands what it decoded to a [`FeedSink`], which pushes into the stream ring
//! under the configured policy. `decode/` turns real Solana formats into candidates,
//! `synthetic.rs` is the built-in load generator.
//!
//! Line-based inputs are a [`LineSource`] (`replay.rs`: a file, flat out or paced; `stdin.rs`: a
//! blocking reader on its own thread; `payload.rs`: generated real-format lines) wrapped in a
//! [`LineFeed`] (`line_feed.rs`), which decodes, optionally records (`record.rs`), and pushes
//! through the sink. With several feeds the sink consults the shared [`DedupTable`]
//! (`dedup.rs`): the first sighting of a (mint, signature) wins, later copies are counted.

pub(crate) mod decode;
mod dedup;
mod line_feed;
mod lines;
mod payload;
mod record;
mod replay;
mod rng;
mod stdin;
mod synthetic;

use std::sync::atomic::{AtomicBool, Ordering::Acquire};

use crate::candidate::PremintCandidate;
use crate::error::IngestError;
use crate::ingest::IngestHandle;
use decode::Malformed;

pub use dedup::{DedupTable, Sighting, DEDUP_CAPACITY, DEDUP_WINDOW};
pub use line_feed::{DecodeObserver, LineFeed};
pub use lines::{Clock, LinePoll, LineSource, ManualClock, MonotonicClock};
pub use payload::{Expected, PayloadConfig, PayloadGenerator, PayloadMix, PayloadSource};
pub use replay::{ReplayConfig, ReplaySource};
pub use stdin::ReaderSource;
pub use synthetic::{SyntheticConfig, SyntheticFeed};

/// What one call of [`Feed::poll`] achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedPoll {
    /// Did some work; poll again at once.
    Ready,
    /// Nothing to do now; the engine waits briefly before polling again.
    Idle,
    /// The feed is exhausted; its thread ends.
    Finished,
}

/// A source of candidates pulled by an engine thread.
///
/// `poll` must return within a bounded time (a millisecond or so) so that the thread notices a
/// shutdown; a feed that reads a blocking source should read it in bounded slices.
pub trait Feed: Send + 'static {
    /// A short name for thread names and logs.
    fn name(&self) -> &str;

    /// Reads some input and hands the candidates to `sink`.
    fn poll(&mut self, sink: &mut FeedSink<'_>) -> FeedPoll;
}

/// Where a feed delivers. Counts `tx_seen`, `tx_malformed` and the push outcomes.
#[derive(Debug)]
pub struct FeedSink<'a> {
    handle: &'a IngestHandle,
    feed_id: u16,
    stop: &'a AtomicBool,
    dedup: Option<&'a DedupTable>,
}

impl<'a> FeedSink<'a> {
    pub(crate) fn new(handle: &'a IngestHandle, feed_id: u16, stop: &'a AtomicBool) -> Self {
        FeedSink {
            handle,
            feed_id,
            stop,
            dedup: None,
        }
    }

    /// Checks decoded launches against a dedup table shared with the other feeds.
    pub(crate) fn with_dedup(mut self, dedup: Option<&'a DedupTable>) -> Self {
        self.dedup = dedup;
        self
    }

    /// Pushes a decoded launch received at `recv_ns` (on the [`monotonic_ns`](crate::monotonic_ns)
    /// clock). With multi-feed dedup, a launch another feed already delivered is not pushed: it
    /// is counted in `duplicates_dropped` and in this feed's `duplicates`, and the winner's lead
    /// is recorded. Returns whether the candidate was stored.
    pub fn push_decoded(&mut self, d: &crate::Decoded, recv_ns: u64) -> bool {
        if let Some(table) = self.dedup {
            let metrics = self.handle.metrics();
            let feeds = metrics.feeds.get();
            let feed = |id: u16| feeds.and_then(|f| f.get(usize::from(id)));
            let s = table.observe(&d.candidate.mint, &d.signature, self.feed_id, recv_ns);
            match s {
                Sighting::First => {
                    if let Some(f) = feed(self.feed_id) {
                        f.wins.incr();
                    }
                }
                Sighting::Duplicate { winner, lead_ns } => {
                    metrics.ingest.duplicates.incr();
                    if let Some(f) = feed(self.feed_id) {
                        f.duplicates.incr();
                    }
                    if let Some(f) = feed(winner) {
                        f.record_lead(lead_ns);
                    }
                    return false;
                }
                Sighting::FirstEvicting | Sighting::Untracked => {
                    let counter = if matches!(s, Sighting::Untracked) {
                        &metrics.ingest.dedup_untracked
                    } else {
                        &metrics.ingest.dedup_evicted_fresh
                    };
                    counter.incr();
                    if let Some(f) = feed(self.feed_id) {
                        f.wins.incr();
                    }
                }
            }
        }
        self.push(d.candidate)
    }

    /// Counts one input rejected for `reason` (in `tx_malformed` and in
    /// `tx_malformed_by_reason`).
    #[inline]
    pub fn malformed_reason(&mut self, reason: Malformed) {
        self.handle.record_malformed(1);
        if let Some(i) = Malformed::ALL.iter().position(|m| *m == reason) {
            self.handle.metrics().ingest.malformed_by_reason[i].incr();
        }
    }

    /// Pushes a candidate under the engine's policy (waiting under `block`), stamped with this
    /// feed's id. Returns whether it was stored; a candidate that was not stored was counted in
    /// exactly one drop counter (a shutdown in progress counts it in `dropped_shutdown`).
    #[inline]
    pub fn push(&mut self, mut c: PremintCandidate) -> bool {
        c.feed_id = self.feed_id;
        loop {
            match self.handle.ingest(c) {
                Ok(()) => return true,
                // `block` with a timeout: a pull feed has nobody to hand the candidate back to,
                // so it keeps waiting (the feed simply stops reading meanwhile).
                Err(IngestError::Timeout(back)) => c = back,
                Err(IngestError::Closed(_)) => {
                    // The feed cannot take it back: it was detected and is lost to the shutdown.
                    let m = &self.handle.metrics().ingest;
                    m.issued.incr();
                    m.dropped_shutdown.incr();
                    return false;
                }
                Err(IngestError::Full(_) | IngestError::Stale(_)) => return false,
            }
        }
    }

    /// Counts transactions read.
    #[inline]
    pub fn tx_seen(&mut self, n: u64) {
        self.handle.record_tx_seen(n);
    }

    /// Counts inputs that could not be decoded.
    #[inline]
    pub fn malformed(&mut self, n: u64) {
        self.handle.record_malformed(n);
    }

    /// True once the engine is shutting down; a feed may stop early.
    #[inline]
    pub fn should_stop(&self) -> bool {
        self.stop.load(Acquire)
    }

    /// This feed's id (its index in the builder).
    pub fn feed_id(&self) -> u16 {
        self.feed_id
    }
}
