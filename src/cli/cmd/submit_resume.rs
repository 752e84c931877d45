//! `batchline submit --resume`: Vertex's native resume. For every job of the run that ended
//! failed, cancelled or expired, a new job whose input is the old job's exported prediction
//! files (the new job runs only the rows not finished and writes all rows, old and new, to its
//! own output prefix); the old job goes to the record's `previous` in `state.json`.

use super::submit::{
    client, create_reserved, dry_run_summary, limit_reason, print_dry_run, shard_stem, summary,
    Counts, Sent,
};
use crate::cli::args::{Format, SubmitArgs};
use crate::cli::exit::ExitStatus;
use crate::cli::output::Printer;
use crate::error::{Error, Result};
use crate::run::state::{now_rfc3339, RunState, StateFile, HELD};
use crate::run::Run;
use crate::store::Location;

/// `submit --resume`: for every job that ended failed, cancelled or expired, a new job whose
/// input is the old job's exported prediction files (Vertex's native resume: the new job runs
/// only the rows not finished and writes all rows, old and new); a job that exported nothing is
/// created again from its shard. The old job goes to the record's `previous`.
pub(crate) fn resume(
    args: &SubmitArgs,
    run: &Run,
    location: &Location,
    cloud: &crate::store::CloudConfig,
    mut file: StateFile,
    mut state: RunState,
) -> Result<ExitStatus> {
    use crate::vertex::wire::JobState;
    let mut p = Printer::new(args.format, args.quiet);
    let io = |e: std::io::Error| Error::io("<stdout>", e);
    let ended: Vec<String> = state
        .jobs
        .iter()
        .filter(|(_, r)| {
            r.name.is_some()
                && matches!(
                    r.job_state(),
                    JobState::Failed | JobState::Cancelled | JobState::Expired
                )
        })
        .map(|(k, _)| k.clone())
        .collect();
    // Every new body first.
    let mut plans = Vec::new();
    for shard in &ended {
        let r = &state.jobs[shard];
        let files = match &r.output_directory {
            Some(dir) => {
                let (store, names) = super::progress::row_files(dir, cloud)?;
                names.iter().map(|n| store.describe(n)).collect()
            }
            None => Vec::new(),
        };
        let n = r.previous.len() + 1;
        let stem = shard_stem(shard);
        let prefix = run.describe(&format!("output/{stem}-resume-{n}/"));
        let mut body = r.body.clone();
        let display: String = format!("{} resume {n}", r.display_name)
            .chars()
            .take(128)
            .collect();
        body.display_name = Some(display);
        let (Some(input), Some(output)) = (&mut body.input_config, &mut body.output_config) else {
            continue;
        };
        let (Some(source), Some(dest)) = (&mut input.gcs_source, &mut output.gcs_destination)
        else {
            continue;
        };
        if !files.is_empty() {
            source.uris = files;
        }
        dest.output_uri_prefix = prefix.clone();
        plans.push((shard.clone(), prefix, body));
    }
    if args.dry_run {
        for (shard, _, body) in &plans {
            print_dry_run(
                &mut p,
                args.format,
                shard,
                "POST …/batchPredictionJobs (resume)",
                body,
            )
            .map_err(io)?;
        }
        return dry_run_summary(&mut p, args.format, location, plans.len()).map_err(io);
    }
    let client = client(&args.vertex, &args.cloud, &args.project, &args.location)?;
    let (mut created, mut held) = (0, 0);
    for (shard, prefix, body) in plans {
        let now = now_rfc3339();
        let free = state.free_slots() > 0;
        let r = state.jobs.get_mut(&shard).expect("invariant: listed above");
        let previous = r.name.clone();
        r.replace(format!("resumed: it ended {}", r.state), None, now);
        r.display_name = body.display_name.clone().unwrap_or_default();
        r.body = body;
        r.output_prefix = prefix;
        if !free {
            r.state = HELD.into();
            r.held = Some(limit_reason(state.max_concurrent));
        }
        file.save(run, &state)?;
        let sent = if free {
            create_reserved(&client, run, &mut file, &mut state, &shard)?
        } else {
            Sent::Held
        };
        let r = &state.jobs[&shard];
        let input = r
            .body
            .input_config
            .as_ref()
            .and_then(|i| i.gcs_source.as_ref())
            .map(|s| s.uris.clone())
            .unwrap_or_default();
        if sent == Sent::Created {
            created += 1;
        } else {
            held += 1;
        }
        match args.format {
            Format::Json => p
                .json_line(
                    &serde_json::json!({"type": "resumed", "shard": shard, "name": r.name,
                    "previous": previous, "input": input, "held": r.held}),
                )
                .map_err(io)?,
            _ => p
                .human_line(&format!(
                    "{shard}: {} resumes {} from {} file(s){}",
                    r.name.as_deref().unwrap_or("(held back)"),
                    previous.as_deref().unwrap_or("?"),
                    input.len(),
                    r.held
                        .as_deref()
                        .map_or(String::new(), |h| format!(": held back: {h}"))
                ))
                .map_err(io)?,
        }
    }
    let c = Counts {
        to_create: ended.len(),
        created,
        held,
    };
    summary(&mut p, args.format, location, c, false).map_err(io)?;
    p.flush().map_err(io)?;
    Ok(ExitStatus::Ok)
}
