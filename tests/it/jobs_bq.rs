//! `submit --source` (one job over a BigQuery table, or over a file batchline did not prepare)
//! and `submit LOCAL --to gs://…` (upload first), end to end against moto and
//! `batchline emulator` (the `Setup` of `common/jobs.rs`).

use batchline::store::Durability;
use serde_json::{json, Value};

use crate::common::jobs::{json_lines, Setup};
use crate::common::TestContext;

/// The create body `submit --source bq://p.d.t` documents (docs/vertex.md) for the place named
/// `place`, writing to `dest`.
fn bq_body(place: &str, dest: &str, run_id: &str) -> Value {
    json!({
        "displayName": format!("batchline {place} p.d.t"),
        "model": "publishers/google/models/gemini-2.5-flash",
        "inputConfig": {"instancesFormat": "bigquery", "bigquerySource": {"inputUri": "bq://p.d.t"}},
        "outputConfig": {"predictionsFormat": "bigquery", "bigqueryDestination": {"outputUri": dest}},
        "labels": {"batchline_run": run_id, "batchline_shard": "source"},
    })
}

/// `submit` with project p, location us-central1 and a dead endpoint: for refusals that must
/// come before anything is sent.
fn submit_offline(ctx: &TestContext, run: &str, extra: &[&str]) -> crate::common::Output {
    let mut args = vec![
        "submit",
        run,
        "--project",
        "p",
        "--location",
        "us-central1",
        "--model",
        "gemini-2.5-flash",
        "--vertex-endpoint",
        "http://127.0.0.1:9",
    ];
    args.extend_from_slice(extra);
    ctx.run(&args)
}

/// The body a job was created with, as the emulator serves it back without the service's members.
fn sent_body(job: &batchline::vertex::wire::BatchPredictionJob) -> Value {
    let mut v = serde_json::to_value(job).unwrap();
    for k in [
        "name",
        "state",
        "createTime",
        "updateTime",
        "startTime",
        "endTime",
    ] {
        v.as_object_mut().unwrap().remove(k);
    }
    v
}

#[test]
fn submit_source_bigquery_creates_one_job_and_records_the_source_and_destination() {
    let Some(s) = Setup::start(&["--pending-for", "60s"]) else {
        return;
    };
    let place = "gs://runs/bq1";
    let out = s.submit(place, &["--source", "bq://p.d.t", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let jobs = s.jobs();
    assert_eq!(jobs.len(), 1);
    let name = jobs[0].name.clone().unwrap();
    assert_eq!(
        json_lines(&out.stdout),
        vec![
            json!({"type": "job", "shard": "bq://p.d.t", "name": name, "state": "JOB_STATE_PENDING"}),
            json!({"type": "summary", "run": place, "dry_run": false, "to_create": 1, "created": 1, "held": 0}),
        ]
    );
    // The place holds state.json and nothing else; it records the source and the destination
    // (the source's dataset by default) beside the one job, keyed by the source.
    let store = s.store(place);
    let names: Vec<String> = store
        .list("")
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["state.json"]);
    let state: Value = serde_json::from_slice(&store.get("state.json").unwrap().unwrap()).unwrap();
    let run_id = state["run_id"].as_str().unwrap().to_string();
    assert_eq!(sent_body(&jobs[0]), bq_body("bq1", "bq://p.d", &run_id));
    assert_eq!(state["source"], "bq://p.d.t");
    assert_eq!(state["destination"], "bq://p.d");
    assert_eq!(state["project"], "p");
    assert_eq!(state["location"], "us-central1");
    let keys: Vec<&String> = state["jobs"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["bq://p.d.t"]);
    let r = &state["jobs"]["bq://p.d.t"];
    assert_eq!(r["body"], bq_body("bq1", "bq://p.d", &run_id));
    assert_eq!(r["name"], name.as_str());
    assert_eq!(r["output_prefix"], "bq://p.d");
    assert_eq!(r["state"], "JOB_STATE_PENDING");
    assert_eq!(r["requests"], Value::Null);
}

/// The emulator with jobs held pending, and one job over `bq://p.d.t` submitted into
/// `gs://runs/bq1`; the job's name.
fn bq_submitted() -> Option<(Setup, String)> {
    let s = Setup::start(&["--pending-for", "60s"])?;
    let out = s.submit("gs://runs/bq1", &["--source", "bq://p.d.t"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let name = s.jobs()[0].name.clone().unwrap();
    Some((s, name))
}

#[test]
fn a_second_bigquery_submit_creates_none_and_another_source_into_the_place_is_refused() {
    let Some((s, _)) = bq_submitted() else { return };
    let place = "gs://runs/bq1";
    let store = s.store(place);
    // The job exists: nothing is created and state.json is left as it was.
    let before = store.get("state.json").unwrap().unwrap();
    let out = s.submit(place, &["--source", "bq://p.d.t", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        json_lines(&out.stdout),
        vec![
            json!({"type": "summary", "run": place, "dry_run": false, "to_create": 0, "created": 0, "held": 0})
        ]
    );
    assert_eq!(s.jobs().len(), 1);
    assert_eq!(store.get("state.json").unwrap().unwrap(), before);
    // Another source into the same place is refused: one place, one job.
    let out = s.submit(place, &["--source", "bq://p.d.other"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "error: gs://runs/bq1/state.json records a job over bq://p.d.t writing to bq://p.d; one place holds one job's state: give another RUN for a job over bq://p.d.other writing to bq://p.d\n"
    );
}

#[test]
fn status_cancel_and_wait_follow_a_bigquery_job_and_collect_refuses_its_place() {
    let Some((s, name)) = bq_submitted() else {
        return;
    };
    let place = "gs://runs/bq1";
    // status: the job, its destination, and no progress count (the rows are in BigQuery).
    let out = s.job("status", place, &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1);
    assert!(lines[0]["waited_seconds"]
        .as_i64()
        .is_some_and(|w| (0..60).contains(&w)));
    lines[0]["waited_seconds"] = json!(0);
    assert_eq!(
        lines[0],
        json!({"type": "job", "shard": "bq://p.d.t", "name": name, "state": "JOB_STATE_PENDING",
               "completion_stats": null, "error": null, "waited_seconds": 0, "held": null,
               "progress": null, "bigquery_output": "bq://p.d"})
    );

    // cancel: the job held in PENDING is cancelled; wait then reports it (exit 1).
    let out = s.job("cancel", place, &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert_eq!(lines[0]["type"], "cancelled");
    assert_eq!(lines[0]["shard"], "bq://p.d.t");
    assert_eq!(lines[0]["name"], name.as_str());
    assert_eq!(
        lines[1],
        json!({"type": "summary", "run": place, "cancelled": 1})
    );
    let out = s.job("wait", place, &["--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines[0]["state"], "JOB_STATE_CANCELLED");
    assert_eq!(lines[0]["error"], json!({"code": 1, "message": "CANCELED"}));
    assert_eq!(lines[0]["completion_stats"], Value::Null);

    // collect: not a prepared run; the rows would be in BigQuery.
    let out = s.run(&["collect", place]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!("error: gs://runs/bq1 holds a job over bq://p.d.t, not a prepared run: the job's rows go to a new table in bq://p.d (named in outputInfo.bigqueryOutputTable of job {name} once it runs: batchline status shows it); collect merges the rows of a prepared run's shards only\n")
    );
}

#[test]
fn wait_follows_a_bigquery_job_in_a_local_place_and_collect_names_its_table() {
    let Some(s) = Setup::start(&[]) else { return };
    let out = s.submit(
        "bqrun",
        &[
            "--source",
            "bq://p.d.t",
            "--destination",
            "bq://q.out",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = s.job("wait", "bqrun", &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1, "{}", out.stdout);
    assert_eq!(lines[0]["state"], "JOB_STATE_SUCCEEDED");
    // Zero rows counted: the emulator reads no table, and Vertex leaves zero counts out.
    assert_eq!(lines[0]["completion_stats"], json!({}));
    assert_eq!(lines[0]["error"], Value::Null);
    let table = lines[0]["bigquery_output"].as_str().unwrap().to_string();
    // bq://q.out.predictions_YYYY_MM_DDTHH_MM_SS_mmmZ: outputInfo's dataset and table.
    let stamp = table.strip_prefix("bq://q.out.predictions_").unwrap();
    assert_eq!(stamp.len(), 24, "{table}");
    assert!(
        stamp.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 | 13 | 16 | 19 => b == b'_',
            10 => b == b'T',
            23 => b == b'Z',
            _ => b.is_ascii_digit(),
        }),
        "{table}"
    );
    let dir = s.ctx.dir().join("bqrun");
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["state.json"]);
    let state: Value =
        serde_json::from_slice(&std::fs::read(dir.join("state.json")).unwrap()).unwrap();
    let r = &state["jobs"]["bq://p.d.t"];
    assert_eq!(r["output_table"], table.as_str());
    assert_eq!(state["destination"], "bq://q.out");
    let name = r["name"].as_str().unwrap().to_string();

    // status says where the rows are and that it does not count them.
    let out = s.job("status", "bqrun", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with(&format!(
            "bq://p.d.t: {name} JOB_STATE_SUCCEEDED, rows succeeded 0 failed 0 incomplete 0, rows go to BigQuery {table} (not counted: batchline does not read BigQuery), waited "
        )),
        "{}",
        out.stdout
    );

    let out = s.run(&["collect", "bqrun"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!("error: bqrun holds a job over bq://p.d.t, not a prepared run: the job's rows are in the BigQuery table {table} (outputInfo.bigqueryOutputTable of job {name}); collect merges the rows of a prepared run's shards only\n")
    );
    assert_eq!(files, ["state.json"], "collect wrote nothing");
}

#[test]
fn submit_source_refuses_bigquery_in_the_global_location_before_sending() {
    let ctx = TestContext::new();
    for extra in [&[][..], &["--dry-run"][..]] {
        let mut args = vec!["--source", "bq://p.d.t", "--location", "global"];
        args.extend_from_slice(extra);
        let out = ctx.run(
            &[
                &[
                    "submit",
                    "place",
                    "--project",
                    "p",
                    "--model",
                    "gemini-2.5-flash",
                    "--vertex-endpoint",
                    "http://127.0.0.1:9",
                ][..],
                &args[..],
            ]
            .concat(),
        );
        assert_eq!(out.code, 2);
        assert_eq!(
            out.stderr,
            "error: bq://p.d.t: the global location has been reported not to serve BigQuery sources; use a regional location such as us-central1\n"
        );
        assert!(out.stdout.is_empty());
        assert!(!ctx.dir().join("place").exists());
    }
}

#[test]
fn submit_source_dry_run_prints_the_body_and_records_nothing() {
    let ctx = TestContext::new();
    let out = submit_offline(
        &ctx,
        "place",
        &["--source", "bq://p.d.t", "--dry-run", "--format", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2);
    let run_id = lines[0]["body"]["labels"]["batchline_run"]
        .as_str()
        .unwrap();
    assert_eq!(
        lines[0],
        json!({"type": "create", "shard": "bq://p.d.t", "body": bq_body("place", "bq://p.d", run_id)})
    );
    assert_eq!(
        lines[1],
        json!({"type": "summary", "run": "place", "dry_run": true, "to_create": 1, "created": 0, "held": 0})
    );
    assert!(!ctx.dir().join("place").exists());
}

#[test]
fn submit_source_refuses_a_prepared_run() {
    let ctx = TestContext::new();
    ctx.write(
        "in.jsonl",
        "{\"request\": {\"contents\": [{\"role\": \"user\", \"parts\": [{\"text\": \"hi\"}]}]}}\n",
    );
    let out = ctx.run(&["prepare", "in.jsonl", "-o", "run", "--tokens", "off"]);
    assert_eq!(out.code, 0);
    let out = submit_offline(&ctx, "run", &["--source", "bq://p.d.t"]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "error: run is a prepared run: submit sends its shards, and --source names a job's input by itself; give a new folder or prefix to keep the --source job's state.json, or drop --source\n"
    );
    assert!(!ctx.dir().join("run/state.json").exists());
}

#[test]
fn submit_source_gs_file_into_a_local_place_needs_a_destination() {
    let ctx = TestContext::new();
    let out = submit_offline(&ctx, "place", &["--source", "gs://b/in.jsonl"]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "error: --source gs://b/in.jsonl: give --destination gs://bucket/prefix for its rows (place is not on Cloud Storage, so its output/ cannot take them)\n"
    );
}

#[test]
fn submit_source_cannot_be_combined_with_retry_or_to() {
    let ctx = TestContext::new();
    // --source with --retry or --to: clap refuses the combination (exit 2).
    for flag in [&["--retry"][..], &["--to", "gs://b/x"][..]] {
        let out = submit_offline(
            &ctx,
            "place",
            &[&["--source", "bq://p.d.t"][..], flag].concat(),
        );
        assert_eq!(out.code, 2);
        assert!(out.stderr.contains("cannot be used with"), "{}", out.stderr);
    }
}

#[test]
fn submit_source_gs_file_runs_one_job_over_a_file_batchline_did_not_prepare() {
    let Some(s) = Setup::start(&[]) else { return };
    let lines = "{\"request\": {\"contents\": [{\"role\": \"user\", \"parts\": [{\"text\": \"a\"}]}]}}\n{\"request\": {\"contents\": [{\"role\": \"user\", \"parts\": [{\"text\": \"b\"}]}]}}\n";
    s.store("gs://runs/loose")
        .put("in.jsonl", lines.as_bytes(), Durability::Normal)
        .unwrap();
    let place = "gs://runs/g1";
    let out = s.submit(
        place,
        &["--source", "gs://runs/loose/in.jsonl", "--format", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let body = sent_body(&s.jobs()[0]);
    assert_eq!(
        body["inputConfig"],
        json!({"instancesFormat": "jsonl", "gcsSource": {"uris": ["gs://runs/loose/in.jsonl"]}})
    );
    // Default destination: the place's output/.
    assert_eq!(
        body["outputConfig"],
        json!({"predictionsFormat": "jsonl", "gcsDestination": {"outputUriPrefix": "gs://runs/g1/output/"}})
    );
    assert_eq!(body["displayName"], "batchline g1 runs/loose/in.jsonl");
    let out = s.job("wait", place, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = s.job("status", place, &["--format", "json"]);
    let line = &json_lines(&out.stdout)[0];
    assert_eq!(line["completion_stats"], json!({"successfulCount": "2"}));
    // Progress from the exported files still applies (the size of the input is not known).
    assert_eq!(
        line["progress"],
        json!({"requests": null, "rows_exported": 2, "files": 1})
    );
    let out = s.run(&["collect", place]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("error: gs://runs/g1 holds a job over gs://runs/loose/in.jsonl, not a prepared run: the job's rows are in gs://runs/g1/output/prediction-model-"),
        "{}",
        out.stderr
    );
}

#[test]
fn submit_to_uploads_a_local_run_and_the_local_name_follows_its_jobs() {
    let Some(s) = Setup::start(&[]) else { return };
    let input: String = (0..5)
        .map(|i| format!(r#"{{"request": {{"contents": [{{"role": "user", "parts": [{{"text": "question number {i}"}}]}}]}}}}"#) + "\n")
        .collect();
    s.ctx.write("in.jsonl", input);
    let out = s.run(&[
        "prepare",
        "in.jsonl",
        "-o",
        "run",
        "--max-requests",
        "2",
        "--order",
        "input",
        "--tokens",
        "off",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let copy = "gs://runs/up1";

    let out = s.submit("run", &["--to", copy, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 5, "{}", out.stdout);
    assert_eq!(lines[0]["type"], "upload");
    assert_eq!(lines[0]["run"], "run");
    assert_eq!(lines[0]["dest"], copy);
    assert_eq!(lines[0]["skipped"], 0);
    assert_eq!(lines[0]["already_done"], false);
    let uploaded = lines[0]["uploaded"].as_u64().unwrap();
    assert!(uploaded >= 3, "{}", lines[0]);
    assert_eq!(
        lines[4],
        json!({"type": "summary", "run": copy, "dry_run": false, "to_create": 3, "created": 3, "held": 0})
    );
    // The jobs read the copy's shards, and the copy's state.json records them.
    let jobs = s.jobs();
    assert_eq!(jobs.len(), 3);
    assert_eq!(
        sent_body(&jobs[0])["inputConfig"]["gcsSource"]["uris"],
        json!(["gs://runs/up1/shards/shard-00000.jsonl"])
    );
    let remote: Value =
        serde_json::from_slice(&s.store(copy).get("state.json").unwrap().unwrap()).unwrap();
    assert_eq!(remote["jobs"].as_object().unwrap().len(), 3);
    // The local run's state.json says only where the run went.
    let local: Value =
        serde_json::from_slice(&std::fs::read(s.ctx.dir().join("run/state.json")).unwrap())
            .unwrap();
    let at = local["uploaded_at"].as_str().unwrap();
    assert_eq!(
        local,
        json!({"format_version": 1, "uploaded_to": copy, "uploaded_at": at})
    );

    // status, wait and collect given the local run follow it to the copy's jobs.
    let out = s.job("status", "run", &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(json_lines(&out.stdout).len(), 3);
    let out = s.job("wait", "run", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = s.run(&["collect", "run"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let results = std::fs::read_to_string(s.ctx.dir().join("run/results.jsonl")).unwrap();
    assert_eq!(results.lines().count(), 5);
    assert_eq!(s.store(copy).get("results.jsonl").unwrap(), None);

    // Again with --to: nothing is uploaded again and no job is created; without --to the
    // recorded copy is followed; another --to is refused.
    let out = s.submit("run", &["--to", copy, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = json_lines(&out.stdout);
    assert_eq!(
        (
            lines[0]["uploaded"].clone(),
            lines[0]["already_done"].clone()
        ),
        (json!(0), json!(true))
    );
    assert_eq!(
        lines[1],
        json!({"type": "summary", "run": copy, "dry_run": false, "to_create": 0, "created": 0, "held": 0})
    );
    let out = s.submit("run", &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(json_lines(&out.stdout)[0]["to_create"], 0);
    assert_eq!(s.jobs().len(), 3);
    let out = s.submit("run", &["--to", "gs://runs/elsewhere"]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "error: run/state.json records that this run was uploaded to gs://runs/up1, and its jobs are recorded there: give --to gs://runs/up1 (or none)\n"
    );
    // A run already on Cloud Storage takes no --to; a dry run of the uploaded run uploads and
    // sends nothing.
    let out = s.submit(copy, &["--to", "gs://runs/elsewhere"]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "error: --to gs://runs/elsewhere: gs://runs/up1 is not a local run; --to uploads a local run first\n"
    );
    let out = s.submit("run", &["--to", copy, "--dry-run", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        json_lines(&out.stdout),
        vec![
            json!({"type": "summary", "run": copy, "dry_run": true, "to_create": 0, "created": 0, "held": 0})
        ]
    );
}
