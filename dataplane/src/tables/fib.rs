//! Longest-prefix match: an immutable multibit trie with 8-bit strides and controlled prefix
//! expansion. A lookup reads at most 4 nodes for IPv4 and 16 for IPv6, one cache line per level,
//! with no branches on prefix lengths. Tables are built whole from a route list (control rebuilds
//! a VRF's table when it changes; unchanged VRFs are shared between snapshots).
//!
//! Each node is 256 slots of `u32`: `0` = no route, `CHILD | n` = descend to node `n`,
//! otherwise `v + 1` = value index `v`.

/// A key the trie can walk one byte at a time.
pub trait LpmKey: Copy {
    const BITS: u8;
    fn byte(self, i: usize) -> u8;
}

impl LpmKey for u32 {
    const BITS: u8 = 32;
    #[inline(always)]
    fn byte(self, i: usize) -> u8 {
        (self >> (24 - 8 * i)) as u8
    }
}

impl LpmKey for u128 {
    const BITS: u8 = 128;
    #[inline(always)]
    fn byte(self, i: usize) -> u8 {
        (self >> (120 - 8 * i)) as u8
    }
}

/// The lookup interface the pipeline uses (a later issue benchmarks this against rte_lpm).
pub trait Fib<K> {
    fn lookup(&self, key: K) -> Option<u32>;
}

const CHILD: u32 = 1 << 31;
type Node = [u32; 256];

/// Nodes are stored inline, one after another: a level of the walk is one load (a boxed node
/// was two dependent loads, the box pointer then the slot - 16 for an IPv6 /64).
#[derive(Clone)]
pub struct Lpm<K: LpmKey> {
    nodes: Vec<Node>,
    routes: usize,
    _k: std::marker::PhantomData<K>,
}

impl<K: LpmKey> Default for Lpm<K> {
    fn default() -> Self {
        Lpm {
            nodes: vec![[0; 256]],
            routes: 0,
            _k: std::marker::PhantomData,
        }
    }
}

impl<K: LpmKey> Lpm<K> {
    /// Builds a table. `routes` may come in any order; for the same prefix the last wins.
    /// Values must be below 2^31 - 1.
    pub fn build(routes: impl IntoIterator<Item = (K, u8, u32)>) -> Self {
        let mut v: Vec<(K, u8, u32)> = routes.into_iter().collect();
        // Shorter prefixes first, so longer ones overwrite their expansion (stable: last wins).
        v.sort_by_key(|r| r.1);
        let mut t = Lpm {
            routes: v.len(),
            ..Lpm::default()
        };
        for (k, len, val) in v {
            t.insert(k, len.min(K::BITS), val);
        }
        t
    }

    fn insert(&mut self, key: K, len: u8, val: u32) {
        assert!(val < CHILD - 1, "LPM value out of range");
        let mut node = 0usize;
        let mut level = 0usize;
        // Descend through full bytes of the prefix, creating children as needed.
        while usize::from(len) > 8 * (level + 1) {
            let b = usize::from(key.byte(level));
            let s = self.nodes[node][b];
            node = if s & CHILD != 0 {
                (s & !CHILD) as usize
            } else {
                // The slot's value (if any) is inherited by every slot of the new child.
                self.nodes.push([s; 256]);
                let n = self.nodes.len() - 1;
                self.nodes[node][b] = CHILD | n as u32;
                n
            };
            level += 1;
        }
        // The prefix covers 2^(8 - rem) consecutive slots at this level.
        let rem = u32::from(len) - 8 * level as u32;
        let first = if rem == 0 {
            0
        } else {
            usize::from(key.byte(level)) & !((1usize << (8 - rem)) - 1)
        };
        let count = 1usize << (8 - rem);
        for s in first..first + count {
            // Insertion by ascending length means no child exists yet under a covered slot:
            // children are created only by longer prefixes, which come later.
            self.nodes[node][s] = val + 1;
        }
    }

    pub fn len(&self) -> usize {
        self.routes
    }

    pub fn is_empty(&self) -> bool {
        self.routes == 0
    }

    /// Memory held by the trie nodes, in bytes.
    pub fn memory(&self) -> usize {
        self.nodes.len() * std::mem::size_of::<Node>()
    }
}

impl<K: LpmKey> Fib<K> for Lpm<K> {
    #[inline]
    fn lookup(&self, key: K) -> Option<u32> {
        let mut node = &self.nodes[0];
        let mut level = 0;
        loop {
            let s = node[usize::from(key.byte(level))];
            if s & CHILD == 0 {
                return s.checked_sub(1);
            }
            // Children are only created below the last level (len > 8 * (level + 1)).
            node = &self.nodes[(s & !CHILD) as usize];
            level += 1;
        }
    }
}

/// A VRF's FIB for one family: the trie while it is small (its 1 KiB nodes cost little and a
/// poptrie's direct arrays are 3 MiB even when empty — too much for a thousand small VRFs),
/// a poptrie from `POPTRIE_FROM` routes (7.8 bytes/route and 2.5x the trie's lookups/s at 1M
/// routes: `tandem-bench fib`). Lookups branch once on the variant, which a VRF's packets
/// always take the same way.
#[derive(Clone)]
pub enum Table<K: super::poptrie::Direct> {
    Trie(Lpm<K>),
    Poptrie(super::poptrie::Poptrie<K>),
}

/// Routes from which a table is a poptrie.
pub const POPTRIE_FROM: usize = 1024;

impl<K: super::poptrie::Direct> Default for Table<K> {
    fn default() -> Self {
        Table::Trie(Lpm::default())
    }
}

impl<K: super::poptrie::Direct> Table<K> {
    /// Builds from routes as `Lpm::build` (for the same prefix the last wins). A table whose
    /// values do not fit a poptrie's 16-bit leaves (more distinct next hops than any real VRF)
    /// stays a trie, whatever its size: nothing is left out.
    pub fn build(routes: Vec<(K, u8, u32)>) -> Self {
        let fits = || routes.iter().all(|r| r.2 <= super::poptrie::MAX_VALUE);
        if routes.len() >= POPTRIE_FROM && fits() {
            Table::Poptrie(super::poptrie::Poptrie::build(routes))
        } else {
            Table::Trie(Lpm::build(routes))
        }
    }
}

impl<K: super::poptrie::Direct> Fib<K> for Table<K> {
    #[inline]
    fn lookup(&self, key: K) -> Option<u32> {
        match self {
            Table::Trie(t) => t.lookup(key),
            Table::Poptrie(t) => t.lookup(key),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The longest match by scanning every route: the model both LPMs are checked against.
    pub(crate) fn naive<K: LpmKey + Into<u128>>(routes: &[(K, u8, u32)], key: K) -> Option<u32> {
        let bits = u32::from(K::BITS);
        let k: u128 = key.into();
        let mut best: Option<(u8, u32)> = None;
        for &(p, len, v) in routes {
            let len = len.min(K::BITS);
            let mask = if len == 0 {
                0
            } else {
                (u128::MAX >> (128 - bits)) & !((1u128 << (bits - u32::from(len))) - 1)
            };
            let p: u128 = p.into();
            if k & mask == p & mask && best.is_none_or(|(l, _)| len >= l) {
                best = Some((len, v));
            }
        }
        best.map(|b| b.1)
    }

    #[test]
    fn basic_v4() {
        let t = Lpm::<u32>::build([
            (0x0a000000, 8, 1),  // 10/8
            (0x0a010000, 16, 2), // 10.1/16
            (0x0a010200, 24, 3), // 10.1.2/24
            (0x0a010203, 32, 4), // 10.1.2.3/32
            (0xc0000200, 25, 5), // 192.0.2.0/25
        ]);
        assert_eq!(t.lookup(0x0a090909), Some(1));
        assert_eq!(t.lookup(0x0a010909), Some(2));
        assert_eq!(t.lookup(0x0a010204), Some(3));
        assert_eq!(t.lookup(0x0a010203), Some(4));
        assert_eq!(t.lookup(0xc000027f), Some(5));
        assert_eq!(t.lookup(0xc0000280), None);
        assert_eq!(t.lookup(0x0b000000), None);
        let d = Lpm::<u32>::build([(0, 0, 9)]);
        assert_eq!(d.lookup(0xffffffff), Some(9));
    }

    /// A reproducible xorshift64 sequence for table and key generation in tests.
    pub(crate) fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    /// IPv4 routes under few distinct high bytes, so that prefixes nest and overlap often.
    pub(crate) fn v4_routes() -> impl Strategy<Value = Vec<(u32, u8, u32)>> {
        // Few distinct high bytes so that prefixes nest and overlap often.
        prop::collection::vec(
            (
                (0u32..4).prop_map(|h| h << 30),
                any::<u32>(),
                0u8..=32,
                0u32..1000,
            )
                .prop_map(|(h, l, len, v)| (h | (l >> 2), len, v)),
            0..64,
        )
    }

    #[test]
    fn a_large_table_is_a_poptrie_and_answers_like_the_trie() {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        let routes: Vec<(u32, u8, u32)> = (0..3000)
            .map(|i| {
                let r = next();
                (
                    (r >> 32) as u32,
                    [16u8, 20, 24, 24, 24, 28, 32][i % 7],
                    (r % 500) as u32,
                )
            })
            .collect();
        let small = Table::build(routes[..POPTRIE_FROM - 1].to_vec());
        assert!(matches!(small, Table::Trie(_)));
        let big = Table::build(routes.clone());
        assert!(matches!(big, Table::Poptrie(_)));
        let trie = Lpm::build(routes.clone());
        for k in routes
            .iter()
            .map(|r| r.0 | 1)
            .chain((0..4000).map(|_| next() as u32))
        {
            assert_eq!(big.lookup(k), trie.lookup(k), "key {k:#x}");
        }
        // A value past the poptrie's 16 bits keeps the table a trie, every route in it.
        let mut wide = routes.clone();
        wide[7].2 = super::super::poptrie::MAX_VALUE + 1;
        let t = Table::build(wide.clone());
        assert!(matches!(t, Table::Trie(_)));
        let k = wide[7].0;
        assert_eq!(t.lookup(k), Lpm::build(wide).lookup(k));
    }

    proptest! {
        #[test]
        fn v4_matches_naive(routes in v4_routes(), keys in prop::collection::vec(any::<u32>(), 32)) {
            // Duplicate prefixes: the naive model must agree on "last wins".
            let t = Lpm::<u32>::build(routes.clone());
            let mut extra: Vec<u32> = routes.iter().map(|r| r.0).collect();
            extra.extend(keys);
            for k in extra {
                let dedup: Vec<_> = {
                    let mut m = std::collections::BTreeMap::new();
                    for &(p, len, v) in &routes {
                        let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) };
                        m.insert((p & mask, len), v);
                    }
                    m.into_iter().map(|((p, l), v)| (p, l, v)).collect()
                };
                prop_assert_eq!(t.lookup(k), naive(&dedup, k), "key {:#x}", k);
            }
        }

        #[test]
        fn v6_matches_naive(routes in prop::collection::vec((any::<u128>().prop_map(|x| x & 0xffff_0000_0000_0000_ffff_0000_0000_ffff | 0x2001 << 112), 0u8..=128, 0u32..1000), 0..32),
                            keys in prop::collection::vec(any::<u128>(), 16)) {
            let mut m = std::collections::BTreeMap::new();
            for &(p, len, v) in &routes {
                let mask = if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len)) };
                m.insert((p & mask, len), v);
            }
            let dedup: Vec<(u128, u8, u32)> = m.into_iter().map(|((p, l), v)| (p, l, v)).collect();
            let t = Lpm::<u128>::build(dedup.clone());
            for k in routes.iter().map(|r| r.0).chain(keys) {
                prop_assert_eq!(t.lookup(k), naive(&dedup, k));
            }
        }
    }
}
