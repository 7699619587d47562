//! The repository's real launchpad transactions and every form they are given in
//! (`tests/samples/launchpads.rs`, included by path so both crates read the same bytes).

/// Where the samples live (`launchpads.rs` reads `{SAMPLES}launchpads/tx/NAME.json`).
pub const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/");

#[allow(dead_code)]
#[path = "../../../tests/samples/launchpads.rs"]
pub mod launchpads;
