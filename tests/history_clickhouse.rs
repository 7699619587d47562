//! ClickHouse history (`--history`) with a real server (Debian's clickhouse-server 18.16):
//! the launches and trades of a replayed recording arrive once each in bounded batches, and a
//! ClickHouse stopped mid-run pauses the pull feed, is counted, and loses nothing acknowledged.
#![cfg(feature = "cli")]

mod common;
mod samples;
mod stores;

use std::io::Write as _;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use sniffer::decode::{Decoder, Format};
use stores::{metrics_when, payload_lines, ClickHouse, TempDir};

/// The real launch (the 2024 pump.fun `create`, as a `logsNotification`), the real buy (a
/// `blockNotification`) twice (a copy must be written once), and the payload generator's lines.
fn recording() -> Vec<String> {
    let launch = samples::logs_notification(
        samples::SIG,
        samples::SLOT,
        Value::Null,
        &samples::create_logs(),
    );
    let buy = samples::block_notification_buy();
    let mut lines = vec![launch, buy.clone()];
    lines.extend(payload_lines(2000, 300));
    lines.push(buy);
    lines
}

fn rows(ch: &ClickHouse, sql: &str) -> Vec<Value> {
    ch.query(&format!("{sql} FORMAT JSONEachRow"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `(count(), distinct identities)` of both tables, merged copies collapsed (`FINAL`) or not.
fn counts(ch: &ClickHouse, db: &str, fin: bool) -> (u64, u64, u64, u64) {
    let f = if fin { " FINAL" } else { "" };
    let n = |sql: String| -> u64 { ch.query(&sql).trim().parse().unwrap() };
    (
        n(format!("SELECT count() FROM {db}.launches{f}")),
        n(format!(
            "SELECT uniqExact(mint, signature) FROM {db}.launches"
        )),
        n(format!("SELECT count() FROM {db}.trades{f}")),
        n(format!("SELECT uniqExact(mint, trade_id) FROM {db}.trades")),
    )
}

fn u(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v:#}"))
}

#[test]
fn a_replayed_recording_arrives_once_each_in_bounded_batches() {
    let dir = TempDir::new("ch-replay");
    let lines = recording();
    let input = dir.path().join("input.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let ch = ClickHouse::start();
    let out = common::sniffer_cmd()
        .args(["run", "--policy", "block", "--feed"])
        .arg(format!("replay:{}", input.display()))
        .args(["--history", &ch.url("hist")])
        .env("SNIFFER_HISTORY_BATCH_SIZE", "100")
        .output()
        .unwrap();
    common::assert_ok(&out);
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    let h = &m["history"];
    assert_eq!(u(h, "launches_written"), u(&m, "candidates_sent"), "{h:#}");
    assert_eq!(u(h, "launches_written"), u(h, "launches_offered"));
    assert!(
        u(h, "trade_duplicates") >= 1,
        "the real buy came twice: {h:#}"
    );
    assert_eq!(
        u(h, "trades_written") + u(h, "trade_duplicates"),
        u(h, "trades_offered")
    );
    for zero in ["dropped", "lost", "pending", "insert_failures"] {
        assert_eq!(u(h, zero), 0, "{zero}: {h:#}");
    }
    assert!(u(h, "max_batch_rows") <= 100, "{h:#}");
    let total = u(h, "launches_written") + u(h, "trades_written");
    assert!(u(h, "inserts") >= total.div_ceil(100), "{h:#}");
    // Once each: no copies even before any merge.
    let (l, trades) = (u(h, "launches_written"), u(h, "trades_written"));
    assert!(l > 10 && trades > 10, "{h:#}");
    assert_eq!(counts(&ch, "hist", false), (l, l, trades, trades));

    // The real launch: the sample's known keys, and what the decoder derives for the rest.
    let mut d = Decoder::new(Format::Auto);
    let mut out = Vec::new();
    d.decode_line(lines[0].as_bytes(), &mut out).unwrap();
    let c = out[0].candidate;
    let curve_account = c
        .associated_bonding_curve()
        .expect("a pump.fun launch with its curve");
    let launch = rows(
        &ch,
        &format!(
            "SELECT mint, creator, signature, slot, name, uri, kind, token_program, \
             market_token_account FROM hist.launches WHERE signature = '{}'",
            samples::SIG
        ),
    );
    assert_eq!(
        launch,
        [json!({
            "mint": samples::MINT,
            "creator": samples::CREATOR,
            "signature": samples::SIG,
            "slot": samples::SLOT.to_string(), // ClickHouse quotes 64-bit integers
            "name": "excited",
            "uri": samples::URI,
            "kind": "pump_create",
            "token_program": c.token_program,
            // Derived from the curve for this logs-only launch (never the zero key).
            "market_token_account": curve_account.to_string(),
        })]
    );

    // The real buy: what the decoder reads from its line, written once.
    let mut d = Decoder::new(Format::Auto);
    let _ = d.decode_line(
        samples::block_notification_buy().as_bytes(),
        &mut Vec::new(),
    );
    let t = d.last_trades()[0];
    let got = rows(
        &ch,
        &format!(
            "SELECT trader, is_buy, sol_amount, token_amount, trade_id, slot FROM hist.trades \
             WHERE mint = '{}'",
            t.mint
        ),
    );
    assert_eq!(
        got,
        [json!({
            "trader": t.user.to_string(),
            "is_buy": u8::from(t.is_buy),
            "sol_amount": t.sol_amount.to_string(),
            "token_amount": t.token_amount.to_string(),
            "trade_id": t.identity().to_string(),
            "slot": samples::BLOCK_SLOT.to_string(),
        })]
    );
}

/// ClickHouse stops while a stdin feed (a pull source) is being read: the failed INSERTs are
/// counted and retried, the queue fills, the gate pauses the feed instead of dropping, and once
/// ClickHouse is back every accepted row is there, once.
#[test]
fn clickhouse_stopped_mid_run_pauses_the_feed_and_loses_nothing() {
    let dir = TempDir::new("ch-down");
    let lines = payload_lines(4000, 1500);
    let (first, second) = lines.split_at(lines.len() / 3);
    let (first, second) = (first.to_vec(), second.to_vec());
    let mut ch = ClickHouse::start();
    let metrics = dir.path().join("metrics.json");
    let mut child = common::sniffer_cmd()
        .args(["run", "--policy", "block", "--feed", "stdin"])
        .args(["--history", &ch.url("hist"), "--metrics-interval", "50ms"])
        .arg("--metrics-json")
        .arg(&metrics)
        // The queue's 20 % above the pause level (819 rows) holds what is already past the
        // feed when it pauses: one poll (up to 256 lines, about 330 rows of these) plus the
        // launches in the engine's ring and lane (128 + 128 here), which the bot still
        // delivers. With the default 2048-candidate lane a bot that lags on a loaded machine
        // overflows it (277 dropped in one `make test` run).
        .env("SNIFFER_HISTORY_QUEUE", "4096")
        .env("SNIFFER_STREAM_BUFFER_CAPACITY", "128")
        .env("SNIFFER_OUTPUT_LANE_CAPACITY", "128")
        .env("SNIFFER_HISTORY_BATCH_SIZE", "256")
        .env("SNIFFER_HISTORY_BATCH_AGE", "20ms")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for l in &first {
        writeln!(stdin, "{l}").unwrap();
    }
    stdin.flush().unwrap();
    metrics_when(&metrics, Duration::from_secs(60), |m| {
        let h = &m["history"];
        h["launches_offered"].as_u64() > Some(0) && h["pending"] == 0 && m["tx_seen"] == first.len()
    });
    ch.stop();
    // The feed is paused while ClickHouse is down: the pipe fills, so another thread writes.
    let writer = std::thread::spawn(move || {
        for l in &second {
            writeln!(stdin, "{l}").unwrap();
        }
        // Dropping stdin ends the feed.
    });
    let down = metrics_when(&metrics, Duration::from_secs(60), |m| {
        m["history"]["insert_failures"].as_u64() >= Some(2) && m["paused"] == true
    });
    assert_eq!(down["history"]["failing"], true);
    ch.restart();
    writer.join().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let m: Value = serde_json::from_slice(&std::fs::read(&metrics).unwrap()).unwrap();
    let h = &m["history"];
    assert_eq!(u(&m, "tx_seen"), lines.len() as u64, "every line was read");
    assert!(u(&m, "pause_count") >= 1);
    for zero in ["dropped", "lost", "pending"] {
        assert_eq!(u(h, zero), 0, "{zero}: {h:#}");
    }
    assert!(u(h, "max_batch_rows") <= 256, "{h:#}");
    let (l, trades) = (u(h, "launches_written"), u(h, "trades_written"));
    assert_eq!(l, u(&m, "candidates_sent"));
    assert_eq!(counts(&ch, "hist", true), (l, l, trades, trades));
}
