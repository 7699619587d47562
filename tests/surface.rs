//! The crate root is the engine's vocabulary (about 30 names); decoders, feeds, metrics details,
//! the sink, the HTTP listener and NATS live under their modules.

#[test]
fn the_crate_root_exports_the_engines_vocabulary_only() {
    let lib = include_str!("../src/lib.rs");
    // Every name a root `pub use` brings (module re-exports like `decode` aside).
    let mut names = Vec::new();
    let mut rest = lib;
    while let Some(at) = rest.find("\npub use ") {
        rest = &rest[at + "\npub use ".len()..];
        let stmt = &rest[..rest.find(';').unwrap()];
        let list = match stmt.find('{') {
            Some(b) => &stmt[b + 1..stmt.rfind('}').unwrap()],
            None => stmt.rsplit("::").next().unwrap(),
        };
        names.extend(list.split(',').map(str::trim).filter(|n| !n.is_empty()));
    }
    names.retain(|n| *n != "decode");
    assert!(names.len() <= 32, "{} root names: {names:?}", names.len());
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
            !names.contains(&internal),
            "{internal} is at the root: {names:?}"
        );
    }
    // The modules that hold the rest.
    let _ = sniffer::decode::Decoder::default();
    let _: Option<sniffer::feed::FeedPoll> = None;
    let _ = sniffer::metrics::LATENCY_BUCKETS_NS;
    let _ = sniffer::config::machine_cores;
    let _: Option<sniffer::ring::StreamRing> = None;
}
