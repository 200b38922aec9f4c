//! VXLAN (RFC 7348) over UDP: the 8-byte UDP header and the 8-byte VXLAN header that follow
//! the outer IPv4 header.
//!
//! ```text
//! UDP:   src port | dst port | length | checksum (0: none, allowed over IPv4)
//! VXLAN: flags (0x08 = I, VNI valid) | 3 reserved | VNI (24 bits) | 1 reserved
//! ```

use super::{be16, put16, WireError};

pub const UDP_HDR: usize = 8;
pub const VXLAN_HDR: usize = 8;
/// UDP + VXLAN: what follows the outer IPv4 header before the inner Ethernet frame.
pub const HDR: usize = UDP_HDR + VXLAN_HDR;
/// The I flag: the VNI is valid (RFC 7348 §5).
pub const FLAG_I: u8 = 0x08;

/// The UDP destination port of a datagram (`udp` starts at the UDP header).
pub fn dst_port(udp: &[u8]) -> Option<u16> {
    (udp.len() >= UDP_HDR).then(|| be16(udp, 2))
}

/// Parses UDP + VXLAN and returns the VNI. The UDP length must cover the headers and fit in
/// the buffer; the I flag must be set (reserved bits are ignored, as RFC 7348 asks).
pub fn parse(udp: &[u8]) -> Result<u32, WireError> {
    if udp.len() < HDR {
        return Err(WireError::Truncated);
    }
    let len = usize::from(be16(udp, 4));
    if len < HDR || len > udp.len() {
        return Err(WireError::Malformed);
    }
    let v = &udp[UDP_HDR..];
    if v[0] & FLAG_I == 0 {
        return Err(WireError::Malformed);
    }
    Ok(u32::from_be_bytes([0, v[4], v[5], v[6]]))
}

/// Writes UDP + VXLAN headers for a `payload_len`-byte inner frame. The source port carries
/// the flow entropy (RFC 7348 §5: 49152-65535); the checksum is 0.
pub fn emit(b: &mut [u8], src_port: u16, dst_port: u16, vni: u32, payload_len: usize) {
    put16(b, 0, src_port);
    put16(b, 2, dst_port);
    put16(b, 4, (HDR + payload_len) as u16);
    put16(b, 6, 0);
    b[8] = FLAG_I;
    b[9..12].fill(0);
    b[12..15].copy_from_slice(&vni.to_be_bytes()[1..]);
    b[15] = 0;
}

/// The source port for a flow hash: 49152 + 14 bits of the hash.
pub fn entropy_port(hash: u32) -> u16 {
    0xc000 | (hash & 0x3fff) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut b = [0u8; HDR + 4];
        emit(&mut b, entropy_port(0xffff_ffff), 4789, 0x12_3456, 4);
        assert_eq!(dst_port(&b), Some(4789));
        assert_eq!(be16(&b, 0), 0xffff);
        assert_eq!(parse(&b), Ok(0x12_3456));
        assert_eq!(&b[8..16], &[0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0]);
    }

    #[test]
    fn rejects_bad_headers() {
        let mut b = [0u8; HDR];
        emit(&mut b, 49152, 4789, 5000, 0);
        assert_eq!(parse(&b[..HDR - 1]), Err(WireError::Truncated));
        let mut c = b;
        c[8] = 0; // no I flag
        assert_eq!(parse(&c), Err(WireError::Malformed));
        let mut c = b;
        put16(&mut c, 4, 200); // UDP length beyond the buffer
        assert_eq!(parse(&c), Err(WireError::Malformed));
    }
}
