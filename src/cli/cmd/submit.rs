//! `batchline submit RUN --project P --location L --model M`: one Vertex batch job per shard of a
//! finished run on Cloud Storage, recorded in the run's `state.json` (see [`crate::run::state`]).
//! A local run is uploaded first with `--to` ([`super::submit_to`]); `--source` makes one job
//! over a table or file batchline did not prepare ([`super::submit_source`]); `--resume` is
//! [`super::submit_resume`]. All of them create through `send`.
//!
//! Order of work, so that an interrupted or racing `submit` never makes two jobs for a shard:
//! 1. every check that needs no network (a run on `gs://`, finished, shards within the model
//!    table's limits, valid bodies) before anything is sent;
//! 2. the shards without a record are reserved in one conditional write of `state.json`;
//! 3. each reserved shard is created, and its job recorded at once (another conditional write).
//!
//! A reservation without a job name (a crash, or a create whose answer was lost) is resolved on
//! the next run by listing jobs with the shard's labels; only when none exists is it created
//! again. A reservation younger than [`RESERVATION_HOLD`] is left alone: another `submit` may be
//! creating it right now.

use std::collections::BTreeMap;

use serde::Serialize;

use super::cloud_config;
use crate::cli::args::{
    CloudArgs, Format, SubmitArgs, SubmitQueueArgs, SubmitSourceArgs, VertexArgs,
};
use crate::cli::exit::ExitStatus;
use crate::cli::output::Printer;
use crate::error::{Error, Result};
use crate::models::{BatchLimits, ModelTable};
use crate::run::manifest::FileEntry;
use crate::run::state::{
    now_rfc3339, seconds_between, JobRecord, RunState, StateFile, HELD, RESERVED, STATE_FORMAT,
};
use crate::run::Run;
use crate::store::{block_on, Location};
use crate::vertex::wire::{create_body, model_resource, CreateSpec, Destination, Source};
use crate::vertex::{AuthConfig, ClientOptions, VertexClient, VertexError};

/// Label that carries the run id on every job.
pub const RUN_LABEL: &str = "batchline_run";
/// Label that carries the shard (`shard-00000`) on every job.
pub const SHARD_LABEL: &str = "batchline_shard";
/// How long a reservation without a job name belongs to the `submit` that made it (seconds).
pub const RESERVATION_HOLD: i64 = 600;

/// Runs `submit` with no flow-control flags (as `batchline run` does).
pub fn run(args: SubmitArgs) -> Result<ExitStatus> {
    run_with(
        args,
        &SubmitQueueArgs::default(),
        &SubmitSourceArgs::default(),
    )
}

/// Runs `submit`: a prepared run's shards (a local run with `--to` uploaded first), or one job
/// over `--source`.
pub fn run_with(
    args: SubmitArgs,
    queue: &SubmitQueueArgs,
    what: &SubmitSourceArgs,
) -> Result<ExitStatus> {
    let cloud = cloud_config(&args.cloud)?;
    if let Some(source) = &what.source {
        return super::submit_source::run(&args, &cloud, source, what.destination.as_deref());
    }
    let location = super::submit_to::run_location(&args, &cloud, what.to.as_deref())?;
    let run = open_remote_run(&location, &cloud)?;
    let manifest = run.manifest()?.ok_or_else(|| {
        Error::Usage(format!(
            "{location} has no manifest.json: it is not a finished run (run batchline prepare, or batchline upload a finished local run)"
        ))
    })?;
    let shards: Vec<FileEntry> = if args.retry {
        match crate::collect::newest_retry_round(&run)? {
            Some(m) => m.shards,
            None => {
                return Err(Error::Usage(format!(
                    "{location} has no retry round: run batchline collect first (it writes retry-N/ when some requests failed and may succeed when sent again)"
                )))
            }
        }
    } else {
        manifest.shards.clone()
    };
    let model = checked_model(&args.model)?;
    let table = ModelTable::builtin();
    for s in &shards {
        if let Some(problem) = over_limits(s, &table.limits) {
            return Err(Error::InvalidInput(format!(
                "{}: {problem}: prepare the run again with smaller shards (--max-requests, --max-bytes). Nothing was sent.",
                run.describe(&s.name)
            )));
        }
    }
    let run_id = run_id(&run, "")?;
    let run_name = run_name(&location);
    // Every body first: a bad one stops the command before anything is sent.
    let mut planned = Vec::new();
    for s in &shards {
        let stem = shard_stem(&s.name);
        let output_prefix = run.describe(&format!("output/{stem}/"));
        let body = create_body(&CreateSpec {
            display_name: display_name(&run_name, &stem),
            model: model.clone(),
            source: Source::Gcs(vec![run.describe(&s.name)]),
            destination: Some(Destination::Gcs(output_prefix.clone())),
            labels: labels(&run_id, &stem),
        })
        .map_err(vertex_err)?;
        planned.push(Planned {
            key: s.name.clone(),
            output_prefix,
            body,
            requests: s.requests,
        });
    }
    let origin = Origin {
        run_id,
        source: None,
    };
    send(&args, queue, &run, &location, &cloud, origin, planned)
}

/// One job `submit` means to create: its key in `state.json` (the shard's name, or the
/// `--source` URI), output prefix, body, and request count when known.
pub(crate) struct Planned {
    pub(crate) key: String,
    pub(crate) output_prefix: String,
    pub(crate) body: crate::vertex::wire::BatchPredictionJob,
    pub(crate) requests: Option<u64>,
}

/// What a new `state.json` records besides the jobs: the run id and, for a `--source` job, its
/// source and destination.
pub(crate) struct Origin {
    pub(crate) run_id: String,
    pub(crate) source: Option<(String, String)>,
}

/// The model's resource name, checked against the model table when given by short name (or as
/// `publishers/google/…`); tuned and other publishers' models are taken as given.
pub(crate) fn checked_model(model: &str) -> Result<String> {
    let resource = model_resource(model).map_err(vertex_err)?;
    if !model.contains('/') || resource.starts_with("publishers/google/") {
        ModelTable::builtin().get(&resource)?;
    }
    Ok(resource)
}

/// The last segment of the run's location, for display names.
pub(crate) fn run_name(location: &Location) -> String {
    location
        .to_string()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("run")
        .to_string()
}

/// `batchline <run> <what>`, at most 128 characters.
pub(crate) fn display_name(run_name: &str, what: &str) -> String {
    format!("batchline {run_name} {what}")
        .chars()
        .take(128)
        .collect()
}

/// The labels of every job: the run id and the shard (or `source`).
pub(crate) fn labels(run_id: &str, shard: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (RUN_LABEL.to_string(), run_id.to_string()),
        (SHARD_LABEL.to_string(), shard.to_string()),
    ])
}

/// Records and creates the `planned` jobs that have no record yet (or are held back), by the
/// rules in the module doc; `--resume` and `--dry-run` branch off here.
pub(crate) fn send(
    args: &SubmitArgs,
    queue: &SubmitQueueArgs,
    run: &Run,
    location: &Location,
    cloud: &crate::store::CloudConfig,
    origin: Origin,
    bodies: Vec<Planned>,
) -> Result<ExitStatus> {
    let mut p = Printer::new(args.format, args.quiet);
    let io = |e: std::io::Error| Error::io("<stdout>", e);
    let mut file = StateFile::load(run)?;
    let (source, destination) = origin.source.clone().unzip();
    let mut state = match &file.state {
        Some(st) => {
            if st.project != args.project || st.location != args.location {
                return Err(Error::Usage(format!(
                    "{} records jobs in projects/{}/locations/{}; submit to the same project and location",
                    run.describe(crate::run::state::STATE_FILE),
                    st.project,
                    st.location
                )));
            }
            if st.source != source || (source.is_some() && st.destination != destination) {
                return Err(Error::Usage(format!(
                    "{} records {}; one place holds one job's state: give another RUN for {}",
                    run.describe(crate::run::state::STATE_FILE),
                    describe_origin(st.source.as_deref(), st.destination.as_deref()),
                    describe_origin(source.as_deref(), destination.as_deref()),
                )));
            }
            st.clone()
        }
        None => RunState {
            format_version: STATE_FORMAT,
            run_id: origin.run_id.clone(),
            project: args.project.clone(),
            location: args.location.clone(),
            max_concurrent: None,
            source,
            destination,
            jobs: BTreeMap::new(),
        },
    };
    if queue.resume {
        if file.state.is_none() {
            return Err(Error::Usage(format!(
                "{location}: no job was submitted for this run yet: nothing to resume"
            )));
        }
        return super::submit_resume::resume(args, run, location, cloud, file, state);
    }
    // Shards with no record, and shards held back by an earlier submit.
    let todo: Vec<_> = bodies
        .into_iter()
        .filter(|b| state.jobs.get(&b.key).is_none_or(JobRecord::is_held))
        .map(|b| (b.key, b.output_prefix, b.body, b.requests))
        .collect();

    if args.dry_run {
        for (shard, _, body, _) in &todo {
            let what = format!(
                "POST …/projects/{}/locations/{}/batchPredictionJobs",
                args.project, args.location
            );
            print_dry_run(&mut p, args.format, shard, &what, body).map_err(io)?;
        }
        return dry_run_summary(&mut p, args.format, location, todo.len()).map_err(io);
    }

    let client = client(&args.vertex, &args.cloud, &args.project, &args.location)?;
    // Stale reservations (an earlier submit that died between reserving and recording).
    let now = now_rfc3339();
    let stale: Vec<String> = state
        .jobs
        .iter()
        .filter(|(_, r)| {
            r.name.is_none()
                && r.state == RESERVED
                && seconds_between(&r.reserved_at, Some(&now)).is_none_or(|s| s >= RESERVATION_HOLD)
        })
        .map(|(k, _)| k.clone())
        .collect();
    let mut created = 0usize;
    for shard in &stale {
        let stem = state.jobs[shard]
            .body
            .labels
            .get(SHARD_LABEL)
            .cloned()
            .unwrap_or_else(|| shard_stem(shard));
        let filter = format!(
            "labels.{RUN_LABEL}=\"{}\" AND labels.{SHARD_LABEL}=\"{stem}\"",
            state.run_id
        );
        let found = block_on(client.list_all(Some(&filter))).map_err(vertex_err)?;
        let record = state.jobs.get_mut(shard).expect("invariant: listed above");
        match found.first() {
            Some(job) => record.update(job, now_rfc3339()),
            None => match block_on(client.create(&record.body)) {
                Ok(job) => {
                    record.update(&job, now_rfc3339());
                    created += 1;
                }
                Err(e) => {
                    if definitely_not_created(&e) {
                        state.jobs.remove(shard);
                        file.save(run, &state)?;
                    }
                    return Err(vertex_err(e));
                }
            },
        }
        file.save(run, &state)?;
    }

    let limit_changed = match queue.max_concurrent {
        Some(n) if state.max_concurrent != Some(n as usize) => {
            state.max_concurrent = Some(n as usize);
            true
        }
        _ => false,
    };
    // Every shard is recorded before any create: reserved within the free slots, held beyond.
    let before: BTreeMap<String, Option<JobRecord>> = todo
        .iter()
        .map(|(shard, _, _, _)| (shard.clone(), state.jobs.get(shard).cloned()))
        .collect();
    if !todo.is_empty() {
        let now = now_rfc3339();
        let mut slots = state.free_slots();
        for (shard, prefix, body, requests) in &todo {
            let record = if slots > 0 {
                slots -= 1;
                JobRecord::reserved(body.clone(), prefix.clone(), now.clone())
            } else {
                JobRecord::held(
                    body.clone(),
                    prefix.clone(),
                    now.clone(),
                    limit_reason(state.max_concurrent),
                )
            };
            let requests = *requests;
            state
                .jobs
                .insert(shard.clone(), JobRecord { requests, ..record });
        }
        file.save(run, &state)?;
    } else if limit_changed {
        file.save(run, &state)?;
    }
    let mut refused_429: Option<String> = None;
    let mut held = 0usize;
    for (at, (shard, _, _, _)) in todo.iter().enumerate() {
        if state.jobs[shard].state == RESERVED {
            if let Some(first) = &refused_429 {
                let r = state
                    .jobs
                    .get_mut(shard)
                    .expect("invariant: recorded above");
                r.state = HELD.into();
                r.held = Some(after_429_reason(first));
                file.save(run, &state)?;
            } else {
                match create_reserved(&client, run, &mut file, &mut state, shard) {
                    Ok(Sent::Created) => {
                        created += 1;
                        let r = &state.jobs[shard];
                        match args.format {
                            Format::Json => p
                                .json_line(&serde_json::json!({"type": "job", "shard": shard, "name": r.name, "state": r.state}))
                                .map_err(io)?,
                            _ => p
                                .human_line(&format!(
                                    "{shard}: {} {}",
                                    r.name.as_deref().unwrap_or("?"),
                                    r.state
                                ))
                                .map_err(io)?,
                        }
                        continue;
                    }
                    Ok(Sent::Held) => refused_429 = Some(shard.clone()),
                    Err(e) => {
                        // The shards after it were never sent: back to what they were.
                        for (later, _, _, _) in todo.iter().skip(at + 1) {
                            match &before[later] {
                                Some(r) => state.jobs.insert(later.clone(), r.clone()),
                                None => state.jobs.remove(later),
                            };
                        }
                        file.save(run, &state)?;
                        p.flush().map_err(io)?;
                        return Err(e);
                    }
                }
            }
        }
        held += 1;
        let why = state.jobs[shard].held.as_deref().unwrap_or("");
        match args.format {
            Format::Json => p
                .json_line(&serde_json::json!({"type": "held", "shard": shard, "reason": why}))
                .map_err(io)?,
            _ => p
                .human_line(&format!("{shard}: held back: {why}"))
                .map_err(io)?,
        }
    }
    summary(
        &mut p,
        args.format,
        location,
        Counts {
            to_create: todo.len(),
            created,
            held,
        },
        false,
    )
    .map_err(io)?;
    p.flush().map_err(io)?;
    Ok(ExitStatus::Ok)
}

/// What became of a create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// The job exists and is recorded.
    Created,
    /// The service answered 429: the shard is held back again, with the reason.
    Held,
}

/// Sends the create of `shard`, whose record is reserved (saved), and records the outcome: the
/// job; or, after a 429, the shard held back with Google's message. Any other failure is
/// returned: after a refusal that made no job (another 4xx) the record is removed (a re-run tries
/// again); after one that may have made a job it stays reserved, to be looked up by its labels.
pub(crate) fn create_reserved(
    client: &VertexClient,
    run: &Run,
    file: &mut StateFile,
    state: &mut RunState,
    shard: &str,
) -> Result<Sent> {
    let body = state.jobs[shard].body.clone();
    let outcome = block_on(client.create(&body));
    let record = state
        .jobs
        .get_mut(shard)
        .expect("invariant: the caller reserved it");
    match outcome {
        Ok(job) => {
            record.update(&job, now_rfc3339());
            file.save(run, state)?;
            Ok(Sent::Created)
        }
        Err(e) if e.http_status() == Some(429) => {
            record.state = HELD.into();
            record.held = Some(reason_429(&e));
            file.save(run, state)?;
            Ok(Sent::Held)
        }
        Err(e) => {
            if definitely_not_created(&e) {
                state.jobs.remove(shard);
                file.save(run, state)?;
            }
            Err(vertex_err(e))
        }
    }
}

/// Why a shard is held back by `--max-concurrent`.
pub(crate) fn limit_reason(max: Option<usize>) -> String {
    format!(
        "--max-concurrent {}: as many jobs as that are live; batchline wait creates it when one ends",
        max.unwrap_or(0)
    )
}

/// Why a shard is held back after its create was answered 429.
fn reason_429(e: &VertexError) -> String {
    let mut inner = e;
    while let VertexError::GaveUp { source, .. } = inner {
        inner = &**source;
    }
    match inner {
        VertexError::Api {
            http,
            status,
            message,
            ..
        } => format!(
            "create answered {http} {status} (batchline wait retries it with backoff): {message}"
        ),
        other => format!("create answered 429 (batchline wait retries it with backoff): {other}"),
    }
}

/// Why a shard was not sent after another shard's create was answered 429.
fn after_429_reason(first: &str) -> String {
    format!("not sent: the create of {first} was answered 429 just before (batchline wait retries it with backoff)")
}

/// `a job over SOURCE writing to DEST`, or `a prepared run's jobs`.
fn describe_origin(source: Option<&str>, destination: Option<&str>) -> String {
    match source {
        Some(s) => format!(
            "a job over {s} writing to {}",
            destination.unwrap_or("its default destination")
        ),
        None => "the jobs of a prepared run's shards".into(),
    }
}

/// What a submit did.
pub(crate) struct Counts {
    pub(crate) to_create: usize,
    pub(crate) created: usize,
    pub(crate) held: usize,
}

/// Prints one job `--dry-run` would create: a JSON line, or `shard: what` and the body.
pub(crate) fn print_dry_run(
    p: &mut Printer,
    format: Format,
    shard: &str,
    what: &str,
    body: &impl serde::Serialize,
) -> std::io::Result<()> {
    match format {
        Format::Json => {
            p.json_line(&serde_json::json!({"type": "create", "shard": shard, "body": body}))
        }
        _ => p.human_line(&format!(
            "{shard}: {what}\n{}",
            serde_json::to_string_pretty(body).expect("invariant: body serialises")
        )),
    }
}

/// The closing summary of `--dry-run`, which created nothing and holds nothing back.
pub(crate) fn dry_run_summary(
    p: &mut Printer,
    format: Format,
    location: &Location,
    to_create: usize,
) -> std::io::Result<ExitStatus> {
    let c = Counts {
        to_create,
        created: 0,
        held: 0,
    };
    summary(p, format, location, c, true)?;
    p.flush()?;
    Ok(ExitStatus::Ok)
}

/// The closing summary: JSON, or one human line for what was created and held back.
pub(crate) fn summary(
    p: &mut Printer,
    format: Format,
    location: &Location,
    c: Counts,
    dry_run: bool,
) -> std::io::Result<()> {
    #[derive(Serialize)]
    struct Out {
        #[serde(rename = "type")]
        kind: &'static str,
        run: String,
        dry_run: bool,
        to_create: usize,
        created: usize,
        held: usize,
    }
    match format {
        Format::Json => p.json_line(&Out {
            kind: "summary",
            run: location.to_string(),
            dry_run,
            to_create: c.to_create,
            created: c.created,
            held: c.held,
        }),
        _ if dry_run => p.human_line(&format!(
            "{location}: {} job(s) would be created (dry run: nothing sent)",
            c.to_create
        )),
        _ if c.held > 0 => p.human_line(&format!(
            "{location}: {} job(s) created, {} shard(s) held back (batchline wait creates them)",
            c.created, c.held
        )),
        _ => p.human_line(&format!("{location}: {} job(s) created", c.created)),
    }
}

/// What makes `shard` too big for one batch job under `limits`, if anything.
fn over_limits(shard: &FileEntry, limits: &BatchLimits) -> Option<String> {
    let requests = shard.requests.unwrap_or(0);
    if requests > limits.max_requests_per_file {
        Some(format!(
            "{requests} requests; a batch job takes at most {} per file",
            limits.max_requests_per_file
        ))
    } else if shard.bytes > limits.max_bytes_per_file {
        Some(format!(
            "{} bytes; a batch job takes at most {} per file",
            shard.bytes, limits.max_bytes_per_file
        ))
    } else {
        None
    }
}

/// True when the service answered a create with an error that made no job (a 4xx).
fn definitely_not_created(e: &VertexError) -> bool {
    matches!(e.http_status(), Some(400..=499))
        || matches!(e, VertexError::Usage(_) | VertexError::Auth(_))
}

/// A shard's name in labels and output folders: `shards/shard-00000.jsonl` → `shard-00000`,
/// `retry-1/shard-00000.jsonl` → `retry-1-shard-00000` (retry shards reuse the numbers).
pub(crate) fn shard_stem(name: &str) -> String {
    let name = name.strip_suffix(".jsonl").unwrap_or(name);
    match name.split_once('/') {
        Some(("shards", rest)) => rest.replace('/', "-"),
        _ => name.replace('/', "-"),
    }
}

/// The run id: `r` and 16 hex digits of the checksum of the run's location and manifest (and,
/// for a `--source` job, `source`: empty otherwise), so every `submit` of one run derives the
/// same id (a valid label value).
pub(crate) fn run_id(run: &Run, source: &str) -> Result<String> {
    let manifest = run.read("manifest.json")?.unwrap_or_default();
    let mut data = run.describe("").into_bytes();
    data.push(b'\n');
    data.extend_from_slice(&manifest);
    // A `--source` job's run has no manifest: its source (and destination) stand in.
    data.extend_from_slice(source.as_bytes());
    let sum = crate::run::manifest::content_checksum(&data);
    let hex = sum.rsplit(':').next().unwrap_or(&sum);
    Ok(format!("r{}", &hex[..16.min(hex.len())]))
}

/// Opens a run on Cloud Storage; a local (or other) run is a usage error.
pub(crate) fn open_remote_run(
    location: &Location,
    cloud: &crate::store::CloudConfig,
) -> Result<Run> {
    if !location.to_string().starts_with("gs://") {
        return Err(Error::Usage(format!(
            "{location}: Vertex AI reads its input from Cloud Storage; batchline upload the run to gs://bucket/prefix first and give that, or submit it with --to gs://bucket/prefix (which uploads it)"
        )));
    }
    Run::open(location, cloud)
}

/// The Vertex client for `project` and `location`, with the flags' endpoint and token.
pub(crate) fn client(
    vertex: &VertexArgs,
    cloud: &CloudArgs,
    project: &str,
    location: &str,
) -> Result<VertexClient> {
    let mut o = ClientOptions::new(project, location);
    if let Some(e) = vertex.vertex_endpoint.clone().filter(|e| !e.is_empty()) {
        o.endpoint = Some(e);
    }
    o.auth = AuthConfig::from_flag_or_env(cloud.access_token.as_deref());
    // One retry budget for storage and Vertex (`--retries`, `--retry-timeout`).
    o.retry.max_retries = cloud.retries;
    o.retry.retry_timeout = std::time::Duration::from_secs(cloud.retry_timeout);
    VertexClient::new(&o).map_err(vertex_err)
}

/// A Vertex failure as the library's error: bad arguments are usage errors (exit 2), the rest
/// remote failures (exit 3) that carry Google's status and message.
pub(crate) fn vertex_err(e: VertexError) -> Error {
    match e {
        VertexError::Usage(m) => Error::Usage(m),
        VertexError::Api {
            url,
            http,
            status,
            message,
            method,
        } => Error::Remote {
            url: format!("{method} {url}"),
            message: format!("Vertex AI answered {http} {status}: {message}"),
        },
        other => Error::Remote {
            url: "Vertex AI".into(),
            message: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(requests: u64, bytes: u64) -> FileEntry {
        FileEntry {
            name: "shards/shard-00000.jsonl".into(),
            bytes,
            checksum: String::new(),
            requests: Some(requests),
            crc32c: None,
            etag: None,
        }
    }

    #[test]
    fn submit_refuses_a_shard_one_over_the_model_tables_limits() {
        let limits = ModelTable::builtin().limits;
        let (n, b) = (limits.max_requests_per_file, limits.max_bytes_per_file);
        assert_eq!(over_limits(&shard(n, b), &limits), None);
        assert_eq!(
            over_limits(&shard(n + 1, 10), &limits),
            Some(format!(
                "{} requests; a batch job takes at most {n} per file",
                n + 1
            ))
        );
        assert_eq!(
            over_limits(&shard(1, b + 1), &limits),
            Some(format!(
                "{} bytes; a batch job takes at most {b} per file",
                b + 1
            ))
        );
    }

    #[test]
    fn shard_stem_drops_the_folder_and_the_extension() {
        assert_eq!(shard_stem("shards/shard-00012.jsonl"), "shard-00012");
        assert_eq!(
            shard_stem("retry-3/shard-00012.jsonl"),
            "retry-3-shard-00012"
        );
    }
}
