//! Pipeline tests on `TestBuf`: frames in, verdicts and bytes out, no DPDK.

use super::*;
use crate::buffer::TestBuf;
use crate::tables::build;
use crate::tables::{PortInfo, VrfTables};
use crate::wire::checksum;
use std::sync::Arc;

const CFG: &str = r#"
name: t
ports:
  - { name: p0, devargs: "net_null0" }
  - { name: p1, devargs: "net_null1", vrf: CUST1, addresses: [198.51.100.1/24, "2001:db8:2::1/64"] }
  - { name: p2, devargs: "net_null2", vrf: CUST2, addresses: [198.51.100.1/24] }
interfaces:
  - { name: p0.1, parent: p0, vlan: 1, vrf: CUST1, addresses: [192.0.2.1/24, "2001:db8:1::1/64"] }
  - { name: p0.2, parent: p0, vlan: 2, vrf: CUST2, addresses: [192.0.2.1/24] }
vrfs:
  - name: CUST1
  - name: CUST2
    routes: [{ prefix: 203.0.113.0/24, via: 198.51.100.10 }]
"#;

const P0: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x10]);
const P1: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x11]);
const P2: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x12]);
const H1: MacAddr = MacAddr([2, 0, 0, 0, 1, 1]);
const R1: MacAddr = MacAddr([2, 0, 0, 0, 2, 1]);
const R2: MacAddr = MacAddr([2, 0, 0, 0, 2, 2]);

fn snap(neigh: &[(u16, IfaceId, IpAddr, MacAddr)]) -> Snapshot {
    let cfg = config::parse(CFG).expect("valid config");
    let topo = build::topology(&cfg, &[P0, P1, P2]);
    let vrfs = (0..2u16)
        .map(|v| {
            let mut n = NeighTableB::default();
            for (vv, i, ip, m) in neigh {
                if *vv == v {
                    n.insert(NeighKey { iface: *i, ip: *ip }, *m);
                }
            }
            let routes = build::routes(&cfg, &topo, v);
            // The adjacency array as control builds it: resolved gateways skip the table.
            let adj = VrfTables::adjacency(&routes, &n);
            Arc::new(VrfTables {
                id: v,
                name: topo.vrf_names[usize::from(v)].clone(),
                routes: Arc::new(routes),
                adj: Arc::new(adj),
                neigh: Arc::new(n),
                host_port: Some(3 + v),
                host_mac: MacAddr([2, 0, 0, 0, 9, v as u8]),
                mcast: Default::default(),
                overlay: Default::default(),
            })
        })
        .collect();
    let mut ports: Vec<PortInfo> = [P0, P1, P2]
        .iter()
        .enumerate()
        .map(|(i, m)| PortInfo {
            dpdk_port: i as u16,
            name: format!("p{i}"),
            mac: *m,
            role: PortRole::Wire {
                link: topo.port_link[i],
            },
            collecting: true,
        })
        .collect();
    for v in 0..2u16 {
        ports.push(PortInfo {
            dpdk_port: 3 + v,
            name: format!("host{v}"),
            mac: MacAddr([2, 0, 0, 0, 8, v as u8]),
            role: PortRole::Host { vrf: v },
            collecting: true,
        });
    }
    Snapshot {
        version: 1,
        ports,
        links: topo.links,
        ifaces: topo.ifaces,
        vrfs,
        vxlan: None,
    }
}

type NeighTableB = crate::tables::NeighTable;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn icmp_echo(src: &str, dst: &str, ttl: u8) -> Vec<u8> {
    let mut b = vec![0u8; 20 + 12];
    let (IpAddr::V4(s), IpAddr::V4(d)) = (ip(src), ip(dst)) else {
        panic!()
    };
    ipv4::emit(&mut b, s, d, ipv4::PROTO_ICMP, ttl, 12);
    b[20] = 8;
    b[24..32].copy_from_slice(b"\x00\x01\x00\x01ping");
    let c = checksum::checksum(&b[20..]);
    b[22..24].copy_from_slice(&c.to_be_bytes());
    b
}

fn frame(dst: MacAddr, src: MacAddr, vlan: Option<u16>, et: u16, l3: &[u8]) -> TestBuf {
    let mut b = vec![0u8; ethernet::header_len(vlan)];
    ethernet::emit(&mut b, dst, src, vlan, et);
    b.extend_from_slice(l3);
    TestBuf::from_slice(&b)
}

type Learned = Vec<(VrfId, IfaceId, IpAddr, MacAddr)>;

fn run(s: &Snapshot, port: PortIdx, pkt: &mut TestBuf) -> (Verdict, Learned, Counters) {
    let ctr = Counters::default();
    let mut learned = Vec::new();
    let v = process(
        &mut Ctx {
            snap: s,
            ctr: &ctr,
            sink: &mut learned,
        },
        port,
        pkt,
    );
    (v, learned, ctr)
}

#[test]
fn arp_request_for_our_address_is_answered_on_the_same_vlan() {
    let s = snap(&[]);
    let mut req = [0u8; 28];
    ArpRepr {
        op: 1,
        sha: H1,
        spa: Ipv4Addr::new(192, 0, 2, 10),
        tha: MacAddr::ZERO,
        tpa: Ipv4Addr::new(192, 0, 2, 1),
    }
    .emit(&mut req);
    let mut pkt = frame(MacAddr::BROADCAST, H1, Some(2), ethertype::ARP, &req);
    let (v, learned, _) = run(&s, 0, &mut pkt);
    assert_eq!(v, Verdict::Tx(0));
    // p0.2 is interface 3 (p1, p2 main interfaces come first), in VRF CUST2 (1).
    assert_eq!(learned, vec![(1, 3, ip("192.0.2.10"), H1)]);
    let eth = ethernet::parse(pkt.data()).expect("eth");
    assert_eq!(
        (eth.dst, eth.src, eth.vlan, eth.ethertype),
        (H1, P0, Some(2), ethertype::ARP)
    );
    let rep = ArpRepr::parse(&pkt.data()[eth.len..]).expect("arp");
    assert_eq!(
        (rep.op, rep.sha, rep.spa, rep.tpa),
        (
            2,
            P0,
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(192, 0, 2, 10)
        )
    );
}

#[test]
fn overlapping_subnets_route_in_their_own_vrf() {
    // Both VRFs have 198.51.100.0/24 behind different ports, and the same host MAC table.
    let s = snap(&[
        (0, 0, ip("198.51.100.10"), R1),
        (1, 1, ip("198.51.100.10"), R2),
    ]);
    for (vlan, out_port, out_mac, src_mac) in [(1, 1, R1, P1), (2, 2, R2, P2)] {
        let mut pkt = frame(
            P0,
            H1,
            Some(vlan),
            ethertype::IPV4,
            &icmp_echo("192.0.2.10", "198.51.100.10", 64),
        );
        let (v, _, _) = run(&s, 0, &mut pkt);
        assert_eq!(v, Verdict::Tx(out_port), "vlan {vlan}");
        let eth = ethernet::parse(pkt.data()).expect("eth");
        assert_eq!((eth.dst, eth.src, eth.vlan), (out_mac, src_mac, None));
        let ip = Ipv4Packet::new_checked(&pkt.data()[eth.len..])
            .expect("valid checksum after TTL decrement");
        assert_eq!(ip.ttl(), 63);
    }
}

#[test]
fn a_route_of_one_vrf_does_not_leak_into_the_other() {
    let s = snap(&[(1, 1, ip("198.51.100.10"), R2)]);
    let mut pkt = frame(
        P0,
        H1,
        Some(2),
        ethertype::IPV4,
        &icmp_echo("192.0.2.10", "203.0.113.5", 64),
    );
    assert_eq!(
        run(&s, 0, &mut pkt).0,
        Verdict::Tx(2),
        "CUST2 has the static route"
    );
    let mut pkt = frame(
        P0,
        H1,
        Some(1),
        ethertype::IPV4,
        &icmp_echo("192.0.2.10", "203.0.113.5", 64),
    );
    assert_eq!(
        run(&s, 0, &mut pkt).0,
        Verdict::Drop(DropReason::NoRoute),
        "CUST1 has not"
    );
}

#[test]
fn echo_to_our_address_is_answered() {
    let s = snap(&[(0, 2, ip("192.0.2.10"), H1)]);
    let mut pkt = frame(
        P0,
        H1,
        Some(1),
        ethertype::IPV4,
        &icmp_echo("192.0.2.10", "192.0.2.1", 64),
    );
    let (v, _, _) = run(&s, 0, &mut pkt);
    assert_eq!(v, Verdict::Tx(0));
    let eth = ethernet::parse(pkt.data()).expect("eth");
    assert_eq!((eth.dst, eth.vlan), (H1, Some(1)));
    let ip4 = Ipv4Packet::new_checked(&pkt.data()[eth.len..]).expect("valid");
    assert_eq!(
        (ip4.src(), ip4.dst()),
        (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 10))
    );
    assert_eq!(ip4.payload()[0], icmp::V4_ECHO_REPLY);
    assert!(icmp::v4_valid(ip4.payload()));
}

#[test]
fn unresolved_next_hop_asks_for_resolution_and_keeps_the_l3_packet() {
    let s = snap(&[]);
    let l3 = icmp_echo("192.0.2.10", "198.51.100.77", 64);
    let mut pkt = frame(P0, H1, Some(1), ethertype::IPV4, &l3);
    let v = run(&s, 0, &mut pkt).0;
    assert_eq!(
        v,
        Verdict::Resolve {
            vrf: 0,
            iface: 0,
            ip: ip("198.51.100.77"),
            ethertype: ethertype::IPV4
        }
    );
    assert_eq!(pkt.data().len(), l3.len());
    assert_eq!(pkt.data()[8], 63, "TTL already decremented");
}

#[test]
fn tcp_to_our_address_goes_to_the_vrf_host_interface_and_back() {
    let s = snap(&[(1, 3, ip("192.0.2.10"), H1)]);
    let mut l3 = icmp_echo("192.0.2.10", "192.0.2.1", 64);
    l3[9] = ipv4::PROTO_TCP;
    l3[10] = 0;
    l3[11] = 0;
    let c = checksum::checksum(&l3[..20]);
    l3[10..12].copy_from_slice(&c.to_be_bytes());
    let mut pkt = frame(P0, H1, Some(2), ethertype::IPV4, &l3);
    assert_eq!(run(&s, 0, &mut pkt).0, Verdict::Tx(4), "CUST2's host port");
    let eth = ethernet::parse(pkt.data()).expect("eth");
    assert_eq!((eth.dst, eth.vlan), (MacAddr([2, 0, 0, 0, 9, 1]), None));
    // The kernel answers from the host port: routed in CUST2 without TTL decrement.
    let mut back = icmp_echo("192.0.2.1", "192.0.2.10", 64);
    back[9] = ipv4::PROTO_TCP;
    back[10] = 0;
    back[11] = 0;
    let c = checksum::checksum(&back[..20]);
    back[10..12].copy_from_slice(&c.to_be_bytes());
    let mut pkt = frame(
        P0,
        MacAddr([2, 0, 0, 0, 9, 1]),
        None,
        ethertype::IPV4,
        &back,
    );
    assert_eq!(run(&s, 4, &mut pkt).0, Verdict::Tx(0));
    let eth = ethernet::parse(pkt.data()).expect("eth");
    assert_eq!((eth.dst, eth.vlan), (H1, Some(2)));
    assert_eq!(pkt.data()[eth.len + 8], 64);
}

#[test]
fn ttl_one_is_dropped_and_named() {
    let s = snap(&[(0, 0, ip("198.51.100.10"), R1)]);
    let mut pkt = frame(
        P0,
        H1,
        Some(1),
        ethertype::IPV4,
        &icmp_echo("192.0.2.10", "198.51.100.10", 1),
    );
    assert_eq!(
        run(&s, 0, &mut pkt).0,
        Verdict::Drop(DropReason::TtlExceeded)
    );
}

#[test]
fn unknown_vlan_and_foreign_mac_are_named_drops() {
    let s = snap(&[]);
    let l3 = icmp_echo("192.0.2.10", "192.0.2.1", 64);
    assert_eq!(
        run(&s, 0, &mut frame(P0, H1, Some(7), ethertype::IPV4, &l3)).0,
        Verdict::Drop(DropReason::UnknownVlan)
    );
    assert_eq!(
        run(&s, 0, &mut frame(R1, H1, Some(1), ethertype::IPV4, &l3)).0,
        Verdict::Drop(DropReason::NotForUs)
    );
    assert_eq!(
        run(&s, 0, &mut frame(P0, H1, None, ethertype::IPV4, &l3)).0,
        Verdict::Drop(DropReason::NoInterface)
    );
    assert_eq!(
        run(&s, 0, &mut TestBuf::from_slice(&[1, 2, 3])).0,
        Verdict::Drop(DropReason::Runt)
    );
}

#[test]
fn neighbor_solicitation_is_answered_and_learned() {
    let s = snap(&[]);
    let me: Ipv6Addr = "2001:db8:1::1".parse().expect("ip");
    let host: Ipv6Addr = "2001:db8:1::10".parse().expect("ip");
    let dst = ipv6::solicited_node(&me.octets());
    let ns = Nd {
        kind: icmp::ND_NS,
        flags: 0,
        target: me.octets(),
        lladdr: Some(H1),
    };
    let mut l3 = vec![0u8; 40 + ns.len()];
    ipv6::emit(&mut l3, &host.octets(), &dst, 58, 255, ns.len());
    ns.emit(&mut l3[40..]);
    icmp::v6_fill_checksum(&mut l3[40..], &host.octets(), &dst);
    let mut pkt = frame(ipv6::multicast_mac(&dst), H1, Some(1), ethertype::IPV6, &l3);
    let (v, learned, _) = run(&s, 0, &mut pkt);
    assert_eq!(v, Verdict::Tx(0));
    assert_eq!(learned, vec![(0, 2, IpAddr::V6(host), H1)]);
    let eth = ethernet::parse(pkt.data()).expect("eth");
    let ip6 = Ipv6Packet::new_checked(&pkt.data()[eth.len..]).expect("ipv6");
    assert_eq!((ip6.src(), ip6.dst(), ip6.hop_limit()), (me, host, 255));
    assert!(icmp::v6_valid(ip6.payload(), &me.octets(), &host.octets()));
    let na = Nd::parse(ip6.payload()).expect("na");
    assert_eq!(
        (na.kind, na.target, na.lladdr),
        (icmp::ND_NA, me.octets(), Some(P0))
    );
}

#[test]
fn solicit_builds_a_valid_arp_request() {
    let s = snap(&[]);
    let mut pkt = TestBuf::from_slice(&[0u8; SOLICIT_LEN]);
    let (dst, et) = emit_solicit(&s.ifaces[2], ip("192.0.2.10"), &mut pkt).expect("solicit");
    assert_eq!((dst, et), (MacAddr::BROADCAST, ethertype::ARP));
    let a = ArpRepr::parse(pkt.data()).expect("arp");
    assert_eq!(
        (a.op, a.spa, a.tpa, a.sha),
        (
            1,
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(192, 0, 2, 10),
            P0
        )
    );
}

proptest::proptest! {
    /// Arbitrary bytes on any port end in a verdict, never a panic.
    #[test]
    fn arbitrary_frames_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200), port in 0u16..6, vlan in proptest::option::of(0u16..4)) {
        let s = snap(&[(0, 0, ip("198.51.100.10"), R1)]);
        let mut b = bytes.clone();
        if b.len() >= 18 {
            b[0..6].copy_from_slice(&P0.0);
            if let Some(v) = vlan { b[12] = 0x81; b[13] = 0; b[14] = 0; b[15] = v as u8; }
        }
        let _ = run(&s, port, &mut TestBuf::from_slice(&b));
    }
}

/// IGMP from an interface goes to control; multicast data from an upstream interface with
/// outgoing interfaces is handed to replication with its TTL decremented; anything else
/// multicast is a named drop.
#[test]
fn multicast_membership_and_upstream_data() {
    let mut s = snap(&[]);
    let p1 = s.ifaces.iter().find(|i| i.name == "p1").expect("p1").id;
    let p01 = s.ifaces.iter().find(|i| i.name == "p0.1").expect("p0.1").id;
    let group = u32::from(std::net::Ipv4Addr::new(239, 1, 1, 1));
    let mut t = crate::tables::McastTable {
        upstream: vec![p1],
        ..Default::default()
    };
    t.routes.insert((0, group), vec![p01]);
    let v0 = &s.vrfs[0];
    s.vrfs[0] = Arc::new(VrfTables {
        id: v0.id,
        name: v0.name.clone(),
        routes: v0.routes.clone(),
        neigh: v0.neigh.clone(),
        host_port: v0.host_port,
        host_mac: v0.host_mac,
        mcast: Arc::new(t),
        overlay: v0.overlay.clone(),
        adj: v0.adj.clone(),
    });
    let mcast_mac = MacAddr([1, 0, 0x5e, 1, 1, 1]);
    // An IGMPv2 report from a host on p0.1.
    let mut igmp = vec![0u8; 28];
    let (IpAddr::V4(h), IpAddr::V4(g)) = (ip("192.0.2.10"), ip("239.1.1.1")) else {
        panic!()
    };
    ipv4::emit(&mut igmp, h, g, ipv4::PROTO_IGMP, 1, 8);
    igmp[20] = 0x16;
    igmp[24..28].copy_from_slice(&g.octets());
    let c = checksum::checksum(&igmp[20..]);
    igmp[22..24].copy_from_slice(&c.to_be_bytes());
    let mut f = frame(mcast_mac, H1, Some(1), ethertype::IPV4, &igmp);
    let (v, _, _) = run(&s, 0, &mut f);
    assert_eq!(v, Verdict::Membership { vrf: 0, iface: p01 });
    // Data to the group from the upstream p1: replicated, TTL 64 -> 63.
    let mut data = vec![0u8; 20 + 12];
    let IpAddr::V4(rs) = ip("198.51.100.10") else {
        panic!()
    };
    ipv4::emit(&mut data, rs, g, 17, 64, 12);
    let mut f = frame(mcast_mac, R1, None, ethertype::IPV4, &data);
    let (v, _, _) = run(&s, 1, &mut f);
    let IpAddr::V4(src) = ip("198.51.100.10") else {
        panic!()
    };
    assert_eq!(
        v,
        Verdict::Mcast {
            vrf: 0,
            src: u32::from(src),
            group
        }
    );
    assert_eq!(f.data()[8], 63, "TTL decremented");
    // The same data from a non-upstream interface, or an unknown group: dropped and named.
    let mut f = frame(mcast_mac, H1, Some(1), ethertype::IPV4, &data);
    assert_eq!(run(&s, 0, &mut f).0, Verdict::Drop(DropReason::Multicast));
    let mut other = vec![0u8; 20 + 12];
    ipv4::emit(
        &mut other,
        rs,
        std::net::Ipv4Addr::new(239, 1, 1, 2),
        17,
        64,
        12,
    );
    let mut f = frame(mcast_mac, R1, None, ethertype::IPV4, &other);
    assert_eq!(run(&s, 1, &mut f).0, Verdict::Drop(DropReason::Multicast));
}

/// VRF CUST2 (1) gets L3 VNI 5000 over an underlay in CUST1 (0, VTEP 198.51.100.1 on p1):
/// 10.99.0.0/16 through the overlay group `tunnels`.
fn vxlan_snap(neigh: &[(u16, IfaceId, IpAddr, MacAddr)], tunnels: &[Tunnel]) -> Snapshot {
    use crate::tables::{build::Learned, Overlay, Vxlan};
    let mut s = snap(neigh);
    let cfg = config::parse(CFG).expect("valid config");
    let topo = build::topology(&cfg, &[P0, P1, P2]);
    let overlay = [(config::Prefix::new(ip("10.99.0.0"), 16), 0)];
    let learned = Learned {
        overlay: &overlay,
        ..Learned::default()
    };
    let v1 = &s.vrfs[1];
    s.vrfs[1] = Arc::new(VrfTables {
        id: 1,
        name: v1.name.clone(),
        routes: Arc::new(build::routes_with(&cfg, &topo, 1, &learned)),
        neigh: v1.neigh.clone(),
        host_port: v1.host_port,
        host_mac: v1.host_mac,
        mcast: v1.mcast.clone(),
        adj: Arc::default(),
        overlay: Arc::new(Overlay {
            router_mac: RMAC,
            groups: vec![tunnels.into()],
        }),
    });
    s.vxlan = Some(Arc::new(Vxlan {
        source: Ipv4Addr::new(198, 51, 100, 1),
        underlay: 0,
        udp_port: 4789,
        ttl: 64,
        vni: [(5000, 1)].into_iter().collect(),
    }));
    s
}

use crate::tables::Tunnel;
const RMAC: MacAddr = MacAddr([2, 0, 0, 0, 0x50, 0]);
const PEER_RMAC: MacAddr = MacAddr([2, 0, 0, 0, 0x50, 3]);

fn tunnel(vtep: &str) -> Tunnel {
    let IpAddr::V4(vtep) = ip(vtep) else { panic!() };
    Tunnel {
        vtep,
        vni: 5003,
        rmac: PEER_RMAC,
    }
}

#[test]
fn overlay_route_encapsulates_in_vxlan_toward_one_tunnel_per_flow() {
    let s = vxlan_snap(
        &[
            (0, 0, ip("198.51.100.10"), R1),
            (0, 0, ip("198.51.100.20"), R2),
        ],
        &[tunnel("198.51.100.10"), tunnel("198.51.100.20")],
    );
    let mut used = std::collections::HashSet::new();
    for host in 1..=32 {
        let l3 = icmp_echo("192.0.2.10", &format!("10.99.0.{host}"), 64);
        let mut pkt = frame(P0, H1, Some(2), ethertype::IPV4, &l3);
        let (v, _, ctr) = run(&s, 0, &mut pkt);
        assert_eq!(v, Verdict::Tx(1), "host {host}");
        assert_eq!(ctr.vxlan_tx.load(std::sync::atomic::Ordering::Relaxed), 1);
        let d = pkt.data();
        let eth = ethernet::parse(d).expect("outer eth");
        let outer = Ipv4Packet::new_checked(&d[eth.len..]).expect("outer checksum valid");
        assert_eq!(
            (outer.src(), outer.protocol(), outer.ttl()),
            (Ipv4Addr::new(198, 51, 100, 1), 17, 64)
        );
        // The outer MAC is the neighbour of the chosen VTEP.
        let want_mac = if outer.dst() == Ipv4Addr::new(198, 51, 100, 10) {
            R1
        } else {
            R2
        };
        assert_eq!((eth.dst, eth.src, eth.vlan), (want_mac, P1, None));
        used.insert(outer.dst());
        let udp = &d[eth.len + 20..];
        assert_eq!(vxlan::dst_port(udp), Some(4789));
        assert!(u16::from_be_bytes([udp[0], udp[1]]) >= 49152);
        assert_eq!(vxlan::parse(udp), Ok(5003));
        let inner = ethernet::parse(&udp[vxlan::HDR..]).expect("inner eth");
        assert_eq!(
            (inner.dst, inner.src, inner.ethertype),
            (PEER_RMAC, RMAC, ethertype::IPV4)
        );
        let ip = Ipv4Packet::new_checked(&udp[vxlan::HDR + inner.len..]).expect("inner ip");
        assert_eq!((ip.ttl(), ip.total_len()), (63, l3.len()));
    }
    assert_eq!(used.len(), 2, "32 flows use both tunnels of the group");
}

#[test]
fn overlay_without_tunnel_or_underlay_route_is_a_counted_drop() {
    let l3 = icmp_echo("192.0.2.10", "10.99.0.1", 64);
    let s = vxlan_snap(&[], &[]);
    let mut pkt = frame(P0, H1, Some(2), ethertype::IPV4, &l3);
    assert_eq!(
        run(&s, 0, &mut pkt).0,
        Verdict::Drop(DropReason::OverlayDown)
    );
    let s = vxlan_snap(&[], &[tunnel("203.0.113.9")]);
    let mut pkt = frame(P0, H1, Some(2), ethertype::IPV4, &l3);
    assert_eq!(
        run(&s, 0, &mut pkt).0,
        Verdict::Drop(DropReason::NoUnderlayRoute)
    );
    // An unresolved VTEP neighbour holds the encapsulated packet for resolution.
    let s = vxlan_snap(&[], &[tunnel("198.51.100.10")]);
    let mut pkt = frame(P0, H1, Some(2), ethertype::IPV4, &l3);
    assert_eq!(
        run(&s, 0, &mut pkt).0,
        Verdict::Resolve {
            vrf: 0,
            iface: 0,
            ip: ip("198.51.100.10"),
            ethertype: ethertype::IPV4
        }
    );
}

/// A VXLAN frame from 198.51.100.10 to our VTEP on p1 carrying `inner`.
fn vxlan_frame(vni: u32, inner_dst: MacAddr, inner: &[u8]) -> TestBuf {
    let mut b = vec![0u8; 20 + vxlan::HDR + 14];
    let len = 14 + inner.len();
    ipv4::emit(
        &mut b,
        Ipv4Addr::new(198, 51, 100, 10),
        Ipv4Addr::new(198, 51, 100, 1),
        17,
        64,
        vxlan::HDR + len,
    );
    vxlan::emit(&mut b[20..], 50000, 4789, vni, len);
    ethernet::emit(
        &mut b[20 + vxlan::HDR..],
        inner_dst,
        PEER_RMAC,
        None,
        ethertype::IPV4,
    );
    b.extend_from_slice(inner);
    frame(P1, R1, None, ethertype::IPV4, &b)
}

#[test]
fn vxlan_to_our_vtep_is_decapsulated_and_routed_in_the_vni_vrf() {
    let s = vxlan_snap(&[(1, 3, ip("192.0.2.10"), H1)], &[tunnel("198.51.100.10")]);
    let inner = icmp_echo("10.99.0.5", "192.0.2.10", 64);
    let mut pkt = vxlan_frame(5000, RMAC, &inner);
    let (v, _, ctr) = run(&s, 1, &mut pkt);
    assert_eq!(v, Verdict::Tx(0));
    assert_eq!(ctr.vxlan_rx.load(std::sync::atomic::Ordering::Relaxed), 1);
    let eth = ethernet::parse(pkt.data()).expect("eth");
    assert_eq!((eth.dst, eth.src, eth.vlan), (H1, P0, Some(2)));
    let ip = Ipv4Packet::new_checked(&pkt.data()[eth.len..]).expect("ip");
    assert_eq!((ip.ttl(), ip.src()), (63, Ipv4Addr::new(10, 99, 0, 5)));

    // Unknown VNI, inner frame not for our router MAC, broken VXLAN header: counted drops.
    let mut pkt = vxlan_frame(4999, RMAC, &inner);
    assert_eq!(
        run(&s, 1, &mut pkt).0,
        Verdict::Drop(DropReason::VxlanUnknownVni)
    );
    let mut pkt = vxlan_frame(5000, PEER_RMAC, &inner);
    assert_eq!(run(&s, 1, &mut pkt).0, Verdict::Drop(DropReason::NotForUs));
    let mut pkt = vxlan_frame(5000, RMAC, &inner);
    pkt.data_mut()[14 + 20 + 8] = 0; // clear the I flag
    assert_eq!(
        run(&s, 1, &mut pkt).0,
        Verdict::Drop(DropReason::VxlanMalformed)
    );
    // Without a VXLAN endpoint the same datagram is ordinary traffic for the kernel.
    let s = snap(&[]);
    let mut pkt = vxlan_frame(5000, RMAC, &inner);
    assert_eq!(run(&s, 1, &mut pkt).0, Verdict::Tx(3));
}
