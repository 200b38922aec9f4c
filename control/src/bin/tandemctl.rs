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
    /// Change state.
    Set {
        #[command(subcommand)]
        what: Set,
    },
}

#[derive(Subcommand)]
enum Set {
    /// Force a LACP bundle active or standby, or give it back to config/DF election (auto).
    Bundle {
        name: String,
        #[arg(value_parser = ["active", "standby", "auto"])]
        role: String,
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
    /// LACP bundles: role, aggregator partner, members selected and distributing.
    Bundles,
    /// LACP per member: actor and partner information and state bits, PDU counters.
    Lacp,
    /// BGP: `show bgp summary` or `show bgp neighbor ADDRESS`.
    Bgp {
        #[arg(value_parser = ["summary", "neighbor"])]
        what: String,
        /// The neighbour's address (with `neighbor`).
        address: Option<String>,
    },
    /// EVPN routes received (`show evpn routes [--type N]`), or the EVPN core's overlay
    /// routes per VRF with their VXLAN tunnels (`show evpn core`).
    Evpn {
        #[arg(value_parser = ["routes", "core"])]
        what: String,
        /// Only this route type (1-8).
        #[arg(long = "type")]
        route_type: Option<u8>,
    },
    /// Ethernet Segments: state, peers found through RT-4, DF algorithm in use;
    /// `show es NAME|ESI events`: the segment's timestamped events (member down, redirect,
    /// withdrawals sent and received, FIB updates).
    Es {
        /// A local segment's name or an ESI (also a remote segment's).
        segment: Option<String>,
        #[arg(value_parser = ["events"])]
        what: Option<String>,
    },
    /// DF election results per (ES, VLAN).
    Df,
    /// The draft's route sync per Ethernet Segment: routes sent, routes received and the
    /// entries they installed.
    Sync,
    /// Multicast memberships: local (IGMP) and synced from ES peers (RT-7).
    Multicast,
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
    let what = match &cli.cmd {
        Cmd::Show { what } => what,
        Cmd::Set {
            what: Set::Bundle { name, role },
        } => {
            let v = call(
                &sock,
                &Request::SetBundle {
                    name: name.clone(),
                    role: Some(role.clone()),
                },
            )?;
            println!(
                "{}",
                if cli.json {
                    serde_json::to_string_pretty(&v)?
                } else {
                    format!("bundle {name}: {}", v["role"])
                }
            );
            return Ok(());
        }
    };
    let req = match what {
        Show::Interfaces => Request::Interfaces,
        Show::Routes { vrf } => Request::Routes { vrf: vrf.clone() },
        Show::Neighbors { vrf } => Request::Neighbors { vrf: vrf.clone() },
        Show::Counters => Request::Counters,
        Show::Version => Request::Version,
        Show::Bundles | Show::Lacp => Request::Bundles,
        Show::Bgp { what, address } if what == "neighbor" => Request::BgpNeighbor {
            address: address
                .clone()
                .ok_or_else(|| anyhow::anyhow!("show bgp neighbor ADDRESS"))?,
        },
        Show::Bgp { .. } => Request::BgpSummary,
        Show::Evpn { what, .. } if what == "core" => Request::Core,
        Show::Evpn { route_type, .. } => Request::EvpnRoutes {
            route_type: *route_type,
        },
        Show::Es {
            segment: Some(es), ..
        } => Request::EsEvents { es: es.clone() },
        Show::Es { .. } | Show::Df => Request::Es,
        Show::Sync => Request::Sync,
        Show::Multicast => Request::Multicast,
    };
    let v = call(&sock, &req)?;

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
                "{:<8} {:<12} {:<28} {:<18} {:<10} {:>7}  origin",
                "vrf", "interface", "address", "mac", "state", "age"
            );
            for r in rows {
                println!(
                    "{:<8} {:<12} {:<28} {:<18} {:<10} {:>6.1}s  {}",
                    r.vrf,
                    r.interface,
                    r.ip,
                    r.mac,
                    r.state,
                    r.age_ms as f64 / 1000.0,
                    r.origin
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
        Show::Bundles => {
            for b in v.as_array().into_iter().flatten() {
                let p = &b["aggregator_partner"];
                println!(
                    "bundle {}  role {}  actor {},{},{}  partner {}",
                    b["name"].as_str().unwrap_or("?"),
                    b["role"].as_str().unwrap_or("?"),
                    b["system_priority"],
                    b["system"].as_str().unwrap_or("?"),
                    b["key"],
                    if p.is_null() {
                        "-".to_string()
                    } else {
                        format!(
                            "{},{},{}",
                            p["system_priority"],
                            p["system"].as_str().unwrap_or("?"),
                            p["key"]
                        )
                    }
                );
                println!(
                    "  {:<10} {:>6} {:<5} {:<10} {:<26} {:<9} distributing",
                    "member", "port#", "link", "rx", "mux", "selected"
                );
                for m in b["members"].as_array().into_iter().flatten() {
                    println!(
                        "  {:<10} {:>#6x} {:<5} {:<10} {:<26} {:<9} {}",
                        m["port"].as_str().unwrap_or("?"),
                        m["port_number"].as_u64().unwrap_or(0),
                        if m["link_up"].as_bool().unwrap_or(false) {
                            "up"
                        } else {
                            "down"
                        },
                        m["rx_state"].as_str().unwrap_or("?"),
                        m["mux_state"].as_str().unwrap_or("?"),
                        m["selected"],
                        m["distributing"]
                    );
                }
            }
        }
        Show::Bgp { what, .. } if what == "neighbor" => {
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        Show::Bgp { .. } => {
            println!(
                "BGP AS {}, router id {}",
                v["asn"],
                v["router_id"].as_str().unwrap_or("-")
            );
            println!(
                "{:<20} {:>10} {:<12} {:>8} {:>8} {:>8} {:>7}  last error",
                "neighbor", "AS", "state", "up (s)", "msg rx", "msg tx", "routes"
            );
            for n in v["neighbors"].as_array().into_iter().flatten() {
                println!(
                    "{:<20} {:>10} {:<12} {:>8} {:>8} {:>8} {:>7}  {}",
                    n["neighbor"].as_str().unwrap_or("?"),
                    n["remote_as"],
                    n["state"].as_str().unwrap_or("-"),
                    n["uptime_s"]
                        .as_u64()
                        .map(|u| u.to_string())
                        .unwrap_or("-".into()),
                    n["msgs_rx"],
                    n["msgs_tx"],
                    n["evpn_routes"],
                    n["last_error"].as_str().unwrap_or("")
                );
            }
        }
        Show::Evpn { what, .. } if what == "core" => {
            println!("vxlan: {}", v["vxlan"]);
            for l in v["local"].as_array().into_iter().flatten() {
                println!(
                    "vrf {} vni {} router-mac {} groups {}",
                    l["vrf"], l["vni"], l["router-mac"], l["groups"]
                );
            }
            for (vrf, rows) in v["vrfs"].as_object().into_iter().flatten() {
                for r in rows.as_array().into_iter().flatten() {
                    let t: Vec<String> = r["tunnels"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|t| {
                            format!(
                                "{} vni {} rmac {}",
                                t["vtep"].as_str().unwrap_or("?"),
                                t["vni"],
                                t["router-mac"].as_str().unwrap_or("?")
                            )
                        })
                        .collect();
                    println!(
                        "{vrf:<10} {:<22} {}",
                        r["prefix"].as_str().unwrap_or("?"),
                        t.join(", ")
                    );
                }
            }
            println!("down interfaces: {}", v["down-interfaces"]);
            println!("counters: {}", v["stats"]);
        }
        Show::Evpn { .. } => {
            for r in v.as_array().into_iter().flatten() {
                let mut o = r.clone();
                let obj = o.as_object_mut().map(std::mem::take).unwrap_or_default();
                let fields: Vec<String> = obj
                    .iter()
                    .filter(|(k, v)| {
                        !v.is_null() && k.as_str() != "communities" && k.as_str() != "type"
                    })
                    .map(|(k, v)| {
                        format!(
                            "{k}={}",
                            v.as_str().map(String::from).unwrap_or(v.to_string())
                        )
                    })
                    .collect();
                println!("RT-{} {}", r["type"], fields.join(" "));
                let c: Vec<&str> = r["communities"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_str())
                    .collect();
                if !c.is_empty() {
                    println!("      {}", c.join(" "));
                }
            }
        }
        Show::Es {
            segment: Some(_), ..
        } => {
            println!("ESI {}", v["esi"].as_str().unwrap_or("?"));
            let t0 = v["events"][0]["unix_us"].as_u64().unwrap_or(0);
            for e in v["events"].as_array().into_iter().flatten() {
                let t = e["unix_us"].as_u64().unwrap_or(0);
                println!(
                    "  {:>12.3} ms  {:<18} {}",
                    t.saturating_sub(t0) as f64 / 1e3,
                    e["what"].as_str().unwrap_or("?"),
                    e["detail"].as_str().unwrap_or("")
                );
            }
        }
        Show::Es { .. } => {
            for e in v.as_array().into_iter().flatten() {
                println!(
                    "ES {} esi {} {} {} df-state {} algorithm {} (configured {}) bundle {}",
                    e["name"].as_str().unwrap_or("?"),
                    e["esi"].as_str().unwrap_or("?"),
                    e["redundancy"].as_str().unwrap_or("?"),
                    if e["up"].as_bool().unwrap_or(false) {
                        "up"
                    } else {
                        "down"
                    },
                    e["df_state"].as_str().unwrap_or("?"),
                    e["df_algorithm_in_use"]["name"].as_str().unwrap_or("?"),
                    e["df_algorithm"]["configured"],
                    e["bundle_role"].as_str().unwrap_or("-"),
                );
                for p in e["peers"].as_array().into_iter().flatten() {
                    println!(
                        "  PE {:<16} {}{}",
                        p["originator"].as_str().unwrap_or("?"),
                        p["df_election"],
                        if p["local"].as_bool().unwrap_or(false) {
                            " (this PE)"
                        } else {
                            ""
                        }
                    );
                }
            }
        }
        Show::Multicast => {
            println!(
                "{:<8} {:<10} {:<18} {:<16} {:>3}  origin",
                "vrf", "interface", "source", "group", "ver"
            );
            for m in v["memberships"].as_array().into_iter().flatten() {
                let mut origin = Vec::new();
                if m["local"].as_bool().unwrap_or(false) {
                    origin.push(if m["leaving"].as_bool().unwrap_or(false) {
                        "local(leaving)".to_string()
                    } else {
                        "local".to_string()
                    });
                }
                if let Some(p) = m["synced_from"].as_str() {
                    origin.push(format!("synced:{p}"));
                }
                println!(
                    "{:<8} {:<10} {:<18} {:<16} {:>3}  {}",
                    m["vrf"].as_str().unwrap_or("?"),
                    m["interface"].as_str().unwrap_or("?"),
                    m["source"].as_str().unwrap_or("*"),
                    m["group"].as_str().unwrap_or("?"),
                    m["version"],
                    origin.join("+")
                );
            }
            println!("igmp: {}", v["igmp"]);
        }
        Show::Sync => {
            for e in v["segments"].as_array().into_iter().flatten() {
                println!(
                    "ES {} esi {} {}",
                    e["name"].as_str().unwrap_or("?"),
                    e["esi"].as_str().unwrap_or("?"),
                    if e["up"].as_bool().unwrap_or(false) {
                        "up"
                    } else {
                        "down"
                    }
                );
                for (dir, list) in [("sent", &e["sent"]), ("received", &e["received"])] {
                    for r in list.as_array().into_iter().flatten() {
                        let s = |k: &str| r[k].as_str().unwrap_or("-").to_string();
                        let (what, how) = if r["type"] == 5 {
                            (s("prefix"), format!("via {}", s("gw")))
                        } else {
                            (s("ip"), s("mac"))
                        };
                        println!(
                            "  {dir:<8} RT-{} {:<8} {:<10} {:<26} {:<22} tag {:<5} rd {}{}",
                            r["type"],
                            s("vrf"),
                            s("interface"),
                            what,
                            how,
                            r["tag"],
                            s("rd"),
                            r["from"]
                                .as_str()
                                .map(|f| format!(" from {f}"))
                                .unwrap_or_default(),
                        );
                    }
                }
            }
            println!("counters: {}", v["counters"]);
        }
        Show::Df => {
            println!(
                "{:<12} {:<30} {:>5}  {:<16} {:<16} local",
                "ES", "ESI", "VLAN", "DF", "backup"
            );
            for e in v.as_array().into_iter().flatten() {
                for d in e["df"].as_array().into_iter().flatten() {
                    println!(
                        "{:<12} {:<30} {:>5}  {:<16} {:<16} {}",
                        e["name"].as_str().unwrap_or("?"),
                        e["esi"].as_str().unwrap_or("?"),
                        d["vlan"],
                        d["df"].as_str().unwrap_or("-"),
                        d["backup"].as_str().unwrap_or("-"),
                        if d["local_is_df"].as_bool().unwrap_or(false) {
                            "DF"
                        } else {
                            "non-DF"
                        }
                    );
                }
            }
        }
        Show::Lacp => {
            for b in v.as_array().into_iter().flatten() {
                for m in b["members"].as_array().into_iter().flatten() {
                    let bits = |x: &serde_json::Value| {
                        x.as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(|s| s.as_str())
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            })
                            .unwrap_or_default()
                    };
                    println!(
                        "{} member {} (port {:#06x})",
                        b["name"].as_str().unwrap_or("?"),
                        m["port"].as_str().unwrap_or("?"),
                        m["port_number"].as_u64().unwrap_or(0)
                    );
                    println!(
                        "  actor   state {:#04x}: {}",
                        m["actor_state"].as_u64().unwrap_or(0),
                        bits(&m["actor_state_bits"])
                    );
                    let p = &m["partner"];
                    println!(
                        "  partner {},{},{} port {:#06x} state {:#04x}: {}",
                        p["system_priority"],
                        p["system"].as_str().unwrap_or("?"),
                        p["key"],
                        p["port"].as_u64().unwrap_or(0),
                        p["state"].as_u64().unwrap_or(0),
                        bits(&p["state_bits"])
                    );
                    println!(
                        "  lacpdus rx {} tx {}, mux changes {}",
                        m["lacpdus_rx"], m["lacpdus_tx"], m["state_changes"]
                    );
                }
            }
        }
    }
    Ok(())
}

fn call(sock: &std::path::Path, req: &Request) -> Result<serde_json::Value> {
    let mut s = UnixStream::connect(sock).with_context(|| format!("connect {}", sock.display()))?;
    let mut line = serde_json::to_vec(req)?;
    line.push(b'\n');
    s.write_all(&line)?;
    let mut reply = String::new();
    BufReader::new(s).read_line(&mut reply)?;
    match serde_json::from_str::<Reply>(&reply).context("reply")? {
        Reply::Ok(v) => Ok(v),
        Reply::Error(e) => bail!("{e}"),
    }
}
