//! How `collect` matches prediction rows to their requests when a row lacks batchline's key
//! member or carries keys that are not the run's: by the hash of the request the row echoes, and
//! rows that match no request are counted, not dropped. Helpers and harness are `collect.rs`'s.

use serde_json::{json, Value};

use crate::collect::{
    collect, expected_answer, prepare_only, prepare_submit_wait, request_line, run_of, text_of,
};
use crate::common::jobs::{json_lines, Setup};

#[test]
fn rows_without_the_key_member_match_by_the_hash_of_the_echoed_request() {
    let Some(s) = Setup::start(&["--row-layout", "2025"]) else {
        return;
    };
    let lines: Vec<String> = (0..6)
        .map(|i| {
            format!(
                r#"{{"request": {{"generationConfig": {{"temperature": 0.5, "maxOutputTokens": 10}}, "contents": [{{"role": "user", "parts": [{{"text": "k{i}"}}]}}]}}}}"#
            )
        })
        .collect();
    let run = prepare_submit_wait(&s, &(lines.join("\n") + "\n"), &["--no-key"]);
    let (out, report) = collect(&s, run, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(report["rows"]["by_key"], 0);
    assert_eq!(report["rows"]["by_hash"], report["rows"]["rows"]);
    let got = json_lines(&std::fs::read_to_string(s.ctx.dir().join("results.jsonl")).unwrap());
    assert_eq!(got.len(), 6);
    for (i, v) in got.iter().enumerate() {
        assert_eq!(v["line"], i + 1);
        assert_eq!(text_of(v), expected_answer(&lines[i]));
    }
}

#[test]
fn predictions_from_elsewhere_are_merged_and_unknown_rows_are_counted_not_dropped() {
    let Some(s) = Setup::start(&[]) else { return };
    let lines: Vec<String> = (0..4)
        .map(|i| format!(r#"{{"request": {}}}"#, request_line(&format!("p{i}"))))
        .collect();
    prepare_only(&s, &lines);
    // No job: rows made "elsewhere", for requests 0 and 2, one failed, plus a stranger's row.
    let row = |i: usize, status: &str, text: &str| {
        let v: Value = serde_json::from_str(&lines[i]).unwrap();
        json!({"status": status, "processed_time": "2025-06-01T08:00:00.123+00:00",
               "request": v["request"],
               "response": if status.is_empty() { json!({"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}}], "usageMetadata": {"promptTokenCount": 3}}) } else { json!({}) }})
        .to_string()
    };
    let file = [
        row(2, "", "two"),
        row(0, r#"Too Many Requests: {"error": {"code": 429, "message": "Quota", "status": "RESOURCE_EXHAUSTED"}}"#, ""),
        format!(r#"{{"status": "", "request": {}, "response": {{"candidates": []}}}}"#, request_line("stranger")),
        "not json".to_string(),
    ]
    .join("\n");
    std::fs::create_dir_all(s.ctx.dir().join("elsewhere")).unwrap();
    s.ctx.write("elsewhere/predictions.jsonl", file + "\n");
    let (out, report) = collect(
        &s,
        run_of(),
        &["--predictions", "elsewhere", "--no-retry-round"],
    );
    assert_eq!(out.code, 1);
    let got = json_lines(&std::fs::read_to_string(s.ctx.dir().join("results.jsonl")).unwrap());
    let statuses: Vec<&str> = got.iter().map(|v| v["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["failed", "missing", "succeeded", "missing"]);
    assert_eq!(
        got[0]["error"],
        json!({"code": 429, "message": "Quota", "status": "RESOURCE_EXHAUSTED"})
    );
    assert_eq!(text_of(&got[2]), "two");
    assert_eq!(report["rows"]["unmatched"], 1);
    assert_eq!(report["rows"]["unreadable"], 1);
    let examples = report["rows"]["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 2);
    assert!(
        examples[0]
            .as_str()
            .unwrap()
            .ends_with("elsewhere/predictions.jsonl:3: matches no request of this run"),
        "{examples:?}"
    );
    assert!(
        examples[1]
            .as_str()
            .unwrap()
            .contains("elsewhere/predictions.jsonl:4: not a prediction row"),
        "{examples:?}"
    );
    assert_eq!(report["requests"]["missing"], 2);
    assert_eq!(report["missing_examples"], json!(["bl-1", "bl-3"]));
    assert_eq!(report["retry"], Value::Null);
    // Cost by hand: one succeeded request, 3 prompt tokens at the batch price (half the list
    // price), nothing cached, no output.
    let table: Value = serde_json::from_str(include_str!("../../src/models.json")).unwrap();
    let input = table["models"]["gemini-2.5-flash"]["price"]["input"]
        .as_f64()
        .unwrap();
    let discount = table["batch_discount"].as_f64().unwrap();
    let cost = &report["cost"];
    assert_eq!(cost["model"], "gemini-2.5-flash");
    let hand = 3.0 / 1e6 * input * discount;
    assert!(
        (cost["batch_with_cache"].as_f64().unwrap() - hand).abs() < 1e-15,
        "{cost}"
    );
    assert!(
        (cost["online_no_dedup"].as_f64().unwrap() - 3.0 / 1e6 * input).abs() < 1e-15,
        "{cost}"
    );
    // The human summary.
    let human = s.run(&[
        "collect",
        run_of(),
        "-o",
        "results.jsonl",
        "--predictions",
        "elsewhere",
        "--no-retry-round",
    ]);
    assert_eq!(human.code, 1);
    let lines: Vec<&str> = human.stdout.lines().collect();
    let as_of = table["as_of"].as_str().unwrap();
    assert_eq!(
        lines,
        [
            "results.jsonl: 4 lines — 1 succeeded, 1 failed, 2 missing, 0 invalid (not sent)",
            "unique requests: 4 — 1 succeeded, 1 failed (1 retryable, 0 permanent), 2 missing",
            "  failed RESOURCE_EXHAUSTED: 1",
            "rows: 4 read from 1 file(s) — 0 by key, 2 by request hash, 0 superseded, 1 unmatched, 1 unreadable",
            "  elsewhere/predictions.jsonl:3: matches no request of this run",
            "  elsewhere/predictions.jsonl:4: not a prediction row: expected ident at column 2",
            "tokens: prompt 3, cached 0, output 0, thinking 0, tool use 0",
            "cache: measured 0.0% of prompt tokens; prepare predicted 0.0% for the primed order",
            &format!("cost (gemini-2.5-flash, prices of {as_of}): $0.000000450 batch with cache, $0.000000450 without cache, $0.000000900 online without dedup"),
            "token counter (bytes/4): +0.00% against Vertex's promptTokenCount",
        ]
    );
}

#[test]
fn predictions_with_another_runs_keys_match_by_the_echoed_request_not_by_the_key() {
    let Some(s) = Setup::start(&[]) else { return };
    let lines: Vec<String> = (0..2)
        .map(|i| format!(r#"{{"request": {}}}"#, request_line(&format!("q{i}"))))
        .collect();
    prepare_only(&s, &lines);
    let ok = |key: &str, request: Value, text: &str| {
        json!({"batchline_key": key, "status": "", "request": request,
               "response": {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}}]}})
        .to_string()
    };
    let q0: Value = serde_json::from_str::<Value>(&lines[0]).unwrap()["request"].clone();
    let stranger: Value = serde_json::from_str(&request_line("from another run")).unwrap();
    // Another run's rows: its bl-1 is our q0, its bl-0 a request we never had.
    let file = [ok("bl-1", q0, "zero"), ok("bl-0", stranger, "nobody")].join("\n");
    std::fs::create_dir_all(s.ctx.dir().join("other")).unwrap();
    s.ctx.write("other/predictions.jsonl", file + "\n");
    let (_, report) = collect(
        &s,
        run_of(),
        &["--predictions", "other", "--no-retry-round"],
    );
    let got = json_lines(&std::fs::read_to_string(s.ctx.dir().join("results.jsonl")).unwrap());
    let statuses: Vec<&str> = got.iter().map(|v| v["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["succeeded", "missing"]);
    assert_eq!(text_of(&got[0]), "zero");
    let rows = &report["rows"];
    assert_eq!(
        (
            &rows["foreign_keys"],
            &rows["by_key"],
            &rows["by_hash"],
            &rows["unmatched"]
        ),
        (&json!(2), &json!(0), &json!(1), &json!(1)),
        "{rows}"
    );
    // --trust-keys takes the keys at their word: each row fills the line its key names.
    let (_, trusted) = collect(
        &s,
        run_of(),
        &["--predictions", "other", "--no-retry-round", "--trust-keys"],
    );
    let got = json_lines(&std::fs::read_to_string(s.ctx.dir().join("results.jsonl")).unwrap());
    let texts: Vec<&str> = got.iter().map(text_of).collect();
    assert_eq!(texts, ["nobody", "zero"]);
    let rows = &trusted["rows"];
    assert_eq!(
        (&rows["foreign_keys"], &rows["by_key"]),
        (&json!(0), &json!(2))
    );
}
