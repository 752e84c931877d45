//! `submit`, `status` and `cancel` end to end: a run prepared into moto (the storage emulator,
//! GCS XML API on 127.0.0.1) and handed to `batchline emulator`, which reads the shards from the
//! same moto (`--gcs-endpoint`).

use std::time::{Duration, Instant};

use batchline::vertex::wire::BatchPredictionJob;
use batchline::vertex::{AuthConfig, ClientOptions, VertexClient};
use serde_json::{json, Value};

use crate::common::jobs::{json_lines, wait, Setup, STEMS};
use crate::common::TestContext;

/// The create body `submit` documents (docs/vertex.md) for shard `stem` of gs://runs/r1.
fn expected_body(stem: &str, run_id: &str) -> Value {
    json!({
        "displayName": format!("batchline r1 {stem}"),
        "model": "publishers/google/models/gemini-2.5-flash",
        "inputConfig": {"instancesFormat": "jsonl", "gcsSource": {"uris": [format!("gs://runs/r1/shards/{stem}.jsonl")]}},
        "outputConfig": {"predictionsFormat": "jsonl", "gcsDestination": {"outputUriPrefix": format!("gs://runs/r1/output/{stem}/")}},
        "labels": {"batchline_run": run_id, "batchline_shard": stem},
    })
}

#[test]
fn submit_creates_one_job_per_shard_records_them_and_a_rerun_creates_none() {
    let Some(s) = Setup::start(&["--pending-for", "60s"]) else {
        return;
    };
    let run = s.prepare();
    let out = s.submit(run, &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    assert_eq!(
        lines[3],
        json!({"type": "summary", "run": "gs://runs/r1", "dry_run": false, "to_create": 3, "created": 3, "held": 0})
    );

    let jobs = s.jobs();
    assert_eq!(jobs.len(), 3);
    let state = s.state();
    let run_id = state["run_id"].as_str().unwrap().to_string();
    assert!(
        run_id.len() == 17
            && run_id.starts_with('r')
            && run_id[1..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{run_id}"
    );
    assert_eq!(state["format_version"], 1);
    assert_eq!(state["project"], "p");
    assert_eq!(state["location"], "us-central1");
    let recorded: Vec<&String> = state["jobs"].as_object().unwrap().keys().collect();
    assert_eq!(
        recorded,
        STEMS
            .map(|s| format!("shards/{s}.jsonl"))
            .iter()
            .collect::<Vec<_>>()
    );
    for (i, stem) in STEMS.iter().enumerate() {
        let job = &jobs[i];
        let sent = serde_json::to_value(BatchPredictionJob {
            name: None,
            state: None,
            create_time: None,
            update_time: None,
            start_time: None,
            end_time: None,
            ..job.clone()
        })
        .unwrap();
        // What the emulator received is the documented body, and so is what state.json holds.
        assert_eq!(sent, expected_body(stem, &run_id), "job {i}");
        let r = &state["jobs"][format!("shards/{stem}.jsonl")];
        assert_eq!(r["body"], expected_body(stem, &run_id));
        assert_eq!(r["name"], json!(job.name));
        assert_eq!(r["display_name"], format!("batchline r1 {stem}"));
        assert_eq!(r["output_prefix"], format!("gs://runs/r1/output/{stem}/"));
        assert_eq!(r["state"], "JOB_STATE_PENDING");
        assert_eq!(r["create_time"], json!(job.create_time));
        assert_eq!(lines[i]["shard"], format!("shards/{stem}.jsonl"));
        assert_eq!(lines[i]["name"], json!(job.name));
    }

    // Again: every shard has a job, so nothing is created and state.json is left as it was.
    let before = s.store(run).get("state.json").unwrap().unwrap();
    let out = s.submit(run, &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        json_lines(&out.stdout),
        vec![
            json!({"type": "summary", "run": "gs://runs/r1", "dry_run": false, "to_create": 0, "created": 0, "held": 0})
        ]
    );
    assert_eq!(s.jobs().len(), 3);
    assert_eq!(s.store(run).get("state.json").unwrap().unwrap(), before);

    // cancel: the three held jobs are cancelled, and state.json says so.
    let out = s.run(&[
        "cancel",
        run,
        "--vertex-endpoint",
        &s.url,
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    assert_eq!(
        lines[3],
        json!({"type": "summary", "run": "gs://runs/r1", "cancelled": 3})
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while s
        .jobs()
        .iter()
        .any(|j| j.state.as_ref().map(|s| s.as_str()) != Some("JOB_STATE_CANCELLED"))
    {
        assert!(Instant::now() < deadline, "jobs not cancelled");
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = s.run(&[
        "status",
        run,
        "--vertex-endpoint",
        &s.url,
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 3);
    for l in &lines {
        assert_eq!(l["state"], "JOB_STATE_CANCELLED", "{l}");
    }
    let state = s.state();
    for stem in STEMS {
        assert_eq!(
            state["jobs"][format!("shards/{stem}.jsonl")]["state"],
            "JOB_STATE_CANCELLED"
        );
    }
    // A second cancel has nothing left to cancel.
    let out = s.run(&[
        "cancel",
        run,
        "--vertex-endpoint",
        &s.url,
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        json_lines(&out.stdout),
        vec![json!({"type": "summary", "run": "gs://runs/r1", "cancelled": 0})]
    );
}

#[test]
fn submit_dry_run_prints_the_bodies_and_sends_nothing() {
    let Some(s) = Setup::start(&[]) else { return };
    let run = s.prepare();
    let out = s.submit(run, &["--dry-run", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    let run_id = lines[0]["body"]["labels"]["batchline_run"]
        .as_str()
        .unwrap()
        .to_string();
    for (i, stem) in STEMS.iter().enumerate() {
        assert_eq!(
            lines[i],
            json!({"type": "create", "shard": format!("shards/{stem}.jsonl"), "body": expected_body(stem, &run_id)})
        );
    }
    assert_eq!(lines[3]["to_create"], 3);
    assert_eq!(lines[3]["created"], 0);
    assert!(s.jobs().is_empty());
    assert_eq!(s.store(run).get("state.json").unwrap(), None);
}

#[test]
fn status_shows_the_terminal_state_and_the_row_counts() {
    let Some(s) = Setup::start(&[]) else { return };
    let run = s.prepare();
    let out = s.submit(run, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let deadline = Instant::now() + Duration::from_secs(60);
    let lines = loop {
        let out = s.run(&[
            "status",
            run,
            "--vertex-endpoint",
            &s.url,
            "--format",
            "json",
        ]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let lines = json_lines(&out.stdout);
        if lines.iter().all(|l| l["state"] == "JOB_STATE_SUCCEEDED") {
            break lines;
        }
        assert!(Instant::now() < deadline, "{}", out.stdout);
        std::thread::sleep(Duration::from_millis(200));
    };
    let counts = ["2", "2", "1"];
    for (i, stem) in STEMS.iter().enumerate() {
        assert_eq!(lines[i]["shard"], format!("shards/{stem}.jsonl"));
        assert_eq!(
            lines[i]["completion_stats"],
            json!({"successfulCount": counts[i]})
        );
        assert_eq!(lines[i]["error"], Value::Null);
        assert!(lines[i]["waited_seconds"]
            .as_i64()
            .is_some_and(|w| (0..60).contains(&w)));
        let r = &s.state()["jobs"][format!("shards/{stem}.jsonl")];
        assert_eq!(r["state"], "JOB_STATE_SUCCEEDED");
        assert_eq!(r["completion_stats"], json!({"successfulCount": counts[i]}));
        let dir = r["output_directory"].as_str().unwrap();
        assert!(
            dir.starts_with(&format!("gs://runs/r1/output/{stem}/prediction-model-")),
            "{dir}"
        );
    }
    // Human form names the state and the counts.
    let out = s.run(&["status", run, "--vertex-endpoint", &s.url]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first = out.stdout.lines().next().unwrap();
    assert!(
        first.starts_with(
            "shards/shard-00000.jsonl: projects/p/locations/us-central1/batchPredictionJobs/"
        ),
        "{first}"
    );
    assert!(
        first.contains(" JOB_STATE_SUCCEEDED, rows succeeded 2 failed 0 incomplete 0"),
        "{first}"
    );
}

#[test]
fn submit_refuses_a_local_run_and_says_to_upload_it() {
    let ctx = TestContext::new();
    ctx.write(
        "in.jsonl",
        "{\"request\": {\"contents\": [{\"role\": \"user\", \"parts\": [{\"text\": \"hi\"}]}]}}\n",
    );
    let out = ctx.run(&["prepare", "in.jsonl", "-o", "run", "--tokens", "off"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = ctx.run(&[
        "submit",
        "run",
        "--project",
        "p",
        "--location",
        "us-central1",
        "--model",
        "gemini-2.5-flash",
        "--vertex-endpoint",
        "http://127.0.0.1:9",
    ]);
    assert_eq!(out.code, 2);
    let err = &out.stderr;
    assert!(err.contains("batchline upload the run to gs://"), "{err}");
    assert!(!ctx.dir().join("run/state.json").exists());
}

const QUOTA: &str = "Quota exceeded for aiplatform.googleapis.com/batch_prediction_jobs (emulated by --reject-creates).";

#[test]
fn a_429_on_create_holds_the_shards_back_with_the_reason_and_wait_creates_them() {
    let Some(s) = Setup::start(&["--reject-creates", "2"]) else {
        return;
    };
    let run = s.prepare();
    // No retry inside the client: the 429 reaches submit, which holds the shard back (not a
    // failure: exit 0) and sends nothing more this time.
    let out = s.submit(run, &["--retries", "0", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first_429 = format!(
        "create answered 429 RESOURCE_EXHAUSTED (batchline wait retries it with backoff): {QUOTA}"
    );
    let after = "not sent: the create of shards/shard-00000.jsonl was answered 429 just before (batchline wait retries it with backoff)";
    assert_eq!(
        json_lines(&out.stdout),
        vec![
            json!({"type": "held", "shard": "shards/shard-00000.jsonl", "reason": first_429}),
            json!({"type": "held", "shard": "shards/shard-00001.jsonl", "reason": after}),
            json!({"type": "held", "shard": "shards/shard-00002.jsonl", "reason": after}),
            json!({"type": "summary", "run": "gs://runs/r1", "dry_run": false, "to_create": 3, "created": 0, "held": 3}),
        ]
    );
    assert!(!out.stderr.contains("test-token"), "{}", out.stderr);
    assert!(s.jobs().is_empty());
    let state = s.state();
    for (stem, why) in STEMS.iter().zip([first_429.as_str(), after, after]) {
        let r = &state["jobs"][format!("shards/{stem}.jsonl")];
        assert_eq!(r["state"], "HELD");
        assert_eq!(r["name"], Value::Null);
        assert_eq!(r["held"], why);
    }
    // status says why, for each shard.
    let out = s.run(&[
        "status",
        run,
        "--vertex-endpoint",
        &s.url,
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0],
        json!({"type": "job", "shard": "shards/shard-00000.jsonl", "name": null, "state": "HELD",
               "completion_stats": null, "error": null, "waited_seconds": null, "held": first_429,
               "progress": null})
    );
    let out = s.run(&["status", run, "--vertex-endpoint", &s.url]);
    assert_eq!(
        out.stdout.lines().nth(1),
        Some(format!("shards/shard-00001.jsonl: (no job yet) HELD, held back: {after}").as_str())
    );
    // wait: its first create meets the emulator's second 429, backs off, then creates all three.
    let out = wait(&s, run, &["--retries", "0", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    let states: Vec<&str> = lines.iter().map(|l| l["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["JOB_STATE_SUCCEEDED"; 3]);
    assert!(lines.iter().all(|l| l["held"].is_null()), "{}", out.stdout);
    let jobs = s.jobs();
    assert_eq!(jobs.len(), 3, "one job per shard");
    let state = s.state();
    for (job, stem) in jobs.iter().zip(STEMS) {
        let r = &state["jobs"][format!("shards/{stem}.jsonl")];
        assert_eq!(r["name"], json!(job.name));
        assert!(r.get("held").is_none(), "{r}");
    }
}

#[test]
fn max_concurrent_keeps_one_job_live_at_a_time_and_wait_creates_the_held_ones() {
    let Some(s) = Setup::start(&["--rows-per-second", "1"]) else {
        return;
    };
    let run = s.prepare();
    let out = s.submit(run, &["--max-concurrent", "1", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    let why = "--max-concurrent 1: as many jobs as that are live; batchline wait creates it when one ends";
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    assert_eq!(lines[0]["type"], "job");
    assert_eq!(lines[0]["shard"], "shards/shard-00000.jsonl");
    assert_eq!(
        lines[1..],
        [
            json!({"type": "held", "shard": "shards/shard-00001.jsonl", "reason": why}),
            json!({"type": "held", "shard": "shards/shard-00002.jsonl", "reason": why}),
            json!({"type": "summary", "run": "gs://runs/r1", "dry_run": false, "to_create": 3, "created": 1, "held": 2}),
        ]
    );
    assert_eq!(s.jobs().len(), 1);
    let state = s.state();
    assert_eq!(state["max_concurrent"], 1);
    assert_eq!(state["jobs"]["shards/shard-00002.jsonl"]["held"], why);
    // A second submit (no flag: the recorded limit holds) creates nothing while one job is live.
    let out = s.submit(run, &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(json_lines(&out.stdout)[2]["created"], 0, "{}", out.stdout);
    assert_eq!(s.jobs().len(), 1);

    // wait, watched from outside: the emulator never holds two live jobs at once.
    let watcher = {
        let url = s.url.clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let h = std::thread::spawn(move || {
            let mut most = 0usize;
            let mut polls = 0usize;
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                let live = list_jobs(&url)
                    .iter()
                    .filter(|j| {
                        !matches!(
                            j.state.as_ref().map(|s| s.as_str()),
                            Some(
                                "JOB_STATE_SUCCEEDED" | "JOB_STATE_FAILED" | "JOB_STATE_CANCELLED"
                            )
                        )
                    })
                    .count();
                most = most.max(live);
                polls += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            (most, polls)
        });
        (stop, h)
    };
    let out = wait(&s, run, &["--format", "json"]);
    watcher.0.store(true, std::sync::atomic::Ordering::SeqCst);
    let (most, polls) = watcher.1.join().unwrap();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(most, 1, "live jobs at once over {polls} polls");
    assert!(polls > 5, "{polls}");
    let lines = json_lines(&out.stdout);
    let states: Vec<&str> = lines.iter().map(|l| l["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["JOB_STATE_SUCCEEDED"; 3]);
    // The service's own times agree: each job was created after the one before it ended.
    let jobs = s.jobs();
    assert_eq!(jobs.len(), 3);
    for w in jobs.windows(2) {
        let ended = w[0].end_time.clone().unwrap();
        let created = w[1].create_time.clone().unwrap();
        assert!(created >= ended, "{created} before {ended}");
    }
}

/// Every job the emulator at `url` holds.
fn list_jobs(url: &str) -> Vec<BatchPredictionJob> {
    let mut o = ClientOptions::new("p", "us-central1");
    o.endpoint = Some(url.to_string());
    o.auth = AuthConfig::Token("test".into());
    let client = VertexClient::new(&o).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(client.list_all(None))
        .unwrap()
}

#[test]
fn submit_records_the_job_of_a_stale_reservation_instead_of_creating_a_second() {
    let Some(s) = Setup::start(&["--pending-for", "60s"]) else {
        return;
    };
    let run = s.prepare();
    // Learn the run id and the bodies from a dry run.
    let out = s.submit(run, &["--dry-run", "--format", "json"]);
    let body0 = json_lines(&out.stdout)[0]["body"].clone();
    let run_id = body0["labels"]["batchline_run"]
        .as_str()
        .unwrap()
        .to_string();
    // An earlier submit created shard 0's job and died before recording its name.
    let mut o = ClientOptions::new("p", "us-central1");
    o.endpoint = Some(s.url.clone());
    o.auth = AuthConfig::Token("test".into());
    let client = VertexClient::new(&o).unwrap();
    let body: BatchPredictionJob = serde_json::from_value(body0.clone()).unwrap();
    let existing = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(client.create(&body))
        .unwrap();
    let state = json!({
        "format_version": 1, "run_id": run_id, "project": "p", "location": "us-central1",
        "jobs": {"shards/shard-00000.jsonl": {
            "name": null, "display_name": "batchline r1 shard-00000",
            "output_prefix": "gs://runs/r1/output/shard-00000/", "body": body0,
            "state": "RESERVED", "reserved_at": "2026-01-01T00:00:00Z"}}
    });
    s.store(run)
        .put(
            "state.json",
            &serde_json::to_vec(&state).unwrap(),
            batchline::store::Durability::Normal,
        )
        .unwrap();
    let out = s.submit(run, &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let jobs = s.jobs();
    assert_eq!(jobs.len(), 3, "one job per shard, none twice");
    let state = s.state();
    let r0 = &state["jobs"]["shards/shard-00000.jsonl"];
    assert_eq!(r0["name"], json!(existing.name));
    assert_eq!(r0["state"], "JOB_STATE_PENDING");
    assert_eq!(json_lines(&out.stdout)[2]["created"], 2, "{}", out.stdout);
}

#[test]
fn wait_exits_0_when_every_job_succeeded() {
    let Some(s) = Setup::start(&[]) else { return };
    let run = s.prepare();
    assert_eq!(s.submit(run, &[]).code, 0);
    let out = s.run(&[
        "wait",
        run,
        "--vertex-endpoint",
        &s.url,
        "--poll-interval",
        "50ms",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    let states: Vec<&str> = lines.iter().map(|l| l["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["JOB_STATE_SUCCEEDED"; 3]);
    assert_eq!(
        lines[2]["completion_stats"],
        json!({"successfulCount": "1"})
    );
}

#[test]
fn wait_exits_1_when_a_job_failed() {
    // The emulator fails a job once half its rows are out, so one row per export file: shards 0
    // and 1 (two rows) fail, shard 2 (one row) has no half-way point and succeeds.
    let Some(s) = Setup::start(&["--end-state", "failed", "--export-rows", "1"]) else {
        return;
    };
    let run = s.prepare();
    assert_eq!(s.submit(run, &[]).code, 0);
    let out = s.run(&[
        "wait",
        run,
        "--vertex-endpoint",
        &s.url,
        "--poll-interval",
        "50ms",
    ]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.stdout.lines().count(), 3);
    let lines: Vec<&str> = out.stdout.lines().collect();
    for line in &lines[..2] {
        assert!(
            line.contains(" JOB_STATE_FAILED, rows succeeded 1 failed 0 incomplete 1"),
            "{line}"
        );
        assert!(line.contains(", error 13: "), "{line}");
    }
    assert!(
        lines[2].contains(" JOB_STATE_SUCCEEDED, rows succeeded 1 failed 0 incomplete 0"),
        "{}",
        lines[2]
    );
}

#[test]
fn wait_gives_up_at_the_timeout_with_exit_3_and_leaves_the_jobs_running() {
    let Some(s) = Setup::start(&["--pending-for", "60s"]) else {
        return;
    };
    let run = s.prepare();
    assert_eq!(s.submit(run, &[]).code, 0);
    let out = s.run(&[
        "wait",
        run,
        "--vertex-endpoint",
        &s.url,
        "--poll-interval",
        "50ms",
        "--timeout",
        "300ms",
    ]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("--timeout 300ms passed"),
        "{}",
        out.stderr
    );
    assert!(s
        .jobs()
        .iter()
        .all(|j| j.state.as_ref().map(|s| s.as_str()) == Some("JOB_STATE_PENDING")));
}

#[test]
fn status_of_a_job_vertex_no_longer_knows_prints_googles_message_and_exits_3() {
    let Some(s) = Setup::start(&["--pending-for", "60s"]) else {
        return;
    };
    let run = s.prepare();
    assert_eq!(s.submit(run, &[]).code, 0);
    let mut o = ClientOptions::new("p", "us-central1");
    o.endpoint = Some(s.url.clone());
    o.auth = AuthConfig::Token("test".into());
    let client = VertexClient::new(&o).unwrap();
    let gone = s.jobs()[1].name.clone().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(client.cancel(&gone)).unwrap();
    // Only an ended job can be deleted: wait for the cancel to land.
    let deadline = Instant::now() + Duration::from_secs(30);
    while rt
        .block_on(client.get(&gone))
        .unwrap()
        .state
        .as_ref()
        .map(|s| s.as_str())
        != Some("JOB_STATE_CANCELLED")
    {
        assert!(Instant::now() < deadline, "job not cancelled");
        std::thread::sleep(Duration::from_millis(50));
    }
    rt.block_on(client.delete(&gone)).unwrap();
    let before = s.store(run).get("state.json").unwrap().unwrap();
    let out = s.run(&["status", run, "--vertex-endpoint", &s.url, "--retries", "0"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("GET {}/v1/{gone}", s.url)),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("404 NOT_FOUND"), "{}", out.stderr);
    // Nothing half-updated was recorded.
    assert_eq!(s.store(run).get("state.json").unwrap().unwrap(), before);
}

#[test]
fn status_counts_the_rows_each_job_has_exported() {
    // One row per export file, and jobs fail once half their rows are out: shards 0 and 1 (two
    // rows) stop after one incremental file of one row; shard 2 (one row) has no half-way point,
    // succeeds, and its final predictions.jsonl (the same row again) is counted instead of the
    // incremental file, so the row counts once.
    let Some(s) = Setup::start(&["--end-state", "failed", "--export-rows", "1"]) else {
        return;
    };
    let run = s.prepare();
    assert_eq!(s.submit(run, &[]).code, 0);
    assert_eq!(wait(&s, run, &[]).code, 1);
    let out = s.run(&[
        "status",
        run,
        "--vertex-endpoint",
        &s.url,
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let jobs = s.jobs();
    let failed = json!({"code": 13, "message": "Internal error occurred. The batch prediction job failed (emulated by --end-state failed)."});
    let expected = [
        (
            "JOB_STATE_FAILED",
            json!({"successfulCount": "1", "incompleteCount": "1"}),
            failed.clone(),
            json!({"requests": 2, "rows_exported": 1, "files": 1}),
        ),
        (
            "JOB_STATE_FAILED",
            json!({"successfulCount": "1", "incompleteCount": "1"}),
            failed,
            json!({"requests": 2, "rows_exported": 1, "files": 1}),
        ),
        (
            "JOB_STATE_SUCCEEDED",
            json!({"successfulCount": "1"}),
            Value::Null,
            json!({"requests": 1, "rows_exported": 1, "files": 1}),
        ),
    ];
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    for (i, (state, stats, error, progress)) in expected.into_iter().enumerate() {
        assert_eq!(
            lines[i],
            json!({"type": "job", "shard": format!("shards/{}.jsonl", STEMS[i]), "name": jobs[i].name,
                   "state": state, "completion_stats": stats, "error": error, "waited_seconds": 0,
                   "held": null, "progress": progress}),
            "line {i}"
        );
    }
    assert_eq!(s.state()["jobs"]["shards/shard-00000.jsonl"]["requests"], 2);
    // Human form.
    let out = s.run(&["status", run, "--vertex-endpoint", &s.url]);
    let last = out.stdout.lines().nth(2).unwrap().to_string();
    assert_eq!(
        last,
        format!("shards/shard-00002.jsonl: {} JOB_STATE_SUCCEEDED, rows succeeded 1 failed 0 incomplete 0, exported 1 of 1 rows in 1 file(s), waited 0 s in the queue", jobs[2].name.as_deref().unwrap())
    );
}

#[test]
fn wait_stuck_after_names_a_job_held_in_the_queue_and_exits_3() {
    // The emulator keeps the first job it creates pending for ten minutes; the others run.
    let Some(s) = Setup::start(&["--pending-for", "600s", "--pending-jobs", "1"]) else {
        return;
    };
    let run = s.prepare();
    assert_eq!(s.submit(run, &[]).code, 0);
    let first = s.jobs()[0].name.clone().unwrap();
    let started = Instant::now();
    let out = wait(&s, run, &["--stuck-after", "1s"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(30));
    let err = out.stderr.trim_end();
    let head = format!("error: gs://runs/r1: shards/shard-00000.jsonl: job {first} has been JOB_STATE_PENDING for ");
    let tail = " s, over --stuck-after 1s; a stuck job stays in Vertex's queue (wait again, batchline cancel, or wait --resubmit-stuck to cancel and create it again)";
    assert!(err.starts_with(&head) && err.ends_with(tail), "{err}");
    let secs: i64 = err[head.len()..err.len() - tail.len()].parse().unwrap();
    assert!((1..30).contains(&secs), "{secs}");
    // The job was left in the queue, and nothing was created again.
    let jobs = s.jobs();
    assert_eq!(jobs.len(), 3);
    assert_eq!(
        jobs[0].state.as_ref().map(|s| s.as_str()),
        Some("JOB_STATE_PENDING")
    );
    assert!(s.state()["jobs"]["shards/shard-00000.jsonl"]
        .get("previous")
        .is_none());
}

#[test]
fn wait_resubmit_stuck_cancels_a_job_held_in_the_queue_and_creates_it_again() {
    let Some(s) = Setup::start(&["--pending-for", "600s", "--pending-jobs", "1"]) else {
        return;
    };
    let run = s.prepare();
    assert_eq!(s.submit(run, &[]).code, 0);
    let before = s.state()["jobs"]["shards/shard-00000.jsonl"].clone();
    let out = wait(
        &s,
        run,
        &[
            "--stuck-after",
            "1s",
            "--resubmit-stuck",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    let states: Vec<&str> = lines.iter().map(|l| l["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["JOB_STATE_SUCCEEDED"; 3]);
    // Four jobs: the stuck one, cancelled, and its replacement, created last with the same body.
    let deadline = Instant::now() + Duration::from_secs(30);
    let jobs = loop {
        let jobs = s.jobs();
        if jobs[0].state.as_ref().map(|s| s.as_str()) == Some("JOB_STATE_CANCELLED") {
            break jobs;
        }
        assert!(Instant::now() < deadline, "the stuck job was not cancelled");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(jobs.len(), 4);
    let strip = |j: &BatchPredictionJob| {
        serde_json::to_value(BatchPredictionJob {
            name: None,
            state: None,
            create_time: None,
            update_time: None,
            start_time: None,
            end_time: None,
            completion_stats: None,
            output_info: None,
            error: None,
            ..j.clone()
        })
        .unwrap()
    };
    assert_eq!(strip(&jobs[3]), strip(&jobs[0]));
    assert_eq!(strip(&jobs[3]), before["body"]);
    // state.json: the shard's record is the new job, and the chain names the old one.
    let r = s.state()["jobs"]["shards/shard-00000.jsonl"].clone();
    assert_eq!(r["name"], json!(jobs[3].name));
    assert_eq!(r["state"], "JOB_STATE_SUCCEEDED");
    assert_eq!(r["body"], before["body"]);
    let previous = r["previous"].as_array().unwrap();
    assert_eq!(previous.len(), 1, "{r}");
    let p = &previous[0];
    assert_eq!(p["name"], json!(jobs[0].name));
    assert_eq!(p["create_time"], json!(jobs[0].create_time));
    assert_eq!(
        p["reason"],
        "not out of JOB_STATE_PENDING after --stuck-after 1s"
    );
    assert!(
        p["state"] == "JOB_STATE_CANCELLING" || p["state"] == "JOB_STATE_CANCELLED",
        "{p}"
    );
    assert!(
        p["waited_seconds"]
            .as_i64()
            .is_some_and(|w| (1..30).contains(&w)),
        "{p}"
    );
    // The other shards kept their one job.
    for stem in &STEMS[1..] {
        assert!(s.state()["jobs"][format!("shards/{stem}.jsonl")]
            .get("previous")
            .is_none());
    }
}

#[test]
fn cancel_withdraws_held_shards_so_no_wait_creates_them() {
    let Some(s) = Setup::start(&["--pending-for", "60s"]) else {
        return;
    };
    let run = s.prepare();
    assert_eq!(s.submit(run, &["--max-concurrent", "1"]).code, 0);
    let name = s.jobs()[0].name.clone();
    let out = s.run(&[
        "cancel",
        run,
        "--vertex-endpoint",
        &s.url,
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    assert_eq!(
        lines[..2],
        [
            json!({"type": "withdrawn", "shard": "shards/shard-00001.jsonl"}),
            json!({"type": "withdrawn", "shard": "shards/shard-00002.jsonl"}),
        ]
    );
    assert_eq!(lines[2]["type"], "cancelled");
    assert_eq!(lines[2]["shard"], "shards/shard-00000.jsonl");
    assert_eq!(lines[2]["name"], json!(name));
    assert_eq!(
        lines[3],
        json!({"type": "summary", "run": "gs://runs/r1", "cancelled": 1})
    );
    let state = s.state();
    let recorded: Vec<&String> = state["jobs"].as_object().unwrap().keys().collect();
    assert_eq!(recorded, ["shards/shard-00000.jsonl"]);
    // wait sees the one cancelled job end and creates nothing.
    let out = wait(&s, run, &["--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["state"], "JOB_STATE_CANCELLED");
    assert_eq!(s.jobs().len(), 1);
}

#[test]
fn submit_resume_creates_a_job_over_the_old_jobs_predictions_and_records_the_chain() {
    // Jobs fail once half their rows are out, one row per file: shards 0 and 1 (two rows each)
    // end FAILED with one finished row exported; shard 2 succeeds.
    let Some(s) = Setup::start(&["--end-state", "failed", "--export-rows", "1"]) else {
        return;
    };
    let run = s.prepare();
    assert_eq!(s.submit(run, &[]).code, 0);
    assert_eq!(wait(&s, run, &[]).code, 1);
    let before = s.state();
    let old = |stem: &str| before["jobs"][format!("shards/{stem}.jsonl")].clone();
    let old_file = |stem: &str| {
        format!(
            "{}/incremental_predictions/predictions_00001.jsonl",
            old(stem)["output_directory"].as_str().unwrap()
        )
    };
    let out = s.submit(run, &["--resume", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    let jobs = s.jobs();
    assert_eq!(jobs.len(), 5);
    for (i, stem) in STEMS[..2].iter().enumerate() {
        assert_eq!(
            lines[i],
            json!({"type": "resumed", "shard": format!("shards/{stem}.jsonl"), "name": jobs[3 + i].name,
                   "previous": old(stem)["name"], "input": [old_file(stem)], "held": null})
        );
    }
    assert_eq!(
        lines[2],
        json!({"type": "summary", "run": "gs://runs/r1", "dry_run": false, "to_create": 2, "created": 2, "held": 0})
    );
    // The new jobs carry the finished row over (nothing is left to run) and succeed.
    let out = wait(&s, run, &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    for l in &lines {
        assert_eq!(l["state"], "JOB_STATE_SUCCEEDED", "{l}");
    }
    assert_eq!(
        lines[0]["completion_stats"],
        json!({"successfulCount": "1"})
    );
    let state = s.state();
    for stem in &STEMS[..2] {
        let r = &state["jobs"][format!("shards/{stem}.jsonl")];
        let prefix = format!("gs://runs/r1/output/{stem}-resume-1/");
        assert_eq!(r["output_prefix"], prefix);
        assert_eq!(r["display_name"], format!("batchline r1 {stem} resume 1"));
        let mut body = old(stem)["body"].clone();
        body["displayName"] = json!(format!("batchline r1 {stem} resume 1"));
        body["inputConfig"]["gcsSource"]["uris"] = json!([old_file(stem)]);
        body["outputConfig"]["gcsDestination"]["outputUriPrefix"] = json!(prefix);
        assert_eq!(r["body"], body);
        let previous = r["previous"].as_array().unwrap();
        assert_eq!(previous.len(), 1);
        assert_eq!(previous[0]["name"], old(stem)["name"]);
        assert_eq!(previous[0]["state"], "JOB_STATE_FAILED");
        assert_eq!(previous[0]["reason"], "resumed: it ended JOB_STATE_FAILED");
        // The new output holds the old job's finished row, byte for byte.
        let dir = r["output_directory"].as_str().unwrap();
        assert!(dir.starts_with(&prefix), "{dir}");
        let old_bytes = s.store(&old_file(stem)).get("").unwrap();
        let new_bytes = s.store(dir).get("predictions.jsonl").unwrap();
        assert!(old_bytes.is_some());
        assert_eq!(new_bytes, old_bytes);
    }
    assert!(state["jobs"]["shards/shard-00002.jsonl"]
        .get("previous")
        .is_none());
    // Nothing left to resume.
    let out = s.submit(run, &["--resume", "--format", "json"]);
    assert_eq!(
        json_lines(&out.stdout),
        vec![
            json!({"type": "summary", "run": "gs://runs/r1", "dry_run": false, "to_create": 0, "created": 0, "held": 0})
        ]
    );
}
