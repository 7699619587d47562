//! `sdk-baseline --decode` (`make bench-sdk-decode`): decoding the same real transactions
//! (`tests/data/launchpads`) in every form both read, ours next to `sol-parser-sdk` 0.11 (with
//! its zero-copy backend, `parse-zero-copy`, as `solana-streamer-sdk` 6.0.0 builds it), in
//! nanoseconds per transaction, three runs, ours and the SDK alternating within each run.
//!
//! The forms (what each side is given is what its feed gets from the network):
//! - `grpc`: a Yellowstone `SubscribeUpdate`'s bytes, as tonic hands them over. Ours:
//!   [`sniffer::feed::decode_grpc_update`] (the gRPC feed's own path, read in place). The SDK:
//!   prost's decode into its proto types, then `parse_subscribe_update_transaction_low_latency`
//!   (what `solana-streamer-sdk` calls per update; the sequential variant, its fastest for one
//!   transaction). `grpc_parsed` times the parsers alone on updates decoded beforehand (ours
//!   through [`sniffer::decode::Decoder::begin_parsed`] as `benches/decode.rs` does).
//! - `shred`: a ShredStream message's `entries` (one entry holding the signed transaction).
//!   Ours: [`sniffer::feed::decode_shred_entries`]. The SDK: its ShredStream client's steps
//!   (`wincode` into `Vec<solana_entry::Entry>`, `sanitize`, then
//!   `shredstream::parse_transaction_dex_events_with_filter`, its static-keys hot path). The
//!   SDK's ShredStream parser knows pump.fun only (`src/shredstream/pump_ix.rs`), so only the
//!   pump.fun creates are compared here.
//! - `rpc_base64`: a `getTransaction` reply with `encoding: base64` (the one encoding the SDK's
//!   RPC parser takes; it refuses `json`). Ours: `Decoder::decode_line`. The SDK: serde into
//!   `EncodedConfirmedTransactionWithStatusMeta` (what its `RpcClient` does with the reply),
//!   then `parse_rpc_transaction`.
//!
//! The SDK parses with an event filter of the launch events only (its fastest setting for a
//! sniper). Before timing, every transaction is asserted to give our launch and the SDK's
//! matching create event naming the same mint, in every form: both do the same work.

use std::hint::black_box;
use std::time::{Duration, Instant};

use prost::Message as _;
use sdk_yellowstone_proto::prelude as sdkpb;
use serde_json::Value;
use sniffer::decode::{Decoded, Decoder, Format, Malformed};
use solana_streamer_sdk::streaming::sdk_bridge::raw as sps;
use sps::grpc::types::{EventType, EventTypeFilter};
use sps::DexEvent;
use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
use yellowstone_grpc_proto::geyser::{
    SubscribeUpdate, SubscribeUpdateTransaction, SubscribeUpdateTransactionInfo,
};
use yellowstone_grpc_proto::solana::storage::confirmed_block::{
    CompiledInstruction, InnerInstruction, InnerInstructions, Message, MessageAddressTableLookup,
    MessageHeader, TokenBalance, Transaction, TransactionStatusMeta, UiTokenAmount,
};

use crate::samples::launchpads::{self, Sample};

/// A launch kind both decode, its real transactions, and the SDK event that names it (the
/// start of its variant's name: a pump.fun create read from its logs alone is `PumpFunCreate`,
/// from its instruction `PumpFunCreateV2`).
struct Kind {
    name: &'static str,
    samples: &'static [&'static str],
    sdk_event: &'static str,
    /// The SDK's event names the pool, not the mint (Raydium CPMM's `initialize`).
    by_pool: bool,
}

/// The launch kinds of `tests/data/launchpads` the SDK has an event for (it has none for
/// Moonshot or Boop).
const KINDS: &[Kind] = &[
    Kind {
        name: "pump_create_v2",
        samples: &[
            "pumpfun_create_v2_blocksubscribe_5EDHe12K",
            "pumpfun_create_v2_alt_jsonparsed_2RoRJxat",
        ],
        sdk_event: "PumpFunCreate",
        by_pool: false,
    },
    Kind {
        name: "pumpswap_create_pool",
        samples: &[
            "pumpfun_migrate_pumpswap_5gp7yztY",
            "pumpfun_migrate_pumpswap_2ffHb9AX",
        ],
        sdk_event: "PumpSwapCreatePool",
        by_pool: false,
    },
    Kind {
        name: "raydium_v4_initialize2",
        samples: &[
            "amm_v4_initialize2_5yKpvmPa",
            "amm_v4_initialize2_pump_migration_3yq88CT3",
        ],
        sdk_event: "RaydiumAmmV4Initialize2",
        by_pool: false,
    },
    Kind {
        name: "launchlab",
        samples: &[
            "launchlab_init_token2022_5RfEZ834",
            "launchlab_init_token2022_v1_zL5q74Xw",
            "launchlab_init_v2_5LzhiGZB",
            "launchlab_initialize_mqSGNwKK",
        ],
        sdk_event: "RaydiumLaunchlabPoolCreate",
        by_pool: false,
    },
    Kind {
        name: "meteora_dbc",
        samples: &[
            "dbc_init_spl_token_5hsqkSAZ",
            "dbc_init_spl_token_mainnet_helius_28yEpmyp",
            "dbc_init_spl_token_mainnet_helius_3tGnaX8D",
        ],
        sdk_event: "MeteoraDbcInitializePool",
        by_pool: false,
    },
    Kind {
        name: "raydium_cpmm_initialize",
        samples: &["cpmm_initialize_28FDVn", "cpmm_initialize_cpi_2ex9my"],
        sdk_event: "RaydiumCpmmInitialize",
        by_pool: true,
    },
];

/// The transactions compared as ShredStream entries: the SDK's ShredStream parser knows
/// pump.fun alone, and of the two pump.fun creates the other (`2RoRJxat`) has its mint in an
/// address table, which an entry does not resolve (ours counts it `unresolved_lookup`, the SDK
/// leaves the key at its default): neither names the launch.
const SHRED: &[&str] = &["pumpfun_create_v2_blocksubscribe_5EDHe12K"];

/// The kinds compared as logs notifications: both name these launches from the logs alone. A
/// LaunchLab launch's logs carry no mint (ours delivers it with the mint unknown, the SDK only
/// the creator's trade); the other programs' launches are not in their logs.
const LOGS: &[&str] = &["pump_create_v2"];

/// The launch events, the SDK's filter.
fn launch_filter() -> EventTypeFilter {
    EventTypeFilter::include_only(vec![
        EventType::PumpFunCreate,
        EventType::PumpFunCreateV2,
        EventType::PumpSwapCreatePool,
        EventType::RaydiumAmmV4Initialize2,
        EventType::RaydiumLaunchlabPoolCreate,
        EventType::MeteoraDbcInitializePool,
        EventType::RaydiumCpmmInitialize,
        EventType::MeteoraDammV2InitializePool,
    ])
}

fn unb58(s: &str) -> Vec<u8> {
    bs58::decode(s).into_vec().expect("base58 in the sample")
}

// ---------------------------------------------------------------------------------------------
// The inputs.

/// One compiled instruction of the sample's `json` encoding.
fn ix_parts(ix: &Value) -> (u32, Vec<u8>, Vec<u8>) {
    let accounts = ix["accounts"].as_array().expect("accounts");
    (
        ix["programIdIndex"].as_u64().expect("program") as u32,
        accounts.iter().map(|a| a.as_u64().unwrap() as u8).collect(),
        unb58(ix["data"].as_str().expect("data")),
    )
}

fn token_balances(v: &Value) -> Vec<TokenBalance> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    v.as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            let a = &b["uiTokenAmount"];
            TokenBalance {
                account_index: b["accountIndex"].as_u64().unwrap_or(0) as u32,
                mint: s(&b["mint"]),
                ui_token_amount: Some(UiTokenAmount {
                    ui_amount: a["uiAmount"].as_f64().unwrap_or(0.0),
                    decimals: a["decimals"].as_u64().unwrap_or(0) as u32,
                    amount: s(&a["amount"]),
                    ui_amount_string: s(&a["uiAmountString"]),
                }),
                owner: s(&b["owner"]),
                program_id: s(&b["programId"]),
            }
        })
        .collect()
}

fn u64s(v: &Value) -> Vec<u64> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect()
}

/// The Yellowstone update of a real transaction, as a provider streams it: message (header,
/// keys, blockhash, instructions, lookups) and meta (fee, balances, token balances, inner
/// instructions, logs, loaded addresses, compute units).
fn grpc_update(s: &Sample) -> SubscribeUpdate {
    let m = s.message();
    let h = &m["header"];
    let n = |f: &str| h[f].as_u64().unwrap_or(0) as u32;
    let lookups = m["addressTableLookups"].as_array().cloned();
    let idx = |v: &Value| -> Vec<u8> { u64s(v).into_iter().map(|i| i as u8).collect() };
    let message = Message {
        header: Some(MessageHeader {
            num_required_signatures: n("numRequiredSignatures"),
            num_readonly_signed_accounts: n("numReadonlySignedAccounts"),
            num_readonly_unsigned_accounts: n("numReadonlyUnsignedAccounts"),
        }),
        account_keys: s.static_keys().iter().map(|k| unb58(k)).collect(),
        recent_blockhash: unb58(
            m["recentBlockhash"]
                .as_str()
                .unwrap_or("11111111111111111111111111111111"),
        ),
        instructions: m["instructions"]
            .as_array()
            .expect("instructions")
            .iter()
            .map(|ix| {
                let (program_id_index, accounts, data) = ix_parts(ix);
                CompiledInstruction {
                    program_id_index,
                    accounts,
                    data,
                }
            })
            .collect(),
        versioned: s.version() != serde_json::json!("legacy"),
        address_table_lookups: lookups
            .unwrap_or_default()
            .iter()
            .map(|l| MessageAddressTableLookup {
                account_key: unb58(l["accountKey"].as_str().expect("table")),
                writable_indexes: idx(&l["writableIndexes"]),
                readonly_indexes: idx(&l["readonlyIndexes"]),
            })
            .collect(),
        ..Default::default()
    };
    let meta = s.meta();
    let inner = meta["innerInstructions"].as_array().cloned();
    let meta = TransactionStatusMeta {
        fee: meta["fee"].as_u64().unwrap_or(5000),
        pre_balances: u64s(&meta["preBalances"]),
        post_balances: u64s(&meta["postBalances"]),
        inner_instructions: inner
            .unwrap_or_default()
            .iter()
            .map(|g| InnerInstructions {
                index: g["index"].as_u64().expect("index") as u32,
                instructions: g["instructions"]
                    .as_array()
                    .expect("inner instructions")
                    .iter()
                    .map(|ix| {
                        let (program_id_index, accounts, data) = ix_parts(ix);
                        InnerInstruction {
                            program_id_index,
                            accounts,
                            data,
                            stack_height: ix["stackHeight"].as_u64().map(|h| h as u32),
                        }
                    })
                    .collect(),
            })
            .collect(),
        inner_instructions_none: false,
        log_messages: s.logs().unwrap_or_default(),
        log_messages_none: false,
        pre_token_balances: token_balances(&meta["preTokenBalances"]),
        post_token_balances: token_balances(&meta["postTokenBalances"]),
        loaded_writable_addresses: s.loaded("writable").iter().map(|k| unb58(k)).collect(),
        loaded_readonly_addresses: s.loaded("readonly").iter().map(|k| unb58(k)).collect(),
        compute_units_consumed: meta["computeUnitsConsumed"].as_u64(),
        ..Default::default()
    };
    let sig = unb58(s.signature());
    let signatures = s.tx()["signatures"]
        .as_array()
        .expect("signatures")
        .iter()
        .map(|x| unb58(x.as_str().unwrap()))
        .collect();
    SubscribeUpdate {
        filters: vec!["sniffer".into()],
        created_at: None,
        update_oneof: Some(UpdateOneof::Transaction(SubscribeUpdateTransaction {
            transaction: Some(SubscribeUpdateTransactionInfo {
                signature: sig,
                is_vote: false,
                transaction: Some(Transaction {
                    signatures,
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

/// The bincode of a `Vec<solana_entry::Entry>` holding one entry with `tx` (the rig's layout).
fn entries(tx: &[u8]) -> Vec<u8> {
    let mut out = 1u64.to_le_bytes().to_vec();
    out.extend_from_slice(&12_500u64.to_le_bytes()); // num_hashes
    out.extend_from_slice(&[0x5a; 32]); // hash
    out.extend_from_slice(&1u64.to_le_bytes());
    out.extend_from_slice(tx);
    out
}

// ---------------------------------------------------------------------------------------------
// The decoders. Each returns how many launches (ours) or events (the SDK) it found.

fn ours_grpc(dec: &mut Decoder, bytes: &[u8], out: &mut Vec<Decoded>) -> usize {
    out.clear();
    sniffer::feed::decode_grpc_update(dec, bytes, out).unwrap_or(0)
}

fn sdk_grpc(bytes: &[u8], filter: &EventTypeFilter) -> Vec<DexEvent> {
    let Ok(u) = sdkpb::SubscribeUpdate::decode(bytes) else {
        return Vec::new();
    };
    match &u.update_oneof {
        Some(sdkpb::subscribe_update::UpdateOneof::Transaction(t)) => {
            sps::grpc::parse_subscribe_update_transaction_low_latency(t, 0, None, Some(filter))
        }
        _ => Vec::new(),
    }
}

/// Ours on an update prost decoded beforehand: what `benches/decode.rs` times.
fn ours_grpc_parsed(dec: &mut Decoder, u: &SubscribeUpdate, out: &mut Vec<Decoded>) -> usize {
    out.clear();
    let Some(UpdateOneof::Transaction(t)) = &u.update_oneof else {
        return 0;
    };
    let info = t.transaction.as_ref().expect("info");
    let msg = info
        .transaction
        .as_ref()
        .expect("tx")
        .message
        .as_ref()
        .expect("message");
    let meta = info.meta.as_ref().expect("meta");
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

fn sdk_grpc_parsed(
    t: &sdkpb::SubscribeUpdateTransaction,
    filter: &EventTypeFilter,
) -> Vec<DexEvent> {
    sps::grpc::parse_subscribe_update_transaction_low_latency(t, 0, None, Some(filter))
}

fn ours_shred(dec: &mut Decoder, slot: u64, entries: &[u8], out: &mut Vec<Decoded>) -> usize {
    out.clear();
    sniffer::feed::decode_shred_entries(dec, slot, entries, out).unwrap_or(0)
}

/// The SDK's ShredStream client on one message (`ShredStreamClient::process_entry_with_resolver`
/// without a resolver: tables are not looked up, as ours does not).
#[allow(deprecated)]
fn sdk_shred(slot: u64, entries: &[u8], filter: &EventTypeFilter, events: &mut Vec<DexEvent>) {
    events.clear();
    let Ok(entries) = wincode::deserialize::<Vec<solana_entry::entry::Entry>>(entries) else {
        return;
    };
    let mut tx_index = 0u64;
    for entry in &entries {
        for tx in &entry.transactions {
            if tx.sanitize().is_ok() {
                if let Some(&signature) = tx.signatures.first() {
                    sps::shredstream::parse_transaction_dex_events_with_filter(
                        tx,
                        signature,
                        slot,
                        tx_index,
                        0,
                        Some(filter),
                        events,
                    );
                }
            }
            tx_index += 1;
        }
    }
}

/// A `logsNotification`, as the SDK's user reads it before `parse_logs_only`.
#[derive(serde::Deserialize)]
struct LogsNote<'a> {
    #[serde(borrow)]
    params: LogsParams<'a>,
}
#[derive(serde::Deserialize)]
struct LogsParams<'a> {
    #[serde(borrow)]
    result: LogsResult<'a>,
}
#[derive(serde::Deserialize)]
struct LogsResult<'a> {
    context: LogsContext,
    #[serde(borrow)]
    value: LogsValue<'a>,
}
#[derive(serde::Deserialize)]
struct LogsContext {
    slot: u64,
}
#[derive(serde::Deserialize)]
struct LogsValue<'a> {
    signature: &'a str,
    err: Option<serde::de::IgnoredAny>,
    logs: Vec<String>,
}

/// The SDK on a `logsNotification`: serde into the notification, then `parse_logs_only` (its
/// log parser; failed transactions skipped as ours skips them).
fn sdk_logs(line: &[u8]) -> usize {
    let Ok(n) = serde_json::from_slice::<LogsNote<'_>>(line) else {
        return 0;
    };
    let v = n.params.result.value;
    if v.err.is_some() {
        return 0;
    }
    let Ok(sig) = v.signature.parse() else {
        return 0;
    };
    let events = sps::parse_logs_only(&v.logs, sig, n.params.result.context.slot, None);
    black_box(&events);
    events.len()
}

/// [`sdk_logs`]' events, for the check.
fn sdk_logs_events(line: &[u8]) -> Vec<DexEvent> {
    let n: LogsNote<'_> = serde_json::from_slice(line).expect("a logs notification");
    let v = n.params.result.value;
    let sig = v.signature.parse().expect("a signature");
    sps::parse_logs_only(&v.logs, sig, n.params.result.context.slot, None).into_vec()
}

fn ours_line(dec: &mut Decoder, line: &[u8], out: &mut Vec<Decoded>) -> usize {
    out.clear();
    dec.decode_line(line, out).unwrap_or(0)
}

/// The `getTransaction` reply in `base64`, with the fields every node's reply has and some
/// samples lack (`slot` in one taken from a block notification, `meta.status`; the SDK's types
/// require them) and a node's empty return value.
fn rpc_line(s: &Sample) -> Vec<u8> {
    let line = s.get_transaction_base64().expect("wire form");
    let mut v: Value = serde_json::from_str(&line).expect("json");
    if v["result"].get("slot").is_none() {
        v["result"]["slot"] = Value::from(s.slot().max(338_000_000));
    }
    let meta = &mut v["result"]["meta"];
    if meta.get("status").is_none() {
        let status = match &meta["err"] {
            Value::Null => serde_json::json!({"Ok": null}),
            e => serde_json::json!({ "Err": e }),
        };
        meta["status"] = status;
    }
    // `derive.py` writes an empty return value's encoding as "" (a node writes "base64"),
    // which the SDK's types refuse.
    let data = v["result"]["meta"]
        .get_mut("returnData")
        .and_then(|r| r.get_mut("data"));
    if let Some(encoding) = data.and_then(|d| d.get_mut(1)).filter(|e| *e == "") {
        *encoding = Value::from("base64");
    }
    v.to_string().into_bytes()
}

/// The JSON-RPC reply around a `getTransaction` result.
#[derive(serde::Deserialize)]
struct RpcReply {
    result: solana_transaction_status::EncodedConfirmedTransactionWithStatusMeta,
}

fn sdk_rpc(line: &[u8], filter: &EventTypeFilter) -> Vec<DexEvent> {
    let Ok(r) = serde_json::from_slice::<RpcReply>(line) else {
        return Vec::new();
    };
    sps::parse_rpc_transaction(&r.result, Some(filter)).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Same work on both sides.

/// Ours found exactly one launch, the SDK an event of `kind` naming the same mint (or pool).
fn assert_same(form: &str, name: &str, kind: &Kind, ours: &[Decoded], sdk: &[DexEvent]) {
    assert_eq!(
        ours.len(),
        1,
        "{form} {name}: ours found {} launches",
        ours.len()
    );
    let c = &ours[0].candidate;
    let mint = if kind.by_pool { c.market } else { c.mint }.to_string();
    let want = kind.sdk_event;
    let found = sdk.iter().any(|e| {
        let d = format!("{e:?}");
        d.starts_with(want) && d.contains(&mint)
    });
    assert!(
        found,
        "{form} {name}: the SDK gave no {want} event naming mint {mint}: {sdk:?}"
    );
}

/// One row: a form and a launch kind, its inputs prepared for both sides.
enum Inputs {
    Grpc(Vec<Vec<u8>>),
    GrpcParsed(Vec<SubscribeUpdate>, Vec<sdkpb::SubscribeUpdateTransaction>),
    Shred(Vec<(u64, Vec<u8>)>),
    Rpc(Vec<Vec<u8>>),
    Logs(Vec<Vec<u8>>),
}

struct Row {
    form: &'static str,
    kind: &'static str,
    inputs: Inputs,
}

impl Row {
    fn len(&self) -> usize {
        match &self.inputs {
            Inputs::Grpc(v) | Inputs::Rpc(v) | Inputs::Logs(v) => v.len(),
            Inputs::GrpcParsed(v, _) => v.len(),
            Inputs::Shred(v) => v.len(),
        }
    }

    /// Ours over every input once; returns the launches found.
    fn ours(&self, dec: &mut Decoder, out: &mut Vec<Decoded>) -> usize {
        match &self.inputs {
            Inputs::Grpc(v) => v.iter().map(|b| ours_grpc(dec, black_box(b), out)).sum(),
            Inputs::GrpcParsed(v, _) => v
                .iter()
                .map(|u| ours_grpc_parsed(dec, black_box(u), out))
                .sum(),
            Inputs::Shred(v) => v
                .iter()
                .map(|(slot, e)| ours_shred(dec, *slot, black_box(e), out))
                .sum(),
            Inputs::Rpc(v) | Inputs::Logs(v) => {
                v.iter().map(|l| ours_line(dec, black_box(l), out)).sum()
            }
        }
    }

    /// The SDK over every input once; returns the events found.
    fn sdk(&self, filter: &EventTypeFilter, events: &mut Vec<DexEvent>) -> usize {
        match &self.inputs {
            Inputs::Grpc(v) => v.iter().map(|b| sdk_grpc(black_box(b), filter).len()).sum(),
            Inputs::GrpcParsed(_, v) => v
                .iter()
                .map(|t| sdk_grpc_parsed(black_box(t), filter).len())
                .sum(),
            Inputs::Shred(v) => v
                .iter()
                .map(|(slot, e)| {
                    sdk_shred(*slot, black_box(e), filter, events);
                    events.len()
                })
                .sum(),
            Inputs::Rpc(v) => v.iter().map(|l| sdk_rpc(black_box(l), filter).len()).sum(),
            Inputs::Logs(v) => v.iter().map(|l| sdk_logs(black_box(l))).sum(),
        }
    }
}

/// Builds every row, asserting per transaction that both sides find the same launch.
fn rows(filter: &EventTypeFilter) -> Vec<Row> {
    let mut dec = Decoder::new(Format::Auto);
    let mut out = Vec::new();
    let mut events = Vec::new();
    let mut rows = Vec::new();
    for kind in KINDS {
        let samples: Vec<Sample> = kind.samples.iter().map(|n| launchpads::load(n)).collect();
        // gRPC, from the bytes and from decoded updates.
        let (mut bytes, mut ours_u, mut sdk_u) = (Vec::new(), Vec::new(), Vec::new());
        for s in &samples {
            let u = grpc_update(s);
            let b = u.encode_to_vec();
            ours_grpc(&mut dec, &b, &mut out);
            assert_same("grpc", &s.name, kind, &out, &sdk_grpc(&b, filter));
            let t = match sdkpb::SubscribeUpdate::decode(&b[..])
                .expect("the SDK's proto")
                .update_oneof
            {
                Some(sdkpb::subscribe_update::UpdateOneof::Transaction(t)) => t,
                _ => unreachable!("a transaction update"),
            };
            ours_grpc_parsed(&mut dec, &u, &mut out);
            assert_same(
                "grpc_parsed",
                &s.name,
                kind,
                &out,
                &sdk_grpc_parsed(&t, filter),
            );
            bytes.push(b);
            ours_u.push(u);
            sdk_u.push(t);
        }
        rows.push(Row {
            form: "grpc",
            kind: kind.name,
            inputs: Inputs::Grpc(bytes),
        });
        rows.push(Row {
            form: "grpc_parsed",
            kind: kind.name,
            inputs: Inputs::GrpcParsed(ours_u, sdk_u),
        });
        // Logs alone, for the kinds both name from their logs.
        if LOGS.contains(&kind.name) {
            let mut lines = Vec::new();
            for s in &samples {
                let line = s.logs_notification().expect("logs").into_bytes();
                ours_line(&mut dec, &line, &mut out);
                assert_same("logs", &s.name, kind, &out, &sdk_logs_events(&line));
                lines.push(line);
            }
            rows.push(Row {
                form: "logs",
                kind: kind.name,
                inputs: Inputs::Logs(lines),
            });
        }
        // The wire forms: only where the signed message can be rebuilt.
        let wired: Vec<&Sample> = samples.iter().filter(|s| s.wire().is_some()).collect();
        if wired.is_empty() {
            continue;
        }
        let mut lines = Vec::new();
        for s in &wired {
            let line = rpc_line(s);
            ours_line(&mut dec, &line, &mut out);
            assert_same("rpc_base64", &s.name, kind, &out, &sdk_rpc(&line, filter));
            lines.push(line);
        }
        rows.push(Row {
            form: "rpc_base64",
            kind: kind.name,
            inputs: Inputs::Rpc(lines),
        });
        let shred: Vec<&&Sample> = wired
            .iter()
            .filter(|s| SHRED.contains(&s.name.as_str()))
            .collect();
        if !shred.is_empty() {
            let mut msgs = Vec::new();
            for s in shred {
                let e = entries(&s.wire().expect("wire form"));
                ours_shred(&mut dec, s.slot(), &e, &mut out);
                sdk_shred(s.slot(), &e, filter, &mut events);
                assert_same("shred", &s.name, kind, &out, &events);
                msgs.push((s.slot(), e));
            }
            rows.push(Row {
                form: "shred",
                kind: kind.name,
                inputs: Inputs::Shred(msgs),
            });
        }
    }
    rows
}

/// Nanoseconds per transaction of `f` (one pass over `n` transactions), over about `budget`.
fn ns_per_tx(n: usize, budget: Duration, mut f: impl FnMut() -> usize) -> f64 {
    let t = Instant::now();
    let mut passes = 0u64;
    while t.elapsed() < budget / 10 {
        black_box(f());
        passes += 1;
    }
    let iters = (passes * 10).max(10);
    let t = Instant::now();
    for _ in 0..iters {
        black_box(f());
    }
    t.elapsed().as_nanos() as f64 / (iters as f64 * n as f64)
}

fn range(v: &[f64]) -> (f64, f64) {
    let lo = v.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    (lo, hi)
}

/// Runs the comparison: `RUNS` runs of every row, `budget_ms` per measurement.
pub fn run(runs: usize, budget_ms: u64) {
    sps::warmup_parser();
    let filter = launch_filter();
    let rows = rows(&filter);
    let budget = Duration::from_millis(budget_ms);
    let mut dec = Decoder::new(Format::Auto);
    let mut out = Vec::with_capacity(16);
    let mut events = Vec::with_capacity(16);
    // Per row: ours and the SDK's ns per transaction, one value per run.
    let mut ours = vec![Vec::new(); rows.len()];
    let mut sdk = vec![Vec::new(); rows.len()];
    for _ in 0..runs {
        for (i, r) in rows.iter().enumerate() {
            ours[i].push(ns_per_tx(r.len(), budget, || r.ours(&mut dec, &mut out)));
            sdk[i].push(ns_per_tx(r.len(), budget, || r.sdk(&filter, &mut events)));
        }
    }
    println!(
        "decode, ns per transaction, {runs} runs (min-max); ratio = ours / sol-parser-sdk per run"
    );
    println!(
        "{:<12} {:<24} {:>3}  {:>17}  {:>17}  {:>11}",
        "form", "kind", "txs", "ours_ns", "sdk_ns", "ratio"
    );
    for (i, r) in rows.iter().enumerate() {
        let (o0, o1) = range(&ours[i]);
        let (s0, s1) = range(&sdk[i]);
        let ratios: Vec<f64> = ours[i].iter().zip(&sdk[i]).map(|(o, s)| o / s).collect();
        let (r0, r1) = range(&ratios);
        println!(
            "{:<12} {:<24} {:>3}  {:>7.0} - {:>7.0}  {:>7.0} - {:>7.0}  {:>4.2} - {:>4.2}",
            r.form,
            r.kind,
            r.len(),
            o0,
            o1,
            s0,
            s1,
            r0,
            r1
        );
    }
}
