//! Deduplication: requests equal after canonicalisation are one unique request; the first
//! occurrence in input order represents them all. Deterministic for any thread count.
//!
//! Lines are partitioned by the top bits of their hash (one scatter pass), each partition finds
//! its representatives with a small hash map that stays in cache, in parallel, and one
//! sequential pass numbers the representatives in input order.

use std::collections::HashMap;

use rayon::prelude::*;

/// Marks a line that is not sent.
pub const NOT_SENT: u32 = u32::MAX;

/// Partitions (a power of two): small enough maps per partition to stay in cache.
const PARTITION_BITS: u32 = 8;

/// Groups lines by canonical hash. `hashes[i]` is line `i`'s hash; `sent(i)` says whether line
/// `i` is sent at all. Returns, per line, the unique id it maps to ([`NOT_SENT`] for lines not
/// sent), and per unique id (numbered by first occurrence) the index of its representative line.
pub fn dedup(
    hashes: &[u128],
    sent: impl Fn(usize) -> bool + Sync,
    keep_duplicates: bool,
) -> (Vec<u32>, Vec<usize>) {
    let n = hashes.len();
    let mut of_line = vec![NOT_SENT; n];
    let mut reps: Vec<usize> = Vec::new();
    if keep_duplicates {
        // Every line is its own request; keep input order.
        for (i, slot) in of_line.iter_mut().enumerate() {
            if sent(i) {
                *slot = reps.len() as u32;
                reps.push(i);
            }
        }
        return (of_line, reps);
    }
    // Scatter the sent lines into partitions by the hash's top bits, in input order.
    let parts = 1usize << PARTITION_BITS;
    let part_of = |h: u128| (h >> (128 - PARTITION_BITS)) as usize;
    let mut counts = vec![0usize; parts + 1];
    for (i, &h) in hashes.iter().enumerate() {
        if sent(i) {
            counts[part_of(h) + 1] += 1;
        }
    }
    for p in 0..parts {
        counts[p + 1] += counts[p];
    }
    let mut fill = counts.clone();
    let mut members = vec![0u32; counts[parts]];
    for (i, &h) in hashes.iter().enumerate() {
        if sent(i) {
            let p = part_of(h);
            members[fill[p]] = i as u32;
            fill[p] += 1;
        }
    }
    // Per partition: each line's representative (the first line with its hash).
    let mut rep_of = vec![0u32; members.len()];
    let ranges = (0..parts).map(|p| counts[p]..counts[p + 1]);
    let slices: Vec<(&[u32], &mut [u32])> = ranges
        .clone()
        .map(|r| &members[r])
        .zip(super::pieces_mut(&mut rep_of, ranges))
        .collect();
    slices.into_par_iter().for_each(|(lines, out)| {
        // The canonical hashes are already uniform: the map uses their low 64 bits as they are.
        let mut first: HashMap<u128, u32, crate::plan::prehashed::BuildPrehashed> =
            HashMap::with_capacity_and_hasher(lines.len(), Default::default());
        for (&i, slot) in lines.iter().zip(out.iter_mut()) {
            *slot = *first.entry(hashes[i as usize]).or_insert(i);
        }
    });
    let mut rep_line = vec![NOT_SENT; n];
    for (&i, &r) in members.iter().zip(&rep_of) {
        rep_line[i as usize] = r;
    }
    // Number representatives by first occurrence; a duplicate's representative comes earlier.
    for i in 0..n {
        let r = rep_line[i];
        if r == NOT_SENT {
            continue;
        }
        if r as usize == i {
            of_line[i] = reps.len() as u32;
            reps.push(i);
        } else {
            of_line[i] = of_line[r as usize];
        }
    }
    (of_line, reps)
}

#[cfg(test)]
mod tests {
    use super::{dedup, NOT_SENT};

    #[test]
    fn first_occurrence_represents_and_ids_follow_input_order() {
        let h = [5, 0, 3, 5, 3, 9];
        let sent = |i: usize| i != 1;
        let (of_line, reps) = dedup(&h, sent, false);
        assert_eq!(reps, vec![0, 2, 5]);
        assert_eq!(of_line, vec![0, NOT_SENT, 1, 0, 1, 2]);
        let (of_line, reps) = dedup(&h, sent, true);
        assert_eq!(reps, vec![0, 2, 3, 4, 5]);
        assert_eq!(of_line, vec![0, NOT_SENT, 1, 2, 3, 4]);
    }

    #[test]
    fn hashes_in_every_partition_group_exactly() {
        // Hashes spread over all partitions (top bits) with collisions in the low bits.
        let h: Vec<u128> = (0..10_000u128)
            .map(|i| ((i % 977) << 120) | ((i % 977) * 31) | (((i % 977) & 1) << 64))
            .collect();
        let (of_line, reps) = dedup(&h, |_| true, false);
        assert_eq!(reps.len(), 977);
        assert_eq!(reps, (0..977).collect::<Vec<_>>());
        for (i, &u) in of_line.iter().enumerate() {
            assert_eq!(u as usize, i % 977);
        }
    }
}
