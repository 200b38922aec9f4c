//! EVPN NLRI (AFI 25 / SAFI 70): route types 1-8 (RFC 7432 §7, RFC 9136 §3.1, RFC 9251 §9),
//! unknown types kept. Wire layouts and examples: shared/spec/evpn-routes.md.
//!
//! ```text
//! | route type (1) | length (1) | route-type-specific (length) |
//! ```
//! Each route is parsed from a sub-reader bounded by its Length: a bad route cannot read its
//! neighbour. A Length that runs past the end is a framing error (RFC 7606 §5.3: the caller
//! resets or disables the AFI/SAFI); a route whose framing is intact but whose content is
//! invalid is reported alone, so the caller can treat just that NLRI as withdrawn.

use super::Reader;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Ethernet Segment Identifier: the validated config type is the wire type too.
pub use config::Esi;

/// Route Distinguisher as carried (8 octets: type + value, RFC 4364 §4.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rd(pub [u8; 8]);

impl std::fmt::Display for Rd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match config::RouteDistinguisher::from_octets(self.0) {
            Some(rd) => write!(f, "{rd}"),
            None => self.0.iter().try_for_each(|b| write!(f, "{b:02x}")),
        }
    }
}

impl From<config::RouteDistinguisher> for Rd {
    fn from(rd: config::RouteDistinguisher) -> Rd {
        Rd(rd.octets())
    }
}

/// 3-octet label field: an MPLS label in the high 20 bits, or a whole 24-bit VNI.
pub type Label = u32;

/// RT-6/7/8 common part (RFC 9251 §9).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mcast {
    pub rd: Rd,
    pub tag: u32,
    pub source: Option<IpAddr>,
    pub group: IpAddr,
    pub originator: IpAddr,
}

pub mod mcast_flags {
    pub const V1: u8 = 0x01;
    pub const V2: u8 = 0x02;
    pub const V3: u8 = 0x04;
    pub const EXCLUDE: u8 = 0x08;
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EvpnRoute {
    EthernetAd {
        rd: Rd,
        esi: Esi,
        tag: u32,
        label: Label,
    },
    MacIp {
        rd: Rd,
        esi: Esi,
        tag: u32,
        mac: [u8; 6],
        ip: Option<IpAddr>,
        label1: Label,
        label2: Option<Label>,
    },
    Imet {
        rd: Rd,
        tag: u32,
        originator: IpAddr,
    },
    EthernetSegment {
        rd: Rd,
        esi: Esi,
        originator: IpAddr,
    },
    IpPrefix {
        rd: Rd,
        esi: Esi,
        tag: u32,
        prefix: IpAddr,
        len: u8,
        gw: IpAddr,
        label: Label,
    },
    Smet {
        m: Mcast,
        flags: u8,
    },
    JoinSync {
        m: Mcast,
        esi: Esi,
        flags: u8,
    },
    LeaveSync {
        m: Mcast,
        esi: Esi,
        reserved: u32,
        max_response: u8,
        flags: u8,
    },
    Unknown {
        code: u8,
        value: Vec<u8>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NlriError {
    /// The type/length framing itself is broken: the rest of the attribute is unusable.
    #[error("EVPN NLRI framing: length {len} of route type {code} runs past the attribute end")]
    Framing { code: u8, len: usize },
    /// This one route is invalid; the others are fine.
    #[error("EVPN route type {code}: {why}")]
    Invalid { code: u8, why: &'static str },
}

fn ip(r: &mut Reader<'_>, bits: u8) -> Option<IpAddr> {
    match bits {
        32 => r
            .take(4)
            .map(|b| IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
        128 => r.take(16).map(|b| {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            IpAddr::V6(Ipv6Addr::from(a))
        }),
        _ => None,
    }
}

fn label(r: &mut Reader<'_>) -> Option<Label> {
    r.take(3).map(|b| u32::from_be_bytes([0, b[0], b[1], b[2]]))
}

fn fixed<const N: usize>(r: &mut Reader<'_>) -> Option<[u8; N]> {
    let mut a = [0u8; N];
    a.copy_from_slice(r.take(N)?);
    Some(a)
}

fn mcast(r: &mut Reader<'_>, rd: Rd, tag: u32) -> Option<Mcast> {
    let sl = r.u8()?;
    let source = if sl == 0 { None } else { Some(ip(r, sl)?) };
    let gl = r.u8()?;
    let group = ip(r, gl)?;
    let ol = r.u8()?;
    let originator = ip(r, ol)?;
    Some(Mcast {
        rd,
        tag,
        source,
        group,
        originator,
    })
}

impl EvpnRoute {
    pub fn code(&self) -> u8 {
        match self {
            EvpnRoute::EthernetAd { .. } => 1,
            EvpnRoute::MacIp { .. } => 2,
            EvpnRoute::Imet { .. } => 3,
            EvpnRoute::EthernetSegment { .. } => 4,
            EvpnRoute::IpPrefix { .. } => 5,
            EvpnRoute::Smet { .. } => 6,
            EvpnRoute::JoinSync { .. } => 7,
            EvpnRoute::LeaveSync { .. } => 8,
            EvpnRoute::Unknown { code, .. } => *code,
        }
    }

    /// The route with its non-key fields cleared: two routes with the same key are the same
    /// route (a new advertisement replaces the old; evpn-routes.md §4).
    pub fn key(&self) -> EvpnRoute {
        let mut k = self.clone();
        match &mut k {
            EvpnRoute::EthernetAd { label, .. } => *label = 0,
            EvpnRoute::MacIp {
                esi,
                label1,
                label2,
                ..
            } => {
                *esi = Esi::ZERO;
                *label1 = 0;
                *label2 = None;
            }
            EvpnRoute::IpPrefix { esi, gw, label, .. } => {
                *esi = Esi::ZERO;
                *gw = if gw.is_ipv4() {
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                } else {
                    IpAddr::V6(Ipv6Addr::UNSPECIFIED)
                };
                *label = 0;
            }
            EvpnRoute::Smet { flags, .. } | EvpnRoute::JoinSync { flags, .. } => *flags = 0,
            EvpnRoute::LeaveSync {
                reserved,
                max_response,
                flags,
                ..
            } => {
                *reserved = 0;
                *max_response = 0;
                *flags = 0;
            }
            EvpnRoute::Imet { .. }
            | EvpnRoute::EthernetSegment { .. }
            | EvpnRoute::Unknown { .. } => {}
        }
        k
    }

    /// Decodes every route of an MP_REACH/MP_UNREACH NLRI field. Invalid routes are returned
    /// beside the good ones; a framing error ends the walk.
    pub fn decode_all(buf: &[u8]) -> Result<(Vec<EvpnRoute>, Vec<NlriError>), NlriError> {
        let mut r = Reader::new(buf);
        let mut good = Vec::new();
        let mut bad = Vec::new();
        while !r.is_empty() {
            let code = r.u8().unwrap_or_default();
            let Some(len) = r.u8().map(usize::from) else {
                return Err(NlriError::Framing { code, len: 0 });
            };
            let Some(body) = r.take(len) else {
                return Err(NlriError::Framing { code, len });
            };
            match Self::decode_body(code, body) {
                Ok(route) => good.push(route),
                Err(e) => bad.push(e),
            }
        }
        Ok((good, bad))
    }

    fn decode_body(code: u8, body: &[u8]) -> Result<EvpnRoute, NlriError> {
        let bad = |why| NlriError::Invalid { code, why };
        let len = body.len();
        let mut r = Reader::new(body);
        let route = match code {
            1 => {
                if len != 25 {
                    return Err(bad("length is not 25"));
                }
                EvpnRoute::EthernetAd {
                    rd: Rd(fixed(&mut r).ok_or(bad("short"))?),
                    esi: Esi(fixed(&mut r).ok_or(bad("short"))?),
                    tag: r.u32().ok_or(bad("short"))?,
                    label: label(&mut r).ok_or(bad("short"))?,
                }
            }
            2 => {
                if ![33, 36, 37, 40, 49, 52].contains(&len) {
                    return Err(bad("length not one of 33, 36, 37, 40, 49, 52"));
                }
                let rd = Rd(fixed(&mut r).ok_or(bad("short"))?);
                let esi = Esi(fixed(&mut r).ok_or(bad("short"))?);
                let tag = r.u32().ok_or(bad("short"))?;
                if r.u8() != Some(48) {
                    return Err(bad("MAC length is not 48"));
                }
                let mac = fixed(&mut r).ok_or(bad("short"))?;
                let il = r.u8().ok_or(bad("short"))?;
                let ip = match il {
                    0 => None,
                    32 | 128 => Some(ip(&mut r, il).ok_or(bad("short"))?),
                    _ => return Err(bad("IP length is not 0, 32 or 128")),
                };
                let label1 =
                    label(&mut r).ok_or(bad("IP length disagrees with the route length"))?;
                let label2 = r.take(3).map(|b| u32::from_be_bytes([0, b[0], b[1], b[2]]));
                if !r.is_empty() {
                    return Err(bad("IP length disagrees with the route length"));
                }
                EvpnRoute::MacIp {
                    rd,
                    esi,
                    tag,
                    mac,
                    ip,
                    label1,
                    label2,
                }
            }
            3 | 4 => {
                let ok = if code == 3 { [17, 29] } else { [23, 35] };
                if !ok.contains(&len) {
                    return Err(bad("bad length"));
                }
                let rd = Rd(fixed(&mut r).ok_or(bad("short"))?);
                let esi = if code == 4 {
                    Esi(fixed(&mut r).ok_or(bad("short"))?)
                } else {
                    Esi::ZERO
                };
                let tag = if code == 3 {
                    r.u32().ok_or(bad("short"))?
                } else {
                    0
                };
                let il = r.u8().ok_or(bad("short"))?;
                let originator =
                    ip(&mut r, il).ok_or(bad("IP length disagrees with the route length"))?;
                if !r.is_empty() {
                    return Err(bad("IP length disagrees with the route length"));
                }
                if code == 3 {
                    EvpnRoute::Imet {
                        rd,
                        tag,
                        originator,
                    }
                } else {
                    EvpnRoute::EthernetSegment {
                        rd,
                        esi,
                        originator,
                    }
                }
            }
            5 => {
                let bits = match len {
                    34 => 32,
                    58 => 128,
                    _ => return Err(bad("length is not 34 or 58")),
                };
                let rd = Rd(fixed(&mut r).ok_or(bad("short"))?);
                let esi = Esi(fixed(&mut r).ok_or(bad("short"))?);
                let tag = r.u32().ok_or(bad("short"))?;
                let plen = r.u8().ok_or(bad("short"))?;
                if plen > bits {
                    return Err(bad("prefix length exceeds the address"));
                }
                let prefix = ip(&mut r, bits).ok_or(bad("short"))?;
                let gw = ip(&mut r, bits).ok_or(bad("short"))?;
                let label = label(&mut r).ok_or(bad("short"))?;
                EvpnRoute::IpPrefix {
                    rd,
                    esi,
                    tag,
                    prefix,
                    len: plen,
                    gw,
                    label,
                }
            }
            6..=8 => {
                let rd = Rd(fixed(&mut r).ok_or(bad("short"))?);
                let esi = if code == 6 {
                    Esi::ZERO
                } else {
                    Esi(fixed(&mut r).ok_or(bad("short"))?)
                };
                let tag = r.u32().ok_or(bad("short"))?;
                let m = mcast(&mut r, rd, tag)
                    .ok_or(bad("address lengths disagree with the route length"))?;
                let route = match code {
                    6 => EvpnRoute::Smet {
                        m,
                        flags: r.u8().ok_or(bad("short"))?,
                    },
                    7 => EvpnRoute::JoinSync {
                        m,
                        esi,
                        flags: r.u8().ok_or(bad("short"))?,
                    },
                    _ => EvpnRoute::LeaveSync {
                        m,
                        esi,
                        reserved: r.u32().ok_or(bad("short"))?,
                        max_response: r.u8().ok_or(bad("short"))?,
                        flags: r.u8().ok_or(bad("short"))?,
                    },
                };
                if !r.is_empty() {
                    return Err(bad("address lengths disagree with the route length"));
                }
                route
            }
            _ => EvpnRoute::Unknown {
                code,
                value: body.to_vec(),
            },
        };
        Ok(route)
    }

    /// Appends type, length and body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[self.code(), 0]);
        let ipb = |out: &mut Vec<u8>, a: &IpAddr| match a {
            IpAddr::V4(v) => out.extend_from_slice(&v.octets()),
            IpAddr::V6(v) => out.extend_from_slice(&v.octets()),
        };
        let bits = |a: &IpAddr| if a.is_ipv4() { 32u8 } else { 128 };
        let lab = |out: &mut Vec<u8>, l: Label| out.extend_from_slice(&l.to_be_bytes()[1..]);
        let mc = |out: &mut Vec<u8>, m: &Mcast| {
            match &m.source {
                Some(s) => {
                    out.push(bits(s));
                    ipb(out, s);
                }
                None => out.push(0),
            }
            out.push(bits(&m.group));
            ipb(out, &m.group);
            out.push(bits(&m.originator));
            ipb(out, &m.originator);
        };
        match self {
            EvpnRoute::EthernetAd {
                rd,
                esi,
                tag,
                label,
            } => {
                out.extend_from_slice(&rd.0);
                out.extend_from_slice(&esi.0);
                out.extend_from_slice(&tag.to_be_bytes());
                lab(out, *label);
            }
            EvpnRoute::MacIp {
                rd,
                esi,
                tag,
                mac,
                ip,
                label1,
                label2,
            } => {
                out.extend_from_slice(&rd.0);
                out.extend_from_slice(&esi.0);
                out.extend_from_slice(&tag.to_be_bytes());
                out.push(48);
                out.extend_from_slice(mac);
                match ip {
                    Some(a) => {
                        out.push(bits(a));
                        ipb(out, a);
                    }
                    None => out.push(0),
                }
                lab(out, *label1);
                if let Some(l) = label2 {
                    lab(out, *l);
                }
            }
            EvpnRoute::Imet {
                rd,
                tag,
                originator,
            } => {
                out.extend_from_slice(&rd.0);
                out.extend_from_slice(&tag.to_be_bytes());
                out.push(bits(originator));
                ipb(out, originator);
            }
            EvpnRoute::EthernetSegment {
                rd,
                esi,
                originator,
            } => {
                out.extend_from_slice(&rd.0);
                out.extend_from_slice(&esi.0);
                out.push(bits(originator));
                ipb(out, originator);
            }
            EvpnRoute::IpPrefix {
                rd,
                esi,
                tag,
                prefix,
                len,
                gw,
                label,
            } => {
                out.extend_from_slice(&rd.0);
                out.extend_from_slice(&esi.0);
                out.extend_from_slice(&tag.to_be_bytes());
                out.push(*len);
                ipb(out, prefix);
                ipb(out, gw);
                lab(out, *label);
            }
            EvpnRoute::Smet { m, flags } => {
                out.extend_from_slice(&m.rd.0);
                out.extend_from_slice(&m.tag.to_be_bytes());
                mc(out, m);
                out.push(*flags);
            }
            EvpnRoute::JoinSync { m, esi, flags } => {
                out.extend_from_slice(&m.rd.0);
                out.extend_from_slice(&esi.0);
                out.extend_from_slice(&m.tag.to_be_bytes());
                mc(out, m);
                out.push(*flags);
            }
            EvpnRoute::LeaveSync {
                m,
                esi,
                reserved,
                max_response,
                flags,
            } => {
                out.extend_from_slice(&m.rd.0);
                out.extend_from_slice(&esi.0);
                out.extend_from_slice(&m.tag.to_be_bytes());
                mc(out, m);
                out.extend_from_slice(&reserved.to_be_bytes());
                out.push(*max_response);
                out.push(*flags);
            }
            EvpnRoute::Unknown { value, .. } => out.extend_from_slice(value),
        }
        out[start + 1] = (out.len() - start - 2) as u8;
    }
}

#[cfg(test)]
mod tests;
