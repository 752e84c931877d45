//! Gemini's own vocabulary: the Gemma 3 SentencePiece model, run by the pure-Rust `kitoken`.
//!
//! Google's python-genai SDK counts Gemini 2.0/2.5/3.0 prompts locally with this vocabulary
//! (`gemma3_cleaned_262144_v2.spiece.model` from google/gemma_pytorch, Apache-2.0): the text of
//! each text part, function-call names and arguments, tool declarations and the system
//! instruction, each encoded alone with no BOS/EOS and no turn tokens. [`Gemma3Counter::count`]
//! is that `encode` for one text.
//!
//! The file (4.69 MB) is not committed: like the SDK, batchline keeps it in a cache folder
//! ([`cache_dir`]), checked by sha256 ([`MODEL_SHA256`]) each time it is loaded, and
//! `--tokenizer-model PATH` names a copy explicitly on machines without the cache. Counting never
//! downloads: `batchline fetch-tokenizer` (see [`super::fetch`]) or `benches/fetch_tokenizer.sh`
//! fills the cache (from the crates.io package `gemini-tokenizer` 0.2.0, which ships the same
//! bytes).

use std::path::{Path, PathBuf};

use kitoken::{Definition, Kitoken, SpecialTokenKind};
use sha2::{Digest, Sha256};

use super::{JoinedPairs, TokenCounter, TokenizerError};

/// The vocabulary's file name, in the cache folder and in google/gemma_pytorch.
pub const MODEL_FILE_NAME: &str = "gemma3_cleaned_262144_v2.spiece.model";

/// The sha256 (lower-case hex) of [`MODEL_FILE_NAME`] as published (gemma_pytorch commit
/// 014acb7a; the same bytes as `resources/` of the crates.io package `gemini-tokenizer` 0.2.0).
pub const MODEL_SHA256: &str = "1299c11d7cf632ef3b4e11937501358ada021bbdf7c47638d13c0ee982f2e79c";

/// Which special pieces are matched in text. The Gemma 3 model's *user-defined* pieces (newline,
/// tab and space runs, `<start_of_turn>`, some HTML tags, `<unusedN>`) are always matched by
/// SentencePiece's `encode`; kitoken converts them to [`SpecialTokenKind::Priority`]. Control
/// pieces (`<bos>`, `<eos>`, `<pad>`) and `<unk>` are not matched: in text they are plain
/// characters, as in SentencePiece.
const MATCHED_SPECIALS: &[SpecialTokenKind] = &[SpecialTokenKind::Priority];

/// The most bytes [`Gemma3Counter::count`] hands kitoken at once (its merge state grows with the
/// text: tens of bytes per character).
const MAX_PIECE: usize = 64 << 10;

/// Put before every text handed to kitoken, and its one token taken off the result.
///
/// kitoken returns a part that is itself a vocabulary piece as that one token without merging,
/// while SentencePiece only gets there by merges, and for four pieces (`▁YYYY`, `▁yyyy`,
/// `▁::::::::`, `▁diffformul`) its merges stop at 3–4 tokens. With this character in front, the
/// part is never a piece, so kitoken merges as SentencePiece does. `⁂` (U+2042) is a piece of
/// its own and occurs in no other piece (checked against the vocabulary by
/// `benches/gemma3_pieces.py`), so it never merges with the text and adds exactly one token.
const SENTINEL: &str = "\u{2042}";

/// The cache folder for downloaded tokenizer data: `$BATCHLINE_CACHE_DIR` if set, else
/// `$XDG_CACHE_HOME/batchline` (when absolute), else `$HOME/.cache/batchline`. `None` when none
/// of these variables is usable.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var("BATCHLINE_CACHE_DIR") {
        return Some(dir);
    }
    if let Some(dir) = var("XDG_CACHE_HOME").filter(|d| d.is_absolute()) {
        return Some(dir.join("batchline"));
    }
    var("HOME").map(|home| home.join(".cache").join("batchline"))
}

/// Finds the Gemma 3 vocabulary and checks its sha256: `explicit` (from `--tokenizer-model`)
/// when given, and then nothing else; otherwise [`MODEL_FILE_NAME`] in [`cache_dir`].
///
/// Errors: [`TokenizerError::ModelNotFound`] (naming where it looked and the fetch script),
/// [`TokenizerError::ChecksumMismatch`], [`TokenizerError::Io`].
pub fn locate_model(explicit: Option<&Path>) -> Result<PathBuf, TokenizerError> {
    find_and_read(explicit, cache_dir()).map(|(path, _)| path)
}

/// [`locate_model`] with the cache folder given, returning the verified bytes too.
fn find_and_read(
    explicit: Option<&Path>,
    cache: Option<PathBuf>,
) -> Result<(PathBuf, Vec<u8>), TokenizerError> {
    let candidate = match explicit {
        Some(path) => path.to_path_buf(),
        None => match cache {
            Some(dir) => dir.join(MODEL_FILE_NAME),
            None => return Err(TokenizerError::ModelNotFound { searched: vec![] }),
        },
    };
    let bytes = match std::fs::read(&candidate) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(TokenizerError::ModelNotFound {
                searched: vec![candidate],
            })
        }
        Err(source) => {
            return Err(TokenizerError::Io {
                path: candidate,
                source,
            })
        }
    };
    let actual = sha256_hex(&bytes);
    if actual != MODEL_SHA256 {
        return Err(TokenizerError::ChecksumMismatch {
            path: candidate,
            explicit: explicit.is_some(),
            bytes: bytes.len() as u64,
            expected: MODEL_SHA256,
            actual,
        });
    }
    Ok((candidate, bytes))
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push(char::from_digit(u32::from(b >> 4), 16).expect("nibble"));
        hex.push(char::from_digit(u32::from(b & 15), 16).expect("nibble"));
    }
    hex
}

/// Exact token counts for Gemini 2.0/2.5/3.0 models (the `gemma3` tokenizer).
pub struct Gemma3Counter {
    tokenizer: Kitoken,
    pairs: JoinedPairs,
    path: PathBuf,
}

impl std::fmt::Debug for Gemma3Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gemma3Counter")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Gemma3Counter {
    /// Locates ([`locate_model`]), verifies and loads the vocabulary (about a second).
    pub fn open(explicit: Option<&Path>) -> Result<Self, TokenizerError> {
        let (path, bytes) = find_and_read(explicit, cache_dir())?;
        Self::from_verified(path, &bytes)
    }

    /// Loads the vocabulary from `path` (sha256 checked), with no search.
    pub fn from_file(path: &Path) -> Result<Self, TokenizerError> {
        let (path, bytes) = find_and_read(Some(path), None)?;
        Self::from_verified(path, &bytes)
    }

    /// Loads the vocabulary from `dir/gemma3_cleaned_262144_v2.spiece.model`, as if `dir` were
    /// the cache folder (for tests and embedders that manage their own cache).
    pub fn from_cache_dir(dir: &Path) -> Result<Self, TokenizerError> {
        let (path, bytes) = find_and_read(None, Some(dir.to_path_buf()))?;
        Self::from_verified(path, &bytes)
    }

    fn from_verified(path: PathBuf, bytes: &[u8]) -> Result<Self, TokenizerError> {
        let load_error = |message: String| TokenizerError::Load {
            what: path.display().to_string(),
            message,
        };
        let mut definition =
            Definition::from_sentencepiece_slice(bytes).map_err(|e| load_error(e.to_string()))?;
        // kitoken splits the text before each run of `▁` (a space) when the model keeps extra
        // whitespace, and merges within each part only. SentencePiece's BPE does not split: it
        // merges over the whole text, and this vocabulary has pieces across a space (`>▁</`,
        // `.▁`). So: no split; user-defined pieces (newline, tab and space runs, tags) still
        // come out first, as SentencePiece freezes them.
        definition.config.split.clear();
        let pairs = {
            let kitoken::Model::BytePair { vocab, .. } = &definition.model else {
                return Err(load_error("not a BPE vocabulary".to_owned()));
            };
            let texts = vocab.iter().map(|t| &t.bytes[..]);
            // User-defined pieces only: control pieces (`<bos>`) are plain characters in text.
            let specials = definition
                .specials
                .iter()
                .filter(|t| MATCHED_SPECIALS.contains(&t.kind))
                .map(|t| &t.bytes[..]);
            JoinedPairs::from_pieces(
                texts
                    .chain(specials)
                    .filter_map(|b| std::str::from_utf8(b).ok()),
            )
        };
        let tokenizer =
            Kitoken::from_definition(definition).map_err(|e| load_error(e.to_string()))?;
        Ok(Gemma3Counter {
            tokenizer,
            pairs,
            path,
        })
    }

    /// The vocabulary file this counter was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The token ids of `text` (no BOS/EOS), for tests and diagnostics.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        if text.is_empty() {
            return Vec::new();
        }
        let mut ids = self.encode_guarded(text).unwrap_or_default();
        if !ids.is_empty() {
            ids.remove(0);
        }
        ids
    }

    /// Tokens of one piece of at most [`MAX_PIECE`] bytes; its byte length (an upper bound
    /// under byte fallback) should the tokenizer fail.
    fn count_piece(&self, text: &str) -> u64 {
        match self.encode_guarded(text) {
            Ok(ids) => ids.len().saturating_sub(1) as u64,
            Err(_) => text.len() as u64,
        }
    }

    /// kitoken's ids of [`SENTINEL`] followed by `text`.
    fn encode_guarded(&self, text: &str) -> Result<Vec<u32>, kitoken::EncodeError> {
        let mut guarded = String::with_capacity(SENTINEL.len() + text.len());
        guarded.push_str(SENTINEL);
        guarded.push_str(text);
        self.tokenizer.encode(&guarded, MATCHED_SPECIALS)
    }
}

impl TokenCounter for Gemma3Counter {
    fn name(&self) -> &str {
        "gemma3"
    }

    fn exact(&self) -> bool {
        true
    }

    /// The character pairs inside the vocabulary's pieces (33,873; see [`JoinedPairs`]).
    fn joined_pairs(&self) -> Option<&JoinedPairs> {
        Some(&self.pairs)
    }

    /// The SentencePiece token count of `text`. The vocabulary has byte fallback, so every
    /// text encodes; should the tokenizer ever fail, the UTF-8 byte length (an upper bound under
    /// byte fallback) is returned instead. Text over 64 KiB is counted in pieces cut as
    /// [`super::blocks_with`] cuts (after newline runs, else between unjoined characters): the
    /// same count, unless a 32 KiB stretch has no such place (a run of one letter).
    fn count(&self, text: &str) -> u64 {
        if text.is_empty() {
            return 0;
        }
        if text.len() <= MAX_PIECE {
            return self.count_piece(text);
        }
        // Longer text is cut as the block memo cuts it (exact but for counted forced cuts,
        // which need a 64 KiB run without an unjoined pair), so that kitoken's per-character
        // merge state stays bounded.
        super::blocks_with(text.as_bytes(), MAX_PIECE, Some(&self.pairs))
            .map(|range| match text.get(range.clone()) {
                Some(piece) => self.count_piece(piece),
                None => range.len() as u64,
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_hex_of_abc() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn missing_model_names_the_script_and_the_place() {
        let dir = std::env::temp_dir().join("batchline-tokens-unit-missing");
        let err = find_and_read(None, Some(dir.clone())).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("batchline fetch-tokenizer"), "{msg}");
        assert!(
            msg.contains(&dir.join(MODEL_FILE_NAME).display().to_string()),
            "{msg}"
        );
    }

    #[test]
    fn wrong_bytes_are_a_checksum_mismatch() {
        let path = std::env::temp_dir().join(format!(
            "batchline-tokens-unit-wrong-{}.model",
            std::process::id()
        ));
        std::fs::write(&path, b"not a model").unwrap();
        let err = find_and_read(Some(&path), None).unwrap_err();
        std::fs::remove_file(&path).ok();
        assert!(
            matches!(err, TokenizerError::ChecksumMismatch { .. }),
            "{err}"
        );
        assert!(err.to_string().contains(MODEL_SHA256));
    }
}
