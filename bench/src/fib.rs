//! The FIB micro-benchmark: our longest-prefix matches (the multibit trie the pipeline uses and
//! the poptrie) against DPDK's rte_lpm / rte_lpm6, on the same synthetic tables and the same
//! keys, in one process. Tables have a realistic prefix-length mix (IPv4 like the Internet
//! table, mostly /24; IPv6 mostly /48 and /32); keys are either uniform (half random
//! addresses, half inside a configured prefix) or skewed (Zipf-like over the prefixes: a few
//! prefixes take most of the traffic, as on a real link). Reported: lookups/s (median of runs,
//! one core), bytes per route, and how fast a table takes changes (our tables are rebuilt whole
//! per change batch; rte_lpm adds a route in place).

use anyhow::Result;
use dataplane::tables::fib::{Fib, Lpm};
use dataplane::tables::poptrie::{Direct, Poptrie};
use std::hint::black_box;
use std::time::Instant;

pub struct Opts {
    pub routes: Vec<usize>,
    pub routes6: Vec<usize>,
    pub lookups: usize,
    pub runs: usize,
}

/// One structure on one table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub family: &'static str,
    pub routes: usize,
    pub structure: &'static str,
    pub bytes_per_route: f64,
    /// Routes per second when loading the whole table (ours: one build; rte_lpm: adds).
    pub load_routes_per_s: f64,
    pub uniform_mlookups_per_s: f64,
    pub skewed_mlookups_per_s: f64,
    /// Against the DPDK structure on the same table, same keys.
    pub uniform_ratio: Option<f64>,
    pub skewed_ratio: Option<f64>,
    /// Share of sampled keys on which this structure and the trie agree.
    pub agrees: f64,
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

/// IPv4 prefix lengths roughly as in a full Internet table: most /24, then /22-/23, /16-/21.
fn prefix_len4(r: u64) -> u8 {
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

/// IPv6 prefix lengths roughly as in the IPv6 Internet table: /48 dominant, then /32, /44,
/// /40, /36, /29, a few /56, /64 and host routes.
fn prefix_len6(r: u64) -> u8 {
    match r % 100 {
        0..=46 => 48,
        47..=61 => 32,
        62..=69 => 44,
        70..=76 => 40,
        77..=81 => 36,
        82..=85 => 29,
        86..=91 => 46 - (r / 100 % 4) as u8,
        92..=94 => 56,
        95..=97 => 64,
        98 => 128,
        _ => 19 + (r / 100 % 9) as u8,
    }
}

/// A key type the benchmark generates tables and keys for.
trait Key: Direct + Into<u128> + Send + Sync + 'static {
    const FAMILY: &'static str;
    fn random(rng: &mut Rng) -> Self;
    fn prefix_len(r: u64) -> u8;
    fn mask(self, len: u8) -> Self;
    /// `self` with the host bits (past `len`) taken from `r`.
    fn fill(self, len: u8, r: Self) -> Self;
}

impl Key for u32 {
    const FAMILY: &'static str = "ipv4";
    fn random(rng: &mut Rng) -> u32 {
        (rng.next() >> 32) as u32
    }
    fn prefix_len(r: u64) -> u8 {
        prefix_len4(r)
    }
    fn mask(self, len: u8) -> u32 {
        self & u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
    }
    fn fill(self, len: u8, r: u32) -> u32 {
        self | (r & !u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0))
    }
}

impl Key for u128 {
    const FAMILY: &'static str = "ipv6";
    /// Global unicast, 2000::/3.
    fn random(rng: &mut Rng) -> u128 {
        let v = (u128::from(rng.next()) << 64) | u128::from(rng.next());
        (v >> 3) | (1u128 << 125)
    }
    fn prefix_len(r: u64) -> u8 {
        prefix_len6(r)
    }
    fn mask(self, len: u8) -> u128 {
        self & u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
    }
    fn fill(self, len: u8, r: u128) -> u128 {
        self | (r & !u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0))
    }
}

/// `n` routes with next hops among 1024.
fn table<K: Key>(n: usize, seed: u64) -> Vec<(K, u8, u32)> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            let len = K::prefix_len(rng.next());
            (K::random(&mut rng).mask(len), len, (i % 1024) as u32)
        })
        .collect()
}

/// 2^20 keys: uniform (every other key random, the rest inside a random route) or skewed (a
/// route picked with probability ∝ 1/rank — Zipf, s = 1 — and a random host inside it).
fn keys<K: Key>(t: &[(K, u8, u32)], skewed: bool) -> Vec<K> {
    let mut rng = Rng(42);
    let ln_n = (t.len() as f64).ln();
    (0..1 << 20)
        .map(|i| {
            let r = rng.next();
            let idx = if skewed {
                let u = (r >> 11) as f64 / (1u64 << 53) as f64;
                let rank = (u * ln_n).exp() as usize - 1;
                rank.wrapping_mul(0x9e37_79b1) % t.len() // ranks scattered over the table
            } else if i % 2 == 0 {
                return K::random(&mut rng);
            } else {
                r as usize % t.len()
            };
            let (p, l, _) = t[idx];
            p.fill(l, K::random(&mut rng))
        })
        .collect()
}

/// Lookups per second of one run: `batch` is called on consecutive 1024-key slices of `keys`
/// (wrapping) until `lookups` keys were looked up.
fn lookups_per_s<K>(lookups: usize, keys: &[K], mut batch: impl FnMut(&[K])) -> f64 {
    let t0 = Instant::now();
    let mut done = 0;
    while done < lookups {
        let start = done % keys.len();
        let b = &keys[start..(start + 1024).min(keys.len())];
        batch(b);
        done += b.len();
    }
    done as f64 / t0.elapsed().as_secs_f64()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn agree<K: Key>(keys: &[K], a: impl Fn(K) -> Option<u32>, b: &Lpm<K>) -> f64 {
    let n = keys.len().min(1 << 16);
    keys[..n].iter().filter(|k| a(**k) == b.lookup(**k)).count() as f64 / n as f64
}

/// The DPDK structure, behind one interface for both families.
trait Dpdk<K> {
    const NAME: &'static str;
    fn create(t: &[(K, u8, u32)]) -> Option<Self>
    where
        Self: Sized;
    fn load_routes_per_s(&self) -> f64;
    fn bytes(&self) -> f64;
    /// Looks up `keys`; `out[i]` = next hop or None.
    fn lookup_bulk(&mut self, keys: &[K]) -> &[Option<u32>];
}

struct RteLpm {
    lpm: *mut sys::rte_lpm,
    tbl8s: u32,
    rules: u32,
    load: f64,
    raw: Vec<u32>,
    out: Vec<Option<u32>>,
}

impl Dpdk<u32> for RteLpm {
    const NAME: &'static str = "rte_lpm (bulk)";
    fn create(t: &[(u32, u8, u32)]) -> Option<RteLpm> {
        let conf = sys::rte_lpm_config {
            max_rules: (t.len() as u32).max(1024),
            number_tbl8s: 1 << 16,
            flags: 0,
        };
        let name = std::ffi::CString::new(format!("bench{}", t.len())).ok()?;
        // SAFETY: EAL is initialised; name and conf outlive the call.
        let lpm = unsafe { sys::rte_lpm_create(name.as_ptr(), -1, &conf) };
        if lpm.is_null() {
            eprintln!("rte_lpm_create failed for {} routes", t.len());
            return None;
        }
        let t0 = Instant::now();
        for (p, l, nh) in t {
            // SAFETY: a valid rte_lpm; depth 1-32 (rte_lpm refuses 0).
            if *l > 0 {
                unsafe { sys::rte_lpm_add(lpm, *p, *l, *nh) };
            }
        }
        let load = t.len() as f64 / t0.elapsed().as_secs_f64();
        Some(RteLpm {
            lpm,
            tbl8s: conf.number_tbl8s,
            rules: conf.max_rules,
            load,
            raw: vec![0; 1024],
            out: vec![None; 1024],
        })
    }
    fn load_routes_per_s(&self) -> f64 {
        self.load
    }
    fn bytes(&self) -> f64 {
        // tbl24 (2^24 x 4 B), the tbl8 groups (256 x 4 B each), the rules (8 B).
        ((1u64 << 24) * 4 + u64::from(self.tbl8s) * 256 * 4 + u64::from(self.rules) * 8) as f64
    }
    fn lookup_bulk(&mut self, keys: &[u32]) -> &[Option<u32>] {
        // SAFETY: lpm valid; ips and next_hops hold keys.len() entries.
        unsafe {
            sys::shim_rte_lpm_lookup_bulk(
                self.lpm,
                keys.as_ptr(),
                self.raw.as_mut_ptr(),
                keys.len() as u32,
            )
        };
        for (o, r) in self.out.iter_mut().zip(&self.raw[..keys.len()]) {
            // RTE_LPM_LOOKUP_SUCCESS, then the 24-bit next hop.
            *o = (r & 0x0100_0000 != 0).then_some(r & 0x00ff_ffff);
        }
        &self.out[..keys.len()]
    }
}

impl Drop for RteLpm {
    fn drop(&mut self) {
        // SAFETY: created by rte_lpm_create, not used after.
        unsafe { sys::rte_lpm_free(self.lpm) };
    }
}

struct RteLpm6 {
    lpm: *mut sys::rte_lpm6,
    tbl8s: u32,
    rules: u32,
    load: f64,
    ips: Vec<[u8; 16]>,
    raw: Vec<i32>,
    out: Vec<Option<u32>>,
}

impl Dpdk<u128> for RteLpm6 {
    const NAME: &'static str = "rte_lpm6 (bulk)";
    fn create(t: &[(u128, u8, u32)]) -> Option<RteLpm6> {
        // A /48 spends up to 3 tbl8 groups past the 24-bit first level, longer ones more.
        let tbl8s = (t.len() as u32 * 4).clamp(1 << 16, 1 << 21);
        let conf = sys::rte_lpm6_config {
            max_rules: (t.len() as u32).max(1024),
            number_tbl8s: tbl8s,
            flags: 0,
        };
        let name = std::ffi::CString::new(format!("bench6-{}", t.len())).ok()?;
        // SAFETY: EAL is initialised; name and conf outlive the call.
        let lpm = unsafe { sys::rte_lpm6_create(name.as_ptr(), -1, &conf) };
        if lpm.is_null() {
            eprintln!("rte_lpm6_create failed for {} routes", t.len());
            return None;
        }
        let t0 = Instant::now();
        for (p, l, nh) in t {
            if *l > 0 {
                // SAFETY: a valid rte_lpm6; a 16-byte address; depth 1-128.
                unsafe { sys::rte_lpm6_add(lpm, p.to_be_bytes().as_ptr(), *l, *nh) };
            }
        }
        let load = t.len() as f64 / t0.elapsed().as_secs_f64();
        Some(RteLpm6 {
            lpm,
            tbl8s,
            rules: conf.max_rules,
            load,
            ips: vec![[0; 16]; 1024],
            raw: vec![0; 1024],
            out: vec![None; 1024],
        })
    }
    fn load_routes_per_s(&self) -> f64 {
        self.load
    }
    fn bytes(&self) -> f64 {
        // tbl24 and the tbl8 groups (4-byte entries), the rules (16 + 4 + 1 B, padded to 24).
        ((1u64 << 24) * 4 + u64::from(self.tbl8s) * 256 * 4 + u64::from(self.rules) * 24) as f64
    }
    fn lookup_bulk(&mut self, keys: &[u128]) -> &[Option<u32>] {
        // rte_lpm6 takes byte arrays: the conversion is part of what a caller pays.
        for (ip, k) in self.ips.iter_mut().zip(keys) {
            *ip = k.to_be_bytes();
        }
        // SAFETY: lpm valid; ips and next_hops hold keys.len() entries.
        unsafe {
            sys::rte_lpm6_lookup_bulk_func(
                self.lpm,
                self.ips.as_mut_ptr(),
                self.raw.as_mut_ptr(),
                keys.len() as u32,
            )
        };
        for (o, r) in self.out.iter_mut().zip(&self.raw[..keys.len()]) {
            *o = u32::try_from(*r).ok();
        }
        &self.out[..keys.len()]
    }
}

impl Drop for RteLpm6 {
    fn drop(&mut self) {
        // SAFETY: created by rte_lpm6_create, not used after.
        unsafe { sys::rte_lpm6_free(self.lpm) };
    }
}

/// Every structure on one table of `n` routes. Runs are interleaved (each run measures every
/// structure once, on both key sets) and a ratio is the median of per-run ratios: this VM's
/// speed drifts by tens of percent within a minute.
fn measure<K: Key, D: Dpdk<K>>(n: usize, o: &Opts, dpdk: bool) -> Vec<Row> {
    let t: Vec<(K, u8, u32)> = table(n, 0x5eed + n as u64);
    let uni = keys(&t, false);
    let skew = keys(&t, true);

    let t0 = Instant::now();
    let trie = Lpm::<K>::build(t.clone());
    let trie_load = n as f64 / t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let pop = Poptrie::<K>::build(t.clone());
    let pop_load = n as f64 / t0.elapsed().as_secs_f64();
    let pop_agrees = agree(&uni, |k| pop.lookup(k), &trie);
    let mut base = if dpdk { D::create(&t) } else { None };
    let has_base = base.is_some();
    // (name, bytes, load rate, agrees, lookup of one batch)
    type Batch<'a, K> = Box<dyn FnMut(&[K]) + 'a>;
    let mut out = vec![0u32; 1024];
    let mut subjects: Vec<(&'static str, f64, f64, f64, Batch<'_, K>)> = vec![
        (
            "trie (FIB < 1024)",
            trie.memory() as f64,
            trie_load,
            1.0,
            Box::new(|b: &[K]| {
                black_box(b.iter().filter(|k| trie.lookup(**k).is_some()).count());
            }),
        ),
        (
            "poptrie",
            pop.memory() as f64,
            pop_load,
            pop_agrees,
            Box::new(|b: &[K]| {
                black_box(b.iter().filter(|k| pop.lookup(**k).is_some()).count());
            }),
        ),
        (
            "poptrie (bulk)",
            pop.memory() as f64,
            pop_load,
            pop_agrees,
            Box::new(|b: &[K]| {
                pop.lookup_bulk(b, &mut out[..b.len()]);
                black_box(&out);
            }),
        ),
    ];
    if let Some(d) = base.as_mut() {
        let checked = &uni[..uni.len().min(1 << 16)];
        let mut same = 0;
        for chunk in checked.chunks(1024) {
            let got = d.lookup_bulk(chunk);
            same += chunk
                .iter()
                .zip(got)
                .filter(|(k, g)| trie.lookup(**k) == **g)
                .count();
        }
        let (bytes, load) = (d.bytes(), d.load_routes_per_s());
        let agrees = same as f64 / checked.len() as f64;
        subjects.push((
            D::NAME,
            bytes,
            load,
            agrees,
            Box::new(move |b: &[K]| {
                black_box(d.lookup_bulk(b));
            }),
        ));
    }
    // rates[subject][run] = (uniform, skewed)
    let mut rates = vec![Vec::new(); subjects.len()];
    for _ in 0..o.runs {
        for (i, s) in subjects.iter_mut().enumerate() {
            let u = lookups_per_s(o.lookups, &uni, &mut s.4);
            let k = lookups_per_s(o.lookups, &skew, &mut s.4);
            rates[i].push((u, k));
        }
    }
    // The DPDK structure, when there is one, is the last subject: the baseline of the ratios.
    let base = has_base.then(|| subjects.len() - 1);
    let med = |mut v: Vec<f64>| median(&mut v);
    subjects
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let r = &rates[i];
            let ratio = |f: fn(&(f64, f64)) -> f64| {
                let b = base.filter(|b| *b != i)?;
                Some(med(r
                    .iter()
                    .zip(&rates[b])
                    .map(|(x, y)| f(x) / f(y))
                    .collect()))
            };
            Row {
                family: K::FAMILY,
                routes: n,
                structure: s.0,
                bytes_per_route: s.1 / n as f64,
                load_routes_per_s: s.2,
                uniform_mlookups_per_s: med(r.iter().map(|x| x.0).collect()) / 1e6,
                skewed_mlookups_per_s: med(r.iter().map(|x| x.1).collect()) / 1e6,
                uniform_ratio: ratio(|x| x.0),
                skewed_ratio: ratio(|x| x.1),
                agrees: s.3,
            }
        })
        .collect()
}

pub fn run(o: &Opts) -> Result<Vec<Row>> {
    // EAL without hugepages or devices: rte_lpm only needs its allocator, and on 4 KiB pages
    // it pays the same TLB cost as our heap-allocated tables.
    let dpdk = dataplane::eal::init(
        &[
            "tandem-bench",
            "--no-huge",
            "-m",
            "2048",
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
    for &n in &o.routes {
        rows.extend(measure::<u32, RteLpm>(n, o, dpdk));
    }
    for &n in &o.routes6 {
        rows.extend(measure::<u128, RteLpm6>(n, o, dpdk));
    }
    Ok(rows)
}

pub fn print(rows: &[Row]) {
    println!(
        "{:<5} {:>8} {:<17} {:>8} {:>11} {:>10} {:>7} {:>10} {:>7} {:>7}",
        "",
        "routes",
        "structure",
        "B/route",
        "load rt/s",
        "uniform",
        "ratio",
        "skewed",
        "ratio",
        "agrees"
    );
    for r in rows {
        let ratio = |x: Option<f64>| x.map_or("-".into(), |x| format!("{x:.2}x"));
        println!(
            "{:<5} {:>8} {:<17} {:>8.1} {:>11.3e} {:>10.1} {:>7} {:>10.1} {:>7} {:>7.4}",
            r.family,
            r.routes,
            r.structure,
            r.bytes_per_route,
            r.load_routes_per_s,
            r.uniform_mlookups_per_s,
            ratio(r.uniform_ratio),
            r.skewed_mlookups_per_s,
            ratio(r.skewed_ratio),
            r.agrees
        );
    }
    println!("(Mlookups/s, median of interleaved runs, one core, 1024-key batches; ratio = median of per-run ratios");
    println!(" against the DPDK structure, same table and keys; load rt/s = routes/s loading the whole table: ours");
    println!(" are built whole per change batch, rte_lpm adds in place; agrees = share of keys with the trie's answer)");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_keys_follow_their_mix() {
        let t: Vec<(u128, u8, u32)> = table(10_000, 1);
        let p48 = t.iter().filter(|r| r.1 == 48).count();
        assert!((4000..5500).contains(&p48), "{p48} /48s");
        assert!(t.iter().all(|r| r.0 >> 125 == 1 && r.0.mask(r.1) == r.0));
        // Skewed keys fall in a few prefixes: the 1 % most used take a large share.
        let k = keys(&t, true);
        let lpm = Lpm::<u128>::build(t.clone());
        let mut hits = std::collections::HashMap::new();
        for x in &k {
            *hits.entry(lpm.lookup(*x)).or_insert(0usize) += 1;
        }
        let mut counts: Vec<usize> = hits.into_values().collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let top: usize = counts.iter().take(100).sum();
        assert!(top * 100 / k.len() >= 40, "top 1 % of next hops: {top}");
        let u: Vec<u32> = keys(&table::<u32>(10_000, 1), false);
        assert_eq!(u.len(), 1 << 20);
    }
}
