//! [`AggregateStore`]: the SQLite side of the aggregates sink: schema, WAL, prepared (cached)
//! upserts, batched transactions, read helpers, and the mapping of SQLite failures to
//! [`StoreError`].
//!
//! Every batch is one `BEGIN IMMEDIATE` transaction: it takes the write lock up front, so a busy
//! database fails the batch before any row is written, and a failure anywhere (busy, disk full,
//! I/O) rolls the whole batch back. [`AggregateStore::flush`] marks rows clean in the
//! [`AggregateState`] only after their transaction committed, so a failed batch stays touched and
//! is written by a later attempt: nothing is lost silently.
//!
//! # Schema
//!
//! One table, one row per mint, one column per field of [`LaunchRow`]. Lamport amounts are
//! `INTEGER` (SQLite's signed 64 bits; values above `i64::MAX`, far beyond the SOL supply, are
//! stored as `i64::MAX`); times are Unix milliseconds; keys are base58 text.
//!
//! ```sql
//! CREATE TABLE launches (
//!     id                  INTEGER PRIMARY KEY, -- insertion order (see below)
//!     mint                TEXT NOT NULL UNIQUE, -- base58 mint address
//!     creator             TEXT,              -- base58; NULL while only trades were seen
//!     kind                TEXT,              -- pump_create | pump_create_v2 | pump_swap_pool | raydium_pool
//!     name                TEXT NOT NULL,     -- '' when unknown
//!     symbol              TEXT NOT NULL,
//!     uri                 TEXT NOT NULL,
//!     launch_slot         INTEGER,           -- slot of the launch transaction
//!     last_slot           INTEGER NOT NULL,  -- highest slot of any event
//!     first_seen_ms       INTEGER NOT NULL,  -- Unix ms of the first event
//!     last_seen_ms        INTEGER NOT NULL,  -- Unix ms of the last event (last_seen_ts)
//!     trade_count         INTEGER NOT NULL,  -- all-time trades
//!     buy_count           INTEGER NOT NULL,
//!     sell_count          INTEGER NOT NULL,
//!     buy_lamports_total  INTEGER NOT NULL,
//!     sell_lamports_total INTEGER NOT NULL,
//!     buy_lamports_1m     INTEGER NOT NULL,  -- windows as of updated_ms:
//!     sell_lamports_1m    INTEGER NOT NULL,  --   1m = 12 buckets of 5 s
//!     traders_1m          INTEGER NOT NULL,  --   5m = 60 buckets of 5 s
//!     buy_lamports_5m     INTEGER NOT NULL,  --   1h = 60 buckets of 1 min
//!     sell_lamports_5m    INTEGER NOT NULL,
//!     traders_5m          INTEGER NOT NULL,
//!     buy_lamports_1h     INTEGER NOT NULL,
//!     sell_lamports_1h    INTEGER NOT NULL,
//!     traders_1h          INTEGER NOT NULL,
//!     traders_capped      INTEGER NOT NULL,  -- 1: trader counts are lower bounds
//!     updated_ms          INTEGER NOT NULL   -- Unix ms of the write (the windows' "now")
//! ) STRICT;
//! ```
//!
//! Rows are stored in `id` order, that is in the order mints were first written, and a mint's
//! later writes are `UPDATE ... WHERE id = ?` (the sink remembers each id after its first commit):
//! the mints active now are mostly the recent launches, so a delta flush dirties a few adjacent
//! pages at the end of the table instead of one page per mint scattered over a table keyed by
//! (random) mint addresses, and never touches the `mint` index again. There is no other index:
//! reloading live mints at start scans the table once.
//!
//! Window columns are as fresh as the row's `updated_ms`: a touched mint is rewritten at every
//! delta flush (`flush_interval`), every live mint at every full flush (`full_flush_interval`),
//! and an inactive mint once more before it is pruned, with its windows then empty.
//!
//! Example queries:
//!
//! ```sql
//! -- The 10 launches with the most buying in the last 5 minutes, among the recently updated.
//! SELECT mint, symbol, buy_lamports_5m / 1e9 AS buy_sol, traders_5m FROM launches
//! WHERE updated_ms > (strftime('%s','now') - 120) * 1000
//! ORDER BY buy_lamports_5m DESC LIMIT 10;
//! -- Launches of one creator, newest first.
//! SELECT mint, name, first_seen_ms FROM launches WHERE creator = ?1 ORDER BY first_seen_ms DESC;
//! ```

use std::fmt;
use std::path::Path;
use std::time::Duration;

use rusqlite::{
    params, Connection, ErrorCode, OpenFlags, OptionalExtension, Row, TransactionBehavior,
};

use super::backend::{flush_state, RowWrite, Store};
use super::error::{FlushError, StoreError};
use super::state::{AggregateState, LaunchRow, Window, WindowStats};
use crate::candidate::{LaunchKind, Pubkey};

/// `PRAGMA user_version` of the schema above.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS launches (
    id                  INTEGER PRIMARY KEY,
    mint                TEXT NOT NULL UNIQUE,
    creator             TEXT,
    kind                TEXT,
    name                TEXT NOT NULL,
    symbol              TEXT NOT NULL,
    uri                 TEXT NOT NULL,
    launch_slot         INTEGER,
    last_slot           INTEGER NOT NULL,
    first_seen_ms       INTEGER NOT NULL,
    last_seen_ms        INTEGER NOT NULL,
    trade_count         INTEGER NOT NULL,
    buy_count           INTEGER NOT NULL,
    sell_count          INTEGER NOT NULL,
    buy_lamports_total  INTEGER NOT NULL,
    sell_lamports_total INTEGER NOT NULL,
    buy_lamports_1m     INTEGER NOT NULL,
    sell_lamports_1m    INTEGER NOT NULL,
    traders_1m          INTEGER NOT NULL,
    buy_lamports_5m     INTEGER NOT NULL,
    sell_lamports_5m    INTEGER NOT NULL,
    traders_5m          INTEGER NOT NULL,
    buy_lamports_1h     INTEGER NOT NULL,
    sell_lamports_1h    INTEGER NOT NULL,
    traders_1h          INTEGER NOT NULL,
    traders_capped      INTEGER NOT NULL,
    updated_ms          INTEGER NOT NULL
) STRICT;
";

const COLUMNS: &str = "mint, creator, kind, name, symbol, uri, launch_slot, last_slot, \
    first_seen_ms, last_seen_ms, trade_count, buy_count, sell_count, buy_lamports_total, \
    sell_lamports_total, buy_lamports_1m, sell_lamports_1m, traders_1m, buy_lamports_5m, \
    sell_lamports_5m, traders_5m, buy_lamports_1h, sell_lamports_1h, traders_1h, \
    traders_capped, updated_ms";

/// The first write of a mint by this process: an upsert keyed by mint, returning the row id.
/// Identity fields keep the first value stored (as the in-memory state does), so a sink that
/// could not reload a mint after a restart never blanks them; counters are the state's.
const UPSERT: &str = "INSERT INTO launches (mint, creator, kind, name, symbol, uri, launch_slot, \
    last_slot, first_seen_ms, last_seen_ms, trade_count, buy_count, sell_count, \
    buy_lamports_total, sell_lamports_total, buy_lamports_1m, sell_lamports_1m, traders_1m, \
    buy_lamports_5m, sell_lamports_5m, traders_5m, buy_lamports_1h, sell_lamports_1h, \
    traders_1h, traders_capped, updated_ms) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
    ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26) \
    ON CONFLICT (mint) DO UPDATE SET \
    creator = COALESCE(launches.creator, excluded.creator), \
    kind = COALESCE(launches.kind, excluded.kind), \
    name = CASE WHEN launches.name = '' THEN excluded.name ELSE launches.name END, \
    symbol = CASE WHEN launches.symbol = '' THEN excluded.symbol ELSE launches.symbol END, \
    uri = CASE WHEN launches.uri = '' THEN excluded.uri ELSE launches.uri END, \
    launch_slot = COALESCE(launches.launch_slot, excluded.launch_slot), \
    last_slot = MAX(launches.last_slot, excluded.last_slot), \
    first_seen_ms = MIN(launches.first_seen_ms, excluded.first_seen_ms), \
    last_seen_ms = MAX(launches.last_seen_ms, excluded.last_seen_ms), \
    trade_count = excluded.trade_count, buy_count = excluded.buy_count, \
    sell_count = excluded.sell_count, buy_lamports_total = excluded.buy_lamports_total, \
    sell_lamports_total = excluded.sell_lamports_total, \
    buy_lamports_1m = excluded.buy_lamports_1m, sell_lamports_1m = excluded.sell_lamports_1m, \
    traders_1m = excluded.traders_1m, buy_lamports_5m = excluded.buy_lamports_5m, \
    sell_lamports_5m = excluded.sell_lamports_5m, traders_5m = excluded.traders_5m, \
    buy_lamports_1h = excluded.buy_lamports_1h, sell_lamports_1h = excluded.sell_lamports_1h, \
    traders_1h = excluded.traders_1h, traders_capped = excluded.traders_capped, \
    updated_ms = excluded.updated_ms \
    RETURNING id";

/// Later writes: by row id, with the upsert's merge rules (`?1` is the id; `?2..?26` are the
/// columns after `mint`, in order).
const UPDATE_BY_ID: &str = "UPDATE launches SET \
    creator = COALESCE(creator, ?2), kind = COALESCE(kind, ?3), \
    name = CASE WHEN name = '' THEN ?4 ELSE name END, \
    symbol = CASE WHEN symbol = '' THEN ?5 ELSE symbol END, \
    uri = CASE WHEN uri = '' THEN ?6 ELSE uri END, \
    launch_slot = COALESCE(launch_slot, ?7), last_slot = MAX(last_slot, ?8), \
    first_seen_ms = MIN(first_seen_ms, ?9), last_seen_ms = MAX(last_seen_ms, ?10), \
    trade_count = ?11, buy_count = ?12, sell_count = ?13, buy_lamports_total = ?14, \
    sell_lamports_total = ?15, buy_lamports_1m = ?16, sell_lamports_1m = ?17, traders_1m = ?18, \
    buy_lamports_5m = ?19, sell_lamports_5m = ?20, traders_5m = ?21, buy_lamports_1h = ?22, \
    sell_lamports_1h = ?23, traders_1h = ?24, traders_capped = ?25, updated_ms = ?26 \
    WHERE id = ?1";

/// Which mints a flush writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushMode {
    /// Only the touched mints (changed since their last write).
    Delta,
    /// Every live mint (the safety net: also refreshes the windows of quiet mints).
    Full,
}

/// What a flush wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FlushStats {
    /// Rows upserted in committed transactions.
    pub rows: u64,
    /// Committed transactions.
    pub batches: u64,
}

/// The SQLite database of the aggregates sink (see the module docs for the schema).
///
/// A read-write store ([`open`](Self::open)) sets WAL mode, so readers
/// ([`open_read_only`](Self::open_read_only), or any `sqlite3` shell) never block it and it never
/// blocks them.
///
/// # Examples
///
/// ```
/// use sniffer::{PremintCandidate, Pubkey, sink::{AggregateState, AggregateStore, FlushMode, Window}};
///
/// let dir = std::env::temp_dir().join(format!("sniffer-doc-store-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("agg.db");
/// let mut store = AggregateStore::open(&path)?;
/// let mut state = AggregateState::new();
/// let launch = PremintCandidate { mint: Pubkey::new([7; 32]), slot: 3, ..Default::default() };
/// state.record_launch(&launch, None, 1_000);
/// let stats = store.flush(&mut state, FlushMode::Delta, 1_000, 500)?;
/// assert_eq!(stats.rows, 1);
/// assert_eq!(state.touched(), 0);
///
/// let reader = AggregateStore::open_read_only(&path)?;
/// let top = reader.top_by_buy_volume(Window::M5, 10)?;
/// assert_eq!(top[0].launch_slot, Some(3));
/// # drop((store, reader));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AggregateStore {
    conn: Connection,
}

impl fmt::Debug for AggregateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AggregateStore")
            .field("path", &self.conn.path())
            .finish()
    }
}

impl AggregateStore {
    /// Opens (creating when needed) the database at `path` for writing: WAL mode,
    /// `synchronous = NORMAL` (durable at each checkpoint, never corrupt; the usual WAL pairing),
    /// the schema, and a zero busy timeout (see [`set_busy_timeout`](Self::set_busy_timeout)).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the file cannot be opened, WAL cannot be enabled, or the file holds a
    /// different schema version.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let conn = Connection::open(path.as_ref()).map_err(sqlite_error)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(sqlite_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Sqlite(format!(
                "cannot enable WAL mode (journal_mode is {mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sqlite_error)?;
        // A delta flush touches rows scattered over the whole table (one leaf page each); with
        // SQLite's default 2 MiB cache every one of them is a read before it is a write. 64 MiB
        // holds the B-tree of ~250 000 mints, far above what pruning leaves live.
        conn.pragma_update(None, "cache_size", -65_536)
            .map_err(sqlite_error)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sqlite_error)?;
        if version != 0 && version != SCHEMA_VERSION {
            return Err(StoreError::Schema(version));
        }
        conn.execute_batch(SCHEMA).map_err(sqlite_error)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(sqlite_error)?;
        let store = AggregateStore { conn };
        store.set_busy_timeout(Duration::ZERO)?;
        Ok(store)
    }

    /// Opens an existing database for reading only (queries and restarts' inspection).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the file cannot be opened or has no `launches` table.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(
            path.as_ref(),
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite_error)?;
        let store = AggregateStore { conn };
        store.count()?;
        Ok(store)
    }

    /// How long a write waits for another connection's lock before failing with
    /// [`StoreError::Busy`]. The sink keeps it short and retries with backoff instead, so it keeps
    /// draining its input meanwhile.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from SQLite.
    pub fn set_busy_timeout(&self, timeout: Duration) -> Result<(), StoreError> {
        self.conn.busy_timeout(timeout).map_err(sqlite_error)
    }

    /// Caps the database at `pages` pages (SQLite's `max_page_count`, for this connection);
    /// writes that would grow it further fail with [`StoreError::Full`]. Returns the cap in
    /// effect, which SQLite never sets below the current size.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from SQLite.
    pub fn set_max_page_count(&self, pages: u64) -> Result<u64, StoreError> {
        let pages = i64::try_from(pages).unwrap_or(i64::MAX);
        let got: i64 = self
            .conn
            .pragma_update_and_check(None, "max_page_count", pages, |r| r.get(0))
            .map_err(sqlite_error)?;
        Ok(u64::try_from(got).unwrap_or(0))
    }

    /// The database's current size in pages.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from SQLite.
    pub fn page_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .pragma_query_value(None, "page_count", |r| r.get(0))
            .map_err(sqlite_error)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Upserts `rows` (keyed by mint) in one `BEGIN IMMEDIATE` transaction with the cached
    /// upsert statement. On any error the whole batch is rolled back.
    ///
    /// # Errors
    ///
    /// [`StoreError::Busy`] when another connection holds the write lock,
    /// [`StoreError::Full`] when the disk or `max_page_count` is full, [`StoreError::Sqlite`]
    /// otherwise.
    pub fn upsert(&mut self, rows: &[LaunchRow]) -> Result<(), StoreError> {
        let mut ids = Vec::with_capacity(rows.len());
        self.write_rows(rows.iter().map(|r| (r, None)), &mut ids)
    }

    /// One transaction: each row by its known id, or upserted by mint; `ids` receives every
    /// row's id, valid only once this returns `Ok` (a rolled-back insert's id may be reused).
    fn write_rows<'a>(
        &mut self,
        rows: impl Iterator<Item = (&'a LaunchRow, Option<i64>)>,
        ids: &mut Vec<i64>,
    ) -> Result<(), StoreError> {
        ids.clear();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite_error)?;
        {
            let mut upsert = tx.prepare_cached(UPSERT).map_err(sqlite_error)?;
            let mut update = tx.prepare_cached(UPDATE_BY_ID).map_err(sqlite_error)?;
            for (r, id) in rows {
                let [m1, m5, h1] = &r.windows;
                let creator = r.creator.map(|c| c.to_string());
                macro_rules! columns {
                    ($key:expr) => {
                        params![
                            $key,
                            creator,
                            r.kind.map(kind_name),
                            r.name,
                            r.symbol,
                            r.uri,
                            r.launch_slot.map(int),
                            int(r.last_slot),
                            r.first_seen_ms,
                            r.last_seen_ms,
                            int(r.trade_count),
                            int(r.buy_count),
                            int(r.sell_count),
                            int(r.buy_lamports_total),
                            int(r.sell_lamports_total),
                            int(m1.buy_lamports),
                            int(m1.sell_lamports),
                            int(m1.unique_traders),
                            int(m5.buy_lamports),
                            int(m5.sell_lamports),
                            int(m5.unique_traders),
                            int(h1.buy_lamports),
                            int(h1.sell_lamports),
                            int(h1.unique_traders),
                            r.traders_capped,
                            r.updated_ms,
                        ]
                    };
                }
                // A known id whose row is gone (deleted by hand) falls back to the upsert.
                let updated = match id {
                    Some(id) => update.execute(columns!(id)).map_err(sqlite_error)? == 1,
                    None => false,
                };
                let id = match (updated, id) {
                    (true, Some(id)) => id,
                    _ => upsert
                        .query_row(columns!(r.mint.to_string()), |row| row.get(0))
                        .map_err(sqlite_error)?,
                };
                ids.push(id);
            }
        }
        // Dropping an uncommitted transaction rolls it back; a failed COMMIT is rolled back the
        // same way (or already was, by SQLite itself).
        tx.commit().map_err(sqlite_error)
    }

    /// Writes the state's touched mints ([`FlushMode::Delta`]) or all its live mints
    /// ([`FlushMode::Full`]), with windows computed at `now_ms`, in transactions of at most
    /// `batch_size` rows (0 is taken as 1). Each committed batch leaves the touched set at once;
    /// the first failing batch stops the flush.
    ///
    /// # Errors
    ///
    /// [`FlushError`] with what was committed before the failure and the failure itself. The
    /// failed batch and the ones after it stay touched.
    pub fn flush(
        &mut self,
        state: &mut AggregateState,
        mode: FlushMode,
        now_ms: i64,
        batch_size: usize,
    ) -> Result<FlushStats, FlushError> {
        flush_state(self, state, mode, now_ms, batch_size, &mut |_| {})
    }

    /// The stored row of `mint`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from SQLite, or [`StoreError::Corrupt`] for a row this crate did not write.
    pub fn get(&self, mint: &Pubkey) -> Result<Option<LaunchRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM launches WHERE mint = ?1");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(sqlite_error)?;
        stmt.query_row([mint.to_string()], read_row)
            .optional()
            .map_err(sqlite_error)?
            .transpose()
    }

    /// The `limit` rows with the most buy volume in `window` (as of each row's `updated_ms`),
    /// highest first; ties by mint.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from SQLite, or [`StoreError::Corrupt`].
    pub fn top_by_buy_volume(
        &self,
        window: Window,
        limit: usize,
    ) -> Result<Vec<LaunchRow>, StoreError> {
        // The column name comes from a closed enum, never from input.
        let sql = format!(
            "SELECT {COLUMNS} FROM launches ORDER BY buy_lamports_{} DESC, mint LIMIT ?1",
            window.suffix()
        );
        self.query(&sql, [i64::try_from(limit).unwrap_or(i64::MAX)])
    }

    /// Every row last seen at or after `since_ms`, by mint: the mints a restarted sink holds live.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from SQLite, or [`StoreError::Corrupt`].
    pub fn load_live(&self, since_ms: i64) -> Result<Vec<LaunchRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM launches WHERE last_seen_ms >= ?1 ORDER BY mint");
        self.query(&sql, [since_ms])
    }

    /// Every row, by mint.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from SQLite, or [`StoreError::Corrupt`].
    pub fn all_rows(&self) -> Result<Vec<LaunchRow>, StoreError> {
        self.query(&format!("SELECT {COLUMNS} FROM launches ORDER BY mint"), [])
    }

    /// Number of rows.
    ///
    /// # Errors
    ///
    /// [`StoreError`] from SQLite.
    pub fn count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM launches", [], |r| r.get(0))
            .map_err(sqlite_error)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn query<P: rusqlite::Params>(&self, sql: &str, p: P) -> Result<Vec<LaunchRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(sqlite_error)?;
        let rows = stmt.query_map(p, read_row).map_err(sqlite_error)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r.map_err(sqlite_error)??);
        }
        Ok(out)
    }
}

/// SQLite has one writer: rows carry absolute totals, and the trade marks are not needed.
impl Store for AggregateStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn write_batch(&mut self, batch: &mut [RowWrite]) -> Result<(), StoreError> {
        let mut ids = Vec::with_capacity(batch.len());
        self.write_rows(batch.iter().map(|w| (&w.row, w.id)), &mut ids)?;
        for (w, id) in batch.iter_mut().zip(ids) {
            w.id = Some(id);
        }
        Ok(())
    }

    fn get_row(&mut self, mint: &Pubkey) -> Result<Option<LaunchRow>, StoreError> {
        self.get(mint)
    }

    fn live_rows(&mut self, since_ms: i64) -> Result<Vec<LaunchRow>, StoreError> {
        self.load_live(since_ms)
    }
}

/// Lamports, counts and slots as SQLite integers, saturating at `i64::MAX`.
pub(super) fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(super) fn uint(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(super) fn kind_name(k: LaunchKind) -> &'static str {
    k.as_str()
}

pub(super) fn kind_from_name(s: &str) -> Option<LaunchKind> {
    LaunchKind::from_name(s)
}

/// Reads one row; the outer error is SQLite's, the inner one a value this crate cannot have
/// written (bad base58, unknown kind).
fn read_row(r: &Row<'_>) -> rusqlite::Result<Result<LaunchRow, StoreError>> {
    let mint: String = r.get(0)?;
    let creator: Option<String> = r.get(1)?;
    let kind: Option<String> = r.get(2)?;
    let window = |base: usize| -> rusqlite::Result<WindowStats> {
        Ok(WindowStats {
            buy_lamports: uint(r.get(base)?),
            sell_lamports: uint(r.get(base + 1)?),
            unique_traders: uint(r.get(base + 2)?),
        })
    };
    let windows = [window(15)?, window(18)?, window(21)?];
    let corrupt = |what: &str| StoreError::Corrupt(format!("{what} in row of mint {mint}"));
    let Ok(mint_key) = mint.parse::<Pubkey>() else {
        return Ok(Err(corrupt("bad mint")));
    };
    let creator = match creator.map(|c| c.parse::<Pubkey>()).transpose() {
        Ok(c) => c,
        Err(_) => return Ok(Err(corrupt("bad creator"))),
    };
    let kind = match kind.map(|k| kind_from_name(&k).ok_or(())).transpose() {
        Ok(k) => k,
        Err(()) => return Ok(Err(corrupt("unknown kind"))),
    };
    Ok(Ok(LaunchRow {
        mint: mint_key,
        creator,
        kind,
        name: r.get(3)?,
        symbol: r.get(4)?,
        uri: r.get(5)?,
        launch_slot: r.get::<_, Option<i64>>(6)?.map(uint),
        last_slot: uint(r.get(7)?),
        first_seen_ms: r.get(8)?,
        last_seen_ms: r.get(9)?,
        trade_count: uint(r.get(10)?),
        buy_count: uint(r.get(11)?),
        sell_count: uint(r.get(12)?),
        buy_lamports_total: uint(r.get(13)?),
        sell_lamports_total: uint(r.get(14)?),
        windows,
        traders_capped: r.get(24)?,
        updated_ms: r.get(25)?,
    }))
}

/// SQLite's error as ours (a function, not a public `From`: rusqlite stays out of the API).
fn sqlite_error(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy,
        Some(ErrorCode::DiskFull) => StoreError::Full,
        _ => StoreError::Sqlite(e.to_string()),
    }
}
