//! `prepare` and `stats`: validate → dedup → order for the implicit cache → shard → write the run.
//!
//! Every line is parsed once (the validate scan gathers each line's record through a visitor);
//! later stages pass compact records (offsets into the mapped inputs, hashes, ids). Shard lines
//! are the representative's original bytes plus a spliced-in per-request key. Everything is
//! written to temporary names and renamed; the manifest comes last.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::input::stamp::{stamp, Stamp};
use crate::input::{test_hold, Input};
use crate::models::ModelFacts;
use crate::plan::cache::{families_by, Analysis, SimConfig, SimReport, SimRow};
use crate::plan::dedup::dedup;
use crate::plan::order::{prime_families, trie_order_lcp, Order, DEFAULT_PRIME_GAPS};
use crate::plan::records::{LineStatus, PlanVisitor, PromptBlocks, Recs, TokenSetup};
use crate::plan::shard::{cut_by, ShardLimits};
use crate::plan::tokens::memo::{MemoCounter, SampleTally};
use crate::plan::tokens::{open_counter, TokenCounter, TokensMode};
use crate::request::diag::{Diagnostic, Severity};
use crate::request::job::JobStats;
use crate::request::line::{LineChecker, RequestLimits};
use crate::request::prompt::{DEFAULT_BLOCK_BYTES, DEFAULT_MAX_BLOCKS};
use crate::request::schema;
use crate::run::index::{encode_index, IndexLine, IndexUnique, NOT_SENT};
use crate::run::manifest::{
    content_checksum, Counts, FileEntry, InputEntry, Manifest, FORMAT_VERSION,
};
use crate::run::Run;
use crate::scan::{job_diagnostic, scan_bytes, FileReport, ValidateOptions};
use crate::store::{CloudConfig, Location};

mod build;
mod join_key;
mod report;
mod shards;
mod write;

use build::*;
pub use join_key::key_value;
pub use report::*;
pub(crate) use shards::write_shard_line;
pub use write::shard_name;
use write::*;

/// The join key: how each request is named in its shard line so that its result can be matched
/// back (`--key-field`, `--no-key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "mode", content = "name")]
pub enum JoinKey {
    /// A top-level member beside `request` (default `batchline_key`): Vertex copies extra
    /// members to the output row, and the request itself stays untouched.
    Member(String),
    /// No key: collect matches by the canonical hash of the echoed request only.
    None,
}

/// Bytes per token assumed with `--tokens off` for totals and cost: English averages about 4
/// bytes per Gemma 3 token.
pub const BYTES_PER_TOKEN_OFF: u64 = 4;

/// Bytes per token assumed with `--tokens off` for prefix sizes, i.e. whether a shared prefix
/// reaches the model's minimum cacheable size and how many tokens a hit saves: deliberately more
/// bytes per token than typical text (generated English measured 5.6, code and CJK fewer), so
/// predicted cache hits are not overstated.
pub const BYTES_PER_TOKEN_PREFIX_OFF: u64 = 6;

/// Options of [`prepare`] and [`stats`].
#[derive(Clone)]
pub struct PrepareOptions {
    /// Reading, model and validation options (its `inputs` are the inputs).
    pub validate: ValidateOptions,
    /// The run: a local folder (created if missing) or an object-store prefix. Ignored by
    /// [`stats`].
    pub run: Location,
    /// How to reach object stores (endpoints, credentials, retries, upload parts).
    pub cloud: CloudConfig,
    /// Order of requests in the shards.
    pub order: Order,
    /// Priming gaps (rows ahead of a family's start, one per primer).
    pub prime_gaps: Vec<usize>,
    /// Send every valid line, even duplicates.
    pub keep_duplicates: bool,
    /// Abort before writing anything when a line is invalid.
    pub strict: bool,
    /// Shard limits.
    pub limits: ShardLimits,
    /// The join key spliced into each shard line (see [`JoinKey`]).
    pub join_key: JoinKey,
    /// Cache simulation: parallel rows.
    pub sim_workers: usize,
    /// Cache simulation: rounds an entry lives after its last use (`None` = forever).
    pub sim_ttl: Option<u64>,
    /// How prompts are cut into chained blocks for the prefix order.
    pub prompt_blocks: PromptBlocks,
    /// Token counting: `None` = exact when the model's vocabulary is available, else off.
    pub tokens: Option<TokensMode>,
    /// The Gemma 3 vocabulary file (else the cache folder).
    pub tokenizer_model: Option<PathBuf>,
    /// Share of distinct text blocks tokenised under `--tokens sample`.
    pub sample_rate: f64,
    /// Called when a stage after the scan starts (`"planning"`, `"writing"`), with the bytes the
    /// stage will report through `validate.progress` (0: none), for progress displays. The scan
    /// reports input bytes through `validate.progress`; writing reports shard bytes as each
    /// piece is written (locally) or handed to the upload (on object stores, at most
    /// `--parts-in-flight` parts ahead of what the store has confirmed).
    pub stage: Option<Stage>,
}

/// A stage callback (see [`PrepareOptions::stage`]).
pub type Stage = std::sync::Arc<dyn Fn(&str, u64) + Send + Sync>;

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            validate: ValidateOptions::default(),
            run: Location::local("run"),
            cloud: CloudConfig::default(),
            order: Order::Primed,
            prime_gaps: DEFAULT_PRIME_GAPS.to_vec(),
            keep_duplicates: false,
            strict: false,
            limits: ShardLimits {
                max_requests: 200_000,
                max_bytes: 1_000_000_000,
            },
            join_key: JoinKey::Member("batchline_key".into()),
            sim_workers: 256,
            sim_ttl: Some(5),
            prompt_blocks: PromptBlocks {
                block_bytes: DEFAULT_BLOCK_BYTES,
                max_blocks: DEFAULT_MAX_BLOCKS,
            },
            tokens: None,
            tokenizer_model: None,
            sample_rate: 0.05,
            stage: None,
        }
    }
}

/// Everything the scan produced.
struct Scanned {
    names: Vec<crate::input::InputName>,
    data: Vec<Input>,
    files: Vec<FileReport>,
    diagnostics: Vec<Diagnostic>,
    job: JobStats,
    /// One record per input line, all files in order.
    lines: Recs,
    /// Index in `lines` of each file's first line.
    file_start: Vec<usize>,
    tally: SampleTally,
    tokens: TokenState,
    /// Each local input's stamp, taken before it was opened (see [`inputs_unchanged`]).
    stamps: Vec<Option<Stamp>>,
}

impl Scanned {
    /// The file and 1-based line number of line `i`.
    fn file_line(&self, i: usize) -> (u32, u64) {
        let file = self.file_start.partition_point(|&s| s <= i) - 1;
        (file as u32, (i - self.file_start[file]) as u64 + 1)
    }

    /// The bytes of line `i` (without terminator).
    fn line_bytes(&self, i: usize) -> &[u8] {
        let (file, _) = self.file_line(i);
        let offset = self.lines.offset[i] as usize;
        &self.data[file as usize][offset..offset + self.lines.len[i] as usize]
    }
}

/// How tokens were counted.
#[derive(Clone)]
struct TokenState {
    mode: TokensMode,
    counter: String,
    exact: bool,
    note: Option<String>,
}

fn scan_inputs(
    opts: &PrepareOptions,
    limits: RequestLimits,
    setup: Option<TokenSetup<'_>>,
    tokens: TokenState,
) -> Result<Scanned> {
    let v = &opts.validate;
    let mut out = Scanned {
        names: v.inputs.clone(),
        data: Vec::new(),
        files: Vec::new(),
        diagnostics: Vec::new(),
        job: JobStats::default(),
        lines: Recs::default(),
        file_start: Vec::new(),
        tally: SampleTally::default(),
        tokens,
        stamps: Vec::new(),
    };
    for name in &v.inputs {
        let data = crate::input::open_name(name, v.mmap, &v.remote)?;
        let prompt_blocks = opts.prompt_blocks;
        let scan = scan_bytes(name, &data, v, limits, move || {
            PlanVisitor::new(prompt_blocks, setup)
        });
        if scan
            .diagnostics
            .iter()
            .any(|d| d.code == crate::request::diag::Code::E_JSON_ARRAY_FILE)
        {
            // Not JSON Lines at all: refuse rather than prepare a run without this file.
            return Err(Error::InvalidInput(format!(
                "{name}: the file is one JSON array, not JSON Lines, so none of its requests can be sent: write one {{\"request\": …}} object per line (e.g. `jq -c '.[]' in.json > out.jsonl`); nothing was written"
            )));
        }
        out.files.push(scan.report);
        out.diagnostics.extend(scan.diagnostics);
        out.job.merge(scan.job);
        out.file_start.push(out.lines.len());
        let (lines, blocks) = scan.chunks.iter().fold((0, 0), |(l, b), (_, v)| {
            (l + v.recs.len(), b + v.recs.blocks.len())
        });
        out.lines.reserve(lines, blocks);
        for (_, visitor) in scan.chunks {
            out.tally.add(&visitor.tally);
            out.lines.append(visitor.recs);
        }
        out.data.push(data);
    }
    Ok(out)
}

/// Refuses to publish a run whose local inputs changed since they were opened (see
/// [`crate::input::stamp`]): the shards were cut from the mapped bytes, which may then not be
/// the bytes validated. The unfinished run is cleaned, so nothing built from them remains.
fn inputs_unchanged(opts: &PrepareOptions, run: &Run, stamps: &[Option<Stamp>]) -> Result<()> {
    for (name, before) in opts.validate.inputs.iter().zip(stamps) {
        let Some(before) = before else { continue };
        if stamp(name.path()).as_ref() != Some(before) {
            run.start_clean()?;
            return Err(Error::InputChanged(format!(
                "{name} changed while prepare was reading it (written, replaced or truncated by another process); the run was not published and its shards were removed: run prepare again once the file is complete"
            )));
        }
    }
    Ok(())
}

/// Prints how long each stage took to stderr when `BATCHLINE_TIMINGS` is set (for benchmarks).
pub(crate) struct Stopwatch {
    on: bool,
    start: std::time::Instant,
    last: std::time::Instant,
}

impl Stopwatch {
    pub(crate) fn new() -> Self {
        let now = std::time::Instant::now();
        Stopwatch {
            on: std::env::var_os("BATCHLINE_TIMINGS").is_some(),
            start: now,
            last: now,
        }
    }
    pub(crate) fn lap(&mut self, stage: &str) {
        if self.on {
            let now = std::time::Instant::now();
            eprintln!(
                "timing: {stage:<24} {:>8.3} s  (total {:.3} s)",
                (now - self.last).as_secs_f64(),
                (now - self.start).as_secs_f64()
            );
            self.last = now;
        }
    }
}

/// Checks what [`prepare`] would do and reports it, writing nothing.
pub fn stats(opts: &PrepareOptions) -> Result<PrepareReport> {
    let setup = Setup::new(opts)?;
    setup.install(opts, |tokens| {
        let mut watch = Stopwatch::new();
        let (planned, ()) = plan_step(opts, &setup, tokens, &mut watch, |_| ())?;
        Ok(planned.plan.report)
    })
}

/// Prepares the run folder `opts.run`. Re-running with the same inputs and options on a
/// complete run does nothing (`already_done`); a half-written run is started clean; a run made
/// from other inputs or options is refused.
pub fn prepare(opts: &PrepareOptions) -> Result<PrepareReport> {
    let setup = Setup::new(opts)?;
    if let Some(root) = opts.run.as_local() {
        guard_inputs_outside_run(&opts.validate.inputs, root)?;
    }
    let run = Run::open(&opts.run, &opts.cloud)?;
    run.check_writable()?;
    let options = options_json(opts, &setup.facts, setup.limits, &setup.tokens);
    if let Some(m) = run.manifest()? {
        same_options(opts, &m, &options)?;
        // A complete run with the same inputs and options: nothing to do. Cheap check first
        // (sizes), then content checksums.
        if let Some(report) = setup.pool.install(|| already_prepared(opts, &run, &m))? {
            strict_on_saved(opts, &run, &report)?;
            return Ok(report);
        }
    }
    setup.install(opts, |tokens| {
        write_step(opts, &setup, tokens, &run, &options)
    })
}

/// What `stats` and `prepare` both start from: the model's facts and limits, the token counter
/// and what the report says of it, and the thread pool.
struct Setup {
    facts: ModelFacts,
    limits: RequestLimits,
    counter: Option<Box<dyn TokenCounter>>,
    tokens: TokenState,
    pool: rayon::ThreadPool,
}

impl Setup {
    fn new(opts: &PrepareOptions) -> Result<Setup> {
        let v = &opts.validate;
        if v.inputs.is_empty() {
            return Err(Error::Usage("no input files given".into()));
        }
        let facts = v.models.get(&v.model)?.clone();
        let limits = v.request_limits()?;
        // Token counting: the model's own vocabulary where we have it.
        let wanted = opts.tokens.unwrap_or(TokensMode::Exact);
        let mut unavailable = None;
        let counter: Option<Box<dyn TokenCounter>> = if wanted == TokensMode::Off {
            None
        } else {
            match open_counter(&facts.tokenizer, opts.tokenizer_model.as_deref()) {
                Ok(c) => Some(c),
                // Without --tokens, a missing or damaged vocabulary means estimating by bytes
                // (and saying which); a vocabulary named with --tokenizer-model that cannot be
                // used is an error.
                Err(e) if opts.tokens.is_none() && opts.tokenizer_model.is_none() => {
                    unavailable = Some(e);
                    None
                }
                Err(e) => return Err(e.into()),
            }
        };
        let tokens = match &counter {
            None => TokenState {
                mode: TokensMode::Off,
                counter: format!("bytes/{BYTES_PER_TOKEN_OFF}"),
                exact: false,
                note: Some(if wanted == TokensMode::Off {
                    format!(
                        "--tokens off: sizes estimated at {BYTES_PER_TOKEN_OFF} bytes per token"
                    )
                } else if let Some(e) = &unavailable {
                    crate::plan::tokens::unavailable_note(&facts.tokenizer, e, BYTES_PER_TOKEN_OFF)
                } else {
                    format!("sizes estimated at {BYTES_PER_TOKEN_OFF} bytes per token")
                }),
            },
            Some(c) => TokenState {
                mode: wanted,
                counter: c.name().to_string(),
                exact: c.exact() && wanted == TokensMode::Exact,
                note: (!c.exact()).then(|| {
                    "no vocabulary is known for this model: counts are an o200k estimate"
                        .to_string()
                }),
            },
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(v.threads)
            .build()
            .map_err(|e| Error::Usage(format!("cannot start {} threads: {e}", v.threads)))?;
        Ok(Setup {
            facts,
            limits,
            counter,
            tokens,
            pool,
        })
    }

    /// Runs `f` in the pool, handing it the token counting the scan does (a memo over the
    /// counter, shared by all threads; a new block is tokenised word by word where the
    /// vocabulary allows an exact cut, so recurring words are tokenised once).
    fn install<R: Send>(
        &self,
        opts: &PrepareOptions,
        f: impl FnOnce(Option<TokenSetup<'_>>) -> R + Send,
    ) -> R {
        let memo = self
            .counter
            .as_deref()
            .map(|c| MemoCounter::new(c).with_word_cuts());
        let tokens = memo.as_ref().map(|m| TokenSetup {
            memo: m,
            mode: self.tokens.mode,
            sample_rate: opts.sample_rate,
            seed: 0x5eed,
        });
        self.pool.install(|| f(tokens))
    }
}

/// What the shards are made from, as the manifest records it: the options, and the effective
/// facts behind them (the model's limits and cache minimum, whether from the built-in table or a
/// `--pricing` file; the tokenizer actually used, not `auto`). A re-run with other values is
/// refused, so the same inputs and options always give the same run.
fn options_json(
    opts: &PrepareOptions,
    facts: &ModelFacts,
    request: RequestLimits,
    tokens: &TokenState,
) -> serde_json::Value {
    serde_json::json!({
        "order": opts.order,
        "prime_gaps": opts.prime_gaps,
        "keep_duplicates": opts.keep_duplicates,
        "limits": opts.limits,
        "key": opts.join_key,
        "model": opts.validate.model,
        "model_facts": {
            "context_window": facts.context_window,
            "max_request_bytes": request.max_request_bytes,
            "min_cache_tokens": facts.min_cache_tokens,
            "implicit_cache_in_batch": facts.implicit_cache_in_batch,
        },
        "block_bytes": opts.prompt_blocks.block_bytes,
        "max_blocks": opts.prompt_blocks.max_blocks,
        "tokens": tokens.mode.as_str(),
        "tokenizer": tokens.counter,
        "sample_rate": opts.sample_rate,
    })
}

/// A file's modification time in whole seconds since the epoch (0 where the platform has none).
fn mtime_secs(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

fn input_entries(names: &[crate::input::InputName], data: &[Input]) -> Result<Vec<InputEntry>> {
    names
        .iter()
        .zip(data)
        .map(|(name, input)| {
            // An object is identified by the version read (its generation, else its entity
            // tag); a local file by its modification time.
            let (mtime, generation) = match &input.object {
                Some(o) => (0, o.generation.clone().or_else(|| o.etag.clone())),
                None if name.is_stdin() => (0, None),
                None => (
                    mtime_secs(
                        &std::fs::metadata(name.path()).map_err(|e| Error::io(name.path(), e))?,
                    ),
                    None,
                ),
            };
            Ok(InputEntry {
                path: name.to_string(),
                path_bytes: name.raw_hex(),
                size: input.len() as u64,
                mtime,
                generation,
                checksum: content_checksum(input),
            })
        })
        .collect()
}

/// The fast way to "nothing to do": when the run was made by this very version (same schema and
/// rules) from inputs that are byte for byte the same (sizes first, then content checksums) and
/// every file of it is intact, its saved `report.json` is the report, without scanning or
/// planning again. Anything else (stdin, another version, a changed input, a damaged
/// or unreadable file) returns `None`, and the full path decides.
fn already_prepared(
    opts: &PrepareOptions,
    run: &Run,
    m: &Manifest,
) -> Result<Option<PrepareReport>> {
    let v = &opts.validate;
    if m.tool_version != env!("CARGO_PKG_VERSION")
        || m.schema_revision != schema::SOURCE.revision
        || m.inputs.len() != v.inputs.len()
        || v.inputs.iter().any(|n| n == "-")
    {
        return Ok(None);
    }
    // Objects are judged by a metadata request: the same size and version (generation, else
    // entity tag) as recorded means the same bytes, without downloading them again. Local files
    // are read and checksummed.
    let mut now: Vec<Option<InputEntry>> = Vec::with_capacity(m.inputs.len());
    for (name, entry) in v.inputs.iter().zip(&m.inputs) {
        match name.location()? {
            Location::Local(path) => {
                let Ok(meta) = std::fs::metadata(&path) else {
                    return Ok(None);
                };
                if entry.size != meta.len() {
                    return Ok(None);
                }
                now.push(None);
            }
            loc @ Location::Object { .. } => {
                let store = crate::store::Store::open(&loc, &v.remote.cloud)?;
                let Some(meta) = store.head("")? else {
                    return Ok(None);
                };
                let version = meta.version.clone().or_else(|| meta.etag.clone());
                if meta.size != entry.size || version.is_none() || version != entry.generation {
                    return Ok(None);
                }
                now.push(Some(entry.clone()));
            }
            Location::Http(_) => return Ok(None),
        }
    }
    let local: Vec<usize> = (0..now.len()).filter(|&i| now[i].is_none()).collect();
    let names: Vec<crate::input::InputName> = local.iter().map(|&i| v.inputs[i].clone()).collect();
    let data: Vec<Input> = names
        .iter()
        .map(|name| crate::input::open_name(name, v.mmap, &v.remote))
        .collect::<Result<_>>()?;
    for (k, entry) in input_entries(&names, &data)?.into_iter().enumerate() {
        now[local[k]] = Some(entry);
    }
    let now: Vec<InputEntry> = now.into_iter().flatten().collect();
    if !same_inputs(&now, &m.inputs) || !run.intact(m)? {
        return Ok(None);
    }
    let Some(bytes) = run.read("report.json")? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice::<PrepareReport>(&bytes)
        .ok()
        .map(|mut report| {
            report.already_done = true;
            report
        }))
}

/// `--strict` on a run that is already prepared: judged on its saved counts, as a fresh run
/// would be (exit 1 when the run holds invalid lines or whole-job errors; nothing is written
/// either way).
fn strict_on_saved(opts: &PrepareOptions, run: &Run, report: &PrepareReport) -> Result<()> {
    use crate::request::diag::{Code, Scope};
    if !opts.strict {
        return Ok(());
    }
    let is_job_error = |c: Code| c.scope() == Scope::Job && c.severity() == Severity::Error;
    // A fresh plan has its findings; a saved report counts them by code.
    let input_job_errors = if report.diagnostics.is_empty() {
        let saved: serde_json::Value = run
            .read("report.json")?
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        saved["findings_by_code"].as_object().map_or(0, |m| {
            m.iter()
                .filter(|(c, _)| Code::from_str_code(c).is_some_and(is_job_error))
                .map(|(_, n)| n.as_u64().unwrap_or(0))
                .sum()
        })
    } else {
        report
            .diagnostics
            .iter()
            .filter(|d| is_job_error(d.code))
            .count() as u64
    };
    let job_errors = input_job_errors + report.shard_job_errors;
    if report.counts.invalid > 0 || job_errors > 0 {
        return Err(Error::InvalidInput(format!(
            "--strict: {} already holds a run with {} invalid line(s) and {job_errors} whole-job error(s) (prepared without --strict); nothing was written (run `batchline validate` to see them)",
            opts.run, report.counts.invalid
        )));
    }
    Ok(())
}

/// True when the inputs are the same bytes in the same order (by size and checksum: another
/// spelling of a path, or a `touch`, does not make another input).
fn same_inputs(a: &[InputEntry], b: &[InputEntry]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_content(y))
}

fn guard_inputs_outside_run(inputs: &[crate::input::InputName], run: &Path) -> Result<()> {
    let Ok(run_abs) = std::fs::canonicalize(run) else {
        return Ok(()); // the run folder does not exist yet
    };
    for name in inputs.iter().filter(|n| !n.is_stdin()) {
        if let Ok(p) = std::fs::canonicalize(name.path()) {
            if p.starts_with(&run_abs) {
                return Err(Error::Usage(format!(
                    "input {name} lies inside the run folder {}; choose another run folder",
                    run.display()
                )));
            }
        }
    }
    Ok(())
}

/// Refuses a run made with other options (or the same options over other model facts or another
/// tokenizer).
fn same_options(opts: &PrepareOptions, m: &Manifest, options: &serde_json::Value) -> Result<()> {
    if &m.options != options {
        return Err(Error::Usage(format!(
            "{} holds a run prepared with other options; use a new run folder (or delete it)",
            opts.run
        )));
    }
    Ok(())
}

/// The scanned inputs and their plan: all `stats` reports, and what `prepare` writes.
struct Planned {
    scanned: Scanned,
    plan: Plan,
}

/// Scans the inputs and plans the run, with `beside(&scanned)` computed alongside the plan.
/// Refuses a request that no shard can hold, and under `--strict` any invalid line or whole-job
/// error.
fn plan_step<R: Send>(
    opts: &PrepareOptions,
    setup: &Setup,
    tokens: Option<TokenSetup<'_>>,
    watch: &mut Stopwatch,
    beside: impl FnOnce(&Scanned) -> R + Send,
) -> Result<(Planned, R)> {
    // Taken before the inputs are opened: the run is published only if they still hold.
    let stamps: Vec<Option<Stamp>> = opts
        .validate
        .inputs
        .iter()
        .map(|n| stamp(n.path()))
        .collect();
    let mut scanned = scan_inputs(opts, setup.limits, tokens, setup.tokens.clone())?;
    scanned.stamps = stamps;
    test_hold("after-scan");
    watch.lap("scan (validate+keys)");
    if let Some(stage) = &opts.stage {
        stage("planning", 0);
    }
    let (extra, plan) = rayon::join(
        || beside(&scanned),
        || build_plan(opts, &setup.facts, &scanned),
    );
    watch.lap("plan + input checksums");
    // A shard over the byte limit holds one request that no shard can hold: refuse rather than
    // break the limit (the cut never puts a second request into a full shard).
    if let Some((si, shard)) = plan
        .layout
        .shards
        .iter()
        .enumerate()
        .find(|(si, _)| plan.report.shards[*si].bytes > opts.limits.max_bytes)
    {
        let line = plan.layout.reps[shard[0] as usize];
        let (file, number) = scanned.file_line(line);
        return Err(Error::InvalidInput(format!(
            "{}:{number}: this request takes {} bytes in a shard (with its key), more than --max-bytes {}: no shard can hold it; raise --max-bytes or leave the line out; nothing was written",
            scanned.names[file as usize],
            plan.report.shards[si].bytes,
            opts.limits.max_bytes
        )));
    }
    let invalid = scanned.lines.codes.len();
    let job_errors = if opts.strict {
        scanned
            .job
            .findings()
            .iter()
            .filter(|f| {
                f.code.scope() == crate::request::diag::Scope::Job
                    && f.code.severity() == Severity::Error
            })
            .count()
    } else {
        0
    };
    if opts.strict && (invalid > 0 || job_errors > 0) {
        let first = plan
            .report
            .diagnostics
            .iter()
            .find(|d| d.severity == Severity::Error)
            .map(|d| format!("{}:{} {}", d.file, d.line, d.code))
            .unwrap_or_default();
        return Err(Error::InvalidInput(format!(
            "--strict: {invalid} invalid line(s) and {job_errors} whole-job error(s); nothing was written (run `batchline validate` to see them; first: {first})"
        )));
    }
    Ok((Planned { scanned, plan }, extra))
}

/// `prepare` after the checks on the run: plans (the inputs' checksums beside the plan), takes
/// the run, judges its manifest again under the lock, and writes the run.
fn write_step(
    opts: &PrepareOptions,
    setup: &Setup,
    tokens: Option<TokenSetup<'_>>,
    run: &Run,
    options: &serde_json::Value,
) -> Result<PrepareReport> {
    let mut watch = Stopwatch::new();
    let (Planned { scanned, plan }, inputs) = plan_step(opts, setup, tokens, &mut watch, |s| {
        input_entries(&s.names, &s.data)
    })?;
    let inputs = inputs?;
    check_key_member(opts, &scanned, &plan.report)?;
    // From here on this process owns the run folder: a second prepare on it waits for nothing
    // and is refused, and the manifest is judged under the lock (it may have changed during the
    // scan).
    let _lock = run.lock()?;
    if let Some(m) = run.manifest()? {
        same_options(opts, &m, options)?;
        if !same_inputs(&m.inputs, &inputs) {
            return Err(Error::Usage(format!(
                "{} holds a run prepared from other inputs (or inputs that changed since); use a new run folder",
                run.describe("")
            )));
        }
        if run.intact(&m)? {
            let mut report = plan.report;
            report.already_done = true;
            strict_on_saved(opts, run, &report)?;
            return Ok(report);
        }
    }
    let Plan { mut report, layout } = plan;
    write_run(opts, options, run, &scanned, &layout, &mut report, inputs)?;
    watch.lap("write run");
    Ok(report)
}

struct Plan {
    report: PrepareReport,
    layout: Layout,
}

/// What is sent where.
struct Layout {
    /// Per shard: unique ids in send order.
    shards: Vec<Vec<u32>>,
    /// Per line: unique id or NOT_SENT.
    of_line: Vec<u32>,
    /// Per unique: its representative line.
    reps: Vec<usize>,
    /// Per unique: (shard, position).
    positions: Vec<(u32, u32)>,
    /// The outermost cacheable prompt families, members in send order (`families.bin`).
    families: Vec<crate::run::families::CacheFamily>,
}
