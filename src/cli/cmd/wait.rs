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
use super::submit::{client, create_reserved, vertex_err, Sent};
use super::{cloud_config, location_arg};
use crate::cli::args::{Format, WaitArgs};
use crate::cli::exit::ExitStatus;
use crate::cli::output::Printer;
use crate::error::{Error, Result};
use crate::run::state::{now_rfc3339, seconds_between, JobRecord, RunState, RESERVED};
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
    let stuck_flag = args.poll.stuck_after.as_deref().unwrap_or("");
    let stuck_after = match &args.poll.stuck_after {
        Some(d) => Some(duration("--stuck-after", d)?),
        None => None,
    };
    let a = &args.jobs;
    let cloud = cloud_config(&a.cloud)?;
    let (location, run) = super::submit_to::open_job_run(location_arg(&a.run)?, &cloud)?;
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
    // Why waiting stopped before every job ended, if it did.
    let stopped: Option<String> = loop {
        for record in state.jobs.values_mut().filter(|r| !r.is_terminal()) {
            let Some(name) = record.name.clone() else {
                continue;
            };
            let job = block_on(client.get(&name)).map_err(vertex_err)?;
            record.update(&job, now_rfc3339());
        }
        file.save(&run, &state)?;
        if let Some(limit) = stuck_after {
            let stuck = stuck_jobs(&state, limit);
            if !stuck.is_empty() {
                if !args.poll.resubmit_stuck {
                    break Some(stuck_message(&stuck, stuck_flag));
                }
                resubmit(&client, &run, &mut file, &mut state, &stuck, stuck_flag)?;
            }
        }
        if Instant::now() >= next_create
            && create_held(&client, &run, &mut file, &mut state)? == Sent::Held
        {
            next_create = Instant::now() + create_backoff.next_wait();
        }
        if let Some(bar) = &bar {
            show_progress(bar, &state, &mut counter);
        }
        if state.jobs.values().all(JobRecord::is_terminal) {
            break None;
        }
        let pause = backoff.next_wait();
        if let Some(t) = timeout {
            let left = t.saturating_sub(started.elapsed());
            if left.is_zero() {
                break Some(format!(
                    "--timeout {} passed with jobs still running (they go on; wait again or cancel)",
                    args.poll.timeout.as_deref().unwrap_or("")
                ));
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
    if let Some(message) = stopped {
        return Err(Error::Remote {
            url: location.to_string(),
            message,
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

/// A job that has not left the queue within `--stuck-after`.
#[derive(Debug, PartialEq)]
struct Stuck {
    shard: String,
    name: String,
    state: String,
    /// Seconds since its `createTime`.
    waited: i64,
}

/// The jobs still queued or pending `limit` or more after their `createTime`.
fn stuck_jobs(state: &RunState, limit: Duration) -> Vec<Stuck> {
    state
        .jobs
        .iter()
        .filter_map(|(shard, r)| {
            let name = r.name.clone()?;
            if !r.job_state().is_waiting() {
                return None;
            }
            let since = r.create_time.as_deref().unwrap_or(&r.reserved_at);
            let waited = seconds_between(since, None)?;
            (waited as f64 >= limit.as_secs_f64()).then(|| Stuck {
                shard: shard.clone(),
                name,
                state: r.state.clone(),
                waited,
            })
        })
        .collect()
}

/// The message `wait --stuck-after` stops with (exit 3).
fn stuck_message(stuck: &[Stuck], flag: &str) -> String {
    let each: Vec<String> = stuck
        .iter()
        .map(|s| {
            format!(
                "{}: job {} has been {} for {} s",
                s.shard, s.name, s.state, s.waited
            )
        })
        .collect();
    format!(
        "{}, over --stuck-after {flag}; a stuck job stays in Vertex's queue (wait again, batchline cancel, or wait --resubmit-stuck to cancel and create it again)",
        each.join("; ")
    )
}

/// Cancels each stuck job and creates its shard again with the same body; the cancelled job goes
/// to the record's `previous`. A job that ended before the cancel reached it is left as it is;
/// a new create answered 429 leaves the shard held (created later like any held shard).
fn resubmit(
    client: &crate::vertex::VertexClient,
    run: &crate::run::Run,
    file: &mut crate::run::state::StateFile,
    state: &mut RunState,
    stuck: &[Stuck],
    flag: &str,
) -> Result<()> {
    for s in stuck {
        match block_on(client.cancel(&s.name)) {
            Ok(()) => {}
            // FAILED_PRECONDITION: it ended meanwhile; the next poll records how.
            Err(e) if e.http_status() == Some(400) => continue,
            Err(e) => return Err(vertex_err(e)),
        }
        let job = block_on(client.get(&s.name)).map_err(vertex_err)?;
        let r = state
            .jobs
            .get_mut(&s.shard)
            .expect("invariant: listed from the state");
        r.update(&job, now_rfc3339());
        r.replace(
            format!("not out of {} after --stuck-after {flag}", s.state),
            Some(s.waited),
            now_rfc3339(),
        );
        file.save(run, state)?;
        create_reserved(client, run, file, state, &s.shard)?;
    }
    Ok(())
}

/// Creates held shards, in name order, while `--max-concurrent` leaves room; stops at the first
/// 429 ([`Sent::Held`]: the shard is held again with the reason).
fn create_held(
    client: &crate::vertex::VertexClient,
    run: &crate::run::Run,
    file: &mut crate::run::state::StateFile,
    state: &mut crate::run::state::RunState,
) -> Result<Sent> {
    let held = state.held_shards();
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

    fn job(state: &str, created: &str) -> JobRecord {
        let mut r =
            JobRecord::reserved(BatchPredictionJob::default(), String::new(), String::new());
        let job: BatchPredictionJob = serde_json::from_str(&format!(
            r#"{{"name": "projects/p/locations/l/batchPredictionJobs/{state}", "state": "{state}", "createTime": "{created}"}}"#
        ))
        .unwrap();
        r.update(&job, String::new());
        r
    }

    #[test]
    fn a_job_is_stuck_once_it_has_been_queued_or_pending_for_the_limit() {
        let long_ago = "2000-01-01T00:00:00.000001Z";
        let in_an_hour = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
        let jobs = [
            ("a", job("JOB_STATE_PENDING", long_ago)),
            ("b", job("JOB_STATE_QUEUED", long_ago)),
            ("c", job("JOB_STATE_RUNNING", long_ago)),
            ("d", job("JOB_STATE_PENDING", &in_an_hour)),
            (
                "e",
                JobRecord::held(
                    BatchPredictionJob::default(),
                    String::new(),
                    long_ago.into(),
                    "x".into(),
                ),
            ),
        ];
        let state = RunState {
            format_version: 1,
            run_id: "r".into(),
            project: "p".into(),
            location: "l".into(),
            max_concurrent: None,
            source: None,
            destination: None,
            jobs: jobs.into_iter().map(|(k, r)| (k.to_string(), r)).collect(),
        };
        let stuck = stuck_jobs(&state, Duration::from_secs(3600));
        let found: Vec<(&str, &str, &str)> = stuck
            .iter()
            .map(|s| (s.shard.as_str(), s.name.as_str(), s.state.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "a",
                    "projects/p/locations/l/batchPredictionJobs/JOB_STATE_PENDING",
                    "JOB_STATE_PENDING"
                ),
                (
                    "b",
                    "projects/p/locations/l/batchPredictionJobs/JOB_STATE_QUEUED",
                    "JOB_STATE_QUEUED"
                )
            ]
        );
        assert!(stuck.iter().all(|s| s.waited > 3600 * 24 * 365 * 20));
        let two = [
            Stuck {
                shard: "s0".into(),
                name: "n0".into(),
                state: "JOB_STATE_PENDING".into(),
                waited: 7200,
            },
            Stuck {
                shard: "s1".into(),
                name: "n1".into(),
                state: "JOB_STATE_QUEUED".into(),
                waited: 3601,
            },
        ];
        assert_eq!(
            stuck_message(&two, "1h"),
            "s0: job n0 has been JOB_STATE_PENDING for 7200 s; s1: job n1 has been JOB_STATE_QUEUED for 3601 s, over --stuck-after 1h; a stuck job stays in Vertex's queue (wait again, batchline cancel, or wait --resubmit-stuck to cancel and create it again)"
        );
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
