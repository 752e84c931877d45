//! `batchline run FILE… --to gs://… --project P --location L`: prepare → submit → wait → collect,
//! then retry rounds, each step the command of that name. Every step is resumable on its own
//! (prepare does nothing on a finished run, submit creates jobs only for shards without one, wait
//! polls, collect rewrites the same bytes), so a re-run picks up where the last one stopped and
//! never creates a job twice.

use super::{cloud_config, location_arg};
use crate::cli::args::{CollectArgs, JobsArgs, PrepareArgs, RunArgs, SubmitArgs, WaitArgs};
use crate::cli::exit::ExitStatus;
use crate::error::{Error, Result};
use crate::run::Run;
use crate::store::Location;

/// Runs `run`.
pub fn run(a: RunArgs) -> Result<ExitStatus> {
    let location = location_arg(&a.to)?;
    if !matches!(location, Location::Object { .. }) {
        return Err(Error::Usage(format!(
            "--to {location}: Vertex AI reads shards from Cloud Storage; give gs://bucket/prefix/run (prepare a local run with batchline prepare, and publish it with batchline upload)"
        )));
    }
    let cloud = cloud_config(&a.cloud)?;
    let (format, quiet) = (a.plan.format, a.plan.quiet);

    step(quiet, "prepare");
    let prepared = super::prepare::prepare_command(PrepareArgs {
        input: a.input.clone(),
        output: a.to.clone(),
        cloud: a.cloud.clone(),
        strict: false,
        plan: a.plan.clone(),
    })?;
    // 1: some lines are invalid; they are left out and reported as such by collect.
    if !matches!(prepared, ExitStatus::Ok | ExitStatus::InputErrors) {
        return Ok(prepared);
    }
    let queue = crate::cli::args::SubmitQueueArgs {
        max_concurrent: a.max_concurrent,
        resume: false,
    };
    let submit = |retry: bool| {
        super::submit::run_with(
            SubmitArgs {
                run: a.to.clone(),
                project: a.project.clone(),
                location: a.location.clone(),
                model: a.plan.model.clone(),
                dry_run: false,
                retry,
                vertex: a.vertex.clone(),
                cloud: a.cloud.clone(),
                format,
                quiet,
            },
            &queue,
            &crate::cli::args::SubmitSourceArgs::default(),
        )
    };
    let wait = || {
        super::wait::run(WaitArgs {
            jobs: JobsArgs {
                run: a.to.clone(),
                vertex: a.vertex.clone(),
                cloud: a.cloud.clone(),
                format,
                quiet,
            },
            poll: a.poll.clone(),
        })
    };
    let collect = || {
        super::collect::run(CollectArgs {
            run: a.to.clone(),
            output: a.results.clone(),
            predictions: Vec::new(),
            include_request: false,
            response: a.response,
            no_retry_round: false,
            trust_keys: false,
            spill_dir: a.input.spill_dir.clone(),
            pricing: a.plan.pricing.clone(),
            cloud: a.cloud.clone(),
            format,
            quiet,
        })
    };
    step(quiet, "submit");
    submit(false)?;
    let run = Run::open(&location, &cloud)?;
    loop {
        step(quiet, "wait");
        // 1: a job failed; its requests come back as missing and go to the retry round.
        match wait()? {
            ExitStatus::Ok | ExitStatus::InputErrors => {}
            other => return Ok(other),
        }
        step(quiet, "collect");
        let status = collect()?;
        let Some(round) = crate::collect::newest_retry_round(&run)? else {
            return Ok(status);
        };
        let state = crate::run::state::StateFile::load(&run)?.state;
        let sent = state
            .as_ref()
            .is_some_and(|s| round.shards.iter().all(|sh| s.jobs.contains_key(&sh.name)));
        if status == ExitStatus::Ok || sent || round.round > a.retry_rounds {
            return Ok(status);
        }
        step(quiet, &format!("submit retry round {}", round.round));
        submit(true)?;
    }
}

fn step(quiet: bool, what: &str) {
    if !quiet {
        eprintln!("batchline run: {what}");
    }
}
