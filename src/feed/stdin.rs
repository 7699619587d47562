//! [`ReaderSource`]: lines from a blocking reader (stdin, a pipe, a socket), read on a named
//! thread and handed over through a bounded channel, so [`LineSource::next_line`] never blocks.
//!
//! Memory is bounded by construction: the reader thread fills buffers taken from a fixed pool of
//! [`POOL`] buffers (each capped at `max_line_len` by the [`LineReader`]) and the feed gives each
//! buffer back after decoding its line, so at most `POOL + 1` lines are held at any time, and a
//! slow engine makes the reader thread wait instead of queueing without limit.

use std::io::Read;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{bounded, Receiver, Sender, TryRecvError};

use super::lines::{LinePoll, LineReader, LineSource, Step};

/// Line buffers shared between the reader thread and the feed.
pub(crate) const POOL: usize = 64;

enum Msg {
    Line(Vec<u8>),
    TooLong,
    Eof,
}

/// Reads lines from a blocking reader on its own thread.
///
/// Dropping it disconnects the channels; the reader thread notices at its next line (or at end
/// of input) and ends, and is joined when it already has. A thread blocked in a read of the
/// process's stdin cannot be interrupted without unsafe code: it then ends with the process (or
/// when the next line or EOF arrives), holding at most one line buffer.
///
/// # Examples
///
/// ```
/// use sniffer::{LinePoll, LineSource, ReaderSource};
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
    lines: Receiver<Msg>,
    free: Sender<Vec<u8>>,
    thread: Option<JoinHandle<()>>,
    finished: bool,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Line(l) => write!(f, "Line({} bytes)", l.len()),
            Msg::TooLong => f.write_str("TooLong"),
            Msg::Eof => f.write_str("Eof"),
        }
    }
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
        let (line_tx, line_rx) = bounded(POOL);
        let (free_tx, free_rx) = bounded(POOL);
        for _ in 0..POOL {
            // Cannot fail: the channel has room for the whole pool.
            let _ = free_tx.try_send(Vec::new());
        }
        let thread_name = format!("sniffer-read-{name}");
        let feed_name = name.to_owned();
        let thread = thread::Builder::new().name(thread_name).spawn(move || {
            read_loop(
                LineReader::new(reader, max_line_len),
                &line_tx,
                &free_rx,
                &feed_name,
            )
        })?;
        Ok(ReaderSource {
            name: name.to_owned(),
            lines: line_rx,
            free: free_tx,
            thread: Some(thread),
            finished: false,
        })
    }
}

fn read_loop<R: Read>(
    mut reader: LineReader<R>,
    lines: &Sender<Msg>,
    free: &Receiver<Vec<u8>>,
    name: &str,
) {
    loop {
        // Waits for the feed to give a buffer back: this is the backpressure.
        let Ok(mut buf) = free.recv() else { return };
        buf.clear();
        let msg = match reader.read_line(&mut buf) {
            Ok(Step::Line) => Msg::Line(buf),
            Ok(Step::TooLong) => Msg::TooLong,
            Ok(Step::Pending | Step::Eof) => Msg::Eof,
            Err(e) => {
                tracing::warn!(feed = %name, error = %e, "read failed; feed ends");
                Msg::Eof
            }
        };
        let eof = matches!(msg, Msg::Eof);
        if lines.send(msg).is_err() || eof {
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
        let msg = match self.lines.try_recv() {
            Ok(m) => m,
            Err(TryRecvError::Empty) => return LinePoll::Idle,
            Err(TryRecvError::Disconnected) => Msg::Eof,
        };
        match msg {
            Msg::Line(mut line) => {
                std::mem::swap(buf, &mut line);
                // The previous buffer goes back to the pool (its capacity is reused).
                let _ = self.free.try_send(line);
                LinePoll::Line
            }
            Msg::TooLong => {
                buf.clear();
                let _ = self.free.try_send(Vec::new());
                LinePoll::TooLong
            }
            Msg::Eof => {
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
