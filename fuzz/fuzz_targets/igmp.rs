//! IGMP and MLD from a CE, as control sees them, into the membership table: arbitrary
//! messages at arbitrary times never panic. Each chunk is one event: byte 0 the time step
//! (x 100 ms), byte 1 the interface, the rest an IGMP message or (also) an IPv6 packet
//! carrying MLD.
#![no_main]

use control::mcast::{Key, Memberships};
use dataplane::wire::igmp::{self, Igmp};
use dataplane::wire::mld::{self, Mld};
use libfuzzer_sys::fuzz_target;
use std::net::IpAddr;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let mut m = Memberships::new(Default::default());
    let mut now = Instant::now();
    for ev in data.split(|b| *b == 0xfe) {
        if ev.len() < 2 {
            continue;
        }
        now += Duration::from_millis(u64::from(ev[0]) * 100);
        let key = |source: Option<std::net::Ipv4Addr>, group: std::net::Ipv4Addr| Key {
            vrf: 0,
            iface: u16::from(ev[1] & 3),
            source: source.map(IpAddr::V4),
            group: IpAddr::V4(group),
        };
        match igmp::parse(&ev[2..]) {
            Ok(Igmp::Report { version, group }) => m.report(now, key(None, group), version),
            Ok(Igmp::Leave { group }) => {
                m.leave(now, key(None, group));
            }
            Ok(Igmp::V3Report { n, records }) => {
                for r in igmp::records(n, records) {
                    for s in r.sources() {
                        m.report(now, key(Some(s), r.group), 3);
                    }
                    m.leave(now, key(None, r.group));
                }
            }
            _ => {}
        }
        if let Some((src, dst, msg)) = mld::locate(&ev[2..]) {
            match mld::parse(msg, &src, &dst) {
                Ok(Mld::Report { group }) => m.report(
                    now,
                    Key { vrf: 0, iface: 0, source: None, group: IpAddr::V6(group) },
                    1,
                ),
                Ok(Mld::V2Report { n, records }) => {
                    for r in mld::records(n, records) {
                        let _ = r.sources().count();
                        m.leave(now, Key { vrf: 0, iface: 0, source: None, group: IpAddr::V6(r.group) });
                    }
                }
                _ => {}
            }
        }
        m.tick(now);
        let _ = m.take_changes();
    }
});
