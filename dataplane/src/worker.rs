//! The worker loop: one per thread, run to completion.
//!
//! ```text
//! loop:  snap = sub.snapshot()                 (quiescent point; never held across loops)
//!        for each port: rx burst → pipeline::process → tx buffer | drop | event
//!        drain this worker's inject queue → tx buffer
//!        flush tx buffers
//!        adaptive: after `idle_polls` empty loops, sleep `idle_sleep`
//! ```

use crate::counters::{bump, Counters, DropReason};
use crate::eal;
use crate::mbuf::Mbuf;
use crate::pipeline::{self, Ctx, Sink, Verdict};
use crate::punt::{Event, Policer, Queues};
use crate::snapshot::Subscriber;
use crate::tables::{IfaceId, PortIdx, Snapshot, VrfId};
use config::MacAddr;
use crossbeam::utils::CachePadded;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

const BURST: usize = 32;

/// State shared between one worker and control.
pub struct WorkerShared {
    pub shutdown: AtomicBool,          // control: w, worker: r
    pub loops: CachePadded<AtomicU64>, // worker: w, control: r (liveness)
    pub counters: Counters,            // worker: w (Relaxed), control: r
}

impl Default for WorkerShared {
    fn default() -> Self {
        WorkerShared {
            shutdown: AtomicBool::new(false),
            loops: CachePadded::new(AtomicU64::new(0)),
            counters: Counters::default(),
        }
    }
}

pub struct WorkerConf {
    pub index: usize,
    pub queue: u16,
    /// 0 = busy polling.
    pub idle_polls: u32,
    pub idle_sleep: Duration,
    pub punt_rate: u64,
}

struct EventSink<'a> {
    q: &'a Queues,
    ctr: &'a Counters,
}

impl Sink for EventSink<'_> {
    fn learn(&mut self, vrf: VrfId, iface: IfaceId, ip: IpAddr, mac: MacAddr) {
        if self
            .q
            .events
            .push(Event::Learn {
                vrf,
                iface,
                ip,
                mac,
            })
            .is_err()
        {
            self.ctr.drop(DropReason::EventQueueFull);
        }
    }
}

struct TxBuf {
    pkts: [*mut sys::rte_mbuf; BURST],
    n: usize,
}

fn flush(dpdk_port: u16, queue: u16, tx: &mut TxBuf, ctr: &Counters, port: usize) {
    if tx.n == 0 {
        return;
    }
    // SAFETY: pkts[..n] are valid mbufs we own; tx_burst takes ownership of those it sends.
    let sent = usize::from(unsafe {
        sys::shim_rte_eth_tx_burst(dpdk_port, queue, tx.pkts.as_mut_ptr(), tx.n as u16)
    });
    if let Some(pc) = ctr.ports.get(port) {
        bump(&pc.tx_packets, sent as u64);
    }
    for p in &tx.pkts[sent..tx.n] {
        ctr.drop(DropReason::TxFull);
        // SAFETY: unsent mbufs are still ours.
        drop(unsafe { Mbuf::from_raw(*p) });
    }
    tx.n = 0;
}

fn enqueue(snap: &Snapshot, txs: &mut [TxBuf], queue: u16, ctr: &Counters, port: PortIdx, m: Mbuf) {
    let Some(p) = snap.ports.get(usize::from(port)) else {
        ctr.drop(DropReason::NoInterface);
        return;
    };
    let i = usize::from(port);
    if let Some(pc) = ctr.ports.get(i) {
        bump(
            &pc.tx_bytes,
            crate::buffer::PacketBuf::data(&m).len() as u64,
        );
    }
    let tx = &mut txs[i];
    tx.pkts[tx.n] = m.into_raw();
    tx.n += 1;
    if tx.n == BURST {
        flush(p.dpdk_port, queue, tx, ctr, i);
    }
}

/// How many packets of a burst ahead of the one processed have their headers prefetched.
const PREFETCH: usize = 3;

/// Empty loops in a row after which the worker counts as idle and polls the host (TAP)
/// ports every loop.
const HOST_IDLE_LOOPS: u32 = 16;
/// While wire traffic flows, the host ports are polled at most once per this many
/// microseconds: each poll is a read() syscall (1-2 us in a VM) that delays the packets of
/// its loop, and they carry only the exception path (BGP, ARP for the host, ...).
const HOST_POLL_US: u64 = 50;

/// Runs until `shared.shutdown`. Call on the worker's own thread.
pub fn run(
    conf: WorkerConf,
    mut sub: Subscriber<Snapshot>,
    queues: Arc<Queues>,
    shared: Arc<WorkerShared>,
) {
    let registered = eal::register_thread();
    tracing::info!(worker = conf.index, registered, "worker started");
    let ctr = &shared.counters;
    let nports = sub.snapshot().ports.len().max(crate::counters::MAX_PORTS);
    let mut txs: Vec<TxBuf> = (0..nports)
        .map(|_| TxBuf {
            pkts: [std::ptr::null_mut(); BURST],
            n: 0,
        })
        .collect();
    let mut rx = [std::ptr::null_mut::<sys::rte_mbuf>(); BURST];
    let mut policer = Policer::new(conf.punt_rate, 256, eal::tsc_hz());
    let mut idle = 0u32;
    let host_every = eal::tsc_hz() / 1_000_000 * HOST_POLL_US;
    let mut host_next = 0u64;
    let inject = &queues.inject[conf.index];
    while !shared.shutdown.load(Relaxed) {
        let snap = sub.snapshot();
        let mut got = 0usize;
        let poll_host = idle >= HOST_IDLE_LOOPS || {
            let now = eal::rdtsc();
            let due = now >= host_next;
            if due {
                host_next = now + host_every;
            }
            due
        };
        for (pi, p) in snap.ports.iter().enumerate() {
            if matches!(p.role, crate::tables::PortRole::Host { .. }) && !poll_host {
                continue;
            }
            // SAFETY: valid started port and queue; rx has room for BURST pointers.
            let n = usize::from(unsafe {
                sys::shim_rte_eth_rx_burst(p.dpdk_port, conf.queue, rx.as_mut_ptr(), BURST as u16)
            });
            if n == 0 {
                continue;
            }
            got += n;
            let pc = &ctr.ports[pi.min(crate::counters::MAX_PORTS - 1)];
            bump(&pc.rx_packets, n as u64);
            // The headers of a burst are cold (zero-copy PMDs: another core wrote them):
            // fetch PREFETCH packets ahead, as DPDK's l3fwd does.
            for raw in &rx[..n.min(PREFETCH)] {
                // SAFETY: one of the n valid mbufs rx_burst returned.
                unsafe { crate::mbuf::prefetch_data(*raw) };
            }
            for (k, raw) in rx[..n].iter().enumerate() {
                if let Some(ahead) = rx[..n].get(k + PREFETCH) {
                    // SAFETY: as above.
                    unsafe { crate::mbuf::prefetch_data(*ahead) };
                }
                // SAFETY: rx_burst returned n valid mbufs that we now own.
                let mut m = unsafe { Mbuf::from_raw(*raw) };
                bump(
                    &pc.rx_bytes,
                    crate::buffer::PacketBuf::data(&m).len() as u64,
                );
                if m.nb_segs() != 1 {
                    ctr.drop(DropReason::MultiSegment);
                    continue;
                }
                let mut sink = EventSink { q: &queues, ctr };
                let v = pipeline::process(
                    &mut Ctx {
                        snap,
                        ctr,
                        sink: &mut sink,
                    },
                    pi as PortIdx,
                    &mut m,
                );
                match v {
                    Verdict::Tx(port) => enqueue(snap, &mut txs, conf.queue, ctr, port, m),
                    Verdict::Drop(r) => ctr.drop(r),
                    Verdict::Consumed => {}
                    Verdict::Punt => {
                        if !policer.allow(eal::rdtsc()) {
                            ctr.drop(DropReason::PuntPoliced);
                        } else if queues
                            .events
                            .push(Event::Punt {
                                port: pi as PortIdx,
                                pkt: m,
                            })
                            .is_err()
                        {
                            ctr.drop(DropReason::EventQueueFull);
                        } else {
                            bump(&ctr.punted, 1);
                        }
                    }
                    Verdict::Mcast { .. } | Verdict::Mcast6 { .. } => {
                        let (oifs, dst, et, hash) = match v {
                            Verdict::Mcast { vrf, src, group } => (
                                snap.vrfs
                                    .get(usize::from(vrf))
                                    .and_then(|v| v.mcast.oifs(src, group)),
                                crate::wire::ipv4::multicast_mac(group.into()),
                                crate::wire::ethernet::ethertype::IPV4,
                                src ^ group,
                            ),
                            Verdict::Mcast6 { vrf, src, group } => (
                                snap.vrfs
                                    .get(usize::from(vrf))
                                    .and_then(|v| v.mcast.oifs6(src, group)),
                                crate::wire::ipv6::multicast_mac(&group.to_be_bytes()),
                                crate::wire::ethernet::ethertype::IPV6,
                                (src ^ group) as u32,
                            ),
                            _ => (None, config::MacAddr::ZERO, 0, 0),
                        };
                        let oifs = oifs.unwrap_or(&[]);
                        let mut m = Some(m);
                        for (j, oif) in oifs.iter().enumerate() {
                            let c = if j + 1 == oifs.len() {
                                m.take()
                            } else {
                                m.as_ref().and_then(Mbuf::copy)
                            };
                            let Some(mut c) = c else {
                                ctr.drop(DropReason::McastNoMbuf);
                                continue;
                            };
                            match crate::pipeline::l2_output(
                                snap,
                                ctr,
                                *oif,
                                dst,
                                et,
                                hash.into(),
                                &mut c,
                            ) {
                                Verdict::Tx(port) => {
                                    enqueue(snap, &mut txs, conf.queue, ctr, port, c)
                                }
                                Verdict::Drop(r) => ctr.drop(r),
                                _ => {}
                            }
                        }
                    }
                    Verdict::Membership { vrf, iface } => {
                        if !policer.allow(eal::rdtsc()) {
                            ctr.drop(DropReason::PuntPoliced);
                        } else if queues
                            .events
                            .push(Event::Membership { vrf, iface, pkt: m })
                            .is_err()
                        {
                            ctr.drop(DropReason::EventQueueFull);
                        } else {
                            bump(&ctr.punted, 1);
                        }
                    }
                    Verdict::Resolve {
                        vrf,
                        iface,
                        ip,
                        ethertype,
                    } => {
                        if !policer.allow(eal::rdtsc()) {
                            ctr.drop(DropReason::NeighMiss);
                        } else if queues
                            .events
                            .push(Event::Resolve {
                                vrf,
                                iface,
                                ip,
                                ethertype,
                                pkt: m,
                            })
                            .is_err()
                        {
                            ctr.drop(DropReason::EventQueueFull);
                        }
                    }
                }
            }
        }
        for _ in 0..BURST {
            let Some((port, m)) = inject.pop() else { break };
            got += 1;
            bump(&ctr.injected, 1);
            enqueue(snap, &mut txs, conf.queue, ctr, port, m);
        }
        for (i, tx) in txs.iter_mut().enumerate() {
            if tx.n > 0 {
                if let Some(p) = snap.ports.get(i) {
                    flush(p.dpdk_port, conf.queue, tx, ctr, i);
                }
            }
        }
        queues.wake_control_if_pending();
        bump(&shared.loops, 1);
        if got == 0 {
            idle = idle.saturating_add(1);
            if conf.idle_polls > 0 && idle >= conf.idle_polls {
                bump(&ctr.idle_sleeps, 1);
                std::thread::sleep(conf.idle_sleep);
            }
        } else {
            idle = 0;
        }
    }
    tracing::info!(worker = conf.index, "worker stopped");
}
