//! Socket options a BGP session may need: TCP-MD5 signatures (RFC 2385) and GTSM (RFC 5082).
//! Linux only, through setsockopt.

use std::io;
use std::net::IpAddr;
use std::os::fd::RawFd;

/// What a neighbour's sockets need.
#[derive(Debug, Clone, Default)]
pub struct SockOpts {
    pub md5_key: Option<Vec<u8>>,
    /// GTSM: the peer is at most this many hops away.
    pub ttl_hops: Option<u8>,
    /// Source address of the connections we open.
    pub source: Option<IpAddr>,
}

const TCP_MD5SIG_MAXKEYLEN: usize = 80;

/// `struct tcp_md5sig` of <linux/tcp.h>.
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: libc::c_int,
    key: [u8; TCP_MD5SIG_MAXKEYLEN],
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, v: &T) -> io::Result<()> {
    // SAFETY: `v` is a valid, initialised T for the duration of the call and its size is
    // passed with it.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (v as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Installs (or with an empty key, removes) the TCP-MD5 key for `peer` on `fd`. On an IPv6
/// socket an IPv4 peer is given as v4-mapped, as a dual-stack listener sees it.
pub fn set_md5(fd: RawFd, v6_socket: bool, peer: IpAddr, key: &[u8]) -> io::Result<()> {
    if key.len() > TCP_MD5SIG_MAXKEYLEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "MD5 key over 80 octets",
        ));
    }
    // SAFETY: all-zero is a valid sockaddr_storage and TcpMd5Sig (plain integers/arrays).
    let mut s: TcpMd5Sig = unsafe { std::mem::zeroed() };
    let peer6 = match peer {
        IpAddr::V4(a) if v6_socket => Some(a.to_ipv6_mapped()),
        IpAddr::V6(a) => Some(a),
        IpAddr::V4(_) => None,
    };
    match (peer6, peer) {
        (Some(a), _) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: sockaddr_in6 fits in sockaddr_storage; both are plain C structs.
            unsafe {
                std::ptr::write((&mut s.addr as *mut libc::sockaddr_storage).cast(), sin6);
            }
        }
        (None, IpAddr::V4(a)) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: as above, sockaddr_in fits in sockaddr_storage.
            unsafe {
                std::ptr::write((&mut s.addr as *mut libc::sockaddr_storage).cast(), sin);
            }
        }
        (None, IpAddr::V6(_)) => unreachable!("an IPv6 peer always has peer6"),
    }
    s.keylen = key.len() as u16;
    s.key[..key.len()].copy_from_slice(key);
    setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_MD5SIG, &s)
}

/// GTSM: send with TTL (hop limit) 255, accept only packets that arrive with at least
/// 256 - hops.
pub fn set_gtsm(fd: RawFd, v6: bool, hops: u8) -> io::Result<()> {
    let ttl: libc::c_int = 255;
    let min: libc::c_int = 256 - libc::c_int::from(hops.max(1));
    if v6 {
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, &ttl)?;
        // IPV6_MINHOPCOUNT (73), not exported by the libc crate.
        setsockopt(fd, libc::IPPROTO_IPV6, 73, &min)?;
        // A dual-stack socket talking to an IPv4 peer uses the IPv4 options too.
        let _ = setsockopt(fd, libc::IPPROTO_IP, libc::IP_TTL, &ttl);
        let _ = setsockopt(fd, libc::IPPROTO_IP, libc::IP_MINTTL, &min);
        Ok(())
    } else {
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_TTL, &ttl)?;
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_MINTTL, &min)
    }
}

/// Applies `o` to a session socket (connecting or accepted) toward `peer`.
pub fn apply(fd: RawFd, v6_socket: bool, peer: IpAddr, o: &SockOpts) -> io::Result<()> {
    if let Some(k) = &o.md5_key {
        set_md5(fd, v6_socket, peer, k)?;
    }
    if let Some(h) = o.ttl_hops {
        set_gtsm(fd, v6_socket, h)?;
    }
    Ok(())
}
