//! Cutting ordered requests into shards (one shard = one batch job's input file) under the
//! request-count and byte limits, without splitting a shared-prefix family unless it alone exceeds
//! a limit.

use std::ops::Range;

/// Limits of one shard.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ShardLimits {
    /// Requests per shard (Vertex: 200,000 per job).
    pub max_requests: u64,
    /// Bytes per shard (Vertex: 1 GB per input file).
    pub max_bytes: u64,
}

/// Cuts rows of `sizes[i]` bytes into consecutive shards. `lcp[i]` is how many prompt blocks row
/// `i` shares with row `i - 1` (ignored for `i = 0`). When a shard is full, it ends at the latest
/// row boundary with the smallest shared prefix (a family boundary when there is one).
pub fn cut(sizes: &[u64], lcp: &[u32], limits: ShardLimits) -> Vec<Range<usize>> {
    cut_by(sizes.len(), |i| sizes[i], |i| lcp[i], limits)
}

/// [`cut`] of `n` rows given by `size_at(i)` and `lcp_at(i)` (`i ≥ 1`), which is asked only for
/// the rows a full shard looks back over.
pub fn cut_by(
    n: usize,
    size_at: impl Fn(usize) -> u64,
    lcp_at: impl Fn(usize) -> u32,
    limits: ShardLimits,
) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let (mut count, mut bytes) = (0u64, 0u64);
    let mut i = 0;
    while i < n {
        let size = size_at(i);
        let fits = count < limits.max_requests && bytes + size <= limits.max_bytes;
        if fits || count == 0 {
            count += 1;
            bytes += size;
            i += 1;
            continue;
        }
        // Full before row i: choose the cut j in (start, i] with the smallest lcp, latest first
        // (none is smaller than 0).
        let mut best = i;
        let mut best_lcp = lcp_at(i);
        for j in (start + 1..i).rev() {
            if best_lcp == 0 {
                break;
            }
            let l = lcp_at(j);
            if l < best_lcp {
                best = j;
                best_lcp = l;
            }
        }
        out.push(start..best);
        start = best;
        i = best;
        count = 0;
        bytes = 0;
    }
    if start < n {
        out.push(start..n);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respects_limits_and_prefers_family_boundaries() {
        let limits = ShardLimits {
            max_requests: 4,
            max_bytes: 1000,
        };
        // Families: [0,1,2] [3,4] [5,6,7,8,9]
        let sizes = [10; 10];
        let lcp = [0, 2, 2, 0, 1, 0, 3, 3, 3, 3];
        let shards = cut(&sizes, &lcp, limits);
        assert_eq!(shards, vec![0..3, 3..5, 5..9, 9..10]);
        for s in &shards {
            assert!(s.len() as u64 <= limits.max_requests);
        }
        // Bytes limit; one oversized row still gets its own shard.
        let shards = cut(&[600, 600, 2000, 10], &[0, 0, 0, 0], limits);
        assert_eq!(shards, vec![0..1, 1..2, 2..3, 3..4]);
        assert!(cut(&[], &[], limits).is_empty());
    }
}
