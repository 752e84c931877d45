//! Block memoisation: cut prompt text into blocks at places where the tokenizer never merges
//! across, tokenise each distinct block once, and sum.
//!
//! **Where text is cut.** After each run of `\n` (the whole run stays in the block before the
//! cut). In the Gemma 3 vocabulary every newline run of 1–31 is a *user-defined* piece, which
//! SentencePiece matches before any merge and never merges with a neighbour, so cutting after a
//! run and summing the parts gives exactly the whole-text count (measured: identical on all 5,233
//! documents of the prepare issue, and on the committed test sample). A newline-free stretch
//! longer than the cap (default [`DEFAULT_MAX_BLOCK`], 4 KiB) is cut, when the counter knows its
//! [`JoinedPairs`] (Gemma 3), between the last two characters in the second half of the window
//! that no piece holds side by side: exact, since no token can span it. Where there is no such
//! place, or the counter gives no pairs (o200k), the cut is forced: without pairs before the last
//! space or tab run in the second half of the window, else (and always with pairs) at the last
//! UTF-8 character boundary inside the cap. A forced cut may change the count by a token or so;
//! forced cuts are counted in [`MemoStats::forced_cuts`] so a report can bound the error. For
//! o200k (an estimate anyway) the newline cuts are used too: its pre-tokenizer splits there.
//!
//! **The cache.** Blocks are keyed by xxh3-64 of their bytes (no copy of the text is kept); a
//! 64-bit collision would reuse another block's count (probability about n²/2⁶⁵ for n distinct
//! blocks: 10⁻⁵ at 10⁷). The map is split into 64 shards, each behind its own `Mutex`, so rayon
//! threads share one cache; a block is tokenised outside the lock, so two threads may both
//! tokenise a block seen for the first time at the same moment (harmless: same value). The cache
//! stops growing at [`MemoCounter::with_max_entries`] (default 2²⁴ entries, at most about 600 MB);
//! past that, unseen blocks are tokenised without being remembered, which is slower but still
//! exact.
//!
//! **Cumulative counts.** [`MemoCounter::count_prefix_at`] gives the token count of `text[..p]`
//! for byte offsets `p`: exact where `p` is a block end (e.g. just after a newline run), and
//! inside a block the block's count is shared out in proportion to bytes (rounded), which is off
//! by at most the block's count (typically a few tokens).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use xxhash_rust::xxh3::xxh3_64;

use super::{JoinedPairs, TokenCounter};

/// Default cap on the length of a newline-free block, in bytes.
pub const DEFAULT_MAX_BLOCK: usize = 4096;

/// Default cap on remembered distinct blocks.
pub const DEFAULT_MAX_ENTRIES: usize = 1 << 24;

const SHARD_BITS: u32 = 6;
const SHARDS: usize = 1 << SHARD_BITS;

/// The byte ranges of the blocks of `text` (see the module documentation for where it is cut).
/// Ranges are contiguous, non-empty and cover `text`. `max_block` below 16 is taken as 16.
pub fn blocks(text: &[u8], max_block: usize) -> Blocks<'_> {
    blocks_with(text, max_block, None)
}

/// [`blocks`] for a tokenizer whose [`JoinedPairs`] are known: a newline-free stretch longer than
/// the cap is cut, where it can be, between the last two characters in the second half of the
/// window that no piece joins (exact, and not counted as forced); only where there is no such
/// place (a long run of one letter, say) is it cut at a character boundary and counted.
pub fn blocks_with<'t>(
    text: &'t [u8],
    max_block: usize,
    pairs: Option<&'t JoinedPairs>,
) -> Blocks<'t> {
    Blocks {
        text,
        pos: 0,
        max: max_block.max(16),
        forced: 0,
        pairs,
    }
}

/// Iterator over block ranges; see [`blocks`].
#[derive(Debug, Clone)]
pub struct Blocks<'t> {
    text: &'t [u8],
    pos: usize,
    max: usize,
    forced: u64,
    pairs: Option<&'t JoinedPairs>,
}

impl Blocks<'_> {
    /// Cuts made by the size cap so far at places where a token may span the cut (with
    /// [`JoinedPairs`], only those; without, every cut not after a newline run).
    pub fn forced_cuts(&self) -> u64 {
        self.forced
    }
}

impl Iterator for Blocks<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        let start = self.pos;
        let rest = &self.text[start..];
        if rest.is_empty() {
            return None;
        }
        let window = &rest[..rest.len().min(self.max)];
        let len = if let Some(nl) = memchr::memchr(b'\n', window) {
            let mut end = nl + 1;
            while end < rest.len() && rest[end] == b'\n' {
                end += 1;
            }
            end
        } else if rest.len() <= self.max {
            rest.len()
        } else if let Some(p) = self
            .pairs
            .and_then(|pairs| unjoined_cut(rest, self.max, pairs))
        {
            p
        } else {
            self.forced += 1;
            if self.pairs.is_some() {
                // No piece-free place; a space run gives no exactness guarantee beyond the pairs.
                char_cut(rest, self.max)
            } else {
                forced_cut(rest, self.max)
            }
        };
        self.pos = start + len;
        Some(start..start + len)
    }
}

/// Where to cut a newline-free `rest` longer than `max`: before the space or tab run that starts
/// last in `[max/2, max]`, else at the last character boundary at or before `max`. Never 0.
fn forced_cut(rest: &[u8], max: usize) -> usize {
    let lo = max / 2;
    if let Some(i) = memchr::memrchr2(b' ', b'\t', &rest[lo..=max]) {
        let c = rest[lo + i];
        let mut p = lo + i;
        while p > 0 && rest[p - 1] == c {
            p -= 1;
        }
        if p > 0 {
            return p;
        }
    }
    char_cut(rest, max)
}

/// The last UTF-8 character boundary at or before `max` (`rest` is longer than `max`). Never 0.
fn char_cut(rest: &[u8], max: usize) -> usize {
    let mut p = max;
    while p > 1 && is_continuation(rest[p]) {
        p -= 1;
    }
    p
}

fn is_continuation(b: u8) -> bool {
    (b & 0xC0) == 0x80
}

/// The character that starts at byte `p` of `text`, if valid UTF-8 starts there.
fn char_at(text: &[u8], p: usize) -> Option<char> {
    let len = match text.get(p)? {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    };
    std::str::from_utf8(text.get(p..p + len)?)
        .ok()?
        .chars()
        .next()
}

/// The last character boundary in `[max/2, max]` of `rest` (longer than `max`) between two
/// characters that `pairs` does not join, if any.
fn unjoined_cut(rest: &[u8], max: usize, pairs: &JoinedPairs) -> Option<usize> {
    let lo = max / 2;
    let mut p = char_cut(rest, max);
    let mut right = char_at(rest, p);
    while p > lo {
        let mut q = p - 1;
        while q > 0 && is_continuation(rest[q]) {
            q -= 1;
        }
        let left = char_at(rest, q);
        if let (Some(a), Some(b)) = (left, right) {
            if !pairs.joined(a, b) {
                return Some(p);
            }
        }
        right = left;
        p = q;
    }
    None
}

type Map = HashMap<u64, u32, crate::plan::prehashed::BuildPrehashed>;
type Shard = Mutex<Map>;

/// Counters of a [`MemoCounter`]'s work, summed over all threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoStats {
    /// Blocks looked at.
    pub blocks: u64,
    /// Bytes looked at.
    pub bytes: u64,
    /// Blocks that were tokenised (not found in the cache).
    pub tokenised_blocks: u64,
    /// Bytes that were tokenised.
    pub tokenised_bytes: u64,
    /// Cuts by the size cap where a token may span the cut (each may move the count by about a
    /// token); exact cap cuts between unjoined characters are not counted.
    pub forced_cuts: u64,
    /// Distinct blocks remembered.
    pub entries: u64,
}

/// What [`MemoCounter::count_stream_sampled`] saw of one text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SampleTally {
    /// Tokens of the blocks in the sample.
    pub sampled_tokens: u64,
    /// Bytes of the blocks in the sample.
    pub sampled_bytes: u64,
    /// Bytes of the blocks not in the sample.
    pub unsampled_bytes: u64,
}

impl SampleTally {
    /// Adds another tally (e.g. to total over a corpus).
    pub fn add(&mut self, other: &SampleTally) {
        self.sampled_tokens += other.sampled_tokens;
        self.sampled_bytes += other.sampled_bytes;
        self.unsampled_bytes += other.unsampled_bytes;
    }

    /// Tokens per byte of the sampled blocks (`None` when nothing was sampled).
    pub fn tokens_per_byte(&self) -> Option<f64> {
        (self.sampled_bytes > 0).then(|| self.sampled_tokens as f64 / self.sampled_bytes as f64)
    }

    /// The estimated count: sampled tokens plus unsampled bytes at `tokens_per_byte` (use the
    /// corpus-wide ratio from the summed tally), rounded.
    pub fn estimate(&self, tokens_per_byte: f64) -> u64 {
        self.sampled_tokens + (self.unsampled_bytes as f64 * tokens_per_byte).round() as u64
    }
}

/// A [`TokenCounter`] wrapper that counts text block by block and remembers each distinct
/// block's count. Share one by reference across rayon threads.
pub struct MemoCounter<'a> {
    inner: &'a dyn TokenCounter,
    shards: Box<[Shard]>,
    /// Word cuts ([`MemoCounter::with_word_cuts`]): per ASCII byte, whether a cut between it and
    /// a following space is exact; and the cache of word counts.
    word_cut: Option<Box<[bool; 128]>>,
    words: Box<[Shard]>,
    max_block: usize,
    max_entries_per_shard: usize,
    blocks: AtomicU64,
    bytes: AtomicU64,
    tokenised_blocks: AtomicU64,
    tokenised_bytes: AtomicU64,
    forced_cuts: AtomicU64,
}

impl std::fmt::Debug for MemoCounter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoCounter")
            .field("inner", &self.inner.name())
            .field("max_block", &self.max_block)
            .field("stats", &self.stats())
            .finish()
    }
}

/// Per-call tallies, added to the shared atomics once per call.
#[derive(Default)]
struct Local {
    blocks: u64,
    bytes: u64,
    tokenised_blocks: u64,
    tokenised_bytes: u64,
}

impl<'a> MemoCounter<'a> {
    /// Wraps `inner` with an empty cache, blocks capped at [`DEFAULT_MAX_BLOCK`] bytes and at most
    /// [`DEFAULT_MAX_ENTRIES`] remembered blocks.
    pub fn new(inner: &'a dyn TokenCounter) -> Self {
        MemoCounter {
            inner,
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            word_cut: None,
            words: Box::new([]),
            max_block: DEFAULT_MAX_BLOCK,
            max_entries_per_shard: DEFAULT_MAX_ENTRIES / SHARDS,
            blocks: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            tokenised_blocks: AtomicU64::new(0),
            tokenised_bytes: AtomicU64::new(0),
            forced_cuts: AtomicU64::new(0),
        }
    }

    /// Sets the cap on newline-free blocks (at least 16 bytes). Larger caps mean fewer forced
    /// cuts and fewer shared blocks.
    pub fn with_max_block(mut self, bytes: usize) -> Self {
        self.max_block = bytes.max(16);
        self
    }

    /// Tokenises a block not yet seen word by word: cut before every space that follows an
    /// ASCII character `c` where (`c`, space) is not a [`JoinedPairs`] pair, each word counted
    /// once over the life of this counter (a second cache, capped like the first) and summed.
    /// Exact for the same reason as the pair cuts of long blocks (no token spans such a place),
    /// so block counts, and everything computed from them, do not change; text of words that
    /// recur (most prose) is then tokenised once per distinct word instead of once per distinct
    /// block. No effect for a counter without pairs (o200k).
    pub fn with_word_cuts(mut self) -> Self {
        if let Some(pairs) = self.inner.joined_pairs() {
            let mut table = Box::new([false; 128]);
            for (b, cut) in table.iter_mut().enumerate() {
                *cut = b != usize::from(b' ') && !pairs.joined(char::from(b as u8), ' ');
            }
            self.word_cut = Some(table);
            self.words = (0..SHARDS).map(|_| Shard::default()).collect();
        }
        self
    }

    /// Sets the cap on remembered distinct blocks (rounded up to a multiple of 64).
    pub fn with_max_entries(mut self, entries: usize) -> Self {
        self.max_entries_per_shard = entries.div_ceil(SHARDS);
        self
    }

    /// The wrapped counter.
    pub fn inner(&self) -> &'a dyn TokenCounter {
        self.inner
    }

    /// The block cap in bytes.
    pub fn max_block(&self) -> usize {
        self.max_block
    }

    /// What was done so far.
    pub fn stats(&self) -> MemoStats {
        MemoStats {
            blocks: self.blocks.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            tokenised_blocks: self.tokenised_blocks.load(Ordering::Relaxed),
            tokenised_bytes: self.tokenised_bytes.load(Ordering::Relaxed),
            forced_cuts: self.forced_cuts.load(Ordering::Relaxed),
            entries: self.shards.iter().map(|s| lock(s).len() as u64).sum(),
        }
    }

    /// The token count of one block, from the cache or by tokenising it (and remembering it).
    fn block_tokens(&self, block: &[u8], local: &mut Local) -> u32 {
        let hash = xxh3_64(block);
        self.block_tokens_hashed(block, hash, local)
    }

    fn block_tokens_hashed(&self, block: &[u8], hash: u64, local: &mut Local) -> u32 {
        local.blocks += 1;
        local.bytes += block.len() as u64;
        self.remembered(&self.shards, hash, || {
            local.tokenised_blocks += 1;
            local.tokenised_bytes += block.len() as u64;
            match &self.word_cut {
                Some(table) => self.count_words(block, table),
                None => self.inner.count_bytes(block),
            }
        })
    }

    /// The count kept under `hash` in `cache`, or `count()` (remembered while the shard has room).
    fn remembered(&self, cache: &[Shard], hash: u64, count: impl FnOnce() -> u64) -> u32 {
        // The shard comes from bits 32..38: hashbrown uses the low bits for the bucket and the
        // top 7 for its tag, so these leave both well mixed within a shard.
        let shard = &cache[((hash >> 32) as usize) & (SHARDS - 1)];
        if let Some(&n) = lock(shard).get(&hash) {
            return n;
        }
        let n = u32::try_from(count()).unwrap_or(u32::MAX);
        let mut map = lock(shard);
        if map.len() < self.max_entries_per_shard {
            map.insert(hash, n);
        }
        n
    }

    /// The count of `block` as the sum of its words' counts (see [`Self::with_word_cuts`]).
    fn count_words(&self, block: &[u8], table: &[bool; 128]) -> u64 {
        let mut total = 0u64;
        let mut start = 0;
        let word = |range: Range<usize>| {
            let w = &block[range];
            u64::from(self.remembered(&self.words, xxh3_64(w), || self.inner.count_bytes(w)))
        };
        for i in memchr::memchr_iter(b' ', block) {
            // The byte before the space is a whole character when it is ASCII.
            if i > start && block[i - 1] < 128 && table[usize::from(block[i - 1])] {
                total += word(start..i);
                start = i;
            }
        }
        if start < block.len() {
            total += word(start..block.len());
        }
        total
    }

    fn publish(&self, local: &Local, forced: u64) {
        self.blocks.fetch_add(local.blocks, Ordering::Relaxed);
        self.bytes.fetch_add(local.bytes, Ordering::Relaxed);
        self.tokenised_blocks
            .fetch_add(local.tokenised_blocks, Ordering::Relaxed);
        self.tokenised_bytes
            .fetch_add(local.tokenised_bytes, Ordering::Relaxed);
        self.forced_cuts.fetch_add(forced, Ordering::Relaxed);
    }

    /// Calls `f(range, tokens)` for each block of `text` in order, with its (memoised) count.
    pub fn for_each_block(&self, text: &[u8], mut f: impl FnMut(Range<usize>, u64)) {
        let mut local = Local::default();
        let mut it = blocks_with(text, self.max_block, self.inner.joined_pairs());
        for range in it.by_ref() {
            let n = self.block_tokens(&text[range.clone()], &mut local);
            f(range, u64::from(n));
        }
        self.publish(&local, it.forced_cuts());
    }

    /// The token count of `text`: the sum of its blocks' counts, each distinct block tokenised
    /// once over the life of this counter. `text` is the decoded prompt text (not JSON-escaped).
    pub fn count_stream(&self, text: &[u8]) -> u64 {
        let mut total = 0;
        self.for_each_block(text, |_, n| total += n);
        total
    }

    /// Cumulative token counts of `text[..p]` for each `p` in `offsets` (any order; offsets past
    /// the end count as the end), in the order given. Exact at block ends; inside a block the
    /// block's tokens are shared out by bytes (rounded to nearest).
    pub fn count_prefix_at(&self, text: &[u8], offsets: &[usize]) -> Vec<u64> {
        let mut order: Vec<usize> = (0..offsets.len()).collect();
        order.sort_by_key(|&i| offsets[i]);
        let mut out = vec![0u64; offsets.len()];
        let mut next = 0;
        let mut cum = 0u64;
        self.for_each_block(text, |range, n| {
            while next < order.len() && offsets[order[next]] < range.end {
                let p = offsets[order[next]];
                let inside = p.saturating_sub(range.start) as u64;
                let len = (range.end - range.start) as u64;
                out[order[next]] = cum + (n * inside + len / 2) / len;
                next += 1;
            }
            cum += n;
        });
        for &i in &order[next..] {
            out[i] = cum;
        }
        out
    }

    /// Like [`count_stream`](Self::count_stream) under `--tokens sample`: a block is in the
    /// sample when its hash, mixed with `seed`, falls below `rate` (0..=1) of the hash space, so
    /// the sample is a seeded sample of *distinct* blocks (a block is always in or always out)
    /// and does not depend on thread scheduling. Only sampled blocks are tokenised; sum the
    /// tallies over the corpus, take its [`SampleTally::tokens_per_byte`], and estimate each
    /// text with [`SampleTally::estimate`].
    pub fn count_stream_sampled(&self, text: &[u8], rate: f64, seed: u64) -> SampleTally {
        let threshold = if rate >= 1.0 {
            u64::MAX
        } else {
            (rate.max(0.0) * u64::MAX as f64) as u64
        };
        let mut tally = SampleTally::default();
        let mut local = Local::default();
        let mut it = blocks_with(text, self.max_block, self.inner.joined_pairs());
        for range in it.by_ref() {
            let block = &text[range];
            let hash = xxh3_64(block);
            if mix(hash ^ seed) <= threshold {
                let n = self.block_tokens_hashed(block, hash, &mut local);
                tally.sampled_tokens += u64::from(n);
                tally.sampled_bytes += block.len() as u64;
            } else {
                tally.unsampled_bytes += block.len() as u64;
            }
        }
        self.publish(&local, it.forced_cuts());
        tally
    }
}

/// A bijective 64-bit mixer (splitmix64 finaliser), so that sampling does not reuse the bits
/// that pick the shard and bucket.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn lock(shard: &Shard) -> std::sync::MutexGuard<'_, Map> {
    // A panic while holding the lock cannot leave the map inconsistent for our use (inserts of
    // complete values only), so a poisoned lock is still usable.
    shard.lock().unwrap_or_else(|e| e.into_inner())
}

impl TokenCounter for MemoCounter<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// The inner counter's exactness (forced cuts aside; see [`MemoStats::forced_cuts`]).
    fn joined_pairs(&self) -> Option<&JoinedPairs> {
        self.inner.joined_pairs()
    }

    fn exact(&self) -> bool {
        self.inner.exact()
    }

    fn count(&self, text: &str) -> u64 {
        self.count_stream(text.as_bytes())
    }

    fn count_bytes(&self, text: &[u8]) -> u64 {
        self.count_stream(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts bytes; good enough to test the bookkeeping.
    struct Bytes;
    impl TokenCounter for Bytes {
        fn name(&self) -> &str {
            "bytes"
        }
        fn exact(&self) -> bool {
            true
        }
        fn count(&self, text: &str) -> u64 {
            text.len() as u64
        }
    }

    fn cut(text: &str, max: usize) -> Vec<&str> {
        blocks(text.as_bytes(), max).map(|r| &text[r]).collect()
    }

    #[test]
    fn cuts_after_newline_runs() {
        assert_eq!(cut("a\nb\n\n\nc", 4096), ["a\n", "b\n\n\n", "c"]);
        assert_eq!(cut("\n\nx\n", 4096), ["\n\n", "x\n"]);
        assert_eq!(cut("", 4096), Vec::<&str>::new());
        assert_eq!(cut("no newline", 4096), ["no newline"]);
    }

    #[test]
    fn forced_cuts_prefer_spaces_and_respect_chars() {
        let text = "aaaaaaaaaa bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
        let parts = cut(text, 16);
        assert_eq!(parts[0], "aaaaaaaaaa");
        assert!(parts[1].starts_with(' '));
        assert_eq!(parts.concat(), text);
        // Multi-space runs stay whole.
        let parts = cut("aaaaaaaaaaaaa   bbbbbbbbbbbbbbbbbbbbbbb", 16);
        assert_eq!(parts[0], "aaaaaaaaaaaaa");
        // No space: cut on a character boundary.
        let text = "日本語のテキストは空白がありません日本語のテキストは空白がありません";
        let parts = cut(text, 16);
        assert!(parts.iter().all(|p| p.len() <= 16 && !p.is_empty()));
        assert_eq!(parts.concat(), text);
        // Blocks never exceed the cap without a newline, and always cover the text.
        let text = " ".repeat(100) + &"x".repeat(100);
        let parts = cut(&text, 16);
        assert_eq!(parts.concat(), text);
        assert!(parts.iter().all(|p| p.len() <= 16));
    }

    #[test]
    fn memoises_and_sums() {
        let memo = MemoCounter::new(&Bytes);
        let text = b"shared document\nline two\n\nquestion one";
        assert_eq!(memo.count_stream(text), text.len() as u64);
        assert_eq!(
            memo.count_stream(b"shared document\nline two\n\nquestion two"),
            38
        );
        let s = memo.stats();
        assert_eq!(s.blocks, 6);
        assert_eq!(s.tokenised_blocks, 4);
        assert_eq!(s.entries, 4);
    }

    #[test]
    fn prefix_counts_are_exact_at_block_ends_and_proportional_inside() {
        let memo = MemoCounter::new(&Bytes);
        let text = b"abcd\nefgh\n";
        assert_eq!(
            memo.count_prefix_at(text, &[10, 0, 5, 7, 99]),
            [10, 0, 5, 7, 10]
        );
    }

    #[test]
    fn entry_cap_keeps_counts_exact() {
        let memo = MemoCounter::new(&Bytes).with_max_entries(1);
        let text: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(memo.count_stream(text.as_bytes()), text.len() as u64);
        assert!(memo.stats().entries <= 64);
    }

    #[test]
    fn sampling_is_all_or_nothing_per_block() {
        let memo = MemoCounter::new(&Bytes);
        let text: String = (0..2000).map(|i| format!("line {i}\n")).collect();
        let all = memo.count_stream_sampled(text.as_bytes(), 1.0, 7);
        assert_eq!(all.sampled_tokens, text.len() as u64);
        assert_eq!(all.unsampled_bytes, 0);
        let some = memo.count_stream_sampled(text.as_bytes(), 0.1, 7);
        assert!(some.sampled_bytes > 0 && some.unsampled_bytes > some.sampled_bytes);
        assert_eq!(
            some.estimate(some.tokens_per_byte().unwrap()),
            text.len() as u64
        );
        assert_eq!(some, memo.count_stream_sampled(text.as_bytes(), 0.1, 7));
    }
}
