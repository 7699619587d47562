//! ClickHouse over its HTTP interface: the target URL (credentials kept apart and redacted), the
//! tables (created when missing), and one `INSERT ... FORMAT JSONEachRow` per batch and table.
//!
//! The client is `ureq` (blocking, default features off: no TLS, ~10 small crates): the writer
//! owns one thread and waits on nothing else, so a blocking client with a global timeout is the
//! whole need; hyper's client (already built for `--http`) would need a runtime in the thread and
//! a hand-written connection pool for the same result. A response is a success only with a 2xx
//! status: ClickHouse reports errors with a status (404, 500) and a `Code: N, ...` body.
//!
//! The SQL sticks to what Debian's ClickHouse 18.16 (the test server) accepts: `DateTime`
//! (seconds; milliseconds ride in a `UInt64` column beside it), `MergeTree` family with
//! `PARTITION BY` / `ORDER BY`, no `DateTime64`, `LowCardinality` or `TTL`.
//!
//! ```sql
//! CREATE TABLE launches (                       -- one row per delivered launch
//!     received DateTime, received_unix_ms UInt64,
//!     mint String, signature String, kind String, creator String, slot UInt64,
//!     market String, market_token_account String, token_program String,
//!     creator_buy_lamports UInt64, creator_buy_tokens UInt64,
//!     name String, symbol String, uri String,
//!     score UInt32, priority String, feed String
//! ) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(received) ORDER BY (mint, signature);
//! CREATE TABLE trades (                         -- one row per decoded trade
//!     time DateTime,                            -- on-chain time, else the receive time
//!     received_unix_ms UInt64, mint String, trade_id UInt64, slot UInt64, trader String,
//!     is_buy UInt8, sol_amount UInt64, token_amount UInt64,
//!     virtual_sol_reserves Nullable(UInt64), virtual_token_reserves Nullable(UInt64),
//!     real_sol_reserves Nullable(UInt64), real_token_reserves Nullable(UInt64),
//!     fee Nullable(UInt64), creator_fee Nullable(UInt64)
//! ) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(time) ORDER BY (mint, trade_id);
//! ```
//!
//! Both tables are `ReplacingMergeTree`s keyed by the row's identity (launch: mint and
//! signature; trade: mint and [`TradeEvent::identity`]): an INSERT retried after its
//! acknowledgement was lost leaves a copy that the next merge (or `SELECT ... FINAL`) collapses.
//!
//! [`TradeEvent::identity`]: crate::decode::TradeEvent::identity

use std::fmt;
use std::time::Duration;

use base64::Engine as _;

/// The variable the password is read from when the URL has none.
pub const CLICKHOUSE_PASSWORD_ENV: &str = "SNIFFER_CLICKHOUSE_PASSWORD";

/// Where the history goes; [`fmt::Display`] shows it without the password.
#[derive(Clone)]
pub struct ClickHouseTarget {
    /// `http://HOST:PORT/`.
    base: String,
    db: String,
    /// The `Authorization` header's value, when a user was given.
    auth: Option<String>,
    shown: String,
}

impl fmt::Debug for ClickHouseTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClickHouseTarget")
            .field(&self.shown)
            .finish()
    }
}

impl fmt::Display for ClickHouseTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl ClickHouseTarget {
    /// Parses `clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DB` (the HTTP port, default 8123).
    /// Without a password in the URL, `password` is used (the CLI passes
    /// `SNIFFER_CLICKHOUSE_PASSWORD`); credentials travel as HTTP basic authentication, never in
    /// the query string.
    ///
    /// # Errors
    ///
    /// A message naming the problem, never the password.
    pub fn parse(url: &str, password: Option<&str>) -> Result<ClickHouseTarget, String> {
        let rest = url
            .strip_prefix("clickhouse://")
            .ok_or("must start with clickhouse:// (HTTP, no TLS)")?;
        let (authority, db) = rest
            .split_once('/')
            .ok_or("names no database (clickhouse://HOST:PORT/DB)")?;
        if db.is_empty() || !db.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err("the database must be a name of letters, digits and _".into());
        }
        let (creds, hostport) = match authority.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, authority),
        };
        let (host, port) = match hostport.strip_prefix('[') {
            // An IPv6 literal: [::1]:8123
            Some(v6) => {
                let (h, rest) = v6.split_once(']').ok_or("unclosed [ in the host")?;
                (format!("[{h}]"), rest.strip_prefix(':'))
            }
            None => match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (hostport.to_owned(), None),
            },
        };
        let port = match port {
            Some(p) => p.parse::<u16>().map_err(|_| format!("bad port `{p}`"))?,
            None => 8123,
        };
        if host.is_empty() {
            return Err("names no host".into());
        }
        let (user, pass) = match creds {
            None => (None, None),
            Some(c) => match c.split_once(':') {
                Some((u, p)) => (Some(u.to_owned()), Some(p.to_owned())),
                None => (Some(c.to_owned()), None),
            },
        };
        let pass = pass.or_else(|| password.filter(|p| !p.is_empty()).map(str::to_owned));
        let user = match (user, &pass) {
            (None, Some(_)) => Some("default".to_owned()),
            (u, _) => u,
        };
        let auth = user.as_ref().map(|u| {
            let pair = format!("{u}:{}", pass.as_deref().unwrap_or(""));
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        });
        let who = match (&user, &pass) {
            (Some(u), Some(_)) => format!("{u}:***@"),
            (Some(u), None) => format!("{u}@"),
            _ => String::new(),
        };
        Ok(ClickHouseTarget {
            base: format!("http://{host}:{port}/"),
            db: db.to_owned(),
            auth,
            shown: format!("clickhouse://{who}{host}:{port}/{db}"),
        })
    }

    /// The database.
    pub fn database(&self) -> &str {
        &self.db
    }
}

/// Why a request failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ChError {
    /// No answer: refused, reset, timed out.
    Unavailable(String),
    /// ClickHouse answered with an error status.
    Refused { status: u16, message: String },
}

impl fmt::Display for ChError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChError::Unavailable(e) => write!(f, "unavailable: {e}"),
            ChError::Refused { status, message } => write!(f, "HTTP {status}: {message}"),
        }
    }
}

/// One HTTP connection's worth of ClickHouse (the agent keeps it alive between batches).
pub(crate) struct ClickHouse {
    agent: ureq::Agent,
    target: ClickHouseTarget,
}

impl fmt::Debug for ClickHouse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClickHouse")
            .field(&self.target.shown)
            .finish()
    }
}

impl ClickHouse {
    pub(crate) fn new(target: ClickHouseTarget, timeout: Duration) -> ClickHouse {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        ClickHouse { agent, target }
    }

    pub(crate) fn target(&self) -> &ClickHouseTarget {
        &self.target
    }

    /// POSTs `body` with `query` in the query string (or as the body's start when `None`).
    fn post(&self, query: Option<&str>, body: &[u8]) -> Result<String, ChError> {
        let mut req = self.agent.post(&self.target.base);
        if let Some(q) = query {
            req = req.query("query", q);
        }
        if let Some(a) = &self.target.auth {
            req = req.header("Authorization", a);
        }
        let mut resp = req
            .send(body)
            .map_err(|e| ChError::Unavailable(transport(&e)))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .unwrap_or_default();
        if (200..300).contains(&status) {
            Ok(text)
        } else {
            let first = text.lines().next().unwrap_or_default();
            Err(ChError::Refused {
                status,
                message: first.chars().take(300).collect(),
            })
        }
    }

    /// Creates the database and both tables when missing.
    pub(crate) fn ensure_tables(&self) -> Result<(), ChError> {
        let db = &self.target.db;
        self.post(
            None,
            format!("CREATE DATABASE IF NOT EXISTS {db}").as_bytes(),
        )?;
        self.post(None, launches_ddl(db).as_bytes())?;
        self.post(None, trades_ddl(db).as_bytes())?;
        Ok(())
    }

    /// One INSERT of JSONEachRow `rows` (one JSON object per line) into `table`.
    pub(crate) fn insert(&self, table: &str, rows: &[u8]) -> Result<(), ChError> {
        let q = format!("INSERT INTO {}.{table} FORMAT JSONEachRow", self.target.db);
        self.post(Some(&q), rows).map(drop)
    }
}

fn launches_ddl(db: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {db}.launches (
            received DateTime, received_unix_ms UInt64,
            mint String, signature String, kind String, creator String, slot UInt64,
            market String, market_token_account String, token_program String,
            creator_buy_lamports UInt64, creator_buy_tokens UInt64,
            name String, symbol String, uri String,
            score UInt32, priority String, feed String
        ) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(received) ORDER BY (mint, signature)"
    )
}

fn trades_ddl(db: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {db}.trades (
            time DateTime, received_unix_ms UInt64, mint String, trade_id UInt64, slot UInt64,
            trader String, is_buy UInt8, sol_amount UInt64, token_amount UInt64,
            virtual_sol_reserves Nullable(UInt64), virtual_token_reserves Nullable(UInt64),
            real_sol_reserves Nullable(UInt64), real_token_reserves Nullable(UInt64),
            fee Nullable(UInt64), creator_fee Nullable(UInt64)
        ) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(time) ORDER BY (mint, trade_id)"
    )
}

/// A transport error without the request (whose URL carries no secret, but whose headers do).
fn transport(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => io.to_string(),
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        ureq::Error::HostNotFound => "host not found".into(),
        other => format!("{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_the_password_out_of_sight() {
        let t =
            ClickHouseTarget::parse("clickhouse://bot:hunter2@127.0.0.1:18123/hist", None).unwrap();
        assert_eq!(t.base, "http://127.0.0.1:18123/");
        assert_eq!(t.database(), "hist");
        let shown = format!("{t} {t:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(t.auth.as_deref().is_some_and(|a| a.starts_with("Basic ")));
        let t = ClickHouseTarget::parse("clickhouse://h/db", Some("pw")).unwrap();
        assert_eq!(t.base, "http://h:8123/");
        assert!(t
            .to_string()
            .starts_with("clickhouse://default:***@h:8123/db"));
        let t = ClickHouseTarget::parse("clickhouse://h:1/db", None).unwrap();
        assert!(t.auth.is_none());
        let t = ClickHouseTarget::parse("clickhouse://[::1]:9/db", None).unwrap();
        assert_eq!(t.base, "http://[::1]:9/");
        for bad in [
            "http://h:1/db",
            "clickhouse://h:1",
            "clickhouse://h:1/",
            "clickhouse://h:x/db",
            "clickhouse://h:1/db;drop",
            "clickhouse://:1/db",
            "clickhouse://[::1:1/db",
        ] {
            assert!(ClickHouseTarget::parse(bad, None).is_err(), "{bad}");
        }
    }
}
