//! [`DropPolicy`]: what a push into a full ring does. Each policy's behaviour lives in its own
//! file beside this one (`drop_newest.rs`, `drop_oldest.rs`, `block.rs`); the engine's public
//! path of the type is the crate root (`sniffer::DropPolicy`), since every bounded stage and the
//! configuration use it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a push into a full ring does. The names are exact (they differ across the ecosystem).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropPolicy {
    /// Reject the incoming candidate (counted in `dropped_full_buffer`); the queue is untouched.
    #[default]
    DropNewest,
    /// Evict the oldest queued candidate (counted in `dropped_oldest`); the incoming one is stored.
    DropOldest,
    /// Wait for room (at most `block_timeout` when set); nothing is dropped.
    Block,
}

impl DropPolicy {
    /// Every policy.
    pub const ALL: [DropPolicy; 3] = [
        DropPolicy::DropNewest,
        DropPolicy::DropOldest,
        DropPolicy::Block,
    ];

    /// The configuration name (`drop_newest`, `drop_oldest`, `block`).
    pub const fn as_str(self) -> &'static str {
        match self {
            DropPolicy::DropNewest => "drop_newest",
            DropPolicy::DropOldest => "drop_oldest",
            DropPolicy::Block => "block",
        }
    }
}

impl fmt::Display for DropPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DropPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DropPolicy::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                format!("unknown drop policy `{s}` (expected drop_newest, drop_oldest or block)")
            })
    }
}
