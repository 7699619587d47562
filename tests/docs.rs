//! The commands the docs show run as written (issue 20, "CLI and docs truth"): every `sniffer`
//! and `sniffer-stress` command in README.md, docs/ and examples/ (code blocks and inline code)
//! uses only flags its subcommand's `--help` lists and scenarios `sniffer-stress --help` lists,
//! and every `cargo run|bench|test|build` command names a target that exists with the cargo
//! features it requires (`cargo run --example tokio_bot --features tokio` named a feature that
//! does not exist). Commands that need a network (live feeds, brokers) are checked this way
//! rather than run; the ones that need none are run by the CLI tests.
#![cfg(feature = "cli")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The text files whose commands are checked.
fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![Path::new(ROOT).join("README.md")];
    for dir in ["docs", "examples", "deploy"] {
        collect(&Path::new(ROOT).join(dir), &mut files);
    }
    files
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() && p.file_name().is_some_and(|n| n != "node_modules") {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| {
            ["md", "rs", "py", "ts", "service", "toml"]
                .iter()
                .any(|e| x == *e)
        }) {
            out.push(p);
        }
    }
}

/// Every command in `text`: inline code spans, and lines of code blocks (a trailing `\`
/// continues a line), each cut at the first command word.
fn commands(text: &str, first_words: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let mut push = |s: &str| {
        for w in first_words {
            if let Some(at) = find_word(s, w) {
                found.push(s[at..].trim().to_string());
                return;
            }
        }
    };
    let mut joined = String::new();
    for line in text.lines() {
        let line = line.trim_start_matches("//!").trim_start_matches("///");
        if let Some(head) = line.trim_end().strip_suffix('\\') {
            joined.push_str(head);
            continue;
        }
        joined.push_str(line);
        for span in joined.split('`').skip(1).step_by(2) {
            push(span);
        }
        if !joined.contains('`') {
            push(&joined);
        }
        joined.clear();
    }
    found
}

/// Where `word` starts as a command word (at the start or after a space, `$`, `(` or `|`).
fn find_word(s: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find(word) {
        let at = from + i;
        let before = s[..at].chars().last();
        let after = s[at + word.len()..].chars().next();
        let starts = before.is_none_or(|c| " $(|;".contains(c));
        if starts && after.is_none_or(|c| c == ' ') {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// The `--flags` of a command (up to a pipe or a comment).
fn flags(cmd: &str) -> Vec<String> {
    let cmd = cmd.split(['|', '#']).next().unwrap_or("");
    cmd.split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| {
            w.split(['=', '[', ']', '\'', ',', ')'])
                .next()
                .unwrap()
                .to_string()
        })
        .filter(|f| f.len() > 2)
        .collect()
}

fn help(bin: &str, args: &[&str]) -> String {
    let out = Command::new(bin).args(args).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{bin} {args:?} --help");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_sniffer_command_in_the_docs_uses_flags_that_exist() {
    let bin = env!("CARGO_BIN_EXE_sniffer");
    let mut helps = BTreeMap::new();
    for sub in ["run", "decode", "query", "check-config"] {
        helps.insert(sub, help(bin, &[sub]));
    }
    let mut checked = 0;
    let mut wrong = Vec::new();
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for cmd in commands(&text, &["sniffer"]) {
            let mut words = cmd.split_whitespace().skip(1);
            let Some(sub) = words.next().filter(|s| helps.contains_key(s)) else {
                continue;
            };
            checked += 1;
            for f in flags(&cmd) {
                // `--log-format` is global: `sniffer --help` lists it.
                if !helps[sub].contains(&format!("{f} ")) && !helps[sub].contains(&format!("{f}\n"))
                {
                    wrong.push(format!("{}: `{cmd}`: {f}", file.display()));
                }
            }
        }
    }
    assert!(
        checked >= 15,
        "only {checked} commands found: the scan is broken"
    );
    assert!(
        wrong.is_empty(),
        "flags that do not exist:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_stress_command_in_the_docs_names_a_scenario_that_exists() {
    let bin = env!("CARGO_BIN_EXE_sniffer-stress");
    let text = help(bin, &[]);
    let listed: BTreeSet<&str> = text
        .split("Scenarios:")
        .nth(1)
        .expect("--help lists the scenarios")
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        listed.contains("overload_10x") && listed.len() >= 10,
        "{listed:?}"
    );
    let mut checked = 0;
    let mut wrong = Vec::new();
    for file in doc_files() {
        let body = std::fs::read_to_string(&file).unwrap();
        for cmd in commands(&body, &["sniffer-stress"]) {
            checked += 1;
            for f in flags(&cmd) {
                if !text.contains(&format!("{f} ")) {
                    wrong.push(format!("{}: `{cmd}`: {f}", file.display()));
                }
            }
            let words: Vec<&str> = cmd.split_whitespace().collect();
            for pair in words.windows(2).filter(|p| p[0] == "--scenario") {
                let names = pair[1].trim_matches(|c| c == '\'' || c == '"');
                for name in names.split('|') {
                    if !listed.contains(name) && !["all", "NAME"].contains(&name) {
                        wrong.push(format!("{}: `{cmd}`: scenario {name}", file.display()));
                    }
                }
            }
        }
    }
    assert!(
        checked >= 5,
        "only {checked} commands found: the scan is broken"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The targets of Cargo.toml (`bin`, `example`, `bench`) with their required features; targets
/// found by convention (examples/NAME.rs, benches/NAME.rs) require none.
fn targets() -> BTreeMap<(String, String), Vec<String>> {
    let manifest: toml::Table = std::fs::read_to_string(Path::new(ROOT).join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let mut t = BTreeMap::new();
    for (kind, dir) in [("example", "examples"), ("bench", "benches")] {
        for e in std::fs::read_dir(Path::new(ROOT).join(dir))
            .unwrap()
            .flatten()
        {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "rs") {
                let name = p.file_stem().unwrap().to_string_lossy().into_owned();
                t.insert((kind.to_string(), name), Vec::new());
            }
        }
    }
    for kind in ["bin", "example", "bench"] {
        for target in manifest
            .get(kind)
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            let name = target["name"].as_str().unwrap().to_string();
            let req = target
                .get("required-features")
                .and_then(|v| v.as_array())
                .map(|a| a.iter().map(|f| f.as_str().unwrap().to_string()).collect())
                .unwrap_or_default();
            t.insert((kind.to_string(), name), req);
        }
    }
    t
}

#[test]
fn every_cargo_command_in_the_docs_names_a_target_and_its_features() {
    let targets = targets();
    let manifest: toml::Table = std::fs::read_to_string(Path::new(ROOT).join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let features: BTreeSet<String> = manifest["features"]
        .as_table()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for cmd in commands(&text, &["cargo"]) {
            let words: Vec<&str> = cmd.split_whitespace().collect();
            if !["run", "bench", "test", "build"].contains(&words.get(1).copied().unwrap_or("")) {
                continue;
            }
            let words: Vec<&str> = words
                .iter()
                .take_while(|w| **w != "--" && **w != "|")
                .copied()
                .collect();
            checked += 1;
            let all = words.contains(&"--all-features");
            let given: BTreeSet<&str> = words
                .windows(2)
                .filter(|p| p[0] == "--features")
                .flat_map(|p| p[1].split(','))
                .collect();
            for f in &given {
                if !features.contains(*f) {
                    wrong.push(format!("{}: `{cmd}`: no feature {f}", file.display()));
                }
            }
            for pair in words.windows(2) {
                let kind = match pair[0] {
                    "--example" => "example",
                    "--bench" => "bench",
                    "--bin" => "bin",
                    _ => continue,
                };
                match targets.get(&(kind.to_string(), pair[1].to_string())) {
                    None => wrong.push(format!(
                        "{}: `{cmd}`: no {kind} {}",
                        file.display(),
                        pair[1]
                    )),
                    Some(req) if !all => {
                        for f in req.iter().filter(|f| !given.contains(f.as_str())) {
                            wrong
                                .push(format!("{}: `{cmd}`: needs --features {f}", file.display()));
                        }
                    }
                    Some(_) => {}
                }
            }
        }
    }
    assert!(
        checked >= 10,
        "only {checked} commands found: the scan is broken"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
