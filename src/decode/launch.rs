//! What a program family's decoder hands to the detection rules: one [`Launch`] read from an
//! instruction or an event, the [`Accounts`] view it reads an instruction's accounts through, a
//! [`Buy`] of a curve, and the pool layouts the AMM families share ([`PoolLayout`]).
//!
//! Each family file (`pump.rs`, `launchlab.rs`, `meteora_dbc.rs`, ...) knows its own layouts and
//! nothing of the input format: the detection rules (`detect.rs`) give it the instruction data
//! and an [`Accounts`] view that resolves indices, text keys and address-table keys lazily.

use crate::candidate::{LaunchKind, LaunchMeta, Launchpad, Malformed, Pubkey, TokenProgram};

/// Wrapped SOL, `So11111111111111111111111111111111111111112`.
pub(crate) const WSOL: Pubkey = Pubkey::b58("So11111111111111111111111111111111111111112");
/// USDC, `EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v`.
pub(crate) const USDC: Pubkey = Pubkey::b58("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v");
/// USD1, `USD1ttGY1N17NEEHLmELoaybftRBUSErhqYiQzvEmuB` (LetsBonk's second quote).
pub(crate) const USD1: Pubkey = Pubkey::b58("USD1ttGY1N17NEEHLmELoaybftRBUSErhqYiQzvEmuB");

/// True for the mints a launch pairs its new token with: a pool is reported under its other side.
pub(crate) fn is_quote_mint(k: &Pubkey) -> bool {
    *k == WSOL || *k == USDC || *k == USD1
}

/// The accounts of one instruction, resolved on demand.
pub(crate) trait Accounts {
    /// How many accounts the instruction passes.
    fn len(&self) -> usize;

    /// The `n`th account: `Ok(None)` when the instruction has fewer, or when it sits in an address
    /// table the input did not resolve.
    ///
    /// # Errors
    ///
    /// [`Malformed::AccountIndex`] when the index points past every key the input gave, and
    /// the base58 errors of a text key.
    fn get(&self, n: usize) -> Result<Option<Pubkey>, Malformed>;

    /// The `n`th account, or the zero key when it is unknown for any reason: for the accounts a
    /// launch does not hinge on.
    fn key(&self, n: usize) -> Pubkey {
        self.get(n).ok().flatten().unwrap_or_default()
    }

    /// The token program at `n`, when it is one.
    fn token_program(&self, n: usize) -> TokenProgram {
        TokenProgram::of_key(&self.key(n)).unwrap_or_default()
    }
}

/// One launch as a family decoder read it. Zero keys are unknown; merging two sightings of one
/// launch keeps the first non-zero value of each field (`detect.rs`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Launch {
    pub(crate) kind: LaunchKind,
    pub(crate) launchpad: Launchpad,
    pub(crate) mint: Pubkey,
    pub(crate) creator: Pubkey,
    /// The signer that launched it, when it is not the creator (pump.fun's `user`): its buys in
    /// the same transaction count as the creator's.
    pub(crate) user: Pubkey,
    pub(crate) meta: LaunchMeta,
    pub(crate) market: Pubkey,
    pub(crate) market_token_account: Pubkey,
    pub(crate) market_quote_account: Pubkey,
    pub(crate) quote_mint: Pubkey,
    pub(crate) config: Pubkey,
    pub(crate) origin: Pubkey,
    pub(crate) token_program: TokenProgram,
    pub(crate) quote_token_program: TokenProgram,
    /// A graduation whose pool is made by CPI, not yet seen made: pump.fun's `migrate` of a curve
    /// that already migrated succeeds and creates nothing, so it counts only with its pool.
    pub(crate) needs_pool: bool,
}

impl Launch {
    /// A launch of `kind` with nothing known yet.
    pub(crate) fn new(kind: LaunchKind, launchpad: Launchpad) -> Launch {
        Launch {
            kind,
            launchpad,
            ..Launch::default()
        }
    }

    /// How specific a kind is when two sightings of one mint disagree: `create_v2` over
    /// `create`, a graduation over the pool its migration made.
    pub(crate) fn rank(kind: LaunchKind) -> u8 {
        match kind {
            LaunchKind::PumpCreateV2 => 1,
            k if k.is_graduation() => 2,
            _ => 0,
        }
    }

    /// Folds `other` (a second sighting of the same launch) into `self`.
    pub(crate) fn merge(&mut self, other: &Launch) {
        // A graduation and a sighting of its pool: the pool was made.
        let pool = |k: LaunchKind| !k.is_curve() && !k.is_graduation();
        if pool(other.kind) || pool(self.kind) {
            self.needs_pool = false;
        }
        if Launch::rank(other.kind) > Launch::rank(self.kind) {
            self.kind = other.kind;
            self.launchpad = other.launchpad;
        }
        if self.launchpad == Launchpad::Unknown {
            self.launchpad = other.launchpad;
        }
        if self.meta.is_empty() {
            self.meta = other.meta;
        }
        let keys = [
            (&mut self.mint, other.mint),
            (&mut self.creator, other.creator),
            (&mut self.user, other.user),
            (&mut self.market, other.market),
            (&mut self.market_token_account, other.market_token_account),
            (&mut self.market_quote_account, other.market_quote_account),
            (&mut self.quote_mint, other.quote_mint),
            (&mut self.config, other.config),
            (&mut self.origin, other.origin),
        ];
        for (mine, theirs) in keys {
            if *mine == Pubkey::ZERO {
                *mine = theirs;
            }
        }
        if self.token_program == TokenProgram::Unknown {
            self.token_program = other.token_program;
        }
        if self.quote_token_program == TokenProgram::Unknown {
            self.quote_token_program = other.quote_token_program;
        }
    }
}

/// A buy of a curve or pool seen in the transaction, for the creator's initial buy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Buy {
    /// The curve or pool bought from.
    pub(crate) market: Pubkey,
    /// Quote base units paid.
    pub(crate) quote_in: u64,
    /// Token base units received.
    pub(crate) tokens_out: u64,
}

/// Where a pool-creating instruction keeps its accounts (0-based positions in the instruction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolLayout {
    pub(crate) kind: LaunchKind,
    /// The two mints; the pool is reported under the one that is not a quote mint.
    pub(crate) mints: (usize, usize),
    /// The creator; the fee payer stands in when `None`.
    pub(crate) creator: Option<usize>,
    pub(crate) pool: usize,
    /// The pool's vaults of the two mints, in the order of `mints`.
    pub(crate) vaults: (usize, usize),
    /// The token programs of the two mints, in the order of `mints`.
    pub(crate) token_programs: (usize, usize),
    /// The config account a swap passes, if the program has one in this instruction.
    pub(crate) config: Option<usize>,
    /// Fewer accounts than this and the program would have rejected the instruction.
    pub(crate) min_accounts: usize,
}

impl PoolLayout {
    /// The launch this pool-creating instruction makes; `Ok(None)` when it passes too few
    /// accounts or its mints sit in an address table the input did not resolve.
    pub(crate) fn launch(
        &self,
        acc: &dyn Accounts,
        fee_payer: Pubkey,
    ) -> Result<Option<Launch>, Malformed> {
        if acc.len() < self.min_accounts {
            return Ok(None);
        }
        let (Some(a), Some(b)) = (acc.get(self.mints.0)?, acc.get(self.mints.1)?) else {
            return Ok(None);
        };
        // Either side may be the base; a launch pairs its new token with a quote mint.
        let swap = is_quote_mint(&a) && !is_quote_mint(&b);
        let pick = |(ours, other): (usize, usize)| if swap { (other, ours) } else { (ours, other) };
        let (mint, quote) = if swap { (b, a) } else { (a, b) };
        let vaults = pick(self.vaults);
        let programs = pick(self.token_programs);
        let creator = match self.creator {
            Some(n) => acc.get(n)?.unwrap_or(fee_payer),
            None => fee_payer,
        };
        let mut l = Launch::new(self.kind, Launchpad::Unknown);
        l.mint = mint;
        l.creator = creator;
        l.user = creator;
        l.quote_mint = quote;
        l.market = acc.key(self.pool);
        l.market_token_account = acc.key(vaults.0);
        l.market_quote_account = acc.key(vaults.1);
        l.token_program = acc.token_program(programs.0);
        l.quote_token_program = acc.token_program(programs.1);
        l.config = self.config.map(|n| acc.key(n)).unwrap_or_default();
        Ok(Some(l))
    }
}

/// An 8-byte Anchor discriminator written as the hex the IDLs and explorers show
/// (`sha256("global:<name>")[..8]` for instructions, `sha256("event:<Name>")[..8]` for events).
pub(crate) const fn hex8(s: &str) -> [u8; 8] {
    let s = s.as_bytes();
    assert!(s.len() == 16, "16 hex digits");
    let mut out = [0u8; 8];
    let mut i = 0;
    while i < 16 {
        let d = match s[i] {
            b'0'..=b'9' => s[i] - b'0',
            b'a'..=b'f' => s[i] - b'a' + 10,
            _ => panic!("lower-case hex digit"),
        };
        out[i / 2] = out[i / 2] << 4 | d;
        i += 1;
    }
    out
}

/// Splits an instruction or event payload into its 8-byte Anchor discriminator and the rest.
pub(crate) fn disc(data: &[u8]) -> Option<([u8; 8], &[u8])> {
    data.split_first_chunk::<8>().map(|(d, rest)| (*d, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_graduation_absorbs_its_pool_and_stands() {
        let grad = Launch {
            needs_pool: true,
            ..Launch::new(LaunchKind::PumpSwapGraduation, Launchpad::PumpFun)
        };
        let pool = Launch::new(LaunchKind::PumpSwapPool, Launchpad::Unknown);
        for (mut a, b) in [(grad, pool), (pool, grad)] {
            a.merge(&b);
            assert_eq!(a.kind, LaunchKind::PumpSwapGraduation);
            assert_eq!(a.launchpad, Launchpad::PumpFun);
            assert!(!a.needs_pool);
        }
        // A create_v2 sighting upgrades a create; a curve never clears a graduation's need.
        let mut g = grad;
        g.merge(&Launch::new(LaunchKind::PumpCreate, Launchpad::PumpFun));
        assert!(g.needs_pool);
    }

    #[test]
    fn quote_mint_constants_match_their_base58() {
        assert_eq!(
            WSOL.to_string(),
            "So11111111111111111111111111111111111111112"
        );
        assert_eq!(
            USDC.to_string(),
            "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
        );
        assert_eq!(
            USD1.to_string(),
            "USD1ttGY1N17NEEHLmELoaybftRBUSErhqYiQzvEmuB"
        );
    }
}
