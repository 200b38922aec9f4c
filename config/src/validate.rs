//! Cross-reference checks that types alone cannot express. Every error names the field path.

use crate::model::Config;
use crate::types::{IfAddr, Name};
use crate::ConfigError;
use std::collections::{HashMap, HashSet};

pub fn validate(c: &Config) -> Result<(), Vec<ConfigError>> {
    let mut errs = Vec::new();
    let mut e = |path: String, reason: String| errs.push(ConfigError::Invalid { path, reason });

    let vrfs: HashSet<&Name> = c.vrfs.iter().map(|v| &v.name).collect();
    let mut seen = HashSet::new();
    for (i, v) in c.vrfs.iter().enumerate() {
        if !seen.insert(&v.name) {
            e(
                format!("vrfs[{i}].name"),
                format!("duplicate VRF `{}`", v.name),
            );
        }
    }
    if c.ports.is_empty() {
        e("ports".into(), "at least one port is required".into());
    }
    if c.workers.count == 0 || c.workers.count > 64 {
        e(
            "workers.count".into(),
            format!("{} is not in 1-64", c.workers.count),
        );
    }

    // Interface names share one namespace: ports, bundles, sub-interfaces.
    let mut names: HashMap<&Name, String> = HashMap::new();
    let all = (c
        .ports
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("ports[{i}].name"), &p.name)))
    .chain(
        c.bundles
            .iter()
            .enumerate()
            .map(|(i, b)| (format!("bundles[{i}].name"), &b.name)),
    )
    .chain(
        c.interfaces
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("interfaces[{i}].name"), &s.name)),
    );
    for (path, n) in all {
        if let Some(prev) = names.insert(n, path.clone()) {
            e(path, format!("name `{n}` is already used by {prev}"));
        }
    }

    let mut devargs = HashSet::new();
    for (i, p) in c.ports.iter().enumerate() {
        if p.devargs.trim().is_empty() {
            e(format!("ports[{i}].devargs"), "must not be empty".into());
        } else if !devargs.insert(p.devargs.split(',').next().unwrap_or_default()) {
            e(
                format!("ports[{i}].devargs"),
                format!("device `{}` is used twice", p.devargs),
            );
        }
        if !(576..=9600).contains(&p.mtu) {
            e(
                format!("ports[{i}].mtu"),
                format!("{} is not in 576-9600", p.mtu),
            );
        }
        l3_check(
            &mut e,
            &format!("ports[{i}]"),
            p.vrf.as_ref(),
            &p.addresses,
            &vrfs,
        );
    }

    let ports: HashSet<&Name> = c.ports.iter().map(|p| &p.name).collect();
    let mut member_of: HashMap<&Name, &Name> = HashMap::new();
    for (i, b) in c.bundles.iter().enumerate() {
        if b.members.is_empty() {
            e(
                format!("bundles[{i}].members"),
                "a bundle needs at least one member".into(),
            );
        }
        for (j, m) in b.members.iter().enumerate() {
            let path = format!("bundles[{i}].members[{j}]");
            if !ports.contains(m) {
                e(path, format!("no port named `{m}`"));
            } else if let Some(other) = member_of.insert(m, &b.name) {
                e(
                    path,
                    format!("port `{m}` is already a member of bundle `{other}`"),
                );
            }
        }
        l3_check(
            &mut e,
            &format!("bundles[{i}]"),
            b.vrf.as_ref(),
            &b.addresses,
            &vrfs,
        );
    }
    for (i, p) in c.ports.iter().enumerate() {
        if let Some(b) = member_of.get(&p.name) {
            if p.vrf.is_some() || !p.addresses.is_empty() {
                e(
                    format!("ports[{i}]"),
                    format!(
                        "port `{}` is a member of bundle `{b}`: configure L3 on the bundle",
                        p.name
                    ),
                );
            }
        }
    }

    // LACP port numbers identify a link to the partner: they must not repeat in one appliance.
    let mut ranges: Vec<(usize, u32, u32)> = Vec::new();
    for (i, b) in c.bundles.iter().enumerate() {
        let Some(l) = &b.lacp else { continue };
        if l.system_id.is_multicast() || l.system_id == crate::MacAddr::ZERO {
            e(
                format!("bundles[{i}].lacp.system-id"),
                format!("{} is not a unicast MAC", l.system_id),
            );
        }
        if l.port_number_base == 0 {
            e(
                format!("bundles[{i}].lacp.port-number-base"),
                "port number 0 is reserved".into(),
            );
        }
        let lo = u32::from(l.port_number_base);
        let hi = lo + b.members.len() as u32;
        if hi > 0x1_0000 {
            e(
                format!("bundles[{i}].lacp.port-number-base"),
                "port numbers exceed 65535".into(),
            );
        }
        if let Some((j, _, _)) = ranges.iter().find(|(_, a, z)| lo < *z && *a < hi) {
            e(
                format!("bundles[{i}].lacp.port-number-base"),
                format!("port numbers {lo}-{} overlap those of bundles[{j}]", hi - 1),
            );
        }
        ranges.push((i, lo, hi));
    }

    // Ethernet Segments: one bundle per ESI, a usable timer, and port-active needs LACP to
    // tell the CE which link is standby (RFC 9786).
    let mut esis: HashMap<crate::Esi, usize> = HashMap::new();
    for (i, b) in c.bundles.iter().enumerate() {
        let Some(es) = &b.es else { continue };
        match es.esi.value() {
            Some(esi) => {
                if let Some(j) = esis.insert(esi, i) {
                    e(
                        format!("bundles[{i}].es.esi"),
                        format!("ESI {esi} is already used by bundles[{j}]"),
                    );
                }
            }
            None if b.lacp.is_none() => e(
                format!("bundles[{i}].es.esi"),
                "auto derives the ESI from the CE's LACP: the bundle needs `lacp`".into(),
            ),
            None => {}
        }
        if !(100..=300_000).contains(&es.df_wait_ms) {
            e(
                format!("bundles[{i}].es.df-wait-ms"),
                format!("{} is outside 100..=300000", es.df_wait_ms),
            );
        }
        if b.redundancy == crate::Redundancy::PortActive && b.lacp.is_none() {
            e(
                format!("bundles[{i}].redundancy"),
                "port-active needs `lacp` on the bundle".into(),
            );
        }
    }

    for (i, v) in c.vrfs.iter().enumerate() {
        for (j, u) in v.multicast_upstream.iter().enumerate() {
            let in_vrf = c
                .ports
                .iter()
                .any(|p| p.name == *u && p.vrf.as_ref() == Some(&v.name))
                || c.bundles
                    .iter()
                    .any(|b| b.name == *u && b.vrf.as_ref() == Some(&v.name))
                || c.interfaces.iter().any(|s| s.name == *u && s.vrf == v.name);
            if !in_vrf {
                e(
                    format!("vrfs[{i}].multicast-upstream[{j}]"),
                    format!("no interface `{u}` in VRF `{}`", v.name),
                );
            }
        }
        if v.sync_rt == crate::SyncRt::EsImport && v.route_targets.export.is_empty() {
            e(
                format!("vrfs[{i}].sync-rt"),
                "es-import needs an export route target (the EVI-RT stands for it)".into(),
            );
        }
    }

    let bundles: HashSet<&Name> = c.bundles.iter().map(|b| &b.name).collect();
    let mut vlans = HashSet::new();
    for (i, s) in c.interfaces.iter().enumerate() {
        if bundles.contains(&s.parent)
            || (ports.contains(&s.parent) && !member_of.contains_key(&s.parent))
        {
            if !vlans.insert((&s.parent, s.vlan)) {
                e(
                    format!("interfaces[{i}].vlan"),
                    format!("VLAN {} is already used on `{}`", s.vlan, s.parent),
                );
            }
        } else if member_of.contains_key(&s.parent) {
            e(
                format!("interfaces[{i}].parent"),
                format!(
                    "`{}` is a bundle member; use the bundle as parent",
                    s.parent
                ),
            );
        } else {
            e(
                format!("interfaces[{i}].parent"),
                format!("no port or bundle named `{}`", s.parent),
            );
        }
        l3_check(
            &mut e,
            &format!("interfaces[{i}]"),
            Some(&s.vrf),
            &s.addresses,
            &vrfs,
        );
    }

    // Within a VRF, an address may be configured once, and connected subnets must not overlap
    // across interfaces (overlap *between* VRFs is the point of VRFs).
    let mut per_vrf: HashMap<&Name, Vec<(String, IfAddr)>> = HashMap::new();
    let l3 = c
        .ports
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            p.vrf
                .as_ref()
                .map(|v| (format!("ports[{i}]"), v, &p.addresses))
        })
        .chain(c.bundles.iter().enumerate().filter_map(|(i, b)| {
            b.vrf
                .as_ref()
                .map(|v| (format!("bundles[{i}]"), v, &b.addresses))
        }))
        .chain(
            c.interfaces
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("interfaces[{i}]"), &s.vrf, &s.addresses)),
        );
    for (path, vrf, addrs) in l3 {
        for (j, a) in addrs.iter().enumerate() {
            let here = format!("{path}.addresses[{j}]");
            let list = per_vrf.entry(vrf).or_default();
            if let Some((other, _)) = list
                .iter()
                .find(|(_, b)| b.subnet().contains(a.addr) || a.subnet().contains(b.addr))
            {
                e(here.clone(), format!("{a} overlaps {other} in VRF `{vrf}`"));
            }
            list.push((here, *a));
        }
    }

    for (i, v) in c.vrfs.iter().enumerate() {
        for (j, r) in v.routes.iter().enumerate() {
            let path = format!("vrfs[{i}].routes[{j}]");
            match (r.via, r.blackhole) {
                (Some(_), true) => e(path, "set either `via` or `blackhole`, not both".into()),
                (None, false) => e(path, "needs `via: <next hop>` or `blackhole: true`".into()),
                (Some(nh), false) => {
                    if nh.is_ipv4() != r.prefix.is_ipv4() {
                        e(
                            format!("{path}.via"),
                            format!("{nh} is not of the same family as {}", r.prefix),
                        );
                    } else if !per_vrf
                        .get(&v.name)
                        .is_some_and(|l| l.iter().any(|(_, a)| a.subnet().contains(nh)))
                    {
                        e(
                            format!("{path}.via"),
                            format!("{nh} is not in a connected subnet of VRF `{}`", v.name),
                        );
                    }
                }
                (None, true) => {}
            }
        }
    }

    if let Some(b) = &c.bgp {
        if !vrfs.contains(&b.vrf) {
            errs.push(ConfigError::Invalid {
                path: "bgp.vrf".into(),
                reason: format!("no VRF named `{}`", b.vrf),
            });
        }
        if b.asn == 0 {
            errs.push(ConfigError::Invalid {
                path: "bgp.asn".into(),
                reason: "AS 0 is reserved".into(),
            });
        }
        if b.router_id.is_unspecified() {
            errs.push(ConfigError::Invalid {
                path: "bgp.router-id".into(),
                reason: "must not be 0.0.0.0".into(),
            });
        }
        for (i, n) in b.neighbors.iter().enumerate() {
            if n.hold_time == 1 || n.hold_time == 2 {
                errs.push(ConfigError::Invalid {
                    path: format!("bgp.neighbors[{i}].hold-time"),
                    reason: "must be 0 or at least 3 seconds (RFC 4271)".into(),
                });
            }
            if let Some(p) = &n.password {
                // struct tcp_md5sig holds at most TCP_MD5SIG_MAXKEYLEN (80) octets.
                if p.is_empty() || p.len() > 80 {
                    errs.push(ConfigError::Invalid {
                        path: format!("bgp.neighbors[{i}].password"),
                        reason: format!("{} octets: must be 1 to 80", p.len()),
                    });
                }
            }
            if n.ttl_security_hops == Some(0) {
                errs.push(ConfigError::Invalid {
                    path: format!("bgp.neighbors[{i}].ttl-security-hops"),
                    reason: "must be 1 (directly connected) to 254".into(),
                });
            }
            if let Some(t) = n
                .evpn_route_types
                .as_ref()
                .and_then(|t| t.iter().find(|t| !(1..=11).contains(*t)))
            {
                errs.push(ConfigError::Invalid {
                    path: format!("bgp.neighbors[{i}].evpn-route-types"),
                    reason: format!("{t} is not an EVPN route type (1 to 11)"),
                });
            }
            if let Some(a) = n.source_address {
                let ours = vrf_has_addr(c, &b.vrf, a);
                if !ours {
                    errs.push(ConfigError::Invalid {
                        path: format!("bgp.neighbors[{i}].source-address"),
                        reason: format!("{a} is not an address of VRF `{}`", b.vrf),
                    });
                }
            }
            if n.address_families.is_empty() {
                errs.push(ConfigError::Invalid {
                    path: format!("bgp.neighbors[{i}].address-families"),
                    reason: "at least one (l2vpn-evpn is what tandem uses)".into(),
                });
            }
            if n.max_prefix == Some(0) {
                errs.push(ConfigError::Invalid {
                    path: format!("bgp.neighbors[{i}].max-prefix"),
                    reason: "must be at least 1 (leave it out for no limit)".into(),
                });
            }
        }
    }

    let mut vnis = HashMap::new();
    for (i, v) in c.vrfs.iter().enumerate() {
        let Some(vni) = v.vni else { continue };
        let path = format!("vrfs[{i}].vni");
        if vni == 0 || vni > 0xff_ffff {
            errs.push(ConfigError::Invalid {
                path: path.clone(),
                reason: format!("{vni} is not a 24-bit VNI (1 to 16777215)"),
            });
        }
        if let Some(prev) = vnis.insert(vni, i) {
            errs.push(ConfigError::Invalid {
                path: path.clone(),
                reason: format!("VNI {vni} is already used by vrfs[{prev}]"),
            });
        }
        if c.vxlan.is_none() {
            errs.push(ConfigError::Invalid {
                path,
                reason: "a VNI needs the `vxlan` section (the tunnel source)".into(),
            });
        }
        if v.router_mac
            .is_some_and(|m| m.is_multicast() || m == crate::MacAddr::ZERO)
        {
            errs.push(ConfigError::Invalid {
                path: format!("vrfs[{i}].router-mac"),
                reason: "must be a unicast MAC".into(),
            });
        }
    }
    if let Some(x) = &c.vxlan {
        match &c.bgp {
            None => errs.push(ConfigError::Invalid {
                path: "vxlan".into(),
                reason: "needs `bgp` (its VRF is the underlay)".into(),
            }),
            Some(b) => {
                let a = std::net::IpAddr::V4(x.source);
                let ours = vrf_has_addr(c, &b.vrf, a);
                if !ours {
                    errs.push(ConfigError::Invalid {
                        path: "vxlan.source".into(),
                        reason: format!("{a} is not an address of the underlay VRF `{}`", b.vrf),
                    });
                }
            }
        }
        if x.ttl == 0 {
            errs.push(ConfigError::Invalid {
                path: "vxlan.ttl".into(),
                reason: "must be 1 to 255".into(),
            });
        }
    }

    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}

/// Whether `a` is configured on an interface of VRF `vrf`.
fn vrf_has_addr(c: &Config, vrf: &Name, a: std::net::IpAddr) -> bool {
    let in_vrf =
        |v: Option<&Name>, addrs: &[IfAddr]| v == Some(vrf) && addrs.iter().any(|x| x.addr == a);
    c.ports.iter().any(|p| in_vrf(p.vrf.as_ref(), &p.addresses))
        || c.bundles
            .iter()
            .any(|x| in_vrf(x.vrf.as_ref(), &x.addresses))
        || c.interfaces
            .iter()
            .any(|s| in_vrf(Some(&s.vrf), &s.addresses))
}

fn l3_check(
    e: &mut impl FnMut(String, String),
    path: &str,
    vrf: Option<&Name>,
    addrs: &[IfAddr],
    vrfs: &HashSet<&Name>,
) {
    match vrf {
        Some(v) if !vrfs.contains(v) => e(format!("{path}.vrf"), format!("no VRF named `{v}`")),
        None if !addrs.is_empty() => e(
            format!("{path}.addresses"),
            "addresses need a `vrf` on the same interface".into(),
        ),
        _ => {}
    }
}
