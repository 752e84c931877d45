//! What the emulator makes of one job's input file: the import checks, every row's outcome and
//! its synthetic response, the implicit-cache model, the order rows finish in, and the prediction
//! rows as Vertex writes them.
//!
//! One parse per line: the file goes through `validate`'s parallel scan with `prepare`'s
//! [`PlanVisitor`] (canonical hash, prompt chain hashes, token counts), and this module's visitor
//! keeps, beside it, the echoed request (re-serialised with keys sorted at every depth) and the
//! line's other top-level members.

use std::borrow::Cow;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use crate::input::Line;
use crate::models::ModelTable;
use crate::plan::cache::{simulate_rows, SimConfig, SimReport, SimRow};
use crate::plan::records::{LineStatus, PlanVisitor, PromptBlocks, Recs, TokenSetup};
use crate::plan::tokens::memo::MemoCounter;
use crate::plan::tokens::{open_counter, TokenCounter, TokensMode};
use crate::prepare::{BYTES_PER_TOKEN_OFF, BYTES_PER_TOKEN_PREFIX_OFF};
use crate::request::canon::{write_canonical_json, CanonScratch};
use crate::request::diag::{Finding, Scope, Severity};
use crate::request::line::LineKind;
use crate::request::prompt::{DEFAULT_BLOCK_BYTES, DEFAULT_MAX_BLOCKS};
use crate::request::value::JsonRef;
use crate::scan::{scan_bytes, LineVisitor, ValidateOptions};

use super::{CacheConfig, FailureRates, RowLayout};

/// How one row ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A response with candidates.
    Ok,
    /// `promptFeedback.blockReason = SAFETY`, no candidates, empty status (counted as successful).
    Blocked,
    /// An injected `Internal Server Error` (500 INTERNAL).
    Internal,
    /// An injected `Bad Request` (400 INVALID_ARGUMENT).
    InvalidArgument,
    /// The line has a row error by batchline's own checks: `Bad Request` with that message.
    Invalid,
}

impl Outcome {
    /// Whether the row counts as successful (`status` empty).
    pub fn successful(self) -> bool {
        matches!(self, Outcome::Ok | Outcome::Blocked)
    }
}

/// One row of the job, before it is written.
#[derive(Debug, Clone)]
pub struct Row {
    /// Line index in the input file (0-based, blank lines counted).
    pub line: u64,
    /// Canonical hash of the request (what the synthetic response names).
    pub hash: u128,
    /// Prompt tokens (exact, or by bytes when the vocabulary is not available).
    pub prompt_tokens: u64,
    /// Cached tokens under the cache model.
    pub cached_tokens: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// The message of a row error (for [`Outcome::Invalid`]).
    pub message: Option<String>,
    /// Where its echoed request and extra members are in [`JobRows::text`].
    request: std::ops::Range<usize>,
    extras: std::ops::Range<usize>,
}

/// A job's rows, ready to be written in finishing order.
#[derive(Debug)]
pub struct JobRows {
    /// In finishing order (not input order).
    pub rows: Vec<Row>,
    /// The cache model's report over the rows in file order.
    pub cache: SimReport,
    /// `gemma3`, `o200k (estimate)` or `bytes/4` (no vocabulary).
    pub counter: String,
    /// Echoed requests and `,"key":value` pieces of extra members, back to back.
    text: Vec<u8>,
    /// The model id used in `modelVersion`.
    model: String,
}

/// Why the import failed (the job fails with code 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportFailure {
    /// Vertex's message, with batchline's finding.
    pub message: String,
}

/// Options of [`import`].
pub struct ImportOptions<'a> {
    /// The job's model (resource name or id).
    pub model: &'a str,
    /// The model table (minimum cacheable tokens, tokenizer).
    pub models: &'a ModelTable,
    /// Injected failure rates.
    pub rates: FailureRates,
    /// The cache model's parameters.
    pub cache: CacheConfig,
    /// Seed of the shuffles and failure draws.
    pub seed: u64,
    /// Token counter to use (`None`: by bytes, as `prepare --tokens off`).
    pub counter: Option<&'a dyn TokenCounter>,
}

/// The model id of a resource name (`publishers/google/models/gemini-2.5-flash` → `gemini-2.5-flash`).
pub fn model_id(model: &str) -> &str {
    model.rsplit('/').next().unwrap_or(model)
}

/// The token counter the model table names for `model`, if its vocabulary is available.
pub fn counter_for(model: &str, models: &ModelTable) -> Option<std::sync::Arc<dyn TokenCounter>> {
    let facts = models.get(model_id(model)).ok()?;
    open_counter(&facts.tokenizer, None)
        .ok()
        .map(std::sync::Arc::from)
}

/// Where a line's echoed request and extra members are in the visitor's text, and its first
/// error message (`None` for lines without a request).
type LineText = (
    std::ops::Range<usize>,
    std::ops::Range<usize>,
    Option<String>,
);

/// Per-chunk visitor: `prepare`'s records plus the echoed request and the extra members.
struct EmuVisitor<'a> {
    plan: PlanVisitor<'a>,
    canon: CanonScratch,
    text: Vec<u8>,
    /// Per line: (request range, extras range, first error message), `None` without a request.
    lines: Vec<Option<LineText>>,
    pending: Option<(u64, std::ops::Range<usize>)>,
}

impl LineVisitor for EmuVisitor<'_> {
    fn request(&mut self, index: u64, line: Line<'_>, request: JsonRef<'_, '_>) {
        self.plan.request(index, line, request);
        let start = self.text.len();
        write_canonical_json(request, &mut self.canon, &mut self.text);
        self.pending = Some((index, start..self.text.len()));
    }

    fn line_done(&mut self, index: u64, line: Line<'_>, kind: LineKind, findings: &[Finding]) {
        self.plan.line_done(index, line, kind, findings);
        let entry = match self.pending.take().filter(|(i, _)| *i == index) {
            Some((_, request)) if kind != LineKind::Blank => {
                let start = self.text.len();
                write_extras(line.bytes, &mut self.text);
                let message = findings
                    .iter()
                    .find(|f| f.code.severity() == Severity::Error)
                    .map(|f| f.message.clone());
                Some((request, start..self.text.len(), message))
            }
            _ => None,
        };
        self.lines.push(entry);
    }
}

/// The top-level members of a line other than `request` (skipped without building it).
struct Extras(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Extras {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Extras;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Extras, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == "request" {
                        map.next_value::<IgnoredAny>()?;
                    } else {
                        out.push((key.into_owned(), map.next_value::<Value>()?));
                    }
                }
                Ok(Extras(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Appends `,"key":value` for every top-level member of `line` other than `request`, in the
/// line's order (Vertex copies them; values are re-serialised compactly).
fn write_extras(line: &[u8], out: &mut Vec<u8>) {
    let Ok(extras) = serde_json::from_slice::<Extras>(line) else {
        return;
    };
    for (key, value) in extras.0 {
        out.push(b',');
        serde_json::to_writer(&mut *out, &key).expect("a string serialises");
        out.push(b':');
        serde_json::to_writer(&mut *out, &value).expect("a JSON value serialises");
    }
}

/// A well-mixed 64-bit number from `x` (splitmix64's finaliser).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The injected outcome of a row: a deterministic draw from the seed, the request's hash and
/// its line, compared with the cumulative rates (internal, then invalid argument, then safety).
fn draw(rates: &FailureRates, seed: u64, hash: u128, line: u64) -> Outcome {
    let h = mix(seed ^ mix(hash as u64 ^ (hash >> 64) as u64 ^ mix(line)));
    let u = (h >> 11) as f64 / (1u64 << 53) as f64;
    let mut edge = rates.internal;
    if u < edge {
        return Outcome::Internal;
    }
    edge += rates.invalid_argument;
    if u < edge {
        return Outcome::InvalidArgument;
    }
    edge += rates.safety;
    if u < edge {
        return Outcome::Blocked;
    }
    Outcome::Ok
}

/// Checks and processes one job's input bytes: `Err` when the import fails (a whole-job killer,
/// a line that is not a JSON object with a `request`, an empty file), else every row in the order
/// the rows finish.
pub fn import(name: &str, data: &[u8], opts: &ImportOptions<'_>) -> Result<JobRows, ImportFailure> {
    let model = model_id(opts.model);
    let key = PromptBlocks {
        block_bytes: DEFAULT_BLOCK_BYTES,
        max_blocks: DEFAULT_MAX_BLOCKS,
    };
    let memo = opts.counter.map(|c| MemoCounter::new(c).with_word_cuts());
    let setup = memo.as_ref().map(|memo| TokenSetup {
        memo,
        mode: TokensMode::Exact,
        sample_rate: 0.0,
        seed: 0,
    });
    let vopts = ValidateOptions {
        model: if opts.models.get(model).is_ok() {
            model.to_string()
        } else {
            "gemini-2.5-flash".into()
        },
        models: opts.models.clone(),
        max_kept: 1,
        ..Default::default()
    };
    let limits = vopts.request_limits().map_err(|e| ImportFailure {
        message: e.to_string(),
    })?;
    let scan = scan_bytes(name, data, &vopts, limits, || EmuVisitor {
        plan: PlanVisitor::new(key, setup),
        canon: CanonScratch::default(),
        text: Vec::new(),
        lines: Vec::new(),
        pending: None,
    });
    if let Some(d) = scan
        .diagnostics
        .iter()
        .find(|d| d.scope == Scope::Job && d.severity == Severity::Error)
    {
        return Err(ImportFailure {
            message: format!(
                "Failed to import data. Error in line {} at {}: {} ({})",
                d.line,
                d.pointer,
                d.message,
                d.code.as_str()
            ),
        });
    }
    // Join the chunks: records, text, and per-line entries.
    let mut recs = Recs::default();
    let mut text = Vec::new();
    let mut lines = Vec::new();
    for (_, v) in scan.chunks {
        let base = text.len();
        recs.append(v.plan.recs);
        text.extend_from_slice(&v.text);
        lines.extend(v.lines.into_iter().map(|e| {
            e.map(|(r, x, m)| {
                (
                    r.start + base..r.end + base,
                    x.start + base..x.end + base,
                    m,
                )
            })
        }));
    }
    let mut rows = Vec::new();
    for (i, entry) in lines.into_iter().enumerate() {
        match (recs.status[i], entry) {
            (LineStatus::Blank, _) => {}
            (_, None) => {
                return Err(ImportFailure {
                    message: format!(
                        "Failed to import data. Line {} is not a JSON object with a \"request\" member.",
                        i + 1
                    ),
                })
            }
            (status, Some((request, extras, message))) => rows.push((i, status, request, extras, message)),
        }
    }
    if rows.is_empty() {
        return Err(ImportFailure {
            message: "Failed to import data. The input file has no rows.".into(),
        });
    }
    // Prompt tokens and cumulative tokens at block ends, as `prepare` figures them.
    let exact = setup.is_some();
    let block_bytes = key.block_bytes as u64;
    let prompt_tokens = |i: usize| -> u64 {
        if exact {
            recs.tokens[i]
        } else {
            (recs.prompt_bytes[i] as u64).div_ceil(BYTES_PER_TOKEN_OFF)
        }
    };
    let valid: Vec<usize> = rows
        .iter()
        .filter(|r| r.1 == LineStatus::Valid)
        .map(|r| r.0)
        .collect();
    let cum_estimated: Vec<Vec<u32>> = if exact {
        Vec::new()
    } else {
        valid
            .iter()
            .map(|&i| {
                let n = recs.block_range(i).len() as u64;
                let bytes = recs.prompt_bytes[i] as u64;
                (1..=n)
                    .map(|b| {
                        ((b * block_bytes).min(bytes) / BYTES_PER_TOKEN_PREFIX_OFF)
                            .min(u32::MAX as u64) as u32
                    })
                    .collect()
            })
            .collect()
    };
    let sim_rows: Vec<SimRow<'_>> = valid
        .iter()
        .enumerate()
        .map(|(k, &i)| SimRow {
            blocks: recs.blocks_of(i),
            cum_tokens: if exact {
                &recs.cum[recs.block_range(i)]
            } else {
                &cum_estimated[k]
            },
            prompt_tokens: prompt_tokens(i),
        })
        .collect();
    let min_cache_tokens = match (opts.cache.min_cache_tokens, opts.models.get(model)) {
        (Some(m), _) => m,
        (None, Ok(f)) if f.implicit_cache_in_batch => f.min_cache_tokens,
        (None, Ok(_)) => u64::MAX,
        (None, Err(_)) => 2048,
    };
    let sim = SimConfig {
        workers: opts.cache.workers,
        ttl_rounds: opts.cache.ttl_rounds,
        min_cache_tokens,
    };
    let (report, cached) = simulate_rows(&sim_rows, &sim);
    let mut cached_of = vec![0u64; recs.len()];
    for (k, &i) in valid.iter().enumerate() {
        cached_of[i] = cached[k];
    }
    let mut out: Vec<Row> = rows
        .into_iter()
        .map(|(i, status, request, extras, message)| {
            let hash = recs.hash[i];
            let outcome = if status == LineStatus::Valid {
                draw(&opts.rates, opts.seed, hash, i as u64)
            } else {
                Outcome::Invalid
            };
            Row {
                line: i as u64,
                hash,
                prompt_tokens: if status == LineStatus::Valid {
                    prompt_tokens(i)
                } else {
                    0
                },
                cached_tokens: cached_of[i],
                outcome,
                message,
                request,
                extras,
            }
        })
        .collect();
    // Rows finish round by round (W at a time, in file order, as the cache model runs them),
    // in a shuffled order within each round.
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    for round in out.chunks_mut(opts.cache.workers.max(1)) {
        round.shuffle(&mut rng);
    }
    Ok(JobRows {
        rows: out,
        cache: report,
        counter: match opts.counter {
            Some(c) => c.name().to_string(),
            None => format!("bytes/{BYTES_PER_TOKEN_OFF}"),
        },
        text,
        model: model.to_string(),
    })
}

/// The synthetic answer text for a request: names its canonical hash, so a reader can check that
/// every response belongs to its own request.
pub fn answer_text(hash: u128) -> String {
    format!("{ANSWER_PREFIX}{hash:032x}")
}

/// What every synthetic answer starts with, before the request's hash in hex.
const ANSWER_PREFIX: &str = "batchline emulator: response to request ";

/// Output tokens of the synthetic answer (1–64, from the hash).
fn answer_tokens(hash: u128) -> u64 {
    1 + (hash as u64 % 64)
}

impl JobRows {
    /// Writes `rows[range]` as prediction lines (each ending in `\n`) in `layout`, stamped
    /// `processed_time` (RFC 3339 with microseconds and `+00:00`). Runs in parallel.
    pub fn write(
        &self,
        range: std::ops::Range<usize>,
        layout: RowLayout,
        processed_time: &str,
    ) -> Vec<u8> {
        let create_time = processed_time.replace("+00:00", "Z");
        // What every row of the call shares, serialised once.
        let fixed = Fixed {
            time: serde_json::to_string(processed_time).expect("a string serialises"),
            internal: json_string(
                r#"Internal Server Error: {"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}}"#,
            ),
            invalid_argument: json_string(
                r#"Bad Request: {"error": {"code": 400, "message": "Request contains an invalid argument.", "status": "INVALID_ARGUMENT"}}"#,
            ),
            create_time,
        };
        let pieces: Vec<Vec<u8>> = self.rows[range]
            .par_chunks(1024)
            .map(|rows| {
                let mut out = Vec::with_capacity(rows.len() * 512);
                for row in rows {
                    self.write_row(row, layout, &fixed, &mut out);
                }
                out
            })
            .collect();
        pieces.concat()
    }

    fn write_row(&self, row: &Row, layout: RowLayout, fixed: &Fixed, out: &mut Vec<u8>) {
        use std::io::Write as _;
        let request = &self.text[row.request.clone()];
        let extras = &self.text[row.extras.clone()];
        let invalid;
        let status: &str = match row.outcome {
            Outcome::Ok | Outcome::Blocked => r#""""#,
            Outcome::Internal => &fixed.internal,
            Outcome::InvalidArgument => &fixed.invalid_argument,
            Outcome::Invalid => {
                invalid = json_string(&format!(
                    r#"Bad Request: {{"error": {{"code": 400, "message": {}, "status": "INVALID_ARGUMENT"}}}}"#,
                    serde_json::to_string(
                        row.message
                            .as_deref()
                            .unwrap_or("Request contains an invalid argument.")
                    )
                    .expect("a string serialises")
                ));
                &invalid
            }
        };
        let response = |out: &mut Vec<u8>| {
            let create_time = &fixed.create_time;
            let id = (row.hash >> 64) as u64;
            let model = &self.model;
            match row.outcome {
                Outcome::Ok => {
                    let c = answer_tokens(row.hash);
                    let _ = write!(
                        out,
                        r#"{{"candidates":[{{"content":{{"parts":[{{"text":"{ANSWER_PREFIX}{:032x}"}}],"role":"model"}},"finishReason":"STOP"}}],"createTime":"{create_time}","modelVersion":"{model}","responseId":"{id:016x}","usageMetadata":{{"#,
                        row.hash
                    );
                    if row.cached_tokens > 0 {
                        let _ = write!(out, r#""cachedContentTokenCount":{},"#, row.cached_tokens);
                    }
                    let p = row.prompt_tokens;
                    let _ = write!(
                        out,
                        r#""candidatesTokenCount":{c},"promptTokenCount":{p},"promptTokensDetails":[{{"modality":"TEXT","tokenCount":{p}}}],"totalTokenCount":{},"trafficType":"ON_DEMAND"}}}}"#,
                        p + c
                    );
                }
                Outcome::Blocked => {
                    let p = row.prompt_tokens;
                    let _ = write!(
                        out,
                        r#"{{"createTime":"{create_time}","modelVersion":"{model}","promptFeedback":{{"blockReason":"SAFETY"}},"responseId":"{id:016x}","usageMetadata":{{"promptTokenCount":{p},"totalTokenCount":{p},"trafficType":"ON_DEMAND"}}}}"#,
                    );
                }
                _ => out.extend_from_slice(b"{}"),
            }
        };
        let time = fixed.time.as_bytes();
        out.push(b'{');
        match layout {
            RowLayout::Current => {
                out.extend_from_slice(b"\"request\":");
                out.extend_from_slice(request);
                out.extend_from_slice(b",\"status\":");
                out.extend_from_slice(status.as_bytes());
                out.extend_from_slice(b",\"response\":");
                response(out);
                out.extend_from_slice(b",\"processed_time\":");
                out.extend_from_slice(time);
            }
            RowLayout::Y2025 => {
                out.extend_from_slice(b"\"status\":");
                out.extend_from_slice(status.as_bytes());
                out.extend_from_slice(b",\"processed_time\":");
                out.extend_from_slice(time);
                out.extend_from_slice(b",\"request\":");
                out.extend_from_slice(request);
                out.extend_from_slice(b",\"response\":");
                response(out);
            }
        }
        out.extend_from_slice(extras);
        out.extend_from_slice(b"}\n");
    }
}

/// What every row written by one [`JobRows::write`] call shares, serialised once.
struct Fixed {
    /// `processed_time` as a JSON string.
    time: String,
    /// `createTime` (the time with `Z`).
    create_time: String,
    /// The `status` of an injected 500, as a JSON string.
    internal: String,
    /// The `status` of an injected 400, as a JSON string.
    invalid_argument: String,
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

#[cfg(test)]
#[path = "rows_tests.rs"]
mod tests;
