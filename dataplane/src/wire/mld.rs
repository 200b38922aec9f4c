//! MLD (RFC 2710 v1, RFC 3810 v2) as the L3MH MLD sync needs it: reports, dones and queries,
//! with MLDv2 multicast address records walked without allocating. The record types are
//! those of IGMPv3 (`igmp::record`).

use super::{be16, icmp, WireError};
use std::net::Ipv6Addr;

pub const QUERY: u8 = 130;
pub const V1_REPORT: u8 = 131;
pub const V1_DONE: u8 = 132;
pub const V2_REPORT: u8 = 143;

/// Whether an ICMPv6 type is an MLD message.
pub fn is_mld(t: u8) -> bool {
    matches!(t, QUERY | V1_REPORT | V1_DONE | V2_REPORT)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mld<'a> {
    Query { group: Ipv6Addr },
    Report { group: Ipv6Addr },
    Done { group: Ipv6Addr },
    V2Report { n: u16, records: &'a [u8] },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub kind: u8,
    pub group: Ipv6Addr,
    sources: &'a [u8],
}

impl Record<'_> {
    pub fn sources(&self) -> impl Iterator<Item = Ipv6Addr> + '_ {
        self.sources.chunks_exact(16).map(|c| {
            let mut a = [0u8; 16];
            a.copy_from_slice(c);
            Ipv6Addr::from(a)
        })
    }
}

fn v6(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    Ipv6Addr::from(a)
}

/// Parses an MLD message (the ICMPv6 payload of the packet from `src` to `dst`) and checks the
/// ICMPv6 checksum.
pub fn parse<'a>(msg: &'a [u8], src: &[u8; 16], dst: &[u8; 16]) -> Result<Mld<'a>, WireError> {
    if msg.len() < 8 {
        return Err(WireError::Truncated);
    }
    if !icmp::v6_valid(msg, src, dst) {
        return Err(WireError::Checksum);
    }
    match msg[0] {
        QUERY | V1_REPORT | V1_DONE => {
            if msg.len() < 24 {
                return Err(WireError::Truncated);
            }
            let group = v6(&msg[8..24]);
            Ok(match msg[0] {
                QUERY => Mld::Query { group },
                V1_REPORT => Mld::Report { group },
                _ => Mld::Done { group },
            })
        }
        V2_REPORT => {
            let n = be16(msg, 6);
            let records = &msg[8..];
            let mut at = 0usize;
            for _ in 0..n {
                let h = records.get(at..at + 20).ok_or(WireError::Truncated)?;
                let len = 20 + usize::from(be16(h, 2)) * 16 + usize::from(h[1]) * 4;
                if records.len() < at + len {
                    return Err(WireError::Truncated);
                }
                at += len;
            }
            Ok(Mld::V2Report {
                n,
                records: &records[..at],
            })
        }
        _ => Err(WireError::Malformed),
    }
}

/// The multicast address records of an MLDv2 report returned by `parse`.
pub fn records(n: u16, mut b: &[u8]) -> impl Iterator<Item = Record<'_>> {
    (0..n).map_while(move |_| {
        let h = b.get(..20)?;
        let nsrc = usize::from(be16(h, 2));
        let len = 20 + nsrc * 16 + usize::from(h[1]) * 4;
        let r = Record {
            kind: h[0],
            group: v6(&h[4..20]),
            sources: b.get(20..20 + nsrc * 16)?,
        };
        b = b.get(len..)?;
        Some(r)
    })
}

/// The MLD message of an IPv6 packet (after a Hop-by-Hop header if there is one, as MLD
/// carries the Router Alert option there): (src, dst, ICMPv6 message).
pub fn locate(ip: &[u8]) -> Option<([u8; 16], [u8; 16], &[u8])> {
    let h = ip.get(..40)?;
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(&h[8..24]);
    dst.copy_from_slice(&h[24..40]);
    let end = (40 + usize::from(be16(h, 4))).min(ip.len());
    let (next, at) = match h[6] {
        0 => {
            let hbh = ip.get(40..42)?;
            (hbh[0], 40 + (usize::from(hbh[1]) + 1) * 8)
        }
        n => (n, 40),
    };
    if next != 58 {
        return None;
    }
    Some((src, dst, ip.get(at..end)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::igmp::record;

    fn ll() -> [u8; 16] {
        let mut a = [0u8; 16];
        a[0] = 0xfe;
        a[1] = 0x80;
        a[15] = 0x11;
        a
    }

    fn with_sum(mut m: Vec<u8>, dst: &[u8; 16]) -> Vec<u8> {
        icmp::v6_fill_checksum(&mut m, &ll(), dst);
        m
    }

    #[test]
    fn v1_report_done_and_v2_records() {
        let g: Ipv6Addr = "ff0e::1:1".parse().expect("ip");
        let mut r = vec![V1_REPORT, 0, 0, 0, 0, 0, 0, 0];
        r.extend_from_slice(&g.octets());
        let r = with_sum(r, &g.octets());
        assert_eq!(parse(&r, &ll(), &g.octets()), Ok(Mld::Report { group: g }));
        let mut bad = r.clone();
        bad[20] ^= 1;
        assert_eq!(parse(&bad, &ll(), &g.octets()), Err(WireError::Checksum));
        // v2: CHANGE_TO_EXCLUDE ff0e::1:1 {} and ALLOW ff3e::1 {2001:db8::1}
        let dst: Ipv6Addr = "ff02::16".parse().expect("ip");
        let mut m = vec![V2_REPORT, 0, 0, 0, 0, 0, 0, 2];
        m.extend_from_slice(&[record::CHANGE_TO_EXCLUDE, 0, 0, 0]);
        m.extend_from_slice(&g.octets());
        let s: Ipv6Addr = "2001:db8::1".parse().expect("ip");
        let g2: Ipv6Addr = "ff3e::1".parse().expect("ip");
        m.extend_from_slice(&[record::ALLOW_NEW_SOURCES, 0, 0, 1]);
        m.extend_from_slice(&g2.octets());
        m.extend_from_slice(&s.octets());
        let m = with_sum(m, &dst.octets());
        let Ok(Mld::V2Report { n, records: rs }) = parse(&m, &ll(), &dst.octets()) else {
            panic!("not a v2 report")
        };
        let v: Vec<_> = records(n, rs).collect();
        assert_eq!((v[0].kind, v[0].group), (record::CHANGE_TO_EXCLUDE, g));
        assert_eq!(v[1].sources().collect::<Vec<_>>(), vec![s]);
        // In an IPv6 packet behind a Hop-by-Hop header (Router Alert).
        let mut ip = vec![0x60, 0, 0, 0, 0, 0, 0, 1];
        ip[4..6].copy_from_slice(&((8 + m.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&ll());
        ip.extend_from_slice(&dst.octets());
        ip.extend_from_slice(&[58, 0, 5, 2, 0, 0, 1, 0]);
        ip.extend_from_slice(&m);
        let (s2, d2, msg) = locate(&ip).expect("located");
        assert_eq!((s2, d2, msg), (ll(), dst.octets(), &m[..]));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(b in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            if let Some((s, d, msg)) = locate(&b) {
                if let Ok(Mld::V2Report { n, records: r }) = parse(msg, &s, &d) {
                    for rec in records(n, r) {
                        let _ = rec.sources().count();
                    }
                }
            }
            let _ = parse(&b, &[0; 16], &[0; 16]);
        }
    }
}
