//! Token counting: one [`TokenCounter`] seam, Gemini's own vocabulary offline, and block
//! memoisation so that text shared by many requests is tokenised once.
//!
//! - [`Gemma3Counter`] (`gemma3`): the Gemma 3 SentencePiece vocabulary (262,144 pieces) that
//!   Gemini 2.0, 2.5 and 3.0 count with. Exact. The 4.69 MB vocabulary file is not part of the
//!   crate: [`locate_model`] finds it (an explicit `--tokenizer-model PATH`, else the cache folder
//!   [`cache_dir`]) and checks its sha256; `batchline fetch-tokenizer` ([`fetch::fetch_model`])
//!   puts it into the cache, as does `benches/fetch_tokenizer.sh` (for CI, through cargo).
//! - [`O200kCounter`] (`o200k`): OpenAI's o200k encoding, for models whose vocabulary is not
//!   available. An estimate ([`TokenCounter::exact`] is `false`): it is 6–19% low on English and
//!   code and up to 47% high on Japanese and Indic scripts, so no fixed factor corrects it.
//! - [`MemoCounter`]: cuts text after each run of newlines (Gemma 3 never merges a token across
//!   one), counts each distinct block once and sums; also cumulative counts at byte offsets for
//!   the cache prediction.
//!
//! `docs/tokens.md` describes all of this for users.

pub mod fetch;
pub mod gemma;
pub mod memo;
pub mod o200k;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

pub use gemma::{cache_dir, locate_model, Gemma3Counter, MODEL_FILE_NAME, MODEL_SHA256};
pub use memo::{
    blocks, blocks_with, Blocks, MemoCounter, MemoStats, SampleTally, DEFAULT_MAX_BLOCK,
    DEFAULT_MAX_ENTRIES,
};
pub use o200k::O200kCounter;

/// Counts the tokens of a piece of prompt text, as the model's tokenizer would: no BOS/EOS, no
/// turn or role tokens, nothing added around the text.
///
/// Implementations are shared by reference across threads (rayon), hence `Send + Sync`.
pub trait TokenCounter: Send + Sync {
    /// A name for reports, e.g. `gemma3` or `o200k (estimate)`.
    fn name(&self) -> &str;

    /// Whether counts are the model's own (`true`) or an estimate (`false`). Every report that
    /// shows a token figure says which.
    fn exact(&self) -> bool;

    /// The number of tokens of `text`.
    fn count(&self, text: &str) -> u64;

    /// The character pairs this tokenizer may join into one token, when it knows them: text cut
    /// between two characters that are not such a pair counts exactly the same as a whole. `None`
    /// (the default) when the tokenizer gives no such guarantee.
    fn joined_pairs(&self) -> Option<&JoinedPairs> {
        None
    }

    /// [`count`](Self::count) for bytes: valid UTF-8 is counted as is; invalid sequences (which
    /// JSON strings cannot produce, so only from a caller's bug or a cut inside a character)
    /// count as U+FFFD each, like a lossy decode.
    fn count_bytes(&self, text: &[u8]) -> u64 {
        match std::str::from_utf8(text) {
            Ok(s) => self.count(s),
            Err(_) => self.count(&String::from_utf8_lossy(text)),
        }
    }
}

impl<T: TokenCounter + ?Sized> TokenCounter for &T {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn exact(&self) -> bool {
        (**self).exact()
    }
    fn count(&self, text: &str) -> u64 {
        (**self).count(text)
    }
    fn joined_pairs(&self) -> Option<&JoinedPairs> {
        (**self).joined_pairs()
    }
    fn count_bytes(&self, text: &[u8]) -> u64 {
        (**self).count_bytes(text)
    }
}

impl<T: TokenCounter + ?Sized> TokenCounter for Box<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn exact(&self) -> bool {
        (**self).exact()
    }
    fn count(&self, text: &str) -> u64 {
        (**self).count(text)
    }
    fn joined_pairs(&self) -> Option<&JoinedPairs> {
        (**self).joined_pairs()
    }
    fn count_bytes(&self, text: &[u8]) -> u64 {
        (**self).count_bytes(text)
    }
}

/// Pairs of characters that occur next to each other inside some piece of a vocabulary
/// (`▁` read as a space). A SentencePiece BPE token is a piece, so no token of any text spans two
/// adjacent characters that are not such a pair: cutting there and summing the two counts gives
/// the whole text's count exactly (merges on either side of the cut are independent, and
/// user-defined pieces, matched first, cannot span it either).
#[derive(Debug, Default, Clone)]
pub struct JoinedPairs {
    pairs: std::collections::HashSet<u64>,
}

impl JoinedPairs {
    /// The pairs of `pieces` (each piece's text; `▁` is read as a space).
    pub fn from_pieces<'p>(pieces: impl IntoIterator<Item = &'p str>) -> Self {
        let mut pairs = std::collections::HashSet::new();
        for piece in pieces {
            let mut chars = piece.chars().map(|c| if c == '\u{2581}' { ' ' } else { c });
            let Some(mut prev) = chars.next() else {
                continue;
            };
            for c in chars {
                pairs.insert(Self::key(prev, c));
                prev = c;
            }
        }
        JoinedPairs { pairs }
    }

    /// Whether `a` followed by `b` occurs inside some piece.
    pub fn joined(&self, a: char, b: char) -> bool {
        self.pairs.contains(&Self::key(a, b))
    }

    /// How many distinct pairs there are.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    fn key(a: char, b: char) -> u64 {
        (u64::from(a) << 32) | u64::from(b)
    }
}

/// Opens the counter named in the model table's `tokenizer` column: `gemma3` loads the Gemma 3
/// vocabulary (see [`locate_model`] for where from; `explicit` is `--tokenizer-model`), `o200k`
/// the o200k estimate. Anything else is an error naming the known tokenizers.
pub fn open_counter(
    tokenizer: &str,
    explicit: Option<&std::path::Path>,
) -> Result<Box<dyn TokenCounter>, TokenizerError> {
    match tokenizer {
        "gemma3" => Ok(Box::new(Gemma3Counter::open(explicit)?)),
        "o200k" => Ok(Box::new(O200kCounter::new()?)),
        other => Err(TokenizerError::UnknownTokenizer(other.to_owned())),
    }
}

/// What `--tokens` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TokensMode {
    /// Tokenise every distinct block (memoised): exact counts for `gemma3` models.
    #[default]
    Exact,
    /// Tokenise a seeded sample of distinct blocks and extrapolate the rest by bytes; reports
    /// state the sample size. See [`MemoCounter::count_stream_sampled`].
    Sample,
    /// No tokenizer: sizes are judged by bytes (conservatively) and no token figure is shown.
    Off,
}

impl TokensMode {
    /// `exact`, `sample` or `off`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokensMode::Exact => "exact",
            TokensMode::Sample => "sample",
            TokensMode::Off => "off",
        }
    }
}

impl fmt::Display for TokensMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TokensMode {
    type Err = TokenizerError;

    /// Parses `exact`, `sample` or `off` (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [TokensMode::Exact, TokensMode::Sample, TokensMode::Off]
            .into_iter()
            .find(|m| s.eq_ignore_ascii_case(m.as_str()))
            .ok_or_else(|| TokenizerError::UnknownMode(s.to_owned()))
    }
}

/// Why a tokenizer could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenizerError {
    /// The Gemma 3 vocabulary is neither at the explicit path nor in the cache folder.
    #[error(
        "the Gemma 3 tokenizer vocabulary `{MODEL_FILE_NAME}` was not found (looked in: {}); \
         fetch it once with `batchline fetch-tokenizer` (puts it into the cache folder), \
         or pass --tokenizer-model PATH, or use --tokens off",
        .searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    ModelNotFound {
        /// Where it was looked for, in order.
        searched: Vec<PathBuf>,
    },
    /// The file exists but is not the expected vocabulary: for a file named with
    /// `--tokenizer-model` (`explicit`) the message says what is wrong with it, never to delete
    /// it; for the cached copy, that it is damaged and `batchline fetch-tokenizer` replaces it.
    #[error("{}", checksum_message(.path, *.explicit, *.bytes, .expected, .actual))]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// Whether the user named it (`--tokenizer-model`) rather than it being the cached copy.
        explicit: bool,
        /// Its size in bytes.
        bytes: u64,
        /// The sha256 it should have.
        expected: &'static str,
        /// The sha256 it has.
        actual: String,
    },
    /// The file could not be read.
    #[error("{path}: {source}", path = .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The vocabulary could not be turned into a tokenizer.
    #[error("{what}: cannot build the tokenizer: {message}")]
    Load {
        /// The file or encoding.
        what: String,
        /// The tokenizer library's message.
        message: String,
    },
    /// A `tokenizer` name that this build does not know.
    #[error("unknown tokenizer `{0}`: expected `gemma3` or `o200k`")]
    UnknownTokenizer(String),
    /// A `--tokens` value other than `exact`, `sample`, `off`.
    #[error("unknown --tokens mode `{0}`: expected `exact`, `sample` or `off`")]
    UnknownMode(String),
}

/// The size in bytes of [`MODEL_FILE_NAME`] as published.
pub const MODEL_BYTES: u64 = 4_689_074;

fn checksum_message(
    path: &std::path::Path,
    explicit: bool,
    bytes: u64,
    expected: &str,
    actual: &str,
) -> String {
    let path = path.display();
    if explicit {
        let what = if bytes == MODEL_BYTES {
            format!("it has the vocabulary's size ({MODEL_BYTES} bytes) but sha256 {actual}, so it is a modified or damaged copy")
        } else {
            format!("it has {bytes} bytes and sha256 {actual}, where the vocabulary has {MODEL_BYTES} bytes")
        };
        format!(
            "{path}: not the Gemma 3 vocabulary `{MODEL_FILE_NAME}` (sha256 {expected}): {what}; \
             pass that file to --tokenizer-model, or leave the option out to use the cache folder \
             (`batchline fetch-tokenizer` fills it)"
        )
    } else {
        format!(
            "{path}: the cached Gemma 3 vocabulary is damaged ({bytes} bytes, sha256 {actual}, \
             expected {MODEL_BYTES} bytes with sha256 {expected}); `batchline fetch-tokenizer` \
             replaces it"
        )
    }
}

/// Why `prepare` and `stats` estimate by bytes when the vocabulary was not asked for explicitly
/// and could not be opened: not found (fetch it once), or found but unusable (the error says
/// what is wrong: a damaged cached copy is called damaged).
pub fn unavailable_note(tokenizer: &str, err: &TokenizerError, bytes_per_token: u64) -> String {
    let why = match err {
        TokenizerError::ModelNotFound { .. } => format!(
            "the {tokenizer} vocabulary is not available (run `batchline fetch-tokenizer` once, or \
             pass --tokenizer-model)"
        ),
        other => format!("the {tokenizer} vocabulary cannot be used: {other}"),
    };
    format!("{why}: sizes estimated at {bytes_per_token} bytes per token")
}

/// Tokenizer errors as the CLI reports them. A vocabulary that is missing or is not the right
/// file (named with `--tokenizer-model`, or the cached copy) is a usage error, exit 2: the fix is
/// an argument or a one-time `fetch-tokenizer`, and retrying cannot help. Only a file that exists
/// but cannot be read is an I/O error (exit 3).
impl From<TokenizerError> for crate::Error {
    fn from(e: TokenizerError) -> Self {
        match e {
            TokenizerError::Io { path, source } => crate::Error::Io { path, source },
            other => crate::Error::Usage(other.to_string()),
        }
    }
}
