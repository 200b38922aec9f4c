//! IPv4 header view (RFC 791).
//!
//! ```text
//! | ver/ihl | tos | total len(2) | id(2) | flags/frag(2) | ttl | proto | csum(2) | src(4) | dst(4) | opts
//! ```
//! `new_checked` verifies version, IHL, total length against the buffer and the header
//! checksum; after it no accessor can panic.

use super::{be16, checksum, put16, WireError};
use std::net::Ipv4Addr;

pub const MIN_HDR: usize = 20;
pub const PROTO_ICMP: u8 = 1;
pub const PROTO_IGMP: u8 = 2;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;

mod field {
    pub const TOTAL_LEN: usize = 2;
    pub const FRAG: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTO: usize = 9;
    pub const CSUM: usize = 10;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
}

pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    pub fn new_checked(buf: T) -> Result<Self, WireError> {
        let b = buf.as_ref();
        if b.len() < MIN_HDR {
            return Err(WireError::Truncated);
        }
        let ihl = usize::from(b[0] & 0x0f) * 4;
        if b[0] >> 4 != 4 || ihl < MIN_HDR {
            return Err(WireError::Malformed);
        }
        let total = usize::from(be16(b, field::TOTAL_LEN));
        if total < ihl || b.len() < total {
            return Err(WireError::Truncated);
        }
        if checksum::fold(checksum::sum(&b[..ihl], 0)) != 0xffff {
            return Err(WireError::Checksum);
        }
        Ok(Ipv4Packet { buf })
    }
    fn b(&self) -> &[u8] {
        self.buf.as_ref()
    }
    pub fn header_len(&self) -> usize {
        usize::from(self.b()[0] & 0x0f) * 4
    }
    pub fn total_len(&self) -> usize {
        usize::from(be16(self.b(), field::TOTAL_LEN))
    }
    pub fn ttl(&self) -> u8 {
        self.b()[field::TTL]
    }
    pub fn protocol(&self) -> u8 {
        self.b()[field::PROTO]
    }
    /// More-fragments set or a non-zero offset.
    pub fn is_fragment(&self) -> bool {
        be16(self.b(), field::FRAG) & 0x3fff != 0
    }
    pub fn src(&self) -> Ipv4Addr {
        let b = self.b();
        Ipv4Addr::new(b[12], b[13], b[14], b[15])
    }
    pub fn dst(&self) -> Ipv4Addr {
        let b = self.b();
        Ipv4Addr::new(b[16], b[17], b[18], b[19])
    }
    pub fn payload(&self) -> &[u8] {
        &self.b()[self.header_len()..self.total_len()]
    }
    pub fn into_inner(self) -> T {
        self.buf
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buf.as_mut()
    }
    /// Decrements TTL and patches the checksum incrementally (RFC 1624).
    pub fn decrement_ttl(&mut self) {
        decrement_ttl(self.bm());
    }
    pub fn set_ttl(&mut self, ttl: u8) {
        self.bm()[field::TTL] = ttl;
    }
    pub fn set_src(&mut self, a: Ipv4Addr) {
        self.bm()[field::SRC..field::SRC + 4].copy_from_slice(&a.octets());
    }
    pub fn set_dst(&mut self, a: Ipv4Addr) {
        self.bm()[field::DST..field::DST + 4].copy_from_slice(&a.octets());
    }
    pub fn fill_checksum(&mut self) {
        let ihl = self.header_len();
        let b = self.bm();
        put16(b, field::CSUM, 0);
        let c = checksum::checksum(&b[..ihl]);
        put16(b, field::CSUM, c);
    }
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (h, t) = (self.header_len(), self.total_len());
        &mut self.bm()[h..t]
    }
}

/// Decrements the TTL of a header that `Ipv4Packet::new_checked` already accepted (no second
/// checksum pass) and patches the checksum incrementally; a no-op on a short buffer.
#[inline]
pub fn decrement_ttl(b: &mut [u8]) {
    if b.len() >= MIN_HDR {
        let old = be16(b, field::TTL);
        b[field::TTL] = b[field::TTL].wrapping_sub(1);
        let new = be16(b, field::TTL);
        let c = checksum::update(be16(b, field::CSUM), old, new);
        put16(b, field::CSUM, c);
    }
}

/// The Ethernet multicast MAC 01:00:5e + the low 23 bits of an IPv4 group (RFC 1112 §6.4).
pub fn multicast_mac(g: Ipv4Addr) -> config::MacAddr {
    let o = g.octets();
    config::MacAddr([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
}

/// Writes a 20-byte header (no options, DF clear) with a valid checksum.
pub fn emit(b: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr, proto: u8, ttl: u8, payload_len: usize) {
    b[0] = 0x45;
    b[1] = 0;
    put16(b, 2, (MIN_HDR + payload_len) as u16);
    put16(b, 4, 0);
    put16(b, 6, 0);
    b[8] = ttl;
    b[9] = proto;
    put16(b, 10, 0);
    b[12..16].copy_from_slice(&src.octets());
    b[16..20].copy_from_slice(&dst.octets());
    // The checksum from the field values, not by reading back the bytes just written (a
    // wide load over narrow stores stalls store-to-load forwarding: it was most of the
    // generator's time per VXLAN frame).
    let (s, d) = (u32::from(src), u32::from(dst));
    let sum = 0x4500
        + (MIN_HDR + payload_len) as u32
        + (u32::from(ttl) << 8 | u32::from(proto))
        + (s >> 16)
        + (s & 0xffff)
        + (d >> 16)
        + (d & 0xffff);
    put16(b, 10, !checksum::fold(sum));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt() -> Vec<u8> {
        let mut b = vec![0xa5; 28];
        emit(
            &mut b,
            Ipv4Addr::new(192, 0, 2, 10),
            Ipv4Addr::new(198, 51, 100, 10),
            PROTO_ICMP,
            64,
            8,
        );
        b
    }

    #[test]
    fn parse_emitted() {
        let b = pkt();
        let p = Ipv4Packet::new_checked(&b[..]).expect("valid");
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), PROTO_ICMP);
        assert_eq!(p.dst(), Ipv4Addr::new(198, 51, 100, 10));
        assert_eq!(p.payload().len(), 8);
        assert!(!p.is_fragment());
    }

    #[test]
    fn ttl_decrement_keeps_checksum_valid() {
        let mut b = pkt();
        let mut p = Ipv4Packet::new_checked(&mut b[..]).expect("valid");
        p.decrement_ttl();
        assert_eq!(p.ttl(), 63);
        assert!(Ipv4Packet::new_checked(&b[..]).is_ok());
    }

    #[test]
    fn rejects_bad_input() {
        let b = pkt();
        assert_eq!(
            Ipv4Packet::new_checked(&b[..19]).err(),
            Some(WireError::Truncated)
        );
        let mut c = b.clone();
        c[11] ^= 1;
        assert_eq!(
            Ipv4Packet::new_checked(&c[..]).err(),
            Some(WireError::Checksum)
        );
        let mut c = b.clone();
        c[0] = 0x44; // IHL 16 bytes
        assert_eq!(
            Ipv4Packet::new_checked(&c[..]).err(),
            Some(WireError::Malformed)
        );
        let mut c = b.clone();
        c[3] = 200; // total length beyond the buffer
        assert_eq!(
            Ipv4Packet::new_checked(&c[..]).err(),
            Some(WireError::Truncated)
        );
    }
}
