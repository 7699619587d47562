//! `sniffer-stress`: named scenarios that print their figures next to the bounds they are held to,
//! write a JSON report, `.hgrm` percentile files and SVG latency plots, and exit non-zero when a
//! bound fails. Correctness bounds (accounting, ordering) are always asserted; timing bounds are
//! reported but not asserted with `--smoke` or when `CI` is set (shared, noisy machines).

mod harness;
mod live;
mod nats;
#[path = "../tests/natsserver/mod.rs"]
mod natsserver;
mod output;
#[path = "../tests/samples/mod.rs"]
mod samples;
mod scenarios;
mod wire;
mod wire_grpc;
mod wire_grpc_rig;
#[path = "../tests/wsserver/mod.rs"]
mod wsserver;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use serde::Serialize;

use harness::{summary, Bound, BoundKind, RunResult};

#[derive(Parser, Debug)]
#[command(
    name = "sniffer-stress",
    about = "Stress scenarios for the sniffer engine"
)]
struct Args {
    /// Scenario to run: one name, `all` (every scenario but soak), or `soak`.
    #[arg(long, default_value = "all")]
    scenario: String,
    /// Write the JSON report here (the .hgrm and .svg files go beside it).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Short runs that assert correctness only (what `make test` uses).
    #[arg(long)]
    smoke: bool,
    /// Duration of the soak scenario: whole rounds of `--soak-of` run until it has passed (the
    /// last round may end after it); must be greater than zero.
    #[arg(long, default_value = "60s", value_parser = parse_soak_duration)]
    duration: Duration,
    /// The scenario `soak` repeats until `--duration` has passed.
    #[arg(long, default_value = "overload_10x")]
    soak_of: String,
}

#[derive(Serialize)]
struct RunJson {
    label: String,
    offered: u64,
    accepted: u64,
    delivered: u64,
    drops: Drops,
    throughput_per_s: f64,
    elapsed_ms: f64,
    latency_ns: sniffer::metrics::LatencySummary,
    ingest_call_ns: sniffer::metrics::LatencySummary,
    ingest_call_p9999_ns: u64,
    max_ring_depth: u64,
}

#[derive(Serialize)]
struct Drops {
    full_buffer: u64,
    oldest: u64,
    stale: u64,
    shutdown: u64,
    send_failures: u64,
}

#[derive(Serialize)]
struct ScenarioJson {
    name: String,
    pass: bool,
    reason: Option<String>,
    runs: Vec<RunJson>,
    bounds: Vec<Bound>,
    figures: std::collections::BTreeMap<String, f64>,
}

/// A spinner on stderr while a scenario runs, when stderr is a terminal (hidden otherwise).
fn spinner(scenario: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}") {
        bar.set_style(style);
    }
    bar.set_message(format!("running {scenario}"));
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// A humantime duration greater than zero: a zero soak would still run one whole round.
fn parse_soak_duration(s: &str) -> Result<Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if d.is_zero() => Err("must be greater than zero".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

/// The scenarios, one line each, under `--help`.
fn scenario_help() -> String {
    let width = scenarios::ALL
        .iter()
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(0);
    let mut text = String::from("Scenarios:\n");
    for (name, what) in scenarios::ALL {
        text.push_str(&format!("  {name:<width$}  {what}\n"));
    }
    text.push_str(&format!(
        "  {:<width$}  repeats --soak-of until --duration has passed; every round must pass",
        "soak"
    ));
    text
}

fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Args::command().after_help(scenario_help()).get_matches();
    let args = match Args::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    let enforce_timing = !args.smoke && std::env::var_os("CI").is_none();
    let soak = args.scenario == "soak";
    let soak_until = std::time::Instant::now() + args.duration;
    let mut queue: std::collections::VecDeque<String> = match args.scenario.as_str() {
        "all" => scenarios::ALL.iter().map(|(s, _)| s.to_string()).collect(),
        // Any scenario, repeated until the duration has passed; every round must pass.
        "soak" => [args.soak_of.clone()].into(),
        one => [one.to_string()].into(),
    };
    // Where the .hgrm and .svg files go: beside the JSON report, when there is one.
    let files = args.json.as_ref().map(|p| {
        p.parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."))
    });
    println!(
        "sniffer-stress: {} cores, smoke={}, timing bounds {}",
        sniffer::config::machine_cores().len(),
        args.smoke,
        if enforce_timing {
            "asserted"
        } else {
            "reported only"
        }
    );
    let mut report = Vec::new();
    let mut round = 0;
    while let Some(scenario) = queue.pop_front() {
        let spinner = spinner(&scenario);
        let outcome = scenarios::run_scenario(&scenario, args.smoke);
        spinner.finish_and_clear();
        let Some(outcome) = outcome else {
            let known: Vec<&str> = scenarios::ALL.iter().map(|(n, _)| *n).collect();
            eprintln!(
                "unknown scenario `{scenario}` (known: {}, soak)",
                known.join(", ")
            );
            return ExitCode::from(2);
        };
        round += 1;
        if soak && std::time::Instant::now() < soak_until {
            queue.push_back(scenario.clone());
        }
        let name = if soak {
            format!("soak/{scenario}#{round}")
        } else {
            scenario
        };
        report.push(scenario_report(
            &name,
            outcome,
            enforce_timing,
            files.as_deref(),
        ));
    }
    finish(args.json.as_deref(), &report)
}

/// Prints a scenario's bounds, figures and runs, writes its `.hgrm` and `.svg` files into
/// `files` (when given), and returns its part of the JSON report.
fn scenario_report(
    name: &str,
    outcome: scenarios::Outcome,
    enforce_timing: bool,
    files: Option<&Path>,
) -> ScenarioJson {
    println!("\n== {name}");
    let reasons = print_bounds(&outcome.bounds, enforce_timing);
    for (k, v) in &outcome.figures {
        println!("  {k:<70} {v:>14.1}");
    }
    let runs = outcome.runs.iter().map(|r| run_report(r, files)).collect();
    if let (Some(dir), false) = (files, outcome.runs.is_empty()) {
        let latencies: Vec<(String, hdrhistogram::Histogram<u64>)> = outcome
            .runs
            .iter()
            .map(|r| (r.label.clone(), r.latency()))
            .collect();
        let series: Vec<(String, &hdrhistogram::Histogram<u64>)> =
            latencies.iter().map(|(l, h)| (l.clone(), h)).collect();
        let svg = output::latency_svg(&format!("{name}: detection-to-delivery latency"), &series);
        let _ = output::write_atomically(&dir.join(format!("{name}.svg")), &svg);
    }
    let pass = reasons.is_empty();
    println!("  => {}", if pass { "PASS" } else { "FAIL" });
    ScenarioJson {
        name: name.into(),
        pass,
        reason: (!pass).then(|| reasons.join("; ")),
        runs,
        bounds: outcome.bounds,
        figures: outcome.figures.into_iter().collect(),
    }
}

/// Prints each bound with its status; returns why the scenario fails (the bounds that failed
/// and are asserted: correctness always, timing when `enforce_timing`).
fn print_bounds(bounds: &[Bound], enforce_timing: bool) -> Vec<String> {
    let mut reasons = Vec::new();
    for b in bounds {
        let enforced = b.kind == BoundKind::Correctness || enforce_timing;
        let status = match (b.pass, enforced) {
            (true, _) => "ok",
            (false, true) => "FAIL",
            (false, false) => "miss (not asserted)",
        };
        println!(
            "  {:<70} {:>14.1} {:<12} {status}{}",
            b.name,
            b.value,
            b.limit,
            b.miss
                .as_ref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        );
        if !b.pass && enforced {
            reasons.push(format!("{}: {} vs {}", b.name, b.value, b.limit));
        }
    }
    reasons
}

/// Prints one run's line, writes its `.hgrm` file into `files` (when given), and returns its
/// part of the JSON report.
fn run_report(r: &RunResult, files: Option<&Path>) -> RunJson {
    let m = r.metrics();
    println!(
        "  run {:<40} offered={:<9} delivered={:<9} drops={:<8} {:>10.0}/s  p50={}ns p99={}ns p99.9={}ns",
        r.label, r.offered, m.candidates_sent, m.dropped_total(), r.throughput(),
        m.latency_ns.p50, m.latency_ns.p99, m.latency_ns.p999
    );
    if let Some(dir) = files {
        let file = r.label.replace('/', "_");
        let _ = output::write_atomically(
            &dir.join(format!("{file}.hgrm")),
            &output::hgrm(&r.latency()),
        );
    }
    RunJson {
        label: r.label.clone(),
        offered: r.offered,
        accepted: r.accepted,
        delivered: m.candidates_sent,
        drops: Drops {
            full_buffer: m.dropped_full_buffer,
            oldest: m.dropped_oldest,
            stale: m.dropped_stale,
            shutdown: m.dropped_shutdown,
            send_failures: m.send_failures,
        },
        throughput_per_s: r.throughput(),
        elapsed_ms: r.elapsed.as_secs_f64() * 1000.0,
        latency_ns: m.latency_ns,
        ingest_call_ns: summary(&r.push_ns),
        ingest_call_p9999_ns: r.push_ns.value_at_quantile(0.9999),
        max_ring_depth: r.max_depth,
    }
}

/// Writes the JSON report (when asked) and prints the verdict: exit 1 when a scenario failed
/// or the report could not be written.
fn finish(json: Option<&Path>, report: &[ScenarioJson]) -> ExitCode {
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(report).unwrap_or_default();
        if let Err(e) = output::write_atomically(path, &text) {
            eprintln!("cannot write {}: {e}", path.display());
            return ExitCode::from(1);
        }
        println!("\nreport: {}", path.display());
    }
    if report.iter().any(|s| !s.pass) {
        println!("\nsniffer-stress: FAIL");
        ExitCode::from(1)
    } else {
        println!("\nsniffer-stress: PASS");
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_scenario_on_its_own_line() {
        let help = scenario_help();
        let names: Vec<&str> = help
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        let mut want: Vec<&str> = scenarios::ALL.iter().map(|(n, _)| *n).collect();
        want.push("soak");
        assert_eq!(names, want);
    }

    fn outcome(bounds: Vec<Bound>) -> scenarios::Outcome {
        scenarios::Outcome {
            runs: Vec::new(),
            bounds,
            figures: vec![("figure".into(), 1.0)],
        }
    }

    /// A failed correctness bound fails its scenario, always, and the process exits 1; a failed
    /// timing bound only when timing is asserted; passing bounds pass.
    #[test]
    fn a_violated_bound_fails_the_scenario_and_the_exit_code() {
        let broken = || {
            vec![
                Bound::holds("exact", BoundKind::Correctness, false, "lost 1".into()),
                Bound::at_least("rate", BoundKind::Timing, 10.0, 5.0),
            ]
        };
        for enforce_timing in [false, true] {
            let s = scenario_report("s", outcome(broken()), enforce_timing, None);
            assert!(!s.pass);
            assert_eq!(s.reason.as_deref(), Some("exact: 0 vs true"));
            assert_eq!(finish(None, &[s]), ExitCode::from(1));
        }
        let slow = || vec![Bound::at_most("p99", BoundKind::Timing, 2.0, 1.0)];
        let s = scenario_report("s", outcome(slow()), false, None);
        assert!(s.pass && s.reason.is_none(), "timing is reported only");
        assert_eq!(finish(None, &[s]), ExitCode::SUCCESS);
        let s = scenario_report("s", outcome(slow()), true, None);
        assert_eq!(s.reason.as_deref(), Some("p99: 2 vs <= 1"));
        let fine = vec![
            Bound::holds("exact", BoundKind::Correctness, true, String::new()),
            Bound::at_most("p99", BoundKind::Timing, 1.0, 1.0),
        ];
        let s = scenario_report("s", outcome(fine), true, None);
        assert!(s.pass);
        assert_eq!(s.bounds.len(), 2);
        assert_eq!(finish(None, &[s]), ExitCode::SUCCESS);
    }

    /// The 10x overload's memory bound: growth is measured from the first sample after the
    /// warm-up (a quarter of a short run) to the end, and more than 5 % fails a full run.
    #[test]
    fn the_overload_memory_bound_is_evaluated() {
        let ms = Duration::from_millis;
        let samples = [
            (ms(0), 100),
            (ms(200), 900),
            (ms(250), 1000),
            (ms(990), 1060),
        ];
        let (warm, end, growth) = scenarios::rss_growth(&samples, Duration::from_secs(1));
        assert_eq!((warm, end), (1000, 1060));
        assert!((growth - 6.0).abs() < 1e-9, "{growth}");
        let full = scenarios::rss_bound("overload_10x/drop_newest", growth, false);
        assert_eq!(
            (full.kind, full.pass, full.limit.as_str()),
            (BoundKind::Correctness, false, "<= 5")
        );
        assert!(!scenario_report("o", outcome(vec![full]), false, None).pass);
        let smoke = scenarios::rss_bound("overload_10x/drop_newest", growth, true);
        assert!(scenario_report("o", outcome(vec![smoke]), false, None).pass);
        let (_, _, held) = scenarios::rss_growth(&[(ms(300), 1000), (ms(900), 1040)], ms(1000));
        assert!(scenarios::rss_bound("o", held, false).pass);
    }
}
