//! Extended communities (RFC 4360) kept as their 8 octets, with typed constructors and views
//! for the ones an L3MH PE speaks (shared/spec/evpn-communities.md). Unknown types and
//! sub-types are never an error (RFC 7606 §7.14): they are carried as they are.

use config::{MacAddr, RouteDistinguisher, RouteTarget};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExtCommunity(pub [u8; 8]);

/// BGP Encapsulation EC tunnel types (RFC 9012 / RFC 8365).
pub mod tunnel {
    pub const VXLAN: u16 = 8;
    pub const MPLS: u16 = 10;
}

/// DF Election algorithms (RFC 8584, RFC 9785).
pub mod df_alg {
    pub const MODULO: u8 = 0;
    pub const HRW: u8 = 1;
    pub const PREFERENCE: u8 = 2;
}

impl ExtCommunity {
    /// A transitive Route Target: the RD octets with sub-type 0x02 (RFC 4360 §4).
    pub fn route_target(rt: RouteTarget) -> ExtCommunity {
        let rd = rt.0.octets();
        ExtCommunity([rd[1], 0x02, rd[2], rd[3], rd[4], rd[5], rd[6], rd[7]])
    }

    /// The RT of a transitive Route Target community, in config form.
    pub fn as_rt(&self) -> Option<RouteTarget> {
        let b = self.0;
        if b[1] != 0x02 || b[0] > 2 {
            return None;
        }
        RouteDistinguisher::from_octets([0, b[0], b[2], b[3], b[4], b[5], b[6], b[7]])
            .map(RouteTarget)
    }

    /// The RT this community is, if it is a transitive RT of any of the three forms.
    pub fn as_route_target(&self) -> Option<[u8; 8]> {
        matches!((self.0[0], self.0[1]), (0x00..=0x02, 0x02)).then_some(self.0)
    }

    /// ES-Import RT: the MAC of ESI types 1-3 (RFC 7432 §7.6).
    pub fn es_import(mac: MacAddr) -> ExtCommunity {
        let mut b = [0x06, 0x02, 0, 0, 0, 0, 0, 0];
        b[2..].copy_from_slice(&mac.0);
        ExtCommunity(b)
    }

    /// ESI Label (RFC 7432 §7.5): the single-active flag and a 3-octet label field.
    pub fn esi_label(single_active: bool, label: u32) -> ExtCommunity {
        let l = label.to_be_bytes();
        ExtCommunity([0x06, 0x01, u8::from(single_active), 0, 0, l[1], l[2], l[3]])
    }

    /// (single-active flag, label field) of an ESI Label EC.
    pub fn as_esi_label(&self) -> Option<(bool, u32)> {
        let b = self.0;
        (b[0] == 0x06 && b[1] == 0x01)
            .then(|| (b[2] & 1 != 0, u32::from_be_bytes([0, b[5], b[6], b[7]])))
    }

    /// EVPN Router's MAC (RFC 9135 §8.1).
    pub fn router_mac(mac: MacAddr) -> ExtCommunity {
        let mut b = [0x06, 0x03, 0, 0, 0, 0, 0, 0];
        b[2..].copy_from_slice(&mac.0);
        ExtCommunity(b)
    }

    /// The MAC of an EVPN Router's MAC EC.
    pub fn as_router_mac(&self) -> Option<MacAddr> {
        let b = self.0;
        (b[0] == 0x06 && b[1] == 0x03).then(|| MacAddr([b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    /// The tunnel type of a BGP Encapsulation EC.
    pub fn as_encapsulation(&self) -> Option<u16> {
        let b = self.0;
        (b[0] == 0x03 && b[1] == 0x0c).then(|| u16::from_be_bytes([b[6], b[7]]))
    }

    /// MAC Mobility (RFC 7432 §7.7).
    pub fn mac_mobility(sticky: bool, seq: u32) -> ExtCommunity {
        let s = seq.to_be_bytes();
        ExtCommunity([0x06, 0x00, u8::from(sticky), 0, s[0], s[1], s[2], s[3]])
    }

    /// DF Election (RFC 8584 §2.2): algorithm, capability bitmap, preference (octets 6-7).
    pub fn df_election(alg: u8, bitmap: u16, preference: u16) -> ExtCommunity {
        let m = bitmap.to_be_bytes();
        let p = preference.to_be_bytes();
        ExtCommunity([0x06, 0x06, alg & 0x1f, m[0], m[1], 0, p[0], p[1]])
    }

    /// (algorithm, bitmap, preference) of a DF Election EC.
    pub fn as_df_election(&self) -> Option<(u8, u16, u16)> {
        let b = self.0;
        (b[0] == 0x06 && b[1] == 0x06).then(|| {
            (
                b[2] & 0x1f,
                u16::from_be_bytes([b[3], b[4]]),
                u16::from_be_bytes([b[6], b[7]]),
            )
        })
    }

    /// EVI-RT (RFC 9251 §9.5) standing for a transitive 2-octet-AS, IPv4 or 4-octet-AS RT.
    pub fn evi_rt(rt: RouteTarget) -> ExtCommunity {
        let mut b = Self::route_target(rt).0;
        b[1] = 0x0a + b[0];
        b[0] = 0x06;
        ExtCommunity(b)
    }

    /// The RT an EVI-RT stands for (sub-types 0x0a-0x0c: 2-octet AS, IPv4, 4-octet AS).
    pub fn as_evi_rt(&self) -> Option<RouteTarget> {
        let b = self.0;
        if b[0] != 0x06 || !(0x0a..=0x0c).contains(&b[1]) {
            return None;
        }
        ExtCommunity([b[1] - 0x0a, 0x02, b[2], b[3], b[4], b[5], b[6], b[7]]).as_rt()
    }

    /// BGP Encapsulation (RFC 9012 §4.1).
    pub fn encapsulation(tunnel_type: u16) -> ExtCommunity {
        let t = tunnel_type.to_be_bytes();
        ExtCommunity([0x03, 0x0c, 0, 0, 0, 0, t[0], t[1]])
    }

    /// Multicast Flags (RFC 9251 §9.4): bit 0x01 IGMP proxy, 0x02 MLD proxy.
    pub fn multicast_flags(flags: u16) -> ExtCommunity {
        let f = flags.to_be_bytes();
        ExtCommunity([0x06, 0x09, f[0], f[1], 0, 0, 0, 0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::packet::hex;

    fn ec(s: &str) -> ExtCommunity {
        let v = hex(s);
        let mut b = [0u8; 8];
        b.copy_from_slice(&v);
        ExtCommunity(b)
    }

    /// The examples of shared/spec/evpn-communities.md.
    #[test]
    fn golden() {
        let rt = |s: &str| RouteTarget(s.parse().expect("rt"));
        assert_eq!(
            ExtCommunity::route_target(rt("65000:100")),
            ec("00 02 fd e8 00 00 00 64")
        );
        assert_eq!(
            ExtCommunity::route_target(rt("192.0.2.1:100")),
            ec("01 02 c0 00 02 01 00 64")
        );
        assert_eq!(
            ExtCommunity::route_target(rt("4200000000:100")),
            ec("02 02 fa 56 ea 00 00 64")
        );
        let mac = MacAddr([0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
        assert_eq!(ExtCommunity::es_import(mac), ec("06 02 00 11 22 33 44 55"));
        assert_eq!(
            ExtCommunity::esi_label(false, 0),
            ec("06 01 00 00 00 00 00 00")
        );
        assert_eq!(
            ExtCommunity::esi_label(true, (1000 << 4) | 1),
            ec("06 01 01 00 00 00 3e 81")
        );
        assert_eq!(
            ExtCommunity::router_mac(MacAddr([0x02, 0, 0x5e, 0, 0x53, 1])),
            ec("06 03 02 00 5e 00 53 01")
        );
        assert_eq!(
            ExtCommunity::mac_mobility(false, 5),
            ec("06 00 00 00 00 00 00 05")
        );
        assert_eq!(
            ExtCommunity::df_election(df_alg::HRW, 0, 0),
            ec("06 06 01 00 00 00 00 00")
        );
        assert_eq!(
            ExtCommunity::df_election(df_alg::HRW, 0x4000, 0),
            ec("06 06 01 40 00 00 00 00")
        );
        assert_eq!(
            ExtCommunity::df_election(df_alg::PREFERENCE, 0x8000, 32767),
            ec("06 06 02 80 00 00 7f ff")
        );
        assert_eq!(
            ExtCommunity::df_election(df_alg::PREFERENCE, 0x0400, 200),
            ec("06 06 02 04 00 00 00 c8")
        );
        assert_eq!(
            ec("06 06 02 04 00 00 00 c8").as_df_election(),
            Some((2, 0x0400, 200))
        );
        assert_eq!(
            ExtCommunity::evi_rt(rt("65000:100")),
            ec("06 0a fd e8 00 00 00 64")
        );
        assert_eq!(
            ExtCommunity::evi_rt(rt("192.0.2.1:100")),
            ec("06 0b c0 00 02 01 00 64")
        );
        assert_eq!(
            ExtCommunity::evi_rt(rt("4200000000:100")),
            ec("06 0c fa 56 ea 00 00 64")
        );
        assert_eq!(
            ExtCommunity::encapsulation(tunnel::VXLAN),
            ec("03 0c 00 00 00 00 00 08")
        );
        assert_eq!(
            ExtCommunity::encapsulation(tunnel::MPLS),
            ec("03 0c 00 00 00 00 00 0a")
        );
        assert_eq!(
            ExtCommunity::multicast_flags(3),
            ec("06 09 00 03 00 00 00 00")
        );
        assert_eq!(
            ExtCommunity::evi_rt(rt("192.0.2.1:100")).as_evi_rt(),
            Some(rt("192.0.2.1:100"))
        );
        assert_eq!(
            ec("06 0a fd e8 00 00 00 64").as_evi_rt(),
            Some(rt("65000:100"))
        );
        assert_eq!(ec("00 02 fd e8 00 00 00 64").as_evi_rt(), None);
        assert!(ec("01 02 c0 00 02 01 00 64").as_route_target().is_some());
        assert!(ec("06 02 00 11 22 33 44 55").as_route_target().is_none());
    }
}
