//! Every decoder a frame from the network reaches (Ethernet, 802.1Q, ARP, IPv4, IPv6, ICMP,
//! ICMPv6/ND, UDP/VXLAN and the inner frame) through the real pipeline, on a wire port, a
//! VLAN trunk and a host TAP. VRF 0 is also the VXLAN underlay (VNI 5000 = the last VRF).
//! The first byte picks the port; the rest is the frame. The pipeline must never panic.
#![no_main]

use dataplane::buffer::TestBuf;
use dataplane::counters::Counters;
use dataplane::pipeline::{process, Ctx};
use dataplane::tables::{build, NeighKey, PortInfo, PortRole, Snapshot, VrfTables};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

fn snapshot() -> &'static Snapshot {
    static S: OnceLock<Snapshot> = OnceLock::new();
    S.get_or_init(|| {
        let cfg = config::parse(include_str!("../../config/examples/figure3.yaml")).expect("example config");
        let macs = [config::MacAddr([2, 0, 0, 0, 0, 0x10]), config::MacAddr([2, 0, 0, 0, 0, 0x11]), config::MacAddr([2, 0, 0, 0, 0, 0x12])];
        let topo = build::topology(&cfg, &macs);
        let vrfs = (0..topo.vrf_names.len() as u16)
            .map(|v| {
                let mut neigh = dataplane::tables::NeighTable::default();
                neigh.insert(NeighKey { iface: 0, ip: "198.51.100.10".parse().expect("ip") }, config::MacAddr([2, 0, 0, 0, 2, 1]));
                Arc::new(VrfTables {
                    id: v,
                    name: topo.vrf_names[usize::from(v)].clone(),
                    routes: Arc::new(build::routes(&cfg, &topo, v)),
                    neigh: Arc::new(neigh),
                    host_port: Some(3 + v),
                    host_mac: config::MacAddr([2, 0, 0, 0, 9, v as u8]),
                    mcast: Default::default(),
                    adj: Default::default(),
                    overlay: Arc::new(dataplane::tables::Overlay { router_mac: config::MacAddr([2, 0, 0, 0, 0x50, 0]), groups: Vec::new() }),
                })
            })
            .collect();
        let mut ports: Vec<PortInfo> = macs
            .iter()
            .enumerate()
            .map(|(i, m)| PortInfo { dpdk_port: i as u16, name: format!("p{i}"), mac: *m, role: PortRole::Wire { link: topo.port_link[i] }, collecting: true })
            .collect();
        for v in 0..2u16 {
            ports.push(PortInfo { dpdk_port: 3 + v, name: format!("h{v}"), mac: config::MacAddr([2, 0, 0, 0, 8, v as u8]), role: PortRole::Host { vrf: v }, collecting: true });
        }
        let source = topo.ifaces.iter().filter(|i| i.vrf == 0).find_map(|i| i.v4.first()).map(|a| a.0).unwrap_or(std::net::Ipv4Addr::new(192, 0, 2, 1));
        let last = topo.vrf_names.len() as u16 - 1;
        let vxlan = Some(Arc::new(dataplane::tables::Vxlan { source, underlay: 0, udp_port: 4789, ttl: 64, vni: [(5000, last)].into_iter().collect() }));
        Snapshot { version: 1, ports, links: topo.links, ifaces: topo.ifaces, vrfs, vxlan }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, frame)) = data.split_first() else { return };
    let snap = snapshot();
    let ctr = Counters::default();
    let mut learned = Vec::new();
    let mut buf = TestBuf::from_slice(frame);
    let port = u16::from(sel) % snap.ports.len() as u16;
    let _ = process(&mut Ctx { snap, ctr: &ctr, sink: &mut learned }, port, &mut buf);
});
