//! The EVPN core (RFC 9136 interface-less IP-VRF-to-IP-VRF over VXLAN): other PEs' RT-5s
//! become overlay routes of the VRFs they import into. A prefix advertised by several PEs
//! (each with its own RD, e.g. both PEs of an Ethernet Segment) is one ECMP group over all
//! their tunnels; prefixes with the same set of tunnels share the group.

use crate::bgp::packet::ecomm::tunnel;
use crate::bgp::packet::evpn::EvpnRoute;
use crate::bgp::rib::Entry;
use config::{Config, Prefix};
use dataplane::tables::{Overlay, Tunnel, VrfId};
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};

/// One VRF's share of a remote RT-5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Path {
    pub vrf: VrfId,
    pub prefix: Prefix,
    pub tunnel: Tunnel,
}

/// Why a received RT-5 is not an overlay route (counted per reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    NotImported,
    NoRouterMac,
    NotVxlan,
    NoVni,
    OwnVtep,
    NoIpv4NextHop,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct CoreStats {
    pub installed: u64,
    pub removed: u64,
    pub not_imported: u64,
    pub no_router_mac: u64,
    pub not_vxlan: u64,
    pub no_vni: u64,
    pub own_vtep: u64,
    pub no_ipv4_next_hop: u64,
}

impl CoreStats {
    fn count(&mut self, r: Reject) {
        match r {
            Reject::NotImported => self.not_imported += 1,
            Reject::NoRouterMac => self.no_router_mac += 1,
            Reject::NotVxlan => self.not_vxlan += 1,
            Reject::NoVni => self.no_vni += 1,
            Reject::OwnVtep => self.own_vtep += 1,
            Reject::NoIpv4NextHop => self.no_ipv4_next_hop += 1,
        }
    }
}

/// What a received RT-5 path stands for: one `Path` per VRF with an L3 VNI whose import RTs
/// it carries. It needs a VXLAN Encapsulation EC (RFC 8365: absence means MPLS), a Router's
/// MAC (the first one counts, RFC 9135 §8.1), a non-zero VNI and an IPv4 next hop that is
/// not our own VTEP.
pub fn remote_paths(cfg: &Config, e: &Entry, own: Option<Ipv4Addr>) -> Result<Vec<Path>, Reject> {
    let EvpnRoute::IpPrefix {
        prefix, len, label, ..
    } = &e.route
    else {
        return Err(Reject::NotImported);
    };
    let ecs = &e.ext_communities;
    let vrfs: Vec<usize> = cfg
        .vrfs
        .iter()
        .enumerate()
        .filter(|(_, v)| v.vni.is_some())
        .filter(|(_, v)| {
            ecs.iter()
                .filter_map(|c| c.as_rt())
                .any(|rt| v.route_targets.import.contains(&rt))
        })
        .map(|(i, _)| i)
        .collect();
    if vrfs.is_empty() {
        return Err(Reject::NotImported);
    }
    if !ecs
        .iter()
        .any(|c| c.as_encapsulation() == Some(tunnel::VXLAN))
    {
        return Err(Reject::NotVxlan);
    }
    let rmac = ecs
        .iter()
        .find_map(|c| c.as_router_mac())
        .filter(|m| !m.is_multicast() && *m != config::MacAddr::ZERO)
        .ok_or(Reject::NoRouterMac)?;
    if *label == 0 || *label > 0xff_ffff {
        return Err(Reject::NoVni);
    }
    let vtep = match e.next_hop {
        Some(IpAddr::V4(a)) if !a.is_unspecified() => a,
        _ => return Err(Reject::NoIpv4NextHop),
    };
    if Some(vtep) == own {
        return Err(Reject::OwnVtep);
    }
    let prefix = Prefix::new(*prefix, *len);
    let tunnel = Tunnel {
        vtep,
        vni: *label,
        rmac,
    };
    Ok(vrfs
        .into_iter()
        .map(|v| Path {
            vrf: v as VrfId,
            prefix,
            tunnel,
        })
        .collect())
}

/// The overlay routes of every VRF.
#[derive(Default)]
pub struct Core {
    /// Route key -> the paths it installed.
    by_route: HashMap<EvpnRoute, Vec<Path>>,
    /// VRF -> prefix -> tunnel -> how many routes stand for it.
    by_vrf: HashMap<VrfId, BTreeMap<Prefix, BTreeMap<Tunnel, u32>>>,
    pub stats: CoreStats,
}

impl Core {
    /// Sets what route `k` stands for (`Err`: nothing, counted); returns the VRFs whose
    /// overlay routes changed.
    pub fn set(&mut self, k: &EvpnRoute, want: Result<Vec<Path>, Reject>) -> Vec<VrfId> {
        let want = want.unwrap_or_else(|r| {
            self.stats.count(r);
            Vec::new()
        });
        let old = self.by_route.remove(k).unwrap_or_default();
        if old == want {
            if !want.is_empty() {
                self.by_route.insert(k.clone(), want);
            }
            return Vec::new();
        }
        let mut changed = Vec::new();
        for p in &old {
            let prefixes = self.by_vrf.entry(p.vrf).or_default();
            if let Some(t) = prefixes.get_mut(&p.prefix) {
                if let Some(n) = t.get_mut(&p.tunnel) {
                    *n -= 1;
                    if *n == 0 {
                        t.remove(&p.tunnel);
                    }
                }
                if t.is_empty() {
                    prefixes.remove(&p.prefix);
                }
            }
            self.stats.removed += 1;
            changed.push(p.vrf);
        }
        for p in &want {
            *self
                .by_vrf
                .entry(p.vrf)
                .or_default()
                .entry(p.prefix)
                .or_default()
                .entry(p.tunnel)
                .or_default() += 1;
            self.stats.installed += 1;
            changed.push(p.vrf);
        }
        if !want.is_empty() {
            self.by_route.insert(k.clone(), want);
        }
        changed.sort_unstable();
        changed.dedup();
        changed
    }

    /// VRF `v`'s overlay routes (prefix, group) and its groups: one group per distinct set
    /// of tunnels, in a stable order.
    pub fn build(
        &self,
        v: VrfId,
        vni: u32,
        router_mac: config::MacAddr,
    ) -> (Vec<(Prefix, u32)>, Overlay) {
        let mut groups: Vec<Box<[Tunnel]>> = Vec::new();
        let mut index: HashMap<Vec<Tunnel>, u32> = HashMap::new();
        let mut routes = Vec::new();
        for (p, t) in self.by_vrf.get(&v).into_iter().flatten() {
            let set: Vec<Tunnel> = t.keys().copied().collect();
            let g = *index.entry(set.clone()).or_insert_with(|| {
                groups.push(set.into_boxed_slice());
                (groups.len() - 1) as u32
            });
            routes.push((*p, g));
        }
        (
            routes,
            Overlay {
                vni,
                router_mac,
                groups,
            },
        )
    }

    /// `show evpn core`: per VRF, each prefix with its tunnels.
    pub fn view(&self, vrf_names: &[String]) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        let mut vrfs: Vec<_> = self.by_vrf.iter().collect();
        vrfs.sort_by_key(|(v, _)| **v);
        for (v, prefixes) in vrfs {
            let rows: Vec<serde_json::Value> = prefixes
                .iter()
                .map(|(p, t)| {
                    serde_json::json!({
                        "prefix": p.to_string(),
                        "tunnels": t.keys().map(|t| serde_json::json!({
                            "vtep": t.vtep.to_string(),
                            "vni": t.vni,
                            "router-mac": t.rmac.to_string(),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let name = vrf_names.get(usize::from(*v)).cloned().unwrap_or_default();
            out.insert(name, serde_json::Value::Array(rows));
        }
        serde_json::json!({ "vrfs": out, "stats": self.stats })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::packet::ecomm::ExtCommunity;
    use crate::bgp::packet::evpn::Esi;
    use config::MacAddr;

    const CFG: &str = r#"
name: t
ports: [{ name: core, devargs: net_null0, vrf: underlay, addresses: [10.99.0.1/24] }]
vrfs:
  - { name: underlay }
  - { name: red, vni: 5000, route-targets: { import: ["65000:5000"], export: ["65000:5000"] } }
bgp: { asn: 65000, router-id: 10.99.0.1, vrf: underlay }
vxlan: { source: 10.99.0.1 }
"#;

    fn entry(rd: u16, prefix: &str, nh: &str, ecs: Vec<ExtCommunity>, label: u32) -> Entry {
        let p: Prefix = prefix.parse().expect("prefix");
        Entry {
            route: EvpnRoute::IpPrefix {
                rd: crate::evpn::rd_type1(Ipv4Addr::new(10, 99, 0, 9), rd),
                esi: Esi::ZERO,
                tag: 0,
                prefix: p.addr(),
                len: p.len(),
                gw: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                label,
            },
            next_hop: Some(nh.parse().expect("nh")),
            ext_communities: ecs,
            path: Default::default(),
        }
    }

    fn ecs(rmac: u8) -> Vec<ExtCommunity> {
        vec![
            ExtCommunity::route_target(config::RouteTarget("65000:5000".parse().expect("rt"))),
            ExtCommunity::router_mac(MacAddr([2, 0, 0, 0, 0, rmac])),
            ExtCommunity::encapsulation(tunnel::VXLAN),
        ]
    }

    #[test]
    fn a_prefix_from_two_pes_is_one_group_shared_by_prefixes_with_the_same_pes() {
        let cfg = config::parse(CFG).expect("config");
        let own = Some(Ipv4Addr::new(10, 99, 0, 1));
        let mut core = Core::default();
        for (rd, p, nh, m) in [
            (1, "192.0.2.0/24", "10.99.0.2", 2),
            (2, "192.0.2.0/24", "10.99.0.3", 3),
            (1, "198.51.100.0/24", "10.99.0.2", 2),
            (2, "198.51.100.0/24", "10.99.0.3", 3),
            (1, "203.0.113.0/24", "10.99.0.2", 2),
        ] {
            let e = entry(rd, p, nh, ecs(m), 5000);
            assert_eq!(
                core.set(&e.route.key(), remote_paths(&cfg, &e, own)),
                vec![1]
            );
        }
        let (routes, ov) = core.build(1, 5000, MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(routes.len(), 3);
        assert_eq!(ov.groups.len(), 2, "{:?}", ov.groups);
        assert_eq!(routes[0].1, routes[1].1);
        assert_eq!(ov.groups[routes[0].1 as usize].len(), 2);
        assert_eq!(ov.groups[routes[2].1 as usize].len(), 1);
        // PE 10.99.0.3 withdraws one prefix: it leaves that prefix's group only.
        let e = entry(2, "192.0.2.0/24", "10.99.0.3", ecs(3), 5000);
        assert_eq!(core.set(&e.route.key(), Ok(Vec::new())), vec![1]);
        let (routes, ov) = core.build(1, 5000, MacAddr::ZERO);
        assert_eq!(ov.groups[routes[0].1 as usize].len(), 1);
        assert_eq!(ov.groups[routes[1].1 as usize].len(), 2);
    }

    #[test]
    fn rt5s_that_are_not_vxlan_overlay_routes_are_rejected_by_reason() {
        let cfg = config::parse(CFG).expect("config");
        let own = Some(Ipv4Addr::new(10, 99, 0, 1));
        let ok = entry(1, "192.0.2.0/24", "10.99.0.2", ecs(2), 5000);
        assert!(remote_paths(&cfg, &ok, own).is_ok());
        let mut no_rt = ecs(2);
        no_rt.remove(0);
        let cases = [
            (
                entry(1, "192.0.2.0/24", "10.99.0.2", no_rt, 5000),
                Reject::NotImported,
            ),
            (
                entry(1, "192.0.2.0/24", "10.99.0.2", ecs(2)[..2].to_vec(), 5000),
                Reject::NotVxlan,
            ),
            (
                entry(
                    1,
                    "192.0.2.0/24",
                    "10.99.0.2",
                    vec![ecs(2)[0], ecs(2)[2]],
                    5000,
                ),
                Reject::NoRouterMac,
            ),
            (
                entry(1, "192.0.2.0/24", "10.99.0.2", ecs(2), 0),
                Reject::NoVni,
            ),
            (
                entry(1, "192.0.2.0/24", "10.99.0.1", ecs(2), 5000),
                Reject::OwnVtep,
            ),
            (
                entry(1, "192.0.2.0/24", "2001:db8::1", ecs(2), 5000),
                Reject::NoIpv4NextHop,
            ),
        ];
        for (e, want) in cases {
            assert_eq!(remote_paths(&cfg, &e, own), Err(want));
        }
        // A multicast Router's MAC is no Router's MAC (RFC 9136 §3.2).
        let mut bad = ecs(2);
        bad[1] = ExtCommunity::router_mac(MacAddr([1, 0, 0x5e, 0, 0, 1]));
        let e = entry(1, "192.0.2.0/24", "10.99.0.2", bad, 5000);
        assert_eq!(remote_paths(&cfg, &e, own), Err(Reject::NoRouterMac));
    }
}
