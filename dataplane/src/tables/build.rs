//! From configuration to tables: interface and link layout (once per config) and each VRF's
//! routes. Control adds the runtime parts (DPDK port ids, MACs, neighbours).

use super::*;
use config::{Config, Name};
use std::collections::HashMap;

/// Names resolved to ids: the part of a snapshot that only changes with configuration.
#[derive(Debug, Clone)]
pub struct Topology {
    pub links: Vec<Link>,
    pub ifaces: Vec<Iface>,
    pub vrf_names: Vec<String>,
    /// Config port index -> link.
    pub port_link: Vec<LinkId>,
}

impl Topology {
    pub fn vrf_id(&self, name: &str) -> Option<VrfId> {
        self.vrf_names
            .iter()
            .position(|n| n == name)
            .map(|i| i as VrfId)
    }
    pub fn iface_by_name(&self, name: &str) -> Option<&Iface> {
        self.ifaces.iter().find(|i| i.name == name)
    }
    /// The interface of VRF `vrf` whose subnet holds `ip` (a static route's gateway).
    pub fn iface_on_subnet(&self, vrf: VrfId, ip: IpAddr) -> Option<&Iface> {
        self.ifaces
            .iter()
            .find(|i| i.vrf == vrf && i.subnet_addr(ip).is_some())
    }
}

/// Lays out links and interfaces. `port_macs` is indexed like `cfg.ports`.
/// The configuration must have passed validation.
pub fn topology(cfg: &Config, port_macs: &[MacAddr]) -> Topology {
    let vrf_names: Vec<String> = cfg.vrfs.iter().map(|v| v.name.to_string()).collect();
    let vrf_id = |n: &Name| vrf_names.iter().position(|v| v == n.as_str()).unwrap_or(0) as VrfId;
    let mut links = Vec::new();
    let mut ifaces: Vec<Iface> = Vec::new();
    let mut port_link = vec![0; cfg.ports.len()];
    let mut by_name: HashMap<&str, LinkId> = HashMap::new();
    let mut link_mac: Vec<MacAddr> = Vec::new();
    let port_idx = |n: &Name| cfg.ports.iter().position(|p| p.name == *n).unwrap_or(0);

    let add_iface = |ifaces: &mut Vec<Iface>,
                     name: &str,
                     link: LinkId,
                     vlan: Option<u16>,
                     vrf,
                     mac,
                     mtu,
                     addrs: &[config::IfAddr]| {
        let id = ifaces.len() as IfaceId;
        ifaces.push(Iface {
            id,
            name: name.to_string(),
            link,
            vlan,
            vrf,
            mac,
            mtu,
            v4: addrs
                .iter()
                .filter_map(|a| match a.addr {
                    IpAddr::V4(v) => Some((v, a.len)),
                    IpAddr::V6(_) => None,
                })
                .collect(),
            v6: addrs
                .iter()
                .filter_map(|a| match a.addr {
                    IpAddr::V6(v) => Some((v, a.len)),
                    IpAddr::V4(_) => None,
                })
                .collect(),
            link_local: crate::wire::ipv6::link_local(mac),
        });
        id
    };

    let members: std::collections::HashSet<&Name> =
        cfg.bundles.iter().flat_map(|b| b.members.iter()).collect();
    for (i, p) in cfg.ports.iter().enumerate() {
        if members.contains(&p.name) {
            continue;
        }
        let id = links.len() as LinkId;
        let mac = port_macs.get(i).copied().unwrap_or_default();
        let main = p.vrf.as_ref().map(|v| {
            add_iface(
                &mut ifaces,
                p.name.as_str(),
                id,
                None,
                vrf_id(v),
                mac,
                p.mtu,
                &p.addresses,
            )
        });
        links.push(Link {
            name: p.name.to_string(),
            members: vec![i as PortIdx],
            main,
            vlans: Box::new([NO_IFACE; 4096]),
        });
        link_mac.push(mac);
        port_link[i] = id;
        by_name.insert(p.name.as_str(), id);
    }
    for b in &cfg.bundles {
        let id = links.len() as LinkId;
        let idx: Vec<usize> = b.members.iter().map(port_idx).collect();
        let mac = b
            .mac
            .or_else(|| idx.first().and_then(|i| port_macs.get(*i)).copied())
            .unwrap_or_default();
        let mtu = idx.iter().map(|i| cfg.ports[*i].mtu).min().unwrap_or(1500);
        let main = b.vrf.as_ref().map(|v| {
            add_iface(
                &mut ifaces,
                b.name.as_str(),
                id,
                None,
                vrf_id(v),
                mac,
                mtu,
                &b.addresses,
            )
        });
        for i in &idx {
            port_link[*i] = id;
        }
        links.push(Link {
            name: b.name.to_string(),
            members: idx.iter().map(|i| *i as PortIdx).collect(),
            main,
            vlans: Box::new([NO_IFACE; 4096]),
        });
        link_mac.push(mac);
        by_name.insert(b.name.as_str(), id);
    }
    for s in &cfg.interfaces {
        let Some(&link) = by_name.get(s.parent.as_str()) else {
            continue;
        };
        let l = &links[usize::from(link)];
        let first = l.members.first().map(|p| usize::from(*p)).unwrap_or(0);
        let mac = link_mac[usize::from(link)];
        let mtu = cfg.ports.get(first).map(|p| p.mtu).unwrap_or(1500);
        let id = add_iface(
            &mut ifaces,
            s.name.as_str(),
            link,
            Some(s.vlan.get()),
            vrf_id(&s.vrf),
            mac,
            mtu,
            &s.addresses,
        );
        links[usize::from(link)].vlans[usize::from(s.vlan.get())] = id;
    }
    Topology {
        links,
        ifaces,
        vrf_names,
        port_link,
    }
}

/// Routes learnt at run time, merged with the configured ones by `routes_with`.
#[derive(Default)]
pub struct Learned<'a> {
    /// CE routes synced from another PE of an Ethernet Segment: (prefix, interface,
    /// gateway); they rank like static routes.
    pub synced: &'a [(config::Prefix, IfaceId, IpAddr)],
    /// Routes through the EVPN core: (prefix, next-hop group of the VRF's `Overlay`). They
    /// rank below everything configured or synced.
    pub overlay: &'a [(config::Prefix, u32)],
    /// Interfaces whose link has no member left (an Ethernet Segment down here): their
    /// connected subnets and the routes through them are left out, so an overlay route of
    /// the same prefix (the other PEs of the segment) takes over: local repair.
    pub down: &'a [IfaceId],
}

/// Builds one VRF's FIBs: connected subnets, our own addresses (`Local`), static routes.
pub fn routes(cfg: &Config, topo: &Topology, vrf: VrfId) -> Routes {
    routes_with(cfg, topo, vrf, &Learned::default())
}

/// `routes` plus routes learnt at run time. For one prefix, connected and local entries win
/// over static and synced routes, which win over overlay routes.
pub fn routes_with(cfg: &Config, topo: &Topology, vrf: VrfId, learned: &Learned) -> Routes {
    let mut nexthops: Vec<NextHop> = Vec::new();
    let mut nh = |n: NextHop| -> u32 {
        match nexthops.iter().position(|x| *x == n) {
            Some(i) => i as u32,
            None => {
                nexthops.push(n);
                (nexthops.len() - 1) as u32
            }
        }
    };
    // Three ranks, lowest first: a later rank overwrites an earlier one (`Lpm::build`).
    let mut r4: [Vec<(u32, u8, u32)>; 3] = Default::default();
    let mut r6: [Vec<(u128, u8, u32)>; 3] = Default::default();
    let mut push = |p: config::Prefix, rank: usize, id: u32| match p.addr() {
        IpAddr::V4(a) => r4[rank].push((u32::from(a), p.len(), id)),
        IpAddr::V6(a) => r6[rank].push((u128::from(a), p.len(), id)),
    };
    for (p, g) in learned.overlay {
        push(*p, 0, nh(NextHop::Overlay { group: *g }));
    }
    for i in topo.ifaces.iter().filter(|i| i.vrf == vrf) {
        let up = !learned.down.contains(&i.id);
        for (a, l) in i.addrs() {
            if up {
                push(
                    config::Prefix::new(a, l),
                    2,
                    nh(NextHop::Connected { iface: i.id }),
                );
            }
            // Our own addresses stay ours (the kernel answers for them) while the link is down.
            let host = if a.is_ipv4() { 32 } else { 128 };
            push(config::Prefix::new(a, host), 2, nh(NextHop::Local));
        }
    }
    let via = |gw: IpAddr| topo.iface_on_subnet(vrf, gw).map(|i| i.id);
    if let Some(v) = cfg.vrfs.get(usize::from(vrf)) {
        for r in &v.routes {
            let hop = match (r.via, r.blackhole) {
                (_, true) => NextHop::Blackhole,
                (Some(gw), false) => {
                    // Validation guarantees a connected subnet; be safe anyway.
                    let Some(iface) = via(gw) else { continue };
                    if learned.down.contains(&iface) {
                        continue;
                    }
                    NextHop::Via { iface, gw }
                }
                (None, false) => continue,
            };
            push(r.prefix, 1, nh(hop));
        }
    }
    for (p, iface, gw) in learned.synced {
        if !learned.down.contains(iface) {
            push(
                *p,
                1,
                nh(NextHop::Via {
                    iface: *iface,
                    gw: *gw,
                }),
            );
        }
    }
    let r4: Vec<(u32, u8, u32)> = r4.into_iter().flatten().collect();
    let r6: Vec<(u128, u8, u32)> = r6.into_iter().flatten().collect();
    Routes {
        fib4: fib::Table::build(r4),
        fib6: fib::Table::build(r6),
        nexthops,
    }
}
