//! BGP framing and message decoding: arbitrary bytes from a peer never panic, and whatever
//! decodes re-encodes to something that decodes to the same message.
#![no_main]

use control::bgp::packet::{message_len, Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(len)) = message_len(data) {
        if let Some(m) = data.get(..len) {
            if let Ok(msg) = Message::decode(m) {
                assert_eq!(Message::decode(&msg.encode()).as_ref(), Ok(&msg));
            }
        }
    }
});
