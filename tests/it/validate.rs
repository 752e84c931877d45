//! `batchline validate` end to end: Google's own examples pass, one fixture per finding code,
//! exact positions, the whole-job checks, output formats, exit codes and the reader's edge cases.
//!
//! Every test runs the built binary (see `common`).
//!
//! Split across three files: this one (output formats, exit codes, stdin, several files, the
//! reader's edge cases and the model-table limits), `validate_positions` (exact positions and
//! the whole-job checks) and `validate_fixtures` (Google's own examples and one fixture per code).

use std::collections::BTreeMap;

use crate::common::{col, parse_json_output, pricing_file, redact, testdata, Finding, TestContext};

/// A valid one-line request.
pub(crate) const OK: &str = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}}"#;

pub(crate) fn codes_of(findings: &[Finding]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for f in findings {
        *out.entry(f.code.clone()).or_default() += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Output formats and exit codes

fn small_file(ctx: &TestContext) -> String {
    ctx.write(
        "small.jsonl",
        concat!(
            r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"temprature":0.2}}}"#,
            "\n\n",
            r#"{"id":"7","request":{"contents":[{"role":"user","parts":[{"text":5}]}]}}"#,
            "\n"
        ),
    )
}

fn transcript(out: &crate::common::Output) -> String {
    format!(
        "exit: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        out.code, out.stdout, out.stderr
    )
}

#[test]
fn validate_human_output() {
    let ctx = TestContext::new();
    let file = small_file(&ctx);
    let out = ctx.run(&["validate", &file]);
    insta::assert_snapshot!(transcript(&out), @r#"
    exit: 1
    ----- stdout -----
    small.jsonl:1:86: error[E_UNKNOWN_FIELD] at /request/generationConfig/temprature: unknown field `temprature` in GenerationConfig; did you mean `temperature`?
    small.jsonl:2:1: warning[W_BLANK_LINE]: blank line: skipped, never sent
    small.jsonl:3:7: warning[W_NUMERIC_STRING_KEY] at /id: `id` is the string "7", which looks like a number: Vertex has been seen to return such values as numbers, so matching results by it may fail; add a non-digit prefix
    small.jsonl:3:66: error[E_TYPE] at /request/contents/0/parts/0/text: expected a string, found number
    small.jsonl:3:66: error[E_JOB_TYPE_CONFLICT] (whole job) at /request/contents/0/parts/0/text: `/request/contents/parts/text` is string on line 1, number on line 3: Vertex imports the file as a table with one type per key path, so the whole job would fail; use one JSON type for this field on every line [other side: line 1 /request/contents/0/parts/0/text]
    small.jsonl: the whole job would fail — 3 lines, 2 requests, 0 valid, 2 invalid, 1 blank; 3 errors (1 whole-job), 2 warnings
      by code: W_BLANK_LINE 1, W_NUMERIC_STRING_KEY 1, E_UNKNOWN_FIELD 1, E_TYPE 1, E_JOB_TYPE_CONFLICT 1
      top-level members beside `request` (Vertex copies them to the output): id (1)
    ----- stderr -----
    "#);
    assert!(
        !out.stdout.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    // --quiet keeps only the summary.
    let out = ctx.run(&["validate", &file, "--quiet"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .starts_with("small.jsonl: the whole job would fail"),
        "{}",
        out.stdout
    );
    // A clean file.
    let ok = ctx.write("ok.jsonl", format!("{OK}\n"));
    let out = ctx.run(&["validate", &ok]);
    insta::assert_snapshot!(transcript(&out), @r"
    exit: 0
    ----- stdout -----
    ok.jsonl: ok — 1 lines, 1 requests, 1 valid, 0 invalid, 0 blank; 0 errors (0 whole-job), 0 warnings
    ----- stderr -----
    ");
}

#[test]
fn validate_github_format() {
    let ctx = TestContext::new();
    let file = small_file(&ctx);
    let out = ctx.run(&["validate", &file, "--format", "github"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr, "");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        vec![
            "::error file=small.jsonl,line=1,col=86,title=E_UNKNOWN_FIELD::/request/generationConfig/temprature: unknown field `temprature` in GenerationConfig; did you mean `temperature`?",
            "::warning file=small.jsonl,line=2,col=1,title=W_BLANK_LINE::blank line: skipped, never sent",
            "::warning file=small.jsonl,line=3,col=7,title=W_NUMERIC_STRING_KEY::/id: `id` is the string \"7\", which looks like a number: Vertex has been seen to return such values as numbers, so matching results by it may fail; add a non-digit prefix",
            "::error file=small.jsonl,line=3,col=66,title=E_TYPE::/request/contents/0/parts/0/text: expected a string, found number",
            "::error file=small.jsonl,line=3,col=66,title=E_JOB_TYPE_CONFLICT::/request/contents/0/parts/0/text: `/request/contents/parts/text` is string on line 1, number on line 3: Vertex imports the file as a table with one type per key path, so the whole job would fail; use one JSON type for this field on every line",
        ]
    );
    // File-level findings have no line; property values are escaped.
    let bom = ctx.write(
        "a,b:c.jsonl",
        [b"\xEF\xBB\xBF".as_slice(), OK.as_bytes(), b"\n"].concat(),
    );
    let out = ctx.run(&["validate", &bom, "--format", "github"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout
            .starts_with("::warning file=a%2Cb%3Ac.jsonl,title=W_BOM::"),
        "{}",
        out.stdout
    );
    assert_eq!(out.stdout.lines().count(), 1);
}

#[test]
fn validate_json_format_and_summary_counts() {
    let ctx = TestContext::new();
    let file = small_file(&ctx);
    let out = ctx.run(&["validate", &file, "--format", "json"]);
    assert_eq!(out.code, 1);
    for line in out.stdout.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    let last: serde_json::Value = serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "summary");
    let run = parse_json_output(out);
    assert_eq!(run.findings.len(), 5);
    let s = &run.summary;
    assert!(!s.ok);
    assert!(!s.truncated);
    assert_eq!(s.model, "gemini-2.5-flash");
    assert_eq!(s.schema_revision.len(), 8, "{}", s.schema_revision);
    assert_eq!(s.files.len(), 1);
    let f = &s.files[0];
    assert_eq!(f.file, "small.jsonl");
    assert_eq!(
        (
            f.lines,
            f.requests,
            f.valid,
            f.invalid,
            f.blank_lines,
            f.errors,
            f.warnings,
            f.job_errors
        ),
        (3, 2, 0, 2, 1, 3, 2, 1)
    );
    let by_code: BTreeMap<String, u64> = [
        ("E_JOB_TYPE_CONFLICT", 1),
        ("E_TYPE", 1),
        ("E_UNKNOWN_FIELD", 1),
        ("W_BLANK_LINE", 1),
        ("W_NUMERIC_STRING_KEY", 1),
    ]
    .into_iter()
    .map(|(c, n)| (c.to_string(), n))
    .collect();
    assert_eq!(f.by_code, by_code);
    assert_eq!(f.extra_members, BTreeMap::from([("id".to_string(), 1)]));
    assert_eq!(
        f.bytes,
        std::fs::metadata(ctx.dir().join(&file)).unwrap().len()
    );
    let mut total = f.clone();
    total.file = "(total)".into();
    assert_eq!(s.total, total);
    // Every finding names the file and carries severity and scope.
    for d in &run.findings {
        assert_eq!(d.file, "small.jsonl");
        assert!(matches!(d.severity.as_str(), "error" | "warning"));
        assert!(matches!(d.scope.as_str(), "row" | "job"));
    }
}

#[test]
fn validate_max_errors_limits_printing_not_counting() {
    let ctx = TestContext::new();
    let bad = r#"{"request":{"contents":[{"role":"user","parts":[{"txt":"hi"}]}]}}"#;
    let mut text = String::new();
    for _ in 0..5 {
        text.push_str(bad);
        text.push('\n');
    }
    // A whole-job conflict on the last line.
    text.push_str(r#"{"request":{"contents":[{"role":"user","parts":[{"txt":5}]}]}}"#);
    text.push('\n');
    let file = ctx.write("many.jsonl", &text);
    let out = ctx.run(&["validate", &file, "--format", "json", "--max-errors", "2"]);
    assert_eq!(out.code, 1);
    let run = parse_json_output(out);
    let printed: Vec<(u64, &str)> = run
        .findings
        .iter()
        .map(|f| (f.line, f.code.as_str()))
        .collect();
    assert_eq!(
        printed,
        vec![
            (1, "E_UNKNOWN_FIELD"),
            (2, "E_UNKNOWN_FIELD"),
            (6, "E_JOB_TYPE_CONFLICT")
        ]
    );
    assert!(run.summary.truncated);
    assert_eq!(run.summary.total.errors, 7);
    assert_eq!(run.summary.total.by_code["E_UNKNOWN_FIELD"], 6);
    assert_eq!(run.summary.total.invalid, 6);
    // Human format says how many were not shown.
    let out = ctx.run(&["validate", &file, "--max-errors", "2"]);
    assert!(
        out.stdout
            .contains("… 4 more findings not shown (--max-errors 2; 0 shows all)"),
        "{}",
        out.stdout
    );
    // 0 shows all.
    let run = ctx.validate_json(&[&file]);
    assert_eq!(run.findings.len(), 7);
    assert!(!run.summary.truncated);
}

#[test]
fn validate_deny_warnings() {
    let ctx = TestContext::new();
    let file = ctx.write("warn.jsonl", format!("{OK}\n\n{OK}\n"));
    let out = ctx.run(&["validate", &file]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains(": ok — 3 lines"), "{}", out.stdout);
    let out = ctx.run(&["validate", &file, "--deny-warnings"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    // The verdict agrees with the exit status (it said "ok").
    assert!(
        out.stdout
            .contains(": warnings (denied by --deny-warnings) — 3 lines"),
        "{}",
        out.stdout
    );
    let clean = ctx.write("clean.jsonl", format!("{OK}\n"));
    assert_eq!(ctx.run(&["validate", &clean, "--deny-warnings"]).code, 0);
}

#[test]
fn validate_usage_errors_exit_2() {
    let ctx = TestContext::new();
    let file = ctx.write("ok.jsonl", format!("{OK}\n"));
    let out = ctx.run(&["validate", &file, "--no-such-flag"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--no-such-flag"), "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert_eq!(ctx.run(&["validate"]).code, 2);
    assert_eq!(ctx.run(&["validate", &file, "--format", "xml"]).code, 2);
    assert_eq!(ctx.run(&["validate", &file, "--max-errors", "-1"]).code, 2);
    let out = ctx.run(&["validate", &file, "--model", "gemini-9"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.starts_with("error: unknown model `gemini-9`"),
        "{}",
        out.stderr
    );
    // stdin twice (the second would read nothing), and a thread count that would stall.
    for (args, says) in [
        (
            vec!["validate", "-", "-"],
            "`-` (stdin) is given more than once",
        ),
        (
            vec!["validate", &file, "-j", "100000"],
            "-j 100000: at most 1024 threads",
        ),
        (
            vec!["stats", &file, "-j", "5000"],
            "-j 5000: at most 1024 threads",
        ),
        (
            vec![
                "stats",
                &file,
                "--tokenizer-model",
                "/nonexistent/gemma.model",
            ],
            "looked in: /nonexistent/gemma.model",
        ),
    ] {
        let out = ctx.run(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn validate_io_errors_exit_3() {
    let ctx = TestContext::new();
    let out = ctx.run(&["validate", "missing.jsonl"]);
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.starts_with("error: missing.jsonl: No such file"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
    // A directory is not an input.
    std::fs::create_dir(ctx.dir().join("dir")).unwrap();
    let out = ctx.run(&["validate", "dir"]);
    assert_eq!(out.code, 3);
    assert!(out.stderr.starts_with("error: dir:"), "{}", out.stderr);
    // A broken --pricing file.
    let file = ctx.write("ok.jsonl", format!("{OK}\n"));
    let bad = ctx.write("bad.json", "{");
    let out = ctx.run(&["validate", &file, "--pricing", &bad]);
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.starts_with("error: bad.json: "),
        "{}",
        out.stderr
    );
}

#[test]
fn validate_stdin_gives_the_same_findings_as_the_file() {
    let ctx = TestContext::new();
    let path = testdata("job/whole_job.jsonl");
    let data = std::fs::read(&path).unwrap();
    let from_file = ctx.validate_json(&[&path]);
    let from_stdin = ctx.validate_json_stdin(&["-"], &data);
    assert_eq!(from_stdin.out.code, from_file.out.code);
    let strip = |fs: &[Finding]| -> Vec<Finding> {
        fs.iter()
            .map(|f| Finding {
                file: String::new(),
                ..f.clone()
            })
            .collect()
    };
    assert!(from_file.findings.len() > 5);
    assert_eq!(strip(&from_stdin.findings), strip(&from_file.findings));
    assert!(from_stdin.findings.iter().all(|f| f.file == "-"));
    let mut a = from_stdin.summary.total.clone();
    let mut b = from_file.summary.total.clone();
    a.file.clear();
    b.file.clear();
    assert_eq!(a, b);
    assert_eq!(from_stdin.summary.files[0].file, "-");
}

#[test]
fn validate_several_files_are_separate_jobs() {
    let ctx = TestContext::new();
    // `n` is a string in a.jsonl and a number in b.jsonl: not a conflict, they are two jobs.
    let a = testdata("job/split_a.jsonl");
    let b = testdata("job/split_b.jsonl");
    let run = ctx.validate_json(&[&a, &b]);
    assert_eq!(run.out.code, 0, "{:#?}", run.findings);
    assert!(run.findings.is_empty(), "{:#?}", run.findings);
    assert_eq!(run.summary.files.len(), 2);
    assert_eq!(run.summary.files[0].file, a);
    assert_eq!(run.summary.files[1].file, b);
    assert_eq!(run.summary.files[0].lines, 2);
    assert_eq!(run.summary.files[1].lines, 3);
    assert_eq!(run.summary.total.lines, 5);
    assert_eq!(run.summary.total.requests, 5);
    // Together in one file they conflict.
    let both = [std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap()].concat();
    let file = ctx.write("both.jsonl", &both);
    let run = ctx.validate_json(&[&file]);
    let f = run.with_code("E_JOB_TYPE_CONFLICT");
    assert_eq!(f.len(), 1, "{:#?}", run.findings);
    assert_eq!(
        (f[0].line, f[0].related_line, f[0].pointer.as_str()),
        (3, Some(1), "/n")
    );
    // Findings of several files come in file order, each with its own line numbers.
    let bad = ctx.write("bad.jsonl", format!("{OK}\n{{\"x\":1}}\n"));
    let run = ctx.validate_json(&[&bad, &a, &bad]);
    let got: Vec<(&str, u64, &str)> = run
        .findings
        .iter()
        .map(|f| (f.file.as_str(), f.line, f.code.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("bad.jsonl", 2, "E_MISSING_REQUEST"),
            ("bad.jsonl", 2, "E_MISSING_REQUEST")
        ]
    );
    assert_eq!(run.summary.files.len(), 3);
    assert_eq!(run.summary.total.errors, 2);
    // Human output prints one summary per file and a total.
    let out = ctx.run(&["validate", &bad, &bad]);
    assert_eq!(
        out.stdout.matches("bad.jsonl: invalid lines").count(),
        2,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("(total): invalid lines — 4 lines"),
        "{}",
        out.stdout
    );
}

#[test]
fn validate_empty_file() {
    let ctx = TestContext::new();
    let file = ctx.write("empty.jsonl", "");
    let run = ctx.validate_json(&[&file]);
    assert_eq!(run.out.code, 0);
    assert!(run.findings.is_empty());
    let s = &run.summary.total;
    assert_eq!(
        (s.lines, s.requests, s.bytes, s.errors, s.warnings),
        (0, 0, 0, 0, 0)
    );
    assert!(run.summary.ok);
    // Also from stdin, and with mmap forced.
    let run = ctx.validate_json_stdin(&["-"], b"");
    assert_eq!((run.out.code, run.summary.total.lines), (0, 0));
    let run = ctx.validate_json(&[&file, "--mmap"]);
    assert_eq!((run.out.code, run.summary.total.lines), (0, 0));
}

#[test]
fn validate_json_array_file_is_one_finding() {
    let ctx = TestContext::new();
    for (name, expected_lines) in [
        ("reader/array_pretty.jsonl", 30),
        ("reader/array_one_line.jsonl", 1),
    ] {
        let path = testdata(name);
        let run = ctx.validate_json(&[&path]);
        assert_eq!(run.out.code, 1, "{name}");
        assert_eq!(run.findings.len(), 1, "{name}: {:#?}", run.findings);
        let f = &run.findings[0];
        assert_eq!(f.code, "E_JSON_ARRAY_FILE");
        assert_eq!((f.severity.as_str(), f.scope.as_str()), ("error", "job"));
        assert!(f.message.contains("jq -c"), "{}", f.message);
        assert_eq!(run.summary.total.errors, 1, "{name}");
        assert_eq!(run.summary.total.job_errors, 1, "{name}");
        assert_eq!(run.summary.total.lines, expected_lines, "{name}");
    }
    // A JSONL file whose first line is a JSON array (of numbers, of objects, or empty) is JSON
    // Lines with a bad line: the other lines are checked.
    for first in [
        "[1,2]",
        "[]",
        &format!("[{OK}]"),
        &format!("  [{OK}, {OK}]"),
    ] {
        let file = ctx.write("not_array.jsonl", format!("{first}\n{OK}\n{OK}\n"));
        let run = ctx.validate_json(&[&file]);
        assert_eq!(
            codes_of(&run.findings),
            BTreeMap::from([("E_NOT_OBJECT".to_string(), 1)]),
            "{first}"
        );
        assert_eq!(run.findings[0].line, 1, "{first}");
        assert_eq!(
            (run.summary.total.lines, run.summary.total.valid),
            (3, 2),
            "{first}"
        );
    }
}

#[test]
fn validate_last_line_without_newline_is_checked() {
    let ctx = TestContext::new();
    let path = testdata("reader/no_final_newline.jsonl");
    let data = std::fs::read(&path).unwrap();
    assert_ne!(data.last(), Some(&b'\n'));
    let run = ctx.validate_json(&[&path]);
    assert_eq!(run.summary.total.lines, 3);
    assert_eq!(run.summary.total.requests, 3);
    let got: Vec<(u64, &str)> = run
        .findings
        .iter()
        .map(|f| (f.line, f.code.as_str()))
        .collect();
    assert_eq!(got, vec![(3, "E_UNKNOWN_FIELD")]);
    // Without a final newline, a final \r still belongs to the line ending.
    let file = ctx.write("cr.jsonl", format!("{OK}\r\n{OK}\r"));
    let run = ctx.validate_json(&[&file]);
    assert_eq!(run.out.code, 0, "{:#?}", run.findings);
    assert_eq!(run.summary.total.lines, 2);
}

#[test]
fn validate_crlf_file_has_the_same_findings_as_lf() {
    let ctx = TestContext::new();
    let crlf = testdata("reader/crlf.jsonl");
    let data = std::fs::read(&crlf).unwrap();
    assert!(
        data.windows(2).filter(|w| w == b"\r\n").count() >= 3,
        "crlf.jsonl lost its CRLFs"
    );
    let lf: Vec<u8> = String::from_utf8(data.clone())
        .unwrap()
        .replace("\r\n", "\n")
        .into_bytes();
    let lf = ctx.write("lf.jsonl", &lf);
    let a = ctx.validate_json(&[&crlf]);
    let b = ctx.validate_json(&[&lf]);
    let key = |r: &crate::common::JsonRun| r.tuples();
    assert_eq!(key(&a), key(&b));
    assert!(!a.findings.is_empty());
    assert_eq!(a.summary.total.lines, b.summary.total.lines);
}

// ---------------------------------------------------------------------------------------------
// Limits from the model table (`--pricing`)

#[test]
fn validate_file_limits_come_from_the_model_table() {
    let ctx = TestContext::new();
    let pricing = pricing_file(&ctx, "tiny_limits.json", |t| {
        t["limits"]["max_requests_per_file"] = 2.into();
        t["limits"]["max_bytes_per_file"] = 100.into();
    });
    let file = ctx.write("three.jsonl", format!("{OK}\n{OK}\n{OK}\n"));
    let run = ctx.validate_json(&[&file, "--pricing", &pricing]);
    assert_eq!(run.out.code, 0, "limits are warnings");
    let got: Vec<(u64, u64, &str, &str)> = run
        .findings
        .iter()
        .map(|f| (f.line, f.column, f.code.as_str(), f.scope.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, 0, "W_FILE_REQUESTS", "job"),
            (0, 0, "W_FILE_BYTES", "job")
        ]
    );
    assert!(
        run.findings[0].message.contains("3 requests"),
        "{}",
        run.findings[0].message
    );
    assert!(run.findings[0].message.contains("prepare"));
    let bytes = 3 * (OK.len() + 1);
    assert!(
        run.findings[1].message.contains(&format!("{bytes} bytes")),
        "{}",
        run.findings[1].message
    );
    // At the limit: no warning. Blank lines are not requests.
    let file = ctx.write("two.jsonl", format!("{OK}\n\n{OK}\n"));
    let run = ctx.validate_json(&[&file, "--pricing", &pricing]);
    assert_eq!(
        run.with_code("W_FILE_REQUESTS").len(),
        0,
        "{:#?}",
        run.findings
    );
    // The built-in limits are far away.
    let run = ctx.validate_json(&[&ctx.write("three_again.jsonl", format!("{OK}\n{OK}\n{OK}\n"))]);
    assert!(run.findings.is_empty());
}

#[test]
fn validate_request_size_limit() {
    let ctx = TestContext::new();
    let pricing = pricing_file(&ctx, "small_requests.json", |t| {
        t["limits"]["max_request_bytes"] = 100.into();
    });
    let long = OK.replace("\"hi\"", &format!("\"{}\"", "x".repeat(60)));
    assert!(OK.len() <= 100 && long.len() > 100);
    let file = ctx.write("sizes.jsonl", format!("{OK}\n{long}\n"));
    let run = ctx.validate_json(&[&file, "--pricing", &pricing]);
    assert_eq!(run.out.code, 0);
    assert_eq!(
        run.tuples(),
        vec![(
            2,
            col(&long, "{\"contents\""),
            "W_REQUEST_BYTES".into(),
            "/request".into()
        )]
    );
    assert!(
        run.findings[0]
            .message
            .contains(&format!("{} bytes", long.len())),
        "{}",
        run.findings[0].message
    );
}

#[test]
fn validate_context_window_estimate() {
    let ctx = TestContext::new();
    let pricing = pricing_file(&ctx, "tiny_window.json", |t| {
        let mut m = t["models"]["gemini-2.5-flash"].clone();
        m["context_window"] = 10.into();
        t["models"]["tiny-window"] = m;
    });
    // ~2 tokens, ~12 tokens (over 10, within the estimate's margin), ~21 tokens (clearly over).
    let near = OK.replace("\"hi\"", "\"a b c d e f g h i j k\"");
    let far = OK.replace(
        "\"hi\"",
        "\"one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty\"",
    );
    let file = ctx.write("window.jsonl", format!("{OK}\n{near}\n{far}\n"));
    let run = ctx.validate_json(&[&file, "--pricing", &pricing, "--model", "tiny-window"]);
    assert_eq!(run.out.code, 1);
    assert_eq!(run.summary.model, "tiny-window");
    let got: Vec<(u64, &str, &str)> = run
        .findings
        .iter()
        .map(|f| (f.line, f.code.as_str(), f.pointer.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, "W_CONTEXT_WINDOW", "/request"),
            (3, "E_CONTEXT_WINDOW", "/request")
        ]
    );
    assert!(
        run.findings[1].message.contains("10-token"),
        "{}",
        run.findings[1].message
    );
    // `publishers/google/models/<id>` names the same entry.
    let run = ctx.validate_json(&[
        &file,
        "--pricing",
        &pricing,
        "--model",
        "publishers/google/models/tiny-window",
    ]);
    assert_eq!(run.with_code("E_CONTEXT_WINDOW").len(), 1);
    // With the built-in window nothing is near.
    let run = ctx.validate_json(&[&file]);
    assert!(run.findings.is_empty(), "{:#?}", run.findings);
}

// ---------------------------------------------------------------------------------------------
// Library bugs found by these tests

#[test]
fn validate_duplicate_field_in_either_order() {
    let ctx = TestContext::new();
    let camel_first = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"systemInstruction":{"parts":[{"text":"a"}]},"system_instruction":{"parts":[{"text":"b"}]}}}"#;
    let snake_first = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"system_instruction":{"parts":[{"text":"a"}]},"systemInstruction":{"parts":[{"text":"b"}]}}}"#;
    let file = ctx.write("dup.jsonl", format!("{camel_first}\n{snake_first}\n"));
    let run = ctx.validate_json(&[&file]);
    let got: Vec<(u64, &str, &str)> = run
        .findings
        .iter()
        .map(|f| (f.line, f.code.as_str(), f.pointer.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "E_DUPLICATE_FIELD", "/request/system_instruction"),
            (2, "E_DUPLICATE_FIELD", "/request/systemInstruction"),
        ]
    );
}

#[test]
fn validate_io_error_transcript() {
    // The I/O error names the path as given; absolute paths are redacted for transcripts.
    let ctx = TestContext::new();
    let missing = ctx.dir().join("nope.jsonl");
    let out = ctx.run(&["validate", &missing.to_string_lossy()]);
    assert_eq!(out.code, 3);
    insta::assert_snapshot!(redact(&ctx, &transcript(&out)), @r"
    exit: 3
    ----- stdout -----
    ----- stderr -----
    error: [TEMP]/nope.jsonl: No such file or directory (os error 2)
    ");
}

#[test]
fn validate_human_output_shows_control_characters_as_escapes() {
    let ctx = TestContext::new();
    let line =
        r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"\u001b[31mred":1}}"#;
    let file = ctx.write("esc.jsonl", format!("{line}\n"));
    let out = ctx.run(&["validate", &file]);
    assert_eq!(out.code, 1);
    assert!(!out.stdout.contains('\u{1b}'), "{:?}", out.stdout);
    assert!(
        out.stdout
            .contains("unknown field `\\u{1b}[31mred` in GenerateContentRequest"),
        "{}",
        out.stdout
    );
    // JSON output keeps the exact text (JSON escapes it).
    let run = ctx.validate_json(&[&file]);
    assert!(run.findings[0].message.contains("`\u{1b}[31mred`"));
}
