//! Command-line arguments (clap derive). The conversion to library options lives in each command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::exit::EXIT_TABLE;

mod jobs;
use jobs::COLLECT_EXIT;
pub use jobs::*;

/// What `--version` prints: the crate's version and the discovery-document revision the schema
/// table was generated from (the schema requests are checked against).
pub fn version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        let src = &crate::request::schema::SOURCE;
        format!(
            "{} (Vertex AI v1 schema revision {} from {})",
            env!("CARGO_PKG_VERSION"),
            src.revision,
            src.package
        )
    })
}

/// Prepare, validate, submit and collect Gemini batch inference jobs on Vertex AI.
#[derive(Debug, Parser)]
#[command(name = "batchline", version = version(), after_help = EXIT_TABLE, propagate_version = true)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every line against the Vertex request schema, the documented rules and the
    /// whole-job import checks, before you pay and wait.
    #[command(after_long_help = EXIT_TABLE)]
    Validate(ValidateArgs),
    /// Validate, deduplicate, order for the implicit cache and shard inputs into a run folder.
    #[command(after_long_help = EXIT_TABLE)]
    Prepare(PrepareArgs),
    /// Report what `prepare` would do — duplicates, tokens, shared prefixes, predicted cache hits
    /// and cost — without writing anything.
    #[command(after_long_help = EXIT_TABLE)]
    Stats(StatsArgs),
    /// Publish a finished local run to Cloud Storage (or S3): objects already there with the
    /// same size and checksum are skipped, so an interrupted upload resumes; the manifest goes last.
    #[command(after_long_help = EXIT_TABLE)]
    Upload(UploadArgs),
    /// Create one Vertex AI batch job per shard of a run on Cloud Storage; a re-run creates jobs
    /// only for shards that have none. Jobs are recorded in the run's state.json. Shards over
    /// --max-concurrent, or whose create is answered 429, are held back (not a failure): wait
    /// creates them later.
    #[command(after_long_help = EXIT_TABLE)]
    Submit(SubmitCommand),
    /// Show each job of a run: state, row counts, error, and how long it has waited; records
    /// what it saw in state.json.
    #[command(after_long_help = EXIT_TABLE)]
    Status(JobsArgs),
    /// Cancel the run's jobs that have not ended.
    #[command(after_long_help = EXIT_TABLE)]
    Cancel(JobsArgs),
    /// Poll the run's jobs (with backoff) until every one has ended, creating held-back shards
    /// as room frees up: exit 0 when all succeeded, 1 when any failed, was cancelled or expired,
    /// 3 on a service failure, --timeout, or a job queued past --stuck-after (unless
    /// --resubmit-stuck).
    #[command(after_long_help = EXIT_TABLE)]
    Wait(WaitArgs),
    /// Merge the run's prediction rows back into one result per input line, in input order:
    /// duplicates filled in, failures classified (retryable ones written as a retry round for
    /// `submit --retry`), and the measured cache share and cost reported beside `prepare`'s
    /// prediction. Exit 0 when every sent line succeeded, 1 when some failed or got no row.
    #[command(after_long_help = COLLECT_EXIT)]
    Collect(CollectArgs),
    /// prepare → submit → wait → collect (and retry rounds) in one resumable command: run it
    /// again after an interruption and it picks up where it stopped, creating no job twice.
    #[command(after_long_help = COLLECT_EXIT)]
    Run(Box<RunArgs>),
    /// Put the Gemma 3 tokenizer vocabulary (4.69 MB; exact token counts for Gemini 2.x and 3.0)
    /// into the cache folder, checked by sha256. The one command that uses the network; counting
    /// never downloads.
    FetchTokenizer(FetchTokenizerArgs),
    /// Write a seeded synthetic corpus (for benchmarks and tests).
    #[command(hide = true)]
    GenCorpus(GenCorpusArgs),
    /// Write seeded synthetic prediction rows for every request of a prepared local run, in a
    /// shuffled order across `predictions_NNNNN.jsonl` files (benchmarks and tests of collect).
    #[command(hide = true)]
    GenPredictions(GenPredictionsArgs),
    /// Serve a local Vertex AI batch endpoint (batchPredictionJobs on 127.0.0.1) over a folder or
    /// a GCS emulator, for tests and offline rehearsals. A model, not Google's service: see
    /// docs/emulator.md.
    Emulator(EmulatorArgs),
    /// Print a shell completion script to stdout, e.g.
    /// `batchline completions bash > ~/.local/share/bash-completion/completions/batchline`.
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout, e.g. `batchline man > batchline.1`, or with `--dir`
    /// write it and one page per command (`batchline-validate.1`, …) into a folder.
    Man(ManArgs),
}

/// `batchline man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `batchline.1` and one `batchline-COMMAND.1` per command into this existing folder
    /// instead of printing the top-level page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `batchline completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// Shells `batchline completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    /// Bash (with the bash-completion package).
    Bash,
    /// Zsh (a `_batchline` file on `$fpath`).
    Zsh,
    /// Fish (`~/.config/fish/completions/batchline.fish`).
    Fish,
    /// PowerShell (dot-source it from `$PROFILE`).
    Powershell,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Readable lines, coloured on a terminal.
    Human,
    /// JSON Lines: one object per finding, then one summary object.
    Json,
    /// GitHub Actions workflow annotations (`::error file=…,line=…::…`).
    Github,
}

/// Options shared by commands that read inputs.
#[derive(Debug, Args, Clone)]
pub struct InputArgs {
    /// Input JSONL files; `-` reads stdin.
    #[arg(required = true, value_name = "FILE", value_parser = clap::value_parser!(std::ffi::OsString))]
    pub inputs: Vec<std::ffi::OsString>,

    /// Worker threads; 0 uses every core.
    #[arg(short = 'j', long, default_value_t = 0, value_name = "N")]
    pub threads: usize,

    /// Memory-map input files (default: map regular files of 64 KiB or more).
    #[arg(
        long,
        overrides_with = "no_mmap",
        long_help = "Memory-map input files. By default regular files of 64 KiB or more are mapped and smaller ones read; stdin and pipes are always read. Mapping is fastest for large files. A file truncated by another process while it is read stops the command with exit 3 and a message naming it (nothing is published); a file rewritten in place is noticed by prepare before it publishes the run. Use --no-mmap for files that may change."
    )]
    pub mmap: bool,

    /// Read input files into memory instead of mapping them.
    #[arg(long, overrides_with = "mmap")]
    pub no_mmap: bool,

    /// Bytes per parallel chunk (testing knob).
    #[arg(long, hide = true, value_name = "BYTES")]
    pub chunk_bytes: Option<usize>,

    /// Folder that holds gs://, s3:// and https:// inputs while they are read [default: the
    /// system temp folder].
    #[arg(
        long,
        env = "BATCHLINE_SPILL_DIR",
        value_name = "DIR",
        long_help = "Folder that holds gs://, s3:// and https:// inputs while they are read: each is downloaded with parallel ranged reads into an unnamed file there (gone when the command ends, also on error), then mapped like a local file. Its free space is checked against the object's size first. Default: the system temp folder ($TMPDIR, else /tmp)."
    )]
    pub spill_dir: Option<PathBuf>,
}

/// `batchline validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Inputs and reading options.
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Print at most N findings (0 = all); every finding is still counted, and whole-job
    /// findings are always printed.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_errors: usize,

    /// Exit 1 on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,

    /// Model whose context window and limits apply.
    #[arg(long, default_value = "gemini-2.5-flash", value_name = "MODEL")]
    pub model: String,

    /// Model facts and prices (JSON, same shape as the built-in table) instead of the built-in ones.
    #[arg(long, value_name = "FILE")]
    pub pricing: Option<PathBuf>,

    /// Print only the summary (human format) or nothing but annotations (github).
    #[arg(short, long)]
    pub quiet: bool,

    /// Storage options (for gs://, s3:// and https:// inputs).
    #[command(flatten)]
    pub cloud: CloudArgs,
}

/// Planning options shared by `prepare` and `stats`.
#[derive(Debug, Args, Clone)]
pub struct PlanArgs {
    /// Model whose limits, cache minimum and prices apply.
    #[arg(long, default_value = "gemini-2.5-flash", value_name = "MODEL")]
    pub model: String,

    /// Model facts and prices (JSON, same shape as the built-in table).
    #[arg(long, value_name = "FILE")]
    pub pricing: Option<PathBuf>,

    /// Order of requests in the shards.
    #[arg(long, value_enum, default_value_t = OrderArg::Primed, long_help = "Order of requests in the shards. `input`: first occurrences in input order. `prefix`: requests sharing a prompt prefix next to each other (trie order). `primed` (default): prefix order, then the first members of each family whose shared prefix reaches the model's minimum cacheable size move ahead of the family by --prime-gaps rows, so the prefix is already cached when the family's bulk starts on Vertex's many parallel workers.")]
    pub order: OrderArg,

    /// Rows ahead of a family's start for its first members (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1024,256,64,16",
        value_name = "N,N,…"
    )]
    pub prime_gaps: Vec<usize>,

    /// Send every valid line, duplicates included.
    #[arg(long)]
    pub keep_duplicates: bool,

    /// Requests per shard (one shard = one batch job).
    #[arg(long, default_value_t = 200_000, value_name = "N")]
    pub max_requests: u64,

    /// Bytes per shard, e.g. 1GB, 500MB. A request that alone exceeds it (with its key member)
    /// makes prepare refuse, naming the line.
    #[arg(long, default_value = "1GB", value_name = "SIZE", value_parser = max_bytes_arg)]
    pub max_bytes: String,

    /// Name of the top-level member that carries each request's key through Vertex.
    #[arg(long, default_value = "batchline_key", value_name = "NAME")]
    pub key_field: String,

    /// Do not add a key (collect then matches by the echoed request's hash only).
    #[arg(long)]
    pub no_key: bool,

    /// Token counting: `exact` (the model's own vocabulary, each distinct text block once),
    /// `sample` (a seeded sample of distinct blocks, the rest by bytes) or `off` (bytes only).
    #[arg(
        long,
        value_name = "MODE",
        long_help = "Token counting. `exact`: Gemini 2.x/3.0 models count with the Gemma 3 SentencePiece vocabulary, as Google's SDK does; text is cut after newline runs and each distinct block is tokenised once, so a document shared by thousands of requests costs one tokenisation. `sample`: only a seeded sample of distinct blocks (--sample-rate) is tokenised and the rest is extrapolated by bytes. `off`: sizes are estimated at 4 bytes per token. Default: exact when the vocabulary is available (cache folder or --tokenizer-model), else off, and the report says which."
    )]
    pub tokens: Option<String>,

    /// The Gemma 3 vocabulary file (`gemma3_cleaned_262144_v2.spiece.model`, sha256-checked).
    #[arg(long, value_name = "PATH")]
    pub tokenizer_model: Option<PathBuf>,

    /// Share of distinct text blocks tokenised under `--tokens sample`.
    #[arg(long, default_value_t = 0.05, value_name = "RATE")]
    pub sample_rate: f64,

    /// Cache simulation: rows Vertex runs at once.
    #[arg(long, default_value_t = 256, value_name = "W")]
    pub sim_workers: usize,

    /// Cache simulation: rounds a cache entry lives after its last use (`inf` for never).
    #[arg(long, default_value = "5", value_name = "ROUNDS")]
    pub sim_ttl: String,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Print only the summary.
    #[arg(short, long)]
    pub quiet: bool,
}

/// How to reach Cloud Storage and other object stores.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Storage")]
pub struct CloudArgs {
    /// Another server for `gs://` (an emulator, a private endpoint), e.g. http://127.0.0.1:9023.
    #[arg(long, env = "BATCHLINE_GCS_ENDPOINT", value_name = "URL")]
    pub gcs_endpoint: Option<String>,

    /// Another server for `s3://` (an S3-compatible service).
    #[arg(long, env = "BATCHLINE_S3_ENDPOINT", value_name = "URL")]
    pub s3_endpoint: Option<String>,

    /// A fixed OAuth bearer token for Cloud Storage (and Vertex), instead of Application Default
    /// Credentials. Never printed or written into a run.
    #[arg(
        long,
        env = "BATCHLINE_ACCESS_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        long_help = "A fixed OAuth bearer token for Cloud Storage (and Vertex), e.g. from `gcloud auth print-access-token`, instead of Application Default Credentials. Without it, credentials are found as Google's tools find them: GOOGLE_APPLICATION_CREDENTIALS, the gcloud user credentials file, then the metadata server. The token is never printed, logged or written into a run."
    )]
    pub access_token: Option<String>,

    /// Bytes per upload part (a multiple of 16MiB); parts of a shard go up in parallel.
    #[arg(long, default_value = "16MiB", value_name = "SIZE")]
    pub part_size: String,

    /// Upload parts in flight at once (memory: this × --part-size).
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub parts_in_flight: usize,

    /// Retries of a failed storage request (5xx, 429 and network errors; never other 4xx).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub retries: usize,

    /// Seconds after which a failing storage request is not retried again.
    #[arg(long, default_value_t = 180, value_name = "SECONDS")]
    pub retry_timeout: u64,
}

/// `--order` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OrderArg {
    /// Input order.
    Input,
    /// Trie order of prompt prefixes.
    Prefix,
    /// Trie order, primed.
    Primed,
}

/// `batchline prepare`.
#[derive(Debug, Args)]
pub struct PrepareArgs {
    /// Inputs and reading options.
    #[command(flatten)]
    pub input: InputArgs,

    /// The run to write: a local folder, or `gs://bucket/prefix` (also `s3://`, `file://`). It
    /// must be new or empty, or a run made by `prepare` (re-running a finished run does nothing;
    /// a half-written one starts clean). Anything else is refused, and files prepare did not
    /// write are never removed.
    #[arg(short, long, value_name = "RUN")]
    pub output: std::ffi::OsString,

    /// Storage endpoints, credentials and upload tunables.
    #[command(flatten)]
    pub cloud: CloudArgs,

    /// Abort before writing anything if any line is invalid or the input has whole-job errors.
    #[arg(long)]
    pub strict: bool,

    /// Planning options.
    #[command(flatten)]
    pub plan: PlanArgs,
}

/// `batchline stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Inputs and reading options.
    #[command(flatten)]
    pub input: InputArgs,

    /// Planning options.
    #[command(flatten)]
    pub plan: PlanArgs,

    /// Storage options (for gs://, s3:// and https:// inputs).
    #[command(flatten)]
    pub cloud: CloudArgs,
}

/// `batchline fetch-tokenizer`.
#[derive(Debug, Args)]
pub struct FetchTokenizerArgs {
    /// Folder to put the vocabulary in [default: the cache folder: $BATCHLINE_CACHE_DIR, else
    /// $XDG_CACHE_HOME/batchline, else ~/.cache/batchline; where stats and prepare look].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Where to take it from: an http(s) URL or a local path, holding either the vocabulary file
    /// itself or a .tar.gz / .crate package that contains it. Whatever the source, only bytes with
    /// the vocabulary's sha256 are written.
    #[arg(long, value_name = "URL|PATH", default_value = crate::plan::tokens::fetch::DEFAULT_SOURCE)]
    pub from: String,
}

/// `batchline gen-corpus`.
#[derive(Debug, Args)]
pub struct GenCorpusArgs {
    /// Seed of the generator: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// `short` (~1.5 KB lines, ~8% duplicates) or `long` (~10 KB lines, shared documents).
    #[arg(long, default_value = "short")]
    pub shape: String,
    /// Target size, e.g. `100MB`, `1GB`, `4096`.
    #[arg(long, default_value = "10MB")]
    pub size: String,
    /// Output file (written to a temporary name, then renamed).
    #[arg(short, long)]
    pub output: PathBuf,
}

/// `batchline gen-predictions`.
#[derive(Debug, Args)]
pub struct GenPredictionsArgs {
    /// The prepared run (a local folder).
    #[arg(value_name = "RUN")]
    pub run: PathBuf,
    /// Folder for the prediction files (created if missing).
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Seed of the row order and of the failures: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of rows written as failures (500 INTERNAL or 400 INVALID_ARGUMENT), 0 to 1.
    #[arg(long, default_value_t = 0.02, value_name = "F")]
    pub fail_share: f64,
    /// Rows per prediction file.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub rows_per_file: usize,
}

/// The shortest request line batchline accepts as valid. A shard smaller than it and its newline
/// cannot hold a single request, so such a `--max-bytes` is refused (`0.5` would read as 1 byte
/// and then refuse every request one by one).
pub const SHORTEST_REQUEST_LINE: &str = r#"{"request":{"contents":[{"parts":[{"text":"x"}]}]}}"#;

/// Checks `--max-bytes` at parse time (a usage error, exit 2): a size [`crate::cli::size::parse_size`] reads, of at
/// least one request ([`SHORTEST_REQUEST_LINE`] and its newline). The string is kept as given.
fn max_bytes_arg(s: &str) -> Result<String, String> {
    let min = SHORTEST_REQUEST_LINE.len() as u64 + 1;
    match crate::cli::size::parse_size(s) {
        None => Err(format!(
            "cannot read `{s}` as a size: use e.g. 1GB, 500MB or 1048576"
        )),
        Some(n) if n < min => Err(format!(
            "`{s}` is below one request: a shard must hold at least one request line, and the shortest one batchline accepts takes {min} bytes"
        )),
        Some(_) => Ok(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `batchline submit RUN --project p --location l --model m EXTRA…`, parsed.
    fn parse_submit(run: &str, extra: &[&str]) -> Result<Cli, clap::Error> {
        let argv = [
            "batchline",
            "submit",
            run,
            "--project",
            "p",
            "--location",
            "l",
        ];
        Cli::try_parse_from(argv.iter().chain(&["--model", "m"]).chain(extra))
    }

    #[test]
    fn the_emulators_token_is_read_from_batchline_access_token_as_its_help_says() {
        use clap::CommandFactory;
        let cmd = Cli::command();
        let emulator = cmd.find_subcommand("emulator").unwrap();
        let token = emulator
            .get_arguments()
            .find(|a| a.get_id() == "access_token")
            .unwrap();
        assert_eq!(
            token.get_env().and_then(|e| e.to_str()),
            Some("BATCHLINE_ACCESS_TOKEN")
        );
        assert!(token.is_hide_env_values_set(), "a token is never printed");
    }

    #[test]
    fn emulator_flags_parse() {
        let cli = Cli::try_parse_from([
            "batchline",
            "emulator",
            "--port",
            "0",
            "--storage-root",
            "/tmp/s",
            "--fail-internal",
            "0.1",
            "--end-state",
            "expired",
            "--row-layout",
            "2025",
            "--cache-ttl",
            "inf",
        ])
        .unwrap();
        let Command::Emulator(e) = cli.command else {
            panic!("not emulator")
        };
        assert_eq!(
            e.storage_root.as_deref(),
            Some(std::path::Path::new("/tmp/s"))
        );
        assert_eq!(e.fail_internal, 0.1);
        assert_eq!(e.end_state.as_deref(), Some("expired"));
        assert_eq!(e.row_layout, "2025");
        assert_eq!(e.cache_ttl, "inf");
        // One storage is required, and only one.
        assert!(Cli::try_parse_from(["batchline", "emulator"]).is_err());
        assert!(Cli::try_parse_from([
            "batchline",
            "emulator",
            "--storage-root",
            "d",
            "--gcs-endpoint",
            "http://127.0.0.1:1",
            "--access-token",
            "t"
        ])
        .is_err());
        assert!(Cli::try_parse_from([
            "batchline",
            "emulator",
            "--gcs-endpoint",
            "http://127.0.0.1:1"
        ])
        .is_err());
        assert!(Cli::try_parse_from([
            "batchline",
            "emulator",
            "--storage-root",
            "d",
            "--end-state",
            "paused"
        ])
        .is_err());
    }

    #[test]
    fn max_bytes_below_one_request_is_refused() {
        let parse = |v: &str| {
            Cli::try_parse_from(["batchline", "prepare", "a", "-o", "r", "--max-bytes", v])
        };
        for small in ["0.5", "0", "1", "51", "0.05KB"] {
            let err = parse(small)
                .err()
                .unwrap_or_else(|| panic!("{small} accepted"));
            assert_eq!(err.exit_code(), 2);
            assert!(
                err.to_string().contains("below one request"),
                "{small}: {err}"
            );
        }
        let Err(err) = parse("12 parsecs") else {
            panic!("12 parsecs accepted")
        };
        assert!(
            err.to_string()
                .contains("cannot read `12 parsecs` as a size"),
            "{err}"
        );
        for fits in ["52", "1KB", "1GB"] {
            assert!(parse(fits).is_ok(), "{fits}");
        }
        // 51 bytes and a newline, counted by hand from the literal.
        assert_eq!(SHORTEST_REQUEST_LINE.len(), 51);
    }

    #[test]
    fn submit_and_wait_flags_parse() {
        let cli = Cli::try_parse_from([
            "batchline",
            "submit",
            "gs://b/run",
            "--project",
            "p",
            "--location",
            "global",
            "--model",
            "gemini-2.5-pro",
            "--vertex-endpoint",
            "http://127.0.0.1:1",
            "--dry-run",
            "--format",
            "json",
        ])
        .unwrap();
        let Command::Submit(SubmitCommand {
            args: s,
            queue,
            what,
        }) = cli.command
        else {
            panic!("not submit")
        };
        assert_eq!(queue.max_concurrent, None);
        assert_eq!((what.source, what.destination, what.to), (None, None, None));
        assert_eq!(s.run, "gs://b/run");
        assert_eq!((s.project.as_str(), s.location.as_str()), ("p", "global"));
        assert_eq!(s.model, "gemini-2.5-pro");
        assert_eq!(
            s.vertex.vertex_endpoint.as_deref(),
            Some("http://127.0.0.1:1")
        );
        assert!(s.dry_run);
        assert_eq!(s.format, Format::Json);
        // --project, --location and --model are required.
        assert!(
            Cli::try_parse_from(["batchline", "submit", "gs://b/run", "--project", "p"]).is_err()
        );

        let cli =
            Cli::try_parse_from(["batchline", "wait", "gs://b/run", "--timeout", "2h"]).unwrap();
        let Command::Wait(w) = cli.command else {
            panic!("not wait")
        };
        assert_eq!(w.jobs.run, "gs://b/run");
        assert_eq!(w.poll.timeout.as_deref(), Some("2h"));
        assert_eq!(
            (
                w.poll.poll_interval.as_str(),
                w.poll.max_poll_interval.as_str()
            ),
            ("10s", "60s")
        );
        assert_eq!((w.poll.stuck_after, w.poll.resubmit_stuck), (None, false));
        let cli = Cli::try_parse_from([
            "batchline",
            "wait",
            "gs://b/run",
            "--stuck-after",
            "6h",
            "--resubmit-stuck",
        ])
        .unwrap();
        let Command::Wait(w) = cli.command else {
            panic!("not wait")
        };
        assert_eq!(w.poll.stuck_after.as_deref(), Some("6h"));
        assert!(w.poll.resubmit_stuck);
        // --resubmit-stuck needs --stuck-after; --max-concurrent needs 1 or more.
        assert!(
            Cli::try_parse_from(["batchline", "wait", "gs://b/run", "--resubmit-stuck"]).is_err()
        );
        let submit = |n: &str| parse_submit("gs://b/run", &["--max-concurrent", n]);
        assert!(submit("0").is_err());
        let Command::Submit(s) = submit("3").unwrap().command else {
            panic!("not submit")
        };
        assert_eq!(s.queue.max_concurrent, Some(3));
        assert!(!s.queue.resume);
        let resume = |extra: &[&str]| parse_submit("gs://b/run", &[&["--resume"], extra].concat());
        let Command::Submit(s) = resume(&[]).unwrap().command else {
            panic!("not submit")
        };
        assert!(s.queue.resume);
        assert!(resume(&["--retry"]).is_err());
    }

    #[test]
    fn submit_source_destination_and_to_parse_and_refuse_their_conflicts() {
        let submit = |extra: &[&str]| parse_submit("place", extra);
        let Command::Submit(s) = submit(&["--source", "bq://p.d.t", "--destination", "bq://p"])
            .unwrap()
            .command
        else {
            panic!("not submit")
        };
        assert_eq!(s.what.source.as_deref(), Some("bq://p.d.t"));
        assert_eq!(s.what.destination.as_deref(), Some("bq://p"));
        let Command::Submit(s) = submit(&["--to", "gs://b/r"]).unwrap().command else {
            panic!("not submit")
        };
        assert_eq!(s.what.to.as_deref(), Some("gs://b/r"));
        // --destination needs --source; --source excludes --to, --retry, --resume and
        // --max-concurrent (a --source job is one job over its input).
        assert!(submit(&["--destination", "bq://p"]).is_err());
        for other in [
            &["--to", "gs://b/r"][..],
            &["--retry"],
            &["--resume"],
            &["--max-concurrent", "2"],
        ] {
            let argv = [&["--source", "bq://p.d.t"][..], other].concat();
            assert!(submit(&argv).is_err(), "{other:?}");
        }
    }

    #[test]
    fn validate_flags_parse() {
        let cli = Cli::try_parse_from([
            "batchline",
            "validate",
            "a.jsonl",
            "-",
            "--format",
            "json",
            "-j",
            "2",
            "--no-mmap",
            "--max-errors",
            "0",
            "--deny-warnings",
        ])
        .unwrap();
        let Command::Validate(v) = cli.command else {
            panic!("not validate")
        };
        assert_eq!(v.input.inputs, vec!["a.jsonl", "-"]);
        assert_eq!(v.format, Format::Json);
        assert_eq!(v.input.threads, 2);
        assert!(v.input.no_mmap && !v.input.mmap);
        assert_eq!(v.max_errors, 0);
        assert!(v.deny_warnings);
    }

    #[test]
    fn mmap_flags_override_each_other() {
        let cli =
            Cli::try_parse_from(["batchline", "validate", "a", "--no-mmap", "--mmap"]).unwrap();
        let Command::Validate(v) = cli.command else {
            panic!()
        };
        assert!(v.input.mmap && !v.input.no_mmap);
        assert!(Cli::try_parse_from(["batchline", "validate"]).is_err());
    }
}
