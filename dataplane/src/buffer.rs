//! The packet buffer abstraction the pipeline stages are generic over: DPDK's `Mbuf` in the
//! dataplane, `TestBuf` (a `Vec` with headroom) in unit tests and benches.

/// A single-segment packet buffer with headroom in front of the data.
pub trait PacketBuf {
    fn data(&self) -> &[u8];
    fn data_mut(&mut self) -> &mut [u8];
    /// Grows the data by `n` bytes at the front; false (and unchanged) without headroom.
    fn prepend(&mut self, n: usize) -> bool;
    /// Removes `n` bytes from the front; false (and unchanged) if shorter.
    fn adj(&mut self, n: usize) -> bool;
    /// Shortens the data to `len` bytes (no-op if already shorter).
    fn truncate(&mut self, len: usize);
    /// The 802.1Q VLAN id the port stripped on receive, if it did (af_packet on a veth
    /// delivers the tag as metadata).
    fn rx_vlan(&self) -> Option<u16> {
        None
    }
}

/// Headroom given to test buffers; the same as DPDK's `RTE_PKTMBUF_HEADROOM`.
pub const HEADROOM: usize = 128;

/// A heap buffer for tests: `HEADROOM` bytes of headroom, then the data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestBuf {
    buf: Vec<u8>,
    off: usize,
}

impl TestBuf {
    pub fn from_slice(data: &[u8]) -> TestBuf {
        let mut buf = vec![0xa5; HEADROOM];
        buf.extend_from_slice(data);
        TestBuf { buf, off: HEADROOM }
    }
}

impl PacketBuf for TestBuf {
    fn data(&self) -> &[u8] {
        &self.buf[self.off..]
    }
    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.off..]
    }
    fn prepend(&mut self, n: usize) -> bool {
        if n > self.off {
            return false;
        }
        self.off -= n;
        true
    }
    fn adj(&mut self, n: usize) -> bool {
        if n > self.buf.len() - self.off {
            return false;
        }
        self.off += n;
        true
    }
    fn truncate(&mut self, len: usize) {
        let len = len.min(self.buf.len() - self.off);
        self.buf.truncate(self.off + len);
    }
}
