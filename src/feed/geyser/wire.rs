//! A Yellowstone `SubscribeUpdate` read in place: the protobuf wire format walked over the bytes
//! tonic received (field numbers from `yellowstone-grpc-proto`'s `geyser.proto` and
//! `solana-storage.proto`), handing keys, instructions and log lines to the decoder as slices
//! of the message. Decoding it into prost's types instead allocates every key, instruction and
//! log line (a pump.fun create: some 200 allocations) only for the decoder to copy them again.
//!
//! Protobuf's rules kept: fields in any order, unknown fields skipped, repeated fields
//! concatenated, a singular message field given twice read from its last occurrence (prost
//! merges the two; a provider never repeats one). A message that does not parse, or a log line
//! that is not UTF-8 (which prost refuses as well), is [`Malformed::WrongShape`] /
//! [`Malformed::NotUtf8`].

use crate::decode::Malformed;

/// One field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    /// A fixed 32- or 64-bit value (no field read here has one).
    Fixed,
}

/// The fields of one message, in order.
#[derive(Clone, Copy, Debug)]
pub(super) struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Fields(bytes)
    }

    fn varint(&mut self) -> Result<u64, Malformed> {
        let mut v = 0u64;
        for (i, &b) in self.0.iter().enumerate().take(10) {
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.0 = &self.0[i + 1..];
                return Ok(v);
            }
        }
        Err(Malformed::WrongShape)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if self.0.len() < n {
            return Err(Malformed::WrongShape);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }

    /// The next field (number, value), `None` at the end.
    pub(super) fn next_field(&mut self) -> Result<Option<(u32, Value<'a>)>, Malformed> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).map_err(|_| Malformed::WrongShape)?;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed
            }
            2 => {
                let n = usize::try_from(self.varint()?).map_err(|_| Malformed::WrongShape)?;
                Value::Bytes(self.take(n)?)
            }
            5 => {
                self.take(4)?;
                Value::Fixed
            }
            _ => return Err(Malformed::WrongShape),
        };
        if number == 0 {
            return Err(Malformed::WrongShape);
        }
        Ok(Some((number, value)))
    }

    /// Calls `f` with every length-delimited value of field `number`, in order.
    pub(super) fn each_bytes(
        self,
        number: u32,
        mut f: impl FnMut(&'a [u8]) -> Result<(), Malformed>,
    ) -> Result<(), Malformed> {
        let mut it = self;
        while let Some((n, v)) = it.next_field()? {
            if n == number {
                match v {
                    Value::Bytes(b) => f(b)?,
                    _ => return Err(Malformed::WrongShape),
                }
            }
        }
        Ok(())
    }

    /// The last value of the length-delimited field `number` (`None` when absent).
    pub(super) fn last_bytes(self, number: u32) -> Result<Option<&'a [u8]>, Malformed> {
        let mut last = None;
        self.each_bytes(number, |b| {
            last = Some(b);
            Ok(())
        })?;
        Ok(last)
    }

    /// The last value of the varint field `number` (0, protobuf's default, when absent).
    pub(super) fn varint_of(self, number: u32) -> Result<u64, Malformed> {
        let mut it = self;
        let mut last = 0;
        while let Some((n, v)) = it.next_field()? {
            if n == number {
                match v {
                    Value::Varint(x) => last = x,
                    _ => return Err(Malformed::WrongShape),
                }
            }
        }
        Ok(last)
    }
}

/// What a `SubscribeUpdate` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Update<'a> {
    /// A `SubscribeUpdateTransaction` (its bytes).
    Transaction(&'a [u8]),
    /// The server's ping.
    Ping,
    /// Anything else (nothing subscribed to it).
    Other,
}

/// `SubscribeUpdate.update_oneof`: transaction = 4, ping = 6 (the last member present wins).
pub(super) fn update(bytes: &[u8]) -> Result<Update<'_>, Malformed> {
    let mut it = Fields::new(bytes);
    let mut kind = Update::Other;
    while let Some((n, v)) = it.next_field()? {
        kind = match (n, v) {
            (4, Value::Bytes(b)) => Update::Transaction(b),
            (6, Value::Bytes(_)) => Update::Ping,
            (2 | 3 | 5 | 7..=10 | 12 | 13, _) => Update::Other,
            _ => continue,
        };
    }
    Ok(kind)
}

/// The parts of a `SubscribeUpdateTransaction` the decoder reads.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Tx<'a> {
    pub(super) slot: u64,
    /// `SubscribeUpdateTransactionInfo`, when present.
    pub(super) info: Option<Info<'a>>,
}

/// `SubscribeUpdateTransactionInfo`.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Info<'a> {
    pub(super) signature: &'a [u8],
    pub(super) is_vote: bool,
    /// `Transaction.message`, when the transaction and its message are present.
    pub(super) message: Option<&'a [u8]>,
    /// `TransactionStatusMeta`, when present.
    pub(super) meta: Option<&'a [u8]>,
}

/// `SubscribeUpdateTransaction`: transaction = 1, slot = 2; its info: signature = 1,
/// is_vote = 2, transaction = 3 (`Transaction`: message = 2), meta = 4.
pub(super) fn transaction(bytes: &[u8]) -> Result<Tx<'_>, Malformed> {
    let outer = Fields::new(bytes);
    let slot = outer.varint_of(2)?;
    let Some(info) = outer.last_bytes(1)? else {
        return Ok(Tx { slot, info: None });
    };
    let f = Fields::new(info);
    let signature = f.last_bytes(1)?.unwrap_or_default();
    let is_vote = f.varint_of(2)? != 0;
    let message = match f.last_bytes(3)? {
        Some(t) => Fields::new(t).last_bytes(2)?,
        None => None,
    };
    let meta = f.last_bytes(4)?;
    Ok(Tx {
        slot,
        info: Some(Info {
            signature,
            is_vote,
            message,
            meta,
        }),
    })
}

/// A compiled or inner instruction: program_id_index = 1, accounts = 2, data = 3.
pub(super) fn instruction(bytes: &[u8]) -> Result<(u32, &[u8], &[u8]), Malformed> {
    let mut it = Fields::new(bytes);
    let (mut program, mut accounts, mut data) = (0u32, &[][..], &[][..]);
    while let Some((n, v)) = it.next_field()? {
        match (n, v) {
            (1, Value::Varint(p)) => {
                program = u32::try_from(p).map_err(|_| Malformed::WrongShape)?;
            }
            (2, Value::Bytes(b)) => accounts = b,
            (3, Value::Bytes(b)) => data = b,
            (1..=3, _) => return Err(Malformed::WrongShape),
            _ => {}
        }
    }
    Ok((program, accounts, data))
}

/// A log line (`string`: UTF-8, as prost requires).
pub(super) fn text(bytes: &[u8]) -> Result<&str, Malformed> {
    std::str::from_utf8(bytes).map_err(|_| Malformed::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;
    use yellowstone_grpc_proto::geyser::subscribe_update::UpdateOneof;
    use yellowstone_grpc_proto::geyser::{
        SubscribeUpdate, SubscribeUpdatePing, SubscribeUpdateTransaction,
        SubscribeUpdateTransactionInfo,
    };
    use yellowstone_grpc_proto::solana::storage::confirmed_block::{
        CompiledInstruction, Message, Transaction, TransactionStatusMeta,
    };

    fn tx_update() -> SubscribeUpdate {
        SubscribeUpdate {
            filters: vec!["f".into()],
            created_at: None,
            update_oneof: Some(UpdateOneof::Transaction(SubscribeUpdateTransaction {
                transaction: Some(SubscribeUpdateTransactionInfo {
                    signature: vec![9; 64],
                    is_vote: true,
                    transaction: Some(Transaction {
                        signatures: vec![vec![9; 64]],
                        message: Some(Message {
                            account_keys: vec![vec![1; 32], vec![2; 32]],
                            instructions: vec![CompiledInstruction {
                                program_id_index: 300,
                                accounts: vec![0, 1],
                                data: vec![7, 8, 9],
                            }],
                            ..Default::default()
                        }),
                    }),
                    meta: Some(TransactionStatusMeta {
                        log_messages: vec!["Program log: hi".into()],
                        ..Default::default()
                    }),
                    index: 3,
                }),
                slot: 1 << 40,
                bank_id: 0,
            })),
        }
    }

    #[test]
    fn a_prost_encoded_update_reads_back_in_place() {
        let bytes = tx_update().encode_to_vec();
        let Update::Transaction(t) = update(&bytes).unwrap() else {
            panic!("not a transaction")
        };
        let t = transaction(t).unwrap();
        assert_eq!(t.slot, 1 << 40);
        let info = t.info.unwrap();
        assert_eq!((info.signature, info.is_vote), (&[9u8; 64][..], true));
        let msg = Fields::new(info.message.unwrap());
        let mut keys = Vec::new();
        msg.each_bytes(2, |k| {
            keys.push(k.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(keys, vec![vec![1; 32], vec![2; 32]]);
        let mut ixs = Vec::new();
        msg.each_bytes(4, |ix| {
            ixs.push(instruction(ix)?);
            Ok(())
        })
        .unwrap();
        assert_eq!(ixs, vec![(300, &[0u8, 1][..], &[7u8, 8, 9][..])]);
        let mut logs = Vec::new();
        Fields::new(info.meta.unwrap())
            .each_bytes(6, |l| {
                logs.push(text(l)?.to_owned());
                Ok(())
            })
            .unwrap();
        assert_eq!(logs, ["Program log: hi"]);
    }

    #[test]
    fn pings_and_bad_bytes_are_told_apart() {
        let ping = SubscribeUpdate {
            filters: vec![],
            created_at: None,
            update_oneof: Some(UpdateOneof::Ping(SubscribeUpdatePing {})),
        };
        assert_eq!(update(&ping.encode_to_vec()).unwrap(), Update::Ping);
        assert_eq!(update(&[]).unwrap(), Update::Other);
        let bytes = tx_update().encode_to_vec();
        for cut in [1, 5, bytes.len() / 2, bytes.len() - 1] {
            assert_eq!(
                update(&bytes[..cut]),
                Err(Malformed::WrongShape),
                "cut at {cut}"
            );
        }
        assert_eq!(update(&[0x22, 0x80]), Err(Malformed::WrongShape));
        assert_eq!(text(&[0xff, 0xfe]), Err(Malformed::NotUtf8));
    }
}
