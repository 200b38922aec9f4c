//! Queues between workers and control: bounded (crossbeam `ArrayQueue`, no allocation after
//! creation), counted when full, and punts policed by a token bucket per worker.
//!
//! ```text
//!  worker ──Event──► events (one, shared) ──► control: learn, resolve/hold, slow-protocol frames
//!  control ──(port, frame)──► inject[w] ──► worker w: tx
//! ```
//!
//! Control polls `events` on a short tick while they flow and on a long one when quiet (its
//! wake-ups preempt a worker sharing its core); a worker that finds events queued while
//! control sleeps long wakes it, once per sleep, never per packet.

use crate::mbuf::Mbuf;
use crate::tables::{IfaceId, PortIdx, VrfId};
use config::MacAddr;
use crossbeam::queue::ArrayQueue;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

pub enum Event {
    /// A neighbour answered or asked us.
    Learn {
        vrf: VrfId,
        iface: IfaceId,
        ip: IpAddr,
        mac: MacAddr,
    },
    /// A packet waits for `ip` to resolve; `pkt` holds the L3 packet.
    Resolve {
        vrf: VrfId,
        iface: IfaceId,
        ip: IpAddr,
        ethertype: u16,
        pkt: Mbuf,
    },
    /// An IGMP message from an L3 interface (`pkt` holds the IPv4 packet).
    Membership {
        vrf: VrfId,
        iface: IfaceId,
        pkt: Mbuf,
    },
    /// A frame for a control-plane protocol (slow protocols: LACP, marker).
    Punt { port: PortIdx, pkt: Mbuf },
}

pub struct Queues {
    pub events: ArrayQueue<Event>,
    pub inject: Box<[ArrayQueue<(PortIdx, Mbuf)>]>,
    /// Control sleeps on its long tick: the first worker to see events calls `waker`.
    control_idle: AtomicBool,
    waker: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl Queues {
    pub fn new(workers: usize, events: usize, inject: usize) -> Queues {
        Queues {
            events: ArrayQueue::new(events),
            inject: (0..workers).map(|_| ArrayQueue::new(inject)).collect(),
            control_idle: AtomicBool::new(false),
            waker: OnceLock::new(),
        }
    }

    /// How control is woken (e.g. a tokio `Notify`); set once.
    pub fn set_waker(&self, f: impl Fn() + Send + Sync + 'static) {
        let _ = self.waker.set(Box::new(f));
    }

    /// Control: about to sleep on the long tick.
    pub fn control_sleeps(&self) {
        self.control_idle.store(true, Ordering::Release);
    }

    /// Worker, once per loop: wake control if events wait and it sleeps long. One relaxed
    /// load when nothing is pending.
    #[inline]
    pub fn wake_control_if_pending(&self) {
        if self.control_idle.load(Ordering::Relaxed)
            && !self.events.is_empty()
            && self.control_idle.swap(false, Ordering::AcqRel)
        {
            if let Some(w) = self.waker.get() {
                w();
            }
        }
    }
}

/// A token bucket in TSC cycles: `rate` tokens per second, `burst` deep.
pub struct Policer {
    tokens: u64,
    burst: u64,
    cycles_per_token: u64,
    last: u64,
}

impl Policer {
    pub fn new(rate: u64, burst: u64, tsc_hz: u64) -> Policer {
        Policer {
            tokens: burst,
            burst,
            cycles_per_token: (tsc_hz / rate.max(1)).max(1),
            last: 0,
        }
    }

    /// `now` in TSC cycles.
    pub fn allow(&mut self, now: u64) -> bool {
        let earned = now.saturating_sub(self.last) / self.cycles_per_token;
        if earned > 0 {
            self.tokens = (self.tokens + earned).min(self.burst);
            self.last = now;
        }
        if self.tokens > 0 {
            self.tokens -= 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policer_allows_burst_then_rate() {
        let mut p = Policer::new(10, 3, 1000); // 100 cycles per token
        assert!((0..3).all(|_| p.allow(0)));
        assert!(!p.allow(50));
        assert!(p.allow(100));
        assert!(!p.allow(150));
        assert!(p.allow(1_000_000)); // refills to the burst only
        assert!(p.allow(1_000_000) && p.allow(1_000_000) && !p.allow(1_000_000));
    }
}
