//! The operator's view: the Prometheus text parses and matches the snapshot, the HTTP endpoints
//! answer over a real loopback socket (feature `http`), and the async stream delivers everything
//! (feature `tokio`).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::tagged;
use sniffer::{
    config::BatchSendMode, MetricsSnapshot, PremintCandidate, Priority, Sniffer, SnifferConfig,
};

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
            assert!(
                ["counter", "gauge", "summary", "histogram"].contains(&ty),
                "{line}"
            );
            assert!(helps.contains_key(name), "HELP before TYPE for {name}");
            types.insert(name.to_string(), ty.to_string());
        } else {
            let (series, value) = line.rsplit_once(' ').expect("sample has a value");
            let name = series.split('{').next().unwrap();
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && (name.starts_with("sniffer_") || name.starts_with("process_")),
                "{name}"
            );
            let family = name
                .trim_end_matches("_sum")
                .trim_end_matches("_count")
                .trim_end_matches("_bucket");
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

/// Candidates of the busy run: a multiple of the receiver's latency sampling period (32), so
/// that every delivery is in the histogram.
const BUSY: u64 = 512;

fn busy_snapshot() -> MetricsSnapshot {
    let mut engine = Sniffer::builder().build().unwrap();
    let rx = engine.take_receiver().unwrap();
    let h = engine.ingest_handle();
    for n in 0..BUSY {
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
    // Received before the shutdown, so that the report's latency histogram holds them.
    assert_eq!(rx.try_iter().count() as u64, BUSY);
    let report = engine.shutdown(Duration::from_secs(5));
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
    assert_eq!(samples["sniffer_candidates_sent_total"], BUSY as f64);
    assert_eq!(types["sniffer_stream_buffer_depth"], "gauge");
    assert_eq!(types["sniffer_latency_seconds"], "histogram");
    // Every delivery was timed: the histogram holds exactly the candidates received.
    assert_eq!(m.latency_ns.count, BUSY);
    assert_eq!(samples["sniffer_latency_seconds_count"], BUSY as f64);
    assert_eq!(
        samples[r#"sniffer_latency_seconds_bucket{le="+Inf"}"#],
        BUSY as f64
    );
    assert_eq!(types["sniffer_latency_quantiles_seconds"], "summary");
    assert_eq!(
        samples[r#"sniffer_latency_quantiles_seconds{quantile="0.99"}"#],
        m.latency_ns.p99 as f64 / 1e9
    );
    assert_eq!(samples["sniffer_paused"], 0.0);
}

/// The detection-to-delivery histogram counts each delivery exactly once: every handler call
/// (sync and async senders), and every receive of the bot (direct and sync lanes; ready receives
/// are timed one in 32 with the weight of 32, so a multiple of 32 adds up exactly).
#[test]
fn the_latency_histogram_records_every_delivery() {
    for mode in [BatchSendMode::Sync, BatchSendMode::Async] {
        let engine = Sniffer::builder()
            .config(SnifferConfig {
                batch_send_mode: mode,
                ..SnifferConfig::default()
            })
            .handler(|_: &PremintCandidate| {})
            .build()
            .unwrap();
        for n in 0..100 {
            engine
                .ingest_handle()
                .ingest(tagged(0, n, Priority::Low))
                .unwrap();
        }
        let report = engine.shutdown(Duration::from_secs(5));
        assert_eq!(report.latency.count(), 100, "handler, {mode:?}");
        assert_eq!(report.metrics.latency_ns.count, 100, "handler, {mode:?}");
    }
    for mode in [BatchSendMode::Direct, BatchSendMode::Sync] {
        let mut engine = Sniffer::builder()
            .config(SnifferConfig {
                batch_send_mode: mode,
                ..SnifferConfig::default()
            })
            .build()
            .unwrap();
        let rx = engine.take_receiver().unwrap();
        for n in 0..BUSY {
            engine
                .ingest_handle()
                .ingest(tagged(0, n, Priority::Low))
                .unwrap();
        }
        let until = std::time::Instant::now() + Duration::from_secs(20);
        while (rx.len() as u64) < BUSY {
            assert!(
                std::time::Instant::now() < until,
                "{mode:?}: lanes never filled"
            );
            std::thread::yield_now();
        }
        assert_eq!(
            engine.latency_histogram().count(),
            0,
            "nothing received yet"
        );
        assert_eq!(rx.try_iter().count() as u64, BUSY);
        assert_eq!(
            engine.latency_histogram().count(),
            BUSY,
            "receiver, {mode:?}"
        );
        assert_eq!(
            engine.snapshot().latency_ns.count,
            BUSY,
            "receiver, {mode:?}"
        );
    }
}

/// promtool (Debian's `prometheus` package; `.ci/run` and `make test` install it) checks the
/// exposition of a real run: syntax, metric types, names, units.
#[test]
fn promtool_accepts_the_exposition() {
    let promtool = std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".into());
    let mut m = busy_snapshot();
    // Feeds and a sink, so that every family is present.
    m.feeds = vec![sniffer::metrics::FeedSnapshot {
        name: "ws://127.0.0.1:1/…".into(),
        live: true,
        ..Default::default()
    }];
    m.sink = Some(sniffer::metrics::SinkSnapshot::default());
    let text = m.to_prometheus();
    let mut child = std::process::Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{promtool} is needed (apt-get install prometheus): {e}"));
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && report.trim().is_empty(),
        "promtool: {report}"
    );
}

#[cfg(feature = "http")]
mod http {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use super::*;
    use sniffer::{http::HttpServer, SnifferConfig};

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
        // Paused, but not for long (paused_alert_after is 10 min): still ready, still live.
        let (code, body) = get(addr, "/health");
        assert_eq!(code, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "paused");
        assert_eq!(v["ready"], true);
        assert_eq!(v["snapshot"]["stream_buffer_depth"], 9);
        assert_eq!(get(addr, "/readyz").0, 200);
        assert_eq!(get(addr, "/livez"), (200, "ok\n".to_string()));

        let (code, body) = get(addr, "/metrics");
        assert_eq!(code, 200);
        let (samples, _) = parse_prometheus(&body);
        assert_eq!(samples["sniffer_stream_buffer_depth"], 9.0);
        assert_eq!(samples["sniffer_paused"], 1.0);
        // The operator's conventions (issue 20): the build, and the process's own figures.
        let version = env!("CARGO_PKG_VERSION");
        assert_eq!(
            samples[&format!("sniffer_build_info{{version=\"{version}\"}}")],
            1.0
        );
        assert!(samples["process_resident_memory_bytes"] > 0.0);
        assert!(samples["process_open_fds"] >= 3.0);
        assert!(samples["process_start_time_seconds"] > 1.58e9);

        assert_eq!(get(addr, "/nope").0, 404);
        drop(release);
        drop(server);
        let report = engine.shutdown(Duration::from_secs(5));
        assert!(report.metrics.accounting_holds());
    }

    /// Readiness (issue 20): paused past `paused_alert_after` is not ready (503 on `/readyz` and
    /// `/health`, saying why), while `/livez` still answers 200; a resume makes it ready again.
    #[test]
    fn paused_past_the_alert_is_not_ready_and_still_live() {
        let cfg = SnifferConfig {
            stream_buffer_capacity: 10,
            batch_size: 1,
            paused_alert_after: Duration::from_millis(1),
            ..SnifferConfig::default()
        };
        let common::Stalled {
            engine, release, ..
        } = common::stalled_handler(cfg, tagged(0, 0, Priority::Low));
        let server = HttpServer::start("127.0.0.1:0", engine.metrics_source()).unwrap();
        let addr = server.local_addr();
        assert_eq!(
            get(addr, "/readyz"),
            (200, r#"{"ready":true,"reasons":[]}"#.into())
        );
        let h = engine.ingest_handle();
        for n in 1..=9 {
            h.ingest(tagged(0, n, Priority::Low)).unwrap();
        }
        let until = std::time::Instant::now() + Duration::from_secs(20);
        while get(addr, "/readyz").0 != 503 {
            assert!(std::time::Instant::now() < until, "never not ready");
            std::thread::sleep(Duration::from_millis(2));
        }
        let (code, body) = get(addr, "/readyz");
        assert_eq!(code, 503);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["ready"], false);
        assert!(v["reasons"][0]
            .as_str()
            .unwrap()
            .contains("past paused_alert_after"));
        let (code, body) = get(addr, "/health");
        assert_eq!(code, 503, "{body}");
        assert_eq!(get(addr, "/livez").0, 200);
        drop(release);
        let until = std::time::Instant::now() + Duration::from_secs(20);
        while get(addr, "/readyz").0 != 200 {
            assert!(std::time::Instant::now() < until, "never ready again");
            std::thread::sleep(Duration::from_millis(2));
        }
        drop(server);
        assert!(engine
            .shutdown(Duration::from_secs(5))
            .metrics
            .accounting_holds());
    }

    /// Sends `request` raw and reads the whole answer (the server closes after one request).
    fn raw(addr: std::net::SocketAddr, request: &[u8]) -> String {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        // A server that answers early (431) may reset the rest of a huge request: fine.
        let _ = s.write_all(request);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn status_of(answer: &str) -> u16 {
        answer
            .get(9..12)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"))
    }

    #[test]
    fn head_is_served_other_methods_get_405_and_huge_heads_431() {
        let engine = Sniffer::builder().build().unwrap();
        let server = HttpServer::start("127.0.0.1:0", engine.metrics_source()).unwrap();
        let addr = server.local_addr();

        let head = raw(addr, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(status_of(&head), 200, "{head}");
        let (headers, body) = head.split_once("\r\n\r\n").unwrap();
        assert!(body.is_empty(), "HEAD has no body: {body:?}");
        assert!(headers
            .to_ascii_lowercase()
            .contains("content-type: text/plain"));

        for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
            let answer = raw(
                addr,
                format!("{method} /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
                    .as_bytes(),
            );
            assert_eq!(status_of(&answer), 405, "{method}: {answer}");
            assert!(
                answer.to_ascii_lowercase().contains("allow: get, head"),
                "{answer}"
            );
        }

        // A 1 MiB header: refused with 431, and the server is still there.
        let mut huge = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', 1 << 20));
        huge.extend_from_slice(b"\r\n\r\n");
        let answer = raw(addr, &huge);
        assert_eq!(status_of(&answer), 431, "{answer}");
        let ok = raw(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(status_of(&ok), 200);
        drop(server);
        assert!(engine
            .shutdown(Duration::from_secs(5))
            .metrics
            .accounting_holds());
    }

    #[test]
    fn connections_are_capped_and_idle_ones_closed() {
        use std::io::Read;
        let engine = Sniffer::builder().build().unwrap();
        let limits = sniffer::http::HttpLimits {
            max_connections: 2,
            request_timeout: Duration::from_millis(300),
            ..sniffer::http::HttpLimits::default()
        };
        let server =
            HttpServer::start_with("127.0.0.1:0", engine.metrics_source(), limits).unwrap();
        let addr = server.local_addr();
        let idle: Vec<_> = (0..2)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        // Both permits are taken once the server has accepted both: a third is turned away.
        // (Bounded: until the two idle ones have been accepted, a third may still be served.)
        let until = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let answer = raw(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
            if status_of(&answer) == 503 {
                break;
            }
            assert_eq!(status_of(&answer), 200);
            assert!(std::time::Instant::now() < until, "never capped");
        }
        // The idle connections are closed by the server (not by us): read sees the end.
        for mut s in idle {
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let mut buf = Vec::new();
            let _ = s.read_to_end(&mut buf);
            let text = String::from_utf8_lossy(&buf);
            assert!(
                !text.contains("200 OK"),
                "an idle client got no answer: {text}"
            );
        }
        // And their permits came back.
        let until = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let answer = raw(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
            if status_of(&answer) == 200 {
                break;
            }
            assert!(std::time::Instant::now() < until, "permits never came back");
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(server);
        assert!(engine
            .shutdown(Duration::from_secs(5))
            .metrics
            .accounting_holds());
    }
}

#[cfg(feature = "stream")]
mod stream {
    use super::*;
    use sniffer::{config::BatchSendMode, SnifferConfig};

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

/// A snapshot with every field set to its own value (flags true, optional figures present, two
/// feeds, a sink, two malformed reasons whose labels need escaping), so that each line of the
/// exposition shows which field it reads. A value is derived from the field's path, so that a
/// new field adds its own lines to the golden file without changing the others.
fn populated_snapshot() -> MetricsSnapshot {
    fn fill(v: &mut serde_json::Value, path: &str) {
        use serde_json::Value;
        // FNV-1a of the path.
        let n = path.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        }) % 1_000_000_007;
        match v {
            // Fractions where the field takes them (means, shares).
            Value::Number(x) if x.is_f64() => *v = ((n % 1000) as f64 + 0.25).into(),
            Value::Number(_) => *v = n.into(),
            Value::Bool(b) => *b = true,
            Value::Array(items) => {
                for (i, x) in items.iter_mut().enumerate() {
                    fill(x, &format!("{path}[{i}]"));
                }
            }
            Value::Object(fields) => {
                for (key, x) in fields.iter_mut() {
                    if key != "id" {
                        fill(x, &format!("{path}.{key}"));
                    }
                }
            }
            _ => {}
        }
    }
    let feed = |id: u16, name: &str| sniffer::metrics::FeedSnapshot {
        id,
        name: name.into(),
        last_message_age_ms: Some(0),
        ..Default::default()
    };
    let buckets = sniffer::metrics::LATENCY_BUCKETS_NS.len();
    let mut s = MetricsSnapshot::default();
    s.tx_malformed_by_reason = [("too_long".to_owned(), 0), ("a \"b\"\\c\n".to_owned(), 0)].into();
    s.candidates_detected_by_kind =
        [("pump_create".to_owned(), 0), ("launchlab".to_owned(), 0)].into();
    s.feeds = vec![feed(0, "ws://h:1/…"), feed(1, "nats://q\"uote")];
    s.sink = Some(sniffer::metrics::SinkSnapshot::default());
    s.last_pause_ms = Some(0);
    s.last_resume_ms = Some(0);
    s.latency_buckets = vec![0; buckets];
    s.age_at_dequeue_buckets = vec![0; buckets];
    let mut json = serde_json::to_value(&s).unwrap();
    fill(&mut json, "");
    serde_json::from_value(json).unwrap()
}

/// The exposition of a fully populated snapshot, byte for byte: series names, help texts, units
/// and number formatting are what dashboards and alerts depend on. After an intended change,
/// write the new text with `SNIFFER_BLESS=1 cargo test --test operators exposition`.
#[test]
fn exposition_is_unchanged() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/exposition.prom");
    let text = populated_snapshot().to_prometheus();
    if std::env::var_os("SNIFFER_BLESS").is_some() {
        std::fs::write(path, &text).unwrap();
    }
    let want = std::fs::read_to_string(path).unwrap();
    assert!(text == want, "the exposition changed:\n{text}");
}
