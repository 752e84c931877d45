//! Where the commands that follow jobs find a run's `state.json`, and `submit LOCAL --to gs://…`.
//!
//! Vertex reads shards only from Cloud Storage, so a local run is uploaded first
//! (`submit LOCAL --to gs://bucket/prefix`, the same code as `batchline upload`: resumable,
//! objects already there with the same size and checksum are skipped). The jobs are then
//! recorded in the **copy's** `state.json`, the only place the conditional write guards, and the
//! local run's `state.json` records just where the copy is
//! ([`crate::run::state::UploadedTo`]). Given the local run, `submit`, `status`, `wait`,
//! `cancel` and `collect` follow that record to the copy.
//!
//! A `--source` job's place (a local folder or prefix holding only its `state.json`) is
//! followed where it is.

use super::location_arg;
use super::submit::open_remote_run;
use crate::cli::args::SubmitArgs;
use crate::cli::output::Printer;
use crate::error::{Error, Result};
use crate::run::state::{now_rfc3339, UploadedTo, STATE_FILE, STATE_FORMAT};
use crate::run::upload::{upload, Progress};
use crate::run::Run;
use crate::store::{CloudConfig, Location};

/// The run `submit` sends: RUN itself (a run on Cloud Storage), or for a local RUN its copy:
/// uploaded now to `--to`, or recorded by an earlier `submit --to`. A local RUN with neither is
/// returned as it is (and refused by [`open_remote_run`] with its message).
pub(crate) fn run_location(
    args: &SubmitArgs,
    cloud: &CloudConfig,
    to: Option<&str>,
) -> Result<Location> {
    let location = location_arg(&args.run)?;
    if location.as_local().is_none() {
        if let Some(to) = to {
            return Err(Error::Usage(format!(
                "--to {to}: {location} is not a local run; --to uploads a local run first"
            )));
        }
        return Ok(location);
    }
    let local = Run::open(&location, cloud)?;
    let recorded = UploadedTo::load(&local)?;
    let dest = match (to, &recorded) {
        (None, None) => return Ok(location),
        (None, Some(r)) => return Location::parse(&r.uploaded_to),
        (Some(to), Some(r)) if Location::parse(to)?.to_string() != r.uploaded_to => {
            return Err(Error::Usage(format!(
                "{} records that this run was uploaded to {}, and its jobs are recorded there: give --to {} (or none)",
                local.describe(STATE_FILE),
                r.uploaded_to,
                r.uploaded_to
            )))
        }
        (Some(to), _) => Location::parse(to)?,
    };
    if !dest.to_string().starts_with("gs://") {
        return Err(Error::Usage(format!(
            "--to {dest}: Vertex AI reads its input from Cloud Storage; give gs://bucket/prefix"
        )));
    }
    let remote = Run::open(&dest, cloud)?;
    if args.dry_run {
        if remote.manifest()?.is_none() {
            return Err(Error::Usage(format!(
                "--dry-run uploads nothing, and {dest} holds no upload of {location} yet: run without --dry-run, or batchline upload it first"
            )));
        }
        return Ok(dest);
    }
    let bar = super::upload::progress(&local, args.quiet);
    let report = upload(
        &local,
        &remote,
        bar.clone()
            .map(|b| std::sync::Arc::new(move |n| b.inc(n)) as Progress),
    );
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = report?;
    if recorded.is_none() {
        UploadedTo {
            format_version: STATE_FORMAT,
            uploaded_to: dest.to_string(),
            uploaded_at: now_rfc3339(),
        }
        .save(&local)?;
    }
    let mut p = Printer::new(args.format, args.quiet);
    super::upload::print_upload(&mut p, "upload", &location, &dest, &report)
        .and_then(|()| p.flush())
        .map_err(|e| Error::io("<stdout>", e))?;
    Ok(dest)
}

/// The run whose `state.json` records the jobs of RUN, for `status`, `wait` and `cancel`: the
/// copy a local run was uploaded to by `submit --to`, a local `--source` job's folder, or RUN
/// on Cloud Storage. Returns the location followed and the run there.
pub(crate) fn open_job_run(location: Location, cloud: &CloudConfig) -> Result<(Location, Run)> {
    if location.as_local().is_some() {
        if let Some(copy) = uploaded_copy(&location, cloud)? {
            let run = Run::open(&copy, cloud)?;
            return Ok((copy, run));
        }
        let local = Run::open(&location, cloud)?;
        if local.read(STATE_FILE)?.is_some() {
            return Ok((location, local));
        }
    }
    let run = open_remote_run(&location, cloud)?;
    Ok((location, run))
}

/// Where `submit --to` uploaded the local run at `location`, if it did.
pub(crate) fn uploaded_copy(location: &Location, cloud: &CloudConfig) -> Result<Option<Location>> {
    if location.as_local().is_none() {
        return Ok(None);
    }
    match UploadedTo::load(&Run::open(location, cloud)?)? {
        Some(r) => Location::parse(&r.uploaded_to).map(Some),
        None => Ok(None),
    }
}
