//! Stress harness (placeholder replaced below).
fn main() {}
