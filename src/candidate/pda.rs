//! Program-derived addresses: the accounts a buy needs that the input does not name (public as
//! `sniffer::decode::{find_program_address, associated_token_address}`).
//!
//! A `logsNotification` carries pump.fun's `CreateEvent` (mint, bonding curve, token program in
//! the newer layouts) but not the create instruction's accounts, so the bonding curve's token
//! account (the *associated bonding curve*, which every buy passes) is not in it. It is the
//! curve's associated token account: a program-derived address of the associated-token program,
//! found as Solana finds it (`find_program_address`): the first bump seed, from 255 down, whose
//! `sha256(seeds ‖ bump ‖ program ‖ "ProgramDerivedAddress")` is not a point on ed25519.
//! Hashing is `sha2`'s and the curve check is `curve25519-dalek`'s point decompression; neither
//! is written here. Checked against real create instructions in the tests below.
//!
//! The search costs ~4 us per bump tried (the decompression's square root), 8.7 us for the real
//! create of `tests/data` (`cargo bench --bench decode -- pda`): twice a whole logs line's decode.
//! So it is not done on the feed thread, ahead of every launch in the ring; the bot pays it in
//! [`PremintCandidate::associated_bonding_curve`](crate::PremintCandidate::associated_bonding_curve)
//! for the launches it acts on.

use curve25519_dalek::edwards::CompressedEdwardsY;
use sha2::{Digest, Sha256};

use super::{Pubkey, TokenProgram};

/// The associated-token program, `ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL`.
pub const ASSOCIATED_TOKEN_PROGRAM: Pubkey = Pubkey([
    140, 151, 37, 143, 78, 36, 137, 241, 187, 61, 16, 41, 20, 142, 13, 131, 11, 90, 19, 153, 218,
    255, 16, 132, 4, 142, 123, 216, 219, 233, 248, 89,
]);

/// pump.fun's program id, `6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P`: the record derives a
/// graduation's source curve under it (`decode/pump.rs` names it too).
pub(crate) const PUMP_PROGRAM: Pubkey = Pubkey([
    1, 86, 224, 246, 147, 102, 90, 207, 68, 219, 21, 104, 191, 23, 91, 170, 81, 137, 203, 151, 245,
    210, 255, 59, 101, 93, 43, 182, 253, 109, 24, 176,
]);

const PDA_MARKER: &[u8] = b"ProgramDerivedAddress";

/// Solana's `find_program_address`: the address and bump of `seeds` under `program`, or `None`
/// in the (astronomically unlikely) case that every bump gives a point on the curve. Costs one
/// SHA-256 and one point decompression per bump tried (two on average).
pub fn find_program_address(seeds: &[&[u8]], program: &Pubkey) -> Option<(Pubkey, u8)> {
    (0..=u8::MAX).rev().find_map(|bump| {
        let mut h = Sha256::new();
        for s in seeds {
            h.update(s);
        }
        h.update([bump]);
        h.update(program.0);
        h.update(PDA_MARKER);
        let key: [u8; 32] = h.finalize().into();
        // A program address must have no private key: not a valid ed25519 point.
        CompressedEdwardsY(key)
            .decompress()
            .is_none()
            .then_some((Pubkey(key), bump))
    })
}

/// The associated token account of `owner` for `mint` under `token_program` (`None` when the
/// token program is unknown: the address depends on it).
pub fn associated_token_address(
    owner: &Pubkey,
    mint: &Pubkey,
    token_program: TokenProgram,
) -> Option<Pubkey> {
    let program = token_program.id()?;
    find_program_address(&[&owner.0, &program.0, &mint.0], &ASSOCIATED_TOKEN_PROGRAM)
        .map(|(key, _)| key)
}

/// pump.fun's bonding curve of `mint`: `["bonding-curve", mint]` under the program.
pub(crate) fn pump_bonding_curve(mint: &Pubkey) -> Option<Pubkey> {
    find_program_address(&[b"bonding-curve", &mint.0], &PUMP_PROGRAM).map(|(key, _)| key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn key(s: &str) -> Pubkey {
        Pubkey::from_str(s).unwrap()
    }

    #[test]
    fn the_associated_token_program_constant_is_its_address() {
        assert_eq!(
            ASSOCIATED_TOKEN_PROGRAM,
            key("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
        );
    }

    /// The real create of tests/data (slot 284682639): accounts 0 (mint), 2 (bonding curve) and
    /// 3 (associated bonding curve) of the instruction, SPL Token.
    #[test]
    fn derives_the_associated_bonding_curve_of_a_real_create() {
        let mint = key("ER2N5eaDoC68kNhj7LyaScimzq7deaqxiw88rewvxaKp");
        let curve = key("FFzxakVNzpirwMFtLyD22UZ6UM3KLF2EAGC2RxNPaYoH");
        assert_eq!(
            associated_token_address(&curve, &mint, TokenProgram::Token),
            Some(key("6eTEMemDi58KJE1rPEagqMsgn34xUWTkzdZTKM8EVbYF"))
        );
        // The program is part of the address: Token-2022 gives another one, unknown gives none.
        assert_ne!(
            associated_token_address(&curve, &mint, TokenProgram::Token2022),
            Some(key("6eTEMemDi58KJE1rPEagqMsgn34xUWTkzdZTKM8EVbYF"))
        );
        assert_eq!(
            associated_token_address(&curve, &mint, TokenProgram::Unknown),
            None
        );
    }

    /// pump.fun's bonding curve is itself a PDA (`["bonding-curve", mint]` under the program):
    /// the same search finds the real one, which checks the bump order and the curve test on a
    /// second, independent address.
    #[test]
    fn derives_the_real_bonding_curve_of_a_mint() {
        let mint = key("ER2N5eaDoC68kNhj7LyaScimzq7deaqxiw88rewvxaKp");
        let (curve, _bump) =
            find_program_address(&[b"bonding-curve", &mint.0], &PUMP_PROGRAM).unwrap();
        assert_eq!(curve, key("FFzxakVNzpirwMFtLyD22UZ6UM3KLF2EAGC2RxNPaYoH"));
        assert_eq!(pump_bonding_curve(&mint), Some(curve));
        assert_eq!(
            PUMP_PROGRAM,
            key("6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P")
        );
    }
}
