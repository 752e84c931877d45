//! Planning what is sent: dedup, prefix order for the implicit cache, token counts, the cache
//! simulation, and sharding.

pub mod cache;
pub mod dedup;
pub mod order;
pub mod prehashed;
pub mod records;
pub mod shard;
pub mod tokens;

/// Splits `slice` into the mutable pieces at `ranges`, which must be increasing and disjoint (gaps
/// between them are skipped), so that workers can fill them in parallel.
///
/// # Panics
/// If a range starts before the previous one ends or reaches past the end of `slice`.
pub(crate) fn pieces_mut<T>(
    slice: &mut [T],
    ranges: impl IntoIterator<Item = std::ops::Range<usize>>,
) -> Vec<&mut [T]> {
    let mut out = Vec::new();
    let mut rest = slice;
    let mut done = 0;
    for r in ranges {
        let (_, tail) = std::mem::take(&mut rest).split_at_mut(r.start - done);
        let (piece, tail) = tail.split_at_mut(r.len());
        out.push(piece);
        rest = tail;
        done = r.end;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn pieces_mut_cuts_the_ranges_and_skips_the_gaps() {
        let mut v: Vec<u32> = (0..10).collect();
        let pieces = super::pieces_mut(&mut v, [1..3, 3..4, 6..10]);
        let seen: Vec<Vec<u32>> = pieces.iter().map(|p| p.to_vec()).collect();
        assert_eq!(seen, vec![vec![1, 2], vec![3], vec![6, 7, 8, 9]]);
    }
}
