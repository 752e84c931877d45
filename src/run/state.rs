//! `state.json`: the jobs of a run, as `submit`, `status`, `cancel` and `wait` record them.
//! `docs/run-format.md` ("state.json") is the specification.
//!
//! Rules:
//! - **One record per shard**, keyed by the shard's name in the run (`shards/shard-00000.jsonl`).
//!   A record holds the exact create body sent, the job's resource name once Vertex answered, the
//!   last state seen and the service's times.
//! - **Reserve, then create.** `submit` first records a shard as reserved (no job name yet) in a
//!   conditional write, and only then sends the create; so two `submit`s racing on one run cannot
//!   both create a job for a shard: the second one's write fails on the version it read.
//! - **Conditional writes.** [`StateFile::save`] creates `state.json` only if absent, and
//!   replaces it only if it is still the version read ([`crate::store::Store::put_if`]); a
//!   changed file is a [`Error::Usage`] that says to re-run. Local runs are replaced atomically
//!   (temporary name, then rename) without that check.
//!
//! This module knows nothing of the Vertex client: it stores what the commands hand it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Run;
use crate::error::{Error, Result};
use crate::store::Meta;
use crate::vertex::wire::{BatchPredictionJob, CompletionStats, JobState, Status};

/// The file's name in the run.
pub const STATE_FILE: &str = "state.json";

/// Current format of `state.json`.
pub const STATE_FORMAT: u32 = 1;

/// The jobs of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// [`STATE_FORMAT`].
    pub format_version: u32,
    /// The run id carried by every job's `batchline_run` label.
    pub run_id: String,
    /// The Vertex project the jobs were created in.
    pub project: String,
    /// The Vertex location.
    pub location: String,
    /// `submit --max-concurrent N`: at most N jobs live at once; shards over it are held back
    /// and `wait` creates them as earlier jobs end. Absent: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<usize>,
    /// `submit --source`: the input of the run's one job (`bq://project.dataset.table`, or a
    /// `gs://` file batchline did not prepare). Absent for a prepared run, whose jobs read its
    /// shards. A run with a source holds only `state.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Where that job writes (`bq://project[.dataset]` or `gs://…`), as given or defaulted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// One record per shard, by shard name (`shards/shard-00000.jsonl`), in name order.
    pub jobs: BTreeMap<String, JobRecord>,
}

impl RunState {
    /// Jobs created and not yet ended (what `--max-concurrent` counts).
    pub fn live(&self) -> usize {
        self.jobs
            .values()
            .filter(|r| r.name.is_some() && !r.is_terminal())
            .count()
    }

    /// The shards held back (no job yet), in shard order.
    pub fn held_shards(&self) -> Vec<String> {
        self.jobs
            .iter()
            .filter(|(_, r)| r.is_held())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// How many more jobs may be created now under [`Self::max_concurrent`].
    pub fn free_slots(&self) -> usize {
        match self.max_concurrent {
            Some(n) => n.saturating_sub(self.live()),
            None => usize::MAX,
        }
    }
}

/// One shard's job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// `projects/…/locations/…/batchPredictionJobs/ID`; `None` while reserved (the create was
    /// not answered yet, or its answer was lost: a re-run looks the job up by its labels).
    pub name: Option<String>,
    /// The display name sent.
    pub display_name: String,
    /// `gs://…/RUN/output/<shard>/`, this job's own output prefix.
    pub output_prefix: String,
    /// The exact create body sent.
    pub body: BatchPredictionJob,
    /// The last state seen; `RESERVED` (ours) until Vertex answered the create.
    pub state: String,
    /// When this process reserved the shard (RFC 3339, UTC).
    pub reserved_at: String,
    /// When the state was last read from Vertex (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
    /// The service's `createTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    /// The service's `startTime` (the job left the queue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// The service's `endTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// `completionStats` as last seen (strings; only non-zero counts present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_stats: Option<CompletionStats>,
    /// The job's `error`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Status>,
    /// `outputInfo.gcsOutputDirectory`, the folder the rows went to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_directory: Option<String>,
    /// `outputInfo.bigqueryOutputDataset` and `.bigqueryOutputTable` joined
    /// (`bq://project.dataset.predictions_…`), the table the rows went to (a BigQuery destination).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_table: Option<String>,
    /// Requests in the shard (from the manifest), for progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// Jobs this shard had before the current one, oldest first (`wait --resubmit-stuck`
    /// cancelled them and created the current one with the same body).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous: Vec<PreviousJob>,
    /// Why the shard is held back (state [`HELD`]: no job yet; `wait` creates it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
}

/// A job a shard had before its current one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviousJob {
    /// Its resource name.
    pub name: String,
    /// The state seen when it was replaced (after the cancel).
    pub state: String,
    /// The service's `createTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    /// Seconds it had waited in the queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waited_seconds: Option<i64>,
    /// Why it was replaced.
    pub reason: String,
    /// When (ours, RFC 3339 UTC).
    pub replaced_at: String,
}

/// The state of a record not yet answered by Vertex.
pub const RESERVED: &str = "RESERVED";

/// The state of a shard held back (`--max-concurrent`, or a 429 on create): no job was created
/// and none is being created; `wait` (or `submit` again) creates it later.
pub const HELD: &str = "HELD";

impl JobRecord {
    /// A reserved record for `body` (no job yet).
    pub fn reserved(body: BatchPredictionJob, output_prefix: String, now: String) -> JobRecord {
        JobRecord {
            name: None,
            display_name: body.display_name.clone().unwrap_or_default(),
            output_prefix,
            body,
            state: RESERVED.into(),
            reserved_at: now,
            checked_at: None,
            create_time: None,
            start_time: None,
            end_time: None,
            completion_stats: None,
            error: None,
            output_directory: None,
            output_table: None,
            requests: None,
            previous: Vec::new(),
            held: None,
        }
    }

    /// A held record for `body`: no job, `why` says what holds it back.
    pub fn held(
        body: BatchPredictionJob,
        output_prefix: String,
        now: String,
        why: String,
    ) -> JobRecord {
        let mut r = JobRecord::reserved(body, output_prefix, now);
        r.state = HELD.into();
        r.held = Some(why);
        r
    }

    /// Moves the current job into [`Self::previous`] (with `reason`) and reserves the shard again
    /// for a new create of the same body.
    pub fn replace(&mut self, reason: String, waited_seconds: Option<i64>, now: String) {
        if let Some(name) = self.name.take() {
            self.previous.push(PreviousJob {
                name,
                state: self.state.clone(),
                create_time: self.create_time.clone(),
                waited_seconds,
                reason,
                replaced_at: now.clone(),
            });
        }
        let previous = std::mem::take(&mut self.previous);
        let requests = self.requests;
        *self = JobRecord::reserved(self.body.clone(), self.output_prefix.clone(), now);
        self.previous = previous;
        self.requests = requests;
    }

    /// True for a shard held back (no job yet, none being created).
    pub fn is_held(&self) -> bool {
        self.name.is_none() && self.state == HELD
    }

    /// Takes what Vertex says of the job (name, state, times, counts, error).
    pub fn update(&mut self, job: &BatchPredictionJob, now: String) {
        if job.name.is_some() {
            self.name = job.name.clone();
        }
        self.held = None;
        self.state = job.state().as_str().to_string();
        self.checked_at = Some(now);
        self.create_time = job.create_time.clone().or(self.create_time.take());
        self.start_time = job.start_time.clone().or(self.start_time.take());
        self.end_time = job.end_time.clone().or(self.end_time.take());
        self.completion_stats = job.completion_stats.clone();
        self.error = job.error.clone();
        if let Some(dir) = job
            .output_info
            .as_ref()
            .and_then(|o| o.gcs_output_directory.clone())
        {
            self.output_directory = Some(dir);
        }
        if let Some(table) = job.output_info.as_ref().and_then(bigquery_table) {
            self.output_table = Some(table);
        }
    }

    /// The BigQuery destination the job writes to (`bq://…`), if it writes to BigQuery.
    pub fn bigquery_destination(&self) -> Option<&str> {
        self.body
            .output_config
            .as_ref()
            .and_then(|o| o.bigquery_destination.as_ref())
            .map(|b| b.output_uri.as_str())
    }

    /// The last state seen, as a [`JobState`] (`RESERVED` is [`JobState::Other`]).
    pub fn job_state(&self) -> JobState {
        JobState::from_name(&self.state)
    }

    /// True when the job has ended (succeeded, failed, cancelled, expired, partially succeeded).
    pub fn is_terminal(&self) -> bool {
        self.job_state().is_terminal()
    }
}

/// `bq://project.dataset.table` from `outputInfo`: the dataset joined with the table, or the
/// dataset alone while the job has not named its table.
fn bigquery_table(info: &crate::vertex::wire::OutputInfo) -> Option<String> {
    let dataset = info.bigquery_output_dataset.as_deref()?;
    Some(match info.bigquery_output_table.as_deref() {
        Some(t) if !t.is_empty() => format!("{dataset}.{t}"),
        _ => dataset.to_string(),
    })
}

/// `state.json` as read, with the version it was read at (for the conditional write).
#[derive(Debug)]
pub struct StateFile {
    /// The content; `None` when the run has no `state.json` yet.
    pub state: Option<RunState>,
    seen: Option<Meta>,
}

impl StateFile {
    /// Reads the run's `state.json` (absent is not an error). The version is taken before the
    /// content, so a change in between makes the next [`save`](Self::save) fail, never succeed
    /// over an unseen write.
    pub fn load(run: &Run) -> Result<StateFile> {
        let seen = run.store().head(STATE_FILE)?;
        let Some(bytes) = run.read(STATE_FILE)? else {
            return Ok(StateFile {
                state: None,
                seen: None,
            });
        };
        if let Ok(pointer) = serde_json::from_slice::<UploadedTo>(&bytes) {
            return Err(Error::Usage(format!(
                "{} says this run was uploaded to {}: its jobs are recorded there (give that)",
                run.describe(STATE_FILE),
                pointer.uploaded_to
            )));
        }
        let state: RunState = serde_json::from_slice(&bytes).map_err(|e| Error::BadData {
            path: run.describe(STATE_FILE).into(),
            message: format!("not a batchline state.json: {e}"),
        })?;
        if state.format_version != STATE_FORMAT {
            return Err(Error::BadData {
                path: run.describe(STATE_FILE).into(),
                message: format!(
                    "format version {} (this batchline reads {STATE_FORMAT})",
                    state.format_version
                ),
            });
        }
        Ok(StateFile {
            state: Some(state),
            seen,
        })
    }

    /// Writes `state` whole: created only if there was none when read, replaced only if it is
    /// still the version read (on object stores). Another writer in between is a usage error
    /// naming the file; nothing is written then.
    pub fn save(&mut self, run: &Run, state: &RunState) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(state).expect("invariant: state serialises");
        bytes.push(b'\n');
        let written = if run.is_local() {
            Some(
                run.store()
                    .put(STATE_FILE, &bytes, crate::store::Durability::Synced)?,
            )
        } else {
            match &self.seen {
                None => run.store().put_new(STATE_FILE, &bytes)?,
                Some(seen) if seen.version.is_some() || !is_gcs(run) => {
                    run.store().put_if(STATE_FILE, &bytes, seen)?
                }
                // A server that reports no generation (moto, the tests' storage emulator; GCS
                // always sends `x-goog-generation`) cannot take a generation-conditioned write:
                // the file is replaced whole, without the check (docs/run-format.md).
                Some(_) => Some(run.store().put(
                    STATE_FILE,
                    &bytes,
                    crate::store::Durability::Normal,
                )?),
            }
        };
        match written {
            Some(meta) => {
                self.seen = Some(meta);
                self.state = Some(state.clone());
                Ok(())
            }
            None => Err(Error::Usage(format!(
                "{} was changed by another batchline process since it was read; nothing was recorded by this one: run the command again",
                run.describe(STATE_FILE)
            ))),
        }
    }
}

/// The other form of `state.json`, in a local run that `submit LOCAL --to gs://…` uploaded:
/// where the copy went. The jobs are recorded in the copy's own `state.json` (where
/// [`StateFile::save`]'s conditional write guards them), never in two places; `submit`,
/// `status`, `wait`, `cancel` and `collect` given the local run follow this to the copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadedTo {
    /// [`STATE_FORMAT`].
    pub format_version: u32,
    /// The copy, `gs://bucket/prefix` (the run the jobs read and record in).
    pub uploaded_to: String,
    /// When the upload finished (RFC 3339 UTC).
    pub uploaded_at: String,
}

impl UploadedTo {
    /// `run`'s `state.json` if it is this form; `None` when absent or a [`RunState`].
    pub fn load(run: &Run) -> Result<Option<UploadedTo>> {
        Ok(run
            .read(STATE_FILE)?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    /// Writes it as `run`'s `state.json` (a local run: replaced atomically).
    pub fn save(&self, run: &Run) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("invariant: state serialises");
        bytes.push(b'\n');
        run.store()
            .put(STATE_FILE, &bytes, crate::store::Durability::Synced)?;
        Ok(())
    }
}

/// True for a run on `gs://` (whose conditional replace needs the object's generation).
fn is_gcs(run: &Run) -> bool {
    matches!(
        run.location(),
        crate::store::Location::Object {
            scheme: crate::store::Scheme::Gcs,
            ..
        }
    )
}

/// Now as RFC 3339 UTC with seconds (the form written into `state.json`).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Seconds from `since` (RFC 3339) to `until` (RFC 3339, or now); `None` when unreadable.
pub fn seconds_between(since: &str, until: Option<&str>) -> Option<i64> {
    let since = chrono::DateTime::parse_from_rfc3339(since).ok()?;
    let until = match until {
        Some(u) => chrono::DateTime::parse_from_rfc3339(u).ok()?.to_utc(),
        None => chrono::Utc::now(),
    };
    Some((until - since.to_utc()).num_seconds())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_keeps_times_vertex_did_not_repeat_and_takes_new_counts() {
        let mut r = JobRecord::reserved(
            BatchPredictionJob {
                display_name: Some("d".into()),
                ..Default::default()
            },
            "gs://b/r/output/shard-00000/".into(),
            "2026-12-04T10:00:00Z".into(),
        );
        assert_eq!(r.state, RESERVED);
        assert!(!r.is_terminal());
        let job: BatchPredictionJob = serde_json::from_str(
            r#"{"name":"projects/p/locations/l/batchPredictionJobs/7","state":"JOB_STATE_PENDING","createTime":"2026-12-04T10:00:01Z"}"#,
        )
        .unwrap();
        r.update(&job, "t1".into());
        let job: BatchPredictionJob = serde_json::from_str(
            r#"{"state":"JOB_STATE_SUCCEEDED","endTime":"2026-12-04T10:05:00Z","completionStats":{"successfulCount":"3"}}"#,
        )
        .unwrap();
        r.update(&job, "t2".into());
        assert_eq!(
            r.name.as_deref(),
            Some("projects/p/locations/l/batchPredictionJobs/7")
        );
        assert_eq!(r.create_time.as_deref(), Some("2026-12-04T10:00:01Z"));
        assert_eq!(r.end_time.as_deref(), Some("2026-12-04T10:05:00Z"));
        assert_eq!(r.state, "JOB_STATE_SUCCEEDED");
        assert!(r.is_terminal());
        assert_eq!(r.completion_stats.unwrap().successful(), Some(3));
        assert_eq!(r.checked_at.as_deref(), Some("t2"));
    }

    #[test]
    fn replace_moves_the_job_into_previous_and_reserves_the_same_body_again() {
        let body = BatchPredictionJob {
            display_name: Some("d".into()),
            ..Default::default()
        };
        let mut r = JobRecord::reserved(body.clone(), "gs://b/o/".into(), "t0".into());
        r.requests = Some(4);
        let job: BatchPredictionJob = serde_json::from_str(
            r#"{"name":"projects/p/locations/l/batchPredictionJobs/7","state":"JOB_STATE_CANCELLING","createTime":"2026-12-04T10:00:01Z"}"#,
        )
        .unwrap();
        r.update(&job, "t1".into());
        r.replace("why".into(), Some(30), "t2".into());
        let mut expected = JobRecord::reserved(body, "gs://b/o/".into(), "t2".into());
        expected.requests = Some(4);
        expected.previous = vec![PreviousJob {
            name: "projects/p/locations/l/batchPredictionJobs/7".into(),
            state: "JOB_STATE_CANCELLING".into(),
            create_time: Some("2026-12-04T10:00:01Z".into()),
            waited_seconds: Some(30),
            reason: "why".into(),
            replaced_at: "t2".into(),
        }];
        assert_eq!(r, expected);
        // A second replacement of the new job appends to the chain.
        r.update(&job, "t3".into());
        r.replace("again".into(), None, "t4".into());
        assert_eq!(r.previous.len(), 2);
        assert_eq!(r.previous[1].reason, "again");
        assert_eq!(r.name, None);
        assert_eq!(r.state, RESERVED);
    }

    fn sample(run_id: &str) -> RunState {
        RunState {
            format_version: STATE_FORMAT,
            run_id: run_id.into(),
            project: "p".into(),
            location: "l".into(),
            max_concurrent: None,
            source: None,
            destination: None,
            jobs: BTreeMap::new(),
        }
    }

    #[test]
    fn two_writers_that_read_the_same_state_cannot_both_record() {
        // Two submits of one run on an object store (the memory store enforces the conditions
        // as GCS does): both read "no state.json", only the first may create it; both then read
        // the same version, only the first may replace it.
        let loc = crate::store::Location::parse("memory://state-test/run").unwrap();
        let cloud = crate::store::CloudConfig::default();
        let run = Run::open(&loc, &cloud).unwrap();
        let mut a = StateFile::load(&run).unwrap();
        let mut b = StateFile::load(&run).unwrap();
        a.save(&run, &sample("a")).unwrap();
        let err = b.save(&run, &sample("b")).unwrap_err();
        assert!(
            matches!(&err, Error::Usage(m) if m.contains("state.json was changed by another batchline process")),
            "{err}"
        );
        let mut a = StateFile::load(&run).unwrap();
        let mut b = StateFile::load(&run).unwrap();
        assert_eq!(a.state.as_ref().unwrap().run_id, "a");
        a.save(&run, &sample("a2")).unwrap();
        assert!(b.save(&run, &sample("b2")).is_err());
        // The winner goes on writing on the version it wrote.
        a.save(&run, &sample("a3")).unwrap();
        let read = StateFile::load(&run).unwrap();
        assert_eq!(read.state.unwrap().run_id, "a3");
    }

    #[test]
    fn update_records_the_bigquery_table_from_output_info() {
        let mut r = JobRecord::reserved(
            BatchPredictionJob::default(),
            "bq://p.d".into(),
            "t0".into(),
        );
        // The dataset alone until the job names its table, then both joined.
        let job: BatchPredictionJob = serde_json::from_str(
            r#"{"state":"JOB_STATE_RUNNING","outputInfo":{"bigqueryOutputDataset":"bq://p.d"}}"#,
        )
        .unwrap();
        r.update(&job, "t1".into());
        assert_eq!(r.output_table.as_deref(), Some("bq://p.d"));
        let job: BatchPredictionJob = serde_json::from_str(
            r#"{"state":"JOB_STATE_SUCCEEDED","outputInfo":{"bigqueryOutputDataset":"bq://p.d","bigqueryOutputTable":"predictions_x"}}"#,
        )
        .unwrap();
        r.update(&job, "t2".into());
        assert_eq!(r.output_table.as_deref(), Some("bq://p.d.predictions_x"));
        assert_eq!(r.output_directory, None);
    }

    #[test]
    fn a_local_state_json_that_records_an_upload_is_followed_not_read_as_jobs() {
        let dir = std::env::temp_dir().join(format!("batchline-state-{}", std::process::id()));
        let loc = crate::store::Location::local(dir.as_os_str());
        let run = Run::open(&loc, &crate::store::CloudConfig::default()).unwrap();
        let pointer = UploadedTo {
            format_version: STATE_FORMAT,
            uploaded_to: "gs://b/r".into(),
            uploaded_at: "t".into(),
        };
        pointer.save(&run).unwrap();
        assert_eq!(UploadedTo::load(&run).unwrap(), Some(pointer));
        let err = StateFile::load(&run).unwrap_err();
        assert!(
            matches!(&err, Error::Usage(m) if m.ends_with("state.json says this run was uploaded to gs://b/r: its jobs are recorded there (give that)")),
            "{err}"
        );
        // A job record is not a pointer.
        let mut file = StateFile {
            state: None,
            seen: None,
        };
        file.save(&run, &sample("a")).unwrap();
        assert_eq!(UploadedTo::load(&run).unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn seconds_between_reads_rfc3339_with_fractions() {
        assert_eq!(
            seconds_between("2026-12-04T10:00:00.250000Z", Some("2026-12-04T10:01:30Z")),
            Some(89)
        );
        assert_eq!(seconds_between("yesterday", None), None);
    }
}
