//! The implicit-cache model: a deterministic simulation of how many prompt tokens Gemini's implicit
//! cache would serve for one batch job sent in a given row order, the order-independent upper bound,
//! and the shared-prefix families of rows in trie order.
//!
//! This is a **model**: Vertex publishes neither its parallelism nor its cache lifetime. The figures
//! it gives compare row orders with each other; the real hit rate comes from `collect`
//! (`cachedContentTokenCount`). `docs/cache-model.md` states the same rules with worked examples.
//!
//! # Input
//! Each row (one request, in the order the job file lists them; one shard = one job) is described by
//! the prefix of its prompt as a chain of block hashes: `blocks[k]` identifies the first `k + 1`
//! blocks of the prompt, so two prompts share a prefix of `k` blocks iff their first `k` hashes agree.
//! `cum_tokens[k]` is the prompt token count at the end of block `k`. 64-bit collisions are ignored.
//!
//! # The model (exact rules)
//! 1. There are `W` workers (`SimConfig::workers`, at least 1). Time advances in whole **rounds**
//!    0, 1, 2, …. Every row takes exactly **one round**, whatever its length (a deliberate
//!    simplification: duration is not modelled). So in every round all `W` workers are free and take
//!    the next `W` rows in file order: row `i` (0-based) runs in round `⌊i / W⌋`.
//! 2. A row running in round `r` **looks up** the cache as it was at the *start* of round `r`: it sees
//!    only entries inserted by rows that finished in rounds `< r`, never those of rows running
//!    alongside it in round `r`.
//! 3. Its **cached tokens** are `cum_tokens[k]` for the deepest block `k` whose chain hash is in the
//!    cache (and not expired), provided `cum_tokens[k] ≥ min_cache_tokens`; otherwise 0. The cache
//!    serves whole prefixes, and the minimum applies to the cached prefix, not to the prompt.
//! 4. When a row **finishes** (at the end of round `r`) it inserts, or refreshes, an entry for every
//!    one of its block prefixes, stamped with round `r`. A hit also refreshes the entries it used; as
//!    the hitting row inserts its whole chain at the end of the same round, both stamp `r`.
//! 5. **Expiry:** with `ttl_rounds = Some(t)`, an entry last stamped in round `u` can be hit by rows
//!    running in rounds `u + 1 ..= u + t` and is gone from round `u + t + 1` on (so `t = 1` means "only
//!    by the next round"; `t = 0` disables the cache). `None` means entries never expire.
//!
//! Within these rules the cache is prefix-closed (a row that inserts block `k` inserts blocks
//! `0..k` with the same stamp), so a lookup walks the chain from the shortest prefix and stops at the
//! first miss.
//!
//! # The bound
//! [`cache_bound`] is the most any order can get, whatever `W` and TTL: each row at best hits the
//! longest prefix it shares with *any* other row (if that reaches the minimum), except that for every
//! shared prefix one row must be the first to send it, and that row can hit at most the next shorter
//! shared prefix that reaches the minimum (0 if none). Summed over the nested shared prefixes this is
//! exact and order-independent; trie order with `W = 1` and no expiry attains it, and
//! `simulate(..).cached_tokens ≤ cache_bound(..)` for every order and configuration.
//!
//! # Cost
//! Both functions are linear in the number of blocks. First, level by level (block 0 of every row,
//! then block 1 of the rows still shared, …), a hash map counts each distinct block prefix, giving
//! the bound and each row's deepest block shared with another row; a row's unshared tail is looked
//! at once. Every shared block prefix gets a dense id, so the simulation proper is an array from id
//! to the round the entry was last stamped (the "hash map from block hash to round", without
//! hashing); expiry is lazy: a stamp is compared with the current round when looked up, never
//! swept.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// One request as the cache model sees it.
#[derive(Debug, Clone, Copy)]
pub struct SimRow<'a> {
    /// Chain hashes of the prompt's fixed-size blocks: two prompts share a prefix of k blocks iff
    /// their first k hashes agree.
    pub blocks: &'a [u64],
    /// Cumulative prompt tokens at the end of each block (same length as `blocks`); the last is the
    /// number of prompt tokens covered by blocks.
    pub cum_tokens: &'a [u32],
    /// Total prompt tokens of the request (≥ the last `cum_tokens`; blocks may be capped).
    pub prompt_tokens: u64,
}

/// Parameters of the simulation (see the module documentation for the rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimConfig {
    /// W: rows running at once (at least 1; 0 is treated as 1).
    pub workers: usize,
    /// Rounds an entry survives after its last use; `None` = never expires.
    pub ttl_rounds: Option<u64>,
    /// Minimum cached prefix, in tokens, for a hit to count.
    pub min_cache_tokens: u64,
}

/// What [`simulate`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimReport {
    /// Sum of `prompt_tokens` over all rows.
    pub prompt_tokens: u64,
    /// Prompt tokens served from the cache under the model.
    pub cached_tokens: u64,
    /// [`cache_bound`] of the same rows: the most any order could get.
    pub bound_tokens: u64,
    /// Number of rows.
    pub rows: u64,
    /// Rows with at least one cached token.
    pub rows_with_hits: u64,
}

/// A maximal run of consecutive rows (in trie order) that share a prefix of `depth_blocks` blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    /// Index of the first row of the run.
    pub start: usize,
    /// Number of rows in the run (at least 2).
    pub len: usize,
    /// The deepest number of blocks all rows of the run share.
    pub depth_blocks: usize,
    /// Tokens of that shared prefix (`cum_tokens[depth_blocks - 1]` of its rows).
    pub prefix_tokens: u64,
}

/// A hasher for keys that are already hashes (or small test integers): one splitmix64 finaliser.
#[derive(Default, Clone, Copy)]
struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Map<V> = HashMap<u64, V, BuildHasherDefault<MixHasher>>;

#[inline]
fn eff(tokens: u32, min: u64) -> u64 {
    let t = u64::from(tokens);
    if t >= min {
        t
    } else {
        0
    }
}

/// What the rows' block chains share, whatever their order.
struct Shared {
    /// [`cache_bound`].
    bound: u64,
    /// Row `i`'s blocks shared with at least one other row (always a prefix of its chain) have
    /// the dense ids `ids[offsets[i]..offsets[i + 1]]`, one id per distinct shared block prefix.
    /// Empty unless asked for.
    offsets: Vec<usize>,
    ids: Vec<u32>,
    /// Number of distinct shared block prefixes (ids are `0..distinct`).
    distinct: usize,
}

/// Level by level: block `k` of a row can be shared only if block `k - 1` is, so level `k` looks
/// only at rows still sharing at level `k - 1`. Each level's map holds at most the distinct
/// prefixes of that level, a row's unshared tail is looked at once, and runs of equal hashes
/// (adjacent rows of one family) skip the map.
fn analyse(rows: &[SimRow<'_>], min: u64, with_ids: bool) -> Shared {
    let n = rows.len();
    let mut depths = vec![0u32; n];
    // A row whose whole chain stays below the minimum can neither hit nor give a hit that counts
    // (rows sharing a prefix share its token count): leaving it out changes no figure.
    let mut active: Vec<u32> = (0..n as u32)
        .filter(|&i| {
            let row = &rows[i as usize];
            row.cum_tokens.last().is_some_and(|&t| eff(t, min) > 0)
        })
        .collect();
    let mut next_active: Vec<u32> = Vec::with_capacity(active.len());
    let mut local: Map<u32> = Map::default();
    let mut counts: Vec<u32> = Vec::new();
    let mut row_local: Vec<u32> = Vec::new();
    let mut remap: Vec<u32> = Vec::new();
    // Per level, (row, dense id) of the rows sharing that level, in row order.
    let mut levels: Vec<Vec<(u32, u32)>> = Vec::new();
    let mut distinct: u32 = 0;
    // Every distinct shared block prefix has exactly one first row, which can hit at most the
    // parent prefix: subtract, once per shared prefix, what its last block adds to the effective
    // (minimum-aware) prefix size.
    let mut first_losses: u64 = 0;
    let mut level = 0usize;
    while !active.is_empty() {
        local.clear();
        counts.clear();
        row_local.clear();
        let mut last: Option<(u64, u32)> = None;
        for &i in &active {
            let row = &rows[i as usize];
            debug_assert_eq!(row.blocks.len(), row.cum_tokens.len());
            let h = row.blocks[level];
            let id = match last {
                Some((lh, lid)) if lh == h => lid,
                _ => {
                    let fresh = counts.len() as u32;
                    let id = *local.entry(h).or_insert(fresh);
                    if id == fresh {
                        counts.push(0);
                    }
                    last = Some((h, id));
                    id
                }
            };
            let c = &mut counts[id as usize];
            if *c == 1 {
                let prev = if level == 0 {
                    0
                } else {
                    eff(row.cum_tokens[level - 1], min)
                };
                first_losses += eff(row.cum_tokens[level], min).saturating_sub(prev);
            }
            *c = c.saturating_add(1);
            row_local.push(id);
        }
        let mut kept = Vec::new();
        if with_ids {
            remap.clear();
            remap.resize(counts.len(), u32::MAX);
        }
        next_active.clear();
        for (&i, &id) in active.iter().zip(&row_local) {
            if counts[id as usize] < 2 {
                continue;
            }
            depths[i as usize] = level as u32 + 1;
            if with_ids {
                let g = &mut remap[id as usize];
                if *g == u32::MAX {
                    *g = distinct;
                    distinct += 1;
                }
                kept.push((i, *g));
            }
            if rows[i as usize].blocks.len() > level + 1 {
                next_active.push(i);
            }
        }
        levels.push(kept);
        std::mem::swap(&mut active, &mut next_active);
        level += 1;
    }
    let best: u64 = rows
        .iter()
        .zip(&depths)
        .filter(|(_, &d)| d > 0)
        .map(|(row, &d)| eff(row.cum_tokens[d as usize - 1], min))
        .sum();
    let mut offsets = Vec::new();
    let mut ids = Vec::new();
    if with_ids {
        offsets.reserve(n + 1);
        let mut o = 0usize;
        offsets.push(0);
        for &d in &depths {
            o += d as usize;
            offsets.push(o);
        }
        ids = vec![0u32; o];
        for (k, kept) in levels.iter().enumerate() {
            for &(i, g) in kept {
                ids[offsets[i as usize] + k] = g;
            }
        }
    }
    Shared {
        bound: best.saturating_sub(first_losses),
        offsets,
        ids,
        distinct: distinct as usize,
    }
}

/// The most prompt tokens any order of `rows` could have served from the cache (see the module
/// documentation): every row hits the longest prefix it shares with any other row if that reaches
/// `min_cache_tokens`, except that the first row to send each shared prefix can hit at most the
/// next shorter shared prefix that reaches the minimum. Order-independent.
pub fn cache_bound(rows: &[SimRow<'_>], min_cache_tokens: u64) -> u64 {
    analyse(rows, min_cache_tokens, false).bound
}

/// Runs the documented cache model over `rows` in the given order (one job).
pub fn simulate(rows: &[SimRow<'_>], cfg: &SimConfig) -> SimReport {
    let shared = analyse(rows, cfg.min_cache_tokens, true);
    let order: Vec<u32> = (0..rows.len() as u32).collect();
    let mut report = simulate_order(rows, &shared, &order, cfg, None);
    report.bound_tokens = shared.bound;
    report
}

/// [`simulate`], also giving each row's cached tokens (`per_row[i]` for `rows[i]`; they sum to
/// the report's `cached_tokens`). The emulator writes them into `cachedContentTokenCount`, so an
/// emulated job measures exactly what this model predicts.
pub fn simulate_rows(rows: &[SimRow<'_>], cfg: &SimConfig) -> (SimReport, Vec<u64>) {
    let shared = analyse(rows, cfg.min_cache_tokens, true);
    let order: Vec<u32> = (0..rows.len() as u32).collect();
    let mut per_row = vec![0u64; rows.len()];
    let mut report = simulate_order(rows, &shared, &order, cfg, Some(&mut per_row));
    report.bound_tokens = shared.bound;
    (report, per_row)
}

/// The order-independent analysis of a set of rows ([`Analysis::new`]), computed once and used to
/// simulate any number of orders of any subsets of them ([`Analysis::simulate`]).
pub struct Analysis {
    shared: Shared,
    min_cache_tokens: u64,
}

impl Analysis {
    /// Analyses all of `rows` for the cache minimum `min_cache_tokens`.
    pub fn new(rows: &[SimRow<'_>], min_cache_tokens: u64) -> Analysis {
        Analysis {
            shared: analyse(rows, min_cache_tokens, true),
            min_cache_tokens,
        }
    }

    /// [`cache_bound`] of all the rows.
    pub fn bound(&self) -> u64 {
        self.shared.bound
    }

    /// [`simulate`] of the job that sends `rows[order[0]], rows[order[1]], …` (`rows` as given to
    /// [`Analysis::new`]; `cfg.min_cache_tokens` must be the analysed minimum). Equal to
    /// `simulate` of those rows, except that `bound_tokens` is left 0: a prefix shared only with
    /// rows outside `order` is never stamped before its one row looks it up, so it never hits.
    pub fn simulate(&self, rows: &[SimRow<'_>], order: &[u32], cfg: &SimConfig) -> SimReport {
        assert_eq!(
            cfg.min_cache_tokens, self.min_cache_tokens,
            "analysed minimum"
        );
        simulate_order(rows, &self.shared, order, cfg, None)
    }
}

fn simulate_order(
    rows: &[SimRow<'_>],
    shared: &Shared,
    order: &[u32],
    cfg: &SimConfig,
    mut per_row: Option<&mut [u64]>,
) -> SimReport {
    let min = cfg.min_cache_tokens;
    let w = cfg.workers.max(1);
    let mut report = SimReport {
        prompt_tokens: order.iter().map(|&i| rows[i as usize].prompt_tokens).sum(),
        rows: order.len() as u64,
        ..SimReport::default()
    };
    if cfg.ttl_rounds == Some(0) || shared.distinct == 0 {
        return report;
    }
    // Only block prefixes shared with another row can ever be hit, so only those are tracked: the
    // cache is the round each was last stamped in, indexed by its dense id (NEVER = not cached).
    const NEVER: u64 = u64::MAX;
    let mut stamp = vec![NEVER; shared.distinct];
    let ids_of = |i: u32| &shared.ids[shared.offsets[i as usize]..shared.offsets[i as usize + 1]];
    for (round, batch) in order.chunks(w).enumerate() {
        let round = round as u64;
        // Look-ups see only what rows of earlier rounds inserted.
        for &i in batch {
            let hit = ids_of(i)
                .iter()
                .take_while(|&&g| {
                    let s = stamp[g as usize];
                    s != NEVER && cfg.ttl_rounds.is_none_or(|ttl| round - s <= ttl)
                })
                .count();
            if hit > 0 {
                let cached = eff(rows[i as usize].cum_tokens[hit - 1], min);
                if cached > 0 {
                    report.cached_tokens += cached;
                    report.rows_with_hits += 1;
                    if let Some(out) = per_row.as_deref_mut() {
                        out[i as usize] = cached;
                    }
                }
            }
        }
        // Rows finish at the end of the round and insert (or refresh) their shared prefixes.
        for &i in batch {
            for &g in ids_of(i) {
                stamp[g as usize] = round;
            }
        }
    }
    report
}

/// Shared-prefix families of `rows` in trie order: for every depth `d ≥ 1` at which the shared
/// prefix reaches `min_cache_tokens`, the maximal runs of at least two consecutive rows whose
/// adjacent pairs share at least `d` blocks (the intervals of the LCP array). A run that is maximal
/// for several depths is listed once, with its deepest depth. Nested runs are all listed, sorted by
/// start and then by depth (outer before inner).
pub fn families(rows: &[SimRow<'_>], min_cache_tokens: u64) -> Vec<Family> {
    families_by(
        rows.len(),
        |i| lcp(&rows[i - 1], &rows[i]),
        |start, depth| u64::from(rows[start].cum_tokens[depth - 1]),
        min_cache_tokens,
    )
}

/// [`families`] of `n` rows in trie order given by their adjacent shared blocks,
/// `lcp_at(i)` for row `i ≥ 1` and row `i - 1`, and `prefix_tokens(start, depth)`, the tokens of
/// the first `depth` blocks of row `start` (for callers that already hold the LCP array).
pub fn families_by(
    n: usize,
    lcp_at: impl Fn(usize) -> usize,
    prefix_tokens: impl Fn(usize, usize) -> u64,
    min_cache_tokens: u64,
) -> Vec<Family> {
    let mut out = Vec::new();
    // Stack of open intervals: (lcp value, left bound), strictly increasing lcp from the root (0).
    let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
    for i in 1..=n {
        let l = if i < n { lcp_at(i) } else { 0 };
        let mut lb = i - 1;
        while l < stack.last().map_or(0, |s| s.0) {
            let (depth, start) = stack.pop().expect("non-root interval");
            let prefix_tokens = prefix_tokens(start, depth);
            if prefix_tokens >= min_cache_tokens {
                out.push(Family {
                    start,
                    len: i - start,
                    depth_blocks: depth,
                    prefix_tokens,
                });
            }
            lb = start;
        }
        if l > stack.last().map_or(0, |s| s.0) {
            stack.push((l, lb));
        }
    }
    out.sort_unstable_by_key(|f| (f.start, f.depth_blocks));
    out
}

impl Family {
    /// The most prompt tokens this family's shared prefix can have served from the cache: every
    /// member after the first hits it, `(len - 1) × prefix_tokens`, if the prefix reaches
    /// `min_cache_tokens`; 0 otherwise. A nested family's figure overlaps its parent's (the
    /// members of both hit the shorter prefix), so these do not add up to [`cache_bound`].
    pub fn cached_tokens(&self, min_cache_tokens: u64) -> u64 {
        if self.prefix_tokens >= min_cache_tokens {
            (self.len as u64).saturating_sub(1) * self.prefix_tokens
        } else {
            0
        }
    }
}

/// Keeps the `keep` families that matter most to the cache and sorts them so: first the
/// cacheable ones (prefix ≥ `min_cache_tokens`) by [`Family::cached_tokens`], most first; then
/// the others by the tokens they would have cached had they reached the minimum,
/// `(len - 1) × prefix_tokens`, most first (a large family a little short of the minimum is the
/// one a slightly longer shared instruction would make pay). Ties keep trie order (start, then
/// depth), so the result is deterministic.
pub fn rank_families(fams: &mut Vec<Family>, min_cache_tokens: u64, keep: usize) {
    let key = |f: &Family| {
        let shared = (f.len as u64).saturating_sub(1) * f.prefix_tokens;
        (
            std::cmp::Reverse(f.prefix_tokens >= min_cache_tokens),
            std::cmp::Reverse(shared),
            f.start,
            f.depth_blocks,
        )
    };
    if keep == 0 {
        fams.clear();
        return;
    }
    if fams.len() > keep {
        fams.select_nth_unstable_by_key(keep - 1, key);
        fams.truncate(keep);
    }
    fams.sort_unstable_by_key(key);
}

fn lcp(a: &SimRow<'_>, b: &SimRow<'_>) -> usize {
    a.blocks
        .iter()
        .zip(b.blocks)
        .take_while(|(x, y)| x == y)
        .count()
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
