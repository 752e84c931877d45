//! The per-line check: parse one line with simd-json into a reused tape, then walk it once,
//! applying the generated schema, the prose rules and the whole-job path bookkeeping together.
//!
//! One [`LineChecker`] per worker thread; it owns every buffer it needs, so a line costs a copy into
//! the padded scratch buffer, the parse, and the walk — no allocation unless a finding is made or a
//! new key path is seen.

use simd_json::tape::Tape;

use super::diag::{Code, Finding};
use super::fields::{required_fields, FieldLookup};
use super::formats::{
    check_base64, clip, did_you_mean, int_name, looks_numeric, ty_name, valid_duration,
    valid_timestamp,
};
use super::job::{self, child_hash, column_name_class, flag, kind, JobStats, Seen};
use super::path::{Findings, Path, Seg};
use super::rules::{self, Entry, MessageCtx, NO_FIELD};
use super::schema::{ENUMS, MESSAGES, ROOT};
use super::schema_types::{Container, Field, Ty};
use super::value::{recycle, JsonRef, Kind};

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
    /// The walk's stack of message members (see [`Walk::entries`]), kept for its allocation.
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
const PARSE_MAX_DEPTH: usize = 512;

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
                let mut walk = Walk {
                    path: Path::from_vec(recycled),
                    entries: recycle(std::mem::take(entries)),
                    current_field: None,
                    findings,
                    job,
                    line_index,
                    line_offset,
                    members_seen: 0,
                };
                let kind = match JsonRef::root(&t.0) {
                    Some(root) if root.kind() == Kind::Object => {
                        walk.line(root, extra_members);
                        if let Some(limits) = limits {
                            check_limits(line, root, limits, walk.findings);
                        }
                        if let Some(request) = root.get("request") {
                            on_request(request);
                        }
                        LineKind::Object
                    }
                    Some(root) => {
                        walk.findings.items.push(Finding {
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
                *segs = recycle(walk.path.into_vec());
                *entries = recycle(walk.entries);
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

/// Describes why a line did not parse, with the best position available.
fn syntax_finding(line: &[u8], err: &simd_json::Error) -> Finding {
    let (code, message) = if let Some(i) = memchr::memchr(0, line) {
        (
            Code::E_NUL_BYTE,
            format!(
                "NUL byte at column {}: JSON text cannot contain raw NUL bytes",
                i + 1
            ),
        )
    } else if let Err(e) = std::str::from_utf8(line) {
        (
            Code::E_INVALID_UTF8,
            format!(
                "invalid UTF-8 at column {}: re-encode the file as UTF-8",
                e.valid_up_to() + 1
            ),
        )
    } else {
        match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
            Err(se) => (
                Code::E_JSON_SYNTAX,
                format!("invalid JSON: {}", strip_position(&se.to_string())),
            ),
            Ok(_) => match (lone_surrogate_at(line), big_integer_at(line)) {
                (None, Some((at, len))) => (
                    Code::E_JSON_SYNTAX,
                    format!(
                        "valid JSON, but the integer {} at column {} is beyond the 64-bit range batchline reads, so the line cannot be checked or sent; write it as a float ({:e}) or a string",
                        String::from_utf8_lossy(&line[at..at + len]),
                        at + 1,
                        std::str::from_utf8(&line[at..at + len])
                            .ok()
                            .and_then(|t| t.parse::<f64>().ok())
                            .unwrap_or(f64::NAN)
                    ),
                ),
                (Some(at), _) => (
                    Code::E_JSON_SYNTAX,
                    format!(
                        "invalid JSON: `{}` at column {} is half of a UTF-16 surrogate pair with no other half, which is not a character; write the character itself, or both halves (`\\ud83d\\ude00`)",
                        String::from_utf8_lossy(&line[at..at + 6]),
                        at + 1
                    ),
                ),
                (None, None) => (
                    Code::E_JSON_SYNTAX,
                    format!(
                        "cannot parse this line ({:?} at byte {}); nesting deeper than {PARSE_MAX_DEPTH} or numbers beyond 64-bit range are not supported",
                        err.error(),
                        err.index()
                    ),
                ),
            },
        }
    };
    Finding {
        code,
        pointer: String::new(),
        key_nth: Vec::new(),
        message,
        at_key: false,
    }
}

/// The byte index of the first `\uXXXX` escape in `line` that is a lone UTF-16 surrogate (a high
/// one not followed by a low one, or a low one alone). serde_json lets these through; simd-json,
/// rightly, does not (they are not characters, and cannot be re-encoded as UTF-8).
fn lone_surrogate_at(line: &[u8]) -> Option<usize> {
    let hex = |at: usize| -> Option<u32> {
        let digits = line.get(at..at + 4)?;
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let unit = |at: usize| -> Option<u32> {
        (line.get(at) == Some(&b'\\') && line.get(at + 1) == Some(&b'u'))
            .then(|| hex(at + 2))
            .flatten()
    };
    let mut i = 0;
    while i < line.len() {
        if line[i] != b'\\' {
            i += 1;
            continue;
        }
        match unit(i) {
            Some(0xD800..=0xDBFF) => match unit(i + 6) {
                Some(0xDC00..=0xDFFF) => i += 12,
                _ => return Some(i),
            },
            Some(0xDC00..=0xDFFF) => return Some(i),
            Some(_) => i += 6,
            None => i += 2,
        }
    }
    None
}

/// The first integer literal in `line` (outside strings) beyond `i64`/`u64`, as (byte index,
/// length). JSON allows such numbers; simd-json does not read them.
fn big_integer_at(line: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    let mut in_string = false;
    while i < line.len() {
        let b = line[i];
        if in_string {
            match b {
                b'\\' => i += 2,
                b'"' => {
                    in_string = false;
                    i += 1;
                }
                _ => i += 1,
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let len = line[i..]
                    .iter()
                    .take_while(|c| matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                    .count();
                let token = std::str::from_utf8(&line[i..i + len]).unwrap_or("");
                let integer = !token.contains(['.', 'e', 'E']);
                if integer && token.parse::<i64>().is_err() && token.parse::<u64>().is_err() {
                    return Some((i, len));
                }
                i += len;
            }
            _ => i += 1,
        }
    }
    None
}

/// The byte column (1-based) of a syntax problem in `line`, for [`Code::E_JSON_SYNTAX`],
/// [`Code::E_NUL_BYTE`] and [`Code::E_INVALID_UTF8`].
pub fn syntax_column(line: &[u8]) -> usize {
    if let Some(i) = memchr::memchr(0, line) {
        return i + 1;
    }
    if let Err(e) = std::str::from_utf8(line) {
        return e.valid_up_to() + 1;
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
        // serde_json counts columns in bytes, 1-based, on a one-line input; it may point into a
        // multi-byte character (after a bad `\u` escape), so step back to the character's start.
        Err(e) => {
            let mut at = e.column().max(1).min(line.len().max(1)) - 1;
            while at > 0 && at < line.len() && (line[at] & 0xC0) == 0x80 {
                at -= 1;
            }
            at + 1
        }
        Ok(_) => lone_surrogate_at(line)
            .or_else(|| big_integer_at(line).map(|(at, _)| at))
            .map_or(1, |at| at + 1),
    }
}

fn strip_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

/// What the walk expects at a value.
#[derive(Clone, Copy)]
enum Expect {
    /// A value of a schema type.
    Ty(Ty, Option<&'static Field>),
    /// User data: only the whole-job bookkeeping applies.
    Free,
}

struct Walk<'w, 'i> {
    path: Path<'i>,
    /// The members of the message objects being walked, outermost first: each object pushes its
    /// members (with the field each key resolved to) as it walks them, hands its own to the
    /// rules, and truncates them away.
    entries: Vec<Entry<'i, 'i>>,
    /// json_name of the field whose value is being walked (consumed by the next message object).
    current_field: Option<&'static str>,
    findings: &'w mut Findings,
    job: &'w mut JobStats,
    line_index: u64,
    line_offset: u64,
    /// Members entered so far on this line (document order), for [`Seen::order`].
    members_seen: u64,
}

impl<'w, 'i> Walk<'w, 'i> {
    fn line(&mut self, root: JsonRef<'i, 'i>, extras: &mut Vec<String>) {
        let mut request = None;
        let mut seen_request = false;
        self.path.set_root(root);
        for (n, (key, value)) in root.members().enumerate() {
            let h = child_hash(job::ROOT_HASH, key);
            self.members_seen += 1;
            self.path.push(Seg::Member(key, n as u32));
            self.key_column(h, key);
            if key == "request" {
                if seen_request {
                    // Which of the two a reader takes differs (first or last wins, or a refusal),
                    // so the line cannot be sent, nor its request identified for dedup.
                    self.findings.at_key(
                        Code::E_DUPLICATE_FIELD,
                        &self.path,
                        &[],
                        "`request` appears twice on this line; JSON readers differ on which one they use (or reject the line), so it is not sent: keep one",
                    );
                }
                seen_request = true;
                request = Some(value);
                self.value(value, Expect::Ty(Ty::Message(ROOT), None), h, 1, None);
            } else {
                extras.push(key.to_string());
                if let Some(s) = value.as_str() {
                    if looks_numeric(s) {
                        self.findings.at(
                            Code::W_NUMERIC_STRING_KEY,
                            &self.path,
                            &[],
                            format!("`{key}` is the string \"{s}\", which looks like a number: Vertex has been seen to return such values as numbers, so matching results by it may fail; add a non-digit prefix"),
                        );
                    }
                }
                self.value(value, Expect::Free, h, 1, None);
            }
            self.path.pop();
        }
        if request.is_none() {
            self.findings.items.push(Finding {
                code: Code::E_MISSING_REQUEST,
                pointer: String::new(),
                key_nth: Vec::new(),
                message: "no `request` member: each line must be {\"request\": {…GenerateContentRequest…}}".into(),
                at_key: false,
            });
        }
        self.record(job::ROOT_HASH, kind::OBJECT | kind::SINGLE, 0, false);
    }

    /// Records kind bits at path hash `h` (creating the path's entry on first sight).
    ///
    /// The common case (no flags, path and kinds already in the direct-mapped cache) is a
    /// handful of instructions inlined at every call; everything else is out of line.
    #[inline(always)]
    fn record(&mut self, h: u64, bits: u8, flags: u8, flag_at_key: bool) {
        if flags == 0 {
            // An empty cache (not allocated yet) misses here too.
            if let Some(&(fh, fk)) = self.job.fast.get(h as usize & (job::FAST_SLOTS - 1)) {
                if fh == h && fk & bits == bits {
                    return;
                }
            }
        }
        self.record_slow(h, bits, flags, flag_at_key);
    }

    /// [`record`](Self::record) past the cache.
    #[inline(never)]
    fn record_slow(&mut self, h: u64, bits: u8, flags: u8, flag_at_key: bool) {
        let slot = h as usize & (job::FAST_SLOTS - 1);
        // `record` has already looked in the cache; allocate it on first use.
        if flags == 0 && self.job.fast.is_empty() {
            self.job.fast = vec![(0, 0); job::FAST_SLOTS];
        }
        let stat = match self.job.paths.get_mut(&h) {
            Some(s) if (s.kinds & bits) == bits && flags == 0 => {
                // Nothing new: put the path back in the cache (another path may have taken its
                // slot), so that its next values hit again.
                self.job.fast[slot] = (h, s.kinds);
                return;
            }
            Some(s) => s,
            None => {
                let column = column_of(&self.path);
                self.job.paths.entry(h).or_default().column = column;
                self.job.paths.get_mut(&h).expect("inserted above")
            }
        };
        let new_kinds = bits & !stat.kinds;
        if !self.job.fast.is_empty() {
            self.job.fast[slot] = (h, stat.kinds | bits);
        }
        if new_kinds != 0 {
            stat.kinds |= bits;
            let seen = seen_at(
                &self.path,
                self.line_index,
                self.line_offset,
                self.members_seen,
                false,
            );
            // Kind bits are the low six; the highest new one takes `seen`, the others a copy.
            let new_kinds = new_kinds & 0x3f;
            if new_kinds != 0 {
                let last = (7 - new_kinds.leading_zeros()) as usize;
                for i in 0..last {
                    if new_kinds & (1 << i) != 0 {
                        stat.kind_first[i] = Some(seen.clone());
                    }
                }
                stat.kind_first[last] = Some(seen);
            }
        }
        if flags != 0 {
            stat.flags |= flags;
            for i in 0..7 {
                if flags & (1 << i) != 0 {
                    match &mut stat.flag_first[i] {
                        Some((_, n)) => *n += 1,
                        slot @ None => {
                            *slot = Some((
                                seen_at(
                                    &self.path,
                                    self.line_index,
                                    self.line_offset,
                                    self.members_seen,
                                    flag_at_key,
                                ),
                                1,
                            ))
                        }
                    }
                }
            }
        }
    }

    /// Records whole-job problems of the key at the current path (column names).
    #[inline(always)]
    fn key_column(&mut self, h: u64, key: &str) {
        if self.job.column_ok.get(h as usize & (job::FAST_SLOTS - 1)) == Some(&h) {
            return;
        }
        self.key_column_slow(h, key);
    }

    /// [`key_column`](Self::key_column) past the cache.
    #[inline(never)]
    fn key_column_slow(&mut self, h: u64, key: &str) {
        let slot = h as usize & (job::FAST_SLOTS - 1);
        match column_name_class(key) {
            Ok(()) => {
                if self.job.column_ok.is_empty() {
                    self.job.column_ok = vec![0; job::FAST_SLOTS];
                }
                self.job.column_ok[slot] = h;
            }
            Err(fatal) => {
                let f = if fatal {
                    flag::BAD_COLUMN
                } else {
                    flag::ODD_COLUMN
                };
                self.record(h, 0, f, true);
            }
        }
    }

    /// Walks `v` at path hash `h`; `depth` counts enclosing objects (the line is 0).
    ///
    /// The common case (a single value where a single value or user data is expected) is
    /// inlined into the callers; lists, maps and arrays go through [`value_slow`](Self::value_slow).
    #[inline(always)]
    fn value(
        &mut self,
        v: JsonRef<'i, 'i>,
        expect: Expect,
        h: u64,
        depth: usize,
        parent_msg: Option<u16>,
    ) {
        let single = match expect {
            Expect::Ty(_, Some(field)) => field.container == Container::Single,
            _ => true,
        };
        if single && v.kind() != Kind::Array {
            self.record_single(v, h, depth);
            self.typed(v, expect, h, depth, parent_msg);
        } else {
            self.value_slow(v, expect, h, depth, parent_msg);
        }
    }

    /// [`value`](Self::value) for repeated fields, maps and arrays.
    #[inline(never)]
    fn value_slow(
        &mut self,
        v: JsonRef<'i, 'i>,
        expect: Expect,
        h: u64,
        depth: usize,
        parent_msg: Option<u16>,
    ) {
        // Containers first: the field decides whether an array is expected.
        if let Expect::Ty(_, Some(field)) = expect {
            match field.container {
                Container::Repeated => {
                    if v.kind() == Kind::Array {
                        self.record(h, kind::ARRAY, 0, false);
                        for (i, e) in v.elements().enumerate() {
                            self.path.push(Seg::Index(i));
                            self.element(e, Expect::Ty(field.ty, None), h, depth, parent_msg);
                            self.path.pop();
                        }
                        return;
                    }
                    if v.kind() != Kind::Null {
                        self.findings.at(
                            Code::W_SINGLE_FOR_REPEATED,
                            &self.path,
                            &[],
                            format!("`{}` should be a list; a single {} was given (seen accepted, but mixing it with lists in one file fails the whole job)", field.json_name, v.kind().name()),
                        );
                    }
                    return self.value(v, Expect::Ty(field.ty, None), h, depth, parent_msg);
                }
                Container::Map => {
                    if v.kind() != Kind::Object {
                        return self.mismatch(v, "an object (map)", h, depth);
                    }
                    self.object_bits(v, h, depth);
                    for (n, (key, mv)) in v.members().enumerate() {
                        let ch = child_hash(h, key);
                        self.members_seen += 1;
                        self.path.push(Seg::Member(key, n as u32));
                        self.key_column(ch, key);
                        self.value(mv, Expect::Ty(field.ty, None), ch, depth + 1, parent_msg);
                        self.path.pop();
                    }
                    return;
                }
                Container::Single => {}
            }
        }
        match v.kind() {
            Kind::Array => {
                self.record(h, kind::ARRAY, 0, false);
                self.unexpected_array(v, expect, h, depth, parent_msg);
            }
            _ => {
                self.record_single(v, h, depth);
                self.typed(v, expect, h, depth, parent_msg);
            }
        }
    }

    /// Walks one element of an array at path hash `h` (the array's own path: indexes are ignored).
    #[inline(always)]
    fn element(
        &mut self,
        e: JsonRef<'i, 'i>,
        expect: Expect,
        h: u64,
        depth: usize,
        parent_msg: Option<u16>,
    ) {
        match e.kind() {
            Kind::Array => {
                self.record(h, 0, flag::NESTED_ARRAY, false);
                self.unexpected_array(e, expect, h, depth, parent_msg);
            }
            _ => {
                self.record_elem_kind(e, h, depth);
                self.typed(e, expect, h, depth, parent_msg);
            }
        }
    }

    /// An array where the schema expects one value (or user data): reports the type unless any
    /// value is allowed, then walks the elements as user data for the whole-job checks.
    fn unexpected_array(
        &mut self,
        v: JsonRef<'i, 'i>,
        expect: Expect,
        h: u64,
        depth: usize,
        parent_msg: Option<u16>,
    ) {
        if let Expect::Ty(ty, _) = expect {
            if !matches!(ty, Ty::Any) {
                self.type_error(v, ty);
            }
        }
        for (i, e) in v.elements().enumerate() {
            self.path.push(Seg::Index(i));
            self.element(e, Expect::Free, h, depth, parent_msg);
            self.path.pop();
        }
    }

    #[inline]
    fn kind_bit(v: &JsonRef<'_, '_>) -> u8 {
        match v.kind() {
            Kind::String => kind::STRING,
            Kind::Integer | Kind::Float => kind::NUMBER,
            Kind::Bool => kind::BOOL,
            Kind::Object => kind::OBJECT,
            Kind::Null | Kind::Array => 0,
        }
    }

    #[inline(always)]
    fn record_single(&mut self, v: JsonRef<'_, 'i>, h: u64, depth: usize) {
        if v.kind() == Kind::Null {
            self.record(h, 0, flag::NULL, false);
            return;
        }
        self.record(h, Self::kind_bit(&v) | kind::SINGLE, 0, false);
        if v.kind() == Kind::Object {
            self.object_flags(v, h, depth);
        }
    }

    #[inline(always)]
    fn record_elem_kind(&mut self, v: JsonRef<'_, 'i>, h: u64, depth: usize) {
        if v.kind() == Kind::Null {
            self.record(h, 0, flag::NULL, false);
            return;
        }
        self.record(h, Self::kind_bit(&v), 0, false);
        if v.kind() == Kind::Object {
            self.object_flags(v, h, depth);
        }
    }

    fn object_bits(&mut self, v: JsonRef<'_, 'i>, h: u64, depth: usize) {
        self.record(h, kind::OBJECT | kind::SINGLE, 0, false);
        self.object_flags(v, h, depth);
    }

    #[inline]
    fn object_flags(&mut self, v: JsonRef<'_, 'i>, h: u64, depth: usize) {
        if v.is_empty() {
            self.record(h, 0, flag::EMPTY_OBJECT, false);
        }
        // Only the first object past the limit: everything inside it is too deep as well, and one
        // finding per subtree says all there is to say.
        if depth == job::MAX_DEPTH + 1 {
            self.record(h, 0, flag::TOO_DEEP, false);
        }
    }

    /// Reports a value whose JSON type does not fit, and still walks it as user data.
    fn mismatch(&mut self, v: JsonRef<'i, 'i>, wanted: &str, h: u64, depth: usize) {
        self.findings.at(
            Code::E_TYPE,
            &self.path,
            &[],
            format!("expected {wanted}, found {}", v.kind().name()),
        );
        if v.kind() == Kind::Array {
            self.value(v, Expect::Free, h, depth, None);
        } else {
            self.record_single(v, h, depth);
            self.typed(v, Expect::Free, h, depth, None);
        }
    }

    fn type_error(&mut self, v: JsonRef<'_, 'i>, ty: Ty) {
        self.findings.at(
            Code::E_TYPE,
            &self.path,
            &[],
            format!("expected {}, found {}", ty_name(ty), v.kind().name()),
        );
    }

    /// Checks a non-array value against `expect` and descends into objects.
    ///
    /// Inlined for the common cases (user data, a message object, a string field); the other
    /// types go through [`typed_slow`](Self::typed_slow).
    #[inline(always)]
    fn typed(
        &mut self,
        v: JsonRef<'i, 'i>,
        expect: Expect,
        h: u64,
        depth: usize,
        parent_msg: Option<u16>,
    ) {
        match expect {
            Expect::Free => {
                if v.kind() == Kind::Object {
                    self.free_object(v, h, depth);
                }
            }
            Expect::Ty(Ty::Message(m), _) if v.kind() == Kind::Object => {
                self.message(v, m, h, depth, parent_msg)
            }
            Expect::Ty(Ty::String, _) if v.kind() == Kind::String => {}
            _ => self.typed_slow(v, expect, h, depth, parent_msg),
        }
    }

    /// [`typed`](Self::typed) for everything else.
    #[inline(never)]
    fn typed_slow(
        &mut self,
        v: JsonRef<'i, 'i>,
        expect: Expect,
        h: u64,
        depth: usize,
        parent_msg: Option<u16>,
    ) {
        let ty = match expect {
            Expect::Free => {
                if v.kind() == Kind::Object {
                    self.free_object(v, h, depth);
                }
                return;
            }
            Expect::Ty(ty, _) => ty,
        };
        if v.kind() == Kind::Null {
            // A null leaves the field unset in protobuf JSON; the job check warns about it.
            return;
        }
        match ty {
            Ty::Message(m) => {
                if v.kind() != Kind::Object {
                    return self.type_error(v, ty);
                }
                self.message(v, m, h, depth, parent_msg);
            }
            Ty::Struct => {
                if v.kind() != Kind::Object {
                    return self.type_error(v, ty);
                }
                self.free_object(v, h, depth);
            }
            Ty::Any => {
                if v.kind() == Kind::Object {
                    self.free_object(v, h, depth);
                }
            }
            Ty::String => {
                if v.kind() != Kind::String {
                    self.type_error(v, ty);
                }
            }
            Ty::Bool => {
                if v.kind() != Kind::Bool {
                    self.type_error(v, ty);
                }
            }
            Ty::Bytes => match v.as_str() {
                None => self.type_error(v, ty),
                Some(s) => {
                    if let Err(at) = check_base64(s.as_bytes()) {
                        self.findings.at(Code::E_BASE64, &self.path, &[], format!("not valid base64 (bad byte at offset {at} of the string): inline data must be base64-encoded"));
                    }
                }
            },
            Ty::Int32 | Ty::Int64 | Ty::UInt32 | Ty::UInt64 => self.integer(v, ty),
            Ty::Number => match v.kind() {
                Kind::Integer | Kind::Float => {}
                Kind::String => {
                    let s = v.as_str().unwrap_or("");
                    if !matches!(s, "NaN" | "Infinity" | "-Infinity")
                        && s.trim().parse::<f64>().is_err()
                    {
                        self.type_error(v, ty);
                    }
                }
                _ => self.type_error(v, ty),
            },
            Ty::Duration => match v.as_str() {
                None => self.type_error(v, ty),
                Some(s) => {
                    if !valid_duration(s) {
                        self.findings.at(Code::E_DURATION, &self.path, &[], format!("\"{}\" is not a duration: write seconds with an `s` suffix, e.g. \"1.5s\", at most 315576000000s either way", clip(s)));
                    }
                }
            },
            Ty::Timestamp => match v.as_str() {
                None => self.type_error(v, ty),
                Some(s) => {
                    if !valid_timestamp(s) {
                        self.findings.at(Code::E_TIMESTAMP, &self.path, &[], format!("\"{}\" is not an RFC 3339 timestamp such as \"2025-01-31T12:00:00Z\"", clip(s)));
                    }
                }
            },
            Ty::Enum(e) => self.enum_value(v, e),
        }
    }

    fn integer(&mut self, v: JsonRef<'_, 'i>, ty: Ty) {
        let value: Option<i128> = match v.kind() {
            Kind::Integer => v.as_integer(),
            Kind::Float => v
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1.8e19)
                .map(|f| f as i128),
            Kind::String => v.as_str().and_then(|s| s.parse::<i128>().ok()),
            _ => return self.type_error(v, ty),
        };
        let (lo, hi): (i128, i128) = match ty {
            Ty::Int32 => (i32::MIN as i128, i32::MAX as i128),
            Ty::UInt32 => (0, u32::MAX as i128),
            Ty::Int64 => (i64::MIN as i128, i64::MAX as i128),
            _ => (0, u64::MAX as i128),
        };
        match value {
            Some(n) if n >= lo && n <= hi => {}
            Some(n) => self.findings.at(
                Code::E_INTEGER,
                &self.path,
                &[],
                format!("{n} is outside the {} range [{lo}, {hi}]", int_name(ty)),
            ),
            None => self.findings.at(
                Code::E_INTEGER,
                &self.path,
                &[],
                format!(
                    "expected {}, found a value that is not a whole number",
                    ty_name(ty)
                ),
            ),
        }
    }

    fn enum_value(&mut self, v: JsonRef<'_, 'i>, e: u16) {
        let def = &ENUMS[e as usize];
        match v.kind() {
            Kind::String => {}
            // Protobuf JSON also takes an enum's number.
            Kind::Integer => {
                let n = v.as_integer().unwrap_or(-1);
                if n < 0 || n >= def.values.len() as i128 {
                    self.findings.at(
                        Code::E_ENUM,
                        &self.path,
                        &[],
                        format!(
                            "{n} is not a number of an enum value of {} (0..{})",
                            def.name,
                            def.values.len()
                        ),
                    );
                }
                return;
            }
            _ => return self.type_error(v, Ty::Enum(e)),
        }
        let s = v.as_str().unwrap_or("");
        if let Some(i) = def.values.iter().position(|x| *x == s) {
            if def.deprecated.get(i).copied().unwrap_or(false) {
                self.findings.at(
                    Code::W_DEPRECATED_VALUE,
                    &self.path,
                    &[],
                    format!("{s} is deprecated in {}", def.name),
                );
            }
            return;
        }
        if let Some(found) = def.values.iter().find(|x| x.eq_ignore_ascii_case(s)) {
            // Lower-case Schema types were seen accepted in real batch output: no finding there.
            if def.name != "Schema.type" {
                self.findings.at(
                    Code::W_ENUM_CASE,
                    &self.path,
                    &[],
                    format!(
                        "\"{s}\" differs from the enum value {found} only in case; write {found}"
                    ),
                );
            }
            return;
        }
        let suggestion = did_you_mean(s, def.values.iter().copied());
        let listed = if def.values.len() <= 12 {
            format!("; allowed: {}", def.values.join(", "))
        } else {
            String::new()
        };
        self.findings.at(
            Code::E_ENUM,
            &self.path,
            &[],
            format!(
                "\"{}\" is not a value of {}{}{}",
                clip(s),
                def.name,
                suggestion,
                listed
            ),
        );
    }

    /// An object of user data: keys are column names; values are walked for the job checks.
    fn free_object(&mut self, v: JsonRef<'i, 'i>, h: u64, depth: usize) {
        for (n, (key, mv)) in v.members().enumerate() {
            let ch = child_hash(h, key);
            self.members_seen += 1;
            self.path.push(Seg::Member(key, n as u32));
            self.key_column(ch, key);
            self.value(mv, Expect::Free, ch, depth + 1, None);
            self.path.pop();
        }
    }

    fn message(
        &mut self,
        v: JsonRef<'i, 'i>,
        m: u16,
        h: u64,
        depth: usize,
        parent_msg: Option<u16>,
    ) {
        let msg = &MESSAGES[m as usize];
        // The field this object sits under (set by the enclosing message's loop).
        let my_field = self.current_field;
        // One bit per field (no message has more than 64, checked at compile time).
        let mut seen: u64 = 0;
        let lookup = FieldLookup::of(m);
        // Built on the object's first repeated field only.
        let mut repeats: Option<Repeats> = None;
        let start = self.entries.len();
        for (n, (key, mv)) in v.members().enumerate() {
            let ch = child_hash(h, key);
            self.members_seen += 1;
            self.path.push(Seg::Member(key, n as u32));
            self.key_column(ch, key);
            let found = lookup.find(key);
            self.entries.push(Entry {
                field: found.map_or(NO_FIELD, |(i, _)| i as u16),
                key,
                value: mv,
            });
            match found {
                Some((i, field)) => {
                    let bit = 1u64 << i;
                    if seen & bit != 0 {
                        // The same value twice is harmless; two values are ambiguous: readers
                        // take the first, the last, or refuse, and the rules checked the first.
                        // Both facts are worked out once per object and field, so a field
                        // repeated 100k times costs linear time (issue 18).
                        let repeats = repeats.get_or_insert_with(|| Repeats::of(v, lookup));
                        let first = repeats.first_hash(i, &self.entries[start..]);
                        let same_value = first == canonical_hash_of(mv);
                        let (code, what) = if repeats.both_spellings(i) {
                            (Code::E_DUPLICATE_FIELD, "is given twice, in camelCase and snake_case; protobuf JSON parsing rejects that")
                        } else if same_value {
                            (
                                Code::W_DUPLICATE_KEY,
                                "appears twice in this object, with the same value",
                            )
                        } else {
                            (
                                Code::E_DUPLICATE_FIELD,
                                "appears twice in this object with different values; JSON readers differ on which one they use (protobuf's JSON parsing rejects it), so the line is not sent: keep one",
                            )
                        };
                        self.findings.at_key(
                            code,
                            &self.path,
                            &[],
                            format!("`{}` {what}", field.json_name),
                        );
                    }
                    seen |= bit;
                    if field.beta_only {
                        self.findings.at_key(Code::W_BETA_FIELD, &self.path, &[], format!("`{key}` exists only in the v1beta1 API of {}; the v1 batch endpoint may reject or ignore it", msg.name));
                        self.value(mv, Expect::Free, ch, depth + 1, Some(m));
                    } else {
                        if field.deprecated {
                            // Reported once per key path and file, with a count: a deprecated
                            // field is usually on every line.
                            self.record(ch, 0, flag::DEPRECATED, true);
                        }
                        self.current_field = Some(field.json_name);
                        self.value(
                            mv,
                            Expect::Ty(field.ty, Some(field)),
                            ch,
                            depth + 1,
                            Some(m),
                        );
                    }
                }
                None => {
                    if let Some(why) = rules::sdk_only_field(m, key) {
                        self.findings
                            .at_key(Code::W_SDK_FIELD, &self.path, &[], why);
                    } else if mv.kind() == Kind::Null {
                        // Protobuf JSON reads a null as "unset" and Vertex ran such lines
                        // (docs/policy.md, "Unknown members set to null").
                        self.findings.at_key(
                            Code::W_UNKNOWN_FIELD_NULL,
                            &self.path,
                            &[],
                            format!("unknown field `{key}` in {} is null: Vertex reads a null as unset and has run such lines, so it is dropped and reaches the model as nothing (it still makes the object non-empty for the import)", msg.name),
                        );
                    } else {
                        let names = msg.fields.iter().map(|f| {
                            if key.contains('_') {
                                f.snake_name
                            } else {
                                f.json_name
                            }
                        });
                        let suggestion = did_you_mean(key, names);
                        self.findings.at_key(
                            Code::E_UNKNOWN_FIELD,
                            &self.path,
                            &[],
                            format!("unknown field `{key}` in {}{suggestion}", msg.name),
                        );
                    }
                    self.value(mv, Expect::Free, ch, depth + 1, Some(m));
                }
            }
            self.path.pop();
        }
        for &i in required_fields(m) {
            let i = i as usize;
            if seen & (1u64 << i) == 0 {
                self.findings.at(
                    Code::E_REQUIRED,
                    &self.path,
                    &[],
                    format!("{} needs `{}`", msg.name, msg.fields[i].json_name),
                );
            }
        }
        // Siblings (the next element of the same list) see the same field name.
        self.current_field = my_field;
        let ctx = MessageCtx {
            msg: m,
            parent: parent_msg,
            field: my_field,
        };
        rules::check_entries(ctx, &self.entries[start..], &self.path, self.findings);
        self.entries.truncate(start);
    }
}

// Every message has at most 64 fields, so [`Walk::message`] tracks the fields it saw in a `u64`.
const _: () = {
    let mut m = 0;
    while m < MESSAGES.len() {
        assert!(MESSAGES[m].fields.len() <= 64);
        m += 1;
    }
};

/// What [`Walk::message`] needs to judge a repeated field, computed once per object.
struct Repeats {
    /// Bit `i`: the object has field `i` spelled as its `json_name`.
    camel: u64,
    /// Bit `i`: the object has field `i` spelled as its `snake_name`.
    snake: u64,
    /// Canonical hash of the first value of each repeated field, as found.
    first: Vec<(usize, u128)>,
}

impl Repeats {
    /// One pass over the object's members.
    #[cold]
    fn of(v: JsonRef<'_, '_>, lookup: FieldLookup) -> Self {
        let (mut camel, mut snake) = (0u64, 0u64);
        for (k, _) in v.members() {
            if let Some((i, field)) = lookup.find(k) {
                if k == field.json_name {
                    camel |= 1 << i;
                }
                if k == field.snake_name && field.snake_name != field.json_name {
                    snake |= 1 << i;
                }
            }
        }
        Repeats {
            camel,
            snake,
            first: Vec::new(),
        }
    }

    /// Whether the object has field `i` both as `json_name` and `snake_name` (so a repeat is a
    /// spelling clash; a field whose two names are one never clashes).
    fn both_spellings(&self, i: usize) -> bool {
        (self.camel & self.snake) & (1 << i) != 0
    }

    /// The canonical hash of the first value of field `i` among `entries` (the object's members
    /// so far), found once.
    #[cold]
    fn first_hash(&mut self, i: usize, entries: &[Entry<'_, '_>]) -> u128 {
        if let Some(&(_, h)) = self.first.iter().find(|(f, _)| *f == i) {
            return h;
        }
        let h = entries
            .iter()
            .find(|e| e.field == i as u16)
            .map_or(0, |e| canonical_hash_of(e.value));
        self.first.push((i, h));
        h
    }
}

/// The canonical hash of a value (see [`super::canon`]); for the rare repeated field.
#[cold]
fn canonical_hash_of(v: JsonRef<'_, '_>) -> u128 {
    let mut scratch = super::canon::CanonScratch::default();
    super::canon::canonical_hash(v, &mut scratch)
}

/// Where the walk is, for the whole-job statistics: kept out of line, as it runs only when a key
/// path shows something new.
#[cold]
#[inline(never)]
fn seen_at(path: &Path<'_>, line: u64, line_offset: u64, order: u64, at_key: bool) -> Seen {
    Seen {
        line,
        line_offset,
        order,
        pointer: path.pointer(),
        key_nth: path.key_nth(),
        at_key,
    }
}

fn column_of(path: &Path<'_>) -> String {
    // Room for every token and its slash (escapes, rare, may grow it).
    let len = path
        .segs()
        .iter()
        .map(|seg| match seg {
            Seg::Key(k) | Seg::Member(k, _) => k.len() + 1,
            Seg::Index(_) => 0,
        })
        .sum();
    let mut out = String::with_capacity(len);
    for seg in path.segs() {
        if let Seg::Key(k) | Seg::Member(k, _) = seg {
            super::diag::push_pointer_token(&mut out, k);
        }
    }
    out
}

#[cfg(test)]
#[path = "walk_tests.rs"]
mod tests;
