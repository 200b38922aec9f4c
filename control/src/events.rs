//! Per Ethernet Segment event log: the convergence ledger the draft leaves "for future
//! study" (L3MH §3). Each PE records, per ESI (local segments and remote ones known from A-D
//! routes), when a member went down, when it redirected traffic (local repair), when it sent
//! or received the withdrawals and when its FIB or next-hop groups changed, so one failure
//! can be followed across PEs by wall-clock time.

use config::Esi;
use std::collections::{HashMap, VecDeque};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Events kept per ESI (oldest dropped first).
pub const KEEP: usize = 256;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Event {
    /// Wall clock, microseconds since the Unix epoch (comparable between PEs of one host).
    pub unix_us: u64,
    /// Milliseconds since the daemon started (monotonic).
    pub uptime_ms: f64,
    pub what: &'static str,
    pub detail: String,
}

pub struct EsEvents {
    started: Instant,
    logs: HashMap<Esi, VecDeque<Event>>,
}

impl EsEvents {
    pub fn new(started: Instant) -> EsEvents {
        EsEvents {
            started,
            logs: HashMap::new(),
        }
    }

    pub fn record(&mut self, esi: Esi, what: &'static str, detail: String) {
        if esi.is_zero() {
            return;
        }
        let unix_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        let log = self.logs.entry(esi).or_default();
        if log.len() == KEEP {
            log.pop_front();
        }
        log.push_back(Event {
            unix_us,
            uptime_ms: self.started.elapsed().as_secs_f64() * 1e3,
            what,
            detail,
        });
    }

    pub fn get(&self, esi: &Esi) -> Vec<Event> {
        self.logs
            .get(esi)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn esis(&self) -> Vec<Esi> {
        let mut v: Vec<Esi> = self.logs.keys().copied().collect();
        v.sort_unstable();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_events_per_esi_in_order() {
        let mut ev = EsEvents::new(Instant::now());
        let a = Esi([0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
        for i in 0..KEEP + 3 {
            ev.record(a, "member-down", format!("{i}"));
        }
        ev.record(Esi::ZERO, "ignored", String::new());
        let got = ev.get(&a);
        assert_eq!(got.len(), KEEP);
        assert_eq!(got[0].detail, "3");
        assert!(got.windows(2).all(|w| w[0].unix_us <= w[1].unix_us));
        assert_eq!(ev.esis(), vec![a]);
    }
}
