//! Adj-RIB-Out for EVPN, per peer: what the peer was last sent, and the UPDATEs that bring
//! it to the instance's current set of local routes.
//!
//! The instance publishes the whole set of routes it originates (a `watch` value, so a burst
//! of changes coalesces into one diff); each session diffs it against what it sent. Routes
//! with the same attributes share an UPDATE (packed up to the 4096-octet message limit,
//! RFC 4271 §4); withdrawals go out first, packed into MP_UNREACH (RFC 4760 §4).

use super::packet::evpn::EvpnRoute;
use super::packet::message::{afi, safi};
use super::packet::update::{AsSegment, Attrs, MpNlri, MpReach, MpUnreach, Update};
use crate::evpn::Local;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

/// The routes the instance originates, by key (`EvpnRoute::key`).
pub type LocalRib = Arc<HashMap<EvpnRoute, Local>>;

/// RFC 4271 §4: the largest BGP message without the extended-message capability.
pub const MAX_MESSAGE: usize = 4096;
const HEADER: usize = 19;

/// How UPDATEs are built for one peer.
#[derive(Debug, Clone, Copy)]
pub struct OutCxt {
    pub local_as: u32,
    pub ebgp: bool,
    pub next_hop: IpAddr,
    pub four_octet_as: bool,
}

#[derive(Debug, Default)]
pub struct AdjRibOut {
    sent: HashMap<EvpnRoute, Local>,
    /// End-of-RIB sent for this session.
    pub eor_sent: bool,
    pub advertised: u64,
    pub withdrawn: u64,
    pub updates: u64,
}

impl AdjRibOut {
    /// The session went down, or the peer asked for a refresh: the peer holds nothing of ours.
    pub fn reset(&mut self) {
        self.sent.clear();
        self.eor_sent = false;
    }

    pub fn len(&self) -> usize {
        self.sent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sent.is_empty()
    }

    /// The UPDATE bodies that turn what the peer holds into `want`, End-of-RIB after the first
    /// full advertisement of a session (RFC 4724 §2).
    pub fn sync(&mut self, want: &HashMap<EvpnRoute, Local>, cx: &OutCxt) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let gone: Vec<EvpnRoute> = self
            .sent
            .iter()
            .filter(|(k, _)| !want.contains_key(*k))
            .map(|(_, l)| l.route.clone())
            .collect();
        for k in gone.iter().map(EvpnRoute::key) {
            self.sent.remove(&k);
        }
        self.withdrawn += gone.len() as u64;
        for chunk in pack(gone, unreach_overhead(cx)) {
            out.push(unreach(chunk).encode(cx.four_octet_as));
        }
        // Group new or changed routes by their attributes (here: their communities).
        let mut groups: BTreeMap<Vec<_>, Vec<EvpnRoute>> = BTreeMap::new();
        for (k, l) in want {
            if self.sent.get(k) != Some(l) {
                groups
                    .entry(l.communities.clone())
                    .or_default()
                    .push(l.route.clone());
                self.sent.insert(k.clone(), l.clone());
            }
        }
        for (communities, mut routes) in groups {
            routes.sort_by_key(|r| {
                let mut b = Vec::new();
                r.encode(&mut b);
                b
            });
            self.advertised += routes.len() as u64;
            let overhead = reach(Vec::new(), &communities, cx)
                .encode(cx.four_octet_as)
                .len();
            for chunk in pack(routes, overhead) {
                out.push(reach(chunk, &communities, cx).encode(cx.four_octet_as));
            }
        }
        if !self.eor_sent {
            self.eor_sent = true;
            out.push(Update::end_of_rib(afi::L2VPN, safi::EVPN).encode(cx.four_octet_as));
        }
        self.updates += out.len() as u64;
        out
    }
}

fn unreach_overhead(cx: &OutCxt) -> usize {
    unreach(Vec::new()).encode(cx.four_octet_as).len()
}

/// Splits routes into runs whose NLRI fit one message beside `overhead` octets of UPDATE
/// body (+2 for an attribute length that grows to two octets).
fn pack(routes: Vec<EvpnRoute>, overhead: usize) -> Vec<Vec<EvpnRoute>> {
    let room = MAX_MESSAGE - HEADER - overhead - 2;
    let mut out: Vec<Vec<EvpnRoute>> = Vec::new();
    let mut used = 0;
    let mut cur = Vec::new();
    let mut b = Vec::new();
    for r in routes {
        b.clear();
        r.encode(&mut b);
        if !cur.is_empty() && used + b.len() > room {
            out.push(std::mem::take(&mut cur));
            used = 0;
        }
        used += b.len();
        cur.push(r);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn unreach(routes: Vec<EvpnRoute>) -> Update {
    Update {
        attrs: Attrs {
            mp_unreach: Some(MpUnreach {
                afi: afi::L2VPN,
                safi: safi::EVPN,
                nlri: MpNlri::Evpn(routes),
            }),
            ..Attrs::default()
        },
        ..Update::default()
    }
}

fn reach(
    routes: Vec<EvpnRoute>,
    communities: &[super::packet::ecomm::ExtCommunity],
    cx: &OutCxt,
) -> Update {
    Update {
        attrs: Attrs {
            mp_reach: Some(MpReach {
                afi: afi::L2VPN,
                safi: safi::EVPN,
                next_hop: vec![cx.next_hop],
                nlri: MpNlri::Evpn(routes),
            }),
            origin: Some(0),
            as_path: Some(if cx.ebgp {
                vec![AsSegment::Sequence(vec![cx.local_as])]
            } else {
                Vec::new()
            }),
            local_pref: (!cx.ebgp).then_some(100),
            ext_communities: communities.to_vec(),
            ..Attrs::default()
        },
        ..Update::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::packet::ecomm::ExtCommunity;
    use crate::bgp::packet::evpn::{Esi, Rd};
    use crate::bgp::packet::update::{Action, DecodeCxt};
    use crate::bgp::rib::AdjRibIn;

    fn cx() -> OutCxt {
        OutCxt {
            local_as: 65000,
            ebgp: false,
            next_hop: "192.0.2.1".parse().expect("ip"),
            four_octet_as: true,
        }
    }

    fn mac_ip(n: u32, rt: u32) -> Local {
        let ip = std::net::Ipv4Addr::from(0xc000_0200 + n);
        Local {
            route: EvpnRoute::MacIp {
                rd: Rd([0, 1, 192, 0, 2, 1, 0, 1]),
                esi: Esi([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
                tag: 10,
                mac: [2, 0, 0, 0, (n >> 8) as u8, n as u8],
                ip: Some(IpAddr::V4(ip)),
                label1: 100,
                label2: None,
            },
            communities: vec![ExtCommunity::route_target(config::RouteTarget(
                format!("65000:{rt}").parse().expect("rt"),
            ))],
        }
    }

    fn rib(routes: impl IntoIterator<Item = Local>) -> HashMap<EvpnRoute, Local> {
        routes.into_iter().map(|l| (l.route.key(), l)).collect()
    }

    /// Applies the UPDATEs to a receiver's Adj-RIB-In the way a peer would.
    fn deliver(bodies: &[Vec<u8>], into: &mut AdjRibIn) {
        let dcx = DecodeCxt {
            four_octet_as: true,
            ebgp: false,
        };
        for b in bodies {
            assert!(
                b.len() + HEADER <= MAX_MESSAGE,
                "message of {} octets",
                b.len()
            );
            let d = Update::decode(b, &dcx);
            assert_eq!(d.action, Action::None, "{:?}", d.errors);
            into.apply(&d);
        }
    }

    #[test]
    fn packs_many_routes_per_update_and_ends_with_eor() {
        let want = rib((0..1000).map(|n| mac_ip(n, 10)));
        let mut out = AdjRibOut::default();
        let bodies = out.sync(&want, &cx());
        // ~45 octets per RT-2: about 85 per message, so 12 messages + End-of-RIB.
        assert!(bodies.len() <= 14, "{} UPDATEs", bodies.len());
        let mut peer = AdjRibIn::default();
        deliver(&bodies, &mut peer);
        assert_eq!(peer.routes.len(), 1000);
        assert!(out.eor_sent);
        // Nothing changed: nothing to send.
        assert!(out.sync(&want, &cx()).is_empty());
    }

    #[test]
    fn diffs_withdraw_and_change() {
        let mut out = AdjRibOut::default();
        let mut peer = AdjRibIn::default();
        deliver(
            &out.sync(&rib((0..10).map(|n| mac_ip(n, 10))), &cx()),
            &mut peer,
        );
        // 0..5 withdrawn, 5..8 keep, 8..10 change RT, 10..12 new.
        let want = rib((5..8)
            .map(|n| mac_ip(n, 10))
            .chain((8..12).map(|n| mac_ip(n, 20))));
        let bodies = out.sync(&want, &cx());
        assert_eq!(
            bodies.len(),
            2,
            "one MP_UNREACH, one UPDATE for the RT-20 group"
        );
        deliver(&bodies, &mut peer);
        assert_eq!(peer.routes.len(), 7);
        for (k, l) in &want {
            assert_eq!(peer.routes[k].ext_communities, l.communities);
        }
        assert_eq!((out.withdrawn, out.len()), (5, 7));
        // Mass withdraw: everything goes in one message.
        deliver(&out.sync(&HashMap::new(), &cx()), &mut peer);
        assert!(peer.routes.is_empty());
    }

    #[test]
    fn reset_readvertises_everything() {
        let want = rib((0..3).map(|n| mac_ip(n, 10)));
        let mut out = AdjRibOut::default();
        out.sync(&want, &cx());
        out.reset();
        let mut peer = AdjRibIn::default();
        deliver(&out.sync(&want, &cx()), &mut peer);
        assert_eq!(peer.routes.len(), 3);
    }

    #[test]
    fn a_path_holding_our_as_is_a_loop_and_not_accepted() {
        let want = rib((0..3).map(|n| mac_ip(n, 10)));
        let mut out = AdjRibOut::default();
        let ebgp = OutCxt { ebgp: true, ..cx() };
        let bodies = out.sync(&want, &ebgp);
        // Our own routes coming back through another AS (FRR re-advertises over eBGP).
        let mut back = AdjRibIn {
            local_as: Some(65000),
            ..Default::default()
        };
        deliver(&bodies, &mut back);
        assert!(back.routes.is_empty());
        assert_eq!(back.as_loops, 3);
        let mut other = AdjRibIn {
            local_as: Some(65003),
            ..Default::default()
        };
        deliver(&bodies, &mut other);
        assert_eq!(other.routes.len(), 3);
    }
}
