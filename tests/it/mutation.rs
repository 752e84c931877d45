//! Random mutations of valid request lines thrown at the validator (the stable-toolchain twin of
//! the cargo-fuzz targets in `fuzz/`): no panic, every finding on a real line with a byte and
//! column that agree with the file, every pointer resolving in its line where the column says,
//! and key order and whitespace never changing what is found.
//!
//! The invariants live in `fuzz/src/` (included through its index, `lib.rs`), shared with the fuzz
//! targets so both check the same things; the mutations live here. Fixed case counts keep this at a
//! few seconds in debug.

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, RngSeed};

use batchline::request::line::LineChecker;

// The fuzz crate's index re-exports what every fuzz target uses; this test uses only part of it.
#[allow(dead_code, unused_imports)]
#[path = "../../fuzz/src/lib.rs"]
pub(crate) mod oracle;

use oracle::{
    assert_same_findings, check_file, check_line, finding_set, parse_tree, Node, NodeKind,
};

/// Realistic valid lines: Google's batch example, system instruction, tools, function calls,
/// inline and file data, snake_case, unicode and escapes, thinking, speech, labels.
const VALID: &str = include_str!("../../fuzz/seeds/lines.jsonl");

/// Lines with many findings (prose rules, schema, whole-job), so reorderings have something to
/// move.
const INVALID: &str = include_str!("../../fuzz/seeds/findings.jsonl");

fn seeds() -> Vec<&'static [u8]> {
    VALID
        .lines()
        .chain(INVALID.lines())
        .map(str::as_bytes)
        .collect()
}

/// Values a value can be swapped for (another JSON type, or a near-miss of a valid one).
const VALUES: &[&str] = &[
    r#""x""#,
    r#""""#,
    "0",
    "-1",
    "1.5",
    "true",
    "null",
    "{}",
    "[]",
    r#"{"a":1}"#,
    r#"["a",1]"#,
    r#"[[1]]"#,
    r#""gs://bucket/o.png""#,
    r#""image/png""#,
    r#""USER""#,
    r#""1.5s""#,
    r#""NaN""#,
    r#""2025-01-31T12:00:00Z""#,
    r#"{"$defs":{"a b":{}}}"#,
    r#"{"type":["string","null"]}"#,
];

/// Numbers at and past the edges of what parsers and the schema take.
const NUMBERS: &[&str] = &[
    "1e400",
    "-1e400",
    "1E-400",
    "123456789012345678901234567890",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "-9223372036854775809",
    "9007199254740993",
    "-0",
    "-0.0",
    "0.0000000000000000000000001",
    "4294967296",
    "2147483648",
];

/// Byte strings spliced in at random places: structure, escapes, odd bytes.
const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b",",
    b":",
    b"\\",
    b"\\u",
    b"\\ud800",
    b"\\udc00\\ud800",
    b" ",
    b"\t",
    b"\r",
    b"\n",
    b"\xEF\xBB\xBF",
    b"\"request\":",
    b"{\"request\":{}}",
    b"null",
    b"\xC3\xA9",
    b"\xF0\x9F\x98\x80",
    b"\xE2\x80",
    b"\xC0\xAF",
    b"\xED\xA0\x80",
    b"~1",
    b"\"a/b~c\":1,",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete {
        at: usize,
        len: usize,
    },
    Insert {
        at: usize,
        token: usize,
    },
    Replace {
        at: usize,
        byte: u8,
    },
    Truncate {
        at: usize,
    },
    Nul {
        at: usize,
    },
    BadUtf8 {
        at: usize,
        byte: u8,
    },
    SwapKeys {
        node: usize,
        by: usize,
    },
    ChangeType {
        node: usize,
        to: usize,
    },
    DuplicateMember {
        node: usize,
        member: usize,
    },
    Nest {
        node: usize,
        depth: usize,
        array: bool,
    },
    HugeNumber {
        node: usize,
        which: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        (at, 1..16usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (at, 0..TOKENS.len()).prop_map(|(at, token)| Mutation::Insert { at, token }),
        (at, any::<u8>()).prop_map(|(at, byte)| Mutation::Replace { at, byte }),
        at.prop_map(|at| Mutation::Truncate { at }),
        at.prop_map(|at| Mutation::Nul { at }),
        (at, 0x80..=0xffu8).prop_map(|(at, byte)| Mutation::BadUtf8 { at, byte }),
        (at, 1..4usize).prop_map(|(node, by)| Mutation::SwapKeys { node, by }),
        (at, 0..VALUES.len()).prop_map(|(node, to)| Mutation::ChangeType { node, to }),
        (at, any::<usize>()).prop_map(|(node, member)| Mutation::DuplicateMember { node, member }),
        (
            at,
            prop_oneof![1..20usize, 100..140usize, 500..530usize],
            any::<bool>()
        )
            .prop_map(|(node, depth, array)| Mutation::Nest { node, depth, array }),
        (at, 0..NUMBERS.len()).prop_map(|(node, which)| Mutation::HugeNumber { node, which }),
    ]
}

/// Every value of the line's tree in document order (empty when the line is not JSON).
fn nodes(tree: &Node) -> Vec<&Node> {
    let mut out = Vec::new();
    tree.visit(&mut |n| out.push(n));
    out
}

fn splice(line: &[u8], start: usize, end: usize, with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len() + with.len());
    out.extend_from_slice(&line[..start]);
    out.extend_from_slice(with);
    out.extend_from_slice(&line[end..]);
    out
}

/// The raw text of an object's member `m` (key through value).
fn member_text<'a>(line: &'a [u8], m: &oracle::Member) -> &'a [u8] {
    &line[m.key_start..m.value.end]
}

/// Applies `m` to `line`. Structural mutations need the line to be JSON; on other lines they
/// fall back to inserting a token.
fn apply(line: &[u8], m: &Mutation) -> Vec<u8> {
    let pos = |at: usize| {
        if line.is_empty() {
            0
        } else {
            at % (line.len() + 1)
        }
    };
    let tree = parse_tree(line);
    let pick = |node: usize, want: &dyn Fn(&Node) -> bool| -> Option<Node> {
        let tree = tree.as_ref()?;
        let all: Vec<&Node> = nodes(tree).into_iter().filter(|n| want(n)).collect();
        (!all.is_empty()).then(|| all[node % all.len()].clone())
    };
    let any_node = |_: &Node| true;
    let is_object = |n: &Node| matches!(&n.kind, NodeKind::Object(ms) if !ms.is_empty());
    let is_scalar = |n: &Node| matches!(n.kind, NodeKind::Scalar | NodeKind::Str { .. });
    let structural = match *m {
        Mutation::Delete { at, len } => {
            let s = pos(at);
            return splice(line, s, (s + len).min(line.len()), b"");
        }
        Mutation::Insert { at, token } => return splice(line, pos(at), pos(at), TOKENS[token]),
        Mutation::Replace { at, byte } => {
            let s = pos(at).min(line.len().saturating_sub(1));
            return splice(line, s, (s + 1).min(line.len()), &[byte]);
        }
        Mutation::Truncate { at } => return line[..pos(at)].to_vec(),
        Mutation::Nul { at } => return splice(line, pos(at), pos(at), b"\0"),
        Mutation::BadUtf8 { at, byte } => return splice(line, pos(at), pos(at), &[byte]),
        Mutation::SwapKeys { node, by } => pick(node, &is_object).map(|n| {
            let NodeKind::Object(ms) = &n.kind else {
                unreachable!()
            };
            let mut parts: Vec<&[u8]> = ms.iter().map(|m| member_text(line, m)).collect();
            let k = by % parts.len();
            parts.rotate_left(k);
            let mut text = b"{".to_vec();
            text.extend_from_slice(&parts.join(&b","[..]));
            text.push(b'}');
            splice(line, n.start, n.end, &text)
        }),
        Mutation::ChangeType { node, to } => {
            pick(node, &any_node).map(|n| splice(line, n.start, n.end, VALUES[to].as_bytes()))
        }
        Mutation::DuplicateMember { node, member } => pick(node, &is_object).map(|n| {
            let NodeKind::Object(ms) = &n.kind else {
                unreachable!()
            };
            let m = &ms[member % ms.len()];
            let mut text = b",".to_vec();
            text.extend_from_slice(member_text(line, m));
            splice(line, m.value.end, m.value.end, &text)
        }),
        Mutation::Nest { node, depth, array } => pick(node, &any_node).map(|n| {
            let (open, close): (&[u8], &[u8]) = if array {
                (b"[", b"]")
            } else {
                (b"{\"a\":", b"}")
            };
            let mut text = open.repeat(depth);
            text.extend_from_slice(&line[n.start..n.end]);
            text.extend_from_slice(&close.repeat(depth));
            splice(line, n.start, n.end, &text)
        }),
        Mutation::HugeNumber { node, which } => {
            pick(node, &is_scalar).map(|n| splice(line, n.start, n.end, NUMBERS[which].as_bytes()))
        }
    };
    structural.unwrap_or_else(|| splice(line, pos(0), pos(0), b"{"))
}

/// A mutated line: a seed and the mutations applied to it in order.
fn mutated_line() -> impl Strategy<Value = Vec<u8>> {
    let n = seeds().len();
    (0..n, prop::collection::vec(mutation(), 0..4)).prop_map(|(seed, ms)| {
        ms.iter()
            .fold(seeds()[seed].to_vec(), |line, m| apply(&line, m))
    })
}

/// A file of mutated lines, with LF or CRLF, maybe a BOM, blank lines, no final newline.
fn mutated_file() -> impl Strategy<Value = (Vec<Vec<u8>>, Vec<u8>)> {
    (
        prop::collection::vec(mutated_line(), 1..6),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, crlf, bom, blank, final_newline)| {
            let mut data = Vec::new();
            if bom {
                data.extend_from_slice(b"\xEF\xBB\xBF");
            }
            let end: &[u8] = if crlf { b"\r\n" } else { b"\n" };
            for (i, line) in lines.iter().enumerate() {
                if i > 0 {
                    data.extend_from_slice(end);
                    if blank && i == 1 {
                        data.extend_from_slice(b"  ");
                        data.extend_from_slice(end);
                    }
                }
                data.extend_from_slice(line);
            }
            if final_newline {
                data.extend_from_slice(end);
            }
            (lines, data)
        })
}

/// A permutation source and whitespace source driven by one seed (xorshift), so proptest can
/// shrink the seed.
struct Shuffle(u64);

impl Shuffle {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            p.swap(i, (self.next() % (i as u64 + 1)) as usize);
        }
        p
    }
    fn gap(&mut self) -> &'static [u8] {
        const GAPS: [&[u8]; 6] = [b"", b"", b" ", b"\t", b"  \r ", b" \t "];
        GAPS[(self.next() % GAPS.len() as u64) as usize]
    }
}

/// `line` with its members shuffled and whitespace changed (`None` if it is not JSON).
fn reshuffled(line: &[u8], seed: u64) -> Option<Vec<u8>> {
    let tree = parse_tree(line)?;
    let shuffle = std::cell::RefCell::new(Shuffle(seed | 1));
    let mut out = Vec::new();
    tree.render(
        line,
        &mut |n| shuffle.borrow_mut().permutation(n),
        &mut || shuffle.borrow_mut().gap(),
        &mut out,
    );
    Some(out)
}

/// Row findings of one line, as (code, pointer, at_key), sorted.
fn row_findings(line: &[u8]) -> Vec<(batchline::request::diag::Code, String, bool)> {
    let mut c = LineChecker::new();
    c.check(line, 0, 0);
    finding_set(&c.findings.items)
}

/// Whole-job findings of a one-line file, without messages, sorted.
fn job_findings(line: &[u8]) -> Vec<(String, String, Option<String>)> {
    let (_, diags) = check_file(line);
    let mut v: Vec<_> = diags
        .into_iter()
        .filter(|d| d.scope == batchline::request::diag::Scope::Job)
        .map(|d| (d.code.to_string(), d.pointer, d.related_pointer))
        .collect();
    v.sort();
    v
}

/// 256 cases from a fixed seed (`PROPTEST_RNG_SEED` names another, to explore), so a failure in
/// CI reproduces anywhere; failing cases are persisted beside this file
/// (`proptest-regressions/`) and replayed first, until they become named regression tests below.
fn config() -> Config {
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6261_7463_686c_696e);
    Config {
        cases: 256,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        ..Config::default()
    }
}

/// Prediction rows in both member orders, failures, blocks (collect's parser fixtures).
const ROWS: &str = include_str!("../../fuzz/seeds/rows.jsonl");

/// A mutated prediction row.
fn mutated_row() -> impl Strategy<Value = Vec<u8>> {
    let rows: Vec<&'static str> = ROWS.lines().collect();
    let n = rows.len();
    (0..n, prop::collection::vec(mutation(), 0..4)).prop_map(move |(seed, ms)| {
        ms.iter()
            .fold(rows[seed].as_bytes().to_vec(), |line, m| apply(&line, m))
    })
}

proptest! {
    #![proptest_config(config())]

    /// Mutated prediction rows: collect's row reader never panics, and what it writes for a row
    /// is always valid JSON whatever the row held.
    #[test]
    fn mutation_prediction_rows_give_valid_output(row in mutated_row()) {
        oracle::check_prediction_row(&row);
    }

    /// Mutated rows and request lines: collect's member scanner never panics and, on every
    /// object serde_json reads, finds exactly serde_json's members.
    #[test]
    fn mutation_member_scan_agrees_with_serde_json(row in mutated_row(), (lines, _) in mutated_file()) {
        oracle::check_member_scan(&row);
        for line in &lines {
            oracle::check_member_scan(line);
        }
    }

    /// Files of mutated lines: no panic; lines, columns, bytes and pointers agree with the file;
    /// tiny and default chunks give identical results; each line alone passes the line checks.
    #[test]
    fn mutation_findings_sit_in_their_lines((lines, data) in mutated_file()) {
        check_file(&data);
        for line in &lines {
            check_line(line);
        }
    }

    /// Key order and whitespace of a (possibly structurally mutated) valid line change nothing:
    /// neither the row findings nor the whole-job findings.
    #[test]
    fn mutation_key_order_and_whitespace_change_nothing(
        seed in 0..seeds().len(),
        ms in prop::collection::vec(mutation(), 0..3),
        shuffle in any::<u64>(),
    ) {
        let structural = |m: &Mutation| matches!(
            m,
            Mutation::SwapKeys { .. }
                | Mutation::ChangeType { .. }
                | Mutation::Nest { .. }
                | Mutation::HugeNumber { .. }
        );
        let line = ms
            .iter()
            .filter(|m| structural(m))
            .fold(seeds()[seed].to_vec(), |line, m| apply(&line, m));
        // A mutation that finds no node to change breaks the line instead (see `apply`): skip those.
        let tree = parse_tree(&line);
        prop_assume!(tree.is_some());
        prop_assume!(!tree.expect("checked").has_duplicates_or_odd_strings());
        let variant = reshuffled(&line, shuffle).expect("JSON");
        let mut c = LineChecker::new();
        c.check(&line, 0, 0);
        assert_same_findings(&line, &c.findings.items, &variant);
        prop_assert_eq!(job_findings(&line), job_findings(&variant), "\n{}\n{}",
            String::from_utf8_lossy(&line), String::from_utf8_lossy(&variant));
        check_line(&variant);
    }
}

#[test]
fn mutation_row_seeds_read() {
    for row in ROWS.lines() {
        assert!(
            batchline::collect::row::parse_row(row.as_bytes(), Some("batchline_key")).is_ok(),
            "{row}"
        );
        oracle::check_prediction_row(row.as_bytes());
        oracle::check_member_scan(row.as_bytes());
    }
    for line in VALID.lines() {
        oracle::check_member_scan(line.as_bytes());
    }
}

#[test]
fn mutation_seeds_are_valid() {
    for line in VALID.lines().map(str::as_bytes) {
        let findings = row_findings(line);
        assert!(
            findings
                .iter()
                .all(|(c, _, _)| c.severity() == batchline::request::diag::Severity::Warning),
            "{findings:?} in {}",
            String::from_utf8_lossy(line)
        );
        check_line(line);
    }
    check_file(VALID.as_bytes());
    check_file(INVALID.as_bytes());
    for line in INVALID.lines() {
        check_line(line.as_bytes());
    }
}

/// With `max_kept` (the CLI's `--max-errors`), which findings are kept must not depend on the
/// chunk size: `validate_bytes` keeps whole chunks while fewer than `max_kept` are gathered and
/// `validate` then cuts the (line, column)-sorted list, so a line whose findings are not in column
/// order (E_UNKNOWN_FIELD is found before the E_REQUIRED of its enclosing object, which sits one
/// column earlier) keeps a different finding with one chunk than with one chunk per line.
#[test]
fn mutation_max_kept_is_chunk_invariant() {
    use batchline::input::ChunkConfig;
    use batchline::ValidateOptions;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("in.jsonl");
    std::fs::write(
        &path,
        b"{\"request\":{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":1}]}]}}\n\
          {\"request\":{\"contents\":[{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"zzz\":1}}]}]}}\n",
    )
    .expect("write");
    let run = |target_bytes: usize| {
        let opts = ValidateOptions {
            inputs: vec![path.as_path().into()],
            chunk: ChunkConfig { target_bytes },
            threads: 1,
            max_kept: 2,
            ..ValidateOptions::default()
        };
        let report = batchline::validate(&opts).expect("validate");
        report
            .diagnostics
            .iter()
            .map(|d| (d.line, d.column, d.code.to_string()))
            .collect::<Vec<_>>()
    };
    // One chunk keeps E_TYPE (1:57) and E_UNKNOWN_FIELD (2:70); one chunk per line keeps E_TYPE
    // and E_REQUIRED (2:69).
    assert_eq!(run(16 << 20), run(1));
}

/// A syntax error's column must not fall inside a UTF-8 character. `syntax_column` passes on
/// serde_json's column, which for a bad `\u` escape is the 4th byte after `\u`: here `\ud8` is
/// followed by `の` (E3 81 AE at bytes 10..13), and the column is 12, the second byte of `の`.
/// Found by `cargo fuzz run validate_line`.
#[test]
fn mutation_syntax_column_on_char_boundary() {
    let line = b"{\"a\":\"\\ud8\xE3\x81\xAE\"}";
    let col = batchline::request::syntax::syntax_column(line);
    let text = std::str::from_utf8(line).expect("UTF-8");
    assert!(text.is_char_boundary(col - 1), "column {col}");
    // The first byte that is not a hex digit is `の` at byte 10: column 11.
    assert_eq!(col, 11);
}

/// A field given in both spellings is an error whichever comes first. `Walk::message` tests
/// `key == field.json_name || key == field.snake_name && !dup_spelling(..)`, so when the
/// camelCase key comes second the first operand wins and the clash is only a `W_DUPLICATE_KEY`
/// warning ("appears twice"), and the line counts as valid.
#[test]
fn mutation_spelling_duplicate_ignores_order() {
    let codes = |config: &str| -> Vec<String> {
        let line = format!(
            r#"{{"request":{{"contents":[{{"role":"user","parts":[{{"text":"a"}}]}}],"generationConfig":{config}}}}}"#
        );
        let mut c = LineChecker::new();
        c.check(line.as_bytes(), 0, 0);
        c.findings
            .items
            .iter()
            .map(|f| f.code.to_string())
            .collect()
    };
    assert_eq!(
        codes(r#"{"candidateCount":1,"candidate_count":1}"#),
        ["E_DUPLICATE_FIELD"]
    );
    assert_eq!(
        codes(r#"{"candidate_count":1,"candidateCount":1}"#),
        ["E_DUPLICATE_FIELD"]
    );
}

/// A finding inside the second of two members with the same key sits in that member. A pointer
/// cannot tell duplicates apart (by it alone, the unknown field `txt` under the second `request`
/// was placed at the first request's empty `[]`), so the finding carries which occurrence of each
/// repeated key it means (`key_nth`), and `locate_finding` follows it.
#[test]
fn mutation_duplicate_key_findings_sit_in_their_member() {
    let line: &[u8] = br#"{"request":{"contents":[]},"request":{"contents":[{"role":"user","parts":[{"txt":"a"}]}]}}"#;
    let mut c = LineChecker::new();
    c.check(line, 0, 0);
    let f = c
        .findings
        .items
        .iter()
        .find(|f| f.code == batchline::request::diag::Code::E_UNKNOWN_FIELD)
        .expect("E_UNKNOWN_FIELD");
    assert_eq!(f.key_nth, [1], "{f:?}");
    let at = batchline::request::locate::locate_finding(line, f);
    let txt = line
        .windows(5)
        .position(|w| w == b"\"txt\"")
        .expect("key present");
    assert_eq!(at, txt, "{}", f.pointer);
}

/// Schemas nested to just under simd-json's depth limit (512) are walked without overflowing a
/// worker thread's stack, in debug builds too: `items` 505 deep (one message per JSON level) and
/// `properties` 250 deep (a message and a map per two levels).
#[test]
fn mutation_deep_schemas_do_not_overflow() {
    let line = |wrap: &str, close: &str, n: usize| -> Vec<u8> {
        let schema = format!(
            "{}{{\"type\":\"STRING\"}}{}",
            wrap.repeat(n),
            close.repeat(n)
        );
        format!(
            r#"{{"request":{{"contents":[{{"role":"user","parts":[{{"text":"a"}}]}}],"generationConfig":{{"responseMimeType":"application/json","responseSchema":{schema}}}}}}}"#
        )
        .into_bytes()
    };
    let items = line(r#"{"type":"ARRAY","items":"#, "}", 505);
    let properties = line(r#"{"type":"OBJECT","properties":{"a":"#, "}}", 250);
    for l in [items, properties] {
        check_line(&l);
        let (report, diags) = check_file(&l);
        assert_eq!(report.lines, 1);
        assert!(
            diags
                .iter()
                .any(|d| d.code == batchline::request::diag::Code::E_JOB_DEPTH),
            "{diags:?}"
        );
    }
}
