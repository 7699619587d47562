//! Log lines (`meta.logMessages`, a `logsNotification`'s `value.logs`): which program is running,
//! what it announces, and the events it emits.
//!
//! The invocation stack is rebuilt from `Program <id> invoke [n]` / `Program <id> success` /
//! `failed`, so a `Program data:` line is attributed to the innermost running program (an event
//! replayed by another program is not taken for the launchpad's own). In a launch program's
//! frame:
//! - `Program log: Instruction: <Name>` announces a launch when the family decoder says so
//!   (`log_launch`): LaunchLab's `InitializeV2`, DBC's `InitializeVirtualPoolWithSplToken`,
//!   Moonshot's `TokenMint`, Boop's `CreateToken`, the graduations' `Migrate*` (pump.fun's only
//!   with PumpSwap's `CreatePool` inside it). These stand for the launch only when the input has
//!   no message (a logs notification);
//! - `Program data: <base64>` is decoded as that program's event (pump.fun's `CreateEvent` and
//!   `TradeEvent`, LaunchLab's `PoolCreateEvent` and `TradeEvent`, Boop's events).
//!
//! `Program log: Create` without `Instruction:` is the associated-token program and means nothing.

use super::b64;
use super::detect::{Src, Tx};
use super::programs::Program;
use super::scan::OneByte;
use crate::candidate::Malformed;

/// Deepest invocation stack tracked; Solana stops at 5 CPI levels, more means bad input.
const MAX_LOG_DEPTH: usize = 16;

#[derive(Clone, Copy, Debug, Default)]
struct Frame {
    /// The running program, when it is a launch program.
    prog: Option<Program>,
    /// pump.fun announced `CreateV2` in this frame: its `CreateEvent` is a `create_v2`'s.
    create_v2: bool,
}

/// The invocation stack the log lines describe.
#[derive(Debug)]
pub(crate) struct Frames {
    frames: [Frame; MAX_LOG_DEPTH],
    depth: usize,
    /// Invocations past `MAX_LOG_DEPTH` that were not tracked.
    overflow: usize,
    /// Finds the space after a program id (`scan.rs`: `memchr`'s searcher built once, not per
    /// line; `split_once`'s searcher cost 15 % of a logs line).
    space: OneByte,
}

impl Default for Frames {
    fn default() -> Self {
        Frames {
            frames: Default::default(),
            depth: 0,
            overflow: 0,
            space: OneByte::new(b' '),
        }
    }
}

impl Frames {
    pub(crate) fn reset(&mut self) {
        self.depth = 0;
        self.overflow = 0;
    }

    fn push(&mut self, prog: Option<Program>) {
        if self.depth < MAX_LOG_DEPTH {
            self.frames[self.depth] = Frame {
                prog,
                create_v2: false,
            };
            self.depth += 1;
        } else {
            self.overflow += 1;
        }
    }

    fn pop(&mut self) {
        if self.overflow > 0 {
            self.overflow -= 1;
        } else {
            self.depth = self.depth.saturating_sub(1);
        }
    }

    /// The program that invoked the running one.
    fn caller(&self) -> Option<Program> {
        if self.overflow > 0 {
            return None;
        }
        self.depth
            .checked_sub(2)
            .and_then(|i| self.frames.get(i))
            .and_then(|f| f.prog)
    }

    fn top_mut(&mut self) -> Option<&mut Frame> {
        if self.overflow > 0 {
            return None;
        }
        self.depth
            .checked_sub(1)
            .and_then(|i| self.frames.get_mut(i))
    }
}

impl Tx {
    /// Feeds one log line.
    ///
    /// # Errors
    ///
    /// [`Malformed::InvalidBase64`] and the event decoders' reasons, for a `Program data:` line
    /// of a launch program that does not decode.
    pub(crate) fn on_log(&mut self, log: &str) -> Result<(), Malformed> {
        let Some(rest) = log.strip_prefix("Program ") else {
            return Ok(());
        };
        if let Some(msg) = rest.strip_prefix("log: ") {
            self.on_log_message(msg);
            return Ok(());
        }
        if let Some(b64) = rest.strip_prefix("data: ") {
            return self.on_log_data(b64);
        }
        if rest.starts_with("data:") || rest.starts_with("return:") {
            return Ok(());
        }
        let Some(sp) = self.frames.space.find(rest.as_bytes()) else {
            return Ok(());
        };
        let (id, verb) = (&rest[..sp], &rest[sp + 1..]);
        if verb.starts_with("invoke [") {
            self.frames.push(Program::of_text(id));
        } else if verb == "success" || verb.starts_with("failed") {
            self.frames.pop();
        }
        Ok(())
    }

    /// A `Program log:` line: only the running launch program's own `Instruction:` line counts.
    fn on_log_message(&mut self, msg: &str) {
        let Some(frame) = self.frames.top_mut() else {
            return;
        };
        let (Some(prog), Some(name)) = (frame.prog, msg.strip_prefix("Instruction: ")) else {
            return;
        };
        if prog == Program::Pump && name == "CreateV2" {
            frame.create_v2 = true;
        }
        // pump.fun's `migrate` made its pool: the graduation it announced stands.
        if prog == Program::PumpSwap
            && name == "CreatePool"
            && self.frames.caller() == Some(Program::Pump)
        {
            if let Some((_, l)) = self
                .announced
                .iter_mut()
                .rev()
                .find(|(p, _)| *p == Program::Pump)
            {
                l.needs_pool = false;
            }
        }
        if let Some(l) = prog.log_launch(name) {
            self.announced.push((prog, l));
        }
    }

    /// A `Program data:` line, decoded when a launch program with events emitted it.
    fn on_log_data(&mut self, text: &str) -> Result<(), Malformed> {
        let Some(frame) = self.frames.top_mut() else {
            return Ok(());
        };
        let (Some(prog), create_v2) = (frame.prog, frame.create_v2) else {
            return Ok(());
        };
        if !prog.has_events() {
            return Ok(());
        }
        let mut buf = std::mem::take(&mut self.tmp);
        buf.clear();
        // `sol_log_data` separates several slices with spaces; Anchor writes one, so the first
        // slice is looked for only when the whole text does not decode (no scan of every line).
        let mut r = b64::decode_append(text.as_bytes(), &mut buf);
        if r.is_err() {
            if let Some((first, _)) = text.split_once(' ') {
                buf.clear();
                r = b64::decode_append(first.as_bytes(), &mut buf);
            }
        }
        let r = r
            .map_err(|_| Malformed::InvalidBase64)
            .and_then(|()| self.on_event(prog, &buf, Src::Log, create_v2));
        self.tmp = buf;
        r
    }
}
