//! The `sniffer` binary under a hostile operator (issue 14): bad output paths, absurd
//! capacities, a stuck consumer, a broken stdout, clashing inputs and outputs, lost aggregates,
//! bursts of signals and a bad log filter. Each test asserts an exact outcome; the only clock is
//! a generous "it did not hang" margin.

#![cfg(unix)]

mod common;
mod samples;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use common::{assert_ok, sniffer_cmd as sniffer, temp_path};
use sniffer::MetricsSnapshot;

/// Generous: only a hang fails it.
const HANG: Duration = Duration::from_secs(60);

/// Waits for `child` at most [`HANG`]; kills it and fails the test if it does not exit.
fn wait_exit(child: &mut Child) -> ExitStatus {
    let until = Instant::now() + HANG;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sniffer did not exit within {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs the command to completion within [`HANG`], capturing stdout and stderr.
fn run_bounded(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || std::io::read_to_string(out).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(err).unwrap_or_default());
    let status = wait_exit(&mut child);
    Output {
        status,
        stdout: out.join().unwrap().into_bytes(),
        stderr: err.join().unwrap().into_bytes(),
    }
}

fn metrics_of(stdout: &[u8]) -> MetricsSnapshot {
    let m: MetricsSnapshot = serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not the metrics JSON ({e}): {}",
            String::from_utf8_lossy(stdout)
        )
    });
    assert!(m.accounting_holds(), "{m:#?}");
    assert_eq!(m.in_flight, 0);
    m
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_usage_error(out: &Output, needles: &[&str]) {
    let err = stderr_of(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

/// A fresh, empty directory for one test.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = temp_path(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let ok = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(ok.success());
}

fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt as _;
    std::fs::symlink_metadata(path)
        .map(|m| m.file_type().is_fifo())
        .unwrap_or(false)
}

/// Lines of a JSON-lines file with no launch in them: each counts once in `tx_seen`.
fn plain_lines(n: usize) -> String {
    (0..n).map(|i| format!("{{\"n\":{i}}}\n")).collect()
}

// Items 2 and 3: the --metrics-json path.

#[test]
fn metrics_json_in_a_missing_directory_is_refused_before_the_run() {
    let out = run_bounded(sniffer().args([
        "run",
        "--duration",
        "30s",
        "--metrics-json",
        "/nonexistent-sniffer-dir/m.json",
    ]));
    assert_usage_error(&out, &["--metrics-json", "/nonexistent-sniffer-dir"]);
    assert!(out.stdout.is_empty(), "refused before the run: no metrics");
}

#[test]
fn metrics_json_never_replaces_what_is_not_a_regular_file() {
    let dir = fresh_dir("mj-nodes");
    let fifo = dir.join("m.fifo");
    mkfifo(&fifo);
    let out = run_bounded(
        sniffer()
            .args(["run", "--duration", "100ms", "--metrics-json"])
            .arg(&fifo),
    );
    assert_usage_error(&out, &["FIFO"]);
    assert!(is_fifo(&fifo), "the FIFO is still a FIFO");

    let out = run_bounded(
        sniffer()
            .args(["run", "--duration", "100ms", "--metrics-json"])
            .arg(&dir),
    );
    assert_usage_error(&out, &["directory"]);

    // A symlink to a FIFO: refused as well, and both stay what they were.
    let link = dir.join("to-fifo.json");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    let out = run_bounded(
        sniffer()
            .args(["run", "--duration", "100ms", "--metrics-json"])
            .arg(&link),
    );
    assert_usage_error(&out, &["FIFO"]);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(is_fifo(&fifo));
}

#[test]
fn metrics_json_writes_through_a_symlink_to_its_target() {
    let dir = fresh_dir("mj-link");
    let target = dir.join("real.json");
    std::fs::write(&target, "old").unwrap();
    let link = dir.join("m.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = run_bounded(
        sniffer()
            .args(["run", "--rate", "20000", "--duration", "200ms"])
            .arg("--metrics-json")
            .arg(&link),
    );
    assert_ok(&out);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let m: MetricsSnapshot = serde_json::from_slice(&std::fs::read(&target).unwrap()).unwrap();
    assert_eq!(m.candidates_sent, metrics_of(&out.stdout).candidates_sent);
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.iter().all(|n| !n.ends_with(".tmp")), "{left:?}");
}

#[test]
fn metrics_json_may_not_be_another_file_of_the_run() {
    let dir = fresh_dir("mj-clash");
    let db = dir.join("agg.db");
    // Through another spelling of the same path: compared resolved.
    let same_db = dir.join(".").join("agg.db");
    let out = run_bounded(
        sniffer()
            .args(["run", "--duration", "100ms", "--sqlite"])
            .arg(&db)
            .arg("--metrics-json")
            .arg(&same_db),
    );
    assert_usage_error(&out, &["--sqlite"]);
    assert!(!db.exists(), "refused before the database was created");

    let rec = dir.join("feed.rec");
    let out = run_bounded(
        sniffer()
            .args(["run", "--feed", "synthetic:payloads", "--duration", "100ms"])
            .arg("--record")
            .arg(&rec)
            .arg("--metrics-json")
            .arg(&rec),
    );
    assert_usage_error(&out, &["--record"]);

    let input = dir.join("in.jsonl");
    std::fs::write(&input, plain_lines(10)).unwrap();
    let out = run_bounded(
        sniffer()
            .arg("run")
            .arg(format!("--feed=replay:{}", input.display()))
            .arg("--metrics-json")
            .arg(&input),
    );
    assert_usage_error(&out, &["replay"]);
    assert_eq!(std::fs::read_to_string(&input).unwrap(), plain_lines(10));
}

#[test]
fn a_failing_periodic_dump_is_a_warning_and_the_run_goes_on() {
    let dir = fresh_dir("mj-fail");
    let path = dir.join("m.json");
    let mut child = sniffer()
        .env("SNIFFER_LOG", "warn")
        .args(["run", "--feed", "stdin", "--policy", "block"])
        .args(["--metrics-interval", "20ms", "--metrics-json"])
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(plain_lines(100).as_bytes()).unwrap();
    stdin.flush().unwrap();
    // Wait for a periodic dump, then put a directory where the file was: every later write
    // fails (as on a full disk), and must not stop the run.
    let until = Instant::now() + HANG;
    while !path.is_file() {
        assert!(Instant::now() < until, "no periodic dump");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("keep"), "x").unwrap();
    // Let at least one dump fail while the feed is still open.
    std::thread::sleep(Duration::from_millis(100));
    stdin.write_all(plain_lines(150).as_bytes()).unwrap();
    drop(stdin);
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || std::io::read_to_string(out).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(err).unwrap_or_default());
    let status = wait_exit(&mut child);
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    // The final write failed too: the final metrics still reach stdout, the run reports it.
    assert_eq!(status.code(), Some(1), "{err}");
    let m = metrics_of(out.as_bytes());
    assert_eq!(m.tx_seen, 250, "every line was read: the run went on");
    assert!(err.contains("periodic metrics dump failed"), "{err}");
    assert!(err.contains("--metrics-json"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["m.json"], "no temporary file left behind");
}

// Item 4: capacities.

#[test]
fn absurd_capacities_exit_2_naming_key_and_value() {
    let out = run_bounded(sniffer().args(["run", "--capacity", "18446744073709551615"]));
    assert_usage_error(&out, &["stream_buffer_capacity", "18446744073709551615"]);

    let cfg = temp_path("huge-lanes.toml");
    std::fs::write(&cfg, "output_lane_capacity = 1099511627776\n").unwrap();
    let out = run_bounded(sniffer().arg("check-config").arg(&cfg));
    assert_usage_error(&out, &["output_lane_capacity", "1099511627776"]);
    let out = run_bounded(sniffer().arg("run").arg("--config").arg(&cfg));
    assert_usage_error(&out, &["output_lane_capacity", "1099511627776"]);
}

// Item 5: the exit is bounded by the shutdown timeout, whatever the consumer does.

#[test]
fn a_stuck_consumer_cannot_hold_the_exit() {
    let out = run_bounded(sniffer().env("SNIFFER_LOG", "warn").args([
        "run",
        "--rate",
        "20000",
        "--duration",
        "300ms",
        "--consumer-delay",
        "1h",
        "--shutdown-timeout",
        "1s",
    ]));
    assert_ok(&out);
    let m = metrics_of(&out.stdout);
    assert!(m.candidates_sent > 0);
    let err = stderr_of(&out);
    assert!(err.contains("left unread in the output lanes"), "{err}");
}

// Item 9: a replay recorded onto itself.

#[test]
fn replaying_a_file_into_its_own_recording_is_refused() {
    let dir = fresh_dir("rec-self");
    let input = dir.join("in.jsonl");
    std::fs::write(&input, plain_lines(1000)).unwrap();
    let out = run_bounded(
        sniffer()
            .arg("run")
            .arg(format!("--feed=replay:{}", input.display()))
            .arg("--record")
            .arg(dir.join(".").join("in.jsonl")),
    );
    assert_usage_error(&out, &["--record", "replayed input"]);
    assert_eq!(
        std::fs::read_to_string(&input).unwrap(),
        plain_lines(1000),
        "the input is untouched"
    );
}

// Item 10: a reader that goes away.

#[test]
fn a_closed_stdout_is_not_a_panic() {
    let mut child = sniffer()
        .args(["run", "--rate", "20000", "--duration", "300ms"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end before the final metrics are written.
    drop(child.stdout.take());
    let err = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || std::io::read_to_string(err).unwrap_or_default());
    let status = wait_exit(&mut child);
    let err = err.join().unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    // `decode`, `check-config` and `query` write to stdout too.
    let cfg = temp_path("ok-pipe.toml");
    std::fs::write(&cfg, "batch_size = 5\n").unwrap();
    let mut child = sniffer()
        .arg("check-config")
        .arg(&cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = wait_exit(&mut child);
    assert_eq!(status.code(), Some(0));
}

// Item 13: one stdin.

#[test]
fn two_stdin_feeds_are_refused() {
    let out = run_bounded(sniffer().args(["run", "--feed", "stdin", "--feed", "stdin"]));
    assert_usage_error(&out, &["stdin"]);
    let out = run_bounded(sniffer().args(["run", "--feed", "stdin,synthetic,stdin"]));
    assert_usage_error(&out, &["stdin"]);
}

// Item 14: aggregates lost at shutdown.

#[test]
fn aggregates_lost_at_shutdown_are_an_error() {
    let dir = fresh_dir("agg-lost");
    let db = dir.join("agg.db");
    let metrics = dir.join("m.json");
    let mut child = sniffer()
        .args(["run", "--feed", "stdin", "--policy", "block"])
        .args(["--shutdown-timeout", "300ms", "--metrics-interval", "10ms"])
        .arg("--metrics-json")
        .arg(&metrics)
        .arg("--sqlite")
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first periodic dump comes after the sink has opened the database: from then on,
    // another connection holds its write lock until the run has ended.
    let until = Instant::now() + HANG;
    while !metrics.is_file() {
        assert!(Instant::now() < until, "the run did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    let other = rusqlite::Connection::open(&db).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let launch = samples::logs_notification(
        samples::SIG,
        samples::SLOT,
        serde_json::Value::Null,
        &samples::create_logs(),
    );
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{launch}").unwrap();
    drop(stdin);
    let out = child.stdout.take().unwrap();
    let out = std::thread::spawn(move || std::io::read_to_string(out).unwrap_or_default());
    let err = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || std::io::read_to_string(err).unwrap_or_default());
    let status = wait_exit(&mut child);
    other.execute_batch("ROLLBACK").unwrap();
    let err = err.join().unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("ERROR") && err.contains("aggregates"), "{err}");
    let m = metrics_of(out.join().unwrap().as_bytes());
    assert_eq!(m.candidates_sent, 1);
}

// Item 15: signals.

/// True once `pid` catches SIGTERM (its handler is installed).
fn catches_sigterm(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (15 - 1)) != 0)
}

fn wait_for_handler(child: &mut Child) {
    let until = Instant::now() + HANG;
    while !catches_sigterm(child.id()) {
        assert!(child.try_wait().unwrap().is_none(), "exited early");
        assert!(Instant::now() < until, "no SIGTERM handler installed");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn signals_in_one_burst_count_as_one() {
    let mut child = sniffer()
        .args(["run", "--rate", "20000", "--duration", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_handler(&mut child);
    std::thread::sleep(Duration::from_millis(200));
    // As GNU timeout does: the child, then its group, microseconds apart.
    let pid = child.id().to_string();
    let ok = Command::new("sh")
        .args(["-c", &format!("kill -TERM {pid}; kill -TERM {pid}")])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = child.stdout.take().unwrap();
    let out = std::thread::spawn(move || std::io::read_to_string(out).unwrap_or_default());
    let err = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || std::io::read_to_string(err).unwrap_or_default());
    let status = wait_exit(&mut child);
    let err = err.join().unwrap();
    assert_eq!(status.code(), Some(0), "drained, not exit 130: {err}");
    let m = metrics_of(out.join().unwrap().as_bytes());
    assert!(m.uptime_ms < 30_000, "stopped by the signal");
}

#[test]
fn a_signal_while_starting_drains_instead_of_killing() {
    // The config file is a FIFO: the run blocks reading it until the test writes, so the
    // signal deterministically arrives before the engine exists.
    let fifo = temp_path("early-signal.toml");
    mkfifo(&fifo);
    let mut child = sniffer()
        .args(["run", "--rate", "20000", "--duration", "60s", "--config"])
        .arg(&fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_handler(&mut child);
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    std::fs::write(&fifo, "batch_size = 50\n").unwrap();
    let out = child.stdout.take().unwrap();
    let out = std::thread::spawn(move || std::io::read_to_string(out).unwrap_or_default());
    let err = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || std::io::read_to_string(err).unwrap_or_default());
    let status = wait_exit(&mut child);
    let err = err.join().unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    let m = metrics_of(out.join().unwrap().as_bytes());
    assert!(m.uptime_ms < 30_000, "drained at once");
}

// Minor items.

#[test]
fn a_bad_log_filter_is_an_error() {
    for bad in ["verbose", "sniffer=loud", "[[["] {
        let out =
            run_bounded(
                sniffer()
                    .env("SNIFFER_LOG", bad)
                    .args(["run", "--duration", "100ms"]),
            );
        assert_usage_error(&out, &["SNIFFER_LOG"]);
    }
    let out = run_bounded(sniffer().env("SNIFFER_LOG", "sniffer=debug,warn").args([
        "run",
        "--duration",
        "100ms",
    ]));
    assert_ok(&out);
}

#[test]
fn the_final_log_line_reports_every_shutdown_term() {
    let out = run_bounded(sniffer().env("SNIFFER_LOG", "info").args([
        "run",
        "--rate",
        "20000",
        "--duration",
        "200ms",
    ]));
    assert_ok(&out);
    let m = metrics_of(&out.stdout);
    let err = stderr_of(&out);
    let line = err
        .lines()
        .find(|l| l.contains("run finished"))
        .unwrap_or_else(|| panic!("{err}"));
    let field = |name: &str| -> u64 {
        let plain: String = strip_ansi(line);
        let at = plain
            .find(&format!(" {name}="))
            .unwrap_or_else(|| panic!("{name} missing: {plain}"));
        plain[at + name.len() + 2..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap()
    };
    assert_eq!(field("dropped_shutdown"), m.dropped_shutdown);
    assert_eq!(
        field("abandoned_high") + field("abandoned_low") + field("rejected_at_close"),
        m.dropped_shutdown
    );
    assert_eq!(field("received") + field("unread"), m.candidates_sent);
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn recordings_of_an_unknown_version_or_with_absurd_times_are_refused() {
    let dir = fresh_dir("rec-bad");
    let v2 = dir.join("v2.rec");
    std::fs::write(&v2, "#sniffer-record v2\n0\t{\"n\":1}\n").unwrap();
    let out = run_bounded(
        sniffer()
            .arg("run")
            .arg(format!("--feed=replay:{}", v2.display())),
    );
    assert_usage_error(&out, &["v2"]);
    let out = run_bounded(sniffer().arg("decode").arg(&v2));
    assert_usage_error(&out, &["v2"]);

    // A time 500 years after the start: the replay would sleep forever. It ends with an error
    // naming the entry, after replaying what came before it.
    let absurd = dir.join("absurd.rec");
    std::fs::write(
        &absurd,
        "#sniffer-record v1\n0\t{\"n\":1}\n1000\t{\"n\":2}\n18446744073709551000\t{\"n\":3}\n",
    )
    .unwrap();
    let out = run_bounded(
        sniffer()
            .arg("run")
            .arg(format!("--feed=replay:{}", absurd.display())),
    );
    assert_usage_error(&out, &["18446744073709551000"]);
    let m = metrics_of(&out.stdout);
    assert_eq!(m.tx_seen, 2);
}

#[test]
fn a_zero_soak_is_refused() {
    let out = run_bounded(Command::new(env!("CARGO_BIN_EXE_sniffer-stress")).args([
        "--scenario",
        "soak",
        "--duration",
        "0s",
    ]));
    assert_usage_error(&out, &["--duration", "greater than zero"]);
}

// Item 8, through the binary: the block's good launches are printed, its bad transaction counted.

#[test]
fn decode_keeps_the_good_transactions_of_a_block() {
    let dir = fresh_dir("block-partial");
    let path = dir.join("block.jsonl");
    let line = serde_json::json!({
        "jsonrpc": "2.0", "method": "blockNotification",
        "params": {"result": {"context": {"slot": 7}, "value": {"slot": 7, "block": {
            "transactions": [
                {"transaction": ["!!!notbase64", "base64"], "meta": null},
                {"transaction": ["AAAA", "base64"], "meta": null}
            ]}}}, "subscription": 0}
    });
    std::fs::write(&path, format!("{line}\n")).unwrap();
    let out = run_bounded(sniffer().arg("decode").arg(&path));
    assert_ok(&out);
    let summary: serde_json::Value =
        serde_json::from_str(stderr_of(&out).lines().last().unwrap()).unwrap();
    assert_eq!(summary["lines"], 1);
    assert_eq!(summary["malformed"], 2, "{summary}");
    assert_eq!(
        summary["malformed_by_reason"]["invalid_base64"], 1,
        "{summary}"
    );
}

// Item 6, through the binary: out of descriptors, the HTTP listener waits and goes on.

#[cfg(feature = "http")]
#[test]
fn the_http_listener_survives_running_out_of_descriptors() {
    use std::io::{BufRead as _, Read as _};
    let bin = env!("CARGO_BIN_EXE_sniffer");
    let mut child = Command::new("sh")
        .args([
            "-c",
            &format!(
                "ulimit -n 48 && exec '{bin}' run --rate 1000 --duration 300s --http 127.0.0.1:0"
            ),
        ])
        .env("SNIFFER_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            if tx.send(strip_ansi(&line)).is_err() {
                break;
            }
        }
    });
    let wait_line = |what: &str| -> String {
        let until = Instant::now() + HANG;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(l) if l.contains(what) => return l,
                Ok(_) => {}
                Err(e) => panic!("no log line with {what:?}: {e}"),
            }
        }
    };
    let line = wait_line("serving /metrics");
    let addr: std::net::SocketAddr = line
        .split("addr=")
        .nth(1)
        .and_then(|a| a.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    // More connections than the process has descriptors left: accept fails with EMFILE.
    let clients: Vec<_> = (0..80)
        .filter_map(|_| std::net::TcpStream::connect(addr).ok())
        .collect();
    wait_line("http accept failed");
    drop(clients);
    let until = Instant::now() + HANG;
    loop {
        let answer = std::net::TcpStream::connect(addr).ok().and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                .ok()?;
            let mut out = String::new();
            s.read_to_string(&mut out).ok()?;
            Some(out)
        });
        if answer.is_some_and(|a| a.starts_with("HTTP/1.1 200")) {
            break;
        }
        assert!(Instant::now() < until, "/metrics never answered again");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}
