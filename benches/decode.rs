//! Decode throughput per input format, next to `serde_json::from_slice::<Value>` of the same lines
//! (the baseline: what merely parsing the JSON costs) in the same group; the gRPC form next to
//! prost's decode of the same update bytes.
//!
//! Lines are built from the real samples (see `tests/samples/mod.rs`). Each iteration decodes
//! the whole set of a format once; throughput is reported both in bytes and in lines.

// criterion_group! generates an undocumented pub fn; the bench is not an API.
#![allow(missing_docs)]

#[path = "../tests/samples/mod.rs"]
mod samples;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use samples::*;
use serde_json::{json, Value};
use sniffer::decode::{Decoded, Decoder, Format, Malformed};
use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
use yellowstone_grpc_proto::geyser::{
    SubscribeUpdate, SubscribeUpdateTransaction, SubscribeUpdateTransactionInfo,
};
use yellowstone_grpc_proto::prost::Message as ProstMessage;
use yellowstone_grpc_proto::solana::storage::confirmed_block::{
    CompiledInstruction, InnerInstruction, InnerInstructions, Message, Transaction,
    TransactionStatusMeta,
};

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

fn bench_format(c: &mut Criterion, name: &str, format: Format, lines: Vec<String>) {
    let lines: Vec<Vec<u8>> = lines.into_iter().map(String::into_bytes).collect();
    let bytes: usize = lines.iter().map(Vec::len).sum();
    let mut dec = Decoder::new(format);
    let mut out = Vec::with_capacity(16);
    for l in &lines {
        dec.decode_line(l, &mut out).expect("bench lines decode");
    }
    let mut group = c.benchmark_group(name);
    for (unit, tp) in [
        ("bytes", Throughput::Bytes(bytes as u64)),
        ("lines", Throughput::Elements(lines.len() as u64)),
    ] {
        group.throughput(tp);
        group.bench_function(BenchmarkId::new("decode", unit), |b| {
            b.iter(|| {
                for l in &lines {
                    let _ = black_box(dec.decode_line(black_box(l), &mut out));
                    out.clear();
                }
            })
        });
        group.bench_function(BenchmarkId::new("serde_json_value", unit), |b| {
            b.iter(|| {
                for l in &lines {
                    black_box(serde_json::from_slice::<Value>(black_box(l)).ok());
                }
            })
        });
    }
    group.finish();
}

/// The associated bonding curve a logs-only create is given (one PDA search), next to one
/// SHA-256 of the same seeds: what a launch from logs pays for the account its buy needs.
fn pda(c: &mut Criterion) {
    use sha2::{Digest, Sha256};
    use sniffer::{decode::associated_token_address, Pubkey, TokenProgram};
    let curve: Pubkey = BONDING_CURVE.parse().expect("sample key");
    let mint: Pubkey = MINT.parse().expect("sample key");
    let mut group = c.benchmark_group("pda");
    group.bench_function("associated_bonding_curve", |b| {
        b.iter(|| {
            associated_token_address(black_box(&curve), black_box(&mint), TokenProgram::Token)
        })
    });
    group.bench_function("one_sha256", |b| {
        b.iter(|| {
            let mut h = Sha256::new();
            h.update(black_box(curve.0));
            h.update(TokenProgram::TOKEN_ID.0);
            h.update(black_box(mint.0));
            h.finalize()
        })
    });
    group.finish();
}

fn decode(c: &mut Criterion) {
    bench_format(c, "logs", Format::Logs, logs_lines());
    bench_format(
        c,
        "tx_json_parsed",
        Format::Tx,
        vec![get_transaction_parsed(Value::Null)],
    );
    bench_format(c, "tx_json_v0", Format::Tx, vec![get_transaction_json_v0()]);
    // The real v0 getTransaction replies, whole (the row above is a thin rebuild of one create
    // with an empty meta: base58 instruction data is most of it).
    bench_format(
        c,
        "tx_json_v0_real",
        Format::Tx,
        launchpads::json_v0_lines(),
    );
    // Helius transactionSubscribe: the create (jsonParsed and json v0) and a routed buy.
    bench_format(
        c,
        "tx_notification",
        Format::Tx,
        vec![
            transaction_notification(&get_transaction_parsed(Value::Null), 7),
            transaction_notification(&get_transaction_json_v0(), 7),
            routed_buy_notification(),
        ],
    );
    bench_format(c, "block", Format::Block, block_lines());
    bench_format(
        c,
        "auto_mixed",
        Format::Auto,
        logs_lines()
            .into_iter()
            .chain([get_transaction_parsed(Value::Null)])
            .chain(block_lines())
            .collect(),
    );
}

/// Every input-line form of these real transactions (`tests/samples/launchpads.rs`), the gRPC
/// form aside (it has no line).
fn launchpad_lines(names: &[&str]) -> Vec<String> {
    names
        .iter()
        .flat_map(|n| {
            let s = launchpads::load(n);
            s.forms().into_iter().filter_map(|f| f.line)
        })
        .collect()
}

/// One group per launch kind: every form of its real launches, and their logs alone (the
/// default WebSocket path).
fn launchpad_kinds(c: &mut Criterion) {
    let kinds: [(&str, &[&str]); 5] = [
        (
            "launchlab",
            &[
                "launchlab_init_token2022_5RfEZ834",
                "launchlab_init_token2022_v1_zL5q74Xw",
                "launchlab_init_v2_5LzhiGZB",
            ],
        ),
        ("meteora_dbc", &["dbc_init_spl_token_5hsqkSAZ"]),
        (
            "meteora_damm_v2_graduation",
            &["dbc_migration_damm_v2_helius_4hhaf2y5"],
        ),
        ("moonshot", &["moonshot_token_mint_ix_4C9hua8F"]),
        (
            "pump_create_v2_table",
            &["pumpfun_create_v2_alt_jsonparsed_2RoRJxat"],
        ),
    ];
    for (kind, names) in kinds {
        bench_format(
            c,
            &format!("launchpad_{kind}"),
            Format::Auto,
            launchpad_lines(names),
        );
        let logs: Vec<String> = names
            .iter()
            .filter_map(|n| launchpads::load(n).logs_notification())
            .collect();
        if !logs.is_empty() {
            bench_format(c, &format!("launchpad_{kind}_logs"), Format::Logs, logs);
        }
    }
}

/// A Yellowstone `SubscribeUpdate` of a real transaction, as a gRPC feed receives it.
fn grpc_update(s: &launchpads::Sample) -> SubscribeUpdate {
    let unb58 = |k: &str| bs58::decode(k).into_vec().expect("base58");
    let keys = |ks: Vec<String>| ks.iter().map(|k| unb58(k)).collect::<Vec<_>>();
    let accs = |ix: &Value| -> Vec<u8> {
        ix["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_u64().unwrap() as u8)
            .collect()
    };
    let data = |ix: &Value| unb58(ix["data"].as_str().unwrap());
    let prog = |ix: &Value| ix["programIdIndex"].as_u64().unwrap() as u32;
    let message = Message {
        account_keys: keys(s.static_keys()),
        recent_blockhash: vec![0; 32],
        instructions: s.message()["instructions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|ix| CompiledInstruction {
                program_id_index: prog(ix),
                accounts: accs(ix),
                data: data(ix),
            })
            .collect(),
        versioned: s.version() != json!("legacy"),
        ..Default::default()
    };
    let inner = s.meta()["innerInstructions"].as_array().cloned();
    let meta = TransactionStatusMeta {
        log_messages: s.logs().unwrap_or_default(),
        inner_instructions: inner
            .unwrap_or_default()
            .iter()
            .map(|g| InnerInstructions {
                index: g["index"].as_u64().unwrap() as u32,
                instructions: g["instructions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|ix| InnerInstruction {
                        program_id_index: prog(ix),
                        accounts: accs(ix),
                        data: data(ix),
                        stack_height: Some(2),
                    })
                    .collect(),
            })
            .collect(),
        loaded_writable_addresses: keys(s.loaded("writable")),
        loaded_readonly_addresses: keys(s.loaded("readonly")),
        ..Default::default()
    };
    let sig = unb58(s.signature());
    SubscribeUpdate {
        filters: vec!["sniffer".into()],
        created_at: None,
        update_oneof: Some(UpdateOneof::Transaction(SubscribeUpdateTransaction {
            transaction: Some(SubscribeUpdateTransactionInfo {
                signature: sig.clone(),
                is_vote: false,
                transaction: Some(Transaction {
                    signatures: vec![sig],
                    message: Some(message),
                }),
                meta: Some(meta),
                index: 0,
            }),
            slot: s.slot(),
            ..Default::default()
        })),
    }
}

/// What the gRPC feed does with a received update (`src/feed/geyser.rs`, `decode_update`).
fn decode_update(dec: &mut Decoder, u: &SubscribeUpdate, out: &mut Vec<Decoded>) -> usize {
    let Some(UpdateOneof::Transaction(t)) = &u.update_oneof else {
        return 0;
    };
    let info = t.transaction.as_ref().unwrap();
    let msg = info.transaction.as_ref().unwrap().message.as_ref().unwrap();
    let meta = info.meta.as_ref().unwrap();
    let run = |dec: &mut Decoder, out: &mut Vec<Decoded>| -> Result<usize, Malformed> {
        let mut p = dec.begin_parsed(t.slot, &info.signature, meta.err.is_some())?;
        for k in &msg.account_keys {
            p.account_key(k)?;
        }
        p.loaded_addresses_known();
        for k in &meta.loaded_writable_addresses {
            p.loaded_writable(k)?;
        }
        for k in &meta.loaded_readonly_addresses {
            p.loaded_readonly(k)?;
        }
        for ix in &msg.instructions {
            p.instruction(ix.program_id_index, &ix.accounts, &ix.data)?;
        }
        for group in &meta.inner_instructions {
            for ix in &group.instructions {
                p.instruction(ix.program_id_index, &ix.accounts, &ix.data)?;
            }
        }
        for log in &meta.log_messages {
            p.log(log)?;
        }
        p.finish(out)
    };
    run(dec, out).unwrap_or(0)
}

/// The gRPC form: the decoder's pass over a received update next to prost's decode of the same
/// bytes (what receiving the update costs before the decoder sees it), for real launches.
fn grpc(c: &mut Criterion) {
    let names = [
        "pumpfun_create_v2_alt_jsonparsed_2RoRJxat",
        "launchlab_init_v2_5LzhiGZB",
        "dbc_init_spl_token_5hsqkSAZ",
        "pumpfun_buy_via_router_22K6ixTV",
    ];
    let updates: Vec<SubscribeUpdate> = names
        .iter()
        .map(|n| grpc_update(&launchpads::load(n)))
        .collect();
    let bytes: Vec<Vec<u8>> = updates.iter().map(ProstMessage::encode_to_vec).collect();
    let mut dec = Decoder::new(Format::Auto);
    let mut out = Vec::with_capacity(16);
    let found: usize = updates
        .iter()
        .map(|u| decode_update(&mut dec, u, &mut out))
        .sum();
    assert_eq!(found, 3, "three of the four updates are launches");
    let mut group = c.benchmark_group("grpc");
    group.throughput(Throughput::Elements(updates.len() as u64));
    group.bench_function("decode", |b| {
        b.iter(|| {
            for u in &updates {
                black_box(decode_update(&mut dec, black_box(u), &mut out));
                out.clear();
            }
        })
    });
    group.bench_function("prost_decode", |b| {
        b.iter(|| {
            for m in &bytes {
                black_box(SubscribeUpdate::decode(black_box(&m[..])).ok());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, decode, launchpad_kinds, grpc, pda);
criterion_main!(benches);
