//! The `batchPredictionJobs` resource as Vertex AI's REST API (v1 and v1beta1) sends and takes it:
//! serde types for the job, its create body, the list response, the delete operation and Google's
//! error body, plus the one function that builds `submit`'s create body.
//!
//! Rules these types keep:
//! - Member names are the REST (camelCase) names. Every optional member is skipped when absent, so a
//!   body serialised here carries only what the caller set, as Google's SDK sends it.
//! - Unknown members are kept ([`BatchPredictionJob::other`] and friends), never an error: Google adds
//!   members without notice, and a client that drops them could not write a job back unchanged.
//! - `completionStats` counts are strings (`"5"`, int64 in protobuf JSON) and only non-zero ones are
//!   present; [`CompletionStats::successful`] etc. read them as numbers.
//! - Unknown job states are kept as [`JobState::Other`], never an error.
//! - Times stay RFC 3339 strings as sent (`2026-12-04T16:15:00.123456Z`); nothing here parses them.
//!
//! The create body for a Cloud Storage source, as `google-genai` (Google's Python SDK) sends it for
//! `client.batches.create(model="gemini-2.5-flash", src="gs://b/in.jsonl", config={"dest": "gs://b/out"})`:
//! ```json
//! {"model": "publishers/google/models/gemini-2.5-flash",
//!  "inputConfig": {"instancesFormat": "jsonl", "gcsSource": {"uris": ["gs://b/in.jsonl"]}},
//!  "displayName": "…",
//!  "outputConfig": {"predictionsFormat": "jsonl", "gcsDestination": {"outputUriPrefix": "gs://b/out"}}}
//! ```
//! and for BigQuery `"instancesFormat": "bigquery", "bigquerySource": {"inputUri": "bq://p.d.t"}` with
//! `"predictionsFormat": "bigquery", "bigqueryDestination": {"outputUri": "bq://p.d"}`.
//! [`create_body`] builds exactly these.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::VertexError;

/// One batch prediction job (`projects.locations.batchPredictionJobs`), as created, got or listed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchPredictionJob {
    /// `projects/{project}/locations/{location}/batchPredictionJobs/{id}`; set by the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Required on create (at most 128 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `publishers/google/models/gemini-2.5-flash` or another model's resource name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Where the requests are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_config: Option<InputConfig>,
    /// Where the rows go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_config: Option<OutputConfig>,
    /// The job's state; set by the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<JobState>,
    /// Why the job failed or was cancelled (code 1 cancelled, 3 import failure, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Status>,
    /// Where the rows went (set once the job runs, also on failed jobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_info: Option<OutputInfo>,
    /// Row counts; absent (null) while pending and on cancelled jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_stats: Option<CompletionStats>,
    /// When the job was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    /// When the job first left the queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// When the job reached a terminal state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// When the job was last updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<String>,
    /// User labels (keys and values ≤ 63 characters, lowercase letters, digits, `_`, `-`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Never seen for Gemini batch; kept for completeness.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partial_failures: Vec<Status>,
    /// Members this type does not name, kept as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl BatchPredictionJob {
    /// The job's state, [`JobState::Unspecified`] when absent.
    pub fn state(&self) -> JobState {
        self.state.clone().unwrap_or(JobState::Unspecified)
    }

    /// The last path segment of [`name`](Self::name) (the numeric job id), if named.
    pub fn id(&self) -> Option<&str> {
        self.name.as_deref().and_then(|n| n.rsplit('/').next())
    }
}

/// `inputConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputConfig {
    /// `jsonl` for Cloud Storage, `bigquery` for a table.
    #[serde(default)]
    pub instances_format: String,
    /// Cloud Storage files (one per Gemini job; a wildcard has been seen to work).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs_source: Option<GcsSource>,
    /// A BigQuery table with a `request` column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bigquery_source: Option<BigQuerySource>,
    /// Members this type does not name.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `inputConfig.gcsSource`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GcsSource {
    /// `gs://bucket/object` URIs.
    #[serde(default)]
    pub uris: Vec<String>,
}

/// `inputConfig.bigquerySource`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BigQuerySource {
    /// `bq://project.dataset.table`.
    #[serde(default)]
    pub input_uri: String,
}

/// `outputConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputConfig {
    /// `jsonl` or `bigquery`.
    #[serde(default)]
    pub predictions_format: String,
    /// A Cloud Storage prefix; the job writes into a folder it creates under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs_destination: Option<GcsDestination>,
    /// A BigQuery project or dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bigquery_destination: Option<BigQueryDestination>,
    /// Members this type does not name.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `outputConfig.gcsDestination`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GcsDestination {
    /// `gs://bucket/prefix`.
    #[serde(default)]
    pub output_uri_prefix: String,
}

/// `outputConfig.bigqueryDestination`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BigQueryDestination {
    /// `bq://project` or `bq://project.dataset`.
    #[serde(default)]
    pub output_uri: String,
}

/// `outputInfo`: where the job wrote. Read the folder from here, never build it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputInfo {
    /// `gs://…/prediction-model-<UTC time with microseconds>Z`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs_output_directory: Option<String>,
    /// `bq://project.dataset` of the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bigquery_output_dataset: Option<String>,
    /// The output table's name inside that dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bigquery_output_table: Option<String>,
    /// Members this type does not name.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `completionStats`: row counts as strings; a zero count is absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletionStats {
    /// Rows that succeeded (`status` empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successful_count: Option<String>,
    /// Rows that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_count: Option<String>,
    /// Rows not finished; `"-1"` when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete_count: Option<String>,
    /// Members this type does not name.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl CompletionStats {
    /// Counts as Vertex writes them: only non-zero ones present.
    pub fn from_counts(successful: u64, failed: u64, incomplete: u64) -> CompletionStats {
        let s = |n: u64| (n != 0).then(|| n.to_string());
        CompletionStats {
            successful_count: s(successful),
            failed_count: s(failed),
            incomplete_count: s(incomplete),
            other: Map::new(),
        }
    }

    /// `successfulCount` as a number (absent = 0; unreadable = `None`).
    pub fn successful(&self) -> Option<i64> {
        count(&self.successful_count)
    }

    /// `failedCount` as a number (absent = 0; unreadable = `None`).
    pub fn failed(&self) -> Option<i64> {
        count(&self.failed_count)
    }

    /// `incompleteCount` as a number (absent = 0, `-1` = unknown; unreadable = `None`).
    pub fn incomplete(&self) -> Option<i64> {
        count(&self.incomplete_count)
    }
}

fn count(s: &Option<String>) -> Option<i64> {
    match s {
        None => Some(0),
        Some(s) => s.trim().parse().ok(),
    }
}

/// `google.rpc.Status` as it appears in a job's `error` and `partialFailures`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// A `google.rpc.Code` number (1 cancelled, 3 invalid argument, 9 failed precondition, 13 internal).
    #[serde(default)]
    pub code: i32,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// Typed details, kept as sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Value>,
}

/// The response of `GET …/batchPredictionJobs` (list).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListBatchPredictionJobsResponse {
    /// One page of jobs (absent when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub batch_prediction_jobs: Vec<BatchPredictionJob>,
    /// Pass as `pageToken` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// A long-running operation, the response of `DELETE …/batchPredictionJobs/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// `projects/…/locations/…/operations/{id}`.
    #[serde(default)]
    pub name: String,
    /// Operation metadata, kept as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Whether the operation has finished.
    #[serde(default)]
    pub done: bool,
    /// The error, if it finished with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Status>,
    /// The result, if it finished without error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
}

/// Google's error body: `{"error": {"code": 400, "message": "…", "status": "INVALID_ARGUMENT"}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// The HTTP status code.
    #[serde(default)]
    pub code: u16,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// The `google.rpc.Code` name (`INVALID_ARGUMENT`, `RESOURCE_EXHAUSTED`, …).
    #[serde(default)]
    pub status: String,
    /// Typed details, kept as sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Value>,
}

impl ErrorBody {
    /// An error body with no details.
    pub fn new(code: u16, status: &str, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code,
                message: message.into(),
                status: status.into(),
                details: Vec::new(),
            },
        }
    }
}

/// A job's state. Serialises as the REST name (`JOB_STATE_SUCCEEDED`); a name this type does not
/// know is kept as [`JobState::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JobState {
    /// `JOB_STATE_UNSPECIFIED`.
    Unspecified,
    /// `JOB_STATE_QUEUED`.
    Queued,
    /// `JOB_STATE_PENDING`.
    Pending,
    /// `JOB_STATE_RUNNING`.
    Running,
    /// `JOB_STATE_SUCCEEDED` (rows may still all have failed: judge by the rows).
    Succeeded,
    /// `JOB_STATE_FAILED`.
    Failed,
    /// `JOB_STATE_CANCELLING`.
    Cancelling,
    /// `JOB_STATE_CANCELLED`.
    Cancelled,
    /// `JOB_STATE_PAUSED`.
    Paused,
    /// `JOB_STATE_EXPIRED` (queued too long; usually no error message).
    Expired,
    /// `JOB_STATE_UPDATING`.
    Updating,
    /// `JOB_STATE_PARTIALLY_SUCCEEDED` (never seen for Gemini batch).
    PartiallySucceeded,
    /// A name this version does not know, as sent.
    Other(String),
}

/// Every named state with its REST name, in the order of Google's enum.
pub const JOB_STATES: [(JobState, &str); 12] = [
    (JobState::Unspecified, "JOB_STATE_UNSPECIFIED"),
    (JobState::Queued, "JOB_STATE_QUEUED"),
    (JobState::Pending, "JOB_STATE_PENDING"),
    (JobState::Running, "JOB_STATE_RUNNING"),
    (JobState::Succeeded, "JOB_STATE_SUCCEEDED"),
    (JobState::Failed, "JOB_STATE_FAILED"),
    (JobState::Cancelling, "JOB_STATE_CANCELLING"),
    (JobState::Cancelled, "JOB_STATE_CANCELLED"),
    (JobState::Paused, "JOB_STATE_PAUSED"),
    (JobState::Expired, "JOB_STATE_EXPIRED"),
    (JobState::Updating, "JOB_STATE_UPDATING"),
    (
        JobState::PartiallySucceeded,
        "JOB_STATE_PARTIALLY_SUCCEEDED",
    ),
];

impl JobState {
    /// The REST name.
    pub fn as_str(&self) -> &str {
        match self {
            JobState::Other(s) => s,
            known => {
                JOB_STATES
                    .iter()
                    .find(|(s, _)| s == known)
                    .expect("every named state is in JOB_STATES")
                    .1
            }
        }
    }

    /// The state named `name` (unknown names become [`JobState::Other`]).
    pub fn from_name(name: &str) -> JobState {
        JOB_STATES
            .iter()
            .find(|(_, n)| *n == name)
            .map_or_else(|| JobState::Other(name.to_string()), |(s, _)| s.clone())
    }

    /// Whether the job can change no more: succeeded, failed, cancelled, expired or partially
    /// succeeded.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            JobState::Succeeded
                | JobState::Failed
                | JobState::Cancelled
                | JobState::Expired
                | JobState::PartiallySucceeded
        )
    }

    /// Whether the job has not started yet (queued or pending).
    pub fn is_waiting(&self) -> bool {
        matches!(self, JobState::Queued | JobState::Pending)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for JobState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for JobState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Ok(JobState::from_name(&name))
    }
}

/// A job's input, as `submit --source` or a run's shard names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// One or more `gs://` files (JSONL).
    Gcs(Vec<String>),
    /// A BigQuery table, `bq://project.dataset.table`.
    BigQuery(String),
}

impl Source {
    /// `gs://…` or `bq://p.d.t`; anything else is an error naming the two forms.
    pub fn parse(uri: &str) -> Result<Source, VertexError> {
        if uri.starts_with("gs://") && uri.len() > 5 {
            Ok(Source::Gcs(vec![uri.to_string()]))
        } else if uri.starts_with("bq://") {
            bigquery_parts(uri, 3)?;
            Ok(Source::BigQuery(uri.to_string()))
        } else {
            Err(VertexError::Usage(format!(
                "{uri}: a batch job reads gs://bucket/object.jsonl or bq://project.dataset.table"
            )))
        }
    }
}

/// A job's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A Cloud Storage prefix, `gs://bucket/prefix`.
    Gcs(String),
    /// A BigQuery project or dataset, `bq://project[.dataset]`.
    BigQuery(String),
}

impl Destination {
    /// `gs://…` or `bq://p[.d]`.
    pub fn parse(uri: &str) -> Result<Destination, VertexError> {
        if uri.starts_with("gs://") && uri.len() > 5 {
            Ok(Destination::Gcs(uri.to_string()))
        } else if let Some(rest) = uri.strip_prefix("bq://") {
            let parts = rest.split('.').count();
            if !(1..=2).contains(&parts) || rest.split('.').any(str::is_empty) {
                return Err(VertexError::Usage(format!(
                    "{uri}: a BigQuery destination is bq://project or bq://project.dataset"
                )));
            }
            Ok(Destination::BigQuery(uri.to_string()))
        } else {
            Err(VertexError::Usage(format!(
                "{uri}: a batch job writes to gs://bucket/prefix or bq://project.dataset"
            )))
        }
    }

    /// The default destination of a BigQuery source: its dataset (`bq://p.d.t` → `bq://p.d`),
    /// where Vertex creates a new output table. A Cloud Storage source has no default.
    pub fn default_for(source: &Source) -> Option<Destination> {
        match source {
            Source::BigQuery(uri) => {
                let parts = bigquery_parts(uri, 3).ok()?;
                Some(Destination::BigQuery(format!(
                    "bq://{}.{}",
                    parts[0], parts[1]
                )))
            }
            Source::Gcs(_) => None,
        }
    }
}

/// The dot-separated parts after `bq://`, exactly `n` of them, none empty.
fn bigquery_parts(uri: &str, n: usize) -> Result<Vec<&str>, VertexError> {
    let parts: Vec<&str> = uri.strip_prefix("bq://").unwrap_or("").split('.').collect();
    if parts.len() != n || parts.iter().any(|p| p.is_empty()) {
        return Err(VertexError::Usage(format!(
            "{uri}: a BigQuery source is bq://project.dataset.table"
        )));
    }
    Ok(parts)
}

/// The model's resource name, by the rules of Google's SDK for Vertex: a name starting with
/// `projects/`, `models/` or `publishers/` is kept; `publisher/model` becomes
/// `publishers/publisher/models/model`; a short name becomes `publishers/google/models/{name}`.
/// Empty names and names with `..`, `?` or `&` are refused.
pub fn model_resource(model: &str) -> Result<String, VertexError> {
    let model = model.trim();
    if model.is_empty() || model.contains("..") || model.contains('?') || model.contains('&') {
        return Err(VertexError::Usage(format!("{model:?}: not a model name")));
    }
    Ok(
        if ["projects/", "models/", "publishers/"]
            .iter()
            .any(|p| model.starts_with(p))
        {
            model.to_string()
        } else if let Some((publisher, id)) = model.split_once('/') {
            format!("publishers/{publisher}/models/{id}")
        } else {
            format!("publishers/google/models/{model}")
        },
    )
}

/// Refuses a source the location is known not to serve: the `global` location runs batch jobs
/// from Cloud Storage but has been reported not to serve BigQuery sources, so such a job is
/// refused here with a clear message rather than left to fail on the service.
pub fn check_location(location: &str, source: &Source) -> Result<(), VertexError> {
    match source {
        Source::BigQuery(uri) if location == "global" => Err(VertexError::Usage(format!(
            "{uri}: the global location has been reported not to serve BigQuery sources; use a regional location such as us-central1"
        ))),
        _ => Ok(()),
    }
}

/// What a create body is made of (see [`create_body`]).
#[derive(Debug, Clone)]
pub struct CreateSpec {
    /// The job's display name (required by the service; at most 128 characters).
    pub display_name: String,
    /// A short model name or a full resource name (see [`model_resource`]).
    pub model: String,
    /// Where the requests are.
    pub source: Source,
    /// Where the rows go; `None` takes [`Destination::default_for`] the source.
    pub destination: Option<Destination>,
    /// Job labels.
    pub labels: BTreeMap<String, String>,
}

/// The `batchPredictionJobs` create body for `spec`, member for member what Google's SDK sends (see
/// the module documentation), plus `labels` when given. A Cloud Storage source needs a
/// destination; the formats follow the source and destination kinds.
pub fn create_body(spec: &CreateSpec) -> Result<BatchPredictionJob, VertexError> {
    if spec.display_name.is_empty() || spec.display_name.chars().count() > 128 {
        return Err(VertexError::Usage(format!(
            "display name {:?}: 1 to 128 characters",
            spec.display_name
        )));
    }
    let input_config = match &spec.source {
        Source::Gcs(uris) => InputConfig {
            instances_format: "jsonl".into(),
            gcs_source: Some(GcsSource { uris: uris.clone() }),
            ..Default::default()
        },
        Source::BigQuery(uri) => InputConfig {
            instances_format: "bigquery".into(),
            bigquery_source: Some(BigQuerySource {
                input_uri: uri.clone(),
            }),
            ..Default::default()
        },
    };
    let destination = match spec
        .destination
        .clone()
        .or_else(|| Destination::default_for(&spec.source))
    {
        Some(d) => d,
        None => {
            return Err(VertexError::Usage(
                "a Cloud Storage source needs a destination (gs://bucket/prefix)".into(),
            ))
        }
    };
    let output_config = match destination {
        Destination::Gcs(prefix) => OutputConfig {
            predictions_format: "jsonl".into(),
            gcs_destination: Some(GcsDestination {
                output_uri_prefix: prefix,
            }),
            ..Default::default()
        },
        Destination::BigQuery(uri) => OutputConfig {
            predictions_format: "bigquery".into(),
            bigquery_destination: Some(BigQueryDestination { output_uri: uri }),
            ..Default::default()
        },
    };
    Ok(BatchPredictionJob {
        display_name: Some(spec.display_name.clone()),
        model: Some(model_resource(&spec.model)?),
        input_config: Some(input_config),
        output_config: Some(output_config),
        labels: spec.labels.clone(),
        ..Default::default()
    })
}

/// A job's full name, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobName {
    /// Project id or number.
    pub project: String,
    /// Location (`us-central1`, `global`).
    pub location: String,
    /// The numeric job id.
    pub id: String,
}

impl JobName {
    /// Parses `projects/{p}/locations/{l}/batchPredictionJobs/{id}`.
    pub fn parse(name: &str) -> Option<JobName> {
        let parts: Vec<&str> = name.split('/').collect();
        match parts.as_slice() {
            ["projects", p, "locations", l, "batchPredictionJobs", id]
                if !p.is_empty() && !l.is_empty() && !id.is_empty() =>
            {
                Some(JobName {
                    project: p.to_string(),
                    location: l.to_string(),
                    id: id.to_string(),
                })
            }
            _ => None,
        }
    }
}

impl fmt::Display for JobName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "projects/{}/locations/{}/batchPredictionJobs/{}",
            self.project, self.location, self.id
        )
    }
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
