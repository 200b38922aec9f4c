//! EVPN NLRI from a peer: never panics, and every route that decodes re-encodes to bytes that
//! decode to the same route.
#![no_main]

use control::bgp::packet::evpn::EvpnRoute;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((routes, _bad)) = EvpnRoute::decode_all(data) {
        let mut out = Vec::new();
        for r in &routes {
            r.encode(&mut out);
        }
        let (again, bad) = EvpnRoute::decode_all(&out).expect("our own encoding frames");
        assert!(bad.is_empty());
        assert_eq!(again, routes);
    }
});
