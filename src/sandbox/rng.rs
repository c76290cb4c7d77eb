//! A tiny seeded PRNG for the sandbox dataset.
//!
//! The dataset must be identical on every run, on every machine and with every version of the
//! `rand` crate (tests compare the portal pages with `/__sandbox/dataset`, and operators keep
//! notes about "demo's container MSDU5772413"). So the generator is our own splitmix64, whose
//! output is fixed by its definition, never `rand`'s `StdRng`, whose algorithm may change.

/// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for fake data.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// A generator for one purpose (`label`) of one account: streams with different labels do
    /// not shift each other when one of them draws more numbers.
    pub fn for_account(seed: u64, username: &str, label: &str) -> Self {
        SplitMix64(seed ^ fnv1a(username).rotate_left(17) ^ fnv1a(label))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (the modulo bias is irrelevant for fake data). `n` must be > 0.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `n` decimal digits (leading zeros allowed).
    pub fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }

    /// `n` upper-case letters.
    pub fn letters(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'A' + self.below(26) as u8))
            .collect()
    }
}

/// FNV-1a, used to mix strings (usernames, terminal names) into seeds.
pub fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_the_reference_sequence() {
        // First outputs of splitmix64 seeded with 1234567 (from the reference implementation).
        let mut r = SplitMix64::new(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
    }

    #[test]
    fn streams_are_independent_per_account() {
        let a = SplitMix64::for_account(1, "demo", "containers").next_u64();
        let b = SplitMix64::for_account(1, "demo2", "containers").next_u64();
        let c = SplitMix64::for_account(1, "demo", "plates").next_u64();
        assert!(a != b && a != c);
    }
}
