//! [`ReaderSource`]: lines from a blocking reader (stdin, a pipe, a socket), read on a named
//! thread and handed over through a bounded channel, so [`LineSource::next_line`] never blocks.
//!
//! The reader thread hands over raw chunks of up to [`CHUNK`] bytes, not lines: the feed splits
//! them with the same [`LineReader`] a replay uses. One line per message would cost a channel
//! round trip (and, when the channel runs dry between two lines, the feed's idle sleep) per line:
//! measured 5-14x slower than a replay of the same short lines.
//!
//! Memory is bounded by construction: the reader thread fills buffers taken from a fixed pool of
//! [`POOL`] chunk buffers and the feed gives each back once it has copied it out, so at most
//! `POOL` chunks, the splitter's own chunk and one partial line (capped at `max_line_len`) are
//! held at any time, and a slow engine makes the reader thread wait instead of queueing without
//! limit.

use std::io::{self, Read};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{bounded, Receiver, Sender, TryRecvError};

use super::lines::{LinePoll, LineReader, LineSource, Step, CHUNK};

/// Chunk buffers shared between the reader thread and the feed.
pub(crate) const POOL: usize = 16;

enum Msg {
    Chunk(Vec<u8>),
    Eof,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Chunk(c) => write!(f, "Chunk({} bytes)", c.len()),
            Msg::Eof => f.write_str("Eof"),
        }
    }
}

/// The feed's end of the channel as a non-blocking [`Read`]: `WouldBlock` when no chunk is
/// ready, `Ok(0)` at the end of input.
#[derive(Debug)]
struct ChunkReader {
    chunks: Receiver<Msg>,
    free: Sender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    eof: bool,
    /// Chunks received: one channel hand-off per chunk, not per line.
    handoffs: u64,
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            if self.eof {
                return Ok(0);
            }
            match self.chunks.try_recv() {
                Ok(Msg::Chunk(next)) => {
                    self.handoffs += 1;
                    let used = std::mem::replace(&mut self.current, next);
                    self.pos = 0;
                    // Back to the pool (its capacity is reused).
                    let _ = self.free.try_send(used);
                }
                Ok(Msg::Eof) | Err(TryRecvError::Disconnected) => self.eof = true,
                Err(TryRecvError::Empty) => return Err(io::ErrorKind::WouldBlock.into()),
            }
        }
        let n = out.len().min(self.current.len() - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads lines from a blocking reader on its own thread.
///
/// Dropping it disconnects the channels; the reader thread notices at its next chunk (or at end
/// of input) and ends, and is joined when it already has. A thread blocked in a read of the
/// process's stdin cannot be interrupted without unsafe code: it then ends with the process (or
/// when the next input or EOF arrives), holding at most one chunk buffer.
///
/// # Examples
///
/// ```
/// use sniffer::feed::{LinePoll, LineSource, ReaderSource};
///
/// let mut src = ReaderSource::spawn("doc", std::io::Cursor::new(b"one\ntwo\n".to_vec()), 1024)?;
/// let mut buf = Vec::new();
/// let mut lines = Vec::new();
/// loop {
///     match src.next_line(&mut buf) {
///         LinePoll::Line => lines.push(String::from_utf8(buf.clone())?),
///         LinePoll::Finished => break,
///         _ => std::thread::yield_now(),
///     }
/// }
/// assert_eq!(lines, ["one", "two"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ReaderSource {
    name: String,
    lines: LineReader<ChunkReader>,
    /// The line being assembled across chunks.
    partial: Vec<u8>,
    thread: Option<JoinHandle<()>>,
    finished: bool,
}

impl ReaderSource {
    /// Reads the process's standard input.
    ///
    /// # Errors
    ///
    /// The error of spawning the reader thread.
    pub fn stdin(max_line_len: usize) -> std::io::Result<Self> {
        Self::spawn("stdin", std::io::stdin(), max_line_len)
    }

    /// Reads `reader` on a thread named `sniffer-read-<name>`.
    ///
    /// # Errors
    ///
    /// The error of spawning the reader thread.
    pub fn spawn<R: Read + Send + 'static>(
        name: &str,
        reader: R,
        max_line_len: usize,
    ) -> std::io::Result<Self> {
        let (chunk_tx, chunk_rx) = bounded(POOL);
        let (free_tx, free_rx) = bounded(POOL);
        for _ in 0..POOL {
            // Cannot fail: the channel has room for the whole pool.
            let _ = free_tx.try_send(Vec::new());
        }
        let thread_name = format!("sniffer-read-{name}");
        let feed_name = name.to_owned();
        let thread = thread::Builder::new()
            .name(thread_name)
            .spawn(move || read_loop(reader, &chunk_tx, &free_rx, &feed_name))?;
        let chunks = ChunkReader {
            chunks: chunk_rx,
            free: free_tx,
            current: Vec::new(),
            pos: 0,
            eof: false,
            handoffs: 0,
        };
        Ok(ReaderSource {
            name: name.to_owned(),
            lines: LineReader::new(chunks, max_line_len),
            partial: Vec::new(),
            thread: Some(thread),
            finished: false,
        })
    }
}

fn read_loop<R: Read>(mut reader: R, chunks: &Sender<Msg>, free: &Receiver<Vec<u8>>, name: &str) {
    loop {
        // Waits for the feed to give a buffer back: this is the backpressure.
        let Ok(mut buf) = free.recv() else { return };
        buf.resize(CHUNK, 0);
        let n = loop {
            match reader.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!(feed = %name, error = %e, "read failed; feed ends");
                    break 0;
                }
            }
        };
        if n == 0 {
            let _ = chunks.send(Msg::Eof);
            return;
        }
        buf.truncate(n);
        if chunks.send(Msg::Chunk(buf)).is_err() {
            return;
        }
    }
}

impl LineSource for ReaderSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn next_line(&mut self, buf: &mut Vec<u8>) -> LinePoll {
        if self.finished {
            return LinePoll::Finished;
        }
        match self.lines.step(&mut self.partial) {
            Ok(Step::Line) => {
                std::mem::swap(buf, &mut self.partial);
                self.partial.clear();
                LinePoll::Line
            }
            Ok(Step::TooLong) => {
                buf.clear();
                LinePoll::TooLong
            }
            Ok(Step::Pending) => LinePoll::Pending,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => LinePoll::Idle,
            Ok(Step::Eof) | Err(_) => {
                self.finished = true;
                if let Some(t) = self.thread.take() {
                    // It sent its last message and returns at once.
                    let _ = t.join();
                }
                LinePoll::Finished
            }
        }
    }
}

impl Drop for ReaderSource {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            if t.is_finished() {
                let _ = t.join();
            }
            // Otherwise the thread is blocked in `read` (or about to send): with the channels
            // gone it returns at its next line; see the type's docs.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line, in order, with the overlong one reported; and one channel hand-off per
    /// chunk of input, not per line.
    #[test]
    fn lines_come_whole_across_chunks_with_one_handoff_per_chunk() {
        let mut input = Vec::new();
        let mut expected = Vec::new();
        for i in 0..100_000u32 {
            let line = format!("{{\"n\":{i}}}");
            input.extend_from_slice(line.as_bytes());
            input.push(b'\n');
            expected.push(Some(line));
            if i == 50_000 {
                input.extend(std::iter::repeat_n(b'x', 3 * CHUNK));
                input.push(b'\n');
                expected.push(None);
            }
        }
        let total = input.len();
        let mut src = ReaderSource::spawn("test", std::io::Cursor::new(input), 1024).unwrap();
        let mut buf = Vec::new();
        let mut got = Vec::new();
        loop {
            match src.next_line(&mut buf) {
                LinePoll::Line => got.push(Some(String::from_utf8(buf.clone()).unwrap())),
                LinePoll::TooLong => got.push(None),
                LinePoll::Finished => break,
                LinePoll::Pending | LinePoll::Idle | LinePoll::Waited | LinePoll::NotUtf8 => {
                    std::thread::yield_now()
                }
            }
        }
        assert_eq!(got, expected);
        let handoffs = src.lines.get_ref().handoffs;
        assert!(
            handoffs <= (total / CHUNK + 1) as u64,
            "{handoffs} hand-offs for {total} bytes"
        );
    }
}
