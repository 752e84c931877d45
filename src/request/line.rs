//! The per-line check: parse one line with simd-json into a reused tape, then hand it to the
//! schema walk ([`super::walk`]), which applies the generated schema, the prose rules and the
//! whole-job path bookkeeping together; lines that do not parse are diagnosed by
//! [`super::syntax`]; request size and context window are checked here.
//!
//! One [`LineChecker`] per worker thread; it owns every buffer it needs, so a line costs a copy into
//! the padded scratch buffer, the parse, and the walk — no allocation unless a finding is made or a
//! new key path is seen.

use simd_json::tape::Tape;

use super::diag::{Code, Finding};
use super::job::JobStats;
use super::path::{Findings, Path, Seg};
use super::rules::Entry;
use super::syntax::syntax_finding;
use super::value::{recycle, JsonRef, Kind};
use super::walk::Walk;

/// What a line turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// Empty or whitespace only: skipped.
    Blank,
    /// Not JSON, or not an object: nothing else was checked.
    Unparsable,
    /// A JSON object: the schema walk ran (findings may still make it invalid).
    Object,
}

/// The outcome of one line. Findings are left in [`LineChecker::findings`].
#[derive(Debug, Clone, Copy)]
pub struct LineOutcome {
    /// What the line was.
    pub kind: LineKind,
}

/// Reusable per-thread state for checking lines.
pub struct LineChecker {
    scratch: Vec<u8>,
    buffers: simd_json::Buffers,
    tape: Option<Tape<'static>>,
    segs: Vec<Seg<'static>>,
    /// The walk's stack of message members (see [`Walk`]), kept for its allocation.
    entries: Vec<Entry<'static, 'static>>,
    /// Findings of the last line checked (cleared at the start of each line).
    pub findings: Findings,
    /// Key-path statistics of every line checked so far (for whole-job checks).
    pub job: JobStats,
    /// Names of top-level members other than `request` on the last line.
    pub extra_members: Vec<String>,
    /// Per-request limits to check (none by default).
    pub limits: Option<RequestLimits>,
}

/// Per-request limits, from the model table.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// The model's context window in tokens.
    pub context_window: u64,
    /// The documented request size in bytes.
    pub max_request_bytes: u64,
}

impl Default for LineChecker {
    fn default() -> Self {
        Self::new()
    }
}

/// Deepest nesting simd-json will parse; deeper lines are reported as unparsable. Far above the
/// import's limit of 15, so E_JOB_DEPTH is found first.
pub(super) const PARSE_MAX_DEPTH: usize = 512;

impl LineChecker {
    /// A checker with empty buffers.
    pub fn new() -> Self {
        LineChecker {
            scratch: Vec::new(),
            buffers: simd_json::Buffers::with_max_depth(4096, PARSE_MAX_DEPTH),
            tape: Some(Tape::null()),
            segs: Vec::new(),
            entries: Vec::new(),
            findings: Findings::default(),
            job: JobStats::default(),
            extra_members: Vec::new(),
            limits: None,
        }
    }

    /// Takes the job statistics gathered so far, leaving empty ones.
    pub fn take_job(&mut self) -> JobStats {
        std::mem::take(&mut self.job)
    }

    /// Checks one line (without its terminator). `line_index` (0-based, in whatever numbering the
    /// caller uses) and `line_offset` (absolute byte offset of the line) are recorded for whole-job
    /// findings.
    pub fn check(&mut self, line: &[u8], line_index: u64, line_offset: u64) -> LineOutcome {
        self.check_with(line, line_index, line_offset, &mut |_| {})
    }

    /// Like [`check`](Self::check), and calls `on_request` with the parsed `request` member (after
    /// the walk, while the parse is alive) when the line is an object that has one. Later stages
    /// (dedup hash, prompt key) use it to avoid a second parse.
    pub fn check_with(
        &mut self,
        line: &[u8],
        line_index: u64,
        line_offset: u64,
        on_request: &mut dyn FnMut(JsonRef<'_, '_>),
    ) -> LineOutcome {
        self.findings.clear();
        self.extra_members.clear();
        if line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
            self.findings.items.push(Finding {
                code: Code::W_BLANK_LINE,
                pointer: String::new(),
                key_nth: Vec::new(),
                message: "blank line: skipped, never sent".into(),
                at_key: false,
            });
            return LineOutcome {
                kind: LineKind::Blank,
            };
        }
        let LineChecker {
            scratch,
            buffers,
            tape,
            segs,
            entries,
            findings,
            job,
            extra_members,
            limits,
        } = self;
        scratch.clear();
        scratch.extend_from_slice(line);
        scratch.resize(line.len() + simd_json::INPUT_PADDING, b' ');
        let mut t: Tape<'_> = tape.take().unwrap_or_else(Tape::null).reset();
        let parsed = simd_json::fill_tape_padded(scratch, line.len(), buffers, &mut t);
        let kind = match parsed {
            Err(e) => {
                findings.items.push(syntax_finding(line, &e));
                LineKind::Unparsable
            }
            Ok(()) => {
                // Recycle the segment buffer with this line's lifetime.
                let recycled: Vec<Seg<'_>> = recycle(std::mem::take(segs));
                let mut walk = Walk::new(
                    Path::from_vec(recycled),
                    recycle(std::mem::take(entries)),
                    findings,
                    job,
                    line_index,
                    line_offset,
                );
                let kind = match JsonRef::root(&t.0) {
                    Some(root) if root.kind() == Kind::Object => {
                        walk.line(root, extra_members);
                        if let Some(limits) = limits {
                            check_limits(line, root, limits, walk.findings());
                        }
                        if let Some(request) = root.get("request") {
                            on_request(request);
                        }
                        LineKind::Object
                    }
                    Some(root) => {
                        walk.findings().items.push(Finding {
                            code: Code::E_NOT_OBJECT,
                            pointer: String::new(),
                            key_nth: Vec::new(),
                            message: format!(
                                "the line is a JSON {}, not an object: each line must be {{\"request\": {{…}}}}",
                                root.kind().name()
                            ),
                            at_key: false,
                        });
                        LineKind::Unparsable
                    }
                    None => LineKind::Unparsable,
                };
                let (path, walked) = walk.into_buffers();
                *segs = recycle(path.into_vec());
                *entries = recycle(walked);
                kind
            }
        };
        *tape = Some(t.reset());
        LineOutcome { kind }
    }
}

/// Request size and context window (see [`super::limits`]).
fn check_limits(line: &[u8], root: JsonRef<'_, '_>, limits: &RequestLimits, out: &mut Findings) {
    let len = line.len() as u64;
    if len > limits.max_request_bytes {
        out.items.push(Finding {
            code: Code::W_REQUEST_BYTES,
            pointer: "/request".into(),
            key_nth: Vec::new(),
            message: format!(
                "the request is {len} bytes, above the {} bytes one request may carry; move large media to Cloud Storage and reference it with fileData",
                limits.max_request_bytes
            ),
            at_key: false,
        });
    }
    if len <= limits.context_window {
        return;
    }
    let Some(request) = root.get("request") else {
        return;
    };
    let window = limits.context_window;
    let (tokens, stopped) =
        super::limits::estimate_prompt_tokens(request, window.saturating_mul(3) / 2);
    let about = if stopped { "at least" } else { "about" };
    // o200k is 6–19% low on English and up to 47% high on some scripts: only a clear excess is an
    // error, a near one a warning.
    let (code, verdict) = if tokens as f64 > window as f64 * 1.5 {
        (Code::E_CONTEXT_WINDOW, "exceeds")
    } else if tokens > window {
        (Code::W_CONTEXT_WINDOW, "may exceed")
    } else {
        return;
    };
    out.items.push(Finding {
        code,
        pointer: "/request".into(),
        key_nth: Vec::new(),
        message: format!(
            "{about} {tokens} prompt tokens (o200k estimate, not Gemini's own count) {verdict} the model's {window}-token context window; shorten the prompt"
        ),
        at_key: false,
    });
}
