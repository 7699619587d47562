//! The `sniffer` binary's feeds: `decode` on sample-built lines, `run --feed replay:FILE` (with
//! malformed lines counted by reason), two feeds deduplicated, `--feed stdin`, `--record` then
//! replay, and exit code 2 for unreadable inputs and bad feed specs. Every run's metrics satisfy
//! the accounting invariant with nothing in flight.

mod common;
mod samples;

use std::io::Write as _;
use std::process::Stdio;

use samples::*;
use serde_json::{json, Value};
use sniffer::MetricsSnapshot;

use common::{assert_ok as ok, sniffer_cmd as sniffer, temp_path};

/// Five launches (logs, jsonParsed, json v0, PumpSwap, Raydium), one launch-free block, and two
/// malformed lines.
fn sample_file(name: &str) -> std::path::PathBuf {
    let pool_meta = json!({"err": null, "logMessages": [],
        "loadedAddresses": {"writable": [POOL_MINT], "readonly": []}});
    let lines = [
        logs_notification(SIG, SLOT, Value::Null, &create_logs()),
        get_transaction_parsed(Value::Null),
        "{\"jsonrpc\":\"2.0\",\"method\":".to_owned(),
        block_notification_buy(),
        get_transaction_json_v0(),
        block_notification(&[(pump_swap_pool_wire(), pool_meta)]),
        "[1,2]".to_owned(),
        block_notification(&[(raydium_pool_wire(), json!({"err": null}))]),
    ];
    let path = temp_path(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn metrics(path: &std::path::Path) -> MetricsSnapshot {
    let m: MetricsSnapshot = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert!(m.accounting_holds(), "{m:#?}");
    assert_eq!(m.in_flight, 0);
    m
}

#[test]
fn decode_prints_one_json_line_per_launch() {
    let path = sample_file("decode.jsonl");
    let out = sniffer().arg("decode").arg(&path).output().unwrap();
    ok(&out);
    let rows: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 5);
    let first = &rows[0];
    assert_eq!(first["mint"], MINT);
    assert_eq!(first["creator"], CREATOR);
    assert_eq!(first["slot"], SLOT);
    assert_eq!(first["kind"], "pump_create");
    assert_eq!(first["signature"], SIG);
    assert_eq!(first["uri"], URI);
    for key in [
        "score",
        "priority",
        "creator_buy_lamports",
        "name",
        "symbol",
    ] {
        assert!(first.get(key).is_some(), "{key} missing: {first}");
    }
    let kinds: Vec<_> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "pump_create",
            "pump_create",
            "pump_create",
            "pump_swap_pool",
            "raydium_pool"
        ]
    );
    let summary: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(summary["lines"], 8);
    assert_eq!(summary["malformed_by_reason"]["truncated_json"], 1);
    assert_eq!(summary["malformed_by_reason"]["wrong_shape"], 1);
}

#[test]
fn decode_of_an_unreadable_file_exits_2() {
    for bad in [temp_path("missing.jsonl"), std::env::temp_dir()] {
        let out = sniffer().arg("decode").arg(&bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", bad.display());
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    }
}

#[test]
fn run_replays_a_file_and_counts_malformed_lines_by_reason() {
    let path = sample_file("run.jsonl");
    let json = temp_path("run-metrics.json");
    let out = sniffer()
        .args(["run", "--policy", "block", "--feed"])
        .arg(format!("replay:{}", path.display()))
        .arg("--metrics-json")
        .arg(&json)
        .output()
        .unwrap();
    ok(&out);
    let m = metrics(&json);
    // Five launches decode, but they are two (mint, signature) pairs (see the dedup test): a
    // launch seen again on the same feed is delivered once and counted as a duplicate.
    assert_eq!((m.tx_seen, m.candidates_sent, m.tx_malformed), (8, 2, 2));
    assert_eq!(m.duplicates_dropped, 3);
    assert_eq!(m.tx_malformed_by_reason["truncated_json"], 1);
    assert_eq!(m.tx_malformed_by_reason["wrong_shape"], 1);
}

#[test]
fn two_feeds_of_one_file_deliver_each_launch_once() {
    let path = sample_file("dedup.jsonl");
    let json = temp_path("dedup-metrics.json");
    let spec = format!("replay:{}", path.display());
    let out = sniffer()
        .args(["run", "--policy", "block", "--feed", &spec, "--feed", &spec])
        .arg("--metrics-json")
        .arg(&json)
        .output()
        .unwrap();
    ok(&out);
    let m = metrics(&json);
    // Keyed by mint + signature: the logs, jsonParsed and json v0 lines are one transaction
    // (one launch), and the two pool samples share their signature and mint (one more). So 2
    // distinct launches of the 5 decoded per file; the file is read twice: 8 duplicates.
    assert_eq!(m.candidates_sent, 2);
    assert_eq!(m.duplicates_dropped, 8);
    assert_eq!(m.feeds.len(), 2);
    assert_eq!(m.feeds[0].wins + m.feeds[1].wins, 2);
    assert_eq!(m.feeds[0].duplicates + m.feeds[1].duplicates, 8);
    assert!((m.feeds[0].win_share + m.feeds[1].win_share - 1.0).abs() < 1e-9);
}

#[test]
fn stdin_feed_and_record_then_replay() {
    let path = sample_file("stdin.jsonl");
    let rec = temp_path("stdin.rec");
    let json = temp_path("stdin-metrics.json");
    let mut child = sniffer()
        .args(["run", "--policy", "block", "--feed", "stdin", "--record"])
        .arg(&rec)
        .arg("--metrics-json")
        .arg(&json)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&path).unwrap())
        .unwrap();
    ok(&child.wait_with_output().unwrap());
    let m1 = metrics(&json);
    assert_eq!((m1.tx_seen, m1.candidates_sent, m1.tx_malformed), (8, 2, 2));
    assert_eq!(m1.duplicates_dropped, 3);

    let out = sniffer()
        .args(["run", "--policy", "block", "--speed", "0", "--feed"])
        .arg(format!("replay:{}", rec.display()))
        .arg("--metrics-json")
        .arg(&json)
        .output()
        .unwrap();
    ok(&out);
    let m2 = metrics(&json);
    assert_eq!(
        (m1.tx_seen, m1.candidates_sent, &m1.tx_malformed_by_reason),
        (m2.tx_seen, m2.candidates_sent, &m2.tx_malformed_by_reason)
    );
    // `decode` reads recordings too, and finds the same launches as in the original file.
    let a = sniffer().arg("decode").arg(&path).output().unwrap();
    let b = sniffer().arg("decode").arg(&rec).output().unwrap();
    ok(&a);
    ok(&b);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn synthetic_payloads_run_through_the_decoder() {
    let json = temp_path("payloads-metrics.json");
    let out = sniffer()
        .args([
            "run",
            "--feed",
            "synthetic:payloads",
            "--rate",
            "20000",
            "--duration",
            "300ms",
            "--malformed-pct",
            "10",
            "--burst-every",
            "100ms",
            "--burst-len",
            "20ms",
            "--burst-factor",
            "3",
        ])
        .arg("--metrics-json")
        .arg(&json)
        .output()
        .unwrap();
    ok(&out);
    let m = metrics(&json);
    assert!(
        m.tx_seen > 0 && m.tx_malformed > 0 && m.candidates_detected > 0,
        "{m:#?}"
    );
    assert_eq!(
        m.tx_malformed,
        m.tx_malformed_by_reason.values().sum::<u64>()
    );
}

#[test]
fn bad_feed_specs_exit_2() {
    let cases: [&[&str]; 5] = [
        &["run", "--feed", "replay:/nonexistent/file.jsonl"],
        &["run", "--feed", "kafka"],
        &["run", "--feed", "synthetic", "--record", "/tmp/x.rec"],
        &["run", "--feed", "stdin", "--speed", "-1"],
        &["run", "--feed", "stdin", "--format", "xml"],
    ];
    for args in cases {
        let out = sniffer().args(args).stdin(Stdio::null()).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

/// Issue 20: `decode` of a pretty-printed sample (one message over many lines) decodes nothing;
/// it says what it expected and how to fix the file, and exits 2, after its summary.
#[test]
fn decode_of_a_file_where_no_line_decodes_says_what_it_expected_and_exits_2() {
    let pretty = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/launchpads/tx/launchlab_init_token2022_5RfEZ834.json"
    );
    let out = sniffer().arg("decode").arg(pretty).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty());
    let summary: Value = serde_json::from_str(err.lines().next().unwrap()).unwrap();
    assert_eq!(summary["candidates"], 0, "{summary}");
    assert_eq!(summary["malformed"], summary["lines"], "{summary}");
    assert!(
        err.contains("reads JSON lines") && err.contains("jq -c ."),
        "{err}"
    );
    // Compacted to one line, the same file decodes to its launch (exit 0).
    let text = std::fs::read_to_string(pretty).unwrap();
    let one: Value = serde_json::from_str(&text).unwrap();
    let path = temp_path("compacted.jsonl");
    std::fs::write(&path, format!("{one}\n")).unwrap();
    let out = sniffer().arg("decode").arg(&path).output().unwrap();
    ok(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

/// `make run`'s first part: the bundled real transactions replay to their 20 launches, each one
/// JSON record on stdout, the swaps around them counted as seen and not delivered.
#[test]
fn the_bundled_real_transactions_replay_to_their_launches() {
    let replay = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/launchpads/replay.jsonl"
    );
    let out = sniffer()
        .args(["run", "--speed", "0", "--candidates", "-", "--feed"])
        .arg(format!("replay:{replay}"))
        .output()
        .unwrap();
    ok(&out);
    let rows: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut kinds: Vec<&str> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        [
            "launchlab",
            "launchlab",
            "launchlab",
            "launchlab",
            "launchlab",
            "launchlab",
            "launchlab",
            "meteora_damm_v2_graduation",
            "meteora_dbc",
            "meteora_dbc",
            "meteora_dbc",
            "moonshot",
            "pump_create_v2",
            "pump_create_v2",
            "pump_swap_graduation",
            "pump_swap_graduation",
            "raydium_cpmm_pool",
            "raydium_cpmm_pool",
            "raydium_pool",
            "raydium_pool"
        ]
    );
}
