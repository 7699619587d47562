//! The record format: what a feed delivered, with receive times, in a file that replays
//! identically (`--record PATH`, then `--feed replay:PATH`).
//!
//! ```text
//! #sniffer-record v1                  header: marks the file as a recording
//! <ns>\t<raw line>                    a line received <ns> nanoseconds after the recording began
//! <ns> too_long                       a line over the cap (its bytes were never kept)
//! ```
//! Raw lines are written byte for byte (they cannot hold `\n`: lines are split on it), so the
//! replay decodes exactly what the original feed decoded, malformed lines included, in the same
//! order, and so produces the same candidates, scores and per-reason counts. The timestamps let
//! the replay reproduce the original pace (times a speed factor). A header of another version is
//! refused, and a paced replay refuses an entry more than an hour after the one before it
//! ([`MAX_GAP_NS`]): both are files this build did not write, and a corrupt time would make the
//! replay sleep for years.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// First line of a recording.
pub(crate) const HEADER: &[u8] = b"#sniffer-record v1";
/// What every version's header starts with.
const HEADER_PREFIX: &[u8] = b"#sniffer-record ";
/// Longest gap between two consecutive entries a paced replay accepts: a longer one is taken
/// for a corrupt time (the replay would otherwise sleep for years), not for a quiet feed.
pub(crate) const MAX_GAP_NS: u64 = 3600 * 1_000_000_000;
const TOO_LONG: &[u8] = b" too_long";

/// One parsed entry of a recording.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A line: its receive time and where its bytes start in the entry.
    Line { ns: u64, start: usize },
    /// An overlong line.
    TooLong { ns: u64 },
    /// Not an entry: replayed as a raw line (and most likely counted as malformed).
    Raw,
}

/// Parses one entry line of a recording.
pub(crate) fn parse_entry(e: &[u8]) -> Entry {
    let digits = e.iter().take_while(|b| b.is_ascii_digit()).count();
    let ns = std::str::from_utf8(&e[..digits])
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    match (ns, &e[digits..]) {
        (Some(ns), [b'\t', ..]) => Entry::Line {
            ns,
            start: digits + 1,
        },
        (Some(ns), rest) if rest.trim_ascii_end() == TOO_LONG => Entry::TooLong { ns },
        _ => Entry::Raw,
    }
}

/// True when `first_line` is a recording's header.
pub(crate) fn is_header(first_line: &[u8]) -> bool {
    first_line.trim_ascii_end() == HEADER
}

/// The header of a recording of another version than this build's, when `first_line` is one.
pub(crate) fn other_version(first_line: &[u8]) -> Option<String> {
    let line = first_line.trim_ascii_end();
    (line.starts_with(HEADER_PREFIX) && line != HEADER)
        .then(|| String::from_utf8_lossy(line).into_owned())
}

/// Writes a recording. Buffered; dropping it flushes what was written (errors are then ignored:
/// call [`Recorder::flush`] to see them).
#[derive(Debug)]
pub(crate) struct Recorder {
    out: BufWriter<File>,
}

impl Recorder {
    /// Creates (truncates) `path` and writes the header.
    pub(crate) fn create(path: &Path) -> io::Result<Self> {
        let mut out = BufWriter::with_capacity(256 * 1024, File::create(path)?);
        out.write_all(HEADER)?;
        out.write_all(b"\n")?;
        Ok(Recorder { out })
    }

    /// Appends a line received `ns` after the recording began.
    pub(crate) fn line(&mut self, ns: u64, line: &[u8]) -> io::Result<()> {
        write!(self.out, "{ns}\t")?;
        self.out.write_all(line)?;
        self.out.write_all(b"\n")
    }

    /// Appends an overlong line.
    pub(crate) fn too_long(&mut self, ns: u64) -> io::Result<()> {
        write!(self.out, "{ns}")?;
        self.out.write_all(TOO_LONG)?;
        self.out.write_all(b"\n")
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse() {
        assert_eq!(
            parse_entry(b"120\t{\"a\":1}"),
            Entry::Line { ns: 120, start: 4 }
        );
        assert_eq!(parse_entry(b"0\t"), Entry::Line { ns: 0, start: 2 });
        assert_eq!(parse_entry(b"77 too_long\r"), Entry::TooLong { ns: 77 });
        assert_eq!(parse_entry(b"{\"a\":1}"), Entry::Raw);
        assert_eq!(parse_entry(b"99999999999999999999999\tx"), Entry::Raw);
        assert!(is_header(b"#sniffer-record v1\r"));
        assert!(!is_header(b"#sniffer-record v2"));
        assert_eq!(
            other_version(b"#sniffer-record v2\r").as_deref(),
            Some("#sniffer-record v2")
        );
        assert_eq!(other_version(b"#sniffer-record v1"), None);
        assert_eq!(other_version(b"{\"a\":1}"), None);
    }
}
