//! The Ethernet Segments of this PE: operational state, the peers found through their RT-4s,
//! and the DF election that decides, in port-active mode, which PE's bundle is active.
//!
//! ```text
//!   member links / LACP ─► up? ─► ES_UP/ES_DOWN ─┐
//!   peers' Adj-RIB-In RT-4 (same ESI) ─► RCVD/LOST ├─► df::Election ─► is_df(VLAN)
//!   100 ms timer tick ─► DF_TIMER ─────────────────┘        │
//!                                         port-active: LACP role (active / standby)
//! ```

use crate::bgp::packet::ecomm::ExtCommunity;
use crate::bgp::packet::evpn::{Esi, EvpnRoute};
use crate::bgp::rib::AdjRibIn;
use crate::evpn::df::{Election, Wish};
use config::Redundancy;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

pub struct Segment {
    /// Index in `cfg.bundles`.
    pub bundle: usize,
    pub name: String,
    /// The ESI in use (zero while an `auto` ESI waits for the CE's LACP).
    pub esi: Esi,
    /// `esi: auto`: derived from the CE's LACP system MAC and key.
    pub auto: bool,
    pub redundancy: Redundancy,
    pub up: bool,
    pub up_changes: u64,
    pub election: Election,
    /// When this PE last became DF / non-DF for VLAN 0 (port-active: the whole port).
    pub df_since: Option<Instant>,
}

impl Segment {
    pub fn new(cfg: &config::Config, bundle: usize, me: IpAddr) -> Option<Segment> {
        let b = &cfg.bundles[bundle];
        let es = b.es.as_ref()?;
        Some(Segment {
            bundle,
            name: b.name.to_string(),
            esi: es.esi.value().unwrap_or(Esi::ZERO),
            auto: es.esi.value().is_none(),
            redundancy: b.redundancy,
            up: false,
            up_changes: 0,
            election: Election::new(
                es.esi.value().unwrap_or(Esi::ZERO),
                me,
                crate::evpn::wish(b, es),
                crate::evpn::es_vlans(cfg, b),
                Duration::from_millis(u64::from(es.df_wait_ms)),
            ),
            df_since: None,
        })
    }

    /// ES_UP / ES_DOWN; returns true on a change (the local routes change with it).
    pub fn set_up(&mut self, now: Instant, up: bool) -> bool {
        if up == self.up {
            return false;
        }
        self.up = up;
        self.up_changes += 1;
        self.election.set_up(now, up);
        true
    }

    /// The remote PEs on this segment, from every peer's RT-4s with our ESI. A PE that sent
    /// no or several DF Election ECs has no wish (RFC 8584 §2.2: everyone falls back).
    pub fn remote<'a>(
        &self,
        ribs: impl Iterator<Item = &'a AdjRibIn>,
    ) -> BTreeMap<IpAddr, Option<Wish>> {
        let mut out = BTreeMap::new();
        for rib in ribs {
            for e in rib.routes.values() {
                let EvpnRoute::EthernetSegment {
                    esi, originator, ..
                } = &e.route
                else {
                    continue;
                };
                if *esi != self.esi {
                    continue;
                }
                out.insert(*originator, wish_of(&e.ext_communities));
            }
        }
        out
    }

    pub fn view(&self, now: Instant) -> serde_json::Value {
        use serde_json::json;
        let e = &self.election;
        let peers: Vec<serde_json::Value> = e
            .candidates
            .iter()
            .map(|(ip, w)| json!({"originator": ip.to_string(), "local": *ip == e.me, "df_election": w}))
            .collect();
        let df: Vec<serde_json::Value> = e
            .results
            .iter()
            .map(|(v, o)| {
                json!({
                    "vlan": v,
                    "df": o.df.to_string(),
                    "backup": o.backup.map(|b| b.to_string()),
                    "local_is_df": e.is_df(*v),
                })
            })
            .collect();
        json!({
            "name": self.name,
            "esi": self.esi.to_string(),
            "redundancy": self.redundancy,
            "up": self.up,
            "up_changes": self.up_changes,
            "originator": e.me.to_string(),
            "df_state": e.state,
            "df_wait_ms": e.wait.as_millis() as u64,
            "df_wait_left_ms": e.timer.map(|t| t.saturating_duration_since(now).as_millis() as u64),
            "df_algorithm": {"configured": e.mine.alg, "bitmap": e.mine.bitmap, "preference": e.mine.preference},
            "df_algorithm_in_use": {"alg": e.alg.0, "bitmap": e.alg.1, "name": alg_name(e.alg.0)},
            "elections": e.runs,
            "last_election_ms_ago": e.last_run.map(|t| now.saturating_duration_since(t).as_millis() as u64),
            "df_since_ms_ago": self.df_since.map(|t| now.saturating_duration_since(t).as_millis() as u64),
            "peers": peers,
            "df": df,
        })
    }
}

pub fn alg_name(a: u8) -> &'static str {
    match a {
        0 => "modulo",
        1 => "hrw",
        2 => "preference",
        _ => "unknown",
    }
}

fn wish_of(ecs: &[ExtCommunity]) -> Option<Wish> {
    let mut it = ecs.iter().filter_map(ExtCommunity::as_df_election);
    match (it.next(), it.next()) {
        (Some((alg, bitmap, preference)), None) => Some(Wish {
            alg,
            bitmap,
            preference,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::packet::evpn::Rd;
    use crate::bgp::rib::Entry;

    #[test]
    fn peers_from_rt4_with_our_esi_only() {
        let cfg = config::parse(
            r#"
name: t
ports: [{ name: e0, devargs: net_null0 }]
bundles:
  - { name: ce1, members: [e0], es: { esi: "00:00:00:00:00:00:00:00:00:01", df-algorithm: hrw } }
interfaces: [{ name: ce1.10, parent: ce1, vlan: 10, vrf: A }, { name: ce1.5, parent: ce1, vlan: 5, vrf: A }]
vrfs: [{ name: A }]
"#,
        )
        .expect("config");
        let me: IpAddr = "10.0.0.1".parse().expect("ip");
        let s = Segment::new(&cfg, 0, me).expect("segment");
        assert_eq!(s.election.vlans, vec![5, 10]);
        let mut rib = AdjRibIn::default();
        let rt4 = |esi: u8, orig: &str, ecs: Vec<ExtCommunity>| {
            let r = EvpnRoute::EthernetSegment {
                rd: Rd::default(),
                esi: Esi([0, 0, 0, 0, 0, 0, 0, 0, 0, esi]),
                originator: orig.parse().expect("ip"),
            };
            (
                r.key(),
                Entry {
                    route: r,
                    next_hop: None,
                    ext_communities: ecs,
                    path: Default::default(),
                },
            )
        };
        let hrw = ExtCommunity::df_election(1, 0, 0);
        rib.routes.extend([
            rt4(1, "10.0.0.2", vec![hrw]),
            rt4(1, "10.0.0.3", vec![hrw, ExtCommunity::df_election(2, 0, 0)]),
            rt4(2, "10.0.0.4", vec![hrw]),
        ]);
        let r = s.remote(std::iter::once(&rib));
        assert_eq!(r.len(), 2);
        assert_eq!(
            r[&"10.0.0.2".parse::<IpAddr>().expect("ip")],
            Some(Wish {
                alg: 1,
                bitmap: 0,
                preference: 0
            })
        );
        assert_eq!(r[&"10.0.0.3".parse::<IpAddr>().expect("ip")], None);
    }
}
