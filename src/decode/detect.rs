//! Detection rules: turn one transaction's instructions, inner instructions and logs into
//! launches, and launches into scored [`Decoded`] records.
//!
//! Evidence of a launch, any of which is enough:
//! - a launch instruction of one of the [`Program`]s (top-level or inner: a launch made through
//!   a router or a platform's own program counts), decoded by its family file;
//! - a pump.fun `CreateEvent`, from a `Program data:` log line *emitted while the pump.fun program
//!   is the innermost running program* (tracked with the `invoke [n]` / `success` log lines, so an
//!   event replayed by another program is ignored), or from a self-CPI event instruction;
//! - when the input has only logs (a `logsNotification`): a launchpad's `Program log:
//!   Instruction: <name>` line in that program's frame, with what its events add (`logs.rs`).
//!
//! Rules: a failed transaction (`err` not null) yields nothing; buys, sells, swaps, claims and
//! every other instruction yield nothing; the same mint seen through several kinds of evidence
//! is one launch (a graduation absorbs the pool its migration created); the creator's own buys of
//! the new curve in the same transaction set `creator_buy_lamports` (pump.fun: `TradeEvent`s of
//! the mint by its creator or launching signer; LaunchLab: `TradeEvent` buys of the new pool,
//! which only the launch transaction's signers can make). Events arrive twice when both logs and
//! inner instructions are present, so trades are counted per source and the source with more
//! wins.
//!
//! [`Tx`] is the per-transaction scratch state. Its buffers are cleared, never freed, between
//! transactions, so a warmed decoder does not allocate.

use super::b58;
use super::launch::{Accounts, Buy, Launch, WSOL};
use super::programs::{Event, Program};
use super::pump;
use super::record::Decoded;
use super::score::Scorer;
use crate::candidate::Malformed;
use crate::candidate::TradeEvent;
use crate::candidate::{pda, Launchpad, Signature};
use crate::candidate::{LaunchKind, PremintCandidate, Pubkey, TokenProgram};

pub(crate) use super::logs::Frames;

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

/// The program of an instruction, as far as it is known when the instruction is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProgRef {
    /// A launch program.
    Known(Program),
    /// An index past the static keys: an inner instruction of a program loaded from an address
    /// table whose keys (`meta.loadedAddresses`) the input gives later. Resolved at the end.
    Loaded(u16),
}

/// Where an event came from, for de-duplication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Src {
    Log,
    Cpi,
}

#[derive(Clone, Copy, Debug)]
struct Ix {
    prog: ProgRef,
    accs: (u32, u32),
    data: (u32, u32),
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
    /// The input is the transaction alone, as the leader put it in its block (a ShredStream
    /// entry): no logs, no meta, no execution result, and no address-table keys. Its launches
    /// are marked not executed, and a launch whose identity sits in an address table is not
    /// guessed: the transaction is counted `unresolved_lookup` instead.
    pub(crate) unexecuted: bool,
    /// An unexecuted transaction held a launch that cannot be identified without its tables.
    unresolved: bool,
    /// [`Tx::unresolved`] of the last finished transaction.
    pub(crate) last_unresolved: bool,
    ixs: Vec<Ix>,
    accs: Vec<KeyRef>,
    data: Vec<u8>,
    launches: Vec<Launch>,
    trades_log: Vec<TradeEvent>,
    trades_cpi: Vec<TradeEvent>,
    buys_log: Vec<Buy>,
    buys_cpi: Vec<Buy>,
    /// An unexecuted transaction's pump.fun buys, as their instructions ask (no trade event
    /// says what they got): the creator's initial buy.
    asked_buys: Vec<TradeEvent>,
    /// Launches announced by log lines, used when the input has no message (`logs.rs`).
    pub(crate) announced: Vec<(Program, Launch)>,
    /// Trades of the last finished transaction, for [`super::Decoder::last_trades`].
    pub(crate) last_trades: Vec<TradeEvent>,
    pub(crate) frames: Frames,
    /// Scratch for one base64 / base58 payload.
    pub(crate) tmp: Vec<u8>,
    /// Scratch for a base64 wire transaction.
    pub(crate) wire: Vec<u8>,
}

/// The accounts of one instruction, resolved through the transaction's keys on demand.
struct IxAccounts<'t> {
    tx: &'t Tx,
    line: &'t str,
    accs: &'t [KeyRef],
}

impl Accounts for IxAccounts<'_> {
    fn len(&self) -> usize {
        self.accs.len()
    }

    fn get(&self, n: usize) -> Result<Option<Pubkey>, Malformed> {
        match self.accs.get(n) {
            Some(r) => self.tx.resolve(self.line, *r),
            None => Ok(None),
        }
    }
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
        self.unexecuted = false;
        self.unresolved = false;
        self.ixs.clear();
        self.accs.clear();
        self.data.clear();
        self.launches.clear();
        self.trades_log.clear();
        self.trades_cpi.clear();
        self.buys_log.clear();
        self.buys_cpi.clear();
        self.asked_buys.clear();
        self.announced.clear();
        self.frames.reset();
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

    /// Classifies an instruction's program index: a launch program among the static keys, an
    /// address-table key resolved now (when the loaded addresses are known) or at the end, or
    /// `None` for any other program.
    pub(crate) fn classify(&self, line: &str, idx: usize) -> Result<Option<ProgRef>, Malformed> {
        match self.keys.get(idx) {
            Some(KeyRef::Raw(k)) => Ok(Program::of_key(k).map(ProgRef::Known)),
            Some(KeyRef::Text { off, len }) => Ok(text_at(line, *off, *len)
                .and_then(Program::of_text)
                .map(ProgRef::Known)),
            Some(KeyRef::Idx(_)) => Err(Malformed::AccountIndex),
            None => {
                let i = u16::try_from(idx).map_err(|_| Malformed::AccountIndex)?;
                if !self.loaded_known {
                    return Ok(Some(ProgRef::Loaded(i)));
                }
                let key = self.resolve(line, KeyRef::Idx(i))?;
                Ok(key.and_then(|k| Program::of_key(&k)).map(ProgRef::Known))
            }
        }
    }

    /// Ends the instruction begun at `start`: keeps it when it may be a launch (or its program
    /// is not known yet), decodes it at once when it is a self-CPI event, drops its accounts
    /// otherwise.
    pub(crate) fn end_ix(
        &mut self,
        start: u32,
        prog: Option<ProgRef>,
        data: &[u8],
    ) -> Result<(), Malformed> {
        if self.unexecuted && prog == Some(ProgRef::Known(Program::Pump)) {
            self.ask_buy(start, data);
        }
        let keep = match prog {
            Some(ProgRef::Known(p)) if data.starts_with(&pump::EVENT_IX_TAG) => {
                self.truncate_accs(start);
                return self.on_event(p, &data[8..], Src::Cpi, false);
            }
            Some(ProgRef::Known(p)) => p.keeps(data),
            Some(ProgRef::Loaded(_)) => true,
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

    /// Notes a pump.fun buy instruction of an unexecuted transaction (accounts from `start`).
    fn ask_buy(&mut self, start: u32, data: &[u8]) {
        let Some((sol, tokens)) = pump::asked_buy(data) else {
            return;
        };
        let at = |n: usize| {
            let r = self.accs.get(start as usize + n).copied();
            r.and_then(|r| self.resolve("", r).ok().flatten())
        };
        if let (Some(mint), Some(user)) = (at(pump::BUY_MINT_ACCOUNT), at(pump::BUY_USER_ACCOUNT)) {
            self.asked_buys.push(TradeEvent {
                mint,
                sol_amount: sol,
                token_amount: tokens,
                is_buy: true,
                user,
                ..TradeEvent::default()
            });
        }
    }

    fn truncate_accs(&mut self, start: u32) {
        self.accs.truncate(start as usize);
    }

    /// Takes in one event of `prog` (without its self-CPI tag).
    pub(crate) fn on_event(
        &mut self,
        prog: Program,
        bytes: &[u8],
        src: Src,
        create_v2: bool,
    ) -> Result<(), Malformed> {
        match prog.event(bytes, create_v2)? {
            Some(Event::Launch(l)) => self.add_launch(l),
            // Only a logs-only input needs what an event adds to an announced launch: with the
            // message, the instruction names all of it.
            Some(Event::Detail(l)) if src == Src::Log => self.add_detail(prog, &l),
            Some(Event::Detail(_)) | None => {}
            Some(Event::PumpTrade(t)) => match src {
                Src::Log => self.trades_log.push(t),
                Src::Cpi => self.trades_cpi.push(t),
            },
            Some(Event::Buy(b)) => match src {
                Src::Log => self.buys_log.push(b),
                Src::Cpi => self.buys_cpi.push(b),
            },
        }
        Ok(())
    }

    /// Folds an event's detail into the last launch `prog`'s logs announced (or announces one).
    fn add_detail(&mut self, prog: Program, l: &Launch) {
        match self.announced.iter_mut().rev().find(|(p, _)| *p == prog) {
            Some((_, a)) => a.merge(l),
            None => self.announced.push((prog, *l)),
        }
    }

    /// Adds a launch, merging it with an earlier sighting of the same mint (a launch whose mint
    /// is unknown merges with nothing).
    fn add_launch(&mut self, l: Launch) {
        let old = (l.mint != Pubkey::ZERO)
            .then(|| self.launches.iter_mut().find(|o| o.mint == l.mint))
            .flatten();
        match old {
            Some(old) => old.merge(&l),
            None => self.launches.push(l),
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

    /// The fee payer, the fallback creator of pool launches.
    fn fee_payer(&self, line: &str) -> Pubkey {
        self.keys
            .first()
            .and_then(|k| self.resolve(line, *k).ok().flatten())
            .unwrap_or_default()
    }

    /// Decodes one kept instruction: a launch, or (for an instruction whose program came from an
    /// address table) possibly a self-CPI event.
    fn launch_from_ix(&mut self, line: &str, ix: Ix) -> Result<(), Malformed> {
        let prog = match ix.prog {
            ProgRef::Known(p) => p,
            ProgRef::Loaded(i) => match self.resolve(line, KeyRef::Idx(i))? {
                Some(k) => match Program::of_key(&k) {
                    Some(p) => p,
                    None => return Ok(()),
                },
                None => return Ok(()),
            },
        };
        let (d0, d1) = (ix.data.0 as usize, ix.data.1 as usize);
        if let ProgRef::Loaded(_) = ix.prog {
            // Kept before its program was known: it may be an event, or no launch at all.
            let data = std::mem::take(&mut self.data);
            let bytes = data.get(d0..d1).unwrap_or_default();
            let launch = match bytes.strip_prefix(&pump::EVENT_IX_TAG) {
                Some(event) => self.on_event(prog, event, Src::Cpi, false).map(|()| false),
                None => Ok(prog.keeps(bytes)),
            };
            self.data = data;
            if !launch? {
                return Ok(());
            }
        }
        let data = self.data.get(d0..d1).unwrap_or_default();
        let accs = self
            .accs
            .get(ix.accs.0 as usize..ix.accs.1 as usize)
            .unwrap_or_default();
        let acc = IxAccounts {
            tx: self,
            line,
            accs,
        };
        let launch = prog.launch(data, &acc, self.fee_payer(line))?;
        match launch {
            Some(l) => self.add_launch(l),
            // A launch instruction whose mint or pool sits in an address table we were not
            // given (an unexecuted transaction has none): counted, never guessed.
            None if self.unexecuted => self.unresolved |= self.in_table(accs),
            None => {}
        }
        Ok(())
    }

    /// True when one of `accs` is an address-table key (past the static keys).
    fn in_table(&self, accs: &[KeyRef]) -> bool {
        let n = self.keys.len();
        accs.iter()
            .any(|a| matches!(a, KeyRef::Idx(i) if usize::from(*i) >= n))
    }

    /// An unexecuted transaction's launches: what a program address gives is filled in (the
    /// pump.fun curve from the mint), and a launch still missing what identifies it (mint,
    /// market, creator) is dropped and counted, since the rest sits in a table.
    fn keep_identified(&mut self) {
        for l in &mut self.launches {
            let pump = matches!(l.kind, LaunchKind::PumpCreate | LaunchKind::PumpCreateV2);
            if pump && l.market == Pubkey::ZERO && l.mint != Pubkey::ZERO {
                l.market = pda::pump_bonding_curve(&l.mint).unwrap_or_default();
            }
        }
        let before = self.launches.len();
        self.launches.retain(|l| {
            l.mint != Pubkey::ZERO
                && l.market != Pubkey::ZERO
                && (l.creator != Pubkey::ZERO || l.kind.is_graduation())
        });
        self.unresolved |= self.launches.len() != before;
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
        self.last_unresolved = self.unresolved;
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
        // Without a message (a logs notification) the log lines are all there is.
        if self.keys.is_empty() {
            for i in 0..self.announced.len() {
                let (_, l) = self.announced[i];
                self.add_launch(l);
            }
        }
        if self.unexecuted {
            self.keep_identified();
        } else {
            // A migration that made no pool (pump.fun's `migrate` of a migrated curve) is no
            // launch. Without the execution (an unexecuted transaction) the inner `create_pool`
            // is not there to show it: the graduation is reported, marked not executed.
            self.launches.retain(|l| !l.needs_pool);
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
        for l in &self.launches {
            out.push(self.record(l, scorer));
        }
        Ok(self.launches.len())
    }

    /// What the launch's creator paid for its own buy in this transaction, and the tokens it got.
    fn creator_buy(&self, l: &Launch) -> (u64, u64) {
        let sum = |acc: (u64, u64), (quote, tokens): (u64, u64)| {
            (acc.0.saturating_add(quote), acc.1.saturating_add(tokens))
        };
        if matches!(l.kind, LaunchKind::PumpCreate | LaunchKind::PumpCreateV2) {
            let trades = if self.unexecuted {
                &self.asked_buys
            } else if self.trades_cpi.len() > self.trades_log.len() {
                &self.trades_cpi
            } else {
                &self.trades_log
            };
            return trades
                .iter()
                .filter(|t| {
                    t.is_buy && t.mint == l.mint && (t.user == l.creator || t.user == l.user)
                })
                .map(|t| (t.sol_amount, t.token_amount))
                .fold((0, 0), sum);
        }
        if !l.kind.is_curve() || l.market == Pubkey::ZERO {
            return (0, 0);
        }
        let buys = if self.buys_cpi.len() > self.buys_log.len() {
            &self.buys_cpi
        } else {
            &self.buys_log
        };
        buys.iter()
            .filter(|b| b.market == l.market)
            .map(|b| (b.quote_in, b.tokens_out))
            .fold((0, 0), sum)
    }

    /// The scored record of one launch.
    fn record(&self, l: &Launch, scorer: &mut Scorer) -> Decoded {
        let (buy, tokens) = self.creator_buy(l);
        let l = normalized(*l);
        let (score, priority) = scorer.score(l.kind, l.creator, buy);
        Decoded {
            candidate: PremintCandidate {
                mint: l.mint,
                creator: l.creator,
                signature: self.signature,
                market: l.market,
                market_token_account: l.market_token_account,
                market_quote_account: l.market_quote_account,
                quote_mint: l.quote_mint,
                config: l.config,
                origin: l.origin,
                slot: self.slot,
                creator_buy_lamports: buy,
                creator_buy_tokens: tokens,
                score,
                kind: l.kind,
                priority,
                token_program: l.token_program,
                quote_token_program: l.quote_token_program,
                launchpad: l.launchpad,
                executed: !self.unexecuted,
                ..PremintCandidate::default()
            },
            signature: self.signature,
            meta: l.meta,
        }
    }
}

/// Fills what a launch's kind implies and its input did not say.
fn normalized(mut l: Launch) -> Launch {
    match l.kind {
        // pump.fun's `create` makes SPL Token mints and `create_v2` Token-2022 ones; its curves
        // trade native SOL, shown as wrapped SOL.
        LaunchKind::PumpCreate | LaunchKind::PumpCreateV2 => {
            if l.token_program == TokenProgram::Unknown {
                l.token_program = if l.kind == LaunchKind::PumpCreate {
                    TokenProgram::Token
                } else {
                    TokenProgram::Token2022
                };
            }
            if l.quote_mint == Pubkey::ZERO {
                l.quote_mint = WSOL;
            }
            l.launchpad = Launchpad::PumpFun;
        }
        // A migration is signed by whoever migrates, and the pool it creates names the
        // migrating program's authority as its creator: neither is the coin's creator. Only
        // PumpSwap's `create_pool` names the coin's creator (`coin_creator`).
        LaunchKind::RaydiumCpmmGraduation
        | LaunchKind::RaydiumAmmGraduation
        | LaunchKind::MeteoraDammV2Graduation => l.creator = Pubkey::ZERO,
        _ => {}
    }
    if l.quote_mint == WSOL && l.quote_token_program == TokenProgram::Unknown {
        l.quote_token_program = TokenProgram::Token;
    }
    l
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
    match b58::decode_key(s.as_bytes()) {
        Ok(k) => Ok(Pubkey(k)),
        // Valid digits that decode to another size (or overflow 32 bytes) are a length problem.
        Err(b58::Error::TooLong) => Err(Malformed::KeyLength),
        Err(b58::Error::Invalid) => Err(Malformed::InvalidBase58),
    }
}

/// True when every byte of `s` is a base58 digit.
pub(crate) fn is_base58(s: &str) -> bool {
    b58::is_text(s.as_bytes())
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
