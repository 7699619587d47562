//! Decodes the bench's real sample lines of one format in a loop, or parses them to a
//! `serde_json::Value` instead: a deterministic target for instruction counts, e.g.
//!
//! ```text
//! cargo build --profile bench --example decode_cost
//! valgrind --tool=callgrind --toggle-collect='*decode_cost::run*' \
//!     target/release/examples/decode_cost tx_notification decode 200
//! ```
//!
//! Formats: `logs`, `tx_json_parsed`, `tx_json_v0`, `tx_json_v0_real`, `tx_notification`,
//! `block`; modes: `decode` (the decoder), `value` (`serde_json::from_slice::<Value>`).

#[path = "../tests/samples/mod.rs"]
mod samples;

use std::hint::black_box;

use samples::*;
use serde_json::{json, Value};
use sniffer::decode::{Decoder, Format};

fn logs_lines() -> Vec<String> {
    let mut with_buy = create_logs();
    with_buy.extend(buy_logs(trade_log_line(MINT, CREATOR, 297_300_000, true)));
    vec![
        logs_notification(SIG, SLOT, Value::Null, &with_buy),
        logs_notification(SIG, SLOT, Value::Null, &create_logs()),
        logs_notification(
            SIG,
            SLOT,
            Value::Null,
            &buy_logs(trade_log_line(MINT, CREATOR, 5, true)),
        ),
        logs_notification(
            SIG,
            SLOT,
            json!({"InstructionError": [0, {"Custom": 6001}]}),
            &create_logs(),
        ),
    ]
}

fn block_lines() -> Vec<String> {
    let v = block_sample();
    let buy = (
        v["transaction"][0].as_str().unwrap().to_owned(),
        json!({"err": null, "logMessages": [], "innerInstructions": []}),
    );
    vec![
        block_notification_buy(),
        block_notification(&[buy.clone(), (create_wire_v0(), create_wire_v0_meta()), buy]),
    ]
}

fn lines(name: &str) -> (Format, Vec<String>) {
    match name {
        "logs" => (Format::Logs, logs_lines()),
        "tx_json_parsed" => (Format::Tx, vec![get_transaction_parsed(Value::Null)]),
        "tx_json_v0" => (Format::Tx, vec![get_transaction_json_v0()]),
        "tx_notification" => (
            Format::Tx,
            vec![
                transaction_notification(&get_transaction_parsed(Value::Null), 7),
                transaction_notification(&get_transaction_json_v0(), 7),
                routed_buy_notification(),
            ],
        ),
        "block" => (Format::Block, block_lines()),
        "tx_json_v0_real" => (Format::Tx, launchpads::json_v0_lines()),
        other => panic!("unknown format {other}"),
    }
}

#[inline(never)]
fn run_decode(dec: &mut Decoder, lines: &[Vec<u8>], n: usize) -> usize {
    let mut out = Vec::with_capacity(16);
    let mut found = 0;
    for _ in 0..n {
        for l in lines {
            found += dec.decode_line(black_box(l), &mut out).unwrap_or(0);
            out.clear();
        }
    }
    found
}

#[inline(never)]
fn run_value(lines: &[Vec<u8>], n: usize) -> usize {
    let mut ok = 0;
    for _ in 0..n {
        for l in lines {
            ok += usize::from(serde_json::from_slice::<Value>(black_box(l)).is_ok());
        }
    }
    ok
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map_or("logs", String::as_str);
    let mode = args.get(2).map_or("decode", String::as_str);
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(100);
    let (format, lines) = lines(name);
    let lines: Vec<Vec<u8>> = lines.into_iter().map(String::into_bytes).collect();
    let bytes: usize = lines.iter().map(Vec::len).sum();
    let mut dec = Decoder::new(format);
    // Warm the decoder's buffers outside the measured function.
    run_decode(&mut dec, &lines, 1);
    let r = match mode {
        "decode" => run_decode(&mut dec, &lines, n),
        "value" => run_value(&lines, n),
        other => panic!("unknown mode {other}"),
    };
    println!(
        "{name} {mode}: {n} x {} lines ({bytes} bytes), result {r}",
        lines.len()
    );
}
