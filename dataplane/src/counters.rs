//! Counters written by one worker each (Relaxed load + store: no locked instructions) and
//! summed by control. Every packet that is not transmitted ends in exactly one `DropReason`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

pub const MAX_PORTS: usize = 64;
pub const MAX_IFACES: usize = 1024;

macro_rules! drop_reasons {
    ($($name:ident => $text:literal,)*) => {
        /// Why a packet was not forwarded; `show counters` prints the text.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        pub enum DropReason { $($name,)* }
        impl DropReason {
            pub const ALL: &'static [DropReason] = &[$(DropReason::$name,)*];
            pub fn as_str(self) -> &'static str {
                match self { $(DropReason::$name => $text,)* }
            }
        }
    };
}

drop_reasons! {
    Runt => "runt",
    MultiSegment => "multi-segment",
    NotForUs => "dst-mac-not-ours",
    NotCollecting => "lacp-not-collecting",
    UnknownVlan => "unknown-vlan",
    NoInterface => "untagged-no-interface",
    UnsupportedEthertype => "unsupported-ethertype",
    ArpMalformed => "arp-malformed",
    ArpNotForUs => "arp-target-not-ours",
    Ipv4Malformed => "ipv4-malformed",
    Ipv4Checksum => "ipv4-bad-checksum",
    Ipv6Malformed => "ipv6-malformed",
    IcmpMalformed => "icmp-malformed",
    NdMalformed => "nd-malformed",
    Multicast => "multicast-no-route",
    McastNoMbuf => "multicast-copy-no-mbuf",
    TtlExceeded => "ttl-exceeded",
    NoRoute => "no-route",
    Blackhole => "blackhole",
    MtuExceeded => "mtu-exceeded",
    NoHostInterface => "no-host-interface",
    HostUnroutable => "host-unroutable",
    NoHeadroom => "no-headroom",
    LinkDown => "link-no-member",
    NeighMiss => "neighbor-unresolved",
    EventQueueFull => "event-queue-full",
    PuntPoliced => "punt-policed",
    TxFull => "tx-queue-full",
    VxlanMalformed => "vxlan-malformed",
    VxlanUnknownVni => "vxlan-unknown-vni",
    OverlayDown => "overlay-no-tunnel",
    NoUnderlayRoute => "vxlan-no-underlay-route",
}

pub const N_DROPS: usize = DropReason::ALL.len();

#[inline(always)]
pub fn bump(c: &AtomicU64, n: u64) {
    // Single writer: a plain load + store is enough and avoids a locked add.
    c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
}

#[derive(Default)]
pub struct PortCounters {
    pub rx_packets: AtomicU64,
    pub rx_bytes: AtomicU64,
    pub tx_packets: AtomicU64,
    pub tx_bytes: AtomicU64,
}

#[derive(Default)]
pub struct IfaceCounters {
    pub rx_packets: AtomicU64,
    pub rx_bytes: AtomicU64,
    pub tx_packets: AtomicU64,
    pub tx_bytes: AtomicU64,
}

/// One worker's counters.
pub struct Counters {
    pub drops: [AtomicU64; N_DROPS],
    pub ports: Box<[PortCounters]>,
    pub ifaces: Box<[IfaceCounters]>,
    pub punted: AtomicU64,
    pub injected: AtomicU64,
    pub polls: AtomicU64,
    pub idle_sleeps: AtomicU64,
    /// Packets decapsulated from, and encapsulated into, VXLAN tunnels of the EVPN core.
    pub vxlan_rx: AtomicU64,
    pub vxlan_tx: AtomicU64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            drops: std::array::from_fn(|_| AtomicU64::new(0)),
            ports: (0..MAX_PORTS).map(|_| PortCounters::default()).collect(),
            ifaces: (0..MAX_IFACES).map(|_| IfaceCounters::default()).collect(),
            punted: AtomicU64::new(0),
            injected: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            idle_sleeps: AtomicU64::new(0),
            vxlan_rx: AtomicU64::new(0),
            vxlan_tx: AtomicU64::new(0),
        }
    }
}

impl Counters {
    #[inline]
    pub fn drop(&self, r: DropReason) {
        bump(&self.drops[r as usize], 1);
    }
    pub fn drop_count(&self, r: DropReason) -> u64 {
        self.drops[r as usize].load(Relaxed)
    }
    #[inline]
    pub fn iface_rx(&self, i: u16, bytes: usize) {
        if let Some(c) = self.ifaces.get(usize::from(i)) {
            bump(&c.rx_packets, 1);
            bump(&c.rx_bytes, bytes as u64);
        }
    }
    #[inline]
    pub fn iface_tx(&self, i: u16, bytes: usize) {
        if let Some(c) = self.ifaces.get(usize::from(i)) {
            bump(&c.tx_packets, 1);
            bump(&c.tx_bytes, bytes as u64);
        }
    }
}
