//! `batchline emulator`, the real binary on a free loopback port, driven over HTTP by batchline's
//! own Vertex client and by Google's Python SDK.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use batchline::emulator::rows::answer_text;
use batchline::request::canon::canonical_hash_bytes;
use batchline::vertex::retry::BackoffConfig;
use batchline::vertex::wire::{
    create_body, BatchPredictionJob, CreateSpec, Destination, JobState, Source,
};
use batchline::vertex::{AuthConfig, ClientOptions, RetryConfig, VertexClient, VertexError};
use serde_json::Value;

use crate::common::{crate_root, testdata, TestContext};

/// A running emulator whose storage root is a temporary folder; killed when dropped.
struct Emulator {
    child: Child,
    url: String,
    ctx: TestContext,
}

impl Emulator {
    fn start(flags: &[&str]) -> Emulator {
        let ctx = TestContext::new();
        let root = ctx.dir().join("gcs");
        std::fs::create_dir_all(root.join("bkt")).unwrap();
        let mut child = crate::common::batchline()
            .args(["emulator", "--port", "0", "--storage-root"])
            .arg(&root)
            .args(flags)
            .env("GCE_METADATA_HOST", "127.0.0.1:9")
            .env("GCE_METADATA_ROOT", "127.0.0.1:9")
            .env("GCE_METADATA_IP", "127.0.0.1:9")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start batchline emulator");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first.trim().to_string();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "first line: {first:?}"
        );
        Emulator { child, url, ctx }
    }

    fn root(&self) -> PathBuf {
        self.ctx.dir().join("gcs")
    }

    /// Writes `text` as gs://bkt/`key`; returns the URI.
    fn put(&self, key: &str, text: &str) -> String {
        let path = self.root().join("bkt").join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        format!("gs://bkt/{key}")
    }

    /// The local folder of a gs:// URI.
    fn local(&self, uri: &str) -> PathBuf {
        self.root().join(uri.strip_prefix("gs://").unwrap())
    }

    fn client(&self, retries: usize) -> VertexClient {
        let mut o = ClientOptions::new("p", "us-central1");
        o.endpoint = Some(self.url.clone());
        o.auth = AuthConfig::Token("test".into());
        o.retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(5),
                max_backoff: Duration::from_millis(20),
            },
            max_retries: retries,
            retry_timeout: Duration::from_secs(20),
        };
        VertexClient::new(&o).unwrap()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// `n` requests, line `i` with top-level `id: i` and a question naming `i`.
fn input(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                r#"{{"request": {{"generationConfig": {{"temperature": 0.2}}, "contents": [{{"role": "user", "parts": [{{"text": "question number {i}"}}]}}]}}, "id": {i}}}"#
            ) + "\n"
        })
        .collect()
}

pub(crate) fn body(
    src: &str,
    dest: &str,
    name: &str,
    labels: &[(&str, &str)],
) -> BatchPredictionJob {
    create_body(&CreateSpec {
        display_name: name.into(),
        model: "gemini-2.5-flash".into(),
        source: Source::parse(src).unwrap(),
        destination: Some(Destination::parse(dest).unwrap()),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    })
    .unwrap()
}

pub(crate) async fn wait_terminal(c: &VertexClient, name: &str) -> BatchPredictionJob {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = c.get(name).await.unwrap();
        if job.state().is_terminal() {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "job still {} after 60 s",
            job.state()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn rows_in(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The incremental files of an output folder, sorted by name.
fn incremental(folder: &Path) -> Vec<PathBuf> {
    let dir = folder.join("incremental_predictions");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn ids(rows: &[Value]) -> Vec<u64> {
    rows.iter().map(|r| r["id"].as_u64().unwrap()).collect()
}

#[test]
fn emulator_job_succeeds_with_every_row_once_shuffled_and_answered() {
    let emu = Emulator::start(&["--export-rows", "20", "--rows-per-second", "400"]);
    let src = emu.put("in/shard-0.jsonl", &input(50));
    block_on(async {
        let c = emu.client(3);
        let created = c
            .create(&body(&src, "gs://bkt/out", "job-a", &[]))
            .await
            .unwrap();
        assert_eq!(created.state(), JobState::Pending);
        assert!(created.completion_stats.is_none());
        let name = created.name.clone().unwrap();
        let id = created.id().unwrap().to_string();
        assert!(
            id.len() == 19 && id.bytes().all(|b| b.is_ascii_digit()),
            "{id}"
        );
        let job = wait_terminal(&c, &name).await;
        assert_eq!(job.state(), JobState::Succeeded, "{job:?}");
        assert!(job.error.is_none());
        let stats = serde_json::to_value(job.completion_stats.as_ref().unwrap()).unwrap();
        assert_eq!(stats, serde_json::json!({"successfulCount": "50"}));
        for t in [
            &job.create_time,
            &job.start_time,
            &job.end_time,
            &job.update_time,
        ] {
            assert!(
                t.as_deref()
                    .is_some_and(|t| t.ends_with('Z') && t.len() == 27),
                "{t:?}"
            );
        }
        let dir = job.output_info.unwrap().gcs_output_directory.unwrap();
        let stamp = dir.strip_prefix("gs://bkt/out/prediction-model-").unwrap();
        // 2026-12-04T16:15:00.123456Z
        assert_eq!(stamp.len(), 27, "{stamp}");
        assert_eq!(
            (&stamp[10..11], &stamp[13..14], &stamp[19..20], &stamp[26..]),
            ("T", ":", ".", "Z")
        );
        let folder = emu.local(&dir);
        // Incremental files of 20, 20 and 10 rows; together every row once.
        let pieces = incremental(&folder);
        let names: Vec<String> = pieces
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into())
            .collect();
        assert_eq!(
            names,
            [
                "predictions_00001.jsonl",
                "predictions_00002.jsonl",
                "predictions_00003.jsonl"
            ]
        );
        let piece_rows: Vec<Vec<Value>> = pieces.iter().map(|p| rows_in(p)).collect();
        assert_eq!(
            piece_rows.iter().map(Vec::len).collect::<Vec<_>>(),
            [20, 20, 10]
        );
        let mut from_pieces: Vec<u64> = piece_rows.iter().flat_map(|r| ids(r)).collect();
        from_pieces.sort();
        assert_eq!(from_pieces, (0..50).collect::<Vec<_>>());
        // predictions.jsonl: every row once, not in input order.
        let rows = rows_in(&folder.join("predictions.jsonl"));
        let order = ids(&rows);
        assert_ne!(order, (0..50).collect::<Vec<_>>());
        let unique: BTreeSet<u64> = order.iter().copied().collect();
        assert_eq!(unique, (0..50).collect());
        for row in &rows {
            let keys: Vec<&str> = row
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(
                keys,
                ["id", "processed_time", "request", "response", "status"]
            );
            assert_eq!(row["status"], "");
            let t = row["processed_time"].as_str().unwrap();
            assert!(t.ends_with("+00:00") && t.len() == 32, "{t}");
            let id = row["id"].as_u64().unwrap();
            assert_eq!(
                row["request"]["contents"][0]["parts"][0]["text"],
                format!("question number {id}")
            );
            let hash = canonical_hash_bytes(&serde_json::to_vec(&row["request"]).unwrap()).unwrap();
            assert_eq!(
                row["response"]["candidates"][0]["content"]["parts"][0]["text"],
                answer_text(hash)
            );
            assert_eq!(row["response"]["modelVersion"], "gemini-2.5-flash");
        }
        // The raw text: members in the current order, the echoed request's keys sorted.
        let text = std::fs::read_to_string(folder.join("predictions.jsonl")).unwrap();
        let first = text.lines().next().unwrap();
        assert!(
            first.starts_with(r#"{"request":{"contents":[{"parts":[{"text":"question number "#),
            "{first}"
        );
        assert!(
            first.contains(r#""generationConfig":{"temperature":0.2}},"status":"","response":{"#),
            "{first}"
        );
        // The same job through the v1beta1 path.
        let mut o = ClientOptions::new("p", "us-central1");
        o.endpoint = Some(emu.url.clone());
        o.api_version = "v1beta1".into();
        o.auth = AuthConfig::None;
        let beta = VertexClient::new(&o).unwrap().get(&id).await.unwrap();
        assert_eq!(beta.state(), JobState::Succeeded);
        assert_eq!(beta.name.as_deref(), Some(name.as_str()));
    });
}

#[test]
fn emulator_fails_the_import_of_a_whole_job_killer_with_code_3() {
    let emu = Emulator::start(&[]);
    let killer = std::fs::read_to_string(testdata("invalid/E_JOB_TYPE_CONFLICT.jsonl")).unwrap();
    let src = emu.put("in/killer.jsonl", &killer);
    block_on(async {
        let c = emu.client(0);
        let job = c
            .create(&body(&src, "gs://bkt/out", "killer", &[]))
            .await
            .unwrap();
        let job = wait_terminal(&c, job.name.as_deref().unwrap()).await;
        assert_eq!(job.state(), JobState::Failed);
        let error = job.error.unwrap();
        assert_eq!(error.code, 3);
        assert!(
            error.message.starts_with("Failed to import data."),
            "{}",
            error.message
        );
        assert!(
            error.message.contains("E_JOB_TYPE_CONFLICT"),
            "{}",
            error.message
        );
        assert!(job.completion_stats.is_none());
        // The folder is reported even on a failed job, and no row was written.
        let dir = job.output_info.unwrap().gcs_output_directory.unwrap();
        assert!(!emu.local(&dir).join("predictions.jsonl").exists());
        assert!(incremental(&emu.local(&dir)).is_empty());
    });
}

#[test]
fn emulator_injected_row_failures_match_the_counts() {
    let emu = Emulator::start(&[
        "--fail-internal",
        "0.2",
        "--fail-invalid-argument",
        "0.1",
        "--block-safety",
        "0.1",
        "--row-layout",
        "2025",
    ]);
    let src = emu.put("in/x.jsonl", &input(300));
    block_on(async {
        let c = emu.client(0);
        let job = c
            .create(&body(&src, "gs://bkt/out", "failures", &[]))
            .await
            .unwrap();
        let job = wait_terminal(&c, job.name.as_deref().unwrap()).await;
        // A job with failed rows still succeeds.
        assert_eq!(job.state(), JobState::Succeeded);
        let stats = job.completion_stats.unwrap();
        let folder = emu.local(&job.output_info.unwrap().gcs_output_directory.unwrap());
        let rows = rows_in(&folder.join("predictions.jsonl"));
        let text = std::fs::read_to_string(folder.join("predictions.jsonl")).unwrap();
        assert!(
            text.lines().all(|l| l.starts_with(r#"{"status":"#)),
            "2025 layout"
        );
        let status = |prefix: &str| {
            rows.iter()
                .filter(|r| r["status"].as_str().unwrap().starts_with(prefix))
                .count() as i64
        };
        let internal = status("Internal Server Error: {\"error\": {\"code\": 500, \"message\": \"Internal error encountered.\", \"status\": \"INTERNAL\"}}");
        let invalid = status("Bad Request: {\"error\": {\"code\": 400, \"message\": \"Request contains an invalid argument.\", \"status\": \"INVALID_ARGUMENT\"}}");
        let blocked = rows
            .iter()
            .filter(|r| r["response"]["promptFeedback"]["blockReason"] == "SAFETY")
            .count() as i64;
        assert_eq!(stats.failed(), Some(internal + invalid));
        assert_eq!(stats.successful(), Some(300 - internal - invalid));
        assert!(
            internal > 30 && invalid > 10 && blocked > 10,
            "{internal} {invalid} {blocked}"
        );
        for r in rows.iter().filter(|r| r["status"] != "") {
            assert_eq!(r["response"], serde_json::json!({}));
        }
    });
}

#[test]
fn emulator_cancel_stops_a_running_job_and_delete_removes_it() {
    let emu = Emulator::start(&["--rows-per-second", "40", "--export-rows", "4"]);
    let src = emu.put("in/slow.jsonl", &input(200));
    block_on(async {
        let c = emu.client(0);
        let name = c
            .create(&body(&src, "gs://bkt/out", "slow", &[]))
            .await
            .unwrap()
            .name
            .unwrap();
        // Wait for the first export, then cancel.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let job = c.get(&name).await.unwrap();
            if job.completion_stats.is_some() {
                assert_eq!(job.state(), JobState::Running);
                break;
            }
            assert!(Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // A running job cannot be deleted.
        let err = c.delete(&name).await.unwrap_err();
        assert_eq!(err.http_status(), Some(400));
        assert!(err.to_string().contains("FAILED_PRECONDITION"), "{err}");
        c.cancel(&name).await.unwrap();
        let job = wait_terminal(&c, &name).await;
        assert_eq!(job.state(), JobState::Cancelled);
        assert_eq!(
            job.error.as_ref().map(|e| (e.code, e.message.as_str())),
            Some((1, "CANCELED"))
        );
        assert!(job.completion_stats.is_none());
        let folder = emu.local(&job.output_info.unwrap().gcs_output_directory.unwrap());
        assert!(!folder.join("predictions.jsonl").exists());
        let exported: usize = incremental(&folder).iter().map(|p| rows_in(p).len()).sum();
        assert!(exported > 0 && exported < 200, "{exported}");
        // Cancelling a finished job is refused; deleting it works, and then it is gone.
        let err = c.cancel(&name).await.unwrap_err();
        assert!(err.to_string().contains("400 FAILED_PRECONDITION"), "{err}");
        let op = c.delete(&name).await.unwrap();
        assert!(op.done);
        let id = name.rsplit('/').next().unwrap();
        assert_eq!(
            op.name,
            format!("projects/p/locations/us-central1/operations/{id}")
        );
        let err = c.get(&name).await.unwrap_err();
        assert_eq!(err.http_status(), Some(404));
        assert!(err.to_string().contains("NOT_FOUND"), "{err}");
    });
}

#[test]
fn emulator_ends_jobs_expired_or_failed_on_demand() {
    let emu = Emulator::start(&["--pending-for", "300ms", "--export-rows", "5"]);
    let src = emu.put("in/x.jsonl", &input(20));
    block_on(async {
        let c = emu.client(0);
        let expired = c
            .create(&body(
                &src,
                "gs://bkt/out/e",
                "expired",
                &[("emulator_end_state", "expired")],
            ))
            .await
            .unwrap();
        let failed = c
            .create(&body(
                &src,
                "gs://bkt/out/f",
                "failed",
                &[("emulator_end_state", "failed")],
            ))
            .await
            .unwrap();
        // Held in the queue first.
        assert_eq!(
            c.get(expired.name.as_deref().unwrap())
                .await
                .unwrap()
                .state(),
            JobState::Pending
        );
        let e = wait_terminal(&c, expired.name.as_deref().unwrap()).await;
        assert_eq!(e.state(), JobState::Expired);
        assert!(e.error.is_none() && e.output_info.is_none() && e.start_time.is_none());
        let f = wait_terminal(&c, failed.name.as_deref().unwrap()).await;
        assert_eq!(f.state(), JobState::Failed);
        assert_eq!(f.error.as_ref().unwrap().code, 13);
        // Half of the rows were exported before it failed.
        let stats = serde_json::to_value(f.completion_stats.unwrap()).unwrap();
        assert_eq!(
            stats,
            serde_json::json!({"successfulCount": "10", "incompleteCount": "10"})
        );
        let folder = emu.local(&f.output_info.unwrap().gcs_output_directory.unwrap());
        assert_eq!(incremental(&folder).len(), 2);
        assert!(!folder.join("predictions.jsonl").exists());
    });
}

#[test]
fn emulator_429_on_create_is_retried_by_the_client() {
    let emu = Emulator::start(&["--reject-creates", "2"]);
    let src = emu.put("in/x.jsonl", &input(3));
    block_on(async {
        // Without retries the 429 comes back with Google's status and message.
        let err = emu
            .client(0)
            .create(&body(&src, "gs://bkt/out", "a", &[]))
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), Some(429));
        assert!(
            err.to_string()
                .contains("429 RESOURCE_EXHAUSTED: Quota exceeded"),
            "{err}"
        );
        // With retries the second 429 is absorbed and the job is created once.
        let c = emu.client(3);
        let job = c
            .create(&body(&src, "gs://bkt/out", "a", &[]))
            .await
            .unwrap();
        assert_eq!(
            wait_terminal(&c, job.name.as_deref().unwrap())
                .await
                .state(),
            JobState::Succeeded
        );
        assert_eq!(c.list_all(None).await.unwrap().len(), 1);
    });
}

#[test]
fn emulator_lists_by_label_newest_first_in_pages_and_refuses_an_unsupported_filter() {
    let emu = Emulator::start(&["--pending-for", "30s"]);
    let src = emu.put("in/x.jsonl", &input(2));
    block_on(async {
        let c = emu.client(0);
        let mut names = Vec::new();
        for (i, run) in ["r1", "r2", "r1"].iter().enumerate() {
            let job = c
                .create(&body(
                    &src,
                    "gs://bkt/out",
                    &format!("job-{i}"),
                    &[("batchline_run", run)],
                ))
                .await
                .unwrap();
            names.push(job.name.unwrap());
        }
        let r1: Vec<String> = c
            .list_all(Some("labels.batchline_run=\"r1\""))
            .await
            .unwrap()
            .into_iter()
            .map(|j| j.name.unwrap())
            .collect();
        // Newest first.
        assert_eq!(r1, [names[2].clone(), names[0].clone()]);
        let page = c.list(None, Some(2), None).await.unwrap();
        assert_eq!(page.batch_prediction_jobs.len(), 2);
        let next = c
            .list(None, Some(2), page.next_page_token.as_deref())
            .await
            .unwrap();
        assert_eq!(next.batch_prediction_jobs.len(), 1);
        assert!(next.next_page_token.is_none());
        let by_name = c
            .list_all(Some("display_name=\"job-1\" AND state=JOB_STATE_PENDING"))
            .await
            .unwrap();
        assert_eq!(by_name.len(), 1);
        let err = c
            .list(Some("create_time>\"2020\""), None, None)
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), Some(400));
    });
}

#[test]
fn emulator_gives_404_for_a_job_asked_for_under_another_project() {
    let emu = Emulator::start(&["--pending-for", "30s"]);
    let src = emu.put("in/x.jsonl", &input(2));
    block_on(async {
        let c = emu.client(0);
        let job = c
            .create(&body(&src, "gs://bkt/out", "job-0", &[]))
            .await
            .unwrap();
        let name = job.name.unwrap();
        // A job in another project or location does not exist here.
        let mut o = ClientOptions::new("other", "us-central1");
        o.endpoint = Some(emu.url.clone());
        o.auth = AuthConfig::None;
        let other = VertexClient::new(&o).unwrap();
        let id = name.rsplit('/').next().unwrap();
        assert_eq!(other.get(id).await.unwrap_err().http_status(), Some(404));
    });
}

#[test]
fn emulator_refuses_create_bodies_the_service_would_refuse() {
    let emu = Emulator::start(&["--pending-for", "30s"]);
    let src = emu.put("in/x.jsonl", &input(2));
    block_on(async {
        let c = emu.client(0);
        // Create bodies the service would refuse.
        let mut no_name = body(&src, "gs://bkt/out", "x", &[]);
        no_name.display_name = None;
        let err = c.create(&no_name).await.unwrap_err();
        assert!(
            matches!(&err, VertexError::Api { http: 400, status, .. } if status == "INVALID_ARGUMENT"),
            "{err}"
        );
        let mut no_output = body(&src, "gs://bkt/out", "x", &[]);
        no_output.output_config = None;
        assert_eq!(
            c.create(&no_output).await.unwrap_err().http_status(),
            Some(400)
        );
    });
}

/// Google's own SDK: create, get until done, get on v1beta1, cancel, list, delete.
#[test]
fn emulator_serves_googles_python_sdk() {
    let python = crate_root().join("target/sdk-venv/bin/python");
    if !python.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{} is missing: .ci/run creates it with tests/vertex/sdk_venv.sh",
            python.display()
        );
        eprintln!(
            "skipped: no {} (run tests/vertex/sdk_venv.sh)",
            python.display()
        );
        return;
    }
    let emu = Emulator::start(&[
        "--pending-for",
        "100ms",
        "--rows-per-second",
        "200",
        "--export-rows",
        "10",
    ]);
    let src = emu.put("in/sdk.jsonl", &input(20));
    let out = Command::new(&python)
        .arg(crate_root().join("tests/vertex/sdk_roundtrip.py"))
        .args([&emu.url, &src, "gs://bkt/sdk-out", "gs://bkt/sdk-cancel"])
        .env("GCE_METADATA_HOST", "127.0.0.1:9")
        .env("GCE_METADATA_ROOT", "127.0.0.1:9")
        .env("GCE_METADATA_IP", "127.0.0.1:9")
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .env_remove("GOOGLE_API_KEY")
        .env_remove("GEMINI_API_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "SDK script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let step = |name: &str| {
        steps
            .iter()
            .find(|s| s["step"] == name)
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
    };
    let created = step("create");
    let name = created["name"].as_str().unwrap();
    assert!(
        name.starts_with("projects/p/locations/us-central1/batchPredictionJobs/"),
        "{name}"
    );
    assert_eq!(created["state"], "JOB_STATE_PENDING");
    assert_eq!(
        created["model"],
        "publishers/google/models/gemini-2.5-flash"
    );
    assert_eq!(created["display_name"], "sdk-job");
    let got = step("get");
    assert_eq!(got["state"], "JOB_STATE_SUCCEEDED");
    assert_eq!(got["dest"], "gs://bkt/sdk-out");
    assert_eq!(got["successful"], 20);
    assert_eq!(step("get_v1beta1")["name"], name);
    let cancelled = step("cancel");
    assert_eq!(cancelled["state"], "JOB_STATE_CANCELLED");
    assert_eq!(cancelled["code"], 1);
    let listed: Vec<&str> = step("list")["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut want = vec![name, cancelled["name"].as_str().unwrap()];
    want.sort();
    assert_eq!(listed, want, "list over pages of one");
    assert_eq!(step("delete")["done"], true);
    assert_eq!(
        step("list_after_delete")["names"],
        serde_json::json!([cancelled["name"]])
    );
    // The job the SDK created wrote its rows where it said.
    let folders: Vec<PathBuf> = std::fs::read_dir(emu.local("gs://bkt/sdk-out"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(folders.len(), 1);
    assert!(folders[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("prediction-model-"));
    let rows = rows_in(&folders[0].join("predictions.jsonl"));
    let mut got_ids = ids(&rows);
    got_ids.sort();
    assert_eq!(got_ids, (0..20).collect::<Vec<_>>());
}
