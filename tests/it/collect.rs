//! `collect` end to end: a run prepared into moto (GCS XML API on 127.0.0.1), its jobs run by
//! `batchline emulator`, the rows merged back. Each synthetic response names its request's
//! canonical hash, so every output line can be checked against its own input line.

use std::collections::BTreeMap;

use batchline::emulator::rows::answer_text;
use batchline::request::canon::canonical_hash_bytes;
use serde_json::{json, Value};

use crate::common::jobs::{json_lines, Out, Setup};

/// `prepare` INPUT into `gs://runs/r1` with `flags`, then submit and wait.
pub(crate) fn prepare_submit_wait(s: &Setup, input: &str, flags: &[&str]) -> &'static str {
    s.ctx.write("in.jsonl", input);
    let mut args = vec![
        "prepare",
        "in.jsonl",
        "-o",
        "gs://runs/r1",
        "--tokens",
        "off",
    ];
    args.extend_from_slice(flags);
    let out = s.run(&args);
    // 1: some lines are invalid (the run is written all the same).
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    let run = "gs://runs/r1";
    assert_eq!(s.submit(run, &[]).code, 0);
    wait(s, run);
    run
}

fn wait(s: &Setup, run: &str) {
    let out = s.job("wait", run, &[]);
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
}

pub(crate) fn collect(s: &Setup, run: &str, extra: &[&str]) -> (Out, Value) {
    let mut args = vec!["collect", run, "-o", "results.jsonl", "--format", "json"];
    args.extend_from_slice(extra);
    let out = s.run(&args);
    assert!(
        out.code == 0 || out.code == 1,
        "{}\n{}",
        out.code,
        out.stderr
    );
    let report: Value = serde_json::from_str(out.stdout.trim()).expect("one JSON summary");
    let leftovers: Vec<_> = std::fs::read_dir(s.ctx.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert_eq!(
        leftovers,
        Vec::<String>::new(),
        "temporary files left behind"
    );
    (out, report)
}

pub(crate) fn request_line(text: &str) -> String {
    format!(r#"{{"contents": [{{"role": "user", "parts": [{{"text": "{text}"}}]}}]}}"#)
}

/// The answer text the emulator gives the request of input `line` (a JSON object with `request`).
pub(crate) fn expected_answer(line: &str) -> String {
    let v: Value = serde_json::from_str(line).unwrap();
    let req = serde_json::to_vec(&v["request"]).unwrap();
    answer_text(canonical_hash_bytes(&req).unwrap())
}

pub(crate) fn text_of(v: &Value) -> &str {
    v["response"]["candidates"][0]["content"]["parts"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text in {v}"))
}

/// Every prediction row under `gs://runs/r1/output/`, read straight from moto.
fn raw_rows(s: &Setup, dir: &str) -> Vec<Value> {
    let store = s.store(&format!("gs://runs/r1/{dir}"));
    let mut rows = Vec::new();
    for name in store.list_all("").unwrap() {
        if name.ends_with(".jsonl") {
            let bytes = store.get(&name).unwrap().unwrap();
            rows.extend(json_lines(std::str::from_utf8(&bytes).unwrap()));
        }
    }
    rows
}

#[test]
fn collect_writes_one_line_per_input_line_in_input_order_with_duplicates_members_and_invalid_lines()
{
    let Some(s) = Setup::start(&["--export-rows", "2"]) else {
        return;
    };
    let q: Vec<String> = (0..5)
        .map(|i| request_line(&format!("question {i}")))
        .collect();
    let lines = [
        format!(r#"{{"id": "a", "request": {}}}"#, q[3]),
        format!(r#"{{"request": {}, "custom_id": 7}}"#, q[1]),
        String::new(),
        // The same request as line 1, keys in another order and other whitespace.
        r#"{"request":{"contents":[{"parts":[{"text":"question 3"}],"role":"user"}]},"id":"c"}"#
            .to_string(),
        r#"{"id": "bad", "request": {"contents": [{"role": "user", "parts": [{"text": "x"}]}], "generationConfig": {"temperature": "hot"}}}"#.to_string(),
        format!(r#"{{"id": "e", "request": {}, "meta": {{"tags": ["x", "y"]}}}}"#, q[0]),
        format!(r#"{{"id": "f", "request": {}}}"#, q[4]),
        format!(r#"{{"id": "g", "request": {}}}"#, q[2]),
        format!(r#"{{"id": "h", "request": {}}}"#, q[1]),
    ];
    let input = lines.join("\n") + "\n";
    let run = prepare_submit_wait(&s, &input, &["--max-requests", "2", "--order", "prefix"]);
    let (out, report) = collect(&s, run, &[]);
    assert_eq!(out.code, 0, "{}\n{report:#}", out.stderr);
    let results = std::fs::read_to_string(s.ctx.dir().join("results.jsonl")).unwrap();
    let got = json_lines(&results);
    // One line per non-blank input line, in input order.
    let numbers: Vec<u64> = got.iter().map(|v| v["line"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [1, 2, 4, 5, 6, 7, 8, 9]);
    assert!(got.iter().all(|v| v["file"] == "in.jsonl"));
    for v in &got {
        let n = v["line"].as_u64().unwrap() as usize;
        if n == 5 {
            continue;
        }
        assert_eq!(v["status"], "succeeded", "{v}");
        assert_eq!(text_of(v), expected_answer(&lines[n - 1]), "line {n}");
        assert!(v.get("request").is_none());
        assert!(v.get("batchline_key").is_none(), "{v}");
    }
    // Members copied unchanged, in the input's order, after collect's own.
    let first = results.lines().next().unwrap();
    assert!(
        first.starts_with(r#"{"file":"in.jsonl","line":1,"status":"succeeded","response":{"#),
        "{first}"
    );
    assert!(first.ends_with(r#","id":"a"}"#), "{first}");
    assert_eq!(got[1]["custom_id"], 7);
    assert_eq!(got[4]["meta"], json!({"tags": ["x", "y"]}));
    assert_eq!(got[2]["id"], "c");
    // The duplicate got its representative's response, byte for byte.
    assert_eq!(got[0]["response"], got[2]["response"]);
    assert_eq!(got[1]["response"], got[7]["response"]);
    // The invalid line, with its codes.
    assert_eq!(
        got[3],
        json!({"file": "in.jsonl", "line": 5, "status": "invalid", "error": {"codes": ["E_TYPE"]}, "id": "bad"})
    );
    // The report, against a recomputation from the raw rows.
    let rows = raw_rows(&s, "output");
    let mut best: BTreeMap<String, &Value> = BTreeMap::new();
    for r in &rows {
        best.insert(r["batchline_key"].as_str().unwrap().to_string(), r);
    }
    assert_eq!(best.len(), 5);
    let sum = |k: &str| -> u64 {
        best.values()
            .map(|r| r["response"]["usageMetadata"][k].as_u64().unwrap_or(0))
            .sum()
    };
    assert_eq!(report["tokens"]["prompt"], sum("promptTokenCount"));
    assert_eq!(report["tokens"]["cached"], sum("cachedContentTokenCount"));
    assert_eq!(report["tokens"]["candidates"], sum("candidatesTokenCount"));
    assert_eq!(report["rows"]["rows"], rows.len());
    assert_eq!(report["rows"]["by_key"], rows.len());
    assert_eq!(report["rows"]["superseded"], rows.len() - 5);
    assert_eq!(report["rows"]["unmatched"], 0);
    assert_eq!(
        report["lines"],
        json!({"lines": 8, "succeeded": 7, "failed": 0, "missing": 0, "invalid": 1, "members_not_copied": 0})
    );
    assert_eq!(report["requests"]["requests"], 5);
    assert_eq!(report["requests"]["succeeded"], 5);
    assert_eq!(report["retry"], Value::Null);
    let jobs = report["jobs"].as_array().unwrap();
    let per_job: Vec<u64> = jobs
        .iter()
        .map(|j| j["outcomes"]["succeeded"].as_u64().unwrap())
        .collect();
    assert_eq!(per_job, [2, 2, 1]);
    // Input lines per job: 7 sent lines over the 3 shards (duplicates with their request).
    let lines_per_job: Vec<u64> = jobs
        .iter()
        .map(|j| j["input_lines"].as_u64().unwrap())
        .collect();
    assert_eq!(lines_per_job.iter().sum::<u64>(), 7);
    for j in jobs {
        // Two requests have a duplicate line: a job's lines exceed its requests by those.
        let extra =
            j["input_lines"].as_u64().unwrap() - j["outcomes"]["requests"].as_u64().unwrap();
        assert!(extra <= 2, "{j}");
    }
    // The report is in the run too.
    let saved: Value =
        serde_json::from_slice(&s.store(run).get("collect-report.json").unwrap().unwrap()).unwrap();
    assert_eq!(saved["lines"], report["lines"]);
    // Killed while writing: the output keeps its old bytes (a temporary name was being written),
    // and a re-run writes the same bytes again.
    std::fs::write(s.ctx.dir().join("results.jsonl"), "old\n").unwrap();
    let killed = s.run_with_env(
        &["collect", run, "-o", "results.jsonl"],
        &[("BATCHLINE_FAILPOINT", "collect-output")],
    );
    assert_ne!(killed.code, 0);
    assert_eq!(
        std::fs::read_to_string(s.ctx.dir().join("results.jsonl")).unwrap(),
        "old\n"
    );
    // A re-run writes the same bytes; --response text gives the text only.
    let (_, again) = collect(&s, run, &[]);
    assert_eq!(again, report);
    assert_eq!(
        std::fs::read_to_string(s.ctx.dir().join("results.jsonl")).unwrap(),
        results
    );
    // Fragments spilled to one bucket per request (as a large output would be) give the same bytes.
    let bucketed = s.run_with_env(
        &["collect", run, "-o", "bucketed.jsonl"],
        &[("BATCHLINE_SPILL_BUCKET_BYTES", "1")],
    );
    assert_eq!(bucketed.code, 0, "{}", bucketed.stderr);
    assert_eq!(
        std::fs::read_to_string(s.ctx.dir().join("bucketed.jsonl")).unwrap(),
        results
    );
    collect(&s, run, &["--response", "text", "--include-request"]);
    let text = json_lines(&std::fs::read_to_string(s.ctx.dir().join("results.jsonl")).unwrap());
    assert_eq!(text[0]["text"], expected_answer(&lines[0]));
    assert!(text[0].get("response").is_none());
    let req: Value = serde_json::from_str(&q[3]).unwrap();
    assert_eq!(text[0]["request"], req);
}

#[test]
fn failures_go_to_a_retry_round_that_submit_retry_sends_and_collect_merges() {
    let Some(s) = Setup::start(&[
        "--fail-internal",
        "0.4",
        "--fail-invalid-argument",
        "0.2",
        "--seed",
        "11",
    ]) else {
        return;
    };
    let lines: Vec<String> = (0..30)
        .map(|i| {
            format!(
                r#"{{"n": {i}, "request": {}}}"#,
                request_line(&format!("q{i}"))
            )
        })
        .collect();
    let run = prepare_submit_wait(
        &s,
        &(lines.join("\n") + "\n"),
        &["--max-requests", "10", "--order", "input"],
    );
    let (out, report) = collect(&s, run, &[]);
    assert_eq!(out.code, 1, "some rows failed: {}", out.stderr);
    let first = json_lines(&std::fs::read_to_string(s.ctx.dir().join("results.jsonl")).unwrap());
    assert_eq!(first.len(), 30);
    let status_of = |v: &Value| -> String {
        match v["status"].as_str().unwrap() {
            "failed" => v["error"]["status"].as_str().unwrap().to_string(),
            s => s.to_string(),
        }
    };
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for v in &first {
        *counts.entry(status_of(v)).or_default() += 1;
        if v["status"] == "failed" {
            let e = &v["error"];
            match e["status"].as_str().unwrap() {
                "INTERNAL" => assert_eq!(e["code"], 500),
                "INVALID_ARGUMENT" => assert_eq!(e["code"], 400),
                other => panic!("{other}"),
            }
        } else {
            assert_eq!(
                text_of(v),
                expected_answer(&lines[v["n"].as_u64().unwrap() as usize])
            );
        }
    }
    let internal = counts["INTERNAL"];
    let invalid_argument = counts["INVALID_ARGUMENT"];
    assert!(internal > 0 && invalid_argument > 0, "{counts:?}");
    assert_eq!(
        report["requests"]["failed_by_reason"],
        json!({"INTERNAL": internal, "INVALID_ARGUMENT": invalid_argument})
    );
    assert_eq!(report["requests"]["retryable"], internal);
    assert_eq!(report["requests"]["permanent"], invalid_argument);
    // The retry round: exactly the INTERNAL failures, with their keys.
    assert_eq!(report["retry"]["round"], 1);
    assert_eq!(report["retry"]["requests"], internal);
    // Within the run's own limit of 10 requests per shard.
    assert_eq!(
        report["retry"]["shards"],
        json!(["retry-1/shard-00000.jsonl", "retry-1/shard-00001.jsonl"])
    );
    let mut retried: Vec<u64> = Vec::new();
    for (i, name) in ["retry-1/shard-00000.jsonl", "retry-1/shard-00001.jsonl"]
        .iter()
        .enumerate()
    {
        let shard = s.store(run).get(name).unwrap().unwrap();
        let rows = json_lines(std::str::from_utf8(&shard).unwrap());
        assert_eq!(rows.len(), if i == 0 { 10 } else { internal as usize - 10 });
        retried.extend(rows.iter().map(|v| v["n"].as_u64().unwrap()));
    }
    let expected: Vec<u64> = first
        .iter()
        .filter(|v| status_of(v) == "INTERNAL")
        .map(|v| v["n"].as_u64().unwrap())
        .collect();
    let mut sorted = retried.clone();
    sorted.sort();
    assert_eq!(sorted, expected);
    // collect again before submitting: the same round, not written again.
    let (_, again) = collect(&s, run, &[]);
    assert_eq!(again["retry"]["round"], 1);
    assert_eq!(again["retry"]["written"], false);
    // Send it, wait, collect: the newer round's rows win.
    let out = s.submit(run, &["--retry"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    wait(&s, run);
    let (_, after) = collect(&s, run, &[]);
    let mut retry_rows = raw_rows(&s, "output/retry-1-shard-00000");
    retry_rows.extend(raw_rows(&s, "output/retry-1-shard-00001"));
    assert!(!retry_rows.is_empty());
    let mut retry_status: BTreeMap<u64, String> = BTreeMap::new();
    for r in &retry_rows {
        let st = r["status"].as_str().unwrap();
        let st = if st.is_empty() {
            "succeeded".to_string()
        } else if st.contains("INTERNAL") {
            "INTERNAL".to_string()
        } else {
            "INVALID_ARGUMENT".to_string()
        };
        retry_status.insert(r["n"].as_u64().unwrap(), st);
    }
    assert_eq!(retry_status.keys().copied().collect::<Vec<_>>(), expected);
    let merged = json_lines(&std::fs::read_to_string(s.ctx.dir().join("results.jsonl")).unwrap());
    for (old, new) in first.iter().zip(&merged) {
        let n = old["n"].as_u64().unwrap();
        let want = retry_status
            .get(&n)
            .cloned()
            .unwrap_or_else(|| status_of(old));
        assert_eq!(status_of(new), want, "n = {n}");
        if want == "succeeded" {
            assert_eq!(text_of(new), expected_answer(&lines[n as usize]));
        }
    }
    let still_internal = retry_status.values().filter(|s| *s == "INTERNAL").count() as u64;
    assert_eq!(after["requests"]["retryable"], still_internal);
    let jobs = after["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 5);
    assert_eq!(jobs[3]["shard"], "retry-1/shard-00000.jsonl");
    assert_eq!(jobs[3]["round"], 1);
    assert_eq!(jobs[3]["outcomes"]["requests"], 10);
    assert_eq!(jobs[4]["outcomes"]["requests"], internal - 10);
}

/// `prepare` the lines into `gs://runs/r1` (no jobs).
pub(crate) fn prepare_only(s: &Setup, lines: &[String]) -> &'static str {
    s.ctx.write("in.jsonl", lines.join("\n") + "\n");
    let out = s.run(&[
        "prepare",
        "in.jsonl",
        "-o",
        "gs://runs/r1",
        "--tokens",
        "off",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    run_of()
}

pub(crate) fn run_of() -> &'static str {
    "gs://runs/r1"
}

#[test]
fn run_goes_from_inputs_to_results_with_retry_rounds_and_a_rerun_creates_no_job() {
    let Some(s) = Setup::start(&["--fail-internal", "0.3", "--seed", "5"]) else {
        return;
    };
    let lines: Vec<String> = (0..24)
        .map(|i| {
            format!(
                r#"{{"n": {i}, "request": {}}}"#,
                request_line(&format!("r{}", i % 20))
            )
        })
        .collect();
    s.ctx.write("in.jsonl", lines.join("\n") + "\n");
    let args = [
        "run",
        "in.jsonl",
        "--to",
        "gs://runs/r1",
        "--project",
        "p",
        "--location",
        "us-central1",
        "--vertex-endpoint",
        &s.url,
        "--poll-interval",
        "50ms",
        "--max-poll-interval",
        "100ms",
        "--tokens",
        "off",
        "--max-requests",
        "8",
        "--retry-rounds",
        "3",
        "--max-concurrent",
        "2",
        "-O",
        "results.jsonl",
        "--quiet",
    ];
    let out = s.run(&args);
    assert!(
        out.code == 0 || out.code == 1,
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    let results = std::fs::read_to_string(s.ctx.dir().join("results.jsonl")).unwrap();
    let got = json_lines(&results);
    assert_eq!(got.len(), 24);
    let report: Value = serde_json::from_slice(
        &s.store("gs://runs/r1")
            .get("collect-report.json")
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    let jobs = s.jobs();
    // 20 unique requests in 3 shards, then one job per retry shard of each round sent.
    let rounds = report["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["round"].as_u64().unwrap())
        .max()
        .unwrap();
    assert!(
        rounds >= 1,
        "with 30% failures some retry round was sent: {report:#}"
    );
    assert!(rounds <= 3);
    assert_eq!(jobs.len(), report["jobs"].as_array().unwrap().len());
    // The job limit went to submit (and is kept in state.json for wait).
    let state: Value =
        serde_json::from_slice(&s.store("gs://runs/r1").get("state.json").unwrap().unwrap())
            .unwrap();
    assert_eq!(state["max_concurrent"], 2, "{state:#}");
    for (i, v) in got.iter().enumerate() {
        assert_eq!(v["n"], i);
        if v["status"] == "succeeded" {
            assert_eq!(text_of(v), expected_answer(&lines[i]));
        } else {
            assert_eq!(v["error"]["status"], "INTERNAL", "{v}");
        }
    }
    let failed = got.iter().filter(|v| v["status"] != "succeeded").count();
    assert_eq!(out.code, if failed == 0 { 0 } else { 1 });
    // Again: nothing new is created, the output is the same.
    let again = s.run(&args);
    assert_eq!(again.code, out.code, "{}", again.stderr);
    assert_eq!(s.jobs().len(), jobs.len());
    assert_eq!(
        std::fs::read_to_string(s.ctx.dir().join("results.jsonl")).unwrap(),
        results
    );
}

#[test]
fn hostile_prediction_files_are_counted_with_their_line_numbers_and_nothing_panics() {
    let Some(s) = Setup::start(&[]) else { return };
    let lines: Vec<String> = (0..3)
        .map(|i| format!(r#"{{"request": {}}}"#, request_line(&format!("h{i}"))))
        .collect();
    prepare_only(&s, &lines);
    // 12 MB of junk: a 4 MB run of `[`, 300,000 short junk lines (across several parallel
    // pieces), random bytes, a 4 MB string, an object nested 100,000 deep.
    let mut junk = Vec::new();
    junk.extend(std::iter::repeat_n(b'[', 4 << 20));
    junk.push(b'\n');
    for i in 0..300_000u32 {
        junk.extend_from_slice(format!("x{i}\n").as_bytes());
    }
    let mut state = 7u64;
    for _ in 0..100_000 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let b = (state >> 56) as u8;
        junk.push(if b == b'\n' { b' ' } else { b });
    }
    junk.push(b'\n');
    junk.extend_from_slice(b"{\"status\":\"");
    junk.extend(std::iter::repeat_n(b'a', 4 << 20));
    junk.extend_from_slice(b"\"}\n");
    junk.extend_from_slice(b"{\"status\":\"\",\"response\":");
    junk.extend_from_slice(format!("{}{}", "{\"a\":".repeat(100_000), "1").as_bytes());
    junk.extend(std::iter::repeat_n(b'}', 100_001));
    junk.push(b'\n');
    std::fs::create_dir_all(s.ctx.dir().join("junk")).unwrap();
    std::fs::write(s.ctx.dir().join("junk/predictions.jsonl"), &junk).unwrap();
    let (out, report) = collect(&s, run_of(), &["--predictions", "junk", "--no-retry-round"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let rows = &report["rows"];
    assert_eq!(rows["rows"], 300_004);
    // The 4 MB string is a failed row (a status without the documented form) of no request; the
    // deep object reads as a success row of no request: both unmatched. The rest is unreadable.
    assert_eq!(rows["unreadable"], 300_002, "{rows:#}");
    assert_eq!(rows["unmatched"], 2, "{rows:#}");
    let examples: Vec<&str> = rows["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(examples.len(), 20);
    for (i, e) in examples.iter().enumerate() {
        assert!(
            e.starts_with(&format!(
                "junk/predictions.jsonl:{}: not a prediction row",
                i + 1
            )),
            "{e}"
        );
    }
    assert_eq!(report["requests"]["missing"], 3);
    let got = json_lines(&std::fs::read_to_string(s.ctx.dir().join("results.jsonl")).unwrap());
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|v| v["status"] == "missing"));
}

#[test]
fn cache_hits_are_measured_per_family_and_by_distance_from_the_primer() {
    // One worker: rows run one after the other, so every member after the primer finds the
    // shared prefix cached (the emulator's cache model, docs/cache-model.md).
    let Some(s) = Setup::start(&["--cache-workers", "1", "--min-cache-tokens", "1024"]) else {
        return;
    };
    let system: String = (0..1500).map(|i| format!("rule{i} ")).collect();
    let mut lines: Vec<String> = (0..6)
        .map(|i| {
            format!(
                r#"{{"request": {{"systemInstruction": {{"parts": [{{"text": "{system}"}}]}}, "contents": [{{"role": "user", "parts": [{{"text": "question {i}"}}]}}]}}}}"#
            )
        })
        .collect();
    lines.insert(2, format!(r#"{{"request": {}}}"#, request_line("alone 1")));
    lines.push(format!(r#"{{"request": {}}}"#, request_line("alone 2")));
    let run = prepare_submit_wait(
        &s,
        &(lines.join("\n") + "\n"),
        &["--order", "input", "--model", "gemini-2.5-flash"],
    );
    let (out, report) = collect(&s, run, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The family: input lines 1, 2, 4, 5, 6, 7 are uniques 0, 1, 3, 4, 5, 6 (line 3 is unique 2).
    let fams = report["cache"]["families"].as_array().unwrap();
    assert_eq!(fams.len(), 1, "{:#}", report["cache"]);
    let f = &fams[0];
    assert_eq!(f["requests"], 6);
    assert_eq!(f["succeeded"], 6);
    assert_eq!(f["primer"], "bl-0");
    // Recompute from the raw rows.
    let rows = raw_rows(&s, "output");
    let mut by_key: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in &rows {
        let u = &r["response"]["usageMetadata"];
        by_key.insert(
            r["batchline_key"].as_str().unwrap().into(),
            (
                u["promptTokenCount"].as_u64().unwrap(),
                u["cachedContentTokenCount"].as_u64().unwrap_or(0),
            ),
        );
    }
    let members = ["bl-0", "bl-1", "bl-3", "bl-4", "bl-5", "bl-6"];
    let cached: u64 = members.iter().map(|k| by_key[*k].1).sum();
    let prompt: u64 = members.iter().map(|k| by_key[*k].0).sum();
    assert_eq!(f["cached_tokens"], cached);
    assert_eq!(f["prompt_tokens"], prompt);
    assert_eq!(by_key["bl-0"].1, 0, "the primer finds nothing cached");
    assert!(cached > 0);
    assert_eq!(
        f["bound_tokens"].as_u64().unwrap(),
        5 * f["prefix_tokens"].as_u64().unwrap()
    );
    // By distance: the primer at 0; the others 1, 3, 4, 5, 6 requests later (unique 2 sits
    // between, in input order).
    let buckets = report["cache"]["by_distance"].as_array().unwrap();
    assert_eq!(buckets[0]["from"], 0);
    assert_eq!(buckets[0]["to"], 0);
    assert_eq!(buckets[0]["requests"], 1);
    assert_eq!(buckets[0]["cached_tokens"], 0);
    assert_eq!(buckets[1]["from"], 1);
    assert_eq!(buckets[1]["to"], 15);
    assert_eq!(buckets[1]["requests"], 5);
    assert_eq!(buckets[1]["cached_tokens"], cached);
    assert!(buckets[2..].iter().all(|b| b["requests"] == 0));
    assert_eq!(buckets.last().unwrap()["to"], Value::Null);
}
