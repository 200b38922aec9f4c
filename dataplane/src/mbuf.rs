//! An owned DPDK mbuf: `Drop` frees it, `into_raw` hands it to a tx burst.
//! Only single-segment mbufs are handled (the pipeline drops chained ones).

use crate::buffer::PacketBuf;
use crate::eal::Mempool;
use std::ptr::NonNull;

pub struct Mbuf(NonNull<sys::rte_mbuf>);

// SAFETY: an Mbuf is uniquely owned; DPDK mbufs may be freed from any thread.
unsafe impl Send for Mbuf {}

impl Mbuf {
    /// # Safety
    /// `p` must be a valid mbuf that the caller owns.
    #[inline]
    pub unsafe fn from_raw(p: *mut sys::rte_mbuf) -> Mbuf {
        // SAFETY: the caller guarantees p is a valid, owned mbuf (non-null).
        Mbuf(unsafe { NonNull::new_unchecked(p) })
    }

    #[inline]
    pub fn into_raw(self) -> *mut sys::rte_mbuf {
        let p = self.0.as_ptr();
        std::mem::forget(self);
        p
    }

    pub fn alloc(pool: &Mempool) -> Option<Mbuf> {
        // SAFETY: the pool is valid; a null return means exhausted.
        NonNull::new(unsafe { sys::shim_rte_pktmbuf_alloc(pool.as_ptr()) }).map(Mbuf)
    }

    #[inline]
    fn m(&self) -> &sys::rte_mbuf {
        // SAFETY: we own a valid mbuf.
        unsafe { self.0.as_ref() }
    }

    #[inline]
    fn mm(&mut self) -> &mut sys::rte_mbuf {
        // SAFETY: we own a valid mbuf exclusively.
        unsafe { self.0.as_mut() }
    }

    /// A copy of the data in a new mbuf of the same pool (multicast replication).
    pub fn copy(&self) -> Option<Mbuf> {
        let src = crate::buffer::PacketBuf::data(self);
        // SAFETY: the pool pointer of a valid mbuf is a valid mempool; null means exhausted.
        let p = unsafe { sys::shim_rte_pktmbuf_alloc(self.m().pool) };
        let mut c = Mbuf(NonNull::new(p)?);
        if !c.append(src.len()) {
            return None;
        }
        crate::buffer::PacketBuf::data_mut(&mut c).copy_from_slice(src);
        Some(c)
    }

    pub fn nb_segs(&self) -> u16 {
        self.m().nb_segs
    }

    /// Grows the data by `n` bytes at the tail (for building frames).
    pub fn append(&mut self, n: usize) -> bool {
        let m = self.mm();
        let tail = usize::from(m.buf_len) - usize::from(m.data_off) - usize::from(m.data_len);
        if n > tail {
            return false;
        }
        m.data_len += n as u16;
        m.pkt_len += n as u32;
        true
    }
}

/// Prefetches the start of a received mbuf's packet data (the headers the pipeline reads
/// first): with zero-copy PMDs they were last written by another core.
///
/// # Safety
/// `raw` must be a valid mbuf (e.g. returned by rx_burst and not yet freed).
#[inline(always)]
pub unsafe fn prefetch_data(raw: *const sys::rte_mbuf) {
    // SAFETY: the caller guarantees a valid mbuf; only its header fields are read here, and
    // the prefetched address is never dereferenced.
    let m = unsafe { &*raw };
    crate::prefetch((m.buf_addr as *const u8).wrapping_add(usize::from(m.data_off)));
}

impl PacketBuf for Mbuf {
    #[inline]
    fn data(&self) -> &[u8] {
        let m = self.m();
        // SAFETY: buf_addr + data_off .. + data_len lies inside the mbuf's buffer.
        unsafe {
            std::slice::from_raw_parts(
                (m.buf_addr as *const u8).add(usize::from(m.data_off)),
                usize::from(m.data_len),
            )
        }
    }
    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        let m = self.mm();
        // SAFETY: as above, and we own the mbuf exclusively (refcnt 1 for received mbufs).
        unsafe {
            std::slice::from_raw_parts_mut(
                (m.buf_addr as *mut u8).add(usize::from(m.data_off)),
                usize::from(m.data_len),
            )
        }
    }
    #[inline]
    fn prepend(&mut self, n: usize) -> bool {
        let m = self.mm();
        if n > usize::from(m.data_off) {
            return false;
        }
        m.data_off -= n as u16;
        m.data_len += n as u16;
        m.pkt_len += n as u32;
        true
    }
    #[inline]
    fn adj(&mut self, n: usize) -> bool {
        let m = self.mm();
        if n > usize::from(m.data_len) {
            return false;
        }
        m.data_off += n as u16;
        m.data_len -= n as u16;
        m.pkt_len -= n as u32;
        true
    }
    #[inline]
    fn rx_vlan(&self) -> Option<u16> {
        let m = self.m();
        (m.ol_flags & RX_VLAN_STRIPPED != 0).then_some(m.vlan_tci & 0x0fff)
    }
    #[inline]
    fn truncate(&mut self, len: usize) {
        let m = self.mm();
        if len < usize::from(m.data_len) {
            m.pkt_len -= u32::from(m.data_len) - len as u32;
            m.data_len = len as u16;
        }
    }
}

/// `RTE_MBUF_F_RX_VLAN_STRIPPED` (RTE_BIT64(6) in rte_mbuf_core.h; bindgen skips the macro).
const RX_VLAN_STRIPPED: u64 = 1 << 6;

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own the mbuf; it returns to its pool.
        unsafe { sys::shim_rte_pktmbuf_free(self.0.as_ptr()) }
    }
}
