//! The synchronisation primitives our own state machines are built on, switched to loom's models
//! under `cfg(loom)` so that `cargo test --cfg loom` explores their interleavings (tokio's
//! `src/loom` shim does the same). Crossbeam's internals are outside loom's view; only code that
//! goes through this module is modelled.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize};
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize};
#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex};
