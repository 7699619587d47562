//! The aggregates store on a real PostgreSQL (Debian's server, run as an unprivileged user by
//! the test): the delta flush writes only the touched rows, every batch counts a trade once
//! however often it is written and whoever writes it, and two sniffers sharing one database
//! write the totals of one.
#![cfg(feature = "cli")]

mod common;
mod stores;

use std::collections::BTreeMap;

use sniffer::decode::TradeEvent;
use sniffer::sink::{
    AggregateState, FlushMode, LaunchRow, PgStore, PgTarget, RowWrite, Store, TradeMark,
};
use sniffer::{PremintCandidate, Pubkey};
use stores::Postgres;

fn key(n: u8) -> Pubkey {
    Pubkey([n; 32])
}

fn trade(mint: u8, user: u8, sol: u64, ts: i64) -> TradeEvent {
    TradeEvent {
        mint: key(mint),
        user: key(user),
        sol_amount: sol,
        token_amount: 1,
        is_buy: true,
        timestamp: Some(ts),
        ..Default::default()
    }
}

fn store(url: &str) -> PgStore {
    PgStore::connect(PgTarget::parse(url, None).unwrap()).unwrap()
}

/// Each mint's row version (`xmin`: the transaction that last wrote it).
fn versions(pg: &Postgres, db: &str) -> BTreeMap<String, String> {
    pg.client(db)
        .query("SELECT mint, xmin::text FROM launches", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[test]
fn delta_flush_writes_only_the_touched_rows() {
    let pg = Postgres::start();
    let url = pg.database("delta");
    let mut s = store(&url);
    let mut state = AggregateState::new();
    state.set_trade_log(true);
    let now = 1_764_000_000_000;
    for m in 1..=10u8 {
        let c = PremintCandidate {
            mint: key(m),
            creator: key(100),
            slot: u64::from(m),
            ..Default::default()
        };
        state.record_launch(&c, None, now);
        state.record_trade(&trade(m, 50, 1_000, 1_764_000_000), 20, now);
    }
    let first = s.flush(&mut state, FlushMode::Delta, now, 4).unwrap();
    assert_eq!((first.rows, first.batches), (10, 3));
    let before = versions(&pg, "delta");
    assert_eq!(before.len(), 10);

    for m in [3u8, 7] {
        state.record_trade(&trade(m, 51, 5, 1_764_000_001), 21, now + 1_000);
    }
    let delta = s
        .flush(&mut state, FlushMode::Delta, now + 2_000, 4)
        .unwrap();
    assert_eq!((delta.rows, delta.batches), (2, 1));
    let after = versions(&pg, "delta");
    let changed: Vec<String> = after
        .iter()
        .filter(|(m, v)| before[*m] != **v)
        .map(|(m, _)| m.clone())
        .collect();
    assert_eq!(changed, [key(3).to_string(), key(7).to_string()]);
    assert_eq!(s.get(&key(3)).unwrap().unwrap().trade_count, 2);
    assert_eq!(s.get(&key(4)).unwrap().unwrap().trade_count, 1);

    let idle = s
        .flush(&mut state, FlushMode::Delta, now + 3_000, 4)
        .unwrap();
    assert_eq!((idle.rows, idle.batches), (0, 0));
    assert_eq!(
        versions(&pg, "delta"),
        after,
        "nothing touched, nothing written"
    );
    // The full flush is the safety net: every live row.
    assert_eq!(
        s.flush(&mut state, FlushMode::Full, now + 4_000, 4)
            .unwrap()
            .rows,
        10
    );
}

/// The same batch written twice (a retry after a lost acknowledgement, a recovery from the
/// write buffer), and overlapping batches from two stores (two sniffers): each trade counts once,
/// trades only one of them saw count too, identity fields keep their first value.
#[test]
fn trades_count_once_by_identity_whoever_writes_them_and_however_often() {
    let pg = Postgres::start();
    let url = pg.database("ids");
    let (mut a, mut b) = (store(&url), store(&url));
    let row = |trades: u64, name: &str| LaunchRow {
        mint: key(1),
        creator: Some(key(2)),
        name: name.into(),
        trade_count: trades,
        updated_ms: 10,
        ..LaunchRow::default()
    };
    let mark = |id: u64, lamports: u64| TradeMark {
        id,
        is_buy: id.is_multiple_of(2),
        lamports,
    };
    let batch = |trades: Vec<TradeMark>, name: &str| {
        vec![RowWrite {
            row: row(trades.len() as u64, name),
            trades,
            id: None,
        }]
    };
    a.write_batch(&mut batch(vec![mark(10, 100), mark(11, 7)], "first"))
        .unwrap();
    a.write_batch(&mut batch(vec![mark(10, 100), mark(11, 7)], "first"))
        .unwrap();
    b.write_batch(&mut batch(
        vec![mark(11, 7), mark(12, 40), mark(u64::MAX, 1)],
        "second",
    ))
    .unwrap();
    let r = a.get(&key(1)).unwrap().unwrap();
    assert_eq!(r.name, "first");
    assert_eq!(r.creator, Some(key(2)));
    assert_eq!((r.trade_count, r.buy_count, r.sell_count), (4, 2, 2));
    assert_eq!((r.buy_lamports_total, r.sell_lamports_total), (140, 8));
    // Trade identities age out with prune_threshold, at each full flush.
    let n = pg
        .client("ids")
        .query_one("SELECT count(*) FROM trade_ids", &[])
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(n, 4);
    assert_eq!(a.prune(i64::MAX).unwrap(), 4);
}

/// The same input through SQLite and through PostgreSQL, shared (trades counted by identity)
/// and with one writer (absolute totals): the same rows (one schema, one flush).
#[test]
fn sqlite_and_postgres_hold_the_same_aggregates() {
    let dir = stores::TempDir::new("pg-same");
    let input = dir.path().join("input.jsonl");
    std::fs::write(&input, stores::payload_lines(2000, 300).join("\n") + "\n").unwrap();
    let pg = Postgres::start();
    let url = pg.database("same");
    let one = pg.database("one") + "?writers=one";
    let db = dir.path().join("agg.db");
    for store in [
        vec!["--sqlite".to_owned(), db.display().to_string()],
        vec!["--store".into(), url.clone()],
        vec!["--store".into(), one.clone()],
    ] {
        let out = common::sniffer_cmd()
            .args(["run", "--policy", "block", "--feed"])
            .arg(format!("replay:{}", input.display()))
            .args(&store)
            .output()
            .unwrap();
        common::assert_ok(&out);
    }
    let lite = sniffer::sink::AggregateStore::open_read_only(&db)
        .unwrap()
        .all_rows()
        .unwrap();
    let pg_rows = store(&url).all_rows().unwrap();
    let strip = |rows: Vec<LaunchRow>| -> Vec<LaunchRow> {
        rows.into_iter()
            .map(|r| LaunchRow {
                first_seen_ms: 0,
                last_seen_ms: 0,
                updated_ms: 0,
                windows: Default::default(),
                ..r
            })
            .collect()
    };
    assert!(lite.iter().any(|r| r.trade_count > 0));
    assert_eq!(strip(pg_rows), strip(lite.clone()));
    assert_eq!(strip(store(&one).all_rows().unwrap()), strip(lite));
    let ids = |db: &str| -> i64 {
        pg.client(db)
            .query_one("SELECT count(*) FROM trade_ids", &[])
            .unwrap()
            .get(0)
    };
    assert!(ids("same") > 0);
    assert_eq!(ids("one"), 0, "one writer keeps no trade identities");
}

/// Two sniffers reading the same input into one database at the same time write what one
/// sniffer writes.
#[test]
fn two_sniffers_on_one_database_write_the_totals_of_one() {
    let dir = stores::TempDir::new("pg-two");
    let input = dir.path().join("input.jsonl");
    std::fs::write(&input, stores::payload_lines(2000, 400).join("\n") + "\n").unwrap();
    let pg = Postgres::start();
    let run = |url: &str| {
        common::sniffer_cmd()
            .args(["run", "--policy", "block", "--feed"])
            .arg(format!("replay:{}", input.display()))
            .args(["--store", url])
            // Small, frequent batches: the two processes' transactions interleave.
            .env("SNIFFER_FLUSH_INTERVAL", "20ms")
            .env("SNIFFER_FLUSH_BATCH_SIZE", "16")
            .env("SNIFFER_PLAIN_RATE", "4000")
            .spawn()
            .unwrap()
    };
    let one_url = pg.database("one");
    assert!(run(&one_url).wait().unwrap().success());
    let two_url = pg.database("two");
    let (mut x, mut y) = (run(&two_url), run(&two_url));
    assert!(x.wait().unwrap().success());
    assert!(y.wait().unwrap().success());
    let totals = |url: &str| {
        let rows = store(url).all_rows().unwrap();
        let sum = |f: fn(&LaunchRow) -> u64| rows.iter().map(f).sum::<u64>();
        (
            rows.len(),
            sum(|r| r.trade_count),
            sum(|r| r.buy_count),
            sum(|r| r.buy_lamports_total),
            sum(|r| r.sell_lamports_total),
            rows.iter()
                .map(|r| (r.mint, r.creator, r.launch_slot, r.trade_count))
                .collect::<Vec<_>>(),
        )
    };
    let one = totals(&one_url);
    assert!(one.1 > 0, "the input holds trades");
    assert_eq!(totals(&two_url), one);
}
