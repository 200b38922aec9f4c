//! The EVPN core (RFC 9136 interface-less IP-VRF-to-IP-VRF over VXLAN): other PEs' RT-5s
//! become overlay routes of the VRFs they import into. A prefix advertised by several PEs
//! (each with its own RD, e.g. both PEs of an Ethernet Segment) is one ECMP group over all
//! their tunnels; prefixes with the same set of tunnels share the group.
//!
//! IP aliasing (draft-ietf-bess-evpn-ip-aliasing, evpn-procedures.md §4.1-4.2): an RT-5 whose
//! overlay index is an ESI resolves to every PE that advertises both an IP A-D per-EVI route
//! for that ESI in the VRF (its VNI and router MAC) and an A-D per-ES route for it. All such
//! prefixes share the segment's group, so the withdrawal of one PE's per-ES route (mass
//! withdraw) rewrites that one group, not the routes.

use crate::bgp::packet::ecomm::tunnel;
use crate::bgp::packet::evpn::EvpnRoute;
use crate::bgp::rib::Entry;
use config::{Config, Esi, Prefix};
use dataplane::tables::{Overlay, Tunnel, VrfId};
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};

/// How one remote RT-5 reaches its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Via {
    /// Through the advertising PE's tunnel (ESI 0: RFC 9136 §4.4.1).
    Tunnel(Tunnel),
    /// Through every PE of Ethernet Segment `esi` (ESI overlay index); `from` is the VTEP
    /// that advertised the RT-5 (the only one used when the segment is single-active).
    Es { esi: Esi, from: Ipv4Addr },
}

/// One VRF's share of a remote RT-5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Path {
    pub vrf: VrfId,
    pub prefix: Prefix,
    pub via: Via,
}

/// A remote A-D route (RT-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ad {
    /// IP A-D per EVI: the PE's tunnel for the ESI in these VRFs.
    Evi {
        vrfs: Vec<VrfId>,
        esi: Esi,
        tunnel: Tunnel,
    },
    /// A-D per ES: the PE is attached to the segment (its withdrawal is the mass withdraw).
    Es {
        esi: Esi,
        vtep: Ipv4Addr,
        single_active: bool,
    },
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
    pub ad_per_evi: u64,
    pub ad_per_es: u64,
    /// Per-ES A-D withdrawals (or losses with a session) that removed a PE from a segment.
    pub mass_withdraws: u64,
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

/// The VRFs with an L3 VNI whose import RTs a route carries.
fn importing_vrfs(cfg: &Config, e: &Entry) -> Vec<VrfId> {
    cfg.vrfs
        .iter()
        .enumerate()
        .filter(|(_, v)| v.vni.is_some())
        .filter(|(_, v)| {
            e.ext_communities
                .iter()
                .filter_map(|c| c.as_rt())
                .any(|rt| v.route_targets.import.contains(&rt))
        })
        .map(|(i, _)| i as VrfId)
        .collect()
}

fn vtep_of(e: &Entry, own: Option<Ipv4Addr>) -> Result<Ipv4Addr, Reject> {
    match e.next_hop {
        Some(IpAddr::V4(a)) if Some(a) == own => Err(Reject::OwnVtep),
        Some(IpAddr::V4(a)) if !a.is_unspecified() => Ok(a),
        _ => Err(Reject::NoIpv4NextHop),
    }
}

/// The tunnel a route stands for: it needs a VXLAN Encapsulation EC (RFC 8365: absence
/// means MPLS), a unicast Router's MAC (the first one counts, RFC 9135 §8.1) and a VNI.
fn tunnel_of(e: &Entry, vtep: Ipv4Addr, label: u32) -> Result<Tunnel, Reject> {
    let ecs = &e.ext_communities;
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
    if label == 0 || label > 0xff_ffff {
        return Err(Reject::NoVni);
    }
    Ok(Tunnel {
        vtep,
        vni: label,
        rmac,
    })
}

/// What a received RT-5 (or RT-2 with an IP and an L3 label: a symmetric-IRB host route,
/// RFC 9135) stands for: one `Path` per VRF with an L3 VNI whose import RTs it carries,
/// through the advertising PE's tunnel or (ESI overlay index / ESI of the host) the segment.
pub fn remote_paths(cfg: &Config, e: &Entry, own: Option<Ipv4Addr>) -> Result<Vec<Path>, Reject> {
    let (prefix, label, esi) = match &e.route {
        EvpnRoute::IpPrefix {
            prefix,
            len,
            label,
            esi,
            ..
        } => (Prefix::new(*prefix, *len), *label, *esi),
        EvpnRoute::MacIp {
            ip: Some(ip),
            label2: Some(l2),
            esi,
            ..
        } => {
            let host = if ip.is_ipv4() { 32 } else { 128 };
            (Prefix::new(*ip, host), *l2, *esi)
        }
        _ => return Err(Reject::NotImported),
    };
    let vrfs = importing_vrfs(cfg, e);
    if vrfs.is_empty() {
        return Err(Reject::NotImported);
    }
    let vtep = vtep_of(e, own)?;
    let via = if esi.is_zero() {
        Via::Tunnel(tunnel_of(e, vtep, label)?)
    } else {
        Via::Es { esi, from: vtep }
    };
    Ok(vrfs
        .into_iter()
        .map(|vrf| Path { vrf, prefix, via })
        .collect())
}

/// What a received RT-1 stands for, if it is an A-D route of the EVPN core.
pub fn remote_ad(cfg: &Config, e: &Entry, own: Option<Ipv4Addr>) -> Option<Ad> {
    let EvpnRoute::EthernetAd {
        esi, tag, label, ..
    } = &e.route
    else {
        return None;
    };
    let vtep = vtep_of(e, own).ok()?;
    if *tag == 0xffff_ffff {
        let single_active = e
            .ext_communities
            .iter()
            .filter_map(|c| c.as_esi_label())
            .any(|(single, _)| single);
        return Some(Ad::Es {
            esi: *esi,
            vtep,
            single_active,
        });
    }
    let vrfs = importing_vrfs(cfg, e);
    if vrfs.is_empty() {
        return None;
    }
    Some(Ad::Evi {
        vrfs,
        esi: *esi,
        tunnel: tunnel_of(e, vtep, *label).ok()?,
    })
}

/// A group's identity: a segment's group keeps its index while its PEs change.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum GroupKey {
    Es(Esi),
    Set(Vec<Tunnel>),
}

/// The overlay routes of every VRF.
#[derive(Default)]
pub struct Core {
    /// RT-5 route key -> the paths it installed.
    by_route: HashMap<EvpnRoute, Vec<Path>>,
    /// VRF -> prefix -> via -> how many routes stand for it.
    by_vrf: HashMap<VrfId, BTreeMap<Prefix, BTreeMap<Via, u32>>>,
    /// RT-1 route key -> what it stands for.
    ads: HashMap<EvpnRoute, Ad>,
    /// (VRF, ESI) -> the tunnels of IP A-D per-EVI routes.
    evi: HashMap<(VrfId, Esi), BTreeMap<Tunnel, u32>>,
    /// ESI -> VTEPs with an A-D per-ES route -> single-active flag.
    es: HashMap<Esi, BTreeMap<Ipv4Addr, bool>>,
    pub stats: CoreStats,
}

fn add<K: Ord>(m: &mut BTreeMap<K, u32>, k: K) {
    *m.entry(k).or_default() += 1;
}

fn sub<K: Ord>(m: &mut BTreeMap<K, u32>, k: &K) {
    if let Some(n) = m.get_mut(k) {
        *n -= 1;
        if *n == 0 {
            m.remove(k);
        }
    }
}

impl Core {
    /// Sets what RT-5 `k` stands for (`Err`: nothing, counted); returns the VRFs whose
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
            if let Some(v) = prefixes.get_mut(&p.prefix) {
                sub(v, &p.via);
                if v.is_empty() {
                    prefixes.remove(&p.prefix);
                }
            }
            self.stats.removed += 1;
            changed.push(p.vrf);
        }
        for p in &want {
            let v = self.by_vrf.entry(p.vrf).or_default();
            add(v.entry(p.prefix).or_default(), p.via);
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

    /// What RT-1 `k` stands for now.
    pub fn ad(&self, k: &EvpnRoute) -> Option<&Ad> {
        self.ads.get(k)
    }

    /// Sets what RT-1 `k` stands for; returns the VRFs whose groups may have changed.
    pub fn set_ad(&mut self, k: &EvpnRoute, want: Option<Ad>) -> Vec<VrfId> {
        let old = self.ads.remove(k);
        if old == want {
            if let Some(w) = want {
                self.ads.insert(k.clone(), w);
            }
            return Vec::new();
        }
        let mut changed = Vec::new();
        let mut es_changed = false;
        for (ad, on) in [(&old, false), (&want, true)] {
            match ad {
                Some(Ad::Evi { vrfs, esi, tunnel }) => {
                    for v in vrfs {
                        let m = self.evi.entry((*v, *esi)).or_default();
                        if on {
                            add(m, *tunnel);
                            self.stats.ad_per_evi += 1;
                        } else {
                            sub(m, tunnel);
                        }
                        changed.push(*v);
                    }
                }
                Some(Ad::Es {
                    esi,
                    vtep,
                    single_active,
                }) => {
                    let m = self.es.entry(*esi).or_default();
                    if on {
                        m.insert(*vtep, *single_active);
                        self.stats.ad_per_es += 1;
                    } else {
                        m.remove(vtep);
                    }
                    es_changed = true;
                }
                None => {}
            }
        }
        if matches!((&old, &want), (Some(Ad::Es { .. }), None)) {
            self.stats.mass_withdraws += 1;
        }
        if let Some(w) = want {
            self.ads.insert(k.clone(), w);
        }
        if es_changed {
            changed.extend(self.by_vrf.keys().copied());
        }
        changed.sort_unstable();
        changed.dedup();
        changed
    }

    /// The tunnels an ESI-based path resolves to in VRF `v`: the PEs with both an IP A-D
    /// per-EVI route (its tunnel) and an A-D per-ES route; on a single-active segment only
    /// the PE that advertised the prefix.
    fn resolve(&self, v: VrfId, esi: &Esi, from: Ipv4Addr) -> (bool, Vec<Tunnel>) {
        let pes = self.es.get(esi);
        let single = pes.is_some_and(|m| m.values().any(|s| *s));
        let t = self
            .evi
            .get(&(v, *esi))
            .into_iter()
            .flat_map(|m| m.keys())
            .filter(|t| pes.is_some_and(|m| m.contains_key(&t.vtep)))
            .filter(|t| !single || t.vtep == from)
            .copied()
            .collect();
        (single, t)
    }

    /// VRF `v`'s overlay routes (prefix, group) and its groups. A prefix reached only through
    /// one all-active segment uses that segment's group; others get a group per distinct set
    /// of tunnels. Prefixes that resolve to no tunnel are left out.
    pub fn build(&self, v: VrfId, router_mac: config::MacAddr) -> (Vec<(Prefix, u32)>, Overlay) {
        let mut groups: Vec<Box<[Tunnel]>> = Vec::new();
        let mut index: HashMap<GroupKey, u32> = HashMap::new();
        let mut routes = Vec::new();
        for (p, vias) in self.by_vrf.get(&v).into_iter().flatten() {
            let mut set: Vec<Tunnel> = Vec::new();
            let mut only_es: Option<Esi> = None;
            let mut mixed = false;
            for via in vias.keys() {
                match via {
                    Via::Tunnel(t) => {
                        set.push(*t);
                        mixed = true;
                    }
                    Via::Es { esi, from } => {
                        let (single, t) = self.resolve(v, esi, *from);
                        set.extend(t);
                        mixed |= single || only_es.is_some_and(|e| e != *esi);
                        only_es = Some(*esi);
                    }
                }
            }
            set.sort_unstable();
            set.dedup();
            if set.is_empty() {
                continue;
            }
            let key = match (only_es, mixed) {
                (Some(esi), false) => GroupKey::Es(esi),
                _ => GroupKey::Set(set.clone()),
            };
            let g = *index.entry(key).or_insert_with(|| {
                groups.push(set.into_boxed_slice());
                (groups.len() - 1) as u32
            });
            routes.push((*p, g));
        }
        (routes, Overlay { router_mac, groups })
    }

    /// `show evpn core`: per VRF, each prefix with its tunnels; the segments known from A-D
    /// routes.
    pub fn view(&self, vrf_names: &[String]) -> serde_json::Value {
        let tunnel = |t: &Tunnel| {
            serde_json::json!({
                "vtep": t.vtep.to_string(),
                "vni": t.vni,
                "router-mac": t.rmac.to_string(),
            })
        };
        let mut out = serde_json::Map::new();
        let mut vrfs: Vec<_> = self.by_vrf.iter().collect();
        vrfs.sort_by_key(|(v, _)| **v);
        for (v, prefixes) in vrfs {
            let rows: Vec<serde_json::Value> = prefixes
                .iter()
                .map(|(p, vias)| {
                    let mut ts = Vec::new();
                    let mut esis = Vec::new();
                    for via in vias.keys() {
                        match via {
                            Via::Tunnel(t) => ts.push(*t),
                            Via::Es { esi, from } => {
                                esis.push(esi.to_string());
                                ts.extend(self.resolve(*v, esi, *from).1);
                            }
                        }
                    }
                    ts.sort_unstable();
                    ts.dedup();
                    esis.dedup();
                    serde_json::json!({
                        "prefix": p.to_string(),
                        "esi": esis,
                        "tunnels": ts.iter().map(tunnel).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let name = vrf_names.get(usize::from(*v)).cloned().unwrap_or_default();
            out.insert(name, serde_json::Value::Array(rows));
        }
        let mut segs: Vec<_> = self.es.iter().collect();
        segs.sort_by_key(|(e, _)| **e);
        let segments: Vec<serde_json::Value> = segs
            .into_iter()
            .map(|(esi, pes)| {
                serde_json::json!({
                    "esi": esi.to_string(),
                    "pes": pes.keys().map(|a| a.to_string()).collect::<Vec<_>>(),
                    "single-active": pes.values().any(|s| *s),
                })
            })
            .collect();
        serde_json::json!({ "vrfs": out, "segments": segments, "stats": self.stats })
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
        let (routes, ov) = core.build(1, MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(routes.len(), 3);
        assert_eq!(ov.groups.len(), 2, "{:?}", ov.groups);
        assert_eq!(routes[0].1, routes[1].1);
        assert_eq!(ov.groups[routes[0].1 as usize].len(), 2);
        assert_eq!(ov.groups[routes[2].1 as usize].len(), 1);
        // PE 10.99.0.3 withdraws one prefix: it leaves that prefix's group only.
        let e = entry(2, "192.0.2.0/24", "10.99.0.3", ecs(3), 5000);
        assert_eq!(core.set(&e.route.key(), Ok(Vec::new())), vec![1]);
        let (routes, ov) = core.build(1, MacAddr::ZERO);
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

    fn ad(rd: u16, esi: Esi, tag: u32, nh: &str, ecs: Vec<ExtCommunity>, label: u32) -> Entry {
        Entry {
            route: EvpnRoute::EthernetAd {
                rd: crate::evpn::rd_type1(nh.parse().expect("ip"), rd),
                esi,
                tag,
                label,
            },
            next_hop: Some(nh.parse().expect("nh")),
            ext_communities: ecs,
            path: Default::default(),
        }
    }

    fn esi_rt5(prefix: &str, esi: Esi, nh: &str) -> Entry {
        let mut e = entry(1, prefix, nh, ecs(1), 5000);
        if let EvpnRoute::IpPrefix { esi: x, .. } = &mut e.route {
            *x = esi;
        }
        e
    }

    #[test]
    fn esi_prefixes_balance_over_the_segment_and_mass_withdraw_rewrites_one_group() {
        let cfg = config::parse(CFG).expect("config");
        let own = Some(Ipv4Addr::new(10, 99, 0, 1));
        let esi = Esi([0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0, 0, 6]);
        let mut core = Core::default();
        let per_es = |nh: &str, sa: bool| {
            ad(
                1,
                esi,
                0xffff_ffff,
                nh,
                vec![ExtCommunity::esi_label(sa, 0)],
                0,
            )
        };
        let per_evi = |nh: &str, m: u8| ad(101, esi, 0, nh, ecs(m), 5000);
        // Only PE2 advertised the prefixes; PE3's per-EVI route arrives before its per-ES one.
        for p in ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"] {
            let e = esi_rt5(p, esi, "10.99.0.2");
            core.set(&e.route.key(), remote_paths(&cfg, &e, own));
        }
        for e in [
            per_es("10.99.0.2", false),
            per_evi("10.99.0.2", 2),
            per_evi("10.99.0.3", 3),
        ] {
            core.set_ad(&e.route.key(), remote_ad(&cfg, &e, own));
        }
        let (routes, ov) = core.build(1, MacAddr::ZERO);
        assert_eq!(routes.len(), 3);
        assert_eq!(ov.groups.len(), 1);
        assert_eq!(
            ov.groups[0].len(),
            1,
            "PE3 has no per-ES route yet: not used"
        );
        let e = per_es("10.99.0.3", false);
        assert_eq!(
            core.set_ad(&e.route.key(), remote_ad(&cfg, &e, own)),
            vec![1]
        );
        let (routes2, ov) = core.build(1, MacAddr::ZERO);
        assert_eq!(routes2, routes, "the routes stay; the group grows");
        let vteps: Vec<_> = ov.groups[0].iter().map(|t| t.vtep.to_string()).collect();
        assert_eq!(vteps, ["10.99.0.2", "10.99.0.3"]);
        // Mass withdraw: PE2's per-ES route goes; its RT-5s are still there.
        let e = per_es("10.99.0.2", false);
        core.set_ad(&e.route.key(), None);
        let (routes3, ov) = core.build(1, MacAddr::ZERO);
        assert_eq!(routes3, routes, "the FIB entries are unchanged");
        assert_eq!(ov.groups[0].len(), 1);
        assert_eq!(ov.groups[0][0].vtep, Ipv4Addr::new(10, 99, 0, 3));
        assert_eq!(core.stats.mass_withdraws, 1);
        // Single-active: only the PE that advertised the prefix (PE2, whose per-ES is back).
        let e = per_es("10.99.0.2", true);
        core.set_ad(&e.route.key(), remote_ad(&cfg, &e, own));
        let (_, ov) = core.build(1, MacAddr::ZERO);
        let vteps: Vec<_> = ov
            .groups
            .iter()
            .flat_map(|g| g.iter().map(|t| t.vtep))
            .collect();
        assert_eq!(vteps, [Ipv4Addr::new(10, 99, 0, 2)]);
    }

    #[test]
    fn a_symmetric_irb_rt2_is_a_host_route_and_a_mac_only_one_is_not() {
        let cfg = config::parse(CFG).expect("config");
        let own = Some(Ipv4Addr::new(10, 99, 0, 1));
        let mut e = entry(1, "192.0.2.0/24", "10.99.0.2", ecs(2), 0);
        e.route = EvpnRoute::MacIp {
            rd: crate::evpn::rd_type1(Ipv4Addr::new(10, 99, 0, 2), 1),
            esi: Esi::ZERO,
            tag: 0,
            mac: [2, 0, 0, 0, 0, 0x11],
            ip: Some("192.0.2.11".parse().expect("ip")),
            label1: 100,
            label2: Some(5000),
        };
        let p = remote_paths(&cfg, &e, own).expect("host route");
        assert_eq!(p[0].prefix, "192.0.2.11/32".parse().expect("prefix"));
        assert!(matches!(p[0].via, Via::Tunnel(t) if t.vni == 5000));
        if let EvpnRoute::MacIp { label2, .. } = &mut e.route {
            *label2 = None;
        }
        assert_eq!(remote_paths(&cfg, &e, own), Err(Reject::NotImported));
    }
}
