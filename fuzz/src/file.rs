//! The file reader (`read_file` target): [`check_file`] and the independent line scan it is
//! checked against.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use batchline::input::ChunkConfig;
use batchline::models::ModelTable;
use batchline::request::diag::{Code, Diagnostic, Scope};
use batchline::request::line::RequestLimits;
use batchline::request::syntax::syntax_column;
use batchline::scan::{validate_bytes, FileReport, ValidateOptions};

use super::codes::{is_line_level, is_syntax};
use super::tree::{parse_tree, Node};

/// Default model limits, built once.
pub fn limits() -> RequestLimits {
    static LIMITS: OnceLock<RequestLimits> = OnceLock::new();
    *LIMITS.get_or_init(|| {
        let opts = ValidateOptions::default();
        let facts = opts.models.get(&opts.model).expect("default model");
        RequestLimits {
            context_window: facts.context_window,
            max_request_bytes: opts.models.limits.max_request_bytes,
        }
    })
}

fn options(chunk: usize) -> ValidateOptions {
    static MODELS: OnceLock<ModelTable> = OnceLock::new();
    ValidateOptions {
        models: MODELS.get_or_init(ModelTable::builtin).clone(),
        chunk: ChunkConfig {
            target_bytes: chunk,
        },
        max_kept: 0,
        ..ValidateOptions::default()
    }
}

/// Where each line starts and how long it is (without `\n` or `\r\n`), scanned independently of
/// batchline's reader: a BOM at the start is skipped, a final line without `\n` counts.
pub fn line_spans(data: &[u8]) -> Vec<(usize, usize)> {
    let mut start = if data.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut spans = Vec::new();
    while start < data.len() {
        let nl = data[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| start + i);
        let end = nl.unwrap_or(data.len());
        let mut stop = end;
        if stop > start && data[stop - 1] == b'\r' {
            stop -= 1;
        }
        spans.push((start, stop - start));
        start = end + 1;
    }
    spans
}

/// Validates `data` as one file with tiny chunks (1 and 7 bytes) and the default chunk size and
/// asserts every invariant:
///
/// - no panic; identical reports and diagnostics for every chunk size;
/// - line counts agree with an independent scan, and every diagnostic's line is 0 (file-level:
///   empty pointer, column 0) or a real line;
/// - `byte - (column - 1)` is the start of that line, and the column lies inside it;
/// - pointers resolve in their line and sit where the column says (whole-job findings too, and
///   their related pointer at the related line).
///
/// Returns the report and diagnostics of the default run.
pub fn check_file(data: &[u8]) -> (FileReport, Vec<Diagnostic>) {
    let limits = limits();
    let normal = validate_bytes("fuzz.jsonl", data, &options(16 << 20), limits);
    for chunk in [1, 7] {
        let tiny = validate_bytes("fuzz.jsonl", data, &options(chunk), limits);
        assert_eq!(normal.0, tiny.0, "report differs with {chunk}-byte chunks");
        assert_eq!(
            normal.1, tiny.1,
            "diagnostics differ with {chunk}-byte chunks"
        );
    }
    let (report, diags) = &normal;
    let spans = line_spans(data);
    assert_eq!(report.lines, spans.len() as u64, "line count");
    assert_eq!(report.bytes, data.len() as u64);
    let blank = spans
        .iter()
        .filter(|(s, n)| {
            data[*s..s + n]
                .iter()
                .all(|b| matches!(b, b' ' | b'\t' | b'\r'))
        })
        .count() as u64;
    let array_file = diags.iter().any(|d| d.code == Code::E_JSON_ARRAY_FILE);
    if !array_file {
        assert_eq!(report.blank_lines, blank, "blank lines");
        assert_eq!(report.requests + report.blank_lines, report.lines);
    }
    let mut by_code: BTreeMap<Code, u64> = BTreeMap::new();
    let mut trees: BTreeMap<u64, Option<Node>> = BTreeMap::new();
    for d in diags {
        *by_code.entry(d.code).or_default() += 1;
        if d.line == 0 {
            assert!(
                d.pointer.is_empty() && d.column == 0 && d.byte == 0 && d.scope == Scope::Job,
                "file-level diagnostic with a position: {d:?}"
            );
            continue;
        }
        assert!(
            d.line <= report.lines,
            "line {} of {}: {d:?}",
            d.line,
            report.lines
        );
        let (start, len) = spans[(d.line - 1) as usize];
        assert!(d.column >= 1, "{d:?}");
        assert_eq!(
            d.byte - (d.column - 1),
            start as u64,
            "byte and column disagree with the line start: {d:?}"
        );
        assert!(
            d.column - 1 <= len as u64
                && (d.column - 1 < len as u64 || len == 0 || is_syntax(d.code)),
            "column {} outside a {len}-byte line: {d:?}",
            d.column
        );
        assert!(d.byte <= data.len() as u64);
        let line = &data[start..start + len];
        if is_syntax(d.code) {
            assert_eq!(d.column as usize, syntax_column(line), "{d:?}");
            continue;
        }
        if is_line_level(d.code) {
            assert!(d.pointer.is_empty() && d.column == 1, "{d:?}");
            continue;
        }
        let tree = trees
            .entry(d.line)
            .or_insert_with(|| parse_tree(line))
            .as_ref()
            .unwrap_or_else(|| panic!("{d:?} on a line that is not JSON"));
        let mut at = tree.resolve(&d.pointer, false);
        at.extend(tree.resolve(&d.pointer, true));
        assert!(
            !at.is_empty(),
            "{} pointer {:?} does not resolve at line {}: {:?}",
            d.code,
            d.pointer,
            d.line,
            String::from_utf8_lossy(line)
        );
        // Through repeated keys too (the column follows the member the finding means).
        if !tree.has_odd_strings() {
            assert!(
                at.contains(&((d.column - 1) as usize)),
                "{} at {:?}: column {} but the pointer sits at {at:?} in {:?}",
                d.code,
                d.pointer,
                d.column,
                String::from_utf8_lossy(line)
            );
        }
        if let (Some(rl), Some(rp)) = (d.related_line, &d.related_pointer) {
            assert!(rl >= 1 && rl <= report.lines, "{d:?}");
            let (s, n) = spans[(rl - 1) as usize];
            let other = parse_tree(&data[s..s + n])
                .unwrap_or_else(|| panic!("related line {rl} is not JSON: {d:?}"));
            let mut at = other.resolve(rp, false);
            at.extend(other.resolve(rp, true));
            assert!(
                !at.is_empty(),
                "related pointer {rp:?} does not resolve at line {rl}: {d:?}"
            );
        }
    }
    assert_eq!(&by_code, &report.by_code, "by_code counts every diagnostic");
    (normal.0, normal.1)
}
