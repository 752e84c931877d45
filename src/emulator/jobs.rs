//! The emulator's jobs: the table the HTTP layer reads and writes, and the life of one job
//! (`PENDING` → `RUNNING` → `SUCCEEDED`, or `FAILED`, `CANCELLING` → `CANCELLED`, `EXPIRED`).
//!
//! A job's rows are made at once ([`super::rows::import`]) and then exported piece by piece
//! (`--export-rows` rows per file, paced by `--rows-per-second`) under
//! `{outputUriPrefix}/prediction-model-<UTC time with microseconds>Z/incremental_predictions/`;
//! when all are out, `predictions.jsonl` in the folder holds every row once more, in the same
//! order and with the same bytes (the pieces as written, not formatted again: a row's
//! `processed_time` is the same in both). So the incremental files together hold every row exactly once, and so does
//! `predictions.jsonl`: a reader takes one or the other, never both.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use object_store::{ObjectStoreExt, PutPayload};

use crate::vertex::wire::{BatchPredictionJob, CompletionStats, JobState, OutputInfo, Status};

use super::rows::{counter_for, import, ImportOptions, JobRows};
use super::{split_gs, store_for, EmulatorConfig, EndState};
use crate::plan::tokens::TokenCounter;

/// The label that asks one job to end badly: `failed`, `cancelled` or `expired`.
pub const END_STATE_LABEL: &str = "emulator_end_state";

/// Job ids are this plus the job's number (1 for the first created): Vertex ids are 19-digit
/// numbers, and Google's SDK accepts only digits.
const ID_BASE: u64 = 4_000_000_000_000_000_000;

/// One job in the table.
pub struct Entry {
    /// The resource as served.
    pub job: BatchPredictionJob,
    /// Set by a cancel request.
    pub cancel: Arc<AtomicBool>,
}

/// All jobs, by numeric id, and the emulator's settings.
pub struct Jobs {
    /// Settings.
    pub config: EmulatorConfig,
    /// Jobs by id.
    pub table: Mutex<BTreeMap<u64, Entry>>,
    /// Creates still to be answered with 429.
    pub rejects_left: Mutex<u32>,
    next_id: Mutex<u64>,
    /// Token counters by model id, opened once (loading a vocabulary takes most of a second).
    counters: Mutex<HashMap<String, Option<Arc<dyn TokenCounter>>>>,
}

/// Now as Vertex writes times: RFC 3339, microseconds, `Z`.
pub fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl Jobs {
    /// An empty table.
    pub fn new(config: EmulatorConfig) -> Arc<Jobs> {
        let rejects = config.reject_creates;
        Arc::new(Jobs {
            config,
            table: Mutex::new(BTreeMap::new()),
            rejects_left: Mutex::new(rejects),
            next_id: Mutex::new(0),
            counters: Mutex::new(HashMap::new()),
        })
    }

    /// The token counter of `model`'s vocabulary, opened on first use and kept (`None`: not
    /// available, prompt tokens by bytes).
    fn counter(&self, model: &str) -> Option<Arc<dyn TokenCounter>> {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        counters
            .entry(super::rows::model_id(model).to_string())
            .or_insert_with(|| counter_for(model, &self.config.models))
            .clone()
    }

    /// Adds `job` (already checked) under a new numeric id in `parent`, starts it, and returns
    /// the resource as created.
    pub fn create(
        self: &Arc<Self>,
        parent: &str,
        mut job: BatchPredictionJob,
    ) -> BatchPredictionJob {
        let id = {
            let mut n = self.next_id.lock().expect("job ids");
            *n += 1;
            ID_BASE + *n
        };
        let now = now_rfc3339();
        job.name = Some(format!("{parent}/batchPredictionJobs/{id}"));
        job.state = Some(JobState::Pending);
        job.create_time = Some(now.clone());
        job.update_time = Some(now);
        job.completion_stats = None;
        job.output_info = None;
        job.error = None;
        job.start_time = None;
        job.end_time = None;
        let cancel = Arc::new(AtomicBool::new(false));
        self.table.lock().expect("job table").insert(
            id,
            Entry {
                job: job.clone(),
                cancel: Arc::clone(&cancel),
            },
        );
        let jobs = Arc::clone(self);
        tokio::spawn(async move { jobs.run(id, cancel).await });
        job
    }

    /// Applies `f` to job `id` and stamps `updateTime`.
    fn update(&self, id: u64, f: impl FnOnce(&mut BatchPredictionJob)) {
        if let Some(e) = self.table.lock().expect("job table").get_mut(&id) {
            f(&mut e.job);
            e.job.update_time = Some(now_rfc3339());
        }
    }

    fn end(&self, id: u64, state: JobState, error: Option<Status>, stats: Option<CompletionStats>) {
        self.update(id, |j| {
            j.state = Some(state);
            j.error = error;
            j.completion_stats = stats;
            j.end_time = Some(now_rfc3339());
        });
    }

    fn snapshot(&self, id: u64) -> Option<BatchPredictionJob> {
        self.table
            .lock()
            .expect("job table")
            .get(&id)
            .map(|e| e.job.clone())
    }

    /// Sleeps `d` in short steps; `true` if a cancel arrived meanwhile.
    async fn sleep_unless_cancelled(cancel: &AtomicBool, d: Duration) -> bool {
        let until = Instant::now() + d;
        loop {
            if cancel.load(Ordering::SeqCst) {
                return true;
            }
            let now = Instant::now();
            if now >= until {
                return false;
            }
            tokio::time::sleep((until - now).min(Duration::from_millis(20))).await;
        }
    }

    fn cancelled(&self, id: u64) {
        self.end(
            id,
            JobState::Cancelled,
            Some(Status {
                code: 1,
                message: "CANCELED".into(),
                details: Vec::new(),
            }),
            None,
        );
    }

    async fn run(self: Arc<Self>, id: u64, cancel: Arc<AtomicBool>) {
        let Some(job) = self.snapshot(id) else { return };
        let end_state = job
            .labels
            .get(END_STATE_LABEL)
            .and_then(|s| EndState::parse(s))
            .or(self.config.end_state);
        let queued = match self.config.pending_jobs {
            Some(first) => id - ID_BASE <= first,
            None => true,
        };
        if queued && Self::sleep_unless_cancelled(&cancel, self.config.pending_for).await {
            return self.cancelled(id);
        }
        if end_state == Some(EndState::Expired) {
            return self.end(id, JobState::Expired, None, None);
        }
        self.update(id, |j| {
            j.state = Some(JobState::Running);
            j.start_time = Some(now_rfc3339());
        });
        let input = job.input_config.clone().unwrap_or_default();
        let output = job.output_config.clone().unwrap_or_default();
        // BigQuery: no table is read or written (there is none here); the job goes through its
        // states and reports where Vertex would have written.
        if input.bigquery_source.is_some() || output.bigquery_destination.is_some() {
            return self.run_without_table(id, &cancel, &job, end_state);
        }
        let prefix = output
            .gcs_destination
            .map(|d| d.output_uri_prefix)
            .unwrap_or_default();
        let folder = format!(
            "{}/prediction-model-{}",
            prefix.trim_end_matches('/'),
            Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ")
        );
        self.update(id, |j| {
            j.output_info = Some(OutputInfo {
                gcs_output_directory: Some(folder.clone()),
                ..Default::default()
            })
        });
        let fail = |code: i32, message: String| {
            self.end(
                id,
                JobState::Failed,
                Some(Status {
                    code,
                    message,
                    details: Vec::new(),
                }),
                None,
            )
        };
        // Read the input files, one after the other, as one file.
        let mut data = Vec::new();
        for uri in input.gcs_source.map(|s| s.uris).unwrap_or_default() {
            let read = async {
                let (bucket, key) =
                    split_gs(&uri).ok_or_else(|| format!("{uri}: not a gs:// URI"))?;
                let (store, path) = store_for(&self.config.storage, bucket, key)?;
                let got = store.get(&path).await.map_err(|e| e.to_string())?;
                got.bytes().await.map_err(|e| e.to_string())
            };
            match read.await {
                Ok(bytes) if data.is_empty() => {
                    // The first (usually only) file: its buffer, without a copy when unshared.
                    data = Vec::from(bytes);
                    if !data.ends_with(b"\n") && !data.is_empty() {
                        data.push(b'\n');
                    }
                }
                Ok(bytes) => {
                    data.extend_from_slice(&bytes);
                    if !data.ends_with(b"\n") && !data.is_empty() {
                        data.push(b'\n');
                    }
                }
                Err(e) => return fail(9, format!("Failed to read the input file {uri}: {e}")),
            }
        }
        // Native resume: finished rows of an earlier job are carried, the rest run again.
        let (data, carried, carried_rows) = match super::resume::split(&data) {
            Some(r) => (r.to_run, r.carried, r.carried_rows),
            None => (data, Vec::new(), 0),
        };
        if carried_rows > 0 && data.iter().all(u8::is_ascii_whitespace) {
            return match self.write_carried(&folder, &carried, true).await {
                Ok(()) => self.end(
                    id,
                    JobState::Succeeded,
                    None,
                    Some(CompletionStats::from_counts(carried_rows, 0, 0)),
                ),
                Err(e) => fail(7, format!("Failed to write the output to {folder}: {e}")),
            };
        }
        let model = job.model.clone().unwrap_or_default();
        let config = self.config.clone();
        let seed = config.seed ^ id;
        let jobs = Arc::clone(&self);
        let imported = tokio::task::spawn_blocking(move || {
            let counter = jobs.counter(&model);
            import(
                "input",
                &data,
                &ImportOptions {
                    model: &model,
                    models: &config.models,
                    rates: config.rates,
                    cache: config.cache,
                    seed,
                    counter: counter.as_deref(),
                },
            )
        })
        .await;
        let rows = match imported {
            Ok(Ok(rows)) => Arc::new(rows),
            Ok(Err(f)) => return fail(3, f.message),
            Err(e) => return fail(13, format!("Internal error: {e}")),
        };
        if carried_rows > 0 {
            if let Err(e) = self.write_carried(&folder, &carried, false).await {
                return fail(7, format!("Failed to write the output to {folder}: {e}"));
            }
        }
        match self
            .export(id, &cancel, &rows, &folder, end_state, &carried)
            .await
        {
            Ok(Finish::Done) => {
                let ran = rows.rows.iter().filter(|r| r.outcome.successful()).count() as u64;
                let failed = rows.rows.len() as u64 - ran;
                let ok = ran + carried_rows;
                self.end(
                    id,
                    JobState::Succeeded,
                    None,
                    Some(CompletionStats::from_counts(ok, failed, 0)),
                )
            }
            Ok(Finish::Cancelled) => self.cancelled(id),
            Ok(Finish::Failed(done)) => {
                let ran = rows.rows[..done]
                    .iter()
                    .filter(|r| r.outcome.successful())
                    .count() as u64;
                let ok = ran + carried_rows;
                self.end(
                    id,
                    JobState::Failed,
                    Some(Status {
                        code: 13,
                        message: "Internal error occurred. The batch prediction job failed (emulated by --end-state failed).".into(),
                        details: Vec::new(),
                    }),
                    Some(CompletionStats::from_counts(ok, done as u64 - ran, (rows.rows.len() - done) as u64)),
                )
            }
            Err(e) => fail(7, format!("Failed to write the output to {folder}: {e}")),
        }
    }

    /// The rest of a job with a BigQuery source or destination, after it started running:
    /// `outputInfo` names a BigQuery table (`bigqueryOutputDataset`, and `bigqueryOutputTable`
    /// `predictions_<UTC time>`; a destination that is only a project gets a new dataset
    /// `prediction_<model>_<UTC time>`) or a Cloud Storage folder (nothing is written into it);
    /// then it ends as asked (`--end-state failed`: code 13; `cancelled`, or a cancel request:
    /// `JOB_STATE_CANCELLED`), else `JOB_STATE_SUCCEEDED`, with `completionStats` of zero rows
    /// (`{}`: Vertex leaves zero counts out).
    fn run_without_table(
        &self,
        id: u64,
        cancel: &AtomicBool,
        job: &BatchPredictionJob,
        end_state: Option<EndState>,
    ) {
        let now = Utc::now();
        let stamp = now.format("%Y_%m_%dT%H_%M_%S_%3fZ");
        let output = job.output_config.clone().unwrap_or_default();
        let info = match output.bigquery_destination {
            Some(bq) => {
                let dest = bq.output_uri.trim_end_matches('.');
                let dataset = if dest.trim_start_matches("bq://").contains('.') {
                    dest.to_string()
                } else {
                    let model = job.model.as_deref().unwrap_or("model");
                    let model = model.rsplit('/').next().unwrap_or(model);
                    format!(
                        "{dest}.prediction_{}_{stamp}",
                        model.replace(['-', '.'], "_")
                    )
                };
                OutputInfo {
                    bigquery_output_dataset: Some(dataset),
                    bigquery_output_table: Some(format!("predictions_{stamp}")),
                    ..Default::default()
                }
            }
            None => OutputInfo {
                gcs_output_directory: Some(format!(
                    "{}/prediction-model-{}",
                    output
                        .gcs_destination
                        .map(|d| d.output_uri_prefix)
                        .unwrap_or_default()
                        .trim_end_matches('/'),
                    now.format("%Y-%m-%dT%H:%M:%S%.6fZ")
                )),
                ..Default::default()
            },
        };
        self.update(id, |j| j.output_info = Some(info));
        let none = Some(CompletionStats::from_counts(0, 0, 0));
        if cancel.load(Ordering::SeqCst) || end_state == Some(EndState::Cancelled) {
            return self.cancelled(id);
        }
        match end_state {
            Some(EndState::Failed) => self.end(
                id,
                JobState::Failed,
                Some(Status {
                    code: 13,
                    message: "Internal error occurred. The batch prediction job failed (emulated by --end-state failed).".into(),
                    details: Vec::new(),
                }),
                none,
            ),
            _ => self.end(id, JobState::Succeeded, None, none),
        }
    }

    /// Writes carried rows (native resume) as the first incremental file
    /// (`predictions_00000.jsonl`), and as `predictions.jsonl` too when `last` (nothing runs).
    async fn write_carried(&self, folder: &str, carried: &[u8], last: bool) -> Result<(), String> {
        let (bucket, key) = split_gs(folder).ok_or_else(|| format!("{folder}: not a gs:// URI"))?;
        let (store, base) = store_for(&self.config.storage, bucket, key)?;
        let mut paths = vec![base
            .clone()
            .join("incremental_predictions")
            .join("predictions_00000.jsonl")];
        if last {
            paths.push(base.clone().join("predictions.jsonl"));
        }
        for path in paths {
            store
                .put(&path, PutPayload::from(carried.to_vec()))
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Writes the rows piece by piece, then `predictions.jsonl` (carried rows first).
    async fn export(
        &self,
        id: u64,
        cancel: &AtomicBool,
        rows: &Arc<JobRows>,
        folder: &str,
        end_state: Option<EndState>,
        carried: &[u8],
    ) -> Result<Finish, String> {
        let (bucket, key) = split_gs(folder).ok_or_else(|| format!("{folder}: not a gs:// URI"))?;
        let (store, base) = store_for(&self.config.storage, bucket, key)?;
        let n = rows.rows.len();
        let per_file = self.config.export_rows.max(1);
        let half = n / 2;
        let started = Instant::now();
        let mut done = 0usize;
        let mut piece = 0usize;
        // predictions.jsonl: carried rows, then the pieces as written (each row formatted once,
        // the buffers shared, not copied).
        let mut all = vec![bytes::Bytes::copy_from_slice(carried)];
        while done < n {
            let end = (done + per_file).min(n);
            // Pace: row `end` finishes at end / rows_per_second after the start.
            if self.config.rows_per_second > 0.0 {
                let due = Duration::from_secs_f64(end as f64 / self.config.rows_per_second);
                if Self::sleep_unless_cancelled(cancel, due.saturating_sub(started.elapsed())).await
                {
                    return Ok(Finish::Cancelled);
                }
            }
            if cancel.load(Ordering::SeqCst) {
                return Ok(Finish::Cancelled);
            }
            piece += 1;
            let bytes = bytes::Bytes::from(write_rows(rows, done..end, self.config.layout).await);
            all.push(bytes.clone());
            let path = base
                .clone()
                .join("incremental_predictions")
                .join(format!("predictions_{piece:05}.jsonl").as_str());
            store
                .put(&path, PutPayload::from(bytes))
                .await
                .map_err(|e| e.to_string())?;
            done = end;
            let ok = rows.rows[..done]
                .iter()
                .filter(|r| r.outcome.successful())
                .count() as u64;
            self.update(id, |j| {
                j.completion_stats = Some(CompletionStats::from_counts(
                    ok,
                    done as u64 - ok,
                    (n - done) as u64,
                ))
            });
            if done >= half && done < n {
                match end_state {
                    Some(EndState::Cancelled) => {
                        self.update(id, |j| j.state = Some(JobState::Cancelling));
                        return Ok(Finish::Cancelled);
                    }
                    Some(EndState::Failed) => return Ok(Finish::Failed(done)),
                    _ => {}
                }
            }
        }
        store
            .put(
                &base.clone().join("predictions.jsonl"),
                all.into_iter().collect::<PutPayload>(),
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(Finish::Done)
    }
}

/// How an export ended.
enum Finish {
    Done,
    Cancelled,
    Failed(usize),
}

/// The rows of `range`, written on the blocking pool (CPU work), stamped now.
async fn write_rows(
    rows: &Arc<JobRows>,
    range: std::ops::Range<usize>,
    layout: super::RowLayout,
) -> Vec<u8> {
    let rows = Arc::clone(rows);
    let time = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, false);
    tokio::task::spawn_blocking(move || rows.write(range, layout, &time))
        .await
        .unwrap_or_default()
}
