//! Golden vectors: the examples of shared/spec/evpn-routes.md, decoded to values and encoded
//! back to the same bytes; then round trips of arbitrary routes and never-panic on any bytes.

use super::*;
use crate::bgp::packet::hex;
use proptest::prelude::*;

const RD: Rd = Rd([0x00, 0x01, 0xc0, 0x00, 0x02, 0x01, 0x00, 0x64]); // 192.0.2.1:100
const ESI1: Esi = Esi([0x01, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x64, 0x00]);
const MAC: [u8; 6] = [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01];

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn golden() -> Vec<(&'static str, &'static str, EvpnRoute)> {
    vec![
        ("RT-1 A-D per ES", "01 19 0001c00002010064 01001122334455006400 ffffffff 000000",
         EvpnRoute::EthernetAd { rd: RD, esi: ESI1, tag: 0xffff_ffff, label: 0 }),
        ("RT-1 IP A-D per EVI, VNI 10100", "01 19 00 01 c0 00 02 01 00 64 01 00 11 22 33 44 55 00 64 00 00 00 00 00 00 27 74",
         EvpnRoute::EthernetAd { rd: RD, esi: ESI1, tag: 0, label: 10100 }),
        ("RT-2 ARP sync", "02 25 0001c00002010064 01001122334455006400 00000001 30 aabbccddee01 20 c6336401 000000",
         EvpnRoute::MacIp { rd: RD, esi: ESI1, tag: 1, mac: MAC, ip: Some(ip("198.51.100.1")), label1: 0, label2: None }),
        ("RT-2 ND sync", "02 31 00 01 c0 00 02 01 00 64 01 00 11 22 33 44 55 00 64 00 00 00 00 01
          30 aa bb cc dd ee 01 80 20 01 0d b8 00 01 00 00 00 00 00 00 00 00 00 10 00 00 00",
         EvpnRoute::MacIp { rd: RD, esi: ESI1, tag: 1, mac: MAC, ip: Some(ip("2001:db8:1::10")), label1: 0, label2: None }),
        ("RT-3", "03 11 00 01 c0 00 02 01 00 64 00 00 00 00 20 c0 00 02 01",
         EvpnRoute::Imet { rd: RD, tag: 0, originator: ip("192.0.2.1") }),
        ("RT-4", "04 17 0001c00002010064 01001122334455006400 20 c0000201",
         EvpnRoute::EthernetSegment { rd: RD, esi: ESI1, originator: ip("192.0.2.1") }),
        ("RT-5 ESI-based", "05 22 0001c00002010064 01001122334455006400 00000001 18 cb007100 00000000 002774",
         EvpnRoute::IpPrefix { rd: RD, esi: ESI1, tag: 1, prefix: ip("203.0.113.0"), len: 24, gw: ip("0.0.0.0"), label: 10100 }),
        ("RT-5 GW-IP-based", "05 22 00 01 c0 00 02 01 00 64 00 00 00 00 00 00 00 00 00 00 00 00 00 01 18 cb 00 71 00 c6 33 64 01 00 00 00",
         EvpnRoute::IpPrefix { rd: RD, esi: Esi::ZERO, tag: 1, prefix: ip("203.0.113.0"), len: 24, gw: ip("198.51.100.1"), label: 0 }),
        ("RT-5 IPv6, MPLS 16001", "05 3a 00 01 c0 00 02 01 00 64 00 00 00 00 00 00 00 00 00 00 00 00 00 00 30
          20 01 0d b8 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 03 e8 11",
         EvpnRoute::IpPrefix { rd: RD, esi: Esi::ZERO, tag: 0, prefix: ip("2001:db8:100::"), len: 48, gw: ip("::"), label: (16001 << 4) | 1 }),
        ("RT-7 IGMPv2 (*,G)", "07 22 0001c00002010064 01001122334455006400 00000001 00 20 ef010101 20 c0000201 02",
         EvpnRoute::JoinSync { m: Mcast { rd: RD, tag: 1, source: None, group: ip("239.1.1.1"), originator: ip("192.0.2.1") }, esi: ESI1, flags: mcast_flags::V2 }),
        ("RT-7 IGMPv3 (S,G)", "07 26 00 01 c0 00 02 01 00 64 01 00 11 22 33 44 55 00 64 00 00 00 00 01 20 c6 33 64 64 20 e8 01 01 01 20 c0 00 02 01 04",
         EvpnRoute::JoinSync { m: Mcast { rd: RD, tag: 1, source: Some(ip("198.51.100.100")), group: ip("232.1.1.1"), originator: ip("192.0.2.1") }, esi: ESI1, flags: mcast_flags::V3 }),
        ("RT-8 leave, MRT 3.0 s", "08 27 00 01 c0 00 02 01 00 64 01 00 11 22 33 44 55 00 64 00 00 00 00 01 00 20 ef 01 01 01 20 c0 00 02 01 00 00 00 00 1e 02",
         EvpnRoute::LeaveSync { m: Mcast { rd: RD, tag: 1, source: None, group: ip("239.1.1.1"), originator: ip("192.0.2.1") }, esi: ESI1, reserved: 0, max_response: 30, flags: mcast_flags::V2 }),
        ("unknown type 11 is kept", "0b 03 01 02 03", EvpnRoute::Unknown { code: 11, value: vec![1, 2, 3] }),
    ]
}

#[test]
fn golden_decode() {
    for (name, bytes, want) in golden() {
        let (got, bad) =
            EvpnRoute::decode_all(&hex(bytes)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(bad.is_empty(), "{name}: {bad:?}");
        assert_eq!(got, vec![want], "{name}");
    }
}

#[test]
fn golden_encode() {
    for (name, bytes, route) in golden() {
        let mut out = Vec::new();
        route.encode(&mut out);
        assert_eq!(out, hex(bytes), "{name}");
    }
}

#[test]
fn an_invalid_route_is_reported_alone() {
    // RT-2 with IP length 24, between two good RT-4s.
    let mut b = hex("04 17 0001c00002010064 01001122334455006400 20 c0000201");
    b.extend(hex(
        "02 25 0001c00002010064 01001122334455006400 00000001 30 aabbccddee01 18 c6336401 000000",
    ));
    b.extend(hex(
        "04 17 0001c00002010064 01001122334455006400 20 c0000202",
    ));
    let (good, bad) = EvpnRoute::decode_all(&b).expect("framing intact");
    assert_eq!(good.len(), 2);
    assert_eq!(
        bad,
        vec![NlriError::Invalid {
            code: 2,
            why: "IP length is not 0, 32 or 128"
        }]
    );
}

#[test]
fn framing_errors_stop_the_walk() {
    let b = hex("04 17 0001c00002010064 01001122334455006400 20 c00002");
    assert_eq!(
        EvpnRoute::decode_all(&b),
        Err(NlriError::Framing { code: 4, len: 23 })
    );
    let b = hex("05 22 0001c00002010064 01001122334455006400 00000001 21 cb007100 00000000 002774");
    let (good, bad) = EvpnRoute::decode_all(&b).expect("framing intact");
    assert!(good.is_empty());
    assert_eq!(
        bad,
        vec![NlriError::Invalid {
            code: 5,
            why: "prefix length exceeds the address"
        }]
    );
}

fn any_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from)
    ]
}

fn any_mcast() -> impl Strategy<Value = Mcast> {
    (
        any::<[u8; 8]>(),
        any::<u32>(),
        proptest::option::of(any_ip()),
        any_ip(),
        any_ip(),
    )
        .prop_map(|(rd, tag, source, group, originator)| Mcast {
            rd: Rd(rd),
            tag,
            source,
            group,
            originator,
        })
}

fn any_route() -> impl Strategy<Value = EvpnRoute> {
    let label = 0u32..(1 << 24);
    prop_oneof![
        (
            any::<[u8; 8]>(),
            any::<[u8; 10]>(),
            any::<u32>(),
            label.clone()
        )
            .prop_map(|(rd, esi, tag, label)| EvpnRoute::EthernetAd {
                rd: Rd(rd),
                esi: Esi(esi),
                tag,
                label
            }),
        (
            any::<[u8; 8]>(),
            any::<[u8; 10]>(),
            any::<u32>(),
            any::<[u8; 6]>(),
            proptest::option::of(any_ip()),
            label.clone(),
            proptest::option::of(label.clone())
        )
            .prop_map(|(rd, esi, tag, mac, ip, label1, label2)| EvpnRoute::MacIp {
                rd: Rd(rd),
                esi: Esi(esi),
                tag,
                mac,
                ip,
                label1,
                label2
            }),
        (any::<[u8; 8]>(), any::<u32>(), any_ip()).prop_map(|(rd, tag, originator)| {
            EvpnRoute::Imet {
                rd: Rd(rd),
                tag,
                originator,
            }
        }),
        (any::<[u8; 8]>(), any::<[u8; 10]>(), any_ip()).prop_map(|(rd, esi, originator)| {
            EvpnRoute::EthernetSegment {
                rd: Rd(rd),
                esi: Esi(esi),
                originator,
            }
        }),
        (
            any::<[u8; 8]>(),
            any::<[u8; 10]>(),
            any::<u32>(),
            any::<bool>(),
            any::<[u8; 16]>(),
            any::<[u8; 16]>(),
            any::<u8>(),
            label.clone()
        )
            .prop_map(|(rd, esi, tag, v4, p, g, l, label)| {
                let (prefix, gw, len) = if v4 {
                    (
                        IpAddr::from([p[0], p[1], p[2], p[3]]),
                        IpAddr::from([g[0], g[1], g[2], g[3]]),
                        l % 33,
                    )
                } else {
                    (IpAddr::from(p), IpAddr::from(g), l % 129)
                };
                EvpnRoute::IpPrefix {
                    rd: Rd(rd),
                    esi: Esi(esi),
                    tag,
                    prefix,
                    len,
                    gw,
                    label,
                }
            }),
        (any_mcast(), any::<u8>()).prop_map(|(m, flags)| EvpnRoute::Smet { m, flags }),
        (any_mcast(), any::<[u8; 10]>(), any::<u8>()).prop_map(|(m, esi, flags)| {
            EvpnRoute::JoinSync {
                m,
                esi: Esi(esi),
                flags,
            }
        }),
        (
            any_mcast(),
            any::<[u8; 10]>(),
            any::<u32>(),
            any::<u8>(),
            any::<u8>()
        )
            .prop_map(
                |(m, esi, reserved, max_response, flags)| EvpnRoute::LeaveSync {
                    m,
                    esi: Esi(esi),
                    reserved,
                    max_response,
                    flags
                }
            ),
        (9u8..=255, proptest::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(code, value)| EvpnRoute::Unknown { code, value }),
    ]
}

proptest! {
    #[test]
    fn round_trip(routes in proptest::collection::vec(any_route(), 1..6)) {
        let mut b = Vec::new();
        for r in &routes {
            r.encode(&mut b);
        }
        let (got, bad) = EvpnRoute::decode_all(&b).expect("framing");
        prop_assert!(bad.is_empty(), "{:?}", bad);
        prop_assert_eq!(got, routes);
    }

    #[test]
    fn decoder_never_panics(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = EvpnRoute::decode_all(&b);
    }
}
