//! The management API: one JSON request per line on a Unix socket (root-only), one JSON
//! reply per line. `tandemctl` is its client.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "show", rename_all = "kebab-case")]
pub enum Request {
    Interfaces,
    Routes {
        vrf: Option<String>,
    },
    Neighbors {
        vrf: Option<String>,
    },
    Counters,
    Version,
    Bundles,
    BgpSummary,
    /// One BGP neighbour in detail.
    BgpNeighbor {
        address: String,
    },
    EvpnRoutes {
        route_type: Option<u8>,
    },
    /// Ethernet Segments with their peers and DF election results.
    Es,
    /// One segment's event log (by name, or any ESI with events, e.g. a remote one).
    EsEvents {
        es: String,
    },
    /// The draft's route sync: what was sent and received per Ethernet Segment.
    Sync,
    /// Multicast memberships, local (IGMP) and synced (RT-7).
    Multicast,
    /// The EVPN core: other PEs' prefixes per VRF and the VXLAN tunnels to them.
    Core,
    /// Set a LACP bundle's role: `active`, `standby`, or `auto` (None: config / DF election).
    SetBundle {
        name: String,
        role: Option<String>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reply {
    Ok(serde_json::Value),
    Error(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InterfaceView {
    pub name: String,
    pub link: String,
    pub vlan: Option<u16>,
    pub vrf: String,
    pub mac: String,
    pub mtu: u16,
    pub addresses: Vec<String>,
    pub up: bool,
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RouteView {
    pub vrf: String,
    pub prefix: String,
    pub source: String,
    pub nexthop: Option<String>,
    pub interface: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NeighborView {
    pub vrf: String,
    pub interface: String,
    pub ip: String,
    pub mac: String,
    pub state: String,
    pub age_ms: u64,
    /// local, synced:PEER or local+synced:PEER.
    pub origin: String,
}
