//! DPDK ethdev ports: probe from devargs, configure one RX/TX queue pair per worker, start.

use crate::eal::{strerror, EalError, Mempool};
use config::MacAddr;
use std::ffi::CString;

pub struct PortConf<'a> {
    /// A vdev string (`net_af_packet0,iface=p0`) or a PCI address.
    pub devargs: &'a str,
    pub queues: u16,
    pub mtu: u16,
    pub mac: Option<MacAddr>,
}

#[derive(Debug, Clone)]
pub struct Port {
    pub id: u16,
    pub name: String,
    pub mac: MacAddr,
}

fn err(name: &str, what: &'static str, rc: i32) -> EalError {
    EalError::Port {
        name: name.into(),
        what,
        msg: strerror(-rc),
    }
}

/// Probes, configures and starts a port.
pub fn open(c: &PortConf<'_>, pool: &Mempool) -> Result<Port, EalError> {
    let (name, args) = match c.devargs.split_once(',') {
        Some((n, a)) => (n, a),
        None => (c.devargs, ""),
    };
    let cname = CString::new(name).map_err(|_| EalError::Nul(name.into()))?;
    let cargs = CString::new(args).map_err(|_| EalError::Nul(args.into()))?;
    let is_vdev = name.starts_with("net_") || name.starts_with("eth_");
    // SAFETY: valid C strings; EAL is initialised.
    let rc = unsafe {
        if is_vdev {
            sys::rte_vdev_init(cname.as_ptr(), cargs.as_ptr())
        } else {
            let full = CString::new(c.devargs).map_err(|_| EalError::Nul(c.devargs.into()))?;
            sys::rte_dev_probe(full.as_ptr())
        }
    };
    if rc < 0 && rc != -libc::EEXIST {
        return Err(err(c.devargs, "probe", rc));
    }
    let mut id = 0u16;
    // SAFETY: out-pointer to a local.
    let rc = unsafe { sys::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id) };
    if rc < 0 {
        return Err(err(name, "lookup", rc));
    }
    setup(id, name, c, pool)
}

/// Configures and starts a port that already exists (probed, or made by a PMD API such as
/// `rte_eth_from_rings`).
pub fn setup(id: u16, name: &str, c: &PortConf<'_>, pool: &Mempool) -> Result<Port, EalError> {
    let mut info = sys::rte_eth_dev_info::default();
    // SAFETY: valid port id and out-pointer.
    let rc = unsafe { sys::rte_eth_dev_info_get(id, &mut info) };
    if rc < 0 {
        return Err(err(name, "dev_info_get", rc));
    }
    if info.max_rx_queues < c.queues || info.max_tx_queues < c.queues {
        return Err(EalError::Port {
            name: name.into(),
            what: "queue setup",
            msg: format!(
                "{} workers need {} queue pairs, the device has {}/{} (af_packet: add qpairs=N)",
                c.queues, c.queues, info.max_rx_queues, info.max_tx_queues
            ),
        });
    }
    let conf = sys::rte_eth_conf::default(); // no offloads: checksums are done in software
                                             // SAFETY: valid port and config.
    let rc = unsafe { sys::rte_eth_dev_configure(id, c.queues, c.queues, &conf) };
    if rc < 0 {
        return Err(err(name, "configure", rc));
    }
    let (mut nrx, mut ntx) = (1024u16, 1024u16);
    // SAFETY: valid port and out-pointers.
    unsafe { sys::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut nrx, &mut ntx) };
    // SAFETY: valid port.
    let socket = unsafe { sys::rte_eth_dev_socket_id(id) };
    let socket = if socket < 0 {
        sys::SOCKET_ID_ANY
    } else {
        socket
    };
    for q in 0..c.queues {
        // SAFETY: valid port, queue index and mempool; NULL conf selects defaults.
        let rc = unsafe {
            sys::rte_eth_rx_queue_setup(id, q, nrx, socket as u32, std::ptr::null(), pool.as_ptr())
        };
        if rc < 0 {
            return Err(err(name, "rx_queue_setup", rc));
        }
        // SAFETY: as above.
        let rc =
            unsafe { sys::rte_eth_tx_queue_setup(id, q, ntx, socket as u32, std::ptr::null()) };
        if rc < 0 {
            return Err(err(name, "tx_queue_setup", rc));
        }
    }
    // MTU: not every vdev supports it (af_packet follows the kernel interface); ignore ENOTSUP.
    // SAFETY: valid port.
    unsafe { sys::rte_eth_dev_set_mtu(id, c.mtu) };
    if let Some(m) = c.mac {
        let mut a = sys::rte_ether_addr { addr_bytes: m.0 };
        // SAFETY: valid port and address.
        let rc = unsafe { sys::rte_eth_dev_default_mac_addr_set(id, &mut a) };
        if rc < 0 {
            return Err(err(name, "set MAC", rc));
        }
    }
    // SAFETY: valid, configured port.
    let rc = unsafe { sys::rte_eth_dev_start(id) };
    if rc < 0 {
        return Err(err(name, "start", rc));
    }
    // Promiscuous: some vdevs return -ENOTSUP; we filter on MAC in software anyway.
    // SAFETY: valid port.
    unsafe { sys::rte_eth_promiscuous_enable(id) };
    let mut a = sys::rte_ether_addr::default();
    // SAFETY: valid port and out-pointer.
    unsafe { sys::rte_eth_macaddr_get(id, &mut a) };
    Ok(Port {
        id,
        name: name.to_string(),
        mac: MacAddr(a.addr_bytes),
    })
}

pub fn stop(id: u16) {
    // SAFETY: valid port id; stopping a stopped port is harmless.
    unsafe {
        sys::rte_eth_dev_stop(id);
        sys::rte_eth_dev_close(id);
    }
}

/// Link state, if the PMD reports it.
pub fn link_up(id: u16) -> bool {
    let mut l = sys::rte_eth_link::default();
    // SAFETY: valid port and out-pointer.
    unsafe { sys::rte_eth_link_get_nowait(id, &mut l) };
    l.link_status() != 0
}

/// The carrier of a kernel interface in the caller's network namespace (`IFF_RUNNING`), or
/// None if there is no such interface. af_packet ports report their link up from start to
/// stop whatever the interface does, so control asks the kernel for them.
pub fn kernel_carrier(ifname: &str) -> Option<bool> {
    #[repr(C)]
    struct IfReq {
        name: [u8; 16],
        flags: i16,
        _pad: [u8; 22],
    }
    const SIOCGIFFLAGS: libc::c_ulong = 0x8913;
    let b = ifname.as_bytes();
    if b.is_empty() || b.len() > 15 {
        return None;
    }
    let mut req = IfReq {
        name: [0; 16],
        flags: 0,
        _pad: [0; 22],
    };
    req.name[..b.len()].copy_from_slice(b);
    // One datagram socket for the process's life (control polls every member every 10 ms).
    static SOCK: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    // SAFETY: a plain datagram socket, never closed.
    let fd = *SOCK.get_or_init(|| unsafe {
        libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0)
    });
    if fd < 0 {
        return None;
    }
    // SAFETY: SIOCGIFFLAGS writes only into `req`, which has the layout of `struct ifreq`.
    let rc = unsafe { libc::ioctl(fd, SIOCGIFFLAGS as _, &mut req as *mut IfReq) };
    (rc == 0).then_some(req.flags & libc::IFF_RUNNING as i16 != 0)
}

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct HwStats {
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    pub imissed: u64,
    pub ierrors: u64,
    pub oerrors: u64,
    pub rx_nombuf: u64,
}

pub fn stats(id: u16) -> HwStats {
    let mut s = sys::rte_eth_stats::default();
    // SAFETY: valid port and out-pointer.
    unsafe { sys::rte_eth_stats_get(id, &mut s) };
    HwStats {
        ipackets: s.ipackets,
        opackets: s.opackets,
        ibytes: s.ibytes,
        obytes: s.obytes,
        imissed: s.imissed,
        ierrors: s.ierrors,
        oerrors: s.oerrors,
        rx_nombuf: s.rx_nombuf,
    }
}
