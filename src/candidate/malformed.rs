//! [`Malformed`]: the one reason a line could not be decoded.
//!
//! Every way an input line can be bad maps to exactly one variant with a stable snake_case name
//! ([`Malformed::as_str`]), so the engine can keep one `tx_malformed` counter per reason without
//! parsing error messages. The decoders produce it and ingest and metrics count it, so it lives
//! here beside the record, below all of them; it is not in `error.rs` because it is a reason for a
//! count, not an error a caller handles.

use std::fmt;

/// Why an input line (or a binary payload inside it) was rejected.
///
/// # Examples
///
/// ```
/// use sniffer::decode::{Decoder, Format, Malformed};
///
/// let mut dec = Decoder::new(Format::Auto);
/// let mut out = Vec::new();
/// assert_eq!(dec.decode_line(b"   ", &mut out), Err(Malformed::Empty));
/// assert_eq!(Malformed::Empty.as_str(), "empty");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Malformed {
    /// The line is empty or only whitespace.
    Empty,
    /// The line is longer than the decoder's `max_line_len`.
    TooLong,
    /// The line is not valid UTF-8.
    NotUtf8,
    /// The JSON document ends early.
    TruncatedJson,
    /// The JSON text is not well-formed (or has trailing garbage).
    JsonSyntax,
    /// The JSON is well-formed but a field has the wrong type or a required field is missing.
    WrongShape,
    /// The document matches none of the known formats (or not the one the decoder was set to).
    UnknownFormat,
    /// A base58 field is not base58 (or is longer than any value it may hold).
    InvalidBase58,
    /// A base64 field is not base64.
    InvalidBase64,
    /// A public key does not have 32 bytes.
    KeyLength,
    /// A signature does not have 64 bytes.
    SignatureLength,
    /// A Borsh string or vector length is larger than the bytes left or the sanity cap.
    BorshLength,
    /// A binary payload (instruction, event, wire transaction) ends early.
    TruncatedData,
    /// A binary value is out of range (a bool that is not 0 or 1, a string that is not UTF-8).
    InvalidValue,
    /// A wire transaction is malformed (bad compact-u16, unknown message version, bad header).
    BadWire,
    /// An account index points outside the transaction's account keys.
    AccountIndex,
    /// A transaction read without its execution (a ShredStream entry) holds a launch whose
    /// mint, market or creator sits in an address table, which the entry does not carry: it is
    /// counted, never guessed.
    UnresolvedLookup,
}

impl Malformed {
    /// Every reason, in declaration order (handy to pre-register one counter per reason).
    pub const ALL: [Malformed; 17] = [
        Malformed::Empty,
        Malformed::TooLong,
        Malformed::NotUtf8,
        Malformed::TruncatedJson,
        Malformed::JsonSyntax,
        Malformed::WrongShape,
        Malformed::UnknownFormat,
        Malformed::InvalidBase58,
        Malformed::InvalidBase64,
        Malformed::KeyLength,
        Malformed::SignatureLength,
        Malformed::BorshLength,
        Malformed::TruncatedData,
        Malformed::InvalidValue,
        Malformed::BadWire,
        Malformed::AccountIndex,
        Malformed::UnresolvedLookup,
    ];

    /// The stable metric label of this reason.
    pub const fn as_str(self) -> &'static str {
        match self {
            Malformed::Empty => "empty",
            Malformed::TooLong => "too_long",
            Malformed::NotUtf8 => "not_utf8",
            Malformed::TruncatedJson => "truncated_json",
            Malformed::JsonSyntax => "json_syntax",
            Malformed::WrongShape => "wrong_shape",
            Malformed::UnknownFormat => "unknown_format",
            Malformed::InvalidBase58 => "invalid_base58",
            Malformed::InvalidBase64 => "invalid_base64",
            Malformed::KeyLength => "key_length",
            Malformed::SignatureLength => "signature_length",
            Malformed::BorshLength => "borsh_length",
            Malformed::TruncatedData => "truncated_data",
            Malformed::InvalidValue => "invalid_value",
            Malformed::BadWire => "bad_wire",
            Malformed::AccountIndex => "account_index",
            Malformed::UnresolvedLookup => "unresolved_lookup",
        }
    }

    /// Maps a serde_json error to the reason it stands for (the decoder's reader gives the same
    /// reasons; its tests compare the two).
    #[cfg(test)]
    pub(crate) fn from_json(e: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        match e.classify() {
            Category::Eof => Malformed::TruncatedJson,
            Category::Syntax | Category::Io => Malformed::JsonSyntax,
            Category::Data => Malformed::WrongShape,
        }
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for Malformed {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_snake_case() {
        let mut names: Vec<_> = Malformed::ALL.iter().map(|m| m.as_str()).collect();
        assert!(names.iter().all(|n| n
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Malformed::ALL.len());
    }
}
