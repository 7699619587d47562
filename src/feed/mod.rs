//! Inputs. A pull [`Feed`] runs on its own engine thread: the engine calls [`Feed::poll`] in a
//! loop and the feed hands what it decoded to a [`FeedSink`], which pushes into the stream ring
//! under the configured policy. `decode/` turns real Solana formats into candidates,
//! `synthetic.rs` is the built-in load generator.
//!
//! Line-based inputs are a [`LineSource`] (`replay.rs`: a file, flat out or paced; `stdin.rs`: a
//! blocking reader on its own thread; `payload.rs`: generated real-format lines) wrapped in a
//! [`LineFeed`] (`line_feed.rs`), which decodes, optionally records (`record.rs`), and pushes
//! through the sink. With several feeds the sink consults the shared dedup table
//! (`ingest/dedup.rs`): the first sighting of a (mint, signature) wins, later copies are counted,
//! each feed's in its own [`FeedStats`].

#[cfg(feature = "geyser")]
mod geyser;
#[cfg(feature = "kafka")]
mod kafka;
mod line_feed;
mod lines;
#[cfg(feature = "nats")]
mod nats;
mod payload;
mod record;
mod replay;
#[cfg(feature = "shredstream")]
mod shred;
mod stdin;
mod synthetic;
#[cfg(feature = "ws")]
mod ws;

use std::sync::atomic::{AtomicBool, Ordering::Acquire};
use std::time::Duration;

use crate::candidate::PremintCandidate;
use crate::error::IngestError;
use crate::ingest::{DedupTable, IngestHandle, Sighting};
use crate::wait::WaitBudget;

use crate::candidate::{LaunchMeta, Malformed};

pub use crate::metrics::feeds::FeedStats;
#[cfg(feature = "geyser")]
pub use geyser::{decode_grpc_update, GeyserConfig, GeyserError, GeyserFeed};
#[cfg(feature = "kafka")]
pub use kafka::KafkaFeed;
pub use line_feed::{DecodeObserver, LineFeed};
pub use lines::{LinePoll, LineSource};
#[cfg(feature = "nats")]
pub use nats::{CoreNatsFeed, JetStreamFeed};
pub use payload::{Expected, PayloadConfig, PayloadGenerator, PayloadMix};
pub use replay::{ReplayConfig, ReplaySource};
#[cfg(feature = "shredstream")]
pub use shred::{decode_shred_entries, ShredConfig, ShredError, ShredFeed};
pub use stdin::ReaderSource;
pub use synthetic::{SyntheticConfig, SyntheticFeed};
#[cfg(feature = "ws")]
pub use ws::{Subscription, WsConfig, WsError, WsSource};

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

    /// True for a source that can stop reading without losing anything (a file, stdin, a
    /// broker's pull consumer): the backpressure gate pauses it. False for a live socket, which
    /// a provider disconnects when it stops reading: it is never paused, the drop policy sheds
    /// and counts instead, and under `block` its waits for room add up to at most
    /// `live_block_timeout` per second; beyond that it sheds at once, counting each candidate
    /// in `dropped_full_buffer`.
    fn can_wait(&self) -> bool {
        true
    }

    /// Called once, before the first poll, when the engine busy-polls (the `busy_poll` key): a
    /// source that waits for input in the kernel (a socket read with a timeout) or on its
    /// runtime (a gRPC stream's next message) stops waiting and answers at once (`Idle`) when
    /// nothing is there; its thread spins instead. The default does
    /// nothing.
    fn set_busy_poll(&mut self) {}

    /// Called instead of [`Feed::poll`], every few milliseconds, while the backpressure gate
    /// pauses this feed (one that [`can_wait`](Feed::can_wait)). A file or stdin simply stops
    /// being read (the default does nothing); a source with a session to keep does its
    /// housekeeping here without taking new input: a Kafka consumer pauses its partitions with
    /// the client's native pause and keeps polling, so its group does not evict it. Whatever it
    /// does receive it hands to `sink` as `poll` would.
    fn poll_paused(&mut self, sink: &mut FeedSink<'_>) {
        let _ = sink;
    }
}

/// Where a feed delivers. Counts `tx_seen`, `tx_malformed` and the push outcomes through ingest,
/// and the feed's own figures through its [`FeedStats`].
#[derive(Debug)]
pub struct FeedSink<'a> {
    handle: &'a IngestHandle,
    feed_id: u16,
    stop: &'a AtomicBool,
    /// The dedup table shared by the feeds, and every feed's stats (indexed by feed id): a late
    /// copy records the winner's lead through the winner's handle.
    dedup: Option<(&'a DedupTable, &'a [FeedStats])>,
    stats: FeedStats,
    /// A live feed's wait budget under `block`: how long it may still wait for room in the current
    /// window; past it, a candidate that finds no room is counted as dropped.
    live_wait: Option<WaitBudget>,
}

impl<'a> FeedSink<'a> {
    pub(crate) fn new(
        handle: &'a IngestHandle,
        feed_id: u16,
        stop: &'a AtomicBool,
        stats: FeedStats,
    ) -> Self {
        FeedSink {
            handle,
            feed_id,
            stop,
            dedup: None,
            stats,
            live_wait: None,
        }
    }

    /// Checks decoded launches against a dedup table shared with the other feeds (and with this
    /// feed's own earlier sightings); `feeds` holds every feed's stats, by feed id.
    pub(crate) fn with_dedup(
        mut self,
        dedup: Option<&'a DedupTable>,
        feeds: &'a [FeedStats],
    ) -> Self {
        self.dedup = dedup.map(|d| (d, feeds));
        self
    }

    /// Makes this a live feed's sink: under `block`, its pushes wait at most `budget` per
    /// second in all (see `wait/budget.rs`).
    pub(crate) fn live(mut self, budget: Duration) -> Self {
        self.live_wait = Some(WaitBudget::new(budget));
        self
    }

    /// This feed's own counters (connection health, messages), to hand to its source.
    pub fn stats(&self) -> FeedStats {
        self.stats.clone()
    }

    /// Pushes a decoded launch received at `recv_ns` (on the [`monotonic_ns`](crate::monotonic_ns)
    /// clock). With multi-feed dedup, a launch another feed already delivered is not pushed: it
    /// is counted in `duplicates_dropped` and in this feed's `duplicates`, and the winner's lead
    /// is recorded. Returns whether the candidate was stored.
    pub fn push_decoded(&mut self, d: &crate::decode::Decoded, recv_ns: u64) -> bool {
        if let Some((table, feeds)) = self.dedup {
            let s = table.observe(&d.candidate.mint, &d.signature, self.feed_id, recv_ns);
            self.handle.record_sighting(s);
            if let Sighting::Duplicate { winner, lead_ns } = s {
                self.stats.duplicate();
                // A copy of the feed's own earlier sighting (two subscriptions that both carry
                // the launch) has no lead to record.
                if winner != self.feed_id {
                    if let Some(w) = feeds.get(usize::from(winner)) {
                        w.record_lead(lead_ns);
                    }
                }
                return false;
            }
            self.stats.won();
        }
        let mut c = d.candidate;
        if c.received_unix_ns == 0 {
            c.received_unix_ns = crate::candidate::unix_ns_at(recv_ns);
        }
        self.push_with(c, Some(&d.meta))
    }

    /// Counts one input rejected for `reason` (in `tx_malformed` and in
    /// `tx_malformed_by_reason`).
    #[inline]
    pub fn malformed_reason(&mut self, reason: Malformed) {
        self.handle.record_malformed_reason(reason);
    }

    /// Pushes a candidate under the engine's policy (waiting under `block`), stamped with this
    /// feed's id. Returns whether it was stored; a candidate that was not stored was counted in
    /// exactly one drop counter (a shutdown in progress counts it in `dropped_shutdown`).
    #[inline]
    pub fn push(&mut self, c: PremintCandidate) -> bool {
        self.push_with(c, None)
    }

    #[inline]
    fn push_with(&mut self, mut c: PremintCandidate, meta: Option<&LaunchMeta>) -> bool {
        c.feed_id = self.feed_id;
        loop {
            match self
                .handle
                .ingest_for_feed(c, meta, self.live_wait.as_mut())
            {
                Ok(()) => return true,
                // A live feed must get back to its socket: its wait budget is spent, so the
                // candidate is lost to the full ring, and counted like a `drop_newest` rejection.
                Err(IngestError::Timeout(back)) if self.live_wait.is_some() => {
                    self.handle.record_lost_live(back.kind);
                    return false;
                }
                // `block` with a timeout: a pull feed has nobody to hand the candidate back to,
                // so it keeps waiting (the feed simply stops reading meanwhile).
                Err(IngestError::Timeout(back)) => c = back,
                Err(IngestError::Closed(back)) => {
                    // The feed cannot take it back: it was detected and is lost to the shutdown.
                    self.handle.record_lost_to_shutdown(back.kind);
                    return false;
                }
                Err(_) => return false,
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
