//! `wait` end to end against moto and `batchline emulator` (the `Setup` of `common/jobs.rs`):
//! shards held back by a 429 or `--max-concurrent` and created by `wait`, its exit codes, and jobs
//! held in the queue.

use std::time::{Duration, Instant};

use batchline::vertex::wire::BatchPredictionJob;
use batchline::vertex::{AuthConfig, ClientOptions, VertexClient};
use serde_json::{json, Value};

use crate::common::jobs::{json_lines, Setup, STEMS};

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
    let out = s.job("status", run, &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0],
        json!({"type": "job", "shard": "shards/shard-00000.jsonl", "name": null, "state": "HELD",
               "completion_stats": null, "error": null, "waited_seconds": null, "held": first_429,
               "progress": null})
    );
    let out = s.job("status", run, &[]);
    assert_eq!(
        out.stdout.lines().nth(1),
        Some(format!("shards/shard-00001.jsonl: (no job yet) HELD, held back: {after}").as_str())
    );
    // wait: its first create meets the emulator's second 429, backs off, then creates all three.
    let out = s.job("wait", run, &["--retries", "0", "--format", "json"]);
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
    let out = s.job("wait", run, &["--format", "json"]);
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
fn wait_exits_0_when_every_job_succeeded() {
    let Some((s, run)) = Setup::submitted(&[]) else {
        return;
    };
    let out = s.job("wait", run, &["--format", "json"]);
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
    let Some((s, run)) = Setup::submitted(&["--end-state", "failed", "--export-rows", "1"]) else {
        return;
    };
    let out = s.job("wait", run, &[]);
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
    let Some((s, run)) = Setup::submitted(&["--pending-for", "60s"]) else {
        return;
    };
    let out = s.job("wait", run, &["--timeout", "300ms"]);
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
fn wait_stuck_after_names_a_job_held_in_the_queue_and_exits_3() {
    // The emulator keeps the first job it creates pending for ten minutes; the others run.
    let Some((s, run)) = Setup::submitted(&["--pending-for", "600s", "--pending-jobs", "1"]) else {
        return;
    };
    let first = s.jobs()[0].name.clone().unwrap();
    let started = Instant::now();
    let out = s.job("wait", run, &["--stuck-after", "1s"]);
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
    let Some((s, run)) = Setup::submitted(&["--pending-for", "600s", "--pending-jobs", "1"]) else {
        return;
    };
    let before = s.state()["jobs"]["shards/shard-00000.jsonl"].clone();
    let out = s.job(
        "wait",
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
