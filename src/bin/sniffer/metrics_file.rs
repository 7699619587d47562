//! `--metrics-json PATH`: the metrics snapshot written atomically (a temporary file in the same
//! directory, then a rename), periodically and at the end of the run.
//!
//! The path is checked before anything starts (exit 2): its directory must exist and take a
//! file, and it must not be a path another output or input of the run uses (`--sqlite`,
//! `--record`, a replayed file). A symlink is resolved once, at the start, and the file it
//! points to is the one replaced, so the link itself survives. Anything that is not a regular
//! file (a FIFO, a device node, a socket, a directory) is refused: a rename would replace the
//! node itself (as root, `/dev/full` became a regular file), and writing into a FIFO blocks the
//! run until someone reads it. A periodic dump that fails is a warning and a counter, never the
//! end of the run; no temporary file is left behind.

use std::io;
use std::path::{Path, PathBuf};

use sniffer::MetricsSnapshot;

use super::UsageError;

/// A checked `--metrics-json` destination.
#[derive(Debug)]
pub(crate) struct MetricsFile {
    /// As the operator wrote it (for messages).
    shown: PathBuf,
    /// The regular file replaced by each write (the symlink's target, resolved at the start).
    target: PathBuf,
    /// Periodic dumps that failed.
    failures: u64,
}

impl MetricsFile {
    /// Checks `path` and that it is none of `taken` (`(flag, path)` of the run's other files),
    /// comparing resolved paths; probes the directory by creating and removing the temporary
    /// file.
    pub(crate) fn check(path: &Path, taken: &[(&str, PathBuf)]) -> Result<Self, UsageError> {
        let shown = path.to_path_buf();
        let err = |why: String| UsageError(format!("--metrics-json {}: {why}", path.display()));
        let target = resolve_target(path).map_err(err)?;
        for (flag, other) in taken {
            if resolved(other) == target {
                return Err(err(format!(
                    "the same file as {flag} {}; choose another path",
                    other.display()
                )));
            }
        }
        let probe = tmp_path(&target);
        std::fs::write(&probe, b"")
            .and_then(|()| std::fs::remove_file(&probe))
            .map_err(|e| err(format!("cannot create a file beside it: {e}")))?;
        Ok(MetricsFile {
            shown,
            target,
            failures: 0,
        })
    }

    /// The path as given on the command line.
    pub(crate) fn path(&self) -> &Path {
        &self.shown
    }

    /// Periodic dumps that failed so far.
    pub(crate) fn failures(&self) -> u64 {
        self.failures
    }

    /// A periodic dump: a failure is logged (the first, then at powers of two) and counted, and
    /// the run goes on.
    pub(crate) fn dump_periodic(&mut self, snapshot: &MetricsSnapshot) {
        if let Err(e) = self.write(snapshot) {
            self.failures += 1;
            if self.failures.is_power_of_two() {
                tracing::warn!(
                    path = %self.shown.display(),
                    error = %e,
                    failures = self.failures,
                    "periodic metrics dump failed; the run goes on"
                );
            }
        }
    }

    /// Writes `snapshot` atomically; on failure nothing is left behind and the previous file
    /// stays as it was.
    ///
    /// # Errors
    ///
    /// The I/O error, or `InvalidInput` when the target is no longer a regular file.
    pub(crate) fn write(&self, snapshot: &MetricsSnapshot) -> io::Result<()> {
        // Checked again at every write: the path may have been replaced since the start, and a
        // rename must never replace something that is not a regular file.
        match std::fs::symlink_metadata(&self.target) {
            Ok(md) if !md.is_file() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{} is no longer a regular file ({}); not replaced",
                        self.target.display(),
                        kind(&md)
                    ),
                ))
            }
            _ => {}
        }
        let tmp = tmp_path(&self.target);
        let r = std::fs::write(&tmp, snapshot.to_json())
            .and_then(|()| std::fs::rename(&tmp, &self.target));
        if r.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        r
    }
}

/// The regular file a write replaces: `path` itself, or a symlink's target; an error for
/// anything else, or when the directory is missing.
fn resolve_target(path: &Path) -> Result<PathBuf, String> {
    match std::fs::symlink_metadata(path) {
        Ok(md) if md.file_type().is_symlink() => {
            let target = std::fs::canonicalize(path)
                .map_err(|e| format!("a symlink whose target cannot be resolved: {e}"))?;
            match std::fs::metadata(&target) {
                Ok(md) if md.is_file() => Ok(target),
                Ok(md) => Err(format!(
                    "a symlink to {}, which is not a regular file ({}); only regular files are \
                     written",
                    target.display(),
                    kind(&md)
                )),
                Err(e) => Err(format!("cannot read {}: {e}", target.display())),
            }
        }
        Ok(md) if md.is_file() => Ok(resolved(path)),
        Ok(md) => Err(format!(
            "not a regular file ({}); only regular files are written (the file is replaced by \
             a rename)",
            kind(&md)
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let name = path
                .file_name()
                .ok_or_else(|| "not a file name".to_string())?;
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let dir = std::fs::canonicalize(dir)
                .map_err(|e| format!("directory {} does not exist: {e}", dir.display()))?;
            if !dir.is_dir() {
                return Err(format!("{} is not a directory", dir.display()));
            }
            Ok(dir.join(name))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// `path` with every symlink resolved, also when the file itself does not exist yet (then its
/// directory is resolved); used to tell whether two paths name the same file.
pub(crate) fn resolved(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            std::fs::canonicalize(dir)
                .map(|d| d.join(name))
                .unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

/// The temporary file beside `target`: hidden, and unique to this process.
fn tmp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn kind(md: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        let t = md.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device node";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if md.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}
