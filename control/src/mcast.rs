//! Multicast memberships per (VRF, interface, source, group), from IGMP on our interfaces
//! (*local*) and from the RT-7s of the other PEs of an Ethernet Segment (*synced*, the draft's
//! IGMP sync, RFC 9251 §6). Time is an input, like the neighbour table.
//!
//! ```text
//!   report ──► member (local for membership_s) ──(no report)──► not local
//!   leave  ──► leaving: local for last_member_s more, RT-8 sent ──► not local (RT-7 withdrawn)
//!   RT-7 from a peer ──► synced while the route lives
//! ```
//! A membership is kept while it is local or synced; changes of the local side are queued for
//! the instance, which originates RT-7 (join) / RT-8 (leave) and withdraws them.

use dataplane::tables::{IfaceId, VrfId};
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub vrf: VrfId,
    pub iface: IfaceId,
    /// None: (*,G).
    pub source: Option<IpAddr>,
    pub group: IpAddr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// Local (IGMP) membership lasts until then.
    pub local_until: Option<Instant>,
    /// A leave was heard: the membership ends at `local_until` unless reported again.
    pub leaving: bool,
    /// IGMP version of the last report (2 or 3; v1 counts as 2).
    pub version: u8,
    /// Installed from this ES peer's RT-7.
    pub synced: Option<IpAddr>,
}

/// What the instance must originate for a local membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    /// Joined (or re-joined): RT-7, no RT-8.
    Join { version: u8 },
    /// A leave is in progress: RT-7 stays, RT-8 with the max response time (1/10 s).
    Leaving { version: u8, max_response: u8 },
    /// Not a local member any more: withdraw both.
    Gone,
}

#[derive(Debug, Clone, Copy)]
pub struct Timers {
    /// Group membership interval (RFC 2236: 2 x 125 s + 10 s).
    pub membership: Duration,
    /// Last member query time (RFC 2236: 2 x 1 s).
    pub last_member: Duration,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers {
            membership: Duration::from_secs(260),
            last_member: Duration::from_secs(2),
        }
    }
}

#[derive(Default)]
pub struct Memberships {
    pub timers: Timers,
    map: HashMap<Key, Member>,
    changes: Vec<(Key, Local)>,
    pub reports: u64,
    pub leaves: u64,
    pub bad: u64,
    pub queries_sent: u64,
}

impl Memberships {
    pub fn new(timers: Timers) -> Memberships {
        Memberships {
            timers,
            ..Default::default()
        }
    }

    /// A membership report for `k` (v1/v2 report, v3 is-exclude/to-exclude/allow).
    pub fn report(&mut self, now: Instant, k: Key, version: u8) {
        self.reports += 1;
        let until = now + self.timers.membership;
        let e = self.map.entry(k).or_insert(Member {
            local_until: None,
            leaving: false,
            version,
            synced: None,
        });
        let was_local = e.local_until.is_some() && !e.leaving;
        e.local_until = Some(until);
        e.leaving = false;
        let changed = !was_local || e.version != version;
        e.version = version;
        if changed {
            self.changes.push((k, Local::Join { version }));
        }
    }

    /// A leave for `k` (v2 leave, v3 to-include {} / block): the membership ends after the
    /// last member query time unless someone reports again. True when a leave starts (the
    /// caller sends a group-specific query so remaining members answer).
    pub fn leave(&mut self, now: Instant, k: Key) -> bool {
        self.leaves += 1;
        let lm = self.timers.last_member;
        let Some(e) = self.map.get_mut(&k) else {
            return false;
        };
        if e.local_until.is_none() || e.leaving {
            return false;
        }
        e.leaving = true;
        e.local_until = Some(now + lm);
        let max_response = (lm.as_millis() / 100).min(255) as u8;
        self.changes.push((
            k,
            Local::Leaving {
                version: e.version,
                max_response,
            },
        ));
        true
    }

    /// Expires local memberships.
    pub fn tick(&mut self, now: Instant) {
        let mut gone = Vec::new();
        for (k, e) in self.map.iter_mut() {
            if e.local_until.is_some_and(|t| now >= t) {
                e.local_until = None;
                e.leaving = false;
                gone.push(*k);
            }
        }
        for k in gone {
            self.changes.push((k, Local::Gone));
            if self.map.get(&k).is_some_and(|e| e.synced.is_none()) {
                self.map.remove(&k);
            }
        }
    }

    /// An ES peer's RT-7 says `k` has a member behind the segment.
    pub fn sync_join(&mut self, k: Key, peer: IpAddr, version: u8) {
        self.map
            .entry(k)
            .or_insert(Member {
                local_until: None,
                leaving: false,
                version,
                synced: None,
            })
            .synced = Some(peer);
    }

    /// The peer that sent `k`'s RT-7 went down (not a withdrawal): the hosts behind the segment
    /// are probably still members, so keep the membership as ours for `hold` (a general query
    /// asks them to report again), instead of cutting the group off until their next report.
    pub fn sync_lost(&mut self, now: Instant, k: Key, hold: Duration) {
        let Some(e) = self.map.get_mut(&k) else {
            return;
        };
        e.synced = None;
        if e.local_until.is_none() {
            e.local_until = Some(now + hold);
            e.leaving = false;
            self.changes.push((k, Local::Join { version: e.version }));
        }
    }

    /// The peer's RT-7 is gone.
    pub fn sync_remove(&mut self, k: Key) {
        if let Some(e) = self.map.get_mut(&k) {
            e.synced = None;
            if e.local_until.is_none() {
                self.map.remove(&k);
            }
        }
    }

    pub fn take_changes(&mut self) -> Vec<(Key, Local)> {
        std::mem::take(&mut self.changes)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Member)> {
        self.map.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k() -> Key {
        Key {
            vrf: 1,
            iface: 2,
            source: None,
            group: "239.1.1.1".parse().expect("ip"),
        }
    }

    #[test]
    fn join_leave_expire_and_sync() {
        let t0 = Instant::now();
        let mut m = Memberships::new(Timers::default());
        m.report(t0, k(), 2);
        assert_eq!(m.take_changes(), vec![(k(), Local::Join { version: 2 })]);
        m.report(t0 + Duration::from_secs(60), k(), 2);
        assert!(m.take_changes().is_empty(), "a refresh is no change");
        m.leave(t0 + Duration::from_secs(61), k());
        assert_eq!(
            m.take_changes(),
            vec![(
                k(),
                Local::Leaving {
                    version: 2,
                    max_response: 20
                }
            )]
        );
        // Someone else still wants it: back to joined.
        m.report(t0 + Duration::from_secs(62), k(), 2);
        assert_eq!(m.take_changes(), vec![(k(), Local::Join { version: 2 })]);
        m.leave(t0 + Duration::from_secs(63), k());
        m.take_changes();
        m.tick(t0 + Duration::from_millis(64_999));
        assert!(m.take_changes().is_empty());
        m.tick(t0 + Duration::from_secs(65));
        assert_eq!(m.take_changes(), vec![(k(), Local::Gone)]);
        assert_eq!(m.iter().count(), 0);
        // Synced from a peer: kept while the route lives, and local expiry does not remove it.
        let peer: IpAddr = "10.0.3.2".parse().expect("ip");
        m.sync_join(k(), peer, 3);
        m.report(t0 + Duration::from_secs(70), k(), 3);
        m.tick(t0 + Duration::from_secs(400));
        assert_eq!(m.iter().count(), 1);
        m.sync_remove(k());
        assert_eq!(m.iter().count(), 0);
    }
}
