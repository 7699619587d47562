//! The operator's view: the Prometheus text parses and matches the snapshot, the HTTP endpoints
//! answer over a real loopback socket (feature `http`), and the async stream delivers everything
//! (feature `tokio`).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::tagged;
use sniffer::{MetricsSnapshot, Priority, Sniffer};

/// A strict reader of the text format: every sample has a `# TYPE` (and `# HELP`) before it,
/// names are valid, values are numbers.
fn parse_prometheus(text: &str) -> (HashMap<String, f64>, HashMap<String, String>) {
    let mut types = HashMap::new();
    let mut helps = HashMap::new();
    let mut samples = HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP has a text");
            assert!(!help.is_empty());
            helps.insert(name.to_string(), help.to_string());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, ty) = rest.split_once(' ').expect("TYPE has a type");
            assert!(["counter", "gauge", "summary"].contains(&ty), "{line}");
            assert!(helps.contains_key(name), "HELP before TYPE for {name}");
            types.insert(name.to_string(), ty.to_string());
        } else {
            let (series, value) = line.rsplit_once(' ').expect("sample has a value");
            let name = series.split('{').next().unwrap();
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && name.starts_with("sniffer_"),
                "{name}"
            );
            let family = name.trim_end_matches("_sum").trim_end_matches("_count");
            assert!(
                types.contains_key(name) || types.contains_key(family),
                "no TYPE for {name}"
            );
            if types.get(name).is_some_and(|t| t == "counter") {
                assert!(name.ends_with("_total"), "counter {name} ends in _total");
            }
            samples.insert(
                series.to_string(),
                value.parse::<f64>().expect("numeric value"),
            );
        }
    }
    (samples, types)
}

fn busy_snapshot() -> MetricsSnapshot {
    let mut engine = Sniffer::builder().build().unwrap();
    let rx = engine.take_receiver().unwrap();
    let h = engine.ingest_handle();
    for n in 0..500 {
        h.ingest(tagged(
            0,
            n,
            if n % 5 == 0 {
                Priority::High
            } else {
                Priority::Low
            },
        ))
        .unwrap();
    }
    let report = engine.shutdown(Duration::from_secs(5));
    assert_eq!(rx.try_iter().count(), 500);
    report.metrics
}

#[test]
fn prometheus_text_parses_and_matches_the_snapshot() {
    let m = busy_snapshot();
    let (samples, types) = parse_prometheus(&m.to_prometheus());
    let json = serde_json::to_value(&m).unwrap();
    for (field, metric) in [
        ("tx_seen", "sniffer_tx_seen_total"),
        ("candidates_detected", "sniffer_candidates_detected_total"),
        ("candidates_sent", "sniffer_candidates_sent_total"),
        ("high_sent", "sniffer_high_sent_total"),
        ("dropped_full_buffer", "sniffer_dropped_full_buffer_total"),
        ("dropped_shutdown", "sniffer_dropped_shutdown_total"),
        ("batches_sent", "sniffer_batches_sent_total"),
        ("stream_buffer_capacity", "sniffer_stream_buffer_capacity"),
        ("in_flight", "sniffer_in_flight"),
    ] {
        assert_eq!(samples[metric], json[field].as_f64().unwrap(), "{metric}");
    }
    assert_eq!(samples["sniffer_candidates_sent_total"], 500.0);
    assert_eq!(types["sniffer_stream_buffer_depth"], "gauge");
    assert_eq!(types["sniffer_latency_ns"], "summary");
    assert_eq!(
        samples["sniffer_latency_ns_count"],
        m.latency_ns.count as f64
    );
    assert_eq!(
        samples[r#"sniffer_latency_ns{quantile="0.99"}"#],
        m.latency_ns.p99 as f64
    );
    assert_eq!(samples["sniffer_paused"], 0.0);
}

#[cfg(feature = "http")]
mod http {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use super::*;
    use sniffer::{HttpServer, SnifferConfig};

    fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let code = out[9..12].parse().unwrap();
        let body = out
            .split_once("\r\n\r\n")
            .map(|x| x.1.to_string())
            .unwrap_or_default();
        (code, body)
    }

    #[test]
    fn metrics_and_health_over_loopback() {
        let cfg = SnifferConfig {
            stream_buffer_capacity: 10,
            batch_size: 1,
            ..SnifferConfig::default()
        };
        let common::Stalled {
            engine, release, ..
        } = common::stalled_handler(cfg, tagged(0, 0, Priority::Low));
        let server = HttpServer::start("127.0.0.1:0", engine.metrics_source()).unwrap();
        let addr = server.local_addr();

        let (code, body) = get(addr, "/health");
        assert_eq!(code, 200);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "healthy");

        // The batcher is stalled: fill the ring past the pause level, and it reports paused (503).
        let h = engine.ingest_handle();
        for n in 1..=9 {
            h.ingest(tagged(0, n, Priority::Low)).unwrap();
        }
        let until = std::time::Instant::now() + Duration::from_secs(20);
        while !h.is_paused() {
            assert!(std::time::Instant::now() < until);
            std::thread::sleep(Duration::from_millis(1));
        }
        let (code, body) = get(addr, "/health");
        assert_eq!(code, 503);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "paused");
        assert_eq!(v["snapshot"]["stream_buffer_depth"], 9);

        let (code, body) = get(addr, "/metrics");
        assert_eq!(code, 200);
        let (samples, _) = parse_prometheus(&body);
        assert_eq!(samples["sniffer_stream_buffer_depth"], 9.0);
        assert_eq!(samples["sniffer_paused"], 1.0);

        assert_eq!(get(addr, "/nope").0, 404);
        drop(release);
        drop(server);
        let report = engine.shutdown(Duration::from_secs(5));
        assert!(report.metrics.accounting_holds());
    }
}

#[cfg(feature = "tokio")]
mod stream {
    use super::*;
    use sniffer::{BatchSendMode, SnifferConfig};

    #[test]
    fn the_stream_delivers_everything_then_ends() {
        for mode in [BatchSendMode::Sync, BatchSendMode::Async] {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap();
            let cfg = SnifferConfig {
                batch_send_mode: mode,
                drop_policy: sniffer::DropPolicy::Block,
                ..SnifferConfig::default()
            };
            let mut engine = Sniffer::builder().config(cfg).build().unwrap();
            let mut stream = engine.take_receiver().unwrap().into_stream();
            let h = engine.ingest_handle();
            let producer = std::thread::spawn(move || {
                for n in 0..20_000 {
                    h.ingest(tagged(
                        0,
                        n,
                        if n % 3 == 0 {
                            Priority::High
                        } else {
                            Priority::Low
                        },
                    ))
                    .unwrap();
                    if n % 1000 == 0 {
                        // Let the stream go idle now and then, so that wake-ups are exercised.
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
                engine.shutdown(Duration::from_secs(10))
            });
            let got = rt.block_on(async {
                let mut got = Vec::new();
                while let Some(c) = tokio::time::timeout(Duration::from_secs(30), stream.recv())
                    .await
                    .expect("the stream never stalls")
                {
                    got.push(c);
                }
                got
            });
            let report = producer.join().unwrap();
            common::assert_delivery(&got, &report.metrics);
            assert_eq!(got.len(), 20_000);
        }
    }
}
