//! tandem-bond-peer: DPDK's own 802.3ad implementation (net_bonding mode 4) as an LACP partner
//! for tests: a second implementation nobody here wrote. It polls the bond (the driver runs
//! LACP from its rx/tx bursts and a 100 ms alarm), discards what it receives, and writes the
//! driver's view as JSON every 200 ms: active (distributing) slaves and per-slave 802.3ad state.
//!
//! tandem-bond-peer <EAL args with --vdev=net_bonding0,mode=4,slave=...> -- --secs N --status FILE

use anyhow::{bail, Context, Result};
use dataplane::eal::{self, Mempool};
use dataplane::port::{self, PortConf};
use std::ffi::{CStr, CString};
use std::time::{Duration, Instant};

fn name_of(port: u16) -> String {
    let mut buf = [0 as std::os::raw::c_char; 64];
    // SAFETY: the buffer is RTE_ETH_NAME_MAX_LEN (64) bytes.
    unsafe { sys::rte_eth_dev_get_name_by_port(port, buf.as_mut_ptr()) };
    // SAFETY: NUL-terminated by DPDK.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// `struct port_params` is packed: priority(2) system(6) key(2) port priority(2) port(2),
/// network byte order. bindgen keeps it opaque (it holds an aligned type), so read the bytes.
fn params(p: &sys::port_params) -> (u16, String, u16, u16) {
    // SAFETY: port_params is 14 plain bytes.
    let b: &[u8] = unsafe {
        std::slice::from_raw_parts(
            p as *const _ as *const u8,
            std::mem::size_of::<sys::port_params>(),
        )
    };
    let mut m = [0u8; 6];
    m.copy_from_slice(&b[2..8]);
    (
        u16::from_be_bytes([b[0], b[1]]),
        config::MacAddr(m).to_string(),
        u16::from_be_bytes([b[8], b[9]]),
        u16::from_be_bytes([b[12], b[13]]),
    )
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let split = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let (eal_args, own) = (&args[..split], &args[(split + 1).min(args.len())..]);
    let mut secs = 60u64;
    let mut timeout_ms = 0u32;
    let mut status = String::from("bond-peer.json");
    let mut it = own.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--secs" => secs = it.next().context("--secs N")?.parse()?,
            "--status" => status = it.next().context("--status FILE")?.clone(),
            // The driver always announces a long timeout; this shortens what "long" means, so
            // the bond notices a silent partner in this many ms (a CE's LACP timeout).
            "--timeout-ms" => timeout_ms = it.next().context("--timeout-ms N")?.parse()?,
            x => bail!("unknown argument {x}"),
        }
    }
    eal::init(eal_args)?;
    let pool = Mempool::create("peer", 4095)?;
    let name = CString::new("net_bonding0")?;
    let mut bond = 0u16;
    // SAFETY: out-pointer to a local.
    if unsafe { sys::rte_eth_dev_get_port_by_name(name.as_ptr(), &mut bond) } != 0 {
        bail!("no net_bonding0: pass --vdev=net_bonding0,mode=4,slave=...");
    }
    if timeout_ms > 0 {
        let mut c = sys::rte_eth_bond_8023ad_conf::default();
        // SAFETY: valid bond port, out-pointer to a local; the port is not started yet.
        let rc = unsafe { sys::rte_eth_bond_8023ad_conf_get(bond, &mut c) };
        if rc != 0 {
            bail!("rte_eth_bond_8023ad_conf_get: {rc}");
        }
        c.long_timeout_ms = timeout_ms;
        c.short_timeout_ms = c.short_timeout_ms.min(timeout_ms.saturating_sub(1)).max(1); // short < long
                                                                                          // SAFETY: as above.
        let rc = unsafe { sys::rte_eth_bond_8023ad_setup(bond, &mut c) };
        if rc != 0 {
            bail!("rte_eth_bond_8023ad_setup: {rc}");
        }
    }
    port::setup(
        bond,
        "net_bonding0",
        &PortConf {
            devargs: "net_bonding0",
            queues: 1,
            mtu: 1500,
            mac: None,
        },
        &pool,
    )?;
    let end = Instant::now() + Duration::from_secs(secs);
    let mut rx = [std::ptr::null_mut::<sys::rte_mbuf>(); 32];
    let mut last = Instant::now() - Duration::from_secs(1);
    while Instant::now() < end {
        // SAFETY: valid port; rx has room for 32 mbufs, which we free at once.
        let n = unsafe { sys::shim_rte_eth_rx_burst(bond, 0, rx.as_mut_ptr(), 32) };
        if n > 0 {
            // SAFETY: n mbufs we own.
            unsafe { sys::shim_rte_pktmbuf_free_bulk(rx.as_mut_ptr(), n.into()) };
        }
        // The driver sends queued LACPDUs from inside tx_burst: call it even with nothing to send.
        // SAFETY: zero packets.
        unsafe { sys::shim_rte_eth_tx_burst(bond, 0, rx.as_mut_ptr(), 0) };
        if last.elapsed() >= Duration::from_millis(200) {
            last = Instant::now();
            let mut slaves = [0u16; 8];
            let mut active = [0u16; 8];
            // SAFETY: buffers of 8 port ids.
            let ns = unsafe { sys::rte_eth_bond_slaves_get(bond, slaves.as_mut_ptr(), 8) }.max(0)
                as usize;
            // SAFETY: as above.
            let na = unsafe { sys::rte_eth_bond_active_slaves_get(bond, active.as_mut_ptr(), 8) }
                .max(0) as usize;
            let info: Vec<serde_json::Value> = slaves[..ns]
                .iter()
                .map(|&s| {
                    let mut i = sys::rte_eth_bond_8023ad_slave_info::default();
                    // SAFETY: valid bond and slave ids; out-pointer to a local.
                    unsafe { sys::rte_eth_bond_8023ad_slave_info(bond, s, &mut i) };
                    let (prio, system, key, port) = params(&i.partner);
                    serde_json::json!({
                        "slave": name_of(s),
                        "selected": i.selected,
                        "actor_state": i.actor_state,
                        "partner_state": i.partner_state,
                        "partner_system": system,
                        "partner_system_priority": prio,
                        "partner_key": key,
                        "partner_port": port,
                        "agg_port_id": i.agg_port_id,
                        "distributing": i.actor_state & 0x30 == 0x30,
                    })
                })
                .collect();
            let distributing: Vec<&serde_json::Value> = info
                .iter()
                .filter(|s| s["distributing"] == true)
                .map(|s| &s["slave"])
                .collect();
            let v = serde_json::json!({
                "active": active[..na].iter().map(|&p| name_of(p)).collect::<Vec<_>>(),
                "distributing": distributing,
                "slaves": info,
            });
            let tmp = format!("{status}.tmp");
            std::fs::write(&tmp, serde_json::to_vec_pretty(&v)?)?;
            std::fs::rename(&tmp, &status)?;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}
