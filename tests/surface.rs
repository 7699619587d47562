//! The public surface: the crate root is the engine's vocabulary (about 30 names); decoders,
//! feeds, metrics details, the sink, the HTTP listener and NATS live under their modules; every
//! public name has exactly one path; internals are not exported.
//!
//! The checks read the source as text: `src/lib.rs` and, recursively, the file of every
//! `pub mod` it declares. In each such file, a `pub use` exports the names it brings, a
//! top-level `pub struct`/`enum`/`fn`/... defines one in place; a private module's items are
//! public only where a `pub use` re-exports them.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// One public module: its path (`sniffer::feed`) and its file.
struct Module {
    path: String,
    file: PathBuf,
}

/// The code of a file above its test module, without comment lines.
fn code_of(file: &Path) -> String {
    let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    // A test-only item (`#[cfg(test)] fn`) does not end the design part; a test module does.
    let end = ["#[cfg(test)]\nmod ", "#[cfg(all(test"]
        .iter()
        .filter_map(|m| text.find(m))
        .min()
        .unwrap_or(text.len());
    let design = &text[..end];
    design
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The file of child module `name` of the module in `file`.
fn child_file(file: &Path, name: &str) -> PathBuf {
    let stem = file.file_stem().unwrap().to_str().unwrap();
    let dir = match stem {
        "lib" | "mod" => file.parent().unwrap().to_path_buf(),
        _ => file.with_extension(""),
    };
    let flat = dir.join(format!("{name}.rs"));
    if flat.exists() {
        flat
    } else {
        dir.join(name).join("mod.rs")
    }
}

/// The statements of `code` that start with `prefix` at the beginning of a line (top level),
/// up to their `;` (a `pub use` may span lines; of a definition only the first words matter).
fn statements<'a>(code: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        if line.starts_with(prefix) {
            let stmt = &code[offset + prefix.len()..];
            out.push(&stmt[..stmt.find(';').unwrap_or(stmt.len())]);
        }
        offset += line.len();
    }
    out
}

/// The names a `use` tree brings (`a::{b, c::D as E, self}` gives `b`, `E` and `a`).
fn use_names(tree: &str) -> Vec<String> {
    let tree: String = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    let Some(open) = tree.find('{') else {
        let leaf = tree.trim();
        return vec![leaf_name(leaf, leaf)];
    };
    let prefix = tree[..open].trim_end_matches("::");
    let inner = &tree[open + 1..tree.rfind('}').unwrap()];
    // Split the braces' content at top-level commas.
    let (mut depth, mut from, mut parts) = (0, 0, Vec::new());
    for (i, ch) in inner.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[from..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .flat_map(|p| {
            if p.contains('{') {
                use_names(p)
            } else {
                vec![leaf_name(p, prefix)]
            }
        })
        .collect()
}

/// The name a leaf of a `use` tree brings: its alias, its last segment, or for `self` the
/// module it stands for.
fn leaf_name(leaf: &str, prefix: &str) -> String {
    if let Some((_, alias)) = leaf.split_once(" as ") {
        return alias.trim().to_owned();
    }
    let last = leaf.rsplit("::").next().unwrap().trim();
    if last == "self" {
        prefix.rsplit("::").next().unwrap().to_owned()
    } else {
        last.to_owned()
    }
}

/// The names an item definition line defines (`pub struct Name<..>`, `pub fn name(..)`, ...).
fn defined_name(stmt_rest: &str) -> Option<String> {
    let mut words = stmt_rest.split_whitespace();
    let mut kind = words.next()?;
    while matches!(kind, "const" | "async" | "unsafe" | "extern") {
        // `pub const fn`, `pub async fn`: the next word is the kind, unless it is the name.
        let next = words.next()?;
        if kind == "const" && next != "fn" {
            return Some(ident(next));
        }
        kind = next;
    }
    match kind {
        "struct" | "enum" | "trait" | "type" | "fn" | "static" | "union" => words.next().map(ident),
        _ => None,
    }
}

fn ident(word: &str) -> String {
    word.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Every public module, the root first.
fn public_modules() -> Vec<Module> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs");
    let mut out = vec![Module {
        path: "sniffer".into(),
        file: root,
    }];
    let mut i = 0;
    while i < out.len() {
        let code = code_of(&out[i].file);
        for stmt in statements(&code, "pub mod ") {
            let name = ident(stmt.trim());
            let file = child_file(&out[i].file, &name);
            let path = format!("{}::{name}", out[i].path);
            out.push(Module { path, file });
        }
        i += 1;
    }
    out
}

/// Every public name with the public paths it has.
fn exported() -> BTreeMap<String, Vec<String>> {
    let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in public_modules() {
        let code = code_of(&m.file);
        let mut here = Vec::new();
        for stmt in statements(&code, "pub use ") {
            here.extend(use_names(stmt));
        }
        for stmt in statements(&code, "pub ") {
            if let Some(name) = defined_name(stmt) {
                here.push(name);
            }
        }
        for name in here {
            // Modules are paths, not names a user imports twice.
            if name.is_empty() || public_modules_named(&name) {
                continue;
            }
            names
                .entry(name.clone())
                .or_default()
                .push(format!("{}::{name}", m.path));
        }
    }
    names
}

fn public_modules_named(name: &str) -> bool {
    public_modules()
        .iter()
        .any(|m| m.path.rsplit("::").next() == Some(name))
}

#[test]
fn every_public_name_has_one_path() {
    let names = exported();
    // Enough of the surface was found for the check to mean something.
    for known in [
        "Sniffer",
        "Decoder",
        "LineFeed",
        "AggregateSink",
        "Publisher",
        "NatsConfig",
        "HttpServer",
        "LatencyHistogram",
        "FeedStats",
    ] {
        assert!(names.contains_key(known), "{known} not found: {names:?}");
    }
    let twice: Vec<_> = names.iter().filter(|(_, paths)| paths.len() > 1).collect();
    assert!(twice.is_empty(), "names with several paths: {twice:?}");
}

#[test]
fn internals_and_foreign_types_are_not_exported() {
    let names = exported();
    for internal in [
        // Stage internals and the counters each stage writes.
        "Metrics",
        "Counter",
        "IngestCounters",
        "OutputCounters",
        "BatchCounters",
        "ReceiverCounters",
        "GateCounters",
        "FeedCounters",
        "PublishCounters",
        "LatencyCells",
        "LatencyRecorder",
        "Levels",
        "Lanes",
        "Gate",
        "Watch",
        "PushGuard",
        "MetaTable",
        "StaleBound",
        "Signal",
        "Attached",
        // The feeds' dedup table and test clocks.
        "DedupTable",
        "Sighting",
        "ManualClock",
        "MonotonicClock",
        "Clock",
        "PayloadSource",
        // Foreign types.
        "Histogram",
        "Connection",
        "Runtime",
    ] {
        assert!(
            !names.contains_key(internal),
            "{internal} is public: {:?}",
            names[internal]
        );
    }
}

/// No third-party type in a public signature: a `pub` item (not `pub(crate)`; the
/// `unreachable_pub` lint keeps `pub` for what is reachable) that names one would tie every user to
/// that crate's version. A stream is the point of `CandidateStream`, whose `impl` is not a `pub`
/// line.
#[test]
fn no_foreign_type_in_a_public_signature() {
    const FOREIGN: [&str; 12] = [
        "hdrhistogram::",
        "Histogram<",
        "rusqlite::",
        "tonic::",
        "tokio::",
        "async_nats::",
        "tungstenite::",
        "rustls::",
        "hyper::",
        "crossbeam_channel::",
        "prost::",
        "yellowstone_grpc_proto::",
    ];
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.clone()];
    let mut found = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            if path.ends_with("bin") {
                continue;
            }
            files.extend(fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        for line in code_of(&path).lines() {
            let line = line.trim_start();
            if !line.starts_with("pub ") {
                continue;
            }
            // A tuple struct's fields are private unless marked `pub` themselves.
            let public = match line
                .strip_prefix("pub struct ")
                .and_then(|r| r.split_once('('))
            {
                Some((_, fields)) => fields
                    .split(',')
                    .filter(|f| f.trim_start().starts_with("pub "))
                    .collect::<Vec<_>>()
                    .join(","),
                None => line.to_owned(),
            };
            if FOREIGN.iter().any(|f| public.contains(f)) {
                found.push(format!("{}: {line}", path.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "foreign types in public items: {found:#?}"
    );
}

#[test]
fn the_crate_root_exports_the_engines_vocabulary_only() {
    let root: Vec<String> = exported()
        .into_iter()
        .filter(|(_, paths)| paths.iter().any(|p| p.matches("::").count() == 1))
        .map(|(name, _)| name)
        .collect();
    assert!(root.len() <= 32, "{} root names: {root:?}", root.len());
    for internal in [
        "Decoder",
        "LineFeed",
        "AggregateSink",
        "StreamRing",
        "HttpServer",
        "health_line",
        "PayloadGenerator",
    ] {
        assert!(
            !root.iter().any(|n| n == internal),
            "{internal} is at the root: {root:?}"
        );
    }
    // The modules that hold the rest.
    let _ = sniffer::decode::Decoder::default();
    let _: Option<sniffer::feed::FeedPoll> = None;
    let _ = sniffer::metrics::LATENCY_BUCKETS_NS;
    let _ = sniffer::config::machine_cores;
    let _: Option<sniffer::ring::StreamRing> = None;
    let _: Option<sniffer::metrics::LatencyHistogram> = None;
}

#[test]
fn the_parser_reads_use_trees_and_definitions() {
    assert_eq!(
        use_names("a::{b, c::D as E, f::{G, self}}"),
        ["b", "E", "G", "f"]
    );
    assert_eq!(use_names("crate::metrics::feeds::FeedStats"), ["FeedStats"]);
    assert_eq!(defined_name("const fn new() -> Self"), Some("new".into()));
    assert_eq!(defined_name("const MAX: usize = 1"), Some("MAX".into()));
    assert_eq!(defined_name("struct Foo<T> {"), Some("Foo".into()));
    assert_eq!(defined_name("(crate) fn hidden()"), None);
    let code = "pub use a::B;\npub(crate) use c::D;\npub use e::{\n    F,\n    G,\n};\n";
    let names: Vec<_> = statements(code, "pub use ")
        .into_iter()
        .flat_map(use_names)
        .collect();
    assert_eq!(names, ["B", "F", "G"]);
}
