//! The Redis write buffer (`--buffer`) with real servers: a `kill -9` of the sniffer loses
//! nothing Redis acknowledged (the restart writes it; SQLite and PostgreSQL), and a Redis killed
//! mid-run is counted while the run goes on and the store still gets everything.
#![cfg(feature = "cli")]

mod common;
mod stores;

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use common::{assert_ok, sniffer_cmd};
use sniffer::sink::{AggregateStore, LaunchRow, PgStore, PgTarget};
use stores::{metrics_when, payload_lines, Postgres, Redis, TempDir};

/// What two runs of the same input agree on: identity, slots and all-time totals (receive times,
/// and the windows computed from them, differ from run to run).
type Essence = (
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<u64>,
    u64,
    [u64; 5],
);

fn essence(rows: &[LaunchRow]) -> Vec<Essence> {
    let mut v: Vec<Essence> = rows
        .iter()
        .map(|r| {
            (
                r.mint.to_string(),
                r.creator.map(|c| c.to_string()),
                r.kind.map(|k| format!("{k:?}")),
                r.name.clone(),
                r.uri.clone(),
                r.launch_slot,
                r.last_slot,
                [
                    r.trade_count,
                    r.buy_count,
                    r.sell_count,
                    r.buy_lamports_total,
                    r.sell_lamports_total,
                ],
            )
        })
        .collect();
    v.sort();
    v
}

fn sqlite_rows(db: &Path) -> Vec<LaunchRow> {
    AggregateStore::open_read_only(db)
        .unwrap()
        .all_rows()
        .unwrap()
}

fn pg_rows(url: &str) -> Vec<LaunchRow> {
    PgStore::connect(PgTarget::parse(url, None).unwrap())
        .unwrap()
        .all_rows()
        .unwrap()
}

/// The aggregates flags of a run: `--sqlite PATH` or `--store URL`.
enum Store<'a> {
    Sqlite(&'a Path),
    Postgres(&'a str),
}

impl Store<'_> {
    fn args(&self) -> Vec<String> {
        match self {
            Store::Sqlite(p) => vec!["--sqlite".into(), p.display().to_string()],
            Store::Postgres(u) => vec!["--store".into(), (*u).to_owned()],
        }
    }
}

/// A run to its end on `input` (a plain lines file); returns the final metrics.
fn run_to_end(input: &Path, store: &Store<'_>, buffer: Option<&str>) -> serde_json::Value {
    let mut cmd = sniffer_cmd();
    cmd.args(["run", "--policy", "block", "--feed"])
        .arg(format!("replay:{}", input.display()))
        .args(store.args());
    if let Some(url) = buffer {
        cmd.args(["--buffer", url]);
    }
    let out = cmd.output().unwrap();
    assert_ok(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A run reading `lines` from stdin with the buffer and store flushes an hour apart, so that
/// until the end nothing but Redis holds the aggregates. Returns the child (stdin still open:
/// the run goes on) once the sink has applied `events` events and Redis acknowledged them all.
fn buffered_run(
    dir: &TempDir,
    lines: &[String],
    events: u64,
    store: &Store<'_>,
    redis: &str,
) -> (Child, std::process::ChildStdin) {
    let metrics = dir.path().join("metrics.json");
    let mut child = sniffer_cmd()
        .args(["run", "--policy", "block", "--feed", "stdin"])
        .args(store.args())
        .args(["--buffer", redis, "--metrics-interval", "50ms"])
        .arg("--metrics-json")
        .arg(&metrics)
        .env("SNIFFER_FLUSH_INTERVAL", "1h")
        .env("SNIFFER_FULL_FLUSH_INTERVAL", "1h")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for l in lines {
        writeln!(stdin, "{l}").unwrap();
    }
    stdin.flush().unwrap();
    metrics_when(&metrics, Duration::from_secs(60), |m| {
        let s = &m["sink"];
        s["events_applied"] == events
            && s["buffer"]["offered"] == s["buffer"]["acknowledged"]
            && s["buffer"]["acknowledged"].as_u64() > Some(0)
    });
    (child, stdin)
}

fn write_lines(dir: &TempDir, name: &str, lines: &[String]) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

fn pending(redis: &Redis) -> usize {
    redis::cmd("SCARD")
        .arg("sniffer:pending")
        .query(&mut redis.connection(0))
        .unwrap()
}

/// SQLite: everything Redis acknowledged before the `kill -9` is in the store after the restart
/// (which reads nothing new), exactly as a clean run of the same input wrote it.
#[test]
fn kill_9_then_restart_loses_nothing_redis_acknowledged_sqlite() {
    let dir = TempDir::new("buf-sqlite");
    let lines = payload_lines(2000, 400);
    let input = write_lines(&dir, "input.jsonl", &lines);
    let clean_db = dir.path().join("clean.db");
    let clean = run_to_end(&input, &Store::Sqlite(&clean_db), None);
    let events = clean["sink"]["events_applied"].as_u64().unwrap();
    let want = essence(&sqlite_rows(&clean_db));
    assert!(want.iter().any(|r| r.7[0] > 0), "the input holds trades");

    let redis = Redis::start();
    let db = dir.path().join("crash.db");
    let (mut child, stdin) = buffered_run(&dir, &lines, events, &Store::Sqlite(&db), &redis.url(0));
    child.kill().unwrap(); // SIGKILL, mid-run: stdin is still open
    child.wait().unwrap();
    drop(stdin);
    assert!(
        sqlite_rows(&db).is_empty(),
        "nothing was flushed before the crash"
    );
    assert_eq!(pending(&redis), want.len(), "Redis holds every mint");

    let empty = write_lines(&dir, "empty.jsonl", &[]);
    let after = run_to_end(&empty, &Store::Sqlite(&db), Some(&redis.url(0)));
    assert_eq!(after["sink"]["buffer"]["recovered_mints"], want.len());
    assert_eq!(after["sink"]["buffer"]["expired_mints"], 0);
    assert_eq!(essence(&sqlite_rows(&db)), want);
    assert_eq!(pending(&redis), 0, "recovered mints leave the pending set");
}

/// PostgreSQL: the same crash, and a restart that replays the whole input again (a feed that
/// starts over): trades counted by identity, the totals are a clean run's.
#[test]
fn kill_9_then_restart_keeps_postgres_totals_exact() {
    let dir = TempDir::new("buf-pg");
    let lines = payload_lines(2000, 400);
    let input = write_lines(&dir, "input.jsonl", &lines);
    let pg = Postgres::start();
    let clean_url = pg.database("clean");
    let clean = run_to_end(&input, &Store::Postgres(&clean_url), None);
    let events = clean["sink"]["events_applied"].as_u64().unwrap();
    let want = essence(&pg_rows(&clean_url));
    assert!(want.iter().any(|r| r.7[0] > 0), "the input holds trades");

    let redis = Redis::start();
    let url = pg.database("crash");
    let (mut child, stdin) =
        buffered_run(&dir, &lines, events, &Store::Postgres(&url), &redis.url(0));
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdin);
    assert!(
        pg_rows(&url).is_empty(),
        "nothing was flushed before the crash"
    );

    let after = run_to_end(&input, &Store::Postgres(&url), Some(&redis.url(0)));
    assert_eq!(after["sink"]["buffer"]["recovered_mints"], want.len());
    assert_eq!(
        essence(&pg_rows(&url)),
        want,
        "recovered and replayed: counted once"
    );
    assert_eq!(pending(&redis), 0);
}

/// Redis dies mid-run: the failures are counted, the events stay in memory (counted
/// `unprotected` once the store wrote them), nothing blocks, the run ends with exit 0 and the
/// store holds what a clean run writes.
#[test]
fn redis_killed_mid_run_is_counted_and_the_run_goes_on() {
    let dir = TempDir::new("buf-down");
    let lines = payload_lines(2000, 400);
    let (first, second) = lines.split_at(lines.len() / 2);
    let input = write_lines(&dir, "input.jsonl", &lines);
    let clean_db = dir.path().join("clean.db");
    run_to_end(&input, &Store::Sqlite(&clean_db), None);
    let first_input = write_lines(&dir, "first.jsonl", first);
    let first_db = dir.path().join("first.db");
    let first_events = run_to_end(&first_input, &Store::Sqlite(&first_db), None)["sink"]
        ["events_applied"]
        .as_u64()
        .unwrap();

    let mut redis = Redis::start();
    let db = dir.path().join("down.db");
    let (child, mut stdin) = buffered_run(
        &dir,
        first,
        first_events,
        &Store::Sqlite(&db),
        &redis.url(0),
    );
    redis.kill_9();
    for l in second {
        writeln!(stdin, "{l}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("metrics.json")).unwrap()).unwrap();
    let b = &m["sink"]["buffer"];
    let n = |k: &str| b[k].as_u64().unwrap();
    assert!(n("failures") >= 1, "{b:#}");
    assert_eq!(b["connected"], false);
    assert!(
        n("unprotected") > 0,
        "the second half was never crash-safe: {b:#}"
    );
    assert_eq!(
        n("offered"),
        n("acknowledged") + n("refused") + n("unprotected") + n("unacknowledged"),
        "{b:#}"
    );
    assert_eq!(n("unacknowledged"), 0);
    assert_eq!(m["sink"]["touched_pending"], 0);
    assert_eq!(essence(&sqlite_rows(&db)), essence(&sqlite_rows(&clean_db)));
}

/// Unreachable servers are clear errors (exit 1) naming the store, and no password, from the URL
/// or the environment, ever shows; malformed URLs and clashing flags are usage errors (exit 2).
#[test]
fn unreachable_stores_are_clear_errors_without_their_passwords() {
    let port = stores::free_port();
    let dir = TempDir::new("unreachable");
    let db = dir.path().join("agg.db").display().to_string();
    let cases: [(&[&str], &str, &str); 4] = [
        (
            &["--sqlite", &db, "--buffer"],
            "redis://:hunter2@127.0.0.1:PORT/0",
            "--buffer",
        ),
        (
            &["--store"],
            "postgres://bot:hunter2@127.0.0.1:PORT/agg",
            "--store",
        ),
        (&["--store"], "postgres://bot@127.0.0.1:PORT/agg", "--store"),
        (
            &["--history"],
            "clickhouse://bot:hunter2@127.0.0.1:PORT/hist",
            "--history",
        ),
    ];
    for (flags, url, name) in cases {
        let url = url.replace("PORT", &port.to_string());
        let out = sniffer_cmd()
            .args(["run", "--feed", "synthetic", "--duration", "10ms"])
            .args(flags)
            .arg(&url)
            .env("SNIFFER_PG_PASSWORD", "env-secret")
            .env("SNIFFER_REDIS_PASSWORD", "env-secret")
            .env("SNIFFER_CLICKHOUSE_PASSWORD", "env-secret")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{url}: {text}");
        assert!(text.contains(name), "{url}: {text}");
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{url}: {text}");
        for secret in ["hunter2", "env-secret"] {
            assert!(!text.contains(secret), "{url} shows a password: {text}");
        }
    }
    for (args, why) in [
        (vec!["--store", "mysql://h/db"], "postgres://"),
        (
            vec!["--buffer", "redis://127.0.0.1:1/0"],
            "needs --sqlite or --store",
        ),
        (
            vec!["--sqlite", "/dev/null", "--store", "postgres://h/db"],
            "give one",
        ),
        (vec!["--history", "clickhouse://h:1"], "names no database"),
    ] {
        let out = sniffer_cmd()
            .args(["run", "--feed", "synthetic", "--duration", "10ms"])
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(why), "{args:?}: {err}");
    }
}
