//! Test description: a real EAL (no hugepages) and a real worker thread on a DPDK port made of
//! two rte_rings (a "wire" whose far end the test drives with tx/rx bursts). An ARP request
//! for the interface's address is answered on the wire, the sender is reported to control as a
//! learned neighbour, a TCP segment to our address goes to the VRF's host port, and a runt is a
//! named drop. Runs as any user: net_ring needs no privileges.

use config::MacAddr;
use dataplane::buffer::PacketBuf;
use dataplane::counters::DropReason;
use dataplane::eal::{self, Mempool};
use dataplane::mbuf::Mbuf;
use dataplane::port::{self, PortConf};
use dataplane::punt::{Event, Queues};
use dataplane::snapshot::Publisher;
use dataplane::tables::{build, PortInfo, PortRole, Snapshot, VrfTables};
use dataplane::wire::arp::ArpRepr;
use dataplane::wire::ethernet::{self, ethertype};
use dataplane::worker::{self, WorkerConf, WorkerShared};
use std::ffi::CString;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CFG: &str = r#"
name: t
ports: [{ name: p0, devargs: wireA, vrf: A, addresses: [192.0.2.1/24] }]
vrfs: [{ name: A }]
"#;

fn ring(name: &str) -> *mut sys::rte_ring {
    let n = CString::new(name).expect("name");
    // SAFETY: EAL is up; single-producer/single-consumer ring of 1024 slots.
    let r = unsafe {
        sys::rte_ring_create(
            n.as_ptr(),
            1024,
            sys::SOCKET_ID_ANY,
            sys::RING_F_SP_ENQ | sys::RING_F_SC_DEQ,
        )
    };
    assert!(!r.is_null(), "rte_ring_create {name}");
    r
}

fn from_rings(name: &str, rx: *mut sys::rte_ring, tx: *mut sys::rte_ring) -> u16 {
    let n = CString::new(name).expect("name");
    // SAFETY: valid rings; the PMD keeps the pointers (the rings live for the process).
    let id = unsafe { sys::rte_eth_from_rings(n.as_ptr(), &rx, 1, &tx, 1, 0) };
    assert!(id >= 0, "rte_eth_from_rings {name}");
    id as u16
}

fn send(port: u16, pool: &Mempool, frame: &[u8]) {
    let mut m = Mbuf::alloc(pool).expect("mbuf");
    assert!(m.append(frame.len()));
    m.data_mut().copy_from_slice(frame);
    let mut p = [m.into_raw()];
    // SAFETY: one valid mbuf; ownership passes to the PMD when sent.
    let n = unsafe { sys::shim_rte_eth_tx_burst(port, 0, p.as_mut_ptr(), 1) };
    assert_eq!(n, 1);
}

fn recv(port: u16, within: Duration) -> Option<Vec<u8>> {
    let end = Instant::now() + within;
    let mut p = [std::ptr::null_mut(); 1];
    while Instant::now() < end {
        // SAFETY: room for one pointer.
        if unsafe { sys::shim_rte_eth_rx_burst(port, 0, p.as_mut_ptr(), 1) } == 1 {
            // SAFETY: rx_burst handed us this mbuf.
            let m = unsafe { Mbuf::from_raw(p[0]) };
            return Some(m.data().to_vec());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

#[test]
fn worker_answers_arp_learns_and_counts_drops() {
    let args: Vec<String> = [
        "t",
        "-l",
        "0",
        "--no-huge",
        "-m",
        "128",
        "--no-shconf",
        "--no-pci",
        "--no-telemetry",
        "--log-level=lib.eal:error",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    eal::init(&args).expect("EAL");
    let pool = Mempool::create("test", 2047).expect("pool");
    let (a2b, b2a) = (ring("a2b"), ring("b2a"));
    let a = from_rings("wireA", b2a, a2b);
    let b = from_rings("wireB", a2b, b2a);
    let pa = port::setup(
        a,
        "wireA",
        &PortConf {
            devargs: "wireA",
            queues: 1,
            mtu: 1500,
            mac: None,
        },
        &pool,
    )
    .expect("port A");
    port::setup(
        b,
        "wireB",
        &PortConf {
            devargs: "wireB",
            queues: 1,
            mtu: 1500,
            mac: None,
        },
        &pool,
    )
    .expect("port B");
    let (h_in, h_out) = (ring("h_in"), ring("h_out"));
    let host = from_rings("host", h_in, h_out);
    let kernel = from_rings("kernel", h_out, h_in);
    let ph = port::setup(
        host,
        "host",
        &PortConf {
            devargs: "host",
            queues: 1,
            mtu: 1500,
            mac: None,
        },
        &pool,
    )
    .expect("host port");
    port::setup(
        kernel,
        "kernel",
        &PortConf {
            devargs: "kernel",
            queues: 1,
            mtu: 1500,
            mac: None,
        },
        &pool,
    )
    .expect("kernel port");

    let cfg = config::parse(CFG).expect("config");
    let topo = build::topology(&cfg, &[pa.mac]);
    let vrf = Arc::new(VrfTables {
        id: 0,
        name: "A".into(),
        routes: Arc::new(build::routes(&cfg, &topo, 0)),
        neigh: Arc::default(),
        host_port: Some(1),
        host_mac: MacAddr([2, 0, 0, 0, 9, 9]),
        mcast: Default::default(),
        overlay: Default::default(),
        adj: Default::default(),
    });
    let snap = Snapshot {
        version: 0,
        ports: vec![
            PortInfo {
                dpdk_port: a,
                name: "p0".into(),
                mac: pa.mac,
                role: PortRole::Wire { link: 0 },
                collecting: true,
            },
            PortInfo {
                dpdk_port: host,
                name: "host".into(),
                mac: ph.mac,
                role: PortRole::Host { vrf: 0 },
                collecting: true,
            },
        ],
        links: topo.links,
        ifaces: topo.ifaces,
        vrfs: vec![vrf],
        vxlan: None,
    };
    let mut publ = Publisher::new(snap, 1);
    let sub = publ.subscribe().expect("slot");
    let queues = Arc::new(Queues::new(1, 64, 64));
    let shared = Arc::new(WorkerShared::default());
    let conf = WorkerConf {
        index: 0,
        queue: 0,
        idle_polls: 64,
        idle_sleep: Duration::from_micros(200),
        punt_rate: 1000,
    };
    let (q, s) = (queues.clone(), shared.clone());
    let w = std::thread::spawn(move || worker::run(conf, sub, q, s));

    // ARP request from a host on the wire.
    let host_mac = MacAddr([2, 0, 0, 0, 1, 1]);
    let mut f = vec![0u8; 14 + 28];
    ethernet::emit(&mut f, MacAddr::BROADCAST, host_mac, None, ethertype::ARP);
    ArpRepr {
        op: 1,
        sha: host_mac,
        spa: Ipv4Addr::new(192, 0, 2, 10),
        tha: MacAddr::ZERO,
        tpa: Ipv4Addr::new(192, 0, 2, 1),
    }
    .emit(&mut f[14..]);
    send(b, &pool, &f);
    let reply = recv(b, Duration::from_secs(5)).expect("an ARP reply on the wire");
    let eth = ethernet::parse(&reply).expect("ethernet");
    assert_eq!(
        (eth.dst, eth.src, eth.ethertype),
        (host_mac, pa.mac, ethertype::ARP)
    );
    let arp = ArpRepr::parse(&reply[14..]).expect("arp");
    assert_eq!(
        (arp.op, arp.spa, arp.tpa),
        (2, Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 10))
    );
    match queues.events.pop() {
        Some(Event::Learn {
            vrf: 0,
            iface: 0,
            ip,
            mac,
        }) => {
            assert_eq!(
                (ip, mac),
                (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), host_mac)
            )
        }
        _ => panic!("expected a Learn event"),
    }

    // TCP SYN-sized packet to our address: to the host port, with the kernel side's MAC.
    let mut ip = vec![0u8; 20 + 20];
    dataplane::wire::ipv4::emit(
        &mut ip,
        Ipv4Addr::new(192, 0, 2, 10),
        Ipv4Addr::new(192, 0, 2, 1),
        6,
        64,
        20,
    );
    let mut f = vec![0u8; 14];
    ethernet::emit(&mut f, pa.mac, host_mac, None, ethertype::IPV4);
    f.extend_from_slice(&ip);
    send(b, &pool, &f);
    let punted = recv(kernel, Duration::from_secs(5)).expect("the segment on the host port");
    let eth = ethernet::parse(&punted).expect("ethernet");
    assert_eq!(
        (eth.dst, eth.src, eth.ethertype),
        (MacAddr([2, 0, 0, 0, 9, 9]), ph.mac, ethertype::IPV4)
    );
    assert_eq!(
        &punted[14..],
        &ip[..],
        "the IP packet is handed over untouched"
    );

    // A runt is a named drop.
    send(b, &pool, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end && shared.counters.drop_count(DropReason::Runt) == 0 {
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(shared.counters.drop_count(DropReason::Runt), 1);

    shared.shutdown.store(true, Relaxed);
    w.join().expect("worker");
    drop(publ);
}
