//! tandem's dataplane: poll-mode workers over DPDK ports.
//!
//! Packet logic (`wire`, `tables`, `pipeline`) is generic over `PacketBuf` and tests without
//! DPDK; `eal`, `mbuf`, `port` and `worker` are the DPDK side. Control publishes `Snapshot`s
//! through `snapshot::Publisher`; workers read one per burst and never lock.

pub mod buffer;
pub mod counters;
pub mod eal;
pub mod mbuf;
pub mod pipeline;
pub mod port;
pub mod punt;
pub mod snapshot;
pub mod tables;
pub mod wire;
pub mod worker;

/// Hints the CPU to bring `p`'s cache line into L1. Never faults, whatever the address.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
