//! `batchline collect`: a run's prediction rows merged back into one result per input line, in
//! input order, with duplicates filled in, failures classified and a retry round written.
//! `docs/collect.md` is the specification of the output and the report.
//!
//! The steps:
//! 1. **Sources.** Every job in `state.json` with an output folder (`outputInfo.gcsOutputDirectory`,
//!    as Vertex reported it; never built) is listed, and every `predictions*.jsonl` in it is read;
//!    `--predictions` adds files or folders made some other way. Remote files are fetched into a
//!    spill file and mapped, like remote inputs.
//! 2. **Rows** are read in parallel ([`row::parse_row`]) and matched to their unique request: by the
//!    join-key member `prepare` spliced in, else by the canonical hash of the echoed request.
//!    Each matched row's output fragment (its status and response or error, as JSON members) is
//!    appended to a spill file; memory holds a small record per row, not the responses.
//! 3. **Merge.** Per unique request the best row wins: a success over a failure, then the newer
//!    retry round, then the later source, then the first row in its file. Rows a job exported
//!    twice (incrementally and in its final file) therefore count once.
//! 4. **Output**, in input order: one line per non-blank input line, written to a temporary name
//!    and renamed (or uploaded in parts for an object-store output).
//! 5. **Retry round.** Failed rows that can succeed on a second try, and requests that got no
//!    row, are written as `retry-N/shard-*.jsonl` (+ `retry-N/manifest.json`, last), for
//!    `submit --retry`; only when every job has ended.
//! 6. **Report**: counts, tokens, measured cache share beside `prepare`'s prediction, and cost,
//!    in `collect-report.json` in the run.

pub mod members;
pub mod report;
pub mod row;
mod sources;
mod spill;
mod write;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use rayon::prelude::*;
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::models::ModelTable;
use crate::run::index::IndexView;
use crate::run::manifest::Manifest;
use crate::run::Run;
use crate::store::{CloudConfig, Location};

pub use report::CollectReport;
use row::{Outcome, Usage};
pub use sources::Source;
use spill::{Spill, SpillWriter};
pub use write::RetryManifest;

/// The newest retry round's manifest (`retry-N/manifest.json` with the highest N), if any.
pub fn newest_retry_round(run: &Run) -> Result<Option<RetryManifest>> {
    let mut newest: Option<RetryManifest> = None;
    for name in run.store().list_all("")? {
        let Some(n) = name
            .strip_prefix("retry-")
            .and_then(|r| r.strip_suffix("/manifest.json"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if newest.as_ref().is_some_and(|m| m.round >= n) {
            continue;
        }
        let bytes = run.read(&name)?.unwrap_or_default();
        let m: RetryManifest = serde_json::from_slice(&bytes).map_err(|e| Error::BadData {
            path: run.describe(&name).into(),
            message: e.to_string(),
        })?;
        newest = Some(m);
    }
    Ok(newest)
}

/// What `collect` is asked to do.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// The run.
    pub run: Location,
    /// Storage settings.
    pub cloud: CloudConfig,
    /// Where the merged output goes; `None`: `results.jsonl` in the run.
    pub output: Option<Location>,
    /// More prediction files or folders, beside the jobs' own.
    pub predictions: Vec<String>,
    /// Add each line's request to its output line.
    pub include_request: bool,
    /// Write the first candidate's text (`text`) instead of the whole `response`.
    pub text: bool,
    /// Write a retry round for retryable failures and missing rows.
    pub retry_round: bool,
    /// Match keyed `--predictions` rows by key alone (see `rows.foreign_keys` in the report).
    pub trust_keys: bool,
    /// Folder for spill files (`None`: `$BATCHLINE_SPILL_DIR`, else the system temp folder).
    pub spill_dir: Option<std::path::PathBuf>,
    /// Prices and model facts.
    pub models: ModelTable,
    /// Told what collect is doing, for a progress bar.
    pub progress: Option<Progress>,
}

/// What collect is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectEvent {
    /// A stage starts, with its amount of work (bytes of rows, output lines; 0: unknown).
    Stage(&'static str, u64),
    /// This much more of the stage's work is done.
    Done(u64),
}

/// A callback told [`CollectEvent`]s (from several threads).
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(CollectEvent) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

impl CollectOptions {
    fn tell(&self, e: CollectEvent) {
        if let Some(p) = &self.progress {
            (p.0)(e);
        }
    }
}

/// How a unique request's result is classed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// A response.
    Succeeded,
    /// A failure that may succeed when sent again (429, 500, 503, deadline, cancelled …).
    Retryable,
    /// A failure that will fail again (invalid argument, safety block …).
    Permanent,
}

/// Whether a failed row's error may go away on a second try.
pub fn is_retryable(e: &row::RowError) -> bool {
    const RETRYABLE: [&str; 7] = [
        "RESOURCE_EXHAUSTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DEADLINE_EXCEEDED",
        "CANCELLED",
        "ABORTED",
        "UNKNOWN",
    ];
    match (&e.status, e.code) {
        (Some(s), _) => RETRYABLE.contains(&s.as_str()),
        (None, Some(c)) => matches!(c, 408 | 429 | 499 | 500 | 502 | 503 | 504),
        (None, None) => false,
    }
}

/// The reason a failure is counted under in the report: the error's status name, else its code,
/// else `OTHER` (a status string of another form); a safety block is `BLOCKED_<reason>`.
pub fn reason_of(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Succeeded => None,
        Outcome::Blocked(r) => Some(format!("BLOCKED_{r}")),
        Outcome::Failed(e) => Some(match (&e.status, e.code) {
            (Some(s), _) => s.clone(),
            (None, Some(c)) => format!("HTTP_{c}"),
            (None, None) => "OTHER".into(),
        }),
    }
}

/// One matched row: which request, from where, its class and where its fragment is spilled
/// (56 bytes: the only memory collect holds per row).
#[derive(Debug, Clone, Copy)]
struct Hit {
    unique: u32,
    source: u32,
    /// Byte offset of the row in its source (the tie-break: the first row wins).
    at: u64,
    /// Offset of the fragment in its bucket's spill file (the bucket follows from `unique`).
    frag_off: u64,
    frag_len: u32,
    /// Index into the failure reasons (`u16::MAX` for a success).
    reason: u16,
    class: Class,
    /// `usageMetadata` counts, saturated at `u32::MAX` ([`Hit::usage`]).
    counts: [u32; 5],
}

impl Hit {
    /// The row's token counts.
    fn usage(&self) -> Usage {
        let [p, c, o, t, u] = self.counts.map(u64::from);
        Usage {
            prompt_token_count: p,
            cached_content_token_count: c,
            candidates_token_count: o,
            thoughts_token_count: t,
            tool_use_prompt_token_count: u,
        }
    }

    fn counts_of(u: &Usage) -> [u32; 5] {
        [
            u.prompt_token_count,
            u.cached_content_token_count,
            u.candidates_token_count,
            u.thoughts_token_count,
            u.tool_use_prompt_token_count,
        ]
        .map(|n| n.min(u64::from(u32::MAX)) as u32)
    }

    /// Larger wins: a success, then the newer round, then the later source, then the earlier row.
    fn rank(&self, rounds: &[u32]) -> (bool, u32, u32, std::cmp::Reverse<u64>) {
        (
            self.class == Class::Succeeded,
            rounds[self.source as usize],
            self.source,
            std::cmp::Reverse(self.at),
        )
    }
}

/// What the run holds, read once.
pub(crate) struct RunFacts {
    pub manifest: Manifest,
    /// `index.bin`, mapped (a remote one through a spill file): read in place, never loaded.
    pub index: IndexView,
    /// The join-key member's name, if the run has one.
    pub key_name: Option<String>,
    /// `prepare`'s report, if readable.
    pub prepare_report: Option<serde_json::Value>,
    /// Invalid lines: (file, line) → codes.
    pub invalid: HashMap<(u32, u64), Vec<String>>,
    /// The cacheable prompt families (`families.bin`; `None` for runs made before it existed).
    pub families: Option<Vec<crate::run::families::CacheFamily>>,
}

/// Maps the run's `index.bin` (a remote run's is fetched into a spill file first).
fn open_index(run: &Run, remote: &crate::input::remote::RemoteOptions) -> Result<IndexView> {
    let name = run.describe("index.bin");
    let bytes: Box<dyn std::ops::Deref<Target = [u8]> + Send + Sync> =
        match run.location().join("index.bin") {
            Location::Local(path) => {
                let file = match std::fs::File::open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(Error::BadData {
                            path: name.into(),
                            message: "missing: the run is damaged (prepare it again)".into(),
                        })
                    }
                    Err(e) => return Err(Error::io(&path, e)),
                };
                // SAFETY: the run's own file, which batchline replaces by rename, never in place.
                let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(&path, e))?;
                Box::new(map)
            }
            other => {
                if run.store().head("index.bin")?.is_none() {
                    return Err(Error::BadData {
                        path: name.into(),
                        message: "missing: the run is damaged (prepare it again)".into(),
                    });
                }
                Box::new(crate::input::remote::open(
                    &other.to_string(),
                    crate::input::MmapChoice::Auto,
                    remote,
                )?)
            }
        };
    IndexView::new(bytes).map_err(|e| Error::BadData {
        path: name.into(),
        message: e.to_string(),
    })
}

fn read_run(run: &Run, remote: &crate::input::remote::RemoteOptions) -> Result<RunFacts> {
    let manifest = run.manifest()?.ok_or_else(|| {
        Error::Usage(format!(
            "{} has no manifest.json: it is not a finished run (run batchline prepare first)",
            run.describe("")
        ))
    })?;
    let index = open_index(run, remote)?;
    let key_name = match manifest.options.get("key") {
        Some(k) if k.get("mode").and_then(|m| m.as_str()) == Some("member") => {
            k.get("name").and_then(|n| n.as_str()).map(str::to_string)
        }
        _ => None,
    };
    let prepare_report = run
        .read("report.json")?
        .and_then(|b| serde_json::from_slice(&b).ok());
    let mut invalid = HashMap::new();
    if let Some(bytes) = run.read("invalid.jsonl")? {
        let files: HashMap<&str, u32> = manifest
            .inputs
            .iter()
            .enumerate()
            .map(|(i, f)| (f.path.as_str(), i as u32))
            .collect();
        #[derive(serde::Deserialize)]
        struct Inv {
            file: String,
            line: u64,
            #[serde(default)]
            codes: Vec<String>,
        }
        for (n, l) in bytes.split(|&b| b == b'\n').enumerate() {
            if l.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let inv: Inv = serde_json::from_slice(l).map_err(|e| Error::BadData {
                path: run.describe("invalid.jsonl").into(),
                message: format!("line {}: {e}", n + 1),
            })?;
            if let Some(&f) = files.get(inv.file.as_str()) {
                invalid.insert((f, inv.line), inv.codes);
            }
        }
    }
    let families = match run.read("families.bin")? {
        Some(b) => Some(
            crate::run::families::decode(&b, index.n_uniques()).map_err(|e| Error::BadData {
                path: run.describe("families.bin").into(),
                message: e,
            })?,
        ),
        None => None,
    };
    Ok(RunFacts {
        manifest,
        index,
        key_name,
        prepare_report,
        invalid,
        families,
    })
}

/// The unique id in a join key `bl-<base 36>`, if it is one and in range.
fn parse_key(key: &str, uniques: usize) -> Option<u32> {
    let digits = key.strip_prefix("bl-")?;
    if digits.is_empty() || digits.len() > 13 {
        return None;
    }
    let mut n: u64 = 0;
    for c in digits.bytes() {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'z' => c - b'a' + 10,
            _ => return None,
        };
        n = n.checked_mul(36)?.checked_add(d as u64)?;
    }
    (n < uniques as u64).then_some(n as u32)
}

/// Counts from reading rows.
#[derive(Debug, Default, Clone)]
struct ReadCounts {
    rows: u64,
    by_key: u64,
    by_hash: u64,
    unmatched: u64,
    /// Rows from `--predictions` whose key names a request of this run but whose echoed
    /// request is another (a key from another run); matched by hash instead, where they can be.
    foreign_keys: u64,
    faults: u64,
    /// `source:line` of the first unmatched rows and faults, with why.
    examples: Vec<String>,
}

/// Rows read from the sources: every matched row, and the counts.
struct Matched {
    hits: Vec<Hit>,
    counts: ReadCounts,
    reasons: Vec<String>,
    /// The spilled fragments.
    spill: Spill,
    /// Per source: rows read.
    rows_per_source: Vec<u64>,
}

impl Matched {
    /// The output fragment of `hit`.
    fn fragment(&self, hit: &Hit) -> &[u8] {
        self.spill.fragment(hit.unique, hit.frag_off, hit.frag_len)
    }
}

const MAX_EXAMPLES: usize = 20;

/// Bytes per unit of parallel row reading.
const PIECE: usize = 4 << 20;

/// Splits `data` into pieces of about `PIECE` bytes ending at a newline.
fn pieces(data: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let mut end = (start + PIECE).min(data.len());
        if end < data.len() {
            end = match memchr::memchr(b'\n', &data[end..]) {
                Some(i) => end + i + 1,
                None => data.len(),
            };
        }
        out.push(start..end);
        start = end;
    }
    out
}

/// Reads and matches every row of `sources` (already opened as `datas`).
fn match_rows(
    facts: &RunFacts,
    sources: &[Source],
    datas: &[crate::input::remote::Input],
    opts: &CollectOptions,
    spill_dir: &std::path::Path,
) -> Result<Matched> {
    let n_uniques = facts.index.n_uniques();
    let writer = SpillWriter::create(
        spill_dir,
        n_uniques,
        datas.iter().map(|d| d.len() as u64).sum(),
    )?;
    let reasons: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let by_hash: std::sync::OnceLock<HashMap<u128, u32>> = std::sync::OnceLock::new();
    let hash_map = || {
        by_hash.get_or_init(|| {
            let mut m = HashMap::with_capacity(facts.index.n_uniques());
            for (u, q) in facts.index.uniques().enumerate() {
                m.entry(q.hash).or_insert(u as u32);
            }
            m
        })
    };
    let units: Vec<(usize, std::ops::Range<usize>)> = datas
        .iter()
        .enumerate()
        .flat_map(|(s, d)| pieces(d).into_iter().map(move |r| (s, r)))
        .collect();
    // Per piece: (byte offset, why) of its first unmatched or unreadable rows, numbered below.
    type PieceResult = (Vec<Hit>, ReadCounts, u64, Vec<(u64, String)>);
    let results: Vec<Result<PieceResult>> = units
        .par_iter()
        .map(|(s, range)| {
            let data = &datas[*s][..];
            let mut hits = Vec::new();
            let mut counts = ReadCounts::default();
            // Per bucket: its fragments from this piece.
            let mut frags = writer.buffers();
            let mut pos = range.start;
            let mut rows = 0u64;
            let mut pending: Vec<(u64, String)> = Vec::new();
            while pos < range.end {
                let end =
                    memchr::memchr(b'\n', &data[pos..range.end]).map_or(range.end, |i| pos + i);
                let line = &data[pos..end];
                let at = pos as u64;
                pos = end + 1;
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                rows += 1;
                counts.rows += 1;
                let row = match row::parse_row(line, facts.key_name.as_deref()) {
                    Ok(r) => r,
                    Err(f) => {
                        counts.faults += 1;
                        if pending.len() < MAX_EXAMPLES {
                            pending.push((at, f.message));
                        }
                        continue;
                    }
                };
                let by_hash = |r: &RawValue| {
                    crate::request::canon::canonical_hash_bytes(r.get().as_bytes())
                        .and_then(|h| hash_map().get(&h).copied())
                };
                let keyed = row
                    .raw
                    .key
                    .as_deref()
                    .and_then(|k| parse_key(k, facts.index.n_uniques()));
                // Rows from elsewhere (`--predictions`) may carry another run's keys: there the
                // echoed request must have the keyed request's hash, else the row is matched by
                // its hash alone. A job's own rows come from this run's shards.
                let keyed = match (keyed, row.raw.request) {
                    (Some(u), Some(r)) if sources[*s].job.is_none() && !opts.trust_keys => {
                        let want = facts.index.unique(u as usize).hash;
                        match crate::request::canon::canonical_hash_bytes(r.get().as_bytes()) {
                            Some(h) if h == want => Some(u),
                            _ => {
                                counts.foreign_keys += 1;
                                None
                            }
                        }
                    }
                    (k, _) => k,
                };
                let unique = match keyed {
                    Some(u) => {
                        counts.by_key += 1;
                        Some(u)
                    }
                    None => match row.raw.request.and_then(by_hash) {
                        Some(u) => {
                            counts.by_hash += 1;
                            Some(u)
                        }
                        None => None,
                    },
                };
                let Some(unique) = unique else {
                    counts.unmatched += 1;
                    if pending.len() < MAX_EXAMPLES {
                        pending.push((at, "matches no request of this run".into()));
                    }
                    continue;
                };
                let (class, reason) = match &row.outcome {
                    Outcome::Succeeded => (Class::Succeeded, u16::MAX),
                    o => {
                        let class = match o {
                            Outcome::Failed(e) if is_retryable(e) => Class::Retryable,
                            _ => Class::Permanent,
                        };
                        let name = reason_of(o).unwrap_or_default();
                        let mut rs = reasons.lock().unwrap_or_else(|e| e.into_inner());
                        let id = match rs.iter().position(|r| *r == name) {
                            Some(i) => i,
                            None => {
                                rs.push(name);
                                rs.len() - 1
                            }
                        };
                        (class, id.min(u16::MAX as usize - 1) as u16)
                    }
                };
                let bucket = &mut frags[writer.bucket(unique)];
                let start = bucket.len();
                write::fragment(&row, opts.text, bucket);
                let Ok(frag_len) = u32::try_from(bucket.len() - start) else {
                    bucket.truncate(start);
                    counts.faults += 1;
                    if pending.len() < MAX_EXAMPLES {
                        pending.push((at, "a row over 4 GiB".into()));
                    }
                    continue;
                };
                hits.push(Hit {
                    unique,
                    source: *s as u32,
                    at,
                    class,
                    reason,
                    frag_off: start as u64,
                    frag_len,
                    counts: Hit::counts_of(&row.usage),
                });
            }
            opts.tell(CollectEvent::Done(range.len() as u64));
            let bases = writer.append(&frags)?;
            drop(frags);
            for h in &mut hits {
                h.frag_off += bases[writer.bucket(h.unique)];
            }
            Ok((hits, counts, rows, pending))
        })
        .collect();
    let mut hits = Vec::new();
    let mut counts = ReadCounts::default();
    let mut rows_per_source = vec![0u64; sources.len()];
    // Line numbers for the first examples, counted once over each source's bytes before them.
    let mut counted: (usize, u64, u64) = (usize::MAX, 0, 1); // (source, offset, line there)
    for ((s, _), r) in units.iter().zip(results) {
        let (h, c, rows, pending) = r?;
        for (at, why) in pending {
            if counts.examples.len() >= MAX_EXAMPLES {
                break;
            }
            if counted.0 != *s {
                counted = (*s, 0, 1);
            }
            let data = &datas[*s][..];
            counted.2 +=
                memchr::memchr_iter(b'\n', &data[counted.1 as usize..at as usize]).count() as u64;
            counted.1 = at;
            counts
                .examples
                .push(format!("{}:{}: {why}", sources[*s].url, counted.2));
        }
        hits.extend(h);
        rows_per_source[*s] += rows;
        counts.rows += c.rows;
        counts.by_key += c.by_key;
        counts.by_hash += c.by_hash;
        counts.unmatched += c.unmatched;
        counts.foreign_keys += c.foreign_keys;
        counts.faults += c.faults;
    }
    let spill = writer.finish()?;
    Ok(Matched {
        hits,
        counts,
        reasons: reasons.into_inner().unwrap_or_else(|e| e.into_inner()),
        spill,
        rows_per_source,
    })
}

/// The winning row per unique request (`None`: no row), by [`Hit::rank`].
fn winners(hits: &[Hit], uniques: usize, rounds: &[u32]) -> Vec<Option<u32>> {
    let mut best: Vec<Option<u32>> = vec![None; uniques];
    for (i, h) in hits.iter().enumerate() {
        let slot = &mut best[h.unique as usize];
        match slot {
            Some(j) if hits[*j as usize].rank(rounds) >= h.rank(rounds) => {}
            _ => *slot = Some(i as u32),
        }
    }
    best
}

/// Refuses a run that holds a `submit --source` job (a BigQuery table or a file batchline did
/// not prepare): there is no index to merge its rows into, and a BigQuery job's rows are in a
/// table, which batchline does not read. The message names where the rows are, from the job's
/// `outputInfo` as last recorded.
fn refuse_source_job(run: &Run, st: &crate::run::state::RunState) -> Result<()> {
    let Some(source) = &st.source else {
        return Ok(());
    };
    let record = st.jobs.get(source);
    let job = record
        .and_then(|r| r.name.as_deref())
        .unwrap_or("(not created yet)");
    let whereabouts = match record {
        Some(r) if r.bigquery_destination().is_some() => match &r.output_table {
            Some(t) if t.matches('.').count() >= 2 => format!(
                "the job's rows are in the BigQuery table {t} (outputInfo.bigqueryOutputTable of job {job})"
            ),
            _ => format!(
                "the job's rows go to a new table in {} (named in outputInfo.bigqueryOutputTable of job {job} once it runs: batchline status shows it)",
                r.bigquery_destination().unwrap_or_default()
            ),
        },
        Some(r) => match &r.output_directory {
            Some(d) => format!(
                "the job's rows are in {d} (outputInfo.gcsOutputDirectory of job {job})"
            ),
            None => format!(
                "the job's rows go under {} (outputInfo.gcsOutputDirectory of job {job} once it runs)",
                r.output_prefix
            ),
        },
        None => "no job was created for it".to_string(),
    };
    Err(Error::Usage(format!(
        "{} holds a job over {source}, not a prepared run: {whereabouts}; collect merges the rows of a prepared run's shards only",
        run.describe("")
    )))
}

/// Runs `collect`.
pub fn collect(opts: &CollectOptions) -> Result<CollectReport> {
    let run = Run::open(&opts.run, &opts.cloud)?;
    let remote = crate::input::remote::RemoteOptions {
        cloud: opts.cloud.clone(),
        spill_dir: opts.spill_dir.clone(),
        progress: None,
    };
    let state = crate::run::state::StateFile::load(&run)?.state;
    if let Some(st) = &state {
        refuse_source_job(&run, st)?;
    }
    let facts = read_run(&run, &remote)?;
    let spill_dir = remote.spill_dir();
    let (sources, jobs) = sources::find(&run, &facts, state.as_ref(), &opts.predictions, &remote)?;
    let datas = sources
        .iter()
        .map(|s| crate::input::remote::open(&s.url, crate::input::MmapChoice::Auto, &remote))
        .collect::<Result<Vec<_>>>()?;
    opts.tell(CollectEvent::Stage(
        "rows",
        datas.iter().map(|d| d.len() as u64).sum(),
    ));
    let matched = match_rows(&facts, &sources, &datas, opts, &spill_dir)?;
    drop(datas);
    let rounds: Vec<u32> = sources.iter().map(|s| s.round).collect();
    let best = winners(&matched.hits, facts.index.n_uniques(), &rounds);
    let all_ended = jobs.iter().all(|j| j.ended);
    let output = opts
        .output
        .clone()
        .unwrap_or_else(|| run.location().join("results.jsonl"));
    let inputs = write::open_inputs(&facts, &remote)?;
    opts.tell(CollectEvent::Stage("writing", facts.index.n_lines() as u64));
    let lines_out = write::write_output(&facts, &inputs, &matched, &best, &output, opts)?;
    drop(inputs);
    let retry = if opts.retry_round && all_ended {
        opts.tell(CollectEvent::Stage("retry", 0));
        write::retry_round(&run, &facts, &matched, &best, &jobs)?
    } else {
        None
    };
    let report = report::build(report::Parts {
        facts: &facts,
        sources: &sources,
        jobs: &jobs,
        matched: &matched,
        best: &best,
        lines: lines_out,
        retry,
        all_ended,
        output: output.to_string(),
        models: &opts.models,
    })?;
    let mut bytes = serde_json::to_vec_pretty(&report).expect("invariant: the report serialises");
    bytes.push(b'\n');
    run.store().put(
        "collect-report.json",
        &bytes,
        crate::store::Durability::Normal,
    )?;
    Ok(report)
}

/// A job's facts for collect.
#[derive(Debug, Clone)]
pub struct JobFacts {
    /// Its shard's name in the run (`shards/shard-00000.jsonl`, `retry-1/shard-00000.jsonl`).
    pub shard: String,
    /// Its resource name.
    pub name: Option<String>,
    /// The state last recorded.
    pub state: String,
    /// Whether it has ended (or never will run).
    pub ended: bool,
    /// 0 for the prepared shards, N for retry round N.
    pub round: u32,
    /// Requests in its shard.
    pub requests: u64,
    /// Its output folder.
    pub output_directory: Option<String>,
    /// The job's `error` (`{code, message}`), if Vertex reported one.
    pub error: Option<serde_json::Value>,
}

/// The members of a JSON object, borrowed (`None` when `line` is not an object).
pub(crate) fn object_members(line: &[u8]) -> Option<Vec<(String, &RawValue)>> {
    let map: BTreeMap<String, &RawValue> = serde_json::from_slice(line).ok()?;
    // Keep the input's order: find each member's position.
    let mut v: Vec<(String, &RawValue)> = map.into_iter().collect();
    v.sort_by_key(|(_, raw)| raw.get().as_ptr() as usize);
    Some(v)
}
