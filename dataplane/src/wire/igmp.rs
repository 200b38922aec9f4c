//! IGMP (RFC 2236 v2, RFC 3376 v3, RFC 1112 v1 reports) as the L3MH IGMP sync needs it:
//! queries, reports and leaves, with IGMPv3 group records walked without allocating.

use super::{be16, checksum, WireError};
use std::net::Ipv4Addr;

pub const QUERY: u8 = 0x11;
pub const V1_REPORT: u8 = 0x12;
pub const V2_REPORT: u8 = 0x16;
pub const V2_LEAVE: u8 = 0x17;
pub const V3_REPORT: u8 = 0x22;

/// IGMPv3 group record types (RFC 3376 §4.2.12).
pub mod record {
    pub const MODE_IS_INCLUDE: u8 = 1;
    pub const MODE_IS_EXCLUDE: u8 = 2;
    pub const CHANGE_TO_INCLUDE: u8 = 3;
    pub const CHANGE_TO_EXCLUDE: u8 = 4;
    pub const ALLOW_NEW_SOURCES: u8 = 5;
    pub const BLOCK_OLD_SOURCES: u8 = 6;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Igmp<'a> {
    /// General (group 0.0.0.0) or group-specific query; `max_resp` in 1/10 s.
    Query {
        max_resp: u8,
        group: Ipv4Addr,
    },
    /// v1 or v2 membership report.
    Report {
        version: u8,
        group: Ipv4Addr,
    },
    Leave {
        group: Ipv4Addr,
    },
    /// v3 report: `n` group records in `records`.
    V3Report {
        n: u16,
        records: &'a [u8],
    },
}

/// One IGMPv3 group record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupRecord<'a> {
    pub kind: u8,
    pub group: Ipv4Addr,
    sources: &'a [u8],
}

impl GroupRecord<'_> {
    pub fn sources(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.sources
            .chunks_exact(4)
            .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
    }
}

fn v4(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

/// Parses an IGMP message (the IPv4 payload) and checks its checksum.
pub fn parse(msg: &[u8]) -> Result<Igmp<'_>, WireError> {
    if msg.len() < 8 {
        return Err(WireError::Truncated);
    }
    if checksum::checksum(msg) != 0 {
        return Err(WireError::Checksum);
    }
    let group = v4(&msg[4..8]);
    match msg[0] {
        QUERY => Ok(Igmp::Query {
            max_resp: msg[1],
            group,
        }),
        V1_REPORT => Ok(Igmp::Report { version: 1, group }),
        V2_REPORT => Ok(Igmp::Report { version: 2, group }),
        V2_LEAVE => Ok(Igmp::Leave { group }),
        V3_REPORT => {
            let n = be16(msg, 6);
            let records = &msg[8..];
            // Validate the walk once so the iterator never fails.
            let mut at = 0usize;
            for _ in 0..n {
                let h = records.get(at..at + 8).ok_or(WireError::Truncated)?;
                let len = 8 + usize::from(h[1]) * 4 + usize::from(be16(h, 2)) * 4;
                if records.len() < at + len {
                    return Err(WireError::Truncated);
                }
                at += len;
            }
            Ok(Igmp::V3Report {
                n,
                records: &records[..at],
            })
        }
        _ => Err(WireError::Malformed),
    }
}

/// The group records of a v3 report returned by `parse`.
pub fn records(n: u16, mut b: &[u8]) -> impl Iterator<Item = GroupRecord<'_>> {
    (0..n).map_while(move |_| {
        let h = b.get(..8)?;
        let nsrc = usize::from(be16(h, 2));
        let len = 8 + usize::from(h[1]) * 4 + nsrc * 4;
        let r = GroupRecord {
            kind: h[0],
            group: v4(&h[4..8]),
            sources: b.get(8..8 + nsrc * 4)?,
        };
        b = b.get(len..)?;
        Some(r)
    })
}

/// Writes an IGMPv2 query (`group` 0.0.0.0 for a general query) into `out[..8]`.
pub fn emit_query(out: &mut [u8], max_resp: u8, group: Ipv4Addr) {
    out[0] = QUERY;
    out[1] = max_resp;
    out[2] = 0;
    out[3] = 0;
    out[4..8].copy_from_slice(&group.octets());
    let c = checksum::checksum(&out[..8]);
    out[2..4].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_sum(mut m: Vec<u8>) -> Vec<u8> {
        m[2] = 0;
        m[3] = 0;
        let c = checksum::checksum(&m);
        m[2..4].copy_from_slice(&c.to_be_bytes());
        m
    }

    #[test]
    fn v2_report_leave_and_query() {
        let r = with_sum(vec![0x16, 0, 0, 0, 239, 1, 1, 1]);
        assert_eq!(
            parse(&r),
            Ok(Igmp::Report {
                version: 2,
                group: Ipv4Addr::new(239, 1, 1, 1)
            })
        );
        let l = with_sum(vec![0x17, 0, 0, 0, 239, 1, 1, 1]);
        assert_eq!(
            parse(&l),
            Ok(Igmp::Leave {
                group: Ipv4Addr::new(239, 1, 1, 1)
            })
        );
        let mut q = [0u8; 8];
        emit_query(&mut q, 100, Ipv4Addr::UNSPECIFIED);
        assert_eq!(
            parse(&q),
            Ok(Igmp::Query {
                max_resp: 100,
                group: Ipv4Addr::UNSPECIFIED
            })
        );
        let mut bad = r.clone();
        bad[5] ^= 1;
        assert_eq!(parse(&bad), Err(WireError::Checksum));
        assert_eq!(parse(&r[..7]), Err(WireError::Truncated));
    }

    #[test]
    fn v3_records() {
        // Two records: CHANGE_TO_EXCLUDE 239.1.1.1 {} and ALLOW_NEW 232.1.1.1 {10.0.0.1, 10.0.0.2}.
        let mut m = vec![0x22, 0, 0, 0, 0, 0, 0, 2];
        m.extend_from_slice(&[4, 0, 0, 0, 239, 1, 1, 1]);
        m.extend_from_slice(&[5, 0, 0, 2, 232, 1, 1, 1, 10, 0, 0, 1, 10, 0, 0, 2]);
        let m = with_sum(m);
        let Ok(Igmp::V3Report { n, records: r }) = parse(&m) else {
            panic!("not a v3 report")
        };
        let v: Vec<_> = records(n, r).collect();
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[0].kind, v[0].group),
            (record::CHANGE_TO_EXCLUDE, Ipv4Addr::new(239, 1, 1, 1))
        );
        assert_eq!(v[0].sources().count(), 0);
        assert_eq!(
            v[1].sources().collect::<Vec<_>>(),
            vec![Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)]
        );
        // A record count beyond the data is refused, not walked.
        let mut t = m.clone();
        t[7] = 3;
        let t = with_sum(t);
        assert_eq!(parse(&t), Err(WireError::Truncated));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(b in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            if let Ok(Igmp::V3Report { n, records: r }) = parse(&b) {
                for rec in records(n, r) {
                    let _ = rec.sources().count();
                }
            }
        }
    }
}
