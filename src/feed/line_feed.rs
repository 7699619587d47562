//! [`LineFeed`]: a [`Feed`] made of a [`LineSource`] and a [`Decoder`]: every line but a
//! transaction-less JSON-RPC reply (a subscription's acknowledgement) is counted in `tx_seen`,
//! decoded, and either pushed (one candidate per launch, through the sink's dedup) or counted in
//! `tx_malformed` with its reason (a block's undecodable transactions count there one by one,
//! while the block's other launches are pushed). Optionally records every line it received, with
//! its receive time, in the format of `record.rs`.
//!
//! One poll handles at most [`MAX_LINES_PER_POLL`] lines and [`MAX_STEPS_PER_POLL`] partial reads
//! (one bounded chunk each), so it returns within about a millisecond and the engine notices a
//! shutdown.

use std::io;
use std::path::Path;

use super::lines::{LinePoll, LineSource};
use super::payload::{PayloadConfig, PayloadSource};
use super::record::Recorder;
use super::replay::{ReplayConfig, ReplaySource};
use super::stdin::ReaderSource;
use super::{Feed, FeedPoll, FeedSink};
use crate::candidate::monotonic_ns;
use crate::decode::{Decoded, Decoder, DecoderConfig, Malformed, TradeEvent};

/// Sees every decoded line on the feed thread: its launches (with their metadata), its trades and
/// its slot. This is how side outputs that need more than the hot record (the aggregates sink)
/// are fed without touching the ring; it must not block (hand off with `try_send`).
pub type DecodeObserver = Box<dyn FnMut(&[Decoded], &[TradeEvent], u64) + Send>;

/// Lines decoded per poll at most.
pub(crate) const MAX_LINES_PER_POLL: usize = 256;
/// Partial reads (64 KiB chunks) per poll at most.
pub(crate) const MAX_STEPS_PER_POLL: usize = 16;

/// A line source decoded into candidates.
///
/// Dropping it flushes the recording, if any (errors are logged, not returned; the feed also
/// flushes when its source finishes). Dropping a stdin feed lets its reader thread end (see
/// [`ReaderSource`]).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sniffer::{Sniffer, decode::DecoderConfig, feed::{LineFeed, PayloadConfig}};
///
/// let feed = LineFeed::payloads(
///     PayloadConfig { rate: 0, max_lines: Some(500), malformed_pct: 10.0, ..Default::default() },
///     DecoderConfig::default(),
/// );
/// let mut engine = Sniffer::builder().feed(feed).build()?;
/// let rx = engine.take_receiver().unwrap();
/// engine.wait_feeds(Duration::from_secs(30));
/// let report = engine.shutdown(Duration::from_secs(5));
/// let m = &report.metrics;
/// assert_eq!(m.tx_seen, 500);
/// assert!(m.tx_malformed > 0 && m.candidates_sent > 0);
/// assert_eq!(m.tx_malformed, m.tx_malformed_by_reason.values().sum::<u64>());
/// assert_eq!(rx.try_iter().count() as u64, m.candidates_sent);
/// assert!(m.accounting_holds());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct LineFeed {
    source: Box<dyn LineSource>,
    line: Vec<u8>,
    delivery: Delivery,
    /// The source has been handed its feed's counters (at the first poll).
    attached: bool,
    can_wait: bool,
}

impl std::fmt::Debug for LineFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineFeed")
            .field("name", &self.delivery.name)
            .field("decoder", &self.delivery.decoder)
            .field("recording", &self.delivery.recorder.is_some())
            .finish_non_exhaustive()
    }
}

/// What every decoding feed does with one input once decoded: record it (with its receive
/// time), push its launches through the sink (dedup included), and show launches and trades to
/// the observer. Shared by [`LineFeed`] and the gRPC feed.
pub(crate) struct Delivery {
    pub(crate) name: String,
    pub(crate) decoder: Decoder,
    pub(crate) out: Vec<Decoded>,
    observer: Option<DecodeObserver>,
    recorder: Option<Recorder>,
    /// Receive time of the recording's origin: the first poll.
    record_start_ns: Option<u64>,
}

impl Delivery {
    pub(crate) fn new(name: String, decoder: DecoderConfig) -> Self {
        Delivery {
            name,
            decoder: Decoder::with_config(decoder),
            out: Vec::new(),
            observer: None,
            recorder: None,
            record_start_ns: None,
        }
    }

    pub(crate) fn set_observer(&mut self, observer: DecodeObserver) {
        self.observer = Some(observer);
    }

    pub(crate) fn record_to(&mut self, path: &Path) -> io::Result<()> {
        self.recorder = Some(Recorder::create(path)?);
        Ok(())
    }

    /// True while a recording is being written (the gRPC feed renders lines only then).
    #[cfg(feature = "geyser")]
    pub(crate) fn recording(&self) -> bool {
        self.recorder.is_some()
    }

    /// Starts the recording's clock (at the first poll, so a replay starts with the feed).
    pub(crate) fn start_clock(&mut self) {
        if self.recorder.is_some() && self.record_start_ns.is_none() {
            self.record_start_ns = Some(monotonic_ns());
        }
    }

    /// Records `line` received at `now` (`None`: an overlong line whose bytes were not kept).
    pub(crate) fn record(&mut self, now: u64, line: Option<&[u8]>) {
        let Some(rec) = &mut self.recorder else {
            return;
        };
        let at = now.saturating_sub(*self.record_start_ns.get_or_insert(now));
        let r = match line {
            Some(l) => rec.line(at, l),
            None => rec.too_long(at),
        };
        if let Err(e) = r {
            tracing::warn!(feed = %self.name, error = %e, "recording failed; recording stops");
            self.recorder = None;
        }
    }

    /// Pushes what the decoder put in `out` (received at `now`) and shows it to the observer.
    pub(crate) fn deliver(&mut self, sink: &mut FeedSink<'_>, now: u64) {
        // A block's undecodable transactions: each counted, the rest kept.
        for &m in self.decoder.last_skipped() {
            sink.malformed_reason(m);
        }
        for d in &self.out {
            sink.push_decoded(d, now);
        }
        if let Some(observe) = &mut self.observer {
            let trades = self.decoder.last_trades();
            if !self.out.is_empty() || !trades.is_empty() {
                observe(&self.out, trades, self.decoder.last_slot());
            }
        }
    }

    pub(crate) fn finish_recording(&mut self) {
        if let Some(rec) = &mut self.recorder {
            if let Err(e) = rec.flush() {
                tracing::warn!(feed = %self.name, error = %e, "flushing the recording failed");
            }
        }
    }
}

impl LineFeed {
    /// Decodes the lines of `source`.
    pub fn new(source: impl LineSource, decoder: DecoderConfig) -> Self {
        LineFeed {
            delivery: Delivery::new(source.name().to_owned(), decoder),
            can_wait: source.can_wait(),
            source: Box::new(source),
            line: Vec::new(),
            attached: false,
        }
    }

    /// Replays a file (a recording at its pace, a plain file flat out or at `plain_rate`). The
    /// decoder's `max_line_len` caps the lines.
    ///
    /// # Errors
    ///
    /// The I/O error when the file cannot be opened or read.
    pub fn replay(path: &Path, replay: ReplayConfig, decoder: DecoderConfig) -> io::Result<Self> {
        let replay = ReplayConfig {
            max_line_len: decoder.max_line_len,
            ..replay
        };
        Ok(Self::new(ReplaySource::open(path, replay)?, decoder))
    }

    /// Reads the process's standard input on a reader thread.
    ///
    /// # Errors
    ///
    /// The error of spawning the reader thread.
    pub fn stdin(decoder: DecoderConfig) -> io::Result<Self> {
        Ok(Self::new(
            ReaderSource::stdin(decoder.max_line_len)?,
            decoder,
        ))
    }

    /// A live WebSocket feed of `url` (see [`WsSource`](super::WsSource)); the decoder's
    /// `max_line_len` caps the messages.
    ///
    /// # Errors
    ///
    /// As [`WsSource::new`](super::WsSource::new).
    #[cfg(feature = "ws")]
    pub fn ws(
        url: &str,
        ws: super::WsConfig,
        decoder: DecoderConfig,
    ) -> Result<Self, super::WsError> {
        let ws = super::WsConfig {
            max_line_len: decoder.max_line_len,
            ..ws
        };
        Ok(Self::new(super::WsSource::new(url, ws)?, decoder))
    }

    /// Generated real-format lines.
    pub fn payloads(cfg: PayloadConfig, decoder: DecoderConfig) -> Self {
        Self::new(PayloadSource::new(cfg), decoder)
    }

    /// Calls `observer` after every line that decoded (see [`DecodeObserver`]).
    pub fn with_observer(mut self, observer: DecodeObserver) -> Self {
        self.delivery.set_observer(observer);
        self
    }

    /// Also writes every line received, with its receive time, to `path` (truncated first).
    ///
    /// # Errors
    ///
    /// The I/O error when the file cannot be created.
    pub fn record_to(mut self, path: &Path) -> io::Result<Self> {
        self.delivery.record_to(path)?;
        Ok(self)
    }
}

impl Feed for LineFeed {
    fn name(&self) -> &str {
        &self.delivery.name
    }

    fn can_wait(&self) -> bool {
        self.can_wait
    }

    fn set_busy_poll(&mut self) {
        self.source.set_busy_poll();
    }

    fn poll(&mut self, sink: &mut FeedSink<'_>) -> FeedPoll {
        self.delivery.start_clock();
        if !self.attached {
            self.source.attach(sink.stats());
            self.attached = true;
        }
        let stats = sink.stats();
        let (mut lines, mut steps) = (0, 0);
        loop {
            match self.source.next_line(&mut self.line) {
                LinePoll::Line => {
                    let now = monotonic_ns();
                    stats.message_at(self.line.len(), now);
                    let d = &mut self.delivery;
                    d.record(now, Some(&self.line));
                    d.out.clear();
                    let decoded = d.decoder.decode_line(&self.line, &mut d.out);
                    // A reply with no transaction in it (a subscription's acknowledgement, an
                    // error) is no transaction; anything else, malformed or not, is.
                    if !d.decoder.last_was_ack() {
                        sink.tx_seen(1);
                    }
                    let routed = self.source.route(&self.line, d.decoder.last_envelope());
                    match decoded {
                        Ok(_) if !routed => {}
                        Ok(_) => d.deliver(sink, now),
                        Err(m) => sink.malformed_reason(m),
                    }
                }
                LinePoll::TooLong => {
                    let now = monotonic_ns();
                    stats.message_at(0, now);
                    self.delivery.record(now, None);
                    sink.tx_seen(1);
                    sink.malformed_reason(Malformed::TooLong);
                }
                // Not recorded: a recording keeps lines and `too_long` marks only.
                LinePoll::NotUtf8 => {
                    stats.message_at(0, monotonic_ns());
                    sink.tx_seen(1);
                    sink.malformed_reason(Malformed::NotUtf8);
                }
                LinePoll::Pending => {
                    steps += 1;
                    if steps >= MAX_STEPS_PER_POLL {
                        return FeedPoll::Ready;
                    }
                    continue;
                }
                // The source blocked in its read already: no idle wait on top of it.
                LinePoll::Waited => return FeedPoll::Ready,
                LinePoll::Idle => {
                    return if lines > 0 {
                        FeedPoll::Ready
                    } else {
                        FeedPoll::Idle
                    };
                }
                LinePoll::Finished => {
                    self.delivery.finish_recording();
                    return FeedPoll::Finished;
                }
            }
            lines += 1;
            if lines >= MAX_LINES_PER_POLL || sink.should_stop() {
                return FeedPoll::Ready;
            }
        }
    }
}
