//! The library's default build is the engine alone: an embedder who adds `sniffer` to their
//! `Cargo.toml` compiles none of the CLI, SQLite, HTTP or network crates (they come with the
//! `cli`, `sqlite`, `http`, `stream`, `ws` and `geyser` features).

#[test]
fn the_default_library_build_carries_no_cli_sqlite_http_or_network_crate() {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            "sniffer",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    let crates: std::collections::BTreeSet<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for heavy in [
        "clap",
        "indicatif",
        "ctrlc",
        "tracing-subscriber",
        "anyhow",
        "rusqlite",
        "libsqlite3-sys",
        "hyper",
        "tokio",
        "tonic",
        "tungstenite",
        "rustls",
    ] {
        assert!(
            !crates.contains(heavy),
            "the default build pulls {heavy}: {crates:?}"
        );
    }
    for engine in [
        "crossbeam-queue",
        "parking_lot",
        "core_affinity",
        "hdrhistogram",
        "serde_json",
        "tracing",
    ] {
        assert!(crates.contains(engine), "{engine} missing from {crates:?}");
    }
}
