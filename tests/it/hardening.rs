//! Hardening regression tests: hostile sizes of one object (20k repeats, keys, members, parts), a
//! closed stdout, and other edge cases of validate and prepare that no other test pins (keys equal
//! but for case, null unknown members, a max bytes below one request). Expected values come from
//! outside the code under test: byte offsets found in the generated text with `match_indices`, hand
//! counts, literals.

use std::process::Stdio;

use crate::common::TestContext;

/// Members per hostile shape: large enough that a scan per member (the old behaviour) would be
/// 400 million steps, small enough for a debug build.
const N: usize = 20_000;

const CONTENTS: &str = r#""contents":[{"role":"user","parts":[{"text":"hi"}]}]"#;

/// `n` copies of `item(i)` joined by commas.
fn joined(n: usize, item: impl Fn(usize) -> String) -> String {
    (0..n).map(item).collect::<Vec<_>>().join(",")
}

/// 1-based columns of every occurrence of `needle` in `line`.
fn columns_of(line: &str, needle: &str) -> Vec<u64> {
    line.match_indices(needle)
        .map(|(at, _)| at as u64 + 1)
        .collect()
}

// Issue 18 item 1: one object with 25k/50k/100k members took 9/38/151 s (a hang); every shape
// below was quadratic in the number of members. These tests pin the findings and counts of each
// shape; `benches/validate.rs` (`hostile_members`) shows the time per MB.

#[test]
fn validate_a_field_repeated_20k_times_reports_each_repeat_at_its_own_key() {
    let ctx = TestContext::new();
    let line = format!(
        r#"{{"request":{{{CONTENTS},"generationConfig":{{{}}}}}}}"#,
        joined(N, |_| r#""temperature":0.5"#.to_string())
    );
    ctx.write("in.jsonl", format!("{line}\n"));
    let run = ctx.validate_json(&["in.jsonl"]);
    assert_eq!(run.out.code, 0, "the same value repeated is a warning only");
    let dups = run.with_code("W_DUPLICATE_KEY");
    assert_eq!(dups.len(), N - 1);
    assert_eq!(run.findings.len(), N - 1);
    // Each repeat (not the first) at its own key, in order.
    let keys = columns_of(&line, r#""temperature""#);
    assert_eq!(keys.len(), N);
    let got: Vec<u64> = dups.iter().map(|f| f.column).collect();
    assert_eq!(got, keys[1..]);
    assert!(dups
        .iter()
        .all(|f| f.pointer == "/request/generationConfig/temperature"));
}

#[test]
fn validate_a_field_repeated_with_other_values_is_an_error_at_each_repeat() {
    let ctx = TestContext::new();
    // The first value differs from all the others: every repeat is ambiguous.
    let line = format!(
        r#"{{"request":{{{CONTENTS},"generationConfig":{{{}}}}}}}"#,
        joined(N, |i| format!(
            r#""temperature":{}"#,
            if i == 0 { "0.5" } else { "1" }
        ))
    );
    ctx.write("in.jsonl", format!("{line}\n"));
    let run = ctx.validate_json(&["in.jsonl"]);
    assert_eq!(run.out.code, 1);
    assert_eq!(
        run.summary.total.by_code["E_DUPLICATE_FIELD"],
        (N - 1) as u64
    );
    assert_eq!(run.summary.total.invalid, 1);
}

#[test]
fn validate_20k_unknown_fields_are_each_reported_at_their_key() {
    let ctx = TestContext::new();
    let line = format!(
        r#"{{"request":{{{CONTENTS},{}}}}}"#,
        joined(N, |i| format!(r#""u{i}":1"#))
    );
    ctx.write("in.jsonl", format!("{line}\n"));
    let run = ctx.validate_json(&["in.jsonl"]);
    assert_eq!(run.out.code, 1);
    let unknown = run.with_code("E_UNKNOWN_FIELD");
    assert_eq!(unknown.len(), N);
    assert_eq!(run.findings.len(), N);
    for (i, f) in unknown.iter().enumerate().step_by(997) {
        assert_eq!(f.pointer, format!("/request/u{i}"));
        assert_eq!(f.column, columns_of(&line, &format!(r#""u{i}":"#))[0]);
    }
    // The last one too.
    let last = unknown.last().unwrap();
    assert_eq!(last.pointer, format!("/request/u{}", N - 1));
}

#[test]
fn validate_20k_labels_give_one_count_warning() {
    let ctx = TestContext::new();
    let line = format!(
        r#"{{"request":{{{CONTENTS},"labels":{{{}}}}}}}"#,
        joined(N, |i| format!(r#""k{i}":"v""#))
    );
    ctx.write("in.jsonl", format!("{line}\n"));
    let run = ctx.validate_json(&["in.jsonl"]);
    assert_eq!(run.out.code, 0);
    assert_eq!(run.findings.len(), 1, "{:?}", run.tuples());
    let f = &run.findings[0];
    assert_eq!(f.code, "W_UNCONFIRMED_LIMIT");
    assert_eq!(f.pointer, "/request/labels");
    assert!(
        f.message.starts_with(&format!("{N} labels;")),
        "{}",
        f.message
    );
}

#[test]
fn validate_20k_top_level_members_are_counted_once_each() {
    let ctx = TestContext::new();
    let line = format!(
        r#"{{"request":{{{CONTENTS}}},{}}}"#,
        joined(N, |i| format!(r#""x{i}":1"#))
    );
    ctx.write("in.jsonl", format!("{line}\n"));
    let run = ctx.validate_json(&["in.jsonl"]);
    assert_eq!(run.out.code, 0);
    assert!(run.findings.is_empty(), "{:?}", &run.tuples()[..3]);
    let extra = &run.summary.total.extra_members;
    assert_eq!(extra.len(), N);
    assert!(extra.values().all(|&n| n == 1));
    assert_eq!(extra.get("x0"), Some(&1));
    assert_eq!(extra.get(&format!("x{}", N - 1)), Some(&1));
}

#[test]
fn validate_20k_function_declarations_give_one_range_error() {
    let ctx = TestContext::new();
    let line = format!(
        r#"{{"request":{{{CONTENTS},"tools":[{{"functionDeclarations":[{}]}}]}}}}"#,
        joined(N, |i| format!(r#"{{"name":"f{i}"}}"#))
    );
    ctx.write("in.jsonl", format!("{line}\n"));
    let run = ctx.validate_json(&["in.jsonl"]);
    assert_eq!(run.out.code, 1);
    assert_eq!(run.findings.len(), 1, "{:?}", run.tuples());
    let f = &run.findings[0];
    assert_eq!(f.code, "E_RANGE");
    assert_eq!(f.pointer, "/request/tools/0/functionDeclarations");
    assert!(f
        .message
        .starts_with(&format!("{N} function declarations;")));
}

#[test]
fn validate_20k_parts_each_with_a_finding_are_located_in_order() {
    let ctx = TestContext::new();
    // Every part carries an unknown member: one finding per element of a long array.
    let line = format!(
        r#"{{"request":{{"contents":[{{"role":"user","parts":[{}]}}]}}}}"#,
        joined(N, |i| format!(r#"{{"text":"t{i}","bogus":{i}}}"#))
    );
    ctx.write("in.jsonl", format!("{line}\n"));
    let run = ctx.validate_json(&["in.jsonl"]);
    assert_eq!(run.out.code, 1);
    let unknown = run.with_code("E_UNKNOWN_FIELD");
    assert_eq!(unknown.len(), N);
    let keys = columns_of(&line, r#""bogus""#);
    let got: Vec<u64> = unknown.iter().map(|f| f.column).collect();
    assert_eq!(got, keys);
    assert_eq!(
        unknown[N - 1].pointer,
        format!("/request/contents/0/parts/{}/bogus", N - 1)
    );
}

#[test]
fn prepare_a_line_with_20k_repeats_and_members_is_sent_once() {
    let ctx = TestContext::new();
    let line = format!(
        r#"{{"request":{{{CONTENTS},"generationConfig":{{{}}}}},{}}}"#,
        joined(N, |_| r#""temperature":0.5"#.to_string()),
        joined(N, |i| format!(r#""x{i}":1"#))
    );
    ctx.write("in.jsonl", format!("{line}\n{line}\n"));
    let out = ctx.run(&["prepare", "in.jsonl", "-o", "run", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let summary: serde_json::Value =
        serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
    let counts = &summary["counts"];
    assert_eq!(counts["lines"], 2, "{counts}");
    assert_eq!(counts["unique"], 1, "{counts}");
    assert_eq!(counts["duplicates"], 1, "{counts}");
    assert_eq!(counts["invalid"], 0, "{counts}");
    assert_eq!(summary["shards"][0]["requests"], 1);
}

// Issue 18 item 7: a closed stdout turned any result into exit 0, so `validate bad.jsonl | head -1`
// passed in CI.

/// Runs `batchline <args>` with the read end of its stdout closed before it prints anything;
/// returns the exit code and stderr.
fn run_with_closed_stdout(ctx: &TestContext, args: &[&str]) -> (i32, String) {
    let mut child = ctx
        .command()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn batchline");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for batchline");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn validate_keeps_its_verdict_when_stdout_is_closed() {
    let ctx = TestContext::new();
    let bad = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"bogus":1}}"#;
    ctx.write("bad.jsonl", format!("{bad}\n").repeat(2000));
    let good = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}}"#;
    ctx.write("good.jsonl", format!("{good}\n"));
    for format in ["human", "json", "github"] {
        let (code, stderr) =
            run_with_closed_stdout(&ctx, &["validate", "bad.jsonl", "--format", format]);
        assert_eq!(code, 1, "--format {format}: {stderr}");
        assert_eq!(stderr, "", "a closed pipe is not an error to report");
        let (code, _) =
            run_with_closed_stdout(&ctx, &["validate", "good.jsonl", "--format", format]);
        assert_eq!(code, 0, "--format {format}");
    }
}

#[test]
fn prepare_keeps_its_verdict_when_stdout_is_closed() {
    let ctx = TestContext::new();
    // A type conflict between the two lines fails the one shard's whole job: exit 1.
    ctx.write(
        "in.jsonl",
        concat!(
            r#"{"request":{"contents":[{"role":"user","parts":[{"text":"a"}]}]},"meta":{"k":"one"}}"#,
            "\n",
            r#"{"request":{"contents":[{"role":"user","parts":[{"text":"b"}]}]},"meta":{"k":2}}"#,
            "\n",
        ),
    );
    let (code, stderr) = run_with_closed_stdout(&ctx, &["prepare", "in.jsonl", "-o", "run"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr, "");
}

// Issue 18 item 3: keys that differ only in case (`id` and `ID`) are one column at import, so the
// whole job fails; validate passed them, and `--key-field REQUEST` was accepted.

const REQUEST: &str = r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#;

#[test]
fn validate_keys_differing_only_in_case_fail_the_whole_job_at_every_depth() {
    let ctx = TestContext::new();
    let lines = [
        // One object, top level.
        format!(r#"{{"request":{REQUEST},"id":"a","ID":"b"}}"#),
        // One map inside the request.
        r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"labels":{"env":"a","Env":"b"}}}"#.to_string(),
        // Two elements of one array make one column path.
        format!(r#"{{"request":{REQUEST},"meta":[{{"k":1}},{{"K":2}}]}}"#),
        // Same spelling twice, and camelCase beside snake_case, are not case collisions.
        format!(r#"{{"request":{REQUEST},"tag":"a"}}"#),
        format!(r#"{{"request":{REQUEST},"tag":"b"}}"#),
    ];
    ctx.write("in.jsonl", lines.join("\n") + "\n");
    let run = ctx.validate_json(&["in.jsonl"]);
    assert_eq!(run.out.code, 1);
    type Place<'a> = (u64, u64, &'a str, Option<u64>, Option<&'a str>);
    let found: Vec<Place<'_>> = run
        .with_code("E_JOB_COLUMN_CASE")
        .iter()
        .map(|f| {
            (
                f.line,
                f.column,
                f.pointer.as_str(),
                f.related_line,
                f.related_pointer.as_deref(),
            )
        })
        .collect();
    let col = |line: usize, needle: &str| lines[line].find(needle).unwrap() as u64 + 1;
    assert_eq!(
        found,
        vec![
            (1, col(0, r#""ID""#), "/ID", Some(1), Some("/id")),
            (
                2,
                col(1, r#""Env""#),
                "/request/labels/Env",
                Some(2),
                Some("/request/labels/env")
            ),
            (3, col(2, r#""K""#), "/meta/1/K", Some(3), Some("/meta/0/k")),
        ]
    );
    assert_eq!(run.summary.total.job_errors, 3);
    // Beside them only the label rule (label keys are lower case), at the same key.
    assert_eq!(run.findings.len(), 4, "{:?}", run.tuples());
    let label = run.with_code("E_LABEL");
    assert_eq!((label[0].line, label[0].column), (2, col(1, r#""Env""#)));
    let message = &run.with_code("E_JOB_COLUMN_CASE")[0].message;
    assert!(
        message.starts_with("key `id` (line 1) and key `ID` (line 1) differ only in letter case"),
        "{message}"
    );
}

#[test]
fn prepare_checks_case_collisions_per_shard() {
    let ctx = TestContext::new();
    ctx.copy_testdata("invalid/E_JOB_COLUMN_CASE.jsonl");
    let summary = |out: &crate::common::Output| -> serde_json::Value {
        serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap()
    };
    // Both lines in one shard: that job would fail.
    let out = ctx.run(&[
        "prepare",
        "E_JOB_COLUMN_CASE.jsonl",
        "-o",
        "one",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(summary(&out)["shard_job_errors"], 1);
    // One line per shard: neither job has both spellings.
    let out = ctx.run(&[
        "prepare",
        "E_JOB_COLUMN_CASE.jsonl",
        "-o",
        "split",
        "--format",
        "json",
        "--max-requests",
        "1",
    ]);
    assert_eq!(summary(&out)["shard_job_errors"], 0, "{}", out.stdout);
    assert_eq!(summary(&out)["shards"].as_array().unwrap().len(), 2);
}

#[test]
fn prepare_refuses_a_key_field_equal_to_request_ignoring_case() {
    let ctx = TestContext::new();
    ctx.write("in.jsonl", format!("{{\"request\":{REQUEST}}}\n"));
    for key in ["request", "REQUEST", "Request"] {
        let out = ctx.run(&["prepare", "in.jsonl", "-o", "run", "--key-field", key]);
        assert_eq!(out.code, 2, "--key-field {key}: {}", out.stderr);
        assert!(
            out.stderr
                .contains(&format!("--key-field `{key}` must be a plain column name")),
            "{}",
            out.stderr
        );
        assert!(!ctx.dir().join("run").exists(), "nothing is written");
    }
    let out = ctx.run(&[
        "prepare",
        "in.jsonl",
        "-o",
        "run",
        "--key-field",
        "requests",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

// Issue 18 item 10: `"google_search": {"timeRangeFilter": null}` ran on Vertex (a public
// repository holds the prediction rows) but was an error; a member with a value stays one.

#[test]
fn validate_an_unknown_member_set_to_null_is_a_warning_and_one_with_a_value_an_error() {
    let ctx = TestContext::new();
    let line = |search: &str| {
        format!(
            r#"{{"request":{{"contents":[{{"role":"user","parts":[{{"text":"news"}}]}}],"tools":[{{"google_search":{search}}}]}}}}"#
        )
    };
    let null = line(r#"{"timeRangeFilter":null}"#);
    ctx.write("null.jsonl", format!("{null}\n"));
    let run = ctx.validate_json(&["null.jsonl"]);
    assert_eq!(run.out.code, 0, "{:?}", run.tuples());
    let key = null.find(r#""timeRangeFilter""#).unwrap() as u64 + 1;
    let value = null.find("null}").unwrap() as u64 + 1;
    let pointer = "/request/tools/0/google_search/timeRangeFilter";
    assert_eq!(
        run.tuples(),
        vec![
            (
                1,
                key,
                "W_UNKNOWN_FIELD_NULL".to_string(),
                pointer.to_string()
            ),
            (1, value, "W_JOB_NULL".to_string(), pointer.to_string()),
        ]
    );
    let message = &run.findings[0].message;
    assert!(message.contains("dropped"), "{message}");
    for valued in [r#"{"timeRangeFilter":{}}"#, r#"{"timeRangeFilter":1}"#] {
        ctx.write("valued.jsonl", format!("{}\n", line(valued)));
        let run = ctx.validate_json(&["valued.jsonl"]);
        assert_eq!(run.out.code, 1, "{valued}");
        let unknown = run.with_code("E_UNKNOWN_FIELD");
        assert_eq!(unknown.len(), 1, "{valued}");
        assert_eq!(unknown[0].pointer, pointer);
        assert!(run.with_code("W_UNKNOWN_FIELD_NULL").is_empty());
    }
}

#[test]
fn validate_an_empty_google_search_suggests_both_working_forms() {
    let ctx = TestContext::new();
    ctx.write(
        "in.jsonl",
        format!(
            "{}\n",
            r#"{"request":{"contents":[{"role":"user","parts":[{"text":"news"}]}],"tools":[{"googleSearch":{}}]}}"#
        ),
    );
    let run = ctx.validate_json(&["in.jsonl"]);
    let empty = run.with_code("E_JOB_EMPTY_OBJECT");
    assert_eq!(empty.len(), 1);
    assert!(
        empty[0]
            .message
            .contains(r#"write `{"excludeDomains": []}` (or `{"timeRangeFilter": null}`, seen accepted in batch) instead of `{}`"#),
        "{}",
        empty[0].message
    );
}

// Issue 18 item 9 (last bullet): `--max-bytes 0.5` silently became 1 byte.

#[test]
fn prepare_refuses_a_max_bytes_below_one_request() {
    let ctx = TestContext::new();
    let shortest = batchline::cli::args::SHORTEST_REQUEST_LINE;
    ctx.write("in.jsonl", format!("{shortest}\n"));
    // The floor is a request batchline accepts: it validates clean.
    let run = ctx.validate_json(&["in.jsonl"]);
    assert_eq!(run.out.code, 0);
    assert!(run.findings.is_empty(), "{:?}", run.tuples());
    let out = ctx.run(&["prepare", "in.jsonl", "-o", "run", "--max-bytes", "0.5"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("`0.5` is below one request") && out.stderr.contains("takes 52 bytes"),
        "{}",
        out.stderr
    );
    assert!(!ctx.dir().join("run").exists());
    // With --no-key the shortest line fits a shard of exactly its size.
    let out = ctx.run(&[
        "prepare",
        "in.jsonl",
        "-o",
        "run",
        "--max-bytes",
        "53",
        "--no-key",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}
