//! Kafka in the CLI: `--feed kafka://BROKER[,BROKER]/TOPIC?group=NAME[&format=lines]`,
//! `--publish kafka://BROKER/TOPIC`, the SASL credentials from the environment, and the one
//! publisher `run` drives whichever system its URL names (NATS or Kafka).

use std::path::Path;

use sniffer::decode::DecoderConfig;
use sniffer::feed::{DecodeObserver, Feed, KafkaFeed};
use sniffer::metrics::PublishSnapshot;
use sniffer::net::kafka::{KafkaAuth, KafkaConfig, KafkaError, SaslMechanism};
use sniffer::publish::{KafkaPublishHandle, KafkaPublisher, PublishHandle, TryPublishError};
use sniffer::{LaunchMeta, PremintCandidate, SnifferConfig};

use super::UsageError;

/// Environment variables holding the SASL credentials (never flags: flags show in `ps`).
pub(crate) const KAFKA_USER_ENV: &str = "SNIFFER_KAFKA_USER";
pub(crate) const KAFKA_PASSWORD_ENV: &str = "SNIFFER_KAFKA_PASSWORD";
/// `PLAIN` (the default), `SCRAM-SHA-256` or `SCRAM-SHA-512`.
pub(crate) const KAFKA_MECHANISM_ENV: &str = "SNIFFER_KAFKA_SASL_MECHANISM";

/// True for a Kafka URL (`kafka://`, `kafka+tls://`).
pub(crate) fn is_kafka(spec: &str) -> bool {
    let lower = spec.get(..12).unwrap_or(spec).to_ascii_lowercase();
    lower.starts_with("kafka://") || lower.starts_with("kafka+tls://")
}

/// The Kafka settings of `cfg`, with the SASL credentials of the environment.
///
/// # Errors
///
/// A user without a password (or the reverse), or an unknown mechanism: bad usage.
pub(crate) fn kafka_config(cfg: &SnifferConfig) -> Result<KafkaConfig, UsageError> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let auth = match (var(KAFKA_USER_ENV), var(KAFKA_PASSWORD_ENV)) {
        (Some(user), Some(password)) => KafkaAuth::Sasl {
            mechanism: match var(KAFKA_MECHANISM_ENV) {
                Some(m) => m
                    .parse::<SaslMechanism>()
                    .map_err(|e| UsageError(format!("{KAFKA_MECHANISM_ENV}: {e}")))?,
                None => SaslMechanism::Plain,
            },
            user,
            password,
        },
        (None, None) => KafkaAuth::None,
        _ => {
            return Err(UsageError(format!(
                "SASL needs both {KAFKA_USER_ENV} and {KAFKA_PASSWORD_ENV}"
            )))
        }
    };
    Ok(KafkaConfig {
        auth,
        ..KafkaConfig::from(cfg)
    })
}

/// A Kafka error as the CLI reports it: a bad URL is bad usage (exit 2), an unreachable broker
/// a runtime failure (exit 1).
pub(crate) fn kafka_error(what: &str, e: KafkaError) -> anyhow::Error {
    match e {
        KafkaError::Url(m) => UsageError(format!("{what}: {m}")).into(),
        other => anyhow::anyhow!("{what}: {other}"),
    }
}

/// Feed `i`, a Kafka consumer; `format=lines` decodes with `decoder`, shows what it decoded to
/// `observer` and records to `record` when asked.
pub(crate) fn feed(
    spec: &str,
    i: usize,
    decoder: DecoderConfig,
    cfg: &SnifferConfig,
    observer: Option<&dyn Fn() -> DecodeObserver>,
    record: Option<&Path>,
) -> anyhow::Result<Box<dyn Feed>> {
    let what = format!("feed {i} (Kafka)");
    let feed =
        KafkaFeed::new(spec, kafka_config(cfg)?, decoder).map_err(|e| kafka_error(&what, e))?;
    if !feed.decodes_lines() {
        if record.is_some() {
            return Err(UsageError(format!(
                "--record needs a decoded feed ({what} carries launch records; use ?format=lines for notification lines)"
            ))
            .into());
        }
        return Ok(Box::new(feed));
    }
    let feed = match observer {
        Some(make) => feed.with_observer(make()),
        None => feed,
    };
    let feed = match record {
        Some(path) => feed
            .record_to(path)
            .map_err(|e| UsageError(format!("cannot create {}: {e}", path.display())))?,
        None => feed,
    };
    Ok(Box::new(feed))
}

/// The `--publish` target: NATS or Kafka, by the URL's scheme.
pub(crate) enum Publisher {
    Nats(sniffer::publish::Publisher),
    Kafka(KafkaPublisher),
}

/// The bot's side of a [`Publisher`].
#[derive(Clone)]
pub(crate) enum Handle {
    Nats(PublishHandle),
    Kafka(KafkaPublishHandle),
}

impl Handle {
    /// Never blocks; a refusal is counted in `publish_dropped`.
    pub(crate) fn try_publish(
        &self,
        c: &PremintCandidate,
        meta: Option<&LaunchMeta>,
    ) -> Result<(), TryPublishError> {
        match self {
            Handle::Nats(h) => h.try_publish_with_meta(c, meta),
            Handle::Kafka(h) => h.try_publish_with_meta(c, meta),
        }
    }
}

impl Publisher {
    /// Checks `url` without connecting.
    pub(crate) fn check(url: &str, cfg: &SnifferConfig) -> anyhow::Result<()> {
        if is_kafka(url) {
            kafka_config(cfg)?;
            KafkaPublisher::check_url(url).map_err(|e| kafka_error("--publish", e))
        } else {
            let ncfg = sniffer::net::nats::NatsConfig::from(cfg);
            sniffer::publish::Publisher::check_url(url, &ncfg)
                .map_err(|e| super::feeds::nats_error("--publish", e))
        }
    }

    /// Connects and starts the publisher thread.
    pub(crate) fn start(url: &str, cfg: &SnifferConfig) -> anyhow::Result<Self> {
        if is_kafka(url) {
            let p = KafkaPublisher::start(url, kafka_config(cfg)?)
                .map_err(|e| kafka_error("--publish", e))?;
            Ok(Publisher::Kafka(p))
        } else {
            let p = sniffer::publish::Publisher::start(url, super::feeds::nats_config(cfg))
                .map_err(|e| super::feeds::nats_error("--publish", e))?;
            Ok(Publisher::Nats(p))
        }
    }

    pub(crate) fn handle(&self) -> Handle {
        match self {
            Publisher::Nats(p) => Handle::Nats(p.handle()),
            Publisher::Kafka(p) => Handle::Kafka(p.handle()),
        }
    }

    /// Names the engine's feeds for the records' `feed`.
    pub(crate) fn set_feed_names(&self, names: Vec<String>) {
        match self {
            Publisher::Nats(p) => p.set_feed_names(names),
            Publisher::Kafka(p) => p.set_feed_names(names),
        }
    }

    pub(crate) fn stats(&self) -> sniffer::publish::PublishStats {
        match self {
            Publisher::Nats(p) => p.stats(),
            Publisher::Kafka(p) => p.stats(),
        }
    }

    pub(crate) fn shutdown(self, timeout: std::time::Duration) -> PublishSnapshot {
        match self {
            Publisher::Nats(p) => p.shutdown(timeout),
            Publisher::Kafka(p) => p.shutdown(timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_urls_are_recognised() {
        for yes in ["kafka://h/t", "KAFKA://h/t", "kafka+tls://h/t"] {
            assert!(is_kafka(yes), "{yes}");
        }
        for no in ["nats://h", "kafka:/h", "kafk", "ws://kafka://"] {
            assert!(!is_kafka(no), "{no}");
        }
    }
}
