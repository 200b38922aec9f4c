//! tandemd's instance: owns all mutable state and is the only writer of snapshots.
//!
//! ```text
//!  API connections ──(Request, reply)──┐
//!  tick (2 ms) ── drain worker events ─┼──► Instance ──publish──► workers (Subscriber)
//!  timers (100 ms) ── neighbour timers ┘        │
//!                                               └── inject queues ──► workers ──► ports
//! ```
//! Every input is handled on one task, so no state is shared with a lock.

use crate::api::{InterfaceView, NeighborView, Reply, Request, RouteView};
use crate::bgp::adj_out::LocalRib;
use crate::hostif;
use crate::lacp::{self, Role};
use crate::neigh::{Action, NeighTable};
use crate::segment::Segment;
use anyhow::{bail, Context, Result};
use config::{Config, Hugepages, MacAddr, PollMode};
use dataplane::counters::{Counters, DropReason};
use dataplane::eal::{self, Mempool};
use dataplane::mbuf::Mbuf;
use dataplane::pipeline::{self, Verdict};
use dataplane::port::{self, Port, PortConf};
use dataplane::punt::{Event, Queues};
use dataplane::snapshot::Publisher;
use dataplane::tables::build::{self, Topology};
use dataplane::tables::{
    IfaceId, Link, LinkId, NeighKey, PortIdx, PortInfo, PortRole, Routes, Snapshot, VrfId,
    VrfTables,
};
use dataplane::worker::{self, WorkerConf, WorkerShared};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

pub type ApiMsg = (Request, oneshot::Sender<Reply>);

/// What the instance knows of a BGP peer (its session task owns the FSM).
#[derive(Default)]
struct PeerStatus {
    remote_as: u32,
    state: Option<crate::bgp::fsm::State>,
    established_at: Option<Instant>,
    established_count: u64,
    peer_router_id: Option<std::net::Ipv4Addr>,
    hold_time: u16,
    msgs_rx: u64,
    msgs_tx: u64,
    updates_rx: u64,
    last_error: Option<String>,
    rib: crate::bgp::rib::AdjRibIn,
    adj_out_routes: usize,
    max_prefix: Option<u32>,
    max_prefix_hits: u64,
    /// Ends the session with a NOTIFICATION (max-prefix).
    cease: Option<mpsc::Sender<crate::bgp::packet::Notification>>,
    advertised: u64,
    withdrawn: u64,
    refreshes_rx: u64,
}

#[derive(Default, serde::Serialize)]
struct ControlStats {
    events: u64,
    learned: u64,
    resolve_requests: u64,
    solicits_sent: u64,
    held_released: u64,
    slow_protocol_frames: u64,
    inject_full: u64,
    mbuf_alloc_failed: u64,
    publishes: u64,
    /// FIB rebuilds of a VRF, and overlay changes that only rewrote next-hop groups.
    fib_builds: u64,
    group_only_updates: u64,
}

/// The draft's ARP/ND sync (RT-2) state of this PE.
#[derive(Default)]
struct SyncState {
    /// Interfaces on an Ethernet Segment: (segment, Ethernet Tag = VLAN or 0).
    iface_es: HashMap<IfaceId, (usize, u32)>,
    /// (segment, Ethernet Tag) -> interface: where a received sync route lands.
    es_tag_iface: HashMap<(usize, u32), IfaceId>,
    /// Our RT-2s, one per local neighbour on an ES interface.
    local_rt2: HashMap<(VrfId, NeighKey), crate::evpn::Local>,
    /// Received RT-2s (by route key) and the neighbour each installed.
    installed: HashMap<crate::bgp::packet::evpn::EvpnRoute, (VrfId, NeighKey, MacAddr, IpAddr)>,
    /// How many received RT-2s stand for each neighbour (several peers' RDs may).
    installed_refs: HashMap<(VrfId, NeighKey), u32>,
    /// How many received RT-7s stand for each membership.
    mcast_refs: HashMap<crate::mcast::Key, u32>,
    /// Received RT-5s (by route key) and the route each installed.
    rt5: HashMap<crate::bgp::packet::evpn::EvpnRoute, SyncedRoute>,
    /// ESI-based RT-5s waiting for their CE next hop to be known on the interface.
    rt5_waiting: std::collections::HashSet<crate::bgp::packet::evpn::EvpnRoute>,
    /// VRFs whose synced CE routes changed: their FIB is rebuilt once per batch.
    fib_stale: Vec<VrfId>,
    /// VRFs whose overlay routes or groups changed: the groups are rebuilt once per batch,
    /// the FIB only if a prefix or its group index changed.
    core_stale: Vec<VrfId>,
    /// Our RT-7/RT-8s, per local membership on an ES interface.
    local_mcast: HashMap<crate::mcast::Key, Vec<crate::evpn::Local>>,
    /// Received RT-7s (by route key) and the membership each installed.
    mcast_installed: HashMap<crate::bgp::packet::evpn::EvpnRoute, (crate::mcast::Key, IpAddr)>,
    stats: SyncStats,
}

/// A bundle's LACP role: `tandemctl set bundle` wins, then `force:` in the config; in
/// port-active mode the DF of the segment is active and the others standby (RFC 9786);
/// otherwise active.
fn desired_role(b: &BundleState, segments: &[Segment]) -> Role {
    b.cli
        .or(b.forced)
        .unwrap_or(match b.segment.map(|i| &segments[i]) {
            Some(s) if s.redundancy == config::Redundancy::PortActive => {
                if s.election.is_df(0) {
                    Role::Active
                } else {
                    Role::Standby
                }
            }
            _ => Role::Active,
        })
}

/// One neighbour as `show bgp summary` lists it (and `show bgp neighbor` starts from).
fn peer_row(a: &IpAddr, p: &PeerStatus) -> serde_json::Value {
    serde_json::json!({
        "neighbor": a.to_string(),
        "remote_as": p.remote_as,
        "state": p.state,
        "uptime_s": p.established_at.map(|t| t.elapsed().as_secs()),
        "established_count": p.established_count,
        "peer_router_id": p.peer_router_id.map(|r| r.to_string()),
        "hold_time": p.hold_time,
        "msgs_rx": p.msgs_rx,
        "msgs_tx": p.msgs_tx,
        "updates_rx": p.updates_rx,
        "evpn_routes": p.rib.routes.len(),
        "evpn_routes_sent": p.adj_out_routes,
        "max_prefix": p.max_prefix,
        "max_prefix_hits": p.max_prefix_hits,
        "advertised": p.advertised,
        "withdrawn": p.withdrawn,
        "route_refresh_rx": p.refreshes_rx,
        "withdrawn_by_error": p.rib.withdrawn_by_error,
        "as_loops": p.rib.as_loops,
        "last_error": p.last_error,
    })
}

/// Why a received sync route does not land on this PE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    /// Its ESI is zero or not one of our segments.
    NotOurEs,
    /// No interface of the segment has its Ethernet Tag.
    UnknownTag,
    /// Its RTs do not import into the interface's VRF.
    NotImported,
}

/// Drops one reference to `k`; true when none is left.
fn release<K: std::hash::Hash + Eq>(refs: &mut HashMap<K, u32>, k: K) -> bool {
    match refs.get_mut(&k) {
        Some(n) if *n > 1 => {
            *n -= 1;
            false
        }
        _ => {
            refs.remove(&k);
            true
        }
    }
}

/// A CE route installed from an ES peer's RT-5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SyncedRoute {
    vrf: VrfId,
    prefix: config::Prefix,
    iface: IfaceId,
    gw: IpAddr,
    peer: IpAddr,
}

#[derive(Default, serde::Serialize)]
struct SyncStats {
    rt2_installed: u64,
    rt2_removed: u64,
    /// RT-2s whose ESI is zero or not one of ours: not sync routes for us.
    rt2_not_our_es: u64,
    /// MAC-only RT-2s (L3MH §2.5.1: never used for L3 sync).
    rt2_mac_only: u64,
    /// No interface of the segment has the route's Ethernet Tag.
    rt2_unknown_tag: u64,
    /// The route's RTs (or ES-Import RT + EVI-RT) do not import into the interface's VRF.
    rt2_not_imported: u64,
    rt5_installed: u64,
    rt5_removed: u64,
    /// RT-5s that are not CE-route sync routes of one of our segments (no local ESI, or a GW
    /// IP outside every ES interface of the VRF with that Ethernet Tag).
    rt5_not_ours: u64,
    /// ESI-based RT-5s whose interface has no single neighbour to use as next hop (yet).
    rt5_no_ce_neighbour: u64,
    rt7_installed: u64,
    rt7_removed: u64,
    /// RT-7s that are not for one of our segments / VRFs.
    rt7_not_ours: u64,
    rt8_received: u64,
}

/// A LACP bundle's state machines and where its members sit in the snapshot.
struct BundleState {
    name: String,
    link: LinkId,
    lacp: lacp::Bundle,
    /// `force` in the config.
    forced: Option<Role>,
    /// `tandemctl set bundle`: wins over everything until `auto`.
    cli: Option<Role>,
    /// The Ethernet Segment on this bundle (index in `segments`), if any.
    segment: Option<usize>,
    lacp_bad: u64,
}

pub struct Instance {
    cfg: Config,
    topo: Topology,
    ports: Vec<PortInfo>,
    /// Links as published: a LACP bundle's `members` are its distributing members.
    links: Vec<Link>,
    bundles: Vec<BundleState>,
    segments: Vec<Segment>,
    /// The EVPN routes we originate; every session syncs its Adj-RIB-Out to it.
    local_tx: tokio::sync::watch::Sender<LocalRib>,
    /// Set on shutdown: sessions send Cease and end.
    stop_tx: tokio::sync::watch::Sender<bool>,
    links_dirty: bool,
    peers: std::collections::BTreeMap<IpAddr, PeerStatus>,
    /// The best path of every EVPN route the peers sent.
    loc: crate::bgp::rib::LocRib,
    mcast: crate::mcast::Memberships,
    /// Next periodic IGMP general query on the ES interfaces we are DF for.
    next_query: Instant,
    /// The multicast forwarding table of each VRF, as published.
    mcast_tables: Vec<Arc<dataplane::tables::McastTable>>,
    /// VRFs whose tables (FIB or multicast) changed since the last publish.
    republish: Vec<VrfId>,
    sync: SyncState,
    wire_ports: Vec<Port>,
    /// The kernel interface behind each af_packet port (by port index), for its carrier.
    kernel_ifs: Vec<Option<String>>,
    host_netns: Vec<String>,
    routes: Vec<Arc<Routes>>,
    /// Other PEs' RT-5s as overlay routes (the EVPN core), and each VRF's groups as published.
    core: crate::overlay::Core,
    overlays: Vec<Arc<dataplane::tables::Overlay>>,
    /// The overlay routes each VRF's FIB was built with.
    overlay_routes: Vec<Vec<(config::Prefix, u32)>>,
    next_link_poll: Instant,
    /// Per-ESI event log (local and remote segments).
    es_events: crate::events::EsEvents,
    /// ESIs whose A-D routes changed: their FIB/group update is logged after the publish.
    es_pending: Vec<config::Esi>,
    /// The VXLAN endpoint as published.
    vxlan: Option<Arc<dataplane::tables::Vxlan>>,
    /// Interfaces whose link has no member: their routes are out of the FIB (local repair).
    down_ifaces: Vec<IfaceId>,
    vrfs: Vec<Arc<VrfTables>>,
    neigh: NeighTable<Mbuf>,
    publisher: Publisher<Snapshot>,
    queues: Arc<Queues>,
    workers: Vec<(std::thread::JoinHandle<()>, Arc<WorkerShared>)>,
    pool: Mempool,
    ctl: Counters,
    stats: ControlStats,
    started: Instant,
}

/// How often member carriers are polled (SIOCGIFFLAGS / the PMD's link status).
const LINK_POLL: Duration = Duration::from_millis(10);
/// Control's event tick while events flow or changes wait to be published; when quiet it
/// sleeps until the next link poll (a worker wakes it early when events arrive): every
/// wake-up preempts a worker that shares control's core, and 500 a second cost a busy
/// worker's p99 latency 3x.
const BUSY_TICK: Duration = Duration::from_millis(2);
/// The protocol timers' tick (LACP, neighbours, ES, BGP housekeeping).
const TIMERS: Duration = Duration::from_millis(100);

fn hugepages_free_mb() -> u64 {
    let Ok(m) = std::fs::read_to_string("/proc/meminfo") else {
        return 0;
    };
    let field = |k: &str| {
        m.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field("HugePages_Free:") * field("Hugepagesize:") / 1024
}

/// EAL arguments from the config: hugepages when available (`--in-memory`, so several
/// instances coexist), else `--no-huge`.
pub fn eal_args(cfg: &Config) -> Vec<String> {
    let mut a = vec!["tandemd".to_string(), "-l".into(), cfg.eal.lcores.clone()];
    let huge = match cfg.eal.hugepages {
        Hugepages::On => true,
        Hugepages::Off => false,
        Hugepages::Auto => hugepages_free_mb() >= u64::from(cfg.eal.memory_mb),
    };
    if huge {
        a.push("--in-memory".into());
    } else {
        a.extend([
            "--no-huge".into(),
            "-m".into(),
            cfg.eal.memory_mb.to_string(),
            "--no-shconf".into(),
        ]);
    }
    let pci = cfg
        .ports
        .iter()
        .any(|p| !(p.devargs.starts_with("net_") || p.devargs.starts_with("eth_")));
    if !pci {
        a.push("--no-pci".into());
    }
    a.push("--no-telemetry".into());
    a.push("--log-level=lib.eal:notice".into());
    a.extend(cfg.eal.extra_args.iter().cloned());
    a
}

fn state_bits(s: u8) -> Vec<&'static str> {
    use dataplane::wire::lacp::state as st;
    [
        (st::ACTIVITY, "activity"),
        (st::TIMEOUT, "short-timeout"),
        (st::AGGREGATION, "aggregation"),
        (st::SYNC, "synchronization"),
        (st::COLLECTING, "collecting"),
        (st::DISTRIBUTING, "distributing"),
        (st::DEFAULTED, "defaulted"),
        (st::EXPIRED, "expired"),
    ]
    .iter()
    .filter(|(b, _)| s & b != 0)
    .map(|(_, n)| *n)
    .collect()
}

/// MAC of the kernel side of VRF `vrf`'s host TAP (frames to the kernel carry it).
fn host_kernel_mac(vrf: usize) -> MacAddr {
    MacAddr([0x02, 0x74, 0x6e, 0x64, 0x00, vrf as u8])
}

fn tap_name(cfg: &Config, vrf: usize) -> String {
    let n = cfg.name.as_str();
    format!("{}h{}", &n[..n.len().min(11)], vrf)
}

impl Instance {
    /// Starts EAL, ports, host interfaces and workers.
    pub fn start(cfg: Config) -> Result<Instance> {
        let args = eal_args(&cfg);
        tracing::info!(?args, "starting EAL");
        eal::init(&args)?;
        let pool = Mempool::create("pkts", cfg.eal.mbufs)?;
        let nq = cfg.workers.count;
        let mut wire_ports = Vec::new();
        for p in &cfg.ports {
            let _span = tracing::info_span!("port", name = %p.name).entered();
            let port = port::open(
                &PortConf {
                    devargs: &p.devargs,
                    queues: nq,
                    mtu: p.mtu,
                    mac: p.mac,
                },
                &pool,
            )
            .with_context(|| format!("port {}", p.name))?;
            tracing::info!(id = port.id, mac = %port.mac, devargs = %p.devargs, "port started");
            wire_ports.push(port);
        }
        let macs: Vec<MacAddr> = wire_ports.iter().map(|p| p.mac).collect();
        let topo = build::topology(&cfg, &macs);
        let mut ports: Vec<PortInfo> = wire_ports
            .iter()
            .zip(&cfg.ports)
            .enumerate()
            .map(|(i, (p, c))| PortInfo {
                dpdk_port: p.id,
                name: c.name.to_string(),
                mac: p.mac,
                role: PortRole::Wire {
                    link: topo.port_link[i],
                },
                collecting: true,
            })
            .collect();
        let mut host_netns = Vec::new();
        let mut host = Vec::new();
        for (vi, v) in cfg.vrfs.iter().enumerate() {
            let _span = tracing::info_span!("vrf", name = %v.name).entered();
            let tap = tap_name(&cfg, vi);
            let devargs = format!("net_tap{vi},iface={tap}");
            let p = port::open(
                &PortConf {
                    devargs: &devargs,
                    queues: nq,
                    mtu: 1500,
                    mac: None,
                },
                &pool,
            )
            .with_context(|| format!("host interface of VRF {}", v.name))?;
            let netns = cfg.host_netns(v);
            let kernel_mac = host_kernel_mac(vi);
            let addrs = topo
                .ifaces
                .iter()
                .filter(|i| usize::from(i.vrf) == vi)
                .flat_map(|i| i.addrs().map(|(addr, len)| config::IfAddr { addr, len }))
                .collect();
            hostif::setup(&hostif::HostIf {
                netns: &netns,
                tap: &tap,
                kernel_mac,
                dpdk_mac: p.mac,
                addrs,
            })
            .with_context(|| format!("host interface of VRF {}", v.name))?;
            tracing::info!(%netns, %tap, "host interface ready");
            host.push(ports.len() as PortIdx);
            ports.push(PortInfo {
                dpdk_port: p.id,
                name: tap.clone(),
                mac: p.mac,
                role: PortRole::Host { vrf: vi as VrfId },
                collecting: true,
            });
            host_netns.push(netns);
        }
        if ports.len() > dataplane::counters::MAX_PORTS {
            bail!(
                "{} ports exceed the dataplane's limit of {}",
                ports.len(),
                dataplane::counters::MAX_PORTS
            );
        }
        let routes: Vec<Arc<Routes>> = (0..cfg.vrfs.len())
            .map(|v| Arc::new(build::routes(&cfg, &topo, v as VrfId)))
            .collect();
        let rid = cfg.bgp.as_ref().map(|b| b.router_id);
        let overlays: Vec<Arc<dataplane::tables::Overlay>> = (0..cfg.vrfs.len())
            .map(|i| {
                Arc::new(dataplane::tables::Overlay {
                    router_mac: rid
                        .map(|r| crate::evpn::router_mac(&cfg, r, i))
                        .unwrap_or_default(),
                    groups: Vec::new(),
                })
            })
            .collect();
        let vxlan = match (&cfg.vxlan, &cfg.bgp) {
            (Some(x), Some(b)) => Some(Arc::new(dataplane::tables::Vxlan {
                source: x.source,
                underlay: topo.vrf_id(b.vrf.as_str()).unwrap_or(0),
                udp_port: x.udp_port,
                ttl: x.ttl,
                vni: cfg
                    .vrfs
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.vni.map(|n| (n, i as VrfId)))
                    .collect(),
            })),
            _ => None,
        };
        let vrfs: Vec<Arc<VrfTables>> = (0..cfg.vrfs.len())
            .map(|v| {
                Arc::new(VrfTables {
                    id: v as VrfId,
                    name: topo.vrf_names[v].clone(),
                    routes: routes[v].clone(),
                    neigh: Arc::default(),
                    host_port: host.get(v).copied(),
                    host_mac: host_kernel_mac(v),
                    mcast: Arc::default(),
                    overlay: overlays[v].clone(),
                    adj: Arc::default(),
                })
            })
            .collect();
        // LACP bundles start with no distributing member and every member not collecting.
        let mut links = topo.links.clone();
        let mut bundles = Vec::new();
        let me = cfg
            .bgp
            .as_ref()
            .map(|b| IpAddr::V4(b.router_id))
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let segments: Vec<Segment> = (0..cfg.bundles.len())
            .filter_map(|i| Segment::new(&cfg, i, me))
            .collect();
        for b in &cfg.bundles {
            let Some(l) = &b.lacp else { continue };
            let Some(link) = links.iter().position(|x| x.name == b.name.as_str()) else {
                continue;
            };
            let members: Vec<(PortIdx, u16)> = links[link]
                .members
                .iter()
                .enumerate()
                .map(|(j, p)| (*p, l.port_number_base.wrapping_add(j as u16)))
                .collect();
            for (p, _) in &members {
                ports[usize::from(*p)].collecting = false;
            }
            links[link].members.clear();
            let conf = lacp::LacpConf {
                active: l.mode == config::LacpMode::Active,
                fast: l.rate == config::LacpRate::Fast,
                system: l.system_id,
                system_priority: l.system_priority,
                key: l.key,
                port_priority: l.port_priority,
            };
            let forced = b.force.map(|r| match r {
                config::BundleRole::Active => Role::Active,
                config::BundleRole::Standby => Role::Standby,
            });
            let segment = segments.iter().position(|s| s.name == b.name.as_str());
            let lb = lacp::Bundle::new(conf, &members);
            bundles.push(BundleState {
                name: b.name.to_string(),
                link: link as LinkId,
                lacp: lb,
                forced,
                cli: None,
                segment,
                lacp_bad: 0,
            });
        }
        let mut sync = SyncState::default();
        for ifc in &topo.ifaces {
            let link = &topo.links[usize::from(ifc.link)];
            if let Some(si) = segments.iter().position(|s| s.name == link.name) {
                let tag = u32::from(ifc.vlan.unwrap_or(0));
                sync.iface_es.insert(ifc.id, (si, tag));
                sync.es_tag_iface.insert((si, tag), ifc.id);
            }
        }
        // A port-active segment starts as non-DF: standby until the election says DF.
        for b in &mut bundles {
            let r = desired_role(b, &segments);
            b.lacp.set_role(Instant::now(), r);
            tracing::info!(bundle = %b.name, role = ?b.lacp.role, "lacp bundle");
        }
        let snap = Snapshot {
            version: 0,
            ports: ports.clone(),
            links: links.clone(),
            ifaces: topo.ifaces.clone(),
            vrfs: vrfs.clone(),
            vxlan: vxlan.clone(),
        };
        let mut publisher = Publisher::new(snap, usize::from(nq));
        let queues = Arc::new(Queues::new(usize::from(nq), 4096, 1024));
        let mut workers = Vec::new();
        // Workers run on the worker lcores of `eal.lcores` (round-robin), control on the main
        // one; with a single lcore they share it (labs).
        let cpus = eal::worker_cpus();
        for w in 0..usize::from(nq) {
            let shared = Arc::new(WorkerShared::default());
            let sub = publisher.subscribe().context("subscriber slot")?;
            let conf = WorkerConf {
                index: w,
                queue: w as u16,
                idle_polls: if cfg.workers.poll == PollMode::Busy {
                    0
                } else {
                    cfg.workers.idle_polls
                },
                idle_sleep: Duration::from_micros(u64::from(cfg.workers.idle_sleep_us)),
                punt_rate: 10_000,
            };
            let (q, s) = (queues.clone(), shared.clone());
            let cpu = (!cpus.is_empty()).then(|| cpus[w % cpus.len()]);
            let h = std::thread::Builder::new()
                .name(format!("worker{w}"))
                .spawn(move || {
                    if let Some(c) = cpu {
                        if !eal::pin_to(c) {
                            tracing::warn!(worker = w, cpu = c, "could not pin the worker");
                        }
                    }
                    worker::run(conf, sub, q, s)
                })?;
            workers.push((h, shared));
        }
        let neigh = NeighTable::new(cfg.neighbors.clone(), cfg.vrfs.len());
        let kernel_ifs = cfg
            .ports
            .iter()
            .map(|p| {
                p.devargs
                    .starts_with("net_af_packet")
                    .then(|| {
                        p.devargs
                            .split(',')
                            .find_map(|kv| kv.strip_prefix("iface="))
                    })
                    .flatten()
                    .map(str::to_string)
            })
            .collect();
        Ok(Instance {
            cfg,
            topo,
            ports,
            links,
            bundles,
            segments,
            local_tx: tokio::sync::watch::Sender::new(LocalRib::default()),
            stop_tx: tokio::sync::watch::Sender::new(false),
            links_dirty: false,
            peers: Default::default(),
            loc: Default::default(),
            mcast: crate::mcast::Memberships::new(Default::default()),
            next_query: Instant::now() + Duration::from_secs(10),
            mcast_tables: vec![Arc::default(); vrfs.len()],
            republish: Vec::new(),
            sync,
            wire_ports,
            kernel_ifs,
            host_netns,
            routes,
            core: Default::default(),
            es_events: crate::events::EsEvents::new(Instant::now()),
            next_link_poll: Instant::now(),
            es_pending: Vec::new(),
            overlay_routes: vec![Vec::new(); overlays.len()],
            overlays,
            vxlan,
            down_ifaces: Vec::new(),
            vrfs,
            neigh,
            publisher,
            queues,
            workers,
            pool,
            ctl: Counters::default(),
            stats: ControlStats::default(),
            started: Instant::now(),
        })
    }

    /// The event loop; returns on SIGINT/SIGTERM.
    pub async fn run(mut self, mut api: mpsc::Receiver<ApiMsg>) -> Result<()> {
        let mut timers = tokio::time::interval(TIMERS);
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let (peer_tx, mut peer_rx) = mpsc::channel(1024);
        let wake = Arc::new(tokio::sync::Notify::new());
        {
            let w = wake.clone();
            self.queues.set_waker(move || w.notify_one());
        }
        self.links_changed();
        self.publish_local();
        self.start_bgp(peer_tx);
        let mut next = tokio::time::Instant::now();
        loop {
            let soon = tokio::time::Instant::now() + BUSY_TICK;
            tokio::select! {
                Some((peer, ev)) = peer_rx.recv() => {
                    self.peer_event(peer, ev);
                    next = next.min(soon);
                }
                _ = tokio::time::sleep_until(next) => {
                    let busy = self.drain_events(Instant::now());
                    let now = tokio::time::Instant::now();
                    next = if busy {
                        now + BUSY_TICK
                    } else {
                        self.queues.control_sleeps();
                        // Link polls are for bundle members; without any, the 100 ms timers
                        // tick is soon enough. An event queued before the flag was up woke
                        // nobody: look again.
                        let idle = if self.bundles.is_empty() { TIMERS } else { LINK_POLL };
                        if self.queues.events.is_empty() { now + idle } else { now }
                    };
                }
                _ = wake.notified() => next = tokio::time::Instant::now(),
                _ = timers.tick() => {
                    self.timers(Instant::now());
                    next = next.min(soon);
                }
                Some((req, tx)) = api.recv() => {
                    let _ = tx.send(self.handle(req));
                    next = next.min(soon);
                }
                _ = tokio::signal::ctrl_c() => break,
                _ = term.recv() => break,
            }
        }
        self.leave(&mut peer_rx).await;
        self.shutdown();
        Ok(())
    }

    /// One session task per configured neighbour, in the BGP VRF's host namespace.
    fn start_bgp(&mut self, tx: crate::bgp::session::PeerTx) {
        use crate::bgp::fsm::PeerConf;
        use crate::bgp::packet::message::Capability;
        let Some(b) = self.cfg.bgp.clone() else {
            return;
        };
        let Some(vrf) = self.cfg.vrfs.iter().find(|v| v.name == b.vrf) else {
            return;
        };
        let netns = self.cfg.host_netns(vrf);
        let mut listeners = std::collections::HashMap::new();
        for n in &b.neighbors {
            let (in_tx, in_rx) = mpsc::channel(4);
            let opts = crate::bgp::sockopt::SockOpts {
                md5_key: n.password.as_ref().map(|p| p.as_bytes().to_vec()),
                ttl_hops: n.ttl_security_hops,
                source: n.source_address,
            };
            listeners.insert(n.address, (in_tx, opts.clone()));
            let (cease_tx, cease_rx) = mpsc::channel(1);
            let conf = PeerConf {
                local_as: b.asn,
                remote_as: n.remote_as,
                router_id: b.router_id,
                hold_time: n.hold_time,
                connect_retry: Duration::from_secs(u64::from(n.connect_retry_s)),
                capabilities: n
                    .address_families
                    .iter()
                    .map(|f| {
                        let (afi, safi) = f.afi_safi();
                        Capability::Multiprotocol { afi, safi }
                    })
                    .chain(std::iter::once(Capability::RouteRefresh))
                    .collect(),
            };
            self.peers.insert(
                n.address,
                PeerStatus {
                    remote_as: n.remote_as,
                    max_prefix: n.max_prefix,
                    cease: Some(cease_tx),
                    rib: crate::bgp::rib::AdjRibIn {
                        local_as: Some(b.asn),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            );
            let addr = std::net::SocketAddr::new(n.address, n.port);
            tracing::info!(peer = %n.address, remote_as = n.remote_as, %netns, "bgp neighbor");
            tokio::spawn(crate::bgp::session::run(
                conf,
                addr,
                netns.clone(),
                opts,
                crate::bgp::session::Links {
                    local: self.local_tx.subscribe(),
                    incoming: in_rx,
                    tx: tx.clone(),
                    stop: self.stop_tx.subscribe(),
                    cease: cease_rx,
                    route_types: n.evpn_route_types.clone(),
                    next_hop: self.cfg.vxlan.as_ref().map(|x| IpAddr::V4(x.source)),
                },
            ));
        }
        let port = b.neighbors.first().map(|n| n.port).unwrap_or(179);
        tokio::spawn(crate::bgp::session::listen(netns, port, listeners));
    }

    fn peer_event(&mut self, peer: IpAddr, ev: crate::bgp::session::PeerEvent) {
        use crate::bgp::session::PeerEvent;
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        match ev {
            PeerEvent::State(s) => p.state = Some(s),
            PeerEvent::Established {
                peer_router_id,
                hold_time,
                ..
            } => {
                tracing::info!(%peer, %peer_router_id, hold_time, "bgp session established");
                p.established_at = Some(Instant::now());
                p.established_count += 1;
                p.peer_router_id = Some(peer_router_id);
                p.hold_time = hold_time;
            }
            PeerEvent::Update(d) => {
                p.updates_rx += 1;
                let keys = p.rib.apply(&d);
                if let Some(max) = p.max_prefix {
                    if p.rib.routes.len() > max as usize && p.established_at.is_some() {
                        // RFC 4486 §4: Cease 1 with AFI, SAFI and the limit.
                        let mut data = vec![0, 25, 70];
                        data.extend_from_slice(&max.to_be_bytes());
                        tracing::warn!(%peer, max, routes = p.rib.routes.len(), "max-prefix exceeded: ending the session");
                        p.max_prefix_hits += 1;
                        if let Some(c) = &p.cease {
                            let _ = c.try_send(crate::bgp::packet::Notification::new(6, 1, data));
                        }
                    }
                }
                self.rib_changed(keys, false);
            }
            PeerEvent::Down(why) => {
                tracing::info!(%peer, %why, "bgp session down");
                p.established_at = None;
                p.last_error = Some(why);
                p.adj_out_routes = 0;
                let keys: Vec<_> = p.rib.routes.drain().map(|(k, _)| k).collect();
                self.rib_changed(keys, true);
                self.es_update(Instant::now(), true);
            }
            PeerEvent::Sent(n) => p.msgs_tx += n,
            PeerEvent::Received => p.msgs_rx += 1,
            PeerEvent::AdjOut {
                routes,
                advertised,
                withdrawn,
            } => {
                p.adj_out_routes = routes;
                p.advertised = advertised;
                p.withdrawn = withdrawn;
            }
            PeerEvent::RefreshRequested => p.refreshes_rx += 1,
        }
    }

    /// Best-path selection for the route keys an UPDATE or a session loss touched, and the
    /// DF election if an Ethernet Segment route was among them.
    /// `lost`: the keys are gone because their peer went down (not withdrawn).
    fn rib_changed(&mut self, keys: Vec<crate::bgp::packet::evpn::EvpnRoute>, lost: bool) {
        use crate::bgp::rib::Candidate;
        let local_as = self.cfg.bgp.as_ref().map(|b| b.asn).unwrap_or(0);
        let mut es = false;
        for k in &keys {
            es |= k.code() == 4;
            let cands = self.peers.iter().filter_map(|(a, p)| {
                p.rib.routes.get(k).map(|e| Candidate {
                    peer: *a,
                    router_id: p.peer_router_id.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
                    ebgp: p.remote_as != local_as,
                    entry: e,
                })
            });
            self.loc.select(k, cands);
        }
        let now = Instant::now();
        for k in keys.iter().filter(|k| k.code() == 2) {
            self.sync_import(now, k);
            self.core_import(k);
        }
        for k in keys.iter().filter(|k| k.code() == 5) {
            self.rt5_import(k);
            self.core_import(k);
        }
        for k in keys.iter().filter(|k| k.code() == 1) {
            self.core_ad_import(k);
        }
        for k in keys.iter().filter(|k| k.code() == 7) {
            self.rt7_import(k, lost);
        }
        self.rebuild_routes();
        self.sync.stats.rt8_received += keys.iter().filter(|k| k.code() == 8).count() as u64;
        if es {
            self.es_update(now, true);
        }
    }

    /// The best path of route key `k`: the peer it came from and its Adj-RIB-In entry.
    fn best(
        &self,
        k: &crate::bgp::packet::evpn::EvpnRoute,
    ) -> Option<(IpAddr, &crate::bgp::rib::Entry)> {
        let peer = *self.loc.best.get(k)?;
        Some((peer, self.peers.get(&peer)?.rib.routes.get(k)?))
    }

    /// Where a sync route (RT-2, ESI-based RT-5, RT-7) of ES `esi` and Ethernet Tag `tag`
    /// lands (L3MH §2.5.2, §2.6.2): the interface of that (ES, tag) and its VRF, if the
    /// route's RTs (or ES-Import RT + EVI-RT) import into that VRF.
    fn sync_landing(
        &self,
        esi: &config::Esi,
        tag: u32,
        ecs: &[crate::bgp::packet::ecomm::ExtCommunity],
    ) -> Result<(IfaceId, VrfId), Skip> {
        let si = self
            .segments
            .iter()
            .position(|s| s.esi == *esi && !esi.is_zero())
            .ok_or(Skip::NotOurEs)?;
        let iface = *self
            .sync
            .es_tag_iface
            .get(&(si, tag))
            .ok_or(Skip::UnknownTag)?;
        let vrf = self.topo.ifaces[usize::from(iface)].vrf;
        if !crate::evpn::sync_imports(&self.cfg, usize::from(vrf), esi, ecs) {
            return Err(Skip::NotImported);
        }
        Ok((iface, vrf))
    }

    /// Where the best path of RT-2 `k` lands: (VRF, neighbour, MAC, peer); None (counted)
    /// when it is not a sync route for us.
    fn sync_target(
        &mut self,
        k: &crate::bgp::packet::evpn::EvpnRoute,
    ) -> Option<(VrfId, NeighKey, MacAddr, IpAddr)> {
        use crate::bgp::packet::evpn::EvpnRoute;
        let (peer, e) = self.best(k)?;
        let EvpnRoute::MacIp {
            esi, tag, mac, ip, ..
        } = &e.route
        else {
            return None;
        };
        let (mac, ip) = (MacAddr(*mac), *ip);
        let landing = self.sync_landing(esi, *tag, &e.ext_communities);
        let st = &mut self.sync.stats;
        let (iface, vrf) = match (landing, ip) {
            (Err(Skip::NotOurEs), _) => {
                st.rt2_not_our_es += 1;
                return None;
            }
            (_, None) => {
                st.rt2_mac_only += 1;
                return None;
            }
            (Err(Skip::UnknownTag), _) => {
                st.rt2_unknown_tag += 1;
                return None;
            }
            (Err(Skip::NotImported), _) => {
                st.rt2_not_imported += 1;
                return None;
            }
            (Ok(l), Some(_)) => l,
        };
        Some((vrf, NeighKey { iface, ip: ip? }, mac, peer))
    }

    /// Installs, moves or removes the neighbour a received RT-2 stands for (L3MH §2.5.2).
    fn sync_import(&mut self, now: Instant, k: &crate::bgp::packet::evpn::EvpnRoute) {
        let want = self.sync_target(k);
        let old = self.sync.installed.get(k).copied();
        if old == want {
            return;
        }
        if let Some((vrf, key, _, _)) = old {
            self.sync.installed.remove(k);
            // Another route (another peer's RD) may still stand for the same neighbour.
            if release(&mut self.sync.installed_refs, (vrf, key)) {
                self.neigh.sync_remove(vrf, key);
            }
            self.sync.stats.rt2_removed += 1;
        }
        if let Some((vrf, key, mac, peer)) = want {
            self.sync.installed.insert(k.clone(), (vrf, key, mac, peer));
            *self.sync.installed_refs.entry((vrf, key)).or_default() += 1;
            self.sync.stats.rt2_installed += 1;
            if let Some(a) = self.neigh.sync_add(now, vrf, key, mac, peer) {
                self.act(a);
            }
        }
        self.publish_dirty();
    }

    /// An IGMP message from an L3 interface (the IPv4 packet): memberships change.
    fn igmp_rx(&mut self, now: Instant, vrf: VrfId, iface: IfaceId, ip: &[u8]) {
        use dataplane::wire::igmp::{self, Igmp};
        let Some(&b0) = ip.first() else { return };
        if b0 >> 4 == 6 {
            self.mld_rx(now, vrf, iface, ip);
            return;
        }
        let ihl = usize::from(b0 & 0x0f) * 4;
        let Some(msg) = ip.get(ihl..) else { return };
        let key =
            |source: Option<std::net::Ipv4Addr>, group: std::net::Ipv4Addr| crate::mcast::Key {
                vrf,
                iface,
                source: source.map(IpAddr::V4),
                group: IpAddr::V4(group),
            };
        match igmp::parse(msg) {
            Ok(Igmp::Report { version, group }) => {
                self.mcast.report(now, key(None, group), version.max(2))
            }
            Ok(Igmp::Leave { group }) => self.local_leave(now, key(None, group)),
            Ok(Igmp::V3Report { n, records }) => {
                for r in igmp::records(n, records) {
                    let group = key(None, r.group);
                    self.group_record(now, group, r.kind, r.sources().map(IpAddr::V4), 3);
                }
            }
            Ok(Igmp::Query { .. }) => {}
            Err(_) => self.mcast.bad += 1,
        }
        self.sync_mcast_local();
    }

    /// One IGMPv3 / MLDv2 group record for (*,`group`) (RFC 3376 §4.2.12 / RFC 3810 §5.2.12,
    /// the same record types): exclude {} joins (*,G), include {} leaves it, allow/include with
    /// sources joins (S,G), block leaves (S,G).
    fn group_record(
        &mut self,
        now: Instant,
        group: crate::mcast::Key,
        kind: u8,
        sources: impl Iterator<Item = IpAddr>,
        version: u8,
    ) {
        use dataplane::wire::igmp::record;
        let sg = |s: IpAddr| crate::mcast::Key {
            source: Some(s),
            ..group
        };
        let mut srcs = sources.peekable();
        match (kind, srcs.peek().is_some()) {
            (record::MODE_IS_EXCLUDE | record::CHANGE_TO_EXCLUDE, _) => {
                self.mcast.report(now, group, version)
            }
            (record::CHANGE_TO_INCLUDE | record::MODE_IS_INCLUDE, false) => {
                self.local_leave(now, group)
            }
            (record::BLOCK_OLD_SOURCES, _) => {
                for s in srcs {
                    self.local_leave(now, sg(s));
                }
            }
            (_, _) => {
                for s in srcs {
                    self.mcast.report(now, sg(s), version);
                }
            }
        }
    }

    /// An MLD message (IPv6 packet): memberships change, as for IGMP (MLDv1 = version 1, MLDv2
    /// = version 2; the record types are IGMPv3's).
    fn mld_rx(&mut self, now: Instant, vrf: VrfId, iface: IfaceId, ip: &[u8]) {
        use dataplane::wire::mld::{self, Mld};
        let key =
            |source: Option<std::net::Ipv6Addr>, group: std::net::Ipv6Addr| crate::mcast::Key {
                vrf,
                iface,
                source: source.map(IpAddr::V6),
                group: IpAddr::V6(group),
            };
        let parsed = mld::locate(ip).map(|(s, d, msg)| mld::parse(msg, &s, &d));
        match parsed {
            // Link-scope groups (ff02::/16) are not routed: nothing to sync.
            Some(Ok(Mld::Report { group })) if group.segments()[0] & 0x000f != 2 => {
                self.mcast.report(now, key(None, group), 1)
            }
            Some(Ok(Mld::Done { group })) => self.local_leave(now, key(None, group)),
            Some(Ok(Mld::V2Report { n, records })) => {
                for r in mld::records(n, records) {
                    if r.group.segments()[0] & 0x000f == 2 {
                        continue;
                    }
                    let group = key(None, r.group);
                    self.group_record(now, group, r.kind, r.sources().map(IpAddr::V6), 2);
                }
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => self.mcast.bad += 1,
        }
        self.sync_mcast_local();
    }

    /// Turns local membership changes on ES interfaces into our RT-7/RT-8s.
    fn sync_mcast_local(&mut self) {
        let changes = self.mcast.take_changes();
        let Some(rid) = self.cfg.bgp.as_ref().map(|b| b.router_id) else {
            return;
        };
        let mut dirty = false;
        for (k, c) in changes {
            let Some(&(si, tag)) = self.sync.iface_es.get(&k.iface) else {
                continue;
            };
            let esi = self.segments[si].esi;
            let build = |version, leaving| {
                crate::evpn::sync_mcast(
                    &self.cfg,
                    rid,
                    usize::from(k.vrf),
                    esi,
                    tag,
                    k.source,
                    k.group,
                    version,
                    leaving,
                )
            };
            match c {
                crate::mcast::Local::Join { version } => {
                    let r = build(version, None);
                    self.sync.local_mcast.insert(k, r);
                }
                crate::mcast::Local::Leaving {
                    version,
                    max_response,
                } => {
                    let r = build(version, Some(max_response));
                    self.sync.local_mcast.insert(k, r);
                }
                crate::mcast::Local::Gone => {
                    self.sync.local_mcast.remove(&k);
                }
            }
            dirty = true;
        }
        if dirty {
            self.publish_local();
        }
    }

    /// Installs or removes the membership a received RT-7 stands for (L3MH §2.6.2).
    fn rt7_import(&mut self, k: &crate::bgp::packet::evpn::EvpnRoute, lost: bool) {
        use crate::bgp::packet::evpn::EvpnRoute;
        let want = (|| {
            let (peer, e) = self.best(k)?;
            let EvpnRoute::JoinSync { m, esi, flags } = &e.route else {
                return None;
            };
            let Ok((iface, vrf)) = self.sync_landing(esi, m.tag, &e.ext_communities) else {
                self.sync.stats.rt7_not_ours += 1;
                return None;
            };
            let key = crate::mcast::Key {
                vrf,
                iface,
                source: m.source,
                group: m.group,
            };
            Some((key, peer, crate::evpn::mcast_version(m.group, *flags)))
        })();
        let old = self.sync.mcast_installed.get(k).copied();
        if old == want.map(|(key, p, _)| (key, p)) {
            return;
        }
        if let Some((key, _)) = old {
            self.sync.mcast_installed.remove(k);
            if release(&mut self.sync.mcast_refs, key) {
                if lost {
                    // The peer failed: keep the group flowing and ask the hosts to report.
                    let hold = self.mcast.timers.membership.min(Duration::from_secs(30));
                    self.mcast.sync_lost(Instant::now(), key, hold);
                    self.send_query(key.iface, None, key.group.is_ipv6());
                    self.sync_mcast_local();
                } else {
                    self.mcast.sync_remove(key);
                }
            }
            self.sync.stats.rt7_removed += 1;
        }
        if let Some((key, peer, version)) = want {
            self.sync.mcast_installed.insert(k.clone(), (key, peer));
            *self.sync.mcast_refs.entry(key).or_default() += 1;
            self.mcast.sync_join(key, peer, version);
            self.sync.stats.rt7_installed += 1;
        }
    }

    /// Rebuilds each VRF's multicast forwarding table from the memberships (local and
    /// synced) and the DF results: an interface on an Ethernet Segment forwards a group only
    /// from the DF of its (ES, VLAN), so the CE gets each packet once (L3MH §1.2); every PE
    /// holds the state, so a DF change takes effect at once. Publishes the VRFs that changed.
    fn mcast_refresh(&mut self) {
        let n = self.cfg.vrfs.len();
        let mut tables: Vec<dataplane::tables::McastTable> = (0..n)
            .map(|vi| dataplane::tables::McastTable {
                upstream: self.cfg.vrfs[vi]
                    .multicast_upstream
                    .iter()
                    .filter_map(|u| self.topo.iface_by_name(u.as_str()).map(|i| i.id))
                    .collect(),
                routes: Default::default(),
                routes6: Default::default(),
            })
            .collect();
        for (k, _) in self.mcast.iter() {
            let forwards = match self.sync.iface_es.get(&k.iface) {
                Some(&(si, tag)) => self.segments[si].election.is_df(tag),
                None => true,
            };
            let Some(t) = tables.get_mut(usize::from(k.vrf)) else {
                continue;
            };
            if !forwards {
                continue;
            }
            let oifs = match (k.group, k.source) {
                (IpAddr::V4(g), Some(IpAddr::V4(s))) => {
                    t.routes.entry((u32::from(s), u32::from(g))).or_default()
                }
                (IpAddr::V4(g), None) => t.routes.entry((0, u32::from(g))).or_default(),
                (IpAddr::V6(g), Some(IpAddr::V6(s))) => {
                    t.routes6.entry((u128::from(s), u128::from(g))).or_default()
                }
                (IpAddr::V6(g), None) => t.routes6.entry((0, u128::from(g))).or_default(),
                _ => continue,
            };
            if !oifs.contains(&k.iface) {
                oifs.push(k.iface);
                oifs.sort_unstable();
            }
        }
        for (vi, t) in tables.into_iter().enumerate() {
            if *self.mcast_tables[vi] != t {
                self.mcast_tables[vi] = Arc::new(t);
                self.republish.push(vi as VrfId);
            }
        }
        self.publish_dirty();
    }

    /// A local leave: if it starts the last-member phase, ask the remaining members with a
    /// group-specific query (RFC 2236 §3 / RFC 2710 §4), answered within the max response time.
    fn local_leave(&mut self, now: Instant, k: crate::mcast::Key) {
        if self.mcast.leave(now, k) {
            self.send_query(k.iface, Some(k.group), k.group.is_ipv6());
        }
    }

    /// Sends a query on `iface`: general (`group` None) or group-specific; IGMPv2 from the
    /// interface's first IPv4 address, or MLDv1 from its link-local address behind a
    /// Hop-by-Hop Router Alert. Max response time 1 s.
    fn send_query(&mut self, iface: IfaceId, group: Option<IpAddr>, v6: bool) {
        use dataplane::buffer::PacketBuf;
        use dataplane::wire::{ethernet, icmp, igmp, ipv4, ipv6, mld};
        let Some(ifc) = self.topo.ifaces.get(usize::from(iface)).cloned() else {
            return;
        };
        let Some(mut m) = Mbuf::alloc(&self.pool) else {
            self.stats.mbuf_alloc_failed += 1;
            return;
        };
        let (dst_mac, et) = if v6 {
            let dst: [u8; 16] = match group {
                Some(IpAddr::V6(g)) => g.octets(),
                _ => std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1).octets(),
            };
            if !m.append(ipv6::HDR + 8 + 24) {
                return;
            }
            let d = m.data_mut();
            ipv6::emit(d, &ifc.link_local, &dst, 0, 1, 8 + 24);
            // Hop-by-Hop: next = ICMPv6, Router Alert (MLD), PadN.
            d[40..48].copy_from_slice(&[58, 0, 5, 2, 0, 0, 1, 0]);
            let msg = &mut d[48..72];
            msg.fill(0);
            msg[0] = mld::QUERY;
            msg[4..6].copy_from_slice(&1000u16.to_be_bytes());
            if group.is_some() {
                msg[8..24].copy_from_slice(&dst);
            }
            icmp::v6_fill_checksum(msg, &ifc.link_local, &dst);
            (ipv6::multicast_mac(&dst), ethernet::ethertype::IPV6)
        } else {
            let Some(src) = ifc.v4.first().map(|(a, _)| *a) else {
                return;
            };
            let (dst, g) = match group {
                Some(IpAddr::V4(g)) => (g, g),
                _ => (
                    std::net::Ipv4Addr::new(224, 0, 0, 1),
                    std::net::Ipv4Addr::UNSPECIFIED,
                ),
            };
            if !m.append(ipv4::MIN_HDR + 8) {
                return;
            }
            let d = m.data_mut();
            ipv4::emit(d, src, dst, ipv4::PROTO_IGMP, 1, 8);
            igmp::emit_query(&mut d[ipv4::MIN_HDR..], 10, g);
            (ipv4::multicast_mac(dst), ethernet::ethertype::IPV4)
        };
        if self.send_l2(iface, dst_mac, et, m) {
            self.mcast.queries_sent += 1;
        }
    }

    /// Periodic general queries (RFC 2236: every 125 s) on the ES interfaces this PE is the
    /// DF of, so one PE per (ES, VLAN) queries and memberships are refreshed.
    fn igmp_querier(&mut self, now: Instant) {
        if now < self.next_query {
            return;
        }
        self.next_query = now + Duration::from_secs(125);
        let ifaces: Vec<IfaceId> = self
            .sync
            .iface_es
            .iter()
            .filter(|(_, &(si, tag))| self.segments[si].election.is_df(tag))
            .map(|(i, _)| *i)
            .collect();
        for i in ifaces {
            self.send_query(i, None, false);
            self.send_query(i, None, true);
        }
    }

    fn mcast_views(&self) -> serde_json::Value {
        let now = Instant::now();
        let mut v: Vec<serde_json::Value> = self
            .mcast
            .iter()
            .map(|(k, m)| {
                serde_json::json!({
                    "vrf": self.topo.vrf_names[usize::from(k.vrf)],
                    "interface": self.topo.ifaces[usize::from(k.iface)].name,
                    "source": k.source.map(|s| s.to_string()),
                    "group": k.group.to_string(),
                    "version": m.version,
                    "local": m.local_until.is_some(),
                    "leaving": m.leaving,
                    "expires_ms": m.local_until.map(|t| t.saturating_duration_since(now).as_millis() as u64),
                    "synced_from": m.synced.map(|p| p.to_string()),
                })
            })
            .collect();
        v.sort_by_key(|x| x.to_string());
        serde_json::json!({
            "memberships": v,
            "igmp": {"reports": self.mcast.reports, "leaves": self.mcast.leaves, "malformed": self.mcast.bad, "queries_sent": self.mcast.queries_sent},
        })
    }

    /// Where the best path of RT-5 `k` lands as a CE route (L3MH §2.7), or None.
    fn rt5_target(&mut self, k: &crate::bgp::packet::evpn::EvpnRoute) -> Option<SyncedRoute> {
        use crate::bgp::packet::evpn::EvpnRoute;
        let (peer, e) = self.best(k)?;
        let EvpnRoute::IpPrefix {
            esi,
            tag,
            prefix,
            len,
            gw,
            ..
        } = &e.route
        else {
            return None;
        };
        let prefix = config::Prefix::new(*prefix, *len);
        if !esi.is_zero() {
            // ESI-based: the interface from (ESI, tag); the CE next hop is the one neighbour
            // known there (the draft leaves this open: evpn-procedures.md §7 point 5).
            let Ok((iface, vrf)) = self.sync_landing(esi, *tag, &e.ext_communities) else {
                self.sync.stats.rt5_not_ours += 1;
                return None;
            };
            // The segment's own subnet from an ES peer (IP aliasing toward the core) is no
            // CE route: it stays an overlay route (the local repair path).
            if self.topo.ifaces[usize::from(iface)]
                .subnets()
                .any(|p| p == prefix)
            {
                self.sync.stats.rt5_not_ours += 1;
                return None;
            }
            let mut ns = self
                .neigh
                .entries()
                .filter(|((v, n), _)| {
                    *v == vrf && n.iface == iface && n.ip.is_ipv4() == prefix.addr().is_ipv4()
                })
                .map(|((_, n), _)| n.ip);
            let (Some(gw), None) = (ns.next(), ns.next()) else {
                if self.sync.rt5_waiting.insert(k.clone()) {
                    self.sync.stats.rt5_no_ce_neighbour += 1;
                }
                return None;
            };
            return Some(SyncedRoute {
                vrf,
                prefix,
                iface,
                gw,
                peer,
            });
        }
        // Gateway-based: an ES interface with the route's tag whose subnet holds the GW IP, in
        // a VRF the route imports into.
        let found = self.sync.iface_es.iter().find_map(|(&iface, &(si, t))| {
            let ifc = &self.topo.ifaces[usize::from(iface)];
            (t == *tag
                && ifc.subnet_addr(*gw).is_some()
                && crate::evpn::sync_imports(
                    &self.cfg,
                    usize::from(ifc.vrf),
                    &self.segments[si].esi,
                    &e.ext_communities,
                ))
            .then_some((iface, ifc.vrf))
        });
        let Some((iface, vrf)) = found else {
            self.sync.stats.rt5_not_ours += 1;
            return None;
        };
        Some(SyncedRoute {
            vrf,
            prefix,
            iface,
            gw: *gw,
            peer,
        })
    }

    /// Installs, changes or removes the CE route a received RT-5 stands for.
    fn rt5_import(&mut self, k: &crate::bgp::packet::evpn::EvpnRoute) {
        let was_waiting = self.sync.rt5_waiting.remove(k);
        let want = self.rt5_target(k);
        if was_waiting {
            self.sync.rt5_waiting.insert(k.clone());
            if want.is_some() || !self.loc.best.contains_key(k) {
                self.sync.rt5_waiting.remove(k);
            }
        }
        let old = self.sync.rt5.get(k).copied();
        if old == want {
            return;
        }
        if let Some(o) = old {
            self.sync.rt5.remove(k);
            self.sync.stats.rt5_removed += 1;
            self.sync.fib_stale.push(o.vrf);
        }
        if let Some(w) = want {
            self.sync.rt5.insert(k.clone(), w);
            self.sync.stats.rt5_installed += 1;
            self.sync.fib_stale.push(w.vrf);
        }
    }

    /// Rebuilds, once per batch of changes, the FIB of every VRF whose synced or overlay
    /// routes changed; our routes toward the core follow.
    fn rebuild_routes(&mut self) {
        let mut dirty = std::mem::take(&mut self.sync.fib_stale);
        dirty.sort_unstable();
        dirty.dedup();
        let mut core = std::mem::take(&mut self.sync.core_stale);
        core.sort_unstable();
        core.dedup();
        core.retain(|v| dirty.binary_search(v).is_err());
        let any = !dirty.is_empty();
        let mut rebuilt: Vec<VrfId> = dirty.clone();
        let mut groups_only: Vec<VrfId> = Vec::new();
        for v in dirty {
            self.build_routes(v);
        }
        for v in core {
            let vi = usize::from(v);
            let old = &self.overlays[vi];
            let (routes, ov) = self.core.build(v, old.router_mac);
            if routes == self.overlay_routes[vi] {
                // Same prefixes on the same groups: swap the groups only (mass withdraw).
                if *self.overlays[vi] != ov {
                    self.overlays[vi] = Arc::new(ov);
                    self.republish.push(v);
                    self.stats.group_only_updates += 1;
                    groups_only.push(v);
                }
            } else {
                self.build_routes(v);
                rebuilt.push(v);
            }
        }
        if any && self.vxlan.is_some() {
            self.publish_local();
        }
        self.publish_dirty();
        let pending = std::mem::take(&mut self.es_pending);
        if pending.is_empty() || (groups_only.is_empty() && rebuilt.is_empty()) {
            return;
        }
        let names = |v: &[VrfId]| -> Vec<String> {
            v.iter()
                .map(|v| self.topo.vrf_names[usize::from(*v)].clone())
                .collect()
        };
        let detail = format!(
            "published: groups rewritten in {:?}, FIB rebuilt in {:?}",
            names(&groups_only),
            names(&rebuilt)
        );
        for esi in pending {
            self.es_events.record(esi, "fib-updated", detail.clone());
        }
    }

    /// Recomputes VRF `v`'s FIB and overlay groups (published with the next snapshot).
    fn build_routes(&mut self, v: VrfId) {
        let vi = usize::from(v);
        let synced: Vec<_> = self
            .sync
            .rt5
            .values()
            .filter(|r| r.vrf == v)
            .map(|r| (r.prefix, r.iface, r.gw))
            .collect();
        let old = &self.overlays[vi];
        let (overlay, ov) = self.core.build(v, old.router_mac);
        let learned = build::Learned {
            synced: &synced,
            overlay: &overlay,
            down: &self.down_ifaces,
        };
        self.routes[vi] = Arc::new(build::routes_with(&self.cfg, &self.topo, v, &learned));
        self.overlay_routes[vi] = overlay;
        self.stats.fib_builds += 1;
        if *self.overlays[vi] != ov {
            self.overlays[vi] = Arc::new(ov);
        }
        self.republish.push(v);
    }

    /// A received RT-5 (or symmetric-IRB RT-2) that is not a sync route for us: an overlay
    /// route of the VRFs it imports into, through the advertising PE's tunnel or segment.
    /// Host routes of our own segments never are (the host is on our interface).
    fn core_import(&mut self, k: &crate::bgp::packet::evpn::EvpnRoute) {
        use crate::bgp::packet::evpn::EvpnRoute;
        if self.vxlan.is_none() {
            return;
        }
        let own = self.vxlan.as_ref().map(|x| x.source);
        let synced = self.sync.rt5.contains_key(k)
            || self.sync.rt5_waiting.contains(k)
            || self.sync.installed.contains_key(k);
        let want = match self.best(k) {
            _ if synced => Ok(Vec::new()),
            Some((_, e)) => match &e.route {
                EvpnRoute::MacIp { esi, .. } if self.segments.iter().any(|s| s.esi == *esi) => {
                    Ok(Vec::new())
                }
                _ => crate::overlay::remote_paths(&self.cfg, e, own),
            },
            None => Ok(Vec::new()),
        };
        let changed = self.core.set(k, want);
        self.sync.core_stale.extend(changed);
    }

    /// A received RT-1: an A-D route of the EVPN core (IP aliasing, mass withdraw).
    fn core_ad_import(&mut self, k: &crate::bgp::packet::evpn::EvpnRoute) {
        if self.vxlan.is_none() {
            return;
        }
        let own = self.vxlan.as_ref().map(|x| x.source);
        let want = self
            .best(k)
            .and_then(|(_, e)| crate::overlay::remote_ad(&self.cfg, e, own));
        use crate::overlay::Ad;
        match (self.core.ad(k), &want) {
            (Some(Ad::Es { esi, vtep, .. }), None) => {
                let (esi, d) = (*esi, format!("A-D per ES withdrawn by {vtep}"));
                self.es_events.record(esi, "withdraw-received", d);
                self.es_pending.push(esi);
            }
            (None, Some(Ad::Es { esi, vtep, .. })) => {
                let (esi, d) = (*esi, format!("A-D per ES from {vtep}"));
                self.es_events.record(esi, "ad-received", d);
                self.es_pending.push(esi);
            }
            _ => {}
        }
        let changed = self.core.set_ad(k, want);
        self.sync.core_stale.extend(changed);
    }

    /// Links changed (LACP, ES up/down): interfaces whose link lost its last member leave
    /// the FIB, so traffic for their subnets takes the overlay route through the other PEs
    /// of the segment (local repair) until the remote PEs converge; our core routes for them
    /// are withdrawn.
    fn links_changed(&mut self) {
        let down: Vec<IfaceId> = self
            .topo
            .ifaces
            .iter()
            .filter(|i| {
                self.links
                    .get(usize::from(i.link))
                    .is_some_and(|l| l.members.is_empty())
            })
            .map(|i| i.id)
            .collect();
        if down == self.down_ifaces {
            return;
        }
        let mut vrfs: Vec<VrfId> = down
            .iter()
            .chain(&self.down_ifaces)
            .filter(|i| !(down.contains(i) && self.down_ifaces.contains(i)))
            .map(|i| self.topo.ifaces[usize::from(*i)].vrf)
            .collect();
        vrfs.sort_unstable();
        vrfs.dedup();
        tracing::info!(?down, "interfaces without a link member changed");
        let newly: Vec<(IfaceId, bool)> = down
            .iter()
            .filter(|i| !self.down_ifaces.contains(i))
            .map(|i| (*i, true))
            .chain(
                self.down_ifaces
                    .iter()
                    .filter(|i| !down.contains(i))
                    .map(|i| (*i, false)),
            )
            .collect();
        self.down_ifaces = down;
        for v in vrfs {
            self.build_routes(v);
        }
        for (i, is_down) in newly {
            let Some(&(si, _)) = self.sync.iface_es.get(&i) else {
                continue;
            };
            let ifc = &self.topo.ifaces[usize::from(i)];
            let vi = usize::from(ifc.vrf);
            // Where the interface's subnets go now: the overlay group of the same prefix.
            let via: Vec<String> = ifc
                .subnets()
                .filter_map(|p| {
                    let g = self.overlay_routes[vi].iter().find(|(q, _)| *q == p)?.1;
                    let ts = self.overlays[vi].groups.get(g as usize)?;
                    let vteps: Vec<String> = ts.iter().map(|t| t.vtep.to_string()).collect();
                    Some(format!("{p} via {}", vteps.join("+")))
                })
                .collect();
            let (what, detail) = if is_down {
                let to = if via.is_empty() {
                    "no overlay route: dropped".to_string()
                } else {
                    via.join(", ")
                };
                ("redirect", format!("{}: {to}", ifc.name))
            } else {
                ("redirect-end", ifc.name.clone())
            };
            self.es_events.record(self.segments[si].esi, what, detail);
        }
        if self.vxlan.is_some() {
            self.publish_local();
        }
    }

    /// Our routes toward the EVPN core, per VRF with an L3 VNI: connected subnets, static
    /// routes and synced CE routes whose interface is up, except the prefixes our sync RT-5s
    /// already carry (with a VNI they double as core routes).
    fn local_core(
        &self,
        rid: std::net::Ipv4Addr,
        sync: &[(VrfId, IfaceId, crate::evpn::Local)],
    ) -> Vec<crate::evpn::Local> {
        use crate::bgp::packet::evpn::EvpnRoute;
        let mut out = Vec::new();
        let synced: std::collections::HashSet<(VrfId, config::Prefix)> = sync
            .iter()
            .filter_map(|(v, _, l)| match &l.route {
                EvpnRoute::IpPrefix { prefix, len, .. } => {
                    Some((*v, config::Prefix::new(*prefix, *len)))
                }
                _ => None,
            })
            .collect();
        for (vi, v) in self.cfg.vrfs.iter().enumerate() {
            if v.vni.is_none() {
                continue;
            }
            let vid = vi as VrfId;
            let up = |i: &IfaceId| !self.down_ifaces.contains(i);
            // With IP aliasing, a prefix behind a segment that is up carries its ESI.
            let esi_of = |i: IfaceId| {
                self.sync
                    .iface_es
                    .get(&i)
                    .map(|(si, _)| &self.segments[*si])
                    .filter(|s| v.ip_aliasing && s.up)
                    .map_or(config::Esi::ZERO, |s| s.esi)
            };
            let mut prefixes: std::collections::BTreeMap<config::Prefix, config::Esi> =
                Default::default();
            for i in self
                .topo
                .ifaces
                .iter()
                .filter(|i| i.vrf == vid && up(&i.id))
            {
                for p in i.subnets() {
                    prefixes.insert(p, esi_of(i.id));
                }
            }
            for r in &v.routes {
                let through = r.via.and_then(|gw| self.topo.iface_on_subnet(vid, gw));
                match through {
                    Some(i) if up(&i.id) => {
                        prefixes.insert(r.prefix, esi_of(i.id));
                    }
                    None if r.blackhole => {
                        prefixes.insert(r.prefix, config::Esi::ZERO);
                    }
                    _ => {}
                }
            }
            for r in self
                .sync
                .rt5
                .values()
                .filter(|r| r.vrf == vid && up(&r.iface))
            {
                prefixes.insert(r.prefix, esi_of(r.iface));
            }
            for (p, esi) in prefixes {
                if !synced.contains(&(vid, p)) {
                    out.push(crate::evpn::core_rt5(&self.cfg, rid, vi, p, esi));
                }
            }
        }
        out
    }

    /// Our RT-5s: static routes whose next hop is a CE on an ES interface (L3MH §2.7).
    fn local_rt5(&self, rid: std::net::Ipv4Addr) -> Vec<(VrfId, IfaceId, crate::evpn::Local)> {
        let mut out = Vec::new();
        for (vi, v) in self.cfg.vrfs.iter().enumerate() {
            for r in &v.routes {
                let Some(gw) = r.via else { continue };
                let Some(ifc) = self.topo.iface_on_subnet(vi as VrfId, gw) else {
                    continue;
                };
                let Some(&(si, tag)) = self.sync.iface_es.get(&ifc.id) else {
                    continue;
                };
                if !self.segments[si].up {
                    continue;
                }
                out.push((
                    ifc.vrf,
                    ifc.id,
                    crate::evpn::sync_rt5(
                        &self.cfg,
                        rid,
                        vi,
                        self.segments[si].esi,
                        tag,
                        r.prefix,
                        gw,
                    ),
                ));
            }
        }
        out
    }

    /// Turns the neighbour table's local changes on ES interfaces into our RT-2s (L3MH
    /// §2.5.1): one per local neighbour, withdrawn when it ages out here.
    fn sync_local(&mut self) {
        let changes = self.neigh.take_local_changes();
        let Some(rid) = self.cfg.bgp.as_ref().map(|b| b.router_id) else {
            return;
        };
        let mut dirty = false;
        for ((vrf, key), mac) in changes {
            let Some(&(si, tag)) = self.sync.iface_es.get(&key.iface) else {
                continue;
            };
            match mac {
                Some(mac) => {
                    let l = crate::evpn::sync_rt2(
                        &self.cfg,
                        rid,
                        usize::from(vrf),
                        self.segments[si].esi,
                        tag,
                        mac,
                        key.ip,
                    );
                    self.sync.local_rt2.insert((vrf, key), l);
                }
                None => {
                    self.sync.local_rt2.remove(&(vrf, key));
                }
            }
            dirty = true;
        }
        if dirty {
            self.publish_local();
        }
    }

    /// `show bgp neighbor X`: the summary row plus configuration, the received routes per
    /// type and how many of them are best paths.
    fn bgp_neighbor(&self, address: &str) -> Result<serde_json::Value, String> {
        let ip: IpAddr = address
            .parse()
            .map_err(|_| format!("`{address}` is not an IP address"))?;
        let p = self
            .peers
            .get(&ip)
            .ok_or_else(|| format!("no BGP neighbour {ip}"))?;
        let mut v = peer_row(&ip, p);
        let mut by_type = std::collections::BTreeMap::<u8, (u64, u64)>::new();
        for (k, e) in &p.rib.routes {
            let t = by_type.entry(e.route.code()).or_default();
            t.0 += 1;
            t.1 += u64::from(self.loc.best.get(k) == Some(&ip));
        }
        v["received_by_type"] = by_type
            .iter()
            .map(|(t, (n, best))| serde_json::json!({"type": t, "routes": n, "best": best}))
            .collect::<Vec<_>>()
            .into();
        if let Some(n) = self
            .cfg
            .bgp
            .as_ref()
            .and_then(|b| b.neighbors.iter().find(|n| n.address == ip))
        {
            v["config"] = serde_json::json!({
                "hold_time": n.hold_time, "connect_retry_s": n.connect_retry_s, "port": n.port,
                "tcp_md5": n.password.is_some(), "ttl_security_hops": n.ttl_security_hops,
                "max_prefix": n.max_prefix,
            });
        }
        Ok(v)
    }

    fn bgp_summary(&self) -> serde_json::Value {
        let v: Vec<serde_json::Value> = self.peers.iter().map(|(a, p)| peer_row(a, p)).collect();
        serde_json::json!({
            "loc_rib_routes": self.loc.best.len(),
            "loc_rib_changes": self.loc.changes,
            "asn": self.cfg.bgp.as_ref().map(|b| b.asn),
            "router_id": self.cfg.bgp.as_ref().map(|b| b.router_id.to_string()),
            "neighbors": v,
        })
    }

    fn evpn_routes(&self, route_type: Option<u8>) -> serde_json::Value {
        let mut v: Vec<serde_json::Value> = self
            .peers
            .iter()
            .flat_map(|(a, p)| {
                p.rib
                    .routes
                    .values()
                    .filter(|e| route_type.is_none_or(|t| e.route.code() == t))
                    .map(|e| {
                        let best = self.loc.best.get(&e.route.key()) == Some(a);
                        crate::bgp::rib::route_json(*a, e, best)
                    })
            })
            .collect();
        v.sort_by_key(|r| {
            (
                r["type"].as_u64(),
                r["rd"].as_str().map(String::from),
                r.to_string(),
            )
        });
        serde_json::Value::Array(v)
    }

    /// Handles queued events, polls links when due, publishes what changed; true when
    /// there were events (more are likely: stay on the short tick).
    fn drain_events(&mut self, now: Instant) -> bool {
        let mut popped = 0;
        for _ in 0..4096 {
            let Some(ev) = self.queues.events.pop() else {
                break;
            };
            popped += 1;
            self.stats.events += 1;
            match ev {
                Event::Learn {
                    vrf,
                    iface,
                    ip,
                    mac,
                } => {
                    self.stats.learned += 1;
                    if let Some(a) = self.neigh.learn(now, vrf, NeighKey { iface, ip }, mac) {
                        self.act(a);
                    }
                }
                Event::Resolve {
                    vrf,
                    iface,
                    ip,
                    ethertype,
                    pkt,
                } => {
                    self.stats.resolve_requests += 1;
                    // A packet handed back could not be held: the table counts it.
                    let (a, _back) =
                        self.neigh
                            .resolve(now, vrf, NeighKey { iface, ip }, ethertype, pkt);
                    if let Some(a) = a {
                        self.act(a);
                    }
                }
                Event::Membership { vrf, iface, pkt } => {
                    self.igmp_rx(now, vrf, iface, dataplane::buffer::PacketBuf::data(&pkt));
                }
                Event::Punt { port, pkt } => {
                    self.stats.slow_protocol_frames += 1;
                    self.lacp_rx(now, port, dataplane::buffer::PacketBuf::data(&pkt));
                }
            }
        }
        self.sync_local();
        if now >= self.next_link_poll {
            self.next_link_poll = now + LINK_POLL;
            self.link_poll(now);
        }
        self.publish_dirty();
        popped > 0
    }

    /// Carrier of the LACP members between the 100 ms timer ticks: a member going down is
    /// acted on (bundle, segment, local repair, withdrawals) within `LINK_POLL`.
    fn link_poll(&mut self, now: Instant) {
        let mut flips = Vec::new();
        for (bi, b) in self.bundles.iter().enumerate() {
            for (j, m) in b.lacp.members.iter().enumerate() {
                let up = self.port_up(m.port);
                if up != m.link_up {
                    flips.push((bi, j, up));
                }
            }
        }
        if flips.is_empty() {
            return;
        }
        for (bi, j, up) in flips {
            let b = &mut self.bundles[bi];
            let port = b.lacp.members[j].port;
            b.lacp.link(now, j, up);
            if let Some(si) = b.segment {
                let name = self.ports[usize::from(port)].name.clone();
                let what = if up { "member-up" } else { "member-down" };
                self.es_events.record(self.segments[si].esi, what, name);
            }
        }
        self.lacp_tick(now);
        self.es_update(now, false);
    }

    fn timers(&mut self, now: Instant) {
        for a in self.neigh.tick(now) {
            self.act(a);
        }
        self.sync_local();
        self.mcast.tick(now);
        self.sync_mcast_local();
        self.igmp_querier(now);
        self.mcast_refresh();
        // ESI-based RT-5s wait for their CE neighbour.
        let waiting: Vec<_> = self.sync.rt5_waiting.iter().cloned().collect();
        for k in waiting {
            self.rt5_import(&k);
        }
        self.rebuild_routes();
        self.lacp_tick(now);
        self.es_update(now, false);
        self.publish_dirty();
        self.publisher.reclaim();
    }

    /// Runs the Ethernet Segments: operational state from the member links (LACP: a member
    /// that hears its partner), peers from the RT-4s received, the DF timer, and the results:
    /// the routes we originate and, in port-active mode, the bundle's LACP role.
    /// `rescan`: the peers' RT-4s may have changed (an UPDATE carried one, a session ended).
    fn es_update(&mut self, now: Instant, rescan: bool) {
        let mut routes_changed = false;
        let mut flipped = Vec::new();
        for si in 0..self.segments.len() {
            let bi = self.segments[si].bundle;
            let up = match self.bundles.iter().find(|b| b.segment == Some(si)) {
                Some(b) => b
                    .lacp
                    .members
                    .iter()
                    .any(|m| m.link_up && m.rx == lacp::RxState::Current),
                None => self.topo.links.iter().any(|l| {
                    l.name == self.cfg.bundles[bi].name.as_str()
                        && l.members.iter().any(|p| self.port_up(*p))
                }),
            };
            // An `auto` ESI: type 1 from the CE's LACP system and key, once heard.
            if self.segments[si].auto {
                let derived = self
                    .bundles
                    .iter()
                    .find(|b| b.segment == Some(si))
                    .and_then(|b| b.lacp.aggregator)
                    .map(|(_, sys, key)| config::Esi::from_lacp(sys, key));
                let s = &mut self.segments[si];
                if let Some(esi) = derived.filter(|e| *e != s.esi) {
                    tracing::info!(es = %s.name, %esi, "ESI derived from the CE's LACP");
                    s.set_up(now, false);
                    s.esi = esi;
                    s.election.esi = esi;
                    routes_changed = true;
                }
            }
            let up = up && !self.segments[si].esi.is_zero();
            let s = &mut self.segments[si];
            if s.set_up(now, up) {
                tracing::info!(es = %s.name, esi = %s.esi, up, "ethernet segment");
                routes_changed = true;
                flipped.push((s.esi, up));
                let what = if up { "es-up" } else { "es-down" };
                self.es_events.record(s.esi, what, s.name.clone());
            }
            if rescan {
                let remote = s.remote(self.peers.values().map(|p| &p.rib));
                if s.election.set_remote(now, remote) {
                    tracing::info!(es = %s.name, candidates = ?s.election.candidates.keys().collect::<Vec<_>>(), "ES peers changed");
                }
            }
            s.election.poll(now);
        }
        self.apply_roles(now);
        if routes_changed {
            self.publish_local();
            for (esi, up) in flipped {
                let (what, detail) = if up {
                    (
                        "routes-advertised",
                        "RT-4, A-D per ES and per EVI, RT-5 behind the segment",
                    )
                } else {
                    (
                        "routes-withdrawn",
                        "RT-4, A-D per ES (mass withdraw) and per EVI, RT-5 behind the segment",
                    )
                };
                self.es_events.record(esi, what, detail.into());
            }
        }
    }

    /// Gives every LACP bundle the role `desired_role` says (port-active: from the DF).
    fn apply_roles(&mut self, now: Instant) {
        for b in &mut self.bundles {
            let want = desired_role(b, &self.segments);
            if want != b.lacp.role {
                tracing::info!(bundle = %b.name, role = ?want, "bundle role");
                b.lacp.set_role(now, want);
                if let Some(s) = b.segment.map(|i| &mut self.segments[i]) {
                    s.df_since = Some(now);
                }
                self.links_dirty = true;
            }
        }
    }

    /// Publishes the routes we originate to the sessions (each diffs it with what it sent).
    fn publish_local(&mut self) {
        let up: Vec<_> = self
            .segments
            .iter()
            .filter(|s| s.up)
            .map(|s| s.esi)
            .collect();
        let routes = crate::evpn::local_routes(&self.cfg, |b| {
            self.segments
                .iter()
                .find(|s| s.name == b.name.as_str() && s.up)
                .map(|s| s.esi)
        });
        let rt2 = self.sync.local_rt2.values().filter(|l| match &l.route {
            crate::bgp::packet::evpn::EvpnRoute::MacIp { esi, .. } => up.contains(esi),
            _ => false,
        });
        let rt5 = match self.cfg.bgp.as_ref() {
            Some(b) => self.local_rt5(b.router_id),
            None => Vec::new(),
        };
        let core = match self.cfg.bgp.as_ref() {
            Some(b) => self.local_core(b.router_id, &rt5),
            None => Vec::new(),
        };
        let mcast = self
            .sync
            .local_mcast
            .values()
            .flatten()
            .filter(|l| match &l.route {
                crate::bgp::packet::evpn::EvpnRoute::JoinSync { esi, .. }
                | crate::bgp::packet::evpn::EvpnRoute::LeaveSync { esi, .. } => up.contains(esi),
                _ => false,
            });
        let map: std::collections::HashMap<_, _> = routes
            .iter()
            .chain(rt2)
            .chain(mcast)
            .chain(rt5.iter().map(|(_, _, l)| l))
            .chain(core.iter())
            .map(|l| (l.route.key(), l.clone()))
            .collect();
        tracing::info!(routes = map.len(), "local EVPN routes");
        self.local_tx.send_replace(Arc::new(map));
    }

    fn lacp_rx(&mut self, now: Instant, port: PortIdx, frame: &[u8]) {
        let Some((bi, mi)) = self
            .bundles
            .iter()
            .enumerate()
            .find_map(|(i, b)| b.lacp.index_of(port).map(|j| (i, j)))
        else {
            return; // slow protocols on a port outside a LACP bundle: counted, ignored
        };
        let pdu = dataplane::wire::ethernet::parse(frame)
            .ok()
            .and_then(|e| frame.get(e.len..))
            .and_then(|p| dataplane::wire::lacp::Lacpdu::parse(p).ok());
        let b = &mut self.bundles[bi];
        match pdu {
            Some(pdu) => b.lacp.rx(now, mi, &pdu),
            None => b.lacp_bad += 1,
        }
        self.lacp_sync();
    }

    /// Whether a wire port's link is up: the PMD's view, and for af_packet ports (whose PMD
    /// says up from start to stop) the kernel interface's carrier.
    fn port_up(&self, p: PortIdx) -> bool {
        let Some(info) = self.ports.get(usize::from(p)) else {
            return false;
        };
        port::link_up(info.dpdk_port)
            && self
                .kernel_ifs
                .get(usize::from(p))
                .and_then(|n| n.as_deref())
                .and_then(port::kernel_carrier)
                .unwrap_or(true)
    }

    /// The LACP machines' periodic work (carrier changes come from `link_poll`).
    fn lacp_tick(&mut self, now: Instant) {
        let mut out = Vec::new();
        for b in &mut self.bundles {
            for (j, pdu) in b.lacp.tick(now) {
                out.push((b.lacp.members[j].port, pdu));
            }
        }
        for (port, pdu) in out {
            self.send_lacpdu(port, &pdu);
        }
        self.lacp_sync();
    }

    fn send_lacpdu(&mut self, port: PortIdx, pdu: &dataplane::wire::lacp::Lacpdu) {
        use dataplane::buffer::PacketBuf;
        use dataplane::wire::{ethernet, lacp as wl};
        let Some(mut m) = Mbuf::alloc(&self.pool) else {
            self.stats.mbuf_alloc_failed += 1;
            return;
        };
        if !m.append(ethernet::ETH_HDR + wl::LEN) {
            return;
        }
        let src = self.ports[usize::from(port)].mac;
        let d = m.data_mut();
        ethernet::emit(d, wl::DST, src, None, ethernet::ethertype::SLOW);
        pdu.emit(&mut d[ethernet::ETH_HDR..]);
        self.inject(port, m);
    }

    /// Mirrors each bundle's distributing members into the published links and the
    /// collecting gate of its ports.
    fn lacp_sync(&mut self) {
        for b in &self.bundles {
            let dist = b.lacp.distributing();
            let link = &mut self.links[usize::from(b.link)];
            if link.members != dist {
                tracing::info!(bundle = %b.name, members = ?dist, "distributing members changed");
                link.members = dist.clone();
                for m in &b.lacp.members {
                    self.ports[usize::from(m.port)].collecting = dist.contains(&m.port);
                }
                self.links_dirty = true;
            }
        }
        self.publish_dirty();
    }

    fn publish_dirty(&mut self) {
        if self.links_dirty {
            self.links_changed();
        }
        let mut dirty = self.neigh.take_dirty();
        dirty.append(&mut self.republish);
        dirty.sort_unstable();
        dirty.dedup();
        if dirty.is_empty() && !self.links_dirty {
            return;
        }
        self.links_dirty = false;
        for v in dirty {
            let old = &self.vrfs[usize::from(v)];
            let neigh = self.neigh.vrf_map(v);
            let adj = VrfTables::adjacency(&self.routes[usize::from(v)], &neigh);
            self.vrfs[usize::from(v)] = Arc::new(VrfTables {
                id: v,
                name: old.name.clone(),
                routes: self.routes[usize::from(v)].clone(),
                adj: Arc::new(adj),
                neigh: Arc::new(neigh),
                host_port: old.host_port,
                host_mac: old.host_mac,
                mcast: self.mcast_tables[usize::from(v)].clone(),
                overlay: self.overlays[usize::from(v)].clone(),
            });
        }
        let snap = Snapshot {
            version: 0,
            ports: self.ports.clone(),
            links: self.links.clone(),
            ifaces: self.topo.ifaces.clone(),
            vrfs: self.vrfs.clone(),
            vxlan: self.vxlan.clone(),
        };
        self.publisher.publish(snap);
        self.stats.publishes += 1;
    }

    fn inject(&mut self, port: PortIdx, pkt: Mbuf) {
        // Any worker may transmit; spread by port so one port's frames stay in order.
        let w = usize::from(port) % self.queues.inject.len();
        if self.queues.inject[w].push((port, pkt)).is_err() {
            self.stats.inject_full += 1;
        }
    }

    fn send_l2(&mut self, iface: u16, mac: MacAddr, et: u16, mut pkt: Mbuf) -> bool {
        let snap = self.publisher.current();
        match pipeline::l2_output(&snap, &self.ctl, iface, mac, et, 0.into(), &mut pkt) {
            Verdict::Tx(port) => {
                self.inject(port, pkt);
                true
            }
            _ => false,
        }
    }

    fn act(&mut self, a: Action<Mbuf>) {
        match a {
            Action::Solicit { key, .. } => {
                let Some(ifc) = self.topo.ifaces.get(usize::from(key.iface)).cloned() else {
                    return;
                };
                let Some(mut m) = Mbuf::alloc(&self.pool) else {
                    self.stats.mbuf_alloc_failed += 1;
                    return;
                };
                if !m.append(pipeline::SOLICIT_LEN) {
                    return;
                }
                if let Some((dst, et)) = pipeline::emit_solicit(&ifc, key.ip, &mut m) {
                    if self.send_l2(key.iface, dst, et, m) {
                        self.stats.solicits_sent += 1;
                    }
                }
            }
            Action::Release {
                key, mac, packets, ..
            } => {
                for (et, p) in packets {
                    if self.send_l2(key.iface, mac, et, p) {
                        self.stats.held_released += 1;
                    }
                }
            }
            Action::Expire { .. } => {} // counted by the neighbour table
        }
    }

    /// Leaves the network gracefully while the dataplane still runs: LACP out of sync on every
    /// bundle (the CE moves its traffic now, not after its LACP timeout) and a Cease to every
    /// BGP peer (the other PEs of our segments re-elect now, not after their hold time).
    async fn leave(
        &mut self,
        peer_rx: &mut mpsc::Receiver<(IpAddr, crate::bgp::session::PeerEvent)>,
    ) {
        let now = Instant::now();
        for b in &mut self.bundles {
            b.cli = Some(Role::Standby); // also keeps the DF election from re-activating it
            b.lacp.set_role(now, Role::Standby);
        }
        self.lacp_tick(now);
        self.stop_tx.send_replace(true);
        let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
        while self
            .peers
            .values()
            .any(|p| p.state.is_some_and(|s| s != crate::bgp::fsm::State::Idle))
        {
            match tokio::time::timeout_at(deadline, peer_rx.recv()).await {
                Ok(Some((peer, ev))) => self.peer_event(peer, ev),
                _ => break,
            }
        }
        // The out-of-sync LACPDUs may wait for the transmit rate limit (≤ 333 ms); then let
        // the workers transmit what was queued.
        let deadline = Instant::now() + Duration::from_millis(400);
        while self.bundles.iter().any(|b| b.lacp.tx_pending()) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
            self.lacp_tick(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    fn shutdown(&mut self) {
        tracing::info!("shutting down");
        for (_, s) in &self.workers {
            s.shutdown.store(true, Relaxed);
        }
        for (h, _) in self.workers.drain(..) {
            let _ = h.join();
        }
        for p in &self.ports {
            port::stop(p.dpdk_port);
        }
        for ns in &self.host_netns {
            hostif::teardown(ns);
        }
    }

    fn vrf_filter(&self, vrf: &Option<String>) -> Result<Option<VrfId>, String> {
        match vrf {
            None => Ok(None),
            Some(n) => self
                .topo
                .vrf_id(n)
                .map(Some)
                .ok_or_else(|| format!("no VRF named `{n}`")),
        }
    }

    pub fn handle(&mut self, req: Request) -> Reply {
        let v = match req {
            Request::Version => Ok(serde_json::json!({
                "name": self.cfg.name.to_string(),
                "version": env!("CARGO_PKG_VERSION"),
                "uptime_s": self.started.elapsed().as_secs(),
                "workers": self.workers.len(),
            })),
            Request::Interfaces => Ok(serde_json::to_value(self.interfaces()).unwrap_or_default()),
            Request::Routes { vrf } => self
                .vrf_filter(&vrf)
                .map(|f| serde_json::to_value(self.route_views(f)).unwrap_or_default()),
            Request::Neighbors { vrf } => self
                .vrf_filter(&vrf)
                .map(|f| serde_json::to_value(self.neighbor_views(f)).unwrap_or_default()),
            Request::Counters => Ok(self.counters()),
            Request::Bundles => Ok(self.bundle_views()),
            Request::BgpSummary => Ok(self.bgp_summary()),
            Request::BgpNeighbor { address } => self.bgp_neighbor(&address),
            Request::EvpnRoutes { route_type } => Ok(self.evpn_routes(route_type)),
            Request::Es => Ok(self.es_views()),
            Request::Sync => Ok(self.sync_view()),
            Request::Core => Ok(self.core_view()),
            Request::EsEvents { es } => self.es_event_view(&es),
            Request::Multicast => Ok(self.mcast_views()),
            Request::SetBundle { name, role } => self.set_bundle(&name, role.as_deref()),
        };
        match v {
            Ok(v) => Reply::Ok(v),
            Err(e) => Reply::Error(e),
        }
    }

    fn set_bundle(&mut self, name: &str, role: Option<&str>) -> Result<serde_json::Value, String> {
        let b = self
            .bundles
            .iter_mut()
            .find(|b| b.name == name)
            .ok_or_else(|| format!("no LACP bundle named `{name}`"))?;
        b.cli = match role {
            Some("active") => Some(Role::Active),
            Some("standby") => Some(Role::Standby),
            Some("auto") | None => None,
            Some(x) => return Err(format!("role `{x}`: use active, standby or auto")),
        };
        tracing::info!(bundle = %name, role = ?b.cli, "bundle role set (None: auto)");
        self.apply_roles(Instant::now());
        let r = self
            .bundles
            .iter()
            .find(|b| b.name == name)
            .map(|b| b.lacp.role);
        self.lacp_tick(Instant::now());
        Ok(serde_json::json!({ "bundle": name, "role": r }))
    }

    /// What was sent and received per Ethernet Segment, with the route behind each entry.
    fn sync_view(&self) -> serde_json::Value {
        use crate::bgp::packet::evpn::EvpnRoute;
        use serde_json::json;
        let ifname = |i: IfaceId| self.topo.ifaces[usize::from(i)].name.clone();
        let vrfname = |v: VrfId| self.topo.vrf_names[usize::from(v)].clone();
        let segs: Vec<serde_json::Value> = self
            .segments
            .iter()
            .enumerate()
            .map(|(si, seg)| {
                let mut sent: Vec<serde_json::Value> = Vec::new();
                for ((vrf, k), l) in &self.sync.local_rt2 {
                    let EvpnRoute::MacIp {
                        rd, esi, tag, mac, ..
                    } = &l.route
                    else {
                        continue;
                    };
                    if *esi != seg.esi {
                        continue;
                    }
                    let communities: Vec<String> = l
                        .communities
                        .iter()
                        .map(crate::bgp::rib::ecomm_string)
                        .collect();
                    sent.push(json!({
                        "type": 2, "vrf": vrfname(*vrf), "interface": ifname(k.iface),
                        "ip": k.ip.to_string(), "mac": MacAddr(*mac).to_string(), "tag": tag,
                        "rd": rd.to_string(), "advertised": seg.up, "communities": communities,
                    }));
                }
                if let Some(b) = self.cfg.bgp.as_ref() {
                    for (vrf, iface, l) in self.local_rt5(b.router_id) {
                        let EvpnRoute::IpPrefix {
                            rd, tag, prefix, len, gw, esi, ..
                        } = &l.route else {
                            continue;
                        };
                        if self.sync.iface_es.get(&iface).is_none_or(|(s, _)| *s != si) {
                            continue;
                        }
                        sent.push(json!({
                            "type": 5, "vrf": vrfname(vrf), "interface": ifname(iface),
                            "prefix": format!("{prefix}/{len}"), "gw": gw.to_string(),
                            "tag": tag, "esi_based": !esi.is_zero(), "rd": rd.to_string(),
                            "communities": l.communities.iter().map(crate::bgp::rib::ecomm_string).collect::<Vec<_>>(),
                        }));
                    }
                }
                sent.sort_by_key(|v| v["ip"].as_str().map(String::from));
                let mut received: Vec<serde_json::Value> = Vec::new();
                for (route, (vrf, k, mac, peer)) in &self.sync.installed {
                    if self
                        .sync
                        .iface_es
                        .get(&k.iface)
                        .is_none_or(|(s, _)| *s != si)
                    {
                        continue;
                    }
                    let EvpnRoute::MacIp { rd, tag, .. } = route else {
                        continue;
                    };
                    received.push(json!({
                        "type": 2, "vrf": vrfname(*vrf), "interface": ifname(k.iface),
                        "ip": k.ip.to_string(), "mac": mac.to_string(), "tag": tag,
                        "from": peer.to_string(), "rd": rd.to_string(),
                    }));
                }
                for (route, r) in &self.sync.rt5 {
                    if self.sync.iface_es.get(&r.iface).is_none_or(|(s, _)| *s != si) {
                        continue;
                    }
                    let EvpnRoute::IpPrefix { rd, tag, esi, .. } = route else {
                        continue;
                    };
                    received.push(json!({
                        "type": 5, "vrf": vrfname(r.vrf), "interface": ifname(r.iface),
                        "prefix": r.prefix.to_string(), "gw": r.gw.to_string(), "tag": tag,
                        "esi_based": !esi.is_zero(), "from": r.peer.to_string(), "rd": rd.to_string(),
                    }));
                }
                received.sort_by_key(|v| v["ip"].as_str().map(String::from));
                json!({"name": seg.name, "esi": seg.esi.to_string(), "up": seg.up,
                       "sent": sent, "received": received})
            })
            .collect();
        json!({"segments": segs, "counters": serde_json::to_value(&self.sync.stats).unwrap_or_default()})
    }

    fn es_views(&self) -> serde_json::Value {
        let now = Instant::now();
        serde_json::Value::Array(
            self.segments
                .iter()
                .enumerate()
                .map(|(si, s)| {
                    let mut v = s.view(now);
                    if let Some(b) = self.bundles.iter().find(|b| b.segment == Some(si)) {
                        v["bundle_role"] = serde_json::json!(b.lacp.role);
                    }
                    v
                })
                .collect(),
        )
    }

    fn bundle_views(&self) -> serde_json::Value {
        let v: Vec<serde_json::Value> = self
            .bundles
            .iter()
            .map(|b| {
                let members: Vec<serde_json::Value> = b
                    .lacp
                    .members
                    .iter()
                    .map(|m| {
                        let a = b.lacp.actor(m);
                        serde_json::json!({
                            "port": self.ports[usize::from(m.port)].name,
                            "port_number": m.port_number,
                            "link_up": m.link_up,
                            "rx_state": m.rx,
                            "mux_state": m.mux,
                            "selected": m.selected,
                            "distributing": self.links[usize::from(b.link)].members.contains(&m.port),
                            "actor_state": a.state,
                            "actor_state_bits": state_bits(a.state),
                            "partner": {
                                "system_priority": m.partner.system_priority,
                                "system": m.partner.system.to_string(),
                                "key": m.partner.key,
                                "port_priority": m.partner.port_priority,
                                "port": m.partner.port,
                                "state": m.partner.state,
                                "state_bits": state_bits(m.partner.state),
                            },
                            "lacpdus_rx": m.pdus_rx,
                            "lacpdus_tx": m.pdus_tx,
                            "state_changes": m.state_changes,
                        })
                    })
                    .collect();
                serde_json::json!({
                    "name": b.name,
                    "role": b.lacp.role,
                    "system": b.lacp.conf.system.to_string(),
                    "system_priority": b.lacp.conf.system_priority,
                    "key": b.lacp.conf.key,
                    "aggregator_partner": b.lacp.aggregator.map(|(p, s, k)| serde_json::json!({"system_priority": p, "system": s.to_string(), "key": k})),
                    "lacpdus_malformed": b.lacp_bad,
                    "members": members,
                })
            })
            .collect();
        serde_json::Value::Array(v)
    }

    fn worker_sum(&self, f: impl Fn(&Counters) -> u64) -> u64 {
        self.workers.iter().map(|(_, s)| f(&s.counters)).sum()
    }

    fn interfaces(&self) -> Vec<InterfaceView> {
        self.topo
            .ifaces
            .iter()
            .map(|i| {
                let link = &self.topo.links[usize::from(i.link)];
                let up = link.members.iter().any(|p| self.port_up(*p));
                let c = |f: fn(
                    &dataplane::counters::IfaceCounters,
                ) -> &std::sync::atomic::AtomicU64| {
                    self.worker_sum(|w| f(&w.ifaces[usize::from(i.id)]).load(Relaxed))
                };
                InterfaceView {
                    name: i.name.clone(),
                    link: link.name.clone(),
                    vlan: i.vlan,
                    vrf: self.topo.vrf_names[usize::from(i.vrf)].clone(),
                    mac: i.mac.to_string(),
                    mtu: i.mtu,
                    addresses: i.addrs().map(|(a, l)| format!("{a}/{l}")).collect(),
                    up,
                    rx_packets: c(|x| &x.rx_packets),
                    rx_bytes: c(|x| &x.rx_bytes),
                    tx_packets: c(|x| &x.tx_packets),
                    tx_bytes: c(|x| &x.tx_bytes),
                }
            })
            .collect()
    }

    fn route_views(&self, only: Option<VrfId>) -> Vec<RouteView> {
        let mut out = Vec::new();
        for (vi, v) in self.cfg.vrfs.iter().enumerate() {
            if only.is_some_and(|o| usize::from(o) != vi) {
                continue;
            }
            let mut rows: Vec<RouteView> = Vec::new();
            for i in self.topo.ifaces.iter().filter(|i| usize::from(i.vrf) == vi) {
                for (a, l) in i.addrs() {
                    rows.push(RouteView {
                        vrf: v.name.to_string(),
                        prefix: config::Prefix::new(a, l).to_string(),
                        source: "connected".into(),
                        nexthop: None,
                        interface: Some(i.name.clone()),
                    });
                    let host = if a.is_ipv4() { 32 } else { 128 };
                    rows.push(RouteView {
                        vrf: v.name.to_string(),
                        prefix: format!("{a}/{host}"),
                        source: "local".into(),
                        nexthop: None,
                        interface: Some(i.name.clone()),
                    });
                }
            }
            for r in self.sync.rt5.values().filter(|r| usize::from(r.vrf) == vi) {
                rows.push(RouteView {
                    vrf: v.name.to_string(),
                    prefix: r.prefix.to_string(),
                    source: format!("evpn-sync:{}", r.peer),
                    nexthop: Some(r.gw.to_string()),
                    interface: Some(self.topo.ifaces[usize::from(r.iface)].name.clone()),
                });
            }
            for r in &v.routes {
                let iface = r
                    .via
                    .and_then(|gw| self.topo.iface_on_subnet(vi as VrfId, gw));
                rows.push(RouteView {
                    vrf: v.name.to_string(),
                    prefix: r.prefix.to_string(),
                    source: if r.blackhole {
                        "static-blackhole".into()
                    } else {
                        "static".into()
                    },
                    nexthop: r.via.map(|g| g.to_string()),
                    interface: iface.map(|i| i.name.clone()),
                });
            }
            out.extend(rows);
        }
        out
    }

    fn neighbor_views(&self, only: Option<VrfId>) -> Vec<NeighborView> {
        let now = Instant::now();
        let mut v: Vec<NeighborView> = self
            .neigh
            .entries()
            .filter(|((vrf, _), _)| only.is_none_or(|o| o == *vrf))
            .map(|((vrf, k), e)| NeighborView {
                vrf: self.topo.vrf_names[usize::from(*vrf)].clone(),
                interface: self.topo.ifaces[usize::from(k.iface)].name.clone(),
                ip: k.ip.to_string(),
                mac: e.mac.to_string(),
                state: serde_json::to_value(e.state)
                    .ok()
                    .and_then(|s| s.as_str().map(String::from))
                    .unwrap_or_default(),
                age_ms: now.duration_since(e.confirmed).as_millis() as u64,
                origin: match (e.local, e.synced) {
                    (true, None) => "local".into(),
                    (false, Some(p)) => format!("synced:{p}"),
                    (true, Some(p)) => format!("local+synced:{p}"),
                    (false, None) => "none".into(),
                },
            })
            .collect();
        v.sort_by(|a, b| (&a.vrf, &a.interface, &a.ip).cmp(&(&b.vrf, &b.interface, &b.ip)));
        v
    }

    /// `show es X events`: X is a local segment's name or any ESI this PE has events for.
    fn es_event_view(&self, es: &str) -> Result<serde_json::Value, String> {
        let esi = match self.segments.iter().find(|s| s.name == es) {
            Some(s) => s.esi,
            None => es.parse::<config::Esi>().map_err(|_| {
                let known: Vec<String> = self
                    .segments
                    .iter()
                    .map(|s| s.name.clone())
                    .chain(self.es_events.esis().iter().map(|e| e.to_string()))
                    .collect();
                format!("no Ethernet Segment `{es}` (known: {})", known.join(", "))
            })?,
        };
        Ok(serde_json::json!({
            "esi": esi.to_string(),
            "events": self.es_events.get(&esi),
        }))
    }

    fn core_view(&self) -> serde_json::Value {
        let mut v = self.core.view(&self.topo.vrf_names);
        v["vxlan"] = match &self.vxlan {
            Some(x) => serde_json::json!({
                "source": x.source.to_string(),
                "udp-port": x.udp_port,
                "underlay": self.topo.vrf_names.get(usize::from(x.underlay)),
            }),
            None => serde_json::Value::Null,
        };
        v["local"] = self
            .overlays
            .iter()
            .zip(&self.cfg.vrfs)
            .filter_map(|(o, v)| {
                let vni = v.vni?;
                Some(serde_json::json!({ "vrf": v.name.as_str(), "vni": vni, "router-mac": o.router_mac.to_string(), "groups": o.groups.len() }))
            })
            .collect();
        v["down-interfaces"] = self
            .down_ifaces
            .iter()
            .map(|i| self.topo.ifaces[usize::from(*i)].name.clone())
            .collect();
        v
    }

    fn counters(&self) -> serde_json::Value {
        let drops: serde_json::Map<String, serde_json::Value> = DropReason::ALL
            .iter()
            .map(|r| {
                (
                    r.as_str().to_string(),
                    self.worker_sum(|c| c.drop_count(*r)).into(),
                )
            })
            .collect();
        let ports: Vec<serde_json::Value> = self
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let c = |f: fn(&dataplane::counters::PortCounters) -> &std::sync::atomic::AtomicU64| self.worker_sum(|w| f(&w.ports[i]).load(Relaxed));
                serde_json::json!({
                    "name": p.name,
                    "role": match p.role { PortRole::Wire { .. } => "wire", PortRole::Host { .. } => "host" },
                    "rx_packets": c(|x| &x.rx_packets),
                    "rx_bytes": c(|x| &x.rx_bytes),
                    "tx_packets": c(|x| &x.tx_packets),
                    "tx_bytes": c(|x| &x.tx_bytes),
                    "device": port::stats(p.dpdk_port),
                })
            })
            .collect();
        let workers: Vec<serde_json::Value> = self
            .workers
            .iter()
            .map(|(_, s)| {
                serde_json::json!({
                    "loops": s.loops.load(Relaxed),
                    "idle_sleeps": s.counters.idle_sleeps.load(Relaxed),
                    "punted": s.counters.punted.load(Relaxed),
                    "injected": s.counters.injected.load(Relaxed),
                })
            })
            .collect();
        serde_json::json!({
            "drops": drops,
            "ports": ports,
            "workers": workers,
            "vxlan": {
                "decapsulated": self.worker_sum(|c| c.vxlan_rx.load(Relaxed)),
                "encapsulated": self.worker_sum(|c| c.vxlan_tx.load(Relaxed)),
            },
            "control": self.stats,
            "neighbors_held": self.neigh.held(),
            "held_dropped": self.neigh.held_dropped,
            "mbufs_available": self.pool.available(),
            "snapshot_min_observed": self.publisher.min_observed(),
            "wire_ports": self.wire_ports.len(),
        })
    }
}
