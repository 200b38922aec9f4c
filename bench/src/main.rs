//! tandem-bench: benchmarks. `fib`: our LPMs and DPDK's rte_lpm on the same synthetic tables
//! (a realistic prefix-length mix) and the same keys, in one run. `gen`: the DPDK traffic
//! generator and sink driven by a YAML profile (`bench/profiles/`), for `bench/forward.sh`,
//! which puts tandemd or DPDK's l3fwd between its two ports.

mod gen;

use anyhow::Result;
use clap::{Parser, Subcommand};
use dataplane::tables::fib::{Fib, Lpm};
use dataplane::tables::poptrie::Poptrie;
use hdrhistogram::Histogram;
use std::hint::black_box;
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
        /// The address the sink answers ARP for (the DUT's next hop toward it).
        #[arg(long)]
        sink_ip: Option<std::net::Ipv4Addr>,
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
    /// IPv4 LPM: build time, memory per route, lookup rate and latency per batch.
    Fib {
        /// Table sizes to measure.
        #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
        routes: Vec<usize>,
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

/// xorshift64*: reproducible keys without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Prefix lengths roughly as in a full Internet table: most /24, then /22-/23, /16-/21.
fn prefix_len(r: u64) -> u8 {
    match r % 100 {
        0..=57 => 24,
        58..=67 => 23,
        68..=77 => 22,
        78..=85 => 21,
        86..=91 => 20,
        92..=95 => 19,
        96..=97 => 16,
        98 => 32,
        _ => 12 + (r % 4) as u8,
    }
}

fn table(n: usize, seed: u64) -> Vec<(u32, u8, u32)> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            let len = prefix_len(rng.next());
            let a = (rng.next() >> 32) as u32
                & if len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(len))
                };
            (a, len, (i % 1024) as u32)
        })
        .collect()
}

/// DPDK's rte_lpm on the same table and keys: (lookups/s median, bytes of its tables, share
/// of sampled keys on which both give the same answer: miss, or the same next hop).
fn rte_lpm_run(
    t: &[(u32, u8, u32)],
    keys: &[u32],
    ours: &Lpm<u32>,
    lookups: usize,
    runs: usize,
) -> Result<Option<(f64, f64, f64)>> {
    let tbl8s: u32 = 1 << 16;
    let conf = sys::rte_lpm_config {
        max_rules: (t.len() as u32).max(1024),
        number_tbl8s: tbl8s,
        flags: 0,
    };
    let name = std::ffi::CString::new(format!("bench{}", t.len()))?;
    // SAFETY: EAL is initialised; name and conf outlive the call.
    let lpm = unsafe { sys::rte_lpm_create(name.as_ptr(), -1, &conf) };
    if lpm.is_null() {
        eprintln!("rte_lpm_create failed for {} routes", t.len());
        return Ok(None);
    }
    for (p, l, nh) in t {
        // SAFETY: a valid rte_lpm; depth 1-32 (0 is not allowed by rte_lpm).
        if *l > 0 {
            unsafe { sys::rte_lpm_add(lpm, *p, *l, *nh) };
        }
    }
    let mut out = vec![0u32; 1024];
    let mut agree = 0usize;
    for chunk in keys.chunks(1024).take(64) {
        // SAFETY: lpm valid; ips/next_hops hold chunk.len() entries.
        unsafe {
            sys::shim_rte_lpm_lookup_bulk(lpm, chunk.as_ptr(), out.as_mut_ptr(), chunk.len() as u32)
        };
        for (k, o) in chunk.iter().zip(&out) {
            // RTE_LPM_LOOKUP_SUCCESS, then the 24-bit next hop.
            let theirs = (o & 0x0100_0000 != 0).then_some(o & 0x00ff_ffff);
            agree += usize::from(theirs == ours.lookup(*k));
        }
    }
    let checked = keys.len().min(64 * 1024);
    let rate = lookups_per_s(runs, lookups, keys, |b| {
        // SAFETY: as above.
        unsafe { sys::shim_rte_lpm_lookup_bulk(lpm, b.as_ptr(), out.as_mut_ptr(), b.len() as u32) };
        black_box(&out);
    });
    let bytes = (1u64 << 24) * 4 + u64::from(tbl8s) * 256 * 4 + u64::from(conf.max_rules) * 8;
    // SAFETY: lpm was created above and is not used after.
    unsafe { sys::rte_lpm_free(lpm) };
    Ok(Some((rate, bytes as f64, agree as f64 / checked as f64)))
}

/// Lookups per second, the median of `runs`: `batch` is called on consecutive 1024-key
/// slices of `keys` (wrapping) until `lookups` keys were looked up.
fn lookups_per_s(runs: usize, lookups: usize, keys: &[u32], mut batch: impl FnMut(&[u32])) -> f64 {
    let mut rates = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let mut done = 0;
        while done < lookups {
            let start = done % keys.len();
            let b = &keys[start..(start + 1024).min(keys.len())];
            batch(b);
            done += b.len();
        }
        rates.push(done as f64 / t0.elapsed().as_secs_f64());
    }
    median(&mut rates)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
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
            sink_ip,
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
        lookups,
        runs,
        json,
    } = cmd
    else {
        anyhow::bail!("no such command")
    };
    // EAL without hugepages or devices: rte_lpm only needs its allocator.
    let eal_ok = dataplane::eal::init(
        &[
            "tandem-bench",
            "--no-huge",
            "-m",
            "1536",
            "--no-pci",
            "--no-shconf",
            "-l",
            "0",
            "--no-telemetry",
            "--log-level=lib.eal:error",
        ]
        .map(String::from),
    )
    .is_ok();
    let mut rows = Vec::new();
    for n in routes {
        let t = table(n, 0x5eed + n as u64);
        let t0 = Instant::now();
        let lpm = Lpm::<u32>::build(t.clone());
        let build_s = t0.elapsed().as_secs_f64();
        let mut rng = Rng(42);
        // Keys: half random addresses, half inside configured prefixes (hits).
        let keys: Vec<u32> = (0..1 << 20)
            .map(|i| {
                let r = rng.next();
                if i % 2 == 0 {
                    (r >> 32) as u32
                } else {
                    let (p, l, _) = t[(r as usize) % t.len()];
                    p | ((r >> 40) as u32
                        & !(if l == 0 {
                            0
                        } else {
                            u32::MAX << (32 - u32::from(l))
                        }))
                }
            })
            .collect();
        let mut hist = Histogram::<u64>::new(3)?;
        let rate = lookups_per_s(runs, lookups, &keys, |b| {
            let b0 = Instant::now();
            let hits = b
                .iter()
                .filter(|k| black_box(lpm.lookup(**k)).is_some())
                .count();
            black_box(hits);
            let _ = hist.record((b0.elapsed().as_nanos() as u64).max(1));
        });
        // Poptrie on the same table and keys.
        let t0 = Instant::now();
        let pop = Poptrie::<u32>::build(t.clone());
        let pop_build_s = t0.elapsed().as_secs_f64();
        let agree_pop = keys
            .iter()
            .take(1 << 16)
            .filter(|k| pop.lookup(**k) == lpm.lookup(**k))
            .count() as f64
            / (1 << 16) as f64;
        let pop_rate = lookups_per_s(runs, lookups, &keys, |b| {
            let hits = b
                .iter()
                .filter(|k| black_box(pop.lookup(**k)).is_some())
                .count();
            black_box(hits);
        });
        let mut bout = vec![0u32; 1024];
        let bulk_rate = lookups_per_s(runs, lookups, &keys, |b| {
            pop.lookup_bulk(b, &mut bout[..b.len()]);
            black_box(&bout);
        });
        let base = if eal_ok {
            rte_lpm_run(&t, &keys, &lpm, lookups, runs)?
        } else {
            None
        };
        rows.push(serde_json::json!({
            "rte_lpm_mlookups_per_s": base.map(|b| b.0 / 1e6),
            "rte_lpm_bytes_per_route": base.map(|b| b.1 / n as f64),
            "ratio_vs_rte_lpm": base.map(|b| rate / b.0),
            "agree_with_rte_lpm": base.map(|b| b.2),
            "routes": n,
            "build_s": build_s,
            "bytes_per_route": lpm.memory() as f64 / n as f64,
            "mlookups_per_s": rate / 1e6,
            "ns_per_lookup": 1e9 / rate,
            "batch1024_p50_ns": hist.value_at_quantile(0.5),
            "batch1024_p99_ns": hist.value_at_quantile(0.99),
            "poptrie_mlookups_per_s": pop_rate / 1e6,
            "poptrie_bytes_per_route": pop.memory() as f64 / n as f64,
            "poptrie_build_s": pop_build_s,
            "poptrie_agrees_with_trie": agree_pop,
            "poptrie_ratio_vs_rte_lpm": base.map(|b| pop_rate / b.0),
            "poptrie_bulk_mlookups_per_s": bulk_rate / 1e6,
            "poptrie_bulk_ratio_vs_rte_lpm": base.map(|b| bulk_rate / b.0),
        }));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "{:>9} {:>9} {:>12} {:>12} {:>10} {:>14} {:>14} {:>13} {:>8}",
            "routes",
            "build s",
            "bytes/route",
            "Mlookups/s",
            "ns/lookup",
            "p99/1024 (us)",
            "rte_lpm Ml/s",
            "rte_lpm B/rt",
            "ratio"
        );
        for r in &rows {
            println!(
                "{:>9} {:>9.3} {:>12.1} {:>12.1} {:>10.2} {:>14.1} {:>14.1} {:>13.1} {:>8.2}",
                r["routes"].as_u64().unwrap_or(0),
                r["build_s"].as_f64().unwrap_or(0.0),
                r["bytes_per_route"].as_f64().unwrap_or(0.0),
                r["mlookups_per_s"].as_f64().unwrap_or(0.0),
                r["ns_per_lookup"].as_f64().unwrap_or(0.0),
                r["batch1024_p99_ns"].as_u64().unwrap_or(0) as f64 / 1000.0,
                r["rte_lpm_mlookups_per_s"].as_f64().unwrap_or(f64::NAN),
                r["rte_lpm_bytes_per_route"].as_f64().unwrap_or(f64::NAN),
                r["ratio_vs_rte_lpm"].as_f64().unwrap_or(f64::NAN),
            );
        }
        println!("(median of runs, one core; ours one lookup at a time, rte_lpm with rte_lpm_lookup_bulk over the same 1024-key batches; bytes/route of rte_lpm = its tables as configured)");
        println!();
        println!(
            "{:>9} {:>9} {:>12} {:>12} {:>10} {:>8} {:>8} {:>11} {:>8}",
            "routes",
            "build s",
            "bytes/route",
            "Mlookups/s",
            "ns/lookup",
            "agrees",
            "ratio",
            "bulk Ml/s",
            "ratio"
        );
        for r in &rows {
            let rate = r["poptrie_mlookups_per_s"].as_f64().unwrap_or(0.0);
            println!(
                "{:>9} {:>9.3} {:>12.1} {:>12.1} {:>10.2} {:>8.4} {:>8.2} {:>11.1} {:>8.2}",
                r["routes"].as_u64().unwrap_or(0),
                r["poptrie_build_s"].as_f64().unwrap_or(0.0),
                r["poptrie_bytes_per_route"].as_f64().unwrap_or(0.0),
                rate,
                1e3 / rate,
                r["poptrie_agrees_with_trie"].as_f64().unwrap_or(0.0),
                r["poptrie_ratio_vs_rte_lpm"].as_f64().unwrap_or(f64::NAN),
                r["poptrie_bulk_mlookups_per_s"].as_f64().unwrap_or(0.0),
                r["poptrie_bulk_ratio_vs_rte_lpm"]
                    .as_f64()
                    .unwrap_or(f64::NAN),
            );
        }
        println!(
            "(poptrie: the same table and keys, one lookup at a time; ratio against rte_lpm above)"
        );
    }
    Ok(())
}
