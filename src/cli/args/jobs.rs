//! The arguments of the commands that follow a run to Vertex and back: `submit`, `status`,
//! `wait`, `cancel`, `run`, `collect`, `upload`, and the local `emulator`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{CloudArgs, Format, InputArgs, PlanArgs};

/// Exit statuses of `collect`.
pub(super) const COLLECT_EXIT: &str = "Exit status:
  0  every sent line has a response (invalid lines, never sent, do not count)
  1  some lines failed or got no row: see the output's status and collect-report.json
  2  usage error
  3  I/O, network or remote-service failure (the output is not written)";

/// `batchline collect`.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// The run (a local folder or gs://bucket/prefix), submitted with `batchline submit`.
    #[arg(value_name = "RUN")]
    pub run: std::ffi::OsString,

    /// Where the merged output goes (a path, gs:// or s3://) [default: results.jsonl in the run].
    /// Written under a temporary name and renamed, or uploaded in parts and completed at the end.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<String>,

    /// More prediction files or folders (local, gs://, s3://, or a gs://…/*.jsonl pattern) to merge
    /// beside the jobs' own: rows of jobs made in the console or the SDK from this run's shards.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub predictions: Vec<String>,

    /// Add each line's `request` to its output line.
    #[arg(long)]
    pub include_request: bool,

    /// `full` (default): the whole GenerateContentResponse in `response`. `text`: only the first
    /// candidate's text (thought parts left out) in `text`.
    #[arg(long, value_enum, default_value_t = ResponseForm::Full)]
    pub response: ResponseForm,

    /// Do not write a retry round (`retry-N/`) for retryable failures and missing rows.
    #[arg(long)]
    pub no_retry_round: bool,

    /// The `--predictions` files hold rows of this run's shards only: match their keyed rows by
    /// key without checking that the echoed request is the keyed one. Faster; a file from
    /// another run would then fill lines with the wrong responses. (A job's own rows are always
    /// matched by key alone.)
    #[arg(long)]
    pub trust_keys: bool,

    /// Folder for spill files (remote prediction files, the responses while merging)
    /// [default: the system temp folder].
    #[arg(long, env = "BATCHLINE_SPILL_DIR", value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,

    /// Model facts and prices (JSON, same shape as the built-in table) instead of the built-in ones.
    #[arg(long, value_name = "FILE")]
    pub pricing: Option<PathBuf>,

    /// Storage endpoints and credentials.
    #[command(flatten)]
    pub cloud: CloudArgs,

    /// Output format of the summary (the merged output is always JSON Lines).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `batchline run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Inputs and reading options.
    #[command(flatten)]
    pub input: InputArgs,

    /// The run, on Cloud Storage (`gs://bucket/prefix/run`): prepared there directly, where Vertex
    /// reads the shards and writes the rows.
    #[arg(long, value_name = "RUN")]
    pub to: std::ffi::OsString,

    /// Google Cloud project of the jobs.
    #[arg(long, env = "BATCHLINE_PROJECT", value_name = "PROJECT")]
    pub project: String,

    /// Vertex AI location (region), e.g. us-central1, or global.
    #[arg(long, env = "BATCHLINE_LOCATION", value_name = "LOCATION")]
    pub location: String,

    /// Where the merged output goes [default: results.jsonl in the run].
    #[arg(short = 'O', long = "results", value_name = "OUT")]
    pub results: Option<String>,

    /// Retry rounds to send for retryable failures and missing rows (0: none).
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub retry_rounds: u32,

    /// Keep at most N jobs live at once (as `submit --max-concurrent`): the rest are held back
    /// and created as earlier jobs end.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent: Option<u32>,

    /// How long and how often to poll the jobs.
    #[command(flatten)]
    pub poll: PollArgs,

    /// `full` (default) or `text`, as for collect.
    #[arg(long, value_enum, default_value_t = ResponseForm::Full)]
    pub response: ResponseForm,

    /// Planning options, as for prepare (the model is also the jobs' model).
    #[command(flatten)]
    pub plan: PlanArgs,

    /// How to reach Vertex AI.
    #[command(flatten)]
    pub vertex: VertexArgs,

    /// Storage endpoints, credentials and upload tunables.
    #[command(flatten)]
    pub cloud: CloudArgs,
}

/// What `collect` writes for a succeeded line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResponseForm {
    /// The whole response.
    Full,
    /// The first candidate's text.
    Text,
}

/// `batchline upload`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The finished local run (a folder `prepare` wrote).
    #[arg(value_name = "RUN")]
    pub run: std::ffi::OsString,

    /// Where to put it: `gs://bucket/prefix` (or `s3://…`): a new or empty prefix, or an earlier
    /// (possibly interrupted) upload of the same run.
    #[arg(value_name = "DEST")]
    pub dest: String,

    /// Storage endpoints, credentials and upload tunables.
    #[command(flatten)]
    pub cloud: CloudArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
}

/// How to reach Vertex AI.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Vertex AI")]
pub struct VertexArgs {
    /// The Vertex AI endpoint (the emulator's URL, a private endpoint) [default: chosen from the
    /// location: https://LOCATION-aiplatform.googleapis.com, or https://aiplatform.googleapis.com
    /// for global].
    #[arg(long, env = "BATCHLINE_VERTEX_ENDPOINT", value_name = "URL")]
    pub vertex_endpoint: Option<String>,
}

/// `batchline submit` as parsed: [`SubmitArgs`] (what `batchline run` also builds) and the
/// flags only `submit` itself takes.
#[derive(Debug, Args)]
pub struct SubmitCommand {
    /// The common flags.
    #[command(flatten)]
    pub args: SubmitArgs,

    /// Flow control.
    #[command(flatten)]
    pub queue: SubmitQueueArgs,

    /// What to send instead of a prepared run on Cloud Storage.
    #[command(flatten)]
    pub what: SubmitSourceArgs,
}

/// `submit`'s other inputs: a job over a table or file batchline did not prepare, or a local run
/// uploaded first.
#[derive(Debug, Clone, Default, Args)]
pub struct SubmitSourceArgs {
    /// One job over this input instead of a prepared run's shards: a BigQuery table
    /// (bq://project.dataset.table) or one JSONL file on Cloud Storage (gs://bucket/file.jsonl).
    #[arg(
        long,
        value_name = "URI",
        conflicts_with_all = ["retry", "resume", "max_concurrent", "to"],
        long_help = "One job over this input instead of a prepared run's shards: a BigQuery table \
(bq://project.dataset.table, with a `request` column) or one JSONL file on Cloud Storage \
(gs://bucket/file.jsonl). batchline only writes the job's spec: it never reads the table or the \
file, so nothing is validated. RUN is then the place (a local folder or gs://bucket/prefix) that \
holds the job's state.json and nothing else; status, wait and cancel follow the job there, and \
submit again creates no second job. A prepared run as RUN is refused. The global location is \
refused for a BigQuery source (reported not to serve it)."
    )]
    pub source: Option<String>,

    /// Where the --source job writes: bq://project or bq://project.dataset (Vertex creates a
    /// predictions_<time> table there), or gs://bucket/prefix [default: the BigQuery source's
    /// dataset; for a gs:// source, RUN/output/ when RUN is on Cloud Storage].
    #[arg(long, value_name = "URI", requires = "source")]
    pub destination: Option<String>,

    /// Upload the local RUN to gs://bucket/prefix first (as batchline upload: objects already
    /// there with the same size and checksum are skipped), then submit the copy's shards.
    #[arg(
        long,
        value_name = "gs://BUCKET/PREFIX",
        long_help = "Upload the local RUN to gs://bucket/prefix first, as batchline upload does \
(resumable: objects already there with the same size and checksum are skipped), then submit the \
copy's shards. The jobs are recorded in the copy's state.json; the local run's state.json records \
only where it went (uploaded_to), so status, wait, cancel, collect and submit given the local \
run follow it to the copy (collect still writes results.jsonl into the local run by default). \
With --dry-run nothing is uploaded: the copy must exist already."
    )]
    pub to: Option<String>,
}

/// `submit`'s flow control.
#[derive(Debug, Clone, Default, Args)]
pub struct SubmitQueueArgs {
    /// Keep at most N jobs of the run live (created and not ended) at once: the other shards are
    /// recorded in state.json as held back, and `batchline wait` creates them as earlier jobs
    /// end. Recorded in state.json: later submits and waits keep the limit until another is given.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent: Option<u32>,

    /// Vertex's native resume: for every job of the run that ended failed, cancelled or expired,
    /// create a new job whose input is the old job's exported prediction files (the new job runs
    /// only the rows not finished and writes all rows to its own output,
    /// RUN/output/<shard>-resume-N/); a job that exported nothing is created again from its
    /// shard. state.json keeps the old job in the shard's `previous`. Nothing else is created.
    #[arg(long, conflicts_with = "retry")]
    pub resume: bool,
}

/// `batchline submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The finished run on Cloud Storage (gs://bucket/prefix); a local run with --to; with
    /// --source, the folder or prefix that keeps the job's state.json.
    #[arg(value_name = "RUN")]
    pub run: std::ffi::OsString,

    /// Google Cloud project id or number.
    #[arg(long, value_name = "PROJECT")]
    pub project: String,

    /// Vertex AI location, e.g. us-central1 or global.
    #[arg(long, value_name = "LOCATION")]
    pub location: String,

    /// The model: a short name (gemini-2.5-flash) or a full resource name
    /// (publishers/google/models/…, projects/…/models/… for tuned models).
    #[arg(long, value_name = "MODEL")]
    pub model: String,

    /// Print the create bodies that would be sent, send nothing and record nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Send the newest retry round (`retry-N/`, written by `collect` for retryable failures and
    /// missing rows) instead of the prepared shards; a re-run creates jobs only for its shards
    /// that have none.
    #[arg(long)]
    pub retry: bool,

    /// Vertex endpoint.
    #[command(flatten)]
    pub vertex: VertexArgs,

    /// Storage endpoints and credentials (the token also serves Vertex).
    #[command(flatten)]
    pub cloud: CloudArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `batchline status` and `batchline cancel`.
#[derive(Debug, Args)]
pub struct JobsArgs {
    /// A run with jobs (as given to submit: gs://bucket/prefix, a local run submitted with
    /// --to, or the place of a --source job).
    #[arg(value_name = "RUN")]
    pub run: std::ffi::OsString,

    /// Vertex endpoint.
    #[command(flatten)]
    pub vertex: VertexArgs,

    /// Storage endpoints and credentials (the token also serves Vertex).
    #[command(flatten)]
    pub cloud: CloudArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `batchline wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The run, endpoints and output format, as for `status`.
    #[command(flatten)]
    pub jobs: JobsArgs,

    /// How long and how often to poll.
    #[command(flatten)]
    pub poll: PollArgs,
}

/// Polling options of `wait` and `run`.
#[derive(Debug, Args, Clone)]
pub struct PollArgs {
    /// Give up after this long (e.g. 90s, 30m, 12h), leaving the jobs running; exit 3. A re-run
    /// goes on waiting.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,

    /// The shortest pause between polls; pauses grow with jitter up to --max-poll-interval.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub poll_interval: String,

    /// The longest pause between polls.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub max_poll_interval: String,

    /// Report a job still JOB_STATE_PENDING or JOB_STATE_QUEUED this long after it was created
    /// (e.g. 6h): stop waiting with exit 3 and name it (the job stays in Vertex's queue), unless
    /// --resubmit-stuck.
    #[arg(long, value_name = "DURATION")]
    pub stuck_after: Option<String>,

    /// With --stuck-after: cancel a stuck job, create it again with the same body (state.json
    /// keeps the cancelled one in the shard's `previous`), and go on waiting.
    #[arg(long, requires = "stuck_after")]
    pub resubmit_stuck: bool,
}

/// `batchline emulator`.
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Port on 127.0.0.1; 0 takes a free one. The first line on stdout is the URL it listens on.
    #[arg(long, default_value_t = 0, value_name = "PORT")]
    pub port: u16,

    /// Folder that stands for Cloud Storage: gs://BUCKET/KEY is DIR/BUCKET/KEY.
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with = "gcs_endpoint",
        required_unless_present = "gcs_endpoint"
    )]
    pub storage_root: Option<PathBuf>,

    /// A GCS-compatible server (object_store's XML API) to read inputs from and write rows to.
    #[arg(long, value_name = "URL", requires = "access_token")]
    pub gcs_endpoint: Option<String>,

    /// Bearer token for --gcs-endpoint.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "BATCHLINE_ACCESS_TOKEN",
        hide_env_values = true
    )]
    pub access_token: Option<String>,

    /// Seed of the row order and of the failure draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Member order of prediction rows: `current` (request, status, response, processed_time;
    /// since 2025-11) or `2025` (status, processed_time, request, response; until 2025-09).
    #[arg(long, default_value = "current", value_parser = ["current", "2025"], value_name = "LAYOUT")]
    pub row_layout: String,

    /// Share of rows that fail with 500 INTERNAL.
    #[arg(long, default_value_t = 0.0, value_name = "RATE")]
    pub fail_internal: f64,

    /// Share of rows that fail with 400 INVALID_ARGUMENT.
    #[arg(long, default_value_t = 0.0, value_name = "RATE")]
    pub fail_invalid_argument: f64,

    /// Share of rows blocked by safety (promptFeedback.blockReason = SAFETY, empty status).
    #[arg(long, default_value_t = 0.0, value_name = "RATE")]
    pub block_safety: f64,

    /// End every job this way: `failed` (code 13, half the rows out), `cancelled` (half the rows
    /// out) or `expired` (from the queue, no rows). One job: its label emulator_end_state.
    #[arg(long, value_parser = ["failed", "cancelled", "expired"], value_name = "STATE")]
    pub end_state: Option<String>,

    /// Time each job stays JOB_STATE_PENDING, e.g. 500ms, 2s, 1m.
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub pending_for: String,

    /// Hold only the first N jobs created in JOB_STATE_PENDING for --pending-for; later ones
    /// start at once [default: every job].
    #[arg(long, value_name = "N")]
    pub pending_jobs: Option<u64>,

    /// Answer the first N creates with 429 RESOURCE_EXHAUSTED.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub reject_creates: u32,

    /// Rows each job finishes per second (0 = as fast as it can).
    #[arg(long, default_value_t = 0.0, value_name = "R")]
    pub rows_per_second: f64,

    /// Rows per incremental export file.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub export_rows: usize,

    /// Cache model: rows running at once.
    #[arg(long, default_value_t = 256, value_name = "W")]
    pub cache_workers: usize,

    /// Cache model: rounds an entry lives after its last use (`inf` for never).
    #[arg(long, default_value = "5", value_name = "ROUNDS")]
    pub cache_ttl: String,

    /// Cache model: minimum cached prefix in tokens [default: the model table's, per job model].
    #[arg(long, value_name = "TOKENS")]
    pub min_cache_tokens: Option<u64>,

    /// Model facts (JSON, same shape as the built-in table).
    #[arg(long, value_name = "FILE")]
    pub pricing: Option<PathBuf>,
}
