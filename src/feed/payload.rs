//! Real-format synthetic input: [`PayloadGenerator`] writes lines the [`Decoder`](crate::decode::Decoder)
//! accepts (or rejects for a known reason), and [`PayloadSource`] paces them with bursts.
//!
//! Kinds of line, drawn by weight ([`PayloadMix`]) from a seeded xorshift64* generator, so a seed
//! always yields the same lines:
//! - `logsNotification` of a pump.fun `create` / `create_v2`: the `Instruction:` log line and the
//!   `CreateEvent` as a `Program data:` line inside the pump.fun frame, plus (half the time) the
//!   creator's own buy as a second frame with a `TradeEvent`;
//! - a `getTransaction` result (`json` encoding) holding a pump.fun `create` instruction;
//! - a `blockNotification` holding a base64 legacy wire transaction with a PumpSwap `create_pool`
//!   or a Raydium AMM v4 `initialize2`;
//! - a launch-free buy (`other`).
//!
//! A share of lines is malformed on purpose, one known reason each: truncated JSON, a signature
//! that is not base58, a `Program data:` payload that is not base64, and garbage bytes (not UTF-8).
//! The event and instruction layouts are the decoders' own constants (`decode/pump.rs`,
//! `decode/amm.rs`); the small Borsh and wire encoders below mirror `decode/borsh.rs` and
//! `decode/wire.rs`.
//!
//! Pacing: `rate` lines per second, multiplied by `burst_factor` during the first `burst_len` of
//! every `burst_every` period. The lines due after `t` are
//! `rate * (t + (burst_factor - 1) * burst_time(t))`, where `burst_time(t)` is the time spent in
//! bursts so far, so the schedule is exact on any clock.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;

use super::lines::{Clock, LinePoll, LineSource, MonotonicClock};
use crate::candidate::{LaunchKind, Pubkey};
use crate::decode::{amm, pump, wire, Malformed};
use crate::rng::TestRng;

const COMPUTE_BUDGET: &str = "ComputeBudget111111111111111111111111111111";

/// Relative weights of the kinds of valid line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayloadMix {
    /// pump.fun `create` via `logsNotification`.
    pub logs_create: u32,
    /// pump.fun `create_v2` via `logsNotification`.
    pub logs_create_v2: u32,
    /// pump.fun `create` via `getTransaction`.
    pub tx_create: u32,
    /// PumpSwap `create_pool` via `blockNotification`.
    pub pump_swap_pool: u32,
    /// Raydium `initialize2` via `blockNotification`.
    pub raydium_pool: u32,
    /// A valid line without a launch (a bonding-curve buy).
    pub other: u32,
}

impl Default for PayloadMix {
    fn default() -> Self {
        PayloadMix {
            logs_create: 40,
            logs_create_v2: 15,
            tx_create: 10,
            pump_swap_pool: 10,
            raydium_pool: 10,
            other: 15,
        }
    }
}

/// What a generated line should decode to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// One launch of this kind and mint.
    Launch {
        /// The launch kind.
        kind: LaunchKind,
        /// The new mint.
        mint: Pubkey,
        /// The creator's own buy in lamports (0 when none).
        creator_buy_lamports: u64,
    },
    /// A valid line without a launch.
    Nothing,
    /// A line rejected for this reason.
    Malformed(Malformed),
}

/// Writes real-format lines, deterministically from a seed.
///
/// # Examples
///
/// ```
/// use sniffer::{decode::{Decoder, Format}, feed::{Expected, PayloadGenerator, PayloadMix}};
///
/// let mut g = PayloadGenerator::new(7, PayloadMix::default(), 10.0);
/// let mut dec = Decoder::new(Format::Auto);
/// let (mut line, mut out) = (Vec::new(), Vec::new());
/// for _ in 0..100 {
///     out.clear();
///     match (g.next_line(&mut line), dec.decode_line(&line, &mut out)) {
///         (Expected::Launch { mint, .. }, Ok(1)) => assert_eq!(out[0].candidate.mint, mint),
///         (Expected::Nothing, Ok(0)) => {}
///         (Expected::Malformed(m), Err(e)) => assert_eq!(m, e),
///         (want, got) => panic!("{want:?} vs {got:?}"),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct PayloadGenerator {
    rng: TestRng,
    mix: PayloadMix,
    /// Malformed share in parts per million.
    malformed_ppm: u64,
    slot: u64,
    scratch: Vec<u8>,
}

impl PayloadGenerator {
    /// A generator; `malformed_pct` (0 to 100) of the lines are malformed.
    pub fn new(seed: u64, mix: PayloadMix, malformed_pct: f64) -> Self {
        let pct = if malformed_pct.is_finite() {
            malformed_pct.clamp(0.0, 100.0)
        } else {
            0.0
        };
        PayloadGenerator {
            rng: TestRng::new(seed ^ 0x9e37_79b9_7f4a_7c15),
            mix,
            malformed_ppm: (pct * 10_000.0) as u64,
            slot: 300_000_000,
            scratch: Vec::new(),
        }
    }

    fn sig(&mut self) -> [u8; 64] {
        let mut s = [0u8; 64];
        for c in s.chunks_mut(8) {
            c.copy_from_slice(&self.rng.next_u64().to_le_bytes());
        }
        // Never all zero, never with leading zero bytes: always 86-88 base58 digits.
        s[0] |= 0x80;
        s
    }

    /// Writes the next line into `out` (cleared first) and tells what it should decode to.
    pub fn next_line(&mut self, out: &mut Vec<u8>) -> Expected {
        out.clear();
        let r = self.rng.next_u64();
        if r.is_multiple_of(8) {
            self.slot += 1;
        }
        if (r >> 8) % 1_000_000 < self.malformed_ppm {
            return self.malformed(out);
        }
        let m = self.mix;
        let total = u64::from(
            m.logs_create + m.logs_create_v2 + m.tx_create + m.pump_swap_pool + m.raydium_pool,
        ) + u64::from(m.other);
        let mut pick = (r >> 32) % total.max(1);
        let mut take = |w: u32| {
            let hit = pick < u64::from(w);
            pick = pick.saturating_sub(u64::from(w));
            hit
        };
        if take(m.logs_create) {
            self.logs_create(out, false)
        } else if take(m.logs_create_v2) {
            self.logs_create(out, true)
        } else if take(m.tx_create) {
            self.tx_create(out)
        } else if take(m.pump_swap_pool) {
            self.pool(out, LaunchKind::PumpSwapPool)
        } else if take(m.raydium_pool) {
            self.pool(out, LaunchKind::RaydiumPool)
        } else {
            self.other(out);
            Expected::Nothing
        }
    }

    fn malformed(&mut self, out: &mut Vec<u8>) -> Expected {
        match self.rng.next_u64() % 4 {
            0 => {
                self.logs_create(out, false);
                out.truncate(out.len() / 2);
                Expected::Malformed(Malformed::TruncatedJson)
            }
            1 => {
                let sig = "0OIl".repeat(22);
                let logs = [format!("Program {} invoke [1]", pump::PROGRAM_STR)];
                logs_notification(out, self.slot, &sig, &logs);
                Expected::Malformed(Malformed::InvalidBase58)
            }
            2 => {
                let sig = bs58::encode(self.sig()).into_string();
                let logs = [
                    format!("Program {} invoke [1]", pump::PROGRAM_STR),
                    "Program log: Instruction: Create".to_owned(),
                    "Program data: !!not*base64!!".to_owned(),
                    format!("Program {} success", pump::PROGRAM_STR),
                ];
                logs_notification(out, self.slot, &sig, &logs);
                Expected::Malformed(Malformed::InvalidBase64)
            }
            _ => {
                let n = 16 + (self.rng.next_u64() % 200) as usize;
                out.push(0xff);
                while out.len() < n {
                    let b = (self.rng.next_u64() & 0xff) as u8;
                    // No line breaks: a recording must keep this as one line.
                    out.push(if b == b'\n' || b == b'\r' { 0xfe } else { b });
                }
                Expected::Malformed(Malformed::NotUtf8)
            }
        }
    }

    fn logs_create(&mut self, out: &mut Vec<u8>, v2: bool) -> Expected {
        let (mint, curve, user) = (self.rng.key(), self.rng.key(), self.rng.key());
        let sig = bs58::encode(self.sig()).into_string();
        let n = self.rng.next_u64();
        let name = format!("Token {}", n % 100_000);
        let symbol = format!("T{}", n % 1000);
        let uri = format!("https://ipfs.io/ipfs/Qm{:016x}", self.rng.next_u64());
        let ev = &mut self.scratch;
        ev.clear();
        ev.extend_from_slice(&pump::CREATE_EVENT_DISC);
        borsh_str(ev, &name);
        borsh_str(ev, &symbol);
        borsh_str(ev, &uri);
        ev.extend_from_slice(&mint.0);
        ev.extend_from_slice(&curve.0);
        ev.extend_from_slice(&user.0);
        ev.extend_from_slice(&user.0); // creator
        ev.extend_from_slice(&1_750_000_000i64.to_le_bytes()); // timestamp
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut logs = vec![
            format!("Program {COMPUTE_BUDGET} invoke [1]"),
            format!("Program {COMPUTE_BUDGET} success"),
            format!("Program {} invoke [1]", pump::PROGRAM_STR),
            if v2 {
                "Program log: Instruction: CreateV2".to_owned()
            } else {
                "Program log: Instruction: Create".to_owned()
            },
            format!("Program data: {}", b64.encode(&self.scratch)),
            format!("Program {} success", pump::PROGRAM_STR),
        ];
        let buy = if n.is_multiple_of(2) {
            let lamports = 10_000_000 + (self.rng.next_u64() % 3_000_000_000);
            logs.push(format!("Program {} invoke [1]", pump::PROGRAM_STR));
            logs.push("Program log: Instruction: Buy".to_owned());
            let t = trade_event(mint, user, lamports);
            logs.push(format!("Program data: {}", b64.encode(t)));
            logs.push(format!("Program {} success", pump::PROGRAM_STR));
            lamports
        } else {
            0
        };
        logs_notification(out, self.slot, &sig, &logs);
        Expected::Launch {
            kind: if v2 {
                LaunchKind::PumpCreateV2
            } else {
                LaunchKind::PumpCreate
            },
            mint,
            creator_buy_lamports: buy,
        }
    }

    fn other(&mut self, out: &mut Vec<u8>) {
        let (mint, user) = (self.rng.key(), self.rng.key());
        let sig = bs58::encode(self.sig()).into_string();
        let t = trade_event(mint, user, 50_000_000);
        let logs = [
            format!("Program {} invoke [1]", pump::PROGRAM_STR),
            "Program log: Instruction: Buy".to_owned(),
            format!(
                "Program data: {}",
                base64::engine::general_purpose::STANDARD.encode(t)
            ),
            format!("Program {} success", pump::PROGRAM_STR),
        ];
        logs_notification(out, self.slot, &sig, &logs);
    }

    fn tx_create(&mut self, out: &mut Vec<u8>) -> Expected {
        // Keys: signer (the user), the mint, six other create accounts, the pump.fun program.
        let mut keys: Vec<Pubkey> = (0..8).map(|_| self.rng.key()).collect();
        let mint = keys[1];
        let sig = bs58::encode(self.sig()).into_string();
        let n = self.rng.next_u64();
        let ix = &mut self.scratch;
        ix.clear();
        ix.extend_from_slice(&pump::CREATE_DISC);
        borsh_str(ix, &format!("Coin {}", n % 100_000));
        borsh_str(ix, &format!("C{}", n % 1000));
        borsh_str(ix, &format!("https://ipfs.io/ipfs/Qm{n:016x}"));
        let data = bs58::encode(&self.scratch).into_string();
        keys.push(pump::PROGRAM);
        // `create` accounts: mint at 0, user at 7 (see decode/pump.rs).
        let accounts = [1, 2, 3, 4, 5, 6, 7, 0];
        debug_assert_eq!(accounts[pump::CREATE_MINT_ACCOUNT], 1);
        debug_assert_eq!(accounts[pump::CREATE_USER_ACCOUNT], 0);
        out.extend_from_slice(br#"{"jsonrpc":"2.0","result":{"slot":"#);
        let _ = write!(
            out,
            r#"{},"transaction":{{"signatures":["{sig}"],"message":{{"accountKeys":["#,
            self.slot
        );
        for (i, k) in keys.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(out, r#"{sep}"{k}""#);
        }
        let _ = write!(
            out,
            r#"],"header":{{"numRequiredSignatures":1,"numReadonlySignedAccounts":0,"numReadonlyUnsignedAccounts":1}},"instructions":[{{"programIdIndex":8,"accounts":{accounts:?},"data":"{data}","stackHeight":null}}],"recentBlockhash":"7mhQ5bJaCCSKy86dMYnYyRkQwJ8QpzAcxcdw6mVWqLtk"}}}},"meta":{{"err":null,"fee":5000,"innerInstructions":[],"logMessages":[],"loadedAddresses":{{"writable":[],"readonly":[]}}}},"blockTime":1750000000}},"id":1}}"#
        );
        Expected::Launch {
            kind: LaunchKind::PumpCreate,
            mint,
            creator_buy_lamports: 0,
        }
    }

    fn pool(&mut self, out: &mut Vec<u8>, kind: LaunchKind) -> Expected {
        let creator = self.rng.key();
        let mint = self.rng.key();
        let mut data = Vec::with_capacity(32);
        let (keys, accounts) = if kind == LaunchKind::PumpSwapPool {
            // PumpSwap `create_pool`: pool, global_config, creator, base_mint, quote_mint.
            data.extend_from_slice(&amm::CREATE_POOL_DISC);
            data.extend_from_slice(&self.rng.next_u64().to_le_bytes());
            data.extend_from_slice(&[0; 10]);
            let keys = vec![
                creator,
                self.rng.key(),
                self.rng.key(),
                mint,
                amm::WSOL,
                amm::PUMP_SWAP_PROGRAM,
            ];
            (keys, vec![1u8, 2, 0, 3, 4])
        } else {
            // Raydium `initialize2`: coin mint at 8 (WSOL here), pc mint at 9, user at 17.
            data.push(amm::INITIALIZE2_TAG);
            data.resize(amm::INITIALIZE2_LEN, 0);
            let mut keys = vec![creator];
            keys.extend((1..=20).map(|_| self.rng.key()));
            keys[9] = amm::WSOL;
            keys[10] = mint;
            keys.push(amm::RAYDIUM_AMM_V4);
            let mut accounts: Vec<u8> = (1..=21).collect();
            accounts[17] = 0;
            (keys, accounts)
        };
        let program = (keys.len() - 1) as u8;
        let sig = self.sig();
        let wire = legacy_wire(&sig, &keys, program, &accounts, &data);
        let b64 = base64::engine::general_purpose::STANDARD.encode(wire);
        let _ = write!(
            out,
            r#"{{"jsonrpc":"2.0","method":"blockNotification","params":{{"result":{{"context":{{"slot":{s1}}},"value":{{"slot":{s},"block":{{"previousBlockhash":"GJp125YAN4ufCSUvZJVdCyWQJ7RPWMmwxoyUQySydZA","blockhash":"6ojMHjctdqfB55JDpEpqfHnP96fiaHEcvzEQ2NNcxzHP","parentSlot":{s0},"transactions":[{{"transaction":["{b64}","base64"],"meta":{{"err":null,"logMessages":[],"innerInstructions":[]}},"version":"legacy"}}],"blockTime":1750000000}},"err":null}}}},"subscription":0}}}}"#,
            s1 = self.slot + 1,
            s = self.slot,
            s0 = self.slot - 1,
        );
        Expected::Launch {
            kind,
            mint,
            creator_buy_lamports: 0,
        }
    }
}

fn borsh_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A mid-2025 `TradeEvent` prefix (the fields every generation has, plus the timestamp).
fn trade_event(mint: Pubkey, user: Pubkey, lamports: u64) -> Vec<u8> {
    let mut t = pump::TRADE_EVENT_DISC.to_vec();
    t.extend_from_slice(&mint.0);
    t.extend_from_slice(&lamports.to_le_bytes());
    t.extend_from_slice(&1_000_000_000u64.to_le_bytes()); // token amount
    t.push(1); // is_buy
    t.extend_from_slice(&user.0);
    t.extend_from_slice(&1_750_000_000i64.to_le_bytes());
    t
}

fn logs_notification(out: &mut Vec<u8>, slot: u64, sig: &str, logs: &[String]) {
    let _ = write!(
        out,
        r#"{{"jsonrpc":"2.0","method":"logsNotification","params":{{"result":{{"context":{{"slot":{slot}}},"value":{{"signature":"{sig}","err":null,"logs":["#
    );
    for (i, l) in logs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Log lines here never hold quotes or backslashes; JSON-escape anyway for safety.
        let _ = write!(out, "{}", serde_json::Value::from(l.as_str()));
    }
    let _ = write!(out, r#"]}}}},"subscription":1}}}}"#);
}

/// A one-signer, one-instruction legacy wire transaction (layout in `decode/wire.rs`).
fn legacy_wire(
    sig: &[u8; 64],
    keys: &[Pubkey],
    program: u8,
    accounts: &[u8],
    data: &[u8],
) -> Vec<u8> {
    wire::encode(false, sig, keys, &[(program, accounts, data)], &[])
}

/// Settings of [`PayloadSource`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PayloadConfig {
    /// Seed of the generator.
    pub seed: u64,
    /// Lines per second outside bursts; 0 = flat out.
    pub rate: u64,
    /// How long to produce.
    pub duration: Duration,
    /// Stop after this many lines (whichever of count and duration comes first).
    pub max_lines: Option<u64>,
    /// A burst starts every this often (none when `None`).
    pub burst_every: Option<Duration>,
    /// How long each burst lasts.
    pub burst_len: Duration,
    /// Rate multiplier during a burst.
    pub burst_factor: u32,
    /// Percentage of malformed lines (0 to 100).
    pub malformed_pct: f64,
    /// Kinds of valid line.
    pub mix: PayloadMix,
}

impl Default for PayloadConfig {
    fn default() -> Self {
        PayloadConfig {
            seed: 0x5eed_cafe,
            rate: 10_000,
            duration: Duration::from_secs(3),
            max_lines: None,
            burst_every: None,
            burst_len: Duration::from_millis(100),
            burst_factor: 10,
            malformed_pct: 0.0,
            mix: PayloadMix::default(),
        }
    }
}

impl PayloadConfig {
    /// Lines due `elapsed` after the start (before the count limit).
    pub fn due_at(&self, elapsed: Duration) -> u64 {
        if self.rate == 0 {
            return u64::MAX;
        }
        let t = elapsed.as_nanos();
        let burst_ns = match self.burst_every {
            Some(every) if !every.is_zero() && self.burst_factor > 1 => {
                let (every, len) = (
                    every.as_nanos(),
                    self.burst_len.as_nanos().min(every.as_nanos()),
                );
                (t / every) * len + (t % every).min(len)
            }
            _ => 0,
        };
        let extra = u128::from(self.burst_factor.saturating_sub(1)) * burst_ns;
        let due = u128::from(self.rate) * (t + extra) / 1_000_000_000;
        u64::try_from(due).unwrap_or(u64::MAX)
    }
}

/// Generated real-format lines as a [`LineSource`].
#[derive(Debug)]
pub(crate) struct PayloadSource {
    gen: PayloadGenerator,
    cfg: PayloadConfig,
    clock: Arc<dyn Clock>,
    started_ns: Option<u64>,
    emitted: u64,
}

impl PayloadSource {
    /// A source on the monotonic clock.
    pub(crate) fn new(cfg: PayloadConfig) -> Self {
        Self::with_clock(cfg, Arc::new(MonotonicClock))
    }

    /// A source paced by `clock`.
    pub(crate) fn with_clock(cfg: PayloadConfig, clock: Arc<dyn Clock>) -> Self {
        PayloadSource {
            gen: PayloadGenerator::new(cfg.seed, cfg.mix, cfg.malformed_pct),
            cfg,
            clock,
            started_ns: None,
            emitted: 0,
        }
    }
}

impl LineSource for PayloadSource {
    fn name(&self) -> &str {
        "synthetic-payloads"
    }

    fn next_line(&mut self, buf: &mut Vec<u8>) -> LinePoll {
        let now = self.clock.now_ns();
        let started = *self.started_ns.get_or_insert(now);
        let elapsed = Duration::from_nanos(now.saturating_sub(started));
        if elapsed >= self.cfg.duration || self.emitted >= self.cfg.max_lines.unwrap_or(u64::MAX) {
            return LinePoll::Finished;
        }
        if self.emitted >= self.cfg.due_at(elapsed) {
            return LinePoll::Idle;
        }
        self.gen.next_line(buf);
        self.emitted += 1;
        LinePoll::Line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{Decoder, Format};
    use crate::feed::lines::ManualClock;

    #[test]
    fn every_line_decodes_as_expected() {
        let mut g = PayloadGenerator::new(42, PayloadMix::default(), 20.0);
        let mut dec = Decoder::new(Format::Auto);
        let (mut line, mut out) = (Vec::new(), Vec::new());
        let mut kinds = std::collections::HashMap::new();
        for _ in 0..2000 {
            out.clear();
            let want = g.next_line(&mut line);
            let got = dec.decode_line(&line, &mut out);
            match want {
                Expected::Launch {
                    kind,
                    mint,
                    creator_buy_lamports,
                } => {
                    assert_eq!(got, Ok(1), "{}", String::from_utf8_lossy(&line));
                    let c = out[0].candidate;
                    assert_eq!((c.kind, c.mint), (kind, mint));
                    assert_eq!(c.creator_buy_lamports, creator_buy_lamports);
                    *kinds.entry(format!("{kind:?}")).or_insert(0) += 1;
                }
                Expected::Nothing => assert_eq!(got, Ok(0)),
                Expected::Malformed(m) => {
                    assert_eq!(got, Err(m), "{}", String::from_utf8_lossy(&line));
                    *kinds.entry(m.as_str().to_owned()).or_insert(0) += 1;
                }
            }
            assert!(!line.contains(&b'\n'));
        }
        // Every kind and every malformed reason shows up.
        assert_eq!(kinds.len(), 8, "{kinds:?}");
    }

    #[test]
    fn same_seed_same_lines() {
        let mut a = PayloadGenerator::new(1, PayloadMix::default(), 5.0);
        let mut b = PayloadGenerator::new(1, PayloadMix::default(), 5.0);
        let (mut la, mut lb) = (Vec::new(), Vec::new());
        for _ in 0..200 {
            a.next_line(&mut la);
            b.next_line(&mut lb);
            assert_eq!(la, lb);
        }
    }

    #[test]
    fn bursts_follow_the_schedule_exactly() {
        let cfg = PayloadConfig {
            rate: 1000,
            duration: Duration::from_secs(10),
            burst_every: Some(Duration::from_secs(1)),
            burst_len: Duration::from_millis(100),
            burst_factor: 5,
            ..Default::default()
        };
        // 100 ms into a period: 100 lines at 5x = 500.
        assert_eq!(cfg.due_at(Duration::from_millis(100)), 500);
        // One full period: 900 normal + 500 burst.
        assert_eq!(cfg.due_at(Duration::from_secs(1)), 1400);
        let clock = ManualClock::default();
        let mut src = PayloadSource::with_clock(cfg, Arc::new(clock.clone()));
        let mut buf = Vec::new();
        let mut drain = |src: &mut PayloadSource| {
            let mut n = 0;
            while src.next_line(&mut buf) == LinePoll::Line {
                n += 1;
            }
            n
        };
        assert_eq!(drain(&mut src), 0);
        clock.advance_ns(50_000_000);
        assert_eq!(drain(&mut src), 250);
        clock.advance_ns(950_000_000);
        assert_eq!(drain(&mut src), 1150);
        clock.advance_ns(9_000_000_000);
        assert_eq!(src.next_line(&mut buf), LinePoll::Finished);
    }
}
