//! The feeds' per-message decoders without a connection ([`sniffer::feed::decode_grpc_update`],
//! [`sniffer::feed::decode_shred_entries`]): real launches as a Yellowstone update's bytes and
//! as ShredStream entries give the launches of their JSON forms (the entries' marked not
//! executed); votes and other updates give none; bytes that are not such a message are refused
//! with a reason.
#![cfg(all(feature = "geyser", feature = "shredstream"))]

mod geyserserver;
mod samples;
mod shredserver;

use geyserserver::Tx;
use prost::Message as _;
use samples::launchpads::{load, Sample};
use shredserver::entries;
use sniffer::decode::{Decoded, Decoder, Malformed};
use sniffer::feed::{decode_grpc_update, decode_shred_entries};
use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
use yellowstone_grpc_proto::geyser::{SubscribeUpdate, SubscribeUpdatePing};

/// Real launches of several programs, each with its signed wire form.
const LAUNCHES: &[&str] = &[
    "pumpfun_create_v2_blocksubscribe_5EDHe12K",
    "launchlab_init_token2022_5RfEZ834",
    "dbc_init_spl_token_5hsqkSAZ",
];
/// A real non-launch with its signed wire form.
const NOT_A_LAUNCH: &str = "launchlab_buy_exact_in_cpi_8QTg427x";

/// A sample as the scripted server's transaction.
fn tx(s: &Sample) -> Tx {
    Tx::from_json(s.slot(), s.tx(), s.meta())
}

/// The launch of a sample's `getTransaction` JSON form.
fn json_launch(s: &Sample) -> Decoded {
    let form = s.forms().into_iter().find(|f| f.name == "json").unwrap();
    let mut d = s.decode(&form).unwrap();
    assert_eq!(d.len(), 1, "{}", s.name);
    d.remove(0)
}

#[test]
fn grpc_update_bytes_give_the_launches_of_their_json_form() {
    let mut dec = Decoder::default();
    for name in LAUNCHES {
        let s = load(name);
        let bytes = tx(&s).update().encode_to_vec();
        let mut out = Vec::new();
        assert_eq!(
            decode_grpc_update(&mut dec, &bytes, &mut out),
            Ok(1),
            "{name}"
        );
        let want = json_launch(&s);
        assert_eq!(out[0].candidate, want.candidate, "{name}");
        assert_eq!(out[0].meta, want.meta, "{name}");
    }
    // A non-launch, a failed launch, a vote and a ping: nothing.
    let mut out = Vec::new();
    let quiet = tx(&load(NOT_A_LAUNCH)).update().encode_to_vec();
    assert_eq!(decode_grpc_update(&mut dec, &quiet, &mut out), Ok(0));
    let mut failed = tx(&load(LAUNCHES[0]));
    failed.failed = true;
    let failed = failed.update().encode_to_vec();
    assert_eq!(decode_grpc_update(&mut dec, &failed, &mut out), Ok(0));
    let mut vote = tx(&load(LAUNCHES[0])).update();
    if let Some(UpdateOneof::Transaction(t)) = &mut vote.update_oneof {
        t.transaction.as_mut().unwrap().is_vote = true;
    }
    let vote = vote.encode_to_vec();
    assert_eq!(decode_grpc_update(&mut dec, &vote, &mut out), Ok(0));
    let ping = SubscribeUpdate {
        update_oneof: Some(UpdateOneof::Ping(SubscribeUpdatePing {})),
        ..Default::default()
    };
    let ping = ping.encode_to_vec();
    assert_eq!(decode_grpc_update(&mut dec, &ping, &mut out), Ok(0));
    assert!(out.is_empty());
    // A field whose length runs past the end.
    assert_eq!(
        decode_grpc_update(&mut dec, &[0x22, 0x7f, 1], &mut out),
        Err(Malformed::WrongShape)
    );
}

#[test]
fn shred_entries_give_every_launch_unexecuted() {
    let wire = |n: &str| load(n).wire().unwrap();
    let mut txs: Vec<Vec<u8>> = LAUNCHES.iter().map(|n| wire(n)).collect();
    txs.insert(1, wire(NOT_A_LAUNCH));
    // Two entries: the first launch and the non-launch, then the other two launches.
    let msg = entries(&[txs[..2].to_vec(), txs[2..].to_vec()]);
    let mut dec = Decoder::default();
    let mut out = Vec::new();
    assert_eq!(decode_shred_entries(&mut dec, 7, &msg, &mut out), Ok(3));
    for (d, name) in out.iter().zip(LAUNCHES) {
        let want = json_launch(&load(name));
        assert_eq!(d.candidate.mint, want.candidate.mint, "{name}");
        assert_eq!(d.candidate.kind, want.candidate.kind, "{name}");
        assert!(!d.candidate.executed, "{name}");
        assert_eq!(d.candidate.slot, 7, "{name}");
    }
    // Cut inside the last transaction: refused, with a reason.
    let mut out = Vec::new();
    let cut = &msg[..msg.len() - 10];
    assert!(decode_shred_entries(&mut dec, 7, cut, &mut out).is_err());
    assert_eq!(
        decode_shred_entries(&mut dec, 7, &[1, 2, 3], &mut out),
        Err(Malformed::TruncatedData)
    );
}
