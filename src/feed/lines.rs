//! Line plumbing shared by the line-based feeds: [`LineSource`] (where raw input lines come from),
//! [`LineReader`] (a byte stream split into lines with a hard length cap), and the [`Clock`] that
//! paced sources read, injectable so pacing can be tested without the wall clock.
//!
//! The cap is the point of `LineReader`: a 10 MB line is never buffered whole. Once a line passes
//! `max` bytes its prefix is discarded and the rest is skipped up to the next `\n`, and the line
//! comes out as [`Step::TooLong`] (counted as `too_long` by the feed). Reads happen in chunks of at
//! most [`CHUNK`] bytes, one chunk per [`LineReader::step`], so a caller can bound the work of one
//! poll by bounding the number of steps.

use std::io::{self, Read};

use crate::candidate::monotonic_ns;
use crate::decode::Envelope;
use crate::metrics::FeedStats;

/// Bytes read from the underlying reader per step.
pub(crate) const CHUNK: usize = 64 * 1024;

/// What [`LineSource::next_line`] produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinePoll {
    /// A whole line (without its `\n`) is in the buffer.
    Line,
    /// A line longer than the cap was skipped; the buffer is empty.
    TooLong,
    /// A message that must be UTF-8 was not (a WebSocket text message, which fails its
    /// connection: RFC 6455 §8.1); it is counted as `not_utf8`, like the same bytes in a binary
    /// message. The buffer is empty.
    NotUtf8,
    /// Some input was consumed but no line is complete yet; call again.
    Pending,
    /// Nothing is available now (not due yet, or the source is waiting for input).
    Idle,
    /// Nothing arrived, but the source already waited for input (a socket read with a
    /// timeout): poll again at once instead of idling.
    Waited,
    /// The source is exhausted.
    Finished,
}

/// A source of raw input lines (one JSON document each), read by a [`LineFeed`](super::LineFeed).
///
/// `next_line` must return quickly (microseconds): a source that reads a blocking input does it
/// on its own thread or in bounded slices.
pub trait LineSource: Send + 'static {
    /// A short name for thread names and logs.
    fn name(&self) -> &str;

    /// Puts the next line in `buf` (cleared first) when one is ready.
    fn next_line(&mut self, buf: &mut Vec<u8>) -> LinePoll;

    /// False for a live socket that must keep being read (see [`Feed::can_wait`]).
    ///
    /// [`Feed::can_wait`]: super::Feed::can_wait
    fn can_wait(&self) -> bool {
        true
    }

    /// See [`Feed::set_busy_poll`](super::Feed::set_busy_poll): never wait for input in the
    /// kernel from now on. The default does nothing.
    fn set_busy_poll(&mut self) {}

    /// Hands the source its feed's counters once, before the first `next_line`, so a live
    /// source can report connects, stalls and refusals.
    fn attach(&mut self, _stats: FeedStats) {}

    /// Called after each line decoded, with what kind of message it was: a source that made
    /// requests matches the replies here, and returns false for a notification it did not
    /// subscribe to (its launches are then skipped).
    fn route(&mut self, _line: &[u8], _envelope: Envelope) -> bool {
        true
    }
}

/// A time source in nanoseconds. Paced sources read it; tests substitute a clock they move by hand.
pub(crate) trait Clock: Send + Sync + 'static {
    /// Nanoseconds since an arbitrary fixed epoch; never decreases.
    fn now_ns(&self) -> u64;
}

/// The engine's monotonic clock ([`monotonic_ns`](crate::monotonic_ns)).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MonotonicClock;

impl Clock for MonotonicClock {
    fn now_ns(&self) -> u64 {
        monotonic_ns()
    }
}

/// One step of a [`LineReader`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// A whole non-empty line was appended to the output buffer.
    Line,
    /// A line over the cap was skipped; the output buffer was cleared.
    TooLong,
    /// Input consumed, no line complete yet (empty lines are skipped this way too).
    Pending,
    /// End of input, nothing left.
    Eof,
}

/// Splits a reader into lines of at most `max` bytes (the `\n` excluded).
#[derive(Debug)]
pub(crate) struct LineReader<R> {
    inner: R,
    chunk: Box<[u8]>,
    pos: usize,
    len: usize,
    max: usize,
    /// Inside a line that went over the cap: its bytes are being skipped.
    overlong: bool,
    eof: bool,
}

impl<R: Read> LineReader<R> {
    pub(crate) fn new(inner: R, max: usize) -> Self {
        LineReader {
            inner,
            chunk: vec![0; CHUNK].into_boxed_slice(),
            pos: 0,
            len: 0,
            max,
            overlong: false,
            eof: false,
        }
    }

    /// The underlying reader.
    #[cfg(test)]
    pub(crate) fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Scans the buffered bytes, reading at most one chunk first when none are buffered. Bytes of
    /// the current line are appended to `out`, which the caller empties after each line.
    pub(crate) fn step(&mut self, out: &mut Vec<u8>) -> io::Result<Step> {
        if self.pos == self.len {
            if self.eof {
                return Ok(self.end_of_input(out));
            }
            let n = match self.inner.read(&mut self.chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(Step::Pending),
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.eof = true;
                return Ok(self.end_of_input(out));
            }
            self.pos = 0;
            self.len = n;
        }
        let avail = &self.chunk[self.pos..self.len];
        match avail.iter().position(|&b| b == b'\n') {
            Some(i) => {
                Self::take(&mut self.overlong, self.max, &avail[..i], out);
                self.pos += i + 1;
                if std::mem::take(&mut self.overlong) {
                    out.clear();
                    Ok(Step::TooLong)
                } else if out.is_empty() {
                    Ok(Step::Pending)
                } else {
                    Ok(Step::Line)
                }
            }
            None => {
                Self::take(&mut self.overlong, self.max, avail, out);
                self.pos = self.len;
                Ok(Step::Pending)
            }
        }
    }

    /// Steps until a line, an overlong line or the end of input (for readers on their own
    /// thread, where blocking is fine).
    pub(crate) fn read_line(&mut self, out: &mut Vec<u8>) -> io::Result<Step> {
        loop {
            match self.step(out)? {
                Step::Pending => {}
                s => return Ok(s),
            }
        }
    }

    /// A last line without its `\n` still counts.
    fn end_of_input(&mut self, out: &mut Vec<u8>) -> Step {
        if std::mem::take(&mut self.overlong) {
            out.clear();
            Step::TooLong
        } else if out.is_empty() {
            Step::Eof
        } else {
            Step::Line
        }
    }

    fn take(overlong: &mut bool, max: usize, bytes: &[u8], out: &mut Vec<u8>) {
        if *overlong {
            return;
        }
        if out.len() + bytes.len() > max {
            // Give the memory of a huge prefix back: only the cap's worth is ever kept.
            *overlong = true;
            out.clear();
        } else {
            out.extend_from_slice(bytes);
        }
    }
}

/// A clock that moves only when told to; clones share the same time (the paced sources' tests).
#[cfg(test)]
#[derive(Clone, Debug, Default)]
pub(crate) struct ManualClock(std::sync::Arc<std::sync::atomic::AtomicU64>);

#[cfg(test)]
impl ManualClock {
    /// Sets the time.
    pub(crate) fn set_ns(&self, ns: u64) {
        self.0.store(ns, std::sync::atomic::Ordering::Relaxed);
    }

    /// Moves the time forward.
    pub(crate) fn advance_ns(&self, ns: u64) {
        self.0.fetch_add(ns, std::sync::atomic::Ordering::Relaxed);
    }
}

#[cfg(test)]
impl Clock for ManualClock {
    fn now_ns(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<Result<Vec<u8>, ()>> {
        let mut r = LineReader::new(input, max);
        let mut out = Vec::new();
        let mut v = Vec::new();
        loop {
            match r.step(&mut out).unwrap() {
                Step::Line => v.push(Ok(std::mem::take(&mut out))),
                Step::TooLong => v.push(Err(())),
                Step::Pending => {}
                Step::Eof => return v,
            }
        }
    }

    #[test]
    fn splits_caps_and_skips_empty_lines() {
        let v = lines(b"ab\n\ncdefgh\nij\r\nklm", 4);
        assert_eq!(
            v,
            vec![
                Ok(b"ab".to_vec()),
                Err(()),
                Ok(b"ij\r".to_vec()),
                Ok(b"klm".to_vec())
            ]
        );
        // Exactly at the cap is fine; an overlong last line without `\n` is still too long.
        assert_eq!(
            lines(b"abcd\nabcde", 4),
            vec![Ok(b"abcd".to_vec()), Err(())]
        );
    }

    #[test]
    fn a_long_line_across_chunks_is_never_buffered() {
        let mut input = vec![b'x'; 3 * CHUNK + 17];
        input.extend_from_slice(b"\nok\n");
        let mut r = LineReader::new(&input[..], 1024);
        let mut out = Vec::new();
        let mut steps = Vec::new();
        loop {
            let s = r.step(&mut out).unwrap();
            assert!(
                out.capacity() <= 2 * 1024 + CHUNK,
                "buffered {}",
                out.capacity()
            );
            if s == Step::Eof {
                break;
            }
            if s != Step::Pending {
                steps.push((s, std::mem::take(&mut out)));
            }
        }
        assert_eq!(
            steps,
            vec![(Step::TooLong, vec![]), (Step::Line, b"ok".to_vec())]
        );
    }
}
