//! UPDATE (RFC 4271 §4.3) with path attributes, MP_REACH/MP_UNREACH (RFC 4760) and RFC 7606
//! revised error handling: decoding never fails on an attribute error; it returns the UPDATE
//! together with the strongest action the errors call for, so treat-as-withdraw never resets
//! a session.
//!
//! ```text
//! | withdrawn len (2) | withdrawn (IPv4) | attrs len (2) | attrs | NLRI (IPv4, rest) |
//! attribute: | flags | type | len (1, or 2 with 0x10) | value |
//! ```

use super::ecomm::ExtCommunity;
use super::error::Notification;
use super::evpn::{EvpnRoute, NlriError};
use super::message::{afi, safi};
use super::Reader;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub mod attr {
    pub const ORIGIN: u8 = 1;
    pub const AS_PATH: u8 = 2;
    pub const NEXT_HOP: u8 = 3;
    pub const MED: u8 = 4;
    pub const LOCAL_PREF: u8 = 5;
    pub const ATOMIC_AGGREGATE: u8 = 6;
    pub const COMMUNITIES: u8 = 8;
    pub const ORIGINATOR_ID: u8 = 9;
    pub const CLUSTER_LIST: u8 = 10;
    pub const MP_REACH: u8 = 14;
    pub const MP_UNREACH: u8 = 15;
    pub const EXT_COMMUNITIES: u8 = 16;
}

const OPTIONAL: u8 = 0x80;
const TRANSITIVE: u8 = 0x40;
const PARTIAL: u8 = 0x20;
const EXT_LEN: u8 = 0x10;

/// RFC 7606 actions, weakest first: the strongest of an UPDATE's errors wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    None,
    AttributeDiscard,
    TreatAsWithdraw,
    AfiSafiDisable,
    SessionReset,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrError {
    pub attr: u8,
    pub action: Action,
    pub why: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsSegment {
    Set(Vec<u32>),
    Sequence(Vec<u32>),
    ConfedSequence(Vec<u32>),
    ConfedSet(Vec<u32>),
}

/// NLRI carried in MP_REACH / MP_UNREACH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MpNlri {
    Evpn(Vec<EvpnRoute>),
    /// A family we do not decode yet: kept raw.
    Other(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpReach {
    pub afi: u16,
    pub safi: u8,
    pub next_hop: Vec<IpAddr>,
    pub nlri: MpNlri,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpUnreach {
    pub afi: u16,
    pub safi: u8,
    pub nlri: MpNlri,
}

/// An attribute we do not interpret, with its flags (Partial set when we pass it on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawAttr {
    pub flags: u8,
    pub code: u8,
    pub value: Vec<u8>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attrs {
    pub origin: Option<u8>,
    pub as_path: Option<Vec<AsSegment>>,
    pub next_hop: Option<Ipv4Addr>,
    pub med: Option<u32>,
    pub local_pref: Option<u32>,
    pub atomic_aggregate: bool,
    pub communities: Vec<u32>,
    pub originator_id: Option<Ipv4Addr>,
    pub cluster_list: Vec<Ipv4Addr>,
    pub ext_communities: Vec<ExtCommunity>,
    pub mp_reach: Option<MpReach>,
    pub mp_unreach: Option<MpUnreach>,
    pub other: Vec<RawAttr>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Update {
    pub withdrawn: Vec<(Ipv4Addr, u8)>,
    pub attrs: Attrs,
    pub nlri: Vec<(Ipv4Addr, u8)>,
}

/// What the session negotiated and is: decoding depends on it.
#[derive(Debug, Clone, Copy)]
pub struct DecodeCxt {
    pub four_octet_as: bool,
    pub ebgp: bool,
}

/// The decoded UPDATE, the errors found and the action they call for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub update: Update,
    pub errors: Vec<AttrError>,
    /// NLRI of a known family that were dropped alone (their framing was intact).
    pub nlri_errors: Vec<NlriError>,
    pub action: Action,
}

impl Decoded {
    /// The NOTIFICATION to send when the action is a session reset.
    pub fn notification(&self) -> Option<Notification> {
        (self.action == Action::SessionReset).then(|| {
            let attr = self
                .errors
                .iter()
                .find(|e| e.action == Action::SessionReset)
                .map(|e| e.attr);
            match attr {
                Some(attr::MP_REACH | attr::MP_UNREACH) => Notification::new(3, 9, Vec::new()),
                _ => Notification::new(3, 1, Vec::new()),
            }
        })
    }
}

fn prefixes(buf: &[u8]) -> Option<Vec<(Ipv4Addr, u8)>> {
    let mut r = Reader::new(buf);
    let mut out = Vec::new();
    while !r.is_empty() {
        let len = r.u8()?;
        if len > 32 {
            return None;
        }
        let b = r.take(usize::from(len).div_ceil(8))?;
        let mut a = [0u8; 4];
        a[..b.len()].copy_from_slice(b);
        out.push((Ipv4Addr::from(a), len));
    }
    Some(out)
}

fn encode_prefixes(p: &[(Ipv4Addr, u8)], out: &mut Vec<u8>) {
    for (a, l) in p {
        out.push(*l);
        out.extend_from_slice(&a.octets()[..usize::from(*l).div_ceil(8)]);
    }
}

fn mp_nlri(
    afi_: u16,
    safi_: u8,
    b: &[u8],
    nlri_errors: &mut Vec<NlriError>,
) -> Result<MpNlri, NlriError> {
    if (afi_, safi_) == (afi::L2VPN, safi::EVPN) {
        let (good, bad) = EvpnRoute::decode_all(b)?;
        nlri_errors.extend(bad);
        Ok(MpNlri::Evpn(good))
    } else {
        Ok(MpNlri::Other(b.to_vec()))
    }
}

fn as_path(v: &[u8], four: bool) -> Option<Vec<AsSegment>> {
    let mut r = Reader::new(v);
    let mut out = Vec::new();
    while !r.is_empty() {
        let t = r.u8()?;
        let n = r.u8()?;
        if n == 0 {
            return None;
        }
        let mut asns = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            asns.push(if four { r.u32()? } else { u32::from(r.u16()?) });
        }
        out.push(match t {
            1 => AsSegment::Set(asns),
            2 => AsSegment::Sequence(asns),
            3 => AsSegment::ConfedSequence(asns),
            4 => AsSegment::ConfedSet(asns),
            _ => return None,
        });
    }
    Some(out)
}

impl Update {
    /// Decodes an UPDATE body (after the 19-octet header).
    pub fn decode(body: &[u8], cx: &DecodeCxt) -> Decoded {
        let mut errors = Vec::new();
        let mut nlri_errors = Vec::new();
        let mut u = Update::default();
        let reset = |why| Decoded {
            update: Update::default(),
            errors: vec![AttrError {
                attr: 0,
                action: Action::SessionReset,
                why,
            }],
            nlri_errors: Vec::new(),
            action: Action::SessionReset,
        };
        let mut r = Reader::new(body);
        let Some(wl) = r.u16() else {
            return reset("truncated");
        };
        let Some(w) = r.take(usize::from(wl)) else {
            return reset("withdrawn routes overrun the message");
        };
        let Some(al) = r.u16() else {
            return reset("truncated");
        };
        let Some(attrs) = r.take(usize::from(al)) else {
            return reset("path attributes overrun the message");
        };
        let Some(withdrawn) = prefixes(w) else {
            return reset("invalid withdrawn routes");
        };
        let Some(nlri) = prefixes(r.take(r.len()).unwrap_or_default()) else {
            return reset("invalid NLRI field");
        };
        u.withdrawn = withdrawn;
        u.nlri = nlri;

        let mut seen = [false; 256];
        let mut a = Reader::new(attrs);
        let mut err = |attr, action, why| errors.push(AttrError { attr, action, why });
        while !a.is_empty() {
            let (Some(flags), Some(code)) = (a.u8(), a.u8()) else {
                err(0, Action::TreatAsWithdraw, "attribute header truncated");
                break;
            };
            let len = if flags & EXT_LEN != 0 {
                a.u16().map(usize::from)
            } else {
                a.u8().map(usize::from)
            };
            let Some(v) = len.and_then(|l| a.take(l)) else {
                // RFC 7606 §4: the attribute overruns; the NLRI are still where the lengths say.
                err(
                    code,
                    Action::TreatAsWithdraw,
                    "attribute length runs past the attributes",
                );
                break;
            };
            if std::mem::replace(&mut seen[usize::from(code)], true) {
                if code == attr::MP_REACH || code == attr::MP_UNREACH {
                    err(
                        code,
                        Action::SessionReset,
                        "MP_REACH/MP_UNREACH appears twice",
                    );
                } else {
                    err(
                        code,
                        Action::AttributeDiscard,
                        "repeated attribute (first kept)",
                    );
                }
                continue;
            }
            let well_known = |f: u8| f & (OPTIONAL | TRANSITIVE) == TRANSITIVE;
            let opt_nontrans = |f: u8| f & (OPTIONAL | TRANSITIVE) == OPTIONAL;
            let opt_trans = |f: u8| f & (OPTIONAL | TRANSITIVE) == OPTIONAL | TRANSITIVE;
            match code {
                attr::ORIGIN => match (well_known(flags), v) {
                    (true, [o]) if *o <= 2 => u.attrs.origin = Some(*o),
                    _ => err(code, Action::TreatAsWithdraw, "bad ORIGIN"),
                },
                attr::AS_PATH => match (well_known(flags), as_path(v, cx.four_octet_as)) {
                    (true, Some(p)) => u.attrs.as_path = Some(p),
                    _ => err(code, Action::TreatAsWithdraw, "malformed AS_PATH"),
                },
                attr::NEXT_HOP => match (well_known(flags), v) {
                    (true, [a, b, c, d]) => u.attrs.next_hop = Some(Ipv4Addr::new(*a, *b, *c, *d)),
                    _ => err(code, Action::TreatAsWithdraw, "bad NEXT_HOP"),
                },
                attr::MED => match (opt_nontrans(flags), v) {
                    (true, [a, b, c, d]) => {
                        u.attrs.med = Some(u32::from_be_bytes([*a, *b, *c, *d]))
                    }
                    _ => err(code, Action::TreatAsWithdraw, "bad MULTI_EXIT_DISC"),
                },
                attr::LOCAL_PREF if cx.ebgp => err(
                    code,
                    Action::AttributeDiscard,
                    "LOCAL_PREF from an eBGP peer",
                ),
                attr::LOCAL_PREF => match (well_known(flags), v) {
                    (true, [a, b, c, d]) => {
                        u.attrs.local_pref = Some(u32::from_be_bytes([*a, *b, *c, *d]))
                    }
                    _ => err(code, Action::TreatAsWithdraw, "bad LOCAL_PREF"),
                },
                attr::ATOMIC_AGGREGATE => match (well_known(flags), v.len()) {
                    (true, 0) => u.attrs.atomic_aggregate = true,
                    _ => err(code, Action::AttributeDiscard, "bad ATOMIC_AGGREGATE"),
                },
                attr::COMMUNITIES => {
                    if opt_trans(flags) && !v.is_empty() && v.len() % 4 == 0 {
                        u.attrs.communities = v
                            .chunks(4)
                            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                            .collect();
                    } else {
                        err(code, Action::TreatAsWithdraw, "bad COMMUNITIES");
                    }
                }
                attr::ORIGINATOR_ID | attr::CLUSTER_LIST if cx.ebgp => err(
                    code,
                    Action::AttributeDiscard,
                    "route-reflection attribute from an eBGP peer",
                ),
                attr::ORIGINATOR_ID => match (opt_nontrans(flags), v) {
                    (true, [a, b, c, d]) => {
                        u.attrs.originator_id = Some(Ipv4Addr::new(*a, *b, *c, *d))
                    }
                    _ => err(code, Action::TreatAsWithdraw, "bad ORIGINATOR_ID"),
                },
                attr::CLUSTER_LIST => {
                    if opt_nontrans(flags) && !v.is_empty() && v.len() % 4 == 0 {
                        u.attrs.cluster_list = v
                            .chunks(4)
                            .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                            .collect();
                    } else {
                        err(code, Action::TreatAsWithdraw, "bad CLUSTER_LIST");
                    }
                }
                attr::EXT_COMMUNITIES => {
                    if opt_trans(flags) && !v.is_empty() && v.len() % 8 == 0 {
                        u.attrs.ext_communities = v
                            .chunks(8)
                            .map(|c| {
                                let mut b = [0u8; 8];
                                b.copy_from_slice(c);
                                ExtCommunity(b)
                            })
                            .collect();
                    } else {
                        err(code, Action::TreatAsWithdraw, "bad EXTENDED_COMMUNITIES");
                    }
                }
                attr::MP_REACH => {
                    let mut m = Reader::new(v);
                    let parsed = (|| {
                        let (afi_, safi_, nhl) = (m.u16()?, m.u8()?, m.u8()?);
                        let nh = m.take(usize::from(nhl))?;
                        m.u8()?; // reserved
                        let next_hop = match (afi_, nhl) {
                            (afi::L2VPN, 4) | (afi::IPV4, 4) => {
                                vec![IpAddr::V4(Ipv4Addr::new(nh[0], nh[1], nh[2], nh[3]))]
                            }
                            (afi::L2VPN, 16)
                            | (afi::IPV6, 16)
                            | (afi::L2VPN, 32)
                            | (afi::IPV6, 32) => nh
                                .chunks(16)
                                .map(|c| {
                                    let mut b = [0u8; 16];
                                    b.copy_from_slice(c);
                                    IpAddr::V6(Ipv6Addr::from(b))
                                })
                                .collect(),
                            (afi::L2VPN | afi::IPV4 | afi::IPV6, _) if safi_ != safi::MPLS_VPN => {
                                return None
                            }
                            _ => Vec::new(), // VPN next hops (RD + address) come with the VPN work
                        };
                        Some((afi_, safi_, next_hop, m.rest_slice()))
                    })();
                    match parsed {
                        Some((afi_, safi_, next_hop, rest)) if opt_nontrans(flags) => {
                            match mp_nlri(afi_, safi_, rest, &mut nlri_errors) {
                                Ok(nlri) => {
                                    u.attrs.mp_reach = Some(MpReach {
                                        afi: afi_,
                                        safi: safi_,
                                        next_hop,
                                        nlri,
                                    })
                                }
                                Err(_) => err(
                                    code,
                                    Action::SessionReset,
                                    "MP_REACH NLRI cannot be parsed",
                                ),
                            }
                        }
                        _ => err(code, Action::SessionReset, "malformed MP_REACH_NLRI"),
                    }
                }
                attr::MP_UNREACH => {
                    let mut m = Reader::new(v);
                    match (opt_nontrans(flags), m.u16(), m.u8()) {
                        (true, Some(afi_), Some(safi_)) => {
                            match mp_nlri(afi_, safi_, m.rest_slice(), &mut nlri_errors) {
                                Ok(nlri) => {
                                    u.attrs.mp_unreach = Some(MpUnreach {
                                        afi: afi_,
                                        safi: safi_,
                                        nlri,
                                    })
                                }
                                Err(_) => err(
                                    code,
                                    Action::SessionReset,
                                    "MP_UNREACH NLRI cannot be parsed",
                                ),
                            }
                        }
                        _ => err(code, Action::SessionReset, "malformed MP_UNREACH_NLRI"),
                    }
                }
                _ if flags & OPTIONAL == 0 => err(
                    code,
                    Action::SessionReset,
                    "unrecognized well-known attribute",
                ),
                _ if flags & TRANSITIVE != 0 => u.attrs.other.push(RawAttr {
                    flags: flags | PARTIAL,
                    code,
                    value: v.to_vec(),
                }),
                _ => {} // unknown optional non-transitive: dropped silently
            }
        }
        let has_nlri = !u.nlri.is_empty() || u.attrs.mp_reach.is_some();
        if has_nlri {
            if u.attrs.origin.is_none() && !seen[usize::from(attr::ORIGIN)] {
                err(attr::ORIGIN, Action::TreatAsWithdraw, "missing ORIGIN");
            }
            if u.attrs.as_path.is_none() && !seen[usize::from(attr::AS_PATH)] {
                err(attr::AS_PATH, Action::TreatAsWithdraw, "missing AS_PATH");
            }
            if !u.nlri.is_empty()
                && u.attrs.next_hop.is_none()
                && !seen[usize::from(attr::NEXT_HOP)]
            {
                err(attr::NEXT_HOP, Action::TreatAsWithdraw, "missing NEXT_HOP");
            }
        }
        let mut action = errors
            .iter()
            .map(|e| e.action)
            .max()
            .unwrap_or(Action::None);
        // RFC 7606 §5.2: nothing to withdraw means a non-discard error resets.
        if action == Action::TreatAsWithdraw
            && !has_nlri
            && u.withdrawn.is_empty()
            && u.attrs.mp_unreach.is_none()
        {
            action = Action::SessionReset;
        }
        Decoded {
            update: u,
            errors,
            nlri_errors,
            action,
        }
    }

    /// Encodes the UPDATE body. Attribute order follows RFC 7606 §5.1: MP_REACH/MP_UNREACH
    /// first. Lengths are computed from what was written.
    pub fn encode(&self, four_octet_as: bool) -> Vec<u8> {
        let mut attrs = Vec::new();
        let mut put = |flags: u8, code: u8, v: &[u8]| {
            if v.len() > 255 {
                attrs.extend_from_slice(&[flags | EXT_LEN, code]);
                attrs.extend_from_slice(&(v.len() as u16).to_be_bytes());
            } else if (code == attr::MP_REACH && v.len() > 5)
                || (code == attr::MP_UNREACH && v.len() > 3)
            {
                // Extended length for MP attributes that carry NLRI, as FRR and GoBGP send them
                // (an End-of-RIB goes out with a 1-octet length).
                attrs.extend_from_slice(&[flags | EXT_LEN, code]);
                attrs.extend_from_slice(&(v.len() as u16).to_be_bytes());
            } else {
                attrs.extend_from_slice(&[flags, code, v.len() as u8]);
            }
            attrs.extend_from_slice(v);
        };
        let nlri_bytes = |n: &MpNlri| match n {
            MpNlri::Evpn(routes) => {
                let mut b = Vec::new();
                for r in routes {
                    r.encode(&mut b);
                }
                b
            }
            MpNlri::Other(b) => b.clone(),
        };
        let a = &self.attrs;
        if let Some(m) = &a.mp_reach {
            let mut v = m.afi.to_be_bytes().to_vec();
            v.push(m.safi);
            let mut nh = Vec::new();
            for h in &m.next_hop {
                match h {
                    IpAddr::V4(x) => nh.extend_from_slice(&x.octets()),
                    IpAddr::V6(x) => nh.extend_from_slice(&x.octets()),
                }
            }
            v.push(nh.len() as u8);
            v.extend_from_slice(&nh);
            v.push(0);
            v.extend_from_slice(&nlri_bytes(&m.nlri));
            put(OPTIONAL, attr::MP_REACH, &v);
        }
        if let Some(m) = &a.mp_unreach {
            let mut v = m.afi.to_be_bytes().to_vec();
            v.push(m.safi);
            v.extend_from_slice(&nlri_bytes(&m.nlri));
            put(OPTIONAL, attr::MP_UNREACH, &v);
        }
        if let Some(o) = a.origin {
            put(TRANSITIVE, attr::ORIGIN, &[o]);
        }
        if let Some(p) = &a.as_path {
            let mut v = Vec::new();
            for s in p {
                let (t, asns) = match s {
                    AsSegment::Set(x) => (1, x),
                    AsSegment::Sequence(x) => (2, x),
                    AsSegment::ConfedSequence(x) => (3, x),
                    AsSegment::ConfedSet(x) => (4, x),
                };
                v.extend_from_slice(&[t, asns.len() as u8]);
                for asn in asns {
                    if four_octet_as {
                        v.extend_from_slice(&asn.to_be_bytes());
                    } else {
                        v.extend_from_slice(
                            &u16::try_from(*asn).unwrap_or(super::AS_TRANS).to_be_bytes(),
                        );
                    }
                }
            }
            put(TRANSITIVE, attr::AS_PATH, &v);
        }
        if let Some(nh) = a.next_hop {
            put(TRANSITIVE, attr::NEXT_HOP, &nh.octets());
        }
        if let Some(m) = a.med {
            put(OPTIONAL, attr::MED, &m.to_be_bytes());
        }
        if let Some(l) = a.local_pref {
            put(TRANSITIVE, attr::LOCAL_PREF, &l.to_be_bytes());
        }
        if a.atomic_aggregate {
            put(TRANSITIVE, attr::ATOMIC_AGGREGATE, &[]);
        }
        if !a.communities.is_empty() {
            let v: Vec<u8> = a.communities.iter().flat_map(|c| c.to_be_bytes()).collect();
            put(OPTIONAL | TRANSITIVE, attr::COMMUNITIES, &v);
        }
        if let Some(o) = a.originator_id {
            put(OPTIONAL, attr::ORIGINATOR_ID, &o.octets());
        }
        if !a.cluster_list.is_empty() {
            let v: Vec<u8> = a.cluster_list.iter().flat_map(|c| c.octets()).collect();
            put(OPTIONAL, attr::CLUSTER_LIST, &v);
        }
        if !a.ext_communities.is_empty() {
            let v: Vec<u8> = a.ext_communities.iter().flat_map(|c| c.0).collect();
            put(OPTIONAL | TRANSITIVE, attr::EXT_COMMUNITIES, &v);
        }
        for o in &a.other {
            put(o.flags & !EXT_LEN, o.code, &o.value);
        }
        let mut w = Vec::new();
        encode_prefixes(&self.withdrawn, &mut w);
        let mut out = (w.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(&w);
        out.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        out.extend_from_slice(&attrs);
        encode_prefixes(&self.nlri, &mut out);
        out
    }

    /// End-of-RIB for a family (RFC 4724 §2): an MP_UNREACH with no NLRI.
    pub fn end_of_rib(afi_: u16, safi_: u8) -> Update {
        Update {
            attrs: Attrs {
                mp_unreach: Some(MpUnreach {
                    afi: afi_,
                    safi: safi_,
                    nlri: MpNlri::Other(Vec::new()),
                }),
                ..Attrs::default()
            },
            ..Update::default()
        }
    }
}

#[cfg(test)]
mod tests;
