//! The scan: every line of one input checked in parallel chunks on the caller's rayon pool, each
//! chunk with its own [`LineChecker`] and [`LineVisitor`], the chunks folded in order into the
//! file's counts, findings (placed at line, column and JSON path) and whole-job statistics. The
//! result is the same whatever the thread count or chunk size. `validate` runs it with a visitor
//! that gathers nothing; `prepare`, `stats` and the emulator gather their records through theirs.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::input::{split_chunks, ChunkConfig, Line, LineIter, MmapChoice, RemoteOptions, BOM};
use crate::models::ModelTable;
use crate::request::diag::{Code, Diagnostic, Finding, Scope, Severity};
use crate::request::job::JobStats;
use crate::request::line::{LineChecker, LineKind, RequestLimits};
use crate::request::locate::{locate_finding, locate_nth, Locator};
use crate::request::syntax::syntax_column;
use crate::request::value::JsonRef;

/// Progress callback: called with the number of input bytes just finished.
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

/// Options of a scan and of [`crate::validate::validate`]: the inputs, how they are read, and
/// the model whose limits apply.
#[derive(Clone)]
pub struct ValidateOptions {
    /// Input files; `-` is stdin (read fully first).
    pub inputs: Vec<crate::input::InputName>,
    /// Model whose limits apply (default `gemini-2.5-flash`).
    pub model: String,
    /// Model facts and limits.
    pub models: ModelTable,
    /// Memory-map or read.
    pub mmap: MmapChoice,
    /// Worker threads; 0 = all cores.
    pub threads: usize,
    /// Chunk size for the parallel split.
    pub chunk: ChunkConfig,
    /// How many findings to keep for display (0 = all). Counting is never capped.
    pub max_kept: usize,
    /// Called as input bytes are finished.
    pub progress: Option<Progress>,
    /// How inputs on object stores and HTTP(S) are reached (endpoints, credentials) and where
    /// they are spilled. Patterns among `inputs` must be expanded first
    /// ([`crate::input::expand_inputs`]).
    pub remote: RemoteOptions,
}

impl ValidateOptions {
    /// The per-request limits of the chosen model (an unknown model is a usage error).
    pub fn request_limits(&self) -> Result<RequestLimits> {
        let facts = self.models.get(&self.model)?;
        Ok(RequestLimits {
            context_window: facts.context_window,
            max_request_bytes: self.models.limits.max_request_bytes,
        })
    }
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            inputs: Vec::new(),
            model: "gemini-2.5-flash".into(),
            models: ModelTable::builtin(),
            mmap: MmapChoice::Auto,
            threads: 0,
            chunk: ChunkConfig::default(),
            max_kept: 1000,
            progress: None,
            remote: RemoteOptions::default(),
        }
    }
}

/// Counts for one input file.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct FileReport {
    /// The file as named.
    pub file: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Lines (a last line without newline counts; a BOM does not).
    pub lines: u64,
    /// Blank lines (skipped).
    pub blank_lines: u64,
    /// Non-blank lines.
    pub requests: u64,
    /// Non-blank lines without any error.
    pub valid: u64,
    /// Non-blank lines with at least one row error.
    pub invalid: u64,
    /// Error findings (row and job).
    pub errors: u64,
    /// Warning findings.
    pub warnings: u64,
    /// Whole-job errors: the file would fail as one job.
    pub job_errors: u64,
    /// Findings by code.
    pub by_code: BTreeMap<Code, u64>,
    /// Top-level members beside `request`, with how many lines have each.
    pub extra_members: BTreeMap<String, u64>,
    /// Largest line in bytes.
    pub max_line_bytes: u64,
}

/// Per-line hook of a scan: `prepare` and `stats` gather their records through it, so every line is
/// parsed once.
pub trait LineVisitor: Send {
    /// A parsed line that has a `request` member; called during the check, while the parse lives.
    /// `index` is chunk-local (0-based); `line.offset` is absolute.
    fn request(&mut self, index: u64, line: Line<'_>, request: JsonRef<'_, '_>) {
        let _ = (index, line, request);
    }
    /// Every line, after its check, with its findings.
    fn line_done(&mut self, index: u64, line: Line<'_>, kind: LineKind, findings: &[Finding]) {
        let _ = (index, line, kind, findings);
    }
}

/// A visitor that gathers nothing (plain `validate`).
#[derive(Default)]
pub struct NoVisitor;
impl LineVisitor for NoVisitor {}

/// The result of scanning one file.
pub struct FileScan<V> {
    /// Counts.
    pub report: FileReport,
    /// Findings in order (row findings capped at `max_kept`, job findings all).
    pub diagnostics: Vec<Diagnostic>,
    /// Whole-job statistics of every line of the file.
    pub job: JobStats,
    /// Each chunk's visitor with the file line index (0-based) of the chunk's first line.
    pub chunks: Vec<(u64, V)>,
}

/// What one chunk found.
struct ChunkResult<V> {
    visitor: V,
    lines: u64,
    blank: u64,
    invalid: u64,
    by_code: BTreeMap<Code, u64>,
    extra: BTreeMap<String, u64>,
    max_line: u64,
    /// Row findings with chunk-local 0-based line numbers, at most `max_kept`.
    diags: Vec<Diagnostic>,
    job: JobStats,
}

/// Validates one input's bytes (the whole file). Runs inside the caller's rayon pool.
pub fn validate_bytes(
    name: &str,
    data: &[u8],
    opts: &ValidateOptions,
    limits: RequestLimits,
) -> (FileReport, Vec<Diagnostic>) {
    let scan = scan_bytes(name, data, opts, limits, || NoVisitor);
    (scan.report, scan.diagnostics)
}

/// Checks every line of one input's bytes in parallel chunks, calling a fresh visitor per chunk.
pub fn scan_bytes<V: LineVisitor>(
    name: &str,
    data: &[u8],
    opts: &ValidateOptions,
    limits: RequestLimits,
    make_visitor: impl Fn() -> V + Sync + Send,
) -> FileScan<V> {
    let mut report = FileReport {
        file: name.to_string(),
        bytes: data.len() as u64,
        ..Default::default()
    };
    let mut diags = Vec::new();
    let mut file_level = Vec::new();
    if data.starts_with(BOM) {
        file_level.push(place_file(
            name,
            Code::W_BOM,
            "the file starts with a UTF-8 byte order mark; batchline skips it, but Vertex may read it as part of the first line: save the file without BOM",
        ));
    }
    if is_json_array(data) {
        file_level.push(place_file(
            name,
            Code::E_JSON_ARRAY_FILE,
            "the file is one JSON array, not JSON Lines: write one {\"request\": …} object per line (e.g. `jq -c '.[]' in.json > out.jsonl`)",
        ));
        for d in &file_level {
            count(&mut report, d.code, 1);
        }
        report.lines = LineIter::new(data, 0..data.len()).count() as u64;
        return FileScan {
            report,
            diagnostics: file_level,
            job: JobStats::default(),
            chunks: Vec::new(),
        };
    }
    // The default chunk size shrinks for small inputs so that every core gets work (at least
    // four chunks per thread, never below 64 KiB); an explicit size is used as given. Results
    // do not depend on it.
    let target = if opts.chunk.target_bytes == ChunkConfig::default().target_bytes {
        let per = data.len().div_ceil(4 * rayon::current_num_threads().max(1));
        opts.chunk.target_bytes.min(per.max(64 << 10))
    } else {
        opts.chunk.target_bytes
    };
    let chunks = split_chunks(data, target);
    let keep = opts.max_kept;
    let results: Vec<ChunkResult<V>> = chunks
        .par_iter()
        .map_init(
            || {
                let mut c = LineChecker::new();
                c.limits = Some(limits);
                c
            },
            |checker, range| {
                let r = check_chunk(name, data, range.clone(), checker, keep, make_visitor());
                if let Some(p) = &opts.progress {
                    p(range.len() as u64);
                }
                r
            },
        )
        .collect();
    let mut job = JobStats::default();
    let mut first_line = 0u64;
    let mut visitors = Vec::with_capacity(results.len());
    for mut r in results {
        visitors.push((first_line, r.visitor));
        for d in &mut r.diags {
            d.line += first_line + 1;
        }
        r.job.shift_lines(first_line);
        job.merge(r.job);
        first_line += r.lines;
        report.lines += r.lines;
        report.blank_lines += r.blank;
        report.invalid += r.invalid;
        report.max_line_bytes = report.max_line_bytes.max(r.max_line);
        for (c, n) in r.by_code {
            count(&mut report, c, n);
        }
        for (k, n) in r.extra {
            *report.extra_members.entry(k).or_default() += n;
        }
        if keep == 0 || diags.len() < keep {
            diags.append(&mut r.diags);
        }
    }
    report.requests = report.lines - report.blank_lines;
    report.valid = report.requests - report.invalid;
    for d in place_job_findings(name, data, &job) {
        count(&mut report, d.code, 1);
        diags.push(d);
    }
    let lim = &opts.models.limits;
    if report.requests > lim.max_requests_per_file {
        file_level.push(place_file(name, Code::W_FILE_REQUESTS, &format!(
            "{} requests in one file; one batch job takes at most {}: run `batchline prepare` to shard it",
            report.requests, lim.max_requests_per_file
        )));
    }
    if report.bytes > lim.max_bytes_per_file {
        file_level.push(place_file(name, Code::W_FILE_BYTES, &format!(
            "{} bytes in one file; one batch job takes at most {} bytes: run `batchline prepare` to shard it",
            report.bytes, lim.max_bytes_per_file
        )));
    }
    for d in &file_level {
        count(&mut report, d.code, 1);
    }
    file_level.append(&mut diags);
    let mut diags = file_level;
    // Chunks keep whole lines of findings (see check_chunk), so cutting this sorted list at
    // `max_kept` keeps the same findings for any chunk size.
    diags.sort_by_key(|d| (d.line, d.column, d.code));
    FileScan {
        report,
        diagnostics: diags,
        job,
        chunks: visitors,
    }
}

/// Turns whole-job statistics of lines of `data` into diagnostics (line numbers 1-based).
pub fn place_job_findings(name: &str, data: &[u8], job: &JobStats) -> Vec<Diagnostic> {
    job.findings()
        .into_iter()
        .map(|jf| {
            let line_bytes = line_at(data, jf.at.line_offset as usize);
            let off = locate_nth(line_bytes, &jf.at.pointer, &jf.at.key_nth, jf.at.at_key);
            let byte = jf.at.line_offset + off as u64;
            job_diagnostic(name, jf, off, byte)
        })
        .collect()
}

/// A whole-job finding as a diagnostic, found `column0` bytes into its line at file offset
/// `byte`.
pub fn job_diagnostic(
    name: &str,
    jf: crate::request::job::JobFinding,
    column0: usize,
    byte: u64,
) -> Diagnostic {
    Diagnostic {
        file: name.to_string(),
        line: jf.at.line + 1,
        column: column0 as u64 + 1,
        byte,
        pointer: jf.at.pointer,
        code: jf.code,
        severity: jf.code.severity(),
        scope: jf.code.scope(),
        message: jf.message,
        related_line: jf.related.as_ref().map(|r| r.line + 1),
        related_pointer: jf.related.map(|r| r.pointer),
        occurrences: (jf.occurrences > 1).then_some(jf.occurrences),
    }
}

fn count(report: &mut FileReport, code: Code, n: u64) {
    *report.by_code.entry(code).or_default() += n;
    match code.severity() {
        Severity::Error => {
            report.errors += n;
            if code.scope() == Scope::Job {
                report.job_errors += n;
            }
        }
        Severity::Warning => report.warnings += n,
    }
}

fn place_file(name: &str, code: Code, message: &str) -> Diagnostic {
    Diagnostic {
        file: name.to_string(),
        line: 0,
        column: 0,
        byte: 0,
        pointer: String::new(),
        code,
        severity: code.severity(),
        scope: code.scope(),
        message: message.to_string(),
        related_line: None,
        related_pointer: None,
        occurrences: None,
    }
}

/// The line starting at `offset` (without terminator).
fn line_at(data: &[u8], offset: usize) -> &[u8] {
    let rest = &data[offset.min(data.len())..];
    let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
    let line = &rest[..end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// True when the input is a JSON array rather than JSON Lines: its first non-blank byte is `[` and
/// the whole file (after a BOM) is that one JSON value, on one line or pretty-printed. A JSON Lines
/// file whose first line happens to be an array is not one: it has more values after it (that line
/// is then `E_NOT_OBJECT`, and the others are checked). A JSON Lines file fails the one-value parse
/// at its second line, so the check costs little unless the file really is one array.
fn is_json_array(data: &[u8]) -> bool {
    let body = data.strip_prefix(BOM).unwrap_or(data);
    let Some(start) = body.iter().position(|b| !b.is_ascii_whitespace()) else {
        return false;
    };
    body[start] == b'[' && serde_json::from_slice::<serde::de::IgnoredAny>(&body[start..]).is_ok()
}

fn check_chunk<V: LineVisitor>(
    name: &str,
    data: &[u8],
    range: Range<usize>,
    checker: &mut LineChecker,
    keep: usize,
    visitor: V,
) -> ChunkResult<V> {
    let mut r = ChunkResult {
        visitor,
        lines: 0,
        blank: 0,
        invalid: 0,
        by_code: BTreeMap::new(),
        extra: BTreeMap::new(),
        max_line: 0,
        diags: Vec::new(),
        job: JobStats::default(),
    };
    for (i, line) in LineIter::new(data, range).enumerate() {
        let visitor = &mut r.visitor;
        let outcome = checker.check_with(line.bytes, i as u64, line.offset as u64, &mut |req| {
            visitor.request(i as u64, line, req)
        });
        r.visitor
            .line_done(i as u64, line, outcome.kind, &checker.findings.items);
        r.lines += 1;
        r.max_line = r.max_line.max(line.bytes.len() as u64);
        if outcome.kind == LineKind::Blank {
            r.blank += 1;
        }
        for m in checker.extra_members.drain(..) {
            *r.extra.entry(m).or_default() += 1;
        }
        if checker.findings.is_empty() {
            continue;
        }
        let mut has_error = false;
        // Keep whole lines: the findings of a line are ordered by column only later.
        let keep_line = keep == 0 || r.diags.len() < keep;
        // Past a few findings, one index of the line beats a scan per finding.
        let mut locator =
            (checker.findings.items.len() > LOCATOR_ABOVE).then(|| Locator::new(line.bytes));
        for f in &checker.findings.items {
            *r.by_code.entry(f.code).or_default() += 1;
            has_error |= f.code.severity() == Severity::Error;
            if keep_line {
                r.diags.push(place(
                    name,
                    line.bytes,
                    line.offset,
                    i as u64,
                    f,
                    locator.as_mut(),
                ));
            }
        }
        if has_error {
            r.invalid += 1;
        }
    }
    r.job = checker.take_job();
    r
}

/// Lines with more findings than this are located through a [`Locator`].
const LOCATOR_ABOVE: usize = 8;

/// Turns a line finding into a diagnostic with a chunk-local 0-based line number; `locator`, when
/// given, indexes `line`.
fn place(
    name: &str,
    line: &[u8],
    offset: usize,
    index: u64,
    f: &Finding,
    locator: Option<&mut Locator<'_>>,
) -> Diagnostic {
    let col = match f.code {
        Code::E_JSON_SYNTAX | Code::E_NUL_BYTE | Code::E_INVALID_UTF8 => syntax_column(line),
        Code::W_BLANK_LINE | Code::E_NOT_OBJECT | Code::E_MISSING_REQUEST => 1,
        _ => match locator {
            Some(l) => l.locate_finding(f) + 1,
            None => locate_finding(line, f) + 1,
        },
    };
    Diagnostic {
        file: name.to_string(),
        line: index,
        column: col as u64,
        byte: (offset + col - 1) as u64,
        pointer: f.pointer.clone(),
        code: f.code,
        severity: f.code.severity(),
        scope: f.code.scope(),
        message: f.message.clone(),
        related_line: None,
        related_pointer: None,
        occurrences: None,
    }
}
