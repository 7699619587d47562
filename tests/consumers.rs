//! The launch record across languages, against a real `nats-server` (`tests/natsserver`): the
//! real launches of `tests/data` go through our `Publisher` (with their name/symbol/uri and
//! feed names); every payload in the stream is a valid record (`docs/launch-record.schema.json`)
//! equal to the launch's `LaunchRecord`; the Python and TypeScript consumers of
//! `examples/consumers/` read the stream and print every record with every field exact (the
//! big integers included), and both refuse a record of a version they do not know (exit 3).
//!
//! The consumers' pinned clients (nats-py, nats.js) and the compiled TypeScript live in
//! `target/test-tools/consumers`, installed by `make test-deps` (which `make test` runs first).
//! Without them the test fails, naming the command that installs them.
#![cfg(feature = "nats")]

mod natsserver;
mod samples;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use natsserver::NatsServer;
use samples::launchpads::load;
use serde_json::Value;
use sniffer::decode::{Decoded, Decoder, LaunchRecord};
use sniffer::net::nats::NatsConfig;
use sniffer::publish::Publisher;
use sniffer::{PremintCandidate, SnifferConfig};

/// Bound on every wait: a hang guard, not a timing assertion.
const WITHIN: Duration = Duration::from_secs(60);
const FEEDS: [&str; 2] = ["ws-0", "grpc-1"];
/// A receive time above 2^53 (as every real one is): JavaScript numbers would round it.
const RECEIVED_NS: u64 = 1_786_000_000_123_456_789;

fn tools() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/test-tools/consumers"
    ))
}

/// Each real launch of `tests/data` once (per mint and signature, as the stream stores them):
/// the full transaction form, and the logs-only form where it differs (a logs-only LaunchLab
/// launch has no mint; the 2024 pump.fun create is logs-only, its token account derived).
fn real_launches() -> Vec<Decoded> {
    let names = [
        "pumpfun_create_v2_alt_jsonparsed_2RoRJxat",
        "launchlab_init_v2_5LzhiGZB",
        "dbc_init_spl_token_5hsqkSAZ",
        "dbc_migration_damm_v2_helius_4hhaf2y5",
        "moonshot_token_mint_ix_4C9hua8F",
    ];
    let mut all = Vec::new();
    for name in names {
        let s = load(name);
        for f in s.forms() {
            if f.name == "json" || f.name == "logs" {
                all.extend(s.decode(&f).unwrap());
            }
        }
    }
    let line = samples::logs_notification(
        samples::SIG,
        samples::SLOT,
        Value::Null,
        &samples::create_logs(),
    );
    Decoder::default()
        .decode_line(line.as_bytes(), &mut all)
        .unwrap();
    let mut seen = BTreeSet::new();
    all.retain(|d| seen.insert((d.candidate.mint, d.candidate.signature)));
    all
}

/// The launches as the engine delivers them: a receive time and a feed each.
fn delivered(launches: &[Decoded]) -> Vec<(PremintCandidate, Decoded)> {
    launches
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let c = PremintCandidate {
                received_unix_ns: RECEIVED_NS + i as u64,
                feed_id: (i % FEEDS.len()) as u16,
                ..d.candidate
            };
            (c, *d)
        })
        .collect()
}

/// What every consumer must print: each launch's record, in publishing order.
fn expected(launches: &[(PremintCandidate, Decoded)]) -> Vec<Value> {
    launches
        .iter()
        .map(|(c, d)| {
            let feed = FEEDS[usize::from(c.feed_id)];
            serde_json::to_value(LaunchRecord::new(c, Some(&d.meta), Some(feed))).unwrap()
        })
        .collect()
}

fn publish(url: &str, launches: &[(PremintCandidate, Decoded)]) {
    let cfg = SnifferConfig::default();
    let publisher = Publisher::start(url, NatsConfig::from(&cfg)).unwrap();
    publisher.set_feed_names(FEEDS.map(String::from).to_vec());
    let handle = publisher.handle();
    for (c, d) in launches {
        handle.try_publish_with_meta(c, Some(&d.meta)).unwrap();
    }
    let until = Instant::now() + WITHIN;
    while publisher.snapshot().published < launches.len() as u64 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    let p = publisher.shutdown(WITHIN);
    assert_eq!(
        (p.published, p.failed, p.dropped),
        (launches.len() as u64, 0, 0),
        "{p:?}"
    );
}

/// Every payload in the stream, in order, read with the Rust client; then a record of a later
/// version (`v: 2`) appended, which the consumers must refuse.
fn payloads_then_a_v2_record(url: &str, n: usize) -> Vec<Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use async_nats::jetstream::consumer::pull::OrderedConfig;
        use tokio_stream::StreamExt as _;
        let client = async_nats::connect(url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let stream = js.get_stream("SNIFFER").await.unwrap();
        let consumer = stream
            .create_consumer(OrderedConfig::default())
            .await
            .unwrap();
        let mut messages = consumer.messages().await.unwrap();
        let mut out = Vec::new();
        while out.len() < n {
            let m = tokio::time::timeout(WITHIN, messages.next())
                .await
                .expect("the stream's messages")
                .unwrap()
                .unwrap();
            out.push(serde_json::from_slice(&m.payload).unwrap());
        }
        let later = r#"{"v":2,"kind":"pump_create","slot":1,"score":0,"priority":"low"}"#;
        js.publish("sniffer.launch.pump_create.low", later.into())
            .await
            .unwrap()
            .await
            .unwrap();
        out
    })
}

fn validator() -> jsonschema::Validator {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/launch-record.schema.json"
    );
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::draft202012::new(&schema).unwrap()
}

/// Runs a consumer to its end (or kills it at the hang guard).
fn run(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let until = Instant::now() + WITHIN;
    while child.try_wait().unwrap().is_none() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

fn python(url: &str, count: usize) -> Command {
    let deps = tools().join("python");
    assert!(
        deps.join(".installed").exists(),
        "nats-py is not installed in {}: run `make test-deps` (it installs the consumers' \
         pinned clients from PyPI and npm)",
        deps.display()
    );
    let mut cmd = Command::new("python3");
    cmd.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/consumers/python/consumer.py"
    ))
    .args([
        "--url",
        url,
        "--count",
        &count.to_string(),
        "--timeout",
        "30",
    ])
    .env("PYTHONPATH", deps);
    cmd
}

fn typescript(url: &str, count: usize) -> Command {
    let js = tools().join("typescript/consumer.js");
    assert!(
        js.exists(),
        "the TypeScript consumer is not built at {}: run `make test-deps` (it installs nats.js \
         and TypeScript from npm and compiles examples/consumers/typescript)",
        js.display()
    );
    let mut cmd = Command::new("node");
    cmd.arg(js)
        .args(["--url", url, "--count", &count.to_string()]);
    cmd
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn python_and_typescript_consumers_read_every_field_of_the_published_records() {
    let server = NatsServer::start();
    let launches = delivered(&real_launches());
    let want = expected(&launches);
    publish(&server.url(), &launches);

    // The payloads: valid records, each exactly the launch's record.
    let schema = validator();
    let payloads = payloads_then_a_v2_record(&server.url(), want.len());
    for p in &payloads {
        let errors: Vec<String> = schema.iter_errors(p).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "payload {p}: {errors:#?}");
    }
    assert_eq!(payloads, want);
    assert!(want
        .iter()
        .any(|r| r["market_token_account"] == "6eTEMemDi58KJE1rPEagqMsgn34xUWTkzdZTKM8EVbYF"));

    for (lang, consumer) in [
        ("python", python as fn(&str, usize) -> Command),
        ("typescript", typescript),
    ] {
        // Every launch, field for field (the receive time in nanoseconds included).
        let out = run(consumer(&server.url(), want.len()));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{lang}: {stderr}");
        let got = lines(&out);
        assert_eq!(got, want, "{lang}");
        for (i, r) in got.iter().enumerate() {
            assert_eq!(r["received_unix_ns"], (RECEIVED_NS + i as u64).to_string());
        }
        // One more: the v2 record is refused, after the v1 records were printed.
        let out = run(consumer(&server.url(), want.len() + 1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{lang}: {stderr}");
        assert!(stderr.contains("version 2"), "{lang}: {stderr}");
        assert_eq!(lines(&out), want, "{lang}");
    }
}
