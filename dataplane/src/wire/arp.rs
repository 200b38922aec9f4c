//! ARP for IPv4 over Ethernet (RFC 826), the only form we accept.
//!
//! ```text
//! | htype=1(2) | ptype=0x0800(2) | hlen=6 | plen=4 | op(2) | sha(6) | spa(4) | tha(6) | tpa(4) |
//! ```

use super::{be16, put16, WireError};
use config::MacAddr;
use std::net::Ipv4Addr;

pub const LEN: usize = 28;
pub const OP_REQUEST: u16 = 1;
pub const OP_REPLY: u16 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpRepr {
    pub op: u16,
    pub sha: MacAddr,
    pub spa: Ipv4Addr,
    pub tha: MacAddr,
    pub tpa: Ipv4Addr,
}

fn mac(b: &[u8]) -> MacAddr {
    let mut m = [0; 6];
    m.copy_from_slice(&b[..6]);
    MacAddr(m)
}

fn ip(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

impl ArpRepr {
    pub fn parse(b: &[u8]) -> Result<ArpRepr, WireError> {
        if b.len() < LEN {
            return Err(WireError::Truncated);
        }
        if be16(b, 0) != 1 || be16(b, 2) != 0x0800 || b[4] != 6 || b[5] != 4 {
            return Err(WireError::Malformed);
        }
        let op = be16(b, 6);
        if op != OP_REQUEST && op != OP_REPLY {
            return Err(WireError::Malformed);
        }
        Ok(ArpRepr {
            op,
            sha: mac(&b[8..]),
            spa: ip(&b[14..]),
            tha: mac(&b[18..]),
            tpa: ip(&b[24..]),
        })
    }

    pub fn emit(&self, b: &mut [u8]) {
        put16(b, 0, 1);
        put16(b, 2, 0x0800);
        b[4] = 6;
        b[5] = 4;
        put16(b, 6, self.op);
        b[8..14].copy_from_slice(&self.sha.0);
        b[14..18].copy_from_slice(&self.spa.octets());
        b[18..24].copy_from_slice(&self.tha.0);
        b[24..28].copy_from_slice(&self.tpa.octets());
    }

    /// The reply a host with `mac` sends to this request.
    pub fn reply(&self, mac: MacAddr) -> ArpRepr {
        ArpRepr {
            op: OP_REPLY,
            sha: mac,
            spa: self.tpa,
            tha: self.sha,
            tpa: self.spa,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Request: who has 192.0.2.1? tell 192.0.2.10 (02:00:00:00:00:0a)
    const REQ: [u8; 28] = [
        0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 0x0a, 192, 0, 2, 10, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1,
    ];

    #[test]
    fn parse_request() {
        let r = ArpRepr::parse(&REQ).expect("valid");
        assert_eq!(r.op, OP_REQUEST);
        assert_eq!(r.spa, Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!(r.tpa, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(r.sha, MacAddr([2, 0, 0, 0, 0, 0x0a]));
    }

    #[test]
    fn emit_round_trip() {
        let r = ArpRepr::parse(&REQ).expect("valid");
        let mut b = [0xa5; 28];
        r.emit(&mut b);
        assert_eq!(b, REQ);
        let rep = r.reply(MacAddr([2, 0, 0, 0, 0, 1]));
        rep.emit(&mut b);
        assert_eq!(ArpRepr::parse(&b), Ok(rep));
    }

    #[test]
    fn rejects_other_hardware() {
        let mut b = REQ;
        b[1] = 6; // IEEE 802
        assert_eq!(ArpRepr::parse(&b), Err(WireError::Malformed));
        assert_eq!(ArpRepr::parse(&REQ[..27]), Err(WireError::Truncated));
    }
}
