//! Core pinning. The list of cores is captured once per process, before any engine thread is
//! pinned: `core_affinity::get_core_ids()` returns the *calling* thread's affinity set, so a list
//! read from an already-pinned thread would show a single core. Each engine thread pins itself as
//! its first action (as disruptor-rs does); with fewer cores than threads, threads share cores
//! round-robin and the engine logs a warning instead of failing.

use std::sync::OnceLock;

use core_affinity::CoreId;

static MACHINE_CORES: OnceLock<Vec<usize>> = OnceLock::new();

/// The ids of the cores this process may run on, captured on the first call.
///
/// # Examples
///
/// ```
/// assert!(!sniffer::config::machine_cores().is_empty());
/// ```
pub fn machine_cores() -> &'static [usize] {
    MACHINE_CORES.get_or_init(|| {
        let ids: Vec<usize> = core_affinity::get_core_ids()
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.id)
            .collect();
        if ids.is_empty() {
            // Affinity is not readable here (some containers): pinning becomes a no-op.
            tracing::warn!("cannot read this process's core affinity; threads will not be pinned");
        }
        ids
    })
}

pub(crate) fn machine_core_ids() -> Vec<usize> {
    machine_cores().to_vec()
}

/// Which core each engine thread gets, decided before any thread starts.
#[derive(Clone, Debug)]
pub(crate) struct CorePlan {
    cores: Vec<usize>,
    next: usize,
}

impl CorePlan {
    /// `wanted` empty means every machine core; `enabled == false` disables pinning.
    pub(crate) fn new(enabled: bool, wanted: &[usize], threads: usize) -> Self {
        let cores = if !enabled {
            Vec::new()
        } else if wanted.is_empty() {
            machine_core_ids()
        } else {
            wanted.to_vec()
        };
        if !cores.is_empty() && threads > cores.len() {
            tracing::warn!(
                threads,
                cores = cores.len(),
                "more engine threads than cores: threads will share cores"
            );
        }
        CorePlan { cores, next: 0 }
    }

    /// The core for the next thread, round-robin; `None` when pinning is off.
    pub(crate) fn next_core(&mut self) -> Option<usize> {
        if self.cores.is_empty() {
            return None;
        }
        let core = self.cores[self.next % self.cores.len()];
        self.next += 1;
        Some(core)
    }
}

/// Core ids a Linux `cpu_set_t` can name: `core_affinity` indexes past its bits (a panic) for a
/// larger id, so such an id is refused here as any other core the kernel refuses.
const CPU_SET_SIZE: usize = 1024;

/// Pins the calling thread; call it first thing inside a spawned thread. A core the thread may
/// not run on leaves it unpinned, with a warning.
pub(crate) fn pin_current(core: Option<usize>, thread: &str) {
    if let Some(id) = core {
        if id >= CPU_SET_SIZE || !core_affinity::set_for_current(CoreId { id }) {
            tracing::warn!(thread, core = id, "could not pin thread; it runs unpinned");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_shares_cores_round_robin() {
        let mut plan = CorePlan::new(true, &[0, 1], 5);
        let got: Vec<_> = (0..5).map(|_| plan.next_core()).collect();
        assert_eq!(got, [Some(0), Some(1), Some(0), Some(1), Some(0)]);
    }

    #[test]
    fn disabled_plan_pins_nothing() {
        let mut plan = CorePlan::new(false, &[0], 3);
        assert_eq!(plan.next_core(), None);
    }

    /// The calling thread's affinity set, read back from the kernel.
    fn affinity() -> Vec<usize> {
        let mut ids: Vec<usize> = core_affinity::get_core_ids()
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// `pin_current` leaves the thread allowed on exactly its core, on every core of the machine
    /// in turn; a core the process may not use, or none, leaves it on every core (a warning, no
    /// failure). With one core pinned and unpinned look the same: only the fallback is checked.
    #[test]
    fn pin_current_pins_and_degrades_gracefully() {
        let machine = {
            let mut m = machine_core_ids();
            m.sort_unstable();
            m
        };
        let pinned = |core: Option<usize>| {
            std::thread::spawn(move || {
                pin_current(core, "test");
                affinity()
            })
            .join()
            .unwrap()
        };
        if machine.len() >= 2 {
            for &core in &machine {
                assert_eq!(pinned(Some(core)), [core]);
            }
        }
        assert_eq!(pinned(None), machine);
        let absent = (0..CPU_SET_SIZE).find(|c| !machine.contains(c)).unwrap();
        assert_eq!(pinned(Some(absent)), machine);
        assert_eq!(pinned(Some(usize::MAX / 2)), machine);
    }
}
