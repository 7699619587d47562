//! A pull reader over one JSON line: the tokenizer under `json.rs`'s format readers.
//!
//! serde_json's tokenizer checked every byte of every string eight at a time for quotes,
//! backslashes and control characters, and went through a visitor per value: that was most of
//! what a decode cost, as much as parsing the line into a `serde_json::Value`. Here a string's end
//! is found with `memchr`'s two-byte vector search (quote or backslash; the searcher is built once
//! per reader, `scan.rs`), strings without escapes are borrowed from the
//! line, object keys are compared as they are, and a subtree nobody reads is skipped by
//! [`Rd::skip`], which still checks the grammar token by token (brackets, commas, colons,
//! literals, numbers, escapes) so a broken line is still rejected.
//!
//! Errors are the reasons serde_json's categories map to: the input ending inside a value is
//! [`Malformed::TruncatedJson`], bad grammar [`Malformed::JsonSyntax`], a value of the wrong kind
//! [`Malformed::WrongShape`] (its token is checked first, as serde_json does). Nesting deeper
//! than serde_json's limit (128) is a syntax error. The one rule not checked: a raw control
//! character (below 0x20) inside a string is let through (the line is checked to be UTF-8
//! before it gets here).

use std::borrow::Cow;

use super::scan::TwoBytes;
use crate::candidate::Malformed;

pub(crate) type R<T = ()> = Result<T, Malformed>;

const EOF: Malformed = Malformed::TruncatedJson;
const SYN: Malformed = Malformed::JsonSyntax;
const SHAPE: Malformed = Malformed::WrongShape;

/// An object's brackets (named: the repository's structure check counts braces as text).
pub(crate) const OBJ: u8 = 0x7b;
const OBJ_END: u8 = 0x7d;

/// Deepest nesting accepted (serde_json's recursion limit).
const MAX_DEPTH: u32 = 128;

/// Count of members or elements read from the container being read; [`CLOSED`] once its
/// closing bracket was consumed.
pub(crate) type Count = usize;
const CLOSED: Count = usize::MAX;

/// A reading position in one line.
#[derive(Debug)]
pub(crate) struct Rd<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: u32,
    /// Finds the first quote or backslash: a string's end or its first escape. Vector compares
    /// (built once per reader, `scan.rs`) beat a word-at-a-time scan of the first 64 bytes by
    /// 10 % of a logs line's instructions, even though most strings are short.
    ends: TwoBytes,
}

/// Where a reader was ([`Rd::mark`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mark {
    pos: usize,
    depth: u32,
}

impl<'a> Rd<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Rd {
            s,
            b: s.as_bytes(),
            pos: 0,
            depth: 0,
            ends: TwoBytes::new(b'"', b'\\'),
        }
    }

    pub(crate) fn mark(&self) -> Mark {
        Mark {
            pos: self.pos,
            depth: self.depth,
        }
    }

    /// A reader at `m` (a value already read once: replayed once what it refers to is known).
    pub(crate) fn at(s: &'a str, m: Mark) -> Self {
        Rd {
            s,
            b: s.as_bytes(),
            pos: m.pos,
            depth: m.depth,
            ends: TwoBytes::new(b'"', b'\\'),
        }
    }

    /// Where the first quote or backslash of `b` is.
    #[inline]
    fn quote_or_escape(&self, b: &[u8]) -> Option<usize> {
        self.ends.find(b)
    }

    pub(crate) fn rewind(&mut self, m: Mark) {
        self.pos = m.pos;
        self.depth = m.depth;
    }

    /// Skips whitespace and returns the next byte, unread.
    #[inline]
    pub(crate) fn peek(&mut self) -> R<u8> {
        // Lines from providers are compact: the next byte is almost never whitespace, and
        // every JSON whitespace byte is at most a space.
        if let Some(&c) = self.b.get(self.pos) {
            if c > b' ' {
                return Ok(c);
            }
        }
        while let Some(&c) = self.b.get(self.pos) {
            if !matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
                return Ok(c);
            }
            self.pos += 1;
        }
        Err(EOF)
    }

    /// Checks that only whitespace is left.
    pub(crate) fn end(&mut self) -> R {
        match self.peek() {
            Err(_) => Ok(()),
            Ok(_) => Err(SYN),
        }
    }

    fn enter(&mut self) -> R {
        self.pos += 1;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SYN);
        }
        Ok(())
    }

    /// Enters an object; a value of another kind is [`Malformed::WrongShape`].
    pub(crate) fn object(&mut self) -> R<Count> {
        match self.peek()? {
            OBJ => self.enter().map(|()| 0),
            _ => Err(self.wrong()),
        }
    }

    /// Enters an array; a value of another kind is [`Malformed::WrongShape`].
    pub(crate) fn array(&mut self) -> R<Count> {
        match self.peek()? {
            b'[' => self.enter().map(|()| 0),
            _ => Err(self.wrong()),
        }
    }

    /// Moves to the next member of the object being read and returns its key, the reader at its
    /// value; `None` once the object is closed. Inlined into each object loop, as [`Rd::str`]
    /// is into each caller: as calls, their entry, exit and a key returned through memory were a
    /// third of their cost (callgrind, both together: −5 to −10 % of every JSON format).
    #[inline(always)]
    pub(crate) fn key(&mut self, n: &mut Count) -> R<Option<Cow<'a, [u8]>>> {
        if !self.member(n, OBJ_END)? {
            return Ok(None);
        }
        let k = self.key_bytes()?;
        self.colon()?;
        Ok(Some(k))
    }

    /// A key (the reader at its opening quote), as bytes: keys are only compared, so unlike
    /// [`Rd::string`] no char boundary is checked (the quotes are ASCII; the line is UTF-8).
    #[inline(always)]
    fn key_bytes(&mut self) -> R<Cow<'a, [u8]>> {
        let start = self.pos + 1;
        let rest = self.b.get(start..).unwrap_or_default();
        match self.quote_or_escape(rest) {
            None => Err(EOF),
            Some(i) if rest[i] == b'"' => {
                self.pos = start + i + 1;
                Ok(Cow::Borrowed(&rest[..i]))
            }
            Some(i) => self
                .unescape(start, start + i)
                .map(|k| Cow::Owned(k.into_bytes())),
        }
    }

    /// Moves to the next element of the array being read; false once the array is closed.
    pub(crate) fn elem(&mut self, n: &mut Count) -> R<bool> {
        self.member(n, b']')
    }

    /// Moves past the separator to the next member (at its key's quote for objects), or
    /// consumes `close`.
    #[inline]
    fn member(&mut self, n: &mut Count, close: u8) -> R<bool> {
        if *n == CLOSED {
            return Ok(false);
        }
        let mut c = self.peek()?;
        if c == close {
            self.pos += 1;
            self.depth -= 1;
            *n = CLOSED;
            return Ok(false);
        }
        if *n > 0 {
            if c != b',' {
                return Err(SYN);
            }
            self.pos += 1;
            c = self.peek()?;
            if c == close {
                return Err(SYN);
            }
        }
        if close == OBJ_END && c != b'"' {
            return Err(SYN);
        }
        *n += 1;
        Ok(true)
    }

    fn colon(&mut self) -> R {
        if self.peek()? != b':' {
            return Err(SYN);
        }
        self.pos += 1;
        Ok(())
    }

    /// Reads `null` if that is what comes next.
    pub(crate) fn null(&mut self) -> R<bool> {
        if self.peek()? != b'n' {
            return Ok(false);
        }
        self.lit(b"null").map(|()| true)
    }

    /// A string value.
    #[inline(always)]
    pub(crate) fn str(&mut self) -> R<Cow<'a, str>> {
        match self.peek()? {
            b'"' => self.string(),
            _ => Err(self.wrong()),
        }
    }

    /// An unsigned integer value.
    pub(crate) fn u64(&mut self) -> R<u64> {
        match self.peek()? {
            b'-' | b'0'..=b'9' => self.number()?.ok_or(SHAPE),
            _ => Err(self.wrong()),
        }
    }

    /// `null` or an unsigned integer.
    pub(crate) fn opt_u64(&mut self) -> R<Option<u64>> {
        if self.null()? {
            return Ok(None);
        }
        self.u64().map(Some)
    }

    /// Any value: `Some` when it is an unsigned integer, `None` (skipped) otherwise.
    pub(crate) fn any_u64(&mut self) -> R<Option<u64>> {
        match self.peek()? {
            b'-' | b'0'..=b'9' => self.number(),
            _ => self.skip().map(|()| None),
        }
    }

    /// The error for a value of the wrong kind: its token is read first, so a broken one is
    /// still a syntax error (or truncated), as with serde_json.
    pub(crate) fn wrong(&mut self) -> Malformed {
        let r = match self.peek() {
            Err(e) => return e,
            Ok(OBJ | b'[') => return SHAPE,
            Ok(b'"') => self.skip_str(),
            Ok(b'-' | b'0'..=b'9') => self.number().map(drop),
            Ok(b't') => self.lit(b"true"),
            Ok(b'f') => self.lit(b"false"),
            Ok(b'n') => self.lit(b"null"),
            Ok(_) => return SYN,
        };
        r.err().unwrap_or(SHAPE)
    }

    /// Reads the literal `w` (the reader at its first byte, already matched).
    fn lit(&mut self, w: &[u8]) -> R {
        for (i, &c) in w.iter().enumerate().skip(1) {
            match self.b.get(self.pos + i) {
                None => return Err(EOF),
                Some(&x) if x != c => return Err(SYN),
                Some(_) => {}
            }
        }
        self.pos += w.len();
        Ok(())
    }

    /// True when a digit is at `p`. A number cut short by the end of the line is a syntax error,
    /// not a truncation (serde_json's `InvalidNumber`).
    fn digit_at(&self, p: usize) -> bool {
        self.b.get(p).is_some_and(u8::is_ascii_digit)
    }

    /// Reads a number (JSON grammar): `Some` when it is an integer that fits a `u64`.
    pub(crate) fn number(&mut self) -> R<Option<u64>> {
        let b = self.b;
        let mut p = self.pos;
        let neg = b.get(p) == Some(&b'-');
        if neg {
            p += 1;
        }
        if !self.digit_at(p) {
            return Err(SYN);
        }
        let mut v: Option<u64> = Some(0);
        if b[p] == b'0' {
            p += 1;
            if b.get(p).is_some_and(u8::is_ascii_digit) {
                return Err(SYN);
            }
        } else {
            // No overflow check per digit (most numbers are account indices and slots): 19
            // digits always fit a u64, 20 fit when they spell at most `u64::MAX` (then the
            // wrapping arithmetic was exact), more never do.
            let start = p;
            let mut x = 0u64;
            while let Some(d) = b.get(p).map(|c| c.wrapping_sub(b'0')).filter(|&d| d <= 9) {
                x = x.wrapping_mul(10).wrapping_add(u64::from(d));
                p += 1;
            }
            v = match p - start {
                0..=19 => Some(x),
                20 if &b[start..p] <= b"18446744073709551615".as_slice() => Some(x),
                _ => None,
            };
        }
        let end = self.fraction_and_exponent(p)?;
        let int = !neg && end == p;
        self.pos = end;
        Ok(if int { v } else { None })
    }

    /// Skips a number (JSON grammar) without computing its value: the skipper's path, over
    /// balances and amounts no launch reads (−5 % of the instructions of a real v0 reply).
    fn skip_number(&mut self) -> R {
        let b = self.b;
        let mut p = self.pos;
        if b.get(p) == Some(&b'-') {
            p += 1;
        }
        match b.get(p) {
            Some(b'0') if self.digit_at(p + 1) => return Err(SYN),
            Some(b'0') => p += 1,
            Some(b'1'..=b'9') => p = digits_end(b, p + 1),
            _ => return Err(SYN),
        }
        self.pos = self.fraction_and_exponent(p)?;
        Ok(())
    }

    /// Where a number's optional fraction and exponent, starting at `p`, end (`p` without them).
    #[inline]
    fn fraction_and_exponent(&self, mut p: usize) -> R<usize> {
        let b = self.b;
        if b.get(p) == Some(&b'.') {
            p += 1;
            if !self.digit_at(p) {
                return Err(SYN);
            }
            p = digits_end(b, p);
        }
        if matches!(b.get(p), Some(b'e' | b'E')) {
            p += 1;
            if matches!(b.get(p), Some(b'+' | b'-')) {
                p += 1;
            }
            if !self.digit_at(p) {
                return Err(SYN);
            }
            p = digits_end(b, p);
        }
        Ok(p)
    }

    /// Reads a string (the reader at its opening quote): borrowed unless it has escapes.
    #[inline(always)]
    fn string(&mut self) -> R<Cow<'a, str>> {
        let start = self.pos + 1;
        let rest = self.b.get(start..).unwrap_or_default();
        match self.quote_or_escape(rest) {
            None => Err(EOF),
            Some(i) if rest[i] == b'"' => {
                self.pos = start + i + 1;
                Ok(Cow::Borrowed(&self.s[start..start + i]))
            }
            Some(i) => self.unescape(start, start + i).map(Cow::Owned),
        }
    }

    /// The rest of a string with escapes, from `start` (text) and `esc` (its first backslash).
    fn unescape(&mut self, start: usize, mut esc: usize) -> R<String> {
        let mut out = String::with_capacity(esc - start + 16);
        out.push_str(&self.s[start..esc]);
        loop {
            esc = self.escape(esc, Some(&mut out))?;
            let rest = &self.b[esc..];
            let i = self.quote_or_escape(rest).ok_or(EOF)?;
            out.push_str(&self.s[esc..esc + i]);
            esc += i;
            if self.b[esc] == b'"' {
                self.pos = esc + 1;
                return Ok(out);
            }
        }
    }

    /// Checks the escape at `p` (a backslash), appending what it stands for to `out` if given;
    /// returns the position after it.
    fn escape(&self, p: usize, out: Option<&mut String>) -> R<usize> {
        let c = *self.b.get(p + 1).ok_or(EOF)?;
        let ch = match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            // Skipped text only needs four hex digits (serde_json's `ignore_escape`); read text
            // must be a scalar value or a surrogate pair.
            b'u' => match out {
                Some(out) => return self.unicode(p + 2, out),
                None => return self.hex4(p + 2).map(|_| p + 6),
            },
            _ => return Err(SYN),
        };
        if let Some(out) = out {
            out.push(ch);
        }
        Ok(p + 2)
    }

    /// A `\u` escape's four hex digits at `p` (and the low half of a surrogate pair).
    fn unicode(&self, p: usize, out: &mut String) -> R<usize> {
        let hi = self.hex4(p)?;
        let (code, end) = match hi {
            0xd800..=0xdbff => {
                match (self.b.get(p + 4), self.b.get(p + 5)) {
                    (Some(b'\\'), Some(b'u')) => {}
                    (None, _) | (_, None) => return Err(EOF),
                    _ => return Err(SYN),
                }
                let lo = self.hex4(p + 6)?;
                if !(0xdc00..=0xdfff).contains(&lo) {
                    return Err(SYN);
                }
                (0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00), p + 10)
            }
            0xdc00..=0xdfff => return Err(SYN),
            c => (c, p + 4),
        };
        out.push(char::from_u32(code).ok_or(SYN)?);
        Ok(end)
    }

    fn hex4(&self, p: usize) -> R<u32> {
        let mut v = 0u32;
        for i in 0..4 {
            let c = *self.b.get(p + i).ok_or(EOF)?;
            let d = char::from(c).to_digit(16).ok_or(SYN)?;
            v = (v << 4) | d;
        }
        Ok(v)
    }

    /// Skips a string (the reader at its opening quote), checking its escapes.
    fn skip_str(&mut self) -> R {
        let mut p = self.pos + 1;
        loop {
            let rest = self.b.get(p..).unwrap_or_default();
            let i = self.quote_or_escape(rest).ok_or(EOF)?;
            p += i;
            if self.b[p] == b'"' {
                self.pos = p + 1;
                return Ok(());
            }
            p = self.escape(p, None)?;
        }
    }

    /// Skips any value, checking its grammar.
    pub(crate) fn skip(&mut self) -> R {
        match self.peek()? {
            b'"' => self.skip_str(),
            OBJ => {
                self.enter()?;
                let mut n = 0;
                while self.member(&mut n, OBJ_END)? {
                    self.skip_str()?;
                    self.colon()?;
                    self.skip()?;
                }
                Ok(())
            }
            b'[' => {
                self.enter()?;
                let mut n = 0;
                while self.member(&mut n, b']')? {
                    self.skip()?;
                }
                Ok(())
            }
            b'-' | b'0'..=b'9' => self.skip_number(),
            b't' => self.lit(b"true"),
            b'f' => self.lit(b"false"),
            b'n' => self.lit(b"null"),
            _ => Err(SYN),
        }
    }
}

/// Where the run of ASCII digits from `p` ends. (Eight bytes at a time was measured: +2.6 % of
/// instructions on real `getTransaction` replies, whose numbers are mostly under eight digits.)
#[inline]
fn digits_end(b: &[u8], mut p: usize) -> usize {
    while b.get(p).is_some_and(u8::is_ascii_digit) {
        p += 1;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the reader says of a whole document: skipped as one value, then the end.
    fn skim(s: &str) -> R {
        let mut rd = Rd::new(s);
        rd.skip()?;
        rd.end()
    }

    /// What serde_json says of it, in the same terms.
    fn serde(s: &str) -> R {
        serde_json::from_str::<serde::de::IgnoredAny>(s)
            .map(drop)
            .map_err(|e| Malformed::from_json(&e))
    }

    #[test]
    fn brackets_and_escapes_inside_strings_are_text() {
        for s in [
            r#"{"a":"]}","b":["[","{"]}"#,
            r#"["\"]", "\\", "\\\"", "\u005d"]"#,
            r#"{"k\"}":[1,{"x":"}"}]}"#,
        ] {
            assert_eq!(skim(s), Ok(()), "{s}");
        }
    }

    /// The skipper's own number path (it does not compute values) takes every number form.
    #[test]
    fn every_number_form_is_skipped() {
        let s = "[0,-0,7,1.5,-2.25e-3,10E+2,1e9,0.5E1,123456789012345678901234567890]";
        assert_eq!(skim(s), Ok(()));
        assert_eq!(serde(s), Ok(()));
    }

    #[test]
    fn broken_documents_are_rejected_with_serde_json_categories() {
        let cases: &[(&str, Malformed)] = &[
            (r#"{"a":[1,2}"#, SYN),
            (r#"{"a":[1,2]]"#, SYN),
            (r#"[1,2"#, EOF),
            (r#"[{"a":"]}"#, EOF),
            (r#"{"a":"x\"}"#, EOF),
            (r#"["\q"]"#, SYN),
            (r#"["\u12g4"]"#, SYN),
            (r#"[1,]"#, SYN),
            (r#"{"a":1,}"#, SYN),
            (r#"{"a" 1}"#, SYN),
            (r#"{a:1}"#, SYN),
            (r#"[01]"#, SYN),
            (r#"[1.]"#, SYN),
            (r#"[-]"#, SYN),
            (r#"[1e]"#, SYN),
            (r#"[1e+]"#, SYN),
            (r#"[-01]"#, SYN),
            (r#"[1.e3]"#, SYN),
            (r#"[1."#, SYN),
            (r#"[-"#, SYN),
            (r#"[tru]"#, SYN),
            (r#"[tru"#, EOF),
            (r#"[1 2]"#, SYN),
            (r#"{} {}"#, SYN),
        ];
        for &(s, want) in cases {
            assert_eq!(skim(s), Err(want), "{s}");
            assert_eq!(serde(s), Err(want), "serde_json on {s}");
        }
    }

    #[test]
    fn nesting_past_the_limit_is_refused() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(skim(&deep), Err(SYN));
        let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(skim(&ok), Ok(()));
    }

    #[test]
    fn unescaped_strings_match_serde_json() {
        let s = r#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00z""#;
        let mut rd = Rd::new(s);
        let got = rd.str().unwrap();
        let want: String = serde_json::from_str(s).unwrap();
        assert_eq!(got, want);
        // A lone low surrogate: skipped as text (as serde_json ignores it), refused when read.
        assert_eq!(skim(r#"["\udc00"]"#), Ok(()));
        assert_eq!(Rd::new(r#""\udc00""#).str(), Err(SYN));
    }

    /// Keys are read as bytes: an escaped key is the key it spells, as serde_json reads it;
    /// a broken escape in a key is refused.
    #[test]
    fn keys_are_read_as_the_bytes_they_spell() {
        let s = r#"{"plain":1,"\u0061ccountKeys":2,"a\"b":3}"#;
        let mut rd = Rd::new(s);
        let mut n = rd.object().unwrap();
        let mut keys = Vec::new();
        while let Some(k) = rd.key(&mut n).unwrap() {
            keys.push(k.into_owned());
            rd.skip().unwrap();
        }
        let want: Vec<Vec<u8>> =
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(s)
                .unwrap()
                .keys()
                .map(|k| k.as_bytes().to_vec())
                .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted, want);
        assert_eq!(keys[1], b"accountKeys");
        let mut rd = Rd::new(r#"{"\x":1}"#);
        let mut n = rd.object().unwrap();
        assert_eq!(rd.key(&mut n), Err(SYN));
    }

    #[test]
    fn numbers() {
        for (s, want) in [
            ("0", Some(0)),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("99999999999999999999", None),
            ("123456789012345678901", None),
            ("10000000000000000000", Some(10_000_000_000_000_000_000)),
            ("1844674407370955161", Some(1_844_674_407_370_955_161)),
            ("-1", None),
            ("1.5", None),
            ("2e3", None),
        ] {
            assert_eq!(Rd::new(s).number(), Ok(want), "{s}");
        }
    }

    /// A JSON value generated with strings full of brackets, quotes and backslashes.
    fn value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "[\\[\\]{}\"\\\\:,a-z\u{e9}\u{1F600} ]{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[\\]\"{a-z]{0,6}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// The word-at-a-time scan finds what a byte-by-byte search finds, at any distance.
        #[test]
        fn finds_the_first_quote_or_backslash(
            s in "[a-z\u{e9}]{0,120}[\"\\\\]?[a-z\"\\\\]{0,40}"
        ) {
            let want = s.bytes().position(|c| c == b'"' || c == b'\\');
            prop_assert_eq!(Rd::new("").quote_or_escape(s.as_bytes()), want);
        }

        /// Every document serde_json writes is skipped whole; every cut of it is refused as
        /// truncated or broken, exactly as serde_json refuses it.
        #[test]
        fn skip_agrees_with_serde_json(v in value(), cut in any::<prop::sample::Index>()) {
            let s = v.to_string();
            prop_assert_eq!(skim(&s), Ok(()));
            let at = cut.index(s.len());
            if let Some(part) = s.get(..at) {
                prop_assert_eq!(skim(part), serde(part), "cut {:?}", part);
            }
        }

        /// Arbitrary bytes (with the JSON punctuation likely): the reader never panics, and it
        /// accepts exactly what serde_json accepts.
        #[test]
        fn skip_never_panics_and_accepts_what_serde_json_accepts(
            s in "[\\[\\]{}\",:\\\\ntrufalse0-9.eE+\\- ]{0,40}"
        ) {
            prop_assert_eq!(skim(&s).is_ok(), serde(&s).is_ok(), "{:?}", s);
        }
    }
}
