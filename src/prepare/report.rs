//! The report of `prepare` and `stats`, and `report.json`.

use serde::Deserialize;

use super::*;

/// What a shard holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardReport {
    /// File name under `shards/`.
    pub name: String,
    /// Requests.
    pub requests: u64,
    /// Bytes.
    pub bytes: u64,
}

/// A shared prompt prefix.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FamilyReport {
    /// Prefix size in tokens.
    pub prefix_tokens: u64,
    /// Requests sharing it.
    pub requests: u64,
    /// Whether it reaches the model's minimum cacheable size.
    pub cacheable: bool,
    /// The most prompt tokens its prefix can have served from the cache: every member after the
    /// first hits it (`(requests - 1) × prefix_tokens`); 0 when not cacheable or when the model
    /// has no implicit cache in batch. Nested families overlap, so these do not add up.
    #[serde(default)]
    pub cached_tokens: u64,
    /// What those cached tokens save in USD: batch input price minus the cached-input price.
    #[serde(default)]
    pub saving_usd: f64,
    /// The first input line of a member (file:line).
    pub example: String,
}

/// Simulated caching for one order.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrepareReport {
    /// Per input file, as `validate` reports it.
    #[serde(skip_deserializing, default)]
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
    /// Up to ten shared prefixes: the cacheable ones first, by the tokens they can have cached,
    /// then the others by the tokens they would have cached at the minimum
    /// ([`rank_families`](crate::plan::cache::rank_families)).
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
    #[serde(skip_deserializing, default)]
    pub diagnostics: Vec<Diagnostic>,
    /// Whole-job errors found in shards (each would fail its job).
    pub shard_job_errors: u64,
    /// True when the run was already complete and nothing was written.
    #[serde(default)]
    pub already_done: bool,
}

/// `report.json`: the report without the (possibly long) diagnostics list.
#[derive(Serialize)]
pub(super) struct ReportFile<'a> {
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
