//! The per-packet path, generic over the buffer so it runs in unit tests without DPDK.
//!
//! ```text
//! wire port ─► l2 (tag → interface, dst MAC check) ─┬─ ARP ──► answer / learn
//!                                                    ├─ IPv4 ─► local? echo | host TAP
//!                                                    │          else TTL, FIB, neighbour ─► l2 out
//!                                                    ├─ IPv6 ─► ND answer / learn, echo, same
//!                                                    └─ slow protocols ─► punt to control
//! host TAP ─► IPv4/IPv6 from the kernel, routed in the TAP's VRF (no TTL decrement)
//! VXLAN to our VTEP (underlay VRF) ─► VNI → VRF, inner MAC = router MAC ─► routed in the VRF
//! overlay next hop ─► inner Ethernet + UDP/VXLAN + outer IPv4 ─► routed in the underlay VRF
//! ```
//! Nothing here allocates, locks or logs: a packet ends in a `Verdict`, and a drop names
//! its reason. Learned neighbours leave through the `Sink`.

use crate::buffer::PacketBuf;
use crate::counters::{Counters, DropReason};
use crate::tables::{
    Iface, IfaceId, NeighKey, NextHop, PortIdx, PortRole, Snapshot, VrfId, VrfTables, NO_IFACE,
};
use crate::wire::arp::{self, ArpRepr};
use crate::wire::ethernet::{self, ethertype};
use crate::wire::icmp::{self, Nd};
use crate::wire::ipv4::{self, Ipv4Packet};
use crate::wire::ipv6::{self, Ipv6Packet};
use crate::wire::{vxlan, WireError};
use config::MacAddr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Fully rewritten: transmit on this port.
    Tx(PortIdx),
    Drop(DropReason),
    /// Handled (e.g. an ARP reply we learned from); free without counting a drop.
    Consumed,
    /// A frame for control (slow protocols); the buffer is unchanged.
    Punt,
    /// Multicast data from an upstream interface with outgoing interfaces in the VRF's
    /// multicast table; TTL already decremented. The buffer holds the IPv4 packet.
    Mcast {
        vrf: VrfId,
        src: u32,
        group: u32,
    },
    /// The same for IPv6 (hop limit decremented).
    Mcast6 {
        vrf: VrfId,
        src: u128,
        group: u128,
    },
    /// An IGMP message received on an L3 interface, for control's membership table (the
    /// draft's IGMP sync). The buffer holds the IPv4 packet.
    Membership {
        vrf: VrfId,
        iface: IfaceId,
    },
    /// The next hop needs resolving. The buffer holds the L3 packet, ready for `l2_output`.
    Resolve {
        vrf: VrfId,
        iface: IfaceId,
        ip: IpAddr,
        ethertype: u16,
    },
}

/// Where the pipeline reports what it learned.
pub trait Sink {
    fn learn(&mut self, vrf: VrfId, iface: IfaceId, ip: IpAddr, mac: MacAddr);
}

impl Sink for Vec<(VrfId, IfaceId, IpAddr, MacAddr)> {
    fn learn(&mut self, vrf: VrfId, iface: IfaceId, ip: IpAddr, mac: MacAddr) {
        self.push((vrf, iface, ip, mac));
    }
}

/// Where an IP packet entered its VRF.
#[derive(Clone, Copy)]
enum Ingress<'a> {
    /// An L3 interface, with the frame's source MAC.
    Wire(&'a Iface, MacAddr),
    /// The VRF's kernel host interface: routed as the kernel's own traffic.
    Host,
    /// A VXLAN tunnel of the EVPN core.
    Core,
}

pub struct Ctx<'a, S: Sink> {
    pub snap: &'a Snapshot,
    pub ctr: &'a Counters,
    pub sink: &'a mut S,
}

/// Runs one received packet through the pipeline.
pub fn process<B: PacketBuf, S: Sink>(cx: &mut Ctx<'_, S>, port: PortIdx, pkt: &mut B) -> Verdict {
    let Some(p) = cx.snap.ports.get(usize::from(port)) else {
        return Verdict::Drop(DropReason::NoInterface);
    };
    match p.role {
        PortRole::Wire { link } => wire_input(cx, link, p.collecting, pkt),
        PortRole::Host { vrf } => host_input(cx, vrf, pkt),
    }
}

fn wire_input<B: PacketBuf, S: Sink>(
    cx: &mut Ctx<'_, S>,
    link: u16,
    collecting: bool,
    pkt: &mut B,
) -> Verdict {
    let eth = match ethernet::parse(pkt.data()) {
        Ok(e) => e,
        Err(_) => return Verdict::Drop(DropReason::Runt),
    };
    if eth.ethertype == ethertype::SLOW && eth.vlan.is_none() {
        return Verdict::Punt;
    }
    if !collecting {
        return Verdict::Drop(DropReason::NotCollecting);
    }
    let Some(l) = cx.snap.links.get(usize::from(link)) else {
        return Verdict::Drop(DropReason::NoInterface);
    };
    let id = match eth.vlan.or_else(|| pkt.rx_vlan()) {
        Some(v) => match l.vlans[usize::from(v)] {
            NO_IFACE => return Verdict::Drop(DropReason::UnknownVlan),
            id => id,
        },
        None => match l.main {
            Some(id) => id,
            None => return Verdict::Drop(DropReason::NoInterface),
        },
    };
    let snap = cx.snap;
    let iface = &snap.ifaces[usize::from(id)];
    if eth.dst != iface.mac && !eth.dst.is_multicast() {
        return Verdict::Drop(DropReason::NotForUs);
    }
    cx.ctr.iface_rx(id, pkt.data().len());
    if !pkt.adj(eth.len) {
        return Verdict::Drop(DropReason::Runt);
    }
    let vrf = &snap.vrfs[usize::from(iface.vrf)];
    match eth.ethertype {
        ethertype::ARP => arp_input(cx, vrf, iface, pkt),
        ethertype::IPV4 => ip4_input(cx, vrf, Ingress::Wire(iface, eth.src), pkt),
        ethertype::IPV6 => ip6_input(cx, vrf, Ingress::Wire(iface, eth.src), pkt),
        _ => Verdict::Drop(DropReason::UnsupportedEthertype),
    }
}

fn host_input<B: PacketBuf, S: Sink>(cx: &mut Ctx<'_, S>, vrf: VrfId, pkt: &mut B) -> Verdict {
    let eth = match ethernet::parse(pkt.data()) {
        Ok(e) => e,
        Err(_) => return Verdict::Drop(DropReason::Runt),
    };
    if !pkt.adj(eth.len) {
        return Verdict::Drop(DropReason::Runt);
    }
    let snap = cx.snap;
    let Some(vrf) = snap.vrfs.get(usize::from(vrf)) else {
        return Verdict::Drop(DropReason::HostUnroutable);
    };
    match eth.ethertype {
        ethertype::IPV4 => ip4_input(cx, vrf, Ingress::Host, pkt),
        ethertype::IPV6 => ip6_input(cx, vrf, Ingress::Host, pkt),
        // The kernel side has a static neighbour for its gateway and sends nothing else we
        // route (router solicitations, MLD reports): count and drop.
        _ => Verdict::Drop(DropReason::HostUnroutable),
    }
}

fn arp_input<B: PacketBuf, S: Sink>(
    cx: &mut Ctx<'_, S>,
    vrf: &VrfTables,
    iface: &Iface,
    pkt: &mut B,
) -> Verdict {
    let Ok(a) = ArpRepr::parse(pkt.data()) else {
        return Verdict::Drop(DropReason::ArpMalformed);
    };
    let on_subnet = iface.subnet_addr(a.spa.into()).is_some();
    if !iface.has_v4(a.tpa) {
        // Not for us; still refresh an entry we already hold (gratuitous ARP, moves).
        let key = NeighKey {
            iface: iface.id,
            ip: a.spa.into(),
        };
        if on_subnet && vrf.neigh.get(&key).is_some_and(|m| *m != a.sha) {
            cx.sink.learn(vrf.id, iface.id, a.spa.into(), a.sha);
            return Verdict::Consumed;
        }
        return Verdict::Drop(DropReason::ArpNotForUs);
    }
    if on_subnet && !a.spa.is_unspecified() && !a.sha.is_multicast() {
        cx.sink.learn(vrf.id, iface.id, a.spa.into(), a.sha);
    }
    if a.op != arp::OP_REQUEST {
        return Verdict::Consumed;
    }
    let reply = a.reply(iface.mac);
    pkt.truncate(arp::LEN);
    reply.emit(pkt.data_mut());
    l2_output(
        cx.snap,
        cx.ctr,
        iface.id,
        a.sha,
        ethertype::ARP,
        Flow::Hash(0),
        pkt,
    )
}

/// The ECMP / LAG hash of a flow: addresses, and the TCP/UDP ports when `ports` holds them
/// (the first 4 octets of the transport header; 0 otherwise).
fn flow_hash(src: &[u8], dst: &[u8], ports: [u8; 4]) -> u32 {
    let mut h: u32 = 0x9e37_79b9;
    for c in src
        .chunks_exact(4)
        .chain(dst.chunks_exact(4))
        .chain(std::iter::once(&ports[..]))
    {
        h = (h ^ u32::from_ne_bytes([c[0], c[1], c[2], c[3]])).wrapping_mul(0x0100_0193);
    }
    // murmur3's finaliser: every input bit reaches the low bits that pick a member/tunnel.
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// What a packet's ECMP / LAG hash is made of, hashed only where a choice is made (a bundle
/// with several members, an overlay group): most packets never need it.
#[derive(Clone, Copy, Debug)]
pub enum Flow {
    Hash(u32),
    V4 {
        src: [u8; 4],
        dst: [u8; 4],
        ports: [u8; 4],
    },
    V6 {
        src: [u8; 16],
        dst: [u8; 16],
        ports: [u8; 4],
    },
}

impl Flow {
    #[inline]
    pub fn hash(self) -> u32 {
        match self {
            Flow::Hash(h) => h,
            Flow::V4 { src, dst, ports } => flow_hash(&src, &dst, ports),
            Flow::V6 { src, dst, ports } => flow_hash(&src, &dst, ports),
        }
    }
}

impl From<u32> for Flow {
    fn from(h: u32) -> Flow {
        Flow::Hash(h)
    }
}

/// A VXLAN packet for our VTEP (`pkt` holds the outer IPv4 packet, `ihl` its header
/// length): the VNI selects the VRF, the inner frame must be for that VRF's router MAC.
fn vxlan_input<B: PacketBuf, S: Sink>(
    cx: &mut Ctx<'_, S>,
    x: &crate::tables::Vxlan,
    ihl: usize,
    pkt: &mut B,
) -> Verdict {
    let Some(udp) = pkt.data().get(ihl..) else {
        return Verdict::Drop(DropReason::VxlanMalformed);
    };
    let Ok(vni) = vxlan::parse(udp) else {
        return Verdict::Drop(DropReason::VxlanMalformed);
    };
    let snap = cx.snap;
    let Some(vrf) = x.vni.get(&vni).and_then(|v| snap.vrfs.get(usize::from(*v))) else {
        return Verdict::Drop(DropReason::VxlanUnknownVni);
    };
    if !pkt.adj(ihl + vxlan::HDR) {
        return Verdict::Drop(DropReason::VxlanMalformed);
    }
    let eth = match ethernet::parse(pkt.data()) {
        Ok(e) => e,
        Err(_) => return Verdict::Drop(DropReason::Runt),
    };
    if eth.dst != vrf.overlay.router_mac {
        return Verdict::Drop(DropReason::NotForUs);
    }
    if !pkt.adj(eth.len) {
        return Verdict::Drop(DropReason::Runt);
    }
    crate::counters::bump(&cx.ctr.vxlan_rx, 1);
    match eth.ethertype {
        ethertype::IPV4 => ip4_input(cx, vrf, Ingress::Core, pkt),
        ethertype::IPV6 => ip6_input(cx, vrf, Ingress::Core, pkt),
        _ => Verdict::Drop(DropReason::UnsupportedEthertype),
    }
}

fn ip4_input<B: PacketBuf, S: Sink>(
    cx: &mut Ctx<'_, S>,
    vrf: &VrfTables,
    ingress: Ingress<'_>,
    pkt: &mut B,
) -> Verdict {
    let iface = match ingress {
        Ingress::Wire(i, _) => Some(i),
        Ingress::Host | Ingress::Core => None,
    };
    let ihl = pkt.data().first().map_or(0, |b| usize::from(b & 0x0f) * 4);
    let (dst, src, total, ttl, proto, frag) = match Ipv4Packet::new_checked(pkt.data()) {
        Ok(ip) => (
            ip.dst(),
            ip.src(),
            ip.total_len(),
            ip.ttl(),
            ip.protocol(),
            ip.is_fragment(),
        ),
        Err(WireError::Checksum) => return Verdict::Drop(DropReason::Ipv4Checksum),
        Err(_) => return Verdict::Drop(DropReason::Ipv4Malformed),
    };
    pkt.truncate(total); // strip Ethernet padding
    if dst.is_multicast() && proto == ipv4::PROTO_IGMP {
        if let Some(i) = iface {
            return Verdict::Membership {
                vrf: vrf.id,
                iface: i.id,
            };
        }
    }
    if dst.is_multicast() && !dst.is_link_local() {
        if let Some(i) = iface {
            let (s, g) = (u32::from(src), u32::from(dst));
            if vrf.mcast.upstream.contains(&i.id) && vrf.mcast.oifs(s, g).is_some() {
                if ttl <= 1 {
                    return Verdict::Drop(DropReason::TtlExceeded);
                }
                ipv4::decrement_ttl(pkt.data_mut()); // validated above
                return Verdict::Mcast {
                    vrf: vrf.id,
                    src: s,
                    group: g,
                };
            }
        }
    }
    if dst.is_multicast() || dst.is_broadcast() {
        return Verdict::Drop(DropReason::Multicast);
    }
    let from_host = matches!(ingress, Ingress::Host);
    let Some((nh, adj)) = vrf.route4_adj(dst) else {
        return Verdict::Drop(DropReason::NoRoute);
    };
    if nh == NextHop::Local {
        if from_host {
            return Verdict::Drop(DropReason::HostUnroutable);
        }
        if let Some(x) = cx.snap.vxlan.as_deref() {
            let udp = pkt.data().get(ihl..).unwrap_or_default();
            if proto == ipv4::PROTO_UDP
                && !frag
                && vrf.id == x.underlay
                && dst == x.source
                && vxlan::dst_port(udp) == Some(x.udp_port)
            {
                return vxlan_input(cx, x, ihl, pkt);
            }
        }
        if proto == ipv4::PROTO_ICMP && !frag {
            let mut ip = match Ipv4Packet::new_checked(pkt.data_mut()) {
                Ok(ip) => ip,
                Err(_) => return Verdict::Drop(DropReason::Ipv4Malformed),
            };
            let msg = ip.payload_mut();
            if msg.first() == Some(&icmp::V4_ECHO_REQUEST) {
                if !icmp::v4_valid(msg) {
                    return Verdict::Drop(DropReason::IcmpMalformed);
                }
                icmp::v4_echo_to_reply(msg);
                ip.set_src(dst);
                ip.set_dst(src);
                ip.set_ttl(64);
                ip.fill_checksum();
                let Some(nh) = vrf.route4(src) else {
                    return Verdict::Drop(DropReason::NoRoute);
                };
                return forward(
                    cx,
                    vrf,
                    nh,
                    None,
                    IpAddr::V4(src),
                    ethertype::IPV4,
                    Flow::V4 {
                        src: src.octets(),
                        dst: dst.octets(),
                        ports: [0; 4],
                    },
                    pkt,
                );
            }
        }
        return to_host(cx, vrf, ethertype::IPV4, pkt);
    }
    if !from_host {
        if ttl <= 1 {
            return Verdict::Drop(DropReason::TtlExceeded);
        }
        ipv4::decrement_ttl(pkt.data_mut()); // validated above
    }
    let hash = Flow::V4 {
        src: src.octets(),
        dst: dst.octets(),
        ports: l4_ports(proto, frag, pkt.data().get(ihl..)),
    };
    forward(
        cx,
        vrf,
        nh,
        adj,
        IpAddr::V4(dst),
        ethertype::IPV4,
        hash,
        pkt,
    )
}

/// The port octets of a TCP or UDP header (not of a fragment), for the flow hash.
#[inline]
fn l4_ports(proto: u8, frag: bool, l4: Option<&[u8]>) -> [u8; 4] {
    match l4 {
        Some(b)
            if !frag && (proto == ipv4::PROTO_UDP || proto == ipv4::PROTO_TCP) && b.len() >= 4 =>
        {
            [b[0], b[1], b[2], b[3]]
        }
        _ => [0; 4],
    }
}

fn ip6_input<B: PacketBuf, S: Sink>(
    cx: &mut Ctx<'_, S>,
    vrf: &VrfTables,
    ingress: Ingress<'_>,
    pkt: &mut B,
) -> Verdict {
    let (src, dst, next, hlim, total) = match Ipv6Packet::new_checked(pkt.data()) {
        Ok(ip) => (
            ip.src_bytes(),
            ip.dst_bytes(),
            ip.next_header(),
            ip.hop_limit(),
            ipv6::HDR + ip.payload_len(),
        ),
        Err(_) => return Verdict::Drop(DropReason::Ipv6Malformed),
    };
    pkt.truncate(total);
    // Transport ports when TCP/UDP follows the fixed header directly (no extension headers).
    let hash = Flow::V6 {
        src,
        dst,
        ports: l4_ports(next, false, pkt.data().get(ipv6::HDR..)),
    };
    let (ifc, src_mac) = match ingress {
        Ingress::Wire(i, m) => (i, m),
        Ingress::Host | Ingress::Core => return ip6_routed(cx, vrf, ingress, hlim, hash, pkt),
    };
    let is_mcast = dst[0] == 0xff;
    if is_mcast {
        // MLD (behind a Hop-by-Hop header with Router Alert, or directly): for control.
        if let Some((_, _, msg)) = crate::wire::mld::locate(pkt.data()) {
            if msg.first().is_some_and(|t| crate::wire::mld::is_mld(*t)) {
                return Verdict::Membership {
                    vrf: vrf.id,
                    iface: ifc.id,
                };
            }
        }
        // Routed multicast (not link scope) from an upstream interface with members.
        let (s, g) = (u128::from_be_bytes(src), u128::from_be_bytes(dst));
        if dst[1] & 0x0f > 2
            && vrf.mcast.upstream.contains(&ifc.id)
            && vrf.mcast.oifs6(s, g).is_some()
        {
            if hlim <= 1 {
                return Verdict::Drop(DropReason::TtlExceeded);
            }
            if let Ok(mut ip) = Ipv6Packet::new_checked(pkt.data_mut()) {
                ip.set_hop_limit(hlim - 1);
            }
            return Verdict::Mcast6 {
                vrf: vrf.id,
                src: s,
                group: g,
            };
        }
    }
    // One FIB lookup serves both the "is it ours" test and the forwarding below.
    let hop = if is_mcast { None } else { vrf.route6_adj(&dst) };
    let local = ifc.has_v6(&dst) || matches!(hop, Some((NextHop::Local, _)));
    if next == ipv6::NEXT_ICMPV6 && (local || is_mcast) {
        let msg = &pkt.data()[ipv6::HDR..];
        if !icmp::v6_valid(msg, &src, &dst) {
            return Verdict::Drop(DropReason::IcmpMalformed);
        }
        match msg[0] {
            icmp::ND_NS | icmp::ND_NA => return nd_input(cx, vrf, ifc, src_mac, src, hlim, pkt),
            icmp::V6_ECHO_REQUEST if local => {
                let Ok(mut ip) = Ipv6Packet::new_checked(pkt.data_mut()) else {
                    return Verdict::Drop(DropReason::Ipv6Malformed);
                };
                ip.set_src(&dst);
                ip.set_dst(&src);
                ip.set_hop_limit(64);
                let m = ip.payload_mut();
                m[0] = icmp::V6_ECHO_REPLY;
                icmp::v6_fill_checksum(m, &dst, &src);
                // Link-local peers are answered on the interface they came from.
                if src[0] == 0xfe && src[1] & 0xc0 == 0x80 {
                    return neighbor_out(
                        cx,
                        vrf,
                        ifc.id,
                        IpAddr::V6(Ipv6Addr::from(src)),
                        ethertype::IPV6,
                        hash,
                        pkt,
                    );
                }
                return match vrf.route6(&src) {
                    Some(nh) => forward(
                        cx,
                        vrf,
                        nh,
                        None,
                        IpAddr::V6(Ipv6Addr::from(src)),
                        ethertype::IPV6,
                        hash,
                        pkt,
                    ),
                    None => Verdict::Drop(DropReason::NoRoute),
                };
            }
            _ => {}
        }
    }
    if is_mcast {
        return Verdict::Drop(DropReason::Multicast);
    }
    if local {
        return to_host(cx, vrf, ethertype::IPV6, pkt);
    }
    if dst[0] == 0xfe && dst[1] & 0xc0 == 0x80 {
        return Verdict::Drop(DropReason::NoRoute); // link-local is never forwarded
    }
    let Some((nh, adj)) = hop else {
        return Verdict::Drop(DropReason::NoRoute);
    };
    if hlim <= 1 {
        return Verdict::Drop(DropReason::TtlExceeded);
    }
    if let Ok(mut ip) = Ipv6Packet::new_checked(pkt.data_mut()) {
        ip.decrement_hop_limit();
    }
    let d = IpAddr::V6(Ipv6Addr::from(dst));
    forward(cx, vrf, nh, adj, d, ethertype::IPV6, hash, pkt)
}

/// IPv6 from the kernel (routed as is, never to ourselves) or out of a VXLAN tunnel (hop
/// limit decremented; our addresses go to the kernel). Multicast and link-local are not routed.
fn ip6_routed<B: PacketBuf, S: Sink>(
    cx: &mut Ctx<'_, S>,
    vrf: &VrfTables,
    ingress: Ingress<'_>,
    hlim: u8,
    hash: Flow,
    pkt: &mut B,
) -> Verdict {
    let Ok(ip) = Ipv6Packet::new_checked(pkt.data()) else {
        return Verdict::Drop(DropReason::Ipv6Malformed);
    };
    let dst = ip.dst_bytes();
    let host = matches!(ingress, Ingress::Host);
    if dst[0] == 0xff || (dst[0] == 0xfe && dst[1] & 0xc0 == 0x80) {
        return Verdict::Drop(if host {
            DropReason::HostUnroutable
        } else {
            DropReason::Multicast
        });
    }
    let nh = match vrf.route6(&dst) {
        Some(NextHop::Local) if host => return Verdict::Drop(DropReason::HostUnroutable),
        Some(NextHop::Local) => return to_host(cx, vrf, ethertype::IPV6, pkt),
        Some(nh) => nh,
        None => return Verdict::Drop(DropReason::NoRoute),
    };
    if !host {
        if hlim <= 1 {
            return Verdict::Drop(DropReason::TtlExceeded);
        }
        if let Ok(mut ip) = Ipv6Packet::new_checked(pkt.data_mut()) {
            ip.decrement_hop_limit();
        }
    }
    let d = IpAddr::V6(Ipv6Addr::from(dst));
    forward(cx, vrf, nh, None, d, ethertype::IPV6, hash, pkt)
}

#[allow(clippy::too_many_arguments)]
fn nd_input<B: PacketBuf, S: Sink>(
    cx: &mut Ctx<'_, S>,
    vrf: &VrfTables,
    ifc: &Iface,
    src_mac: MacAddr,
    src: [u8; 16],
    hlim: u8,
    pkt: &mut B,
) -> Verdict {
    // RFC 4861 §7.1: hop limit 255, else it crossed a router.
    let Ok(nd) = Nd::parse(&pkt.data()[ipv6::HDR..]) else {
        return Verdict::Drop(DropReason::NdMalformed);
    };
    if hlim != 255 {
        return Verdict::Drop(DropReason::NdMalformed);
    }
    let unspecified = src == [0; 16];
    if nd.kind == icmp::ND_NA {
        {
            let mac = nd.lladdr.unwrap_or(src_mac);
            let key = NeighKey {
                iface: ifc.id,
                ip: IpAddr::V6(Ipv6Addr::from(nd.target)),
            };
            if on_subnet6(ifc, &nd.target) || vrf.neigh.contains_key(&key) {
                cx.sink.learn(vrf.id, ifc.id, key.ip, mac);
            }
        }
        return Verdict::Consumed;
    }
    if !ifc.has_v6(&nd.target) {
        return Verdict::Drop(DropReason::ArpNotForUs);
    }
    if unspecified {
        return Verdict::Consumed; // duplicate address detection by a host: not ours to answer
    }
    let reply_mac = nd.lladdr.unwrap_or(src_mac);
    if on_subnet6(ifc, &src) {
        cx.sink
            .learn(vrf.id, ifc.id, IpAddr::V6(Ipv6Addr::from(src)), reply_mac);
    }
    let na = Nd {
        kind: icmp::ND_NA,
        flags: icmp::NA_FLAG_ROUTER | icmp::NA_FLAG_SOLICITED | icmp::NA_FLAG_OVERRIDE,
        target: nd.target,
        lladdr: Some(ifc.mac),
    };
    // Rewrite in place: IPv6 header + NA with the target link-layer option (72 bytes).
    let need = ipv6::HDR + na.len();
    let have = pkt.data().len();
    if have < need {
        return Verdict::Consumed; // a unicast NS without options: the host will retry multicast
    }
    pkt.truncate(need);
    let b = pkt.data_mut();
    ipv6::emit(b, &nd.target, &src, ipv6::NEXT_ICMPV6, 255, na.len());
    na.emit(&mut b[ipv6::HDR..]);
    icmp::v6_fill_checksum(&mut b[ipv6::HDR..], &nd.target, &src);
    l2_output(
        cx.snap,
        cx.ctr,
        ifc.id,
        reply_mac,
        ethertype::IPV6,
        Flow::Hash(0),
        pkt,
    )
}

fn on_subnet6(ifc: &Iface, a: &[u8; 16]) -> bool {
    (a[0] == 0xfe && a[1] & 0xc0 == 0x80)
        || ifc.subnet_addr(IpAddr::V6(Ipv6Addr::from(*a))).is_some()
}

fn to_host<B: PacketBuf, S: Sink>(
    cx: &mut Ctx<'_, S>,
    vrf: &VrfTables,
    et: u16,
    pkt: &mut B,
) -> Verdict {
    let Some(port) = vrf.host_port else {
        return Verdict::Drop(DropReason::NoHostInterface);
    };
    let Some(p) = cx.snap.ports.get(usize::from(port)) else {
        return Verdict::Drop(DropReason::NoHostInterface);
    };
    if !pkt.prepend(ethernet::ETH_HDR) {
        return Verdict::Drop(DropReason::NoHeadroom);
    }
    ethernet::emit(pkt.data_mut(), vrf.host_mac, p.mac, None, et);
    Verdict::Tx(port)
}

/// Sends the L3 packet in `pkt` to next hop `nh`. `adj` is the gateway's MAC when the VRF's
/// adjacency array has it (a resolved `NextHop::Via`): then no neighbour-table lookup is made.
#[allow(clippy::too_many_arguments)]
fn forward<B: PacketBuf, S: Sink>(
    cx: &mut Ctx<'_, S>,
    vrf: &VrfTables,
    nh: NextHop,
    adj: Option<MacAddr>,
    dst: IpAddr,
    et: u16,
    hash: Flow,
    pkt: &mut B,
) -> Verdict {
    let (iface, ip) = match nh {
        NextHop::Connected { iface } => (iface, dst),
        NextHop::Via { iface, gw } => (iface, gw),
        NextHop::Blackhole => return Verdict::Drop(DropReason::Blackhole),
        NextHop::Local => return to_host(cx, vrf, et, pkt),
        NextHop::Overlay { group } => return vxlan_output(cx, vrf, group, et, hash, pkt),
    };
    if let Some(ifc) = cx.snap.ifaces.get(usize::from(iface)) {
        if pkt.data().len() > usize::from(ifc.mtu) {
            return Verdict::Drop(DropReason::MtuExceeded);
        }
    }
    match adj {
        Some(mac) => l2_output(cx.snap, cx.ctr, iface, mac, et, hash, pkt),
        None => neighbor_out(cx, vrf, iface, ip, et, hash, pkt),
    }
}

/// Encapsulates the L3 packet in `pkt` toward one tunnel of overlay group `group` (chosen by
/// `hash`) and routes the result in the underlay VRF.
fn vxlan_output<B: PacketBuf, S: Sink>(
    cx: &mut Ctx<'_, S>,
    vrf: &VrfTables,
    group: u32,
    et: u16,
    hash: Flow,
    pkt: &mut B,
) -> Verdict {
    let snap = cx.snap;
    let Some(x) = snap.vxlan.as_deref() else {
        return Verdict::Drop(DropReason::OverlayDown);
    };
    let ov = &*vrf.overlay;
    // Hashed once here: the tunnel, the outer source port and the underlay's choice share it.
    let h = hash.hash();
    let t = match ov.groups.get(group as usize) {
        Some(g) if !g.is_empty() => g[h as usize % g.len()],
        _ => return Verdict::Drop(DropReason::OverlayDown),
    };
    let Some(under) = snap.vrfs.get(usize::from(x.underlay)) else {
        return Verdict::Drop(DropReason::NoUnderlayRoute);
    };
    let nh = match under.route4(t.vtep) {
        Some(nh @ (NextHop::Connected { .. } | NextHop::Via { .. })) => nh,
        _ => return Verdict::Drop(DropReason::NoUnderlayRoute),
    };
    let inner = ethernet::ETH_HDR + pkt.data().len();
    let outer = ipv4::MIN_HDR + vxlan::HDR;
    if !pkt.prepend(outer + ethernet::ETH_HDR) {
        return Verdict::Drop(DropReason::NoHeadroom);
    }
    let b = pkt.data_mut();
    ipv4::emit(
        b,
        x.source,
        t.vtep,
        ipv4::PROTO_UDP,
        x.ttl,
        vxlan::HDR + inner,
    );
    let port = vxlan::entropy_port(h);
    vxlan::emit(&mut b[ipv4::MIN_HDR..], port, x.udp_port, t.vni, inner);
    ethernet::emit(&mut b[outer..], t.rmac, ov.router_mac, None, et);
    crate::counters::bump(&cx.ctr.vxlan_tx, 1);
    let d = IpAddr::V4(t.vtep);
    forward(cx, under, nh, None, d, ethertype::IPV4, Flow::Hash(h), pkt)
}

fn neighbor_out<B: PacketBuf, S: Sink>(
    cx: &mut Ctx<'_, S>,
    vrf: &VrfTables,
    iface: IfaceId,
    ip: IpAddr,
    et: u16,
    hash: Flow,
    pkt: &mut B,
) -> Verdict {
    match vrf.neigh.get(&NeighKey { iface, ip }) {
        Some(mac) => l2_output(cx.snap, cx.ctr, iface, *mac, et, hash, pkt),
        None => Verdict::Resolve {
            vrf: vrf.id,
            iface,
            ip,
            ethertype: et,
        },
    }
}

/// Prepends the interface's Ethernet (and 802.1Q) header and picks the member port.
/// Also used by control to send resolved and self-originated packets.
pub fn l2_output<B: PacketBuf>(
    snap: &Snapshot,
    ctr: &Counters,
    iface: IfaceId,
    dst: MacAddr,
    et: u16,
    hash: Flow,
    pkt: &mut B,
) -> Verdict {
    let Some(ifc) = snap.ifaces.get(usize::from(iface)) else {
        return Verdict::Drop(DropReason::NoInterface);
    };
    let members = &snap.links[usize::from(ifc.link)].members;
    if members.is_empty() {
        return Verdict::Drop(DropReason::LinkDown);
    }
    if !pkt.prepend(ethernet::header_len(ifc.vlan)) {
        return Verdict::Drop(DropReason::NoHeadroom);
    }
    ethernet::emit(pkt.data_mut(), dst, ifc.mac, ifc.vlan, et);
    ctr.iface_tx(iface, pkt.data().len());
    Verdict::Tx(match members[..] {
        [one] => one,
        _ => members[hash.hash() as usize % members.len()],
    })
}

/// Builds an ARP request or an IPv6 Neighbor Solicitation for `ip` on `iface` into `pkt`
/// (whose data must be at least `SOLICIT_LEN` bytes; it is shortened to fit), ready for
/// `l2_output` with the returned destination MAC and ethertype.
pub const SOLICIT_LEN: usize = 72;

pub fn emit_solicit<B: PacketBuf>(ifc: &Iface, ip: IpAddr, pkt: &mut B) -> Option<(MacAddr, u16)> {
    match ip {
        IpAddr::V4(t) => {
            let src = match ifc.subnet_addr(ip) {
                Some(IpAddr::V4(a)) => a,
                _ => Ipv4Addr::UNSPECIFIED,
            };
            pkt.truncate(arp::LEN);
            ArpRepr {
                op: arp::OP_REQUEST,
                sha: ifc.mac,
                spa: src,
                tha: MacAddr::ZERO,
                tpa: t,
            }
            .emit(pkt.data_mut());
            Some((MacAddr::BROADCAST, ethertype::ARP))
        }
        IpAddr::V6(t) => {
            let src = match ifc.source_for(ip)? {
                IpAddr::V6(s) => s.octets(),
                IpAddr::V4(_) => return None,
            };
            let dst = ipv6::solicited_node(&t.octets());
            let ns = Nd {
                kind: icmp::ND_NS,
                flags: 0,
                target: t.octets(),
                lladdr: Some(ifc.mac),
            };
            pkt.truncate(ipv6::HDR + ns.len());
            let b = pkt.data_mut();
            ipv6::emit(b, &src, &dst, ipv6::NEXT_ICMPV6, 255, ns.len());
            ns.emit(&mut b[ipv6::HDR..]);
            icmp::v6_fill_checksum(&mut b[ipv6::HDR..], &src, &dst);
            Some((ipv6::multicast_mac(&dst), ethertype::IPV6))
        }
    }
}

#[cfg(test)]
mod tests;
