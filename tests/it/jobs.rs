//! `submit`, `status` and `cancel` end to end: a run prepared into moto (the storage emulator,
//! GCS XML API on 127.0.0.1) and handed to `batchline emulator`, which reads the shards from the
//! same moto (`--gcs-endpoint`). `wait` has its own module, `jobs_wait`.

use std::time::{Duration, Instant};

use batchline::vertex::wire::BatchPredictionJob;
use batchline::vertex::{AuthConfig, ClientOptions, VertexClient};
use serde_json::{json, Value};

use crate::common::jobs::{json_lines, Setup, STEMS};
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
fn submit_creates_one_job_per_shard_with_the_documented_body_and_records_it() {
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
}

#[test]
fn a_second_submit_creates_no_job_and_leaves_the_state_as_it_was() {
    let Some((s, run)) = Setup::submitted(&["--pending-for", "60s"]) else {
        return;
    };
    // Every shard has a job, so nothing is created and state.json is left as it was.
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
}

#[test]
fn cancel_cancels_every_live_job_records_it_and_a_second_cancel_finds_none() {
    let Some((s, run)) = Setup::submitted(&["--pending-for", "60s"]) else {
        return;
    };
    // The three pending jobs are cancelled, and state.json says so.
    let out = s.job("cancel", run, &["--format", "json"]);
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
    let out = s.job("status", run, &["--format", "json"]);
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
    let out = s.job("cancel", run, &["--format", "json"]);
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
        let out = s.job("status", run, &["--format", "json"]);
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
    let out = s.job("status", run, &[]);
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
fn status_of_a_job_vertex_no_longer_knows_prints_googles_message_and_exits_3() {
    let Some((s, run)) = Setup::submitted(&["--pending-for", "60s"]) else {
        return;
    };
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
    let out = s.job("status", run, &["--retries", "0"]);
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
    let Some((s, run)) = Setup::submitted(&["--end-state", "failed", "--export-rows", "1"]) else {
        return;
    };
    assert_eq!(s.job("wait", run, &[]).code, 1);
    let out = s.job("status", run, &["--format", "json"]);
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
    let out = s.job("status", run, &[]);
    let last = out.stdout.lines().nth(2).unwrap().to_string();
    assert_eq!(
        last,
        format!("shards/shard-00002.jsonl: {} JOB_STATE_SUCCEEDED, rows succeeded 1 failed 0 incomplete 0, exported 1 of 1 rows in 1 file(s), waited 0 s in the queue", jobs[2].name.as_deref().unwrap())
    );
}

#[test]
fn cancel_withdraws_held_shards_so_no_wait_creates_them() {
    let Some(s) = Setup::start(&["--pending-for", "60s"]) else {
        return;
    };
    let run = s.prepare();
    assert_eq!(s.submit(run, &["--max-concurrent", "1"]).code, 0);
    let name = s.jobs()[0].name.clone();
    let out = s.job("cancel", run, &["--format", "json"]);
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
    let out = s.job("wait", run, &["--format", "json"]);
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
    let Some((s, run)) = Setup::submitted(&["--end-state", "failed", "--export-rows", "1"]) else {
        return;
    };
    assert_eq!(s.job("wait", run, &[]).code, 1);
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
    let out = s.job("wait", run, &["--format", "json"]);
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
