//! `batchline prepare` and `stats`: exact counts, the line → request → shard mapping, shard limits,
//! ordering, determinism, and resuming an interrupted run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::files_of;
use batchline::run::index::{read_index, NOT_SENT};

pub(crate) fn bin() -> Command {
    crate::common::batchline()
}

pub(crate) fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run batchline")
}

/// [`run`], asserting success (and showing stderr when not).
pub(crate) fn run_ok(args: &[&str]) -> Output {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The last line of a `--format json` run: the summary object.
pub(crate) fn summary_of(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.lines().last().expect("a summary line")).expect("summary JSON")
}

pub(crate) fn testdata(p: &str) -> String {
    format!("{}/testdata/{p}", env!("CARGO_MANIFEST_DIR"))
}

/// Shard lines as (shard, position, key, request JSON value).
fn shard_rows(run: &Path) -> Vec<(usize, usize, String, serde_json::Value)> {
    let mut out = Vec::new();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    for (si, s) in manifest["shards"].as_array().unwrap().iter().enumerate() {
        let text = std::fs::read_to_string(run.join(s["name"].as_str().unwrap())).unwrap();
        for (pos, line) in text.lines().enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let key = v["batchline_key"].as_str().unwrap().to_string();
            out.push((si, pos, key, v["request"].clone()));
        }
    }
    out
}

pub(crate) fn generated(dir: &Path, seed: u64, shape: &str, size: &str) -> PathBuf {
    let p = dir.join(format!("{shape}-{seed}.jsonl"));
    run_ok(&[
        "gen-corpus",
        "--seed",
        &seed.to_string(),
        "--shape",
        shape,
        "--size",
        size,
        "-o",
        p.to_str().unwrap(),
    ]);
    p
}

#[test]
fn prepare_counts_duplicates_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let out = run_ok(&[
        "prepare",
        &testdata("prepare/dups.jsonl"),
        "-o",
        run_dir.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let summary: serde_json::Value = summary_of(&stdout);
    assert_eq!(
        summary["counts"],
        serde_json::json!({"lines": 10, "blank": 1, "invalid": 1, "valid": 8, "unique": 4, "duplicates": 4})
    );
    assert_eq!(summary["sampling_duplicates"], 2);
    // The index: line → unique, by first occurrence (A=0 line 1, B=1 line 4, C=2 line 8, D=3 line 9).
    let (files, lines, uniques) =
        read_index(std::fs::File::open(run_dir.join("index.bin")).unwrap()).unwrap();
    assert_eq!(files, 1);
    let of_line: Vec<u32> = lines.iter().map(|l| l.unique).collect();
    assert_eq!(of_line, vec![0, 0, 0, 1, NOT_SENT, NOT_SENT, 1, 2, 3, 3]);
    assert_eq!(
        lines.iter().map(|l| l.line).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<u64>>()
    );
    assert_eq!(uniques.len(), 4);
    // invalid.jsonl names the invalid line and its code.
    let invalid = std::fs::read_to_string(run_dir.join("invalid.jsonl")).unwrap();
    assert_eq!(invalid.lines().count(), 1);
    let inv: serde_json::Value = serde_json::from_str(invalid.trim()).unwrap();
    assert_eq!(inv["line"], 5);
    assert_eq!(inv["codes"], serde_json::json!(["E_UNKNOWN_FIELD"]));
    // Shard lines are the representatives' original bytes with the key spliced in.
    let shard = std::fs::read_to_string(run_dir.join("shards/shard-00000.jsonl")).unwrap();
    let original = std::fs::read_to_string(testdata("prepare/dups.jsonl")).unwrap();
    let first = original.lines().next().unwrap();
    let expected = first.replacen('{', "{\"batchline_key\":\"bl-0\",", 1);
    assert!(shard.lines().any(|l| l == expected), "{shard}");
    assert_eq!(shard.lines().count(), 4);
}

#[test]
fn prepare_maps_every_line_once_and_respects_shard_limits() {
    let dir = tempfile::tempdir().unwrap();
    let input = generated(dir.path(), 11, "short", "600KB");
    let run_dir = dir.path().join("run");
    run_ok(&[
        "prepare",
        input.to_str().unwrap(),
        "-o",
        run_dir.to_str().unwrap(),
        "--max-requests",
        "37",
        "--max-bytes",
        "60KB",
    ]);
    let (_, lines, uniques) =
        read_index(std::fs::File::open(run_dir.join("index.bin")).unwrap()).unwrap();
    let rows = shard_rows(&run_dir);
    // Every unique request appears in exactly one shard exactly once, where the index says.
    let keys: Vec<&String> = rows.iter().map(|r| &r.2).collect();
    let distinct: BTreeSet<&String> = keys.iter().copied().collect();
    assert_eq!(distinct.len(), keys.len(), "a key appears twice");
    assert_eq!(rows.len(), uniques.len());
    for (shard, pos, key, _) in &rows {
        let u = usize::from_str_radix(key.strip_prefix("bl-").unwrap(), 36).unwrap();
        assert_eq!(
            (uniques[u].shard as usize, uniques[u].position as usize),
            (*shard, *pos)
        );
    }
    // Every valid input line maps to exactly one unique request with an equal request.
    let text = std::fs::read_to_string(&input).unwrap();
    let by_key: BTreeMap<usize, &serde_json::Value> = rows
        .iter()
        .map(|r| {
            (
                usize::from_str_radix(r.2.strip_prefix("bl-").unwrap(), 36).unwrap(),
                &r.3,
            )
        })
        .collect();
    for (l, line) in lines.iter().zip(text.lines()) {
        assert_ne!(l.unique, NOT_SENT);
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(&v["request"], by_key[&(l.unique as usize)]);
    }
    // Limits.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("manifest.json")).unwrap()).unwrap();
    let shards = manifest["shards"].as_array().unwrap();
    assert!(shards.len() > 1);
    for s in shards {
        assert!(s["requests"].as_u64().unwrap() <= 37);
        assert!(s["bytes"].as_u64().unwrap() <= 60_000);
        let bytes = std::fs::metadata(run_dir.join(s["name"].as_str().unwrap()))
            .unwrap()
            .len();
        assert_eq!(bytes, s["bytes"].as_u64().unwrap());
    }
}

/// A model table whose cache minimum is tiny, so short test prompts form cacheable families.
fn tiny_cache_pricing(dir: &Path) -> PathBuf {
    let mut table: serde_json::Value =
        serde_json::from_str(include_str!("../../src/models.json")).unwrap();
    table["models"]["gemini-2.5-flash"]["min_cache_tokens"] = serde_json::json!(100);
    let p = dir.join("pricing.json");
    std::fs::write(&p, serde_json::to_vec(&table).unwrap()).unwrap();
    p
}

/// Three families of ten requests sharing a 2 KB system instruction each, interleaved in input.
fn families_input(dir: &Path) -> PathBuf {
    let mut lines = Vec::new();
    for q in 0..10 {
        for fam in ["alpha", "beta", "gamma"] {
            let system = format!("{fam} ").repeat(400);
            lines.push(serde_json::json!({"request": {
                "systemInstruction": {"parts": [{"text": system}]},
                "contents": [{"role": "user", "parts": [{"text": format!("question {q} about {fam}")}]}]
            }}).to_string());
        }
    }
    let p = dir.join("families.jsonl");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

fn family_of(request: &serde_json::Value) -> String {
    request["systemInstruction"]["parts"][0]["text"]
        .as_str()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn prepare_prefix_order_keeps_families_contiguous_and_primed_moves_first_members_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let input = families_input(dir.path());
    let pricing = tiny_cache_pricing(dir.path());
    let prefix_run = dir.path().join("prefix");
    let primed_run = dir.path().join("primed");
    for (order, run_dir) in [("prefix", &prefix_run), ("primed", &primed_run)] {
        run_ok(&[
            "prepare",
            input.to_str().unwrap(),
            "-o",
            run_dir.to_str().unwrap(),
            "--order",
            order,
            "--pricing",
            pricing.to_str().unwrap(),
            "--prime-gaps",
            "8,4",
        ]);
    }
    let prefix: Vec<(String, String)> = shard_rows(&prefix_run)
        .into_iter()
        .map(|r| (r.2, family_of(&r.3)))
        .collect();
    // Contiguous families of ten.
    let labels: Vec<&str> = prefix.iter().map(|r| r.1.as_str()).collect();
    for w in labels.chunks(10) {
        assert!(w.iter().all(|l| *l == w[0]), "{labels:?}");
    }
    // Primed: the documented rule applied to the prefix order. Member j of the family starting
    // at s stands before the row at max(s - gap_j, 0); others keep their place.
    let gaps = [8usize, 4];
    let mut keyed: Vec<(usize, u8, usize)> = Vec::new();
    for (i, _) in prefix.iter().enumerate() {
        let start = i / 10 * 10;
        let j = i - start;
        if j < gaps.len() && start >= 1 {
            keyed.push((start.saturating_sub(gaps[j]), 0, i));
        } else {
            keyed.push((i, 1, i));
        }
    }
    keyed.sort();
    let expected: Vec<&String> = keyed.iter().map(|k| &prefix[k.2].0).collect();
    let primed: Vec<String> = shard_rows(&primed_run).into_iter().map(|r| r.2).collect();
    let primed_refs: Vec<&String> = primed.iter().collect();
    assert_eq!(primed_refs, expected);
}

#[test]
fn prepare_is_deterministic_across_threads_and_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let input = generated(dir.path(), 3, "long", "400KB");
    let mut runs = Vec::new();
    for (j, chunk) in [("1", "1000"), ("4", "65536"), ("2", "300")] {
        let run_dir = dir.path().join(format!("run-{j}-{chunk}"));
        run_ok(&[
            "prepare",
            input.to_str().unwrap(),
            "-o",
            run_dir.to_str().unwrap(),
            "-j",
            j,
            "--chunk-bytes",
            chunk,
            "--max-requests",
            "20",
        ]);
        runs.push(files_of(&run_dir));
    }
    assert!(runs[0].len() > 5);
    assert_eq!(runs[0], runs[1]);
    assert_eq!(runs[0], runs[2]);
}

#[test]
fn prepare_sends_the_lines_after_an_array_line_and_refuses_a_json_array_file() {
    let dir = tempfile::tempdir().unwrap();
    let req = |t: &str| {
        format!(r#"{{"request":{{"contents":[{{"role":"user","parts":[{{"text":"{t}"}}]}}]}}}}"#)
    };
    // Before, a first line holding an array of objects made the whole file look like one JSON
    // array: prepare skipped it, wrote an empty run and exited 0, even with --strict.
    let input = dir.path().join("in.jsonl");
    std::fs::write(
        &input,
        format!("[{}]\n{}\n{}\n", req("A"), req("B"), req("C")),
    )
    .unwrap();
    let run_dir = dir.path().join("run");
    run_ok(&[
        "prepare",
        input.to_str().unwrap(),
        "-o",
        run_dir.to_str().unwrap(),
        "--tokens",
        "off",
    ]);
    let texts: Vec<String> = shard_rows(&run_dir)
        .into_iter()
        .map(|(_, _, _, r)| {
            r["contents"][0]["parts"][0]["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(texts.len(), 2);
    assert!(texts.contains(&"B".to_string()) && texts.contains(&"C".to_string()));
    assert_eq!(
        std::fs::read_to_string(run_dir.join("invalid.jsonl")).unwrap(),
        format!(
            "{{\"codes\":[\"E_NOT_OBJECT\"],\"file\":\"{}\",\"line\":1}}\n",
            input.display()
        )
    );
    let strict = dir.path().join("strict");
    let out = run(&[
        "prepare",
        input.to_str().unwrap(),
        "-o",
        strict.to_str().unwrap(),
        "--strict",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!strict.exists());
    // A real JSON array file (pretty-printed or on one line) cannot be sent: refused, exit 1,
    // nothing written, also beside a good file.
    for name in ["reader/array_pretty.jsonl", "reader/array_one_line.jsonl"] {
        let run_dir = dir.path().join(name.replace('/', "-"));
        let path = testdata(name);
        let out = run(&[
            "prepare",
            input.to_str().unwrap(),
            &path,
            "-o",
            run_dir.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&path) && err.contains("one JSON array, not JSON Lines"),
            "{err}"
        );
        assert!(!run_dir.exists(), "{name}");
    }
}

#[test]
fn a_request_larger_than_a_shard_is_refused_not_put_over_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let line = |n: usize| {
        format!(
            r#"{{"request":{{"contents":[{{"role":"user","parts":[{{"text":"{}"}}]}}]}}}}"#,
            "x".repeat(n)
        )
    };
    // Line 2 is 990 bytes: 991 with its newline, 1,013 with the key member.
    std::fs::write(
        &input,
        format!("{}\n{}\n{}\n", line(100), line(925), line(101)),
    )
    .unwrap();
    let run_dir = dir.path().join("run");
    let args = |max: &'static str| {
        vec![
            "prepare",
            input.to_str().unwrap(),
            "-o",
            run_dir.to_str().unwrap(),
            "--max-bytes",
            max,
            "--order",
            "input",
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>()
    };
    let out = bin().args(args("1000")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:2: this request takes 1013 bytes",
            input.display()
        )) && err.contains("--max-bytes 1000"),
        "{err}"
    );
    assert!(!run_dir.exists());
    // At 1,013 it fits alone; every shard is within the limit.
    let out = bin().args(args("1013")).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("manifest.json")).unwrap()).unwrap();
    let sizes: Vec<u64> = manifest["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes.len(), 3, "{sizes:?}");
    assert_eq!(sizes[1], 1013);
    assert!(sizes.iter().all(|&b| b <= 1013), "{sizes:?}");
}

#[test]
fn a_line_with_two_requests_is_not_sent_nor_merged() {
    // Dedup used to key such a line on its first `request`, so `{A, B}` and `{A, C}` became one
    // request and C was never sent (most JSON readers take the last value).
    let dir = tempfile::tempdir().unwrap();
    let req = |t: &str| format!(r#"{{"contents":[{{"role":"user","parts":[{{"text":"{t}"}}]}}]}}"#);
    let input = dir.path().join("in.jsonl");
    std::fs::write(
        &input,
        format!(
            "{{\"request\":{a},\"request\":{b}}}\n{{\"request\":{a},\"request\":{c}}}\n{{\"request\":{a}}}\n",
            a = req("A"),
            b = req("B"),
            c = req("C")
        ),
    )
    .unwrap();
    let run_dir = dir.path().join("run");
    let out = run_ok(&[
        "prepare",
        input.to_str().unwrap(),
        "-o",
        run_dir.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let summary = summary_of(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(summary["counts"]["invalid"], 2);
    assert_eq!(summary["counts"]["unique"], 1);
    assert_eq!(summary["counts"]["duplicates"], 0);
    let invalid = std::fs::read_to_string(run_dir.join("invalid.jsonl")).unwrap();
    assert_eq!(invalid.matches("E_DUPLICATE_FIELD").count(), 2, "{invalid}");
    let rows = shard_rows(&run_dir);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].3["contents"][0]["parts"][0]["text"], "A");
}

#[test]
fn cloud_storage_inputs_are_fetched_not_read_as_local_paths() {
    // `gs://bucket/in.jsonl` read as a local path would be the file `gs:/bucket/in.jsonl`, which
    // exists here and is valid: the commands must go to the storage server instead (here a
    // closed port, so they fail with exit 3 naming the object) and write nothing. Reading real
    // objects: tests/it/remote_inputs.rs.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("gs:/bucket")).unwrap();
    std::fs::copy(
        testdata("prepare/dups.jsonl"),
        dir.path().join("gs:/bucket/in.jsonl"),
    )
    .unwrap();
    for args in [
        vec!["validate", "gs://bucket/in.jsonl"],
        vec!["stats", "gs://bucket/in.jsonl"],
        vec!["prepare", "gs://bucket/in.jsonl", "-o", "run"],
    ] {
        let out = bin()
            .current_dir(dir.path())
            .args(&args)
            .args(["--retries", "0"])
            .env("BATCHLINE_GCS_ENDPOINT", "http://127.0.0.1:9")
            .env("BATCHLINE_ACCESS_TOKEN", "test-token")
            .env("GCE_METADATA_HOST", "127.0.0.1:9")
            .env("GCE_METADATA_ROOT", "127.0.0.1:9")
            .env("GCE_METADATA_IP", "127.0.0.1:9")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(
            err.starts_with("error: gs://bucket/in.jsonl: cannot reach the storage service (network, endpoint or proxy)"),
            "{args:?}: {err}"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "{args:?} wrote something"
        );
    }
}

#[test]
fn prepare_strict_refuses_invalid_lines_and_whole_job_errors_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    // Invalid lines, or whole-job errors: refused before anything is written.
    for (input, says) in [
        (
            "prepare/dups.jsonl",
            "1 invalid line(s) and 0 whole-job error(s)",
        ),
        (
            "job/whole_job.jsonl",
            "whole-job error(s); nothing was written",
        ),
    ] {
        let out = run(&[
            "prepare",
            &testdata(input),
            "-o",
            run_dir.to_str().unwrap(),
            "--strict",
        ]);
        assert_eq!(out.status.code(), Some(1), "{input}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{input}: {err}");
        assert!(!run_dir.exists(), "{input}");
    }
}

#[test]
fn prepare_refuses_an_input_inside_the_run_folder() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    // An input inside the run folder is refused.
    std::fs::create_dir_all(&run_dir).unwrap();
    let inside = run_dir.join("in.jsonl");
    std::fs::copy(testdata("prepare/dups.jsonl"), &inside).unwrap();
    let out = run(&[
        "prepare",
        inside.to_str().unwrap(),
        "-o",
        run_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(inside.exists());
}

#[test]
fn stats_reports_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args(["stats", &testdata("prepare/dups.jsonl"), "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let summary: serde_json::Value = summary_of(&stdout);
    assert_eq!(summary["counts"]["unique"], 4);
    assert_eq!(summary["simulation"].as_array().unwrap().len(), 3);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// `prepare --format json` of `input` into `run_dir` with `extra` arguments: the exit code and
/// every JSON line of the output (findings, then the summary last).
fn prepare_json(
    input: &Path,
    run_dir: &Path,
    extra: &[&str],
) -> (Option<i32>, Vec<serde_json::Value>) {
    let mut args = vec![
        "prepare",
        input.to_str().unwrap(),
        "-o",
        run_dir.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    (out.status.code(), lines)
}

/// Two request lines whose first top-level members are `first` and `second`.
fn two_lines(dir: &Path, name: &str, first: &str, second: &str) -> PathBuf {
    let input = dir.join(name);
    let line = |member: &str, text: &str| {
        format!(
            r#"{{{member},"request":{{"contents":[{{"role":"user","parts":[{{"text":"{text}"}}]}}]}}}}"#
        )
    };
    std::fs::write(&input, line(first, "a") + "\n" + &line(second, "b") + "\n").unwrap();
    input
}

#[test]
fn prepare_reports_job_warnings_once_for_the_input_without_rechecking_shards() {
    let dir = tempfile::tempdir().unwrap();
    let input = two_lines(dir.path(), "null.jsonl", r#""meta":null"#, r#""id":"b""#);
    let (code, lines) = prepare_json(&input, &dir.path().join("run"), &[]);
    assert_eq!(code, Some(0));
    let findings: Vec<&serde_json::Value> =
        lines.iter().filter(|v| v["type"] == "finding").collect();
    assert_eq!(findings.len(), 1, "{lines:?}");
    assert_eq!(findings[0]["code"], "W_JOB_NULL");
    assert_eq!(findings[0]["file"], input.to_str().unwrap());
    assert_eq!(findings[0]["line"], 1);
    assert_eq!(lines.last().unwrap()["shard_job_errors"], 0);
}

#[test]
fn prepare_checks_whole_job_problems_per_shard() {
    let dir = tempfile::tempdir().unwrap();
    let input = two_lines(
        dir.path(),
        "conflict.jsonl",
        r#""meta":{"k":"one"}"#,
        r#""meta":{"k":2}"#,
    );
    // Both lines in one shard: that job would fail; exit 1 and the finding names the shard.
    let one = dir.path().join("one");
    let (code, lines) = prepare_json(&input, &one, &[]);
    assert_eq!(code, Some(1));
    // Named by a path that opens (the run folder joined), not relative to the run.
    let shard_path = one.join("shards/shard-00000.jsonl").display().to_string();
    let shard_finding = lines
        .iter()
        .find(|v| v["file"] == shard_path.as_str())
        .expect("a finding in the shard");
    assert_eq!(shard_finding["code"], "E_JOB_TYPE_CONFLICT");
    assert_eq!(shard_finding["pointer"], "/meta/k");
    assert_eq!(shard_finding["line"], 2);
    assert_eq!(shard_finding["related_line"], 1);
    assert_eq!(lines.last().unwrap()["shard_job_errors"], 1);
    // One request per shard: no shard mixes the two types, so no job fails.
    let (code, lines) = prepare_json(&input, &dir.path().join("split"), &["--max-requests", "1"]);
    assert_eq!(code, Some(0));
    let summary = lines.last().unwrap();
    assert_eq!(summary["shard_job_errors"], 0);
    assert_eq!(summary["shards"].as_array().unwrap().len(), 2);
}

#[test]
fn limits_above_vertex_limits_are_warned_about() {
    let input = testdata("sample/requests.jsonl");
    let out = run(&[
        "stats",
        &input,
        "--tokens",
        "off",
        "--max-requests",
        "300000",
        "--max-bytes",
        "2GB",
    ]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: --max-requests 300,000 is above the 200,000 requests"),
        "{err}"
    );
    assert!(
        err.contains("warning: --max-bytes 2,000,000,000 is above the 1,000,000,000 bytes"),
        "{err}"
    );
    // The defaults are the limits themselves: no warning.
    let out = run(&["stats", &input, "--tokens", "off"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning: --max"));
    // The warnings follow the printer: a JSON line with --format json, nothing with --quiet.
    let over = ["--tokens", "off", "--max-requests", "300000"];
    let out = run(&[&["stats", &input, "--format", "json"][..], &over[..]].concat());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(
        first,
        serde_json::json!({"type": "warning", "message": "--max-requests 300,000 is above the 200,000 requests one batch job takes (model table): Vertex may refuse such shards"})
    );
    let out = run(&[&["stats", &input, "-q"][..], &over[..]].concat());
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn a_key_member_already_in_the_input_is_refused_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(
        &input,
        concat!(
            r#"{"request":{"contents":[{"role":"user","parts":[{"text":"a"}]}]},"note":"batchline_key"}"#,
            "\n",
            r#"{"request":{"contents":[{"role":"user","parts":[{"text":"b"}]}]},"batchline_key":"x"}"#,
            "\n"
        ),
    )
    .unwrap();
    let run_dir = dir.path().join("run");
    let out = run(&[
        "prepare",
        input.to_str().unwrap(),
        "-o",
        run_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:2 already has a top-level member `batchline_key`",
            input.display()
        )),
        "{err}"
    );
    assert!(!run_dir.exists(), "checked before anything is written");
    // A spelling that differs only in case is the same column at import: refused too.
    let upper = dir.path().join("upper.jsonl");
    std::fs::write(
        &upper,
        std::fs::read_to_string(&input)
            .unwrap()
            .replace("\"batchline_key\":\"x\"", "\"Batchline_Key\":\"x\""),
    )
    .unwrap();
    let out = run(&[
        "prepare",
        upper.to_str().unwrap(),
        "-o",
        run_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:2 already has a top-level member `Batchline_Key` (the same column as `batchline_key`", upper.display())),
        "{err}"
    );
    assert!(!run_dir.exists());
    // Another name works.
    run_ok(&[
        "prepare",
        input.to_str().unwrap(),
        "-o",
        run_dir.to_str().unwrap(),
        "--key-field",
        "bl_key",
    ]);
}
