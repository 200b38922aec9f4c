//! Designated Forwarder election for one Ethernet Segment (shared/spec/evpn-procedures.md §2):
//! the RFC 8584 §2.1 state machine with time as an input, the algorithm agreement rule of
//! RFC 8584 §2.2, and the three algorithms: modulo (RFC 7432 §8.5), HRW (RFC 8584 §3.2) and
//! preference (RFC 9785).
//!
//! The election runs per (ES, VLAN) — VLAN = the Ethernet Tag of a sub-interface, 0 for the
//! main interface — and once per ES (V = 0) in port-active mode (RFC 9786).

use crate::bgp::packet::ecomm::df_alg;
use crate::bgp::packet::evpn::Esi;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// DF Election capability bits (bitmap of the DF Election EC, bit 0 = MSB).
pub mod cap {
    /// Don't Preempt (RFC 9785).
    pub const DP: u16 = 0x8000;
    /// AC-influenced DF election (RFC 8584 §4).
    pub const AC: u16 = 0x4000;
    /// Port Mode DF election (RFC 9786).
    pub const PORT_MODE: u16 = 0x0400;
}

/// What one PE of the segment asks for, from the DF Election EC of its RT-4
/// (`None`: no EC, or more than one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Wish {
    pub alg: u8,
    pub bitmap: u16,
    pub preference: u16,
}

/// The algorithm every PE uses: the advertised one if all PEs advertise exactly the same
/// algorithm and capabilities, else modulo without capabilities (RFC 8584 §2.2).
pub fn agreed(candidates: &BTreeMap<IpAddr, Option<Wish>>) -> (u8, u16) {
    let mut it = candidates.values();
    let Some(Some(first)) = it.next() else {
        return (df_alg::MODULO, 0);
    };
    if it.all(|w| matches!(w, Some(x) if (x.alg, x.bitmap) == (first.alg, first.bitmap))) {
        (first.alg, first.bitmap)
    } else {
        (df_alg::MODULO, 0)
    }
}

/// Unsigned order of addresses: IPv4 before IPv6 (RFC 7432 leaves mixed order undefined).
fn ordinal_key(ip: &IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(*a)),
        IpAddr::V6(a) => (1u128 << 127) | (u128::from(*a) >> 1),
    }
}

/// CRC-32 as in IEEE 802.3 / zlib (reflected 0xEDB88320, init and final XOR all ones): the
/// variant assumed for HRW (evpn-procedures.md §2.5 marks it unverified).
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// RFC 8584 §3.2: Wrand(V, Es, Si).
pub fn hrw_weight(vlan: u32, esi: &Esi, pe: &IpAddr) -> u32 {
    let mut s = [0u8; 14];
    s[..4].copy_from_slice(&vlan.to_be_bytes());
    s[4..].copy_from_slice(&esi.0);
    let d = u64::from(crc32(&s) & 0x7fff_ffff);
    let si = u64::from(match pe {
        IpAddr::V4(a) => u32::from(*a),
        IpAddr::V6(a) => (u128::from(*a) & 0xffff_ffff) as u32,
    }) & 0x7fff_ffff;
    const M: u64 = 0x7fff_ffff;
    let inner = (1_103_515_245 * si + 12345) & M;
    ((1_103_515_245 * (inner ^ d) + 12345) & M) as u32
}

/// The DF and the backup DF for one (ES, VLAN) among `candidates` under algorithm `alg`.
pub fn elect(
    alg: u8,
    bitmap: u16,
    esi: &Esi,
    vlan: u32,
    candidates: &BTreeMap<IpAddr, Option<Wish>>,
) -> Option<(IpAddr, Option<IpAddr>)> {
    let mut ips: Vec<IpAddr> = candidates.keys().copied().collect();
    ips.sort_by_key(ordinal_key);
    if ips.is_empty() {
        return None;
    }
    match alg {
        df_alg::HRW => {
            // Highest weight first; equal weights: lowest address first.
            ips.sort_by_key(|ip| {
                (
                    std::cmp::Reverse(hrw_weight(vlan, esi, ip)),
                    ordinal_key(ip),
                )
            });
            Some((ips[0], ips.get(1).copied()))
        }
        df_alg::PREFERENCE => {
            let dp = bitmap & cap::DP != 0;
            ips.sort_by_key(|ip| {
                let w = candidates[ip].unwrap_or(Wish {
                    alg: 0,
                    bitmap: 0,
                    preference: 0,
                });
                (
                    std::cmp::Reverse(w.preference),
                    // RFC 9785: with equal preference a PE with DP set wins.
                    std::cmp::Reverse(dp && w.bitmap & cap::DP != 0),
                    ordinal_key(ip),
                )
            });
            Some((ips[0], ips.get(1).copied()))
        }
        _ => {
            let n = ips.len();
            let i = vlan as usize % n;
            Some((ips[i], (n > 1).then(|| ips[(i + 1) % n])))
        }
    }
}

/// RFC 8584 §2.1 states (ES_UP/ES_DOWN, RCVD_ES/LOST_ES, DF_TIMER are the events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DfState {
    Init,
    DfWait,
    DfDone,
}

/// The result for one VLAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    pub df: IpAddr,
    pub backup: Option<IpAddr>,
}

/// One segment's election: inputs (who is on the segment, what they want), timer, results.
#[derive(Debug)]
pub struct Election {
    pub esi: Esi,
    pub me: IpAddr,
    pub mine: Wish,
    /// VLANs elected for; `[0]` in port-active mode.
    pub vlans: Vec<u32>,
    pub wait: Duration,
    pub state: DfState,
    pub timer: Option<Instant>,
    /// Every PE with an RT-4 for this ESI, us included while the ES is up.
    pub candidates: BTreeMap<IpAddr, Option<Wish>>,
    pub alg: (u8, u16),
    pub results: BTreeMap<u32, Outcome>,
    pub runs: u64,
    pub last_run: Option<Instant>,
}

impl Election {
    pub fn new(esi: Esi, me: IpAddr, mine: Wish, vlans: Vec<u32>, wait: Duration) -> Election {
        Election {
            esi,
            me,
            mine,
            vlans,
            wait,
            state: DfState::Init,
            timer: None,
            candidates: BTreeMap::new(),
            alg: (mine.alg, mine.bitmap),
            results: BTreeMap::new(),
            runs: 0,
            last_run: None,
        }
    }

    /// Whether we forward for `vlan`. Non-DF until the first election is done.
    pub fn is_df(&self, vlan: u32) -> bool {
        self.state == DfState::DfDone && self.results.get(&vlan).is_some_and(|o| o.df == self.me)
    }

    /// ES_UP / ES_DOWN.
    pub fn set_up(&mut self, now: Instant, up: bool) {
        match (self.state, up) {
            (DfState::Init, true) => {
                self.candidates.insert(self.me, Some(self.mine));
                self.state = DfState::DfWait;
                self.timer = Some(now + self.wait);
            }
            (DfState::DfWait | DfState::DfDone, false) => {
                self.candidates.remove(&self.me);
                self.state = DfState::Init;
                self.timer = None;
                self.results.clear();
            }
            _ => {}
        }
    }

    /// The remote PEs' RT-4s for this ESI, as now received. Returns true if the set changed
    /// (RCVD_ES / LOST_ES); an identical re-advertisement is no event.
    pub fn set_remote(&mut self, now: Instant, remote: BTreeMap<IpAddr, Option<Wish>>) -> bool {
        let mut next = remote;
        next.remove(&self.me);
        if self.state != DfState::Init {
            next.insert(self.me, Some(self.mine));
        }
        if next == self.candidates {
            return false;
        }
        self.candidates = next;
        if self.state == DfState::DfDone {
            self.calculate(now);
        }
        true
    }

    /// DF_TIMER expiry; returns true if results may have changed.
    pub fn poll(&mut self, now: Instant) -> bool {
        match self.timer {
            Some(t) if self.state == DfState::DfWait && now >= t => {
                self.timer = None;
                self.calculate(now);
                true
            }
            _ => false,
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.timer
    }

    fn calculate(&mut self, now: Instant) {
        self.alg = agreed(&self.candidates);
        self.results.clear();
        for &v in &self.vlans {
            if let Some((df, backup)) =
                elect(self.alg.0, self.alg.1, &self.esi, v, &self.candidates)
            {
                self.results.insert(v, Outcome { df, backup });
            }
        }
        self.state = DfState::DfDone;
        self.runs += 1;
        self.last_run = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }
    const ESI: Esi = Esi([0x01, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x64, 0x00]);

    fn cands(list: &[(&str, Option<Wish>)]) -> BTreeMap<IpAddr, Option<Wish>> {
        list.iter().map(|(a, w)| (ip(a), *w)).collect()
    }
    fn w(alg: u8, bitmap: u16, preference: u16) -> Option<Wish> {
        Some(Wish {
            alg,
            bitmap,
            preference,
        })
    }

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    /// The worked example of evpn-procedures.md §2.5 (IEEE CRC-32).
    #[test]
    fn hrw_worked_example() {
        let (pe1, pe2) = (ip("192.0.2.1"), ip("192.0.2.2"));
        assert_eq!(hrw_weight(0, &ESI, &pe1), 1_457_584_935);
        assert_eq!(hrw_weight(0, &ESI, &pe2), 394_124_176);
        assert_eq!(hrw_weight(1, &ESI, &pe1), 333_476_455);
        assert_eq!(hrw_weight(1, &ESI, &pe2), 1_894_723_024);
        assert_eq!(hrw_weight(2, &ESI, &pe1), 1_266_455_252);
        assert_eq!(hrw_weight(2, &ESI, &pe2), 823_332_195);
        let c = cands(&[("192.0.2.1", w(1, 0, 0)), ("192.0.2.2", w(1, 0, 0))]);
        let df = |v| elect(df_alg::HRW, 0, &ESI, v, &c).map(|x| x.0);
        assert_eq!((df(0), df(1), df(2)), (Some(pe1), Some(pe2), Some(pe1)));
    }

    /// RFC 7432 §8.5 / evpn-procedures.md §2.4: VLAN 1 → PE2, VLAN 2 → PE1, V=0 → PE1.
    #[test]
    fn modulo_example() {
        let c = cands(&[("192.0.2.2", w(0, 0, 0)), ("192.0.2.1", w(0, 0, 0))]);
        let df = |v| elect(df_alg::MODULO, 0, &ESI, v, &c).map(|x| x.0);
        assert_eq!(df(1), Some(ip("192.0.2.2")));
        assert_eq!(df(2), Some(ip("192.0.2.1")));
        assert_eq!(df(0), Some(ip("192.0.2.1")));
        // Numeric, not textual, order: 10.0.0.9 < 10.0.0.10.
        let c = cands(&[("10.0.0.10", None), ("10.0.0.9", None)]);
        assert_eq!(elect(0, 0, &ESI, 0, &c).map(|x| x.0), Some(ip("10.0.0.9")));
    }

    #[test]
    fn preference_highest_then_dp_then_lowest_ip() {
        let c = cands(&[("192.0.2.1", w(2, 0, 100)), ("192.0.2.2", w(2, 0, 200))]);
        assert_eq!(
            elect(df_alg::PREFERENCE, 0, &ESI, 0, &c),
            Some((ip("192.0.2.2"), Some(ip("192.0.2.1"))))
        );
        let c = cands(&[("192.0.2.1", w(2, 0, 100)), ("192.0.2.2", w(2, 0, 100))]);
        assert_eq!(elect(2, 0, &ESI, 0, &c).map(|x| x.0), Some(ip("192.0.2.1")));
        let c = cands(&[
            ("192.0.2.1", w(2, cap::DP, 100)),
            ("192.0.2.2", w(2, cap::DP, 100)),
        ]);
        assert_eq!(
            elect(2, cap::DP, &ESI, 0, &c).map(|x| x.0),
            Some(ip("192.0.2.1"))
        );
    }

    #[test]
    fn disagreement_falls_back_to_modulo() {
        assert_eq!(
            agreed(&cands(&[
                ("192.0.2.1", w(1, 0, 0)),
                ("192.0.2.2", w(1, 0, 0))
            ])),
            (1, 0)
        );
        assert_eq!(
            agreed(&cands(&[
                ("192.0.2.1", w(1, 0, 0)),
                ("192.0.2.2", w(2, 0, 0))
            ])),
            (0, 0)
        );
        assert_eq!(
            agreed(&cands(&[
                ("192.0.2.1", w(2, cap::PORT_MODE, 5)),
                ("192.0.2.2", None)
            ])),
            (0, 0)
        );
        // Preferences may differ; algorithm and capabilities may not.
        assert_eq!(
            agreed(&cands(&[
                ("192.0.2.1", w(2, cap::PORT_MODE, 5)),
                ("192.0.2.2", w(2, cap::PORT_MODE, 9))
            ])),
            (2, cap::PORT_MODE)
        );
    }

    /// The FSM with a fake clock: non-DF while waiting, DF after the timer, immediate
    /// re-election on a peer's arrival/loss once done, non-DF when the ES goes down.
    #[test]
    fn fsm_timeline() {
        let t0 = Instant::now();
        let me = ip("192.0.2.1");
        let mut e = Election::new(
            ESI,
            me,
            w(0, 0, 0).expect("w"),
            vec![1, 2],
            Duration::from_secs(3),
        );
        assert_eq!(e.state, DfState::Init);
        // A peer's RT-4 before ES_UP is remembered but elects nothing.
        assert!(e.set_remote(t0, cands(&[("192.0.2.2", w(0, 0, 0))])));
        assert!(!e.poll(t0));
        e.set_up(t0, true);
        assert_eq!(e.state, DfState::DfWait);
        assert!(!e.is_df(2) && !e.is_df(1));
        assert!(!e.poll(t0 + Duration::from_millis(2999)));
        assert!(e.poll(t0 + Duration::from_secs(3)));
        assert_eq!(e.state, DfState::DfDone);
        assert!(e.is_df(2) && !e.is_df(1), "{:?}", e.results);
        // The same RT-4 again: no event.
        let t1 = t0 + Duration::from_secs(5);
        assert!(!e.set_remote(t1, cands(&[("192.0.2.2", w(0, 0, 0))])));
        // The peer is lost: we are DF for everything at once.
        assert!(e.set_remote(t1, BTreeMap::new()));
        assert!(e.is_df(1) && e.is_df(2));
        assert_eq!(e.results[&1].backup, None);
        // It comes back: VLAN 1 goes back to it at once.
        e.set_remote(t1, cands(&[("192.0.2.2", w(0, 0, 0))]));
        assert!(!e.is_df(1) && e.is_df(2));
        assert_eq!(e.runs, 3);
        // ES down: non-DF, back to INIT.
        e.set_up(t1, false);
        assert_eq!(e.state, DfState::Init);
        assert!(!e.is_df(2));
        assert!(!e.candidates.contains_key(&me));
    }
}
