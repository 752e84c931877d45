//! Seeded, deterministic generator of realistic Vertex batch-input corpora.
//!
//! Benchmarks (criterion and the whole-program throughput script) and the tests of dedup,
//! prefix-sort and sharding need large JSONL inputs whose shape resembles what users feed
//! batchline: long shared system instructions and few-shot blocks, shared documents asked many
//! questions, unique prompts, non-ASCII text and escapes, and a share of exact and re-serialised
//! duplicates. This module owns that generator and nothing else; it does not read or validate
//! JSONL (that is `input` and `request`).
//!
//! Every line is `{"request": <GenerateContentRequest>}`, sometimes with a top-level
//! `"id": "req-000123"` member. Every request is valid for Vertex and every key path keeps one
//! JSON type across the whole file, so a generated file passes the whole-job checks. The same
//! [`CorpusOptions`] always produce byte-identical output (ChaCha8 seeded from
//! [`CorpusOptions::seed`]; no clocks, threads or hash-map order). Lengths are drawn with
//! `f64::powf`, whose last bit may differ between math libraries, so byte-identity is promised per
//! platform. `docs/corpus.md` describes the mix.
//!
//! ```no_run
//! use batchline::corpus::{generate, CorpusOptions, Shape};
//! let file = std::fs::File::create("corpus.jsonl")?;
//! let opts = CorpusOptions { seed: 7, shape: Shape::Short, target_bytes: 64 << 20 };
//! let report = generate(&opts, file)?;
//! println!("{} lines, {} unique requests", report.lines, report.unique_requests);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use generator::{Generator, LineKind};

/// The kind of corpus to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// Lines of about 1.5 KB on average; about 8% of lines duplicate an earlier request.
    Short,
    /// Lines of about 10 KB on average, dominated by long (4–60 KB) shared documents; about 5% of
    /// lines duplicate an earlier request.
    Long,
}

impl Shape {
    /// The name [`Shape::from_str`] accepts: `"short"` or `"long"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Short => "short",
            Shape::Long => "long",
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`Shape`] from a string other than `short` or `long`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown corpus shape `{0}`: expected `short` or `long`")]
pub struct ParseShapeError(String);

impl FromStr for Shape {
    type Err = ParseShapeError;

    /// Parses `short` or `long` (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("short") {
            Ok(Shape::Short)
        } else if s.eq_ignore_ascii_case("long") {
            Ok(Shape::Long)
        } else {
            Err(ParseShapeError(s.to_owned()))
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusOptions {
    /// Seed of the generator: equal options give byte-identical output.
    pub seed: u64,
    /// Line-size and content mix.
    pub shape: Shape,
    /// Size in bytes: lines are written until the output reaches this size, so the output
    /// overshoots it by less than one line. `0` writes nothing.
    pub target_bytes: u64,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CorpusReport {
    /// Lines written (each ends with `\n`).
    pub lines: u64,
    /// Bytes written, newlines included.
    pub bytes: u64,
    /// Lines that are byte-for-byte copies of an earlier line.
    pub exact_duplicates: u64,
    /// Lines whose `request` equals an earlier line's request after canonicalisation (key order,
    /// whitespace, string escapes) but whose bytes differ from every earlier line.
    pub reserialized_duplicates: u64,
    /// Distinct requests: `lines - exact_duplicates - reserialized_duplicates`.
    pub unique_requests: u64,
}

impl CorpusReport {
    /// Lines that repeat an earlier request, exactly or re-serialised.
    pub fn duplicates(&self) -> u64 {
        self.exact_duplicates + self.reserialized_duplicates
    }
}

/// Writes a corpus to `out` (wrapped in a 1 MiB `BufWriter`, so a bare `File` is fine) and
/// reports what was written.
///
/// Deterministic: the same options always produce the same bytes. Stops after the line that
/// brings the output to at least `opts.target_bytes`.
pub fn generate<W: Write>(opts: &CorpusOptions, out: W) -> io::Result<CorpusReport> {
    let mut writer = io::BufWriter::with_capacity(1 << 20, out);
    let mut generator = Generator::new(opts.seed, opts.shape);
    let mut report = CorpusReport::default();
    while report.bytes < opts.target_bytes {
        let kind = generator.next_line(report.lines + 1);
        writer.write_all(&generator.out)?;
        report.lines += 1;
        report.bytes += generator.out.len() as u64;
        match kind {
            LineKind::Fresh => report.unique_requests += 1,
            LineKind::Exact => report.exact_duplicates += 1,
            LineKind::Reserialized => report.reserialized_duplicates += 1,
        }
    }
    writer.flush()?;
    Ok(report)
}

/// [`generate`] into memory, for benchmarks and tests.
pub fn generate_vec(opts: &CorpusOptions) -> (Vec<u8>, CorpusReport) {
    let mut buf = Vec::with_capacity(opts.target_bytes.min(1 << 30) as usize + (64 << 10));
    let report = generate(opts, &mut buf).expect("writing to a Vec never fails");
    (buf, report)
}

// ---------------------------------------------------------------------------------------------
// Shape parameters

/// The mix of one shape. Sizes are in bytes of JSON-escaped text.
struct Params {
    /// Share of fresh lines that belong to a system-instruction family.
    family_share: f64,
    /// Share of fresh lines that ask a question about a shared document.
    document_share: f64,
    /// System-instruction length of each family in KB, by popularity rank (Zipf-picked).
    family_system_kb: &'static [f64],
    /// Few-shot user/model pairs per family (inclusive range).
    shot_pairs: (u32, u32),
    /// Length of one few-shot example.
    shot_len: (usize, usize),
    /// Length of the unique last user turn of a family line.
    family_question_len: (usize, usize),
    /// Documents in circulation at any time.
    document_slots: usize,
    /// Document length, log-uniform with exponent `document_skew` (> 1 favours short ones).
    document_len: (usize, usize),
    document_skew: f64,
    /// Chance per document line that one slot gets a fresh document.
    document_renew: f64,
    /// Length of the system instructions of document questions.
    reader_len: (usize, usize),
    /// Share of document lines that reference the document as a `gs://` PDF instead of text.
    file_data_share: f64,
    /// Length of a unique prompt.
    unique_len: (usize, usize),
    /// Share of lines that repeat an earlier request, and the exact part of those.
    duplicate_share: f64,
    exact_share: f64,
    /// Share of lines with a top-level `id` member.
    id_share: f64,
    /// Earlier requests kept as duplicate candidates.
    pool_cap: usize,
}

const SHORT: Params = Params {
    family_share: 0.14,
    document_share: 0.24,
    family_system_kb: &[1.0, 2.0, 1.5, 4.0, 1.2, 8.0],
    shot_pairs: (0, 2),
    shot_len: (100, 350),
    family_question_len: (100, 500),
    document_slots: 64,
    document_len: (250, 2000),
    document_skew: 1.3,
    document_renew: 0.05,
    reader_len: (150, 500),
    file_data_share: 0.10,
    unique_len: (100, 1100),
    duplicate_share: 0.08,
    exact_share: 0.5,
    id_share: 0.25,
    pool_cap: 1024,
};

const LONG: Params = Params {
    family_share: 0.30,
    document_share: 0.55,
    family_system_kb: &[3.0, 6.0, 1.5, 8.0, 4.0, 2.0, 5.0, 7.0],
    shot_pairs: (1, 3),
    shot_len: (300, 1200),
    family_question_len: (200, 1500),
    document_slots: 32,
    document_len: (4000, 60000),
    document_skew: 2.7,
    document_renew: 0.025,
    reader_len: (400, 1500),
    file_data_share: 0.08,
    unique_len: (1500, 14000),
    duplicate_share: 0.05,
    exact_share: 0.5,
    id_share: 0.25,
    pool_cap: 256,
};

mod generator;
mod json;
mod text;
mod words;

#[cfg(test)]
mod tests;
