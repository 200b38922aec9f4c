//! Ethernet II header with an optional single 802.1Q tag.
//!
//! ```text
//! | dst(6) | src(6) | [0x8100 | TCI(2)] | ethertype(2) | payload
//! ```

use super::{be16, put16, WireError};
use config::MacAddr;

pub const ETH_HDR: usize = 14;
pub const VLAN_HDR: usize = 4;

pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88a8;
    pub const IPV6: u16 = 0x86dd;
    pub const SLOW: u16 = 0x8809;
}

/// What `parse` found: addresses, VLAN (if tagged), inner ethertype and header length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthHeader {
    pub dst: MacAddr,
    pub src: MacAddr,
    pub vlan: Option<u16>,
    pub ethertype: u16,
    pub len: usize,
}

pub fn parse(b: &[u8]) -> Result<EthHeader, WireError> {
    if b.len() < ETH_HDR {
        return Err(WireError::Truncated);
    }
    let mut dst = [0; 6];
    let mut src = [0; 6];
    dst.copy_from_slice(&b[0..6]);
    src.copy_from_slice(&b[6..12]);
    let t = be16(b, 12);
    let (vlan, ethertype, len) = if t == ethertype::VLAN {
        if b.len() < ETH_HDR + VLAN_HDR {
            return Err(WireError::Truncated);
        }
        (Some(be16(b, 14) & 0x0fff), be16(b, 16), ETH_HDR + VLAN_HDR)
    } else {
        (None, t, ETH_HDR)
    };
    Ok(EthHeader {
        dst: MacAddr(dst),
        src: MacAddr(src),
        vlan,
        ethertype,
        len,
    })
}

/// Header length `emit` writes.
pub fn header_len(vlan: Option<u16>) -> usize {
    if vlan.is_some() {
        ETH_HDR + VLAN_HDR
    } else {
        ETH_HDR
    }
}

/// Writes a header into the first `header_len(vlan)` bytes of `b`.
pub fn emit(b: &mut [u8], dst: MacAddr, src: MacAddr, vlan: Option<u16>, ethertype: u16) {
    b[0..6].copy_from_slice(&dst.0);
    b[6..12].copy_from_slice(&src.0);
    match vlan {
        Some(v) => {
            put16(b, 12, ethertype::VLAN);
            put16(b, 14, v & 0x0fff);
            put16(b, 16, ethertype);
        }
        None => put16(b, 12, ethertype),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAGGED: [u8; 18] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x81, 0x00, 0x20, 0x2a, 0x08, 0x06,
    ];

    #[test]
    fn parse_tagged() {
        let h = parse(&TAGGED).expect("valid");
        assert_eq!(h.vlan, Some(42)); // PCP 1 is masked off
        assert_eq!(h.ethertype, ethertype::ARP);
        assert_eq!(h.len, 18);
        assert_eq!(h.dst, MacAddr::BROADCAST);
    }

    #[test]
    fn emit_then_parse() {
        let mut b = [0xa5u8; 18];
        let src = MacAddr([2, 0, 0, 0, 0, 1]);
        emit(&mut b, MacAddr::BROADCAST, src, Some(42), ethertype::ARP);
        let mut expect = TAGGED;
        expect[14] = 0; // emit writes PCP 0
        assert_eq!(b, expect);
    }

    #[test]
    fn truncated() {
        assert_eq!(parse(&TAGGED[..13]), Err(WireError::Truncated));
        assert_eq!(parse(&TAGGED[..16]), Err(WireError::Truncated));
    }
}
