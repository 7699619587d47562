//! Property tests: random and mutated input never panics and never produces unbounded output.

mod samples;

use base64::Engine as _;
use proptest::prelude::*;
use samples::*;
use serde_json::{json, Value};
use sniffer::decode::{decode_pump_event, Decoder, Format};

const FORMATS: [Format; 4] = [Format::Auto, Format::Logs, Format::Tx, Format::Block];

fn sample_lines() -> Vec<String> {
    let mut logs = create_logs();
    logs.extend(buy_logs(trade_log_line(MINT, CREATOR, 297_300_000, true)));
    vec![
        logs_notification(SIG, SLOT, Value::Null, &logs),
        get_transaction_parsed(Value::Null),
        get_transaction_json_v0(),
        block_notification_buy(),
        block_notification(&[(create_wire_v0(), create_wire_v0_meta())]),
    ]
}

/// Decodes with every format and checks the bounds.
fn check(line: &[u8]) {
    for f in FORMATS {
        let mut dec = Decoder::new(f);
        let mut out = Vec::new();
        match dec.decode_line(line, &mut out) {
            Ok(n) => {
                assert_eq!(n, out.len());
                // Each launch needs at least a 32-byte key's worth of input.
                assert!(out.len() <= line.len() / 32 + 1);
            }
            Err(_) => assert!(out.is_empty()),
        }
        assert!(dec.last_trades().len() <= line.len() / 32 + 1);
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Splice(usize, usize, usize, usize),
    Delete(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>(), any::<usize>(), 0usize..300)
            .prop_map(|(s, a, b, n)| Mutation::Splice(s, a, b, n)),
        (any::<usize>(), 0usize..200).prop_map(|(i, n)| Mutation::Delete(i, n)),
    ]
}

fn apply(mut line: Vec<u8>, m: &Mutation, lines: &[Vec<u8>]) -> Vec<u8> {
    if line.is_empty() {
        return line;
    }
    match *m {
        Mutation::Flip(i, b) => {
            let n = line.len();
            line[i % n] = b;
        }
        Mutation::Truncate(i) => line.truncate(i % line.len()),
        Mutation::Splice(src, from, at, n) => {
            let other = &lines[src % lines.len()];
            let from = from % other.len();
            let piece = &other[from..(from + n).min(other.len())];
            let at = at % line.len();
            line.splice(at..at, piece.iter().copied());
        }
        Mutation::Delete(i, n) => {
            let i = i % line.len();
            let end = (i + n).min(line.len());
            line.drain(i..end);
        }
    }
    line
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(line in proptest::collection::vec(any::<u8>(), 0..4096)) {
        check(&line);
    }

    #[test]
    fn random_json_ish_text_never_panics(line in r#"[{}\[\]":,0-9a-zA-Z \\]{0,400}"#) {
        check(line.as_bytes());
    }

    #[test]
    fn mutated_real_lines_never_panic(which in 0usize..5, muts in proptest::collection::vec(mutation(), 1..6)) {
        let lines: Vec<Vec<u8>> = sample_lines().into_iter().map(String::into_bytes).collect();
        let mut line = lines[which].clone();
        for m in &muts {
            line = apply(line, m, &lines);
        }
        check(&line);
    }

    #[test]
    fn mutated_wire_transactions_never_panic(muts in proptest::collection::vec(mutation(), 1..6), which in 0usize..2) {
        let engine = base64::engine::general_purpose::STANDARD;
        let wires: Vec<Vec<u8>> = [
            block_sample()["transaction"][0].as_str().unwrap().to_owned(),
            create_wire_v0(),
        ]
        .iter()
        .map(|b| engine.decode(b).unwrap())
        .collect();
        let mut wire = wires[which].clone();
        for m in &muts {
            wire = apply(wire, m, &wires);
        }
        let line = block_notification(&[(engine.encode(&wire), create_wire_v0_meta())]);
        check(line.as_bytes());
    }

    #[test]
    fn mutated_events_never_panic(muts in proptest::collection::vec(mutation(), 1..6), which in 0usize..2) {
        let logs = create_logs();
        let create = logs.iter().find_map(|l| l.strip_prefix("Program data: ")).unwrap();
        let engine = base64::engine::general_purpose::STANDARD;
        let events = vec![engine.decode(create).unwrap(), trade_event_bytes()];
        let mut ev = events[which].clone();
        for m in &muts {
            ev = apply(ev, m, &events);
        }
        let _ = decode_pump_event(&ev);
        let line = logs_notification(SIG, SLOT, Value::Null, &[
            format!("Program {PUMP} invoke [1]"),
            format!("Program data: {}", engine.encode(&ev)),
            format!("Program {PUMP} success"),
        ]);
        check(line.as_bytes());
    }

    #[test]
    fn random_log_lines_never_panic(logs in proptest::collection::vec(
        prop_oneof![
            Just(format!("Program {PUMP} invoke [1]")),
            Just(format!("Program {PUMP} success")),
            Just("Program log: Instruction: CreateV2".to_owned()),
            Just("Program log: Create".to_owned()),
            "Program data: [A-Za-z0-9+/=]{0,80}",
            "Program [a-zA-Z0-9 \\[\\]:]{0,60}",
        ],
        0..40,
    )) {
        check(logs_notification(SIG, SLOT, json!(null), &logs).as_bytes());
    }
}
