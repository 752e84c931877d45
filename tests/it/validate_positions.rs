//! `batchline validate` end to end: exact positions of row findings and of the whole-job checks
//! (moved out of `validate.rs`, which holds the shared helpers `OK` and `codes_of`).
//!
//! Every test runs the built binary (see `common`).

use std::collections::BTreeMap;

use crate::common::{col, split_lines, testdata, Finding, TestContext};
use crate::validate::{codes_of, OK};

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

/// Findings under a repeated key sit in the member they are about, not in the first member with
/// that key (a pointer alone cannot tell them apart). Line 1 repeats a key on three levels
/// (`request`, then `generationConfig` and `thinkingConfig` in the second request), and the same
/// pointer also resolves, validly, in every earlier member: the error is in the last
/// `thinkingConfig` of the last `generationConfig` of the second `request`, and each repeat is
/// reported at its own key. Line 2 puts a whole-job finding in the second of two `meta` members.
#[test]
fn validate_exact_positions_under_repeated_keys() {
    let ctx = TestContext::new();
    let l1 = concat!(
        r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"#,
        r#""generationConfig":{"thinkingConfig":{"thinkingBudget":1}}},"#,
        r#""request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"#,
        r#""generationConfig":{"thinkingConfig":{"thinkingBudget":2}},"#,
        r#""generationConfig":{"thinkingConfig":{"thinkingBudget":3},"#,
        r#""thinkingConfig":{"thinkingBudget":"x"}}}}"#
    );
    let l2 = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}]},"meta":{"a":1},"meta":{"a":null}}"#;
    let file = ctx.write("repeated.jsonl", format!("{l1}\n{l2}\n").as_bytes());
    let run = ctx.validate_json(&[&file]);
    assert_eq!(run.out.code, 1);
    // 1-based column of the `n`-th (0-based) `needle` in `line`.
    let nth = |line: &str, needle: &str, n: usize| -> u64 {
        line.match_indices(needle)
            .nth(n)
            .unwrap_or_else(|| panic!("no {n}th `{needle}` in {line}"))
            .0 as u64
            + 1
    };
    let t = |line: u64, column: u64, code: &str, pointer: &str| {
        (line, column, code.to_string(), pointer.to_string())
    };
    let budget = "/request/generationConfig/thinkingConfig/thinkingBudget";
    assert_eq!(
        run.tuples(),
        vec![
            // Whole-job: the number was seen first, in the first request.
            t(1, nth(l1, ":1}", 0) + 1, "E_JOB_TYPE_CONFLICT", budget),
            t(
                1,
                nth(l1, "\"request\"", 1),
                "E_DUPLICATE_FIELD",
                "/request"
            ),
            t(
                1,
                nth(l1, "\"generationConfig\"", 2),
                "E_DUPLICATE_FIELD",
                "/request/generationConfig"
            ),
            t(
                1,
                nth(l1, "\"thinkingConfig\"", 3),
                "E_DUPLICATE_FIELD",
                "/request/generationConfig/thinkingConfig"
            ),
            t(1, nth(l1, "\"x\"", 0), "E_INTEGER", budget),
            t(2, nth(l2, "null", 0), "W_JOB_NULL", "/meta/a"),
        ]
    );
    // The exact numbers, so that a change in the helper above cannot hide a wrong column.
    let columns: Vec<u64> = run.findings.iter().map(|f| f.column).collect();
    assert_eq!(columns, [121, 126, 249, 307, 342, 94]);
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

/// Lines that are valid JSON for serde_json but that simd-json cannot read are placed at the
/// culprit and explained: (lines, the needles of the expected findings, the first message's start
/// and its column).
#[test]
fn validate_unreadable_json_is_placed_and_explained() {
    // An escaped backslash before `ud800` is text; a pair is a character; a lone low half is not.
    let surrogates = [
        r#"{"request":{"contents":[{"role":"user","parts":[{"text":"a\ud800b"}]}]}}"#,
        r#"{"request":{"contents":[{"role":"user","parts":[{"text":"\\ud800 \ud83d\ude00 \udc00"}]}]}}"#,
        r#"{"request":{"contents":[{"role":"user","parts":[{"text":"\ud83d\ude00"}]}]}}"#,
    ];
    // Digits inside a string are text; the number in `args` is the one simd-json cannot read.
    let big = [
        r#"{"request":{"contents":[{"role":"user","parts":[{"text":"a 99999999999999999999"}]},{"role":"model","parts":[{"functionCall":{"name":"f","args":{"id":18446744073709551616}}}]},{"role":"user","parts":[{"text":"b"}]}]}}"#,
        r#"{"request":{"contents":[{"role":"user","parts":[{"text":"a"}]}],"generationConfig":{"seed":-9223372036854775809}}}"#,
        OK,
    ];
    let cases = [
        (
            surrogates,
            ["\\ud800", "\\udc00"],
            "`\\ud800` at column 59 is half of a UTF-16 surrogate pair",
            59,
        ),
        (
            big,
            ["18446744073709551616", "-9223372036854775809"],
            "valid JSON, but the integer 18446744073709551616 at column 151",
            151,
        ),
    ];
    let ctx = TestContext::new();
    for (lines, needles, message, column) in cases {
        let file = ctx.write("unreadable.jsonl", format!("{}\n", lines.join("\n")));
        let run = ctx.validate_json(&[&file]);
        assert_eq!(run.out.code, 1);
        let got: Vec<(u64, u64, &str)> = run
            .findings
            .iter()
            .map(|f| (f.line, f.column, f.code.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, col(lines[0], needles[0]), "E_JSON_SYNTAX"),
                (2, col(lines[1], needles[1]), "E_JSON_SYNTAX"),
            ]
        );
        assert_eq!(got[0].1, column);
        assert!(
            run.findings[0].message.contains(message),
            "{}",
            run.findings[0].message
        );
        assert_eq!(run.summary.total.valid, 1);
    }
}
