//! The seed's claim, measured (seed 003: "event → Redis buffer → batch DB sync" ends PostgreSQL
//! checkpoint storms): the same simulated hour of launch and trade events written to PostgreSQL
//! three ways, side by side:
//!
//! 1. **per event**: one statement per event, each its own transaction (what the seed's handlers
//!    did: an upsert per launch, an update per trade);
//! 2. **delta flush**: the aggregates sink's own path (`AggregateState` + `PgStore`): every 5 s
//!    the touched mints, every 60 s every live mint, 500 rows per statement and transaction;
//! 3. **Redis buffer + batch sync**: every burst (simulated second) mirrored to Redis by the
//!    sink's `RedisBuffer`, the store written every 5 minutes in batches of 100 (the seed's
//!    numbers), committed mints removed from Redis' pending set.
//!
//! For each: statements and transactions sent, WAL bytes (`pg_current_wal_insert_lsn()` before
//! and after; full-page writes on, a `CHECKPOINT` before each way), rows in `launches`, and wall
//! time. The hour runs on a simulated clock, as fast as the database takes it. Real servers are
//! started on loopback (the tests' helpers).
//!
//! ```text
//! cargo bench --features cli --bench pg_wal                       # 1 200 launches, 60 000 trades
//! SNIFFER_WAL_LAUNCHES=3000 SNIFFER_WAL_TRADES=200000 cargo bench --features cli --bench pg_wal
//! ```

#[path = "../tests/stores/mod.rs"]
mod stores;

use std::time::{Duration, Instant};

use sniffer::decode::TradeEvent;
use sniffer::sink::{
    flush_state, AggregateState, BufferConfig, FlushMode, PgStore, PgTarget, RedisBuffer,
    RedisTarget, RowWrite, Store,
};
use sniffer::{PremintCandidate, Pubkey};
use stores::{Postgres, Redis};

const HOUR_MS: i64 = 3_600_000;
/// The simulated hour starts here (Unix ms).
const T0: i64 = 1_764_000_000_000;

/// splitmix64: a deterministic stream, so every way writes the same hour.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

enum Event {
    Launch(PremintCandidate),
    Trade(TradeEvent),
}

fn key(rng: &mut Rng) -> Pubkey {
    let mut k = [0u8; 32];
    for c in k.chunks_mut(8) {
        c.copy_from_slice(&rng.next().to_le_bytes());
    }
    Pubkey(k)
}

/// The hour: `launches` launches evenly spread, `trades` trades on the launched mints, most on
/// the recent ones (a launch's activity fades within minutes), in time order.
fn hour(launches: u64, trades: u64) -> Vec<(i64, Event)> {
    let mut rng = Rng(0x5EED);
    let mut mints: Vec<(i64, Pubkey)> = Vec::new();
    let mut events = Vec::new();
    for i in 0..launches {
        let t = T0 + (i as i64 * HOUR_MS) / launches as i64;
        let c = PremintCandidate {
            mint: key(&mut rng),
            creator: key(&mut rng),
            slot: 300_000_000 + (t - T0) as u64 / 400,
            ..Default::default()
        };
        mints.push((t, c.mint));
        events.push((t, Event::Launch(c)));
    }
    for _ in 0..trades {
        let t = T0 + rng.below(HOUR_MS as u64) as i64;
        // The launches of the last ~5 minutes before t, newest most often.
        let launched = mints.partition_point(|(lt, _)| *lt <= t);
        if launched == 0 {
            continue;
        }
        let back = (rng.below(64) * rng.below(64) / 16) as usize;
        let mint = mints[launched - 1 - back.min(launched - 1)].1;
        let buy = rng.below(3) != 0;
        events.push((
            t,
            Event::Trade(TradeEvent {
                mint,
                user: key(&mut rng),
                sol_amount: 10_000_000 + rng.below(2_000_000_000),
                token_amount: 1 + rng.below(10_000_000_000),
                is_buy: buy,
                timestamp: Some(t / 1000),
                virtual_sol_reserves: Some(rng.next()),
                ..Default::default()
            }),
        ));
    }
    events.sort_by_key(|(t, _)| *t);
    events
}

/// A store that counts what it sends: one statement and one transaction per batch or prune.
struct Counted {
    inner: PgStore,
    statements: u64,
    transactions: u64,
}

impl Store for Counted {
    fn kind(&self) -> &'static str {
        "postgres"
    }
    fn write_batch(&mut self, batch: &mut [RowWrite]) -> Result<(), sniffer::sink::StoreError> {
        self.statements += 1;
        self.transactions += 1;
        self.inner.write_batch(batch)
    }
    fn get_row(
        &mut self,
        mint: &Pubkey,
    ) -> Result<Option<sniffer::sink::LaunchRow>, sniffer::sink::StoreError> {
        self.inner.get_row(mint)
    }
    fn live_rows(
        &mut self,
        since_ms: i64,
    ) -> Result<Vec<sniffer::sink::LaunchRow>, sniffer::sink::StoreError> {
        self.inner.live_rows(since_ms)
    }
    fn prune(&mut self, before_ms: i64) -> Result<u64, sniffer::sink::StoreError> {
        self.statements += 1;
        self.transactions += 1;
        self.inner.prune(before_ms)
    }
    fn counts_trades(&self) -> bool {
        self.inner.counts_trades()
    }
}

struct Outcome {
    way: &'static str,
    statements: u64,
    transactions: u64,
    wal_bytes: u64,
    rows: i64,
    trades_counted: i64,
    redis_commands: Option<u64>,
    wall: Duration,
}

fn wal_lsn(c: &mut postgres::Client) -> u64 {
    let l: postgres::types::PgLsn = c
        .query_one("SELECT pg_current_wal_insert_lsn()", &[])
        .unwrap()
        .get(0);
    u64::from(l)
}

fn redis_commands(redis: &Redis) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query(&mut redis.connection(0))
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Runs `write` on a fresh database `db` and measures it.
fn measure(
    pg: &Postgres,
    db: &str,
    way: &'static str,
    write: impl FnOnce(&str) -> (u64, u64),
) -> Outcome {
    let url = pg.database(db);
    // Create the tables before measuring: every way starts from the same empty schema.
    drop(PgStore::connect(PgTarget::parse(&url, None).unwrap()).unwrap());
    let mut admin = pg.client(db);
    admin.batch_execute("CHECKPOINT").unwrap();
    let before = wal_lsn(&mut admin);
    let started = Instant::now();
    let (statements, transactions) = write(&url);
    let wall = started.elapsed();
    let wal_bytes = wal_lsn(&mut admin) - before;
    let r = admin
        .query_one(
            "SELECT count(*), COALESCE(sum(trade_count), 0)::int8 FROM launches",
            &[],
        )
        .unwrap();
    Outcome {
        way,
        statements,
        transactions,
        wal_bytes,
        rows: r.get(0),
        trades_counted: r.get(1),
        redis_commands: None,
        wall,
    }
}

/// Way 1: one autocommit statement per event.
fn per_event(url: &str, events: &[(i64, Event)]) -> (u64, u64) {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let launch = c
        .prepare(
            "INSERT INTO launches (mint, creator, kind, name, symbol, uri, launch_slot, last_slot,
                first_seen_ms, last_seen_ms, trade_count, buy_count, sell_count,
                buy_lamports_total, sell_lamports_total, buy_lamports_1m, sell_lamports_1m,
                traders_1m, buy_lamports_5m, sell_lamports_5m, traders_5m, buy_lamports_1h,
                sell_lamports_1h, traders_1h, traders_capped, updated_ms)
             VALUES ($1, $2, 'pump_create', '', '', '', $3, $3, $4, $4, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 0, 0, false, $4)
             ON CONFLICT (mint) DO NOTHING",
        )
        .unwrap();
    let trade = c
        .prepare(
            "UPDATE launches SET trade_count = trade_count + 1,
                buy_count = buy_count + $2, sell_count = sell_count + 1 - $2,
                buy_lamports_total = buy_lamports_total + $2 * $3,
                sell_lamports_total = sell_lamports_total + (1 - $2) * $3,
                last_seen_ms = GREATEST(last_seen_ms, $4), updated_ms = $4
             WHERE mint = $1",
        )
        .unwrap();
    let mut n = 0;
    for (t, e) in events {
        match e {
            Event::Launch(l) => {
                let slot = l.slot as i64;
                c.execute(
                    &launch,
                    &[&l.mint.to_string(), &l.creator.to_string(), &slot, t],
                )
                .unwrap();
            }
            Event::Trade(tr) => {
                let buy = i64::from(tr.is_buy);
                c.execute(
                    &trade,
                    &[&tr.mint.to_string(), &buy, &(tr.sol_amount as i64), t],
                )
                .unwrap();
            }
        }
        n += 1;
    }
    (n, n)
}

/// Applies `e` to the state; returns the mint and its trade mark for the buffer.
fn apply(
    state: &mut AggregateState,
    t: i64,
    e: &Event,
) -> (Pubkey, Option<sniffer::sink::TradeMark>) {
    match e {
        Event::Launch(c) => {
            state.record_launch(c, None, t);
            (c.mint, None)
        }
        Event::Trade(tr) => {
            state.record_trade(tr, 0, t);
            let mark = sniffer::sink::TradeMark {
                id: tr.identity(),
                is_buy: tr.is_buy,
                lamports: tr.sol_amount,
            };
            (tr.mint, Some(mark))
        }
    }
}

/// Ways 2 and 3: the sink's state and flushes on the simulated clock; with `buffer`, every
/// simulated second is a burst mirrored to Redis and committed mints leave its pending set.
fn flushed(
    url: &str,
    events: &[(i64, Event)],
    every_ms: i64,
    full_every_ms: i64,
    batch: usize,
    mut buffer: Option<RedisBuffer>,
) -> (u64, u64) {
    let mut store = Counted {
        inner: PgStore::connect(PgTarget::parse(url, None).unwrap()).unwrap(),
        statements: 0,
        transactions: 0,
    };
    let mut state = AggregateState::new();
    state.set_trade_log(store.counts_trades());
    let prune_ms = 2 * HOUR_MS;
    let (mut next, mut next_full, mut next_sync) = (T0 + every_ms, T0 + full_every_ms, T0 + 1000);
    let flush = |state: &mut AggregateState,
                 store: &mut Counted,
                 buffer: &mut Option<RedisBuffer>,
                 mode: FlushMode,
                 now: i64| {
        state.touch_expiring(now, prune_ms);
        flush_state(store, state, mode, now, batch, &mut |mints| {
            if let Some(b) = buffer.as_mut() {
                b.committed(mints);
            }
        })
        .unwrap();
        if mode == FlushMode::Full {
            store.prune(now - prune_ms).unwrap();
        }
        state.prune(now, prune_ms);
    };
    for (t, e) in events {
        while *t >= next_sync {
            if let Some(b) = &mut buffer {
                b.sync(&state, Instant::now(), next_sync);
            }
            next_sync += 1000;
        }
        while *t >= next.min(next_full) {
            let full = next_full <= next;
            let at = next.min(next_full);
            let mode = if full {
                FlushMode::Full
            } else {
                FlushMode::Delta
            };
            flush(&mut state, &mut store, &mut buffer, mode, at);
            if full {
                next_full += full_every_ms;
            }
            if next <= at {
                next += every_ms;
            }
        }
        let (mint, mark) = apply(&mut state, *t, e);
        if let Some(b) = &mut buffer {
            b.note(mint, mark);
        }
    }
    let end = T0 + HOUR_MS;
    if let Some(b) = &mut buffer {
        b.sync(&state, Instant::now(), end);
    }
    flush(&mut state, &mut store, &mut buffer, FlushMode::Delta, end);
    if let Some(b) = &mut buffer {
        b.sync(&state, Instant::now(), end);
        let s = b.snapshot();
        assert_eq!(
            s.pending_mints, 0,
            "every buffered mint reached the store: {s:?}"
        );
    }
    (store.statements, store.transactions)
}

/// Not a way of its own: the part of ways 2 and 3 that counts trades once across sniffers, the
/// trade identities alone, inserted as way 3 sends them (one statement per 5 minutes).
fn identities_alone(url: &str, events: &[(i64, Event)]) -> (u64, u64) {
    type Batch = (Vec<i64>, Vec<String>, Vec<bool>, Vec<i64>);
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let insert = c
        .prepare(
            "INSERT INTO trade_ids (id, mint, is_buy, lamports, written_ms)
             SELECT t.id, t.mint, t.is_buy, t.lamports, $5::int8
             FROM UNNEST($1::int8[], $2::text[], $3::bool[], $4::int8[])
                 AS t(id, mint, is_buy, lamports)
             ON CONFLICT (id) DO NOTHING",
        )
        .unwrap();
    let mut n = 0;
    let mut send = |c: &mut postgres::Client, b: &mut Batch| {
        if !b.0.is_empty() {
            c.execute(&insert, &[&b.0, &b.1, &b.2, &b.3, &T0]).unwrap();
            n += 1;
            *b = Batch::default();
        }
    };
    let mut window = T0 + 300_000;
    let mut batch = Batch::default();
    for (t, e) in events {
        if *t >= window {
            send(&mut c, &mut batch);
            window += 300_000;
        }
        if let Event::Trade(tr) = e {
            batch.0.push(tr.identity() as i64);
            batch.1.push(tr.mint.to_string());
            batch.2.push(tr.is_buy);
            batch.3.push(tr.sol_amount as i64);
        }
    }
    send(&mut c, &mut batch);
    (n, n)
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it with nothing: a short hour.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (launches, trades) = if quick {
        (60, 600)
    } else {
        (
            env_u64("SNIFFER_WAL_LAUNCHES", 1_200),
            env_u64("SNIFFER_WAL_TRADES", 60_000),
        )
    };
    let events = hour(launches, trades);
    let pg = Postgres::start_with(&["fsync=off", "synchronous_commit=off", "full_page_writes=on"]);
    let redis = Redis::start();
    let mut out = vec![measure(
        &pg,
        "per_event",
        "1. one statement per event",
        |url| per_event(url, &events),
    )];
    for (db, way, suffix) in [
        ("delta", "2. delta flush (5 s/60 s, 500 rows)", ""),
        ("delta_one", "2. the same, writers=one", "?writers=one"),
    ] {
        out.push(measure(&pg, db, way, |url| {
            flushed(&format!("{url}{suffix}"), &events, 5_000, 60_000, 500, None)
        }));
    }
    for (db, way, suffix, prefix) in [
        ("buffered", "3. Redis buffer + sync (5 min, 100)", "", "a"),
        (
            "buffered_one",
            "3. the same, writers=one",
            "?writers=one",
            "b",
        ),
    ] {
        let before = redis_commands(&redis);
        let mut o = measure(&pg, db, way, |url| {
            let target =
                RedisTarget::parse(&format!("{}?prefix={prefix}", redis.url(0)), None).unwrap();
            let buffer = RedisBuffer::connect(target, BufferConfig::default()).unwrap();
            flushed(
                &format!("{url}{suffix}"),
                &events,
                300_000,
                HOUR_MS,
                100,
                Some(buffer),
            )
        });
        o.redis_commands = Some(redis_commands(&redis) - before);
        out.push(o);
    }
    let ids = measure(&pg, "ids", "   trade identities alone (as in 3.)", |url| {
        identities_alone(url, &events)
    });

    println!(
        "pg_wal: one simulated hour, {launches} launches + {trades} trades ({} events), \
         PostgreSQL with full_page_writes=on, CHECKPOINT before each way",
        events.len()
    );
    println!(
        "{:<40} {:>11} {:>12} {:>13} {:>10} {:>7} {:>9} {:>14} {:>9}",
        "way",
        "statements",
        "transactions",
        "WAL bytes",
        "WAL/event",
        "rows",
        "trades",
        "Redis commands",
        "wall"
    );
    for o in out.iter().chain([&ids]) {
        println!(
            "{:<40} {:>11} {:>12} {:>13} {:>10.1} {:>7} {:>9} {:>14} {:>8.1}s",
            o.way,
            o.statements,
            o.transactions,
            o.wal_bytes,
            o.wal_bytes as f64 / events.len() as f64,
            o.rows,
            o.trades_counted,
            o.redis_commands.map_or("-".to_owned(), |n| n.to_string()),
            o.wall.as_secs_f64()
        );
    }
    let identities: i64 = pg
        .client("ids")
        .query_one("SELECT count(*) FROM trade_ids", &[])
        .unwrap()
        .get(0);
    let trades_in = events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Trade(_)))
        .count() as i64;
    for o in &out {
        assert_eq!(o.rows, launches as i64, "{}: every launch stored", o.way);
        assert_eq!(
            o.trades_counted, trades_in,
            "{}: every trade counted once",
            o.way
        );
    }
    assert_eq!(identities, trades_in);
}
