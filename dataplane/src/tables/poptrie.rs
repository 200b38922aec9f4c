//! Poptrie (Asai and Ohara, SIGCOMM 2015): longest-prefix match in a compressed multiway trie.
//!
//! The top `DIRECT` bits index a flat array (direct pointing); below it every node has 64
//! children (a 6-bit stride) stored compactly: `vector` marks which children are internal
//! nodes, `leafvec` marks where a run of equal leaves starts, and `popcnt` of the bits up to a
//! child gives its rank in the node's contiguous block of children (`base1`) or of leaves
//! (`base0`). A lookup is one direct-array read plus, per 6 bits below it, one 24-byte node
//! read and finally one 2-byte leaf read, with no branch on prefix lengths.
//!
//! One change from the paper: a direct slot whose node would hold only leaves (for IPv4, the
//! slots with routes no longer than /24 — nearly all) keeps the node's `leafvec` in a flat
//! array beside the direct array and its `base0` in the direct entry. The two reads are
//! independent, so such a lookup is two dependent memory accesses (slot, then leaf) instead
//! of three, and the node's 24 bytes shrink to 12 (`flat` 8 + `direct` 4).
//!
//! ```text
//! direct[key >> (BITS - DIRECT)] ── leaf (value) ─────────────────────────────► done
//!                                ├─ flat: base0 ─ leaves[base0 + rank(flat[slot], v) - 1] ► done
//!                                └─ node n ─ v = next 6 bits
//!                                     vector bit v set?  yes ─► nodes[base1 + rank(vector, v) - 1]
//!                                                        no  ─► leaves[base0 + rank(leafvec, v) - 1]
//! ```
//! Tables are built whole from a route list, like `fib::Lpm`, and shared between snapshots.

use super::fib::{Fib, LpmKey};
use crate::prefetch;

/// Bits a key type resolves by direct pointing.
pub trait Direct: LpmKey {
    const DIRECT: u8;
    /// `n` bits of the key starting at bit `off` (from the most significant), zero-padded
    /// past the key's end.
    fn bits(self, off: u8, n: u8) -> usize;
}

impl Direct for u32 {
    const DIRECT: u8 = 18;
    #[inline(always)]
    fn bits(self, off: u8, n: u8) -> usize {
        let w = (u64::from(self) << 32) << off; // the key at the top of 64 bits, shifted
        (w >> (64 - n)) as usize
    }
}

impl Direct for u128 {
    const DIRECT: u8 = 16;
    #[inline(always)]
    fn bits(self, off: u8, n: u8) -> usize {
        let w = if off >= 128 { 0 } else { self << off };
        (w >> (128 - n)) as usize
    }
}

const STRIDE: u8 = 6;
/// A direct-array entry with this bit is a leaf (the low 16 bits); with `FLAT` it is the
/// `base0` of a leaves-only node whose `leafvec` is `flat[slot]`; else a node index.
const LEAF: u32 = 1 << 31;
const FLAT: u32 = 1 << 30;

#[derive(Clone, Copy, Default, Debug)]
#[repr(C)]
struct Node {
    vector: u64,
    leafvec: u64,
    base0: u32,
    base1: u32,
}

/// A poptrie over keys `K`; values are below `u16::MAX`.
#[derive(Clone)]
pub struct Poptrie<K: Direct> {
    direct: Box<[u32]>,
    /// The `leafvec` of the slots whose direct entry is `FLAT`.
    flat: Box<[u64]>,
    nodes: Vec<Node>,
    /// Value + 1; 0 is "no route".
    leaves: Vec<u16>,
    _k: std::marker::PhantomData<K>,
}

/// Largest value a poptrie stores.
pub const MAX_VALUE: u32 = u16::MAX as u32 - 1;

impl<K: Direct> Default for Poptrie<K> {
    fn default() -> Self {
        Poptrie::build(std::iter::empty())
    }
}

/// Masks `k` to its first `len` bits.
fn masked<K: Direct>(k: K, len: u8) -> u128 {
    let bits = u32::from(K::BITS);
    let v = k.bits(0, K::BITS.min(64)) as u128;
    let v = if K::BITS > 64 {
        (v << 64) | k.bits(64, 64) as u128
    } else {
        v
    };
    let full = u128::MAX >> (128 - bits);
    v & !(full.checked_shr(u32::from(len)).unwrap_or(0))
}

impl<K: Direct> Poptrie<K> {
    /// Builds a table. Routes may come in any order; for the same prefix the last wins.
    /// Values above `MAX_VALUE` are refused (callers deduplicate next hops).
    pub fn build(routes: impl IntoIterator<Item = (K, u8, u32)>) -> Self {
        // Normalise: mask, dedupe (last wins), sort by (key, len).
        let mut v: Vec<(u128, u8, K, u32, usize)> = routes
            .into_iter()
            .enumerate()
            .map(|(i, (k, len, val))| {
                assert!(val <= MAX_VALUE, "poptrie value out of range");
                let len = len.min(K::BITS);
                (masked(k, len), len, k, val, i)
            })
            .collect();
        v.sort_by(|a, b| (a.0, a.1, b.4).cmp(&(b.0, b.1, a.4)));
        v.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1); // keeps the first = the latest given
        let routes: Vec<(K, u8, u16)> = v.iter().map(|r| (r.2, r.1, r.3 as u16 + 1)).collect();
        let mut t = Poptrie {
            direct: vec![0u32; 1 << K::DIRECT].into_boxed_slice(),
            flat: vec![0u64; 1 << K::DIRECT].into_boxed_slice(),
            nodes: Vec::new(),
            leaves: Vec::new(),
            _k: std::marker::PhantomData,
        };
        t.build_direct(&routes);
        t
    }

    /// The direct array: short prefixes painted by ascending length, then one node per slot
    /// that has longer prefixes below it.
    fn build_direct(&mut self, routes: &[(K, u8, u16)]) {
        let d = K::DIRECT;
        let mut paint = vec![0u16; 1 << d];
        let mut short: Vec<&(K, u8, u16)> = routes.iter().filter(|r| r.1 <= d).collect();
        short.sort_by_key(|r| r.1);
        for (k, len, val) in short {
            let first = k.bits(0, d) & !((1usize << (d - len)) - 1);
            paint[first..first + (1 << (d - len))].fill(*val);
        }
        // Longer prefixes are sorted by key: each direct slot's are contiguous.
        let long: Vec<(K, u8, u16)> = routes.iter().filter(|r| r.1 > d).copied().collect();
        let mut i = 0;
        for (slot, &inherited) in paint.iter().enumerate() {
            let start = i;
            while i < long.len() && long[i].0.bits(0, d) == slot {
                i += 1;
            }
            self.direct[slot] = if start == i {
                LEAF | u32::from(inherited)
            } else {
                let node = self.build_node(&long[start..i], d, inherited);
                if node.vector == 0 {
                    assert!(node.base0 < FLAT, "poptrie: too many leaves");
                    self.flat[slot] = node.leafvec;
                    FLAT | node.base0
                } else {
                    self.nodes.push(node);
                    (self.nodes.len() - 1) as u32
                }
            };
        }
    }

    /// One node at depth `depth` (its children are bits [depth, depth + 6)): `routes` are the
    /// prefixes longer than `depth` below it (sorted by key), `inherited` the value covering it.
    fn build_node(&mut self, routes: &[(K, u8, u16)], depth: u8, inherited: u16) -> Node {
        let end = depth + STRIDE;
        let mut leaf = [inherited; 64];
        let mut short: Vec<&(K, u8, u16)> = routes.iter().filter(|r| r.1 <= end).collect();
        short.sort_by_key(|r| r.1);
        for (k, len, val) in short {
            let rem = len - depth;
            let first = k.bits(depth, STRIDE) & !((1usize << (STRIDE - rem)) - 1);
            leaf[first..first + (1 << (STRIDE - rem))].fill(*val);
        }
        // Children with longer prefixes below them become internal nodes. The longer
        // prefixes, in key order, come in one contiguous run per child.
        let long: Vec<(K, u8, u16)> = routes.iter().filter(|r| r.1 > end).copied().collect();
        let mut groups: Vec<(usize, usize, usize)> = Vec::new(); // (child, start, end) in `long`
        let mut i = 0;
        while i < long.len() {
            let c = long[i].0.bits(depth, STRIDE);
            let start = i;
            while i < long.len() && long[i].0.bits(depth, STRIDE) == c {
                i += 1;
            }
            groups.push((c, start, i));
        }
        let mut node = Node::default();
        for (c, _, _) in &groups {
            node.vector |= 1 << c;
        }
        // Leaves: one per run of equal values among the leaf children.
        node.base0 = self.leaves.len() as u32;
        let mut prev: Option<u16> = None;
        for (c, val) in leaf.iter().enumerate() {
            if node.vector & (1 << c) != 0 {
                prev = None;
                continue;
            }
            if prev != Some(*val) {
                node.leafvec |= 1 << c;
                self.leaves.push(*val);
                prev = Some(*val);
            }
        }
        // Children nodes: a contiguous block, filled depth-first.
        node.base1 = self.nodes.len() as u32;
        self.nodes
            .resize(self.nodes.len() + groups.len(), Node::default());
        for (k, (c, a, b)) in groups.into_iter().enumerate() {
            let child = self.build_node(&long[a..b], end, leaf[c]);
            self.nodes[node.base1 as usize + k] = child;
        }
        node
    }

    /// Memory held by the direct and flat arrays, the nodes and the leaves, in bytes.
    pub fn memory(&self) -> usize {
        self.direct.len() * 4
            + self.flat.len() * 8
            + self.nodes.len() * std::mem::size_of::<Node>()
            + self.leaves.len() * 2
    }
}

/// The number of set bits of `bits` at positions 0..=v: a child's rank in its node's block.
#[inline(always)]
fn rank(bits: u64, v: usize) -> u32 {
    (bits & (u64::MAX >> (63 - v))).count_ones()
}

impl<K: Direct> Poptrie<K> {
    /// The leaf of `key` under direct slot `slot`, whose entry `d` is `FLAT`.
    #[inline(always)]
    fn flat_leaf(&self, key: K, slot: usize, d: u32) -> u16 {
        let v = key.bits(K::DIRECT, STRIDE);
        self.leaves[((d & !FLAT) + rank(self.flat[slot], v) - 1) as usize]
    }
}

/// Lanes walked together by `lookup_bulk`.
const LANES: usize = 32;

impl<K: Direct> Poptrie<K> {
    /// Looks up `keys` into `out` (value, or `u32::MAX` for no route), `LANES` keys at a time:
    /// each step reads one level for every unfinished lane and prefetches the next, so the
    /// lanes' cache misses overlap instead of following one another.
    pub fn lookup_bulk(&self, keys: &[K], out: &mut [u32]) {
        for (ks, os) in keys.chunks(LANES).zip(out.chunks_mut(LANES)) {
            self.lookup_lanes(ks, os);
        }
    }

    #[inline(always)]
    fn lookup_lanes(&self, keys: &[K], out: &mut [u32]) {
        let n = keys.len().min(out.len());
        let mut node = [0u32; LANES];
        let mut off = [K::DIRECT; LANES];
        let mut active: u32 = 0;
        for k in &keys[..n] {
            let slot = k.bits(0, K::DIRECT);
            prefetch(&self.direct[slot]);
            prefetch(&self.flat[slot]);
        }
        for i in 0..n {
            let slot = keys[i].bits(0, K::DIRECT);
            let d = self.direct[slot];
            // Leaves hold value + 1: 0 ("no route") becomes u32::MAX.
            if d & LEAF != 0 {
                out[i] = u32::from(d as u16).wrapping_sub(1);
            } else if d & FLAT != 0 {
                out[i] = u32::from(self.flat_leaf(keys[i], slot, d)).wrapping_sub(1);
            } else {
                node[i] = d;
                active |= 1 << i;
                prefetch(&self.nodes[d as usize]);
            }
        }
        while active != 0 {
            let mut lanes = active;
            while lanes != 0 {
                let i = lanes.trailing_zeros() as usize;
                lanes &= lanes - 1;
                let nd = &self.nodes[node[i] as usize];
                let v = keys[i].bits(off[i], STRIDE);
                if nd.vector & (1 << v) != 0 {
                    node[i] = nd.base1 + rank(nd.vector, v) - 1;
                    off[i] += STRIDE;
                    prefetch(&self.nodes[node[i] as usize]);
                } else {
                    let leaf = self.leaves[(nd.base0 + rank(nd.leafvec, v) - 1) as usize];
                    out[i] = u32::from(leaf).wrapping_sub(1);
                    active &= !(1 << i);
                }
            }
        }
    }
}

impl<K: Direct> Fib<K> for Poptrie<K> {
    #[inline]
    fn lookup(&self, key: K) -> Option<u32> {
        let slot = key.bits(0, K::DIRECT);
        let d = self.direct[slot];
        if d & LEAF != 0 {
            return u32::from(d as u16).checked_sub(1);
        }
        if d & FLAT != 0 {
            return u32::from(self.flat_leaf(key, slot, d)).checked_sub(1);
        }
        let mut node = &self.nodes[d as usize];
        let mut off = K::DIRECT;
        loop {
            let v = key.bits(off, STRIDE);
            if node.vector & (1 << v) != 0 {
                node = &self.nodes[(node.base1 + rank(node.vector, v) - 1) as usize];
                off += STRIDE;
            } else {
                let leaf = self.leaves[(node.base0 + rank(node.leafvec, v) - 1) as usize];
                return u32::from(leaf).checked_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::tables::fib::tests::{naive, v4_routes, xorshift};

    #[test]
    fn basic_v4() {
        let t = Poptrie::<u32>::build([
            (0x0a000000, 8, 1),  // 10/8
            (0x0a010000, 16, 2), // 10.1/16
            (0x0a010200, 24, 3), // 10.1.2/24
            (0x0a010203, 32, 4), // 10.1.2.3/32
            (0xc0000200, 25, 5), // 192.0.2.0/25
            (0xc0000000, 20, 6), // 192.0.0.0/20
        ]);
        assert_eq!(t.lookup(0x0a090909), Some(1));
        assert_eq!(t.lookup(0x0a010909), Some(2));
        assert_eq!(t.lookup(0x0a010204), Some(3));
        assert_eq!(t.lookup(0x0a010203), Some(4));
        assert_eq!(t.lookup(0xc000027f), Some(5));
        assert_eq!(t.lookup(0xc0000280), Some(6));
        assert_eq!(t.lookup(0xc0001000), None);
        assert_eq!(t.lookup(0x0b000000), None);
        let d = Poptrie::<u32>::build([(0, 0, 9)]);
        assert_eq!(d.lookup(0xffffffff), Some(9));
        assert_eq!(Poptrie::<u32>::default().lookup(1), None);
    }

    #[test]
    fn v6_host_routes_and_default() {
        let a: u128 = 0x2001_0db8_0000_0000_0000_0000_0000_0001;
        let t = Poptrie::<u128>::build([(0, 0, 1), (a, 128, 2), (a, 64, 3), (a, 127, 4)]);
        assert_eq!(t.lookup(a), Some(2));
        assert_eq!(t.lookup(a ^ 1), Some(4));
        assert_eq!(t.lookup(a ^ 2), Some(3));
        assert_eq!(t.lookup(a ^ (1 << 64)), Some(1));
    }

    #[test]
    fn bulk_lookup_agrees_with_single_lookups() {
        let mut next = xorshift(12345);
        let routes: Vec<(u32, u8, u32)> = (0..5000)
            .map(|i| {
                (
                    (next() >> 32) as u32,
                    [8u8, 16, 19, 22, 24, 28, 32][i % 7],
                    (i % 100) as u32,
                )
            })
            .collect();
        let t = Poptrie::<u32>::build(routes);
        let keys: Vec<u32> = (0..1000).map(|_| (next() >> 32) as u32).collect();
        let mut out = vec![0u32; keys.len()];
        t.lookup_bulk(&keys, &mut out);
        for (k, o) in keys.iter().zip(&out) {
            assert_eq!(t.lookup(*k).unwrap_or(u32::MAX), *o, "key {k:#x}");
        }
    }

    proptest! {
        #[test]
        fn v4_matches_naive(routes in v4_routes(), keys in prop::collection::vec(any::<u32>(), 32)) {
            let t = Poptrie::<u32>::build(routes.clone());
            let mut m = std::collections::BTreeMap::new();
            for &(p, len, v) in &routes {
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) };
                m.insert((p & mask, len), v);
            }
            let dedup: Vec<(u32, u8, u32)> = m.into_iter().map(|((p, l), v)| (p, l, v)).collect();
            for k in routes.iter().flat_map(|r| [r.0, r.0 ^ 1, r.0 | 0xff]).chain(keys) {
                prop_assert_eq!(t.lookup(k), naive(&dedup, k), "key {:#x}", k);
            }
        }

        #[test]
        fn v6_matches_the_multibit_trie(routes in prop::collection::vec((any::<u128>().prop_map(|x| x & 0xffff_0000_0000_0000_ffff_0000_0000_ffff | 0x2001 << 112), 0u8..=128, 0u32..1000), 0..32),
                                        keys in prop::collection::vec(any::<u128>(), 16)) {
            let a = Poptrie::<u128>::build(routes.clone());
            let b = super::super::fib::Lpm::<u128>::build(routes.clone());
            for k in routes.iter().map(|r| r.0).chain(keys) {
                prop_assert_eq!(a.lookup(k), b.lookup(k));
            }
        }
    }
}
