//! Every real sample decodes to the fields `tests/data/SOURCES.md` names, and the detection
//! rules hold on lines composed from real sample pieces.

mod samples;

use samples::*;
use serde_json::{json, Value};
use sniffer::{
    decode::{decode_pump_event, Decoded, Decoder, Format, Malformed, PumpEvent},
    LaunchKind, Priority, Pubkey, TokenProgram,
};

/// The create instruction's associated bonding curve (account 3 of the real `create`).
const ASSOCIATED_BONDING_CURVE: &str = "6eTEMemDi58KJE1rPEagqMsgn34xUWTkzdZTKM8EVbYF";

/// The fields a bot needs for its buy, as the 2024 create carries them.
fn assert_buy_fields_of_the_2024_create(d: &Decoded) {
    let c = &d.candidate;
    assert_eq!(c.signature, d.signature, "the record carries the signature");
    assert_eq!(c.bonding_curve(), Some(key(BONDING_CURVE)));
    assert_eq!(c.market, key(BONDING_CURVE));
    // The instruction names the associated bonding curve; the event does not, and then it is
    // derived from the curve, the mint and the token program: the same account either way.
    assert_eq!(
        c.associated_bonding_curve(),
        Some(key(ASSOCIATED_BONDING_CURVE))
    );
    assert_eq!(c.pool(), None);
    assert_eq!(c.token_program, TokenProgram::Token);
    assert_eq!(c.received_unix_ns, 0, "stamped at ingest");
}

fn key(s: &str) -> Pubkey {
    s.parse().unwrap()
}

fn decode(format: Format, line: &str) -> (Decoder, Vec<Decoded>) {
    let mut dec = Decoder::new(format);
    let mut out = Vec::new();
    let n = dec.decode_line(line.as_bytes(), &mut out).unwrap();
    assert_eq!(n, out.len());
    (dec, out)
}

fn assert_is_the_2024_create(d: &Decoded, slot: u64) {
    let c = &d.candidate;
    assert_eq!(c.mint, key(MINT));
    assert_eq!(c.creator, key(CREATOR));
    assert_eq!(c.slot, slot);
    assert_eq!(c.kind, LaunchKind::PumpCreate);
    assert_eq!(d.meta.name(), "excited");
    assert_eq!(d.meta.symbol(), "excited");
    assert_eq!(d.meta.uri(), URI);
    // Left for the engine.
    assert_eq!((c.seq, c.detected_at_ns, c.feed_id), (0, 0, 0));
}

#[test]
fn create_event_log_line_decodes_to_the_2024_layout() {
    let logs = create_logs();
    let data = logs
        .iter()
        .find_map(|l| l.strip_prefix("Program data: "))
        .unwrap();
    assert!(data.starts_with("G3KpTd7rY3Y"));
    let bytes = base64_decode(data);
    let Some(PumpEvent::Create(e)) = decode_pump_event(&bytes).unwrap() else {
        panic!("not a CreateEvent")
    };
    assert_eq!((e.name, e.symbol, e.uri), ("excited", "excited", URI));
    assert_eq!(e.mint, key(MINT));
    assert_eq!(e.bonding_curve, key(BONDING_CURVE));
    assert_eq!(e.user, key(CREATOR));
    // Six-field layout: nothing after `user`.
    assert_eq!((e.creator, e.timestamp), (None, None));
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

#[test]
fn logs_notification_of_the_create_yields_one_candidate() {
    let line = logs_notification(SIG, SLOT, Value::Null, &create_logs());
    for format in [Format::Auto, Format::Logs] {
        let (_, out) = decode(format, &line);
        assert_eq!(out.len(), 1);
        assert_is_the_2024_create(&out[0], SLOT);
        assert!(out[0].signature.to_string().starts_with("52ar89rg"));
        assert_eq!(out[0].signature.to_string(), SIG);
        assert_eq!(out[0].candidate.signature.to_string(), SIG);
        assert_eq!(out[0].candidate.creator_buy_lamports, 0);
        assert_eq!(out[0].candidate.creator_buy_tokens, 0);
        assert_buy_fields_of_the_2024_create(&out[0]);
    }
}

#[test]
fn get_transaction_json_parsed_decodes_instruction_and_events() {
    let line = get_transaction_parsed(Value::Null);
    for format in [Format::Auto, Format::Tx] {
        let (_, out) = decode(format, &line);
        // Instruction, log CreateEvent and self-CPI CreateEvent are one launch.
        assert_eq!(out.len(), 1, "{out:?}");
        assert_is_the_2024_create(&out[0], SLOT);
        assert_eq!(out[0].signature.to_string(), SIG);
        assert_buy_fields_of_the_2024_create(&out[0]);
    }
}

#[test]
fn each_evidence_alone_is_enough() {
    let (create, event) = jsonc_instructions();
    // Only the top-level instruction (3-argument 2024 layout: creator = user account 7).
    let only_ix = get_transaction_parsed(Value::Null)
        .replace(&serde_json::to_string(&create_logs()).unwrap(), "[]");
    let only_ix = only_ix.replace(
        &event.to_string(),
        r#"{"programId":"11111111111111111111111111111111","accounts":[],"data":""}"#,
    );
    assert!(!only_ix.contains("G3KpTd"));
    assert!(!only_ix.contains(event["data"].as_str().unwrap()));
    let (_, out) = decode(Format::Tx, &only_ix);
    assert_eq!(out.len(), 1);
    assert_is_the_2024_create(&out[0], SLOT);

    // Only the self-CPI event: the create instruction replaced by a system transfer.
    let only_cpi = get_transaction_parsed(Value::Null)
        .replace(&serde_json::to_string(&create_logs()).unwrap(), "[]")
        .replace(&create.to_string(), r#"{"programId":"11111111111111111111111111111111","accounts":[],"data":"3Bxs4h24hBtQy9rw"}"#);
    assert!(!only_cpi.contains(create["data"].as_str().unwrap()));
    let (_, out) = decode(Format::Tx, &only_cpi);
    assert_eq!(out.len(), 1);
    assert_is_the_2024_create(&out[0], SLOT);
}

#[test]
fn get_transaction_json_v0_sorted_keys_resolves_loaded_addresses() {
    let line = get_transaction_json_v0();
    // Sorted keys put `meta` before `transaction`: exercises the replay path.
    assert!(line.find("\"meta\"").unwrap() < line.find("\"transaction\"").unwrap());
    let (_, out) = decode(Format::Auto, &line);
    assert_eq!(out.len(), 1);
    assert_is_the_2024_create(&out[0], SLOT);
}

#[test]
fn bare_and_wrapped_results_agree() {
    let wrapped = get_transaction_parsed(Value::Null);
    let v: Value = serde_json::from_str(&wrapped).unwrap();
    let bare = v["result"].to_string();
    let (_, a) = decode(Format::Tx, &wrapped);
    let (_, b) = decode(Format::Tx, &bare);
    assert_eq!(a, b);
}

#[test]
fn block_sample_is_a_buy_with_no_candidate() {
    let line = block_notification_buy();
    for format in [Format::Auto, Format::Block] {
        let (dec, out) = decode(format, &line);
        assert!(out.is_empty(), "a buy is not a launch: {out:?}");
        // Logs and self-CPI both carry the event: counted once.
        let trades = dec.last_trades();
        assert_eq!(trades.len(), 1);
        let t = trades[0];
        assert_eq!(t.mint, key("5eFg3giaX2c3RydHvx1S3yEKpYjBuwtLUsmbAAG9pump"));
        assert_eq!(t.sol_amount, 297_300_000);
        assert_eq!(t.token_amount, 5_032_051_139_663);
        assert!(t.is_buy);
        assert_eq!(t.user, key("8ZZ97eWp2k8gfoK2Jk2WQcdofk9hyJpEGDPGiqFryH1S"));
        assert_eq!(t.timestamp, Some(1_747_165_626));
        assert_eq!(t.virtual_sol_reserves, Some(43_758_836_401));
        assert_eq!(t.virtual_token_reserves, Some(735_622_851_591_552));
        assert_eq!(t.real_sol_reserves, Some(13_758_836_401));
        assert_eq!(t.real_token_reserves, Some(455_722_851_591_552));
        assert_eq!(
            t.fee_recipient,
            Some(key("FWsW1xNtWscwNmKv6wVsU1iTzRN6wmmk3MjxRP5tT7hz"))
        );
        assert_eq!((t.fee_basis_points, t.fee), (Some(95), Some(2_824_350)));
        assert_eq!(
            t.creator,
            Some(key("AjQw9LT4qLdhFSx5EpUnHtU5LwzCLtVjxx39VUpJsKAL"))
        );
        assert_eq!(
            (t.creator_fee_basis_points, t.creator_fee),
            (Some(5), Some(148_650))
        );
    }
}

#[test]
fn self_cpi_event_instruction_of_the_block_sample_is_the_same_trade() {
    let v = block_sample();
    let data = bs58::decode(v["self_cpi_event_ix"]["data"].as_str().unwrap())
        .into_vec()
        .unwrap();
    let from_ix = decode_pump_event(&data).unwrap();
    let bytes = trade_event_bytes();
    let from_log = decode_pump_event(&bytes).unwrap();
    assert!(matches!(from_ix, Some(PumpEvent::Trade(_))));
    assert_eq!(from_ix, from_log);
}

#[test]
fn block_with_a_v0_create_uses_loaded_addresses_and_the_block_slot() {
    let v = block_sample();
    let buy = (
        v["transaction"][0].as_str().unwrap().to_owned(),
        json!({"err": null, "logMessages": [], "innerInstructions": []}),
    );
    let line = block_notification(&[buy, (create_wire_v0(), create_wire_v0_meta())]);
    let (_, out) = decode(Format::Block, &line);
    assert_eq!(out.len(), 1);
    assert_is_the_2024_create(&out[0], BLOCK_SLOT);
    assert_eq!(out[0].signature.0, [1; 64]);
    // The bonding curve sits in the address table: resolved through loadedAddresses.
    assert_buy_fields_of_the_2024_create(&out[0]);
}

#[test]
fn ata_create_log_is_not_a_launch() {
    // The associated-token program's part of the real logs, on its own.
    let logs = create_logs();
    let start = logs
        .iter()
        .position(|l| l.starts_with("Program ATokenGP"))
        .unwrap();
    let end = logs
        .iter()
        .rposition(|l| l.starts_with("Program ATokenGP"))
        .unwrap();
    let ata: Vec<String> = logs[start..=end].to_vec();
    assert!(ata.iter().any(|l| l == "Program log: Create"));
    let (_, out) = decode(
        Format::Logs,
        &logs_notification(SIG, SLOT, Value::Null, &ata),
    );
    assert!(out.is_empty());
}

#[test]
fn create_event_emitted_by_another_program_is_not_a_launch() {
    let spoof: Vec<String> = create_logs()
        .into_iter()
        .map(|l| l.replace(PUMP, "b1oomGGqPKGD6errbyfbVMBuzSC8WtAAYo8MwNafWW1"))
        .collect();
    let (_, out) = decode(
        Format::Logs,
        &logs_notification(SIG, SLOT, Value::Null, &spoof),
    );
    assert!(out.is_empty());
}

#[test]
fn failed_transaction_is_not_a_launch() {
    let err = json!({"InstructionError": [0, {"Custom": 6000}]});
    let (_, out) = decode(
        Format::Logs,
        &logs_notification(SIG, SLOT, err.clone(), &create_logs()),
    );
    assert!(out.is_empty());
    let (_, out) = decode(Format::Tx, &get_transaction_parsed(err.clone()));
    assert!(out.is_empty());
    let bad = (create_wire_v0(), {
        let mut m = create_wire_v0_meta();
        m["err"] = err;
        m
    });
    let (_, out) = decode(Format::Block, &block_notification(&[bad]));
    assert!(out.is_empty());
}

#[test]
fn create_followed_by_the_creators_buy_is_one_candidate_with_the_buy_size() {
    let mut logs = create_logs();
    // Someone else's buy of the same mint does not count; the creator's buy does.
    logs.extend(buy_logs(trade_log_line(
        MINT,
        "8ZZ97eWp2k8gfoK2Jk2WQcdofk9hyJpEGDPGiqFryH1S",
        5_000_000_000,
        true,
    )));
    logs.extend(buy_logs(trade_log_line(MINT, CREATOR, 297_300_000, true)));
    // A sell by the creator does not count either.
    logs.extend(buy_logs(trade_log_line(MINT, CREATOR, 1_000, false)));
    let (dec, out) = decode(
        Format::Logs,
        &logs_notification(SIG, SLOT, Value::Null, &logs),
    );
    assert_eq!(out.len(), 1);
    assert_is_the_2024_create(&out[0], SLOT);
    assert_eq!(out[0].candidate.creator_buy_lamports, 297_300_000);
    // The real TradeEvent's token amount, re-pointed at the creator.
    assert_eq!(out[0].candidate.creator_buy_tokens, 5_032_051_139_663);
    assert_buy_fields_of_the_2024_create(&out[0]);
    // base 100 + 29 buy points.
    assert_eq!(out[0].candidate.score, 129);
    assert_eq!(out[0].candidate.priority, Priority::Low);
    assert_eq!(dec.last_trades().len(), 3);
}

#[test]
fn several_launches_in_one_transaction_give_several_candidates() {
    let logs = create_logs();
    let data = logs
        .iter()
        .find_map(|l| l.strip_prefix("Program data: "))
        .unwrap();
    let mut second = base64_decode(data);
    // Same layout, another mint: the mint sits after the three strings.
    let mint_at = second.len() - 96;
    second[mint_at..mint_at + 32].copy_from_slice(&[42; 32]);
    use base64::Engine as _;
    let mut all = logs.clone();
    all.extend([
        format!("Program {PUMP} invoke [1]"),
        "Program log: Instruction: CreateV2".to_owned(),
        format!(
            "Program data: {}",
            base64::engine::general_purpose::STANDARD.encode(&second)
        ),
        format!("Program {PUMP} success"),
    ]);
    let (_, out) = decode(
        Format::Logs,
        &logs_notification(SIG, SLOT, Value::Null, &all),
    );
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].candidate.mint, key(MINT));
    assert_eq!(out[1].candidate.mint, Pubkey([42; 32]));
    assert_eq!(out[1].candidate.kind, LaunchKind::PumpCreateV2);
    // create_v2 makes Token-2022 mints.
    assert_eq!(out[1].candidate.token_program, TokenProgram::Token2022);
    assert_eq!(out[0].candidate.token_program, TokenProgram::Token);
    assert_eq!(out[1].candidate.signature.to_string(), SIG);
}

#[test]
fn scores_and_priorities_are_deterministic() {
    let mut lines = Vec::new();
    for buy in [0u64, 3_000_000_000, 500_000_000, 9_000_000_000] {
        let mut logs = create_logs();
        logs.extend(buy_logs(trade_log_line(MINT, CREATOR, buy, true)));
        lines.push(logs_notification(SIG, SLOT, Value::Null, &logs));
    }
    let run = || {
        let mut dec = Decoder::new(Format::Auto);
        let mut out = Vec::new();
        for l in &lines {
            dec.decode_line(l.as_bytes(), &mut out).unwrap();
        }
        out.iter()
            .map(|d| (d.candidate.score, d.candidate.priority))
            .collect::<Vec<_>>()
    };
    let first = run();
    // See the formula in src/decode/score.rs: base 100 + buy/0.01 SOL (cap 500) + EMA/0.02 SOL - 25/launch.
    assert_eq!(
        first,
        vec![
            (100, Priority::Low),  // first launch, no buy
            (375, Priority::High), // 100 + 300 + 0 - 25; EMA becomes 0.75 SOL
            (137, Priority::Low),  // 100 + 50 + 37 - 50; EMA becomes 0.6875 SOL
            (559, Priority::High), // 100 + 500 + 34 - 75
        ]
    );
    assert_eq!(first, run());
}

#[test]
fn acknowledgements_and_null_results_are_not_errors() {
    let mut dec = Decoder::new(Format::Auto);
    let mut out = Vec::new();
    for line in [
        r#"{"jsonrpc":"2.0","result":24040,"id":1}"#,
        r#"{"jsonrpc":"2.0","result":null,"id":1}"#,
        r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"bad"},"id":1}"#,
    ] {
        assert_eq!(dec.decode_line(line.as_bytes(), &mut out), Ok(0), "{line}");
    }
    assert_eq!(
        dec.decode_line(br#"{"hello":"world"}"#, &mut out),
        Err(Malformed::UnknownFormat)
    );
}

#[test]
fn a_forced_format_rejects_the_others() {
    let logs = logs_notification(SIG, SLOT, Value::Null, &create_logs());
    let mut out = Vec::new();
    for (format, line) in [
        (Format::Tx, logs.clone()),
        (Format::Block, logs),
        (Format::Logs, get_transaction_parsed(Value::Null)),
        (Format::Logs, block_notification_buy()),
    ] {
        assert_eq!(
            Decoder::new(format).decode_line(line.as_bytes(), &mut out),
            Err(Malformed::UnknownFormat)
        );
        assert!(out.is_empty());
    }
}

fn block_line(b64: String, loaded: Option<&[&str]>) -> String {
    let mut meta = json!({"err": null, "logMessages": []});
    if let Some(l) = loaded {
        meta["loadedAddresses"] = json!({"writable": l, "readonly": []});
    }
    block_notification(&[(b64, meta)])
}

#[test]
fn pump_swap_pool_mint_resolves_through_the_address_table() {
    let (_, out) = decode(
        Format::Block,
        &block_line(pump_swap_pool_wire(), Some(&[POOL_MINT])),
    );
    assert_eq!(out.len(), 1);
    let c = out[0].candidate;
    assert_eq!(c.kind, LaunchKind::PumpSwapPool);
    assert_eq!(c.mint, key(POOL_MINT));
    assert_eq!(c.creator, key(CREATOR));
    assert_eq!(c.slot, BLOCK_SLOT);
    assert!(out[0].meta.is_empty());
    // The pool is account 0; the sample has no vault or token-program accounts.
    assert_eq!(c.pool(), Some(Pubkey([11; 32])));
    assert_eq!(c.bonding_curve(), None);
    assert_eq!(c.market_token_account, Pubkey::ZERO);
    assert_eq!(c.token_program, TokenProgram::Unknown);
    assert_eq!(c.signature, out[0].signature);
    assert_eq!((c.creator_buy_lamports, c.creator_buy_tokens), (0, 0));
    // Without loadedAddresses the mint is unknown: skipped, not an error.
    let (_, out) = decode(Format::Block, &block_line(pump_swap_pool_wire(), None));
    assert!(out.is_empty());
    // With loadedAddresses that do not cover the index: a bad account index, for that
    // transaction (the block's other transactions would be kept).
    let mut out = Vec::new();
    let mut dec = Decoder::new(Format::Block);
    assert_eq!(
        dec.decode_line(
            block_line(pump_swap_pool_wire(), Some(&[])).as_bytes(),
            &mut out
        ),
        Ok(0)
    );
    assert_eq!(dec.last_skipped(), [Malformed::AccountIndex]);
}

#[test]
fn raydium_initialize2_reports_the_non_wsol_mint() {
    let (_, out) = decode(Format::Block, &block_line(raydium_pool_wire(), None));
    assert_eq!(out.len(), 1);
    let c = out[0].candidate;
    assert_eq!(c.kind, LaunchKind::RaydiumPool);
    assert_eq!(c.mint, key(POOL_MINT));
    assert_eq!(c.creator, key(CREATOR));
    // amm (account 4); the token is the pc side, so its vault is pool_pc_token_account (11).
    assert_eq!(c.pool(), Some(Pubkey([105; 32])));
    assert_eq!(c.market_token_account, Pubkey([112; 32]));
    assert_eq!(c.signature.0, [9; 64]);
}

#[test]
fn create_v2_instruction_names_its_token_2022_program_and_market() {
    // A create_v2 instruction with the IDL's accounts: mint, mint_authority, bonding_curve,
    // associated_bonding_curve, global, user, system_program, token_program (Token-2022), ...
    let mut data = vec![0xd6, 0x90, 0x4c, 0xec, 0x5f, 0x8b, 0x31, 0xb4];
    for s in ["n2", "S2", "u2"] {
        data.extend_from_slice(&(s.len() as u32).to_le_bytes());
        data.extend_from_slice(s.as_bytes());
    }
    data.extend_from_slice(&key(CREATOR).0);
    data.extend_from_slice(&[0, 0]);
    let token_2022 = TokenProgram::TOKEN_2022_ID.0;
    let keys = [
        key(CREATOR).0,
        [41; 32],
        [42; 32],
        [43; 32],
        [44; 32],
        [45; 32],
        [46; 32],
        token_2022,
        key(PUMP).0,
    ];
    // Accounts: mint 1, authority 2, curve 3, ata 4, global 5, user 0, system 6, token 7.
    let wire = wire_v0(&keys, &[(8, vec![1, 2, 3, 4, 5, 0, 6, 7], data)], 0);
    let line = block_notification(&[(wire, json!({"err": null, "logMessages": []}))]);
    let (_, out) = decode(Format::Block, &line);
    assert_eq!(out.len(), 1);
    let c = out[0].candidate;
    assert_eq!(c.kind, LaunchKind::PumpCreateV2);
    assert_eq!(c.mint, Pubkey([41; 32]));
    assert_eq!(c.bonding_curve(), Some(Pubkey([43; 32])));
    assert_eq!(c.associated_bonding_curve(), Some(Pubkey([44; 32])));
    assert_eq!(c.token_program, TokenProgram::Token2022);
    assert_eq!(c.token_program.id(), Some(TokenProgram::TOKEN_2022_ID));
    assert_eq!(out[0].meta.name(), "n2");
}

#[test]
fn transaction_notifications_decode_like_get_transaction() {
    for (name, get_tx) in [
        ("jsonParsed", get_transaction_parsed(Value::Null)),
        ("json v0, loaded addresses", get_transaction_json_v0()),
    ] {
        let line = transaction_notification(&get_tx, 4_743_323_479);
        let (dec, out) = decode(Format::Tx, &line);
        assert_eq!(out.len(), 1, "{name}");
        // The slot sits beside the transaction, after it in the text.
        assert_is_the_2024_create(&out[0], SLOT);
        assert_eq!(out[0].signature.to_string(), SIG, "{name}");
        assert_eq!(
            dec.last_envelope(),
            sniffer::decode::Envelope::Notification {
                subscription: Some(4_743_323_479)
            }
        );
        // Auto-detection finds it too, and agrees with the getTransaction line.
        let (_, auto) = decode(Format::Auto, &line);
        let (_, direct) = decode(Format::Auto, &get_tx);
        assert_eq!(auto[0].candidate, direct[0].candidate, "{name}");
    }
}

#[test]
fn a_routed_buy_in_a_transaction_notification_is_a_trade_not_a_launch() {
    let (dec, out) = decode(Format::Auto, &routed_buy_notification());
    assert!(out.is_empty());
    // The trade is seen (once, though both the log and the self-CPI event carry it).
    assert_eq!(dec.last_trades().len(), 1);
    assert!(dec.last_trades()[0].is_buy);
}

#[test]
fn a_failed_transaction_notification_is_not_a_launch() {
    let line = transaction_notification(
        &get_transaction_parsed(json!({"InstructionError": [2, "Custom"]})),
        1,
    );
    let (_, out) = decode(Format::Auto, &line);
    assert!(out.is_empty());
}
