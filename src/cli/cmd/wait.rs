//! `batchline wait RUN`: polls every recorded job (one `get` each per round, pauses growing with
//! jitter between `--poll-interval` and `--max-poll-interval`) until all have ended, recording
//! each round in `state.json`, and creates held-back shards as `--max-concurrent` leaves room.
//! On a terminal it shows a progress bar: rows done of all the run's requests, rate and ETA
//! ([`super::progress`]). Interrupting it (Ctrl-C, `--timeout`) leaves the jobs running and
//! the state as last recorded.
//!
//! Verdict: exit 0 when every job succeeded; 1 when any failed, was cancelled, expired or
//! partially succeeded, or "succeeded" with every row failed (judged by its `completionStats`);
//! 3 on a service failure or when `--timeout` passed first.

use std::time::{Duration, Instant};

use super::emulator::parse_duration;
use super::progress::{bar_message, rows_done, wait_bar, ExportCounter};
use super::status::{load, JobLine};
use super::submit::{client, create_reserved, open_remote_run, vertex_err, Sent};
use super::{cloud_config, location_arg};
use crate::cli::args::{Format, WaitArgs};
use crate::cli::exit::ExitStatus;
use crate::cli::output::Printer;
use crate::error::{Error, Result};
use crate::run::state::{now_rfc3339, JobRecord, RESERVED};
use crate::store::block_on;
use crate::vertex::retry::{Backoff, BackoffConfig};
use crate::vertex::wire::JobState;

/// Runs `wait`.
pub fn run(args: WaitArgs) -> Result<ExitStatus> {
    let duration = |flag: &str, v: &str| {
        parse_duration(v).ok_or_else(|| {
            Error::Usage(format!(
                "{flag} {v}: give a duration such as 500ms, 10s, 5m or 2h"
            ))
        })
    };
    let timeout = match &args.poll.timeout {
        Some(t) => Some(duration("--timeout", t)?),
        None => None,
    };
    let init =
        duration("--poll-interval", &args.poll.poll_interval)?.max(Duration::from_millis(10));
    let max = duration("--max-poll-interval", &args.poll.max_poll_interval)?.max(init);
    let a = &args.jobs;
    let cloud = cloud_config(&a.cloud)?;
    let location = location_arg(&a.run)?;
    let run = open_remote_run(&location, &cloud)?;
    let (mut file, mut state) = load(&run)?;
    if let Some((shard, _)) = state
        .jobs
        .iter()
        .find(|(_, r)| r.name.is_none() && !r.is_held())
    {
        return Err(Error::Usage(format!(
            "{shard} is reserved but has no job yet (a submit is running, or was interrupted): run batchline submit again, then wait"
        )));
    }
    let client = client(&a.vertex, &a.cloud, &state.project, &state.location)?;
    let started = Instant::now();
    let mut backoff = Backoff::new(BackoffConfig {
        init_backoff: init,
        max_backoff: max,
    });
    // Creates of held shards after a 429 wait on their own backoff.
    let mut create_backoff = Backoff::new(BackoffConfig {
        init_backoff: init,
        max_backoff: max,
    });
    let mut next_create = Instant::now();
    let mut p = Printer::new(a.format, a.quiet);
    let io = |e: std::io::Error| Error::io("<stdout>", e);
    let bar = wait_bar(a.quiet);
    let mut counter = ExportCounter::new(cloud.clone());
    let timed_out = loop {
        for record in state.jobs.values_mut().filter(|r| !r.is_terminal()) {
            let Some(name) = record.name.clone() else {
                continue;
            };
            let job = block_on(client.get(&name)).map_err(vertex_err)?;
            record.update(&job, now_rfc3339());
        }
        file.save(&run, &state)?;
        if Instant::now() >= next_create
            && create_held(&client, &run, &mut file, &mut state)? == Sent::Held
        {
            next_create = Instant::now() + create_backoff.next_wait();
        }
        if let Some(bar) = &bar {
            show_progress(bar, &state, &mut counter);
        }
        if state.jobs.values().all(JobRecord::is_terminal) {
            break false;
        }
        let pause = backoff.next_wait();
        if let Some(t) = timeout {
            let left = t.saturating_sub(started.elapsed());
            if left.is_zero() {
                break true;
            }
            std::thread::sleep(pause.min(left));
        } else {
            std::thread::sleep(pause);
        }
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    for (shard, r) in &state.jobs {
        let line = JobLine::of(shard, r);
        match a.format {
            Format::Json => p.json_line(&line).map_err(io)?,
            _ => p.human_line(&line.human()).map_err(io)?,
        }
    }
    p.flush().map_err(io)?;
    if timed_out {
        return Err(Error::Remote {
            url: location.to_string(),
            message: format!(
                "--timeout {} passed with jobs still running (they go on; wait again or cancel)",
                args.poll.timeout.as_deref().unwrap_or("")
            ),
        });
    }
    Ok(if state.jobs.values().all(succeeded) {
        ExitStatus::Ok
    } else {
        ExitStatus::InputErrors
    })
}

/// Updates the bar: rows done of all (from `completionStats` and the files exported so far, read
/// once each; a file that cannot be read now is left for the next round), and the jobs live.
fn show_progress(
    bar: &indicatif::ProgressBar,
    state: &crate::run::state::RunState,
    counter: &mut ExportCounter,
) {
    let mut exported = std::collections::HashMap::new();
    for (shard, r) in state.jobs.iter().filter(|(_, r)| !r.is_terminal()) {
        if let Some(Ok(e)) = r.output_directory.as_deref().map(|d| counter.count(d)) {
            exported.insert(shard.clone(), e.rows_exported);
        }
    }
    let (done, total) = rows_done(state, &exported);
    bar.set_length(total);
    bar.set_position(done);
    bar.set_message(bar_message(state));
}

/// Creates held shards, in name order, while `--max-concurrent` leaves room; stops at the first
/// 429 ([`Sent::Held`]: the shard is held again with the reason).
fn create_held(
    client: &crate::vertex::VertexClient,
    run: &crate::run::Run,
    file: &mut crate::run::state::StateFile,
    state: &mut crate::run::state::RunState,
) -> Result<Sent> {
    let held: Vec<String> = state
        .jobs
        .iter()
        .filter(|(_, r)| r.is_held())
        .map(|(k, _)| k.clone())
        .collect();
    for shard in held {
        if state.free_slots() == 0 {
            break;
        }
        let r = state.jobs.get_mut(&shard).expect("invariant: listed above");
        r.state = RESERVED.into();
        r.reserved_at = now_rfc3339();
        file.save(run, state)?;
        if create_reserved(client, run, file, state, &shard)? == Sent::Held {
            return Ok(Sent::Held);
        }
    }
    Ok(Sent::Created)
}

/// True for a job that succeeded with at least one row done, or with no row failed.
fn succeeded(r: &JobRecord) -> bool {
    r.job_state() == JobState::Succeeded
        && !r
            .completion_stats
            .as_ref()
            .is_some_and(|c| c.successful().unwrap_or(0) == 0 && c.failed().unwrap_or(0) > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vertex::wire::BatchPredictionJob;

    fn record(state: &str, stats: &str) -> JobRecord {
        let mut r =
            JobRecord::reserved(BatchPredictionJob::default(), String::new(), String::new());
        let job: BatchPredictionJob = serde_json::from_str(&format!(
            r#"{{"state": "{state}", "completionStats": {stats}}}"#
        ))
        .unwrap();
        r.update(&job, String::new());
        r
    }

    #[test]
    fn wait_counts_a_succeeded_job_whose_every_row_failed_as_failed() {
        assert!(succeeded(&record(
            "JOB_STATE_SUCCEEDED",
            r#"{"successfulCount": "1", "failedCount": "4"}"#
        )));
        assert!(succeeded(&record("JOB_STATE_SUCCEEDED", "{}")));
        assert!(!succeeded(&record(
            "JOB_STATE_SUCCEEDED",
            r#"{"failedCount": "4"}"#
        )));
        assert!(!succeeded(&record(
            "JOB_STATE_PARTIALLY_SUCCEEDED",
            r#"{"successfulCount": "4"}"#
        )));
        assert!(!succeeded(&record("JOB_STATE_EXPIRED", "{}")));
    }
}
