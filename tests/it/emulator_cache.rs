//! The emulator's cache model against `prepare`'s prediction: the real `batchline emulator` run
//! with the simulation's W and TTL, driven by batchline's Vertex client. Helpers are
//! `emulator.rs`'s.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use batchline::vertex::wire::JobState;
use batchline::vertex::{AuthConfig, ClientOptions, VertexClient};
use serde_json::Value;

use crate::common::TestContext;
use crate::emulator::{block_on, body, rows_in, wait_terminal};

/// The emulator's cache model is the one `prepare` predicts with: a shard run through the
/// emulator with the same W, TTL and minimum measures exactly the cached tokens that
/// `prepare`'s report predicts for the primed order.
#[test]
fn emulator_measures_the_cached_tokens_prepare_predicts() {
    // Both processes without the vocabulary (an empty cache folder): sizes by bytes, the same
    // rule in both.
    let emu_ctx = TestContext::new();
    let cache = emu_ctx.dir().join("empty-cache");
    std::fs::create_dir_all(&cache).unwrap();
    // 4 families × 30 questions sharing a ~15 KB document (≈ 2,500 tokens at 6 bytes per token),
    // in input order family by family.
    let mut text = String::new();
    for f in 0..4 {
        let doc = format!("document {f}: ")
            + &format!("the {f} quick brown fox jumps over the lazy dog. ").repeat(320);
        for q in 0..30 {
            text += &format!(
                r#"{{"request": {{"contents": [{{"role": "user", "parts": [{{"text": "{doc}"}}, {{"text": "question {q} about document {f}"}}]}}]}}}}"#
            );
            text.push('\n');
        }
    }
    let prep = TestContext::new();
    let input = prep.write("in.jsonl", &text);
    let out = prep
        .command()
        .env("BATCHLINE_CACHE_DIR", &cache)
        .args([
            "prepare",
            &input,
            "-o",
            "run",
            "--sim-workers",
            "16",
            "--sim-ttl",
            "2",
            "-q",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(prep.dir().join("run/report.json")).unwrap())
            .unwrap();
    assert_eq!(report["shards"].as_array().unwrap().len(), 1);
    let predicted = report["simulation"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["order"] == "primed")
        .unwrap()["cached_tokens"]
        .as_u64()
        .unwrap();
    assert!(predicted > 0, "{report}");

    let root = emu_ctx.dir().join("gcs");
    std::fs::create_dir_all(root.join("bkt")).unwrap();
    std::fs::copy(
        prep.dir().join("run/shards/shard-00000.jsonl"),
        root.join("bkt/shard.jsonl"),
    )
    .unwrap();
    let mut child = crate::common::batchline()
        .args([
            "emulator",
            "--port",
            "0",
            "--cache-workers",
            "16",
            "--cache-ttl",
            "2",
            "--storage-root",
        ])
        .arg(&root)
        .env("BATCHLINE_CACHE_DIR", &cache)
        .env("GCE_METADATA_HOST", "127.0.0.1:9")
        .env("GCE_METADATA_ROOT", "127.0.0.1:9")
        .env("GCE_METADATA_IP", "127.0.0.1:9")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let mut o = ClientOptions::new("p", "us-central1");
    o.endpoint = Some(url.trim().to_string());
    o.auth = AuthConfig::None;
    let c = VertexClient::new(&o).unwrap();
    let job = block_on(async {
        let job = c
            .create(&body("gs://bkt/shard.jsonl", "gs://bkt/out", "agree", &[]))
            .await
            .unwrap();
        wait_terminal(&c, job.name.as_deref().unwrap()).await
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(job.state(), JobState::Succeeded);
    let dir = job.output_info.unwrap().gcs_output_directory.unwrap();
    let rows = rows_in(
        &root
            .join(dir.strip_prefix("gs://").unwrap())
            .join("predictions.jsonl"),
    );
    assert_eq!(rows.len(), 120);
    let measured: u64 = rows
        .iter()
        .map(|r| {
            r["response"]["usageMetadata"]
                .get("cachedContentTokenCount")
                .map_or(0, |v| v.as_u64().unwrap())
        })
        .sum();
    assert_eq!(measured, predicted);
    // prepare's key member came back beside the four.
    assert!(rows.iter().all(|r| r.get("batchline_key").is_some()));
}
