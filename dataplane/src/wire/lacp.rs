//! LACPDU (IEEE 802.1AX-2014 §6.4.2), carried in a Slow Protocols frame (ethertype 0x8809,
//! subtype 1) to 01:80:c2:00:00:02.
//!
//! ```text
//! 0  subtype=1 | version=1
//! 2  TLV 1 actor   len 20: sys_prio(2) system(6) key(2) port_prio(2) port(2) state(1) rsv(3)
//! 22 TLV 2 partner len 20: same layout
//! 42 TLV 3 collector len 16: max_delay(2) rsv(12)
//! 58 TLV 0 terminator len 0, then 50 reserved bytes   (110 bytes in all)
//! ```
//! Version 1 receivers accept any version and ignore what follows the terminator (§6.4.2.4):
//! we check the TLV types and lengths we rely on and nothing else.

use super::{be16, put16, WireError};
use config::MacAddr;

pub const SUBTYPE_LACP: u8 = 1;
pub const LEN: usize = 110;
pub const DST: MacAddr = MacAddr([0x01, 0x80, 0xc2, 0x00, 0x00, 0x02]);

/// Port state bits (§6.4.2.3).
pub mod state {
    pub const ACTIVITY: u8 = 1 << 0;
    pub const TIMEOUT: u8 = 1 << 1; // 1 = short (fast) timeout
    pub const AGGREGATION: u8 = 1 << 2;
    pub const SYNC: u8 = 1 << 3;
    pub const COLLECTING: u8 = 1 << 4;
    pub const DISTRIBUTING: u8 = 1 << 5;
    pub const DEFAULTED: u8 = 1 << 6;
    pub const EXPIRED: u8 = 1 << 7;
}

/// One side's information: the actor or the partner TLV.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct LacpInfo {
    pub system_priority: u16,
    pub system: MacAddr,
    pub key: u16,
    pub port_priority: u16,
    pub port: u16,
    pub state: u8,
}

impl LacpInfo {
    fn parse(b: &[u8]) -> LacpInfo {
        let mut m = [0; 6];
        m.copy_from_slice(&b[2..8]);
        LacpInfo {
            system_priority: be16(b, 0),
            system: MacAddr(m),
            key: be16(b, 8),
            port_priority: be16(b, 10),
            port: be16(b, 12),
            state: b[14],
        }
    }
    fn emit(&self, b: &mut [u8]) {
        put16(b, 0, self.system_priority);
        b[2..8].copy_from_slice(&self.system.0);
        put16(b, 8, self.key);
        put16(b, 10, self.port_priority);
        put16(b, 12, self.port);
        b[14] = self.state;
        b[15..18].fill(0);
    }
    /// Same partner system and key: the link may aggregate with others of that system/key.
    pub fn same_system(&self, o: &LacpInfo) -> bool {
        self.system_priority == o.system_priority && self.system == o.system && self.key == o.key
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lacpdu {
    pub actor: LacpInfo,
    pub partner: LacpInfo,
    pub collector_max_delay: u16,
}

impl Lacpdu {
    /// Parses the Slow Protocols payload (starting at the subtype byte).
    pub fn parse(b: &[u8]) -> Result<Lacpdu, WireError> {
        if b.len() < 58 {
            return Err(WireError::Truncated);
        }
        if b[0] != SUBTYPE_LACP {
            return Err(WireError::Malformed);
        }
        if b[2] != 1 || b[3] != 20 || b[22] != 2 || b[23] != 20 || b[42] != 3 || b[43] != 16 {
            return Err(WireError::Malformed);
        }
        Ok(Lacpdu {
            actor: LacpInfo::parse(&b[4..22]),
            partner: LacpInfo::parse(&b[24..42]),
            collector_max_delay: be16(b, 44),
        })
    }

    /// Writes the 110-byte payload.
    pub fn emit(&self, b: &mut [u8]) {
        b[..LEN].fill(0);
        b[0] = SUBTYPE_LACP;
        b[1] = 1;
        b[2] = 1;
        b[3] = 20;
        self.actor.emit(&mut b[4..22]);
        b[22] = 2;
        b[23] = 20;
        self.partner.emit(&mut b[24..42]);
        b[42] = 3;
        b[43] = 16;
        put16(b, 44, self.collector_max_delay);
        // TLV 0 terminator (type 0, length 0) and reserved bytes: already zero.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An LACPDU as Open vSwitch 3.1 sends it (captured payload, trimmed to the TLVs we read):
    /// actor prio 100, system 02:00:00:00:ce:01, key 1, port prio 65535, port 2, state 0x3f.
    fn ovs_like() -> Vec<u8> {
        let mut b = vec![0u8; LEN];
        b[0..4].copy_from_slice(&[1, 1, 1, 20]);
        b[4..22].copy_from_slice(&[
            0, 100, 2, 0, 0, 0, 0xce, 1, 0, 1, 0xff, 0xff, 0, 2, 0x3f, 0, 0, 0,
        ]);
        b[22..24].copy_from_slice(&[2, 20]);
        b[24..42].copy_from_slice(&[
            0x80, 0, 2, 0, 0, 0, 0xaa, 1, 0, 7, 0, 0xff, 1, 1, 0x3d, 0, 0, 0,
        ]);
        b[42..46].copy_from_slice(&[3, 16, 0, 0]);
        b
    }

    #[test]
    fn parse_fields() {
        let p = Lacpdu::parse(&ovs_like()).expect("valid");
        assert_eq!(p.actor.system_priority, 100);
        assert_eq!(p.actor.system, MacAddr([2, 0, 0, 0, 0xce, 1]));
        assert_eq!(
            (
                p.actor.key,
                p.actor.port_priority,
                p.actor.port,
                p.actor.state
            ),
            (1, 0xffff, 2, 0x3f)
        );
        assert_eq!(
            (
                p.partner.system_priority,
                p.partner.key,
                p.partner.port,
                p.partner.state
            ),
            (0x8000, 7, 0x0101, 0x3d)
        );
    }

    #[test]
    fn emit_round_trip() {
        let p = Lacpdu::parse(&ovs_like()).expect("valid");
        let mut b = vec![0xa5u8; LEN];
        p.emit(&mut b);
        assert_eq!(b, ovs_like());
    }

    #[test]
    fn rejects_bad_tlvs() {
        let mut b = ovs_like();
        b[3] = 19;
        assert_eq!(Lacpdu::parse(&b), Err(WireError::Malformed));
        assert_eq!(Lacpdu::parse(&ovs_like()[..57]), Err(WireError::Truncated));
        let mut b = ovs_like();
        b[0] = 2; // marker protocol
        assert_eq!(Lacpdu::parse(&b), Err(WireError::Malformed));
    }
}
