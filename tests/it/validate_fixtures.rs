//! `batchline validate` end to end: Google's own examples pass and one fixture per finding code
//! (`testdata/valid/`, `testdata/invalid/`), and every code has a fixture or a dedicated test.
//!
//! Every test runs the built binary (see `common`).

use std::collections::{BTreeMap, BTreeSet};

use crate::common::{
    col, declared_codes, is_blank, split_lines, testdata, testdata_files, Finding, TestContext,
};
use crate::validate::codes_of;

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
    ("E_JOB_COLUMN_CASE", 2, Some(1)),
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
    E_DUPLICATE_FIELD.jsonl:3:67 E_DUPLICATE_FIELD /request
    E_DUPLICATE_FIELD.jsonl:4:104 E_DUPLICATE_FIELD /request/generationConfig/temperature
    E_DURATION.jsonl:1:171 E_DURATION /request/contents/0/parts/0/videoMetadata/startOffset
    E_DURATION.jsonl:2:171 E_DURATION /request/contents/0/parts/0/videoMetadata/startOffset
    E_DURATION.jsonl:3:171 E_DURATION /request/contents/0/parts/0/videoMetadata/startOffset
    E_DURATION.jsonl:3:199 E_DURATION /request/contents/0/parts/0/videoMetadata/endOffset
    E_ENUM.jsonl:1:136 E_ENUM /request/safetySettings/0/threshold
    E_ENUM.jsonl:2:96 E_ENUM /request/safetySettings/0/category
    E_ENUM.jsonl:3:150 E_ENUM /request/safetySettings/0/method
    E_INTEGER.jsonl:1:104 E_INTEGER /request/generationConfig/maxOutputTokens
    E_INTEGER.jsonl:2:103 E_INTEGER /request/generationConfig/candidateCount
    E_INTEGER.jsonl:3:104 E_INTEGER /request/generationConfig/maxOutputTokens
    E_INVALID_UTF8.jsonl:1:61 E_INVALID_UTF8 -
    E_INVALID_UTF8.jsonl:2:58 E_INVALID_UTF8 -
    E_JOB_COLUMN_CASE.jsonl:2:91 E_JOB_COLUMN_CASE /ID ~1
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
    W_DUPLICATE_KEY.jsonl:1:64 W_DUPLICATE_KEY /request/contents/0/role
    W_DUPLICATE_KEY.jsonl:2:104 W_DUPLICATE_KEY /request/generationConfig/temperature
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
    W_UNKNOWN_FIELD_NULL.jsonl:1:119 W_UNKNOWN_FIELD_NULL /request/tools/0/google_search/timeRangeFilter
    W_UNKNOWN_FIELD_NULL.jsonl:1:137 W_JOB_NULL /request/tools/0/google_search/timeRangeFilter
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
    // The dedicated tests live in any of the `validate` test files.
    let this_file = [
        include_str!("validate.rs"),
        include_str!("validate_fixtures.rs"),
        include_str!("validate_positions.rs"),
    ]
    .concat();
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
