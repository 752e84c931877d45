//! The records `prepare` plans from: while the scan validates each line, gather its compact
//! record — where it is, whether it may be sent, its canonical hash and its prompt's chain-hash
//! key.
//!
//! One [`PlanVisitor`] per chunk (see [`crate::scan::LineVisitor`]); records are plain numbers
//! and offsets into the mapped input, never copies of the line.

use crate::input::Line;
use crate::plan::tokens::memo::{MemoCounter, SampleTally};
use crate::plan::tokens::TokensMode;
use crate::request::canon::{canonical_hash, CanonScratch};
use crate::request::diag::{Finding, Severity};
use crate::request::line::LineKind;
use crate::request::prompt::{chain_hashes, prompt_stream, PromptScratch};
use crate::request::value::{same_field, JsonRef, Kind};
use crate::scan::LineVisitor;

/// Whether a line is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LineStatus {
    /// Blank: skipped.
    Blank,
    /// Has a row error: never sent, listed in `invalid.jsonl`.
    Invalid,
    /// Sent (or represented by an earlier duplicate).
    Valid,
}

/// The records of a run of lines, one entry per line in every column (struct of arrays: the
/// planning stages read one or two columns at a time, and a line costs about 40 bytes).
#[derive(Debug, Default, Clone)]
pub struct Recs {
    /// Absolute byte offset of the line in its file.
    pub offset: Vec<u64>,
    /// Length in bytes without the terminator.
    pub len: Vec<u32>,
    /// Sent or not.
    pub status: Vec<LineStatus>,
    /// Whether the request samples (temperature absent or > 0, or candidateCount > 1): duplicates
    /// of such requests collapse repeated sampling. False for lines not sent.
    pub samples: Vec<bool>,
    /// Canonical hash of the `request` (0 for lines not sent).
    pub hash: Vec<u128>,
    /// End of this line's chain hashes in [`Recs::blocks`] (the start is the previous line's end).
    pub block_end: Vec<u64>,
    /// Bytes of the prompt stream (saturating at `u32::MAX`).
    pub prompt_bytes: Vec<u32>,
    /// Prompt tokens counted (all with `exact`; the sampled blocks' with `sample`). Empty when
    /// tokens are not counted.
    pub tokens: Vec<u64>,
    /// Prompt text bytes not in the sample (`sample` only; else empty).
    pub unsampled_bytes: Vec<u64>,
    /// Row error codes of each invalid line: (line index, codes as stable strings).
    pub codes: Vec<(usize, Vec<&'static str>)>,
    /// Chain hashes of every valid line, back to back.
    pub blocks: Vec<u64>,
    /// Cumulative tokens at each block end, parallel to `blocks` (`exact` only).
    pub cum: Vec<u32>,
}

impl Recs {
    /// Number of lines.
    pub fn len(&self) -> usize {
        self.offset.len()
    }

    /// Whether there are no lines.
    pub fn is_empty(&self) -> bool {
        self.offset.is_empty()
    }

    /// The range of line `i`'s chain hashes in [`Recs::blocks`].
    #[inline]
    pub fn block_range(&self, i: usize) -> std::ops::Range<usize> {
        let start = if i == 0 { 0 } else { self.block_end[i - 1] };
        start as usize..self.block_end[i] as usize
    }

    /// Line `i`'s chain hashes.
    #[inline]
    pub fn blocks_of(&self, i: usize) -> &[u64] {
        &self.blocks[self.block_range(i)]
    }

    /// Makes room for `lines` more lines with `blocks` more chain hashes (one allocation per
    /// column instead of repeated growth while appending chunks).
    pub fn reserve(&mut self, lines: usize, blocks: usize) {
        self.offset.reserve(lines);
        self.len.reserve(lines);
        self.status.reserve(lines);
        self.samples.reserve(lines);
        self.hash.reserve(lines);
        self.block_end.reserve(lines);
        self.prompt_bytes.reserve(lines);
        self.blocks.reserve(blocks);
    }

    /// Appends `other` (the next lines) to `self`.
    pub fn append(&mut self, mut other: Recs) {
        let (lines, blocks) = (self.len(), self.blocks.len() as u64);
        self.offset.append(&mut other.offset);
        self.len.append(&mut other.len);
        self.status.append(&mut other.status);
        self.samples.append(&mut other.samples);
        self.hash.append(&mut other.hash);
        self.block_end
            .extend(other.block_end.iter().map(|&e| e + blocks));
        self.prompt_bytes.append(&mut other.prompt_bytes);
        self.tokens.append(&mut other.tokens);
        self.unsampled_bytes.append(&mut other.unsampled_bytes);
        self.codes
            .extend(other.codes.into_iter().map(|(i, c)| (i + lines, c)));
        self.blocks.append(&mut other.blocks);
        self.cum.append(&mut other.cum);
    }
}

/// How a visitor counts tokens.
#[derive(Clone, Copy)]
pub struct TokenSetup<'a> {
    /// The shared, memoised counter.
    pub memo: &'a MemoCounter<'a>,
    /// `Exact` or `Sample` (`Off` has no setup).
    pub mode: TokensMode,
    /// Share of distinct blocks tokenised under `Sample`.
    pub sample_rate: f64,
    /// Seed of the sample.
    pub seed: u64,
}

/// Tags of prompt-stream pieces whose payload is text the tokenizer counts (see
/// [`crate::request::prompt`]): text parts, tool declarations, and function calls/responses and
/// other structured part fields. Roles, media and signatures are not text tokens (Google's SDK
/// counts no turn tokens; media are billed per item).
fn counted_tag(tag: u8) -> bool {
    matches!(tag, b'x' | b'T' | b'j')
}

/// The pieces of a prompt stream: `(tag, payload range)`; each piece starts with
/// [`DELIMITER`](crate::request::prompt::DELIMITER) and a tag byte, and runs to the next delimiter.
fn pieces(stream: &[u8]) -> impl Iterator<Item = (u8, std::ops::Range<usize>)> + '_ {
    use crate::request::prompt::DELIMITER;
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= stream.len() {
            return None;
        }
        let (tag, start) = if stream[pos] == DELIMITER && pos + 1 < stream.len() {
            (stream[pos + 1], pos + 2)
        } else {
            (b'x', pos)
        };
        let end = memchr::memchr(DELIMITER, &stream[start.min(stream.len())..])
            .map_or(stream.len(), |i| start + i);
        pos = end.max(pos + 1);
        Some((tag, start..end.max(start)))
    })
}

/// Cumulative prompt tokens at each of `ends` (stream offsets, ascending) and the total, counting
/// only the text pieces of the stream, each on its own (delimiters never merge into tokens).
pub fn stream_tokens(
    memo: &MemoCounter<'_>,
    stream: &[u8],
    ends: &[usize],
    cum: &mut Vec<u32>,
) -> u64 {
    let mut total = 0u64;
    let mut next_end = 0;
    for (tag, range) in pieces(stream) {
        let (start, end) = (range.start, range.end);
        let inside: Vec<usize> = ends[next_end..]
            .iter()
            .take_while(|&&e| e <= end)
            .map(|&e| e.saturating_sub(start))
            .collect();
        if counted_tag(tag) && start < end {
            let payload = &stream[start..end];
            let mut offsets = inside.clone();
            offsets.push(payload.len());
            let counts = memo.count_prefix_at(payload, &offsets);
            for &c in &counts[..inside.len()] {
                cum.push((total + c).min(u32::MAX as u64) as u32);
            }
            total += counts[inside.len()];
        } else {
            for _ in &inside {
                cum.push(total.min(u32::MAX as u64) as u32);
            }
        }
        next_end += inside.len();
    }
    for _ in next_end..ends.len() {
        cum.push(total.min(u32::MAX as u64) as u32);
    }
    total
}

/// Sampled counting of the text pieces: (sampled tokens, sampled bytes, unsampled bytes).
fn stream_tokens_sampled(
    memo: &MemoCounter<'_>,
    stream: &[u8],
    rate: f64,
    seed: u64,
) -> SampleTally {
    let mut tally = SampleTally::default();
    for (tag, range) in pieces(stream) {
        if counted_tag(tag) && !range.is_empty() {
            tally.add(&memo.count_stream_sampled(&stream[range], rate, seed));
        }
    }
    tally
}

/// How prompts are cut into chained blocks (block size and count) for the prefix order.
#[derive(Debug, Clone, Copy)]
pub struct PromptBlocks {
    /// Bytes per chain-hash block.
    pub block_bytes: usize,
    /// Blocks kept per request.
    pub max_blocks: usize,
}

/// Gathers the records of one chunk.
pub struct PlanVisitor<'a> {
    config: PromptBlocks,
    tokens: Option<TokenSetup<'a>>,
    /// The records of the chunk's lines, in order.
    pub recs: Recs,
    /// Sum of the sample tallies of this chunk (`sample` only).
    pub tally: SampleTally,
    ends: Vec<usize>,
    canon: CanonScratch,
    prompt: PromptScratch,
    scratch_blocks: Vec<u64>,
    pending: Option<Pending>,
}

struct Pending {
    index: u64,
    hash: u128,
    prompt_bytes: u64,
    samples: bool,
    tokens: u64,
    unsampled_bytes: u64,
}

impl<'a> PlanVisitor<'a> {
    /// A visitor with empty buffers.
    pub fn new(config: PromptBlocks, tokens: Option<TokenSetup<'a>>) -> Self {
        PlanVisitor {
            config,
            tokens,
            recs: Recs::default(),
            tally: SampleTally::default(),
            ends: Vec::new(),
            canon: CanonScratch::default(),
            prompt: PromptScratch::default(),
            scratch_blocks: Vec::new(),
            pending: None,
        }
    }
}

/// Whether a request samples: `temperature` absent (the default is above 0) or above 0, or
/// `candidateCount` above 1.
pub fn request_samples(request: JsonRef<'_, '_>) -> bool {
    let [Some(config)] = first_fields(&request, ["generationConfig"]) else {
        return true;
    };
    if config.kind() != Kind::Object {
        return true;
    }
    let [candidates, temperature] = first_fields(&config, ["candidateCount", "temperature"]);
    let candidates = candidates
        .and_then(|v| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(1.0);
    if candidates > 1.0 {
        return true;
    }
    match temperature.and_then(|v| v.as_f64()) {
        Some(t) => t > 0.0,
        None => true,
    }
}

/// For each of `names` (camelCase), the value of the first member of `object` with that name in
/// either spelling, like [`JsonRef::field`] for each, reading the members once.
fn first_fields<'t, 'i, const N: usize>(
    object: &JsonRef<'t, 'i>,
    names: [&str; N],
) -> [Option<JsonRef<'t, 'i>>; N] {
    let mut found = [None; N];
    for (key, value) in object.members() {
        for (slot, name) in found.iter_mut().zip(names) {
            // Both spellings start with the same byte: a cheap filter before the comparison.
            if slot.is_none()
                && key.as_bytes().first() == name.as_bytes().first()
                && same_field(key, name)
            {
                *slot = Some(value);
            }
        }
    }
    found
}

impl LineVisitor for PlanVisitor<'_> {
    fn request(&mut self, index: u64, _line: Line<'_>, request: JsonRef<'_, '_>) {
        let hash = canonical_hash(request, &mut self.canon);
        let stream = prompt_stream(request, &mut self.prompt);
        // chain_hashes clears its output: hash into scratch, then append to the arena.
        let bytes = chain_hashes(
            stream,
            self.config.block_bytes,
            self.config.max_blocks,
            &mut self.scratch_blocks,
        );
        self.recs.blocks.extend_from_slice(&self.scratch_blocks);
        let n = self.scratch_blocks.len();
        let (mut tokens, mut unsampled_bytes) = (0, 0);
        if let Some(setup) = self.tokens {
            match setup.mode {
                TokensMode::Sample => {
                    let t =
                        stream_tokens_sampled(setup.memo, stream, setup.sample_rate, setup.seed);
                    self.tally.add(&t);
                    tokens = t.sampled_tokens;
                    unsampled_bytes = t.unsampled_bytes;
                }
                _ => {
                    let b = self.config.block_bytes;
                    self.ends.clear();
                    self.ends.extend((1..=n).map(|k| (k * b).min(stream.len())));
                    tokens = stream_tokens(setup.memo, stream, &self.ends, &mut self.recs.cum);
                }
            }
        }
        self.pending = Some(Pending {
            index,
            hash,
            prompt_bytes: bytes,
            samples: request_samples(request),
            tokens,
            unsampled_bytes,
        });
    }

    fn line_done(&mut self, index: u64, line: Line<'_>, kind: LineKind, findings: &[Finding]) {
        let errors = findings
            .iter()
            .any(|f| f.code.severity() == Severity::Error);
        let pending = self.pending.take().filter(|p| p.index == index);
        let status = match kind {
            LineKind::Blank => LineStatus::Blank,
            _ if errors || pending.is_none() => LineStatus::Invalid,
            _ => LineStatus::Valid,
        };
        let r = &mut self.recs;
        let block_start = r.block_end.last().copied().unwrap_or(0);
        let p = match (pending, status) {
            (Some(p), LineStatus::Valid) => p,
            (_, status) => {
                // Drop the hashes (and token sums) of a line that is not sent.
                r.blocks.truncate(block_start as usize);
                r.cum.truncate(r.cum.len().min(block_start as usize));
                if status == LineStatus::Invalid {
                    let codes = findings
                        .iter()
                        .filter(|f| f.code.severity() == Severity::Error)
                        .map(|f| f.code.as_str())
                        .collect();
                    r.codes.push((r.offset.len(), codes));
                }
                Pending {
                    index,
                    hash: 0,
                    prompt_bytes: 0,
                    samples: false,
                    tokens: 0,
                    unsampled_bytes: 0,
                }
            }
        };
        r.offset.push(line.offset as u64);
        r.len.push(line.bytes.len() as u32);
        r.status.push(status);
        r.samples.push(p.samples);
        r.hash.push(p.hash);
        r.block_end.push(r.blocks.len() as u64);
        r.prompt_bytes
            .push(p.prompt_bytes.min(u32::MAX as u64) as u32);
        if let Some(setup) = self.tokens {
            r.tokens.push(p.tokens);
            if setup.mode == TokensMode::Sample {
                r.unsampled_bytes.push(p.unsampled_bytes);
            }
        }
    }
}
