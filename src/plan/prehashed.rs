//! A `Hasher` for map keys that are already good hashes (xxh3 values): it passes them through
//! instead of hashing them again.

use std::hash::{BuildHasherDefault, Hasher};

/// Passes a `u64` key through, and the low 64 bits of a `u128` key; other keys (never used by
/// the maps here) are folded byte by byte.
#[derive(Default, Clone, Copy)]
pub struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

/// `BuildHasher` for maps keyed by hashes.
pub type BuildPrehashed = BuildHasherDefault<Prehashed>;
