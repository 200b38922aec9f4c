//! BGP messages as owned data (holo / NetGauze style): `decode` bytes into a `Message`,
//! `encode` a `Message` into bytes. Framing (`message_len`) is separate so a stream codec can
//! find message boundaries before decoding. Unknown codes stay representable.
//!
//! ```text
//! header: | marker 16 x 0xff | length (2, 19..=4096) | type (1) |
//! ```

pub mod ecomm;
pub mod error;
pub mod evpn;
pub mod message;
pub mod update;

pub use error::{DecodeError, Notification};
pub use message::*;

pub const HEADER_LEN: usize = 19;
pub const MAX_LEN: usize = 4096;
pub const AS_TRANS: u16 = 23456;

/// Length of the first message in `buf` once its header is complete; `Ok(None)` if the
/// header is not all there yet. Header errors are RFC 4271 §6.1 NOTIFICATIONs.
pub fn message_len(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    if buf[..16].iter().any(|b| *b != 0xff) {
        return Err(DecodeError::Header(Notification::new(1, 1, Vec::new())));
    }
    let len = usize::from(u16::from_be_bytes([buf[16], buf[17]]));
    let min = match buf[18] {
        1 => 29,
        2 => 23,
        3 => 21,
        4 => 19,
        5 => 23,
        t => return Err(DecodeError::Header(Notification::new(1, 3, vec![t]))),
    };
    if len < min || len > MAX_LEN || (buf[18] == 4 && len != 19) {
        return Err(DecodeError::Header(Notification::new(
            1,
            2,
            buf[16..18].to_vec(),
        )));
    }
    Ok(Some(len))
}

/// A bounded reader: every element is parsed from a sub-reader limited by its own length, so
/// a malformed element can never read its neighbour's bytes.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    /// Everything not read yet.
    pub fn rest_slice(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }
    pub fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.buf.split_first()?;
        self.buf = rest;
        Some(b)
    }
    pub fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }
    pub fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Some(a)
    }
}

/// Hex text (whitespace ignored) to bytes, for golden vectors in tests.
#[cfg(test)]
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}
