//! The LACPDU decoder and the 802.1AX machines behind it: arbitrary PDUs on arbitrary
//! members at arbitrary times never panic. Each 112-byte chunk is one event: byte 0 picks the
//! member, byte 1 the time step (x 10 ms), the rest is the Slow Protocols payload.
#![no_main]

use control::lacp::{Bundle, LacpConf, Role};
use dataplane::wire::lacp::Lacpdu;
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let conf = LacpConf {
        active: data.first().is_some_and(|b| b & 1 == 0),
        fast: true,
        system: config::MacAddr([2, 0, 0, 0, 0xaa, 1]),
        system_priority: 100,
        key: 7,
        port_priority: 255,
    };
    let mut b = Bundle::new(conf, &[(0, 0x0101), (1, 0x0102), (2, 0x0103)]);
    let mut now = Instant::now();
    for ev in data.chunks(112) {
        if ev.len() < 2 {
            break;
        }
        now += Duration::from_millis(u64::from(ev[1]) * 10);
        let i = usize::from(ev[0]) % 3;
        match ev[0] >> 5 {
            0 => b.link(now, i, ev[1] & 1 == 0),
            1 => b.set_role(now, if ev[1] & 1 == 0 { Role::Active } else { Role::Standby }),
            _ => {
                if let Ok(pdu) = Lacpdu::parse(&ev[2..]) {
                    b.rx(now, i, &pdu);
                }
            }
        }
        let _ = b.tick(now);
        let _ = b.distributing();
    }
});
