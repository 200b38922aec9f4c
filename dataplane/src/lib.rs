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
