//! Deduplication: requests equal after canonicalisation are one unique request; the first
//! occurrence in input order represents them all. Deterministic for any thread count.

use rayon::prelude::*;

/// Groups lines by canonical hash. `hashes[i]` is `Some(hash)` for a line that is sent and `None`
/// otherwise. Returns, per line, the unique id it maps to (`u32::MAX` for lines not sent), and
/// per unique id (ordered by first occurrence) the index of its representative line.
pub fn dedup(hashes: &[Option<u128>], keep_duplicates: bool) -> (Vec<u32>, Vec<usize>) {
    let mut pairs: Vec<(u128, usize)> = hashes
        .par_iter()
        .enumerate()
        .filter_map(|(i, h)| h.map(|h| (h, i)))
        .collect();
    if keep_duplicates {
        // Every line is its own request; keep input order.
        let mut of_line = vec![u32::MAX; hashes.len()];
        let reps: Vec<usize> = pairs.iter().map(|p| p.1).collect();
        for (u, &i) in reps.iter().enumerate() {
            of_line[i] = u as u32;
        }
        return (of_line, reps);
    }
    pairs.par_sort_unstable();
    // Representatives: the first line of each hash group (pairs are sorted by hash, then line).
    let mut reps: Vec<usize> = Vec::new();
    let mut group_rep: Vec<usize> = Vec::with_capacity(pairs.len());
    for (k, &(h, i)) in pairs.iter().enumerate() {
        if k == 0 || pairs[k - 1].0 != h {
            reps.push(i);
        }
        group_rep.push(*reps.last().expect("invariant: pushed above"));
    }
    reps.par_sort_unstable();
    let mut of_line = vec![u32::MAX; hashes.len()];
    for (u, &i) in reps.iter().enumerate() {
        of_line[i] = u as u32;
    }
    for (k, &(_, i)) in pairs.iter().enumerate() {
        of_line[i] = of_line[group_rep[k]];
    }
    (of_line, reps)
}

#[cfg(test)]
mod tests {
    use super::dedup;

    #[test]
    fn first_occurrence_represents_and_ids_follow_input_order() {
        let h = [Some(5), None, Some(3), Some(5), Some(3), Some(9)];
        let (of_line, reps) = dedup(&h, false);
        assert_eq!(reps, vec![0, 2, 5]);
        assert_eq!(of_line, vec![0, u32::MAX, 1, 0, 1, 2]);
        let (of_line, reps) = dedup(&h, true);
        assert_eq!(reps, vec![0, 2, 3, 4, 5]);
        assert_eq!(of_line, vec![0, u32::MAX, 1, 2, 3, 4]);
    }
}
