//! `batchline emulator`: a local Vertex AI batch endpoint for tests and offline rehearsals.
//!
//! It serves create/get/list/cancel/delete of `batchPredictionJobs` on `/v1/` and `/v1beta1/`
//! ([`http`]), with the bodies, state names and error shapes of [`crate::vertex::wire`], and runs
//! every job the way `VERTEX.md` records Vertex doing it ([`jobs`]): the input is read through
//! `object_store` (a folder where `gs://b/k` is `DIR/b/k`, or a GCS-compatible server), checked like
//! `validate` checks it (a whole-job finding fails the import with code 3), and answered row by row
//! with deterministic synthetic responses whose `cachedContentTokenCount` comes from the same
//! implicit-cache model `prepare` and `stats` predict with ([`rows`]; `docs/cache-model.md`).
//! Failures, end states, queue time, 429s on create and speed are flags ([`EmulatorConfig`]).
//!
//! It is a **model**, not Google's behaviour: `docs/emulator.md` lists where it is a guess.
//! It listens on 127.0.0.1 only.

pub mod http;
pub mod jobs;
pub mod resume;
pub mod rows;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore};

use crate::models::ModelTable;

/// Where job inputs are read and rows written.
#[derive(Debug, Clone)]
pub enum StorageConfig {
    /// A folder: `gs://bucket/key` is `root/bucket/key`.
    Local(PathBuf),
    /// A GCS-compatible server (the XML API, as object_store speaks it) with a fixed bearer token.
    Gcs {
        /// Base URL, e.g. `http://127.0.0.1:9023`.
        endpoint: String,
        /// Bearer token sent to it.
        token: String,
    },
}

/// Rates of injected row failures, each a probability in [0, 1]; they are drawn in this order and
/// must sum to at most 1.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FailureRates {
    /// `Internal Server Error` rows (500 INTERNAL).
    pub internal: f64,
    /// `Bad Request` rows (400 INVALID_ARGUMENT).
    pub invalid_argument: f64,
    /// Rows blocked by safety (`promptFeedback.blockReason`, no candidates, empty status).
    pub safety: f64,
}

/// Member order of prediction rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RowLayout {
    /// Since 2025-11: `request`, `status`, `response`, `processed_time`.
    #[default]
    Current,
    /// Until 2025-09: `status`, `processed_time`, `request`, `response`.
    Y2025,
}

/// The implicit-cache model's parameters (see `docs/cache-model.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// W: rows running at once (default 256, as `prepare --sim-workers`).
    pub workers: usize,
    /// Rounds an entry lives after its last use; `None` = never expires (default `Some(5)`).
    pub ttl_rounds: Option<u64>,
    /// Minimum cached prefix; `None` takes the model table's value for the job's model.
    pub min_cache_tokens: Option<u64>,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            workers: 256,
            ttl_rounds: Some(5),
            min_cache_tokens: None,
        }
    }
}

/// How a job ends when asked to end badly (flag `--end-state`, or the job label
/// `emulator_end_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndState {
    /// `JOB_STATE_FAILED` with code 13 once half of the rows are exported.
    Failed,
    /// `JOB_STATE_CANCELLED` (code 1) once half of the rows are exported, as if cancelled.
    Cancelled,
    /// `JOB_STATE_EXPIRED` with no error, straight from the queue, no rows.
    Expired,
}

impl EndState {
    /// `failed`, `cancelled` or `expired`.
    pub fn parse(s: &str) -> Option<EndState> {
        match s {
            "failed" => Some(EndState::Failed),
            "cancelled" => Some(EndState::Cancelled),
            "expired" => Some(EndState::Expired),
            _ => None,
        }
    }
}

/// Everything the emulator can be told.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Where inputs and outputs live.
    pub storage: StorageConfig,
    /// Seed of shuffles and failure draws (the same seed and input give the same rows).
    pub seed: u64,
    /// Member order of rows.
    pub layout: RowLayout,
    /// Injected row failures.
    pub rates: FailureRates,
    /// End every job this way (`None`: succeed).
    pub end_state: Option<EndState>,
    /// Time each job stays in `JOB_STATE_PENDING` before it runs (or expires).
    pub pending_for: Duration,
    /// Only the first N jobs created wait `pending_for`; later ones start at once (`None`: all).
    pub pending_jobs: Option<u64>,
    /// Answer this many creates with 429 RESOURCE_EXHAUSTED before accepting any.
    pub reject_creates: u32,
    /// Rows finished per second per job; 0 = as fast as possible.
    pub rows_per_second: f64,
    /// Rows per incremental export file (at least 1).
    pub export_rows: usize,
    /// The implicit-cache model.
    pub cache: CacheConfig,
    /// Model facts (minimum cacheable tokens, tokenizer).
    pub models: ModelTable,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            storage: StorageConfig::Local(PathBuf::from(".")),
            seed: 1,
            layout: RowLayout::Current,
            rates: FailureRates::default(),
            end_state: None,
            pending_for: Duration::ZERO,
            pending_jobs: None,
            reject_creates: 0,
            rows_per_second: 0.0,
            export_rows: 10_000,
            cache: CacheConfig::default(),
            models: ModelTable::builtin(),
        }
    }
}

/// Splits `gs://bucket/key` into bucket and key.
pub fn split_gs(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("gs://")?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then_some((bucket, key))
}

/// The store holding `bucket`, and the object path of `key` in it.
pub fn store_for(
    storage: &StorageConfig,
    bucket: &str,
    key: &str,
) -> Result<(Arc<dyn ObjectStore>, ObjectPath), String> {
    if bucket.contains(['/', '\\']) || bucket == "." || bucket == ".." {
        return Err(format!("gs://{bucket}: not a bucket name"));
    }
    let path = ObjectPath::parse(key.trim_matches('/'))
        .map_err(|e| format!("gs://{bucket}/{key}: {e}"))?;
    let store: Arc<dyn ObjectStore> = match storage {
        StorageConfig::Local(root) => {
            let dir = root.join(bucket);
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            Arc::new(
                LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| format!("{}: {e}", dir.display()))?,
            )
        }
        StorageConfig::Gcs { endpoint, token } => Arc::new(
            GoogleCloudStorageBuilder::new()
                .with_bucket_name(bucket)
                .with_base_url(endpoint)
                .with_bearer_token(token.clone())
                .with_client_options(ClientOptions::new().with_allow_http(true))
                .build()
                .map_err(|e| e.to_string())?,
        ),
    };
    Ok((store, path))
}
