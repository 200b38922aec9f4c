//! IPv6 fixed header view (RFC 8200). Extension headers are not walked: a packet whose
//! next header is not a protocol we handle is forwarded untouched or punted.
//!
//! ```text
//! | ver/tc/flow(4) | payload len(2) | next hdr | hop limit | src(16) | dst(16) |
//! ```

use super::{be16, put16, WireError};
use std::net::Ipv6Addr;

pub const HDR: usize = 40;
pub const NEXT_ICMPV6: u8 = 58;

pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    pub fn new_checked(buf: T) -> Result<Self, WireError> {
        let b = buf.as_ref();
        if b.len() < HDR {
            return Err(WireError::Truncated);
        }
        if b[0] >> 4 != 6 {
            return Err(WireError::Malformed);
        }
        if b.len() < HDR + usize::from(be16(b, 4)) {
            return Err(WireError::Truncated);
        }
        Ok(Ipv6Packet { buf })
    }
    fn b(&self) -> &[u8] {
        self.buf.as_ref()
    }
    pub fn payload_len(&self) -> usize {
        usize::from(be16(self.b(), 4))
    }
    pub fn next_header(&self) -> u8 {
        self.b()[6]
    }
    pub fn hop_limit(&self) -> u8 {
        self.b()[7]
    }
    pub fn src_bytes(&self) -> [u8; 16] {
        let mut a = [0; 16];
        a.copy_from_slice(&self.b()[8..24]);
        a
    }
    pub fn dst_bytes(&self) -> [u8; 16] {
        let mut a = [0; 16];
        a.copy_from_slice(&self.b()[24..40]);
        a
    }
    pub fn src(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.src_bytes())
    }
    pub fn dst(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.dst_bytes())
    }
    pub fn payload(&self) -> &[u8] {
        &self.b()[HDR..HDR + self.payload_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    pub fn decrement_hop_limit(&mut self) {
        self.buf.as_mut()[7] -= 1;
    }
    pub fn set_hop_limit(&mut self, h: u8) {
        self.buf.as_mut()[7] = h;
    }
    pub fn set_src(&mut self, a: &[u8; 16]) {
        self.buf.as_mut()[8..24].copy_from_slice(a);
    }
    pub fn set_dst(&mut self, a: &[u8; 16]) {
        self.buf.as_mut()[24..40].copy_from_slice(a);
    }
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let n = self.payload_len();
        &mut self.buf.as_mut()[HDR..HDR + n]
    }
}

pub fn emit(
    b: &mut [u8],
    src: &[u8; 16],
    dst: &[u8; 16],
    next: u8,
    hop_limit: u8,
    payload_len: usize,
) {
    b[0..4].copy_from_slice(&[0x60, 0, 0, 0]);
    put16(b, 4, payload_len as u16);
    b[6] = next;
    b[7] = hop_limit;
    b[8..24].copy_from_slice(src);
    b[24..40].copy_from_slice(dst);
}

/// The solicited-node multicast address ff02::1:ffXX:XXXX of `a` (RFC 4291 §2.7.1).
pub fn solicited_node(a: &[u8; 16]) -> [u8; 16] {
    let mut m = [0u8; 16];
    m[0] = 0xff;
    m[1] = 0x02;
    m[11] = 0x01;
    m[12] = 0xff;
    m[13..16].copy_from_slice(&a[13..16]);
    m
}

/// The Ethernet multicast MAC 33:33:XX:XX:XX:XX for an IPv6 multicast address.
pub fn multicast_mac(a: &[u8; 16]) -> config::MacAddr {
    config::MacAddr([0x33, 0x33, a[12], a[13], a[14], a[15]])
}

/// The EUI-64 link-local address fe80::/64 for a MAC (RFC 4291 appendix A).
pub fn link_local(mac: config::MacAddr) -> [u8; 16] {
    let m = mac.0;
    let mut a = [0u8; 16];
    a[0] = 0xfe;
    a[1] = 0x80;
    a[8] = m[0] ^ 0x02;
    a[9] = m[1];
    a[10] = m[2];
    a[11] = 0xff;
    a[12] = 0xfe;
    a[13] = m[3];
    a[14] = m[4];
    a[15] = m[5];
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emit_parse() {
        let mut b = [0xa5u8; 48];
        let s: Ipv6Addr = "2001:db8::1".parse().expect("addr");
        let d: Ipv6Addr = "2001:db8::2".parse().expect("addr");
        emit(&mut b, &s.octets(), &d.octets(), NEXT_ICMPV6, 64, 8);
        let p = Ipv6Packet::new_checked(&b[..]).expect("valid");
        assert_eq!(
            (p.src(), p.dst(), p.next_header(), p.hop_limit()),
            (s, d, 58, 64)
        );
        assert_eq!(p.payload().len(), 8);
        assert!(Ipv6Packet::new_checked(&b[..47]).is_err());
    }

    #[test]
    fn derived_addresses() {
        let a: Ipv6Addr = "2001:db8::12:3456".parse().expect("addr");
        assert_eq!(
            Ipv6Addr::from(solicited_node(&a.octets())).to_string(),
            "ff02::1:ff12:3456"
        );
        let ll = link_local(config::MacAddr([0x02, 0, 0, 0xaa, 0xbb, 0xcc]));
        assert_eq!(Ipv6Addr::from(ll).to_string(), "fe80::ff:feaa:bbcc");
    }
}
