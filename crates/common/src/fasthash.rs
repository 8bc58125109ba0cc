//! A fast, non-cryptographic hasher for maps keyed by tusk's own small
//! integers (OIDs, lock tags, buffer numbers) that are consulted per row.
//!
//! Why: std's default SipHash resists hash-flooding by clients, which costs
//! ~20 ns per lookup; a bulk INSERT consulted such maps several times per
//! row (the local lock table, pending statistics, the index-list cache) and
//! spent ~7 % of its CPU hashing. Keys of these maps never come from a
//! client, so flooding is not a concern. The mix is FxHash's (rustc's):
//! rotate, xor, multiply by a constant per word.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// The hasher state; see the module comment for where it may be used.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

const K: u64 = 0xf135_7aea_2e62_a9c5;

impl FastHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(26) ^ w).wrapping_mul(K);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap()));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // hashbrown takes its control bits from the top: fold the low
        // bits, which the multiply mixed least, into them.
        self.0.rotate_left(20)
    }
}

/// `HashMap` with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
/// `HashSet` with [`FastHasher`].
pub type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_work_and_spread_small_keys() {
        let mut m: FastMap<u32, u32> = FastMap::default();
        for i in 0..10_000u32 {
            m.insert(i, i * 2);
        }
        assert!((0..10_000u32).all(|i| m[&i] == i * 2));
        // Consecutive keys land in distinct top-7-bit groups often enough
        // for hashbrown's probing: at least 100 of the 128 possible.
        let tops: HashSet<u64> = (0..1000u32)
            .map(|i| {
                let mut h = FastHasher::default();
                h.write_u32(i);
                h.finish() >> 57
            })
            .collect();
        assert!(tops.len() >= 100, "{} groups", tops.len());
        // Byte strings of different lengths differ.
        let (mut a, mut b) = (FastHasher::default(), FastHasher::default());
        a.write(&[0u8; 3]);
        b.write(&[0u8; 4]);
        assert_ne!(a.finish(), b.finish());
    }
}
