//! Wire types against the bodies Google's SDK sends and the job resources the service returns.

use super::*;
use serde_json::json;

fn spec(source: &str, dest: Option<&str>) -> CreateSpec {
    CreateSpec {
        display_name: "run-1-shard-0".into(),
        model: "gemini-2.5-flash".into(),
        source: Source::parse(source).unwrap(),
        destination: dest.map(|d| Destination::parse(d).unwrap()),
        labels: BTreeMap::new(),
    }
}

#[test]
fn create_body_for_cloud_storage_is_the_sdk_body() {
    // google-genai: batches.create(model="gemini-2.5-flash", src="gs://b/in.jsonl",
    // config={"dest": "gs://b/out", "display_name": "run-1-shard-0"}).
    let body = create_body(&spec("gs://b/in.jsonl", Some("gs://b/out"))).unwrap();
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({
            "displayName": "run-1-shard-0",
            "model": "publishers/google/models/gemini-2.5-flash",
            "inputConfig": {"instancesFormat": "jsonl", "gcsSource": {"uris": ["gs://b/in.jsonl"]}},
            "outputConfig": {"predictionsFormat": "jsonl", "gcsDestination": {"outputUriPrefix": "gs://b/out"}}
        })
    );
}

#[test]
fn create_body_for_bigquery_defaults_to_the_source_dataset() {
    let mut s = spec("bq://p.d.t", None);
    s.labels.insert("batchline_run".into(), "r1".into());
    let body = create_body(&s).unwrap();
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({
            "displayName": "run-1-shard-0",
            "model": "publishers/google/models/gemini-2.5-flash",
            "inputConfig": {"instancesFormat": "bigquery", "bigquerySource": {"inputUri": "bq://p.d.t"}},
            "outputConfig": {"predictionsFormat": "bigquery", "bigqueryDestination": {"outputUri": "bq://p.d"}},
            "labels": {"batchline_run": "r1"}
        })
    );
    let body = create_body(&spec("bq://p.d.t", Some("bq://q.e"))).unwrap();
    assert_eq!(
        body.output_config
            .unwrap()
            .bigquery_destination
            .unwrap()
            .output_uri,
        "bq://q.e"
    );
}

#[test]
fn create_body_refuses_what_the_service_would() {
    assert!(create_body(&spec("gs://b/in.jsonl", None))
        .unwrap_err()
        .to_string()
        .contains("needs a destination"));
    assert!(Source::parse("bq://p.d").is_err());
    assert!(Source::parse("bq://p..t").is_err());
    assert!(Source::parse("/tmp/in.jsonl").is_err());
    assert!(Destination::parse("bq://p.d.t").is_err());
    let mut s = spec("gs://b/in.jsonl", Some("gs://b/o"));
    s.display_name = "x".repeat(129);
    assert!(create_body(&s).is_err());
}

#[test]
fn model_names_follow_the_sdk_rules() {
    let cases = [
        (
            "gemini-2.5-flash",
            "publishers/google/models/gemini-2.5-flash",
        ),
        ("anthropic/claude", "publishers/anthropic/models/claude"),
        (
            "projects/p/locations/l/models/123",
            "projects/p/locations/l/models/123",
        ),
        (
            "publishers/google/models/gemini-2.5-pro",
            "publishers/google/models/gemini-2.5-pro",
        ),
        ("models/x", "models/x"),
    ];
    for (given, want) in cases {
        assert_eq!(model_resource(given).unwrap(), want, "{given}");
    }
    for bad in ["", "a/../b", "m?x=1", "m&x"] {
        assert!(model_resource(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn job_resource_reads_strings_counts_unknown_members_and_states() {
    let text = r#"{
      "name": "projects/p/locations/us-central1/batchPredictionJobs/123",
      "displayName": "d", "model": "publishers/google/models/gemini-2.5-flash",
      "state": "JOB_STATE_SUCCEEDED",
      "completionStats": {"successfulCount": "5", "incompleteCount": "-1"},
      "outputInfo": {"gcsOutputDirectory": "gs://b/out/prediction-model-2026-12-04T16:15:00.123456Z"},
      "createTime": "2026-12-04T16:15:00.123456Z",
      "modelVersionId": "1", "someFutureMember": {"x": 1}
    }"#;
    let job: BatchPredictionJob = serde_json::from_str(text).unwrap();
    assert_eq!(job.state(), JobState::Succeeded);
    assert!(job.state().is_terminal());
    assert_eq!(job.id(), Some("123"));
    let stats = job.completion_stats.as_ref().unwrap();
    assert_eq!(
        (stats.successful(), stats.failed(), stats.incomplete()),
        (Some(5), Some(0), Some(-1))
    );
    assert_eq!(job.other["someFutureMember"], json!({"x": 1}));
    assert_eq!(job.other["modelVersionId"], json!("1"));
    // Written back, the unknown members are still there.
    let back = serde_json::to_value(&job).unwrap();
    assert_eq!(back["someFutureMember"], json!({"x": 1}));
    assert_eq!(
        back["completionStats"],
        json!({"successfulCount": "5", "incompleteCount": "-1"})
    );

    let odd: BatchPredictionJob =
        serde_json::from_str(r#"{"state": "JOB_STATE_NEW_THING"}"#).unwrap();
    assert_eq!(odd.state(), JobState::Other("JOB_STATE_NEW_THING".into()));
    assert!(!odd.state().is_terminal());
}

#[test]
fn every_state_name_round_trips() {
    for (state, name) in JOB_STATES.iter() {
        assert_eq!(state.as_str(), *name);
        assert_eq!(JobState::from_name(name), *state);
        assert_eq!(serde_json::to_string(state).unwrap(), format!("\"{name}\""));
    }
    let terminal: Vec<&str> = JOB_STATES
        .iter()
        .filter(|(s, _)| s.is_terminal())
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(
        terminal,
        [
            "JOB_STATE_SUCCEEDED",
            "JOB_STATE_FAILED",
            "JOB_STATE_CANCELLED",
            "JOB_STATE_EXPIRED",
            "JOB_STATE_PARTIALLY_SUCCEEDED"
        ]
    );
}

#[test]
fn completion_stats_omit_zero_counts() {
    assert_eq!(
        serde_json::to_value(CompletionStats::from_counts(5, 0, 0)).unwrap(),
        json!({"successfulCount": "5"})
    );
    assert_eq!(
        serde_json::to_value(CompletionStats::from_counts(0, 2, 1)).unwrap(),
        json!({"failedCount": "2", "incompleteCount": "1"})
    );
}

#[test]
fn list_and_error_bodies() {
    let list: ListBatchPredictionJobsResponse = serde_json::from_str(
        r#"{"batchPredictionJobs": [{"name": "projects/p/locations/l/batchPredictionJobs/1"}], "nextPageToken": "t2"}"#,
    )
    .unwrap();
    assert_eq!(list.batch_prediction_jobs.len(), 1);
    assert_eq!(list.next_page_token.as_deref(), Some("t2"));
    let empty: ListBatchPredictionJobsResponse = serde_json::from_str("{}").unwrap();
    assert!(empty.batch_prediction_jobs.is_empty() && empty.next_page_token.is_none());

    let err: ErrorBody = serde_json::from_str(
        r#"{"error": {"code": 400, "message": "Please use a valid role: user, model.", "status": "INVALID_ARGUMENT", "details": [{"@type": "x"}]}}"#,
    )
    .unwrap();
    assert_eq!(err.error.code, 400);
    assert_eq!(err.error.status, "INVALID_ARGUMENT");
    assert_eq!(err.error.details.len(), 1);
}

#[test]
fn job_names_parse_and_print() {
    let n = JobName::parse("projects/p/locations/us-central1/batchPredictionJobs/42").unwrap();
    assert_eq!(
        (n.project.as_str(), n.location.as_str(), n.id.as_str()),
        ("p", "us-central1", "42")
    );
    assert_eq!(
        n.to_string(),
        "projects/p/locations/us-central1/batchPredictionJobs/42"
    );
    assert!(JobName::parse("projects/p/locations/l/batchPredictionJobs/").is_none());
    assert!(JobName::parse("42").is_none());
}

#[test]
fn the_global_location_refuses_bigquery_sources_only() {
    let bq = Source::parse("bq://p.d.t").unwrap();
    let gcs = Source::parse("gs://b/in.jsonl").unwrap();
    assert!(check_location("global", &bq)
        .unwrap_err()
        .to_string()
        .contains("use a regional location"));
    assert!(check_location("us-central1", &bq).is_ok());
    assert!(check_location("global", &gcs).is_ok());
}
