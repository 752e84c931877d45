//! The first pass of `prepare`: while each line is validated, gather its compact record — where it
//! is, whether it may be sent, its canonical hash and its prompt's chain-hash key.
//!
//! One [`PlanVisitor`] per chunk (see [`crate::validate::LineVisitor`]); records are plain numbers
//! and offsets into the mapped input, never copies of the line.

use crate::input::Line;
use crate::plan::tokens::memo::{MemoCounter, SampleTally};
use crate::plan::tokens::TokensMode;
use crate::request::canon::{canonical_hash, CanonScratch};
use crate::request::diag::{Finding, Severity};
use crate::request::prompt::{chain_hashes, prompt_stream, PromptScratch};
use crate::request::value::{JsonRef, Kind};
use crate::request::walk::LineKind;
use crate::validate::LineVisitor;

/// Whether a line is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineStatus {
    /// Blank: skipped.
    Blank,
    /// Has a row error: never sent, listed in `invalid.jsonl`.
    Invalid,
    /// Sent (or represented by an earlier duplicate).
    Valid,
}

/// One input line of a chunk.
#[derive(Debug, Clone)]
pub struct LineRec {
    /// Absolute byte offset of the line in its file.
    pub offset: u64,
    /// Length in bytes without the terminator.
    pub len: u32,
    /// Sent or not.
    pub status: LineStatus,
    /// Canonical hash of the `request` (valid lines).
    pub hash: u128,
    /// Start of this line's chain hashes in the chunk's arena.
    pub blocks_start: u32,
    /// Number of chain hashes.
    pub blocks_len: u32,
    /// Bytes of the prompt stream.
    pub prompt_bytes: u64,
    /// Whether the request samples (temperature absent or > 0, or candidateCount > 1): duplicates
    /// of such requests collapse repeated sampling.
    pub samples: bool,
    /// Row error codes of an invalid line (as stable strings).
    pub codes: Vec<&'static str>,
    /// Prompt tokens counted (all of them with `exact`; the sampled blocks' with `sample`).
    pub tokens: u64,
    /// Prompt text bytes not in the sample (`sample` only): estimated by the corpus ratio.
    pub unsampled_bytes: u64,
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

/// Tunables of the prompt key.
#[derive(Debug, Clone, Copy)]
pub struct KeyConfig {
    /// Bytes per chain-hash block.
    pub block_bytes: usize,
    /// Blocks kept per request.
    pub max_blocks: usize,
}

/// Gathers the records of one chunk.
pub struct PlanVisitor<'a> {
    config: KeyConfig,
    tokens: Option<TokenSetup<'a>>,
    /// Cumulative tokens at each block end, parallel to `blocks` (`exact` only).
    pub cum: Vec<u32>,
    /// Sum of the sample tallies of this chunk (`sample` only).
    pub tally: SampleTally,
    ends: Vec<usize>,
    canon: CanonScratch,
    prompt: PromptScratch,
    /// Records, one per line of the chunk, in order.
    pub lines: Vec<LineRec>,
    /// Chain hashes of every valid line, back to back.
    pub blocks: Vec<u64>,
    scratch_blocks: Vec<u64>,
    pending: Option<Pending>,
}

struct Pending {
    index: u64,
    hash: u128,
    blocks_start: u32,
    blocks_len: u32,
    prompt_bytes: u64,
    samples: bool,
    tokens: u64,
    unsampled_bytes: u64,
}

impl<'a> PlanVisitor<'a> {
    /// A visitor with empty buffers.
    pub fn new(config: KeyConfig, tokens: Option<TokenSetup<'a>>) -> Self {
        PlanVisitor {
            config,
            tokens,
            cum: Vec::new(),
            tally: SampleTally::default(),
            ends: Vec::new(),
            canon: CanonScratch::default(),
            prompt: PromptScratch::default(),
            lines: Vec::new(),
            blocks: Vec::new(),
            scratch_blocks: Vec::new(),
            pending: None,
        }
    }
}

/// Whether a request samples: `temperature` absent (the default is above 0) or above 0, or
/// `candidateCount` above 1.
pub fn request_samples(request: JsonRef<'_, '_>) -> bool {
    let Some((_, config)) = request.field("generationConfig") else {
        return true;
    };
    if config.kind() != Kind::Object {
        return true;
    }
    let candidates = config
        .field("candidateCount")
        .and_then(|(_, v)| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(1.0);
    if candidates > 1.0 {
        return true;
    }
    match config.field("temperature").and_then(|(_, v)| v.as_f64()) {
        Some(t) => t > 0.0,
        None => true,
    }
}

impl LineVisitor for PlanVisitor<'_> {
    fn request(&mut self, index: u64, _line: Line<'_>, request: JsonRef<'_, '_>) {
        let hash = canonical_hash(request, &mut self.canon);
        let stream = prompt_stream(request, &mut self.prompt);
        let start = self.blocks.len();
        // chain_hashes clears its output: hash into scratch, then append to the arena.
        let bytes = chain_hashes(
            stream,
            self.config.block_bytes,
            self.config.max_blocks,
            &mut self.scratch_blocks,
        );
        self.blocks.extend_from_slice(&self.scratch_blocks);
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
                    tokens = stream_tokens(setup.memo, stream, &self.ends, &mut self.cum);
                }
            }
        }
        self.pending = Some(Pending {
            index,
            hash,
            blocks_start: start as u32,
            blocks_len: n as u32,
            prompt_bytes: bytes,
            samples: request_samples(request),
            tokens,
            unsampled_bytes,
        });
    }

    fn line_done(&mut self, index: u64, line: Line<'_>, kind: LineKind, findings: &[Finding]) {
        let errors: Vec<&'static str> = findings
            .iter()
            .filter(|f| f.code.severity() == Severity::Error)
            .map(|f| f.code.as_str())
            .collect();
        let pending = self.pending.take().filter(|p| p.index == index);
        let status = match kind {
            LineKind::Blank => LineStatus::Blank,
            _ if !errors.is_empty() || pending.is_none() => LineStatus::Invalid,
            _ => LineStatus::Valid,
        };
        let p = match (pending, status) {
            (Some(p), LineStatus::Valid) => p,
            (pending, _) => {
                if let Some(p) = pending {
                    // Drop the hashes (and token sums) of a line that is not sent.
                    self.blocks.truncate(p.blocks_start as usize);
                    self.cum
                        .truncate(self.cum.len().min(p.blocks_start as usize));
                }
                Pending {
                    index,
                    hash: 0,
                    blocks_start: 0,
                    blocks_len: 0,
                    prompt_bytes: 0,
                    samples: false,
                    tokens: 0,
                    unsampled_bytes: 0,
                }
            }
        };
        let (hash, blocks_start, blocks_len, prompt_bytes, samples) = (
            p.hash,
            p.blocks_start,
            p.blocks_len,
            p.prompt_bytes,
            p.samples,
        );
        self.lines.push(LineRec {
            offset: line.offset as u64,
            len: line.bytes.len() as u32,
            status,
            hash,
            blocks_start,
            blocks_len,
            prompt_bytes,
            samples,
            codes: if status == LineStatus::Invalid {
                errors
            } else {
                Vec::new()
            },
            tokens: p.tokens,
            unsampled_bytes: p.unsampled_bytes,
        });
    }
}
