//! Input lines built from the real samples in `tests/data/` (copied unchanged into the
//! repository; `tests/data/SOURCES.md` names each file's public origin; read at run time).
//!
//! The samples are excerpts, not whole feed lines, so each builder wraps the real pieces (log
//! lines, instruction data, the wire transaction, event payloads) in the envelope of one feed
//! format. Shared by the integration tests and the bench.
// Each test binary uses a different subset, and `pub` is how the including crate sees the items.
#![allow(dead_code, unreachable_pub)]

use base64::Engine as _;
use serde_json::{json, Value};

pub mod launchpads;

pub const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/");

pub const SIG: &str =
    "52ar89rghM8EwKZkxFnBMC4LaMReqtVdpxqXxGWBCMYV1DnYdLrdsqJo8Hbn9KjVpckAokqGNHzTSVfK5xuLepdC";
pub const SLOT: u64 = 284_682_639;
pub const MINT: &str = "ER2N5eaDoC68kNhj7LyaScimzq7deaqxiw88rewvxaKp";
pub const CREATOR: &str = "Fswrw3tgQL597kCexxLEhft6a7Su4CDoqwRMqqj4BEp5";
pub const BONDING_CURVE: &str = "FFzxakVNzpirwMFtLyD22UZ6UM3KLF2EAGC2RxNPaYoH";
pub const URI: &str = "https://cf-ipfs.com/ipfs/QmcDiP9wAZ8QeijrNrtwLeMGk46vKAAe8yvfWtumBZbURq";
pub const PUMP: &str = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P";
pub const BLOCK_SLOT: u64 = 338_000_001;

pub fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{SAMPLES}{name}")).expect("sample file")
}

/// The 57 real log lines of the 2024 `create`.
pub fn create_logs() -> Vec<String> {
    let v: Value = serde_json::from_str(&read(
        "chainstack_getTransaction_create_2024-08_logMessages.json",
    ))
    .unwrap();
    v["logMessages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect()
}

/// The two instruction objects of the `.jsonc` sample: (top-level create, self-CPI event).
pub fn jsonc_instructions() -> (Value, Value) {
    let text = read("chainstack_getTransaction_create_2024-08_outer_and_cpi_event.jsonc");
    let stripped: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut it = serde_json::Deserializer::from_str(&stripped).into_iter::<Value>();
    let create = it.next().unwrap().unwrap();
    let event = it.next().unwrap().unwrap();
    (create, event)
}

pub fn block_sample() -> Value {
    serde_json::from_str(&read("chainstack_blockSubscribe_base64_tx_bloom_buy.json")).unwrap()
}

/// The real mid-2025 TradeEvent payload (with its 8-byte discriminator).
pub fn trade_event_bytes() -> Vec<u8> {
    let v = block_sample();
    let line = v["program_data_logs"][0].as_str().unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(line.strip_prefix("Program data: ").unwrap())
        .unwrap()
}

fn key_bytes(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    assert_eq!(bs58::decode(s).onto(&mut out[..]).unwrap(), 32);
    out
}

/// The real TradeEvent re-pointed at `mint` and `user`, as a `Program data:` log line.
pub fn trade_log_line(mint: &str, user: &str, sol_amount: u64, is_buy: bool) -> String {
    let mut b = trade_event_bytes();
    b[8..40].copy_from_slice(&key_bytes(mint));
    b[40..48].copy_from_slice(&sol_amount.to_le_bytes());
    b[56] = u8::from(is_buy);
    b[57..89].copy_from_slice(&key_bytes(user));
    format!(
        "Program data: {}",
        base64::engine::general_purpose::STANDARD.encode(b)
    )
}

/// A pump.fun `Buy` top-level instruction's logs carrying `trade`.
pub fn buy_logs(trade: String) -> Vec<String> {
    vec![
        format!("Program {PUMP} invoke [1]"),
        "Program log: Instruction: Buy".to_owned(),
        trade,
        format!("Program {PUMP} consumed 30000 of 100000 compute units"),
        format!("Program {PUMP} success"),
    ]
}

pub fn logs_notification(sig: &str, slot: u64, err: Value, logs: &[String]) -> String {
    json!({
        "jsonrpc": "2.0",
        "method": "logsNotification",
        "params": {
            "result": {
                "context": { "slot": slot },
                "value": { "signature": sig, "err": err, "logs": logs }
            },
            "subscription": 24040
        }
    })
    .to_string()
}

/// Static keys of the create transaction: the signer first, then the other accounts in order.
fn create_keys(create: &Value) -> Vec<String> {
    let accts: Vec<String> = create["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    let mut keys = vec![CREATOR.to_owned(), MINT.to_owned()];
    for a in accts {
        if !keys.contains(&a) {
            keys.push(a);
        }
    }
    keys
}

/// A `getTransaction` JSON-RPC response for the 2024 create, `jsonParsed` encoding, keys in the
/// order the RPC writes them (slot, transaction, meta, blockTime).
pub fn get_transaction_parsed(err: Value) -> String {
    let (create, event) = jsonc_instructions();
    let keys: Vec<Value> = create_keys(&create)
        .iter()
        .enumerate()
        .map(|(i, k)| json!({"pubkey": k, "signer": i < 2, "source": "transaction", "writable": i < 4}))
        .collect();
    let tx = json!({
        "signatures": [SIG],
        "message": {
            "accountKeys": keys,
            "instructions": [
                {"accounts": [], "data": "3DdGGhkhJbjm", "programId": "ComputeBudget111111111111111111111111111111", "stackHeight": null},
                {"parsed": {"info": {"lamports": 5000}, "type": "transfer"}, "program": "system", "programId": "11111111111111111111111111111111", "stackHeight": null},
                create
            ],
            "recentBlockhash": "7mhQ5bJaCCSKy86dMYnYyRkQwJ8QpzAcxcdw6mVWqLtk"
        }
    });
    let meta = json!({
        "err": err,
        "fee": 5000,
        "innerInstructions": [{"index": 2, "instructions": [event]}],
        "logMessages": create_logs(),
        "postBalances": [], "preBalances": [],
        "status": {"Ok": null}
    });
    format!(
        r#"{{"jsonrpc":"2.0","result":{{"slot":{SLOT},"transaction":{tx},"meta":{meta},"blockTime":1724128600}},"id":1}}"#
    )
}

/// The same transaction in the `json` encoding (string keys, index accounts), as a bare result,
/// serialized with sorted keys (`meta` before `transaction`), v0 with the bonding curve moved to
/// an address table and resolved through `meta.loadedAddresses`.
pub fn get_transaction_json_v0() -> String {
    let (create, event) = jsonc_instructions();
    let mut keys = create_keys(&create);
    keys.retain(|k| k != BONDING_CURVE);
    let mut all = keys.clone();
    all.push(BONDING_CURVE.to_owned());
    let idx = |k: &str| all.iter().position(|x| x == k).unwrap();
    let to_ix = |ix: &Value| {
        json!({
            "programIdIndex": idx(ix["programId"].as_str().unwrap()),
            "accounts": ix["accounts"].as_array().unwrap().iter().map(|a| idx(a.as_str().unwrap())).collect::<Vec<_>>(),
            "data": ix["data"],
            "stackHeight": null
        })
    };
    json!({
        "slot": SLOT,
        "blockTime": 1724128600,
        "version": 0,
        "transaction": {
            "signatures": [SIG],
            "message": {
                "accountKeys": keys,
                "header": {"numRequiredSignatures": 2, "numReadonlySignedAccounts": 0, "numReadonlyUnsignedAccounts": 8},
                "instructions": [to_ix(&create)],
                "addressTableLookups": [{"accountKey": "11111111111111111111111111111111", "writableIndexes": [3], "readonlyIndexes": []}],
                "recentBlockhash": "7mhQ5bJaCCSKy86dMYnYyRkQwJ8QpzAcxcdw6mVWqLtk"
            }
        },
        "meta": {
            "err": null,
            "innerInstructions": [{"index": 0, "instructions": [to_ix(&event)]}],
            "loadedAddresses": {"writable": [BONDING_CURVE], "readonly": []},
            "logMessages": []
        }
    })
    .to_string()
}

/// A `blockNotification` holding the real base64 Bloom-router buy, with the real TradeEvent both
/// in a `Program data:` log line (inside a pump.fun frame) and as the real self-CPI instruction.
pub fn block_notification_buy() -> String {
    let v = block_sample();
    let logs = vec![
        "Program b1oomGGqPKGD6errbyfbVMBuzSC8WtAAYo8MwNafWW1 invoke [1]".to_owned(),
        format!("Program {PUMP} invoke [2]"),
        "Program log: Instruction: Buy".to_owned(),
        v["program_data_logs"][0].as_str().unwrap().to_owned(),
        format!("Program {PUMP} invoke [3]"),
        format!("Program {PUMP} success"),
        format!("Program {PUMP} success"),
        "Program b1oomGGqPKGD6errbyfbVMBuzSC8WtAAYo8MwNafWW1 success".to_owned(),
    ];
    block_notification(&[(
        v["transaction"][0].as_str().unwrap().to_owned(),
        json!({
            "err": v["meta_err"],
            "logMessages": logs,
            "innerInstructions": [{"index": 4, "instructions": [v["self_cpi_event_ix"]]}],
            "loadedAddresses": {"writable": [], "readonly": []}
        }),
    )])
}

pub fn block_notification(txs: &[(String, Value)]) -> String {
    let txs: Vec<Value> = txs
        .iter()
        .map(|(b64, meta)| json!({"transaction": [b64, "base64"], "meta": meta, "version": "legacy"}))
        .collect();
    json!({
        "jsonrpc": "2.0",
        "method": "blockNotification",
        "params": {
            "result": {
                "context": {"slot": BLOCK_SLOT + 1},
                "value": {
                    "slot": BLOCK_SLOT,
                    "block": {
                        "previousBlockhash": "GJp125YAN4ufCSUvZJVdCyWQJ7RPWMmwxoyUQySydZA",
                        "blockhash": "6ojMHjctdqfB55JDpEpqfHnP96fiaHEcvzEQ2NNcxzHP",
                        "parentSlot": BLOCK_SLOT - 1,
                        "transactions": txs,
                        "blockTime": 1747165626,
                        "blockHeight": 316_000_000
                    },
                    "err": null
                }
            },
            "subscription": 0
        }
    })
    .to_string()
}

fn cu16(out: &mut Vec<u8>, mut v: usize) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// The 2024 create re-encoded as a v0 wire transaction (real keys and instruction data), with
/// the bonding curve behind an address table. Returns base64.
pub fn create_wire_v0() -> String {
    let (create, event) = jsonc_instructions();
    let mut keys = create_keys(&create);
    keys.retain(|k| k != BONDING_CURVE);
    let mut all = keys.clone();
    all.push(BONDING_CURVE.to_owned());
    let idx = |k: &str| all.iter().position(|x| x == k).unwrap() as u8;
    let mut b = Vec::new();
    cu16(&mut b, 2);
    b.extend_from_slice(&[1; 64]);
    b.extend_from_slice(&[2; 64]);
    b.push(0x80);
    b.extend_from_slice(&[2, 0, 8]);
    cu16(&mut b, keys.len());
    for k in &keys {
        b.extend_from_slice(&key_bytes(k));
    }
    b.extend_from_slice(&[5; 32]);
    let ixs = [&create, &event];
    cu16(&mut b, 1);
    for ix in &ixs[..1] {
        b.push(idx(ix["programId"].as_str().unwrap()));
        let accts = ix["accounts"].as_array().unwrap();
        cu16(&mut b, accts.len());
        for a in accts {
            b.push(idx(a.as_str().unwrap()));
        }
        let data = bs58::decode(ix["data"].as_str().unwrap())
            .into_vec()
            .unwrap();
        cu16(&mut b, data.len());
        b.extend_from_slice(&data);
    }
    cu16(&mut b, 1);
    b.extend_from_slice(&[0; 32]);
    cu16(&mut b, 1);
    b.push(3);
    cu16(&mut b, 0);
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Meta for [`create_wire_v0`]: the loaded bonding curve and the real logs.
pub fn create_wire_v0_meta() -> Value {
    json!({
        "err": null,
        "logMessages": create_logs(),
        "loadedAddresses": {"writable": [BONDING_CURVE], "readonly": []}
    })
}

/// A one-signer v0 wire transaction with one address table; `loaded` counts the writable
/// table entries the instructions may index past the static keys. Returns base64.
pub fn wire_v0(keys: &[[u8; 32]], ixs: &[(u8, Vec<u8>, Vec<u8>)], loaded: u8) -> String {
    let mut b = Vec::new();
    cu16(&mut b, 1);
    b.extend_from_slice(&[9; 64]);
    b.push(0x80);
    b.extend_from_slice(&[1, 0, 1]);
    cu16(&mut b, keys.len());
    for k in keys {
        b.extend_from_slice(k);
    }
    b.extend_from_slice(&[5; 32]);
    cu16(&mut b, ixs.len());
    for (p, a, d) in ixs {
        b.push(*p);
        cu16(&mut b, a.len());
        b.extend_from_slice(a);
        cu16(&mut b, d.len());
        b.extend_from_slice(d);
    }
    cu16(&mut b, 1);
    b.extend_from_slice(&[0; 32]);
    cu16(&mut b, usize::from(loaded));
    b.extend(0..loaded);
    cu16(&mut b, 0);
    base64::engine::general_purpose::STANDARD.encode(b)
}

pub const PUMP_SWAP: &str = "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA";
pub const RAYDIUM: &str = "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8";
pub const WSOL: &str = "So11111111111111111111111111111111111111112";

/// A PumpSwap `create_pool` whose base mint (the real 2025 pump mint) sits in an address table:
/// keys = [creator, pool, global_config, WSOL, PumpSwap], table = [base_mint].
pub fn pump_swap_pool_wire() -> String {
    let keys = [
        key_bytes(CREATOR),
        [11; 32],
        [12; 32],
        key_bytes(WSOL),
        key_bytes(PUMP_SWAP),
    ];
    let mut data = vec![0xe9, 0x92, 0xd1, 0x8e, 0xcf, 0x68, 0x40, 0xbc];
    data.extend_from_slice(&[0; 18]);
    wire_v0(&keys, &[(4, vec![1, 2, 0, 5, 3], data)], 1)
}

pub const POOL_MINT: &str = "5eFg3giaX2c3RydHvx1S3yEKpYjBuwtLUsmbAAG9pump";

/// Raydium AMM v4 `initialize2` with WSOL as the coin side and the token as pc.
pub fn raydium_pool_wire() -> String {
    let mut keys: Vec<[u8; 32]> = vec![key_bytes(CREATOR)];
    keys.extend((1..=20u8).map(|i| [i + 100; 32]));
    keys[8] = key_bytes(WSOL);
    keys[9] = key_bytes(POOL_MINT);
    keys.push(key_bytes(RAYDIUM));
    let mut accounts: Vec<u8> = (1..=20).collect();
    accounts.insert(17, 0); // user wallet = the signer
    accounts.truncate(21);
    // coin mint (8) and pc mint (9) are accounts 8 and 9 of the instruction.
    accounts[8] = 8;
    accounts[9] = 9;
    let mut data = vec![1u8, 254];
    data.extend_from_slice(&[0; 24]);
    wire_v0(&keys, &[(21, accounts, data)], 0)
}

/// A Helius `transactionNotification` carrying a `getTransaction` result line (reply-wrapped or
/// bare, json or jsonParsed): `params.result.{transaction: {transaction, meta, version},
/// signature, slot}`, with the slot and signature after the transaction, as Helius writes them.
pub fn transaction_notification(get_tx: &str, subscription: u64) -> String {
    let v: Value = serde_json::from_str(get_tx).unwrap();
    let r = if v.get("result").is_some() {
        &v["result"]
    } else {
        &v
    };
    format!(
        r#"{{"jsonrpc":"2.0","method":"transactionNotification","params":{{"subscription":{subscription},"result":{{"transaction":{{"transaction":{},"meta":{},"version":0}},"signature":{},"slot":{}}}}}}}"#,
        r["transaction"], r["meta"], r["transaction"]["signatures"][0], r["slot"]
    )
}

/// A router's swap: the router program calls pump.fun's `buy` as an inner instruction, and the
/// real TradeEvent comes back as the self-CPI event, in a `transactionNotification` (json
/// encoding, index accounts). Not a launch.
pub fn routed_buy_notification() -> String {
    const ROUTER: &str = "b1oomGGqPKGD6errbyfbVMBuzSC8WtAAYo8MwNafWW1";
    let trade = trade_event_bytes();
    let mut event = vec![0xe4, 0x45, 0xa5, 0x2e, 0x51, 0xcb, 0x9a, 0x1d];
    event.extend_from_slice(&trade);
    let buy = [
        0x66, 0x06, 0x3d, 0x12, 0x01, 0xda, 0xeb, 0xea, 1, 0, 0, 0, 0, 0, 0, 0,
    ];
    let b58 = |b: &[u8]| bs58::encode(b).into_string();
    json!({
        "jsonrpc": "2.0",
        "method": "transactionNotification",
        "params": {
            "subscription": 7,
            "result": {
                "transaction": {
                    "transaction": {
                        "signatures": [SIG],
                        "message": {
                            "accountKeys": [CREATOR, ROUTER, PUMP, MINT, BONDING_CURVE],
                            "instructions": [
                                {"programIdIndex": 1, "accounts": [0, 3, 4], "data": b58(&[9, 9, 9])}
                            ],
                            "recentBlockhash": "7mhQ5bJaCCSKy86dMYnYyRkQwJ8QpzAcxcdw6mVWqLtk"
                        }
                    },
                    "meta": {
                        "err": null,
                        "innerInstructions": [{"index": 0, "instructions": [
                            {"programIdIndex": 2, "accounts": [4, 3, 0], "data": b58(&buy)},
                            {"programIdIndex": 2, "accounts": [2], "data": b58(&event)}
                        ]}],
                        "logMessages": buy_logs(trade_log_line(MINT, CREATOR, 1_000_000, true)),
                        "loadedAddresses": {"writable": [], "readonly": []}
                    },
                    "version": 0
                },
                "signature": SIG,
                "slot": SLOT
            }
        }
    })
    .to_string()
}
