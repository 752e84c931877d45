//! `collect-report.json`: what came back, per job and in total, its tokens, the measured cache
//! share beside `prepare`'s prediction, and the cost under the batch and cache rules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::row::Usage;
use super::write::{LineCounts, RetryReport};
use super::{Class, JobFacts, Matched, RunFacts, Source};
use crate::error::Result;
use crate::models::{ModelTable, Price};

/// Token sums from `usageMetadata`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tokens {
    /// `promptTokenCount`.
    pub prompt: u64,
    /// `cachedContentTokenCount`: prompt tokens served from the implicit cache.
    pub cached: u64,
    /// `candidatesTokenCount`.
    pub candidates: u64,
    /// `thoughtsTokenCount`.
    pub thoughts: u64,
    /// `toolUsePromptTokenCount`.
    pub tool_use: u64,
}

impl Tokens {
    fn add(&mut self, u: &Usage) {
        self.prompt += u.prompt_token_count;
        self.cached += u.cached_content_token_count;
        self.candidates += u.candidates_token_count;
        self.thoughts += u.thoughts_token_count;
        self.tool_use += u.tool_use_prompt_token_count;
    }

    /// Cached prompt tokens over prompt tokens (0 without prompt tokens).
    pub fn cached_share(&self) -> f64 {
        if self.prompt == 0 {
            0.0
        } else {
            self.cached as f64 / self.prompt as f64
        }
    }
}

/// Outcomes of unique requests.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Outcomes {
    /// Unique requests.
    pub requests: u64,
    /// … with a response.
    pub succeeded: u64,
    /// … whose best row failed.
    pub failed: u64,
    /// Failed, by reason (the error's status name, `HTTP_<code>`, or `BLOCKED_<reason>`).
    pub failed_by_reason: BTreeMap<String, u64>,
    /// Failed and worth sending again.
    pub retryable: u64,
    /// Failed for good.
    pub permanent: u64,
    /// … that got no row at all.
    pub missing: u64,
}

/// One job.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobReport {
    /// Its shard in the run.
    pub shard: String,
    /// Its resource name.
    pub name: Option<String>,
    /// Its state as last recorded by `status`/`wait`.
    pub state: String,
    /// 0, or the retry round.
    pub round: u32,
    /// Prediction files read from its output folder.
    pub files: u64,
    /// Rows read from them (a row exported twice counts twice here).
    pub rows: u64,
    /// Input lines whose request is in this job's shard (duplicates included; `None` for a
    /// retry round's job, whose requests were sent before).
    pub input_lines: Option<u64>,
    /// Outcomes of its shard's requests, by the best row this job wrote for each.
    pub outcomes: Outcomes,
    /// Tokens of its succeeded requests.
    pub tokens: Tokens,
    /// `tokens.cached / tokens.prompt`.
    pub cached_share: f64,
    /// True when it wrote rows and every one failed: the job failed, whatever its state says.
    pub failed: bool,
    /// The job's own error (`{code, message}`), e.g. why its import failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<serde_json::Value>,
}

/// Rows read.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RowCounts {
    /// Prediction files read.
    pub files: u64,
    /// Rows read.
    pub rows: u64,
    /// Matched by the join-key member.
    pub by_key: u64,
    /// Matched by the canonical hash of the echoed request.
    pub by_hash: u64,
    /// Rows that match no request of the run (listed in `examples`).
    pub unmatched: u64,
    /// Rows from `--predictions` whose join key names a request of this run while their echoed
    /// request is another one (keys of another run): matched by hash instead, or unmatched.
    #[serde(default)]
    pub foreign_keys: u64,
    /// Lines that are not prediction rows (listed in `examples`).
    pub unreadable: u64,
    /// Matched rows that lost to a better row of the same request (exported twice, retried …).
    pub superseded: u64,
    /// The first unmatched and unreadable rows, `file:line: why`.
    pub examples: Vec<String>,
}

/// Measured caching beside `prepare`'s simulation of the same order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CacheReport {
    /// The order the run was prepared in.
    pub order: Option<String>,
    /// Cached prompt tokens over prompt tokens, from the succeeded rows' usage.
    pub measured_share: f64,
    /// What `prepare` predicted for that order (`None` when its report is unreadable).
    pub predicted_share: Option<f64>,
    /// Cached tokens measured.
    pub measured_cached_tokens: u64,
    /// Cached tokens predicted (over all unique requests, not only succeeded ones).
    pub predicted_cached_tokens: Option<u64>,
    /// Requests of cacheable families by how many requests after the family's first one (its
    /// primer) they were sent, in send order over the run's shards: where the cache starts to
    /// pay, to fit `--prime-gaps` to what Vertex does. Empty for runs without `families.bin`.
    pub by_distance: Vec<DistanceBucket>,
    /// The ten families with the most cacheable tokens, measured.
    pub families: Vec<FamilyMeasure>,
}

/// Family members at a range of distances from their primer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DistanceBucket {
    /// Smallest distance (requests sent after the primer) in the bucket.
    pub from: u64,
    /// Largest distance, `None`: no bound.
    pub to: Option<u64>,
    /// Members in the bucket that succeeded.
    pub requests: u64,
    /// Their prompt tokens.
    pub prompt_tokens: u64,
    /// Their cached tokens.
    pub cached_tokens: u64,
    /// cached / prompt.
    pub cached_share: f64,
}

/// One family, measured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FamilyMeasure {
    /// Tokens of the shared prefix (as `prepare` counted them).
    pub prefix_tokens: u64,
    /// Members.
    pub requests: u64,
    /// Members that succeeded.
    pub succeeded: u64,
    /// `prepare`'s bound: every member after the first reads the prefix from the cache.
    pub bound_tokens: u64,
    /// Cached tokens Vertex reported for the members.
    pub cached_tokens: u64,
    /// Their prompt tokens.
    pub prompt_tokens: u64,
    /// cached / bound.
    pub of_bound: f64,
    /// The unique id key (`bl-…`) of its first member, the primer.
    pub primer: String,
}

/// Distance buckets: 0 (the primer), 1–15, 16–63, 64–255, 256–1023, 1024–4095, 4096 and more.
const DISTANCE_EDGES: [u64; 7] = [0, 1, 16, 64, 256, 1024, 4096];

/// [`CacheReport::by_distance`] and [`CacheReport::families`].
fn family_measures(p: &Parts<'_>) -> (Vec<DistanceBucket>, Vec<FamilyMeasure>) {
    let Some(fams) = &p.facts.families else {
        return (Vec::new(), Vec::new());
    };
    let m = p.matched;
    // Send order over the run: shard offsets plus positions.
    let mut per_shard: Vec<u64> = Vec::new();
    for q in p.facts.index.uniques() {
        let s = q.shard as usize;
        if per_shard.len() <= s {
            per_shard.resize(s + 1, 0);
        }
        per_shard[s] += 1;
    }
    let mut offset = vec![0u64; per_shard.len()];
    for s in 1..per_shard.len() {
        offset[s] = offset[s - 1] + per_shard[s - 1];
    }
    let order = |u: u32| {
        let q = p.facts.index.unique(u as usize);
        offset[q.shard as usize] + u64::from(q.position)
    };
    let usage = |u: u32| {
        p.best[u as usize]
            .map(|h| &m.hits[h as usize])
            .filter(|h| h.class == Class::Succeeded)
            .map(|h| h.usage())
    };
    let mut buckets: Vec<DistanceBucket> = DISTANCE_EDGES
        .iter()
        .enumerate()
        .map(|(i, &from)| DistanceBucket {
            from,
            to: DISTANCE_EDGES.get(i + 1).map(|n| n - 1),
            requests: 0,
            prompt_tokens: 0,
            cached_tokens: 0,
            cached_share: 0.0,
        })
        .collect();
    let mut measures = Vec::new();
    for f in fams {
        let Some(&primer) = f.members.first() else {
            continue;
        };
        let start = order(primer);
        let mut fm = FamilyMeasure {
            prefix_tokens: f.prefix_tokens,
            requests: f.members.len() as u64,
            succeeded: 0,
            bound_tokens: f.prefix_tokens * (f.members.len() as u64 - 1),
            cached_tokens: 0,
            prompt_tokens: 0,
            of_bound: 0.0,
            primer: key_text(primer),
        };
        for &u in &f.members {
            let Some(us) = usage(u) else {
                continue;
            };
            let d = order(u).saturating_sub(start);
            let b = DISTANCE_EDGES.partition_point(|&e| e <= d) - 1;
            let bucket = &mut buckets[b];
            bucket.requests += 1;
            bucket.prompt_tokens += us.prompt_token_count;
            bucket.cached_tokens += us.cached_content_token_count;
            fm.succeeded += 1;
            fm.prompt_tokens += us.prompt_token_count;
            fm.cached_tokens += us.cached_content_token_count;
        }
        fm.of_bound = if fm.bound_tokens == 0 {
            0.0
        } else {
            fm.cached_tokens as f64 / fm.bound_tokens as f64
        };
        measures.push(fm);
    }
    for b in &mut buckets {
        b.cached_share = if b.prompt_tokens == 0 {
            0.0
        } else {
            b.cached_tokens as f64 / b.prompt_tokens as f64
        };
    }
    measures.sort_by(|a, b| {
        b.bound_tokens
            .cmp(&a.bound_tokens)
            .then(a.primer.cmp(&b.primer))
    });
    measures.truncate(10);
    (buckets, measures)
}

/// Cost in USD.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CostReport {
    /// Model priced.
    pub model: String,
    /// Date of the price table.
    pub prices_as_of: String,
    /// What the succeeded requests cost: cached prompt tokens at the cache price; other prompt,
    /// tool-use, output and thinking tokens at the batch price.
    pub batch_with_cache: f64,
    /// The same tokens at the batch price with no cache hits.
    pub batch_no_cache: f64,
    /// The same work online, every sent input line its own call (no dedup, no batch, no cache).
    pub online_no_dedup: f64,
    /// `prepare`'s prediction for the input side (`cost.batch_with_cache` of its report).
    pub predicted_input_batch_with_cache: Option<f64>,
    /// How the figures were made.
    pub note: String,
}

/// The tokenizer's error against the real prompt token counts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TokenizerReport {
    /// The counter `prepare` used.
    pub counter: Option<String>,
    /// Succeeded requests compared.
    pub requests: u64,
    /// Their `promptTokenCount` sum.
    pub measured: u64,
    /// `prepare`'s count for all unique requests, scaled to the compared ones by request count
    /// when some did not succeed.
    pub predicted: Option<u64>,
    /// `(predicted − measured) / measured`.
    pub error: Option<f64>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CollectReport {
    /// 1.
    pub format_version: u32,
    /// The merged output.
    pub output: String,
    /// Whether every job has ended (a retry round is written only then).
    pub all_jobs_ended: bool,
    /// Output lines.
    pub lines: LineCounts,
    /// Unique requests.
    pub requests: Outcomes,
    /// Rows read.
    pub rows: RowCounts,
    /// Unique requests that got no row (their `bl-` keys; the first 20).
    pub missing_examples: Vec<String>,
    /// Tokens of the succeeded requests (each once).
    pub tokens: Tokens,
    /// Caching.
    pub cache: CacheReport,
    /// Cost (`None` when the model is not in the price table).
    pub cost: Option<CostReport>,
    /// Token counter error.
    pub tokenizer: TokenizerReport,
    /// Per job, by round and shard.
    pub jobs: Vec<JobReport>,
    /// The retry round written (or found unchanged), if any.
    pub retry: Option<RetryReport>,
}

/// What [`build`] needs.
pub(super) struct Parts<'a> {
    pub facts: &'a RunFacts,
    pub sources: &'a [Source],
    pub jobs: &'a [JobFacts],
    pub matched: &'a Matched,
    pub best: &'a [Option<u32>],
    pub lines: LineCounts,
    pub retry: Option<RetryReport>,
    pub all_ended: bool,
    pub output: String,
    pub models: &'a ModelTable,
}

fn key_text(u: u32) -> String {
    let mut n = u as u64;
    let mut digits = Vec::new();
    loop {
        let d = (n % 36) as u8;
        digits.push(if d < 10 { b'0' + d } else { b'a' + d - 10 });
        n /= 36;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    format!(
        "bl-{}",
        String::from_utf8(digits).expect("invariant: ascii")
    )
}

fn count_outcome(o: &mut Outcomes, hit: Option<&super::Hit>, reasons: &[String]) {
    o.requests += 1;
    match hit {
        None => o.missing += 1,
        Some(h) if h.class == Class::Succeeded => o.succeeded += 1,
        Some(h) => {
            o.failed += 1;
            if h.class == Class::Retryable {
                o.retryable += 1;
            } else {
                o.permanent += 1;
            }
            let reason = reasons
                .get(h.reason as usize)
                .cloned()
                .unwrap_or_else(|| "UNKNOWN".into());
            *o.failed_by_reason.entry(reason).or_default() += 1;
        }
    }
}

/// USD for `t` tokens at `per_m` per million.
fn usd(t: u64, per_m: f64) -> f64 {
    t as f64 / 1e6 * per_m
}

/// Prices for a request with `prompt` tokens: (input, output, cached), long-context ones above
/// the threshold.
fn prices(p: &Price, prompt: u64) -> (f64, f64, f64) {
    match p.long_context_threshold {
        Some(t) if prompt > t => (
            p.input_long.unwrap_or(p.input),
            p.output_long.unwrap_or(p.output),
            p.cached_input_long.unwrap_or(p.cached_input),
        ),
        _ => (p.input, p.output, p.cached_input),
    }
}

/// One request's cost: (batch with cache, batch without cache, online).
pub fn request_cost(u: &Usage, price: &Price, discount: f64) -> (f64, f64, f64) {
    let (input, output, cached) = prices(price, u.prompt_token_count);
    let cached_t = u.cached_content_token_count.min(u.prompt_token_count);
    let uncached = u.prompt_token_count - cached_t + u.tool_use_prompt_token_count;
    let out = u.candidates_token_count + u.thoughts_token_count;
    let with_cache =
        usd(cached_t, cached) + usd(uncached, input) * discount + usd(out, output) * discount;
    let no_cache = (usd(u.prompt_token_count + u.tool_use_prompt_token_count, input)
        + usd(out, output))
        * discount;
    let online =
        usd(u.prompt_token_count + u.tool_use_prompt_token_count, input) + usd(out, output);
    (with_cache, no_cache, online)
}

/// Builds the report.
pub(super) fn build(p: Parts<'_>) -> Result<CollectReport> {
    let facts = p.facts;
    let m = p.matched;
    let uniques = facts.index.n_uniques();
    // Totals over unique requests.
    let mut requests = Outcomes::default();
    let mut tokens = Tokens::default();
    let mut missing_examples = Vec::new();
    for (u, b) in p.best.iter().enumerate() {
        let hit = b.map(|h| &m.hits[h as usize]);
        count_outcome(&mut requests, hit, &m.reasons);
        match hit {
            Some(h) if h.class == Class::Succeeded => tokens.add(&h.usage()),
            None if missing_examples.len() < super::MAX_EXAMPLES => {
                missing_examples.push(key_text(u as u32))
            }
            _ => {}
        }
    }
    let superseded = m.hits.len() as u64 - p.best.iter().filter(|b| b.is_some()).count() as u64;
    // Per job: the best row each job wrote for each of its requests.
    let mut job_best: Vec<BTreeMap<u32, u32>> = vec![BTreeMap::new(); p.jobs.len()];
    let rounds: Vec<u32> = p.sources.iter().map(|s| s.round).collect();
    for (i, h) in m.hits.iter().enumerate() {
        let Some(j) = p.sources[h.source as usize].job else {
            continue;
        };
        let slot = job_best[j].entry(h.unique).or_insert(i as u32);
        if m.hits[*slot as usize].rank(&rounds) < h.rank(&rounds) {
            *slot = i as u32;
        }
    }
    // Input lines per prepared shard.
    let mut lines_per_shard: Vec<u64> = vec![0; facts.manifest.shards.len()];
    for l in facts.index.lines() {
        if (l.unique as usize) < uniques {
            let q = facts.index.unique(l.unique as usize);
            if let Some(n) = lines_per_shard.get_mut(q.shard as usize) {
                *n += 1;
            }
        }
    }
    let mut jobs = Vec::new();
    for (j, job) in p.jobs.iter().enumerate() {
        let input_lines = (job.round == 0)
            .then(|| {
                facts
                    .manifest
                    .shards
                    .iter()
                    .position(|s| s.name == job.shard)
                    .map(|i| lines_per_shard[i])
            })
            .flatten();
        let mut outcomes = Outcomes::default();
        let mut t = Tokens::default();
        for &h in job_best[j].values() {
            let hit = &m.hits[h as usize];
            count_outcome(&mut outcomes, Some(hit), &m.reasons);
            if hit.class == Class::Succeeded {
                t.add(&hit.usage());
            }
        }
        // Requests of its shard with no row from this job.
        let missing = job.requests.saturating_sub(outcomes.requests);
        outcomes.requests += missing;
        outcomes.missing += missing;
        let files = p.sources.iter().filter(|s| s.job == Some(j)).count() as u64;
        let rows = p
            .sources
            .iter()
            .zip(&m.rows_per_source)
            .filter(|(s, _)| s.job == Some(j))
            .map(|(_, r)| *r)
            .sum();
        jobs.push(JobReport {
            shard: job.shard.clone(),
            name: job.name.clone(),
            state: job.state.clone(),
            round: job.round,
            files,
            rows,
            input_lines,
            failed: outcomes.failed > 0 && outcomes.succeeded == 0,
            cached_share: t.cached_share(),
            error: job.error.clone(),
            outcomes,
            tokens: t,
        });
    }
    // The prediction.
    let pr = facts.prepare_report.as_ref();
    let order = pr
        .and_then(|r| r.get("order"))
        .and_then(|o| o.as_str())
        .map(str::to_string);
    let predicted = pr
        .and_then(|r| r.get("simulation"))
        .and_then(|s| s.as_array())
        .and_then(|sims| {
            sims.iter()
                .find(|s| s.get("order").and_then(|o| o.as_str()) == order.as_deref())
        });
    let (by_distance, families) = family_measures(&p);
    let cache = CacheReport {
        by_distance,
        families,
        order,
        measured_share: tokens.cached_share(),
        predicted_share: predicted
            .and_then(|s| s.get("cached_share"))
            .and_then(|v| v.as_f64()),
        measured_cached_tokens: tokens.cached,
        predicted_cached_tokens: predicted
            .and_then(|s| s.get("cached_tokens"))
            .and_then(|v| v.as_u64()),
    };
    // Cost.
    let model = pr
        .and_then(|r| r.pointer("/cost/model"))
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .or_else(|| {
            facts
                .manifest
                .options
                .get("model")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        });
    let cost = match model.as_deref().map(|m| (m, p.models.get(m))) {
        Some((name, Ok(facts_m))) => {
            let d = p.models.batch_discount;
            let (mut with_cache, mut no_cache) = (0.0, 0.0);
            let mut per_unique = vec![0.0f64; uniques];
            for (u, b) in p.best.iter().enumerate() {
                if let Some(h) = b.map(|h| &m.hits[h as usize]) {
                    if h.class == Class::Succeeded {
                        let (w, n, o) = request_cost(&h.usage(), &facts_m.price, d);
                        with_cache += w;
                        no_cache += n;
                        per_unique[u] = o;
                    }
                }
            }
            let online: f64 = facts
                .index
                .lines()
                .filter(|l| (l.unique as usize) < uniques)
                .map(|l| per_unique[l.unique as usize])
                .sum();
            Some(CostReport {
                model: name.to_string(),
                prices_as_of: p.models.as_of.clone(),
                batch_with_cache: with_cache,
                batch_no_cache: no_cache,
                online_no_dedup: online,
                predicted_input_batch_with_cache: pr
                    .and_then(|r| r.pointer("/cost/batch_with_cache"))
                    .and_then(|v| v.as_f64()),
                note: format!(
                    "succeeded requests only, from usageMetadata; cached prompt tokens at the cache price (the batch discount {d} does not stack with it), other prompt, tool-use, output and thinking tokens at the batch price; failed rows are not billed"
                ),
            })
        }
        _ => None,
    };
    // Tokenizer error.
    let predicted_prompt = pr
        .and_then(|r| r.pointer("/tokens/prompt_tokens"))
        .and_then(|v| v.as_u64());
    let scaled = predicted_prompt.map(|t| {
        if requests.succeeded as usize == uniques || uniques == 0 {
            t
        } else {
            (t as f64 * requests.succeeded as f64 / uniques as f64).round() as u64
        }
    });
    let tokenizer = TokenizerReport {
        counter: pr
            .and_then(|r| r.pointer("/tokens/counter"))
            .and_then(|v| v.as_str())
            .map(str::to_string),
        requests: requests.succeeded,
        measured: tokens.prompt,
        predicted: scaled,
        error: scaled
            .filter(|_| tokens.prompt > 0)
            .map(|t| (t as f64 - tokens.prompt as f64) / tokens.prompt as f64),
    };
    let c = &m.counts;
    Ok(CollectReport {
        format_version: 1,
        output: p.output,
        all_jobs_ended: p.all_ended,
        lines: p.lines,
        requests,
        rows: RowCounts {
            files: p.sources.len() as u64,
            rows: c.rows,
            by_key: c.by_key,
            by_hash: c.by_hash,
            unmatched: c.unmatched,
            foreign_keys: c.foreign_keys,
            unreadable: c.faults,
            superseded,
            examples: c.examples.clone(),
        },
        missing_examples,
        tokens,
        cache,
        cost,
        tokenizer,
        jobs,
        retry: p.retry,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_base_36() {
        assert_eq!(key_text(0), "bl-0");
        assert_eq!(key_text(35), "bl-z");
        assert_eq!(key_text(36), "bl-10");
        assert_eq!(
            super::super::parse_key(&key_text(123_456), 200_000),
            Some(123_456)
        );
    }

    #[test]
    fn cost_by_hand() {
        let price = Price {
            input: 0.30,
            output: 2.50,
            cached_input: 0.03,
            long_context_threshold: Some(200_000),
            input_long: Some(0.60),
            output_long: Some(5.0),
            cached_input_long: Some(0.06),
        };
        let u = Usage {
            prompt_token_count: 1_000_000,
            cached_content_token_count: 400_000,
            candidates_token_count: 100_000,
            thoughts_token_count: 100_000,
            tool_use_prompt_token_count: 0,
        };
        // Long context: 0.4 M cached × 0.06 + 0.6 M × 0.60 × 0.5 + 0.2 M × 5.0 × 0.5.
        let (w, n, o) = request_cost(&u, &price, 0.5);
        assert!((w - (0.024 + 0.18 + 0.5)).abs() < 1e-12, "{w}");
        assert!((n - (0.30 + 0.5)).abs() < 1e-12, "{n}");
        assert!((o - (0.60 + 1.0)).abs() < 1e-12, "{o}");
        let small = Usage {
            prompt_token_count: 2_000,
            cached_content_token_count: 1_000,
            candidates_token_count: 10,
            thoughts_token_count: 0,
            tool_use_prompt_token_count: 0,
        };
        let (w, _, _) = request_cost(&small, &price, 0.5);
        let hand = 1_000.0 / 1e6 * 0.03 + 1_000.0 / 1e6 * 0.30 * 0.5 + 10.0 / 1e6 * 2.50 * 0.5;
        assert!((w - hand).abs() < 1e-15, "{w} {hand}");
    }
}
