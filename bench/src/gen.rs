//! The traffic generator and sink: TRex-STL-style YAML profiles (streams with a frame size or
//! an IMIX, an optional VLAN, address and port ranges, a rate), sent on one DPDK port and
//! counted back on another. Every frame carries a stream id, a sequence number and the TSC at
//! transmission, so the sink reports throughput, loss, reordering and latency percentiles
//! (hdrhistogram) per stream. The sink answers ARP for its address, so a router under test
//! can resolve its next hop.
//!
//! ```text
//!  profile ─► templates ─► [gen: tx port] ══► DUT ══► [sink: rx port] ─► per-stream stats
//!                                 paced by TSC        seq, TSC ─► loss, reorder, latency
//! ```

use anyhow::{bail, Context, Result};
use config::MacAddr;
use hdrhistogram::Histogram;
use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A profile: what to send and for how long.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Profile {
    pub name: String,
    /// Shown in the report.
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_duration")]
    pub duration_s: f64,
    pub streams: Vec<Stream>,
}

fn default_duration() -> f64 {
    10.0
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Stream {
    pub name: String,
    /// Frame size on the wire, FCS included (TRex convention): 64 sends 60 bytes.
    #[serde(default)]
    pub frame_size: Option<u16>,
    /// A size mix instead of `frame-size`.
    #[serde(default)]
    pub imix: Vec<ImixEntry>,
    #[serde(default)]
    pub vlan: Option<u16>,
    pub src: Range,
    pub dst: Range,
    #[serde(default = "default_port")]
    pub src_port: PortRange,
    #[serde(default = "default_port")]
    pub dst_port: PortRange,
    pub rate: RateConf,
    /// Send the stream VXLAN-encapsulated (RFC 7348), as a remote VTEP would: `frame-size`
    /// stays the wire size, so the inner frame is 50 bytes shorter.
    #[serde(default)]
    pub vxlan: Option<VxlanConf>,
}

/// The outer headers of a VXLAN stream.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VxlanConf {
    pub vni: u32,
    /// Outer source (our VTEP) and destination (the DUT's VTEP).
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// Inner destination MAC: the router MAC of the DUT's VRF for the VNI.
    pub inner_dst_mac: MacAddr,
}

/// Outer Ethernet + IPv4 + UDP + VXLAN.
pub const VXLAN_OVERHEAD: u16 = 14 + 20 + 8 + 8;

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImixEntry {
    pub size: u16,
    pub weight: u32,
}

/// Addresses `start`, `start + step`, ... `count` of them, cycled packet by packet.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    pub start: IpAddr,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default = "one")]
    pub step: u32,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortRange {
    pub start: u16,
    #[serde(default = "one16")]
    pub count: u16,
}

fn one() -> u32 {
    1
}
fn one16() -> u16 {
    1
}
fn default_port() -> PortRange {
    PortRange { start: 9, count: 1 }
}

/// Packets per second, or a share of the run's maximum (`--max-pps`; unpaced when absent):
/// exactly one of the two.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RateConf {
    #[serde(default)]
    pub pps: Option<f64>,
    #[serde(default)]
    pub percent: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
pub enum Rate {
    Pps(f64),
    Percent(f64),
}

impl RateConf {
    pub fn rate(&self) -> Option<Rate> {
        match (self.pps, self.percent) {
            (Some(p), None) => Some(Rate::Pps(p)),
            (None, Some(p)) => Some(Rate::Percent(p)),
            _ => None,
        }
    }
}

impl Profile {
    pub fn load(path: &std::path::Path) -> Result<Profile> {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
        Profile::parse(&text).with_context(|| format!("profile {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Profile> {
        let de = serde_yaml_ng::Deserializer::from_str(text);
        let p: Profile =
            serde_path_to_error::deserialize(de).map_err(|e| anyhow::anyhow!("{e}"))?;
        p.validate()?;
        Ok(p)
    }

    fn validate(&self) -> Result<()> {
        if self.streams.is_empty() || self.streams.len() > 256 {
            bail!("streams: 1 to 256 streams");
        }
        if self.duration_s <= 0.0 {
            bail!("duration-s: must be positive");
        }
        for (i, s) in self.streams.iter().enumerate() {
            let at = format!("streams[{i}]");
            match (s.frame_size, s.imix.is_empty()) {
                (Some(_), false) => bail!("{at}: frame-size and imix are exclusive"),
                (None, true) => bail!("{at}: frame-size or imix is required"),
                _ => {}
            }
            let v6 = s.src.start.is_ipv6();
            if v6 != s.dst.start.is_ipv6() {
                bail!("{at}: src and dst are not the same address family");
            }
            for size in s.sizes() {
                // Ethernet's minimum is 64 bytes; the headers and the stamp may need more.
                let min = (min_frame(v6)
                    + if s.vlan.is_some() { 4 } else { 0 }
                    + if s.vxlan.is_some() { VXLAN_OVERHEAD } else { 0 })
                .max(64);
                if !(min..=1518).contains(&size) {
                    bail!("{at}: frame size {size} is not in {min}-1518");
                }
            }
            if s.imix.iter().any(|e| e.weight == 0) {
                bail!("{at}.imix: weights must be positive");
            }
            if s.vlan.is_some_and(|v| v == 0 || v > 4094) {
                bail!("{at}.vlan: not in 1-4094");
            }
            if s.vxlan.is_some_and(|x| x.vni == 0 || x.vni >= 1 << 24) {
                bail!("{at}.vxlan.vni: not in 1-16777215");
            }
            if s.src.count == 0
                || s.dst.count == 0
                || s.src_port.count == 0
                || s.dst_port.count == 0
            {
                bail!("{at}: range counts must be at least 1");
            }
            match s.rate.rate() {
                None => bail!("{at}.rate: exactly one of pps and percent"),
                Some(Rate::Pps(p)) if p <= 0.0 => bail!("{at}.rate.pps: must be positive"),
                Some(Rate::Percent(p)) if !(0.0..=100.0).contains(&p) || p == 0.0 => {
                    bail!("{at}.rate.percent: must be in (0, 100]")
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// The smallest frame that carries the stamp, FCS included: Ethernet 14 + IPv4 20 + UDP 8 +
/// stamp 12 + FCS 4 = 58 (so the classic 64 bytes fits); with IPv6 (40) 78 bytes, the
/// minimum RFC 5180 §5.1.1 recommends for IPv6 benchmarks.
pub const fn min_frame(v6: bool) -> u16 {
    14 + if v6 { 40 } else { 20 } + 8 + STAMP as u16 + 4
}
/// Magic (1), stream id (1), sequence number (48 bits), low 32 bits of the TSC at transmission
/// (latency is a difference of two TSCs, well under the 2^32 cycles ≈ 1.6 s wrap).
pub const STAMP: usize = 1 + 1 + 6 + 4;
const MAGIC: u8 = 0x74; // 't'

impl Stream {
    /// The frame sizes of one IMIX round (each size repeated by its weight), or the one size.
    pub fn sizes(&self) -> Vec<u16> {
        match self.frame_size {
            Some(s) => vec![s],
            None => self
                .imix
                .iter()
                .flat_map(|e| std::iter::repeat_n(e.size, e.weight as usize))
                .collect(),
        }
    }
}

/// Builds frame `n` of stream `id` into `b` (which must hold `size - 4` bytes): Ethernet
/// (+ 802.1Q), for a VXLAN stream outer IPv4 / UDP / VXLAN and the inner Ethernet header,
/// then IPv4 with a valid checksum or IPv6, UDP (checksum 0 over IPv4, computed over IPv6
/// where it is mandatory), the stamp and zero fill.
#[allow(clippy::too_many_arguments)]
pub fn build_frame(
    b: &mut [u8],
    s: &Stream,
    size: u16,
    id: u8,
    n: u64,
    dst_mac: MacAddr,
    src_mac: MacAddr,
    tsc: u64,
) -> usize {
    use dataplane::wire::{ethernet, ipv4, vxlan};
    let len = usize::from(size) - 4;
    let b = &mut b[..len];
    b.fill(0);
    let et = if s.src.start.is_ipv6() {
        ethernet::ethertype::IPV6
    } else {
        ethernet::ethertype::IPV4
    };
    let l2 = ethernet::header_len(s.vlan);
    let l3 = match s.vxlan {
        None => {
            ethernet::emit(b, dst_mac, src_mac, s.vlan, et);
            l2
        }
        Some(x) => {
            // Outer Ethernet (+ VLAN) / IPv4 / UDP / VXLAN, then the inner frame's Ethernet
            // header toward the VRF's router MAC.
            ethernet::emit(b, dst_mac, src_mac, s.vlan, ethernet::ethertype::IPV4);
            let udp = l2 + ipv4::MIN_HDR;
            let inner = udp + vxlan::HDR;
            ipv4::emit(&mut b[l2..], x.src, x.dst, ipv4::PROTO_UDP, 64, len - udp);
            // Entropy in the source port, as a VTEP puts it (RFC 7348 §5).
            let sport = vxlan::entropy_port((n as u32).wrapping_mul(0x9e37_79b1) >> 7);
            vxlan::emit(&mut b[udp..], sport, 4789, x.vni, len - inner);
            ethernet::emit(&mut b[inner..], x.inner_dst_mac, src_mac, None, et);
            inner + ethernet::ETH_HDR
        }
    };
    build_l3(&mut b[l3..], s, id, n, tsc);
    len
}

/// IP + UDP + stamp of frame `n` over all of `b` (zero-filled).
fn build_l3(b: &mut [u8], s: &Stream, id: u8, n: u64, tsc: u64) {
    use dataplane::wire::{checksum, ipv4, ipv6};
    let len = b.len();
    let (src, dst) = (s.src.nth(n), s.dst.nth(n / u64::from(s.src.count)));
    let udp = match (src, dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            ipv4::emit(b, src, dst, ipv4::PROTO_UDP, 64, len - ipv4::MIN_HDR);
            ipv4::MIN_HDR
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            let (s6, d6) = (src.octets(), dst.octets());
            ipv6::emit(b, &s6, &d6, ipv4::PROTO_UDP, 64, len - ipv6::HDR);
            ipv6::HDR
        }
        _ => return, // refused by validate()
    };
    let ulen = (len - udp) as u16;
    let sp = s
        .src_port
        .start
        .wrapping_add((n % u64::from(s.src_port.count)) as u16);
    let dp = s
        .dst_port
        .start
        .wrapping_add(((n / 7) % u64::from(s.dst_port.count)) as u16);
    b[udp..udp + 2].copy_from_slice(&sp.to_be_bytes());
    b[udp + 2..udp + 4].copy_from_slice(&dp.to_be_bytes());
    b[udp + 4..udp + 6].copy_from_slice(&ulen.to_be_bytes());
    let st = udp + 8;
    b[st] = MAGIC;
    b[st + 1] = id;
    b[st + 2..st + 8].copy_from_slice(&n.to_be_bytes()[2..]);
    b[st + 8..st + 12].copy_from_slice(&(tsc as u32).to_be_bytes());
    if let (IpAddr::V6(src), IpAddr::V6(dst)) = (src, dst) {
        // Only the stamp's end of the payload is non-zero: sum the UDP header and the stamp.
        let acc = checksum::pseudo6(&src.octets(), &dst.octets(), ipv4::PROTO_UDP, ulen.into());
        let c = !checksum::fold(checksum::sum(&b[udp..st + STAMP], acc));
        b[udp + 6..udp + 8].copy_from_slice(&(if c == 0 { 0xffff } else { c }).to_be_bytes());
    }
}

impl Range {
    /// Address `k` of the range (cycling).
    fn nth(&self, k: u64) -> IpAddr {
        let i = k % u64::from(self.count) * u64::from(self.step);
        match self.start {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a).wrapping_add(i as u32))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a).wrapping_add(i.into()))),
        }
    }
}

/// The stamp of a received frame: (stream id, sequence number, low 32 bits of the TSC at
/// transmission). IPv4 or IPv6 (no extension headers), tagged or not.
pub fn parse_stamp(f: &[u8]) -> Option<(u8, u64, u32)> {
    use dataplane::wire::{ethernet, ipv4, ipv6};
    let eth = ethernet::parse(f).ok()?;
    let ip = f.get(eth.len..)?;
    let udp = match eth.ethertype {
        ethernet::ethertype::IPV4 if *ip.get(9)? == ipv4::PROTO_UDP => {
            usize::from(ip[0] & 0x0f) * 4
        }
        ethernet::ethertype::IPV6 if *ip.get(6)? == ipv4::PROTO_UDP => ipv6::HDR,
        _ => return None,
    };
    let st = eth.len + udp + 8;
    let s = f.get(st..st + STAMP)?;
    if s[0] != MAGIC {
        return None;
    }
    let seq = u64::from_be_bytes([0, 0, s[2], s[3], s[4], s[5], s[6], s[7]]);
    let tsc = u32::from_be_bytes([s[8], s[9], s[10], s[11]]);
    Some((s[1], seq, tsc))
}

/// What the sink learned about one stream.
pub struct StreamStats {
    pub tx: u64,
    pub rx: u64,
    pub reordered: u64,
    pub max_seq: Option<u64>,
    /// Latency in nanoseconds.
    pub latency: Histogram<u64>,
}

impl StreamStats {
    pub fn new() -> Result<StreamStats> {
        Ok(StreamStats {
            tx: 0,
            rx: 0,
            reordered: 0,
            max_seq: None,
            latency: Histogram::new_with_bounds(1, 10_000_000_000, 3)?,
        })
    }

    pub fn received(&mut self, seq: u64, latency_ns: u64) {
        self.rx += 1;
        match self.max_seq {
            Some(m) if seq < m => self.reordered += 1,
            _ => self.max_seq = Some(seq),
        }
        let _ = self.latency.record(latency_ns.max(1));
    }
}

/// How a run is wired.
pub struct RunOpts {
    pub tx_port: u16,
    pub rx_port: u16,
    /// Destination MAC of what we send (the DUT's port).
    pub dst_mac: MacAddr,
    pub src_mac: MacAddr,
    /// MAC of the receive port, for ARP replies.
    pub rx_mac: MacAddr,
    /// The addresses the sink answers ARP / neighbour solicitations for (the DUT's next hops
    /// toward it; the same address on every VLAN).
    pub sink_ips: Vec<IpAddr>,
    /// What `rate: { percent: P }` is a share of; unpaced when None.
    pub max_pps: Option<f64>,
    /// Seconds at the start not counted (the DUT warms its caches and resolves ARP).
    pub warmup_s: f64,
    pub progress: bool,
}

/// The outcome of a run, per stream and in total.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StreamReport {
    pub name: String,
    pub tx: u64,
    pub rx: u64,
    pub lost: i64,
    pub reordered: u64,
    pub tx_mpps: f64,
    pub rx_mpps: f64,
    pub latency_us: Percentiles,
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub max: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub profile: String,
    pub description: String,
    pub seconds: f64,
    pub streams: Vec<StreamReport>,
    pub tx_mpps: f64,
    pub rx_mpps: f64,
    pub tx_failed: u64,
    pub arp_replies: u64,
    /// The TSC rate: cycles per packet = tsc_hz / rx pps when the DUT polls one core busy.
    pub tsc_hz: f64,
}

const BURST: usize = 32;

/// Answers, in place and on the frame's VLAN, an ARP request or an IPv6 neighbour
/// solicitation for one of `ips`; the reply's length when it did.
fn resolve_reply(f: &mut [u8], ips: &[IpAddr], mac: MacAddr) -> Option<usize> {
    use dataplane::wire::{arp, ethernet, icmp, ipv6};
    let Ok(eth) = ethernet::parse(f) else {
        return None;
    };
    let body = &f[eth.len..];
    match eth.ethertype {
        ethernet::ethertype::ARP => {
            let req = match arp::ArpRepr::parse(body) {
                Ok(a) if a.op == arp::OP_REQUEST && ips.contains(&IpAddr::V4(a.tpa)) => a,
                _ => return None,
            };
            ethernet::emit(f, req.sha, mac, eth.vlan, ethernet::ethertype::ARP);
            req.reply(mac).emit(&mut f[eth.len..]);
            Some(f.len())
        }
        ethernet::ethertype::IPV6 => {
            let Ok(ip) = ipv6::Ipv6Packet::new_checked(body) else {
                return None;
            };
            if ip.next_header() != ipv6::NEXT_ICMPV6 {
                return None;
            }
            let src = ip.src_bytes();
            let ns = match icmp::Nd::parse(ip.payload()) {
                Ok(n)
                    if n.kind == icmp::ND_NS
                        && ips.contains(&IpAddr::V6(Ipv6Addr::from(n.target))) =>
                {
                    n
                }
                _ => return None,
            };
            let na = icmp::Nd {
                kind: icmp::ND_NA,
                flags: icmp::NA_FLAG_SOLICITED | icmp::NA_FLAG_OVERRIDE,
                target: ns.target,
                lladdr: Some(mac),
            };
            let need = eth.len + ipv6::HDR + na.len();
            if f.len() < need {
                return None;
            }
            ethernet::emit(
                f,
                ns.lladdr.unwrap_or(eth.src),
                mac,
                eth.vlan,
                ethernet::ethertype::IPV6,
            );
            let b = &mut f[eth.len..need];
            ipv6::emit(b, &ns.target, &src, ipv6::NEXT_ICMPV6, 255, na.len());
            na.emit(&mut b[ipv6::HDR..]);
            icmp::v6_fill_checksum(&mut b[ipv6::HDR..], &ns.target, &src);
            Some(need)
        }
        _ => None,
    }
}

/// Runs a profile: sends on `tx_port`, counts on `rx_port`, for the profile's duration plus
/// the warm-up, then drains for 200 ms.
pub fn run(p: &Profile, o: &RunOpts, pool: &dataplane::eal::Mempool) -> Result<Report> {
    use dataplane::buffer::PacketBuf;
    use dataplane::eal::{rdtsc, tsc_hz};
    use dataplane::mbuf::Mbuf;
    let hz = tsc_hz() as f64;
    let n = p.streams.len();
    // Per stream: TSC interval between packets (0 = unpaced) and the next departure.
    let interval: Vec<u64> = p
        .streams
        .iter()
        .map(|s| {
            let pps = match (s.rate.rate(), o.max_pps) {
                (Some(Rate::Pps(x)), _) => Some(x),
                (Some(Rate::Percent(x)), Some(m)) => Some(m * x / 100.0),
                (Some(Rate::Percent(_)), None) | (None, _) => None,
            };
            pps.map_or(0, |pps| (hz / pps).max(1.0) as u64)
        })
        .collect();
    let sizes: Vec<Vec<u16>> = p.streams.iter().map(Stream::sizes).collect();
    let mut stats: Vec<StreamStats> = (0..n).map(|_| StreamStats::new()).collect::<Result<_>>()?;
    let mut seq = vec![0u64; n];
    let mut first = vec![0u64; n];
    let t_start = rdtsc();
    let warm = t_start + (o.warmup_s * hz) as u64;
    let t_end = warm + (p.duration_s * hz) as u64;
    let mut next: Vec<u64> = vec![t_start; n];
    let mut tx_failed = 0u64;
    let mut arp_replies = 0u64;
    let mut counting = false;
    let mut last_print = t_start;
    let (mut ptx, mut prx) = (0u64, 0u64);
    let mut txb: [*mut sys::rte_mbuf; BURST] = [std::ptr::null_mut(); BURST];
    let mut txid = [0usize; BURST]; // the stream of each frame in txb
    let mut rxb: [*mut sys::rte_mbuf; BURST] = [std::ptr::null_mut(); BURST];
    let mut rr = 0usize;
    loop {
        let now = rdtsc();
        if !counting && now >= warm {
            counting = true;
            for st in stats.iter_mut() {
                *st = StreamStats::new()?;
            }
            // Frames sent before this point are not counted when they come back either.
            first.copy_from_slice(&seq);
        }
        let sending = now < t_end;
        if !sending && now > t_end + (0.2 * hz) as u64 {
            break;
        }
        // Fill a burst: round-robin over the streams that are due, starting one stream further
        // each burst; an unpaced stream takes at most its share of the burst, so several
        // unpaced streams send alike.
        let mut k = 0;
        if sending {
            rr = (rr + 1) % n;
            let share = (BURST / n).max(1);
            for j in 0..n {
                let i = (rr + j) % n;
                let mut taken = 0;
                while k < BURST && (interval[i] == 0 || next[i] <= now) {
                    if interval[i] == 0 && taken == share {
                        break;
                    }
                    let Some(mut m) = Mbuf::alloc(pool) else {
                        break;
                    };
                    let size = 1518;
                    if !m.append(size) {
                        break;
                    }
                    let sz = &sizes[i];
                    let size = sz[(seq[i] % sz.len() as u64) as usize];
                    let len = build_frame(
                        m.data_mut(),
                        &p.streams[i],
                        size,
                        i as u8,
                        seq[i],
                        o.dst_mac,
                        o.src_mac,
                        rdtsc(),
                    );
                    m.truncate(len);
                    seq[i] += 1;
                    taken += 1;
                    if counting {
                        stats[i].tx += 1;
                    }
                    next[i] = if interval[i] == 0 {
                        now
                    } else {
                        next[i] + interval[i]
                    };
                    txb[k] = m.into_raw();
                    txid[k] = i;
                    k += 1;
                }
            }
        }
        if k > 0 {
            // SAFETY: k valid mbufs we own; the PMD takes those it sends.
            let sent = usize::from(unsafe {
                sys::shim_rte_eth_tx_burst(o.tx_port, 0, txb.as_mut_ptr(), k as u16)
            });
            for (m, i) in txb[sent..k].iter().zip(&txid[sent..k]) {
                // SAFETY: not taken by the PMD: still ours. Undo its accounting.
                drop(unsafe { Mbuf::from_raw(*m) });
                if counting {
                    stats[*i].tx -= 1;
                }
                tx_failed += 1;
            }
        }
        // SAFETY: rxb has room for BURST mbufs.
        let got = usize::from(unsafe {
            sys::shim_rte_eth_rx_burst(o.rx_port, 0, rxb.as_mut_ptr(), BURST as u16)
        });
        let t_rx = rdtsc();
        for m in &rxb[..got] {
            // SAFETY: received mbufs are ours.
            let mut mb = unsafe { Mbuf::from_raw(*m) };
            if let Some((id, sq, tsc)) = parse_stamp(mb.data()) {
                let i = usize::from(id);
                if counting && i < n && sq >= first[i] {
                    let cycles = (t_rx as u32).wrapping_sub(tsc);
                    stats[i].received(sq, (f64::from(cycles) * 1e9 / hz) as u64);
                }
            } else if let Some(len) = resolve_reply(mb.data_mut(), &o.sink_ips, o.rx_mac) {
                mb.truncate(len);
                let mut raw = mb.into_raw();
                // SAFETY: one valid mbuf; freed by us if the PMD refuses it.
                if unsafe { sys::shim_rte_eth_tx_burst(o.rx_port, 0, &mut raw, 1) } == 0 {
                    // SAFETY: still ours.
                    drop(unsafe { Mbuf::from_raw(raw) });
                }
                arp_replies += 1;
            }
        }
        if o.progress && now - last_print > hz as u64 {
            let tx: u64 = stats.iter().map(|s| s.tx).sum();
            let rx: u64 = stats.iter().map(|s| s.rx).sum();
            let dt = (now - last_print) as f64 / hz;
            eprint!(
                "\r  {:>6.1} s  tx {:>7.3} Mpps  rx {:>7.3} Mpps  lost {:>10}{}",
                (now - t_start) as f64 / hz,
                (tx.saturating_sub(ptx)) as f64 / dt / 1e6,
                (rx.saturating_sub(prx)) as f64 / dt / 1e6,
                tx as i64 - rx as i64,
                if counting { "" } else { "  (warm-up)" }
            );
            (ptx, prx, last_print) = (tx, rx, now);
        }
    }
    if o.progress {
        eprintln!();
    }
    let secs = p.duration_s;
    let pct = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1e3;
    let streams: Vec<StreamReport> = p
        .streams
        .iter()
        .zip(&stats)
        .map(|(s, st)| StreamReport {
            name: s.name.clone(),
            tx: st.tx,
            rx: st.rx,
            lost: st.tx as i64 - st.rx as i64,
            reordered: st.reordered,
            tx_mpps: st.tx as f64 / secs / 1e6,
            rx_mpps: st.rx as f64 / secs / 1e6,
            latency_us: Percentiles {
                p50: pct(&st.latency, 0.5),
                p90: pct(&st.latency, 0.9),
                p99: pct(&st.latency, 0.99),
                p99_9: pct(&st.latency, 0.999),
                max: st.latency.max() as f64 / 1e3,
            },
        })
        .collect();
    Ok(Report {
        profile: p.name.clone(),
        description: p.description.clone(),
        seconds: secs,
        tx_mpps: streams.iter().map(|s| s.tx_mpps).sum(),
        rx_mpps: streams.iter().map(|s| s.rx_mpps).sum(),
        streams,
        tx_failed,
        arp_replies,
        tsc_hz: hz,
    })
}

impl Report {
    pub fn print(&self) {
        println!(
            "profile {}: {:.1} s, tx {:.3} Mpps, rx {:.3} Mpps, tx refused {}, ARP answered {}",
            self.profile,
            self.seconds,
            self.tx_mpps,
            self.rx_mpps,
            self.tx_failed,
            self.arp_replies
        );
        println!(
            "  {:<14} {:>12} {:>12} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "stream",
            "tx",
            "rx",
            "lost",
            "reorder",
            "rx Mpps",
            "p50 us",
            "p90 us",
            "p99 us",
            "p99.9 us",
            "max us"
        );
        for s in &self.streams {
            println!(
                "  {:<14} {:>12} {:>12} {:>10} {:>9} {:>9.3} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
                s.name, s.tx, s.rx, s.lost, s.reordered, s.rx_mpps,
                s.latency_us.p50, s.latency_us.p90, s.latency_us.p99, s.latency_us.p99_9, s.latency_us.max
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: &str = r#"
name: t
duration-s: 2
streams:
  - name: a
    frame-size: 64
    src: { start: 198.18.0.1 }
    dst: { start: 198.18.1.1, count: 4 }
    src-port: { start: 1000, count: 8 }
    rate: { pps: 1000 }
  - name: b
    imix: [{ size: 68, weight: 7 }, { size: 594, weight: 4 }, { size: 1518, weight: 1 }]
    vlan: 10
    src: { start: 198.18.0.1 }
    dst: { start: 198.18.1.1 }
    rate: { percent: 50 }
"#;

    #[test]
    fn profiles_parse_and_frames_round_trip() {
        let p = Profile::parse(PROFILE).expect("profile");
        assert_eq!(p.streams[1].sizes().len(), 12);
        let mut b = vec![0u8; 1518];
        let m = MacAddr([2, 0, 0, 0, 0, 1]);
        for (id, s) in p.streams.iter().enumerate() {
            for n in 0..24u64 {
                let size = s.sizes()[n as usize % s.sizes().len()];
                let len = build_frame(&mut b, s, size, id as u8, n, m, m, 1000 + n);
                assert_eq!(len + 4, usize::from(size));
                assert_eq!(parse_stamp(&b[..len]), Some((id as u8, n, 1000 + n as u32)));
                let ip = if s.vlan.is_some() { 18 } else { 14 };
                let hdr = dataplane::wire::ipv4::Ipv4Packet::new_checked(&b[ip..len])
                    .expect("valid IPv4");
                assert_eq!(hdr.total_len(), len - ip);
            }
        }
        // IPv6: 78-byte frames (the smallest with the stamp) with a valid UDP checksum; 64
        // bytes is refused, and so are mixed families.
        let v6 = "name: v6\nstreams:\n  - name: a\n    frame-size: 78\n    src: { start: 2001:db8::1 }\n    dst: { start: 2001:200:0:1::1, count: 4 }\n    rate: { pps: 10 }\n";
        let p6 = Profile::parse(v6).expect("v6 profile");
        let e = Profile::parse(&v6.replace("78", "64"))
            .expect_err("too small")
            .to_string();
        assert!(e.contains("frame size 64 is not in 78-1518"), "{e}");
        assert!(Profile::parse(&v6.replace("2001:db8::1", "192.0.2.1")).is_err());
        let len = build_frame(&mut b, &p6.streams[0], 78, 3, 7, m, m, 99);
        assert_eq!(len, 74);
        assert_eq!(parse_stamp(&b[..len]), Some((3, 7, 99)));
        let ip = dataplane::wire::ipv6::Ipv6Packet::new_checked(&b[14..len]).expect("IPv6");
        assert_eq!(ip.payload().len(), 20);
        let acc = dataplane::wire::checksum::pseudo6(&ip.src_bytes(), &ip.dst_bytes(), 17, 20);
        let sum =
            dataplane::wire::checksum::fold(dataplane::wire::checksum::sum(ip.payload(), acc));
        assert_eq!(sum, 0xffff, "UDP checksum verifies");
        // VXLAN: outer IPv4/UDP 4789/VNI, inner frame to the router MAC, stamp inside.
        let vx = "name: vx\nstreams:\n  - name: a\n    frame-size: 114\n    src: { start: 198.18.0.1 }\n    dst: { start: 198.18.1.1 }\n    rate: { pps: 10 }\n    vxlan: { vni: 5000, src: 10.0.0.2, dst: 10.0.0.1, inner-dst-mac: \"02:00:00:00:aa:01\" }\n";
        let px = Profile::parse(vx).expect("vxlan profile");
        assert!(
            Profile::parse(&vx.replace("114", "100")).is_err(),
            "inner frame under 64"
        );
        let len = build_frame(&mut b, &px.streams[0], 114, 1, 5, m, m, 7);
        assert_eq!(len, 110);
        let outer = dataplane::wire::ipv4::Ipv4Packet::new_checked(&b[14..len]).expect("outer");
        assert_eq!(
            (outer.total_len(), outer.dst()),
            (96, Ipv4Addr::new(10, 0, 0, 1))
        );
        assert_eq!(dataplane::wire::vxlan::parse(&b[34..len]), Ok(5000));
        assert_eq!(&b[50..56], &[2, 0, 0, 0, 0xaa, 1]);
        assert_eq!(parse_stamp(&b[50..len]), Some((1, 5, 7)));
        // Destinations cycle after the sources: 4 distinct destinations, 8 source ports.
        let mut dsts = std::collections::HashSet::new();
        for n in 0..16 {
            let len = build_frame(&mut b, &p.streams[0], 64, 0, n, m, m, 0);
            dsts.insert(b[30..34].to_vec());
            assert_eq!(len, 60);
        }
        assert_eq!(dsts.len(), 4);
    }

    #[test]
    fn bad_profiles_name_the_field() {
        let bad = PROFILE.replace("frame-size: 64", "frame-size: 63");
        let e = Profile::parse(&bad).expect_err("too small").to_string();
        assert!(
            e.contains("streams[0]") && e.contains("frame size 63"),
            "{e}"
        );
        let bad = PROFILE.replace("pps: 1000", "ppz: 1000");
        let e = format!("{:#}", Profile::parse(&bad).expect_err("unknown field"));
        assert!(e.contains("streams[0].rate"), "{e}");
    }

    #[test]
    fn the_sink_counts_reordering_and_latency() {
        let mut s = StreamStats::new().expect("stats");
        for (seq, lat) in [(0, 100), (1, 200), (3, 300), (2, 400), (4, 500)] {
            s.received(seq, lat);
        }
        assert_eq!((s.rx, s.reordered, s.max_seq), (5, 1, Some(4)));
        assert!(s.latency.value_at_quantile(0.5) >= 299);
    }
}
