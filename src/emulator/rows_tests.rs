//! The emulator's rows: outcomes, echo, extras, the cache model's figures, import failures.

use super::*;
use crate::request::canon::canonical_hash_bytes;

fn opts(models: &ModelTable) -> ImportOptions<'_> {
    ImportOptions {
        model: "publishers/google/models/gemini-2.5-flash",
        models,
        rates: FailureRates::default(),
        cache: CacheConfig::default(),
        seed: 3,
        counter: None,
    }
}

fn line(i: usize, text: &str) -> String {
    format!(
        r#"{{"id": {i}, "request": {{"contents": [{{"role": "user", "parts": [{{"text": "{text}"}}]}}], "generationConfig": {{"temperature": 0.5}}}}, "tag": "t{i}"}}"#
    )
}

fn rows_of(out: &[u8]) -> Vec<serde_json::Value> {
    out.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

#[test]
fn every_row_echoes_its_request_sorted_with_its_own_answer_and_extras() {
    let models = ModelTable::builtin();
    let input: String = (0..10)
        .map(|i| line(i, &format!("question {i}")) + "\n")
        .collect();
    let job = import("in", input.as_bytes(), &opts(&models)).unwrap();
    assert_eq!(job.rows.len(), 10);
    let out = job.write(
        0..10,
        RowLayout::Current,
        "2026-12-04T16:00:00.000001+00:00",
    );
    let text = String::from_utf8(out.clone()).unwrap();
    let mut ids = Vec::new();
    for (row, raw) in rows_of(&out).iter().zip(text.lines()) {
        // Member order of the current layout, extras after the four.
        assert!(
            raw.starts_with(r#"{"request":{"contents":[{"parts":[{"text":"#),
            "{raw}"
        );
        assert!(
            raw.contains(r#"},"status":"","response":{"candidates""#),
            "{raw}"
        );
        let keys: Vec<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 6);
        let id = row["id"].as_u64().unwrap();
        assert_eq!(row["tag"], format!("t{id}"));
        // Keys sorted at every depth: contents before generationConfig, parts before role.
        assert!(raw.contains(r#""request":{"contents":[{"parts":[{"text":"question "#));
        let echoed = serde_json::to_vec(&row["request"]).unwrap();
        let hash = canonical_hash_bytes(&echoed).unwrap();
        assert_eq!(
            row["response"]["candidates"][0]["content"]["parts"][0]["text"],
            answer_text(hash)
        );
        let usage = &row["response"]["usageMetadata"];
        let p = usage["promptTokenCount"].as_u64().unwrap();
        let c = usage["candidatesTokenCount"].as_u64().unwrap();
        assert_eq!(usage["totalTokenCount"].as_u64().unwrap(), p + c);
        assert!(
            usage.get("cachedContentTokenCount").is_none(),
            "short prompts never hit"
        );
        assert_eq!(row["processed_time"], "2026-12-04T16:00:00.000001+00:00");
        ids.push(id);
    }
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, (0..10).collect::<Vec<_>>());
    assert_ne!(ids, sorted, "rows come back in input order");
}

#[test]
fn the_2025_layout_puts_status_and_time_first() {
    let models = ModelTable::builtin();
    let job = import("in", (line(0, "a") + "\n").as_bytes(), &opts(&models)).unwrap();
    let out = String::from_utf8(job.write(0..1, RowLayout::Y2025, "T")).unwrap();
    assert!(
        out.starts_with(r#"{"status":"","processed_time":"T","request":{"#),
        "{out}"
    );
    assert!(out.contains(r#"},"response":{"candidates""#), "{out}");
}

#[test]
fn injected_failures_follow_the_rates_and_vertex_status_strings() {
    let models = ModelTable::builtin();
    let input: String = (0..2000)
        .map(|i| line(i, &format!("q{i}")) + "\n")
        .collect();
    let mut o = opts(&models);
    o.rates = FailureRates {
        internal: 0.1,
        invalid_argument: 0.2,
        safety: 0.05,
    };
    let job = import("in", input.as_bytes(), &o).unwrap();
    let count = |k: Outcome| job.rows.iter().filter(|r| r.outcome == k).count();
    // Binomial draws around 200, 400 and 100 of 2000.
    assert!(
        (150..250).contains(&count(Outcome::Internal)),
        "{}",
        count(Outcome::Internal)
    );
    assert!((340..460).contains(&count(Outcome::InvalidArgument)));
    assert!((65..135).contains(&count(Outcome::Blocked)));
    let out = job.write(0..job.rows.len(), RowLayout::Current, "T");
    let rows = rows_of(&out);
    let by = |prefix: &str| {
        rows.iter()
            .filter(|r| r["status"].as_str().unwrap().starts_with(prefix))
            .count()
    };
    assert_eq!(
        by("Internal Server Error: {\"error\": {\"code\": 500,"),
        count(Outcome::Internal)
    );
    assert_eq!(
        by("Bad Request: {\"error\": {\"code\": 400,"),
        count(Outcome::InvalidArgument)
    );
    for r in &rows {
        if r["status"] != "" {
            assert_eq!(r["response"], serde_json::json!({}));
        }
    }
    let blocked: Vec<_> = rows
        .iter()
        .filter(|r| r["response"].get("promptFeedback").is_some())
        .collect();
    assert_eq!(blocked.len(), count(Outcome::Blocked));
    assert!(blocked.iter().all(|r| r["status"] == ""
        && r["response"]["promptFeedback"]["blockReason"] == "SAFETY"
        && r["response"].get("candidates").is_none()));
    // Same seed, same outcomes.
    let again = import("in", input.as_bytes(), &o).unwrap();
    assert_eq!(
        job.rows
            .iter()
            .map(|r| (r.line, r.outcome))
            .collect::<Vec<_>>(),
        again
            .rows
            .iter()
            .map(|r| (r.line, r.outcome))
            .collect::<Vec<_>>()
    );
}

#[test]
fn cached_tokens_are_the_cache_models_per_row_figures() {
    // 3 families of 40 rows sharing a ~3,000-token prefix (by bytes: 18 KB / 6 bytes per
    // token), W = 8, TTL 2: the emulated cachedContentTokenCount must sum to simulate's figure.
    let models = ModelTable::builtin();
    let mut input = String::new();
    for f in 0..3 {
        let shared = format!("family {f} ") + &"lorem ipsum dolor sit amet ".repeat(700);
        for q in 0..40 {
            input += &line(f * 100 + q, &format!("{shared} question {q}"));
            input.push('\n');
        }
    }
    let mut o = opts(&models);
    o.cache = CacheConfig {
        workers: 8,
        ttl_rounds: Some(2),
        min_cache_tokens: Some(2048),
    };
    let job = import("in", input.as_bytes(), &o).unwrap();
    let total: u64 = job.rows.iter().map(|r| r.cached_tokens).sum();
    assert!(total > 0);
    assert_eq!(total, job.cache.cached_tokens);
    // Per-row figures against the report (plan/cache_tests.rs pins them against `simulate`).
    let hits = job.rows.iter().filter(|r| r.cached_tokens > 0).count() as u64;
    assert_eq!(hits, job.cache.rows_with_hits);
    // The first round of each family misses: with W = 8 and file order, rows 0..8 run together.
    let first_round_hits = job
        .rows
        .iter()
        .filter(|r| r.line < 8 && r.cached_tokens > 0)
        .count();
    assert_eq!(first_round_hits, 0);
    let out = job.write(0..job.rows.len(), RowLayout::Current, "T");
    let written: u64 = rows_of(&out)
        .iter()
        .map(|r| {
            r["response"]["usageMetadata"]
                .get("cachedContentTokenCount")
                .map_or(0, |v| v.as_u64().unwrap())
        })
        .sum();
    assert_eq!(written, total);
}

#[test]
fn a_whole_job_killer_fails_the_import_with_vertex_message() {
    let models = ModelTable::builtin();
    let killer = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/invalid/E_JOB_EMPTY_OBJECT.jsonl"
    ))
    .unwrap();
    let err = import("in", killer.as_bytes(), &opts(&models)).unwrap_err();
    assert!(
        err.message.starts_with("Failed to import data."),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("E_JOB_EMPTY_OBJECT"),
        "{}",
        err.message
    );
    let err = import("in", b"not json\n", &opts(&models)).unwrap_err();
    assert!(
        err.message.contains("Line 1 is not a JSON object"),
        "{}",
        err.message
    );
    assert!(import("in", b"\n\n", &opts(&models)).is_err());
}

#[test]
fn a_row_error_becomes_a_bad_request_row() {
    let models = ModelTable::builtin();
    let bad = r#"{"request": {"contents": [{"role": "assistant", "parts": [{"text": "hi"}]}]}}"#;
    let input = format!("{}\n{bad}\n", line(0, "ok"));
    let job = import("in", input.as_bytes(), &opts(&models)).unwrap();
    let rows = rows_of(&job.write(0..2, RowLayout::Current, "T"));
    let failed: Vec<_> = rows.iter().filter(|r| r["status"] != "").collect();
    assert_eq!(failed.len(), 1);
    let status = failed[0]["status"].as_str().unwrap();
    assert!(
        status.starts_with("Bad Request: {\"error\": {\"code\": 400, \"message\": "),
        "{status}"
    );
    assert!(
        status.ends_with(", \"status\": \"INVALID_ARGUMENT\"}}"),
        "{status}"
    );
    assert_eq!(failed[0]["request"]["contents"][0]["role"], "assistant");
}
