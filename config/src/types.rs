//! Validated newtypes shared by the config, the dataplane and (later) the wire codecs.
//! Each parses from its natural YAML form and refuses bad values at load time, so the
//! error names the field path and the value.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU16;
use std::str::FromStr;

/// An 802.1Q VLAN id, 1..=4094.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct VlanId(NonZeroU16);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidVlanId {
    #[error("VLAN id 0 is reserved (priority tag); use 1-4094")]
    Zero,
    #[error("VLAN id {0} is out of range 1-4094")]
    Reserved(u16),
}

impl VlanId {
    pub fn get(self) -> u16 {
        self.0.get()
    }
}

impl TryFrom<u16> for VlanId {
    type Error = InvalidVlanId;
    fn try_from(v: u16) -> Result<Self, InvalidVlanId> {
        if v >= 4095 {
            return Err(InvalidVlanId::Reserved(v));
        }
        NonZeroU16::new(v).map(Self).ok_or(InvalidVlanId::Zero)
    }
}

impl From<VlanId> for u16 {
    fn from(v: VlanId) -> u16 {
        v.get()
    }
}

impl fmt::Display for VlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.get())
    }
}

/// An Ethernet MAC address, written `02:00:00:00:00:01`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    pub const ZERO: MacAddr = MacAddr([0; 6]);
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a MAC address (expected six hex octets separated by ':')")]
pub struct InvalidMac(pub String);

impl FromStr for MacAddr {
    type Err = InvalidMac;
    fn from_str(s: &str) -> Result<Self, InvalidMac> {
        let mut out = [0u8; 6];
        let mut n = 0;
        for part in s.split(':') {
            if n == 6 || part.is_empty() || part.len() > 2 {
                return Err(InvalidMac(s.into()));
            }
            out[n] = u8::from_str_radix(part, 16).map_err(|_| InvalidMac(s.into()))?;
            n += 1;
        }
        if n != 6 {
            return Err(InvalidMac(s.into()));
        }
        Ok(MacAddr(out))
    }
}

impl TryFrom<String> for MacAddr {
    type Error = InvalidMac;
    fn try_from(s: String) -> Result<Self, InvalidMac> {
        s.parse()
    }
}

impl From<MacAddr> for String {
    fn from(m: MacAddr) -> String {
        m.to_string()
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPrefix {
    #[error("`{0}` is not ADDRESS/LENGTH")]
    Syntax(String),
    #[error("prefix length {len} is too long for {addr} (max {max})")]
    Length { addr: IpAddr, len: u8, max: u8 },
    #[error("`{0}` has host bits set; did you mean {1}?")]
    HostBits(String, String),
}

fn split_prefix(s: &str) -> Result<(IpAddr, u8), InvalidPrefix> {
    let (a, l) = s
        .split_once('/')
        .ok_or_else(|| InvalidPrefix::Syntax(s.into()))?;
    let addr: IpAddr = a.parse().map_err(|_| InvalidPrefix::Syntax(s.into()))?;
    let len: u8 = l.parse().map_err(|_| InvalidPrefix::Syntax(s.into()))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if len > max {
        return Err(InvalidPrefix::Length { addr, len, max });
    }
    Ok((addr, len))
}

/// An IP prefix with no host bits set: `198.51.100.0/24`, `2001:db8::/32`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

impl Prefix {
    /// Builds a prefix, clearing host bits.
    pub fn new(addr: IpAddr, len: u8) -> Prefix {
        let addr = match addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask32(len))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask128(len))),
        };
        Prefix { addr, len }
    }
    pub fn addr(&self) -> IpAddr {
        self.addr
    }
    #[allow(clippy::len_without_is_empty)] // a prefix length, not a container
    pub fn len(&self) -> u8 {
        self.len
    }
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(p), IpAddr::V4(a)) => u32::from(a) & mask32(self.len) == u32::from(p),
            (IpAddr::V6(p), IpAddr::V6(a)) => u128::from(a) & mask128(self.len) == u128::from(p),
            _ => false,
        }
    }
}

pub fn mask32(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

pub fn mask128(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    }
}

impl FromStr for Prefix {
    type Err = InvalidPrefix;
    fn from_str(s: &str) -> Result<Self, InvalidPrefix> {
        let (addr, len) = split_prefix(s)?;
        let p = Prefix::new(addr, len);
        if p.addr != addr {
            return Err(InvalidPrefix::HostBits(s.into(), p.to_string()));
        }
        Ok(p)
    }
}

impl TryFrom<String> for Prefix {
    type Error = InvalidPrefix;
    fn try_from(s: String) -> Result<Self, InvalidPrefix> {
        s.parse()
    }
}

impl From<Prefix> for String {
    fn from(p: Prefix) -> String {
        p.to_string()
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An interface address with its subnet length: `192.0.2.1/24` (host bits are the point).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IfAddr {
    pub addr: IpAddr,
    pub len: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidIfAddr {
    #[error(transparent)]
    Prefix(#[from] InvalidPrefix),
    #[error("`{0}` is not a usable host address")]
    NotHost(String),
}

impl IfAddr {
    pub fn subnet(&self) -> Prefix {
        Prefix::new(self.addr, self.len)
    }
}

impl FromStr for IfAddr {
    type Err = InvalidIfAddr;
    fn from_str(s: &str) -> Result<Self, InvalidIfAddr> {
        let (addr, len) = split_prefix(s)?;
        let bad = match addr {
            IpAddr::V4(a) => a.is_unspecified() || a.is_multicast() || a.is_broadcast(),
            IpAddr::V6(a) => a.is_unspecified() || a.is_multicast(),
        };
        if bad {
            return Err(InvalidIfAddr::NotHost(s.into()));
        }
        Ok(IfAddr { addr, len })
    }
}

impl TryFrom<String> for IfAddr {
    type Error = InvalidIfAddr;
    fn try_from(s: String) -> Result<Self, InvalidIfAddr> {
        s.parse()
    }
}

impl From<IfAddr> for String {
    fn from(p: IfAddr) -> String {
        p.to_string()
    }
}

impl fmt::Display for IfAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl fmt::Debug for IfAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An object name (port, interface, VRF): 1-15 characters of `[A-Za-z0-9_.-]`, so it also
/// fits a Linux interface name where one is derived from it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid name (1-15 characters of A-Z a-z 0-9 _ . -)")]
pub struct InvalidName(pub String);

impl Name {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Name {
    type Error = InvalidName;
    fn try_from(s: String) -> Result<Self, InvalidName> {
        let ok = !s.is_empty()
            && s.len() <= 15
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
        if ok {
            Ok(Name(s))
        } else {
            Err(InvalidName(s))
        }
    }
}

impl FromStr for Name {
    type Err = InvalidName;
    fn from_str(s: &str) -> Result<Self, InvalidName> {
        Name::try_from(s.to_string())
    }
}

impl From<Name> for String {
    fn from(n: Name) -> String {
        n.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// BGP Route Distinguisher (RFC 4364 §4.2): `ASN2:NN` (type 0), `IPv4:NN` (type 1),
/// `ASN4:NN` (type 2, written with an `L` suffix on the ASN or any ASN above 65535).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum RouteDistinguisher {
    As2 { asn: u16, num: u32 },
    Ip { ip: Ipv4Addr, num: u16 },
    As4 { asn: u32, num: u16 },
}

/// BGP Route Target extended community, same three forms as the RD.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RouteTarget(pub RouteDistinguisher);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not ASN:NN or IPv4:NN (e.g. 65000:100, 192.0.2.1:7, 4200000000:1)")]
pub struct InvalidRd(pub String);

impl FromStr for RouteDistinguisher {
    type Err = InvalidRd;
    fn from_str(s: &str) -> Result<Self, InvalidRd> {
        let err = || InvalidRd(s.into());
        let (a, n) = s.rsplit_once(':').ok_or_else(err)?;
        if let Ok(ip) = a.parse::<Ipv4Addr>() {
            return Ok(Self::Ip {
                ip,
                num: n.parse().map_err(|_| err())?,
            });
        }
        let (a, force4) = match a.strip_suffix('L') {
            Some(a) => (a, true),
            None => (a, false),
        };
        let asn: u32 = a.parse().map_err(|_| err())?;
        if asn <= 0xffff && !force4 {
            Ok(Self::As2 {
                asn: asn as u16,
                num: n.parse().map_err(|_| err())?,
            })
        } else {
            Ok(Self::As4 {
                asn,
                num: n.parse().map_err(|_| err())?,
            })
        }
    }
}

impl RouteDistinguisher {
    /// The 8 wire octets: type (2) + value (6), RFC 4364 §4.2.
    pub fn octets(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        match *self {
            Self::As2 { asn, num } => {
                b[2..4].copy_from_slice(&asn.to_be_bytes());
                b[4..].copy_from_slice(&num.to_be_bytes());
            }
            Self::Ip { ip, num } => {
                b[1] = 1;
                b[2..6].copy_from_slice(&ip.octets());
                b[6..].copy_from_slice(&num.to_be_bytes());
            }
            Self::As4 { asn, num } => {
                b[1] = 2;
                b[2..6].copy_from_slice(&asn.to_be_bytes());
                b[6..].copy_from_slice(&num.to_be_bytes());
            }
        }
        b
    }

    /// Parses the 8 wire octets; `None` for an unknown type.
    pub fn from_octets(b: [u8; 8]) -> Option<Self> {
        let u16at = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        let u32at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        match u16at(0) {
            0 => Some(Self::As2 {
                asn: u16at(2),
                num: u32at(4),
            }),
            1 => Some(Self::Ip {
                ip: Ipv4Addr::new(b[2], b[3], b[4], b[5]),
                num: u16at(6),
            }),
            2 => Some(Self::As4 {
                asn: u32at(2),
                num: u16at(6),
            }),
            _ => None,
        }
    }
}

impl TryFrom<String> for RouteDistinguisher {
    type Error = InvalidRd;
    fn try_from(s: String) -> Result<Self, InvalidRd> {
        s.parse()
    }
}

impl From<RouteDistinguisher> for String {
    fn from(r: RouteDistinguisher) -> String {
        r.to_string()
    }
}

impl fmt::Display for RouteDistinguisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::As2 { asn, num } => write!(f, "{asn}:{num}"),
            Self::Ip { ip, num } => write!(f, "{ip}:{num}"),
            Self::As4 { asn, num } if *asn <= 0xffff => write!(f, "{asn}L:{num}"),
            Self::As4 { asn, num } => write!(f, "{asn}:{num}"),
        }
    }
}

impl fmt::Debug for RouteDistinguisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl TryFrom<String> for RouteTarget {
    type Error = InvalidRd;
    fn try_from(s: String) -> Result<Self, InvalidRd> {
        s.parse().map(RouteTarget)
    }
}

impl From<RouteTarget> for String {
    fn from(r: RouteTarget) -> String {
        r.0.to_string()
    }
}

impl fmt::Debug for RouteTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Ethernet Segment Identifier (RFC 7432 §5): type octet + 9 value octets, written as ten
/// colon-separated hex octets. The reserved all-zero and all-0xFF values are refused.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Esi(pub [u8; 10]);

impl Esi {
    /// "No ESI" (single-homed); valid on the wire, refused in configuration.
    pub const ZERO: Esi = Esi([0; 10]);
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 10]
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEsi {
    #[error("`{0}` is not an ESI (ten hex octets separated by ':')")]
    Syntax(String),
    #[error("`{0}` is reserved (all-zero: no ESI; all-FF: MAX-ESI)")]
    Reserved(String),
    #[error("ESI type {0} is not defined (0-5)")]
    Type(u8),
}

impl FromStr for Esi {
    type Err = InvalidEsi;
    fn from_str(s: &str) -> Result<Self, InvalidEsi> {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 10 {
            return Err(InvalidEsi::Syntax(s.into()));
        }
        let mut b = [0u8; 10];
        for (i, p) in parts.iter().enumerate() {
            if p.is_empty() || p.len() > 2 {
                return Err(InvalidEsi::Syntax(s.into()));
            }
            b[i] = u8::from_str_radix(p, 16).map_err(|_| InvalidEsi::Syntax(s.into()))?;
        }
        if b == [0; 10] || b == [0xff; 10] {
            return Err(InvalidEsi::Reserved(s.into()));
        }
        if b[0] > 5 {
            return Err(InvalidEsi::Type(b[0]));
        }
        Ok(Esi(b))
    }
}

/// An Ethernet Segment's ESI in the config: explicit, or `auto` — type 1, derived from the CE's
/// LACP system MAC and port key once LACP hears the CE (RFC 7432 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum EsiConf {
    Auto,
    Value(Esi),
}

impl EsiConf {
    pub fn value(&self) -> Option<Esi> {
        match self {
            EsiConf::Auto => None,
            EsiConf::Value(e) => Some(*e),
        }
    }
}

impl TryFrom<String> for EsiConf {
    type Error = InvalidEsi;
    fn try_from(s: String) -> Result<Self, InvalidEsi> {
        if s == "auto" {
            Ok(EsiConf::Auto)
        } else {
            s.parse().map(EsiConf::Value)
        }
    }
}

impl From<EsiConf> for String {
    fn from(e: EsiConf) -> String {
        match e {
            EsiConf::Auto => "auto".into(),
            EsiConf::Value(v) => v.to_string(),
        }
    }
}

impl Esi {
    /// Type 1 (RFC 7432 §5): the CE's LACP system MAC and port key, then a zero octet.
    pub fn from_lacp(system: crate::MacAddr, key: u16) -> Esi {
        let m = system.0;
        let k = key.to_be_bytes();
        Esi([1, m[0], m[1], m[2], m[3], m[4], m[5], k[0], k[1], 0])
    }
}

impl TryFrom<String> for Esi {
    type Error = InvalidEsi;
    fn try_from(s: String) -> Result<Self, InvalidEsi> {
        s.parse()
    }
}

impl From<Esi> for String {
    fn from(e: Esi) -> String {
        e.to_string()
    }
}

impl fmt::Display for Esi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s: Vec<String> = self.0.iter().map(|b| format!("{b:02x}")).collect();
        f.write_str(&s.join(":"))
    }
}

impl fmt::Debug for Esi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vlan_bounds() {
        assert_eq!(VlanId::try_from(0), Err(InvalidVlanId::Zero));
        assert_eq!(VlanId::try_from(4095), Err(InvalidVlanId::Reserved(4095)));
        assert_eq!(VlanId::try_from(4094).map(VlanId::get), Ok(4094));
    }

    #[test]
    fn mac_parse_and_print() {
        let m: MacAddr = "02:00:0a:Bc:00:ff".parse().expect("valid");
        assert_eq!(m.to_string(), "02:00:0a:bc:00:ff");
        for bad in [
            "",
            "02:00:00:00:00",
            "02:00:00:00:00:00:00",
            "0g:00:00:00:00:00",
            "123:0:0:0:0:0",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn prefix_rejects_host_bits_and_long_lengths() {
        assert!("198.51.100.0/24".parse::<Prefix>().is_ok());
        let e = "198.51.100.1/24".parse::<Prefix>().expect_err("host bits");
        assert_eq!(
            e.to_string(),
            "`198.51.100.1/24` has host bits set; did you mean 198.51.100.0/24?"
        );
        assert!("10.0.0.0/33".parse::<Prefix>().is_err());
        assert!("2001:db8::/129".parse::<Prefix>().is_err());
        assert!("2001:db8::/32".parse::<Prefix>().is_ok());
    }

    #[test]
    fn ifaddr_keeps_host_bits() {
        let a: IfAddr = "192.0.2.1/24".parse().expect("valid");
        assert_eq!(a.subnet().to_string(), "192.0.2.0/24");
        assert!("224.0.0.1/24".parse::<IfAddr>().is_err());
    }

    #[test]
    fn esi_parse() {
        let e: Esi = "01:02:00:00:00:aa:01:00:01:00".parse().expect("valid");
        assert_eq!(e.to_string(), "01:02:00:00:00:aa:01:00:01:00");
        assert!(matches!(
            "00:00:00:00:00:00:00:00:00:00".parse::<Esi>(),
            Err(InvalidEsi::Reserved(_))
        ));
        assert!(matches!(
            "07:00:00:00:00:00:00:00:00:01".parse::<Esi>(),
            Err(InvalidEsi::Type(7))
        ));
        assert!("01:02:03".parse::<Esi>().is_err());
    }

    #[test]
    fn rd_forms() {
        for s in ["65000:100", "192.0.2.1:7", "4200000000:1", "100L:5"] {
            let rd: RouteDistinguisher = s.parse().expect(s);
            assert_eq!(rd.to_string(), s);
        }
        for s in ["65000:100", "192.0.2.1:7", "4200000000:1"] {
            let rd: RouteDistinguisher = s.parse().expect(s);
            assert_eq!(RouteDistinguisher::from_octets(rd.octets()), Some(rd));
        }
        assert_eq!(
            "192.0.2.1:100"
                .parse::<RouteDistinguisher>()
                .map(|r| r.octets()),
            Ok([0x00, 0x01, 0xc0, 0x00, 0x02, 0x01, 0x00, 0x64])
        );
        assert!("65000".parse::<RouteDistinguisher>().is_err());
        assert!("65000:99999999999".parse::<RouteDistinguisher>().is_err());
        assert!("4200000000:70000".parse::<RouteDistinguisher>().is_err());
    }

    proptest::proptest! {
        #[test]
        fn prefix_contains_its_own_address(a: u32, len in 0u8..=32) {
            let p = Prefix::new(IpAddr::V4(Ipv4Addr::from(a)), len);
            proptest::prop_assert!(p.contains(IpAddr::V4(Ipv4Addr::from(a))));
            proptest::prop_assert_eq!(p.to_string().parse::<Prefix>(), Ok(p));
        }
    }
}
