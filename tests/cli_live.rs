//! `sniffer run` on live feeds served from this test process on loopback: a WebSocket feed with
//! an API key in its URL (the key reaches the server and nowhere else: not stderr, not stdout,
//! not the metrics), `--candidates -`, a race between two endpoints with its summary line,
//! `--record` of a live feed replayed to the same candidates, oversized frames skipped with
//! bounded memory, a gRPC feed whose token comes from `SNIFFER_X_TOKEN`, and two gRPC feeds
//! of the config file's `[[feeds]]`, each with its own token (an environment variable's, a
//! file's) and compression; `https://` without a kind, and bad `[[feeds]]` tables, exit 2
//! naming the fix.

mod common;
mod geyserserver;
mod samples;
mod wsserver;

use std::collections::BTreeSet;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sniffer::{
    feed::{Expected, PayloadGenerator, PayloadMix},
    MetricsSnapshot,
};
use wsserver::{After, Extra, Line, Plan, WsServer};

use common::{assert_ok, sniffer_cmd, temp_path};

const SECRET: &str = "K3Y-0f-the-user-123";

/// Bad feed URLs are refused before anything starts (exit 2) without repeating what may be a
/// credential: a password typed where the port goes, a `user:pass@` without `//`, a query cut
/// by `--feed`'s comma split; a path the handshake could never send; and `run --help` does not
/// print the environment's feed and publish URLs. `check-config` reads the environment as
/// `run` does (a bad `SNIFFER_TLS_CA_FILE` is exit 2 there too).
#[test]
fn bad_feed_urls_help_and_check_config_never_show_secrets() {
    for (url, says) in [
        ("wss://h:SECRET9/x", "bad port"),
        ("wss:user:SECRET9@host", "unknown feed"),
        (
            "ws://127.0.0.1:1/a b?api-key=SECRET9",
            "not a valid request URI",
        ),
    ] {
        let out = sniffer_cmd()
            .args(["run", "--duration", "1s", "--feed", url])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}: {}", text(&out));
        assert!(text(&out).contains(says), "{url}: {}", text(&out));
        assert!(!text(&out).contains("SECRET9"), "{url}: {}", text(&out));
    }
    // A comma inside a query stays in the URL (it was cut there, and the tail of the key was
    // reported as an unknown feed): the feed is one WebSocket feed to an unresolvable host.
    let json = temp_path("comma-metrics.json");
    let out = sniffer_cmd()
        .args(["run", "--duration", "1s", "--metrics-json"])
        .arg(&json)
        .args(["--feed", "ws://no-such-host.invalid/?api-key=a,SECRET9"])
        .output()
        .unwrap();
    // Its only live feed never connected: nothing was seen, a runtime failure (1) that says so.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("no live feed ever connected (ws://no-such-host.invalid:80/"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("SECRET9"), "{}", text(&out));
    let m = metrics(&json);
    assert_eq!(m.feeds.len(), 1);
    assert!(m.feeds[0].connect_failures >= 1, "{:?}", m.feeds[0]);

    let out = sniffer_cmd()
        .env("SNIFFER_FEED", "wss://h.example/?api-key=SECRET9")
        .env("SNIFFER_PUBLISH", "nats://u:SECRET9@h")
        .args(["run", "--help"])
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(!text(&out).contains("SECRET9"), "{}", text(&out));

    let cfg = temp_path("empty.toml");
    std::fs::write(&cfg, "").unwrap();
    let out = sniffer_cmd()
        .env("SNIFFER_TLS_CA_FILE", "/nonexistent/ca.pem")
        .arg("check-config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("tls_ca_file"), "{}", text(&out));
}

/// Generated notification lines (logs kind only, for a `logs:` subscription) and their launches.
fn lines(seed: u64, n: usize) -> (Vec<Line>, usize) {
    let mix = PayloadMix {
        tx_create: 0,
        pump_swap_pool: 0,
        raydium_pool: 0,
        ..PayloadMix::default()
    };
    let mut g = PayloadGenerator::new(seed, mix, 0.0);
    let (mut out, mut launches) = (Vec::new(), 0);
    while out.len() < n {
        let mut l = Vec::new();
        match g.next_line(&mut l) {
            Expected::Launch { .. } => launches += 1,
            Expected::Nothing => {}
            Expected::Malformed(_) => continue,
        }
        out.push(Line::from_text(&l));
    }
    (out, launches)
}

fn metrics(path: &std::path::Path) -> MetricsSnapshot {
    let m: MetricsSnapshot = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert!(m.accounting_holds(), "{m:#?}");
    assert_eq!(m.in_flight, 0);
    m
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Candidate lines of `--candidates` without the per-run fields.
fn essence(jsonl: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(jsonl)
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("feed");
            o.remove("received_unix_ns");
            o.remove("received_unix_ms");
            v
        })
        .collect()
}

fn ws_args(url: &str) -> Vec<String> {
    [
        "run",
        "--feed",
        url,
        "--subscribe",
        "logs:6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn an_api_key_in_the_url_reaches_the_server_and_no_output() {
    let (lines, launches) = lines(31, 60);
    let plans = vec![
        Plan {
            send: Some(20),
            then: After::Drop,
            ..Plan::default()
        },
        Plan::default(),
    ];
    let server = WsServer::start(lines, plans, Duration::ZERO);
    let json = temp_path("secret-metrics.json");
    let url = server.url(&format!("/?api-key={SECRET}"));
    let out = sniffer_cmd()
        .env("SNIFFER_LOG", "trace")
        .args(ws_args(&url))
        .args(["--duration", "3s", "--candidates", "-", "--metrics-json"])
        .arg(&json)
        .output()
        .unwrap();
    assert_ok(&out);
    let log = server.stop();
    // The key was used: the server saw it in the request path, on both connections.
    assert_eq!(log.paths.len(), 2);
    assert!(
        log.paths.iter().all(|p| p.contains(SECRET)),
        "{:?}",
        log.paths
    );
    // No credentials in the URL: no basic authentication either.
    assert_eq!(log.authorizations, vec![None; 2]);
    let all = text(&out) + &std::fs::read_to_string(&json).unwrap();
    assert!(!all.contains(SECRET), "the API key leaked:\n{all}");
    assert!(!all.contains("api-key"), "{all}");
    // stdout holds the candidates only (the metrics went to --metrics-json).
    let rows = essence(&out.stdout);
    assert_eq!(rows.len(), launches);
    let m = metrics(&json);
    assert_eq!(m.candidates_sent, launches as u64);
    let f = &m.feeds[0];
    assert!(
        f.name.starts_with("ws://127.0.0.1:") && f.name.ends_with("/…"),
        "{}",
        f.name
    );
    assert_eq!((f.connects, f.reconnects, f.live), (2, 1, true));
}

/// `user:pass@` in a WebSocket URL is sent as HTTP basic authentication on every handshake
/// (percent-decoded, as curl does), not in the request line; the user and the password show in
/// no log line (at trace level, through a dropped connection and its reconnect), candidate line,
/// metric or feed name.
#[test]
fn basic_auth_credentials_reach_the_server_and_no_output() {
    use base64::Engine as _;
    const USER: &str = "sniper-user-7";
    const PASSWORD: &str = "pa%40ss-B4S1C-S3CRET";
    let (lines, launches) = lines(36, 40);
    let plans = vec![
        Plan {
            send: Some(15),
            then: After::Drop,
            ..Plan::default()
        },
        Plan::default(),
    ];
    let server = WsServer::start(lines, plans, Duration::ZERO);
    let json = temp_path("basic-auth-metrics.json");
    let url = format!("ws://{USER}:{PASSWORD}@{}/", server.addr);
    let out = sniffer_cmd()
        .env("SNIFFER_LOG", "trace")
        .args(ws_args(&url))
        .args(["--duration", "3s", "--candidates", "-", "--metrics-json"])
        .arg(&json)
        .output()
        .unwrap();
    assert_ok(&out);
    let addr = server.addr;
    let log = server.stop();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:pa@ss-B4S1C-S3CRET"))
    );
    assert_eq!(log.authorizations, vec![Some(basic.clone()); 2]);
    assert!(log.paths.iter().all(|p| p == "/"), "{:?}", log.paths);
    let all = text(&out) + &std::fs::read_to_string(&json).unwrap();
    for secret in ["B4S1C-S3CRET", USER, &basic[6..]] {
        assert!(!all.contains(secret), "{secret} leaked:\n{all}");
    }
    assert_eq!(essence(&out.stdout).len(), launches);
    let m = metrics(&json);
    assert_eq!(m.candidates_sent, launches as u64);
    let f = &m.feeds[0];
    assert_eq!(f.name, format!("ws://{addr}"));
    assert_eq!((f.connects, f.reconnects), (2, 1));
}

#[test]
fn two_endpoints_race_and_the_run_ends_with_a_race_summary() {
    let (lines, launches) = lines(32, 40);
    let a = WsServer::start(
        lines.clone(),
        vec![Plan::default()],
        Duration::from_millis(2),
    );
    let b = WsServer::start(lines, vec![Plan::default()], Duration::from_millis(2));
    let json = temp_path("race-metrics.json");
    let out = sniffer_cmd()
        .env("SNIFFER_LOG", "info")
        .args(ws_args(&a.url("/")))
        .args(["--feed", &b.url("/"), "--duration", "2s", "--metrics-json"])
        .arg(&json)
        .output()
        .unwrap();
    assert_ok(&out);
    let m = metrics(&json);
    assert_eq!(m.candidates_sent, launches as u64);
    assert_eq!(m.duplicates_dropped, launches as u64);
    let (fa, fb) = (&m.feeds[0], &m.feeds[1]);
    assert_eq!(fa.wins + fb.wins, launches as u64);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let race = stderr
        .lines()
        .find(|l| l.contains("race: "))
        .unwrap_or_else(|| panic!("no race summary:\n{stderr}"));
    assert!(
        race.contains(&format!("{} won {}", fa.name, fa.wins)),
        "{race}"
    );
    assert!(
        race.contains(&format!("{} won {}", fb.name, fb.wins)),
        "{race}"
    );
}

/// The default live path (a pump.fun `logs:` subscription) names the bonding curve but not its
/// token account; the candidate a bot reads from `--candidates` still carries the real create's
/// associated bonding curve (account 3 of its instruction), derived from the curve and the mint.
#[test]
fn a_logs_only_launch_carries_its_associated_bonding_curve() {
    let line = samples::logs_notification(
        samples::SIG,
        samples::SLOT,
        Value::Null,
        &samples::create_logs(),
    );
    let server = WsServer::start(
        vec![Line::from_text(line.as_bytes())],
        vec![Plan::default()],
        Duration::ZERO,
    );
    let out = sniffer_cmd()
        .args(ws_args(&server.url("/")))
        .args(["--duration", "1s", "--candidates", "-"])
        .output()
        .unwrap();
    assert_ok(&out);
    server.stop();
    let rows = essence(&out.stdout);
    assert_eq!(rows.len(), 1, "{}", text(&out));
    let c = &rows[0];
    assert_eq!(c["mint"], samples::MINT);
    assert_eq!(c["market"], samples::BONDING_CURVE);
    assert_eq!(
        c["market_token_account"],
        "6eTEMemDi58KJE1rPEagqMsgn34xUWTkzdZTKM8EVbYF"
    );
    assert_eq!(c["token_program"], "token");
}

/// `tls_ca_file` (here from `SNIFFER_TLS_CA_FILE`) makes a `wss://` node with a private CA
/// trusted; a file that holds no certificate is bad configuration: exit 2 naming the key,
/// before any connection.
#[test]
fn tls_ca_file_trusts_a_private_node_and_a_bad_one_exits_2() {
    use base64::Engine as _;
    let (lines, launches) = lines(35, 20);
    let (tls, der) = wsserver::self_signed_tls();
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).unwrap());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    let ca = temp_path("ws-ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let server = WsServer::start_tls(lines, vec![Plan::default()], Duration::ZERO, tls);
    let json = temp_path("tls-metrics.json");
    let out = sniffer_cmd()
        .env("SNIFFER_TLS_CA_FILE", &ca)
        .args(ws_args(&server.tls_url("/")))
        .args(["--duration", "2s", "--metrics-json"])
        .arg(&json)
        .output()
        .unwrap();
    assert_ok(&out);
    drop(server);
    let m = metrics(&json);
    assert_eq!(m.candidates_sent, launches as u64, "{}", text(&out));
    assert_eq!((m.feeds[0].connects, m.feeds[0].connect_failures), (1, 0));

    let not_pem = temp_path("not-a-ca.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let out = sniffer_cmd()
        .env("SNIFFER_TLS_CA_FILE", &not_pem)
        .args(ws_args("wss://localhost:1/"))
        .args(["--duration", "1s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tls_ca_file"), "{err}");
    assert!(err.contains("no PEM certificate"), "{err}");
}

#[test]
fn a_recorded_live_session_replays_to_the_same_candidates() {
    let (lines, launches) = lines(33, 50);
    let server = WsServer::start(lines, vec![Plan::default()], Duration::ZERO);
    let rec = temp_path("live.rec");
    let live = sniffer_cmd()
        .args(ws_args(&server.url("/")))
        .args(["--duration", "2s", "--candidates", "-", "--record"])
        .arg(&rec)
        .output()
        .unwrap();
    assert_ok(&live);
    let replay = sniffer_cmd()
        .args(["run", "--speed", "0", "--candidates", "-", "--feed"])
        .arg(format!("replay:{}", rec.display()))
        .output()
        .unwrap();
    assert_ok(&replay);
    // Same candidates, field for field; the order differs only where a flat-out replay lets the
    // High lane overtake (priority lanes), so compare them sorted.
    let sorted = |mut v: Vec<Value>| {
        v.sort_by_key(|c| c["mint"].as_str().unwrap().to_owned());
        v
    };
    let (a, b) = (
        sorted(essence(&live.stdout)),
        sorted(essence(&replay.stdout)),
    );
    assert_eq!(a.len(), launches);
    assert_eq!(a, b);
}

#[test]
fn oversized_frames_are_skipped_with_bounded_memory() {
    let (lines, launches) = lines(34, 20);
    let big = 48 << 20;
    let plans = vec![Plan {
        extras: vec![
            Extra::Oversized(big),
            Extra::Oversized(big),
            Extra::Oversized(big),
        ],
        ..Plan::default()
    }];
    let server = WsServer::start(lines, plans, Duration::ZERO);
    let json = temp_path("big-metrics.json");
    let child = sniffer_cmd()
        .args(ws_args(&server.url("/")))
        .args(["--metrics-interval", "50ms", "--metrics-json"])
        .arg(&json)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the three frames were read and every launch delivered (a live feed runs until
    // a signal), then read the process's peak RSS.
    let until = Instant::now() + Duration::from_secs(60);
    let mut done = false;
    while !done && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
        done = std::fs::read(&json)
            .ok()
            .and_then(|b| serde_json::from_slice::<MetricsSnapshot>(&b).ok())
            .is_some_and(|m| {
                m.tx_malformed_by_reason.get("too_long") == Some(&3)
                    && m.candidates_sent == launches as u64
            });
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let hwm_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    // SIGTERM: drain and exit 0.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    assert_ok(&out);
    assert!(done, "the frames were not all handled");
    // 144 MiB went through the socket; the process never held one frame.
    assert!(hwm_kb < 40 * 1024, "peak RSS {hwm_kb} kB");
    let m = metrics(&json);
    assert_eq!(m.tx_malformed_by_reason["too_long"], 3);
    assert_eq!(m.feeds[0].reconnects, 0);
}

#[test]
fn a_grpc_feed_takes_its_token_from_the_environment_and_never_shows_it() {
    let token = "grpc-T0KEN-never-shown";
    let tx = geyserserver::Tx {
        slot: 9,
        signature: vec![3; 64],
        account_keys: vec![vec![7; 32]],
        instructions: vec![],
        inner: vec![],
        logs: vec![],
        loaded_writable: vec![],
        loaded_readonly: vec![],
        failed: false,
    };
    let server = geyserserver::GeyserTestServer::start(
        vec![tx],
        vec![geyserserver::Plan::default()],
        Some(token),
        Duration::ZERO,
    );
    let json = temp_path("grpc-metrics.json");
    let out = sniffer_cmd()
        .env("SNIFFER_LOG", "trace")
        .env("SNIFFER_X_TOKEN", token)
        .args([
            "run",
            "--feed",
            &server.url(),
            "--duration",
            "1s",
            "--metrics-json",
        ])
        .arg(&json)
        .output()
        .unwrap();
    assert_ok(&out);
    assert_eq!(server.log().tokens, vec![Some(token.to_owned())]);
    let all = text(&out) + &std::fs::read_to_string(&json).unwrap();
    assert!(!all.contains(token), "{all}");
    let m = metrics(&json);
    let f = &m.feeds[0];
    assert_eq!((f.connects, f.refusals, f.live), (1, 0, true), "{f:#?}");
    assert_eq!(m.tx_seen, 1);
    let names: BTreeSet<_> = m.feeds.iter().map(|f| f.name.clone()).collect();
    assert_eq!(names.len(), 1);
}

/// A transaction the gRPC test server streams (no launch: it counts in `tx_seen`).
fn grpc_tx(sig: u8) -> geyserserver::Tx {
    geyserserver::Tx {
        slot: 9,
        signature: vec![sig; 64],
        account_keys: vec![vec![7; 32]],
        instructions: vec![],
        inner: vec![],
        logs: vec![],
        loaded_writable: vec![],
        loaded_readonly: vec![],
        failed: false,
    }
}

/// Two gRPC feeds of the config file race, each with its own token: one from the variable its
/// `x_token_env` names, one from its `token_file`; `SNIFFER_X_TOKEN` (wrong for both) is not
/// used for them. Each server sees its own token and the compression asked (`compression =` in
/// the table, `?compression=` on the URL), `grpc+http://` and `http://` with `kind = "grpc"`
/// are both gRPC, and no token shows in stderr, stdout or the metrics.
#[test]
fn two_grpc_feeds_of_the_config_file_each_send_their_own_token() {
    const A: &str = "laser-T0KEN-aaaa-never-shown";
    const B: &str = "triton-T0KEN-bbbb-never-shown";
    let plan = || vec![geyserserver::Plan::default()];
    let a =
        geyserserver::GeyserTestServer::start(vec![grpc_tx(1)], plan(), Some(A), Duration::ZERO);
    let b =
        geyserserver::GeyserTestServer::start(vec![grpc_tx(2)], plan(), Some(B), Duration::ZERO);
    let token_file = temp_path("feed-b.token");
    std::fs::write(&token_file, format!("{B}\n")).unwrap();
    let cfg = temp_path("two-grpc.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[feeds]]\nurl = \"grpc+http://{}\"\nx_token_env = \"SNIFFER_TEST_LASER_TOKEN\"\n\
             compression = \"zstd\"\n\n[[feeds]]\nurl = \"http://{}/?compression=gzip\"\n\
             kind = \"grpc\"\ntoken_file = {:?}\n",
            a.addr,
            b.addr,
            token_file.display().to_string()
        ),
    )
    .unwrap();
    let out = sniffer_cmd()
        .env("SNIFFER_TEST_LASER_TOKEN", A)
        .arg("check-config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert_ok(&out);
    // `--feed` replaces the file's feeds, and says so.
    let out = sniffer_cmd()
        .env("SNIFFER_TEST_LASER_TOKEN", A)
        .args([
            "run",
            "--feed",
            "synthetic",
            "--duration",
            "100ms",
            "--config",
        ])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(
        text(&out).contains("[[feeds]] are not used"),
        "{}",
        text(&out)
    );
    assert_eq!((a.log().subscribes, b.log().subscribes), (0, 0));
    let json = temp_path("two-grpc-metrics.json");
    let out = sniffer_cmd()
        .env("SNIFFER_LOG", "trace")
        .env("SNIFFER_TEST_LASER_TOKEN", A)
        .env("SNIFFER_X_TOKEN", "the-wrong-one")
        .arg("run")
        .arg("--config")
        .arg(&cfg)
        .args(["--duration", "2s", "--metrics-json"])
        .arg(&json)
        .output()
        .unwrap();
    assert_ok(&out);
    let (la, lb) = (a.log(), b.log());
    assert_eq!(la.tokens, vec![Some(A.to_owned())]);
    assert_eq!(lb.tokens, vec![Some(B.to_owned())]);
    assert_eq!((la.refused, lb.refused), (0, 0));
    assert_eq!(la.accept_encodings, vec![Some("zstd,identity".to_owned())]);
    assert_eq!(lb.accept_encodings, vec![Some("gzip,identity".to_owned())]);
    let all = text(&out) + &std::fs::read_to_string(&json).unwrap();
    for secret in [A, B, "T0KEN"] {
        assert!(!all.contains(secret), "{secret} leaked:\n{all}");
    }
    let m = metrics(&json);
    assert_eq!(m.tx_seen, 2);
    let names: Vec<_> = m.feeds.iter().map(|f| f.name.clone()).collect();
    assert_eq!(
        names,
        [
            format!("grpc+http://{}", a.addr),
            format!("http://{}", b.addr)
        ]
    );
    assert!(
        m.feeds
            .iter()
            .all(|f| f.connects == 1 && f.refusals == 0 && f.live),
        "{m:#?}"
    );
}

/// `https://` names no feed kind by itself: the error (exit 2) says how to name a gRPC one. A
/// `[[feeds]]` table with an unknown key, a bad value, a token variable that is not set or a
/// kind its URL contradicts is refused before anything starts (exit 2), naming the key and the
/// value, never a URL's secret; `check-config` refuses the same tables.
#[test]
fn https_needs_a_kind_and_bad_feeds_tables_exit_2_naming_the_fix() {
    let out = sniffer_cmd()
        .args([
            "run",
            "--duration",
            "1s",
            "--feed",
            "https://h.example/?api-key=SECRET9",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    for hint in ["grpc+https://", "kind = \"grpc\"", "[[feeds]]", "wss://"] {
        assert!(text(&out).contains(hint), "{hint}: {}", text(&out));
    }
    assert!(!text(&out).contains("SECRET9"), "{}", text(&out));
    let url = "url = \"https://u:SECRET9@h.example/?api-key=SECRET9\"";
    for (table, says) in [
        (
            format!("{url}\nkind = \"grpc\"\ncompresion = \"zstd\""),
            "compresion = \"zstd\"",
        ),
        (
            format!("{url}\nkind = \"grpc\"\ncompression = \"lz4\""),
            "compression = \"lz4\"",
        ),
        (format!("{url}\nkind = \"gprc\""), "kind = \"gprc\""),
        (
            format!("{url}\nkind = \"grpc\"\nx_token = \"SECRET9\""),
            "unknown key `x_token`",
        ),
        (url.to_owned(), "grpc+https://"),
        (format!("{url}\nkind = \"ws\""), "not a ws feed"),
        (
            format!("{url}\nkind = \"grpc\"\nx_token_env = \"SNIFFER_TEST_UNSET_VAR\""),
            "SNIFFER_TEST_UNSET_VAR is not set",
        ),
        (
            "url = \"wss://h.example/?api-key=SECRET9\"\ncompression = \"zstd\"".to_owned(),
            "are for gRPC feeds",
        ),
    ] {
        let cfg = temp_path("bad-feeds.toml");
        std::fs::write(&cfg, format!("[[feeds]]\n{table}\n")).unwrap();
        for cmd in [
            &["run", "--duration", "1s", "--config"][..],
            &["check-config"][..],
        ] {
            let out = sniffer_cmd().args(cmd).arg(&cfg).output().unwrap();
            let t = text(&out);
            assert_eq!(out.status.code(), Some(2), "{table}: {t}");
            assert!(t.contains(says), "{table}: {t}");
            assert!(t.contains("entry 1"), "{table}: {t}");
            assert!(!t.contains("SECRET9"), "{table}: {t}");
        }
    }
}
