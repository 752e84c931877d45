//! OpenAI's o200k encoding (`tiktoken-rs`), for models whose vocabulary batchline does not have
//! (Google's SDK maps gemini-3.1/3.5 to Gemma 4, which no registry ships), and for validate's
//! context-window estimate.
//!
//! Only an estimate: on real text o200k counts 6–8% fewer tokens than Gemma 3 on English, 14–19%
//! fewer on code, and up to 47% more on Japanese and Indic scripts, so no fixed factor corrects
//! it. Every figure from this counter is labelled an estimate.
//!
//! **Bounded input.** `tiktoken-rs` splits text with a backtracking regex (`fancy-regex`) whose
//! stack grows with the length of one match: a run of about a million letters or spaces overflows
//! it, and `encode_ordinary` unwraps that error (a panic). Its merge step is also quadratic in the
//! length of one match. So this module never hands it more than [`MAX_PIECE`] bytes at once: text
//! is cut with [`super::blocks`] (after newline runs, else before a space run, else at a
//! character boundary), which moves an estimate by a token or so per cut. Should the library
//! still fail on a piece, that piece counts as its byte length (an upper bound: every o200k
//! token covers at least one byte) and the process carries on.

use tiktoken_rs::CoreBPE;

use super::{blocks, TokenCounter, TokenizerError};

/// The most bytes handed to `tiktoken-rs` at once (a thousandth of what overflows its regex).
pub const MAX_PIECE: usize = 4096;

/// o200k token counts, labelled `o200k (estimate)`.
pub struct O200kCounter {
    bpe: CoreBPE,
}

impl std::fmt::Debug for O200kCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("O200kCounter")
    }
}

/// The library failed on one piece of text (its panic, caught).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PieceFailed {
    /// Bytes of the piece.
    pub bytes: usize,
}

impl O200kCounter {
    /// Builds the encoder from the vocabulary compiled into `tiktoken-rs` (no file, no network;
    /// about a quarter of a second).
    pub fn new() -> Result<Self, TokenizerError> {
        let bpe = tiktoken_rs::o200k_base().map_err(|e| TokenizerError::Load {
            what: "o200k_base".to_owned(),
            message: e.to_string(),
        })?;
        Ok(O200kCounter { bpe })
    }

    /// o200k tokens of one piece of at most [`MAX_PIECE`] bytes (longer pieces are an error
    /// without calling the library). A panic inside `tiktoken-rs` is caught and returned as an
    /// error (this crate builds with `panic = "unwind"`, which that relies on).
    pub fn count_piece(&self, piece: &str) -> Result<u64, PieceFailed> {
        let failed = PieceFailed { bytes: piece.len() };
        if piece.len() > MAX_PIECE {
            return Err(failed);
        }
        if piece.is_empty() {
            return Ok(0);
        }
        std::panic::catch_unwind(|| self.bpe.encode_ordinary(piece).len() as u64)
            .map_err(|_| failed)
    }

    /// The pieces [`count`](TokenCounter::count) hands the library, in order: `text` cut as in
    /// the module documentation, each at most [`MAX_PIECE`] bytes, together covering `text`.
    pub fn pieces(text: &str) -> impl Iterator<Item = &str> {
        // `blocks` cuts valid UTF-8 at character boundaries only, so every `get` succeeds.
        blocks(text.as_bytes(), MAX_PIECE).filter_map(|range| text.get(range))
    }

    /// [`count_piece`](Self::count_piece), or the piece's byte length (an upper bound: every
    /// o200k token covers at least one byte) where the library failed on it.
    pub fn count_piece_or_bytes(&self, piece: &str) -> u64 {
        self.count_piece(piece).unwrap_or(piece.len() as u64)
    }
}

impl TokenCounter for O200kCounter {
    fn name(&self) -> &str {
        "o200k (estimate)"
    }

    fn exact(&self) -> bool {
        false
    }

    /// o200k tokens of `text`, special-token text (`<|endoftext|>`) counted as ordinary text,
    /// summed over pieces of at most [`MAX_PIECE`] bytes (see the module documentation).
    fn count(&self, text: &str) -> u64 {
        Self::pieces(text)
            .map(|piece| self.count_piece_or_bytes(piece))
            .sum()
    }
}
