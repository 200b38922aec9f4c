//! The exception path: each VRF owns a kernel TAP (a DPDK `net_tap` port) moved into its own
//! network namespace and given the VRF's addresses, so ordinary sockets (BGP, ssh, nc) bound in
//! that namespace speak through the DPDK ports.
//!
//! The kernel side holds the addresses as /32 and /128 (no connected routes) and a default
//! route to a static gateway neighbour whose MAC is the DPDK port's: it never ARPs, and every
//! packet it sends reaches the dataplane, which routes it in the VRF.

use std::process::Command;

pub const GW4: &str = "169.254.0.1";
pub const GW6: &str = "fe80::1";

#[derive(Debug, thiserror::Error)]
#[error("`{cmd}` failed: {stderr}")]
pub struct HostIfError {
    cmd: String,
    stderr: String,
}

fn run(args: &[&str]) -> Result<(), HostIfError> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| HostIfError {
            cmd: args.join(" "),
            stderr: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(HostIfError {
            cmd: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

pub struct HostIf<'a> {
    pub netns: &'a str,
    pub tap: &'a str,
    pub kernel_mac: config::MacAddr,
    pub dpdk_mac: config::MacAddr,
    pub addrs: Vec<config::IfAddr>,
}

/// Creates (or reuses) the namespace and moves and configures the TAP in it.
pub fn setup(h: &HostIf<'_>) -> Result<(), HostIfError> {
    if !std::path::Path::new("/run/netns").join(h.netns).exists() {
        run(&["ip", "netns", "add", h.netns])?;
    }
    let ns = h.netns;
    let kmac = h.kernel_mac.to_string();
    let dmac = h.dpdk_mac.to_string();
    run(&["ip", "link", "set", h.tap, "netns", ns])?;
    run(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
    // No DAD, no router solicitations: the tap is a point-to-point path to the dataplane.
    for k in [
        "accept_dad=0",
        "dad_transmits=0",
        "router_solicitations=0",
        "accept_ra=0",
    ] {
        let _ = run(&[
            "ip",
            "netns",
            "exec",
            ns,
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{}.{k}", h.tap),
        ]);
    }
    run(&["ip", "-n", ns, "link", "set", h.tap, "address", &kmac, "up"])?;
    let mut v4 = false;
    let mut v6 = false;
    for a in &h.addrs {
        let s = if a.addr.is_ipv4() {
            v4 = true;
            format!("{}/32", a.addr)
        } else {
            v6 = true;
            format!("{}/128", a.addr)
        };
        let mut cmd = vec!["ip", "-n", ns, "addr", "replace", &s, "dev", h.tap];
        if !a.addr.is_ipv4() {
            cmd.push("nodad");
        }
        run(&cmd)?;
    }
    // IPv4 needs `onlink`: 169.254.0.1 is on no subnet of the tap; fe80::1 is link-local.
    for (on, family, gw, onlink) in [(v4, "-4", GW4, true), (v6, "-6", GW6, false)] {
        if !on {
            continue;
        }
        run(&[
            "ip",
            "-n",
            ns,
            family,
            "neigh",
            "replace",
            gw,
            "lladdr",
            &dmac,
            "dev",
            h.tap,
            "nud",
            "permanent",
        ])?;
        let mut route = vec![
            "ip", "-n", ns, family, "route", "replace", "default", "via", gw, "dev", h.tap,
        ];
        if onlink {
            route.push("onlink");
        }
        run(&route)?;
    }
    Ok(())
}

pub fn teardown(netns: &str) {
    let _ = run(&["ip", "netns", "del", netns]);
}
