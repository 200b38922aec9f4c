//! The immutable tables a worker reads: ports, links (port or bundle), interfaces, and per-VRF
//! FIB / next hops / neighbours. Control builds them; `snapshot` publishes them.

pub mod build;
pub mod fib;
pub mod poptrie;

use config::MacAddr;
use fib::{Fib, Table};
use rustc_hash::FxHashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

pub type PortIdx = u16;
pub type IfaceId = u16;
pub type LinkId = u16;
pub type VrfId = u16;
pub const NO_IFACE: IfaceId = u16::MAX;

/// A DPDK port as the pipeline sees it.
#[derive(Debug, Clone)]
pub struct PortInfo {
    pub dpdk_port: u16,
    pub name: String,
    pub mac: MacAddr,
    pub role: PortRole,
    /// Frames received here are processed (LACP's collecting gate; always true outside a
    /// LACP bundle). Slow-protocol frames are punted regardless.
    pub collecting: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortRole {
    /// A network-facing port, alone or a bundle member: frames belong to `link`.
    Wire { link: LinkId },
    /// The kernel TAP of a VRF: what the kernel sends is routed in `vrf`.
    Host { vrf: VrfId },
}

/// A port or bundle: the thing sub-interfaces hang off.
#[derive(Debug, Clone)]
pub struct Link {
    pub name: String,
    /// Ports that may transmit (a bundle's distributing members).
    pub members: Vec<PortIdx>,
    /// Untagged traffic goes here when set.
    pub main: Option<IfaceId>,
    /// VLAN id -> interface, `NO_IFACE` where none.
    pub vlans: Box<[IfaceId; 4096]>,
}

/// An L3 interface: a main interface or a VLAN sub-interface.
#[derive(Debug, Clone)]
pub struct Iface {
    pub id: IfaceId,
    pub name: String,
    pub link: LinkId,
    pub vlan: Option<u16>,
    pub vrf: VrfId,
    pub mac: MacAddr,
    pub mtu: u16,
    pub v4: Vec<(Ipv4Addr, u8)>,
    pub v6: Vec<(Ipv6Addr, u8)>,
    /// fe80::/64 EUI-64 address derived from `mac`.
    pub link_local: [u8; 16],
}

impl Iface {
    pub fn has_v4(&self, a: Ipv4Addr) -> bool {
        self.v4.iter().any(|(x, _)| *x == a)
    }
    pub fn has_v6(&self, a: &[u8; 16]) -> bool {
        *a == self.link_local || self.v6.iter().any(|(x, _)| x.octets() == *a)
    }
    /// Our addresses with their prefix lengths, IPv4 first.
    pub fn addrs(&self) -> impl Iterator<Item = (IpAddr, u8)> + '_ {
        let v4 = self.v4.iter().map(|(a, l)| (IpAddr::V4(*a), *l));
        v4.chain(self.v6.iter().map(|(a, l)| (IpAddr::V6(*a), *l)))
    }

    /// Our connected subnets (the addresses' prefixes).
    pub fn subnets(&self) -> impl Iterator<Item = config::Prefix> + '_ {
        self.addrs().map(|(a, l)| config::Prefix::new(a, l))
    }

    /// Our address on the subnet that contains `ip`, if `ip` is on one of our subnets.
    pub fn subnet_addr(&self, ip: IpAddr) -> Option<IpAddr> {
        self.addrs()
            .find(|(a, l)| config::Prefix::new(*a, *l).contains(ip))
            .map(|(a, _)| a)
    }

    /// The address to source control traffic to `dst` from (same subnet, else the first
    /// IPv4 address or the IPv6 link-local one).
    pub fn source_for(&self, dst: IpAddr) -> Option<IpAddr> {
        self.subnet_addr(dst).or(match dst {
            IpAddr::V4(d) if !d.is_unspecified() => self.v4.first().map(|(a, _)| IpAddr::V4(*a)),
            IpAddr::V4(_) => None,
            IpAddr::V6(_) => Some(IpAddr::V6(Ipv6Addr::from(self.link_local))),
        })
    }
}

/// Where a FIB entry sends traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextHop {
    /// One of our addresses: answered by the dataplane or punted to the host interface.
    Local,
    /// A directly connected subnet: the destination itself is the neighbour.
    Connected {
        iface: IfaceId,
    },
    /// Through a gateway on a connected subnet.
    Via {
        iface: IfaceId,
        gw: IpAddr,
    },
    Blackhole,
    /// Through the EVPN core: VXLAN to one of the tunnels of the VRF's next-hop group
    /// (`Overlay::groups`), chosen by flow hash. Many routes share a group, so a change of
    /// the PEs behind them rewrites the group only.
    Overlay {
        group: u32,
    },
}

/// A VXLAN tunnel to another PE (RFC 9136 interface-less IP-VRF-to-IP-VRF): its VTEP, the
/// VNI of the VRF there, and its Router's MAC (the inner destination MAC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tunnel {
    pub vtep: Ipv4Addr,
    pub vni: u32,
    pub rmac: MacAddr,
}

/// A VRF's side of the EVPN core: its router MAC (inner source of what we send, inner
/// destination of what we accept) and the ECMP next-hop groups its overlay routes point at
/// (an empty group drops: every PE behind it is gone). Its VNI is in `Vxlan::vni`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Overlay {
    pub router_mac: MacAddr,
    pub groups: Vec<Box<[Tunnel]>>,
}

/// The VXLAN tunnel endpoint of this PE: decapsulation of what arrives for `source` on
/// `udp_port` in the `underlay` VRF, encapsulation of overlay routes.
#[derive(Debug, Clone)]
pub struct Vxlan {
    pub source: Ipv4Addr,
    pub underlay: VrfId,
    pub udp_port: u16,
    pub ttl: u8,
    /// VNI -> VRF.
    pub vni: FxHashMap<u32, VrfId>,
}

/// Key of the neighbour table: the interface and the neighbour's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NeighKey {
    pub iface: IfaceId,
    pub ip: IpAddr,
}

/// A VRF's routes: rebuilt when its configuration changes.
#[derive(Default)]
pub struct Routes {
    pub fib4: Table<u32>,
    pub fib6: Table<u128>,
    pub nexthops: Vec<NextHop>,
}

pub type NeighTable = FxHashMap<NeighKey, MacAddr>;

/// Multicast forwarding of one VRF (IPv4), built by control: groups arriving on an upstream
/// interface go to the outgoing interfaces of their (S,G) entry, else of their (*,G) entry.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct McastTable {
    /// Interfaces multicast data is accepted on (static upstream, toward the sources).
    pub upstream: Vec<IfaceId>,
    /// (source or 0 for *, group) -> outgoing interfaces.
    pub routes: FxHashMap<(u32, u32), Vec<IfaceId>>,
    /// The same for IPv6.
    pub routes6: FxHashMap<(u128, u128), Vec<IfaceId>>,
}

impl McastTable {
    #[inline]
    pub fn oifs(&self, src: u32, group: u32) -> Option<&[IfaceId]> {
        self.routes
            .get(&(src, group))
            .or_else(|| self.routes.get(&(0, group)))
            .map(Vec::as_slice)
    }

    #[inline]
    pub fn oifs6(&self, src: u128, group: u128) -> Option<&[IfaceId]> {
        self.routes6
            .get(&(src, group))
            .or_else(|| self.routes6.get(&(0, group)))
            .map(Vec::as_slice)
    }
}

/// One VRF's tables. Routes and neighbours are shared separately, so a neighbour change
/// copies the neighbour map only, and an unchanged VRF is carried over by `Arc` clone.
#[derive(Default)]
pub struct VrfTables {
    pub id: VrfId,
    pub name: String,
    pub routes: Arc<Routes>,
    pub neigh: Arc<NeighTable>,
    /// The VRF's kernel host interface (TAP port), if any.
    pub host_port: Option<PortIdx>,
    /// MAC of the kernel side of the host interface (frames to the kernel carry it).
    pub host_mac: MacAddr,
    pub mcast: Arc<McastTable>,
    pub overlay: Arc<Overlay>,
    /// For each next hop of `routes` (same index), the neighbour's MAC when it is a resolved
    /// gateway (`NextHop::Via`): rebuilt by control with the neighbours. Empty = unknown.
    pub adj: Arc<Vec<Option<MacAddr>>>,
}

impl VrfTables {
    #[inline]
    pub fn route4(&self, a: Ipv4Addr) -> Option<NextHop> {
        let r = &*self.routes;
        r.fib4.lookup(u32::from(a)).map(|i| r.nexthops[i as usize])
    }
    /// `route4` and the gateway's resolved MAC, if known.
    #[inline]
    pub fn route4_adj(&self, a: Ipv4Addr) -> Option<(NextHop, Option<MacAddr>)> {
        self.routes.fib4.lookup(u32::from(a)).map(|i| self.hop(i))
    }

    /// `route6` and the gateway's resolved MAC, if known.
    #[inline]
    pub fn route6_adj(&self, a: &[u8; 16]) -> Option<(NextHop, Option<MacAddr>)> {
        self.routes
            .fib6
            .lookup(u128::from_be_bytes(*a))
            .map(|i| self.hop(i))
    }

    #[inline]
    fn hop(&self, i: u32) -> (NextHop, Option<MacAddr>) {
        let i = i as usize;
        (self.routes.nexthops[i], self.adj.get(i).copied().flatten())
    }

    /// The adjacency array of `routes` over `neigh` (see `adj`).
    pub fn adjacency(routes: &Routes, neigh: &NeighTable) -> Vec<Option<MacAddr>> {
        routes
            .nexthops
            .iter()
            .map(|n| match n {
                NextHop::Via { iface, gw } => neigh
                    .get(&NeighKey {
                        iface: *iface,
                        ip: *gw,
                    })
                    .copied(),
                _ => None,
            })
            .collect()
    }

    #[inline]
    pub fn route6(&self, a: &[u8; 16]) -> Option<NextHop> {
        let r = &*self.routes;
        r.fib6
            .lookup(u128::from_be_bytes(*a))
            .map(|i| r.nexthops[i as usize])
    }
}

/// Everything a worker reads, published as one immutable value.
pub struct Snapshot {
    pub version: u64,
    pub ports: Vec<PortInfo>,
    pub links: Vec<Link>,
    pub ifaces: Vec<Iface>,
    pub vrfs: Vec<Arc<VrfTables>>,
    pub vxlan: Option<Arc<Vxlan>>,
}

impl Snapshot {
    pub fn empty() -> Snapshot {
        Snapshot {
            version: 0,
            ports: Vec::new(),
            links: Vec::new(),
            ifaces: Vec::new(),
            vrfs: Vec::new(),
            vxlan: None,
        }
    }
}
