//! The first pass of `prepare`: while each line is validated, gather its compact record — where it
//! is, whether it may be sent, its canonical hash and its prompt's chain-hash key.
//!
//! One [`PlanVisitor`] per chunk (see [`crate::validate::LineVisitor`]); records are plain numbers
//! and offsets into the mapped input, never copies of the line.

use crate::input::Line;
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
pub struct PlanVisitor {
    config: KeyConfig,
    canon: CanonScratch,
    prompt: PromptScratch,
    /// Records, one per line of the chunk, in order.
    pub lines: Vec<LineRec>,
    /// Chain hashes of every valid line, back to back.
    pub blocks: Vec<u64>,
    scratch_blocks: Vec<u64>,
    pending: Option<(u64, u128, u32, u32, u64, bool)>,
}

impl PlanVisitor {
    /// A visitor with empty buffers.
    pub fn new(config: KeyConfig) -> Self {
        PlanVisitor {
            config,
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
        .and_then(|(_, v)| v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
        .unwrap_or(1.0);
    if candidates > 1.0 {
        return true;
    }
    match config.field("temperature").and_then(|(_, v)| v.as_f64()) {
        Some(t) => t > 0.0,
        None => true,
    }
}

impl LineVisitor for PlanVisitor {
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
        self.pending = Some((
            index,
            hash,
            start as u32,
            self.scratch_blocks.len() as u32,
            bytes,
            request_samples(request),
        ));
    }

    fn line_done(&mut self, index: u64, line: Line<'_>, kind: LineKind, findings: &[Finding]) {
        let errors: Vec<&'static str> = findings
            .iter()
            .filter(|f| f.code.severity() == Severity::Error)
            .map(|f| f.code.as_str())
            .collect();
        let pending = self.pending.take().filter(|p| p.0 == index);
        let status = match kind {
            LineKind::Blank => LineStatus::Blank,
            _ if !errors.is_empty() || pending.is_none() => LineStatus::Invalid,
            _ => LineStatus::Valid,
        };
        let (hash, blocks_start, blocks_len, prompt_bytes, samples) = match (&pending, status) {
            (Some(p), LineStatus::Valid) => (p.1, p.2, p.3, p.4, p.5),
            _ => {
                if let Some(p) = &pending {
                    // Drop the hashes of a line that is not sent.
                    self.blocks.truncate(p.2 as usize);
                }
                (0, 0, 0, 0, false)
            }
        };
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
        });
    }
}
