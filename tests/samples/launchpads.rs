//! Every input form of the real launchpad transactions in `tests/data/launchpads/`.
//!
//! Each `tx/<name>.json` holds one real transaction as a `getTransaction` result in the `json`
//! encoding, rewritten from its original (`original/`, provenance in `tests/data/SOURCES.md`) by
//! `derive.py`, which changes the shape only. From it this module builds the forms the decoder
//! reads: the logs notification (from `meta.logMessages`), the `getTransaction` reply in `json`
//! and `jsonParsed` (lookup-table keys in `accountKeys` with `"source":"lookupTable"`), Helius
//! `transactionNotification`s of both, and, when the rebuilt message is the signed one (every
//! ed25519 signature verifies here, over bytes this module writes), the wire forms:
//! `getTransaction` in `base64` and a `blockSubscribe` notification. The Yellowstone gRPC form is
//! fed through [`Decoder::begin_parsed`] exactly as the gRPC feed feeds an update.

use base64::Engine as _;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use serde_json::{json, Value};
use sha2::{Digest, Sha512};
use sniffer::decode::{Decoded, Decoder, Malformed};

/// One real transaction, as `derive.py` wrote it.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    /// `mainnet` or `devnet` (told apart by slot and block time: see SOURCES.md).
    pub network: String,
    /// The getTransaction result (encoding json).
    pub result: Value,
}

/// An input form and its line (the gRPC form has none: it is fed piece by piece).
#[derive(Debug, Clone)]
pub struct Form {
    pub name: &'static str,
    pub line: Option<String>,
}

pub fn load(name: &str) -> Sample {
    let path = format!("{}launchpads/tx/{name}.json", super::SAMPLES);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("sample file"))
        .expect("sample json");
    Sample {
        name: name.to_owned(),
        network: v["network"].as_str().unwrap().to_owned(),
        result: v["result"].clone(),
    }
}

/// Every sample in `tests/data/launchpads/tx/`, in file name order.
pub fn all() -> Vec<Sample> {
    let dir = format!("{}launchpads/tx", super::SAMPLES);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("sample dir")
        .map(|e| e.expect("sample dir entry").file_name())
        .filter_map(|f| f.to_str()?.strip_suffix(".json").map(str::to_owned))
        .collect();
    names.sort();
    names.iter().map(|n| load(n)).collect()
}

/// The `getTransaction` replies (encoding `json`, as the RPC serializes them: `meta` before
/// `transaction`) of the real v0 transactions: the decode bench's `tx_json_v0_real` set, next to
/// the thin `tx_json_v0` rebuild of the 2024 create. 19 transactions, launches and the swaps
/// around them, each with its whole `meta` (logs, balances, token balances).
pub fn json_v0_lines() -> Vec<String> {
    all()
        .into_iter()
        .filter(|s| s.version() == json!(0))
        .map(|s| s.get_transaction_json())
        .collect()
}

fn b58(b: &[u8]) -> String {
    bs58::encode(b).into_string()
}

fn unb58(s: &str) -> Vec<u8> {
    bs58::decode(s).into_vec().expect("base58")
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

/// RFC 8032 verification of one ed25519 signature: `[S]B == R + [k]A`.
pub fn ed25519_verify(key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let (Ok(key), Ok(sig)) = (<[u8; 32]>::try_from(key), <[u8; 64]>::try_from(sig)) else {
        return false;
    };
    let Some(a) = CompressedEdwardsY(key).decompress() else {
        return false;
    };
    let s_bytes: [u8; 32] = sig[32..].try_into().unwrap();
    let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
        return false;
    };
    let mut h = Sha512::new();
    h.update(&sig[..32]);
    h.update(key);
    h.update(msg);
    let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
    let r = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-a, &s);
    r.compress().as_bytes() == &sig[..32]
}

impl Sample {
    pub fn tx(&self) -> &Value {
        &self.result["transaction"]
    }

    pub fn message(&self) -> &Value {
        &self.result["transaction"]["message"]
    }

    pub fn meta(&self) -> &Value {
        &self.result["meta"]
    }

    pub fn signature(&self) -> &str {
        self.tx()["signatures"][0].as_str().unwrap()
    }

    pub fn slot(&self) -> u64 {
        self.result["slot"].as_u64().unwrap_or(0)
    }

    pub fn version(&self) -> Value {
        self.result
            .get("version")
            .cloned()
            .unwrap_or(json!("legacy"))
    }

    pub fn static_keys(&self) -> Vec<String> {
        self.message()["accountKeys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect()
    }

    pub fn loaded(&self, which: &str) -> Vec<String> {
        self.meta()["loadedAddresses"][which]
            .as_array()
            .map(|a| a.iter().map(|k| k.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    }

    /// Static keys, then loaded writable, then loaded readonly: what an account index means.
    pub fn all_keys(&self) -> Vec<String> {
        let mut k = self.static_keys();
        k.extend(self.loaded("writable"));
        k.extend(self.loaded("readonly"));
        k
    }

    pub fn logs(&self) -> Option<Vec<String>> {
        self.meta()["logMessages"]
            .as_array()
            .map(|a| a.iter().map(|l| l.as_str().unwrap().to_owned()).collect())
    }

    /// `{"jsonrpc","result","id"}` around the result (json encoding).
    pub fn get_transaction_json(&self) -> String {
        json!({"jsonrpc": "2.0", "result": self.result, "id": 1}).to_string()
    }

    /// `getTransaction` (json) with `transaction` before `meta`, as a provider that does not sort
    /// its members may send it: the inner instructions are then read after the keys they index,
    /// where the RPC's own sorted order (`meta` first) has them read before.
    pub fn get_transaction_json_meta_last(&self) -> String {
        let r = &self.result;
        format!(
            r#"{{"jsonrpc":"2.0","result":{{"slot":{},"transaction":{},"meta":{},"version":{},"blockTime":{}}},"id":1}}"#,
            r["slot"], r["transaction"], r["meta"], r["version"], r["blockTime"]
        )
    }

    /// The result in the `jsonParsed` encoding: keys as objects (the loaded ones after the
    /// static ones, `"source":"lookupTable"`), instructions with their program id and account
    /// keys, and no `meta.loadedAddresses` (jsonParsed folds them into `accountKeys`).
    pub fn get_transaction_json_parsed(&self) -> String {
        let keys = self.all_keys();
        let n_static = self.static_keys().len();
        let n_writable = self.loaded("writable").len();
        let h = &self.message()["header"];
        let n = |f: &str| h[f].as_u64().unwrap_or(0) as usize;
        let (signers, ro_signed, ro_unsigned) = (
            n("numRequiredSignatures").max(1),
            n("numReadonlySignedAccounts"),
            n("numReadonlyUnsignedAccounts"),
        );
        let key_objs: Vec<Value> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let (signer, writable, source) = if i < n_static {
                    let writable = if i < signers {
                        i < signers - ro_signed
                    } else {
                        i < n_static - ro_unsigned
                    };
                    (i < signers, writable, "transaction")
                } else {
                    (false, i < n_static + n_writable, "lookupTable")
                };
                json!({"pubkey": k, "signer": signer, "writable": writable, "source": source})
            })
            .collect();
        let parsed_ix = |ix: &Value| {
            json!({
                "programId": keys[ix["programIdIndex"].as_u64().unwrap() as usize],
                "accounts": ix["accounts"].as_array().unwrap().iter()
                    .map(|a| keys[a.as_u64().unwrap() as usize].clone()).collect::<Vec<_>>(),
                "data": ix["data"],
                "stackHeight": ix.get("stackHeight").cloned().unwrap_or(Value::Null),
            })
        };
        let mut message = self.message().clone();
        message["accountKeys"] = json!(key_objs);
        message["instructions"] = json!(self.message()["instructions"]
            .as_array()
            .unwrap()
            .iter()
            .map(parsed_ix)
            .collect::<Vec<_>>());
        let mut meta = self.meta().clone();
        if let Some(m) = meta.as_object_mut() {
            m.remove("loadedAddresses");
            if let Some(groups) = m.get_mut("innerInstructions").and_then(Value::as_array_mut) {
                for g in groups {
                    let ixs: Vec<Value> = g["instructions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(parsed_ix)
                        .collect();
                    g["instructions"] = json!(ixs);
                }
            }
        }
        let mut result = self.result.clone();
        result["transaction"]["message"] = message;
        result["meta"] = meta;
        json!({"jsonrpc": "2.0", "result": result, "id": 1}).to_string()
    }

    /// The `logsNotification` of this transaction, when it has logs.
    pub fn logs_notification(&self) -> Option<String> {
        let logs = self.logs()?;
        Some(
            json!({
                "jsonrpc": "2.0",
                "method": "logsNotification",
                "params": {
                    "result": {
                        "context": {"slot": self.slot()},
                        "value": {"signature": self.signature(), "err": self.meta()["err"], "logs": logs}
                    },
                    "subscription": 24040
                }
            })
            .to_string(),
        )
    }

    /// A Helius `transactionNotification` carrying the result of `get_tx` (json or jsonParsed).
    pub fn transaction_notification(&self, get_tx: &str) -> String {
        let v: Value = serde_json::from_str(get_tx).unwrap();
        let r = &v["result"];
        json!({
            "jsonrpc": "2.0",
            "method": "transactionNotification",
            "params": {
                "subscription": 7,
                "result": {
                    "transaction": {"transaction": r["transaction"], "meta": r["meta"], "version": self.version()},
                    "signature": self.signature(),
                    "slot": self.slot()
                }
            }
        })
        .to_string()
    }

    /// The signed message, rebuilt (legacy, v0 or v1), when the message has what it takes.
    fn message_bytes(&self) -> Option<Vec<u8>> {
        let m = self.message();
        let h = m.get("header")?;
        let header = [
            h["numRequiredSignatures"].as_u64()? as u8,
            h["numReadonlySignedAccounts"].as_u64()? as u8,
            h["numReadonlyUnsignedAccounts"].as_u64()? as u8,
        ];
        let blockhash = unb58(m.get("recentBlockhash")?.as_str()?);
        let keys = self.static_keys();
        let ixs: Vec<(u8, Vec<u8>, Vec<u8>)> = m["instructions"]
            .as_array()?
            .iter()
            .map(|ix| {
                let accs = ix["accounts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_u64().unwrap() as u8)
                    .collect();
                (
                    ix["programIdIndex"].as_u64().unwrap() as u8,
                    accs,
                    unb58(ix["data"].as_str().unwrap()),
                )
            })
            .collect();
        let mut out = Vec::new();
        if self.version() == json!(1) {
            v1_message(
                &mut out,
                header,
                &blockhash,
                &keys,
                &ixs,
                &m["transactionConfig"],
            );
            return Some(out);
        }
        let v0 = self.version() == json!(0);
        if v0 {
            out.push(0x80);
        }
        out.extend_from_slice(&header);
        cu16(&mut out, keys.len());
        for k in &keys {
            out.extend_from_slice(&unb58(k));
        }
        out.extend_from_slice(&blockhash);
        cu16(&mut out, ixs.len());
        for (p, accs, data) in &ixs {
            out.push(*p);
            cu16(&mut out, accs.len());
            out.extend_from_slice(accs);
            cu16(&mut out, data.len());
            out.extend_from_slice(data);
        }
        if v0 {
            let luts = m.get("addressTableLookups")?.as_array()?;
            cu16(&mut out, luts.len());
            for l in luts {
                out.extend_from_slice(&unb58(l["accountKey"].as_str().unwrap()));
                for which in ["writableIndexes", "readonlyIndexes"] {
                    let idx: Vec<u8> = l[which]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|i| i.as_u64().unwrap() as u8)
                        .collect();
                    cu16(&mut out, idx.len());
                    out.extend_from_slice(&idx);
                }
            }
        }
        Some(out)
    }

    /// The wire transaction, when the rebuilt message is the one its signers signed (every
    /// signature verifies over it): then the bytes are exactly what was sent.
    pub fn wire(&self) -> Option<Vec<u8>> {
        let msg = self.message_bytes()?;
        let keys = self.static_keys();
        let sigs: Vec<Vec<u8>> = self.tx()["signatures"]
            .as_array()?
            .iter()
            .map(|s| unb58(s.as_str().unwrap()))
            .collect();
        let signed = !sigs.is_empty()
            && sigs
                .iter()
                .zip(&keys)
                .all(|(s, k)| ed25519_verify(&unb58(k), &msg, s));
        if !signed {
            return None;
        }
        let mut out = Vec::new();
        if self.version() == json!(1) {
            // Version 1 puts the signatures after the message.
            out.extend_from_slice(&msg);
            sigs.iter().for_each(|s| out.extend_from_slice(s));
        } else {
            cu16(&mut out, sigs.len());
            sigs.iter().for_each(|s| out.extend_from_slice(s));
            out.extend_from_slice(&msg);
        }
        Some(out)
    }

    fn wire_b64(&self) -> Option<String> {
        self.wire()
            .map(|w| base64::engine::general_purpose::STANDARD.encode(w))
    }

    /// `getTransaction` with `encoding: base64` (meta with `loadedAddresses`).
    pub fn get_transaction_base64(&self) -> Option<String> {
        let mut result = self.result.clone();
        result["transaction"] = json!([self.wire_b64()?, "base64"]);
        Some(json!({"jsonrpc": "2.0", "result": result, "id": 1}).to_string())
    }

    /// A `blockNotification` holding this transaction (base64, full details).
    pub fn block_notification(&self) -> Option<String> {
        let tx = json!({"transaction": [self.wire_b64()?, "base64"], "meta": self.meta(), "version": self.version()});
        Some(self.block_notification_of(&tx.to_string()))
    }

    /// [`Sample::block_notification`] with `transaction` before `meta` in the block's
    /// transaction (see [`Sample::get_transaction_json_meta_last`]).
    pub fn block_notification_meta_last(&self) -> Option<String> {
        let tx = format!(
            r#"{{"transaction":{},"meta":{},"version":{}}}"#,
            json!([self.wire_b64()?, "base64"]),
            self.meta(),
            self.version()
        );
        Some(self.block_notification_of(&tx))
    }

    /// A `blockNotification` whose block holds one transaction, `tx` (its JSON text).
    fn block_notification_of(&self, tx: &str) -> String {
        // Text, not `json!`: a `Value` would sort the transaction's members again.
        let slot = self.slot();
        format!(
            r#"{{"jsonrpc":"2.0","method":"blockNotification","params":{{"result":{{"context":{{"slot":{}}},"value":{{"slot":{slot},"block":{{"transactions":[{tx}],"blockTime":{}}},"err":null}}}},"subscription":0}}}}"#,
            slot + 1,
            self.result["blockTime"]
        )
    }

    /// Every form this transaction can be given in, with its line.
    pub fn forms(&self) -> Vec<Form> {
        let json = self.get_transaction_json();
        let parsed = self.get_transaction_json_parsed();
        let mut v = vec![
            Form {
                name: "logs",
                line: self.logs_notification(),
            },
            Form {
                name: "json",
                line: Some(json.clone()),
            },
            Form {
                name: "jsonParsed",
                line: Some(parsed.clone()),
            },
            Form {
                name: "transactionNotification json",
                line: Some(self.transaction_notification(&json)),
            },
            Form {
                name: "transactionNotification jsonParsed",
                line: Some(self.transaction_notification(&parsed)),
            },
            Form {
                name: "json, meta last",
                line: Some(self.get_transaction_json_meta_last()),
            },
            Form {
                name: "base64",
                line: self.get_transaction_base64(),
            },
            Form {
                name: "blockSubscribe",
                line: self.block_notification(),
            },
            Form {
                name: "blockSubscribe, meta last",
                line: self.block_notification_meta_last(),
            },
            Form {
                name: "grpc",
                line: None,
            },
        ];
        v.retain(|f| f.line.is_some() || f.name == "grpc");
        v
    }

    /// Feeds the transaction to `dec` as the gRPC feed feeds an update (`src/feed/geyser.rs`).
    pub fn decode_grpc(
        &self,
        dec: &mut Decoder,
        out: &mut Vec<Decoded>,
    ) -> Result<usize, Malformed> {
        let failed = !self.meta()["err"].is_null();
        let mut p = dec.begin_parsed(self.slot(), &unb58(self.signature()), failed)?;
        for k in self.static_keys() {
            p.account_key(&unb58(&k))?;
        }
        p.loaded_addresses_known();
        for k in self.loaded("writable") {
            p.loaded_writable(&unb58(&k))?;
        }
        for k in self.loaded("readonly") {
            p.loaded_readonly(&unb58(&k))?;
        }
        let ix = |p: &mut sniffer::decode::ParsedTx<'_>, ix: &Value| {
            let accs: Vec<u8> = ix["accounts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_u64().unwrap() as u8)
                .collect();
            p.instruction(
                ix["programIdIndex"].as_u64().unwrap() as u32,
                &accs,
                &unb58(ix["data"].as_str().unwrap()),
            )
        };
        for i in self.message()["instructions"].as_array().unwrap() {
            ix(&mut p, i)?;
        }
        for g in self.meta()["innerInstructions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for i in g["instructions"].as_array().unwrap() {
                ix(&mut p, i)?;
            }
        }
        for l in self.logs().unwrap_or_default() {
            p.log(&l)?;
        }
        p.finish(out)
    }

    /// Decodes one form with a fresh decoder.
    pub fn decode(&self, form: &Form) -> Result<Vec<Decoded>, Malformed> {
        let mut dec = Decoder::default();
        let mut out = Vec::new();
        match &form.line {
            Some(line) => dec.decode_line(line.as_bytes(), &mut out)?,
            None => self.decode_grpc(&mut dec, &mut out)?,
        };
        Ok(out)
    }
}

/// A version-1 message (SIMD-0385; layout in `src/decode/wire.rs`).
fn v1_message(
    out: &mut Vec<u8>,
    header: [u8; 3],
    blockhash: &[u8],
    keys: &[String],
    ixs: &[(u8, Vec<u8>, Vec<u8>)],
    config: &Value,
) {
    let mut mask = 0u32;
    let mut values = Vec::new();
    let fields: [(u32, &str, usize); 4] = [
        (0b11, "priorityFee", 8),
        (0b100, "computeUnitLimit", 4),
        (0b1000, "loadedAccountsDataSizeLimit", 4),
        (0b10000, "heapSize", 4),
    ];
    for (bits, name, width) in fields {
        if let Some(v) = config[name].as_u64() {
            mask |= bits;
            values.extend_from_slice(&v.to_le_bytes()[..width]);
        }
    }
    out.push(0x81);
    out.extend_from_slice(&header);
    out.extend_from_slice(&mask.to_le_bytes());
    out.extend_from_slice(blockhash);
    out.push(ixs.len() as u8);
    out.push(keys.len() as u8);
    for k in keys {
        out.extend_from_slice(&unb58(k));
    }
    out.extend_from_slice(&values);
    for (p, accs, data) in ixs {
        out.push(*p);
        out.push(accs.len() as u8);
        out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    }
    for (_, accs, data) in ixs {
        out.extend_from_slice(accs);
        out.extend_from_slice(data);
    }
}

/// A base58 string of bytes, for expected values written as hex in tests.
pub fn b58_of(bytes: &[u8]) -> String {
    b58(bytes)
}
