//! The Internet checksum (RFC 1071) and the RFC 1624 incremental update.

/// One's-complement sum of `data` (as big-endian 16-bit words, an odd last byte padded with
/// zero) added to `acc`; fold it before use. Eight bytes per step with end-around carry in
/// native order, swapped once at the end (RFC 1071 §2: the sum is byte-order independent):
/// a 20-byte IPv4 header is three additions, not ten.
pub fn sum(data: &[u8], acc: u32) -> u32 {
    let mut s: u64 = 0;
    let mut add = |v: u64| {
        let (r, carry) = s.overflowing_add(v);
        s = r + u64::from(carry);
    };
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        add(u64::from_ne_bytes(w));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        add(u64::from_ne_bytes(w));
    }
    let mut x = (s & 0xffff_ffff) + (s >> 32);
    x = (x & 0xffff) + (x >> 16);
    x = (x & 0xffff) + (x >> 16);
    x = (x & 0xffff) + (x >> 16);
    acc + u32::from(u16::from_be(x as u16))
}

pub fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The checksum to write in a header whose checksum field is zero.
pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum(data, 0))
}

/// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for one 16-bit word changed from `old` to `new`.
pub fn update(hc: u16, old: u16, new: u16) -> u16 {
    !fold(u32::from(!hc) + u32::from(!old) + u32::from(new))
}

/// IPv6 pseudo-header sum (RFC 8200 §8.1) for an upper-layer packet of `len` bytes.
pub fn pseudo6(src: &[u8; 16], dst: &[u8; 16], next: u8, len: u32) -> u32 {
    let acc = sum(src, 0);
    let acc = sum(dst, acc);
    acc + (len >> 16) + (len & 0xffff) + u32::from(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the sum of these words is ddf2 (complement 220d).
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&d, 0)), 0xddf2);
        assert_eq!(checksum(&d), 0x220d);
    }

    /// The word-at-a-time definition `sum` must agree with.
    fn sum_words(data: &[u8], mut acc: u32) -> u32 {
        let mut chunks = data.chunks_exact(2);
        for c in &mut chunks {
            acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [b] = chunks.remainder() {
            acc += u32::from(*b) << 8;
        }
        acc
    }

    proptest::proptest! {
        #[test]
        fn wide_sum_equals_word_sum(d in proptest::collection::vec(proptest::num::u8::ANY, 0..80), acc in 0u32..0x0010_0000) {
            proptest::prop_assert_eq!(fold(sum(&d, acc)), fold(sum_words(&d, acc)));
        }

        #[test]
        fn incremental_equals_full(mut d in proptest::collection::vec(proptest::num::u8::ANY, 20..21), w in 0usize..9, v: u16) {
            d[10] = 0; d[11] = 0;
            let c = checksum(&d);
            let at = if w >= 5 { w * 2 + 2 } else { w * 2 };
            let old = u16::from_be_bytes([d[at], d[at + 1]]);
            d[at..at + 2].copy_from_slice(&v.to_be_bytes());
            let full = checksum(&d);
            let inc = update(c, old, v);
            // 0x0000 and 0xffff are the same value in one's complement.
            proptest::prop_assert!(inc == full || (inc == 0xffff && full == 0) || (inc == 0 && full == 0xffff));
        }
    }
}
