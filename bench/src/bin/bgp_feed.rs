//! `bgp_feed`: a BGP speaker that feeds one receiver a stream of EVPN routes (RT-2 MAC/IP or
//! RT-5 IP prefix), packed as a real PE packs them (one attribute set, as many NLRI as fit in
//! 4096 octets), then End-of-RIB, and keeps the session up. It prints one JSON line when the
//! whole stream is written; the harness (bench/bgp_import.sh) times how long the receiver
//! takes to hold every route. The same stream goes to tandemd, GoBGP and FRR.
//!
//! The messages are built here byte by byte (not with tandem's encoder), so the stream is
//! the same whatever tandem's codec does.

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Rt2,
    Rt5,
}

#[derive(Parser)]
struct Cli {
    /// Receiver address (port 179).
    #[arg(long)]
    connect: Ipv4Addr,
    #[arg(long, default_value_t = 179)]
    port: u16,
    #[arg(long)]
    local_as: u32,
    #[arg(long)]
    peer_as: u32,
    #[arg(long)]
    router_id: Ipv4Addr,
    #[arg(long, default_value_t = 100_000)]
    routes: u32,
    #[arg(long, value_enum, default_value = "rt2")]
    kind: Kind,
    /// Keep the session up this long after the stream (keepalives every 3 s).
    #[arg(long, default_value_t = 60)]
    hold_s: u64,
}

fn msg(t: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&(19 + body.len() as u16).to_be_bytes());
    m.push(t);
    m.extend_from_slice(body);
    m
}

fn attr(flags: u8, code: u8, v: &[u8], out: &mut Vec<u8>) {
    if v.len() > 255 {
        out.extend_from_slice(&[flags | 0x10, code]);
        out.extend_from_slice(&(v.len() as u16).to_be_bytes());
    } else {
        out.extend_from_slice(&[flags, code, v.len() as u8]);
    }
    out.extend_from_slice(v);
}

fn nlri(kind: Kind, i: u32, rid: Ipv4Addr, out: &mut Vec<u8>) {
    let mut v = vec![0, 1];
    v.extend_from_slice(&rid.octets());
    v.extend_from_slice(&((i / 50_000) as u16 + 1).to_be_bytes()); // RD rid:n
    v.extend_from_slice(&[0; 10]); // ESI 0
    v.extend_from_slice(&0u32.to_be_bytes()); // Ethernet Tag
    let ip = Ipv4Addr::from(0x0a00_0000 + i).octets();
    match kind {
        Kind::Rt2 => {
            v.push(48);
            v.extend_from_slice(&[
                0x02,
                0,
                (i >> 24) as u8,
                (i >> 16) as u8,
                (i >> 8) as u8,
                i as u8,
            ]);
            v.push(32);
            v.extend_from_slice(&ip);
            v.extend_from_slice(&[0, 0x27, 0x10]); // VNI 10000
            out.extend_from_slice(&[2, v.len() as u8]);
        }
        Kind::Rt5 => {
            v.push(32);
            v.extend_from_slice(&ip);
            v.extend_from_slice(&[0; 4]); // GW IP 0
            v.extend_from_slice(&[0, 0x13, 0x88]); // VNI 5000
            out.extend_from_slice(&[5, v.len() as u8]);
        }
    }
    out.extend_from_slice(&v);
}

/// The UPDATEs of the stream: each with ORIGIN, AS_PATH, EXT_COMMUNITIES (RT, VXLAN) and an
/// MP_REACH of as many NLRI as fit.
fn stream(c: &Cli) -> Vec<Vec<u8>> {
    let ebgp = c.local_as != c.peer_as;
    let mut fixed = Vec::new();
    attr(0x40, 1, &[0], &mut fixed);
    let path: Vec<u8> = if ebgp {
        let mut p = vec![2, 1];
        p.extend_from_slice(&c.local_as.to_be_bytes());
        p
    } else {
        Vec::new()
    };
    attr(0x40, 2, &path, &mut fixed);
    if !ebgp {
        attr(0x40, 5, &100u32.to_be_bytes(), &mut fixed);
    }
    let mut ec = vec![0x00, 0x02];
    ec.extend_from_slice(&(c.local_as as u16).to_be_bytes());
    ec.extend_from_slice(&100u32.to_be_bytes());
    ec.extend_from_slice(&[0x03, 0x0c, 0, 0, 0, 0, 0, 8]);
    attr(0xc0, 16, &ec, &mut fixed);
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.routes {
        let mut n = Vec::new();
        while i < c.routes && n.len() + 60 < 4096 - 19 - 4 - fixed.len() - 16 {
            nlri(c.kind, i, c.router_id, &mut n);
            i += 1;
        }
        let mut mp = vec![0, 25, 70, 4];
        mp.extend_from_slice(&c.router_id.octets());
        mp.push(0);
        mp.extend_from_slice(&n);
        let mut attrs = Vec::new();
        attr(0x80, 14, &mp, &mut attrs);
        attrs.extend_from_slice(&fixed);
        let mut body = vec![0, 0];
        body.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        body.extend_from_slice(&attrs);
        out.push(msg(2, &body));
    }
    // End-of-RIB for L2VPN/EVPN.
    out.push(msg(2, &[0, 0, 0, 6, 0x80, 15, 3, 0, 25, 70]));
    out
}

fn read_msg(s: &mut TcpStream) -> Result<(u8, Vec<u8>)> {
    let mut h = [0u8; 19];
    s.read_exact(&mut h)?;
    let len = usize::from(u16::from_be_bytes([h[16], h[17]]));
    if len < 19 {
        bail!("bad message length {len}");
    }
    let mut b = vec![0; len - 19];
    s.read_exact(&mut b)?;
    Ok((h[18], b))
}

fn main() -> Result<()> {
    let c = Cli::parse();
    let msgs = stream(&c);
    let bytes: usize = msgs.iter().map(Vec::len).sum();
    let mut s = TcpStream::connect((c.connect, c.port)).context("connect")?;
    s.set_nodelay(true)?;
    let mut caps = vec![1, 4, 0, 25, 0, 70, 65, 4];
    caps.extend_from_slice(&c.local_as.to_be_bytes());
    let mut open = vec![4];
    open.extend_from_slice(&(u16::try_from(c.local_as).unwrap_or(23456)).to_be_bytes());
    open.extend_from_slice(&90u16.to_be_bytes());
    open.extend_from_slice(&c.router_id.octets());
    open.push(caps.len() as u8 + 2);
    open.extend_from_slice(&[2, caps.len() as u8]);
    open.extend_from_slice(&caps);
    s.write_all(&msg(1, &open))?;
    loop {
        let (t, b) = read_msg(&mut s)?;
        match t {
            1 => s.write_all(&msg(4, &[]))?,
            4 => break,
            3 => bail!("NOTIFICATION {:?}", &b[..b.len().min(2)]),
            _ => {}
        }
    }
    // Drain what the receiver sends from now on, so it never blocks on us.
    let mut r = s.try_clone()?;
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while matches!(r.read(&mut buf), Ok(n) if n > 0) {}
    });
    let unix_ns = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    };
    println!("{}", serde_json::json!({ "start_unix_ns": unix_ns() }));
    std::io::stdout().flush()?;
    let t0 = Instant::now();
    for m in &msgs {
        s.write_all(m)?;
    }
    let dt = t0.elapsed();
    println!(
        "{}",
        serde_json::json!({
            "routes": c.routes, "updates": msgs.len() - 1, "bytes": bytes,
            "write_s": dt.as_secs_f64(), "written_unix_ns": unix_ns(),
        })
    );
    std::io::stdout().flush()?;
    let end = Instant::now() + Duration::from_secs(c.hold_s);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_secs(3));
        if s.write_all(&msg(4, &[])).is_err() {
            break;
        }
    }
    Ok(())
}
