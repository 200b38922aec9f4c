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

/// Builds one VRF's FIBs: connected subnets, our own addresses (`Local`), static routes.
pub fn routes(cfg: &Config, topo: &Topology, vrf: VrfId) -> Routes {
    routes_with(cfg, topo, vrf, &[])
}

/// `routes` plus routes learnt at run time (e.g. CE routes synced from another PE of an
/// Ethernet Segment), each (prefix, interface, gateway); they rank like static routes.
pub fn routes_with(
    cfg: &Config,
    topo: &Topology,
    vrf: VrfId,
    extra: &[(config::Prefix, crate::tables::IfaceId, IpAddr)],
) -> Routes {
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
    let mut r4 = Vec::new();
    let mut r6 = Vec::new();
    let ifaces: Vec<&Iface> = topo.ifaces.iter().filter(|i| i.vrf == vrf).collect();
    for i in &ifaces {
        for (a, l) in &i.v4 {
            let p = config::Prefix::new((*a).into(), *l);
            if let IpAddr::V4(n) = p.addr() {
                r4.push((u32::from(n), *l, nh(NextHop::Connected { iface: i.id })));
            }
            r4.push((u32::from(*a), 32, nh(NextHop::Local)));
        }
        for (a, l) in &i.v6 {
            let p = config::Prefix::new((*a).into(), *l);
            if let IpAddr::V6(n) = p.addr() {
                r6.push((u128::from(n), *l, nh(NextHop::Connected { iface: i.id })));
            }
            r6.push((u128::from(*a), 128, nh(NextHop::Local)));
        }
    }
    if let Some(v) = cfg.vrfs.get(usize::from(vrf)) {
        for r in &v.routes {
            let hop = match (r.via, r.blackhole) {
                (_, true) => NextHop::Blackhole,
                (Some(gw), false) => {
                    let Some(i) = ifaces.iter().find(|i| i.subnet_addr(gw).is_some()) else {
                        continue; // validation guarantees a connected subnet; be safe anyway
                    };
                    NextHop::Via { iface: i.id, gw }
                }
                (None, false) => continue,
            };
            let id = nh(hop);
            match r.prefix.addr() {
                IpAddr::V4(a) => r4.push((u32::from(a), r.prefix.len(), id)),
                IpAddr::V6(a) => r6.push((u128::from(a), r.prefix.len(), id)),
            }
        }
    }
    for (p, iface, gw) in extra {
        let id = nh(NextHop::Via {
            iface: *iface,
            gw: *gw,
        });
        match p.addr() {
            IpAddr::V4(a) => r4.push((u32::from(a), p.len(), id)),
            IpAddr::V6(a) => r6.push((u128::from(a), p.len(), id)),
        }
    }
    // Connected and local entries win over static routes of the same prefix: put them last.
    let statics4 = r4.split_off(0);
    let (mut conn4, st4): (Vec<_>, Vec<_>) = statics4.into_iter().partition(|r| {
        !matches!(
            nexthops[r.2 as usize],
            NextHop::Via { .. } | NextHop::Blackhole
        )
    });
    let mut all4 = st4;
    all4.append(&mut conn4);
    let (mut conn6, st6): (Vec<_>, Vec<_>) = r6.into_iter().partition(|r| {
        !matches!(
            nexthops[r.2 as usize],
            NextHop::Via { .. } | NextHop::Blackhole
        )
    });
    let mut all6 = st6;
    all6.append(&mut conn6);
    Routes {
        fib4: fib::Lpm::build(all4),
        fib6: fib::Lpm::build(all6),
        nexthops,
    }
}
