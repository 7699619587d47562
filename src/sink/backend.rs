//! [`Store`]: what the aggregates sink needs from a database, so that SQLite
//! ([`AggregateStore`](super::AggregateStore)) and PostgreSQL (`PgStore`, feature `postgres`)
//! hold the same `launches` table, written by the same delta and full flushes
//! ([`flush_state`]), pruned the same way.
//!
//! A store writes one batch of rows in one transaction ([`Store::write_batch`]): all of it
//! commits, or none of it does. The flush marks rows clean in the [`AggregateState`] only after
//! their batch committed, so a failed batch stays touched and a later attempt writes it.
//!
//! Each row carries, beside the absolute state of its mint, the trades applied since the mint's
//! last write ([`TradeMark`]: identity, direction, lamports). A store shared by several sniffers
//! (PostgreSQL) counts trades by identity: it records each identity once and adds only the
//! trades it had not recorded, so two sniffers that saw the same trades write the totals one
//! sniffer would have, and a batch written twice (a retry after a lost commit acknowledgement, a
//! recovery from the write buffer) adds nothing twice. A store with a single writer (SQLite)
//! takes the row's absolute totals and ignores the marks.

use super::error::{FlushError, StoreError};
use super::state::{AggregateState, LaunchRow};
use super::store::{FlushMode, FlushStats};
use crate::candidate::Pubkey;

/// One trade as a store counts it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TradeMark {
    /// The trade's identity ([`TradeEvent::identity`](crate::decode::TradeEvent::identity)).
    pub id: u64,
    /// True for a buy.
    pub is_buy: bool,
    /// Lamports paid (buy) or received (sell).
    pub lamports: u64,
}

/// One row of a batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowWrite {
    /// The mint's state, with absolute totals and windows as of `row.updated_ms`.
    pub row: LaunchRow,
    /// The trades applied since the mint's last committed write (see the module docs).
    pub trades: Vec<TradeMark>,
    /// The store's id of the row when a previous write of this process learned it (SQLite keeps
    /// rows in id order and rewrites them by id); the store sets it when the batch commits.
    pub id: Option<i64>,
}

/// A database the aggregates sink writes to. Object-safe: the sink holds a `Box<dyn Store>`.
pub trait Store: Send {
    /// Short name for logs and errors (`sqlite`, `postgres`).
    fn kind(&self) -> &'static str;

    /// Writes `batch` in one transaction, keyed by mint, with the merge rules of the schema
    /// (identity fields keep their first value, slots and times their extreme, windows the
    /// newest write). On success every `id` the store knows is set.
    ///
    /// # Errors
    ///
    /// [`StoreError`]; nothing of the batch is committed.
    fn write_batch(&mut self, batch: &mut [RowWrite]) -> Result<(), StoreError>;

    /// The stored row of `mint`.
    ///
    /// # Errors
    ///
    /// [`StoreError`].
    fn get_row(&mut self, mint: &Pubkey) -> Result<Option<LaunchRow>, StoreError>;

    /// Every row last seen at or after `since_ms`: the mints a starting sink holds live.
    ///
    /// # Errors
    ///
    /// [`StoreError`].
    fn live_rows(&mut self, since_ms: i64) -> Result<Vec<LaunchRow>, StoreError>;

    /// Forgets what the store keeps beside the rows for longer than needed (PostgreSQL: trade
    /// identities recorded before `before_ms`). Returns how many entries went.
    ///
    /// # Errors
    ///
    /// [`StoreError`].
    fn prune(&mut self, before_ms: i64) -> Result<u64, StoreError> {
        let _ = before_ms;
        Ok(0)
    }

    /// True when the store counts trades by identity, so rows must carry their
    /// [`RowWrite::trades`].
    fn counts_trades(&self) -> bool {
        false
    }
}

/// Writes the state's touched mints ([`FlushMode::Delta`]) or all its live mints
/// ([`FlushMode::Full`]) to `store`, with windows computed at `now_ms`, in transactions of at
/// most `batch_size` rows (0 is taken as 1). Each committed batch leaves the touched set at once
/// and is reported to `committed` (the write buffer then forgets those mints); the first failing
/// batch stops the flush.
///
/// # Errors
///
/// [`FlushError`] with what was committed before the failure and the failure itself. The failed
/// batch and the ones after it stay touched.
pub fn flush_state(
    store: &mut dyn Store,
    state: &mut AggregateState,
    mode: FlushMode,
    now_ms: i64,
    batch_size: usize,
    committed: &mut dyn FnMut(&[Pubkey]),
) -> Result<FlushStats, FlushError> {
    let mints = match mode {
        FlushMode::Delta => state.touched_mints(),
        FlushMode::Full => state.all_mints(),
    };
    let mut stats = FlushStats::default();
    let mut batch: Vec<RowWrite> = Vec::with_capacity(batch_size.clamp(1, mints.len().max(1)));
    for chunk in mints.chunks(batch_size.max(1)) {
        batch.clear();
        batch.extend(chunk.iter().filter_map(|m| {
            Some(RowWrite {
                row: state.row(m, now_ms)?,
                trades: state.pending_trades(m).to_vec(),
                id: state.row_id(m),
            })
        }));
        if let Err(error) = store.write_batch(&mut batch) {
            return Err(FlushError {
                written: stats,
                error,
            });
        }
        for w in &batch {
            if let Some(id) = w.id {
                state.set_row_id(&w.row.mint, id);
            }
        }
        state.mark_written(chunk, now_ms);
        committed(chunk);
        stats.rows += batch.len() as u64;
        stats.batches += 1;
    }
    Ok(stats)
}
