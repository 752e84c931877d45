//! `batchline submit RUN --source bq://p.d.t [--destination bq://p.d]`: one batch job over an
//! input batchline did not prepare: a BigQuery table (the job spec only: batchline has no
//! BigQuery client and never reads the table) or one JSONL file on Cloud Storage.
//!
//! RUN is the place (a local folder or `gs://bucket/prefix`) that keeps the job's `state.json`
//! and nothing else: no shards, no manifest. `state.json` records `source` and `destination`
//! beside the one job, keyed by the source URI; from there on the job goes through the same
//! reserve-then-create path as a shard's (`submit::send`), so a re-run creates no
//! second job, a 429 holds it back, and `status`, `wait` and `cancel` follow it like any other.
//! `collect` refuses such a run: the rows are not in files of a prepared run.

use super::location_arg;
use super::submit::{
    checked_model, display_name, labels, run_id, run_name, send, vertex_err, Origin, Planned,
};
use crate::cli::args::{SubmitArgs, SubmitQueueArgs};
use crate::cli::exit::ExitStatus;
use crate::error::{Error, Result};
use crate::run::Run;
use crate::store::CloudConfig;
use crate::vertex::wire::{check_location, create_body, CreateSpec, Destination, Source};

/// The `batchline_shard` label of a `--source` job (a run has only this one job).
pub const SOURCE_SHARD: &str = "source";

/// Runs `submit --source`.
pub(crate) fn run(
    args: &SubmitArgs,
    cloud: &CloudConfig,
    source: &str,
    destination: Option<&str>,
) -> Result<ExitStatus> {
    let location = location_arg(&args.run)?;
    // Every check that needs no network first, the location's before any other.
    let parsed = Source::parse(source).map_err(vertex_err)?;
    check_location(&args.location, &parsed).map_err(vertex_err)?;
    let run = Run::open(&location, cloud)?;
    let destination = match destination {
        Some(d) => Destination::parse(d).map_err(vertex_err)?,
        None => match Destination::default_for(&parsed) {
            Some(d) => d,
            None if location.to_string().starts_with("gs://") => {
                Destination::Gcs(run.describe("output/"))
            }
            None => {
                return Err(Error::Usage(format!(
                    "--source {source}: give --destination gs://bucket/prefix for its rows ({location} is not on Cloud Storage, so its output/ cannot take them)"
                )))
            }
        },
    };
    let model = checked_model(&args.model)?;
    if run.manifest()?.is_some() || args.retry {
        return Err(Error::Usage(format!(
            "{location} is a prepared run: submit sends its shards, and --source names a job's input by itself; give a new folder or prefix to keep the --source job's state.json, or drop --source"
        )));
    }
    let dest_uri = match &destination {
        Destination::Gcs(u) | Destination::BigQuery(u) => u.clone(),
    };
    let run_id = run_id(&run, &format!("{source}\n{dest_uri}"))?;
    let what = source.split_once("://").map_or(source, |(_, rest)| rest);
    let body = create_body(&CreateSpec {
        display_name: display_name(&run_name(&location), what),
        model,
        source: parsed,
        destination: Some(destination),
        labels: labels(&run_id, SOURCE_SHARD),
    })
    .map_err(vertex_err)?;
    let planned = vec![Planned {
        key: source.to_string(),
        output_prefix: dest_uri.clone(),
        body,
        requests: None,
    }];
    let origin = Origin {
        run_id,
        source: Some((source.to_string(), dest_uri)),
    };
    send(
        args,
        &SubmitQueueArgs::default(),
        &run,
        &location,
        cloud,
        origin,
        planned,
    )
}
