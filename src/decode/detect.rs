//! Detection rules: turn one transaction's instructions, inner instructions and logs into
//! launches, and launches into scored [`Decoded`] records.
//!
//! Evidence of a launch, any of which is enough:
//! - a pump.fun `create` / `create_v2` instruction (top-level or inner);
//! - a PumpSwap `create_pool` or Raydium AMM v4 `initialize2` instruction;
//! - a pump.fun `CreateEvent`, from a `Program data:` log line *emitted while the pump.fun program
//!   is the innermost running program* (tracked with the `invoke [n]` / `success` log lines, so a
//!   `CreateEvent` replayed by another program is ignored), or from a self-CPI event instruction.
//!
//! Rules: a failed transaction (`err` not null) yields nothing; `Program log: Create` without
//! `Instruction:` is the associated-token program and means nothing; the same mint seen through
//! several kinds of evidence is one launch; a `TradeEvent` that is a buy of the launched mint by
//! its creator (or by the signer that launched it) sets `creator_buy_lamports` (summed when the
//! creator buys more than once). Events arrive twice when both logs and inner instructions are
//! present, so trades are counted per source and the source with more trades wins.
//!
//! [`Tx`] is the per-transaction scratch state. Its buffers are cleared, never freed, between
//! transactions, so a warmed decoder does not allocate.

use base64::Engine as _;

use super::amm::{self, PoolLayout};
use super::b58;
use super::pump::{self, PumpEvent};
use super::record::Decoded;
use super::score::Scorer;
use crate::candidate::Malformed;
use crate::candidate::TradeEvent;
use crate::candidate::{LaunchKind, PremintCandidate, Pubkey, TokenProgram};
use crate::candidate::{LaunchMeta, Signature};

/// Deepest invocation stack tracked in logs; Solana stops at 5 CPI levels, more means bad input.
const MAX_LOG_DEPTH: usize = 16;

/// The programs whose instructions can be launches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prog {
    Pump,
    PumpSwap,
    Raydium,
}

impl Prog {
    pub(crate) fn of_key(k: &Pubkey) -> Option<Prog> {
        if *k == pump::PROGRAM {
            Some(Prog::Pump)
        } else if *k == amm::PUMP_SWAP_PROGRAM {
            Some(Prog::PumpSwap)
        } else if *k == amm::RAYDIUM_AMM_V4 {
            Some(Prog::Raydium)
        } else {
            None
        }
    }

    pub(crate) fn of_text(s: &str) -> Option<Prog> {
        match s {
            pump::PROGRAM_STR => Some(Prog::Pump),
            amm::PUMP_SWAP_PROGRAM_STR => Some(Prog::PumpSwap),
            amm::RAYDIUM_AMM_V4_STR => Some(Prog::Raydium),
            _ => None,
        }
    }
}

/// An account reference as the input spelled it. Text is kept as a position in the input line and
/// decoded only when a launch needs it: most keys of most transactions are never looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyRef {
    /// Already 32 bytes (wire format).
    Raw(Pubkey),
    /// Base58 text at `line[off..off + len]`.
    Text { off: u32, len: u8 },
    /// Index into the transaction's keys (static, then loaded writable, then loaded readonly).
    Idx(u16),
}

/// Where an event came from, for de-duplication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Src {
    Log,
    Cpi,
}

#[derive(Clone, Copy, Debug)]
struct Ix {
    prog: Prog,
    accs: (u32, u32),
    data: (u32, u32),
}

#[derive(Clone, Copy, Debug)]
struct Launch {
    mint: Pubkey,
    creator: Pubkey,
    user: Pubkey,
    kind: LaunchKind,
    meta: LaunchMeta,
    /// Bonding curve (pump.fun) or pool; zero when unknown.
    market: Pubkey,
    /// Associated bonding curve (pump.fun) or the pool's vault of the mint; zero when unknown.
    market_token_account: Pubkey,
    token_program: TokenProgram,
}

#[derive(Clone, Copy, Debug, Default)]
struct Frame {
    pump: bool,
    create_v2: bool,
}

/// Per-transaction scratch.
#[derive(Debug, Default)]
pub(crate) struct Tx {
    pub(crate) slot: u64,
    pub(crate) signature: Signature,
    /// The signature as text in the line, decoded only when the transaction holds a launch.
    sig_text: Option<(u32, u8)>,
    pub(crate) failed: bool,
    /// Static account keys (never `Idx`).
    pub(crate) keys: Vec<KeyRef>,
    pub(crate) loaded_writable: Vec<KeyRef>,
    pub(crate) loaded_readonly: Vec<KeyRef>,
    /// True once `meta.loadedAddresses` was read, so an index past every key is an error rather
    /// than an address-table key we were not given.
    pub(crate) loaded_known: bool,
    ixs: Vec<Ix>,
    accs: Vec<KeyRef>,
    data: Vec<u8>,
    launches: Vec<Launch>,
    trades_log: Vec<TradeEvent>,
    trades_cpi: Vec<TradeEvent>,
    /// Trades of the last finished transaction, for [`super::Decoder::last_trades`].
    pub(crate) last_trades: Vec<TradeEvent>,
    frames: [Frame; MAX_LOG_DEPTH],
    depth: usize,
    /// Invocations past `MAX_LOG_DEPTH` that were not tracked.
    overflow: usize,
    /// Scratch for one base64 / base58 payload.
    pub(crate) tmp: Vec<u8>,
    /// Scratch for a base64 wire transaction.
    pub(crate) wire: Vec<u8>,
}

impl Tx {
    /// Forgets the previous transaction, keeping every buffer's capacity.
    pub(crate) fn reset(&mut self) {
        self.slot = 0;
        self.signature = Signature::default();
        self.sig_text = None;
        self.failed = false;
        self.keys.clear();
        self.loaded_writable.clear();
        self.loaded_readonly.clear();
        self.loaded_known = false;
        self.ixs.clear();
        self.accs.clear();
        self.data.clear();
        self.launches.clear();
        self.trades_log.clear();
        self.trades_cpi.clear();
        self.depth = 0;
        self.overflow = 0;
    }

    /// Records the transaction signature given as base58 text. The alphabet and length are
    /// checked now; the (comparatively slow) decode waits until a launch needs it.
    pub(crate) fn set_signature_text(&mut self, line: &str, s: &str) -> Result<(), Malformed> {
        if !(64..=88).contains(&s.len()) {
            return Err(Malformed::SignatureLength);
        }
        if !is_base58(s) {
            return Err(Malformed::InvalidBase58);
        }
        match offset_in(line, s) {
            Some(off) => self.sig_text = Some((off, s.len() as u8)),
            None => self.signature = Signature::from_base58(s)?,
        }
        Ok(())
    }

    /// Starts an instruction; account references follow through [`Tx::push_acc`].
    pub(crate) fn begin_ix(&mut self) -> u32 {
        u32::try_from(self.accs.len()).unwrap_or(u32::MAX)
    }

    pub(crate) fn push_acc(&mut self, r: KeyRef) {
        self.accs.push(r);
    }

    /// Classifies a static key as one of the launch programs.
    pub(crate) fn classify(&self, line: &str, idx: usize) -> Result<Option<Prog>, Malformed> {
        match self.keys.get(idx) {
            Some(KeyRef::Raw(k)) => Ok(Prog::of_key(k)),
            Some(KeyRef::Text { off, len }) => {
                Ok(text_at(line, *off, *len).and_then(Prog::of_text))
            }
            Some(KeyRef::Idx(_)) | None => Err(Malformed::AccountIndex),
        }
    }

    /// Ends the instruction begun at `start`: keeps it when it may be a launch, decodes it at
    /// once when it is a self-CPI event, drops its accounts otherwise.
    pub(crate) fn end_ix(
        &mut self,
        start: u32,
        prog: Option<Prog>,
        data: &[u8],
    ) -> Result<(), Malformed> {
        let keep = match prog {
            Some(Prog::Pump) if data.starts_with(&pump::EVENT_IX_TAG) => {
                self.truncate_accs(start);
                return self.on_event(data, Src::Cpi, LaunchKind::PumpCreate);
            }
            Some(Prog::Pump) => {
                data.starts_with(&pump::CREATE_DISC) || data.starts_with(&pump::CREATE_V2_DISC)
            }
            Some(Prog::PumpSwap) => amm::pump_swap_pool(data).is_some(),
            Some(Prog::Raydium) => amm::raydium_pool(data).is_some(),
            None => false,
        };
        match prog {
            Some(prog) if keep => {
                let d0 = self.data.len();
                self.data.extend_from_slice(data);
                let end = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
                self.ixs.push(Ix {
                    prog,
                    accs: (start, end(self.accs.len())),
                    data: (end(d0), end(self.data.len())),
                });
            }
            _ => self.truncate_accs(start),
        }
        Ok(())
    }

    fn truncate_accs(&mut self, start: u32) {
        self.accs.truncate(start as usize);
    }

    /// Feeds one log line; `Program data:` payloads are decoded when pump.fun emitted them.
    pub(crate) fn on_log(&mut self, log: &str) -> Result<(), Malformed> {
        let Some(rest) = log.strip_prefix("Program ") else {
            return Ok(());
        };
        if let Some(msg) = rest.strip_prefix("log: ") {
            // Only the pump.fun frame's own `Instruction:` line counts; `Program log: Create`
            // from the associated-token program deliberately matches nothing here.
            if let Some(f) = self.top_mut().filter(|f| f.pump) {
                if msg == "Instruction: CreateV2" {
                    f.create_v2 = true;
                }
            }
            return Ok(());
        }
        if let Some(b64) = rest.strip_prefix("data: ") {
            let kind = match self.top() {
                Some(f) if f.pump && f.create_v2 => LaunchKind::PumpCreateV2,
                Some(f) if f.pump => LaunchKind::PumpCreate,
                _ => return Ok(()),
            };
            // `sol_log_data` separates several slices with spaces; Anchor writes one.
            let b64 = b64.split(' ').next().unwrap_or_default();
            let mut buf = std::mem::take(&mut self.tmp);
            buf.clear();
            let r = base64::engine::general_purpose::STANDARD
                .decode_vec(b64, &mut buf)
                .map_err(|_| Malformed::InvalidBase64)
                .and_then(|()| self.on_event(&buf, Src::Log, kind));
            self.tmp = buf;
            return r;
        }
        if rest.starts_with("data:") || rest.starts_with("return:") {
            return Ok(());
        }
        let Some((id, verb)) = rest.split_once(' ') else {
            return Ok(());
        };
        if verb.starts_with("invoke [") {
            if self.depth < MAX_LOG_DEPTH {
                self.frames[self.depth] = Frame {
                    pump: id == pump::PROGRAM_STR,
                    create_v2: false,
                };
                self.depth += 1;
            } else {
                self.overflow += 1;
            }
        } else if verb == "success" || verb.starts_with("failed") {
            if self.overflow > 0 {
                self.overflow -= 1;
            } else {
                self.depth = self.depth.saturating_sub(1);
            }
        }
        Ok(())
    }

    fn top(&self) -> Option<&Frame> {
        if self.overflow > 0 {
            return None;
        }
        self.depth.checked_sub(1).and_then(|i| self.frames.get(i))
    }

    fn top_mut(&mut self) -> Option<&mut Frame> {
        if self.overflow > 0 {
            return None;
        }
        self.depth
            .checked_sub(1)
            .and_then(|i| self.frames.get_mut(i))
    }

    fn on_event(&mut self, bytes: &[u8], src: Src, kind: LaunchKind) -> Result<(), Malformed> {
        match pump::decode_pump_event(bytes)? {
            Some(PumpEvent::Create(e)) => self.add_launch(Launch {
                mint: e.mint,
                creator: e.creator.unwrap_or(e.user),
                user: e.user,
                kind,
                meta: LaunchMeta::new(e.name, e.symbol, e.uri),
                market: e.bonding_curve,
                // Not in the event: it comes from the instruction when the input has one.
                market_token_account: Pubkey::ZERO,
                token_program: e
                    .token_program
                    .and_then(|k| TokenProgram::of_key(&k))
                    .unwrap_or_default(),
            }),
            Some(PumpEvent::Trade(t)) => match src {
                Src::Log => self.trades_log.push(t),
                Src::Cpi => self.trades_cpi.push(t),
            },
            None => {}
        }
        Ok(())
    }

    /// Adds a launch, merging with an earlier one of the same mint: the more specific kind, the
    /// first non-empty metadata and the first non-zero creator, market and token program win.
    fn add_launch(&mut self, l: Launch) {
        if let Some(old) = self.launches.iter_mut().find(|o| o.mint == l.mint) {
            if old.kind == LaunchKind::PumpCreate && l.kind == LaunchKind::PumpCreateV2 {
                old.kind = l.kind;
            }
            if old.meta.is_empty() {
                old.meta = l.meta;
            }
            if old.creator == Pubkey::ZERO {
                old.creator = l.creator;
            }
            if old.user == Pubkey::ZERO {
                old.user = l.user;
            }
            if old.market == Pubkey::ZERO {
                old.market = l.market;
            }
            if old.market_token_account == Pubkey::ZERO {
                old.market_token_account = l.market_token_account;
            }
            if old.token_program == TokenProgram::Unknown {
                old.token_program = l.token_program;
            }
        } else {
            self.launches.push(l);
        }
    }

    /// Resolves an account reference to a key.
    ///
    /// `Ok(None)` when it points at an address-table key the input did not resolve for us.
    fn resolve(&self, line: &str, r: KeyRef) -> Result<Option<Pubkey>, Malformed> {
        let r = match r {
            KeyRef::Idx(i) => {
                let i = usize::from(i);
                let w = self.loaded_writable.len();
                let slot = if let Some(k) = self.keys.get(i) {
                    k
                } else if let Some(k) = self.loaded_writable.get(i - self.keys.len()) {
                    k
                } else if let Some(k) = self.loaded_readonly.get(i - self.keys.len() - w) {
                    k
                } else if self.loaded_known {
                    return Err(Malformed::AccountIndex);
                } else {
                    return Ok(None);
                };
                *slot
            }
            other => other,
        };
        match r {
            KeyRef::Raw(k) => Ok(Some(k)),
            KeyRef::Text { off, len } => {
                parse_key(text_at(line, off, len).unwrap_or_default()).map(Some)
            }
            KeyRef::Idx(_) => Err(Malformed::AccountIndex),
        }
    }

    /// The `n`th account of an instruction; `Ok(None)` when it has fewer accounts or the key
    /// lives in an address table that was not given.
    fn account(&self, line: &str, ix: &Ix, n: usize) -> Result<Option<Pubkey>, Malformed> {
        let (a, b) = (ix.accs.0 as usize, ix.accs.1 as usize);
        match self.accs.get(a..b).and_then(|s| s.get(n)) {
            Some(r) => self.resolve(line, *r),
            None => Ok(None),
        }
    }

    /// The fee payer, the fallback creator of pool launches.
    fn fee_payer(&self, line: &str) -> Pubkey {
        self.keys
            .first()
            .and_then(|k| self.resolve(line, *k).ok().flatten())
            .unwrap_or_default()
    }

    fn launch_from_ix(&mut self, line: &str, ix: Ix) -> Result<(), Malformed> {
        let data = self
            .data
            .get(ix.data.0 as usize..ix.data.1 as usize)
            .unwrap_or_default();
        match ix.prog {
            Prog::Pump => {
                let Some(args) = pump::decode_create_ix(data)? else {
                    return Ok(());
                };
                let user_at = if args.v2 {
                    pump::CREATE_V2_USER_ACCOUNT
                } else {
                    pump::CREATE_USER_ACCOUNT
                };
                let Some(mint) = self.account(line, &ix, pump::CREATE_MINT_ACCOUNT)? else {
                    return Ok(());
                };
                let user = self.account(line, &ix, user_at)?.unwrap_or_default();
                let token_program_at = if args.v2 {
                    pump::CREATE_V2_TOKEN_PROGRAM_ACCOUNT
                } else {
                    pump::CREATE_TOKEN_PROGRAM_ACCOUNT
                };
                // An account this transaction does not resolve (an address table we were not
                // given) is simply unknown here.
                let key = |n| self.account(line, &ix, n).ok().flatten();
                let l = Launch {
                    mint,
                    creator: args.creator.unwrap_or(user),
                    user,
                    kind: if args.v2 {
                        LaunchKind::PumpCreateV2
                    } else {
                        LaunchKind::PumpCreate
                    },
                    meta: LaunchMeta::new(args.name, args.symbol, args.uri),
                    market: key(pump::CREATE_BONDING_CURVE_ACCOUNT).unwrap_or_default(),
                    market_token_account: key(pump::CREATE_ASSOCIATED_BONDING_CURVE_ACCOUNT)
                        .unwrap_or_default(),
                    token_program: key(token_program_at)
                        .and_then(|k| TokenProgram::of_key(&k))
                        .unwrap_or_default(),
                };
                self.add_launch(l);
            }
            Prog::PumpSwap | Prog::Raydium => {
                let layout = match ix.prog {
                    Prog::PumpSwap => amm::pump_swap_pool(data),
                    _ => amm::raydium_pool(data),
                };
                if let Some(layout) = layout {
                    self.pool_launch(line, &ix, layout)?;
                }
            }
        }
        Ok(())
    }

    fn pool_launch(&mut self, line: &str, ix: &Ix, p: PoolLayout) -> Result<(), Malformed> {
        if ((ix.accs.1 - ix.accs.0) as usize) < p.min_accounts {
            return Ok(());
        }
        let (Some(a), Some(b)) = (
            self.account(line, ix, p.mint)?,
            self.account(line, ix, p.other_mint)?,
        ) else {
            return Ok(());
        };
        let mint_is_other = a == amm::WSOL;
        let mint = if mint_is_other { b } else { a };
        let creator = match self.account(line, ix, p.creator)? {
            Some(c) => c,
            None => self.fee_payer(line),
        };
        let key = |n| self.account(line, ix, n).ok().flatten();
        let pick = |(ours, other): (usize, usize)| if mint_is_other { other } else { ours };
        self.add_launch(Launch {
            mint,
            creator,
            user: creator,
            kind: p.kind,
            meta: LaunchMeta::default(),
            market: key(p.pool).unwrap_or_default(),
            market_token_account: key(pick(p.vaults)).unwrap_or_default(),
            token_program: key(pick(p.token_programs))
                .and_then(|k| TokenProgram::of_key(&k))
                .unwrap_or_default(),
        });
        Ok(())
    }

    /// Applies the rules to the finished transaction, appends one [`Decoded`] per launch to
    /// `out` and its trades to `last_trades`, and resets for the next transaction. Returns how
    /// many launches were appended.
    pub(crate) fn finish(
        &mut self,
        line: &str,
        scorer: &mut Scorer,
        out: &mut Vec<Decoded>,
    ) -> Result<usize, Malformed> {
        let r = if self.failed {
            Ok(0)
        } else {
            self.finish_inner(line, scorer, out)
        };
        if !self.failed {
            let trades = if self.trades_cpi.len() > self.trades_log.len() {
                &self.trades_cpi
            } else {
                &self.trades_log
            };
            self.last_trades.extend_from_slice(trades);
        }
        self.reset();
        r
    }

    fn finish_inner(
        &mut self,
        line: &str,
        scorer: &mut Scorer,
        out: &mut Vec<Decoded>,
    ) -> Result<usize, Malformed> {
        for i in 0..self.ixs.len() {
            let ix = self.ixs[i];
            self.launch_from_ix(line, ix)?;
        }
        if self.launches.is_empty() {
            return Ok(0);
        }
        if let Some((off, len)) = self.sig_text {
            let text = line
                .get(off as usize..off as usize + usize::from(len))
                .unwrap_or_default();
            self.signature = Signature::from_base58(text)?;
        }
        let trades = if self.trades_cpi.len() > self.trades_log.len() {
            &self.trades_cpi
        } else {
            &self.trades_log
        };
        for l in &self.launches {
            let (buy, tokens) = trades
                .iter()
                .filter(|t| {
                    t.is_buy && t.mint == l.mint && (t.user == l.creator || t.user == l.user)
                })
                .fold((0u64, 0u64), |(sol, tok), t| {
                    (
                        sol.saturating_add(t.sol_amount),
                        tok.saturating_add(t.token_amount),
                    )
                });
            let (score, priority) = scorer.score(l.kind, l.creator, buy);
            // pump.fun's `create` makes SPL Token mints and `create_v2` Token-2022 ones: the
            // kind says it when neither the event nor the instruction named the program.
            let token_program = match (l.token_program, l.kind) {
                (TokenProgram::Unknown, LaunchKind::PumpCreate) => TokenProgram::Token,
                (TokenProgram::Unknown, LaunchKind::PumpCreateV2) => TokenProgram::Token2022,
                (known, _) => known,
            };
            out.push(Decoded {
                candidate: PremintCandidate {
                    mint: l.mint,
                    creator: l.creator,
                    signature: self.signature,
                    market: l.market,
                    market_token_account: l.market_token_account,
                    slot: self.slot,
                    creator_buy_lamports: buy,
                    creator_buy_tokens: tokens,
                    score,
                    kind: l.kind,
                    priority,
                    token_program,
                    ..PremintCandidate::default()
                },
                signature: self.signature,
                meta: l.meta,
            });
        }
        Ok(self.launches.len())
    }
}

/// The text a [`KeyRef::Text`] points at.
fn text_at(line: &str, off: u32, len: u8) -> Option<&str> {
    let off = off as usize;
    line.get(off..off + usize::from(len))
}

/// Parses a base58 key, mapping errors to reasons.
pub(crate) fn parse_key(s: &str) -> Result<Pubkey, Malformed> {
    if s.len() > 44 {
        return Err(if is_base58(s) {
            Malformed::KeyLength
        } else {
            Malformed::InvalidBase58
        });
    }
    let mut out = [0u8; 32];
    match b58::decode_onto(s.as_bytes(), &mut out) {
        Ok(32) => Ok(Pubkey(out)),
        // Valid digits that decode to another size (or overflow 32 bytes) are a length problem.
        Ok(_) | Err(b58::Error::TooLong) => Err(Malformed::KeyLength),
        Err(b58::Error::Invalid) => Err(Malformed::InvalidBase58),
    }
}

/// True when every byte of `s` is a base58 digit.
pub(crate) fn is_base58(s: &str) -> bool {
    s.bytes().all(|b| {
        matches!(b, b'1'..=b'9' | b'A'..=b'H' | b'J'..=b'N' | b'P'..=b'Z' | b'a'..=b'k' | b'm'..=b'z')
    })
}

/// Where `s` starts inside `line`, when it was borrowed from it.
fn offset_in(line: &str, s: &str) -> Option<u32> {
    let base = line.as_ptr() as usize;
    let p = s.as_ptr() as usize;
    if p >= base && p + s.len() <= base + line.len() {
        u32::try_from(p - base).ok()
    } else {
        None
    }
}

/// A key given as base58 text: kept as a position in the line (checked for alphabet and
/// length only) when it was borrowed from it, decoded now otherwise.
pub(crate) fn key_ref_of(line: &str, s: &str) -> Result<KeyRef, Malformed> {
    // 32 bytes are 32 to 44 base58 digits.
    if !(32..=44).contains(&s.len()) {
        return Err(if is_base58(s) {
            Malformed::KeyLength
        } else {
            Malformed::InvalidBase58
        });
    }
    if !is_base58(s) {
        return Err(Malformed::InvalidBase58);
    }
    match offset_in(line, s) {
        Some(off) => Ok(KeyRef::Text {
            off,
            len: s.len() as u8,
        }),
        None => parse_key(s).map(KeyRef::Raw),
    }
}
