//! `prepare` and `stats`: validate → dedup → order for the implicit cache → shard → write the run.
//!
//! Every line is parsed once (the validate scan gathers each line's record through a visitor);
//! later stages pass compact records (offsets into the mapped inputs, hashes, ids). Shard lines
//! are the representative's original bytes plus a spliced-in per-request key. Everything is
//! written to temporary names and renamed; the manifest comes last.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::input::{open_input, InputBytes};
use crate::models::ModelFacts;
use crate::plan::cache::{cache_bound, families, simulate, SimConfig, SimReport, SimRow};
use crate::plan::dedup::dedup;
use crate::plan::order::{prime, trie_order, Order, DEFAULT_PRIME_GAPS};
use crate::plan::scan::{KeyConfig, LineStatus, PlanVisitor, TokenSetup};
use crate::plan::shard::{cut, ShardLimits};
use crate::plan::tokens::memo::{MemoCounter, SampleTally};
use crate::plan::tokens::{open_counter, TokenCounter, TokensMode};
use crate::request::diag::{Diagnostic, Severity};
use crate::request::job::JobStats;
use crate::request::prompt::{DEFAULT_BLOCK_BYTES, DEFAULT_MAX_BLOCKS};
use crate::request::schema;
use crate::request::walk::{LineChecker, RequestLimits};
use crate::run::atomic::AtomicFile;
use crate::run::index::{write_index, IndexLine, IndexUnique, NOT_SENT};
use crate::run::manifest::{
    content_checksum, Counts, FileEntry, InputEntry, Manifest, FORMAT_VERSION,
};
use crate::validate::{job_diagnostic, scan_bytes, FileReport, ValidateOptions};

/// How the per-request key travels through Vertex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "mode", content = "name")]
pub enum KeyMode {
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
    /// The run folder (created if missing). Ignored by [`stats`].
    pub run: PathBuf,
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
    /// The per-request key.
    pub key: KeyMode,
    /// Cache simulation: parallel rows.
    pub sim_workers: usize,
    /// Cache simulation: rounds an entry lives after its last use (`None` = forever).
    pub sim_ttl: Option<u64>,
    /// Prompt key tunables.
    pub key_config: KeyConfig,
    /// Token counting: `None` = exact when the model's vocabulary is available, else off.
    pub tokens: Option<TokensMode>,
    /// The Gemma 3 vocabulary file (else the cache folder).
    pub tokenizer_model: Option<PathBuf>,
    /// Share of distinct text blocks tokenised under `--tokens sample`.
    pub sample_rate: f64,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            validate: ValidateOptions::default(),
            run: PathBuf::from("run"),
            order: Order::Primed,
            prime_gaps: DEFAULT_PRIME_GAPS.to_vec(),
            keep_duplicates: false,
            strict: false,
            limits: ShardLimits {
                max_requests: 200_000,
                max_bytes: 1_000_000_000,
            },
            key: KeyMode::Member("batchline_key".into()),
            sim_workers: 256,
            sim_ttl: Some(5),
            key_config: KeyConfig {
                block_bytes: DEFAULT_BLOCK_BYTES,
                max_blocks: DEFAULT_MAX_BLOCKS,
            },
            tokens: None,
            tokenizer_model: None,
            sample_rate: 0.05,
        }
    }
}

/// What a shard holds.
#[derive(Debug, Clone, Serialize)]
pub struct ShardReport {
    /// File name under `shards/`.
    pub name: String,
    /// Requests.
    pub requests: u64,
    /// Bytes.
    pub bytes: u64,
}

/// A shared prompt prefix.
#[derive(Debug, Clone, Serialize)]
pub struct FamilyReport {
    /// Prefix size in tokens.
    pub prefix_tokens: u64,
    /// Requests sharing it.
    pub requests: u64,
    /// Whether it reaches the model's minimum cacheable size.
    pub cacheable: bool,
    /// The first input line of a member (file:line).
    pub example: String,
}

/// Simulated caching for one order.
#[derive(Debug, Clone, Serialize)]
pub struct SimSummary {
    /// Order simulated.
    pub order: Order,
    /// Prompt tokens predicted cached.
    pub cached_tokens: u64,
    /// Share of all prompt tokens.
    pub cached_share: f64,
    /// Share of the bound (the most any order could get).
    pub of_bound: f64,
}

/// Token figures.
#[derive(Debug, Clone, Serialize)]
pub struct TokenReport {
    /// The counter used.
    pub counter: String,
    /// Whether counts are exact for the model.
    pub exact: bool,
    /// Prompt tokens over unique requests.
    pub prompt_tokens: u64,
    /// Prompt tokens over all valid lines (what sending duplicates would cost).
    pub prompt_tokens_with_duplicates: u64,
    /// Per-request distribution: min, p50, p90, p99, max.
    pub per_request: [u64; 5],
    /// `exact`, `sample` or `off`.
    pub mode: String,
    /// Under `sample`: bytes of distinct text blocks tokenised and in total; otherwise empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<SampleReport>,
    /// Why counting is off or an estimate, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What `--tokens sample` tokenised.
#[derive(Debug, Clone, Serialize)]
pub struct SampleReport {
    /// Share of distinct blocks asked for.
    pub rate: f64,
    /// Text bytes whose blocks were tokenised.
    pub sampled_bytes: u64,
    /// Text bytes estimated from the sample's tokens per byte.
    pub unsampled_bytes: u64,
    /// Tokens per byte of the sample.
    pub tokens_per_byte: f64,
}

/// Estimated input cost in USD.
#[derive(Debug, Clone, Serialize)]
pub struct CostReport {
    /// Model priced.
    pub model: String,
    /// Price table date.
    pub prices_as_of: String,
    /// Online (non-batch), all valid lines, no cache.
    pub online_no_dedup: f64,
    /// Batch, unique requests, no cache.
    pub batch: f64,
    /// Batch, unique requests, with the predicted cache hits of the chosen order.
    pub batch_with_cache: f64,
    /// Output tokens are not included.
    pub note: String,
}

/// The result of [`prepare`] / [`stats`].
#[derive(Debug, Clone, Serialize)]
pub struct PrepareReport {
    /// Per input file, as `validate` reports it.
    pub files: Vec<FileReport>,
    /// Counts.
    pub counts: Counts,
    /// Bytes of valid lines that duplicates would have sent again.
    pub duplicate_bytes: u64,
    /// Duplicates of requests that sample (temperature > 0 or unset, or candidateCount > 1):
    /// deduplication collapsed repeated sampling.
    pub sampling_duplicates: u64,
    /// Shards.
    pub shards: Vec<ShardReport>,
    /// Order used.
    pub order: Order,
    /// Tokens.
    pub tokens: TokenReport,
    /// Largest shared prefixes.
    pub families: Vec<FamilyReport>,
    /// Predicted cache for input, prefix and primed order under the documented model.
    pub simulation: Vec<SimSummary>,
    /// The bound on cached tokens.
    pub cache_bound_tokens: u64,
    /// The model's cache minimum used.
    pub min_cache_tokens: u64,
    /// Cost estimate.
    pub cost: CostReport,
    /// Findings kept for display (validation, then whole-job findings per shard).
    pub diagnostics: Vec<Diagnostic>,
    /// Whole-job errors found in shards (each would fail its job).
    pub shard_job_errors: u64,
    /// True when the run was already complete and nothing was written.
    pub already_done: bool,
}

/// A line of the whole input, flattened over files.
struct Flat {
    file: u32,
    line: u64,
    offset: u64,
    len: u32,
    status: LineStatus,
    hash: u128,
    blocks: (usize, usize),
    prompt_bytes: u64,
    samples: bool,
    codes: Vec<&'static str>,
    tokens: u64,
    unsampled_bytes: u64,
}

/// Everything the scan produced.
struct Scanned {
    names: Vec<String>,
    data: Vec<InputBytes>,
    files: Vec<FileReport>,
    diagnostics: Vec<Diagnostic>,
    job: JobStats,
    lines: Vec<Flat>,
    blocks: Vec<u64>,
    /// Cumulative tokens parallel to `blocks` (exact counting only).
    cum: Vec<u32>,
    tally: SampleTally,
    tokens: TokenState,
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
        lines: Vec::new(),
        blocks: Vec::new(),
        cum: Vec::new(),
        tally: SampleTally::default(),
        tokens,
    };
    for (file_index, name) in v.inputs.iter().enumerate() {
        let data = open_input(name, v.mmap)?;
        let key_config = opts.key_config;
        let scan = scan_bytes(name, &data, v, limits, move || {
            PlanVisitor::new(key_config, setup)
        });
        out.files.push(scan.report);
        out.diagnostics.extend(scan.diagnostics);
        out.job.merge(scan.job);
        for (first_line, visitor) in scan.chunks {
            let base = out.blocks.len();
            out.blocks.extend_from_slice(&visitor.blocks);
            out.cum.extend_from_slice(&visitor.cum);
            out.tally.add(&visitor.tally);
            for (i, rec) in visitor.lines.into_iter().enumerate() {
                out.lines.push(Flat {
                    file: file_index as u32,
                    line: first_line + i as u64 + 1,
                    offset: rec.offset,
                    len: rec.len,
                    status: rec.status,
                    hash: rec.hash,
                    blocks: (base + rec.blocks_start as usize, rec.blocks_len as usize),
                    prompt_bytes: rec.prompt_bytes,
                    samples: rec.samples,
                    codes: rec.codes,
                    tokens: rec.tokens,
                    unsampled_bytes: rec.unsampled_bytes,
                });
            }
        }
        out.data.push(data);
    }
    Ok(out)
}

/// Prints how long each stage took to stderr when `BATCHLINE_TIMINGS` is set (for benchmarks).
struct Stopwatch {
    on: bool,
    start: std::time::Instant,
    last: std::time::Instant,
}

impl Stopwatch {
    fn new() -> Self {
        let now = std::time::Instant::now();
        Stopwatch {
            on: std::env::var_os("BATCHLINE_TIMINGS").is_some(),
            start: now,
            last: now,
        }
    }
    fn lap(&mut self, stage: &str) {
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
    run_prepare(opts, false)
}

/// Prepares the run folder `opts.run`. Re-running with the same inputs and options on a
/// complete run does nothing (`already_done`); a half-written run is started clean; a run made
/// from other inputs or options is refused.
pub fn prepare(opts: &PrepareOptions) -> Result<PrepareReport> {
    run_prepare(opts, true)
}

fn options_json(opts: &PrepareOptions) -> serde_json::Value {
    serde_json::json!({
        "order": opts.order,
        "prime_gaps": opts.prime_gaps,
        "keep_duplicates": opts.keep_duplicates,
        "limits": opts.limits,
        "key": opts.key,
        "model": opts.validate.model,
        "block_bytes": opts.key_config.block_bytes,
        "max_blocks": opts.key_config.max_blocks,
        "tokens": opts.tokens.map_or("auto", |t| t.as_str()),
        "sample_rate": opts.sample_rate,
    })
}

fn input_entries(names: &[String], data: &[InputBytes]) -> Result<Vec<InputEntry>> {
    names
        .iter()
        .zip(data)
        .map(|(name, bytes)| {
            let mtime = if name == "-" {
                0
            } else {
                std::fs::metadata(name)
                    .and_then(|m| m.modified())
                    .map_err(|e| Error::io(name, e))?
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0)
            };
            Ok(InputEntry {
                path: name.clone(),
                size: bytes.len() as u64,
                mtime,
                checksum: content_checksum(bytes),
            })
        })
        .collect()
}

fn run_prepare(opts: &PrepareOptions, write: bool) -> Result<PrepareReport> {
    let v = &opts.validate;
    if v.inputs.is_empty() {
        return Err(Error::Usage("no input files given".into()));
    }
    let facts = v.models.get(&v.model)?.clone();
    let limits = RequestLimits {
        context_window: facts.context_window,
        max_request_bytes: v.models.limits.max_request_bytes,
    };
    if write {
        guard_inputs_outside_run(&v.inputs, &opts.run)?;
        // A complete run with the same inputs and options: nothing to do. Cheap check first
        // (sizes and mtimes), then content checksums.
        if let Some(m) = Manifest::load(&opts.run)? {
            if m.options != options_json(opts) {
                return Err(Error::Usage(format!(
                    "{} holds a run prepared with other options; use a new run folder (or delete it)",
                    opts.run.display()
                )));
            }
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(v.threads)
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {} threads: {e}", v.threads)))?;
    // Token counting: the model's own vocabulary where we have it.
    let wanted = opts.tokens.unwrap_or(TokensMode::Exact);
    let counter: Option<Box<dyn TokenCounter>> = if wanted == TokensMode::Off {
        None
    } else {
        match open_counter(&facts.tokenizer, opts.tokenizer_model.as_deref()) {
            Ok(c) => Some(c),
            Err(e) if opts.tokens.is_none() => {
                let _ = e;
                None
            }
            Err(e) => return Err(e.into()),
        }
    };
    let state = match &counter {
        None => TokenState {
            mode: TokensMode::Off,
            counter: format!("bytes/{BYTES_PER_TOKEN_OFF}"),
            exact: false,
            note: Some(if wanted == TokensMode::Off {
                format!("--tokens off: sizes estimated at {BYTES_PER_TOKEN_OFF} bytes per token")
            } else {
                format!(
                    "the {} vocabulary is not available (run benches/fetch_tokenizer.sh or pass --tokenizer-model): sizes estimated at {BYTES_PER_TOKEN_OFF} bytes per token",
                    facts.tokenizer
                )
            }),
        },
        Some(c) => TokenState {
            mode: wanted,
            counter: c.name().to_string(),
            exact: c.exact() && wanted == TokensMode::Exact,
            note: (!c.exact()).then(|| {
                "no vocabulary is known for this model: counts are an o200k estimate".to_string()
            }),
        },
    };
    let memo = counter.as_deref().map(MemoCounter::new);
    let setup = memo.as_ref().map(|m| TokenSetup {
        memo: m,
        mode: state.mode,
        sample_rate: opts.sample_rate,
        seed: 0x5eed,
    });
    pool.install(|| run_in_pool(opts, write, &facts, limits, setup, state))
}

fn guard_inputs_outside_run(inputs: &[String], run: &Path) -> Result<()> {
    let Ok(run_abs) = std::fs::canonicalize(run) else {
        return Ok(()); // the run folder does not exist yet
    };
    for name in inputs.iter().filter(|n| n.as_str() != "-") {
        if let Ok(p) = std::fs::canonicalize(name) {
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

/// Files of a run that `prepare` owns and may remove when starting a half-written run clean.
const RUN_FILES: [&str; 4] = ["manifest.json", "index.bin", "invalid.jsonl", "report.json"];

fn run_in_pool(
    opts: &PrepareOptions,
    write: bool,
    facts: &ModelFacts,
    limits: RequestLimits,
    setup: Option<TokenSetup<'_>>,
    tokens: TokenState,
) -> Result<PrepareReport> {
    let v = &opts.validate;
    let mut watch = Stopwatch::new();
    let scanned = scan_inputs(opts, limits, setup, tokens)?;
    watch.lap("scan (validate+keys)");
    let inputs = if write {
        Some(input_entries(&scanned.names, &scanned.data)?)
    } else {
        None
    };
    watch.lap("input checksums");
    if write {
        if let (Some(m), Some(inputs)) = (Manifest::load(&opts.run)?, &inputs) {
            if &m.inputs == inputs && shards_intact(&opts.run, &m) {
                let mut report = plan_only(opts, facts, &scanned)?;
                report.already_done = true;
                return Ok(report);
            }
            if &m.inputs != inputs {
                return Err(Error::Usage(format!(
                    "{} holds a run prepared from other inputs (or inputs that changed since); use a new run folder",
                    opts.run.display()
                )));
            }
        }
    }
    let invalid = scanned
        .lines
        .iter()
        .filter(|l| l.status == LineStatus::Invalid)
        .count();
    if opts.strict && invalid > 0 {
        let mut report = plan_only(opts, facts, &scanned)?;
        report.shards.clear();
        return Err(Error::InvalidInput(format!(
            "--strict: {invalid} invalid line(s); nothing was written (run `batchline validate` to see them; first: {})",
            report
                .diagnostics
                .iter()
                .find(|d| d.severity == Severity::Error)
                .map(|d| format!("{}:{} {}", d.file, d.line, d.code))
                .unwrap_or_default()
        )));
    }
    let plan = build_plan(opts, facts, &scanned);
    watch.lap("plan (dedup+order+sim)");
    let mut report = plan.report;
    if write {
        write_run(
            opts,
            &scanned,
            &plan.shards,
            &plan.of_line,
            &plan.positions,
            &mut report,
            inputs.expect("computed when writing"),
        )?;
        watch.lap("write run");
    }
    let _ = v;
    Ok(report)
}

fn plan_only(
    opts: &PrepareOptions,
    facts: &ModelFacts,
    scanned: &Scanned,
) -> Result<PrepareReport> {
    Ok(build_plan(opts, facts, scanned).report)
}

fn shards_intact(run: &Path, m: &Manifest) -> bool {
    m.shards.iter().chain(&m.files).all(|f| {
        std::fs::read(run.join(&f.name))
            .map(|bytes| bytes.len() as u64 == f.bytes && content_checksum(&bytes) == f.checksum)
            .unwrap_or(false)
    })
}

struct Plan {
    report: PrepareReport,
    /// Per shard: unique ids in send order.
    shards: Vec<Vec<u32>>,
    /// Per line: unique id or NOT_SENT.
    of_line: Vec<u32>,
    /// Per unique: (shard, position).
    positions: Vec<(u32, u32)>,
}

fn tokens_of_bytes(bytes: u64) -> u64 {
    bytes.div_ceil(BYTES_PER_TOKEN_OFF)
}

fn build_plan(opts: &PrepareOptions, facts: &ModelFacts, s: &Scanned) -> Plan {
    let hashes: Vec<Option<u128>> = s
        .lines
        .iter()
        .map(|l| (l.status == LineStatus::Valid).then_some(l.hash))
        .collect();
    let (of_line, reps) = dedup(&hashes, opts.keep_duplicates);
    let n_unique = reps.len();
    let valid = hashes.iter().filter(|h| h.is_some()).count() as u64;
    let blank = s
        .lines
        .iter()
        .filter(|l| l.status == LineStatus::Blank)
        .count() as u64;
    let invalid = s.lines.len() as u64 - valid - blank;
    let key_len = |u: usize| -> u64 {
        match &opts.key {
            KeyMode::Member(name) => (name.len() + key_value(u).len() + 6) as u64,
            KeyMode::None => 0,
        }
    };
    // Per line: prompt tokens (exact, sampled + extrapolated, or by bytes).
    let tpb = s
        .tally
        .tokens_per_byte()
        .unwrap_or(1.0 / BYTES_PER_TOKEN_OFF as f64);
    let line_tokens = |l: &Flat| -> u64 {
        match s.tokens.mode {
            TokensMode::Off => tokens_of_bytes(l.prompt_bytes),
            TokensMode::Exact => l.tokens,
            TokensMode::Sample => l.tokens + (l.unsampled_bytes as f64 * tpb).round() as u64,
        }
    };
    // Per unique: its blocks, cumulative tokens at block ends, prompt tokens, shard bytes.
    let block_bytes = opts.key_config.block_bytes as u64;
    let mut cum: Vec<u32> = Vec::with_capacity(s.blocks.len());
    let mut cum_range: Vec<(usize, usize)> = Vec::with_capacity(n_unique);
    for &r in &reps {
        let l = &s.lines[r];
        let start = cum.len();
        if s.tokens.mode == TokensMode::Exact {
            cum.extend_from_slice(&s.cum[l.blocks.0..l.blocks.0 + l.blocks.1]);
        } else {
            let total = line_tokens(l);
            for b in 0..l.blocks.1 as u64 {
                let end = ((b + 1) * block_bytes).min(l.prompt_bytes);
                let t = if s.tokens.mode == TokensMode::Off {
                    end / BYTES_PER_TOKEN_PREFIX_OFF
                } else {
                    (total as f64 * end as f64 / l.prompt_bytes.max(1) as f64) as u64
                };
                cum.push(t.min(u32::MAX as u64) as u32);
            }
        }
        cum_range.push((start, l.blocks.1));
    }
    let rows: Vec<SimRow<'_>> = reps
        .iter()
        .enumerate()
        .map(|(u, &r)| {
            let l = &s.lines[r];
            SimRow {
                blocks: &s.blocks[l.blocks.0..l.blocks.0 + l.blocks.1],
                cum_tokens: &cum[cum_range[u].0..cum_range[u].0 + cum_range[u].1],
                prompt_tokens: line_tokens(l),
            }
        })
        .collect();
    let sizes: Vec<u64> = reps
        .iter()
        .enumerate()
        .map(|(u, &r)| s.lines[r].len as u64 + 1 + key_len(u))
        .collect();
    let first_line: Vec<u64> = reps.iter().map(|&r| r as u64).collect();
    // Input order and trie order.
    let input_ids: Vec<u32> = (0..n_unique as u32).collect();
    let mut trie_ids = input_ids.clone();
    trie_order(&mut trie_ids, |u| {
        (rows[u as usize].blocks, first_line[u as usize])
    });
    let lcp_of = |ids: &[u32]| -> Vec<u32> {
        let mut lcp = vec![0u32; ids.len()];
        for i in 1..ids.len() {
            let (a, b) = (
                rows[ids[i - 1] as usize].blocks,
                rows[ids[i] as usize].blocks,
            );
            lcp[i] = a.iter().zip(b).take_while(|(x, y)| x == y).count() as u32;
        }
        lcp
    };
    let cut_ids = |ids: &[u32]| -> Vec<Vec<u32>> {
        let sz: Vec<u64> = ids.iter().map(|&u| sizes[u as usize]).collect();
        cut(&sz, &lcp_of(ids), opts.limits)
            .into_iter()
            .map(|r| ids[r].to_vec())
            .collect()
    };
    let input_shards = cut_ids(&input_ids);
    let trie_shards = cut_ids(&trie_ids);
    let min_cache = facts.min_cache_tokens;
    let primed_shards: Vec<Vec<u32>> = trie_shards
        .par_iter()
        .map(|shard| {
            let srows: Vec<SimRow<'_>> = shard.iter().map(|&u| rows[u as usize]).collect();
            prime(&srows, min_cache, &opts.prime_gaps)
                .into_iter()
                .map(|i| shard[i])
                .collect()
        })
        .collect();
    let sim_cfg = SimConfig {
        workers: opts.sim_workers,
        ttl_rounds: opts.sim_ttl,
        min_cache_tokens: if facts.implicit_cache_in_batch {
            min_cache
        } else {
            u64::MAX
        },
    };
    let sim = |shards: &[Vec<u32>]| -> SimReport {
        shards
            .par_iter()
            .map(|shard| {
                let srows: Vec<SimRow<'_>> = shard.iter().map(|&u| rows[u as usize]).collect();
                simulate(&srows, &sim_cfg)
            })
            .reduce(SimReport::default, |a, b| SimReport {
                prompt_tokens: a.prompt_tokens + b.prompt_tokens,
                cached_tokens: a.cached_tokens + b.cached_tokens,
                bound_tokens: a.bound_tokens + b.bound_tokens,
                rows: a.rows + b.rows,
                rows_with_hits: a.rows_with_hits + b.rows_with_hits,
            })
    };
    // The bound and the three orders' simulations are independent: run them side by side.
    let (bound, (sim_input, (sim_prefix, sim_primed))) = rayon::join(
        || {
            if facts.implicit_cache_in_batch {
                cache_bound(&rows, min_cache)
            } else {
                0
            }
        },
        || {
            rayon::join(
                || sim(&input_shards),
                || rayon::join(|| sim(&trie_shards), || sim(&primed_shards)),
            )
        },
    );
    let total_prompt: u64 = rows.iter().map(|r| r.prompt_tokens).sum();
    let summary = |order: Order, r: SimReport| SimSummary {
        order,
        cached_tokens: r.cached_tokens,
        cached_share: ratio(r.cached_tokens, total_prompt),
        of_bound: ratio(r.cached_tokens, bound),
    };
    let simulation = vec![
        summary(Order::Input, sim_input),
        summary(Order::Prefix, sim_prefix),
        summary(Order::Primed, sim_primed),
    ];
    let shards = match opts.order {
        Order::Input => input_shards,
        Order::Prefix => trie_shards,
        Order::Primed => primed_shards,
    };
    let mut positions = vec![(0u32, 0u32); n_unique];
    for (si, shard) in shards.iter().enumerate() {
        for (pos, &u) in shard.iter().enumerate() {
            positions[u as usize] = (si as u32, pos as u32);
        }
    }
    // Families in trie order over all uniques (for the report).
    let trie_rows: Vec<SimRow<'_>> = trie_ids.iter().map(|&u| rows[u as usize]).collect();
    let mut fams = families(&trie_rows, 1);
    fams.sort_by(|a, b| {
        (b.prefix_tokens * b.len as u64)
            .cmp(&(a.prefix_tokens * a.len as u64))
            .then(a.start.cmp(&b.start))
    });
    let families_report: Vec<FamilyReport> = fams
        .iter()
        .take(10)
        .map(|f| {
            let rep = reps[trie_ids[f.start] as usize];
            let l = &s.lines[rep];
            FamilyReport {
                prefix_tokens: f.prefix_tokens,
                requests: f.len as u64,
                cacheable: f.prefix_tokens >= min_cache,
                example: format!("{}:{}", s.names[l.file as usize], l.line),
            }
        })
        .collect();
    // Tokens.
    let mut per: Vec<u64> = rows.iter().map(|r| r.prompt_tokens).collect();
    per.sort_unstable();
    let q = |p: f64| -> u64 {
        if per.is_empty() {
            0
        } else {
            per[((per.len() - 1) as f64 * p).round() as usize]
        }
    };
    let with_dups: u64 = s
        .lines
        .iter()
        .filter(|l| l.status == LineStatus::Valid)
        .map(line_tokens)
        .sum();
    let chosen = &simulation[match opts.order {
        Order::Input => 0,
        Order::Prefix => 1,
        Order::Primed => 2,
    }];
    let price = &facts.price;
    let per_m = |t: u64, p: f64| t as f64 / 1e6 * p;
    let discount = opts.validate.models.batch_discount;
    let cost = CostReport {
        model: opts.validate.model.clone(),
        prices_as_of: opts.validate.models.as_of.clone(),
        online_no_dedup: per_m(with_dups, price.input),
        batch: per_m(total_prompt, price.input) * discount,
        batch_with_cache: per_m(total_prompt - chosen.cached_tokens, price.input) * discount
            + per_m(chosen.cached_tokens, price.cached_input),
        note: format!(
            "input tokens only (output depends on the answers); cached tokens at the cache price, which does not stack with the batch discount; tokens: {}{}",
            s.tokens.counter,
            if s.tokens.exact { "" } else { " (estimate)" }
        ),
    };
    // Duplicates.
    let mut duplicate_bytes = 0;
    let mut sampling_duplicates = 0;
    for (i, l) in s.lines.iter().enumerate() {
        if of_line[i] != NOT_SENT && reps[of_line[i] as usize] != i {
            duplicate_bytes += l.len as u64 + 1;
            if s.lines[reps[of_line[i] as usize]].samples {
                sampling_duplicates += 1;
            }
        }
    }
    let shard_reports = shards
        .iter()
        .enumerate()
        .map(|(i, shard)| ShardReport {
            name: shard_name(i),
            requests: shard.len() as u64,
            bytes: shard.iter().map(|&u| sizes[u as usize]).sum(),
        })
        .collect();
    let report = PrepareReport {
        files: s.files.clone(),
        counts: Counts {
            lines: s.lines.len() as u64,
            blank,
            invalid,
            valid,
            unique: n_unique as u64,
            duplicates: valid - n_unique as u64,
        },
        duplicate_bytes,
        sampling_duplicates,
        shards: shard_reports,
        order: opts.order,
        tokens: TokenReport {
            counter: s.tokens.counter.clone(),
            exact: s.tokens.exact,
            prompt_tokens: total_prompt,
            prompt_tokens_with_duplicates: with_dups,
            per_request: [q(0.0), q(0.5), q(0.9), q(0.99), q(1.0)],
            mode: s.tokens.mode.as_str().to_string(),
            sample: (s.tokens.mode == TokensMode::Sample).then_some(SampleReport {
                rate: opts.sample_rate,
                sampled_bytes: s.tally.sampled_bytes,
                unsampled_bytes: s.tally.unsampled_bytes,
                tokens_per_byte: tpb,
            }),
            note: s.tokens.note.clone(),
        },
        families: families_report,
        simulation,
        cache_bound_tokens: bound,
        min_cache_tokens: min_cache,
        cost,
        diagnostics: s.diagnostics.clone(),
        shard_job_errors: 0,
        already_done: false,
    };
    Plan {
        report,
        shards,
        of_line,
        positions,
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// `shards/shard-00000.jsonl`.
pub fn shard_name(i: usize) -> String {
    format!("shards/shard-{i:05}.jsonl")
}

/// The key value of unique request `u`: `bl-` and base 36, never numeric-looking (Vertex has been
/// seen to turn numeric-looking strings into numbers).
pub fn key_value(u: usize) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = u;
    let mut rev = Vec::new();
    loop {
        rev.push(DIGITS[n % 36]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    rev.reverse();
    format!("bl-{}", String::from_utf8(rev).expect("ASCII digits"))
}

/// Writes one shard line: the original line with the key member spliced in after its `{`.
fn write_shard_line<W: Write>(
    w: &mut W,
    line: &[u8],
    key: &KeyMode,
    u: usize,
) -> std::io::Result<()> {
    match key {
        KeyMode::None => w.write_all(line)?,
        KeyMode::Member(name) => {
            let brace = line.iter().position(|&b| b == b'{').unwrap_or(0);
            w.write_all(&line[..=brace])?;
            write!(w, "\"{name}\":\"{}\",", key_value(u))?;
            w.write_all(&line[brace + 1..])?;
        }
    }
    w.write_all(b"\n")
}

/// A writer that computes [`content_checksum`] of what passes through: the XXH3-128 of each
/// 16 MiB segment, streamed, so shards are checksummed while written without a second pass.
struct SegmentHashing<W> {
    inner: W,
    hasher: xxhash_rust::xxh3::Xxh3,
    in_segment: usize,
    digests: Vec<u8>,
    bytes: u64,
}

/// Segment size of [`content_checksum`].
const SEGMENT: usize = 16 << 20;

impl<W: Write> SegmentHashing<W> {
    fn checksum(&mut self) -> String {
        if self.in_segment > 0 {
            self.digests
                .extend_from_slice(&self.hasher.digest128().to_le_bytes());
            self.in_segment = 0;
        }
        format!(
            "xxh3-128:{:032x}",
            xxhash_rust::xxh3::xxh3_128(&self.digests)
        )
    }
}

impl<W: Write> Write for SegmentHashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let take = rest.len().min(SEGMENT - self.in_segment);
            self.hasher.update(&rest[..take]);
            self.in_segment += take;
            rest = &rest[take..];
            if self.in_segment == SEGMENT {
                self.digests
                    .extend_from_slice(&self.hasher.digest128().to_le_bytes());
                self.hasher.reset();
                self.in_segment = 0;
            }
        }
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn file_checksum(bytes: &[u8]) -> String {
    content_checksum(bytes)
}

#[allow(clippy::too_many_arguments)]
fn write_run(
    opts: &PrepareOptions,
    s: &Scanned,
    shards: &[Vec<u32>],
    of_line: &[u32],
    positions: &[(u32, u32)],
    report: &mut PrepareReport,
    inputs: Vec<InputEntry>,
) -> Result<()> {
    let run = &opts.run;
    if let KeyMode::Member(name) = &opts.key {
        if let Some(f) = report
            .files
            .iter()
            .find(|f| f.extra_members.contains_key(name))
        {
            return Err(Error::Usage(format!(
                "{} already has a top-level member `{name}`; choose another --key-field",
                f.file
            )));
        }
    }
    // Start clean: remove what an earlier, unfinished prepare may have left.
    let shard_dir = run.join("shards");
    std::fs::create_dir_all(&shard_dir).map_err(|e| Error::io(&shard_dir, e))?;
    for name in RUN_FILES {
        let p = run.join(name);
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
        }
    }
    for entry in std::fs::read_dir(&shard_dir).map_err(|e| Error::io(&shard_dir, e))? {
        let p = entry.map_err(|e| Error::io(&shard_dir, e))?.path();
        std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
    }
    let reps_line: Vec<usize> = {
        let mut reps = vec![usize::MAX; positions.len()];
        for (i, &u) in of_line.iter().enumerate() {
            if u != NOT_SENT && reps[u as usize] == usize::MAX {
                reps[u as usize] = i;
            }
        }
        reps
    };
    // Shards, in parallel (each shard written sequentially).
    let entries: Vec<Result<FileEntry>> = shards
        .par_iter()
        .enumerate()
        .map(|(si, shard)| {
            let path = run.join(shard_name(si));
            let file = AtomicFile::create(&path)?;
            let mut w = SegmentHashing {
                inner: BufWriter::with_capacity(1 << 20, file.writer()),
                hasher: xxhash_rust::xxh3::Xxh3::new(),
                in_segment: 0,
                digests: Vec::new(),
                bytes: 0,
            };
            for &u in shard {
                let l = &s.lines[reps_line[u as usize]];
                let data = &s.data[l.file as usize];
                let line = &data[l.offset as usize..l.offset as usize + l.len as usize];
                write_shard_line(&mut w, line, &opts.key, u as usize)
                    .map_err(|e| Error::io(&path, e))?;
            }
            w.flush().map_err(|e| Error::io(&path, e))?;
            let (bytes, checksum) = (w.bytes, w.checksum());
            drop(w);
            file.commit()?;
            Ok(FileEntry {
                name: shard_name(si),
                bytes,
                checksum,
                requests: Some(shard.len() as u64),
            })
        })
        .collect();
    let shard_entries: Vec<FileEntry> = entries.into_iter().collect::<Result<_>>()?;
    failpoint("after-shards");
    // Whole-job checks per shard: only needed when the input as a whole has job findings (a
    // shard's paths are a subset of the input's, so a clean input gives clean shards).
    if s.job
        .findings()
        .iter()
        .any(|f| f.code.scope() == crate::request::diag::Scope::Job)
    {
        let found: Vec<Vec<Diagnostic>> = shards
            .par_iter()
            .enumerate()
            .map(|(si, shard)| {
                // One line at a time (never the whole shard in memory): `line_offset` carries
                // the shard position, and the few findings are placed by rebuilding their line.
                let mut checker = LineChecker::new();
                let mut buf = Vec::new();
                let shard_line = |pos: usize, buf: &mut Vec<u8>| {
                    let u = shard[pos];
                    let l = &s.lines[reps_line[u as usize]];
                    let data = &s.data[l.file as usize];
                    let line = &data[l.offset as usize..l.offset as usize + l.len as usize];
                    buf.clear();
                    write_shard_line(buf, line, &opts.key, u as usize).expect("Vec write");
                    buf.pop();
                };
                let mut starts = Vec::with_capacity(shard.len());
                let mut offset = 0u64;
                for pos in 0..shard.len() {
                    shard_line(pos, &mut buf);
                    starts.push(offset);
                    checker.check(&buf, pos as u64, pos as u64);
                    offset += buf.len() as u64 + 1;
                }
                let name = shard_name(si);
                checker
                    .take_job()
                    .findings()
                    .into_iter()
                    .map(|jf| {
                        let pos = jf.at.line_offset as usize;
                        shard_line(pos, &mut buf);
                        let col =
                            crate::request::locate::locate(&buf, &jf.at.pointer, jf.at.at_key);
                        job_diagnostic(&name, jf, col, starts[pos] + col as u64)
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        for d in found.into_iter().flatten() {
            if d.severity == Severity::Error {
                report.shard_job_errors += 1;
            }
            report.diagnostics.push(d);
        }
    }
    // index.bin
    let mut index_lines = Vec::with_capacity(s.lines.len());
    for (i, l) in s.lines.iter().enumerate() {
        index_lines.push(IndexLine {
            file: l.file,
            line: l.line,
            offset: l.offset,
            length: l.len,
            unique: of_line[i],
        });
    }
    let index_uniques: Vec<IndexUnique> = positions
        .iter()
        .enumerate()
        .map(|(u, &(shard, position))| IndexUnique {
            shard,
            position,
            hash: s.lines[reps_line[u]].hash,
        })
        .collect();
    let mut files = Vec::new();
    let mut index_bytes = Vec::new();
    write_index(
        &mut index_bytes,
        s.names.len() as u32,
        &index_lines,
        &index_uniques,
    )
    .map_err(|e| Error::io(run.join("index.bin"), e))?;
    files.push(publish(run, "index.bin", &index_bytes)?);
    // invalid.jsonl
    let mut invalid = Vec::new();
    for l in s.lines.iter().filter(|l| l.status == LineStatus::Invalid) {
        serde_json::to_writer(
            &mut invalid,
            &serde_json::json!({"file": s.names[l.file as usize], "line": l.line, "codes": l.codes}),
        )
        .expect("Vec write");
        invalid.push(b'\n');
    }
    files.push(publish(run, "invalid.jsonl", &invalid)?);
    let report_bytes =
        serde_json::to_vec_pretty(&ReportFile::from(&*report)).expect("serialisable");
    files.push(publish(run, "report.json", &report_bytes)?);
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        schema_revision: schema::SOURCE.revision.to_string(),
        inputs,
        options: options_json(opts),
        counts: report.counts.clone(),
        shards: shard_entries,
        files,
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).expect("serialisable");
    failpoint("before-manifest");
    publish(run, "manifest.json", &manifest_bytes)?;
    Ok(())
}

/// Test hook: when `BATCHLINE_FAILPOINT` names this point, the process aborts here, as if killed,
/// so tests can check that a re-run repairs a half-written run.
fn failpoint(name: &str) {
    if std::env::var_os("BATCHLINE_FAILPOINT").is_some_and(|v| v == name) {
        eprintln!("batchline: failpoint {name}: aborting");
        std::process::abort();
    }
}

/// `report.json`: the report without the (possibly long) diagnostics list.
#[derive(Serialize)]
struct ReportFile<'a> {
    counts: &'a Counts,
    duplicate_bytes: u64,
    sampling_duplicates: u64,
    shards: &'a [ShardReport],
    order: Order,
    tokens: &'a TokenReport,
    families: &'a [FamilyReport],
    simulation: &'a [SimSummary],
    cache_bound_tokens: u64,
    min_cache_tokens: u64,
    cost: &'a CostReport,
    shard_job_errors: u64,
    findings_by_code: BTreeMap<String, u64>,
}

impl<'a> From<&'a PrepareReport> for ReportFile<'a> {
    fn from(r: &'a PrepareReport) -> Self {
        let mut by_code = BTreeMap::new();
        for f in &r.files {
            for (c, n) in &f.by_code {
                *by_code.entry(c.as_str().to_string()).or_default() += n;
            }
        }
        ReportFile {
            counts: &r.counts,
            duplicate_bytes: r.duplicate_bytes,
            sampling_duplicates: r.sampling_duplicates,
            shards: &r.shards,
            order: r.order,
            tokens: &r.tokens,
            families: &r.families,
            simulation: &r.simulation,
            cache_bound_tokens: r.cache_bound_tokens,
            min_cache_tokens: r.min_cache_tokens,
            cost: &r.cost,
            shard_job_errors: r.shard_job_errors,
            findings_by_code: by_code,
        }
    }
}

/// Writes `run/name` atomically and returns its entry. The manifest is synced to disk before
/// it is published: it marks the run complete, and every other file is verified against it.
fn publish(run: &Path, name: &str, bytes: &[u8]) -> Result<FileEntry> {
    let path = run.join(name);
    let file = AtomicFile::create(&path)?;
    let mut w = file.writer();
    w.write_all(bytes).map_err(|e| Error::io(&path, e))?;
    if name == "manifest.json" {
        file.commit_durable()?;
    } else {
        file.commit()?;
    }
    Ok(FileEntry {
        name: name.to_string(),
        bytes: bytes.len() as u64,
        checksum: file_checksum(bytes),
        requests: None,
    })
}
