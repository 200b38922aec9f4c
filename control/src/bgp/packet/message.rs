//! OPEN (with capabilities), KEEPALIVE, NOTIFICATION and ROUTE-REFRESH; UPDATE is kept as
//! its raw body until the attribute and EVPN codec lands.

use super::error::{DecodeError, Notification};
use super::{message_len, Reader, AS_TRANS, HEADER_LEN};
use std::net::Ipv4Addr;

pub mod afi {
    pub const IPV4: u16 = 1;
    pub const IPV6: u16 = 2;
    pub const L2VPN: u16 = 25;
}
pub mod safi {
    pub const UNICAST: u8 = 1;
    pub const EVPN: u8 = 70;
    pub const MPLS_VPN: u8 = 128;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// RFC 4760: code 1.
    Multiprotocol { afi: u16, safi: u8 },
    /// RFC 2918: code 2.
    RouteRefresh,
    /// RFC 6793: code 65.
    FourOctetAs(u32),
    /// RFC 7313: code 70.
    EnhancedRouteRefresh,
    /// Anything else, kept as is (RFC 5492 §3: ignore what you do not know).
    Unknown { code: u8, value: Vec<u8> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    pub version: u8,
    /// The 2-octet field as sent (AS_TRANS when the real AS is above 65535).
    pub my_as: u16,
    pub hold_time: u16,
    pub router_id: Ipv4Addr,
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// Builds an OPEN for `asn`: AS_TRANS in the 2-octet field when needed, and the 4-octet
    /// AS capability always.
    pub fn new(asn: u32, hold_time: u16, router_id: Ipv4Addr, mut caps: Vec<Capability>) -> Open {
        caps.push(Capability::FourOctetAs(asn));
        Open {
            version: 4,
            my_as: u16::try_from(asn).unwrap_or(AS_TRANS),
            hold_time,
            router_id,
            capabilities: caps,
        }
    }

    /// The peer's real AS: the 4-octet capability if present (RFC 6793), else the 2-octet field.
    pub fn asn(&self) -> u32 {
        self.capabilities
            .iter()
            .find_map(|c| match c {
                Capability::FourOctetAs(a) => Some(*a),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Open(Open),
    /// Raw UPDATE body (after the header), decoded by the UPDATE codec.
    Update(Vec<u8>),
    Notification(Notification),
    Keepalive,
    RouteRefresh {
        afi: u16,
        subtype: u8,
        safi: u8,
    },
}

fn open_err(sub: u8, data: Vec<u8>) -> DecodeError {
    DecodeError::Open(Notification::new(2, sub, data))
}

fn decode_capabilities(mut r: Reader<'_>, out: &mut Vec<Capability>) -> Result<(), DecodeError> {
    while !r.is_empty() {
        let (Some(code), Some(len)) = (r.u8(), r.u8()) else {
            return Err(open_err(0, Vec::new()));
        };
        let Some(v) = r.take(usize::from(len)) else {
            return Err(open_err(0, Vec::new()));
        };
        let cap = match (code, len) {
            (1, 4) => Capability::Multiprotocol {
                afi: u16::from_be_bytes([v[0], v[1]]),
                safi: v[3],
            },
            (2, 0) => Capability::RouteRefresh,
            (65, 4) => Capability::FourOctetAs(u32::from_be_bytes([v[0], v[1], v[2], v[3]])),
            (70, 0) => Capability::EnhancedRouteRefresh,
            _ => Capability::Unknown {
                code,
                value: v.to_vec(),
            },
        };
        out.push(cap);
    }
    Ok(())
}

fn decode_open(body: &[u8]) -> Result<Open, DecodeError> {
    let mut r = Reader::new(body);
    let (Some(version), Some(my_as), Some(hold_time), Some(id), Some(plen)) =
        (r.u8(), r.u16(), r.u16(), r.u32(), r.u8())
    else {
        return Err(open_err(0, Vec::new()));
    };
    if version != 4 {
        return Err(open_err(1, 4u16.to_be_bytes().to_vec()));
    }
    if hold_time == 1 || hold_time == 2 {
        return Err(open_err(6, Vec::new()));
    }
    if id == 0 {
        return Err(open_err(3, Vec::new()));
    }
    let Some(params) = r.take(usize::from(plen)) else {
        return Err(open_err(0, Vec::new()));
    };
    if !r.is_empty() {
        return Err(open_err(0, Vec::new()));
    }
    let mut p = Reader::new(params);
    let mut capabilities = Vec::new();
    while !p.is_empty() {
        let (Some(t), Some(l)) = (p.u8(), p.u8()) else {
            return Err(open_err(0, Vec::new()));
        };
        let Some(v) = p.take(usize::from(l)) else {
            return Err(open_err(0, Vec::new()));
        };
        if t != 2 {
            return Err(open_err(4, Vec::new()));
        }
        decode_capabilities(Reader::new(v), &mut capabilities)?;
    }
    Ok(Open {
        version,
        my_as,
        hold_time,
        router_id: Ipv4Addr::from(id),
        capabilities,
    })
}

impl Message {
    /// Decodes one whole message (header included), as delimited by `message_len`.
    pub fn decode(buf: &[u8]) -> Result<Message, DecodeError> {
        let len = match message_len(buf)? {
            Some(l) if l == buf.len() => l,
            _ => {
                return Err(DecodeError::Header(Notification::new(
                    1,
                    2,
                    buf.get(16..18).unwrap_or_default().to_vec(),
                )))
            }
        };
        let body = &buf[HEADER_LEN..len];
        Ok(match buf[18] {
            1 => Message::Open(decode_open(body)?),
            2 => Message::Update(body.to_vec()),
            3 => {
                if body.len() < 2 {
                    return Err(DecodeError::NotificationShort);
                }
                Message::Notification(Notification::new(body[0], body[1], body[2..].to_vec()))
            }
            4 => Message::Keepalive,
            _ => {
                if body.len() != 4 {
                    return Err(DecodeError::RouteRefresh(Notification::new(
                        7,
                        1,
                        body.to_vec(),
                    )));
                }
                Message::RouteRefresh {
                    afi: u16::from_be_bytes([body[0], body[1]]),
                    subtype: body[2],
                    safi: body[3],
                }
            }
        })
    }

    /// Encodes the whole message; the length is computed, never patched.
    pub fn encode(&self) -> Vec<u8> {
        let (ty, body) = match self {
            Message::Open(o) => (1u8, encode_open(o)),
            Message::Update(b) => (2, b.clone()),
            Message::Notification(n) => {
                let mut b = vec![n.code, n.subcode];
                b.extend_from_slice(&n.data);
                (3, b)
            }
            Message::Keepalive => (4, Vec::new()),
            Message::RouteRefresh { afi, subtype, safi } => {
                let mut b = afi.to_be_bytes().to_vec();
                b.extend_from_slice(&[*subtype, *safi]);
                (5, b)
            }
        };
        let mut out = vec![0xff; 16];
        out.extend_from_slice(&((HEADER_LEN + body.len()) as u16).to_be_bytes());
        out.push(ty);
        out.extend_from_slice(&body);
        out
    }
}

fn encode_capability(c: &Capability, out: &mut Vec<u8>) {
    match c {
        Capability::Multiprotocol { afi, safi } => {
            out.extend_from_slice(&[1, 4]);
            out.extend_from_slice(&afi.to_be_bytes());
            out.extend_from_slice(&[0, *safi]);
        }
        Capability::RouteRefresh => out.extend_from_slice(&[2, 0]),
        Capability::FourOctetAs(a) => {
            out.extend_from_slice(&[65, 4]);
            out.extend_from_slice(&a.to_be_bytes());
        }
        Capability::EnhancedRouteRefresh => out.extend_from_slice(&[70, 0]),
        Capability::Unknown { code, value } => {
            out.extend_from_slice(&[*code, value.len() as u8]);
            out.extend_from_slice(value);
        }
    }
}

fn encode_open(o: &Open) -> Vec<u8> {
    let mut caps = Vec::new();
    for c in &o.capabilities {
        encode_capability(c, &mut caps);
    }
    let mut b = vec![o.version];
    b.extend_from_slice(&o.my_as.to_be_bytes());
    b.extend_from_slice(&o.hold_time.to_be_bytes());
    b.extend_from_slice(&o.router_id.octets());
    if caps.is_empty() {
        b.push(0);
    } else {
        // One Capabilities parameter holding all of them (RFC 5492 allows either form).
        b.push((caps.len() + 2) as u8);
        b.extend_from_slice(&[2, caps.len() as u8]);
        b.extend_from_slice(&caps);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::packet::hex;

    /// shared/spec/bgp-core.md §3.2: AS 65000, hold 90, ID 192.0.2.1, MP(1/128), MP(25/70), RR, AS4.
    const OPEN_65000: &str = "ffffffffffffffffffffffffffffffff 0033 01
        04 fde8 005a c0000201 16
        02 14 01 04 0001 00 80 01 04 0019 00 46 02 00 41 04 0000fde8";

    fn open_65000() -> Message {
        Message::Open(Open::new(
            65000,
            90,
            Ipv4Addr::new(192, 0, 2, 1),
            vec![
                Capability::Multiprotocol {
                    afi: afi::IPV4,
                    safi: safi::MPLS_VPN,
                },
                Capability::Multiprotocol {
                    afi: afi::L2VPN,
                    safi: safi::EVPN,
                },
                Capability::RouteRefresh,
            ],
        ))
    }

    #[test]
    fn decode_golden_open() {
        let m = Message::decode(&hex(OPEN_65000)).expect("valid");
        assert_eq!(m, open_65000());
        let Message::Open(o) = m else { panic!() };
        assert_eq!(o.asn(), 65000);
    }

    #[test]
    fn encode_golden_open() {
        assert_eq!(open_65000().encode(), hex(OPEN_65000));
    }

    #[test]
    fn four_octet_as_uses_as_trans() {
        // bgp-core.md §3.2, AS 4200000001: body 04 5ba0 005a c0000201 0e 02 0c 01 04 0019 00 46 41 04 fa56ea01
        let m = Message::Open(Open::new(
            4_200_000_001,
            90,
            Ipv4Addr::new(192, 0, 2, 1),
            vec![Capability::Multiprotocol {
                afi: afi::L2VPN,
                safi: safi::EVPN,
            }],
        ));
        let b = m.encode();
        assert_eq!(
            &b[19..],
            &hex("04 5ba0 005a c0000201 0e 02 0c 01 04 0019 00 46 41 04 fa56ea01")[..]
        );
        let Message::Open(o) = Message::decode(&b).expect("valid") else {
            panic!()
        };
        assert_eq!(o.asn(), 4_200_000_001);
    }

    #[test]
    fn keepalive_and_framing_errors() {
        let ka = hex("ffffffffffffffffffffffffffffffff 0013 04");
        assert_eq!(Message::Keepalive.encode(), ka);
        assert_eq!(Message::decode(&ka), Ok(Message::Keepalive));
        assert_eq!(message_len(&ka[..18]), Ok(None));
        let mut bad = ka.clone();
        bad[0] = 0;
        assert_eq!(
            message_len(&bad).map_err(|e| e.notification().cloned()),
            Err(Some(Notification::new(1, 1, vec![])))
        );
        let mut bad = ka.clone();
        bad[17] = 0x14; // KEEPALIVE of length 20
        assert_eq!(
            message_len(&bad).map_err(|e| e.notification().cloned()),
            Err(Some(Notification::new(1, 2, vec![0, 0x14])))
        );
        let mut bad = ka;
        bad[18] = 9;
        assert_eq!(
            message_len(&bad).map_err(|e| e.notification().cloned()),
            Err(Some(Notification::new(1, 3, vec![9])))
        );
    }

    #[test]
    fn open_errors_map_to_notifications() {
        let mut b = hex(OPEN_65000);
        b[19] = 3;
        assert_eq!(
            Message::decode(&b).map_err(|e| e.notification().cloned()),
            Err(Some(Notification::new(2, 1, vec![0, 4])))
        );
        let mut b = hex(OPEN_65000);
        b[22..24].copy_from_slice(&[0, 2]);
        assert_eq!(
            Message::decode(&b).map_err(|e| e.notification().cloned()),
            Err(Some(Notification::new(2, 6, vec![])))
        );
        let mut b = hex(OPEN_65000);
        b[24..28].fill(0);
        assert_eq!(
            Message::decode(&b).map_err(|e| e.notification().cloned()),
            Err(Some(Notification::new(2, 3, vec![])))
        );
        let mut b = hex(OPEN_65000);
        b[29] = 3; // optional parameter type 3
        assert_eq!(
            Message::decode(&b).map_err(|e| e.notification().cloned()),
            Err(Some(Notification::new(2, 4, vec![])))
        );
    }

    #[test]
    fn unknown_capabilities_are_kept() {
        let mut o = Open::new(
            65001,
            180,
            Ipv4Addr::new(10, 0, 0, 1),
            vec![Capability::Unknown {
                code: 73,
                value: b"\x02pe".to_vec(),
            }],
        );
        o.capabilities.push(Capability::EnhancedRouteRefresh);
        let m = Message::Open(o);
        assert_eq!(Message::decode(&m.encode()), Ok(m));
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(b in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut v = vec![0xffu8; 16];
            v.extend_from_slice(&((19 + b.len()) as u16).to_be_bytes());
            v.extend_from_slice(&b);
            let _ = Message::decode(&v);
            let _ = Message::decode(&b);
        }

        #[test]
        fn notification_round_trip(code: u8, sub: u8, data in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let m = Message::Notification(Notification::new(code, sub, data));
            proptest::prop_assert_eq!(Message::decode(&m.encode()), Ok(m));
        }
    }
}
