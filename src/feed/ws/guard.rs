//! [`FrameGuard`]: sits between the (TLS) byte stream and tungstenite and cuts oversized
//! messages out of the server's frame stream before tungstenite buffers them.
//!
//! tungstenite can refuse a frame over `max_frame_size`, but its refusal is a fatal error: the
//! rest of the frame is still in the socket, so the connection has to be dropped, and every
//! notification behind the big one is lost with it. The guard instead parses the server→client
//! frame headers (RFC 6455 §5.2) as the bytes go by:
//!
//! - the HTTP handshake response passes through untouched (up to its blank line);
//! - a control frame, or a single-frame message of at most `max` payload bytes, passes through
//!   as it arrives (nothing is copied aside);
//! - a single-frame message over `max` is replaced by an *empty* frame with the same first byte
//!   (FIN, opcode) and its payload is read and discarded as it arrives;
//! - a fragmented message is held back, headers included, while it stays within `max` bytes and
//!   released whole when its final fragment arrives; once it passes `max`, what was held is
//!   dropped, the rest of its fragments are discarded, and one empty final frame with the
//!   message's opcode stands in for it. (Holding fragments back keeps an oversized text message
//!   from reaching tungstenite cut inside a UTF-8 sequence, which it would reject as fatal.)
//!
//! Each replaced message adds one to [`FrameGuard::too_long`], which the feed reads to count it
//! as `too_long`. Memory is bounded by `max` plus one frame header, whatever the server sends.
//! Protocol violations (a continuation with no message open, a new message inside a fragmented
//! one) pass through unchanged: tungstenite reports them and the feed reconnects.

use std::io::{self, Read, Write};

/// Bytes read from the inner stream at a time.
const IN_CHUNK: usize = 16 * 1024;
const OP_CONTINUATION: u8 = 0x0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The HTTP response: pass bytes through until `\r\n\r\n`; `matched` bytes of it seen.
    Http { matched: u8 },
    /// Collecting a frame header.
    Header,
    /// Passing `n` payload bytes straight through.
    Pass(u64),
    /// Discarding `n` payload bytes; `end_msg`: this frame ends an oversized message.
    Skip { n: u64, end_msg: bool },
    /// Holding `n` payload bytes of a fragmented message; `end_msg`: its final fragment.
    Hold { n: u64, end_msg: bool },
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct FrameGuard<S> {
    inner: S,
    max: u64,
    state: State,
    hdr: [u8; 14],
    hdr_have: usize,
    input: Box<[u8]>,
    in_pos: usize,
    in_len: usize,
    /// Bytes ready for the caller (rewritten headers, released fragments).
    out: Vec<u8>,
    out_pos: usize,
    /// A fragmented message is open.
    frag_open: bool,
    /// First byte of its first frame (for the stand-in frame).
    frag_first: u8,
    /// Bytes of it so far, headers included.
    frag_len: u64,
    frag_over: bool,
    /// Held fragments (headers and payloads).
    held: Vec<u8>,
    too_long: u64,
}

impl<S> FrameGuard<S> {
    pub(crate) fn new(inner: S, max: usize) -> Self {
        FrameGuard {
            inner,
            max: max as u64,
            state: State::Http { matched: 0 },
            hdr: [0; 14],
            hdr_have: 0,
            input: vec![0; IN_CHUNK].into_boxed_slice(),
            in_pos: 0,
            in_len: 0,
            out: Vec::new(),
            out_pos: 0,
            frag_open: false,
            frag_first: 0,
            frag_len: 0,
            frag_over: false,
            held: Vec::new(),
            too_long: 0,
        }
    }

    /// For a stream that starts directly with frames (no HTTP response to skip).
    #[cfg(test)]
    fn frames_only(inner: S, max: usize) -> Self {
        let mut g = Self::new(inner, max);
        g.state = State::Header;
        g
    }

    /// Oversized messages replaced so far.
    pub(crate) fn too_long(&self) -> u64 {
        self.too_long
    }

    /// Length of the header in `hdr[..hdr_have]`, once the first two bytes are known.
    fn header_len(&self) -> usize {
        let b1 = self.hdr[1];
        let ext = match b1 & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 }
    }

    fn payload_len(&self) -> u64 {
        match self.hdr[1] & 0x7f {
            126 => u64::from(u16::from_be_bytes([self.hdr[2], self.hdr[3]])),
            127 => u64::from_be_bytes(self.hdr[2..10].try_into().unwrap_or([0xff; 8])),
            n => u64::from(n),
        }
    }

    /// An empty frame with first byte `b0` (FIN and opcode kept), masked like the original.
    fn push_empty_frame(&mut self, b0: u8) {
        let masked = self.hdr[1] & 0x80 != 0;
        self.out.push(b0);
        self.out.push(if masked { 0x80 } else { 0 });
        if masked {
            let at = self.header_len() - 4;
            let key = self.hdr[at..at + 4].to_vec();
            self.out.extend_from_slice(&key);
        }
    }

    /// A whole header is in `hdr`: decide what happens to the frame.
    fn on_header(&mut self) {
        let hlen = self.header_len();
        let b0 = self.hdr[0];
        let fin = b0 & 0x80 != 0;
        let opcode = b0 & 0x0f;
        let len = self.payload_len();
        let header = self.hdr[..hlen].to_vec();
        if opcode & 0x08 != 0 {
            // Control frames may sit between fragments; they go through at once.
            self.out.extend_from_slice(&header);
            self.state = State::Pass(len);
            return;
        }
        let continuation = opcode == OP_CONTINUATION;
        if continuation != self.frag_open {
            // A protocol violation: let tungstenite see it as it is.
            self.out.extend_from_slice(&header);
            self.state = State::Pass(len);
            return;
        }
        if !continuation && fin {
            if len <= self.max {
                self.out.extend_from_slice(&header);
                self.state = State::Pass(len);
            } else {
                self.too_long += 1;
                self.push_empty_frame(b0);
                self.state = State::Skip {
                    n: len,
                    end_msg: false,
                };
            }
            return;
        }
        if !continuation {
            self.frag_open = true;
            self.frag_first = b0;
            self.frag_len = 0;
            self.frag_over = false;
            self.held.clear();
        }
        self.frag_len = self.frag_len.saturating_add(hlen as u64 + len);
        if !self.frag_over && self.frag_len > self.max.saturating_add(14) {
            self.frag_over = true;
            self.held = Vec::new();
        }
        if self.frag_over {
            self.state = State::Skip {
                n: len,
                end_msg: fin,
            };
        } else {
            self.held.extend_from_slice(&header);
            self.state = State::Hold {
                n: len,
                end_msg: fin,
            };
        }
        if len == 0 {
            self.end_payload();
        }
    }

    /// The current frame's payload is complete.
    fn end_payload(&mut self) {
        let end_msg = match self.state {
            State::Skip { end_msg, .. } | State::Hold { end_msg, .. } => end_msg,
            _ => false,
        };
        self.state = State::Header;
        self.hdr_have = 0;
        if !end_msg {
            return;
        }
        self.frag_open = false;
        if self.frag_over {
            self.too_long += 1;
            // The stand-in: the message's opcode, final, empty.
            let b0 = 0x80 | (self.frag_first & 0x7f);
            self.push_empty_frame(b0);
        } else {
            let held = std::mem::take(&mut self.held);
            self.out.extend_from_slice(&held);
            self.held = held;
            self.held.clear();
        }
    }

    /// Consumes buffered input; may put bytes in `out` or copy payload into `buf` directly.
    /// Returns bytes written to `buf`.
    fn process(&mut self, buf: &mut [u8]) -> usize {
        while self.in_pos < self.in_len && self.out_pos >= self.out.len() {
            let avail = &self.input[self.in_pos..self.in_len];
            match self.state {
                State::Http { matched } => {
                    const END: &[u8] = b"\r\n\r\n";
                    let mut m = matched as usize;
                    let mut n = 0;
                    for &b in avail.iter().take(buf.len()) {
                        n += 1;
                        m = if b == END[m] {
                            m + 1
                        } else if b == b'\r' {
                            1
                        } else {
                            0
                        };
                        if m == END.len() {
                            break;
                        }
                    }
                    buf[..n].copy_from_slice(&avail[..n]);
                    self.in_pos += n;
                    self.state = if m == END.len() {
                        self.hdr_have = 0;
                        State::Header
                    } else {
                        State::Http { matched: m as u8 }
                    };
                    return n;
                }
                State::Header => {
                    let need = if self.hdr_have < 2 {
                        2
                    } else {
                        self.header_len()
                    };
                    let take = (need - self.hdr_have).min(avail.len());
                    self.hdr[self.hdr_have..self.hdr_have + take].copy_from_slice(&avail[..take]);
                    self.hdr_have += take;
                    self.in_pos += take;
                    if self.hdr_have >= 2 && self.hdr_have == self.header_len() {
                        self.on_header();
                    }
                }
                State::Pass(n) => {
                    let k = (n.min(avail.len() as u64) as usize).min(buf.len());
                    buf[..k].copy_from_slice(&avail[..k]);
                    self.in_pos += k;
                    let left = n - k as u64;
                    self.state = State::Pass(left);
                    if left == 0 {
                        self.state = State::Header;
                        self.hdr_have = 0;
                    }
                    return k;
                }
                State::Skip { n, end_msg } => {
                    let k = n.min(avail.len() as u64);
                    self.in_pos += k as usize;
                    self.state = State::Skip { n: n - k, end_msg };
                    if n == k {
                        self.end_payload();
                    }
                }
                State::Hold { n, end_msg } => {
                    let k = n.min(avail.len() as u64) as usize;
                    self.held.extend_from_slice(&avail[..k]);
                    self.in_pos += k;
                    self.state = State::Hold {
                        n: n - k as u64,
                        end_msg,
                    };
                    if n == k as u64 {
                        self.end_payload();
                    }
                }
            }
        }
        0
    }
}

impl<S: Read> Read for FrameGuard<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.out_pos < self.out.len() {
                let k = (self.out.len() - self.out_pos).min(buf.len());
                buf[..k].copy_from_slice(&self.out[self.out_pos..self.out_pos + k]);
                self.out_pos += k;
                if self.out_pos == self.out.len() {
                    self.out.clear();
                    self.out_pos = 0;
                }
                return Ok(k);
            }
            // A Pass state with an empty payload ends here, before any more input is needed.
            if self.state == State::Pass(0) {
                self.state = State::Header;
                self.hdr_have = 0;
            }
            if self.in_pos == self.in_len {
                let n = self.inner.read(&mut self.input)?;
                if n == 0 {
                    return Ok(0);
                }
                self.in_pos = 0;
                self.in_len = n;
            }
            let n = self.process(buf);
            if n > 0 {
                return Ok(n);
            }
        }
    }
}

impl<S: Write> Write for FrameGuard<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A server→client frame (unmasked unless `mask` is given).
    fn frame(fin: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
        let mut f = vec![(u8::from(fin) << 7) | opcode];
        let m = if mask.is_some() { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => f.push(m | n as u8),
            n if n <= 0xffff => {
                f.push(m | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(m | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if let Some(k) = mask {
            f.extend_from_slice(&k);
        }
        f.extend_from_slice(payload);
        f
    }

    /// Reads everything through a guard fed `chunks` one read at a time.
    fn through(chunks: Vec<Vec<u8>>, max: usize, http: bool) -> (Vec<u8>, u64) {
        struct Chunks(std::collections::VecDeque<Vec<u8>>);
        impl Read for Chunks {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some(mut c) = self.0.pop_front() else {
                    return Ok(0);
                };
                let k = c.len().min(buf.len());
                buf[..k].copy_from_slice(&c[..k]);
                if k < c.len() {
                    self.0.push_front(c.split_off(k));
                }
                Ok(k)
            }
        }
        let inner = Chunks(chunks.into());
        let mut g = if http {
            FrameGuard::new(inner, max)
        } else {
            FrameGuard::frames_only(inner, max)
        };
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n = g.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        (out, g.too_long())
    }

    fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        let mut at = 0;
        for c in cuts {
            // An empty read would mean end of stream: only non-empty chunks.
            let c = (*c).clamp(at, bytes.len());
            if c > at {
                v.push(bytes[at..c].to_vec());
                at = c;
            }
        }
        v.push(bytes[at..].to_vec());
        v
    }

    #[test]
    fn http_response_then_frames_pass_and_big_ones_are_emptied() {
        let mut input = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n".to_vec();
        let http_len = input.len();
        input.extend(frame(true, 1, b"hello", None));
        input.extend(frame(true, 1, &[b'x'; 300], None));
        input.extend(frame(true, 9, b"ping", None));
        input.extend(frame(true, 2, &[7; 100], None));
        let (out, too_long) = through(vec![input.clone()], 100, true);
        let mut want = input[..http_len].to_vec();
        want.extend(frame(true, 1, b"hello", None));
        want.extend(frame(true, 1, b"", None));
        want.extend(frame(true, 9, b"ping", None));
        want.extend(frame(true, 2, &[7; 100], None));
        assert_eq!(out, want);
        assert_eq!(too_long, 1);
    }

    #[test]
    fn a_64_bit_length_is_skipped_without_buffering() {
        let big = vec![b'y'; 70_000];
        let mut input = frame(true, 1, &big, None);
        input.extend(frame(true, 1, b"after", None));
        let (out, too_long) = through(vec![input], 1024, false);
        let mut want = frame(true, 1, b"", None);
        want.extend(frame(true, 1, b"after", None));
        assert_eq!((out, too_long), (want, 1));
    }

    #[test]
    fn fragmented_messages_are_held_then_released_or_replaced() {
        let mut input = frame(false, 1, b"ab", None);
        input.extend(frame(true, 9, b"", None)); // a ping between fragments goes first
        input.extend(frame(true, 0, b"cd", None));
        input.extend(frame(false, 2, &[1; 60], None));
        input.extend(frame(false, 0, &[2; 60], None));
        input.extend(frame(true, 0, &[3; 60], None));
        input.extend(frame(true, 1, b"z", None));
        let (out, too_long) = through(vec![input], 100, false);
        let mut want = frame(true, 9, b"", None);
        want.extend(frame(false, 1, b"ab", None));
        want.extend(frame(true, 0, b"cd", None));
        want.extend(frame(true, 2, b"", None));
        want.extend(frame(true, 1, b"z", None));
        assert_eq!((out, too_long), (want, 1));
    }

    #[test]
    fn endless_empty_continuations_cannot_grow_memory() {
        let mut input = frame(false, 1, b"", None);
        for _ in 0..10_000 {
            input.extend(frame(false, 0, b"", None));
        }
        input.extend(frame(true, 0, b"", None));
        let (out, too_long) = through(vec![input], 64, false);
        assert_eq!((out, too_long), (frame(true, 1, b"", None), 1));
    }

    #[test]
    fn masked_frames_keep_their_key() {
        let key = [1, 2, 3, 4];
        let (out, n) = through(vec![frame(true, 1, &[0; 50], Some(key))], 10, false);
        assert_eq!((out, n), (frame(true, 1, b"", Some(key)), 1));
    }

    #[derive(Clone, Debug)]
    enum F {
        Single(u8, usize),
        Fragmented(u8, Vec<usize>),
        Ping(usize),
    }

    fn arb_frame() -> impl Strategy<Value = F> {
        prop_oneof![
            (1u8..=2, 0usize..300).prop_map(|(o, n)| F::Single(o, n)),
            (1u8..=2, proptest::collection::vec(0usize..120, 1..5))
                .prop_map(|(o, v)| F::Fragmented(o, v)),
            (0usize..100).prop_map(F::Ping),
        ]
    }

    proptest! {
        /// Against a model: whatever the chunking, every frame within the limit comes out as it
        /// went in, and every oversized message becomes exactly one empty final frame.
        #[test]
        fn matches_the_model_under_any_chunking(
            frames in proptest::collection::vec(arb_frame(), 0..12),
            cuts in proptest::collection::vec(0usize..4000, 0..20),
            max in 1usize..250,
        ) {
            let (mut input, mut want, mut over) = (Vec::new(), Vec::new(), 0);
            for (i, f) in frames.iter().enumerate() {
                let byte = i as u8;
                match f {
                    F::Single(op, n) => {
                        let fr = frame(true, *op, &vec![byte; *n], None);
                        input.extend(&fr);
                        if *n as u64 <= max as u64 {
                            want.extend(fr);
                        } else {
                            over += 1;
                            want.extend(frame(true, *op, b"", None));
                        }
                    }
                    F::Fragmented(op, parts) => {
                        let mut msg = Vec::new();
                        for (j, n) in parts.iter().enumerate() {
                            let last = j + 1 == parts.len();
                            let opcode = if j == 0 { *op } else { 0 };
                            msg.extend(frame(last, opcode, &vec![byte; *n], None));
                        }
                        input.extend(&msg);
                        // One part is a plain single frame: its payload alone is measured.
                        let fits = if parts.len() == 1 {
                            parts[0] <= max
                        } else {
                            msg.len() <= max + 14
                        };
                        if fits {
                            want.extend(msg);
                        } else {
                            over += 1;
                            want.extend(frame(true, *op, b"", None));
                        }
                    }
                    F::Ping(n) => {
                        let fr = frame(true, 9, &vec![byte; (*n).min(125)], None);
                        input.extend(&fr);
                        want.extend(fr);
                    }
                }
            }
            let mut cuts = cuts;
            cuts.sort_unstable();
            let (out, too_long) = through(split(&input, &cuts), max, false);
            prop_assert_eq!(out, want);
            prop_assert_eq!(too_long, over);
        }
    }
}
