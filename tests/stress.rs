//! The `sniffer-stress` binary on a short scenario (the 10x overload, smoke size): its bounds are
//! evaluated and reported, the JSON report carries every field, and the `.hgrm` percentile file
//! and the SVG plot beside it are well formed. (That a violated bound fails the scenario and the
//! exit code is checked in the binary's own unit tests, with bounds made to fail.)

mod common;

use serde_json::Value;

fn num(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {v}"))
}

/// Whether a bound's `pass` agrees with its value and limit (`<= x`, `>= x` or `true`).
fn agrees(b: &Value) -> bool {
    let value = num(&b["value"], "value");
    let limit = b["limit"].as_str().unwrap();
    let pass = b["pass"].as_bool().unwrap();
    let holds = match limit.split_once(' ') {
        Some(("<=", max)) => value <= max.parse::<f64>().unwrap(),
        Some((">=", min)) => value >= min.parse::<f64>().unwrap(),
        _ if limit == "true" => value == 1.0,
        _ => panic!("unknown limit {limit}"),
    };
    pass == holds && (pass == b["miss"].is_null())
}

/// Rows of an `.hgrm` file: (value µs, percentile, total count); checks the header, the
/// footer's total and that every column only grows. Returns the total count.
fn check_hgrm(text: &str) -> u64 {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"]
    );
    let mut rows: Vec<(f64, f64, u64)> = Vec::new();
    let mut footer = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        if line.starts_with("#[") {
            footer.push(line);
            continue;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert!(cols.len() == 3 || cols.len() == 4, "row {line:?}");
        rows.push((
            cols[0].parse().unwrap(),
            cols[1].parse().unwrap(),
            cols[2].parse().unwrap(),
        ));
    }
    assert!(!rows.is_empty(), "no rows:\n{text}");
    assert!(
        rows.windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1 && w[0].2 <= w[1].2),
        "columns must grow:\n{text}"
    );
    assert_eq!(rows.last().unwrap().1, 1.0, "ends at the 100th percentile");
    let total = rows.last().unwrap().2;
    assert_eq!(footer.len(), 3, "{footer:?}");
    assert!(footer[0].starts_with("#[Mean"));
    let footer_total: u64 = footer[1]
        .split("Total count    =")
        .nth(1)
        .and_then(|t| t.trim().trim_end_matches(']').trim().parse().ok())
        .unwrap_or_else(|| panic!("footer {:?}", footer[1]));
    assert_eq!(footer_total, total);
    total
}

/// The SVG's elements nest and close (a small tag-stack check, comments and declarations
/// aside), with the `svg` element outermost.
fn check_svg(text: &str) {
    assert!(text.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(text.trim_end().ends_with("</svg>"));
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let close = rest[open..].find('>').expect("an unclosed tag") + open;
        let tag = &rest[open + 1..close];
        assert!(!tag.contains('<'), "a tag inside a tag: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name.trim()), "mismatched </{name}>");
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap();
            stack.push(name);
        }
        if stack.is_empty() {
            assert!(rest[close + 1..].trim().is_empty(), "content after </svg>");
        }
        rest = &rest[close + 1..];
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
}

#[test]
fn a_short_overload_reports_its_bounds_json_and_latency_files() {
    let dir = common::temp_path("stress-overload");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("report.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sniffer-stress"))
        .args(["--smoke", "--scenario", "overload_10x", "--json"])
        .arg(&json)
        .env("SNIFFER_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("== overload_10x") && stdout.contains("=> PASS"));

    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let [s] = report.as_array().unwrap().as_slice() else {
        panic!("one scenario: {report}");
    };
    assert_eq!(
        (s["name"].as_str(), s["pass"].as_bool()),
        (Some("overload_10x"), Some(true))
    );
    assert!(s["reason"].is_null());
    for f in ["rss_warm_kib", "rss_end_kib", "now_rss_kib"] {
        assert!(num(&s["figures"][f], f) > 0.0, "{f}");
    }
    // Both of the overload's bounds, each evaluated as its value and limit say.
    let bounds = s["bounds"].as_array().unwrap();
    let names: Vec<&str> = bounds.iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "overload_10x/drop_newest: accounting exact",
            "overload_10x/drop_newest: RSS growth (%) after warm-up"
        ]
    );
    assert_eq!(bounds[0]["kind"], "correctness");
    assert_eq!(
        (bounds[0]["value"].as_f64(), bounds[0]["pass"].as_bool()),
        (Some(1.0), Some(true))
    );
    // A smoke run only reports the memory bound (its warm-up is too short to hold it to 5 %).
    assert_eq!(
        (bounds[1]["kind"].as_str(), bounds[1]["limit"].as_str()),
        (Some("timing"), Some("<= 5"))
    );
    assert!(bounds.iter().all(agrees), "{bounds:?}");

    let [run] = s["runs"].as_array().unwrap().as_slice() else {
        panic!("one run: {s}");
    };
    assert_eq!(run["label"], "overload_10x/drop_newest");
    let field = |k: &str| run[k].as_u64().unwrap_or_else(|| panic!("{k}: {run}"));
    let drops: u64 = ["full_buffer", "oldest", "stale", "shutdown"]
        .iter()
        .map(|k| run["drops"][k].as_u64().unwrap())
        .sum();
    // Refused pushes count as detected and dropped: every offered candidate is accounted for.
    assert!(field("offered") >= field("accepted"));
    assert_eq!(field("delivered") + drops, field("offered"), "{run}");
    assert!(run["drops"]["send_failures"].as_u64().unwrap() <= drops);
    assert!(field("max_ring_depth") > 0, "{run}");
    assert!(run["ingest_call_ns"]["count"].is_u64() && run["ingest_call_p9999_ns"].is_u64());
    for k in ["throughput_per_s", "elapsed_ms"] {
        assert!(num(&run[k], k) > 0.0, "{k}");
    }
    for k in ["count", "p50", "p99", "max"] {
        assert!(run["latency_ns"][k].is_u64(), "latency_ns.{k}: {run}");
    }
    let counted = run["latency_ns"]["count"].as_u64().unwrap();
    assert!(counted > 0);

    let hgrm = std::fs::read_to_string(dir.join("overload_10x_drop_newest.hgrm")).unwrap();
    assert_eq!(
        check_hgrm(&hgrm),
        counted,
        "the .hgrm holds the run's latency"
    );
    let svg = std::fs::read_to_string(dir.join("overload_10x.svg")).unwrap();
    check_svg(&svg);
    assert!(svg.contains("overload_10x: detection-to-delivery latency"));
    assert!(svg.contains("overload_10x/drop_newest"));
}
