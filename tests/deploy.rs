//! The operator's kit in deploy/ (issue 20): the alert rules pass `promtool check rules` and
//! their unit tests (`promtool test rules`); every metric the rules and the Grafana dashboard
//! read exists in the exposition (the golden file, which `operators.rs` keeps equal to what
//! `to_prometheus` writes, plus the process series `/metrics` adds); the systemd unit's command
//! line and environment file are accepted by the binary.
#![cfg(feature = "cli")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn deploy(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(rel)
}

fn promtool(args: &[&str]) -> String {
    let promtool = std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".into());
    let out = Command::new(&promtool)
        .args(args)
        .current_dir(deploy("prometheus"))
        .output()
        .unwrap_or_else(|e| panic!("{promtool} is needed (apt-get install prometheus): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn the_alert_rules_are_valid_and_their_unit_tests_pass() {
    let checked = promtool(&["check", "rules", "sniffer-alerts.yml"]);
    assert!(checked.contains("SUCCESS: 8 rules found"), "{checked}");
    let tested = promtool(&["test", "rules", "sniffer-alerts.test.yml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

/// The metric names of the exposition: the golden file and the process series.
fn exposed() -> BTreeSet<String> {
    let golden = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/exposition.prom"
    ))
    .unwrap();
    let mut process = String::new();
    sniffer::metrics::process_exposition(&mut process);
    let mut names = BTreeSet::new();
    for line in golden.lines().chain(process.lines()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            names.insert(name.to_string());
            if kind == "histogram" {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{name}{suffix}"));
                }
            }
        }
    }
    names
}

/// The metric names a PromQL text reads: identifiers starting `sniffer_` or `process_`.
fn metric_names(promql: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = promql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        let rest = &promql[i..];
        if starts_word && (rest.starts_with("sniffer_") || rest.starts_with("process_")) {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            names.insert(rest[..len].to_string());
            i += len;
        } else {
            i += 1;
        }
    }
    names
}

#[test]
fn every_metric_the_rules_and_the_dashboard_read_is_exposed() {
    let exposed = exposed();
    assert!(exposed.contains("sniffer_build_info") && exposed.contains("process_open_fds"));
    let rules = std::fs::read_to_string(deploy("prometheus/sniffer-alerts.yml")).unwrap();
    let mut exprs = rule_exprs(&rules);
    assert_eq!(exprs.len(), 8, "{exprs:?}");
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(deploy("grafana/sniffer-dashboard.json")).unwrap(),
    )
    .unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 12, "{} panels", panels.len());
    for p in panels {
        for t in p["targets"].as_array().unwrap() {
            exprs.push(t["expr"].as_str().unwrap().to_string());
        }
    }
    let mut read = BTreeSet::new();
    for e in &exprs {
        read.extend(metric_names(e));
    }
    assert!(read.len() >= 30, "only {} names read: {read:?}", read.len());
    let missing: Vec<_> = read.difference(&exposed).collect();
    assert!(missing.is_empty(), "not in the exposition: {missing:?}");
    // What the issue asks the dashboard to show.
    for must in [
        "sniffer_candidates_detected_by_kind_total",
        "sniffer_latency_seconds_bucket",
        "sniffer_feed_wins_total",
        "sniffer_feed_lead_seconds",
        "sniffer_feed_connected",
        "sniffer_feed_last_message_age_seconds",
        "sniffer_stream_buffer_depth",
        "sniffer_high_lane_depth",
        "sniffer_sink_failing",
        "sniffer_publish_failed_total",
    ] {
        assert!(read.contains(must), "nothing reads {must}");
    }
}

/// The `expr:` values of a rules file (a YAML subset: `expr:` followed by a one-line value or a
/// `>` folded block), without a YAML dependency.
fn rule_exprs(text: &str) -> Vec<String> {
    let mut exprs = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(value) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        let value = value.trim();
        if value != ">" && value != "|" {
            exprs.push(value.to_string());
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let mut block = String::new();
        while let Some(next) = lines.peek() {
            if next.trim().is_empty() || next.len() - next.trim_start().len() <= indent {
                break;
            }
            block.push_str(next.trim());
            block.push(' ');
            lines.next();
        }
        exprs.push(block);
    }
    exprs
}

#[test]
fn the_systemd_unit_and_its_environment_file_are_accepted() {
    let unit = std::fs::read_to_string(deploy("systemd/sniffer.service")).unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    let args: Vec<&str> = exec.split_whitespace().skip(1).collect();
    assert_eq!(args.last(), Some(&"run"), "{exec}");
    let env_file = std::fs::read_to_string(deploy("systemd/sniffer.env")).unwrap();
    let vars: Vec<(String, String)> = env_file
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('='))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    assert!(vars.iter().any(|(k, _)| k == "SNIFFER_FEED"), "{vars:?}");
    // The unit's command line with its environment parses (`--help` stops before running).
    let out = Command::new(env!("CARGO_BIN_EXE_sniffer"))
        .args(&args)
        .arg("--help")
        .envs(vars.iter().cloned())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The configuration keys among the variables are valid as `run` loads them.
    let empty = std::env::temp_dir().join(format!("sniffer-deploy-{}.toml", std::process::id()));
    std::fs::write(&empty, "").unwrap();
    let flags = String::from_utf8_lossy(&out.stdout).into_owned();
    let keys: Vec<_> = vars
        .iter()
        .filter(|(k, _)| !flags.contains(&format!("[env: {k}=")))
        .cloned()
        .collect();
    assert!(!keys.is_empty());
    let out = Command::new(env!("CARGO_BIN_EXE_sniffer"))
        .arg("check-config")
        .arg(&empty)
        .envs(keys)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
