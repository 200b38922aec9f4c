//! BGP framing and message decoding, UPDATE attributes included: arbitrary bytes from a peer
//! never panic, and whatever message decodes re-encodes to something that decodes the same.
#![no_main]

use control::bgp::packet::update::{DecodeCxt, Update};
use control::bgp::packet::{message_len, Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The UPDATE body decoder straight on the input too: framed messages are rare in random bytes.
    if let Some((&sel, body)) = data.split_first() {
        let _ = Update::decode(body, &DecodeCxt { four_octet_as: sel & 1 == 0, ebgp: sel & 2 != 0 });
    }
    if let Ok(Some(len)) = message_len(data) {
        if let Some(m) = data.get(..len) {
            if let Ok(msg) = Message::decode(m) {
                assert_eq!(Message::decode(&msg.encode()).as_ref(), Ok(&msg));
                // UPDATE bodies: attributes, MP_REACH/UNREACH and EVPN NLRI under RFC 7606.
                if let Message::Update(body) = &msg {
                    for (four_octet_as, ebgp) in [(true, false), (false, true)] {
                        let _ = Update::decode(body, &DecodeCxt { four_octet_as, ebgp });
                    }
                }
            }
        }
    }
});
