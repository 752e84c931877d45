//! `batchline status RUN`: one `get` per recorded job; prints each job's state, row counts,
//! error, how long it has waited, why a shard is held back, and the rows counted in the
//! prediction files each job has exported so far; records what it saw in `state.json`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::cloud_config;
use super::location_arg;
use super::progress::{ExportCounter, Exported};
use super::submit::{client, vertex_err};
use crate::cli::args::{Format, JobsArgs};
use crate::cli::exit::ExitStatus;
use crate::cli::output::Printer;
use crate::error::{Error, Result};
use crate::run::state::{now_rfc3339, seconds_between, JobRecord, RunState, StateFile, STATE_FILE};
use crate::run::Run;
use crate::store::block_on;

/// Runs `status`.
pub fn run(args: JobsArgs) -> Result<ExitStatus> {
    let cloud = cloud_config(&args.cloud)?;
    let (_, run) = super::submit_to::open_job_run(location_arg(&args.run)?, &cloud)?;
    let (mut file, mut state) = load(&run)?;
    let client = client(&args.vertex, &args.cloud, &state.project, &state.location)?;
    for record in state.jobs.values_mut() {
        if let Some(name) = record.name.clone() {
            let job = block_on(client.get(&name)).map_err(vertex_err)?;
            record.update(&job, now_rfc3339());
        }
    }
    file.save(&run, &state)?;
    let mut counter = ExportCounter::new(cloud.clone());
    let mut exported = BTreeMap::new();
    for (shard, r) in &state.jobs {
        if let Some(dir) = &r.output_directory {
            exported.insert(shard.clone(), counter.count(dir)?);
        }
    }
    let mut p = Printer::new(args.format, args.quiet);
    let io = |e: std::io::Error| Error::io("<stdout>", e);
    for (shard, r) in &state.jobs {
        let line = JobLine::of(shard, r).with_progress(exported.get(shard).copied());
        match args.format {
            Format::Json => p.json_line(&line).map_err(io)?,
            _ => p.human_line(&line.human()).map_err(io)?,
        }
    }
    p.flush().map_err(io)?;
    Ok(ExitStatus::Ok)
}

/// The run's `state.json`; a run without one is a usage error (nothing submitted yet).
pub(crate) fn load(run: &Run) -> Result<(StateFile, RunState)> {
    let file = StateFile::load(run)?;
    let state = file.state.clone().ok_or_else(|| {
        Error::Usage(format!(
            "{} does not exist: no job was submitted for this run yet (batchline submit)",
            run.describe(STATE_FILE)
        ))
    })?;
    Ok((file, state))
}

/// One job as `status` prints it.
#[derive(Serialize)]
pub(crate) struct JobLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    shard: &'a str,
    name: Option<&'a str>,
    state: &'a str,
    completion_stats: Option<&'a crate::vertex::wire::CompletionStats>,
    error: Option<&'a crate::vertex::wire::Status>,
    /// Seconds from creation to leaving the queue (or to now, while queued).
    waited_seconds: Option<i64>,
    /// Why the shard is held back (no job yet), if it is.
    held: Option<&'a str>,
    /// Rows in the files the job has exported so far (`status` only; null before the job has
    /// an output directory).
    #[serde(skip_serializing_if = "Option::is_none")]
    progress: Option<Option<Progress>>,
    /// A job that writes to BigQuery: its table (`bq://p.d.predictions_…`, from `outputInfo`),
    /// or the destination until the job names it. Its rows are not counted (`progress` null):
    /// batchline does not read BigQuery. Absent for jobs that write to Cloud Storage.
    #[serde(skip_serializing_if = "Option::is_none")]
    bigquery_output: Option<&'a str>,
    #[serde(skip)]
    requests: Option<u64>,
}

/// A job's progress as `status` prints it.
#[derive(Serialize, Clone, Copy)]
pub(crate) struct Progress {
    /// Requests in the shard (null when not recorded).
    requests: Option<u64>,
    /// Rows counted in its exported prediction files.
    rows_exported: u64,
    /// The files they were counted in.
    files: usize,
}

impl<'a> JobLine<'a> {
    pub(crate) fn of(shard: &'a str, r: &'a JobRecord) -> JobLine<'a> {
        let waited = r.create_time.as_deref().and_then(|c| {
            let until = r.start_time.as_deref().or(r.end_time.as_deref());
            let until = if until.is_none() && !r.job_state().is_waiting() {
                r.checked_at.as_deref()
            } else {
                until
            };
            seconds_between(c, until)
        });
        JobLine {
            kind: "job",
            shard,
            name: r.name.as_deref(),
            state: &r.state,
            completion_stats: r.completion_stats.as_ref(),
            error: r.error.as_ref(),
            waited_seconds: waited,
            held: r.held.as_deref(),
            progress: None,
            bigquery_output: r.output_table.as_deref().or(r.bigquery_destination()),
            requests: r.requests,
        }
    }

    /// The line with the rows `exported` (`None`: the job has no output directory yet).
    pub(crate) fn with_progress(mut self, exported: Option<Exported>) -> JobLine<'a> {
        self.progress = Some(exported.map(|e| Progress {
            requests: self.requests,
            rows_exported: e.rows_exported,
            files: e.files,
        }));
        self
    }

    pub(crate) fn human(&self) -> String {
        let mut s = format!(
            "{}: {} {}",
            self.shard,
            self.name.unwrap_or("(no job yet)"),
            self.state
        );
        if let Some(c) = self.completion_stats {
            s += &format!(
                ", rows succeeded {} failed {} incomplete {}",
                c.successful().unwrap_or(0),
                c.failed().unwrap_or(0),
                c.incomplete().unwrap_or(0)
            );
        }
        if let Some(Some(p)) = self.progress {
            let of = p.requests.map_or("?".to_string(), |n| n.to_string());
            s += &format!(
                ", exported {} of {of} rows in {} file(s)",
                p.rows_exported, p.files
            );
        }
        if let Some(b) = self.bigquery_output {
            s += &format!(
                ", rows go to BigQuery {b} (not counted: batchline does not read BigQuery)"
            );
        }
        if let Some(w) = self.waited_seconds {
            s += &format!(", waited {w} s in the queue");
        }
        if let Some(e) = self.error {
            s += &format!(", error {}: {}", e.code, e.message);
        }
        if let Some(h) = self.held {
            s += &format!(", held back: {h}");
        }
        s
    }
}
