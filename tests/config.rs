//! Configuration: defaults, file < environment precedence, unknown keys, and every invalid value
//! rejected with its key named.

use std::time::Duration;

use sniffer::{
    config::{BatchSendMode, WaitStrategy},
    ConfigError, DropPolicy, SnifferConfig,
};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_are_the_seed_values() {
    let c = SnifferConfig::default();
    assert_eq!(c.batch_size, 100);
    assert_eq!(c.batch_timeout, Duration::from_millis(5));
    assert_eq!(c.send_max_retries, 3);
    assert_eq!(c.send_retry_delay, Duration::from_micros(100));
    assert_eq!(c.stream_buffer_capacity, 2048);
    assert_eq!(c.drop_policy, DropPolicy::DropNewest);
    // The one departure from the seeds' defaults, decided by measurement (README, "Direct mode"):
    // ingest pushes straight into the bot's lanes. `sync` and `async` remain available.
    assert_eq!(c.batch_send_mode, BatchSendMode::Direct);
    assert_eq!(c.graceful_shutdown_timeout, Duration::from_secs(5));
    assert_eq!((c.watermark_warn_pct, c.watermark_critical_pct), (80, 95));
    assert_eq!((c.pause_pct, c.resume_pct), (80, 40));
    assert_eq!(c.paused_alert_after, Duration::from_secs(600));
    assert_eq!(c.health_interval, Duration::from_secs(30));
    assert_eq!(c.flush_interval, Duration::from_secs(5));
    assert_eq!(c.full_flush_interval, Duration::from_secs(60));
    assert_eq!(c.flush_batch_size, 500);
    assert_eq!(c.prune_threshold, Duration::from_secs(7200));
    assert_eq!(c.wait_strategy, WaitStrategy::Backoff);
    c.validate().unwrap();
}

#[test]
fn file_values_then_environment_overrides() {
    let toml = r#"
        batch_size = 64
        batch_timeout = "2ms"
        drop_policy = "drop_oldest"
        block_timeout = "50ms"
    "#;
    let c = SnifferConfig::from_sources(
        toml,
        env(&[
            ("SNIFFER_BATCH_SIZE", "32"),
            ("SNIFFER_BATCH_SEND_MODE", "async"),
            ("SNIFFER_PIN_THREADS", "false"),
            ("PATH", "/usr/bin"),
        ]),
    )
    .unwrap();
    assert_eq!(c.batch_size, 32, "environment beats file");
    assert_eq!(
        c.batch_timeout,
        Duration::from_millis(2),
        "file beats default"
    );
    assert_eq!(c.drop_policy, DropPolicy::DropOldest);
    assert_eq!(c.block_timeout, Some(Duration::from_millis(50)));
    assert_eq!(c.batch_send_mode, BatchSendMode::Async);
    assert!(!c.pin_threads);
}

#[test]
fn unknown_keys_are_rejected_in_file_and_environment() {
    let err = SnifferConfig::from_toml_str("batch_sise = 3").unwrap_err();
    assert!(
        matches!(&err, ConfigError::UnknownKey { key, .. } if key == "batch_sise"),
        "{err}"
    );
    let err = SnifferConfig::from_sources("", env(&[("SNIFFER_TURBO", "1")])).unwrap_err();
    assert_eq!(err.key(), Some("turbo"));
    assert!(err.to_string().contains("SNIFFER_TURBO"), "{err}");
}

#[test]
fn wrong_types_name_the_key_and_value() {
    let err = SnifferConfig::from_toml_str("batch_size = \"lots\"").unwrap_err();
    assert_eq!(err.key(), Some("batch_size"));
    assert!(err.to_string().contains("lots"), "{err}");
    let err = SnifferConfig::from_toml_str("drop_policy = \"drop_random\"").unwrap_err();
    assert_eq!(err.key(), Some("drop_policy"));
    let err =
        SnifferConfig::from_sources("", env(&[("SNIFFER_BATCH_TIMEOUT", "soon")])).unwrap_err();
    assert_eq!(err.key(), Some("batch_timeout"));
    assert!(err.to_string().contains("soon"), "{err}");
    // TOML that does not parse still names the key of the line it breaks on.
    let err = SnifferConfig::from_toml_str("batch_size = [").unwrap_err();
    assert_eq!(err.key(), Some("batch_size"), "{err}");
    let err = SnifferConfig::from_toml_str("[[[").unwrap_err();
    assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
}

/// Each case: a modification, the key the error must name, and the value it must quote.
#[test]
fn every_invalid_value_is_rejected_with_its_key() {
    type Case = (&'static str, &'static str, fn(&mut SnifferConfig));
    let cases: &[Case] = &[
        ("stream_buffer_capacity", "0", |c| {
            c.stream_buffer_capacity = 0
        }),
        ("output_lane_capacity", "0", |c| c.output_lane_capacity = 0),
        ("batch_size", "0", |c| c.batch_size = 0),
        ("batch_size", "4096", |c| c.batch_size = 4096),
        ("batch_timeout", "0s", |c| c.batch_timeout = Duration::ZERO),
        ("graceful_shutdown_timeout", "0s", |c| {
            c.graceful_shutdown_timeout = Duration::ZERO
        }),
        ("health_interval", "0s", |c| {
            c.health_interval = Duration::ZERO
        }),
        ("paused_alert_after", "0s", |c| {
            c.paused_alert_after = Duration::ZERO
        }),
        ("flush_interval", "0s", |c| {
            c.flush_interval = Duration::ZERO
        }),
        ("block_timeout", "0s", |c| {
            c.block_timeout = Some(Duration::ZERO)
        }),
        ("max_age", "0s", |c| c.max_age = Some(Duration::ZERO)),
        ("live_block_timeout", "0s", |c| {
            c.live_block_timeout = Duration::ZERO
        }),
        // A budget per second: more than half of it would leave the socket unread too long.
        ("live_block_timeout", "501ms", |c| {
            c.live_block_timeout = Duration::from_millis(501)
        }),
        ("max_slot_lag", "0", |c| c.max_slot_lag = Some(0)),
        ("flush_batch_size", "0", |c| c.flush_batch_size = 0),
        ("resume_pct", "0", |c| c.resume_pct = 0),
        ("watermark_critical_pct", "101", |c| {
            c.watermark_critical_pct = 101
        }),
        ("resume_pct", "80", |c| c.resume_pct = 80),
        ("resume_pct", "90", |c| c.resume_pct = 90),
        ("pause_pct", "85", |c| c.pause_pct = 85),
        ("watermark_warn_pct", "95", |c| c.watermark_warn_pct = 95),
        ("watermark_warn_pct", "99", |c| {
            c.watermark_warn_pct = 99;
            c.watermark_critical_pct = 98;
        }),
        ("core_ids", "999", |c| c.core_ids = vec![0, 999]),
    ];
    for (key, value, modify) in cases {
        let mut cfg = SnifferConfig::default();
        modify(&mut cfg);
        let err = cfg.validate_with_cores(&[0, 1]).unwrap_err();
        assert_eq!(err.key(), Some(*key), "{err}");
        let text = err.to_string();
        assert!(text.contains(&format!("`{value}`")), "{key}: {text}");
    }
}

#[test]
fn boundary_values_are_accepted() {
    let cfg = SnifferConfig {
        stream_buffer_capacity: 1,
        batch_size: 1,
        resume_pct: 1,
        pause_pct: 2,
        watermark_warn_pct: 2,
        watermark_critical_pct: 100,
        core_ids: vec![1],
        ..SnifferConfig::default()
    };
    cfg.validate_with_cores(&[0, 1]).unwrap();
}

/// The example file documents every key, and its values are the defaults.
#[test]
fn example_file_documents_every_key_with_its_default() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/sniffer.example.toml");
    let text = std::fs::read_to_string(path).unwrap();
    for key in SnifferConfig::KEYS {
        let documented = text
            .lines()
            .any(|l| l.trim_start_matches("# ").starts_with(&format!("{key} =")));
        assert!(documented, "{key} is not in sniffer.example.toml");
    }
    let cfg = SnifferConfig::from_file(std::path::Path::new(path)).unwrap();
    assert_eq!(cfg, SnifferConfig::default());
}

/// `tls_ca_file` must name a readable regular file holding a PEM certificate: checked by
/// `validate`, before any feed or thread, with the key and the path in the error.
#[test]
fn tls_ca_file_must_hold_a_pem_certificate() {
    let dir = std::env::temp_dir().join(format!("sniffer-config-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (missing, garbage, fake, good) = (
        dir.join("missing.pem"),
        dir.join("garbage.pem"),
        dir.join("fake.pem"),
        dir.join("good.pem"),
    );
    std::fs::write(&garbage, "not a certificate").unwrap();
    // Looks like PEM, holds no certificate.
    std::fs::write(
        &fake,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["node.example".to_owned()]).unwrap();
    std::fs::write(&good, ck.cert.pem()).unwrap();
    for (path, why) in [
        (&missing, "cannot read it"),
        (&dir, "not a regular file"),
        (&garbage, "no PEM certificate"),
        (&fake, "certificate 1 is not a DER certificate"),
    ] {
        let cfg = SnifferConfig {
            tls_ca_file: Some(path.clone()),
            ..SnifferConfig::default()
        };
        let err = cfg.validate_with_cores(&[0]).unwrap_err();
        assert_eq!(err.key(), Some("tls_ca_file"), "{err}");
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains(why), "{text}");
    }
    let cfg =
        SnifferConfig::from_sources("", env(&[("SNIFFER_TLS_CA_FILE", good.to_str().unwrap())]))
            .unwrap();
    assert_eq!(cfg.tls_ca_file.as_deref(), Some(good.as_path()));
    cfg.validate_with_cores(&[0]).unwrap();
}

/// The write buffer's and the history's keys are checked like the others, naming the key.
#[test]
fn store_keys_are_validated_by_name() {
    for (key, value) in [
        ("buffer_max_pending", "0"),
        ("buffer_ttl", "\"0s\""),
        ("history_queue", "0"),
        ("history_batch_size", "0"),
        ("history_batch_age", "\"0s\""),
    ] {
        let cfg = SnifferConfig::from_toml_str(&format!("{key} = {value}")).unwrap();
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains(key), "{key}: {err}");
    }
}
