//! tandem-bench: benchmarks. `fib`: our LPMs and DPDK's rte_lpm on the same synthetic tables
//! (a realistic prefix-length mix) and the same keys, in one run. `gen`: the DPDK traffic
//! generator and sink driven by a YAML profile (`bench/profiles/`), for `bench/forward.sh`,
//! which puts tandemd or DPDK's l3fwd between its two ports.

mod fib;
mod gen;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::time::Instant;

#[derive(Parser)]
#[command(about = "tandem benchmarks")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Traffic generator + sink: send a profile on one port, count it back on the other.
    Gen {
        /// The profile (YAML, TRex STL style; see bench/profiles/).
        #[arg(long)]
        profile: std::path::PathBuf,
        /// EAL arguments, space separated (e.g. "-l 0 --in-memory --no-pci --no-telemetry").
        #[arg(long, allow_hyphen_values = true)]
        eal: String,
        /// Transmit port devargs (e.g. net_memif0,role=client,id=0,socket=l0).
        #[arg(long)]
        tx: String,
        /// Receive port devargs.
        #[arg(long)]
        rx: String,
        /// Destination MAC of the frames (the DUT's receiving port).
        #[arg(long)]
        dst_mac: config::MacAddr,
        /// An address the sink answers ARP or neighbour solicitations for (the DUT's next hop
        /// toward it); repeat for several.
        #[arg(long)]
        sink_ip: Vec<std::net::IpAddr>,
        /// What `rate: { percent: P }` means (unpaced without it).
        #[arg(long)]
        max_pps: Option<f64>,
        /// Override the profile's duration.
        #[arg(long)]
        duration: Option<f64>,
        /// Seconds sent before counting starts.
        #[arg(long, default_value_t = 2.0)]
        warmup: f64,
        #[arg(long)]
        json: bool,
    },
    /// LPM: ours vs rte_lpm / rte_lpm6: lookups/s (uniform and skewed keys), bytes/route,
    /// load rate.
    Fib {
        /// IPv4 table sizes.
        #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
        routes: Vec<usize>,
        /// IPv6 table sizes (none: 0 routes are skipped).
        #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
        routes6: Vec<usize>,
        /// Lookups per run.
        #[arg(long, default_value_t = 20_000_000)]
        lookups: usize,
        /// Runs per size (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> Result<()> {
    let cmd = Cli::parse().cmd;
    if let Cmd::Gen {
        profile,
        eal,
        tx,
        rx,
        dst_mac,
        sink_ip,
        max_pps,
        duration,
        warmup,
        json,
    } = cmd
    {
        let mut p = gen::Profile::load(&profile)?;
        if let Some(d) = duration {
            p.duration_s = d;
        }
        let mut args = vec!["tandem-bench".to_string()];
        args.extend(eal.split_whitespace().map(String::from));
        dataplane::eal::init(&args)?;
        let pool = dataplane::eal::Mempool::create("gen", 32767)?;
        fn conf(d: &str) -> dataplane::port::PortConf<'_> {
            dataplane::port::PortConf {
                devargs: d,
                queues: 1,
                mtu: 1518,
                mac: None,
            }
        }
        let txp = dataplane::port::open(&conf(&tx), &pool)?;
        let rxp = if rx == tx {
            txp.clone()
        } else {
            dataplane::port::open(&conf(&rx), &pool)?
        };
        let opts = gen::RunOpts {
            tx_port: txp.id,
            rx_port: rxp.id,
            dst_mac,
            src_mac: txp.mac,
            rx_mac: rxp.mac,
            sink_ips: sink_ip,
            max_pps,
            warmup_s: warmup,
            progress: !json,
        };
        // memif: wait for the links to come up (the server side may start later).
        let t0 = Instant::now();
        while !(dataplane::port::link_up(txp.id) && dataplane::port::link_up(rxp.id)) {
            if t0.elapsed().as_secs() > 10 {
                anyhow::bail!("ports not up after 10 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let r = gen::run(&p, &opts, &pool)?;
        dataplane::port::stop(txp.id);
        if rxp.id != txp.id {
            dataplane::port::stop(rxp.id);
        }
        if json {
            println!("{}", serde_json::to_string_pretty(&r)?);
        } else {
            r.print();
        }
        return Ok(());
    }
    let Cmd::Fib {
        routes,
        routes6,
        lookups,
        runs,
        json,
    } = cmd
    else {
        anyhow::bail!("no such command")
    };
    let keep = |v: Vec<usize>| v.into_iter().filter(|n| *n > 0).collect();
    let rows = fib::run(&fib::Opts {
        routes: keep(routes),
        routes6: keep(routes6),
        lookups,
        runs,
    })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        fib::print(&rows);
    }
    Ok(())
}
