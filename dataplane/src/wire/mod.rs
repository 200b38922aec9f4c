//! Byte views over packets, smoltcp style: `new_checked` validates lengths once, and after
//! that no accessor panics. Setters need `AsMut<[u8]>`. `Repr`-style builders serve slow paths
//! (control-originated ARP/ND) and tests.

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod icmp;
pub mod igmp;
pub mod ipv4;
pub mod ipv6;
pub mod lacp;
pub mod mld;
pub mod vxlan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("truncated")]
    Truncated,
    #[error("malformed")]
    Malformed,
    #[error("bad checksum")]
    Checksum,
}

pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

pub(crate) fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}
