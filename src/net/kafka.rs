//! What the Kafka feed (`feed/kafka.rs`) and the Kafka publisher (`publish/kafka.rs`) share:
//! the client settings ([`KafkaConfig`], [`KafkaAuth`]), the URL ([`KafkaUrl`]), the librdkafka
//! configuration both clients start from ([`client_config`]), the reachability check at start,
//! librdkafka's log lines routed into `tracing`, and [`KafkaError`].
//!
//! The client is `rdkafka` over librdkafka (the C client the field runs in production), without
//! its tokio layer: the feed and the publisher each poll their client from their own thread.
//!
//! **URLs.** `kafka://BROKER[:PORT][,BROKER[:PORT]...]/TOPIC[?K=V&...]` (plaintext) or
//! `kafka+tls://...` (TLS), default port 9092; several brokers are bootstrap servers of one
//! cluster. Credentials never go in the URL (a command line shows in `ps`): SASL comes from
//! [`KafkaConfig::auth`] (the CLI reads `SNIFFER_KAFKA_USER`, `SNIFFER_KAFKA_PASSWORD`,
//! `SNIFFER_KAFKA_SASL_MECHANISM`). `Display` shows the brokers, the topic and the parameters;
//! the password appears in no name, log line, metric or error.
//!
//! **Wire.** Key = the launch's identity ([`message_id`](crate::net::nats::wire::message_id):
//! mint and signature), body = the record's JSON, as on NATS. The key sends every copy of a
//! launch (several publishing sniffers, a re-send) to one partition, so the one consumer of the
//! group that owns it sees them all and the engine's first-sighting dedup keeps one.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use rdkafka::client::Client;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::ClientContext;
use thiserror::Error;

use crate::config::SnifferConfig;

/// The Kafka client port.
pub(crate) const DEFAULT_PORT: u16 = 9092;

/// SASL credentials. `Debug` never shows the password.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum KafkaAuth {
    /// No SASL.
    #[default]
    None,
    /// SASL with `mechanism` (`PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`).
    Sasl {
        /// The SASL mechanism.
        mechanism: SaslMechanism,
        /// The user.
        user: String,
        /// The password.
        password: String,
    },
}

impl fmt::Debug for KafkaAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KafkaAuth::None => f.write_str("None"),
            KafkaAuth::Sasl { mechanism, .. } => {
                write!(f, "Sasl({}, <redacted>)", mechanism.name())
            }
        }
    }
}

/// A SASL mechanism librdkafka speaks without Kerberos.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SaslMechanism {
    /// `PLAIN` (user and password in the clear: use it over `kafka+tls://`).
    #[default]
    Plain,
    /// `SCRAM-SHA-256`.
    ScramSha256,
    /// `SCRAM-SHA-512`.
    ScramSha512,
}

impl SaslMechanism {
    /// The name librdkafka and brokers use.
    pub fn name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

impl std::str::FromStr for SaslMechanism {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "PLAIN" => Ok(SaslMechanism::Plain),
            "SCRAM-SHA-256" => Ok(SaslMechanism::ScramSha256),
            "SCRAM-SHA-512" => Ok(SaslMechanism::ScramSha512),
            _ => Err("unknown SASL mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)".into()),
        }
    }
}

/// Settings shared by the Kafka feed and the Kafka publisher; `From<&SnifferConfig>` takes the
/// live feeds' reconnect delays and `tls_ca_file`, the rest are the defaults below.
#[derive(Clone, Debug)]
pub struct KafkaConfig {
    /// Capacity of the publisher's queue (default 8192); a full queue drops, counted.
    pub queue: usize,
    /// Publisher: librdkafka retries a message (idempotently) for this long (default 30 s);
    /// then the publisher sends it again after a backoff, counted in `publish_retries`.
    pub message_timeout: Duration,
    /// Feed: the group evicts a consumer silent for this long (default 45 s).
    pub session_timeout: Duration,
    /// Feed: the group evicts a consumer that does not poll for this long (default 300 s). A
    /// paused feed keeps polling, so a pause of any length keeps its membership.
    pub max_poll_interval: Duration,
    /// Feed: how often the offsets of what was handled are committed (default 1 s; also at
    /// every revocation and at the end).
    pub commit_interval: Duration,
    /// Longest wait at start for a broker to answer (default 5 s).
    pub connect_timeout: Duration,
    /// No broker at start: go on and let the client reconnect (true), or fail (false, the
    /// default).
    pub connect_retry: bool,
    /// First delay of a reconnect or a re-send (doubles per failure, with jitter).
    pub backoff_min: Duration,
    /// Longest reconnect or re-send delay.
    pub backoff_max: Duration,
    /// PEM file of CA certificates for `kafka+tls://` (absent: the system's).
    pub ca_file: Option<PathBuf>,
    /// SASL credentials (never displayed).
    pub auth: KafkaAuth,
    /// More librdkafka properties, applied last (`("fetch.max.bytes", "1048576")`); values
    /// never shown. For what these settings do not cover.
    pub properties: Vec<(String, String)>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig::from(&SnifferConfig::default())
    }
}

impl From<&SnifferConfig> for KafkaConfig {
    fn from(c: &SnifferConfig) -> Self {
        KafkaConfig {
            queue: 8192,
            message_timeout: Duration::from_secs(30),
            session_timeout: Duration::from_secs(45),
            max_poll_interval: Duration::from_secs(300),
            commit_interval: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(5),
            connect_retry: false,
            backoff_min: c.reconnect_backoff_min,
            backoff_max: c.reconnect_backoff_max,
            ca_file: c.tls_ca_file.clone(),
            auth: KafkaAuth::None,
            properties: Vec::new(),
        }
    }
}

/// Why a Kafka feed or publisher could not start. Messages never show the SASL password.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum KafkaError {
    /// The URL (or one of its parameters) is not usable: bad usage.
    #[error("{0}")]
    Url(String),
    /// No broker answered within `connect_timeout` (with `connect_retry = false`).
    #[error("{0}")]
    Connect(String),
    /// The client refused its configuration, or could not subscribe.
    #[error("{0}")]
    Setup(String),
    /// A thread could not be started.
    #[error("{0}")]
    Start(String),
}

/// A parsed Kafka URL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct KafkaUrl {
    pub(crate) tls: bool,
    /// `(host, port)`, at least one.
    pub(crate) brokers: Vec<(String, u16)>,
    pub(crate) topic: String,
    /// Query parameters, in order.
    pub(crate) params: Vec<(String, String)>,
}

impl fmt::Debug for KafkaUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KafkaUrl({self})")
    }
}

impl fmt::Display for KafkaUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "kafka+tls" } else { "kafka" };
        write!(f, "{scheme}://{}/{}", self.bootstrap(), self.topic)?;
        for (i, (k, v)) in self.params.iter().enumerate() {
            write!(f, "{}{k}={v}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

impl KafkaUrl {
    /// Parses `kafka://` or `kafka+tls://` URLs; parameters outside `known` are refused.
    pub(crate) fn parse(url: &str, known: &[&str]) -> Result<Self, KafkaError> {
        let err = |m: &str| KafkaError::Url(m.to_owned());
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| err("not a Kafka URL: expected kafka://BROKER[:PORT]/TOPIC"))?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "kafka" => false,
            "kafka+tls" => true,
            _ => {
                return Err(err(
                    "unsupported scheme (expected kafka:// or kafka+tls://)",
                ))
            }
        };
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (hosts, tail) = rest.split_at(split);
        if hosts.contains('@') {
            return Err(err(
                "credentials do not go in a Kafka URL: set SNIFFER_KAFKA_USER and SNIFFER_KAFKA_PASSWORD",
            ));
        }
        let brokers = hosts.split(',').map(host_port).collect::<Result<_, _>>()?;
        let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
        let topic = path.strip_prefix('/').unwrap_or(path).to_owned();
        if let Some(why) = name_problem(&topic) {
            return Err(KafkaError::Url(format!("topic `{topic}` {why}")));
        }
        let mut params = Vec::new();
        for kv in query.split('&').filter(|kv| !kv.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            if !known.contains(&k) {
                // The key only: a value typed by mistake could be a secret.
                let k: String = k.chars().filter(|c| !c.is_control()).take(32).collect();
                return Err(KafkaError::Url(format!(
                    "unknown parameter `{k}` (known: {})",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                )));
            }
            params.push((k.to_owned(), v.to_owned()));
        }
        Ok(KafkaUrl {
            tls,
            brokers,
            topic,
            params,
        })
    }

    /// `host:port,host:port` (IPv6 in brackets): librdkafka's `bootstrap.servers`.
    pub(crate) fn bootstrap(&self) -> String {
        self.brokers
            .iter()
            .map(|(h, p)| {
                if h.contains(':') {
                    format!("[{h}]:{p}")
                } else {
                    format!("{h}:{p}")
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The value of parameter `key` (the last one given).
    pub(crate) fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// `host[:port]` or `[v6][:port]`.
fn host_port(h: &str) -> Result<(String, u16), KafkaError> {
    let err = |m: &str| KafkaError::Url(m.to_owned());
    let (host, port) = match h.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| err("unterminated IPv6 address"))?;
            (host, after.strip_prefix(':'))
        }
        None => match h.rsplit_once(':') {
            Some((host, p)) => (host, Some(p)),
            None => (h, None),
        },
    };
    if host.is_empty() {
        return Err(err("missing broker host"));
    }
    if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err("a host name holds no spaces or control characters"));
    }
    let port = match port {
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
            let shown: String = p.chars().filter(char::is_ascii_digit).take(8).collect();
            KafkaError::Url(format!("bad port `{shown}`"))
        })?,
        None => DEFAULT_PORT,
    };
    Ok((host.to_owned(), port))
}

/// Why `name` is no valid topic or group name for this crate (`None` when it is): 1 to 249 of
/// `[A-Za-z0-9._-]`, not `.` or `..` (Kafka's topic rule; groups are held to it too, so that
/// they show and type safely).
pub(crate) fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("is missing (expected kafka://BROKER/TOPIC)");
    }
    if name.len() > 249 {
        return Some("is longer than 249 characters");
    }
    if name == "." || name == ".." {
        return Some("may not be `.` or `..`");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Some("may hold only letters, digits, `.`, `_` and `-`");
    }
    None
}

/// The librdkafka settings both clients start from: brokers, security, timeouts, `client.id`.
pub(crate) fn client_config(url: &KafkaUrl, cfg: &KafkaConfig, client_id: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    let ms = |d: Duration| d.as_millis().clamp(1, i32::MAX as u128).to_string();
    let sasl = !matches!(cfg.auth, KafkaAuth::None);
    let protocol = match (url.tls, sasl) {
        (false, false) => "plaintext",
        (true, false) => "ssl",
        (false, true) => "sasl_plaintext",
        (true, true) => "sasl_ssl",
    };
    c.set("bootstrap.servers", url.bootstrap())
        .set("client.id", client_id)
        .set("security.protocol", protocol)
        // librdkafka's floor is one second; the start-up check keeps `connect_timeout`.
        .set(
            "socket.connection.setup.timeout.ms",
            ms(cfg.connect_timeout.max(Duration::from_secs(1))),
        )
        .set("reconnect.backoff.ms", ms(cfg.backoff_min))
        .set(
            "reconnect.backoff.max.ms",
            ms(cfg.backoff_max.max(cfg.backoff_min)),
        )
        .set("retry.backoff.ms", ms(cfg.backoff_min))
        .set(
            "retry.backoff.max.ms",
            ms(cfg.backoff_max.max(cfg.backoff_min)),
        )
        .set_log_level(RDKafkaLogLevel::Warning);
    if let KafkaAuth::Sasl {
        mechanism,
        user,
        password,
    } = &cfg.auth
    {
        c.set("sasl.mechanism", mechanism.name())
            .set("sasl.username", user)
            .set("sasl.password", password);
    }
    if let Some(ca) = &cfg.ca_file {
        c.set("ssl.ca.location", ca.display().to_string());
    }
    for (k, v) in &cfg.properties {
        c.set(k, v);
    }
    c
}

/// Asks the brokers for the topic's metadata within `connect_timeout`.
///
/// # Errors
///
/// [`KafkaError::Connect`] when no broker answers (or it refuses the credentials).
pub(crate) fn check_reachable<C: ClientContext>(
    client: &Client<C>,
    url: &KafkaUrl,
    cfg: &KafkaConfig,
) -> Result<(), KafkaError> {
    match client.fetch_metadata(Some(&url.topic), cfg.connect_timeout) {
        Ok(md) => {
            if let Some(t) = md.topics().iter().find(|t| t.name() == url.topic) {
                if let Some(e) = t.error() {
                    tracing::warn!(kafka = %url, error = ?e, "the topic is not usable yet (create it, or let the broker create it)");
                }
            }
            Ok(())
        }
        Err(e) => Err(KafkaError::Connect(format!(
            "{url}: no broker answered within {:?} ({e})",
            cfg.connect_timeout
        ))),
    }
}

/// A client's log line, into `tracing` under the client's (redacted) name. librdkafka's errors
/// are mostly transient (a broker down, a reconnect), so they log as warnings.
pub(crate) fn log(name: &str, level: RDKafkaLogLevel, fac: &str, msg: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error
        | RDKafkaLogLevel::Warning => tracing::warn!(kafka = %name, facility = fac, "{msg}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::debug!(kafka = %name, facility = fac, "{msg}")
        }
        RDKafkaLogLevel::Debug => tracing::trace!(kafka = %name, facility = fac, "{msg}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEED: &[&str] = &["group", "format", "offset"];

    #[test]
    fn parses_brokers_topic_and_parameters() {
        let u =
            KafkaUrl::parse("kafka://a:1,b,[::1]:3/launches?group=g&format=lines", FEED).unwrap();
        assert!(!u.tls);
        assert_eq!(
            u.brokers,
            vec![
                ("a".into(), 1),
                ("b".into(), DEFAULT_PORT),
                ("::1".into(), 3)
            ]
        );
        assert_eq!(u.bootstrap(), "a:1,b:9092,[::1]:3");
        assert_eq!(u.topic, "launches");
        assert_eq!(
            (u.param("group"), u.param("format")),
            (Some("g"), Some("lines"))
        );
        assert_eq!(
            u.to_string(),
            "kafka://a:1,b:9092,[::1]:3/launches?group=g&format=lines"
        );
        let t = KafkaUrl::parse("KAFKA+TLS://h/t", &[]).unwrap();
        assert!(t.tls);
        assert_eq!(t.to_string(), "kafka+tls://h:9092/t");
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_secrets() {
        for (url, needle) in [
            ("http://h/t", "unsupported scheme"),
            ("kafka://alice:hunter2@h/t", "credentials"),
            ("kafka://h:0/t", "bad port"),
            ("kafka://h:99999/t", "bad port"),
            ("kafka://h", "missing"),
            ("kafka://h/a/b", "may hold only"),
            (
                "kafka://h/t?password=hunter2",
                "unknown parameter `password`",
            ),
            ("kafka:///t", "missing broker"),
            ("hunter2", "not a Kafka URL"),
        ] {
            let e = KafkaUrl::parse(url, FEED).unwrap_err();
            assert!(matches!(e, KafkaError::Url(_)), "{url}: {e:?}");
            assert!(e.to_string().contains(needle), "{url}: {e}");
            assert!(!e.to_string().contains("hunter2"), "{url}: {e}");
        }
    }

    #[test]
    fn the_password_never_shows() {
        let cfg = KafkaConfig {
            auth: KafkaAuth::Sasl {
                mechanism: SaslMechanism::ScramSha512,
                user: "alice".into(),
                password: "hunter2".into(),
            },
            ..KafkaConfig::default()
        };
        let url = KafkaUrl::parse("kafka+tls://h/t", &[]).unwrap();
        let c = client_config(&url, &cfg, "x");
        assert_eq!(c.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(c.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        let shown = format!("{cfg:?} {c:?} {url}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!("scram-sha-256".parse(), Ok(SaslMechanism::ScramSha256));
    }

    #[test]
    fn names() {
        for ok in ["launches", "a.b_c-D9", &"x".repeat(249)] {
            assert_eq!(name_problem(ok), None, "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "ä", &"x".repeat(250)] {
            assert!(name_problem(bad).is_some(), "{bad}");
        }
    }
}
