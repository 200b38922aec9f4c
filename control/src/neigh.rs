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
//!
//! An entry is *local* (learnt here from ARP/ND), *synced* (installed from an ES peer's RT-2,
//! the draft's ARP/ND sync) or both. A synced entry lives as long as the peer's route: when
//! our own probes go unanswered (the host's replies may hash to the peer) it only stops being
//! local, so it never flaps. Changes of the local set are queued for the instance, which
//! originates and withdraws the RT-2s.

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
    /// Learnt here (and not yet aged out).
    pub local: bool,
    /// Installed from this ES peer's RT-2.
    pub synced: Option<std::net::IpAddr>,
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
    /// Local entries added, changed (Some(mac)) or gone (None) since `take_local_changes`.
    local_changes: Vec<((VrfId, NeighKey), Option<MacAddr>)>,
    pub held_dropped: u64,
}

impl<P> NeighTable<P> {
    pub fn new(timers: NeighborTimers, vrfs: usize) -> Self {
        NeighTable {
            timers,
            entries: HashMap::new(),
            pending: HashMap::new(),
            dirty: vec![false; vrfs],
            local_changes: Vec::new(),
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
        let old = self.entries.get(&(vrf, key)).cloned();
        let fresh = Entry {
            mac,
            state: NeighState::Reachable,
            confirmed: now,
            last_probe: None,
            local: true,
            synced: old.as_ref().and_then(|o| o.synced),
        };
        self.entries.insert((vrf, key), fresh);
        if old.as_ref().is_none_or(|o| o.mac != mac) {
            self.mark(vrf);
        }
        if old.as_ref().is_none_or(|o| o.mac != mac || !o.local) {
            self.local_changes.push(((vrf, key), Some(mac)));
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
            let Some(e) = self.entries.get_mut(&k) else {
                continue;
            };
            if e.local {
                self.local_changes.push((k, None));
            }
            if e.synced.is_some() {
                // The peer's route keeps it; we only stop claiming it, and probe again later.
                e.local = false;
                e.state = NeighState::Reachable;
                e.confirmed = now;
                e.last_probe = None;
            } else {
                self.entries.remove(&k);
                self.mark(k.0);
            }
        }
        out
    }

    /// An ES peer's RT-2 says `key` is at `mac`: install or keep it, and release packets that
    /// waited for it. A local entry keeps its own MAC (it is first-hand).
    pub fn sync_add(
        &mut self,
        now: Instant,
        vrf: VrfId,
        key: NeighKey,
        mac: MacAddr,
        peer: std::net::IpAddr,
    ) -> Option<Action<P>> {
        match self.entries.get_mut(&(vrf, key)) {
            Some(e) => {
                e.synced = Some(peer);
                if !e.local && e.mac != mac {
                    e.mac = mac;
                    self.mark(vrf);
                }
            }
            None => {
                self.entries.insert(
                    (vrf, key),
                    Entry {
                        mac,
                        state: NeighState::Reachable,
                        confirmed: now,
                        last_probe: None,
                        local: false,
                        synced: Some(peer),
                    },
                );
                self.mark(vrf);
            }
        }
        let mac = self.entries.get(&(vrf, key)).map(|e| e.mac)?;
        self.pending.remove(&(vrf, key)).map(|p| Action::Release {
            vrf,
            key,
            mac,
            packets: p.held,
        })
    }

    /// The peer's RT-2 is gone: the entry goes unless it is local too.
    pub fn sync_remove(&mut self, vrf: VrfId, key: NeighKey) {
        if let Some(e) = self.entries.get_mut(&(vrf, key)) {
            e.synced = None;
            if !e.local {
                self.entries.remove(&(vrf, key));
                self.mark(vrf);
            }
        }
    }

    /// Local entries added or changed (Some(mac)) and gone (None) since the last call.
    pub fn take_local_changes(&mut self) -> Vec<((VrfId, NeighKey), Option<MacAddr>)> {
        std::mem::take(&mut self.local_changes)
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

    /// The draft's problem 1.1: the host's replies reach the other PE only. A synced entry
    /// is probed like a local one but stays while the peer's route does; a local entry that
    /// ages out stays as synced; changes of the local set are reported for RT-2s.
    #[test]
    fn synced_entries_live_with_the_route() {
        let t0 = Instant::now();
        let peer: IpAddr = "10.0.3.2".parse().expect("ip");
        let mut n: NeighTable<u32> = NeighTable::new(t(), 1);
        // A packet waits for the host; the peer's RT-2 resolves it.
        n.resolve(t0, 0, key(), 0x800, 7);
        let a = n.sync_add(t0, 0, key(), MAC, peer);
        assert_eq!(
            a,
            Some(Action::Release {
                vrf: 0,
                key: key(),
                mac: MAC,
                packets: vec![(0x800, 7)]
            })
        );
        assert!(n.take_local_changes().is_empty(), "synced is not local");
        // Probed at the reachable time, never removed while synced.
        assert_eq!(
            n.tick(t0 + Duration::from_secs(30)),
            vec![Action::Solicit { vrf: 0, key: key() }]
        );
        n.tick(t0 + Duration::from_secs(36));
        n.tick(t0 + Duration::from_secs(300));
        assert_eq!(n.vrf_map(0).get(&key()), Some(&MAC));
        // A reply to our probe makes it local too: an RT-2 of ours.
        n.learn(t0 + Duration::from_secs(301), 0, key(), MAC);
        assert_eq!(n.take_local_changes(), vec![((0, key()), Some(MAC))]);
        // The route goes: still local.
        n.sync_remove(0, key());
        assert_eq!(n.vrf_map(0).get(&key()), Some(&MAC));
        // The host goes silent: local ages out, removed (not synced any more).
        n.tick(t0 + Duration::from_secs(331));
        n.tick(t0 + Duration::from_secs(336));
        assert_eq!(n.take_local_changes(), vec![((0, key()), None)]);
        assert!(n.vrf_map(0).is_empty());
        // Local and synced: ageing out locally keeps the synced entry.
        let t1 = t0 + Duration::from_secs(400);
        n.learn(t1, 0, key(), MAC);
        n.sync_add(t1, 0, key(), MAC, peer);
        n.tick(t1 + Duration::from_secs(30));
        n.tick(t1 + Duration::from_secs(35));
        assert_eq!(n.vrf_map(0).get(&key()), Some(&MAC));
        assert_eq!(
            n.take_local_changes(),
            vec![((0, key()), Some(MAC)), ((0, key()), None)]
        );
        n.sync_remove(0, key());
        assert!(n.vrf_map(0).is_empty());
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
