//! The neighbour table (ARP and IPv6 ND) and resolution, owned by control.
//!
//! Time is an input: every method takes `now`, and `tick` turns timers into actions, so the
//! state machine tests in microseconds. Packets waiting for a resolution are held here (up to
//! `hold_packets` per neighbour) and released when it resolves, or dropped and counted.
//!
//! ```text
//!   learn ──► Reachable ──(reachable_s without confirmation)──► Probe ──(stale_s)──► gone
//!                ▲                                                 │ solicit each retry
//!                └──────────────────── learn ◄─────────────────────┘
//!   resolve(miss) ──► Pending(held packets, solicit every retry_ms, 3 tries) ──► learn | drop
//! ```

use config::{MacAddr, NeighborTimers};
use dataplane::tables::{NeighKey, VrfId};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const PENDING_TRIES: u8 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NeighState {
    Reachable,
    Probe,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub mac: MacAddr,
    pub state: NeighState,
    pub confirmed: Instant,
    pub last_probe: Option<Instant>,
}

struct Pending<P> {
    held: Vec<(u16, P)>,
    last_solicit: Instant,
    tries: u8,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Action<P> {
    /// Send an ARP request / Neighbor Solicitation.
    Solicit { vrf: VrfId, key: NeighKey },
    /// Resolved: send the held packets (ethertype, packet) to `mac`.
    Release {
        vrf: VrfId,
        key: NeighKey,
        mac: MacAddr,
        packets: Vec<(u16, P)>,
    },
    /// Never resolved: these packets are dropped.
    Expire {
        vrf: VrfId,
        key: NeighKey,
        packets: Vec<(u16, P)>,
    },
}

pub struct NeighTable<P> {
    timers: NeighborTimers,
    entries: HashMap<(VrfId, NeighKey), Entry>,
    pending: HashMap<(VrfId, NeighKey), Pending<P>>,
    /// VRFs whose entries changed since the last `take_dirty`.
    dirty: Vec<bool>,
    pub held_dropped: u64,
}

impl<P> NeighTable<P> {
    pub fn new(timers: NeighborTimers, vrfs: usize) -> Self {
        NeighTable {
            timers,
            entries: HashMap::new(),
            pending: HashMap::new(),
            dirty: vec![false; vrfs],
            held_dropped: 0,
        }
    }

    fn mark(&mut self, vrf: VrfId) {
        if let Some(d) = self.dirty.get_mut(usize::from(vrf)) {
            *d = true;
        }
    }

    /// A neighbour spoke: install or confirm it; release what waited for it.
    pub fn learn(
        &mut self,
        now: Instant,
        vrf: VrfId,
        key: NeighKey,
        mac: MacAddr,
    ) -> Option<Action<P>> {
        let fresh = Entry {
            mac,
            state: NeighState::Reachable,
            confirmed: now,
            last_probe: None,
        };
        let changed = match self.entries.insert((vrf, key), fresh) {
            Some(old) => old.mac != mac,
            None => true,
        };
        if changed {
            self.mark(vrf);
        }
        self.pending.remove(&(vrf, key)).map(|p| Action::Release {
            vrf,
            key,
            mac,
            packets: p.held,
        })
    }

    /// The dataplane missed `key`: hold the packet and solicit (rate-limited).
    /// Returns the packet back if it cannot be held.
    pub fn resolve(
        &mut self,
        now: Instant,
        vrf: VrfId,
        key: NeighKey,
        ethertype: u16,
        pkt: P,
    ) -> (Option<Action<P>>, Option<P>) {
        if let Some(e) = self.entries.get(&(vrf, key)) {
            // Raced with a snapshot that already has it: release straight away.
            return (
                Some(Action::Release {
                    vrf,
                    key,
                    mac: e.mac,
                    packets: vec![(ethertype, pkt)],
                }),
                None,
            );
        }
        let hold = usize::from(self.timers.hold_packets);
        let retry = Duration::from_millis(u64::from(self.timers.retry_ms));
        match self.pending.get_mut(&(vrf, key)) {
            Some(p) => {
                let back = if p.held.len() < hold {
                    p.held.push((ethertype, pkt));
                    None
                } else {
                    self.held_dropped += 1;
                    Some(pkt)
                };
                let act = if now.duration_since(p.last_solicit) >= retry && p.tries < PENDING_TRIES
                {
                    p.last_solicit = now;
                    p.tries += 1;
                    Some(Action::Solicit { vrf, key })
                } else {
                    None
                };
                (act, back)
            }
            None => {
                let (held, back) = if hold > 0 {
                    (vec![(ethertype, pkt)], None)
                } else {
                    (Vec::new(), Some(pkt))
                };
                self.pending.insert(
                    (vrf, key),
                    Pending {
                        held,
                        last_solicit: now,
                        tries: 1,
                    },
                );
                (Some(Action::Solicit { vrf, key }), back)
            }
        }
    }

    /// Timers: retries, expiry of unresolved requests, probing and removal of old entries.
    pub fn tick(&mut self, now: Instant) -> Vec<Action<P>> {
        let mut out = Vec::new();
        let retry = Duration::from_millis(u64::from(self.timers.retry_ms));
        let reachable = Duration::from_secs(u64::from(self.timers.reachable_s));
        let stale = Duration::from_secs(u64::from(self.timers.stale_s));
        let mut gone = Vec::new();
        for (k, p) in self.pending.iter_mut() {
            if now.duration_since(p.last_solicit) >= retry {
                if p.tries >= PENDING_TRIES {
                    gone.push(*k);
                } else {
                    p.tries += 1;
                    p.last_solicit = now;
                    out.push(Action::Solicit { vrf: k.0, key: k.1 });
                }
            }
        }
        for k in gone {
            if let Some(p) = self.pending.remove(&k) {
                self.held_dropped += p.held.len() as u64;
                out.push(Action::Expire {
                    vrf: k.0,
                    key: k.1,
                    packets: p.held,
                });
            }
        }
        let mut removed = Vec::new();
        for (k, e) in self.entries.iter_mut() {
            let age = now.duration_since(e.confirmed);
            if age >= reachable + stale {
                removed.push(*k);
            } else if age >= reachable {
                e.state = NeighState::Probe;
                if e.last_probe.is_none_or(|t| now.duration_since(t) >= retry) {
                    e.last_probe = Some(now);
                    out.push(Action::Solicit { vrf: k.0, key: k.1 });
                }
            }
        }
        for k in removed {
            self.entries.remove(&k);
            self.mark(k.0);
        }
        out
    }

    /// Which VRFs changed since the last call.
    pub fn take_dirty(&mut self) -> Vec<VrfId> {
        let d: Vec<VrfId> = self
            .dirty
            .iter()
            .enumerate()
            .filter(|(_, d)| **d)
            .map(|(i, _)| i as VrfId)
            .collect();
        self.dirty.iter_mut().for_each(|d| *d = false);
        d
    }

    pub fn entries(&self) -> impl Iterator<Item = (&(VrfId, NeighKey), &Entry)> {
        self.entries.iter()
    }

    pub fn vrf_map(&self, vrf: VrfId) -> dataplane::tables::NeighTable {
        self.entries
            .iter()
            .filter(|((v, _), _)| *v == vrf)
            .map(|((_, k), e)| (*k, e.mac))
            .collect()
    }

    pub fn held(&self) -> usize {
        self.pending.values().map(|p| p.held.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn t() -> NeighborTimers {
        NeighborTimers {
            reachable_s: 30,
            stale_s: 5,
            retry_ms: 1000,
            hold_packets: 2,
        }
    }
    fn key() -> NeighKey {
        NeighKey {
            iface: 1,
            ip: "192.0.2.10".parse::<IpAddr>().expect("ip"),
        }
    }
    const MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 9]);

    #[test]
    fn miss_holds_solicits_and_releases_on_learn() {
        let t0 = Instant::now();
        let mut n: NeighTable<u32> = NeighTable::new(t(), 1);
        let (a, back) = n.resolve(t0, 0, key(), 0x800, 1);
        assert_eq!(
            (a, back),
            (Some(Action::Solicit { vrf: 0, key: key() }), None)
        );
        assert_eq!(
            n.resolve(t0, 0, key(), 0x800, 2),
            (None, None),
            "rate-limited, held"
        );
        assert_eq!(
            n.resolve(t0, 0, key(), 0x800, 3),
            (None, Some(3)),
            "hold limit 2"
        );
        assert_eq!(n.held(), 2);
        let r = n.learn(t0 + Duration::from_millis(5), 0, key(), MAC);
        assert_eq!(
            r,
            Some(Action::Release {
                vrf: 0,
                key: key(),
                mac: MAC,
                packets: vec![(0x800, 1), (0x800, 2)]
            })
        );
        assert_eq!(n.take_dirty(), vec![0]);
        assert_eq!(n.vrf_map(0).get(&key()), Some(&MAC));
    }

    #[test]
    fn unanswered_resolution_retries_then_expires() {
        let t0 = Instant::now();
        let mut n: NeighTable<u32> = NeighTable::new(t(), 1);
        n.resolve(t0, 0, key(), 0x800, 7);
        assert!(n.tick(t0 + Duration::from_millis(500)).is_empty());
        assert_eq!(
            n.tick(t0 + Duration::from_millis(1000)),
            vec![Action::Solicit { vrf: 0, key: key() }]
        );
        assert_eq!(
            n.tick(t0 + Duration::from_millis(2000)),
            vec![Action::Solicit { vrf: 0, key: key() }]
        );
        assert_eq!(
            n.tick(t0 + Duration::from_millis(3000)),
            vec![Action::Expire {
                vrf: 0,
                key: key(),
                packets: vec![(0x800, 7)]
            }]
        );
        assert_eq!(n.held_dropped, 1);
    }

    #[test]
    fn silent_neighbor_is_probed_then_removed() {
        let t0 = Instant::now();
        let mut n: NeighTable<u32> = NeighTable::new(t(), 1);
        n.learn(t0, 0, key(), MAC);
        n.take_dirty();
        assert!(n.tick(t0 + Duration::from_secs(29)).is_empty());
        assert_eq!(
            n.tick(t0 + Duration::from_secs(30)),
            vec![Action::Solicit { vrf: 0, key: key() }]
        );
        assert!(
            n.tick(t0 + Duration::from_millis(30_500)).is_empty(),
            "probe rate-limited"
        );
        // A reply confirms it.
        n.learn(t0 + Duration::from_secs(31), 0, key(), MAC);
        assert!(n.take_dirty().is_empty(), "same MAC: no republish needed");
        assert!(n.tick(t0 + Duration::from_secs(60)).is_empty());
        n.tick(t0 + Duration::from_secs(61));
        n.tick(t0 + Duration::from_secs(66));
        assert_eq!(n.entries().count(), 0);
        assert_eq!(n.take_dirty(), vec![0]);
    }
}
