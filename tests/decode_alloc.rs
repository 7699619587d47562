//! Once warmed, the `logsNotification` path allocates nothing per line.
//!
//! A counting global allocator (test-only; the library itself forbids unsafe code) counts
//! allocations made by the current thread, so the harness's own threads do not interfere.
#![allow(unsafe_code)] // GlobalAlloc is an unsafe trait; this file only counts and forwards.

mod samples;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use samples::*;
use serde_json::Value;
use sniffer::decode::{Decoder, Format};

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call to `System` unchanged; the counter is a const-initialised
// thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

#[test]
fn logs_path_allocates_nothing_once_warmed() {
    let mut with_buy = create_logs();
    with_buy.extend(buy_logs(trade_log_line(MINT, CREATOR, 297_300_000, true)));
    let lines = [
        // A launch with the creator's buy, a plain launch, a buy alone, an ATA-only tx, a failure.
        logs_notification(SIG, SLOT, Value::Null, &with_buy),
        logs_notification(SIG, SLOT, Value::Null, &create_logs()),
        logs_notification(
            SIG,
            SLOT,
            Value::Null,
            &buy_logs(trade_log_line(MINT, CREATOR, 5, true)),
        ),
        logs_notification(SIG, SLOT, Value::Null, &["Program log: Create".to_owned()]),
        logs_notification(
            SIG,
            SLOT,
            serde_json::json!({"InstructionError": [0, "InvalidArgument"]}),
            &create_logs(),
        ),
    ];
    let mut dec = Decoder::new(Format::Auto);
    let mut out = Vec::with_capacity(64);
    for l in &lines {
        dec.decode_line(l.as_bytes(), &mut out).unwrap();
    }
    out.clear();

    let before = allocs();
    let mut found = 0;
    for _ in 0..100 {
        for l in &lines {
            found += dec.decode_line(l.as_bytes(), &mut out).unwrap();
        }
        out.clear();
    }
    let after = allocs();
    assert_eq!(found, 200);
    assert_eq!(after - before, 0, "allocations on the warmed logs path");
}

/// The same for the launchpads' real logs: LaunchLab launches (`PoolCreateEvent` and the
/// creator's `TradeEvent` in `Program data:`), a DBC launch (its instruction line only), and
/// buys, sells and swaps of LaunchLab, Moonshot, Boop, DBC and DAMM v2.
#[test]
fn launchpad_logs_allocate_nothing_once_warmed() {
    let lines: Vec<String> = [
        "launchlab_init_token2022_5RfEZ834",
        "launchlab_init_token2022_v1_zL5q74Xw",
        "launchlab_init_v2_5LzhiGZB",
        "dbc_init_spl_token_5hsqkSAZ",
        "launchlab_buy_exact_in_cpi_8QTg427x",
        "moonshot_buy_5UWcde33",
        "boop_sell_token_53mugqLK",
        "dbc_swap_23BXcBmn",
        "dammv2_swap_N2jtQtjj",
    ]
    .iter()
    .map(|n| launchpads::load(n).logs_notification().unwrap())
    .collect();
    let mut dec = Decoder::new(Format::Auto);
    let mut out = Vec::with_capacity(64);
    for l in &lines {
        dec.decode_line(l.as_bytes(), &mut out).unwrap();
    }
    out.clear();

    let before = allocs();
    let mut found = 0;
    for _ in 0..100 {
        for l in &lines {
            found += dec.decode_line(l.as_bytes(), &mut out).unwrap();
        }
        out.clear();
    }
    let after = allocs();
    assert_eq!(
        found, 400,
        "three LaunchLab launches and one DBC launch per round"
    );
    assert_eq!(after - before, 0, "allocations on the warmed logs path");
}
