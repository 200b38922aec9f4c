//! tandemctl: query a running tandemd over its API socket.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use control::api::{InterfaceView, NeighborView, Reply, Request, RouteView};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

#[derive(Parser)]
#[command(version, about = "tandem CLI")]
struct Cli {
    /// API socket of the daemon (default: /run/tandem/<name>.sock).
    #[arg(short, long, global = true)]
    socket: Option<PathBuf>,
    /// Instance name, to find its default socket.
    #[arg(short, long, global = true, default_value = "tandem")]
    name: String,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Show state.
    Show {
        #[command(subcommand)]
        what: Show,
    },
}

#[derive(Subcommand)]
enum Show {
    /// L3 interfaces with addresses and counters.
    Interfaces,
    /// Routes, optionally of one VRF.
    Routes { vrf: Option<String> },
    /// ARP and ND neighbours.
    Neighbors { vrf: Option<String> },
    /// Port, drop and control counters.
    Counters,
    /// Daemon name, version and uptime.
    Version,
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandemctl: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let sock = cli
        .socket
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("/run/tandem/{}.sock", cli.name)));
    let Cmd::Show { what } = &cli.cmd;
    let req = match what {
        Show::Interfaces => Request::Interfaces,
        Show::Routes { vrf } => Request::Routes { vrf: vrf.clone() },
        Show::Neighbors { vrf } => Request::Neighbors { vrf: vrf.clone() },
        Show::Counters => Request::Counters,
        Show::Version => Request::Version,
    };
    let mut s =
        UnixStream::connect(&sock).with_context(|| format!("connect {}", sock.display()))?;
    let mut line = serde_json::to_vec(&req)?;
    line.push(b'\n');
    s.write_all(&line)?;
    let mut reply = String::new();
    BufReader::new(s).read_line(&mut reply)?;
    let v = match serde_json::from_str::<Reply>(&reply).context("reply")? {
        Reply::Ok(v) => v,
        Reply::Error(e) => bail!("{e}"),
    };
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    match what {
        Show::Interfaces => {
            let rows: Vec<InterfaceView> = serde_json::from_value(v)?;
            println!(
                "{:<12} {:<8} {:>5} {:<8} {:<18} {:<4} {:>10} {:>10}  addresses",
                "interface", "link", "vlan", "vrf", "mac", "up", "rx-pkts", "tx-pkts"
            );
            for r in rows {
                println!(
                    "{:<12} {:<8} {:>5} {:<8} {:<18} {:<4} {:>10} {:>10}  {}",
                    r.name,
                    r.link,
                    r.vlan.map(|v| v.to_string()).unwrap_or("-".into()),
                    r.vrf,
                    r.mac,
                    if r.up { "up" } else { "down" },
                    r.rx_packets,
                    r.tx_packets,
                    r.addresses.join(" ")
                );
            }
        }
        Show::Routes { .. } => {
            let rows: Vec<RouteView> = serde_json::from_value(v)?;
            println!(
                "{:<8} {:<28} {:<16} {:<24} interface",
                "vrf", "prefix", "source", "next hop"
            );
            for r in rows {
                println!(
                    "{:<8} {:<28} {:<16} {:<24} {}",
                    r.vrf,
                    r.prefix,
                    r.source,
                    r.nexthop.unwrap_or("-".into()),
                    r.interface.unwrap_or("-".into())
                );
            }
        }
        Show::Neighbors { .. } => {
            let rows: Vec<NeighborView> = serde_json::from_value(v)?;
            println!(
                "{:<8} {:<12} {:<28} {:<18} {:<10} age",
                "vrf", "interface", "address", "mac", "state"
            );
            for r in rows {
                println!(
                    "{:<8} {:<12} {:<28} {:<18} {:<10} {:.1}s",
                    r.vrf,
                    r.interface,
                    r.ip,
                    r.mac,
                    r.state,
                    r.age_ms as f64 / 1000.0
                );
            }
        }
        Show::Counters => {
            println!("ports:");
            for p in v["ports"].as_array().into_iter().flatten() {
                println!(
                    "  {:<12} {:<5} rx {:>10} pkts {:>12} bytes   tx {:>10} pkts {:>12} bytes",
                    p["name"].as_str().unwrap_or("?"),
                    p["role"].as_str().unwrap_or("?"),
                    p["rx_packets"],
                    p["rx_bytes"],
                    p["tx_packets"],
                    p["tx_bytes"]
                );
            }
            println!("drops (non-zero):");
            for (k, n) in v["drops"].as_object().into_iter().flatten() {
                if n.as_u64().unwrap_or(0) > 0 {
                    println!("  {k:<28} {n}");
                }
            }
            println!("control:");
            for (k, n) in v["control"].as_object().into_iter().flatten() {
                println!("  {k:<28} {n}");
            }
            println!("  {:<28} {}", "mbufs_available", v["mbufs_available"]);
        }
        Show::Version => println!("{}", serde_json::to_string_pretty(&v)?),
    }
    Ok(())
}
