//! Every launchpad the decoders know, on real transactions in every input form they can be
//! given in (`tests/samples/launchpads.rs` builds the forms; `tests/data/SOURCES.md` names each
//! transaction's origin).
//!
//! A launch decodes, in every form that carries its message, to the exact record checked by hand
//! against the program's IDL (the account positions are named in each family file under
//! `src/decode/`); from its logs alone to what its logs say; a failed copy to nothing. A
//! non-launch of the same program (buys, sells, swaps) decodes to nothing in every form.

mod samples;

use samples::launchpads::{load, Sample};
use serde_json::json;
use sniffer::decode::Decoded;
use sniffer::{LaunchKind, Launchpad, Pubkey, TokenProgram};

const ZERO: &str = "11111111111111111111111111111111";
const WSOL: &str = "So11111111111111111111111111111111111111112";

/// The record a launch must decode to.
#[derive(Debug, Clone, Copy)]
struct Want {
    kind: LaunchKind,
    launchpad: Launchpad,
    mint: &'static str,
    creator: &'static str,
    market: &'static str,
    market_token_account: &'static str,
    market_quote_account: &'static str,
    quote_mint: &'static str,
    config: &'static str,
    origin: &'static str,
    token_program: TokenProgram,
    quote_token_program: TokenProgram,
    buy: (u64, u64),
    meta: (&'static str, &'static str, &'static str),
}

fn key(s: &str) -> Pubkey {
    s.parse().unwrap()
}

fn assert_record(s: &Sample, form: &str, d: &Decoded, w: &Want) {
    let c = &d.candidate;
    let at = format!("{} [{form}]", s.name);
    assert_eq!(c.kind, w.kind, "{at} kind");
    assert_eq!(c.launchpad, w.launchpad, "{at} launchpad");
    assert_eq!(c.mint, key(w.mint), "{at} mint");
    assert_eq!(c.creator, key(w.creator), "{at} creator");
    assert_eq!(c.market, key(w.market), "{at} market");
    assert_eq!(
        c.market_token_account,
        key(w.market_token_account),
        "{at} market token account"
    );
    assert_eq!(
        c.market_quote_account,
        key(w.market_quote_account),
        "{at} market quote account"
    );
    assert_eq!(c.quote_mint, key(w.quote_mint), "{at} quote mint");
    assert_eq!(c.config, key(w.config), "{at} config");
    assert_eq!(c.origin, key(w.origin), "{at} origin");
    assert_eq!(c.token_program, w.token_program, "{at} token program");
    assert_eq!(
        c.quote_token_program, w.quote_token_program,
        "{at} quote token program"
    );
    assert_eq!(
        (c.creator_buy_lamports, c.creator_buy_tokens),
        w.buy,
        "{at} creator buy"
    );
    assert_eq!(
        (d.meta.name(), d.meta.symbol(), d.meta.uri()),
        w.meta,
        "{at} name/symbol/uri"
    );
    assert_eq!(c.signature.to_string(), s.signature(), "{at} signature");
    assert_eq!(d.signature, c.signature, "{at}");
    assert_eq!(c.slot, s.slot(), "{at} slot");
}

/// What the logs form of a launch decodes to.
#[derive(Clone, Copy)]
enum Logs<'a> {
    /// The sample has no logs (no logs form).
    Absent,
    /// The logs announce the launch, with what they carry.
    Launch(&'a Want),
    /// The program logs nothing that names a launch: the logs form decodes to nothing.
    Silent,
}

/// Decodes every form: each message form gives `want`; the logs form gives `logs` (`None`: the
/// sample has no logs). Returns the form names, which the caller pins.
fn check_launch(s: &Sample, want: &Want, logs: Option<&Want>) -> Vec<&'static str> {
    check_launch_logs(s, want, logs.map_or(Logs::Absent, Logs::Launch))
}

fn check_launch_logs(s: &Sample, want: &Want, logs: Logs<'_>) -> Vec<&'static str> {
    let mut names = Vec::new();
    for f in s.forms() {
        names.push(f.name);
        let got = s
            .decode(&f)
            .unwrap_or_else(|e| panic!("{} [{}]: {e}", s.name, f.name));
        let w = match (f.name, logs) {
            ("logs", Logs::Launch(w)) => w,
            ("logs", Logs::Silent) => {
                assert!(got.is_empty(), "{} [logs]: {got:?}", s.name);
                continue;
            }
            ("logs", Logs::Absent) => panic!("{}: a logs form without expectations", s.name),
            _ => want,
        };
        assert_eq!(got.len(), 1, "{} [{}]: {got:?}", s.name, f.name);
        assert_record(s, f.name, &got[0], w);
    }
    assert_eq!(
        !matches!(logs, Logs::Absent),
        names.contains(&"logs"),
        "{}",
        s.name
    );
    // The same transaction, failed: no launch in any form.
    let mut failed = s.clone();
    failed.result["meta"]["err"] = json!({"InstructionError": [2, {"Custom": 6001}]});
    for f in failed.forms() {
        let got = failed.decode(&f).unwrap();
        assert!(got.is_empty(), "failed {} [{}]: {got:?}", s.name, f.name);
    }
    names
}

/// Every form of a non-launch decodes to nothing; returns the form names.
fn check_no_launch(name: &str) -> Vec<&'static str> {
    let s = load(name);
    s.forms()
        .into_iter()
        .map(|f| {
            let got = s
                .decode(&f)
                .unwrap_or_else(|e| panic!("{name} [{}]: {e}", f.name));
            assert!(got.is_empty(), "{name} [{}]: {got:?}", f.name);
            f.name
        })
        .collect()
}

const EVERY_FORM: &[&str] = &[
    "logs",
    "json",
    "jsonParsed",
    "transactionNotification json",
    "transactionNotification jsonParsed",
    "json, meta last",
    "base64",
    "blockSubscribe",
    "blockSubscribe, meta last",
    "grpc",
];
/// The forms of a transaction whose signed message cannot be rebuilt (no wire forms).
const NO_WIRE: &[&str] = &[
    "logs",
    "json",
    "jsonParsed",
    "transactionNotification json",
    "transactionNotification jsonParsed",
    "json, meta last",
    "grpc",
];
/// The forms of a transaction known without its logs and signed message.
const MESSAGE_ONLY: &[&str] = &[
    "json",
    "jsonParsed",
    "transactionNotification json",
    "transactionNotification jsonParsed",
    "json, meta last",
    "grpc",
];

// ---- Raydium LaunchLab ----------------------------------------------------------------------

/// `initialize_with_token_2022`, legacy, StonkFun platform, xStock quote, creator's buy in the
/// same transaction (account positions: `src/decode/launchlab.rs`).
#[test]
fn launchlab_initialize_with_token_2022_legacy() {
    let s = load("launchlab_init_token2022_5RfEZ834");
    let want = Want {
        kind: LaunchKind::LaunchLab,
        launchpad: Launchpad::StonkFun,
        mint: "4FvUTZNAgEwDUbuLYfB4vpZForeCcyaYT26mTqchLCRc",
        creator: "TdYefJt97QftpagTVcMjq4bTUyGV1oHzk4YnFtciQfW",
        market: "4V4X7jaxvCwnf1p35sGG9MU6gFRT1eKxNLan9GrTkeWu",
        market_token_account: "77WUbzeDyRuHTY9ws3SskvRbtFSbAs1HUkDuPJfmFp9w",
        market_quote_account: "B6ViqzeTAuCJE6gPDnW8Cj9jQM1a3iPY749SWkuVbAcC",
        quote_mint: "Xsa62P5mvPszXL1krVUnU5ar38bBSVcWAB6fmPCo5Zu",
        config: "G9NjYUD96DfCBUnduDHoZ7TCRrvdG41GLUkuoRch6qFC",
        origin: "4E876qZTE9FJMrBzgVtBrSrzz2TLivB5Y5QXPjB4gZL7",
        token_program: TokenProgram::Token2022,
        quote_token_program: TokenProgram::Token2022,
        // The `TradeEvent` of the creator's `buy_exact_in`: amount_in, amount_out.
        buy: (2_946_186, 6_438_792_278_305),
        meta: (
            "Comfy Panda",
            "COMFPAND",
            "https://files.catbox.moe/nsglb4.json",
        ),
    };
    // The logs carry `PoolCreateEvent` (pool, creator, global config, name/symbol/uri) and the
    // trade, not the mint, the vaults or the platform.
    let logs = logs_only_launchlab(&want, TokenProgram::Token2022);
    assert_eq!(check_launch(&s, &want, Some(&logs)), EVERY_FORM);
}

fn logs_only_launchlab(w: &Want, token_program: TokenProgram) -> Want {
    Want {
        launchpad: Launchpad::LaunchLab,
        mint: ZERO,
        market_token_account: ZERO,
        market_quote_account: ZERO,
        quote_mint: ZERO,
        origin: ZERO,
        token_program,
        quote_token_program: TokenProgram::Unknown,
        ..*w
    }
}

/// A `"version": 1` transaction (SIMD-0385, `message.transactionConfig`): the same launch
/// shape, read from json and from its v1 wire bytes.
#[test]
fn launchlab_initialize_with_token_2022_version_1() {
    let s = load("launchlab_init_token2022_v1_zL5q74Xw");
    assert_eq!(s.version(), json!(1));
    assert_eq!(s.wire().unwrap()[0], 0x81, "a v1 wire transaction");
    let want = Want {
        kind: LaunchKind::LaunchLab,
        launchpad: Launchpad::StonkFun,
        mint: "CuAoNRcSSwBDWVwfngbAfygvXnDEKJ3XJSPs8kMTSTNK",
        creator: "3oBC8qSnqxU8rMuv5vddtArCmBUU5WZu7xMx9bSsdqPk",
        market: "HJ92yNGSANpwWHdcUXXtZMy3dKgMCsKPYN8RToDYDo54",
        market_token_account: "B8bCe3betvmKuSgu4XnqEqUvEjeYUU9d9Bw2763ajzFM",
        market_quote_account: "9PXYkRTsV19KYPZYohoYBm5GwWu4nwFNy5X5iK2tQZxa",
        quote_mint: "XspzcW1PRtgf6Wj92HCiZdjzKCyFekVD8P5Ueh3dRMX",
        config: "G9uCP4DwMDzMxQCQ38TnNGbVaoiAY2pP1BWd7rev1LmS",
        origin: "4E876qZTE9FJMrBzgVtBrSrzz2TLivB5Y5QXPjB4gZL7",
        token_program: TokenProgram::Token2022,
        quote_token_program: TokenProgram::Token2022,
        buy: (20_945_510, 30_774_053_485_075),
        meta: (
            "yippee",
            "YIPPEE",
            "https://meta.uxento.io/data/0dfc89ad-6105-4342-b1bf-992bee6d18b0",
        ),
    };
    let logs = logs_only_launchlab(&want, TokenProgram::Token2022);
    assert_eq!(check_launch(&s, &want, Some(&logs)), EVERY_FORM);
}

/// Version 1 again, the creator's buy made through another program (j7tracker's router CPIs
/// `buy_exact_in`): an inner buy of the new pool still counts.
#[test]
fn launchlab_version_1_with_a_buy_through_a_router() {
    let s = load("launchlab_init_token2022_v1_j7_z9u5Quug");
    let want = Want {
        kind: LaunchKind::LaunchLab,
        launchpad: Launchpad::StonkFun,
        mint: "2yxMaqRx3Ago77ysgmMvveLWMvToWTodEMPf3EcBmvcG",
        creator: "3HkV7u12sRpApdaaNX5zioV5gXzyh3PPSxbbh71sjQ2K",
        market: "88xPEzPULFbv7jZoAcU2oRGNdvtdoZWW8v7A5y11d5Ke",
        market_token_account: "GFHQiaX23ayhuWBWUJSBzN9w4nm6ehzJ1wQ1pr7LBLEW",
        market_quote_account: "C8ZzLWE4WDaWH3xQc2mVcbDkwWk7pPtpWv8KjYE4KjJL",
        quote_mint: "Xs3oZwbHvqis4NYcf4YKWmEia2eC84wSiVrcYcTqpH8",
        config: "9mfQRzhyaACD49VhrSwCWKjrHVLcNfhxSdhg2hDSwCd8",
        origin: "4E876qZTE9FJMrBzgVtBrSrzz2TLivB5Y5QXPjB4gZL7",
        token_program: TokenProgram::Token2022,
        quote_token_program: TokenProgram::Token2022,
        buy: (648_624_477, 222_118_361_110_732),
        meta: (
            "Artificial Grok Investor",
            "AGI",
            "https://metadata.j7tracker.io/metadata/2c5891dad403455c.json",
        ),
    };
    let logs = logs_only_launchlab(&want, TokenProgram::Token2022);
    assert_eq!(check_launch(&s, &want, Some(&logs)), EVERY_FORM);
}

/// Two more StonkFun launches quoted in Token-2022 xStocks (`Xsc9qvGR…`, `XsoCS1Tf…`): the quote
/// mint and its token program come from the instruction's own accounts (quote_mint 7,
/// quote_token_program 11), not from an assumed SOL / SPL Token quote. (The IDL of
/// `src/decode/launchlab.rs` pins quote_token_program to SPL Token; the program now takes
/// Token-2022 there, as all five StonkFun launches show.) Checked by hand against the IDL's
/// seeds: pool `["pool", base_mint, quote_mint]`, vaults `["pool_vault", pool, mint]`, global
/// config `["global_config", quote_mint, curve_type 0, index 0u16]` (one per quote mint), and the
/// buy against the token balances: the creator's xStock account lost exactly `amount_in`, the
/// quote vault gained it less the platform fee.
#[test]
fn launchlab_launches_quoted_in_token_2022_xstocks() {
    let rox = Want {
        kind: LaunchKind::LaunchLab,
        launchpad: Launchpad::StonkFun,
        mint: "FbDVeqD87Wyp5bBj5nEqGtq5A3LEEwShomPS1nVfZufz",
        creator: "8a65ZLF2vpARYskcEVZqdhgWuxXUUtYZYroNWs6g4uiV",
        market: "5XAQjsPx6nhwjHDirEz9MVFgSj1tEaxEQ2mBjjDBBYxV",
        market_token_account: "HeAE92rz8JfsMYxUi5yzGScU88zVASdYmzRtoNh6jKZE",
        market_quote_account: "DK1BCiuDCPwHT8Svaxn2nRF6pezJtWBXA793JN4WS2Kx",
        quote_mint: "Xsc9qvGR1efVDFGLrVsmkzv3qi45LTBjeUKSPmx9qEh",
        config: "2NuVPU5ViAyQsZamVfJ1vU6Cp77WSzret4LtNTMiWFQ4",
        origin: "4E876qZTE9FJMrBzgVtBrSrzz2TLivB5Y5QXPjB4gZL7",
        token_program: TokenProgram::Token2022,
        quote_token_program: TokenProgram::Token2022,
        // `TradeEvent` amount_in (xStock base units, 8 decimals) and amount_out.
        buy: (25_966_318, 16_844_467_886_550),
        meta: (
            "RoxAI",
            "ROX",
            "https://gateway.irys.xyz/GgaEviTMhS8kse58bxccZFgw5GoRB1aSXSVCD1iY8bEk",
        ),
    };
    let nonsol = Want {
        mint: "DQVN3GbQ8ETcFERzRLJZow11yqMQ3xtSnLvNHhVkQ6K5",
        creator: "BiMdpDwreF375JgGn2JkFKLtg9ycj5LxC1MknXrBim3D",
        market: "5J2KdXmhTsZYWp4873CpnMetZogdpUsK13ia73rwZQ2G",
        market_token_account: "H1YVqs7Y3CjEo6k8SmR1nd64uo1iro6BMcZhokAceWDg",
        market_quote_account: "EpnqXz4MAm58F3W4DunjTeHNrUUBaU9oMrmrgv26sPxG",
        quote_mint: "XsoCS1TfEyfFhfvj8EtZ528L3CaKBDBRqRapnBbDF2W",
        config: "B7ctMMdGvy46Am56myTtzfkNzt9kWZVTNGM2BWrJ9adg",
        buy: (15_194, 34_298_808_366),
        meta: (
            "test",
            "NONSOL",
            "https://gateway.irys.xyz/5mEHd2DkHhiqL9cEX5CEj5HszoxCKQhFF6aCdUXAsGDF",
        ),
        ..rox
    };
    for (name, want) in [
        ("launchlab_init_token2022_2dnvjQoB", rox),
        ("launchlab_init_token2022_EkKE99vA", nonsol),
    ] {
        let s = load(name);
        assert!(s.wire().is_some(), "{name}: the signed message is rebuilt");
        let logs = logs_only_launchlab(&want, TokenProgram::Token2022);
        assert_eq!(check_launch(&s, &want, Some(&logs)), EVERY_FORM, "{name}");
    }
}

/// `initialize_v2` on LetsBonk (bonk.fun's platform config), SOL quote. The source dropped the
/// address-table lookups, so its signed message cannot be rebuilt: no wire forms.
#[test]
fn launchlab_initialize_v2_on_letsbonk() {
    let s = load("launchlab_init_v2_5LzhiGZB");
    let want = Want {
        kind: LaunchKind::LaunchLab,
        launchpad: Launchpad::LetsBonk,
        mint: "54y4DV6shhwvojpRCCqwvgRTPd45UGrCEghpsa9pBj7F",
        creator: "7hnTzCVKCa3ToiKC8wgFHzc2s5jRBVDwwg5DpffUKjUu",
        market: "C9HhQft4MTfnboDfpqS5Vy1zdkxPzL9qscWarUMtA999",
        market_token_account: "6564d6r8i4TjCZFTBnUr54QXUHD9xeAcWadHfAs5tc1Q",
        market_quote_account: "J6aSDGwgVpknJGQ7sNi7s6ibBydhCKVvqbvWZ1PRhULr",
        quote_mint: WSOL,
        config: "6s1xP3hpbAfFoNtUNF8mfHsjr2Bd97JxFJRWLbL6aHuX",
        origin: "FfYek5vEz23cMkWsdJwG2oa6EphsvXSHrGpdALN4g6W1",
        token_program: TokenProgram::Token,
        quote_token_program: TokenProgram::Token,
        buy: (9_999_999, 352_899_251_106),
        meta: (
            "Sora Loser",
            "SORA LOSER",
            "https://1ea5c9284bee4d1c815c8bd0.blob.core.windows.net/deploy/c953fc96-2648-4487-8dec-f8ffb97896e7.json",
        ),
    };
    let logs = logs_only_launchlab(&want, TokenProgram::Token);
    assert_eq!(check_launch(&s, &want, Some(&logs)), NO_WIRE);
}

/// The deprecated `initialize` (June 2025, v0 with an address table), on Raydium's own platform
/// config `4Bu96XjU…` (`RAYDIUM_PLATFORM_ID` in nathanliow/twitter-token-launch
/// `src/app/launchpad/bonk/consts.ts`), which no launchpad table names, with the creator's
/// `buy_exact_in` after it. LaunchLab emitted its
/// events by self-CPI then (no `Program data:` lines), so the pool's `PoolCreateEvent` and the
/// buy's `TradeEvent` are inner instructions. Checked by hand against the IDL (payer 0, creator 1,
/// global_config 2, platform_config 3, pool_state 5, base_mint 6, quote_mint 7, base_vault 8,
/// quote_vault 9) and the seeds: pool `["pool", base_mint, quote_mint]`, vaults `["pool_vault",
/// pool, mint]`, authority `["vault_auth_seed"]`; the event names the same pool, creator and
/// global config.
#[test]
fn launchlab_initialize() {
    let s = load("launchlab_initialize_mqSGNwKK");
    let want = Want {
        kind: LaunchKind::LaunchLab,
        launchpad: Launchpad::LaunchLab,
        mint: "AqFe2tk1BRx6czUuRPGUZ8mtvcBGDZYsG6oPvELwzray",
        creator: "FeGbW3kbwQnV42hxUAFfbupVzDU5sKhcHswvtRbrYpn5",
        market: "7SUXJsAtzPEY7Aq7e8tRjPJR7VrxUkZ6erKGuprnitNa",
        market_token_account: "72EcyfaNFB7mbwihuQFvqdPKyGJLzeRLtvN3LdBoTpkE",
        market_quote_account: "FY85BxnA7VWDTd1yV96a3oU4Um5MguQUdW7seZAV2QzQ",
        quote_mint: WSOL,
        config: "6s1xP3hpbAfFoNtUNF8mfHsjr2Bd97JxFJRWLbL6aHuX",
        origin: "4Bu96XjU84XjPDSpveTVf6LYGCkfW5FK7SNkREWcEfV4",
        token_program: TokenProgram::Token,
        quote_token_program: TokenProgram::Token,
        // The `TradeEvent` of the creator's `buy_exact_in`: amount_in, amount_out.
        buy: (1_000_000_000, 96_087_352_138_307),
        meta: (
            "PenguX",
            "PEX",
            "https://ipfs.io/ipfs/bafkreic5ycsovdyioagcsgawljbz3yy3s6f6oxivjtqd6y4acrsr6f6tsa",
        ),
    };
    // The logs name the instruction only (the events went by self-CPI).
    let logs = Want {
        mint: ZERO,
        creator: ZERO,
        market: ZERO,
        market_token_account: ZERO,
        market_quote_account: ZERO,
        quote_mint: ZERO,
        config: ZERO,
        origin: ZERO,
        quote_token_program: TokenProgram::Unknown,
        buy: (0, 0),
        meta: ("", "", ""),
        ..want
    };
    assert_eq!(check_launch(&s, &want, Some(&logs)), EVERY_FORM);
}

/// A top-level `buy_exact_out` (v0, address table resolved through `meta.loadedAddresses`) and
/// a `buy_exact_in` made by a router, whose LaunchLab and CPMM program ids themselves come from
/// the address table: buys, not launches, in every form.
#[test]
fn launchlab_buys_are_not_launches() {
    assert_eq!(
        check_no_launch("launchlab_buy_exact_out_3USu3YAs"),
        EVERY_FORM
    );
    assert_eq!(
        check_no_launch("launchlab_buy_exact_in_cpi_8QTg427x"),
        EVERY_FORM
    );
}

// ---- Meteora DBC ------------------------------------------------------------------------------

/// `initialize_virtual_pool_with_spl_token`. A devnet transaction (slot 415 181 032 on
/// 2025-10-17: mainnet was near slot 374 M then): no mainnet DBC launch was found.
#[test]
fn dbc_initialize_virtual_pool_with_spl_token() {
    let s = load("dbc_init_spl_token_5hsqkSAZ");
    assert_eq!(s.network, "devnet");
    let want = Want {
        kind: LaunchKind::MeteoraDbc,
        launchpad: Launchpad::MeteoraDbc,
        mint: "GLZPY8BKvz4SskptWRpNZ29UJPmS9BYx1enRHUa9oSDx",
        creator: "5awoNsCULYySQaxHsGYxd9Xm7cr3GjyTZj8FmU4zsVEf",
        market: "6df83M2zCRgxqVvjpUKMo8GWmGtcb6ojbZiNwjMBnb1i",
        market_token_account: "Ej66tJxBTbTZZ7878Mhzyhy7cMM2vvNUWNG25zUwzeTf",
        market_quote_account: "5d7S3z1ooAkbdQu7qx4cMM7JYYKmpae51CFkaNuMf5cA",
        quote_mint: WSOL,
        config: "CUdxMBkGwYVJHmxBHpJcv2PLoYEULcVKFQGbiS8fahew",
        origin: ZERO,
        token_program: TokenProgram::Token,
        quote_token_program: TokenProgram::Token,
        buy: (0, 0),
        meta: (
            "Fuck Around Find Out",
            "FAFO",
            "https://icm-bucket.sfo3.digitaloceanspaces.com/metadata/1760693948752-fuck-around-find-out.json",
        ),
    };
    // DBC's logs name nothing but the instruction: kind, signature and slot.
    let logs = Want {
        mint: ZERO,
        creator: ZERO,
        market: ZERO,
        market_token_account: ZERO,
        market_quote_account: ZERO,
        quote_mint: ZERO,
        config: ZERO,
        quote_token_program: TokenProgram::Unknown,
        meta: ("", "", ""),
        ..want
    };
    assert_eq!(check_launch(&s, &want, Some(&logs)), EVERY_FORM);
}

/// The same instruction on mainnet: two launches by Believe's launcher (fee payer
/// `5qWya6Uj…`) under two pool configs, as Helius webhooks (no logs, header or blockhash). Every
/// account was checked by hand against the IDL's seeds (pool `["pool", config, max(base, quote),
/// min(base, quote)]`, vaults `["token_vault", mint, pool]`, pool authority `["pool_authority"]`)
/// and against the program's own `EvtInitializePool` (self-CPI), which names the pool, config,
/// creator and base mint, and the launch slot as its activation point.
#[test]
fn dbc_initialize_virtual_pool_with_spl_token_on_mainnet() {
    let s = load("dbc_init_spl_token_mainnet_helius_28yEpmyp");
    assert_eq!(s.network, "mainnet");
    let want = Want {
        kind: LaunchKind::MeteoraDbc,
        launchpad: Launchpad::MeteoraDbc,
        mint: "38NwqinmKCpoAfCEY5rawDdWFbVyZY4D8V1Vj4uZ8pe6",
        creator: "7eSfJhVsTodMHo8JtCDez94v5aspWYzpxwmkL4Mp4YUS",
        market: "Dxfyg6eoEoYrT3pTWXR1CyLSWwKWvM98j3wgWquuQoCx",
        market_token_account: "GNCw5JhfTD8c8KzQM5ejeDi6hSaCC9G6uUA7k9rapn4A",
        market_quote_account: "acopyZBAf5HEDEpCj2cqEQ5NPwLjRwmZ1SE8EsACSWk",
        quote_mint: WSOL,
        config: "J7viPXjP5TmanPiXfP6MZhZVsDPiFb99h6Qfp8Ey2CYe",
        origin: ZERO,
        token_program: TokenProgram::Token,
        quote_token_program: TokenProgram::Token,
        buy: (0, 0),
        meta: (
            "MOST EFFICIENT TICKER AVAILABLE",
            "META",
            "https://ipfs.io/ipfs/bafkreicjelib2lms3owy6tdslsysbca2myj44bc236kch6rein22eu4sje",
        ),
    };
    assert_eq!(check_launch(&s, &want, None), MESSAGE_ONLY);

    let s = load("dbc_init_spl_token_mainnet_helius_3tGnaX8D");
    assert_eq!(s.network, "mainnet");
    let want = Want {
        mint: "GV74pg6zi1Hy19woBW9msKUqxxvw63A7SQ15tGj5wWJ4",
        creator: "BJSMyRWfxW1QHapFcfPHrEnHpH6HNdogKsazW43yU8rB",
        market: "8sp28UwdAMse7cWYZNwVnLx2B7xk7DKRKyEpGwrbS7tH",
        market_token_account: "D5xZng6dk5jm6L6u4MVrp9ZGZuFvxnGBL9vMaAKiKN1n",
        market_quote_account: "6PJ5zHcZGdATSj6PBvDHdMTc69SyAFjNvsgHf7btBvMe",
        config: "FQDxuqp5mfYu2xth6xhwB2W6LWuob8TyeSmhUiLwz1EP",
        meta: (
            "zdravei kaksi",
            "ZDRAVEI",
            "https://ipfs.io/ipfs/bafkreic5oepawttkeiujz7lka35pr53onabtljpemminbqtti7gtfyofcq",
        ),
        ..want
    };
    assert_eq!(check_launch(&s, &want, None), MESSAGE_ONLY);
}

/// `swap` (mainnet) and the launch's own buy and sell (devnet, Helius webhooks without logs).
#[test]
fn dbc_swaps_are_not_launches() {
    assert_eq!(check_no_launch("dbc_swap_23BXcBmn"), EVERY_FORM);
    assert_eq!(
        check_no_launch("dbc_swap_buy_helius_5gf6fduS"),
        MESSAGE_ONLY
    );
    assert_eq!(
        check_no_launch("dbc_swap_sell_helius_5cfHQeyT"),
        MESSAGE_ONLY
    );
}

/// The graduation: `migration_damm_v2` creates the DAMM v2 pool by CPI (`initialize_pool`),
/// which merges into it (devnet, a Helius webhook: no logs).
#[test]
fn dbc_graduation_to_damm_v2() {
    let s = load("dbc_migration_damm_v2_helius_4hhaf2y5");
    let want = Want {
        kind: LaunchKind::MeteoraDammV2Graduation,
        launchpad: Launchpad::MeteoraDbc,
        mint: "GLZPY8BKvz4SskptWRpNZ29UJPmS9BYx1enRHUa9oSDx",
        // The migration is signed by a keeper and the pool names DBC's authority: no creator.
        creator: ZERO,
        market: "3x9G9Cpi33HvAxreN1KMiqqCtybXC8uyj3myAKTCuKV9",
        market_token_account: "7p9RusHaRvFbLC4bPT2fLT33sqkDXcMCo3bvR2V3VrzF",
        market_quote_account: "EbrJPis1Y5UDE4RqcPtUkHCiMa6FbnJGtAzf8zV8fuP5",
        quote_mint: WSOL,
        config: "CUdxMBkGwYVJHmxBHpJcv2PLoYEULcVKFQGbiS8fahew",
        // The curve it left.
        origin: "6df83M2zCRgxqVvjpUKMo8GWmGtcb6ojbZiNwjMBnb1i",
        token_program: TokenProgram::Token,
        quote_token_program: TokenProgram::Token,
        buy: (0, 0),
        meta: ("", "", ""),
    };
    assert_eq!(check_launch(&s, &want, None), MESSAGE_ONLY);
    let c = s.decode(&s.forms()[0]).unwrap()[0].candidate;
    assert_eq!(c.source_curve(), Some(key(want.origin)));
    assert_eq!(c.pool(), Some(key(want.market)));
}

// ---- Meteora DAMM v2 --------------------------------------------------------------------------

#[test]
fn damm_v2_swaps_are_not_launches() {
    assert_eq!(check_no_launch("dammv2_swap_N2jtQtjj"), EVERY_FORM);
    assert_eq!(
        check_no_launch("dammv2_swap_buy_helius_28uuEn15"),
        MESSAGE_ONLY
    );
    assert_eq!(
        check_no_launch("dammv2_swap_sell_helius_66cZgGQe"),
        MESSAGE_ONLY
    );
}

// ---- Raydium AMM v4 --------------------------------------------------------------------------

/// `initialize2` (account list of Raydium's `AmmInstruction::Initialize2`: amm 4, coin mint 8,
/// pc mint 9, coin vault 10, pc vault 11, user wallet 17), December 2024, Helius
/// `transactionNotification`s (jsonParsed) whose signed messages rebuild. The amm, vaults and
/// lp mint were checked against their seeds (`[program, market, "amm_associated_seed"]`,
/// `"coin_vault_associated_seed"`, `"pc_vault_associated_seed"`) and the program's own log line
/// `initialize2: InitializeInstruction2 { .. }`. AMM v4 logs nothing that names the pool, so the
/// logs form decodes to nothing.
#[test]
fn amm_v4_initialize2() {
    let s = load("amm_v4_initialize2_5yKpvmPa");
    let want = Want {
        kind: LaunchKind::RaydiumPool,
        launchpad: Launchpad::Unknown,
        // The coin side; the pc side is WSOL.
        mint: "B4qKiQd97nBgME2c6GwRwYWRCCuw7WzqmxzCHaQMpump",
        creator: "9m5gT3nYWeCLCJ7sHBmCP46KuMJptmYQsdxsZj7NgBZc",
        market: "Hb5nPV8QeyAcom4tMPEZKbpKVEXBQeQgnU7pPQbb1FyG",
        market_token_account: "4ECdmvNnYV69mz2znBmzLUGueaKsSbJL3a7svwtiGJbB",
        market_quote_account: "7apsA8t7nqLFJi5uMQtoijt4x1FxY85s4jjyj4zcQwDY",
        quote_mint: WSOL,
        config: ZERO,
        origin: ZERO,
        token_program: TokenProgram::Token,
        quote_token_program: TokenProgram::Token,
        buy: (0, 0),
        meta: ("", "", ""),
    };
    assert_eq!(check_launch_logs(&s, &want, Logs::Silent), EVERY_FORM);

    // pump.fun's 2024 graduation to Raydium, signed by its migration wallet: WSOL is the coin
    // side here, so the token is the pc mint and the vaults swap places.
    let s = load("amm_v4_initialize2_pump_migration_3yq88CT3");
    let want = Want {
        mint: "6TArF7DG91BVuAvSidiT1wMPyvv5WNEkmJY2ovopump",
        creator: "39azUYFWPz3VHgKCf3VChUwbpURdCHRxjWVowf5jUJjg",
        market: "5smitM3H4yJZHqPyXrrXGyZmWvvoREWgiUxzUPjM8bVU",
        market_token_account: "ENurNpAWgYyTeoRRjECUiPnYokELaHieYQekRRpch3eP",
        market_quote_account: "8bR6N1vPKn6xvXbDvXkbvwQesoXxjarVabuXZuaTHHea",
        ..want
    };
    assert_eq!(check_launch_logs(&s, &want, Logs::Silent), EVERY_FORM);
}

/// Two AMM v4 `swap`s (tag 9) from the same capture, one with an address table.
#[test]
fn amm_v4_swaps_are_not_launches() {
    assert_eq!(check_no_launch("amm_v4_swap_26Yh1zLZ"), EVERY_FORM);
    assert_eq!(check_no_launch("amm_v4_swap_3HxRzTKr"), EVERY_FORM);
}

// ---- Moonshot -------------------------------------------------------------------------------

/// No whole Moonshot launch transaction was found: this is the real `token_mint` instruction
/// (accounts and data) of transaction 4C9hua8F…, decoded through a message built around it.
#[test]
fn moonshot_token_mint_instruction() {
    let s = load("moonshot_token_mint_ix_4C9hua8F");
    let want = Want {
        kind: LaunchKind::Moonshot,
        launchpad: Launchpad::Moonshot,
        mint: "HkzfucJHWykNPSpKpduLVg2j45zafYhA1G51xPLumoon",
        creator: "AiG8HZSRociZpmHGmFnHQ3eQvFxVq4HUwxXcZKZJaEr1",
        market: "ALPoEBuBD9GMWRQrMmWd81By5GCH8X9i9HiPWBf68n8C",
        market_token_account: "6oGTJKhWPZQ1ixiguEDvbHQJLizqUmbyL9isRvNUEGR",
        market_quote_account: ZERO,
        quote_mint: WSOL,
        config: "36Eru7v11oU5Pfrojyn5oY3nETA1a1iqsw2WUu6afkM9",
        origin: ZERO,
        token_program: TokenProgram::Token,
        quote_token_program: TokenProgram::Token,
        buy: (0, 0),
        meta: (
            "Gamestop",
            "$GME",
            "https://cdn.dexscreener.com/cms/tokens/metadata/UgnNvayhAu8K97aoT3B8",
        ),
    };
    assert_eq!(check_launch(&s, &want, None), MESSAGE_ONLY);
}

/// A real buy (whole transaction; `buy` shares pump.fun's discriminator) and a real `sell`
/// instruction.
#[test]
fn moonshot_trades_are_not_launches() {
    assert_eq!(check_no_launch("moonshot_buy_5UWcde33"), EVERY_FORM);
    assert_eq!(check_no_launch("moonshot_buy_3hbuxW9j"), EVERY_FORM);
    assert_eq!(check_no_launch("moonshot_sell_ix_4iEpC6zH"), MESSAGE_ONLY);
}

// ---- Boop, Raydium CPMM -------------------------------------------------------------------------

/// No real Boop launch was found (README); its sells are not ones.
#[test]
fn boop_sells_are_not_launches() {
    assert_eq!(check_no_launch("boop_sell_token_53mugqLK"), EVERY_FORM);
    assert_eq!(check_no_launch("boop_sell_token_64iMkSa7"), EVERY_FORM);
}

/// CPMM `initialize` (May 2024, getTransaction jsonParsed; the signed messages rebuild): at the
/// top level, and made by CPI from another program's `CreateRaydiumPool`. Checked by hand
/// against the IDL (creator 0, amm_config 1, pool_state 3, token_0_mint 4, token_1_mint 5,
/// token_0_vault 10, token_1_vault 11) and the seeds: pool `["pool", amm_config, token_0_mint,
/// token_1_mint]`, vaults `["pool_vault", pool, mint]`, authority
/// `["vault_and_lp_mint_auth_seed"]`. WSOL is token 0 in both, so the token is mint 1. CPMM logs
/// nothing that names the pool: the logs form decodes to nothing.
#[test]
fn cpmm_initialize() {
    let s = load("cpmm_initialize_28FDVn");
    let want = Want {
        kind: LaunchKind::RaydiumCpmmPool,
        launchpad: Launchpad::Unknown,
        mint: "DeXRw2jRpVWEhXnM4BG9fjDkFxc7eQ17TPQWezegG9CS",
        creator: "De1Rgnd2nR2bZmvxj9gKfXJhhHDZVuTB3FKNSCwbdUrj",
        market: "AQGPHsNFfvwNULydEKQtEnwMAJJH1AGgHC2oHUHuFKhe",
        market_token_account: "9tTQcXVHTcbg7qtLdnoJWaSCfotvrmwcNcRpuqFEDGFG",
        market_quote_account: "CPAWXzbN4DUzbK87AKKNF65bUUUEoTT7ARSCPqsHg6wD",
        quote_mint: WSOL,
        config: "D4FPEruKEHrG5TenZ2mpDGEfu1iUvTiqBxvpU8HLBvC2",
        origin: ZERO,
        token_program: TokenProgram::Token,
        quote_token_program: TokenProgram::Token,
        buy: (0, 0),
        meta: ("", "", ""),
    };
    assert_eq!(check_launch_logs(&s, &want, Logs::Silent), EVERY_FORM);

    let s = load("cpmm_initialize_cpi_2ex9my");
    let want = Want {
        mint: "97pcbfUzgSXH427N7iPxjgi18FXu7JEUSZgGvjJBxZFm",
        creator: "7Sdz216qWXbQeAzG5PFPgp7TYkaLjYenGaT2K6oKH9UC",
        market: "aiNLkBXJdiK9zPqZowZMSo65JaTnBSyPmoETi86f9Uj",
        market_token_account: "5TiM13cuyq6qBpHaADSu2QbzmzNQa8Xcf3hq2XQoarH5",
        market_quote_account: "9PHThJDsizYM931UcL3UrKwpxfZtr9hiTS8gHbPKax3F",
        ..want
    };
    assert_eq!(check_launch_logs(&s, &want, Logs::Silent), EVERY_FORM);
}

/// CPMM swaps, top-level and through routers (one with the program id in an address table),
/// and a deposit are not launches.
#[test]
fn cpmm_swaps_are_not_launches() {
    assert_eq!(check_no_launch("cpmm_swap_base_input_4RoVbE9H"), NO_WIRE);
    assert_eq!(
        check_no_launch("cpmm_swap_base_input_cpi_2bhr1FWq"),
        EVERY_FORM
    );
    assert_eq!(check_no_launch("cpmm_deposit_3YWUfe"), EVERY_FORM);
}

// ---- pump.fun ---------------------------------------------------------------------------------

/// `create_v2` in a v0 transaction whose mint authority, global config, mayhem program and event
/// authority come from an address table. As `getTransaction` in base64 with
/// `meta.loadedAddresses` (and as a block) this was reported malformed (`account_index`): the
/// inner instructions of the table-loaded programs came before the loaded addresses.
#[test]
fn pump_create_v2_with_an_address_table_in_every_form() {
    let s = load("pumpfun_create_v2_alt_jsonparsed_2RoRJxat");
    let want = Want {
        kind: LaunchKind::PumpCreateV2,
        launchpad: Launchpad::PumpFun,
        mint: "CWiTGbCiDd8BKtNYNE2boT9fJGFG2MU53Uf6HQk4pump",
        creator: "5htGpHK2oV9g2BcDqLdRBqjCLdy8mc3fsESfR5DU73eM",
        market: "3jJ83NDorkbFkF1JKbEfFWGeX16aXUiwby9RwJm9kat3",
        market_token_account: "Cd4iC3Jndc2WVud6rAs1cwx8SkUQhCN5TxXbfRtbHLCF",
        market_quote_account: ZERO,
        quote_mint: WSOL,
        config: ZERO,
        origin: ZERO,
        token_program: TokenProgram::Token2022,
        quote_token_program: TokenProgram::Token,
        buy: (2_962_962_962, 96_449_438_144_093),
        meta: (
            "The Ass Statue",
            "TAS",
            "https://meta.uxento.io/data/714b0bec-90cb-4cbb-9598-b7bcbcd3bd06",
        ),
    };
    // The CreateEvent names the curve but not its token account.
    let logs = Want {
        market_token_account: ZERO,
        ..want
    };
    assert_eq!(check_launch(&s, &want, Some(&logs)), EVERY_FORM);
    assert!(
        s.all_keys().len()
            > s.result["transaction"]["message"]["accountKeys"]
                .as_array()
                .unwrap()
                .len()
    );
}

/// `create_v2` from a `blockSubscribe` notification (v0 without tables), with the creator's buy.
#[test]
fn pump_create_v2_from_a_block() {
    let s = load("pumpfun_create_v2_blocksubscribe_5EDHe12K");
    let want = Want {
        kind: LaunchKind::PumpCreateV2,
        launchpad: Launchpad::PumpFun,
        mint: "7YD6ZHb39jGb33ki2iFd7kHK11yMkSFCc9kvjJscpump",
        creator: "5zsxd4pGNCQpwyKiBWZ95nCTPsEPoS62xEGnjpW6FRy7",
        market: "9hgcsTpZP48Ttku3uhg5gZ388YFCfErayJ5rHSru9PF7",
        market_token_account: "HzUZ3dw8nhhAHMKHC6E6X9LU5vJH4ZSJTuaBRvn1msXt",
        market_quote_account: ZERO,
        quote_mint: WSOL,
        config: ZERO,
        origin: ZERO,
        token_program: TokenProgram::Token2022,
        quote_token_program: TokenProgram::Token,
        buy: (98_750_018, 3_520_371_073_923),
        meta: (
            "NYXORA",
            "NYXORA",
            "https://ipfs.io/ipfs/bafkreiguttiiufcl24xtnzgxvvonh7b535a3dh6txrjgwax2hyecsyj46i",
        ),
    };
    let logs = Want {
        market_token_account: ZERO,
        ..want
    };
    assert_eq!(check_launch(&s, &want, Some(&logs)), EVERY_FORM);
}

/// A pump.fun buy made by a router (the source dropped its address-table lookups).
#[test]
fn pump_routed_buy_is_not_a_launch() {
    assert_eq!(check_no_launch("pumpfun_buy_via_router_22K6ixTV"), NO_WIRE);
}

/// pump.fun's `migrate` (April 2026), signed by its migration wallet `39azUYFW…`, creating the
/// PumpSwap pool by CPI (`create_pool`, whose `coin_creator` argument names the coin's creator).
/// Checked by hand against the IDLs and the seeds: bonding curve `["bonding-curve", mint]`,
/// pool authority `["pool-authority", mint]` (pump.fun), pool `["pool", index 0, pool authority,
/// mint, WSOL]` and `["global_config"]` (PumpSwap), the pool's vaults its associated token
/// accounts. The logs name the instruction and PumpSwap's `CreatePool` inside it, nothing more.
#[test]
fn pump_migrate_to_pump_swap() {
    let s = load("pumpfun_migrate_pumpswap_5gp7yztY");
    let want = Want {
        kind: LaunchKind::PumpSwapGraduation,
        launchpad: Launchpad::PumpFun,
        mint: "6XXqLtAwn7oBbhT9m3AeVZE2y77LdzuZSHVtWSEDpump",
        creator: "3LPj15xN1nNjgKJqo3cnSsj7Fy9nsVFPJSZ7wicqvH37",
        market: "3ioeR9Rwi6xNb1UgmTi31Kcv565UNEv7AmAaEL5CkN6f",
        market_token_account: "9j4gnnY2HEy8Jd2Ttn5ESfE7gLA9gEKpYDbLzh6EhUsY",
        market_quote_account: "ZmdhtmEEECNeo9tDsu3FzFeqUxPpXCDZWXshmW8FYMT",
        quote_mint: WSOL,
        config: "ADyA8hdefvWN2dbGGWFotbzWxrAvLW83WG6QCVXvJKqw",
        origin: "ERodHMCNaF8DuF6SqKr1s2bJaza2AQmLw5GhcuCj796Y",
        token_program: TokenProgram::Token,
        quote_token_program: TokenProgram::Token,
        buy: (0, 0),
        meta: ("", "", ""),
    };
    let logs = Want {
        mint: ZERO,
        creator: ZERO,
        market: ZERO,
        market_token_account: ZERO,
        market_quote_account: ZERO,
        quote_mint: ZERO,
        config: ZERO,
        origin: ZERO,
        token_program: TokenProgram::Unknown,
        quote_token_program: TokenProgram::Unknown,
        ..want
    };
    assert_eq!(check_launch(&s, &want, Some(&logs)), EVERY_FORM);
    let c = s.decode(&s.forms()[1]).unwrap()[0].candidate;
    assert_eq!(c.source_curve(), Some(key(want.origin)));
    assert_eq!(c.pool(), Some(key(want.market)));
}

/// A `meta` member given twice, the first before `transaction` (its inner instructions wait for
/// the keys) and an empty one after: the graduation, which only the inner `create_pool` makes a
/// launch, is still found with the same pool.
#[test]
fn a_repeated_meta_keeps_the_first_ones_inner_instructions() {
    let s = load("pumpfun_migrate_pumpswap_5gp7yztY");
    let line = format!(
        r#"{{"jsonrpc":"2.0","result":{{"meta":{},"slot":{},"transaction":{},"meta":{{"err":null}}}},"id":1}}"#,
        s.meta(),
        s.slot(),
        s.tx()
    );
    let form = samples::launchpads::Form {
        name: "json, meta twice",
        line: Some(line),
    };
    let got = s.decode(&form).unwrap();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].candidate.kind, LaunchKind::PumpSwapGraduation);
    assert_eq!(
        got[0].candidate.pool(),
        Some(key("3ioeR9Rwi6xNb1UgmTi31Kcv565UNEv7AmAaEL5CkN6f"))
    );
}

/// The same graduation in June 2025, when `migrate` passed 24 accounts (the positions the decoder
/// reads are unchanged), followed by a PumpSwap buy in the same transaction: one graduation. The
/// pool, vaults and curve were checked against their seeds as above.
#[test]
fn pump_migrate_to_pump_swap_june_2025() {
    let s = load("pumpfun_migrate_pumpswap_2ffHb9AX");
    let want = Want {
        kind: LaunchKind::PumpSwapGraduation,
        launchpad: Launchpad::PumpFun,
        mint: "npB9cxTzwUiGt7jk2dXZa52xZve8SgVD6Et9Bpipump",
        creator: "B9gnz4YLhxqzTkfakaVviZe5WfTLY4MqGmWhaxF8BrFk",
        market: "Ef7wUrbarRXHNMMgBs8cstSkzRttnstjMsniaq7zMp6j",
        market_token_account: "4ujxrswYaeC8LMfHxmcm8nCH6DH1AL96rUjQcBqjQ9Gy",
        market_quote_account: "66PLSijLEyjwqdCKbhUGY3BbixsxzMV8QmsA74ncvKXW",
        quote_mint: WSOL,
        config: "ADyA8hdefvWN2dbGGWFotbzWxrAvLW83WG6QCVXvJKqw",
        origin: "8qoeYoeWG5ifYKp2uAdq7du8zsMB4AbZN7qqbdZnXbaH",
        token_program: TokenProgram::Token,
        quote_token_program: TokenProgram::Token,
        buy: (0, 0),
        meta: ("", "", ""),
    };
    let logs = Want {
        mint: ZERO,
        creator: ZERO,
        market: ZERO,
        market_token_account: ZERO,
        market_quote_account: ZERO,
        quote_mint: ZERO,
        config: ZERO,
        origin: ZERO,
        token_program: TokenProgram::Unknown,
        quote_token_program: TokenProgram::Unknown,
        ..want
    };
    assert_eq!(check_launch(&s, &want, Some(&logs)), EVERY_FORM);
}

/// A `migrate` of a curve whose pool already exists creates nothing (its CPI is a PumpSwap sell):
/// not a graduation in any form.
#[test]
fn pump_migrate_without_a_pool_is_not_a_launch() {
    assert_eq!(
        check_no_launch("pumpfun_migrate_no_pool_5dnX6d6M"),
        EVERY_FORM
    );
}

/// PumpSwap trades (a buy and sell in one transaction, and a buy) are not pools.
#[test]
fn pump_swap_trades_are_not_launches() {
    assert_eq!(check_no_launch("pumpswap_buy_sell_gauADRJV"), EVERY_FORM);
    assert_eq!(check_no_launch("pumpswap_buy_4pCgZ28W"), EVERY_FORM);
}

// ---- what the wire forms rest on ----------------------------------------------------------------

/// The wire forms above are the bytes that were signed: every signature of each of these
/// transactions verifies over the message this harness rebuilt (legacy, v0 with tables, v1),
/// and a flipped byte does not.
#[test]
fn rebuilt_wire_transactions_carry_valid_signatures() {
    for name in [
        "launchlab_init_token2022_5RfEZ834",
        "launchlab_init_token2022_v1_zL5q74Xw",
        "launchlab_buy_exact_in_cpi_8QTg427x",
        "pumpfun_create_v2_alt_jsonparsed_2RoRJxat",
        "dbc_init_spl_token_5hsqkSAZ",
        "amm_v4_initialize2_5yKpvmPa",
        "amm_v4_swap_26Yh1zLZ",
        "pumpfun_migrate_pumpswap_5gp7yztY",
        "boop_sell_token_64iMkSa7",
        "cpmm_initialize_cpi_2ex9my",
    ] {
        let s = load(name);
        assert!(s.wire().is_some(), "{name}");
        let mut bad = s.clone();
        let data = bad.result["transaction"]["message"]["recentBlockhash"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut bytes = bs58::decode(&data).into_vec().unwrap();
        bytes[0] ^= 1;
        bad.result["transaction"]["message"]["recentBlockhash"] =
            json!(bs58::encode(bytes).into_string());
        assert!(
            bad.wire().is_none(),
            "{name}: a changed message still verifies"
        );
    }
}
