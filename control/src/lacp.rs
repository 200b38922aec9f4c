//! IEEE 802.1AX LACP for one bundle: receive, periodic transmission, selection and mux, with
//! time as an input (`now` on every call; `tick` turns timers into actions).
//!
//! ```text
//!  rx:   PDU ─► CURRENT (current_while 3 s fast / 90 s slow) ─timeout─► EXPIRED (3 s) ─► DEFAULTED
//!  sel:  a member is selected when its partner is heard (not defaulted), aggregates, and is the
//!        bundle's partner system (priority, system id, key): one aggregator per bundle
//!  mux:  DETACHED ─selected─► WAITING (2 s) ─► ATTACHED (actor sync) ─partner sync─► COLLECTING_DISTRIBUTING
//!        any ─unselected or standby─► DETACHED
//!  tx:   on need-to-transmit or every 1 s (partner short timeout) / 30 s, at most 3 per second
//! ```
//! Standby (port-active non-DF, or forced) keeps the members DETACHED with actor
//! Synchronization = 0 while still exchanging LACPDUs, so the CE never distributes to them.

use config::MacAddr;
use dataplane::tables::PortIdx;
use dataplane::wire::lacp::{state, LacpInfo, Lacpdu};
use std::time::{Duration, Instant};

const SHORT_TIMEOUT: Duration = Duration::from_secs(3);
const LONG_TIMEOUT: Duration = Duration::from_secs(90);
const FAST_PERIODIC: Duration = Duration::from_secs(1);
const SLOW_PERIODIC: Duration = Duration::from_secs(30);
const AGGREGATE_WAIT: Duration = Duration::from_secs(2);
const TX_MIN_GAP: Duration = Duration::from_millis(333);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LacpConf {
    pub active: bool,
    pub fast: bool,
    pub system: MacAddr,
    pub system_priority: u16,
    pub key: u16,
    pub port_priority: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RxState {
    Current,
    Expired,
    Defaulted,
    PortDisabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MuxState {
    Detached,
    Waiting,
    Attached,
    CollectingDistributing,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Member {
    pub port: PortIdx,
    pub port_number: u16,
    pub link_up: bool,
    pub rx: RxState,
    pub mux: MuxState,
    pub selected: bool,
    pub partner: LacpInfo,
    #[serde(skip)]
    current_while: Option<Instant>,
    /// When this member became selected: the aggregate wait runs from here, so a member
    /// that was selected but held in standby attaches at once when it becomes active.
    #[serde(skip)]
    selected_since: Option<Instant>,
    #[serde(skip)]
    last_tx: Option<Instant>,
    #[serde(skip)]
    ntt: bool,
    pub pdus_rx: u64,
    pub pdus_tx: u64,
    pub state_changes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Members may aggregate and distribute.
    Active,
    /// Members stay out of the LAG (actor sync 0).
    Standby,
}

pub struct Bundle {
    pub conf: LacpConf,
    pub members: Vec<Member>,
    pub role: Role,
    /// The partner (system priority, system, key) this bundle aggregates with.
    pub aggregator: Option<(u16, MacAddr, u16)>,
}

impl Bundle {
    pub fn new(conf: LacpConf, members: &[(PortIdx, u16)]) -> Bundle {
        Bundle {
            conf,
            members: members
                .iter()
                .map(|&(port, port_number)| Member {
                    port,
                    port_number,
                    link_up: true,
                    rx: RxState::Defaulted,
                    mux: MuxState::Detached,
                    selected: false,
                    partner: LacpInfo::default(),
                    current_while: None,
                    selected_since: None,
                    last_tx: None,
                    ntt: true,
                    pdus_rx: 0,
                    pdus_tx: 0,
                    state_changes: 0,
                })
                .collect(),
            role: Role::Active,
            aggregator: None,
        }
    }

    pub fn actor(&self, m: &Member) -> LacpInfo {
        let mut s = state::AGGREGATION;
        if self.conf.active {
            s |= state::ACTIVITY;
        }
        if self.conf.fast {
            s |= state::TIMEOUT;
        }
        if m.mux >= MuxState::Attached {
            s |= state::SYNC;
        }
        if m.mux == MuxState::CollectingDistributing {
            s |= state::COLLECTING | state::DISTRIBUTING;
        }
        match m.rx {
            RxState::Defaulted | RxState::PortDisabled => s |= state::DEFAULTED,
            RxState::Expired => s |= state::EXPIRED,
            RxState::Current => {}
        }
        LacpInfo {
            system_priority: self.conf.system_priority,
            system: self.conf.system,
            key: self.conf.key,
            port_priority: self.conf.port_priority,
            port: m.port_number,
            state: s,
        }
    }

    pub fn index_of(&self, port: PortIdx) -> Option<usize> {
        self.members.iter().position(|m| m.port == port)
    }

    /// A received LACPDU on member `i`.
    pub fn rx(&mut self, now: Instant, i: usize, pdu: &Lacpdu) {
        let timeout = if self.conf.fast {
            SHORT_TIMEOUT
        } else {
            LONG_TIMEOUT
        };
        let actor = self.actor(&self.members[i]);
        let m = &mut self.members[i];
        m.pdus_rx += 1;
        if !m.link_up {
            return;
        }
        // The partner's view of us is stale: tell it (update_NTT, §6.4.9).
        const MASK: u8 = state::ACTIVITY | state::TIMEOUT | state::AGGREGATION | state::SYNC;
        let p = pdu.partner;
        if p.system != actor.system
            || p.system_priority != actor.system_priority
            || p.key != actor.key
            || p.port != actor.port
            || p.port_priority != actor.port_priority
            || (p.state & MASK) != (actor.state & MASK)
        {
            m.ntt = true;
        }
        if m.partner != pdu.actor || m.rx != RxState::Current {
            m.ntt = true;
        }
        m.partner = pdu.actor;
        m.rx = RxState::Current;
        m.current_while = Some(now + timeout);
        self.run(now);
    }

    /// Carrier state from the port.
    pub fn link(&mut self, now: Instant, i: usize, up: bool) {
        let m = &mut self.members[i];
        if m.link_up == up {
            return;
        }
        m.link_up = up;
        if !up {
            m.rx = RxState::PortDisabled;
            m.partner = LacpInfo::default();
            m.current_while = None;
        } else {
            m.rx = RxState::Defaulted;
            m.ntt = true;
        }
        self.run(now);
    }

    pub fn set_role(&mut self, now: Instant, role: Role) {
        if self.role != role {
            self.role = role;
            self.run(now);
        }
    }

    /// A LACPDU is waiting for the transmit rate limit (3 per second, 802.1AX §6.4.16).
    pub fn tx_pending(&self) -> bool {
        self.members.iter().any(|m| m.ntt && m.link_up)
    }

    /// Timers; returns the LACPDUs to send as (member index, PDU).
    pub fn tick(&mut self, now: Instant) -> Vec<(usize, Lacpdu)> {
        for m in &mut self.members {
            let Some(t) = m.current_while else { continue };
            if now < t {
                continue;
            }
            match m.rx {
                RxState::Current => {
                    // Partner unheard: assume it lost sync and wants fast PDUs.
                    m.rx = RxState::Expired;
                    m.partner.state &= !state::SYNC;
                    m.partner.state |= state::TIMEOUT;
                    m.current_while = Some(now + SHORT_TIMEOUT);
                    m.ntt = true;
                }
                RxState::Expired => {
                    m.rx = RxState::Defaulted;
                    m.partner = LacpInfo::default();
                    m.current_while = None;
                    m.ntt = true;
                }
                _ => m.current_while = None,
            }
        }
        self.run(now);
        let mut out = Vec::new();
        for i in 0..self.members.len() {
            let m = &self.members[i];
            if !m.link_up {
                continue;
            }
            let partner_active = m.partner.state & state::ACTIVITY != 0;
            if !self.conf.active && !partner_active {
                continue;
            }
            let period = if m.rx != RxState::Current || m.partner.state & state::TIMEOUT != 0 {
                FAST_PERIODIC
            } else {
                SLOW_PERIODIC
            };
            let due = m.last_tx.is_none_or(|t| now.duration_since(t) >= period);
            let may = m
                .last_tx
                .is_none_or(|t| now.duration_since(t) >= TX_MIN_GAP);
            if (m.ntt || due) && may {
                let pdu = Lacpdu {
                    actor: self.actor(m),
                    partner: m.partner,
                    collector_max_delay: 0,
                };
                let m = &mut self.members[i];
                m.ntt = false;
                m.last_tx = Some(now);
                m.pdus_tx += 1;
                out.push((i, pdu));
            }
        }
        out
    }

    /// Selection and mux for every member.
    fn run(&mut self, now: Instant) {
        let heard = |m: &Member| {
            m.link_up
                && m.rx != RxState::Defaulted
                && m.rx != RxState::PortDisabled
                && m.partner.state & state::AGGREGATION != 0
        };
        let key = |m: &Member| (m.partner.system_priority, m.partner.system, m.partner.key);
        // Keep the aggregator's partner while any member still hears it, else adopt the partner
        // of the lowest-numbered member that hears one.
        if !self
            .aggregator
            .is_some_and(|a| self.members.iter().any(|m| heard(m) && key(m) == a))
        {
            self.aggregator = self
                .members
                .iter()
                .filter(|m| heard(m))
                .min_by_key(|m| m.port_number)
                .map(key);
        }
        let agg = self.aggregator;
        let standby = self.role == Role::Standby;
        for m in &mut self.members {
            m.selected = heard(m) && Some(key(m)) == agg;
            if !m.selected {
                m.selected_since = None;
            } else if m.selected_since.is_none() {
                m.selected_since = Some(now);
            }
            let waited = m.selected_since.is_some_and(|t| now >= t + AGGREGATE_WAIT);
            let go = m.selected && !standby;
            let before = m.mux;
            loop {
                let next = match m.mux {
                    MuxState::Detached if go => MuxState::Waiting,
                    MuxState::Waiting if !go => MuxState::Detached,
                    MuxState::Waiting if waited => MuxState::Attached,
                    MuxState::Attached | MuxState::CollectingDistributing if !go => {
                        MuxState::Detached
                    }
                    MuxState::Attached if m.partner.state & state::SYNC != 0 => {
                        MuxState::CollectingDistributing
                    }
                    MuxState::CollectingDistributing if m.partner.state & state::SYNC == 0 => {
                        MuxState::Attached
                    }
                    s => s,
                };
                if next == m.mux {
                    break;
                }
                m.mux = next;
            }
            if m.mux != before {
                m.state_changes += 1;
                m.ntt = true;
                tracing::info!(port_number = m.port_number, from = ?before, to = ?m.mux, "lacp mux");
            }
        }
    }

    /// Members that may carry traffic (collecting and distributing).
    pub fn distributing(&self) -> Vec<PortIdx> {
        self.members
            .iter()
            .filter(|m| m.mux == MuxState::CollectingDistributing)
            .map(|m| m.port)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CE: MacAddr = MacAddr([2, 0, 0, 0, 0xce, 1]);
    const US: MacAddr = MacAddr([2, 0, 0, 0, 0xaa, 1]);

    fn conf() -> LacpConf {
        LacpConf {
            active: true,
            fast: true,
            system: US,
            system_priority: 100,
            key: 7,
            port_priority: 255,
        }
    }

    fn ce_pdu(port: u16, sync: bool, us: LacpInfo) -> Lacpdu {
        let mut s = state::ACTIVITY | state::TIMEOUT | state::AGGREGATION;
        if sync {
            s |= state::SYNC | state::COLLECTING | state::DISTRIBUTING;
        }
        Lacpdu {
            actor: LacpInfo {
                system_priority: 100,
                system: CE,
                key: 1,
                port_priority: 65535,
                port,
                state: s,
            },
            partner: us,
            collector_max_delay: 0,
        }
    }

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    #[test]
    fn converges_to_collecting_distributing_with_a_synced_partner() {
        let t0 = Instant::now();
        let mut b = Bundle::new(conf(), &[(0, 0x0101)]);
        let first = b.tick(t0);
        assert_eq!(first.len(), 1, "active: sends at once");
        assert_eq!(first[0].1.actor.state & state::SYNC, 0);
        b.rx(ms(t0, 10), 0, &ce_pdu(2, false, first[0].1.actor));
        assert_eq!(b.members[0].mux, MuxState::Waiting);
        b.tick(ms(t0, 2010));
        assert_eq!(b.members[0].mux, MuxState::Attached);
        let us = b.actor(&b.members[0]);
        assert_ne!(us.state & state::SYNC, 0, "attached: actor in sync");
        b.rx(ms(t0, 2020), 0, &ce_pdu(2, true, us));
        assert_eq!(b.members[0].mux, MuxState::CollectingDistributing);
        assert_eq!(b.distributing(), vec![0]);
    }

    #[test]
    fn partner_silence_expires_then_defaults_and_detaches() {
        let t0 = Instant::now();
        let mut b = Bundle::new(conf(), &[(0, 0x0101)]);
        b.rx(t0, 0, &ce_pdu(2, true, LacpInfo::default()));
        b.tick(ms(t0, 2000));
        let us = b.actor(&b.members[0]);
        b.rx(ms(t0, 2000), 0, &ce_pdu(2, true, us));
        assert_eq!(b.distributing(), vec![0]);
        b.tick(ms(t0, 4999));
        assert_eq!(b.members[0].rx, RxState::Current);
        b.tick(ms(t0, 5000));
        assert_eq!(b.members[0].rx, RxState::Expired);
        assert!(
            b.distributing().is_empty(),
            "expired partner is out of sync: stop distributing"
        );
        b.tick(ms(t0, 8000));
        assert_eq!(
            (b.members[0].rx, b.members[0].mux),
            (RxState::Defaulted, MuxState::Detached)
        );
    }

    #[test]
    fn a_second_partner_system_is_not_selected() {
        let t0 = Instant::now();
        let mut b = Bundle::new(conf(), &[(0, 0x0101), (1, 0x0102)]);
        b.rx(t0, 0, &ce_pdu(2, false, LacpInfo::default()));
        let mut other = ce_pdu(3, false, LacpInfo::default());
        other.actor.system = MacAddr([2, 0, 0, 0, 0xce, 2]);
        b.rx(t0, 1, &other);
        assert!(b.members[0].selected);
        assert!(
            !b.members[1].selected,
            "different system id: another aggregator"
        );
    }

    #[test]
    fn standby_keeps_sync_off_but_keeps_talking() {
        let t0 = Instant::now();
        let mut b = Bundle::new(conf(), &[(0, 0x0201)]);
        b.set_role(t0, Role::Standby);
        b.rx(t0, 0, &ce_pdu(2, true, LacpInfo::default()));
        let tx = b.tick(ms(t0, 3000));
        assert_eq!(b.members[0].mux, MuxState::Detached);
        assert_eq!(tx.len(), 1);
        assert_eq!(tx[0].1.actor.state & state::SYNC, 0);
        // Selected for 3 s already: the aggregate wait has run, it attaches at once.
        b.set_role(ms(t0, 3000), Role::Active);
        assert_eq!(b.members[0].mux, MuxState::Attached);
    }

    #[test]
    fn periodic_is_fast_for_a_fast_partner_and_rate_limited() {
        let t0 = Instant::now();
        let mut b = Bundle::new(conf(), &[(0, 0x0101)]);
        assert_eq!(b.tick(t0).len(), 1);
        assert!(b.tick(ms(t0, 100)).is_empty());
        b.rx(ms(t0, 200), 0, &ce_pdu(2, false, LacpInfo::default())); // sets NTT
        assert!(b.tick(ms(t0, 300)).is_empty(), "at most 3 per second");
        assert_eq!(b.tick(ms(t0, 400)).len(), 1);
        assert!(b.tick(ms(t0, 1300)).is_empty());
        assert_eq!(
            b.tick(ms(t0, 1400)).len(),
            1,
            "1 s periodic for a short-timeout partner"
        );
    }
}
