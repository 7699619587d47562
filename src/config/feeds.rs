//! The `[[feeds]]` tables of a configuration file: one live feed each, with the options a URL
//! should not carry (a gRPC `x-token`, named by the environment variable or the file that holds
//! it) and those that choose how the feed talks (`kind`, `compression`).
//!
//! The file holds no secret itself: `x_token_env` names a variable and `token_file` a file, both
//! read by the CLI when it builds the feed. An error names the entry, the key and the value,
//! except a value that may hold a credential: a URL shows as its scheme, and a text that is not
//! a plain word (or under a key whose name says token, secret, password, key or auth) as
//! `<redacted>`.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// What a `[[feeds]]` entry connects to, for a URL whose scheme does not say (`https://` is
/// gRPC's as much as anyone's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedKind {
    /// Yellowstone gRPC (Geyser): `grpc://`, `grpcs://`, `grpc+http://`, `grpc+https://`, and
    /// `http://` or `https://` with this kind.
    Grpc,
    /// Solana JSON-RPC WebSocket: `ws://`, `wss://`.
    Ws,
}

impl FeedKind {
    /// Every kind, in the order the errors list them.
    pub const ALL: [FeedKind; 2] = [FeedKind::Grpc, FeedKind::Ws];

    /// The name the `kind` key takes.
    pub const fn as_str(self) -> &'static str {
        match self {
            FeedKind::Grpc => "grpc",
            FeedKind::Ws => "ws",
        }
    }
}

/// How a gRPC feed asks the server to compress what it streams (`compression`, or
/// `?compression=` on the feed's URL).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Uncompressed.
    #[default]
    None,
    /// gzip.
    Gzip,
    /// zstd: smaller and cheaper to decode than gzip.
    Zstd,
}

impl Compression {
    /// Every value, in the order the errors list them.
    pub const ALL: [Compression; 3] = [Compression::None, Compression::Gzip, Compression::Zstd];

    /// The name the key takes.
    pub const fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

impl std::str::FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Compression::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| "unknown compression (none, gzip, zstd)".to_owned())
    }
}

/// One `[[feeds]]` table: a feed of `sniffer run` with its own options. `--feed` on the command
/// line replaces the file's feeds.
///
/// # Examples
///
/// ```
/// use sniffer::config::{Compression, FeedKind};
/// use sniffer::SnifferConfig;
///
/// let cfg = SnifferConfig::from_toml_str(
///     "[[feeds]]\nurl = \"https://grpc.example\"\nkind = \"grpc\"\n\
///      x_token_env = \"TRITON_TOKEN\"\ncompression = \"zstd\"",
/// )?;
/// assert_eq!(cfg.feeds[0].kind, Some(FeedKind::Grpc));
/// assert_eq!(cfg.feeds[0].compression, Some(Compression::Zstd));
/// assert!(!format!("{:?}", cfg.feeds[0]).contains("grpc.example"));
/// # Ok::<(), sniffer::ConfigError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedEntry {
    /// The feed, as `--feed` takes it (secret: shown as its scheme only).
    pub url: String,
    /// What the URL connects to, when its scheme does not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<FeedKind>,
    /// gRPC: the environment variable holding this feed's `x-token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x_token_env: Option<String>,
    /// gRPC: a file holding this feed's `x-token` (surrounding whitespace ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// gRPC: the compression asked of the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
}

impl fmt::Debug for FeedEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeedEntry")
            .field("url", &url_shown(&self.url))
            .field("kind", &self.kind)
            .field("x_token_env", &self.x_token_env)
            .field("token_file", &self.token_file)
            .field("compression", &self.compression)
            .finish()
    }
}

/// The keys of a `[[feeds]]` table.
pub(crate) const FEED_KEYS: &[&str] = &["url", "kind", "x_token_env", "token_file", "compression"];

/// A URL as errors and logs may show it: `scheme://…` (anything after the scheme may be a
/// credential).
pub(crate) fn url_shown(url: &str) -> String {
    match url.split_once("://") {
        Some((s, _)) if is_word(s) && !s.is_empty() => format!("{s}://…"),
        _ => "…".to_owned(),
    }
}

/// True for a name that can hold no credential's punctuation: letters, digits, `_ + - .`, at
/// most 64 of them.
fn is_word(s: &str) -> bool {
    s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.'))
}

/// True for an environment variable's name (`[A-Za-z_][A-Za-z0-9_]*`).
pub(crate) fn is_env_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `key = value` as an error shows it.
fn shown(key: &str, v: &toml::Value) -> String {
    let lower = key.to_ascii_lowercase();
    let secret_name = ["token", "secret", "pass", "key", "auth", "cred"]
        .iter()
        .any(|s| lower.contains(s))
        && key != "x_token_env";
    let value = match v {
        toml::Value::String(s) if key == "url" => format!("\"{}\"", url_shown(s)),
        toml::Value::String(s) if key == "token_file" && !s.contains('\n') => format!("{v}"),
        // Not a variable's name: perhaps the token itself.
        toml::Value::String(s) if key == "x_token_env" && !is_env_name(s) => "<redacted>".into(),
        toml::Value::String(s) if !secret_name && is_word(s) => format!("{v}"),
        toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_)
            if !secret_name =>
        {
            v.to_string()
        }
        _ => "<redacted>".to_owned(),
    };
    format!("{key} = {value}")
}

fn invalid(value: String, reason: String) -> ConfigError {
    ConfigError::Invalid {
        key: "feeds",
        value,
        reason,
    }
}

/// Checks the `feeds` value of a file (an array of tables) key by key, before it is read into
/// [`FeedEntry`]s: an unknown key, a value of the wrong type, an unknown kind or compression is
/// named with its entry (counted from 1).
pub(crate) fn check_toml(value: &toml::Value) -> Result<(), ConfigError> {
    let Some(entries) = value.as_array() else {
        return Err(invalid(
            "feeds = <not a list of tables>".into(),
            "write each feed as a [[feeds]] table".into(),
        ));
    };
    for (i, entry) in entries.iter().enumerate() {
        let n = i + 1;
        let Some(table) = entry.as_table() else {
            return Err(invalid(
                format!("entry {n}"),
                format!("[[feeds]] entry {n} is not a table"),
            ));
        };
        for (k, v) in table {
            check_one(n, k, v)?;
        }
        if !table.contains_key("url") {
            return Err(invalid(
                format!("entry {n}"),
                format!("[[feeds]] entry {n} has no `url`"),
            ));
        }
    }
    Ok(())
}

/// One `key = value` of entry `n`.
fn check_one(n: usize, k: &str, v: &toml::Value) -> Result<(), ConfigError> {
    let fail = |why: String| Err(invalid(shown(k, v), format!("[[feeds]] entry {n}: {why}")));
    let Some(text) = v.as_str() else {
        return if FEED_KEYS.contains(&k) {
            fail(format!("`{k}` must be a string"))
        } else {
            fail(format!("unknown key `{k}` ({})", FEED_KEYS.join(", ")))
        };
    };
    let names = |all: &[&str]| all.join(", ");
    match k {
        "url" | "token_file" if text.trim().is_empty() => fail(format!("`{k}` is empty")),
        "url" | "token_file" => Ok(()),
        "x_token_env" if !is_env_name(text) => fail(
            "`x_token_env` names an environment variable (letters, digits, `_`), not the \
             token itself"
                .into(),
        ),
        "x_token_env" => Ok(()),
        "kind" if FeedKind::ALL.iter().any(|c| c.as_str() == text) => Ok(()),
        "kind" => fail(format!(
            "unknown feed kind ({})",
            names(&FeedKind::ALL.map(FeedKind::as_str))
        )),
        "compression" => text.parse::<Compression>().map(drop).or_else(fail),
        _ => fail(format!("unknown key `{k}` ({})", FEED_KEYS.join(", "))),
    }
}

/// The variables the file's `[[feeds]]` name in `x_token_env`: a `SNIFFER_*` one among them
/// holds a token, not a configuration key.
pub(crate) fn token_vars(table: &toml::Table) -> Vec<String> {
    let entries = table.get("feeds").and_then(toml::Value::as_array);
    entries
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("x_token_env")?.as_str().map(str::to_owned))
        .collect()
}

/// The rule of the `feeds` key on the values read: a URL, one token source at most, and the
/// gRPC options only on a feed that can be gRPC.
pub(crate) fn check_entries(feeds: &[FeedEntry]) -> Result<(), (String, String)> {
    for (i, f) in feeds.iter().enumerate() {
        let n = i + 1;
        let at = |why: &str| Err((format!("entry {n}"), format!("[[feeds]] entry {n}: {why}")));
        if f.url.trim().is_empty() {
            return at("`url` is empty");
        }
        if f.x_token_env.is_some() && f.token_file.is_some() {
            return at("set `x_token_env` or `token_file`, not both");
        }
        if f.x_token_env.as_deref().is_some_and(|n| !is_env_name(n)) {
            return at("`x_token_env` names an environment variable (letters, digits, `_`)");
        }
        let grpc_only =
            f.x_token_env.is_some() || f.token_file.is_some() || f.compression.is_some();
        if f.kind == Some(FeedKind::Ws) && grpc_only {
            return at("`x_token_env`, `token_file` and `compression` are for gRPC feeds");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<(), ConfigError> {
        let t: toml::Table = text.parse().unwrap();
        check_toml(&t["feeds"])
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named_without_secrets() {
        let e = check("[[feeds]]\nurl = \"grpc://h\"\ncompresion = \"zstd\"").unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("compresion = \"zstd\"") && s.contains("entry 1"),
            "{s}"
        );
        let e = check("[[feeds]]\nurl = \"grpc://h\"\n[[feeds]]\nurl = \"x\"\nkind = \"grcp\"")
            .unwrap_err();
        assert!(e.to_string().contains("kind = \"grcp\""), "{e}");
        assert!(e.to_string().contains("entry 2"), "{e}");
        let e = check("[[feeds]]\nurl = \"grpc://h\"\ncompression = \"lz4\"").unwrap_err();
        assert!(e.to_string().contains("compression = \"lz4\""), "{e}");
        for (text, secret) in [
            (
                "[[feeds]]\nurl = \"grpc://h\"\nx_token = \"S3CRET\"",
                "S3CRET",
            ),
            (
                "[[feeds]]\nurl = \"grpc://h\"\nx_token_env = \"S3-CRET\"",
                "S3-CRET",
            ),
            (
                "[[feeds]]\nurl = \"wss://h/?api-key=S3CRET\"\nkind = 1",
                "S3CRET",
            ),
            ("[[feeds]]\nuri = \"wss://h/?api-key=S3CRET\"", "S3CRET"),
        ] {
            let e = check(text).unwrap_err().to_string();
            assert!(!e.contains(secret), "{e}");
        }
        let e = check("[[feeds]]\nkind = \"grpc\"").unwrap_err();
        assert!(e.to_string().contains("has no `url`"), "{e}");
        check("[[feeds]]\nurl = \"https://h\"\nkind = \"grpc\"\ntoken_file = \"/t\"").unwrap();
    }

    #[test]
    fn entries_take_one_token_source_and_grpc_options_on_grpc_only() {
        let both = FeedEntry {
            url: "grpc://h".into(),
            x_token_env: Some("A".into()),
            token_file: Some("/t".into()),
            ..FeedEntry::default()
        };
        assert!(check_entries(&[both]).unwrap_err().1.contains("not both"));
        let ws = FeedEntry {
            url: "wss://h".into(),
            kind: Some(FeedKind::Ws),
            compression: Some(Compression::Zstd),
            ..FeedEntry::default()
        };
        assert!(check_entries(&[ws]).unwrap_err().1.contains("gRPC"));
        assert_eq!(url_shown("wss://u:p@h/?k=1"), "wss://…");
        assert_eq!(url_shown("u:p@h"), "…");
    }
}
