//! The configuration root and its sections, as written in YAML (kebab-case keys).
//! Types validate themselves on load; cross-references are checked by `validate`.

use crate::types::{IfAddr, MacAddr, Name, Prefix, RouteDistinguisher, RouteTarget, VlanId};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Instance name: prefixes the per-VRF host namespaces and names the API socket.
    pub name: Name,
    #[serde(default)]
    pub eal: Eal,
    #[serde(default)]
    pub workers: Workers,
    pub ports: Vec<Port>,
    #[serde(default)]
    pub bundles: Vec<Bundle>,
    #[serde(default)]
    pub interfaces: Vec<SubInterface>,
    pub vrfs: Vec<Vrf>,
    #[serde(default)]
    pub neighbors: NeighborTimers,
    #[serde(default)]
    pub bgp: Option<Bgp>,
    /// The VXLAN tunnel endpoint of the EVPN core (RFC 9136 IP-VRF-to-IP-VRF): VRFs with a
    /// `vni` are reached from other PEs through it.
    #[serde(default)]
    pub vxlan: Option<Vxlan>,
    #[serde(default)]
    pub logging: Logging,
    #[serde(default)]
    pub api: Api,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Eal {
    /// The lcore list given to EAL as `-l` (workers are registered from the dataplane threads).
    pub lcores: String,
    /// `auto` uses hugepages when some are free and falls back to `--no-huge`.
    pub hugepages: Hugepages,
    /// Memory for `--no-huge` (`-m`), in MiB.
    pub memory_mb: u32,
    /// Number of mbufs in the packet pool.
    pub mbufs: u32,
    /// Extra EAL arguments, appended as given (e.g. `--log-level=pmd.net.af_packet:debug`).
    pub extra_args: Vec<String>,
}

impl Default for Eal {
    fn default() -> Self {
        Eal {
            lcores: "0".into(),
            hugepages: Hugepages::Auto,
            memory_mb: 256,
            mbufs: 8191,
            extra_args: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hugepages {
    Auto,
    On,
    Off,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Workers {
    /// Number of worker threads; each polls one RX/TX queue pair of every port.
    pub count: u16,
    pub poll: PollMode,
    /// adaptive: empty polls in a row before the worker starts sleeping.
    pub idle_polls: u32,
    /// adaptive: how long one idle sleep lasts, in microseconds.
    pub idle_sleep_us: u32,
}

impl Default for Workers {
    fn default() -> Self {
        Workers {
            count: 1,
            poll: PollMode::Adaptive,
            idle_polls: 256,
            idle_sleep_us: 1000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PollMode {
    /// Spin on every core: lowest latency, 100 % CPU (benchmarks).
    Busy,
    /// Sleep after a run of empty polls (labs, shared machines).
    Adaptive,
}

/// A DPDK port. Its untagged traffic is the "main interface" when `vrf` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Port {
    pub name: Name,
    /// DPDK device: a PCI address or a vdev string (`net_af_packet0,iface=eth1`, `net_tap0`).
    pub devargs: String,
    #[serde(default = "default_mtu")]
    pub mtu: u16,
    /// Override the port's MAC address.
    #[serde(default)]
    pub mac: Option<MacAddr>,
    #[serde(default)]
    pub vrf: Option<Name>,
    #[serde(default)]
    pub addresses: Vec<IfAddr>,
}

pub fn default_mtu() -> u16 {
    1500
}

/// A link bundle: member ports that act as one interface. With `lacp` the members that LACP
/// puts in Collecting_Distributing carry traffic; without it every member does (static LAG).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Bundle {
    pub name: Name,
    pub members: Vec<Name>,
    #[serde(default)]
    pub vrf: Option<Name>,
    #[serde(default)]
    pub addresses: Vec<IfAddr>,
    /// Interface MAC for the bundle and its sub-interfaces (e.g. the same anycast gateway MAC
    /// on every PE of an Ethernet Segment). Default: the first member's MAC.
    #[serde(default)]
    pub mac: Option<MacAddr>,
    #[serde(default)]
    pub lacp: Option<Lacp>,
    #[serde(default)]
    pub redundancy: Redundancy,
    /// Override the role the DF election would give: `active` or `standby`.
    #[serde(default)]
    pub force: Option<BundleRole>,
    /// The Ethernet Segment this bundle attaches (advertised with RT-4 and RT-1 per ES).
    #[serde(default)]
    pub es: Option<EthernetSegment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EthernetSegment {
    /// The ESI, or `auto`: type 1 from the CE's LACP system MAC and key (needs `lacp`).
    pub esi: crate::EsiConf,
    #[serde(default)]
    pub df_algorithm: DfAlgorithm,
    /// Preference for the preference-based algorithm (higher wins).
    #[serde(default = "default_df_preference")]
    pub df_preference: u16,
    /// Don't-Preempt (RFC 9785): with equal preference the PE advertising it wins.
    #[serde(default)]
    pub dont_preempt: bool,
    /// DF election wait timer (RFC 8584 §2.1), the same on every PE of the segment.
    #[serde(default = "default_df_wait_ms")]
    pub df_wait_ms: u32,
}

fn default_df_preference() -> u16 {
    32767
}

fn default_df_wait_ms() -> u32 {
    3000
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DfAlgorithm {
    /// RFC 7432 §8.5 service carving.
    #[default]
    Modulo,
    /// RFC 8584 §3 highest random weight.
    Hrw,
    /// RFC 9785 preference.
    Preference,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Redundancy {
    #[default]
    AllActive,
    SingleActive,
    PortActive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BundleRole {
    Active,
    Standby,
}

/// LACP parameters. On an Ethernet Segment, `system-id`, `system-priority` and `key` must be
/// the same on every PE and `port-number-base` different (PE1 0x0101, PE2 0x0201, ...), so the
/// CE sees one partner. (Deriving them from the ESI comes with the Ethernet Segment config.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Lacp {
    #[serde(default)]
    pub mode: LacpMode,
    #[serde(default)]
    pub rate: LacpRate,
    pub system_id: MacAddr,
    #[serde(default = "default_system_priority")]
    pub system_priority: u16,
    #[serde(default = "default_key")]
    pub key: u16,
    /// Port number of the first member; the others follow.
    #[serde(default = "default_key")]
    pub port_number_base: u16,
    #[serde(default = "default_port_priority")]
    pub port_priority: u16,
}

fn default_system_priority() -> u16 {
    32768
}
fn default_key() -> u16 {
    1
}
fn default_port_priority() -> u16 {
    255
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LacpMode {
    #[default]
    Active,
    Passive,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LacpRate {
    /// 1 s PDUs, 3 s timeout: what multi-homing wants.
    #[default]
    Fast,
    /// 30 s PDUs, 90 s timeout.
    Slow,
}

/// An 802.1Q sub-interface of a port or bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SubInterface {
    pub name: Name,
    pub parent: Name,
    pub vlan: VlanId,
    pub vrf: Name,
    #[serde(default)]
    pub addresses: Vec<IfAddr>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Vrf {
    pub name: Name,
    /// Route distinguisher (used by BGP-EVPN).
    #[serde(default)]
    pub rd: Option<RouteDistinguisher>,
    #[serde(default)]
    pub route_targets: RouteTargets,
    #[serde(default)]
    pub routes: Vec<StaticRoute>,
    /// The kernel namespace holding this VRF's host interface (the exception path).
    /// Default: `<instance>-<vrf>`.
    #[serde(default)]
    pub host_netns: Option<Name>,
    /// Which route targets the draft's sync routes (RT-2, RT-5, RT-7, RT-8) of this VRF carry:
    /// the VRF's export RTs (`vrf`, the draft's default) or the ES-Import RT of the segment
    /// plus one EVI-RT standing for the VRF's first export RT (`es-import`).
    #[serde(default)]
    pub sync_rt: SyncRt,
    /// How CE routes (static routes via a CE on an Ethernet Segment interface) are synced to
    /// the other PEs of the segment with RT-5 (L3MH §2.7): with the CE next hop as GW IP
    /// (`gateway`, default) or with the ESI as overlay index (`esi`).
    #[serde(default)]
    pub ce_route_sync: CeRouteSync,
    /// Interfaces of this VRF on which multicast data is accepted (static upstream toward the
    /// sources; no PIM yet). Groups with members go out on the members' interfaces, and on an
    /// Ethernet Segment only from its DF for the interface's VLAN.
    #[serde(default)]
    pub multicast_upstream: Vec<Name>,
    /// The VRF's L3 VNI in the EVPN core (RFC 9136 interface-less IP-VRF-to-IP-VRF over
    /// VXLAN): its routes are advertised to the other PEs with RT-5 and theirs are imported
    /// with VXLAN next hops. Needs `vxlan`.
    #[serde(default)]
    pub vni: Option<u32>,
    /// Router's MAC (RFC 9135 §8.1): the inner destination MAC other PEs put on traffic for
    /// this VRF. Default: `02:<router id>:<VRF index>`, unique per PE and VRF.
    #[serde(default)]
    pub router_mac: Option<MacAddr>,
    /// IP aliasing (draft-ietf-bess-evpn-ip-aliasing): prefixes behind an Ethernet Segment
    /// (its interfaces' subnets, CE routes) go to the core with the ESI as overlay index, so
    /// remote PEs balance over every PE of the segment (IP A-D routes) and drop a failed PE
    /// for all of them at once (mass withdraw). Off: one RT-5 per PE, ESI 0 (RFC 9136 §4.4.1),
    /// which every RFC 9136 PE (FRR 8.4 included) resolves by its next hop.
    #[serde(default)]
    pub ip_aliasing: bool,
}

/// VXLAN tunnel endpoint (RFC 7348, RFC 8365). The underlay is the BGP VRF: `source` is one
/// of its addresses and is the BGP next hop of every EVPN route this PE originates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Vxlan {
    pub source: std::net::Ipv4Addr,
    /// Destination UDP port of the tunnels.
    #[serde(default = "default_vxlan_port")]
    pub udp_port: u16,
    /// TTL of the outer IPv4 header.
    #[serde(default = "default_vxlan_ttl")]
    pub ttl: u8,
}

fn default_vxlan_port() -> u16 {
    4789
}
fn default_vxlan_ttl() -> u8 {
    64
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CeRouteSync {
    #[default]
    Gateway,
    Esi,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyncRt {
    #[default]
    Vrf,
    EsImport,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RouteTargets {
    #[serde(default)]
    pub import: Vec<RouteTarget>,
    #[serde(default)]
    pub export: Vec<RouteTarget>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StaticRoute {
    pub prefix: Prefix,
    /// Next-hop address, resolved over a connected subnet of the VRF.
    #[serde(default)]
    pub via: Option<IpAddr>,
    /// Discard matching traffic (counted as a `blackhole` drop).
    #[serde(default)]
    pub blackhole: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct NeighborTimers {
    /// An entry not confirmed for this long is probed again (seconds).
    pub reachable_s: u32,
    /// An entry whose probes go unanswered is removed after this long (seconds).
    pub stale_s: u32,
    /// Minimum interval between resolution requests for one address (milliseconds).
    pub retry_ms: u32,
    /// Packets held per unresolved next hop while it resolves.
    pub hold_packets: u16,
}

impl Default for NeighborTimers {
    fn default() -> Self {
        NeighborTimers {
            reachable_s: 300,
            stale_s: 30,
            retry_ms: 1000,
            hold_packets: 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Logging {
    /// A tracing filter: `info`, `debug`, `tandemd=debug,info`.
    pub level: String,
    #[serde(default)]
    pub json: bool,
}

impl Default for Logging {
    fn default() -> Self {
        Logging {
            level: "info".into(),
            json: false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Api {
    /// Unix socket of the management API. Default: `/run/tandem/<name>.sock`.
    #[serde(default)]
    pub socket: Option<PathBuf>,
}

impl Config {
    pub fn api_socket(&self) -> PathBuf {
        self.api
            .socket
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("/run/tandem/{}.sock", self.name)))
    }

    pub fn host_netns(&self, vrf: &Vrf) -> String {
        vrf.host_netns
            .as_ref()
            .map(|n| n.to_string())
            .unwrap_or_else(|| format!("{}-{}", self.name, vrf.name))
    }
}

/// BGP: the sessions run in the host namespace of `vrf` (the exception path), so they cross the
/// DPDK ports like any other traffic to the appliance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Bgp {
    pub asn: u32,
    pub router_id: std::net::Ipv4Addr,
    pub vrf: Name,
    #[serde(default)]
    pub neighbors: Vec<BgpNeighbor>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BgpNeighbor {
    pub address: IpAddr,
    pub remote_as: u32,
    #[serde(default = "default_hold")]
    pub hold_time: u16,
    #[serde(default = "default_connect_retry")]
    pub connect_retry_s: u16,
    #[serde(default = "default_port")]
    pub port: u16,
    /// TCP-MD5 signature key (RFC 2385), set on the connecting and the listening socket.
    #[serde(default)]
    pub password: Option<String>,
    /// GTSM (RFC 5082): send with TTL 255 and accept only packets from at most this many hops
    /// away (1 = directly connected).
    #[serde(default)]
    pub ttl_security_hops: Option<u8>,
    /// Most EVPN routes accepted from this peer; one more ends the session with a Cease
    /// (6/1, RFC 4486) and it is retried after `connect-retry-s`.
    #[serde(default)]
    pub max_prefix: Option<u32>,
    /// Advertise only these EVPN route types to this neighbour (default: all). GoBGP resets
    /// the session on RT-7/RT-8 and FRR drops types 6-11 (shared/spec/evpn-procedures.md §7
    /// point 8), so a peer that is not on our segments may need e.g. [1, 2, 3, 4, 5].
    #[serde(default)]
    pub evpn_route_types: Option<Vec<u8>>,
    /// Source address of the sessions we open (one of the BGP VRF's addresses); default: the
    /// kernel's choice.
    #[serde(default)]
    pub source_address: Option<IpAddr>,
    /// Address families offered in OPEN. EVPN routes are what tandem uses; the others are
    /// negotiated (decoded for later use, e.g. an IP-VPN core) and otherwise ignored.
    #[serde(default = "default_families")]
    pub address_families: Vec<AddressFamily>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddressFamily {
    L2vpnEvpn,
    Ipv4Unicast,
    Ipv6Unicast,
    Vpnv4Unicast,
    Vpnv6Unicast,
}

impl AddressFamily {
    /// (AFI, SAFI).
    pub fn afi_safi(self) -> (u16, u8) {
        match self {
            AddressFamily::L2vpnEvpn => (25, 70),
            AddressFamily::Ipv4Unicast => (1, 1),
            AddressFamily::Ipv6Unicast => (2, 1),
            AddressFamily::Vpnv4Unicast => (1, 128),
            AddressFamily::Vpnv6Unicast => (2, 128),
        }
    }
}

fn default_families() -> Vec<AddressFamily> {
    vec![AddressFamily::L2vpnEvpn]
}

fn default_hold() -> u16 {
    90
}
fn default_connect_retry() -> u16 {
    5
}
fn default_port() -> u16 {
    179
}
