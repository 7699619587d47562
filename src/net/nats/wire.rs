//! What goes on the wire: the subject of a launch, its `Nats-Msg-Id`, its body (the record as
//! JSON), and the reverse on the consuming side.
//!
//! The body is the launch's [`LaunchRecord`] (version 1, `docs/launch-record.schema.json`),
//! the same JSON as `--candidates` and `decode` write, for consumers in any language; Kafka
//! payloads are the same bytes. The engine's process-local fields do not travel: the
//! receiving engine stamps `detected_at_ns`, `seq` and `feed_id` itself. A body of a later
//! version (`v` above 1) is refused as `wrong_shape`; a body without `v` (an earlier sniffer's)
//! is read.
//!
//! [`message_id`] is the one place that decides which launches are "the same": JetStream drops
//! a second message with the same id within the stream's duplicate window, and the consuming
//! feeds use the same identity in the engine's first-sighting dedup.

use crate::candidate::Signature;
use crate::candidate::{LaunchKind, PremintCandidate, Priority};
use crate::candidate::{LaunchMeta, LaunchRecord, Malformed};
use crate::decode::Decoded;

/// Every subject starts with this.
pub const SUBJECT_PREFIX: &str = "sniffer.launch";
/// The subjects of the stream: every launch subject.
pub const STREAM_SUBJECTS: &str = "sniffer.launch.>";
/// Largest body accepted from the wire (a record's JSON is a few hundred bytes).
pub(crate) const MAX_BODY: usize = 64 << 10;

/// `sniffer.launch.<kind>.high` and `.low`, written out so that no subject is formatted per
/// message; the test below checks each against `LaunchKind::as_str`.
macro_rules! subjects {
    ($($kind:literal),* $(,)?) => {
        [$([
            concat!("sniffer.launch.", $kind, ".high"),
            concat!("sniffer.launch.", $kind, ".low"),
        ]),*]
    };
}

const SUBJECTS: [[&str; 2]; LaunchKind::ALL.len()] = subjects![
    "pump_create",
    "pump_create_v2",
    "pump_swap_pool",
    "raydium_pool",
    "launchlab",
    "meteora_dbc",
    "moonshot",
    "boop",
    "raydium_cpmm_pool",
    "meteora_damm_v2_pool",
    "pump_swap_graduation",
    "raydium_cpmm_graduation",
    "raydium_amm_graduation",
    "meteora_damm_v2_graduation",
];

/// The subject of a launch: `sniffer.launch.<kind>.<priority>`, e.g.
/// `sniffer.launch.pump_create.high`. Static: nothing is formatted per message.
///
/// # Examples
///
/// ```
/// use sniffer::{LaunchKind, Priority};
///
/// assert_eq!(
///     sniffer::publish::subject(LaunchKind::PumpSwapPool, Priority::Low),
///     "sniffer.launch.pump_swap_pool.low"
/// );
/// ```
pub fn subject(kind: LaunchKind, priority: Priority) -> &'static str {
    // `SUBJECTS` follows `LaunchKind::ALL`, in number order (checked below).
    SUBJECTS[kind as usize][priority.lane()]
}

/// The `Nats-Msg-Id` of a launch: `<mint>:<signature>`, the identity the engine's first-sighting
/// dedup uses too, so several sniffers that saw the same launch store it once. A record without
/// a signature (a bot's own candidate) falls back to `<mint>:<slot>:<kind>`: a mint is created
/// once, in one slot, by one kind of instruction.
///
/// # Examples
///
/// ```
/// use sniffer::{PremintCandidate, Signature};
///
/// let c = PremintCandidate { slot: 7, ..Default::default() };
/// assert_eq!(sniffer::publish::message_id(&c), format!("{}:7:pump_create", c.mint));
/// let signed = PremintCandidate { signature: Signature([9; 64]), ..c };
/// assert_eq!(sniffer::publish::message_id(&signed), format!("{}:{}", c.mint, signed.signature));
/// ```
pub fn message_id(c: &PremintCandidate) -> String {
    if c.signature == Signature::ZERO {
        format!("{}:{}:{}", c.mint, c.slot, kind_name(c.kind))
    } else {
        format!("{}:{}", c.mint, c.signature)
    }
}

/// The launch's identity for the engine's first-sighting dedup, which keys on (mint,
/// signature), as [`message_id`] does: copies from a local WebSocket or gRPC feed of the same
/// launch are the same sighting. Without a signature, the slot and the kind stand in for it.
fn identity(c: &PremintCandidate) -> Signature {
    if c.signature != Signature::ZERO {
        return c.signature;
    }
    let mut sig = [0u8; 64];
    sig[..8].copy_from_slice(&c.slot.to_le_bytes());
    sig[8] = c.kind as u8 + 1;
    Signature(sig)
}

fn kind_name(kind: LaunchKind) -> &'static str {
    let s = subject(kind, Priority::High);
    // "sniffer.launch.<kind>.high"
    &s[SUBJECT_PREFIX.len() + 1..s.len() - ".high".len()]
}

/// The body of a launch (its [`LaunchRecord`], with its metadata and feed name when known),
/// written into `buf` (cleared first).
pub(crate) fn encode(
    c: &PremintCandidate,
    meta: Option<&LaunchMeta>,
    feed: Option<&str>,
    buf: &mut Vec<u8>,
) {
    buf.clear();
    // The record serializes to JSON without failing: keys are strings, no maps, no floats.
    let _ = serde_json::to_writer(&mut *buf, &LaunchRecord::new(c, meta, feed));
}

/// A launch read from the wire, ready for a feed's `FeedSink::push_decoded`, received at
/// `recv_ns` (its detection time in this engine).
pub(crate) fn decode(body: &[u8], recv_ns: u64) -> Result<Decoded, Malformed> {
    if body.len() > MAX_BODY {
        return Err(Malformed::TooLong);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Malformed::Empty);
    }
    let r: LaunchRecord<'_> = serde_json::from_slice(body).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Eof => Malformed::TruncatedJson,
            Category::Syntax | Category::Io => Malformed::JsonSyntax,
            Category::Data => Malformed::WrongShape,
        }
    })?;
    if r.v > LaunchRecord::VERSION {
        return Err(Malformed::WrongShape);
    }
    let mut c = r.candidate();
    c.detected_at_ns = recv_ns;
    Ok(Decoded {
        signature: identity(&c),
        candidate: c,
        meta: r.meta(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidate::Pubkey;

    #[test]
    fn subjects_and_ids() {
        assert_eq!(kind_name(LaunchKind::PumpCreateV2), "pump_create_v2");
        assert_eq!(kind_name(LaunchKind::RaydiumPool), "raydium_pool");
        for (k, kind) in LaunchKind::ALL.iter().enumerate() {
            // The subject names are serde's names of the kind and the priority.
            let name = serde_json::to_value(kind).unwrap();
            assert_eq!(kind_name(*kind), name.as_str().unwrap());
            assert_eq!(kind_name(*kind), kind.as_str());
            assert_eq!(*kind as usize, k);
            for p in Priority::ALL {
                let prio = serde_json::to_value(p).unwrap();
                assert_eq!(
                    SUBJECTS[k][p.lane()],
                    format!(
                        "{SUBJECT_PREFIX}.{}.{}",
                        name.as_str().unwrap(),
                        prio.as_str().unwrap()
                    )
                );
            }
        }
        let a = PremintCandidate {
            mint: Pubkey([7; 32]),
            slot: 42,
            kind: LaunchKind::PumpSwapPool,
            ..Default::default()
        };
        // The same launch seen by two instances (other local fields) has one id.
        let b = PremintCandidate {
            seq: 99,
            detected_at_ns: 5,
            feed_id: 3,
            score: a.score,
            ..a
        };
        assert_eq!(message_id(&a), message_id(&b));
        assert_eq!(identity(&a), identity(&b));
        let other = PremintCandidate { slot: 43, ..a };
        assert_ne!(message_id(&a), message_id(&other));
        assert_ne!(identity(&a), identity(&other));
    }

    #[test]
    fn round_trip_replaces_the_local_fields() {
        let c = PremintCandidate {
            mint: Pubkey([1; 32]),
            creator: Pubkey([2; 32]),
            slot: 123,
            detected_at_ns: 456,
            seq: 789,
            creator_buy_lamports: 1_000_000,
            score: 77,
            feed_id: 4,
            kind: LaunchKind::RaydiumPool,
            priority: Priority::High,
            signature: Signature([5; 64]),
            market: Pubkey([3; 32]),
            ..PremintCandidate::default()
        };
        let mut buf = Vec::new();
        let meta = LaunchMeta::new("Name", "SYM", "https://u");
        encode(&c, Some(&meta), Some("ws-0"), &mut buf);
        let d = decode(&buf, 1000).unwrap();
        assert_eq!(d.meta, meta);
        assert_eq!(
            d.candidate,
            PremintCandidate {
                detected_at_ns: 1000,
                seq: 0,
                feed_id: 0,
                ..c
            }
        );
        assert_eq!(d.signature, identity(&c));
        // With a signature, the launch's identity is its signature, as a local feed's is.
        assert_eq!(d.signature, Signature([5; 64]));
    }

    #[test]
    fn a_body_from_an_older_publisher_reads_its_missing_fields_as_defaults() {
        let d = decode(
            br#"{"mint":"11111111111111111111111111111111","slot":9}"#,
            1,
        )
        .unwrap();
        assert_eq!(
            (d.candidate.slot, d.candidate.signature),
            (9, Signature::ZERO)
        );
    }

    #[test]
    fn a_later_version_is_refused() {
        assert_eq!(
            decode(br#"{"v":2,"slot":9}"#, 1).unwrap_err(),
            Malformed::WrongShape
        );
        assert!(decode(br#"{"v":1,"slot":9}"#, 1).is_ok());
    }

    #[test]
    fn bad_bodies_have_reasons() {
        assert_eq!(decode(b"", 1).unwrap_err(), Malformed::Empty);
        assert_eq!(
            decode(b"{\"mint\":", 1).unwrap_err(),
            Malformed::TruncatedJson
        );
        assert_eq!(decode(b"{]", 1).unwrap_err(), Malformed::JsonSyntax);
        assert_eq!(
            decode(b"{\"slot\":\"x\"}", 1).unwrap_err(),
            Malformed::WrongShape
        );
        assert_eq!(
            decode(&vec![b' '; MAX_BODY + 1], 1).unwrap_err(),
            Malformed::TooLong
        );
    }
}
