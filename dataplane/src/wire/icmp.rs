//! ICMPv4 echo (RFC 792) and ICMPv6 echo / Neighbor Discovery (RFC 4443, RFC 4861).
//!
//! Neighbor Solicitation / Advertisement body:
//! ```text
//! | type | code | csum(2) | flags/reserved(4) | target(16) | options: type | len(8B units) | ...
//! ```

use super::{checksum, put16, WireError};
use config::MacAddr;

pub const V4_ECHO_REPLY: u8 = 0;
pub const V4_ECHO_REQUEST: u8 = 8;
pub const V6_ECHO_REQUEST: u8 = 128;
pub const V6_ECHO_REPLY: u8 = 129;
pub const ND_NS: u8 = 135;
pub const ND_NA: u8 = 136;
const OPT_SLLA: u8 = 1;
const OPT_TLLA: u8 = 2;
pub const NA_FLAG_ROUTER: u32 = 0x8000_0000;
pub const NA_FLAG_SOLICITED: u32 = 0x4000_0000;
pub const NA_FLAG_OVERRIDE: u32 = 0x2000_0000;
/// NS/NA with one link-layer address option.
pub const ND_LEN: usize = 32;

/// Verifies an ICMPv4 message checksum.
pub fn v4_valid(msg: &[u8]) -> bool {
    msg.len() >= 8 && checksum::fold(checksum::sum(msg, 0)) == 0xffff
}

/// Turns an echo request into a reply in place (type and checksum only).
pub fn v4_echo_to_reply(msg: &mut [u8]) {
    msg[0] = V4_ECHO_REPLY;
    put16(msg, 2, 0);
    let c = checksum::checksum(msg);
    put16(msg, 2, c);
}

pub fn v6_valid(msg: &[u8], src: &[u8; 16], dst: &[u8; 16]) -> bool {
    msg.len() >= 4
        && checksum::fold(checksum::sum(
            msg,
            checksum::pseudo6(src, dst, 58, msg.len() as u32),
        )) == 0xffff
}

pub fn v6_fill_checksum(msg: &mut [u8], src: &[u8; 16], dst: &[u8; 16]) {
    put16(msg, 2, 0);
    let c = !checksum::fold(checksum::sum(
        msg,
        checksum::pseudo6(src, dst, 58, msg.len() as u32),
    ));
    put16(msg, 2, c);
}

/// A parsed NS or NA: the target and the link-layer address option if present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nd {
    pub kind: u8,
    pub flags: u32,
    pub target: [u8; 16],
    pub lladdr: Option<MacAddr>,
}

impl Nd {
    pub fn parse(msg: &[u8]) -> Result<Nd, WireError> {
        if msg.len() < 24 {
            return Err(WireError::Truncated);
        }
        let kind = msg[0];
        if (kind != ND_NS && kind != ND_NA) || msg[1] != 0 {
            return Err(WireError::Malformed);
        }
        let mut target = [0; 16];
        target.copy_from_slice(&msg[8..24]);
        let flags = u32::from_be_bytes([msg[4], msg[5], msg[6], msg[7]]);
        let mut lladdr = None;
        let mut opts = &msg[24..];
        while opts.len() >= 2 {
            let len = usize::from(opts[1]) * 8;
            if len == 0 || len > opts.len() {
                return Err(WireError::Malformed); // RFC 4861 §4.6: zero length is invalid
            }
            let want = if kind == ND_NS { OPT_SLLA } else { OPT_TLLA };
            if opts[0] == want && len == 8 {
                let mut m = [0; 6];
                m.copy_from_slice(&opts[2..8]);
                lladdr = Some(MacAddr(m));
            }
            opts = &opts[len..];
        }
        Ok(Nd {
            kind,
            flags,
            target,
            lladdr,
        })
    }

    /// Writes the message (checksum zero; fill it once the IPv6 addresses are known).
    pub fn emit(&self, msg: &mut [u8]) {
        msg[0] = self.kind;
        msg[1] = 0;
        put16(msg, 2, 0);
        msg[4..8].copy_from_slice(&self.flags.to_be_bytes());
        msg[8..24].copy_from_slice(&self.target);
        if let Some(m) = self.lladdr {
            msg[24] = if self.kind == ND_NS {
                OPT_SLLA
            } else {
                OPT_TLLA
            };
            msg[25] = 1;
            msg[26..32].copy_from_slice(&m.0);
        }
    }

    #[allow(clippy::len_without_is_empty)] // the encoded length of a message
    pub fn len(&self) -> usize {
        if self.lladdr.is_some() {
            ND_LEN
        } else {
            24
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nd_round_trip_and_checksum() {
        let src = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let dst = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 2];
        let ns = Nd {
            kind: ND_NS,
            flags: 0,
            target: [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            lladdr: Some(MacAddr([2, 0, 0, 0, 0, 1])),
        };
        let mut b = [0xa5u8; ND_LEN];
        ns.emit(&mut b);
        v6_fill_checksum(&mut b, &src, &dst);
        assert!(v6_valid(&b, &src, &dst));
        assert_eq!(Nd::parse(&b), Ok(ns));
        b[25] = 0;
        assert_eq!(Nd::parse(&b), Err(WireError::Malformed));
    }

    #[test]
    fn echo_reply_checksum() {
        let mut m = [8u8, 0, 0, 0, 0, 1, 0, 7, b'h', b'i'];
        let c = checksum::checksum(&m);
        put16(&mut m, 2, c);
        assert!(v4_valid(&m));
        v4_echo_to_reply(&mut m);
        assert_eq!(m[0], 0);
        assert!(v4_valid(&m));
    }
}
