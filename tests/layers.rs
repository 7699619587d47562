//! The import layering of `src/` (docs/ARCHITECTURE.md): every top-level module has a layer, and
//! a module imports only from modules of lower layers. That rules out import circles and imports
//! that run up the data flow (a decoder reaching into the feeds, the ring into the batcher).
//! Inside the crate, names come from the module that defines them, never through the crate
//! root's re-exports (`use crate::Pubkey` ties a module to `lib.rs`, and through it to every
//! module).
//!
//! The check reads `crate::<module>` paths as text in each file's code above its first
//! `#[cfg(test)]` (tests may reach anywhere), skipping comment lines. A new top-level module
//! must be given a layer here.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Layers, lowest first. A module may import from any module of a lower layer only.
const LAYERS: &[&[&str]] = &[
    &["sync"],
    &["candidate"],
    &[
        "rng", "decode", "error", "pinning", "wait", "stale", "ca_file",
    ],
    &["metrics"],
    &["ring", "meta"],
    &["output", "backpressure"],
    &["batch"],
    &["ingest", "config"],
    &["net"],
    &["feed"],
    &["sink", "publish", "history"],
    &["engine"],
    &["http"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under `src/` belongs to (`None` for `lib.rs` and the binaries).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    match first.as_str() {
        "lib.rs" | "bin" => None,
        f => Some(f.trim_end_matches(".rs").to_owned()),
    }
}

/// The design part of a file: above its first test module, without comment lines.
fn code_of(text: &str) -> String {
    let design = text.split("#[cfg(test)]").next().unwrap_or_default();
    design
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `(module, next char)` for every `crate::` path in `code`.
fn crate_paths(code: &str) -> Vec<(String, char)> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let next = rest[name.len()..].chars().next().unwrap_or(' ');
        out.push((name, next));
    }
    out
}

/// Every `(from, to, file)` import between top-level modules, and every root import.
fn imports() -> (Vec<(String, String, String)>, Vec<String>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges = Vec::new();
    let mut root = Vec::new();
    for file in files {
        let Some(me) = module_of(&src, &file) else {
            continue;
        };
        let code = code_of(&fs::read_to_string(&file).unwrap());
        let shown = file.strip_prefix(&src).unwrap().display().to_string();
        for (name, next) in crate_paths(&code) {
            if next == '{' || name.starts_with(|c: char| c.is_ascii_uppercase()) {
                root.push(shown.clone());
            } else if name != me && !name.is_empty() {
                let is_module =
                    src.join(&name).is_dir() || src.join(format!("{name}.rs")).is_file();
                if is_module {
                    edges.push((me.clone(), name, shown.clone()));
                }
            }
        }
    }
    (edges, root)
}

#[test]
fn every_import_points_to_a_lower_layer() {
    let (edges, _) = imports();
    let mut wrong = BTreeMap::new();
    for (from, to, file) in &edges {
        let (Some(f), Some(t)) = (layer_of(from), layer_of(to)) else {
            let missing = if layer_of(from).is_none() { from } else { to };
            panic!("module `{missing}` has no layer in tests/layers.rs ({file})");
        };
        if f <= t {
            wrong.insert(format!("{from} -> {to}"), file.clone());
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that do not point down the layers (docs/ARCHITECTURE.md): {wrong:#?}"
    );
}

#[test]
fn nothing_imports_through_the_crate_root() {
    let (_, mut root) = imports();
    root.sort();
    root.dedup();
    assert!(
        root.is_empty(),
        "import from the defining module, not `crate::{{..}}`/`crate::Name`: {root:?}"
    );
}

#[test]
fn every_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if let Some(m) = module_of(&src, &path) {
            assert!(
                layer_of(&m).is_some(),
                "module `{m}` has no layer in tests/layers.rs"
            );
        }
    }
}

/// The checker itself: a made-up upward import and a root import are caught.
#[test]
fn the_checker_sees_upward_and_root_imports() {
    let code = code_of("use crate::feed::FeedSink;\n// use crate::engine::X;\nuse crate::{Pubkey};\n#[cfg(test)]\nuse crate::http::Y;");
    let paths = crate_paths(&code);
    assert_eq!(paths, vec![("feed".to_owned(), ':'), (String::new(), '{')]);
    assert!(layer_of("feed").unwrap() > layer_of("decode").unwrap());
}
