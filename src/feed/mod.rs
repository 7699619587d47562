//! Inputs. A pull [`Feed`] runs on its own engine thread: the engine calls [`Feed::poll`] in a
//! loop and the feed hands what it decoded to a [`FeedSink`], which pushes into the stream ring
//! under the configured policy. `decode/` turns real Solana formats into candidates,
//! `synthetic.rs` is the built-in load generator.

pub(crate) mod decode;
mod synthetic;

use std::sync::atomic::{AtomicBool, Ordering::Acquire};

use crate::candidate::PremintCandidate;
use crate::error::IngestError;
use crate::ingest::IngestHandle;

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
}

impl<'a> FeedSink<'a> {
    pub(crate) fn new(handle: &'a IngestHandle, feed_id: u16, stop: &'a AtomicBool) -> Self {
        FeedSink {
            handle,
            feed_id,
            stop,
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
