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
}

#[derive(Debug, Default)]
pub struct AdjRibIn {
    pub routes: HashMap<EvpnRoute, Entry>,
    pub withdrawn_by_error: u64,
}

impl AdjRibIn {
    /// Applies one decoded UPDATE; treat-as-withdraw removes everything it names.
    pub fn apply(&mut self, d: &Decoded) {
        let a = &d.update.attrs;
        if let Some(m) = &a.mp_unreach {
            if let MpNlri::Evpn(routes) = &m.nlri {
                for r in routes {
                    self.routes.remove(&r.key());
                }
            }
        }
        if let Some(m) = &a.mp_reach {
            if let MpNlri::Evpn(routes) = &m.nlri {
                for r in routes {
                    if matches!(r, EvpnRoute::Unknown { .. }) {
                        continue; // RFC 7606 §5.4: unknown route types are discarded
                    }
                    if d.action == Action::TreatAsWithdraw {
                        self.withdrawn_by_error +=
                            u64::from(self.routes.remove(&r.key()).is_some());
                        continue;
                    }
                    self.routes.insert(
                        r.key(),
                        Entry {
                            route: r.clone(),
                            next_hop: m.next_hop.first().copied(),
                            ext_communities: a.ext_communities.clone(),
                        },
                    );
                }
            }
        }
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
pub fn route_json(peer: IpAddr, e: &Entry) -> serde_json::Value {
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
