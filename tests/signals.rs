//! SIGTERM sent to a running `sniffer run` mid-burst: it drains, exits 0 and leaves a complete
//! metrics file that satisfies the accounting invariant.

#![cfg(unix)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sniffer::MetricsSnapshot;

#[test]
fn sigterm_mid_burst_drains_and_writes_final_metrics() {
    let metrics = common::temp_path("metrics.json");
    let mut child = common::sniffer_cmd()
        .args([
            "run",
            "--rate",
            "200000",
            "--duration",
            "60s",
            "--consumer-delay",
            "1ms",
        ])
        .arg("--metrics-json")
        .arg(&metrics)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let it run into the burst, then ask it to stop.
    std::thread::sleep(Duration::from_millis(700));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let until = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < until, "sniffer did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(10));
    };
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap_or_default();
    assert_eq!(exit.code(), Some(0), "{stderr}");
    let m: MetricsSnapshot = serde_json::from_slice(&std::fs::read(&metrics).unwrap()).unwrap();
    assert!(m.accounting_holds(), "{m:#?}");
    assert_eq!(m.in_flight, 0);
    assert!(m.candidates_detected > 0);
    assert!(
        m.uptime_ms < 30_000,
        "stopped long before the 60 s duration"
    );
}
