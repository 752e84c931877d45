//! `batchline cancel RUN`: cancels every recorded job that has not ended, then records the
//! state Vertex reports for each (usually `JOB_STATE_CANCELLING`, later `JOB_STATE_CANCELLED`).

use super::status::load;
use super::submit::{client, vertex_err};
use super::{cloud_config, location_arg};
use crate::cli::args::{Format, JobsArgs};
use crate::cli::exit::ExitStatus;
use crate::cli::output::Printer;
use crate::error::{Error, Result};
use crate::run::state::now_rfc3339;
use crate::store::block_on;

/// Runs `cancel`.
pub fn run(args: JobsArgs) -> Result<ExitStatus> {
    let cloud = cloud_config(&args.cloud)?;
    let (location, run) = super::submit_to::open_job_run(location_arg(&args.run)?, &cloud)?;
    let (mut file, mut state) = load(&run)?;
    let client = client(&args.vertex, &args.cloud, &state.project, &state.location)?;
    let mut p = Printer::new(args.format, args.quiet);
    let io = |e: std::io::Error| Error::io("<stdout>", e);
    let mut cancelled = 0usize;
    // Held shards have no job: they are withdrawn, so no wait creates them (submit sends them again).
    let held = state.held_shards();
    for shard in &held {
        state.jobs.remove(shard);
        match args.format {
            Format::Json => p
                .json_line(&serde_json::json!({"type": "withdrawn", "shard": shard}))
                .map_err(io)?,
            _ => p
                .human_line(&format!(
                    "{shard}: held back, withdrawn (no job was created)"
                ))
                .map_err(io)?,
        }
    }
    for (shard, record) in state.jobs.iter_mut() {
        let Some(name) = record.name.clone() else {
            continue;
        };
        if record.is_terminal() {
            continue;
        }
        block_on(client.cancel(&name)).map_err(vertex_err)?;
        let job = block_on(client.get(&name)).map_err(vertex_err)?;
        record.update(&job, now_rfc3339());
        cancelled += 1;
        match args.format {
            Format::Json => p
                .json_line(&serde_json::json!({"type": "cancelled", "shard": shard, "name": name, "state": record.state}))
                .map_err(io)?,
            _ => p
                .human_line(&format!("{shard}: {name} cancel requested, now {}", record.state))
                .map_err(io)?,
        }
    }
    file.save(&run, &state)?;
    match args.format {
        Format::Json => p
            .json_line(&serde_json::json!({"type": "summary", "run": location.to_string(), "cancelled": cancelled}))
            .map_err(io)?,
        _ => p
            .human_line(&format!("{location}: {cancelled} job(s) cancelled"))
            .map_err(io)?,
    }
    p.flush().map_err(io)?;
    Ok(ExitStatus::Ok)
}
