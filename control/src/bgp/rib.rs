//! Adj-RIB-In for EVPN, per peer: routes by key (a new advertisement with the same key
//! replaces the old one), with the attributes a PE uses. Views for `tandemctl`.

use super::packet::ecomm::ExtCommunity;
use super::packet::evpn::EvpnRoute;
use super::packet::update::{Action, Decoded, MpNlri};
use std::collections::HashMap;
use std::net::IpAddr;

#[derive(Debug, Clone)]
pub struct Entry {
    pub route: EvpnRoute,
    pub next_hop: Option<IpAddr>,
    pub ext_communities: Vec<ExtCommunity>,
    pub path: PathAttrs,
}

/// What best-path selection compares (RFC 4271 §9.1.2.2, RFC 7432 §15.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathAttrs {
    pub local_pref: Option<u32>,
    pub as_path_len: u32,
    pub origin: u8,
    pub med: u32,
    /// MAC Mobility sequence number (RT-2), 0 without the community.
    pub mobility_seq: u32,
}

impl PathAttrs {
    fn from_attrs(a: &super::packet::update::Attrs) -> PathAttrs {
        use super::packet::update::AsSegment;
        let as_path_len = a
            .as_path
            .iter()
            .flatten()
            .map(|s| match s {
                AsSegment::Sequence(x) => x.len() as u32,
                AsSegment::Set(_) => 1,
                AsSegment::ConfedSequence(_) | AsSegment::ConfedSet(_) => 0,
            })
            .sum();
        let mobility_seq = a
            .ext_communities
            .iter()
            .find(|c| c.0[0] == 0x06 && c.0[1] == 0x00)
            .map(|c| u32::from_be_bytes([c.0[4], c.0[5], c.0[6], c.0[7]]))
            .unwrap_or(0);
        PathAttrs {
            local_pref: a.local_pref,
            as_path_len,
            origin: a.origin.unwrap_or(2),
            med: a.med.unwrap_or(0),
            mobility_seq,
        }
    }
}

/// One peer's path as best-path selection sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub peer: IpAddr,
    pub router_id: std::net::Ipv4Addr,
    pub ebgp: bool,
    pub entry: &'a Entry,
}

/// Orders candidates best first: higher MAC Mobility sequence (RFC 7432 §15.2), higher
/// LOCAL_PREF (100 if absent), shorter AS_PATH, lower ORIGIN, lower MED, eBGP over iBGP,
/// lower router id, lower peer address (RFC 4271 §9.1.2.2).
pub fn better(a: &Candidate<'_>, b: &Candidate<'_>) -> std::cmp::Ordering {
    let (x, y) = (&a.entry.path, &b.entry.path);
    y.mobility_seq
        .cmp(&x.mobility_seq)
        .then(
            y.local_pref
                .unwrap_or(100)
                .cmp(&x.local_pref.unwrap_or(100)),
        )
        .then(x.as_path_len.cmp(&y.as_path_len))
        .then(x.origin.cmp(&y.origin))
        .then(x.med.cmp(&y.med))
        .then(b.ebgp.cmp(&a.ebgp))
        .then(a.router_id.cmp(&b.router_id))
        .then(a.peer.cmp(&b.peer))
}

/// Loc-RIB: for every route key any peer holds, the peer whose path is best. Paths stay in
/// the peers' Adj-RIBs-In; this holds only the choice.
#[derive(Debug, Default)]
pub struct LocRib {
    pub best: HashMap<EvpnRoute, IpAddr>,
    pub changes: u64,
}

impl LocRib {
    /// Re-selects `key` among `candidates` (every peer that holds it); returns true if the
    /// best path changed peer or disappeared.
    pub fn select<'a>(
        &mut self,
        key: &EvpnRoute,
        candidates: impl Iterator<Item = Candidate<'a>>,
    ) -> bool {
        let best = candidates.min_by(better).map(|c| c.peer);
        let old = match best {
            Some(p) => self.best.insert(key.clone(), p),
            None => self.best.remove(key),
        };
        let changed = old != best;
        self.changes += u64::from(changed);
        changed
    }
}

#[derive(Debug, Default)]
pub struct AdjRibIn {
    pub routes: HashMap<EvpnRoute, Entry>,
    pub withdrawn_by_error: u64,
    /// Our AS: a path that already holds it is a loop and is not accepted (RFC 4271 §9.1.2).
    pub local_as: Option<u32>,
    pub as_loops: u64,
}

impl AdjRibIn {
    /// Applies one decoded UPDATE; treat-as-withdraw removes everything it names. Returns
    /// the keys it touched (for the Loc-RIB; an RT-4 among them is the DF election's input).
    pub fn apply(&mut self, d: &Decoded) -> Vec<EvpnRoute> {
        let a = &d.update.attrs;
        let mut touched = Vec::new();
        if let Some(m) = &a.mp_unreach {
            if let MpNlri::Evpn(routes) = &m.nlri {
                for r in routes {
                    let k = r.key();
                    if self.routes.remove(&k).is_some() {
                        touched.push(k);
                    }
                }
            }
        }
        let path = PathAttrs::from_attrs(a);
        let looped = self.local_as.is_some_and(|me| {
            use super::packet::update::AsSegment;
            a.as_path.iter().flatten().any(|s| match s {
                AsSegment::Sequence(x) | AsSegment::Set(x) => x.contains(&me),
                AsSegment::ConfedSequence(_) | AsSegment::ConfedSet(_) => false,
            })
        });
        if let Some(m) = &a.mp_reach {
            if let MpNlri::Evpn(routes) = &m.nlri {
                for r in routes {
                    if matches!(r, EvpnRoute::Unknown { .. }) {
                        continue; // RFC 7606 §5.4: unknown route types are discarded
                    }
                    let k = r.key();
                    if looped {
                        self.as_loops += 1;
                        if self.routes.remove(&k).is_some() {
                            touched.push(k);
                        }
                        continue;
                    }
                    if d.action == Action::TreatAsWithdraw {
                        if self.routes.remove(&k).is_some() {
                            self.withdrawn_by_error += 1;
                            touched.push(k);
                        }
                        continue;
                    }
                    self.routes.insert(
                        k.clone(),
                        Entry {
                            route: r.clone(),
                            next_hop: m.next_hop.first().copied(),
                            ext_communities: a.ext_communities.clone(),
                            path,
                        },
                    );
                    touched.push(k);
                }
            }
        }
        touched
    }
}

pub fn ecomm_string(c: &ExtCommunity) -> String {
    let b = c.0;
    let mac = |x: &[u8]| config::MacAddr([x[0], x[1], x[2], x[3], x[4], x[5]]).to_string();
    match (b[0], b[1]) {
        (0x00, 0x02) => format!(
            "rt:{}:{}",
            u16::from_be_bytes([b[2], b[3]]),
            u32::from_be_bytes([b[4], b[5], b[6], b[7]])
        ),
        (0x01, 0x02) => format!(
            "rt:{}.{}.{}.{}:{}",
            b[2],
            b[3],
            b[4],
            b[5],
            u16::from_be_bytes([b[6], b[7]])
        ),
        (0x02, 0x02) => format!(
            "rt:{}:{}",
            u32::from_be_bytes([b[2], b[3], b[4], b[5]]),
            u16::from_be_bytes([b[6], b[7]])
        ),
        (0x06, 0x02) => format!("es-import:{}", mac(&b[2..])),
        (0x06, 0x01) => format!(
            "esi-label:{}:{}",
            if b[2] & 1 == 1 {
                "single-active"
            } else {
                "all-active"
            },
            u32::from_be_bytes([0, b[5], b[6], b[7]])
        ),
        (0x06, 0x03) => format!("router-mac:{}", mac(&b[2..])),
        (0x06, 0x00) => format!(
            "mac-mobility:{}{}",
            u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            if b[2] & 1 == 1 { ":sticky" } else { "" }
        ),
        (0x06, 0x06) => format!(
            "df-election:alg={},bitmap={:#06x},pref={}",
            b[2] & 0x1f,
            u16::from_be_bytes([b[3], b[4]]),
            u16::from_be_bytes([b[6], b[7]])
        ),
        (0x06, 0x0a..=0x0c) => format!(
            "evi-rt:{}",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        ),
        (0x03, 0x0c) => match u16::from_be_bytes([b[6], b[7]]) {
            8 => "encap:vxlan".into(),
            10 => "encap:mpls".into(),
            t => format!("encap:{t}"),
        },
        _ => b.iter().map(|x| format!("{x:02x}")).collect(),
    }
}

/// One route as `tandemctl show evpn routes --json` prints it.
pub fn route_json(peer: IpAddr, e: &Entry, best: bool) -> serde_json::Value {
    use serde_json::json;
    let mac = |m: &[u8; 6]| config::MacAddr(*m).to_string();
    let mut v = match &e.route {
        EvpnRoute::EthernetAd {
            rd,
            esi,
            tag,
            label,
        } => json!({"rd": rd.to_string(), "esi": esi.to_string(), "tag": tag, "label": label}),
        EvpnRoute::MacIp {
            rd,
            esi,
            tag,
            mac: m,
            ip,
            label1,
            label2,
        } => {
            json!({"rd": rd.to_string(), "esi": esi.to_string(), "tag": tag, "mac": mac(m), "ip": ip.map(|i| i.to_string()), "label": label1, "label2": label2})
        }
        EvpnRoute::Imet {
            rd,
            tag,
            originator,
        } => json!({"rd": rd.to_string(), "tag": tag, "originator": originator.to_string()}),
        EvpnRoute::EthernetSegment {
            rd,
            esi,
            originator,
        } => {
            json!({"rd": rd.to_string(), "esi": esi.to_string(), "originator": originator.to_string()})
        }
        EvpnRoute::IpPrefix {
            rd,
            esi,
            tag,
            prefix,
            len,
            gw,
            label,
        } => {
            json!({"rd": rd.to_string(), "esi": esi.to_string(), "tag": tag, "prefix": format!("{prefix}/{len}"), "gw": gw.to_string(), "label": label})
        }
        EvpnRoute::Smet { m, flags } => {
            json!({"rd": m.rd.to_string(), "tag": m.tag, "source": m.source.map(|s| s.to_string()), "group": m.group.to_string(), "originator": m.originator.to_string(), "flags": flags})
        }
        EvpnRoute::JoinSync { m, esi, flags } => {
            json!({"rd": m.rd.to_string(), "esi": esi.to_string(), "tag": m.tag, "source": m.source.map(|s| s.to_string()), "group": m.group.to_string(), "originator": m.originator.to_string(), "flags": flags})
        }
        EvpnRoute::LeaveSync {
            m,
            esi,
            max_response,
            flags,
            ..
        } => {
            json!({"rd": m.rd.to_string(), "esi": esi.to_string(), "tag": m.tag, "source": m.source.map(|s| s.to_string()), "group": m.group.to_string(), "originator": m.originator.to_string(), "max_response": max_response, "flags": flags})
        }
        EvpnRoute::Unknown { code, value } => json!({"code": code, "len": value.len()}),
    };
    v["type"] = e.route.code().into();
    v["best"] = best.into();
    v["local_pref"] = e.path.local_pref.into();
    v["as_path_len"] = e.path.as_path_len.into();
    v["peer"] = peer.to_string().into();
    v["next_hop"] = e.next_hop.map(|n| n.to_string()).into();
    v["communities"] = e
        .ext_communities
        .iter()
        .map(ecomm_string)
        .collect::<Vec<_>>()
        .into();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::packet::evpn::Rd;
    use std::net::Ipv4Addr;

    fn entry(path: PathAttrs) -> Entry {
        Entry {
            route: EvpnRoute::Imet {
                rd: Rd::default(),
                tag: 0,
                originator: "192.0.2.9".parse().expect("ip"),
            },
            next_hop: None,
            ext_communities: vec![],
            path,
        }
    }

    fn cand<'a>(peer: &str, ebgp: bool, e: &'a Entry) -> Candidate<'a> {
        Candidate {
            peer: peer.parse().expect("ip"),
            router_id: Ipv4Addr::new(1, 1, 1, peer.as_bytes()[peer.len() - 1]),
            ebgp,
            entry: e,
        }
    }

    #[test]
    fn best_path_order() {
        let base = PathAttrs {
            local_pref: Some(100),
            origin: 0,
            ..Default::default()
        };
        let lp200 = entry(PathAttrs {
            local_pref: Some(200),
            as_path_len: 5,
            ..base
        });
        let short = entry(PathAttrs {
            as_path_len: 1,
            ..base
        });
        let long = entry(PathAttrs {
            as_path_len: 2,
            ..base
        });
        let moved = entry(PathAttrs {
            mobility_seq: 3,
            local_pref: Some(50),
            ..base
        });
        use std::cmp::Ordering::*;
        assert_eq!(
            better(
                &cand("10.0.0.1", false, &lp200),
                &cand("10.0.0.2", false, &short)
            ),
            Less
        );
        assert_eq!(
            better(
                &cand("10.0.0.1", false, &long),
                &cand("10.0.0.2", false, &short)
            ),
            Greater
        );
        assert_eq!(
            better(
                &cand("10.0.0.1", false, &moved),
                &cand("10.0.0.2", false, &lp200)
            ),
            Less
        );
        // Equal paths: eBGP first, then the lower router id.
        assert_eq!(
            better(
                &cand("10.0.0.2", true, &short),
                &cand("10.0.0.1", false, &short)
            ),
            Less
        );
        assert_eq!(
            better(
                &cand("10.0.0.1", false, &short),
                &cand("10.0.0.2", false, &short)
            ),
            Less
        );

        let mut loc = LocRib::default();
        let k = lp200.route.key();
        assert!(loc.select(
            &k,
            [
                cand("10.0.0.1", false, &long),
                cand("10.0.0.2", false, &short)
            ]
            .into_iter()
        ));
        assert_eq!(loc.best[&k], "10.0.0.2".parse::<IpAddr>().expect("ip"));
        assert!(
            !loc.select(&k, [cand("10.0.0.2", false, &short)].into_iter()),
            "same best"
        );
        assert!(loc.select(&k, std::iter::empty()));
        assert!(loc.best.is_empty());
    }
}
