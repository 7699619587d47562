//! The one launch record (version 1) against its schema, `docs/launch-record.schema.json`, on
//! every output path: the serde form of the Rust API's records (`PremintCandidate`, `Decoded`,
//! `LaunchRecord`), the `decode` subcommand's lines and the `--candidates` lines of
//! `sniffer run`, for every real launch of `tests/data` in every form it can be given in
//! (the NATS payloads are checked in `tests/consumers.rs`, against a real server). The README's
//! examples are checked to be exactly what `decode` writes for their transactions. Validation
//! is the `jsonschema` crate's (draft 2020-12).

mod common;
mod samples;

use std::collections::BTreeMap;

use samples::launchpads::load;
use serde_json::Value;
use sniffer::decode::{Decoded, Decoder, LaunchRecord};
use sniffer::{LaunchKind, PremintCandidate, Pubkey};

use common::{assert_ok, sniffer_cmd, temp_path};

/// The real launches of `tests/data/launchpads` (one per file; the same launch in every form).
const LAUNCHPAD_LAUNCHES: [&str; 7] = [
    "pumpfun_create_v2_alt_jsonparsed_2RoRJxat",
    "pumpfun_create_v2_blocksubscribe_5EDHe12K",
    "launchlab_init_v2_5LzhiGZB",
    "launchlab_init_token2022_5RfEZ834",
    "dbc_init_spl_token_5hsqkSAZ",
    "dbc_migration_damm_v2_helius_4hhaf2y5",
    "moonshot_token_mint_ix_4C9hua8F",
];

fn validator() -> jsonschema::Validator {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/launch-record.schema.json"
    );
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::draft202012::new(&schema).expect("the schema file is a valid JSON Schema")
}

/// Asserts that `v` is a valid version-1 launch record.
fn assert_valid(schema: &jsonschema::Validator, v: &Value, what: &str) {
    let errors: Vec<String> = schema
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {v}\n{errors:#?}");
}

/// One real launch in one input form: (sample [form], the input line, the decoded launch).
struct Seen {
    name: String,
    line: Option<String>,
    decoded: Decoded,
}

fn decode_line(line: &str) -> Vec<Decoded> {
    let mut out = Vec::new();
    Decoder::default()
        .decode_line(line.as_bytes(), &mut out)
        .unwrap();
    out
}

/// Every real launch of `tests/data` in every form: the launchpads' transactions, and the
/// 2024 pump.fun create as a logs notification (logs only: no associated bonding curve in the
/// input) and as a `getTransaction` (jsonParsed).
fn real_launches() -> Vec<Seen> {
    let mut all = Vec::new();
    for name in LAUNCHPAD_LAUNCHES {
        let s = load(name);
        for f in s.forms() {
            let got = s.decode(&f).unwrap();
            assert_eq!(got.len(), 1, "{name} [{}]", f.name);
            all.push(Seen {
                name: format!("{name} [{}]", f.name),
                line: f.line.clone(),
                decoded: got[0],
            });
        }
    }
    let create = [
        (
            "pump create 2024 [logs]",
            samples::logs_notification(
                samples::SIG,
                samples::SLOT,
                Value::Null,
                &samples::create_logs(),
            ),
        ),
        (
            "pump create 2024 [jsonParsed]",
            samples::get_transaction_parsed(Value::Null),
        ),
    ];
    for (name, line) in create {
        let got = decode_line(&line);
        assert_eq!(got.len(), 1, "{name}");
        all.push(Seen {
            name: name.to_owned(),
            line: Some(line),
            decoded: got[0],
        });
    }
    all
}

/// The Rust API's three serde forms of every real launch are valid records, and reading one
/// back gives the engine's record (the derived accounts filled in).
#[test]
fn every_real_launch_serializes_to_a_valid_record() {
    let schema = validator();
    let launches = real_launches();
    let mut kinds = std::collections::BTreeSet::new();
    for s in &launches {
        let d = &s.decoded;
        kinds.insert(d.candidate.kind.as_str());
        let decoded = serde_json::to_value(d).unwrap();
        assert_valid(&schema, &decoded, &format!("{} (Decoded)", s.name));
        let c = PremintCandidate {
            received_unix_ns: 1_786_000_000_123_456_789,
            feed_id: 1,
            ..d.candidate
        };
        let candidate = serde_json::to_value(c).unwrap();
        assert_valid(
            &schema,
            &candidate,
            &format!("{} (PremintCandidate)", s.name),
        );
        let full = LaunchRecord::new(&c, Some(&d.meta), Some("ws-1"));
        let record = serde_json::to_value(&full).unwrap();
        assert_valid(&schema, &record, &format!("{} (LaunchRecord)", s.name));
        assert_eq!(record["received_unix_ns"], "1786000000123456789");
        assert_eq!(record["received_unix_ms"], 1_786_000_000_123u64);
        // Back: the same launch, with what the record derived.
        let back: LaunchRecord<'_> = serde_json::from_value(record).unwrap();
        assert_eq!(back, full, "{}", s.name);
        assert_eq!(back.meta(), d.meta, "{}", s.name);
        let again = back.candidate();
        assert_eq!(
            PremintCandidate {
                market: c.market,
                market_token_account: c.market_token_account,
                origin: c.origin,
                feed_id: 1,
                ..again
            },
            c,
            "{}",
            s.name
        );
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "launchlab",
            "meteora_damm_v2_graduation",
            "meteora_dbc",
            "moonshot",
            "pump_create",
            "pump_create_v2",
        ]
    );
}

/// The users' report: a launch seen only through its logs published `market_token_account` as
/// the zero key. The record derives pump.fun's associated bonding curve (the account of the
/// real create instruction), on every output's serde form.
#[test]
fn a_logs_only_pump_launch_carries_its_derived_token_account() {
    let launches = real_launches();
    let logs = launches
        .iter()
        .find(|s| s.name == "pump create 2024 [logs]")
        .unwrap();
    let c = logs.decoded.candidate;
    assert_eq!(c.market_token_account, Pubkey::ZERO, "the input lacks it");
    let want = "6eTEMemDi58KJE1rPEagqMsgn34xUWTkzdZTKM8EVbYF";
    for v in [
        serde_json::to_value(c).unwrap(),
        serde_json::to_value(logs.decoded).unwrap(),
    ] {
        assert_eq!(v["market_token_account"], want, "{v}");
        assert_eq!(v["market"], samples::BONDING_CURVE);
    }
    // The instruction form names the same account.
    let tx = launches
        .iter()
        .find(|s| s.name == "pump create 2024 [jsonParsed]")
        .unwrap();
    assert_eq!(tx.decoded.candidate.market_token_account.to_string(), want);
}

/// A record without the input's keys omits them: never the zero key (the System Program).
#[test]
fn an_unknown_key_is_omitted_never_the_zero_key() {
    let schema = validator();
    for kind in LaunchKind::ALL {
        let c = PremintCandidate {
            kind,
            slot: 1,
            ..Default::default()
        };
        let v = serde_json::to_value(c).unwrap();
        assert_valid(&schema, &v, kind.as_str());
        assert!(!v.to_string().contains(&Pubkey::ZERO.to_string()), "{v}");
    }
    // The schema itself refuses the zero key and big integers as numbers.
    let mut v = serde_json::to_value(PremintCandidate::default()).unwrap();
    v["mint"] = Pubkey::ZERO.to_string().into();
    assert!(!schema.is_valid(&v));
    let mut v = serde_json::to_value(PremintCandidate::default()).unwrap();
    v["creator_buy_tokens"] = 5.into();
    assert!(!schema.is_valid(&v));
}

/// The README's example records (one per launch kind with a real transaction in
/// `tests/data`), each under a `<!-- record: SAMPLE [FORM] -->` line: valid, and exactly what
/// `decode` writes for that transaction.
#[test]
fn the_readme_examples_are_the_decoded_records_of_real_launches() {
    let schema = validator();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let launches: BTreeMap<String, Decoded> = real_launches()
        .into_iter()
        .map(|s| (s.name, s.decoded))
        .collect();
    let mut kinds = Vec::new();
    let mut rest = readme.as_str();
    while let Some(at) = rest.find("<!-- record: ") {
        rest = &rest[at + "<!-- record: ".len()..];
        let name = &rest[..rest.find(" -->").unwrap()];
        let start = rest.find("```json\n").unwrap() + "```json\n".len();
        let end = start + rest[start..].find("```").unwrap();
        let example: Value = serde_json::from_str(&rest[start..end])
            .unwrap_or_else(|e| panic!("README example {name}: {e}"));
        assert_valid(&schema, &example, &format!("README example {name}"));
        let d = launches
            .get(name)
            .unwrap_or_else(|| panic!("README example {name}: no such real launch"));
        assert_eq!(
            example,
            serde_json::to_value(d).unwrap(),
            "README example {name}"
        );
        kinds.push(d.candidate.kind.as_str());
    }
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        [
            "launchlab",
            "meteora_damm_v2_graduation",
            "meteora_dbc",
            "moonshot",
            "pump_create",
            "pump_create_v2",
        ],
        "one example per kind"
    );
}

/// The CLI's outputs: `decode` writes each launch's record (the Rust API's serde form of
/// `Decoded`), `run --candidates` writes valid records with the feed's name and the receive
/// time, the derived accounts filled.
#[test]
fn decode_and_candidates_write_valid_records() {
    let schema = validator();
    let launches = real_launches();
    let path = temp_path("real-launches.jsonl");
    let lines: Vec<&str> = launches.iter().filter_map(|s| s.line.as_deref()).collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    // One decoder over the file, as `decode` and the replay feed read it (the score depends on
    // what the decoder saw before).
    let mut dec = Decoder::default();
    let mut found = Vec::new();
    for l in &lines {
        dec.decode_line(l.as_bytes(), &mut found).unwrap();
    }
    let want: Vec<Value> = found
        .iter()
        .map(|d| serde_json::to_value(d).unwrap())
        .collect();

    let out = sniffer_cmd().arg("decode").arg(&path).output().unwrap();
    assert_ok(&out);
    let got: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for v in &got {
        assert_valid(&schema, v, "decode");
    }
    assert_eq!(got, want);

    let candidates = temp_path("real-launches.candidates.jsonl");
    let out = sniffer_cmd()
        .args(["run", "--feed"])
        .arg(format!("replay:{}", path.display()))
        .arg("--candidates")
        .arg(&candidates)
        .output()
        .unwrap();
    assert_ok(&out);
    let text = std::fs::read_to_string(&candidates).unwrap();
    let mut rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Each launch once per identity (the engine de-duplicates on mint and signature: a
    // logs-only LaunchLab or DBC launch, without its mint, is a sighting of its own).
    let id = |v: &Value| (v["mint"].to_string(), v["signature"].to_string());
    let unique: std::collections::BTreeSet<_> = want.iter().map(id).collect();
    assert_eq!(rows.len(), unique.len(), "{text}");
    for v in &mut rows {
        assert_valid(&schema, v, "--candidates");
        assert_eq!(v["feed"], "replay:real-launches.jsonl");
        let ns: u64 = v["received_unix_ns"].as_str().unwrap().parse().unwrap();
        assert_eq!(v["received_unix_ms"], ns / 1_000_000);
        let o = v.as_object_mut().unwrap();
        for local in ["feed", "received_unix_ns", "received_unix_ms"] {
            o.remove(local);
        }
        // The first form of the launch in the file won: its record, as `decode` wrote it.
        let first = want.iter().find(|w| id(w) == id(v)).unwrap();
        assert_eq!(v, first);
    }
}
