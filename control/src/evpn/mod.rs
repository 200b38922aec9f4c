//! EVPN origination from configuration: per Ethernet Segment, the Ethernet Segment route
//! (RT-4, for discovery and DF election) and the Ethernet A-D per ES route (RT-1, for
//! aliasing and mass withdraw). ES/DF procedures: shared/spec/evpn-procedures.md.

pub mod df;

use crate::bgp::packet::ecomm::{df_alg, tunnel, ExtCommunity};
use crate::bgp::packet::evpn::{Esi, EvpnRoute, Rd};
use config::{Config, DfAlgorithm, MacAddr, Redundancy, RouteTarget};
use std::net::{IpAddr, Ipv4Addr};

/// The DF election this PE asks for on a segment (its DF Election EC): port-active adds the
/// Port Mode capability (RFC 9786), `dont-preempt` the DP bit (RFC 9785).
pub fn wish(b: &config::Bundle, es: &config::EthernetSegment) -> df::Wish {
    let (alg, preference) = match es.df_algorithm {
        DfAlgorithm::Modulo => (df_alg::MODULO, 0),
        DfAlgorithm::Hrw => (df_alg::HRW, 0),
        DfAlgorithm::Preference => (df_alg::PREFERENCE, es.df_preference),
    };
    let mut bitmap = 0;
    if b.redundancy == Redundancy::PortActive {
        bitmap |= df::cap::PORT_MODE;
    }
    if es.dont_preempt && alg == df_alg::PREFERENCE {
        bitmap |= df::cap::DP;
    }
    df::Wish {
        alg,
        bitmap,
        preference,
    }
}

/// The VLANs a segment elects a DF for: each sub-interface's VLAN (its Ethernet Tag) and 0
/// for a routed main interface; only 0 in port-active mode.
pub fn es_vlans(cfg: &Config, b: &config::Bundle) -> Vec<u32> {
    if b.redundancy == Redundancy::PortActive {
        return vec![0];
    }
    let mut v: Vec<u32> = cfg
        .interfaces
        .iter()
        .filter(|s| s.parent == b.name)
        .map(|s| u32::from(s.vlan.get()))
        .collect();
    if b.vrf.is_some() || v.is_empty() {
        v.push(0);
    }
    v.sort_unstable();
    v
}

/// A locally originated route and its extended communities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    pub route: EvpnRoute,
    pub communities: Vec<ExtCommunity>,
}

/// Type 1 RD: router id + a local number (RFC 7432 §7.9).
pub fn rd_type1(router_id: Ipv4Addr, n: u16) -> Rd {
    config::RouteDistinguisher::Ip {
        ip: router_id,
        num: n,
    }
    .into()
}

/// The ES-Import RT of an ESI: its 6 MAC octets (bytes 1-6) for types 1-3 (RFC 7432 §7.6);
/// the same octets for the other types, which the RFC leaves to configuration.
pub fn es_import(esi: &Esi) -> ExtCommunity {
    let b = esi.0;
    ExtCommunity::es_import(MacAddr([b[1], b[2], b[3], b[4], b[5], b[6]]))
}

/// The routes of every Ethernet Segment that is up, with the ESI `esi_of(bundle)` gives (None:
/// down, or an `auto` ESI not known yet): a segment that goes down takes its RT-4 and RT-1 with
/// it (mass withdraw, RFC 7432 §8.2; peers re-elect, §8.5).
pub fn local_routes(cfg: &Config, esi_of: impl Fn(&config::Bundle) -> Option<Esi>) -> Vec<Local> {
    let Some(bgp) = &cfg.bgp else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for b in &cfg.bundles {
        let Some(es) = &b.es else { continue };
        let Some(esi) = esi_of(b) else {
            continue;
        };
        let w = wish(b, es);
        out.push(Local {
            route: EvpnRoute::EthernetSegment {
                rd: rd_type1(bgp.router_id, 0),
                esi,
                originator: IpAddr::V4(bgp.router_id),
            },
            communities: vec![
                es_import(&esi),
                ExtCommunity::df_election(w.alg, w.bitmap, w.preference),
                ExtCommunity::encapsulation(tunnel::VXLAN),
            ],
        });
        // RT-1 per ES carries the RTs of every VRF attached to the segment (RFC 7432 §8.2.1.1).
        let vrfs = segment_vrfs(cfg, b);
        let mut rts: Vec<RouteTarget> = Vec::new();
        for rt in vrfs
            .iter()
            .flat_map(|&vi| &cfg.vrfs[vi].route_targets.export)
        {
            if !rts.contains(rt) {
                rts.push(*rt);
            }
        }
        let mut communities: Vec<ExtCommunity> =
            rts.into_iter().map(ExtCommunity::route_target).collect();
        // Single-Active flag for single-active and port-active (RFC 9786 §3: remote PEs treat
        // a port-active ES like a single-active one).
        communities.push(ExtCommunity::esi_label(
            b.redundancy != Redundancy::AllActive,
            0,
        ));
        communities.push(ExtCommunity::encapsulation(tunnel::VXLAN));
        out.push(Local {
            route: EvpnRoute::EthernetAd {
                rd: rd_type1(bgp.router_id, 1),
                esi,
                tag: 0xffff_ffff,
                label: 0,
            },
            communities,
        });
        // IP A-D per EVI, one per VRF on the segment (RFC 9136 ip-aliasing; evpn-procedures.md
        // §6): VRF RD, tag 0, the VRF's RTs, label = the VRF's L3 VNI with its Router's MAC.
        // Remote PEs resolve ESI-based RT-5s and balance over every PE that sends it.
        for vi in vrfs {
            let mut communities = export_rts(cfg, vi);
            communities.push(ExtCommunity::encapsulation(tunnel::VXLAN));
            if cfg.vrfs[vi].vni.is_some() {
                communities.push(ExtCommunity::router_mac(router_mac(cfg, bgp.router_id, vi)));
            }
            out.push(Local {
                route: EvpnRoute::EthernetAd {
                    rd: vrf_rd(cfg, bgp.router_id, vi),
                    esi,
                    tag: 0,
                    label: cfg.vrfs[vi].vni.unwrap_or(0),
                },
                communities,
            });
        }
    }
    out
}

/// The VRFs (indexes in `cfg.vrfs`) of a bundle's main interface and sub-interfaces, once each.
fn segment_vrfs(cfg: &Config, b: &config::Bundle) -> Vec<usize> {
    let mut v: Vec<usize> = b
        .vrf
        .iter()
        .chain(
            cfg.interfaces
                .iter()
                .filter(|s| s.parent == b.name)
                .map(|s| &s.vrf),
        )
        .filter_map(|v| cfg.vrfs.iter().position(|x| x.name == *v))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The Router's MAC of a VRF (RFC 9135 §8.1): the configured one, else the locally
/// administered `02:<router id>:<VRF index>`, unique per PE and VRF.
pub fn router_mac(cfg: &Config, router_id: Ipv4Addr, vrf: usize) -> MacAddr {
    cfg.vrfs
        .get(vrf)
        .and_then(|v| v.router_mac)
        .unwrap_or_else(|| {
            let r = router_id.octets();
            MacAddr([0x02, r[0], r[1], r[2], r[3], vrf as u8])
        })
}

/// The route toward the EVPN core for a prefix of a VRF with an L3 VNI (RFC 9136 §4.4.1,
/// interface-less IP-VRF-to-IP-VRF): VRF RD, ESI 0 (or the segment's with IP aliasing), tag 0,
/// GW IP 0, label = the VNI, the VRF's export RTs, Router's MAC and the VXLAN encapsulation.
pub fn core_rt5(
    cfg: &Config,
    router_id: Ipv4Addr,
    vrf: usize,
    prefix: config::Prefix,
    esi: Esi,
) -> Local {
    let (vni, communities) = with_core_ecs(cfg, router_id, vrf, export_rts(cfg, vrf));
    Local {
        route: EvpnRoute::IpPrefix {
            rd: vrf_rd(cfg, router_id, vrf),
            esi,
            tag: 0,
            prefix: prefix.addr(),
            len: prefix.len(),
            gw: unspecified_like(prefix.addr()),
            label: vni,
        },
        communities,
    }
}

/// The VRF's export RTs as Route Target communities.
fn export_rts(cfg: &Config, vrf: usize) -> Vec<ExtCommunity> {
    cfg.vrfs
        .get(vrf)
        .map(|v| {
            v.route_targets
                .export
                .iter()
                .map(|rt| ExtCommunity::route_target(*rt))
                .collect()
        })
        .unwrap_or_default()
}

/// 0.0.0.0 or ::, the family of `a` (an RT-5's absent GW IP).
fn unspecified_like(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    }
}

/// The RD of a VRF's EVPN routes: the configured one, else `router-id:(100 + VRF index)`
/// (L3MH §2.2: auto-generated and unique per PE).
pub fn vrf_rd(cfg: &Config, router_id: Ipv4Addr, vrf: usize) -> Rd {
    match cfg.vrfs.get(vrf).and_then(|v| v.rd) {
        Some(rd) => rd.into(),
        None => rd_type1(router_id, 100 + vrf as u16),
    }
}

/// The route targets a VRF's sync routes carry (L3MH §2.1, §2.5.1): its export RTs, or the
/// segment's ES-Import RT and exactly one EVI-RT standing for its first export RT.
pub fn sync_communities(cfg: &Config, vrf: usize, esi: &Esi) -> Vec<ExtCommunity> {
    let Some(v) = cfg.vrfs.get(vrf) else {
        return Vec::new();
    };
    match v.sync_rt {
        config::SyncRt::Vrf => export_rts(cfg, vrf),
        config::SyncRt::EsImport => {
            let mut c = vec![es_import(esi)];
            c.extend(
                v.route_targets
                    .export
                    .first()
                    .map(|rt| ExtCommunity::evi_rt(*rt)),
            );
            c
        }
    }
}

/// Whether a sync route's communities import it into VRF `vrf` (L3MH §2.5.2): one of its
/// RTs is an import RT of the VRF, or it carries the segment's ES-Import RT and an EVI-RT
/// standing for an import RT of the VRF.
pub fn sync_imports(cfg: &Config, vrf: usize, esi: &Esi, ecs: &[ExtCommunity]) -> bool {
    let Some(v) = cfg.vrfs.get(vrf) else {
        return false;
    };
    let imports = &v.route_targets.import;
    if ecs
        .iter()
        .filter_map(ExtCommunity::as_rt)
        .any(|rt| imports.contains(&rt))
    {
        return true;
    }
    let mine = es_import(esi);
    ecs.contains(&mine)
        && ecs
            .iter()
            .filter_map(ExtCommunity::as_evi_rt)
            .any(|rt| imports.contains(&rt))
}

/// The ARP/ND sync route (RT-2) of a neighbour learnt on an ES interface: VRF RD, the ESI,
/// Ethernet Tag = the sub-interface's VLAN (0 on the main interface), MAC and IP, no label
/// (L3MH §2.5.1; no MAC-only RT-2 is ever sent).
#[allow(clippy::too_many_arguments)]
pub fn sync_rt2(
    cfg: &Config,
    router_id: Ipv4Addr,
    vrf: usize,
    esi: Esi,
    tag: u32,
    mac: MacAddr,
    ip: IpAddr,
) -> Local {
    let (vni, communities) = with_core_ecs(cfg, router_id, vrf, sync_communities(cfg, vrf, &esi));
    Local {
        route: EvpnRoute::MacIp {
            rd: vrf_rd(cfg, router_id, vrf),
            esi,
            tag,
            mac: mac.0,
            ip: Some(ip),
            label1: 0,
            label2: (vni != 0).then_some(vni),
        },
        communities,
    }
}

/// With an L3 VNI, a sync route is also seen by the remote PEs of the VRF (VRF RTs): it gets
/// the VNI and the Router's MAC + VXLAN ECs so a symmetric-IRB receiver (FRR) installs a
/// well-formed host route instead of a next hop with no MAC (evpn-procedures.md §7 point 3).
fn with_core_ecs(
    cfg: &Config,
    router_id: Ipv4Addr,
    vrf: usize,
    mut c: Vec<ExtCommunity>,
) -> (u32, Vec<ExtCommunity>) {
    let vni = cfg.vrfs.get(vrf).and_then(|v| v.vni).unwrap_or(0);
    if vni != 0 {
        c.push(ExtCommunity::router_mac(router_mac(cfg, router_id, vrf)));
        c.push(ExtCommunity::encapsulation(tunnel::VXLAN));
    }
    (vni, c)
}

/// The CE-route sync route (RT-5, L3MH §2.7) of a static route whose next hop `gw` is a CE on
/// an ES interface: VRF RD, Ethernet Tag = VLAN, and either the GW IP (gateway-based, ESI 0)
/// or the ESI (ESI-based, GW IP 0) as overlay index; label 0, or the L3 VNI when the VRF has
/// one (then the route is also this PE's route toward the core).
#[allow(clippy::too_many_arguments)]
pub fn sync_rt5(
    cfg: &Config,
    router_id: Ipv4Addr,
    vrf: usize,
    esi: Esi,
    tag: u32,
    prefix: config::Prefix,
    gw: IpAddr,
) -> Local {
    let esi_based = cfg
        .vrfs
        .get(vrf)
        .is_some_and(|v| v.ce_route_sync == config::CeRouteSync::Esi);
    let zero = unspecified_like(prefix.addr());
    // With an L3 VNI the sync route is also this PE's route toward the core: L3MH §2.7.2-b.
    let (vni, communities) = with_core_ecs(cfg, router_id, vrf, sync_communities(cfg, vrf, &esi));
    Local {
        route: EvpnRoute::IpPrefix {
            rd: vrf_rd(cfg, router_id, vrf),
            esi: if esi_based { esi } else { Esi::ZERO },
            tag,
            prefix: prefix.addr(),
            len: prefix.len(),
            gw: if esi_based { zero } else { gw },
            label: vni,
        },
        communities,
    }
}

/// The flags of an RT-7/RT-8 (RFC 9251 §9.1): IPv4 IGMPv3 (+ exclude for (*,G)) or v2; IPv6
/// the v2 bit for MLDv2 (+ exclude for (*,G)), the v1 bit for MLDv1. `mcast_version` reads
/// them back.
pub fn mcast_flags_of(group: IpAddr, any_source: bool, version: u8) -> u8 {
    use crate::bgp::packet::evpn::mcast_flags::{EXCLUDE, V1, V2, V3};
    let full = if group.is_ipv6() { 2 } else { 3 };
    let v = match (group.is_ipv6(), version >= full) {
        (false, true) => V3,
        (false, false) | (true, true) => V2,
        (true, false) => V1,
    };
    if version >= full && any_source {
        v | EXCLUDE
    } else {
        v
    }
}

/// The IGMP (3 or 2) or MLD (2 or 1) version an RT-7's flags stand for.
pub fn mcast_version(group: IpAddr, flags: u8) -> u8 {
    use crate::bgp::packet::evpn::mcast_flags::{V2, V3};
    match (group.is_ipv6(), flags) {
        (false, f) if f & V3 != 0 => 3,
        (false, _) => 2,
        (true, f) if f & V2 != 0 => 2,
        (true, _) => 1,
    }
}

/// The IGMP sync routes (RFC 9251 §9.2-9.3, L3MH §2.6.1) of a local membership: RT-7 for the
/// join, and with `leaving` also RT-8 carrying the max response time (1/10 s). Ethernet Tag =
/// VLAN, originator = router id, flags = IGMP version (+ exclude for (*,G) in v3).
#[allow(clippy::too_many_arguments)]
pub fn sync_mcast(
    cfg: &Config,
    router_id: Ipv4Addr,
    vrf: usize,
    esi: Esi,
    tag: u32,
    source: Option<IpAddr>,
    group: IpAddr,
    version: u8,
    leaving: Option<u8>,
) -> Vec<Local> {
    use crate::bgp::packet::evpn::Mcast;
    let m = Mcast {
        rd: vrf_rd(cfg, router_id, vrf),
        tag,
        source,
        group,
        originator: IpAddr::V4(router_id),
    };
    let flags = mcast_flags_of(group, source.is_none(), version);
    let communities = sync_communities(cfg, vrf, &esi);
    let mut out = vec![Local {
        route: EvpnRoute::JoinSync {
            m: m.clone(),
            esi,
            flags,
        },
        communities: communities.clone(),
    }];
    if let Some(max_response) = leaving {
        out.push(Local {
            route: EvpnRoute::LeaveSync {
                m,
                esi,
                reserved: 0,
                max_response,
                flags,
            },
            communities,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rt4_and_rt1_per_es_from_config() {
        let cfg = config::parse(
            r#"
name: t
ports: [{ name: e0, devargs: net_null0 }]
bundles:
  - name: ce1
    members: [e0]
    redundancy: single-active
    es: { esi: "01:02:00:00:00:aa:01:00:01:00", df-algorithm: preference, df-preference: 200 }
interfaces: [{ name: ce1.10, parent: ce1, vlan: 10, vrf: A }]
vrfs: [{ name: A, route-targets: { export: ["65000:10"] } }]
bgp: { asn: 65000, router-id: 192.0.2.1, vrf: A }
"#,
        )
        .expect("config");
        let r = local_routes(&cfg, |b| b.es.as_ref().and_then(|e| e.esi.value()));
        assert!(local_routes(&cfg, |_| None).is_empty());
        assert_eq!(r.len(), 3, "RT-4, RT-1 per ES, RT-1 per EVI for VRF A");
        assert_eq!(
            r[2].route,
            EvpnRoute::EthernetAd {
                rd: rd_type1(Ipv4Addr::new(192, 0, 2, 1), 100),
                esi: Esi([1, 2, 0, 0, 0, 0xaa, 1, 0, 1, 0]),
                tag: 0,
                label: 0
            }
        );
        let esi = Esi([1, 2, 0, 0, 0, 0xaa, 1, 0, 1, 0]);
        assert_eq!(
            r[0].route,
            EvpnRoute::EthernetSegment {
                rd: rd_type1(Ipv4Addr::new(192, 0, 2, 1), 0),
                esi,
                originator: "192.0.2.1".parse().expect("ip")
            }
        );
        assert_eq!(
            r[0].communities[0],
            ExtCommunity::es_import(MacAddr([2, 0, 0, 0, 0xaa, 1]))
        );
        assert_eq!(
            r[0].communities[1],
            ExtCommunity::df_election(df_alg::PREFERENCE, 0, 200)
        );
        assert_eq!(
            r[1].route,
            EvpnRoute::EthernetAd {
                rd: rd_type1(Ipv4Addr::new(192, 0, 2, 1), 1),
                esi,
                tag: u32::MAX,
                label: 0
            }
        );
        assert_eq!(
            r[1].communities,
            vec![
                ExtCommunity::route_target(RouteTarget("65000:10".parse().expect("rt"))),
                ExtCommunity::esi_label(true, 0),
                ExtCommunity::encapsulation(tunnel::VXLAN),
            ]
        );
    }
}
