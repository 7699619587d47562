//! [`ReplaySource`]: lines from a file, flat out or paced.
//!
//! A recording (see `record.rs`) is detected by its header and replayed at its recorded pace
//! divided by `speed` (line *i* is released `ns_i / speed` after the first poll); a plain
//! JSON-lines file has no times and is replayed flat out, or at `plain_rate` lines per second
//! times `speed` when that is set. `speed == 0` means flat out for both. Due times are compared
//! with an injectable [`Clock`], so tests check pacing with exact counts, not with sleeps.
//!
//! The file is read one bounded chunk per [`LineReader::step`]: a poll never reads more than the
//! feed's slice, whatever the line lengths.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;

use super::lines::{Clock, LinePoll, LineReader, LineSource, MonotonicClock, Step};
use super::record::{self, Entry};
use crate::decode::MAX_LINE_LEN;

/// Room for the `<ns>\t` prefix of a recorded line on top of the decoder's cap.
const RECORD_PREFIX_ROOM: usize = 32;

/// How a file is replayed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReplayConfig {
    /// Pace multiplier: 1 = as recorded, 2 = twice as fast, 0 = flat out.
    pub speed: f64,
    /// Lines per second for plain (unrecorded) files, multiplied by `speed`; 0 = flat out.
    pub plain_rate: u64,
    /// Longest line kept (the decoder's `max_line_len`); longer lines are skipped and reported.
    pub max_line_len: usize,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        ReplayConfig {
            speed: 1.0,
            plain_rate: 0,
            max_line_len: MAX_LINE_LEN,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Held {
    Line,
    TooLong,
}

/// Replays a file as a [`LineSource`].
///
/// # Examples
///
/// ```
/// use sniffer::feed::{LinePoll, LineSource, ReplayConfig, ReplaySource};
///
/// let path = std::env::temp_dir().join(format!("replay-doc-{}.jsonl", std::process::id()));
/// std::fs::write(&path, "{\"a\":1}\n\n{\"b\":2}\n")?;
/// let mut src = ReplaySource::open(&path, ReplayConfig { speed: 0.0, ..Default::default() })?;
/// assert!(!src.is_recording());
/// let mut buf = Vec::new();
/// let mut lines = Vec::new();
/// loop {
///     match src.next_line(&mut buf) {
///         LinePoll::Line => lines.push(String::from_utf8(buf.clone())?),
///         LinePoll::Finished => break,
///         _ => {}
///     }
/// }
/// assert_eq!(lines, ["{\"a\":1}", "{\"b\":2}"]);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ReplaySource {
    name: String,
    reader: LineReader<File>,
    recording: bool,
    /// Nanoseconds between lines for paced plain files.
    plain_interval_ns: Option<f64>,
    speed: f64,
    clock: Arc<dyn Clock>,
    started_ns: Option<u64>,
    /// A line read but not yet due, with its due time relative to the start.
    held: Option<(Held, u64)>,
    held_buf: Vec<u8>,
    /// Lines released so far (for plain pacing).
    released: u64,
    /// Latest recorded time seen, so a garbled entry keeps the pace.
    last_ns: u64,
    finished: bool,
    /// The read error that ended the replay early, if one did.
    read_error: Option<io::Error>,
}

impl std::fmt::Debug for dyn Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

impl ReplaySource {
    /// Opens `path` and reads its first line to tell a recording from a plain file.
    ///
    /// # Errors
    ///
    /// The I/O error when the file cannot be opened or read.
    pub fn open(path: &Path, cfg: ReplayConfig) -> io::Result<Self> {
        Self::with_clock(path, cfg, Arc::new(MonotonicClock))
    }

    /// Like [`ReplaySource::open`], pacing with `clock`.
    ///
    /// # Errors
    ///
    /// The I/O error when the file cannot be opened or read.
    pub(crate) fn with_clock(
        path: &Path,
        cfg: ReplayConfig,
        clock: Arc<dyn Clock>,
    ) -> io::Result<Self> {
        let file = File::open(path)?;
        let cap = cfg.max_line_len.saturating_add(RECORD_PREFIX_ROOM);
        let mut reader = LineReader::new(file, cap);
        let mut first = Vec::new();
        let step = reader.read_line(&mut first)?;
        let recording = step == Step::Line && record::is_header(&first);
        if let Some(header) = record::other_version(&first).filter(|_| step == Step::Line) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a recording with header `{header}`; this build reads `{}`",
                    String::from_utf8_lossy(record::HEADER)
                ),
            ));
        }
        let speed = if cfg.speed.is_finite() && cfg.speed > 0.0 {
            cfg.speed
        } else {
            0.0
        };
        let plain_interval_ns =
            (cfg.plain_rate > 0 && speed > 0.0).then(|| 1e9 / (cfg.plain_rate as f64 * speed));
        let mut src = ReplaySource {
            name: format!(
                "replay:{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            ),
            reader,
            recording,
            plain_interval_ns,
            speed,
            clock,
            started_ns: None,
            held: None,
            held_buf: Vec::new(),
            released: 0,
            last_ns: 0,
            finished: step == Step::Eof,
            read_error: None,
        };
        if !recording {
            // The first line of a plain file is data.
            match step {
                Step::Line => src.hold(Held::Line, first)?,
                Step::TooLong => src.hold(Held::TooLong, first)?,
                Step::Pending | Step::Eof => {}
            }
        }
        Ok(src)
    }

    /// True when the file is a recording (replayed at its recorded pace).
    pub fn is_recording(&self) -> bool {
        self.recording
    }

    /// The read error that ended the replay early (it then reports
    /// [`LinePoll::Finished`]), if one did.
    pub fn read_error(&self) -> Option<&io::Error> {
        self.read_error.as_ref()
    }

    /// Holds the next line until it is due.
    ///
    /// # Errors
    ///
    /// `InvalidData` for a recorded time more than [`record::MAX_GAP_NS`] after the previous
    /// one, when pacing.
    fn hold(&mut self, what: Held, mut line: Vec<u8>) -> io::Result<()> {
        let mut due = 0;
        if self.recording && what == Held::Line {
            match record::parse_entry(&line) {
                Entry::Line { ns, start } => {
                    self.check_gap(ns)?;
                    line.drain(..start);
                    due = ns;
                }
                Entry::TooLong { ns } => {
                    self.check_gap(ns)?;
                    line.clear();
                    self.held = Some((Held::TooLong, self.due(ns)));
                    self.held_buf = line;
                    return Ok(());
                }
                Entry::Raw => due = self.last_ns,
            }
        }
        self.held = Some((what, self.due(due)));
        self.held_buf = line;
        Ok(())
    }

    fn check_gap(&self, ns: u64) -> io::Result<()> {
        if self.speed > 0.0 && ns.saturating_sub(self.last_ns) > record::MAX_GAP_NS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "recorded time {ns} ns is {} after the entry before it (at {} ns): more than \
                     the 1 h a recording may pause; not a time this build recorded",
                    humantime::format_duration(std::time::Duration::from_nanos(
                        ns.saturating_sub(self.last_ns)
                    )),
                    self.last_ns
                ),
            ));
        }
        Ok(())
    }

    /// Due time (relative to the start) of the next line, recorded at `ns`.
    fn due(&mut self, ns: u64) -> u64 {
        if self.speed == 0.0 {
            return 0;
        }
        if self.recording {
            self.last_ns = self.last_ns.max(ns);
            (self.last_ns as f64 / self.speed) as u64
        } else if let Some(iv) = self.plain_interval_ns {
            (self.released as f64 * iv) as u64
        } else {
            0
        }
    }
}

impl ReplaySource {
    fn fail(&mut self, e: io::Error) -> LinePoll {
        tracing::warn!(feed = %self.name, error = %e, "replay stopped");
        self.read_error = Some(e);
        self.finished = true;
        LinePoll::Finished
    }
}

impl LineSource for ReplaySource {
    fn name(&self) -> &str {
        &self.name
    }

    fn next_line(&mut self, buf: &mut Vec<u8>) -> LinePoll {
        if self.held.is_none() {
            if self.finished {
                return LinePoll::Finished;
            }
            // `held_buf` holds the partial line of earlier steps, if any.
            let mut line = std::mem::take(&mut self.held_buf);
            match self.reader.step(&mut line) {
                Ok(Step::Pending) => {
                    // Keep the partial line: the next step appends to it.
                    self.held_buf = line;
                    return LinePoll::Pending;
                }
                Ok(Step::Line) => {
                    if let Err(e) = self.hold(Held::Line, line) {
                        return self.fail(e);
                    }
                }
                Ok(Step::TooLong) => {
                    if let Err(e) = self.hold(Held::TooLong, line) {
                        return self.fail(e);
                    }
                }
                Ok(Step::Eof) => {
                    self.finished = true;
                    return LinePoll::Finished;
                }
                Err(e) => {
                    tracing::warn!(feed = %self.name, error = %e, "replay read failed; feed ends");
                    self.read_error = Some(e);
                    self.finished = true;
                    return LinePoll::Finished;
                }
            }
        }
        let Some((what, due)) = self.held else {
            return LinePoll::Pending;
        };
        let now = self.clock.now_ns();
        let started = *self.started_ns.get_or_insert(now);
        if now.saturating_sub(started) < due {
            return LinePoll::Idle;
        }
        self.held = None;
        self.released += 1;
        std::mem::swap(buf, &mut self.held_buf);
        self.held_buf.clear();
        match what {
            Held::Line => LinePoll::Line,
            Held::TooLong => LinePoll::TooLong,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::lines::ManualClock;

    fn temp_file(name: &str, body: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("sniffer-replay-{}-{name}", std::process::id()));
        std::fs::write(&p, body).unwrap();
        p
    }

    /// What the source releases now, until it goes idle or finishes.
    fn drain(src: &mut ReplaySource) -> (Vec<String>, LinePoll) {
        let mut buf = Vec::new();
        let mut got = Vec::new();
        loop {
            match src.next_line(&mut buf) {
                LinePoll::Line => got.push(String::from_utf8(buf.clone()).unwrap()),
                LinePoll::TooLong => got.push("<too long>".into()),
                LinePoll::Pending => {}
                end => return (got, end),
            }
        }
    }

    #[test]
    fn a_recording_replays_at_its_pace_times_speed() {
        let p = temp_file(
            "rec",
            "#sniffer-record v1\n0\ta\n1000\tb\n1000\tc\n5000 too_long\n9000\td\n",
        );
        let clock = ManualClock::default();
        clock.set_ns(7_000); // any origin: due times are relative to the first poll
        let cfg = ReplayConfig {
            speed: 2.0,
            ..Default::default()
        };
        let mut src = ReplaySource::with_clock(&p, cfg, Arc::new(clock.clone())).unwrap();
        assert!(src.is_recording());
        assert_eq!(drain(&mut src), (vec!["a".into()], LinePoll::Idle));
        clock.advance_ns(499);
        assert_eq!(drain(&mut src), (vec![], LinePoll::Idle));
        clock.advance_ns(1);
        assert_eq!(
            drain(&mut src),
            (vec!["b".into(), "c".into()], LinePoll::Idle)
        );
        clock.advance_ns(2_000);
        assert_eq!(drain(&mut src), (vec!["<too long>".into()], LinePoll::Idle));
        clock.advance_ns(1_999);
        assert_eq!(drain(&mut src), (vec![], LinePoll::Idle));
        clock.advance_ns(1);
        assert_eq!(drain(&mut src), (vec!["d".into()], LinePoll::Finished));

        // Speed 0: flat out, whatever the recorded times.
        let flat = ReplayConfig {
            speed: 0.0,
            ..Default::default()
        };
        let mut src = ReplaySource::with_clock(&p, flat, Arc::new(ManualClock::default())).unwrap();
        assert_eq!(drain(&mut src).0.len(), 5);
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn a_plain_file_is_flat_out_or_paced_by_rate() {
        let p = temp_file("plain", "x1\nx2\nx3\n");
        let clock = ManualClock::default();
        let mut src =
            ReplaySource::with_clock(&p, ReplayConfig::default(), Arc::new(clock.clone())).unwrap();
        assert!(!src.is_recording());
        assert_eq!(
            drain(&mut src),
            (
                vec!["x1".into(), "x2".into(), "x3".into()],
                LinePoll::Finished
            )
        );

        // 1000 lines/s at speed 2: one line every 500 us.
        let cfg = ReplayConfig {
            speed: 2.0,
            plain_rate: 1000,
            ..Default::default()
        };
        let mut src = ReplaySource::with_clock(&p, cfg, Arc::new(clock.clone())).unwrap();
        assert_eq!(drain(&mut src), (vec!["x1".into()], LinePoll::Idle));
        clock.advance_ns(499_999);
        assert_eq!(drain(&mut src), (vec![], LinePoll::Idle));
        clock.advance_ns(1);
        assert_eq!(drain(&mut src), (vec!["x2".into()], LinePoll::Idle));
        clock.advance_ns(500_000);
        assert_eq!(drain(&mut src), (vec!["x3".into()], LinePoll::Finished));
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn unknown_versions_and_absurd_times_are_refused() {
        let p = temp_file("v9", "#sniffer-record v9\n0\ta\n");
        let e = ReplaySource::open(&p, ReplayConfig::default()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("v9"), "{e}");

        let body = "#sniffer-record v1\n0\ta\n3600000000000\tb\n3600000000001 too_long\n\
                    7200000000002\tc\n";
        let p = temp_file("gap", body);
        let clock = ManualClock::default();
        let mut src =
            ReplaySource::with_clock(&p, ReplayConfig::default(), Arc::new(clock.clone())).unwrap();
        assert_eq!(drain(&mut src), (vec!["a".into()], LinePoll::Idle));
        clock.advance_ns(3_600_000_000_001);
        assert_eq!(
            drain(&mut src),
            (vec!["b".into(), "<too long>".into()], LinePoll::Finished),
            "an hour and 1 ns after the last entry is refused"
        );
        let e = src.read_error().expect("the reason is kept");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("7200000000002"), "{e}");

        // Flat out, times do not matter: every entry is replayed.
        let flat = ReplayConfig {
            speed: 0.0,
            ..Default::default()
        };
        let mut src = ReplaySource::with_clock(&p, flat, Arc::new(ManualClock::default())).unwrap();
        assert_eq!(drain(&mut src).0.len(), 4);
        assert!(src.read_error().is_none());
    }

    #[test]
    fn a_missing_file_is_an_error() {
        assert!(
            ReplaySource::open(Path::new("/nonexistent/x.jsonl"), ReplayConfig::default()).is_err()
        );
    }
}
