//! Every `Malformed` reason, each from the kind of bad input that produces it; the last test runs
//! them all again and checks that together they produced every reason.

mod samples;

use std::cell::RefCell;
use std::collections::BTreeSet;

use samples::*;
use serde_json::{json, Value};
use sniffer::decode::{Decoder, DecoderConfig, Format, Malformed, MAX_LINE_LEN};

thread_local! {
    /// The reasons the decoder gave on this thread (each test runs on a thread of its own).
    static PRODUCED: RefCell<BTreeSet<&'static str>> = const { RefCell::new(BTreeSet::new()) };
}

fn produced(m: Malformed) -> Malformed {
    PRODUCED.with(|p| p.borrow_mut().insert(m.as_str()));
    m
}

/// Why the line, or the one transaction of a block, was rejected.
fn reason(format: Format, line: &[u8]) -> Malformed {
    let mut out = Vec::new();
    let mut dec = Decoder::new(format);
    let r = dec.decode_line(line, &mut out);
    assert!(out.is_empty(), "nothing is appended on error");
    produced(match r {
        Err(m) => m,
        // A block is decoded transaction by transaction: its bad one is skipped and reported.
        Ok(0) => match dec.last_skipped() {
            [m] => *m,
            other => panic!("line should be rejected, or its transaction skipped: {other:?}"),
        },
        Ok(n) => panic!("line should be rejected, got {n} launches"),
    })
}

#[test]
fn one_bad_transaction_does_not_discard_its_block() {
    let line = block_notification(&[
        (
            pump_swap_pool_wire(),
            json!({"err": null, "logMessages": [],
                "loadedAddresses": {"writable": [POOL_MINT], "readonly": []}}),
        ),
        ("!!!notbase64".to_owned(), json!(null)),
        (b64(&[0u8]), json!(null)),
        (raydium_pool_wire(), json!({"err": null})),
    ]);
    let mut dec = Decoder::new(Format::Auto);
    let mut out = Vec::new();
    assert_eq!(dec.decode_line(line.as_bytes(), &mut out), Ok(2));
    assert_eq!(
        dec.last_skipped(),
        [Malformed::InvalidBase64, Malformed::BadWire]
    );
    let kinds: Vec<_> = out.iter().map(|d| d.candidate.kind).collect();
    assert_eq!(
        kinds,
        [
            sniffer::LaunchKind::PumpSwapPool,
            sniffer::LaunchKind::RaydiumPool
        ]
    );
    assert!(out.iter().all(|d| d.candidate.slot == BLOCK_SLOT));
    // Scored once each (the creator's history counts each launch once): as without the bad ones.
    let good = block_notification(&[
        (
            pump_swap_pool_wire(),
            json!({"err": null, "logMessages": [],
                "loadedAddresses": {"writable": [POOL_MINT], "readonly": []}}),
        ),
        (raydium_pool_wire(), json!({"err": null})),
    ]);
    let mut clean = Vec::new();
    Decoder::new(Format::Auto)
        .decode_line(good.as_bytes(), &mut clean)
        .unwrap();
    let scores = |v: &[sniffer::decode::Decoded]| -> Vec<u32> {
        v.iter().map(|d| d.candidate.score).collect()
    };
    assert_eq!(scores(&out), scores(&clean));
    // The next line starts clean.
    out.clear();
    let ok = block_notification(&[(raydium_pool_wire(), json!({"err": null}))]);
    assert_eq!(dec.decode_line(ok.as_bytes(), &mut out), Ok(1));
    assert!(dec.last_skipped().is_empty());
    // A block that is not JSON is still rejected whole.
    let torn = &line[..line.len() / 2];
    assert!(dec.decode_line(torn.as_bytes(), &mut out).is_err());
    assert!(dec.last_skipped().is_empty());
}

fn logs_line(logs: &[String]) -> String {
    logs_notification(SIG, SLOT, Value::Null, logs)
}

fn pump_frame(data_line: String) -> Vec<String> {
    vec![
        format!("Program {PUMP} invoke [1]"),
        data_line,
        format!("Program {PUMP} success"),
    ]
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn empty_and_whitespace_lines() {
    assert_eq!(reason(Format::Auto, b""), Malformed::Empty);
    assert_eq!(reason(Format::Auto, b" \t\r\n"), Malformed::Empty);
}

#[test]
fn ten_megabyte_line_is_too_long() {
    let mut line = logs_line(&create_logs()).into_bytes();
    line.resize(10 * 1024 * 1024, b' ');
    assert_eq!(reason(Format::Auto, &line), Malformed::TooLong);
    // Just over the default cap, and a raised cap accepts it.
    let mut line = logs_line(&create_logs()).into_bytes();
    line.resize(MAX_LINE_LEN + 1, b' ');
    assert_eq!(reason(Format::Logs, &line), Malformed::TooLong);
    let mut dec = Decoder::with_config(DecoderConfig {
        max_line_len: 2 * MAX_LINE_LEN,
        ..DecoderConfig::default()
    });
    assert_eq!(dec.decode_line(&line, &mut Vec::new()), Ok(1));
}

#[test]
fn non_utf8_bytes() {
    let mut line = logs_line(&create_logs()).into_bytes();
    let at = line.len() / 2;
    line[at] = 0xff;
    assert_eq!(reason(Format::Auto, &line), Malformed::NotUtf8);
    assert_eq!(reason(Format::Auto, &[0xc3, 0x28]), Malformed::NotUtf8);
}

#[test]
fn truncated_json() {
    let line = logs_line(&create_logs());
    for cut in [1, 10, line.len() / 2, line.len() - 1] {
        assert_eq!(
            reason(Format::Auto, &line.as_bytes()[..cut]),
            Malformed::TruncatedJson,
            "cut at {cut}"
        );
    }
}

#[test]
fn json_syntax_errors() {
    assert_eq!(reason(Format::Auto, b"{\"a\" 1}"), Malformed::JsonSyntax);
    assert_eq!(reason(Format::Auto, b"{} {}"), Malformed::JsonSyntax);
    assert_eq!(reason(Format::Auto, b"nope"), Malformed::JsonSyntax);
}

#[test]
fn wrong_types() {
    // Slot as a string, logs as an object, signature as a number, a top-level array.
    let mut v: Value = serde_json::from_str(&logs_line(&create_logs())).unwrap();
    v["params"]["result"]["context"]["slot"] = json!("284682639");
    assert_eq!(
        reason(Format::Logs, v.to_string().as_bytes()),
        Malformed::WrongShape
    );
    let mut v: Value = serde_json::from_str(&logs_line(&create_logs())).unwrap();
    v["params"]["result"]["value"]["logs"] = json!({"a": 1});
    assert_eq!(
        reason(Format::Logs, v.to_string().as_bytes()),
        Malformed::WrongShape
    );
    let mut v: Value = serde_json::from_str(&logs_line(&create_logs())).unwrap();
    v["params"]["result"]["value"]["signature"] = json!(5);
    assert_eq!(
        reason(Format::Logs, v.to_string().as_bytes()),
        Malformed::WrongShape
    );
    assert_eq!(reason(Format::Auto, b"[1,2,3]"), Malformed::WrongShape);
    // A block transaction in an encoding other than base64.
    let line = block_notification_buy().replace("\"base64\"", "\"base58\"");
    assert_eq!(
        reason(Format::Block, line.as_bytes()),
        Malformed::WrongShape
    );
}

#[test]
fn unknown_format() {
    assert_eq!(reason(Format::Auto, b"{}"), Malformed::UnknownFormat);
    assert_eq!(
        reason(
            Format::Auto,
            br#"{"jsonrpc":"2.0","method":"slotNotification","params":{"result":{"slot":1}}}"#
        ),
        Malformed::UnknownFormat
    );
}

#[test]
fn invalid_base58() {
    // Signature with a character outside the alphabet.
    let line = logs_notification(&SIG.replace('a', "0"), SLOT, Value::Null, &create_logs());
    assert_eq!(
        reason(Format::Logs, line.as_bytes()),
        Malformed::InvalidBase58
    );
    // Instruction data that is not base58.
    let (create, _) = jsonc_instructions();
    let data = create["data"].as_str().unwrap();
    let line = get_transaction_parsed(Value::Null).replace(data, "0OIl");
    assert_eq!(
        reason(Format::Tx, line.as_bytes()),
        Malformed::InvalidBase58
    );
    // Instruction data longer than any transaction can carry.
    let line = get_transaction_parsed(Value::Null).replace(data, &"2".repeat(5000));
    assert_eq!(
        reason(Format::Tx, line.as_bytes()),
        Malformed::InvalidBase58
    );
    // An account key with a bad character.
    let line = get_transaction_parsed(Value::Null).replace(MINT, &MINT.replace('a', "l"));
    assert_eq!(
        reason(Format::Tx, line.as_bytes()),
        Malformed::InvalidBase58
    );
}

#[test]
fn invalid_base64() {
    let line = logs_line(&pump_frame("Program data: G3K*pTd7rY3Y".to_owned()));
    assert_eq!(
        reason(Format::Logs, line.as_bytes()),
        Malformed::InvalidBase64
    );
    let line = block_notification(&[("!!!notbase64".to_owned(), json!(null))]);
    assert_eq!(
        reason(Format::Block, line.as_bytes()),
        Malformed::InvalidBase64
    );
}

#[test]
fn keys_of_the_wrong_length() {
    // 31 bytes of base58 (all-ones string of 31 '1's decodes to 31 zero bytes).
    let short = "1".repeat(31);
    let line = get_transaction_parsed(Value::Null).replace(MINT, &short);
    assert_eq!(reason(Format::Tx, line.as_bytes()), Malformed::KeyLength);
    // 44 valid digits that decode to more than 32 bytes.
    let long = "z".repeat(44);
    let line = get_transaction_parsed(Value::Null).replace(MINT, &long);
    assert_eq!(reason(Format::Tx, line.as_bytes()), Malformed::KeyLength);
    // In loadedAddresses.
    let line = get_transaction_json_v0().replace(
        &format!("\"writable\":[\"{BONDING_CURVE}\"]"),
        "\"writable\":[\"abc\"]",
    );
    assert!(line.contains("\"abc\""));
    assert_eq!(reason(Format::Tx, line.as_bytes()), Malformed::KeyLength);
}

#[test]
fn signatures_of_the_wrong_length() {
    let line = logs_notification("abc", SLOT, Value::Null, &create_logs());
    assert_eq!(
        reason(Format::Logs, line.as_bytes()),
        Malformed::SignatureLength
    );
    // 88 valid digits that do not decode to 64 bytes.
    let line = logs_notification(&"z".repeat(88), SLOT, Value::Null, &create_logs());
    assert_eq!(
        reason(Format::Logs, line.as_bytes()),
        Malformed::SignatureLength
    );
}

fn create_event_with_name_len(len: u32) -> Vec<u8> {
    let mut b = vec![0x1b, 0x72, 0xa9, 0x4d, 0xde, 0xeb, 0x63, 0x76];
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(b"excited");
    b
}

#[test]
fn absurd_borsh_string_lengths() {
    for len in [u32::MAX, 1 << 30, 4096, 8] {
        let line = logs_line(&pump_frame(format!(
            "Program data: {}",
            b64(&create_event_with_name_len(len))
        )));
        assert_eq!(
            reason(Format::Logs, line.as_bytes()),
            Malformed::BorshLength,
            "len {len}"
        );
    }
}

#[test]
fn truncated_events_and_instructions() {
    let trade = trade_event_bytes();
    let line = logs_line(&pump_frame(format!("Program data: {}", b64(&trade[..50]))));
    assert_eq!(
        reason(Format::Logs, line.as_bytes()),
        Malformed::TruncatedData
    );
}

#[test]
fn out_of_range_values() {
    let mut trade = trade_event_bytes();
    trade[56] = 7; // is_buy
    let line = logs_line(&pump_frame(format!("Program data: {}", b64(&trade))));
    assert_eq!(
        reason(Format::Logs, line.as_bytes()),
        Malformed::InvalidValue
    );
}

#[test]
fn bad_wire_transactions() {
    use base64::Engine as _;
    let v = block_sample();
    let wire = base64::engine::general_purpose::STANDARD
        .decode(v["transaction"][0].as_str().unwrap())
        .unwrap();
    for bad in [&wire[..100], &wire[..wire.len() - 1], &[0u8][..]] {
        let line = block_notification(&[(b64(bad), json!(null))]);
        assert_eq!(reason(Format::Block, line.as_bytes()), Malformed::BadWire);
    }
}

#[test]
fn account_index_out_of_range() {
    let (create, _) = jsonc_instructions();
    let line = get_transaction_json_v0();
    let v: Value = serde_json::from_str(&line).unwrap();
    let mut v2 = v.clone();
    v2["transaction"]["message"]["instructions"][0]["programIdIndex"] = json!(200);
    assert_eq!(
        reason(Format::Tx, v2.to_string().as_bytes()),
        Malformed::AccountIndex
    );
    let mut v3 = v;
    v3["transaction"]["message"]["instructions"][0]["accounts"][0] = json!(70000);
    assert_eq!(
        reason(Format::Tx, v3.to_string().as_bytes()),
        Malformed::AccountIndex
    );
    let _ = create;
}

/// Runs every test above on this thread and checks that their inputs, between them, made the
/// decoder give every reason of `Malformed::ALL` (a reason without an input here fails).
#[test]
fn every_reason_is_covered_above() {
    let tests: [fn(); 16] = [
        empty_and_whitespace_lines,
        ten_megabyte_line_is_too_long,
        non_utf8_bytes,
        truncated_json,
        json_syntax_errors,
        wrong_types,
        unknown_format,
        invalid_base58,
        invalid_base64,
        keys_of_the_wrong_length,
        signatures_of_the_wrong_length,
        absurd_borsh_string_lengths,
        truncated_events_and_instructions,
        out_of_range_values,
        bad_wire_transactions,
        account_index_out_of_range,
    ];
    PRODUCED.with(|p| p.borrow_mut().clear());
    for test in tests {
        test();
    }
    let produced = PRODUCED.with(|p| p.borrow().clone());
    let all: BTreeSet<&str> = Malformed::ALL.iter().map(|m| m.as_str()).collect();
    // Only a transaction read from a ledger entry (no meta, no loaded addresses) yields
    // `unresolved_lookup`: tests/live_shred.rs produces it through the ShredStream feed.
    let elsewhere: BTreeSet<&str> = [Malformed::UnresolvedLookup.as_str()].into();
    let missing: Vec<_> = all
        .difference(&produced)
        .filter(|m| !elsewhere.contains(*m))
        .collect();
    assert!(missing.is_empty(), "no input here produces {missing:?}");
}

#[test]
fn a_decoder_keeps_working_after_bad_lines() {
    let mut dec = Decoder::new(Format::Auto);
    let mut out = Vec::new();
    let good = logs_line(&create_logs());
    assert!(dec.decode_line(&good.as_bytes()[..500], &mut out).is_err());
    assert_eq!(dec.decode_line(good.as_bytes(), &mut out), Ok(1));
}
