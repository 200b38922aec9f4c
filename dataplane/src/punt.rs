//! Queues between workers and control: bounded (crossbeam `ArrayQueue`, no allocation after
//! creation), counted when full, and punts policed by a token bucket per worker.
//!
//! ```text
//!  worker ──Event──► events (one, shared) ──► control: learn, resolve/hold, slow-protocol frames
//!  control ──(port, frame)──► inject[w] ──► worker w: tx
//! ```

use crate::mbuf::Mbuf;
use crate::tables::{IfaceId, PortIdx, VrfId};
use config::MacAddr;
use crossbeam::queue::ArrayQueue;
use std::net::IpAddr;

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
}

impl Queues {
    pub fn new(workers: usize, events: usize, inject: usize) -> Queues {
        Queues {
            events: ArrayQueue::new(events),
            inject: (0..workers).map(|_| ArrayQueue::new(inject)).collect(),
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
