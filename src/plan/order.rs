//! Ordering unique requests for the implicit cache: trie order (requests sharing a prompt prefix
//! next to each other, nested), then priming (the first members of each cacheable family moved
//! ahead of it, so the prefix is cached before the family's bulk starts on Vertex's many parallel
//! workers). See `docs/prepare.md` and `docs/cache-model.md`.

use std::ops::Range;

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

/// Sorts `ids` into trie order: by chain-hash sequence `key(id)` (a missing block sorts first),
/// ties by id.
pub fn trie_order<'a>(ids: &mut [u32], key: impl Fn(u32) -> &'a [u64] + Sync) {
    trie_order_lcp(ids, key);
}

/// One id's sort key at a depth: (block `depth`, block `depth + 1`, flags | id), a missing block
/// standing as hash 0.
type Flat = (u64, u64, u64);
/// Flag: the chain goes deeper than the two blocks of the key.
const MORE: u64 = 1 << 32;
/// Flag: one of the two blocks is a real hash 0 (which the key cannot tell from a missing block).
const ZERO: u64 = 1 << 33;

fn flat_key(b: &[u64], depth: usize, u: u32) -> Flat {
    let (h0, h1) = (b.get(depth).copied(), b.get(depth + 1).copied());
    let zero = if h0 == Some(0) || h1 == Some(0) {
        ZERO
    } else {
        0
    };
    let more = if b.len() > depth + 2 { MORE } else { 0 };
    (h0.unwrap_or(0), h1.unwrap_or(0), zero | more | u64::from(u))
}

/// [`trie_order`], also returning the LCP array of the result: `lcp[i]` is the number of leading
/// chain hashes ids `i - 1` and `i` share (`lcp[0] = 0`).
///
/// Level by level, two blocks at a time (multikey): the ids are sorted by a flat 24-byte integer
/// key of their first two chain hashes (`Flat`), which decides most comparisons and most of the
/// LCP array; runs that agree on both and go deeper are sorted the same way by their next two
/// blocks, and so on. Each level reads an id's blocks once. When a real hash 0 appears among the
/// two blocks of a level, that group is sorted by full sequence comparison instead.
pub fn trie_order_lcp<'a>(ids: &mut [u32], key: impl Fn(u32) -> &'a [u64] + Sync) -> Vec<u32> {
    let mut lcp = vec![0u32; ids.len()];
    let mut flat: Vec<Flat> = ids.par_iter().map(|&u| flat_key(key(u), 0, u)).collect();
    flat.par_sort_unstable();
    if flat.iter().any(|f| f.2 & ZERO != 0) {
        full_sort_lcp(ids, &mut lcp, &key);
        return lcp;
    }
    let runs = place_level(ids, &mut lcp, &flat, 0);
    drop(flat);
    // The deeper runs, in parallel: disjoint pieces of `ids` and `lcp`.
    let id_pieces = super::pieces_mut(ids, runs.iter().cloned());
    let lcp_pieces = super::pieces_mut(&mut lcp, runs.iter().cloned());
    let pieces: Vec<(&mut [u32], &mut [u32])> = id_pieces.into_iter().zip(lcp_pieces).collect();
    pieces
        .into_par_iter()
        .for_each_init(Vec::new, |flat, (ids, lcp)| {
            sort_from(ids, lcp, 2, &key, flat)
        });
    lcp
}

/// Writes the ids of sorted `flat` (keys at `depth`) into `ids` and the LCP of the adjacent pairs
/// it decides into `lcp[1..]` (the ids share `depth` blocks); returns the runs that agree on both
/// blocks and go deeper, whose inner pairs are left for the next level.
fn place_level(ids: &mut [u32], lcp: &mut [u32], flat: &[Flat], depth: usize) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut run_start = 0;
    for (i, f) in flat.iter().enumerate() {
        ids[i] = f.2 as u32;
        if i == 0 {
            continue;
        }
        let p = &flat[i - 1];
        let same_deeper = p.0 == f.0 && p.1 == f.1 && p.2 & f.2 & MORE != 0;
        if !same_deeper {
            if i - run_start > 1 {
                runs.push(run_start..i);
            }
            run_start = i;
            lcp[i] = (depth
                + if p.0 != f.0 || f.0 == 0 {
                    0
                } else if p.1 != f.1 || f.1 == 0 {
                    1
                } else {
                    2
                }) as u32;
        }
    }
    // A run's pairs all agree on both blocks and go deeper (so every run has MORE set).
    if flat.len() - run_start > 1 {
        runs.push(run_start..flat.len());
    }
    runs
}

/// Sorts `ids`, which all share their first `depth` blocks, and fills `lcp[1..]`.
fn sort_from<'a>(
    ids: &mut [u32],
    lcp: &mut [u32],
    depth: usize,
    key: &impl Fn(u32) -> &'a [u64],
    flat: &mut Vec<Flat>,
) {
    flat.clear();
    flat.extend(ids.iter().map(|&u| flat_key(key(u), depth, u)));
    if flat.iter().any(|f| f.2 & ZERO != 0) {
        full_sort_lcp(ids, lcp, key);
        return;
    }
    flat.sort_unstable();
    let runs = place_level(ids, lcp, flat, depth);
    for r in runs {
        sort_from(&mut ids[r.clone()], &mut lcp[r], depth + 2, key, flat);
    }
}

/// Sorts `ids` by full sequence comparison and fills `lcp[1..]`.
fn full_sort_lcp<'a>(ids: &mut [u32], lcp: &mut [u32], key: &impl Fn(u32) -> &'a [u64]) {
    ids.sort_unstable_by(|&a, &b| key(a).cmp(key(b)).then(a.cmp(&b)));
    for i in 1..ids.len() {
        let (a, b) = (key(ids[i - 1]), key(ids[i]));
        lcp[i] = a.iter().zip(b).take_while(|(x, y)| x == y).count() as u32;
    }
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
    use super::{trie_order, trie_order_lcp};

    fn check_lcp(keys: &[Vec<u64>]) {
        let mut ids: Vec<u32> = (0..keys.len() as u32).collect();
        let lcp = trie_order_lcp(&mut ids, |u| keys[u as usize].as_slice());
        let mut expected: Vec<u32> = (0..keys.len() as u32).collect();
        expected.sort_by(|&a, &b| keys[a as usize].cmp(&keys[b as usize]).then(a.cmp(&b)));
        assert_eq!(ids, expected);
        let want: Vec<u32> = (0..ids.len())
            .map(|i| {
                if i == 0 {
                    return 0;
                }
                let (a, b) = (&keys[ids[i - 1] as usize], &keys[ids[i] as usize]);
                a.iter().zip(b).take_while(|(x, y)| x == y).count() as u32
            })
            .collect();
        assert_eq!(lcp, want);
    }

    #[test]
    fn trie_order_lcp_matches_adjacent_shared_blocks() {
        // Deep shared chains, duplicates, prefixes of each other, and (in some) real zero hashes
        // at shallow and deep levels.
        let mut seed = 7u64;
        let mut next = |m: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % m
        };
        for case in 0..60 {
            // Zeros anywhere, only below the first two blocks, or none.
            let (zeros, deep_zeros) = (case % 3 == 0, case % 3 == 1);
            let keys: Vec<Vec<u64>> = (0..200)
                .map(|_| {
                    let len = next(9) as usize;
                    (0..len)
                        .map(|k| {
                            if zeros || (deep_zeros && k >= 2) {
                                next(3)
                            } else {
                                next(2) + 1
                            }
                        })
                        .collect()
                })
                .collect();
            check_lcp(&keys);
        }
        check_lcp(&[]);
        check_lcp(&[vec![1, 2, 3]]);
    }

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
        trie_order(&mut ids, |u| keys[u as usize].as_slice());
        let mut expected: Vec<u32> = (0..keys.len() as u32).collect();
        expected.sort_by(|&a, &b| keys[a as usize].cmp(&keys[b as usize]).then(a.cmp(&b)));
        assert_eq!(ids, expected);
    }

    #[test]
    fn trie_order_with_zero_hashes_matches_full_lexicographic_sort() {
        // A real hash 0 among the first two blocks takes the full comparison.
        for zero in [vec![0], vec![4, 0], vec![0, 0, 1]] {
            let keys: Vec<Vec<u64>> = vec![
                vec![5, 1, 9],
                vec![],
                zero.clone(),
                vec![4],
                vec![4, 0, 3],
                vec![0, 2],
                zero,
            ];
            let mut ids: Vec<u32> = (0..keys.len() as u32).collect();
            trie_order(&mut ids, |u| keys[u as usize].as_slice());
            let mut expected: Vec<u32> = (0..keys.len() as u32).collect();
            expected.sort_by(|&a, &b| keys[a as usize].cmp(&keys[b as usize]).then(a.cmp(&b)));
            assert_eq!(ids, expected);
        }
    }
}
