//! The process's own figures in the Prometheus client libraries' standard names
//! (`process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_virtual_memory_bytes`,
//! `process_open_fds`, `process_max_fds`, `process_start_time_seconds`, `process_threads`), read
//! from `/proc/self` when `/metrics` is asked (Linux; elsewhere nothing is written). Never on the
//! hot path.

use std::fmt::Write as _;

/// `/proc` reports CPU times in USER_HZ, 100 on every Linux architecture we build for.
const USER_HZ: f64 = 100.0;

/// Appends the process series to `out` (nothing when `/proc/self` cannot be read).
pub fn process_exposition(out: &mut String) {
    let Some(p) = ProcessFigures::read() else {
        return;
    };
    let rows: [(&str, &str, &str, Option<f64>); 7] = [
        (
            "process_cpu_seconds_total",
            "counter",
            "User and system CPU time spent, seconds.",
            p.cpu_seconds,
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size.",
            p.rss_bytes,
        ),
        (
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size.",
            p.vm_bytes,
        ),
        (
            "process_open_fds",
            "gauge",
            "Open file descriptors.",
            p.open_fds,
        ),
        (
            "process_max_fds",
            "gauge",
            "Limit of open file descriptors.",
            p.max_fds,
        ),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since the Unix epoch, seconds.",
            p.start_time,
        ),
        ("process_threads", "gauge", "OS threads.", p.threads),
    ];
    for (name, kind, help, value) in rows {
        if let Some(v) = value {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        }
    }
}

/// What `/proc` says about this process; a figure it does not give is `None`.
#[derive(Debug, Default)]
struct ProcessFigures {
    cpu_seconds: Option<f64>,
    rss_bytes: Option<f64>,
    vm_bytes: Option<f64>,
    open_fds: Option<f64>,
    max_fds: Option<f64>,
    start_time: Option<f64>,
    threads: Option<f64>,
}

impl ProcessFigures {
    fn read() -> Option<ProcessFigures> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The fields after the command name, which may hold spaces and parentheses.
        let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        // Numbered as in proc(5) from field 3 (state) on: utime 14, stime 15, starttime 22.
        let field = |n: usize| rest.get(n - 3).and_then(|v| v.parse::<f64>().ok());
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kb = |key: &str| status_value(&status, key).map(|v| v * 1024.0);
        let boot = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| status_value(&s.replace("btime ", "btime: "), "btime"));
        Some(ProcessFigures {
            cpu_seconds: Some((field(14)? + field(15)?) / USER_HZ),
            rss_bytes: kb("VmRSS"),
            vm_bytes: kb("VmSize"),
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                .map(|d| d.count() as f64),
            max_fds: max_open_files(),
            start_time: boot.zip(field(22)).map(|(b, t)| b + t / USER_HZ),
            threads: status_value(&status, "Threads"),
        })
    }
}

/// The first number after `key:` in a `/proc` key-value text.
fn status_value(text: &str, key: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The soft limit of open files, from `/proc/self/limits`.
fn max_open_files() -> Option<f64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_figures_are_read_from_proc() {
        let mut out = String::new();
        process_exposition(&mut out);
        if !std::path::Path::new("/proc/self/stat").exists() {
            assert!(out.is_empty());
            return;
        }
        let value = |name: &str| -> f64 {
            out.lines()
                .find_map(|l| l.strip_prefix(&format!("{name} ")))
                .unwrap_or_else(|| panic!("{name} missing:\n{out}"))
                .parse()
                .unwrap()
        };
        assert!(value("process_resident_memory_bytes") > 1e5, "{out}");
        assert!(value("process_virtual_memory_bytes") >= value("process_resident_memory_bytes"));
        // This test's own stdin/stdout/stderr at least, and the directory being read.
        assert!(value("process_open_fds") >= 3.0, "{out}");
        assert!(value("process_max_fds") >= value("process_open_fds"));
        assert!(value("process_threads") >= 1.0);
        // Started after 2020 and not in the future.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = value("process_start_time_seconds");
        assert!(start > 1.58e9 && start <= now + 1.0, "{start} {now}");
        assert!(value("process_cpu_seconds_total") >= 0.0);
    }
}
