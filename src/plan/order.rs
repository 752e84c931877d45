//! Ordering unique requests for the implicit cache: trie order (requests sharing a prompt prefix
//! next to each other, nested), then priming (the first members of each cacheable family moved
//! ahead of it, so the prefix is cached before the family's bulk starts on Vertex's many parallel
//! workers). See `docs/prepare.md` and `docs/cache-model.md`.

use rayon::prelude::*;

use super::cache::{families, Family, SimRow};

/// The order requests are sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
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

/// Sorts `ids` into trie order: by chain-hash sequence (a missing block sorts first), ties by
/// `tie` (the first input line).
///
/// Most comparisons are decided by the first two chain hashes, so the ids are first sorted by a
/// flat integer key `(block 0, block 1, has more blocks, tie)`; only runs that agree on the first
/// two blocks and go deeper are then re-sorted with the full sequence comparison.
pub fn trie_order<'a>(ids: &mut [u32], key: impl Fn(u32) -> (&'a [u64], u64) + Sync) {
    // (present, hash) per block: "no block" sorts before every real hash. 32 bytes a key.
    let head = |b: &[u64], i: usize| b.get(i).map_or((false, 0), |&h| (true, h));
    let mut flat: Vec<(bool, u64, bool, u64, bool, u64, u32)> = ids
        .par_iter()
        .map(|&u| {
            let (b, t) = key(u);
            let ((p0, h0), (p1, h1)) = (head(b, 0), head(b, 1));
            (p0, h0, p1, h1, b.len() > 2, t, u)
        })
        .collect();
    flat.par_sort_unstable();
    let first_two = |f: &(bool, u64, bool, u64, bool, u64, u32)| (f.0, f.1, f.2, f.3, f.4);
    // Runs equal in the first two blocks that have deeper blocks: full comparison.
    let mut runs = Vec::new();
    let mut i = 0;
    while i < flat.len() {
        let mut j = i + 1;
        while j < flat.len() && first_two(&flat[j]) == first_two(&flat[i]) {
            j += 1;
        }
        if flat[i].4 && j - i > 1 {
            runs.push(i..j);
        }
        i = j;
    }
    for (slot, f) in ids.iter_mut().zip(&flat) {
        *slot = f.6;
    }
    let mut rest: &mut [u32] = ids;
    let mut done = 0;
    let mut pieces: Vec<&mut [u32]> = Vec::with_capacity(runs.len());
    for r in &runs {
        let (_, tail) = rest.split_at_mut(r.start - done);
        let (piece, tail) = tail.split_at_mut(r.len());
        pieces.push(piece);
        rest = tail;
        done = r.end;
    }
    pieces.into_par_iter().for_each(|piece| {
        piece.sort_unstable_by(|&a, &b| {
            let (ka, ta) = key(a);
            let (kb, tb) = key(b);
            ka.cmp(kb).then(ta.cmp(&tb))
        })
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
    prime_families(rows.len(), &families(rows, min_cache_tokens), gaps)
}

/// [`prime`] of `n` rows in trie order whose cacheable families (`families(rows,
/// min_cache_tokens)`) are `fams`.
pub fn prime_families(n: usize, fams: &[Family], gaps: &[usize]) -> Vec<usize> {
    if fams.is_empty() {
        return (0..n).collect();
    }
    // target[i]: position the row should stand before; rows not moved keep their own index.
    let mut target: Vec<(usize, u8)> = (0..n).map(|i| (i, 1)).collect();
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
    // The order sorts rows by (target, moved last = 1, index). Rows not moved have target = own
    // index and are already in that order: merge the few moved rows, sorted, into them.
    let mut moved: Vec<(usize, usize)> = target
        .iter()
        .enumerate()
        .filter(|(_, t)| t.1 == 0)
        .map(|(i, t)| (t.0, i))
        .collect();
    moved.sort_unstable();
    let mut order = Vec::with_capacity(n);
    let mut m = moved.iter().peekable();
    for (i, t) in target.iter().enumerate() {
        if t.1 == 0 {
            continue;
        }
        while let Some(&&(want, row)) = m.peek() {
            if want > i {
                break;
            }
            order.push(row);
            m.next();
        }
        order.push(i);
    }
    order.extend(m.map(|&(_, row)| row));
    order
}

#[cfg(test)]
mod tests {
    use super::trie_order;

    #[test]
    fn trie_order_matches_full_lexicographic_sort() {
        let keys: Vec<Vec<u64>> = vec![
            vec![5, 1, 9],
            vec![5, 1, 2],
            vec![5],
            vec![],
            vec![5, 1, 2, 7],
            vec![3, 8],
            vec![5, 1, 2],
            vec![5, 0],
            vec![u64::MAX],
        ];
        let mut ids: Vec<u32> = (0..keys.len() as u32).collect();
        trie_order(&mut ids, |u| (keys[u as usize].as_slice(), u as u64));
        let mut expected: Vec<u32> = (0..keys.len() as u32).collect();
        expected.sort_by(|&a, &b| keys[a as usize].cmp(&keys[b as usize]).then(a.cmp(&b)));
        assert_eq!(ids, expected);
    }
}
