//! `batchline validate` end to end: Google's own examples pass, one fixture per finding code,
//! exact positions, the whole-job checks, output formats, exit codes and the reader's edge cases.
//!
//! Every test runs the built binary (see `common`).

use std::collections::{BTreeMap, BTreeSet};

use crate::common::{
    col, declared_codes, is_blank, parse_json_output, pricing_file, redact, split_lines, testdata,
    testdata_files, Finding, TestContext,
};

/// A valid one-line request.
const OK: &str = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}}"#;

fn codes_of(findings: &[Finding]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for f in findings {
        *out.entry(f.code.clone()).or_default() += 1;
    }
    out
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

// ---------------------------------------------------------------------------------------------
// Valid fixtures: Google's own examples

/// The exact warnings each file of `testdata/valid/` gives (see `testdata/valid/README.md`).
const VALID_EXPECTED_WARNINGS: &[(&str, &[(&str, u64)])] = &[
    ("google_examples.jsonl", &[("W_DEPRECATED_FIELD", 3)]),
    (
        "google_sample_single_parts.jsonl",
        &[("W_SINGLE_FOR_REPEATED", 4)],
    ),
];

#[test]
fn validate_valid_fixtures_pass() {
    let ctx = TestContext::new();
    let files = testdata_files("valid");
    assert!(!files.is_empty());
    for path in &files {
        let name = file_name(path);
        let expected: BTreeMap<String, u64> = VALID_EXPECTED_WARNINGS
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| {
                panic!(
                    "testdata/valid/{name}: add its expected warnings to VALID_EXPECTED_WARNINGS"
                )
            })
            .1
            .iter()
            .map(|(c, n)| (c.to_string(), *n))
            .collect();
        let run = ctx.validate_json(&[&path.to_string_lossy()]);
        let errors: Vec<&Finding> = run
            .findings
            .iter()
            .filter(|f| f.severity == "error")
            .collect();
        assert!(errors.is_empty(), "{name}: errors {errors:#?}");
        assert_eq!(run.out.code, 0, "{name}: {}", run.out.stdout);
        assert_eq!(codes_of(&run.findings), expected, "{name}");
        let s = &run.summary.total;
        assert_eq!(
            (s.errors, s.invalid, s.job_errors),
            (0, 0, 0),
            "{name}: {s:?}"
        );
        assert_eq!(s.valid, s.requests, "{name}");
        assert!(s.requests >= 4, "{name}: {s:?}");
    }
    // All valid files together are also fine when each is its own job.
    let args: Vec<String> = files
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = ctx.validate_json(&args);
    assert_eq!(run.out.code, 0);
    assert_eq!(run.summary.files.len(), files.len());
}

#[test]
fn validate_google_examples_are_realistic() {
    // Guard against the examples file shrinking into something trivial.
    let data = std::fs::read(testdata("valid/google_examples.jsonl")).unwrap();
    let lines = split_lines(&data);
    assert!((15..=30).contains(&lines.len()), "{} lines", lines.len());
    let text = String::from_utf8(data).unwrap();
    for needle in [
        "\"fileData\"",
        "\"file_data\"",
        "\"generationConfig\"",
        "\"systemInstruction\"",
        "\"functionDeclarations\"",
        "\"functionCall\"",
        "\"functionResponse\"",
        "\"safetySettings\"",
        "\"responseSchema\"",
        "\"responseMimeType\": \"application/json\"",
        "\"thinkingConfig\"",
        "\"inlineData\"",
        "gs://",
        "application/pdf",
        "video/mp4",
    ] {
        assert!(
            text.contains(needle),
            "google_examples.jsonl lacks {needle}"
        );
    }
}

#[test]
fn validate_google_search_example_fails_the_whole_job() {
    // Google's grounding example writes `"googleSearch": {}`: a valid request, but an empty object
    // fails the import of the whole batch job (VERTEX.md), so it is left out of testdata/valid/.
    let ctx = TestContext::new();
    let line = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"Who won the euro 2024?"}]}],"tools":[{"googleSearch":{}}]}}"#;
    let fixed = line.replace(
        r#""googleSearch":{}"#,
        r#""googleSearch":{"excludeDomains":[]}"#,
    );
    let file = ctx.write("search.jsonl", format!("{line}\n"));
    let run = ctx.validate_json(&[&file]);
    assert_eq!(run.out.code, 1);
    let f = run.with_code("E_JOB_EMPTY_OBJECT");
    assert_eq!(f.len(), 1, "{:#?}", run.findings);
    assert_eq!(
        (f[0].line, f[0].column, f[0].pointer.as_str()),
        (1, col(line, "{}"), "/request/tools/0/googleSearch")
    );
    assert_eq!(f[0].scope, "job");
    assert!(f[0].message.contains("excludeDomains"), "{}", f[0].message);
    assert!(f[0].message.contains("whole job"), "{}", f[0].message);
    // The suggested fix passes.
    let file = ctx.write("fixed.jsonl", format!("{fixed}\n"));
    let run = ctx.validate_json(&[&file]);
    assert_eq!(run.out.code, 0, "{:#?}", run.findings);
}

// ---------------------------------------------------------------------------------------------
// One fixture per code

/// Whole-job fixtures: where the finding must be reported (line, related line).
const JOB_FIXTURE_EXPECTED: &[(&str, u64, Option<u64>)] = &[
    ("E_JOB_TYPE_CONFLICT", 3, Some(1)),
    ("E_JOB_REPEATED_CONFLICT", 3, Some(1)),
    ("E_JOB_COLUMN_NAME", 2, None),
    ("E_JOB_DEPTH", 2, None),
    ("E_JOB_EMPTY_OBJECT", 2, None),
    ("W_JOB_NULL", 2, None),
    ("W_JOB_COLUMN_NAME", 1, None),
    ("W_JOB_NESTED_ARRAY", 1, None),
];

#[test]
fn validate_fixture_codes() {
    let ctx = TestContext::new();
    let declared = declared_codes();
    let files = testdata_files("invalid");
    assert!(files.len() >= 20, "only {} fixtures", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let code = path.file_stem().unwrap().to_string_lossy().into_owned();
        if let Err(e) = check_fixture(&ctx, path, &code, &declared) {
            failures.push(format!("testdata/invalid/{code}.jsonl: {e}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn check_fixture(
    ctx: &TestContext,
    path: &std::path::Path,
    code: &str,
    declared: &[crate::common::DeclaredCode],
) -> Result<(), String> {
    let decl = declared
        .iter()
        .find(|d| d.name == code)
        .ok_or_else(|| "no such code in src/request/diag.rs".to_string())?;
    let arg = path.to_string_lossy().into_owned();
    let run = ctx.validate_json(&[&arg]);
    let mine = run.with_code(code);
    if mine.is_empty() {
        return Err(format!("no {code} finding; got {:#?}", run.findings));
    }
    for f in &mine {
        if f.severity != decl.severity || f.scope != decl.scope {
            return Err(format!(
                "{code} declared ({}, {}) but reported ({}, {})",
                decl.severity, decl.scope, f.severity, f.scope
            ));
        }
    }
    if run.summary.total.by_code.get(code).copied().unwrap_or(0) != mine.len() as u64 {
        return Err(format!(
            "summary counts {:?} {code}, output has {}",
            run.summary.total.by_code.get(code),
            mine.len()
        ));
    }
    // Exit status: 1 for errors; 0 for warnings unless --deny-warnings.
    if code.starts_with("E_") {
        if run.out.code != 1 {
            return Err(format!("exit {} (want 1)", run.out.code));
        }
    } else {
        if run.out.code != 0 {
            return Err(format!(
                "exit {} (want 0: a warning fixture must have no errors); findings {:#?}",
                run.out.code, run.findings
            ));
        }
        let denied = ctx.run(&["validate", &arg, "--deny-warnings", "--format", "json"]);
        if denied.code != 1 {
            return Err(format!("--deny-warnings exit {} (want 1)", denied.code));
        }
    }
    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    let lines = split_lines(&data);
    if decl.scope == "row" {
        let lines_with: BTreeSet<u64> = mine.iter().map(|f| f.line).collect();
        let want: Vec<u64> = lines
            .iter()
            .filter(|(_, l)| (code == "W_BLANK_LINE") == is_blank(l))
            .map(|(n, _)| *n)
            .collect();
        if want.is_empty() {
            return Err("no line to check".into());
        }
        let missing: Vec<u64> = want
            .iter()
            .copied()
            .filter(|n| !lines_with.contains(n))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "lines {missing:?} have no {code} finding; got {:#?}",
                run.findings
            ));
        }
        if lines.len() > 4 {
            return Err(format!("{} lines; keep fixtures at 1–4 lines", lines.len()));
        }
    } else {
        let (_, line, related) = JOB_FIXTURE_EXPECTED
            .iter()
            .find(|(c, _, _)| *c == code)
            .ok_or_else(|| {
                format!("whole-job fixture without an entry in JOB_FIXTURE_EXPECTED: {mine:#?}")
            })?;
        if !mine
            .iter()
            .any(|f| f.line == *line && f.related_line == *related)
        {
            return Err(format!(
                "want {code} at line {line} related {related:?}; got {mine:#?}"
            ));
        }
        if mine.len() != 1 {
            return Err(format!(
                "whole-job findings are reported once; got {mine:#?}"
            ));
        }
        if !mine[0].message.contains("whole job") && code.starts_with("E_") {
            return Err(format!(
                "message must say the whole job would fail: {}",
                mine[0].message
            ));
        }
    }
    Ok(())
}

/// Prose-rule codes: their fixtures are written with the rules (see `src/request/rules.rs`) and
/// are checked by [`validate_fixture_codes`] only.
const PROSE_RULE_CODES: &[&str] = &[
    "E_RANGE",
    "W_UNCONFIRMED_LIMIT",
    "E_EXCLUSIVE",
    "E_COMPANION",
    "E_PART_DATA",
    "E_EMPTY_CONTENTS",
    "E_EMPTY_PARTS",
    "E_ROLE",
    "E_MIME_TYPE",
    "E_FILE_URI",
    "E_FUNCTION_NAME",
    "E_LABEL",
    "E_DEFS_NOT_ROOT",
    "E_CACHED_CONTENT",
    "E_EMPTY_VALUE",
    "W_SDK_FIELD",
];

/// Every finding of every other fixture, exactly: `file:line:column code pointer [~related]`.
#[test]
fn validate_fixture_findings_are_exact() {
    let ctx = TestContext::new();
    let mut listing = String::new();
    for path in testdata_files("invalid") {
        let code = path.file_stem().unwrap().to_string_lossy().into_owned();
        if PROSE_RULE_CODES.contains(&code.as_str()) {
            continue;
        }
        let run = ctx.validate_json(&[&path.to_string_lossy()]);
        for f in &run.findings {
            let related = f.related_line.map(|l| format!(" ~{l}")).unwrap_or_default();
            let pointer = if f.pointer.is_empty() {
                "-"
            } else {
                &f.pointer
            };
            listing.push_str(&format!(
                "{}:{}:{} {} {pointer}{related}\n",
                file_name(&path),
                f.line,
                f.column,
                f.code
            ));
        }
    }
    insta::assert_snapshot!(listing, @r"
    E_BASE64.jsonl:1:94 E_BASE64 /request/contents/0/parts/0/inlineData/data
    E_BASE64.jsonl:2:94 E_BASE64 /request/contents/0/parts/0/inlineData/data
    E_DUPLICATE_FIELD.jsonl:1:107 E_DUPLICATE_FIELD /request/generationConfig/max_output_tokens
    E_DUPLICATE_FIELD.jsonl:2:111 E_DUPLICATE_FIELD /request/system_instruction
    E_DURATION.jsonl:1:171 E_DURATION /request/contents/0/parts/0/videoMetadata/startOffset
    E_DURATION.jsonl:2:171 E_DURATION /request/contents/0/parts/0/videoMetadata/startOffset
    E_ENUM.jsonl:1:136 E_ENUM /request/safetySettings/0/threshold
    E_ENUM.jsonl:2:96 E_ENUM /request/safetySettings/0/category
    E_ENUM.jsonl:3:150 E_ENUM /request/safetySettings/0/method
    E_INTEGER.jsonl:1:104 E_INTEGER /request/generationConfig/maxOutputTokens
    E_INTEGER.jsonl:2:103 E_INTEGER /request/generationConfig/candidateCount
    E_INTEGER.jsonl:3:104 E_INTEGER /request/generationConfig/maxOutputTokens
    E_INVALID_UTF8.jsonl:1:61 E_INVALID_UTF8 -
    E_INVALID_UTF8.jsonl:2:58 E_INVALID_UTF8 -
    E_JOB_COLUMN_NAME.jsonl:2:99 W_DEPRECATED_FIELD /request/generationConfig/responseMimeType
    E_JOB_COLUMN_NAME.jsonl:2:137 W_DEPRECATED_FIELD /request/generationConfig/responseJsonSchema
    E_JOB_COLUMN_NAME.jsonl:2:159 E_JOB_COLUMN_NAME /request/generationConfig/responseJsonSchema/$defs
    E_JOB_DEPTH.jsonl:2:169 E_JOB_DEPTH /meta/l14/l13/l12/l11/l10/l9/l8/l7/l6/l5/l4/l3/l2/l1/l0
    E_JOB_EMPTY_OBJECT.jsonl:2:111 E_JOB_EMPTY_OBJECT /request/tools/0/googleSearch
    E_JOB_REPEATED_CONFLICT.jsonl:1:103 W_DEPRECATED_FIELD /request/generationConfig/responseMimeType
    E_JOB_REPEATED_CONFLICT.jsonl:1:141 W_DEPRECATED_FIELD /request/generationConfig/responseJsonSchema
    E_JOB_REPEATED_CONFLICT.jsonl:3:247 E_JOB_REPEATED_CONFLICT /request/generationConfig/responseJsonSchema/properties/nickname/anyOf/0/type ~1
    E_JOB_TYPE_CONFLICT.jsonl:3:14 E_JOB_TYPE_CONFLICT /custom_id ~1
    E_JSON_SYNTAX.jsonl:1:65 E_JSON_SYNTAX -
    E_JSON_SYNTAX.jsonl:2:63 E_JSON_SYNTAX -
    E_JSON_SYNTAX.jsonl:3:2 E_JSON_SYNTAX -
    E_JSON_SYNTAX.jsonl:4:75 E_JSON_SYNTAX -
    E_MISSING_REQUEST.jsonl:1:1 E_MISSING_REQUEST -
    E_MISSING_REQUEST.jsonl:2:1 E_MISSING_REQUEST -
    E_MISSING_REQUEST.jsonl:3:1 E_MISSING_REQUEST -
    E_NOT_OBJECT.jsonl:1:1 E_NOT_OBJECT -
    E_NOT_OBJECT.jsonl:2:1 E_NOT_OBJECT -
    E_NOT_OBJECT.jsonl:3:1 E_NOT_OBJECT -
    E_NOT_OBJECT.jsonl:4:1 E_NOT_OBJECT -
    E_NUL_BYTE.jsonl:1:59 E_NUL_BYTE -
    E_NUL_BYTE.jsonl:2:1 E_NUL_BYTE -
    E_REQUIRED.jsonl:1:12 E_REQUIRED /request
    E_REQUIRED.jsonl:1:12 E_JOB_EMPTY_OBJECT /request
    E_REQUIRED.jsonl:2:61 E_REQUIRED /request/contents/0/parts/0/fileData
    E_REQUIRED.jsonl:3:84 E_REQUIRED /request/safetySettings/0
    E_TYPE.jsonl:1:57 E_TYPE /request/contents/0/parts/0/text
    E_TYPE.jsonl:2:57 E_JOB_TYPE_CONFLICT /request/contents/0/parts/0/text ~1
    E_TYPE.jsonl:2:100 E_TYPE /request/generationConfig/temperature
    E_TYPE.jsonl:3:85 E_TYPE /request/generationConfig
    E_TYPE.jsonl:3:85 E_JOB_REPEATED_CONFLICT /request/generationConfig ~2
    E_TYPE.jsonl:3:101 E_JOB_TYPE_CONFLICT /request/generationConfig/0/temperature ~2
    E_TYPE.jsonl:4:12 E_TYPE /request
    E_TYPE.jsonl:4:12 E_JOB_TYPE_CONFLICT /request ~1
    E_UNKNOWN_FIELD.jsonl:1:50 E_UNKNOWN_FIELD /request/contents/0/parts/0/txt
    E_UNKNOWN_FIELD.jsonl:2:86 E_UNKNOWN_FIELD /request/generationConfig/temprature
    E_UNKNOWN_FIELD.jsonl:3:66 E_UNKNOWN_FIELD /request/system_instructions
    E_UNKNOWN_FIELD.jsonl:4:66 E_UNKNOWN_FIELD /request/model
    W_BETA_FIELD.jsonl:1:62 W_BETA_FIELD /request/contents/0/parts/0/mediaProcessing
    W_BETA_FIELD.jsonl:2:86 W_BETA_FIELD /request/generationConfig/modelConfig
    W_BLANK_LINE.jsonl:2:1 W_BLANK_LINE -
    W_BLANK_LINE.jsonl:3:1 W_BLANK_LINE -
    W_DEPRECATED_FIELD.jsonl:1:111 W_DEPRECATED_FIELD /request/generationConfig/responseMimeType
    W_DEPRECATED_FIELD.jsonl:2:114 W_DEPRECATED_FIELD /request/tools/0/googleMaps/enableWidget
    W_DEPRECATED_VALUE.jsonl:1:96 W_DEPRECATED_VALUE /request/safetySettings/0/category
    W_DUPLICATE_KEY.jsonl:1:2 W_DUPLICATE_KEY /request
    W_DUPLICATE_KEY.jsonl:2:86 W_DUPLICATE_KEY /request/generationConfig/temperature
    W_ENUM_CASE.jsonl:1:96 W_ENUM_CASE /request/safetySettings/0/category
    W_ENUM_CASE.jsonl:2:135 W_ENUM_CASE /request/safetySettings/0/threshold
    W_JOB_COLUMN_NAME.jsonl:1:75 W_JOB_COLUMN_NAME /meta/cost-center
    W_JOB_NESTED_ARRAY.jsonl:1:83 W_JOB_NESTED_ARRAY /meta/grid/0
    W_JOB_NULL.jsonl:2:84 W_JOB_NULL /meta/source
    W_NUMERIC_STRING_KEY.jsonl:1:7 W_NUMERIC_STRING_KEY /id
    W_NUMERIC_STRING_KEY.jsonl:2:7 W_NUMERIC_STRING_KEY /id
    W_NUMERIC_STRING_KEY.jsonl:3:7 W_NUMERIC_STRING_KEY /id
    W_SINGLE_FOR_REPEATED.jsonl:1:24 W_SINGLE_FOR_REPEATED /request/contents
    W_SINGLE_FOR_REPEATED.jsonl:2:24 W_SINGLE_FOR_REPEATED /request/contents
    ");
}

/// Codes that no single fixture file can produce, and the test that covers each.
const DEDICATED_TESTS: &[(&str, &str)] = &[
    (
        "E_JSON_ARRAY_FILE",
        "validate_json_array_file_is_one_finding",
    ),
    ("W_BOM", "validate_bom_is_skipped_and_reported_once"),
    (
        "W_FILE_REQUESTS",
        "validate_file_limits_come_from_the_model_table",
    ),
    (
        "W_FILE_BYTES",
        "validate_file_limits_come_from_the_model_table",
    ),
    ("W_REQUEST_BYTES", "validate_request_size_limit"),
    ("E_CONTEXT_WINDOW", "validate_context_window_estimate"),
    ("W_CONTEXT_WINDOW", "validate_context_window_estimate"),
];

/// Codes that the current schema cannot produce, with the reason. The test fails when the
/// reason stops being true.
const UNREACHABLE: &[(&str, &str)] = &[(
    "E_TIMESTAMP",
    // No field of the GenerateContentRequest closure has `format: google-datetime`
    // (revision 20261106); the check exists for when Google adds one.
    "Ty::Timestamp",
)];

#[test]
fn validate_every_code_has_a_fixture_or_test() {
    let declared = declared_codes();
    let fixtures: BTreeSet<String> = testdata_files("invalid")
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let this_file = include_str!("validate.rs");
    let schema = std::fs::read_to_string(crate::common::crate_root().join("src/request/schema.rs"))
        .expect("read schema.rs");
    let mut missing = Vec::new();
    for d in &declared {
        let name = d.name.as_str();
        if fixtures.contains(name) {
            continue;
        }
        if let Some((_, test)) = DEDICATED_TESTS.iter().find(|(c, _)| *c == name) {
            assert!(
                this_file.contains(&format!("fn {test}()")),
                "{name}: dedicated test {test} does not exist"
            );
            continue;
        }
        if let Some((_, marker)) = UNREACHABLE.iter().find(|(c, _)| *c == name) {
            let used = schema
                .lines()
                .any(|l| l.contains("Field {") && l.contains(marker));
            assert!(
                !used,
                "{name} is reachable now (a field uses {marker}): add testdata/invalid/{name}.jsonl"
            );
            continue;
        }
        missing.push(name.to_string());
    }
    for f in &fixtures {
        assert!(
            declared.iter().any(|d| &d.name == f),
            "testdata/invalid/{f}.jsonl names no code of diag.rs"
        );
    }
    assert!(
        missing.is_empty(),
        "codes without a fixture (testdata/invalid/<CODE>.jsonl) or a dedicated test: {missing:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Exact positions

#[test]
fn validate_exact_positions_of_row_findings() {
    let ctx = TestContext::new();
    let l1 = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"temprature":0.2}}}"#;
    let l2 = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"topP":"high"}}}"#;
    let l3 = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"safetySettings":[{"category":"HARM_CATEGORY_HATE_SPEECH","threshold":"BLOCK_HIGH_AND_ABOVE"}]}}"#;
    let l4 = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT"}]}}"#;
    let l5 = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"topK":"x"}}}"#;
    let l7 = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"candidateCount":1.5}}}"#;
    let l8: &[u8] =
        b"{\"request\":{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"caf\xe9\"}]}]}}";
    let l9: &[u8] =
        b"{\"request\":{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"a\x00b\"}]}]}}";
    let l10 = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#;
    let l11 = r#"["request"]"#;
    let l12 = r#"{"id":"q-12"}"#;
    let l13 = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi" "x"}]}]}}"#;
    let mut data = Vec::new();
    for (line, end) in [
        (l1.as_bytes(), "\n"),
        (l2.as_bytes(), "\n"),
        (l3.as_bytes(), "\n"),
        (l4.as_bytes(), "\r\n"), // CRLF
        (l5.as_bytes(), "\n"),   // the line after a CRLF line
        (b"".as_slice(), "\n"),  // blank
        (l7.as_bytes(), "\n"),   // the line after a blank line
        (l8, "\n"),
        (l9, "\n"),
        (l10.as_bytes(), "\n"),
        (l11.as_bytes(), "\n"),
        (l12.as_bytes(), "\n"),
        (l13.as_bytes(), "\n"),
    ] {
        data.extend_from_slice(line);
        data.extend_from_slice(end.as_bytes());
    }
    let file = ctx.write("positions.jsonl", &data);
    let run = ctx.validate_json(&[&file]);
    assert_eq!(run.out.code, 1);
    let t = |line: u64, column: u64, code: &str, pointer: &str| {
        (line, column, code.to_string(), pointer.to_string())
    };
    assert_eq!(
        run.tuples(),
        vec![
            t(
                1,
                col(l1, "\"temprature\""),
                "E_UNKNOWN_FIELD",
                "/request/generationConfig/temprature"
            ),
            t(
                2,
                col(l2, "\"high\""),
                "E_TYPE",
                "/request/generationConfig/topP"
            ),
            t(
                3,
                col(l3, "\"BLOCK_HIGH"),
                "E_ENUM",
                "/request/safetySettings/0/threshold"
            ),
            t(
                4,
                col(l4, "{\"category\""),
                "E_REQUIRED",
                "/request/safetySettings/0"
            ),
            t(
                5,
                col(l5, "\"x\""),
                "E_TYPE",
                "/request/generationConfig/topK"
            ),
            t(6, 1, "W_BLANK_LINE", ""),
            t(
                7,
                col(l7, "1.5"),
                "E_INTEGER",
                "/request/generationConfig/candidateCount"
            ),
            t(8, 61, "E_INVALID_UTF8", ""),
            t(9, 59, "E_NUL_BYTE", ""),
            t(10, l10.len() as u64, "E_JSON_SYNTAX", ""),
            t(11, 1, "E_NOT_OBJECT", ""),
            t(12, 1, "E_MISSING_REQUEST", ""),
            t(13, col(l13, "\"x\""), "E_JSON_SYNTAX", ""),
        ]
    );
    // The bad byte of line 8 and the NUL of line 9 are where the columns say.
    assert_eq!(l8[60], 0xe9);
    assert_eq!(l9[58], 0);
    // Byte offsets are absolute: line start + column - 1, with CRLF and the blank line counted.
    let starts: Vec<u64> = {
        let mut v = vec![0u64];
        for (i, b) in data.iter().enumerate() {
            if *b == b'\n' {
                v.push(i as u64 + 1);
            }
        }
        v
    };
    for f in &run.findings {
        assert_eq!(f.byte, starts[f.line as usize - 1] + f.column - 1, "{f:?}");
        assert_eq!(f.scope, "row");
    }
    let messages: BTreeMap<&str, &str> = run
        .findings
        .iter()
        .map(|f| (f.code.as_str(), f.message.as_str()))
        .collect();
    assert_eq!(
        messages["E_UNKNOWN_FIELD"],
        "unknown field `temprature` in GenerationConfig; did you mean `temperature`?"
    );
    assert!(messages["E_ENUM"].contains("BLOCK_HIGH_AND_ABOVE"));
    assert!(
        messages["E_REQUIRED"].contains("`threshold`"),
        "{}",
        messages["E_REQUIRED"]
    );
    assert!(messages["E_INVALID_UTF8"].contains("column 61"));
    assert!(messages["E_NUL_BYTE"].contains("column 59"));
    let s = &run.summary.total;
    assert_eq!(
        (s.lines, s.blank_lines, s.requests, s.valid, s.invalid),
        (13, 1, 12, 0, 12)
    );
    assert_eq!(s.extra_members.get("id"), Some(&1));
}

#[test]
fn validate_bom_is_skipped_and_reported_once() {
    let ctx = TestContext::new();
    let l1 = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"temprature":0.2}}}"#;
    let mut data = b"\xEF\xBB\xBF".to_vec();
    data.extend_from_slice(format!("{l1}\n{OK}\n").as_bytes());
    let file = ctx.write("bom.jsonl", &data);
    let run = ctx.validate_json(&[&file]);
    assert_eq!(run.out.code, 1);
    let c = col(l1, "\"temprature\"");
    assert_eq!(
        run.tuples(),
        vec![
            (0, 0, "W_BOM".into(), "".into()),
            (
                1,
                c,
                "E_UNKNOWN_FIELD".into(),
                "/request/generationConfig/temprature".into()
            ),
        ]
    );
    // The column counts from the first byte after the BOM; the byte offset includes the BOM.
    assert_eq!(run.findings[1].byte, 3 + c - 1);
    assert_eq!(run.findings[0].scope, "job");
    assert_eq!(run.findings[0].severity, "warning");
    assert_eq!(run.summary.total.lines, 2);

    // A BOM alone is a warning, not an error.
    let file = ctx.write(
        "bom_ok.jsonl",
        [b"\xEF\xBB\xBF".as_slice(), OK.as_bytes(), b"\n"].concat(),
    );
    let run = ctx.validate_json(&[&file]);
    assert_eq!(run.out.code, 0);
    assert_eq!(
        codes_of(&run.findings),
        BTreeMap::from([("W_BOM".to_string(), 1)])
    );
    let denied = ctx.run(&["validate", &file, "--deny-warnings"]);
    assert_eq!(denied.code, 1);
}

/// `(line, column, code, pointer, related line, related pointer)` of a whole-job finding.
type JobTuple<'a> = (u64, u64, &'a str, &'a str, Option<u64>, Option<&'a str>);

#[test]
fn validate_exact_positions_of_whole_job_findings() {
    let ctx = TestContext::new();
    let path = testdata("job/whole_job.jsonl");
    let data = std::fs::read(&path).unwrap();
    let lines: Vec<String> = split_lines(&data)
        .into_iter()
        .map(|(_, l)| String::from_utf8(l.to_vec()).unwrap())
        .collect();
    let run = ctx.validate_json(&[&path]);
    assert_eq!(run.out.code, 1);
    let job: Vec<&Finding> = run.findings.iter().filter(|f| f.scope == "job").collect();
    let got: Vec<JobTuple> = job
        .iter()
        .map(|f| {
            (
                f.line,
                f.column,
                f.code.as_str(),
                f.pointer.as_str(),
                f.related_line,
                f.related_pointer.as_deref(),
            )
        })
        .collect();
    let any_of_type =
        "/request/generationConfig/responseJsonSchema/properties/nickname/anyOf/0/type";
    assert_eq!(
        got,
        vec![
            (
                2,
                col(&lines[1], "{}"),
                "E_JOB_EMPTY_OBJECT",
                "/request/tools/0/googleSearch",
                None,
                None
            ),
            (
                3,
                col(&lines[2], "\"$defs\""),
                "E_JOB_COLUMN_NAME",
                "/request/generationConfig/responseJsonSchema/$defs",
                None,
                None
            ),
            // `"type": "string"` on line 1 beside `"type": ["string", "null"]` on line 4.
            (
                4,
                col(&lines[3], "[\"string\",\"null\"]"),
                "E_JOB_REPEATED_CONFLICT",
                any_of_type,
                Some(1),
                Some(any_of_type)
            ),
            (
                5,
                col(&lines[4], "{\"p\""),
                "E_JOB_DEPTH",
                "/meta/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o",
                None,
                None
            ),
            (
                6,
                col(&lines[5], "null"),
                "W_JOB_NULL",
                "/request/generationConfig/responseJsonSchema/enum",
                None,
                None
            ),
            // "row-1" … "row-6", then 7: reported at the later line, once.
            (
                7,
                col(&lines[6], "7"),
                "E_JOB_TYPE_CONFLICT",
                "/custom_id",
                Some(1),
                Some("/custom_id")
            ),
        ]
    );
    let by_code: BTreeMap<&str, &Finding> = job.iter().map(|f| (f.code.as_str(), *f)).collect();
    let msg = |c: &str| by_code[c].message.as_str();
    for code in [
        "E_JOB_EMPTY_OBJECT",
        "E_JOB_COLUMN_NAME",
        "E_JOB_REPEATED_CONFLICT",
        "E_JOB_DEPTH",
        "E_JOB_TYPE_CONFLICT",
    ] {
        assert!(msg(code).contains("whole job"), "{code}: {}", msg(code));
        assert_eq!(by_code[code].severity, "error");
    }
    assert!(msg("E_JOB_EMPTY_OBJECT").contains("excludeDomains"));
    assert!(
        msg("E_JOB_COLUMN_NAME").contains("`defs`"),
        "{}",
        msg("E_JOB_COLUMN_NAME")
    );
    assert!(
        msg("E_JOB_REPEATED_CONFLICT").contains("line 4")
            && msg("E_JOB_REPEATED_CONFLICT").contains("line 1")
    );
    assert!(
        msg("E_JOB_TYPE_CONFLICT").contains("line 1")
            && msg("E_JOB_TYPE_CONFLICT").contains("line 7")
    );
    assert_eq!(by_code["W_JOB_NULL"].severity, "warning");
    let s = &run.summary.total;
    assert_eq!(
        (s.lines, s.requests, s.valid, s.job_errors, s.errors),
        (7, 7, 7, 5, 5)
    );
    assert_eq!(s.extra_members.get("custom_id"), Some(&7));
}

#[test]
fn validate_whole_job_conflict_between_array_elements() {
    // One line, two elements of one array with different types: a conflict inside the line.
    let ctx = TestContext::new();
    let line =
        r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}]},"tags":["a",1]}"#;
    let file = ctx.write("elements.jsonl", format!("{line}\n"));
    let run = ctx.validate_json(&[&file]);
    let f = run.with_code("E_JOB_TYPE_CONFLICT");
    assert_eq!(f.len(), 1, "{:#?}", run.findings);
    assert_eq!((f[0].line, f[0].related_line), (1, Some(1)));
    assert_eq!(f[0].pointer, "/tags/1");
    assert_eq!(f[0].related_pointer.as_deref(), Some("/tags/0"));
    assert_eq!(f[0].column, col(line, "1]"));
    // Integer and float are one column type.
    let file = ctx.write(
        "numbers.jsonl",
        format!(
            "{}\n{}\n",
            OK.replace("}]}]}}", "}]}]},\"n\":1}"),
            OK.replace("}]}]}}", "}]}]},\"n\":1.5}")
        ),
    );
    let run = ctx.validate_json(&[&file]);
    assert_eq!(run.out.code, 0, "{:#?}", run.findings);
}

#[test]
fn validate_repeated_conflict_from_type_list_in_any_of() {
    // The most common production failure: JSON Schema `"type": "string"` on one line and
    // `"type": ["string", "null"]` on another, both inside `anyOf` of `responseJsonSchema`.
    let ctx = TestContext::new();
    let schema = |ty: &str| {
        format!(
            r#"{{"request":{{"contents":[{{"role":"user","parts":[{{"text":"x"}}]}}],"generationConfig":{{"responseMimeType":"application/json","responseJsonSchema":{{"type":"object","properties":{{"a":{{"anyOf":[{{"type":{ty}}},{{"type":"integer"}}]}}}}}}}}}}}}"#
        )
    };
    let l1 = schema(r#""string""#);
    let l3 = schema(r#"["string","null"]"#);
    let file = ctx.write("anyof.jsonl", format!("{l1}\n{OK}\n{l3}\n"));
    let run = ctx.validate_json(&[&file]);
    assert_eq!(run.out.code, 1);
    let f = run.with_code("E_JOB_REPEATED_CONFLICT");
    assert_eq!(f.len(), 1, "{:#?}", run.findings);
    let ptr = "/request/generationConfig/responseJsonSchema/properties/a/anyOf/0/type";
    assert_eq!(
        (
            f[0].line,
            f[0].column,
            f[0].pointer.as_str(),
            f[0].related_line,
            f[0].related_pointer.as_deref()
        ),
        (3, col(&l3, "[\"string\""), ptr, Some(1), Some(ptr))
    );
    assert!(f[0].message.contains("whole job"));
    assert!(f[0].message.contains("nullable"), "{}", f[0].message);
    // It is not reported as a type conflict too.
    assert!(
        run.with_code("E_JOB_TYPE_CONFLICT").is_empty(),
        "{:#?}",
        run.findings
    );
}

#[test]
fn validate_dollar_keys_are_bad_column_names() {
    let ctx = TestContext::new();
    let line = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"x"}]}],"generationConfig":{"responseMimeType":"application/json","responseJsonSchema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"first name":{"type":"string"}}}}}}"#;
    let file = ctx.write("dollar.jsonl", format!("{line}\n"));
    let run = ctx.validate_json(&[&file]);
    let f = run.with_code("E_JOB_COLUMN_NAME");
    let got: Vec<(u64, u64, &str)> = f
        .iter()
        .map(|f| (f.line, f.column, f.pointer.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                1,
                col(line, "\"$schema\""),
                "/request/generationConfig/responseJsonSchema/$schema"
            ),
            (
                1,
                col(line, "\"first name\""),
                "/request/generationConfig/responseJsonSchema/properties/first name"
            ),
        ]
    );
    assert!(f[0].message.contains("$schema"));
}

#[test]
fn validate_nesting_deeper_than_fifteen() {
    let ctx = TestContext::new();
    // `request` is level 1; `args` below functionCall in a model turn sits at level 6.
    let nest = |levels: usize| {
        let mut v = String::from("\"leaf\"");
        for i in 0..levels {
            v = format!("{{\"k{i}\":{v}}}");
        }
        v
    };
    let line = |levels: usize| {
        format!(
            r#"{{"request":{{"contents":[{{"role":"user","parts":[{{"text":"x"}}]}}]}},"meta":{}}}"#,
            nest(levels)
        )
    };
    // `meta` holds an object at level 1; 15 levels of objects are allowed, 16 are not.
    let file = ctx.write("ok_depth.jsonl", format!("{}\n", line(15)));
    let run = ctx.validate_json(&[&file]);
    assert!(
        run.with_code("E_JOB_DEPTH").is_empty(),
        "{:#?}",
        run.findings
    );
    let deep = line(16);
    let file = ctx.write("deep.jsonl", format!("{deep}\n"));
    let run = ctx.validate_json(&[&file]);
    let f = run.with_code("E_JOB_DEPTH");
    assert_eq!(f.len(), 1, "{:#?}", run.findings);
    assert_eq!(f[0].column, col(&deep, "{\"k0\""));
    assert_eq!(
        f[0].pointer,
        "/meta/k15/k14/k13/k12/k11/k10/k9/k8/k7/k6/k5/k4/k3/k2/k1"
    );
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
    let out = ctx.run(&["validate", &file, "--deny-warnings"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
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
    // A JSONL file whose first line is a JSON array of numbers is JSON Lines with a bad line.
    let file = ctx.write("not_array.jsonl", format!("[1,2]\n{OK}\n"));
    let run = ctx.validate_json(&[&file]);
    assert_eq!(
        codes_of(&run.findings),
        BTreeMap::from([("E_NOT_OBJECT".to_string(), 1)])
    );
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
