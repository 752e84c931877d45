//! Ordering unique requests for the implicit cache: trie order (requests sharing a prompt prefix
//! next to each other, nested), then priming (the first members of each cacheable family moved
//! ahead of it, so the prefix is cached before the family's bulk starts on Vertex's many parallel
//! workers). See `docs/prepare.md` and `docs/cache-model.md`.

use rayon::prelude::*;

use super::cache::{families, SimRow};

/// The order requests are sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Input order (first occurrences).
    Input,
    /// Trie order of the prompt keys.
    Prefix,
    /// Trie order, then primed.
    #[default]
    Primed,
}

/// Default priming gaps: member `j` of a family moves `gaps[j]` rows ahead of the family's start.
pub const DEFAULT_PRIME_GAPS: [usize; 4] = [1024, 256, 64, 16];

/// Sorts `ids` into trie order: by chain-hash sequence, ties by `tie` (the first input line).
pub fn trie_order<'a>(ids: &mut [u32], key: impl Fn(u32) -> (&'a [u64], u64) + Sync) {
    ids.par_sort_unstable_by(|&a, &b| {
        let (ka, ta) = key(a);
        let (kb, tb) = key(b);
        ka.cmp(kb).then(ta.cmp(&tb))
    });
}

/// Primes rows already in trie order: returns the new order as indexes into `rows`.
///
/// Member `j` of each family (the deepest one starting at a row) whose shared prefix reaches
/// `min_cache_tokens` is placed just before the row at `max(start - gaps[j], 0)`. Primers aimed
/// at the same row keep their trie order, so a family's primers never overtake each other, and a
/// family at the very start stays as it is. Deterministic: ties fall back to trie order, which is
/// itself tie-broken by first input line.
pub fn prime(rows: &[SimRow<'_>], min_cache_tokens: u64, gaps: &[usize]) -> Vec<usize> {
    let n = rows.len();
    // target[i]: position the row should stand before; rows not moved keep their own index.
    let mut target: Vec<(usize, u8)> = (0..n).map(|i| (i, 1)).collect();
    let fams = families(rows, min_cache_tokens);
    // Families are sorted by start, then depth: for one start keep only the deepest (its
    // primers also prime every shallower prefix starting there).
    let mut k = 0;
    while k < fams.len() {
        let mut deepest = k;
        while deepest + 1 < fams.len() && fams[deepest + 1].start == fams[k].start {
            deepest += 1;
        }
        let f = fams[deepest];
        for (j, &gap) in gaps.iter().enumerate().take(f.len) {
            let row = f.start + j;
            let want = f.start.saturating_sub(gap);
            if want <= target[row].0 {
                target[row] = (want, 0);
            }
        }
        k = deepest + 1;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (target[i].0, target[i].1, i));
    order
}
