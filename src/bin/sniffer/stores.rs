//! The CLI's outputs that live in other systems: the aggregates store (`--sqlite PATH` or
//! `--store postgres://...`), its Redis write buffer (`--buffer redis://...`) and the ClickHouse
//! history (`--history clickhouse://...`). Every URL is checked before anything starts;
//! passwords come from the environment (`SNIFFER_PG_PASSWORD`, `SNIFFER_REDIS_PASSWORD`,
//! `SNIFFER_CLICKHOUSE_PASSWORD`) or the URL, and only redacted forms are ever printed.

use std::path::Path;

use clap::Args;
use sniffer::feed::DecodeObserver;
use sniffer::history::{ClickHouseTarget, HistoryConfig, HistoryHandle, HistoryWriter};
use sniffer::sink::{
    unix_ms, AggregateSink, AggregateStore, BufferConfig, PgStore, PgTarget, RedisBuffer,
    RedisTarget, SinkConfig, SinkHandle, SinkReport, Window,
};
use sniffer::SnifferConfig;

use super::UsageError;

#[derive(Args, Debug)]
pub(crate) struct StoreArgs {
    /// Keep the per-launch aggregates in PostgreSQL instead of SQLite:
    /// `postgres://USER@HOST:PORT/DB` (the tables are created when missing; several sniffers
    /// may share one database: trades are counted once by identity). Password: SNIFFER_PG_PASSWORD.
    #[arg(long, env = "SNIFFER_STORE", hide_env_values = true)]
    pub(crate) store: Option<String>,
    /// Put every aggregate event into Redis first (hash per mint, pending set, TTL), so a crash
    /// loses nothing Redis acknowledged: `redis://HOST:PORT/DB[?prefix=NAME]` (needs --sqlite or
    /// --store). A restart writes what was pending. Password: SNIFFER_REDIS_PASSWORD
    /// [config: buffer_max_pending, buffer_ttl].
    #[arg(long, env = "SNIFFER_BUFFER", hide_env_values = true)]
    pub(crate) buffer: Option<String>,
    /// Append every delivered launch and every decoded trade to ClickHouse (MergeTree tables
    /// over HTTP, created when missing): `clickhouse://HOST:PORT/DB` (the HTTP port). Pull feeds
    /// pause while it falls behind. Password: SNIFFER_CLICKHOUSE_PASSWORD
    /// [config: history_queue, history_batch_size, history_batch_age].
    #[arg(long, env = "SNIFFER_HISTORY", hide_env_values = true)]
    pub(crate) history: Option<String>,
}

fn env_password(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|p| !p.is_empty())
}

fn pg_target(url: &str) -> Result<PgTarget, UsageError> {
    PgTarget::parse(url, env_password(sniffer::sink::PG_PASSWORD_ENV).as_deref())
        .map_err(|e| UsageError(format!("--store: {e}")))
}

fn redis_target(url: &str) -> Result<RedisTarget, UsageError> {
    RedisTarget::parse(
        url,
        env_password(sniffer::sink::REDIS_PASSWORD_ENV).as_deref(),
    )
    .map_err(|e| UsageError(format!("--buffer: {e}")))
}

fn clickhouse_target(url: &str) -> Result<ClickHouseTarget, UsageError> {
    let pw = env_password(sniffer::history::CLICKHOUSE_PASSWORD_ENV);
    ClickHouseTarget::parse(url, pw.as_deref()).map_err(|e| UsageError(format!("--history: {e}")))
}

/// Checks every URL and their combination, before anything is opened.
pub(crate) fn check(args: &StoreArgs, sqlite: Option<&Path>) -> Result<(), UsageError> {
    if let Some(url) = &args.store {
        if sqlite.is_some() {
            return Err(UsageError(
                "--store and --sqlite both name the aggregates store: give one".into(),
            ));
        }
        pg_target(url)?;
    }
    if let Some(url) = &args.buffer {
        if sqlite.is_none() && args.store.is_none() {
            return Err(UsageError(
                "--buffer buffers the aggregates: it needs --sqlite or --store".into(),
            ));
        }
        redis_target(url)?;
    }
    if let Some(url) = &args.history {
        clickhouse_target(url)?;
    }
    Ok(())
}

/// Opens the aggregates store (SQLite or PostgreSQL), its write buffer when asked (writing what
/// an earlier run left pending), and starts the sink.
pub(crate) fn open_sink(
    args: &StoreArgs,
    sqlite: Option<&Path>,
    cfg: &SnifferConfig,
) -> anyhow::Result<Option<AggregateSink>> {
    let sink_cfg = SinkConfig::from(cfg);
    let (store, name): (Box<dyn sniffer::sink::Store>, String) = match (sqlite, &args.store) {
        (Some(path), _) => {
            let store = AggregateStore::open(path)
                .map_err(|e| UsageError(format!("--sqlite {}: {e}", path.display())))?;
            store.set_busy_timeout(sink_cfg.busy_timeout)?;
            (Box::new(store), format!("--sqlite {}", path.display()))
        }
        (None, Some(url)) => {
            let target = pg_target(url)?;
            let name = format!("--store {target}");
            let store = PgStore::connect(target).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            (Box::new(store), name)
        }
        (None, None) => return Ok(None),
    };
    let sink = match &args.buffer {
        None => AggregateSink::start_with(store, sink_cfg),
        Some(url) => {
            let buffer = RedisBuffer::connect(redis_target(url)?, BufferConfig::from(cfg))
                .map_err(|e| anyhow::anyhow!("--buffer {e}"))?;
            AggregateSink::start_buffered(store, buffer, sink_cfg)
        }
    };
    Ok(Some(sink.map_err(|e| anyhow::anyhow!("{name}: {e}"))?))
}

/// Reaches ClickHouse, creates the tables when missing, starts the history writer.
pub(crate) fn open_history(
    args: &StoreArgs,
    cfg: &SnifferConfig,
) -> anyhow::Result<Option<HistoryWriter>> {
    let Some(url) = &args.history else {
        return Ok(None);
    };
    let writer = HistoryWriter::start(clickhouse_target(url)?, HistoryConfig::from(cfg))
        .map_err(|e| anyhow::anyhow!("--history {e}"))?;
    Ok(Some(writer))
}

/// The observer each decoded feed calls with its launches and trades: the sink takes both, the
/// history the trades (it takes launches once delivered, from the consumer). Never blocks:
/// refusals are counted by the sink and the history writer themselves.
pub(crate) fn observer(
    sink: Option<SinkHandle>,
    history: Option<HistoryHandle>,
) -> Option<impl Fn() -> DecodeObserver> {
    if sink.is_none() && history.is_none() {
        return None;
    }
    Some(move || -> DecodeObserver {
        let (sink, history) = (sink.clone(), history.clone());
        Box::new(move |launches, trades, slot| {
            let now = unix_ms();
            if let Some(h) = &sink {
                for d in launches {
                    let _ = h.record_launch_at(d, now);
                }
                for t in trades {
                    let _ = h.record_trade(t, slot, now);
                }
            }
            if let Some(h) = &history {
                for t in trades {
                    h.record_trade(t, slot, now);
                }
            }
        })
    })
}

/// Logs the sink's shutdown report; `Some(failure)` when aggregates are lost. Mints whose state
/// Redis holds are not lost: the next start with the same `--buffer` writes them.
pub(crate) fn sink_verdict(r: &SinkReport) -> Option<String> {
    let text = serde_json::to_string(r).unwrap_or_default();
    if r.complete {
        tracing::info!(report = %text, "aggregates sink");
        return None;
    }
    if r.input_left == 0 && r.touched_left == r.held_in_buffer {
        tracing::warn!(
            held = r.held_in_buffer,
            report = %text,
            "aggregates sink: the final flush did not finish; the write buffer holds these mints \
             and the next start with the same --buffer writes them"
        );
        return None;
    }
    tracing::error!(
        touched_left = r.touched_left,
        input_left = r.input_left,
        report = %text,
        "aggregates sink: the final flush did not finish; these aggregates are lost"
    );
    Some(format!(
        "aggregates lost at shutdown ({} mints not written, {} events not applied)",
        r.touched_left - r.held_in_buffer,
        r.input_left
    ))
}

/// `sniffer query postgres://...`: the same read as for a SQLite file.
pub(crate) fn query_postgres(
    url: &str,
    window: Window,
    limit: usize,
) -> anyhow::Result<Vec<sniffer::sink::LaunchRow>> {
    let target = pg_target(url)?;
    let name = target.to_string();
    let mut store = PgStore::connect(target).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    Ok(store.top_by_buy_volume(window, limit)?)
}
