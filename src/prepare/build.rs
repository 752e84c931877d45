//! Planning, in named steps: dedup, per-request rows (tokens and sizes), the three orders with
//! their cuts and priming, the order-independent figures, the cache simulations, the report's
//! families and cost, and the families collect measures.

use super::*;

fn tokens_of_bytes(bytes: u64) -> u64 {
    bytes.div_ceil(BYTES_PER_TOKEN_OFF)
}

pub(super) fn build_plan(opts: &PrepareOptions, facts: &ModelFacts, s: &Scanned) -> Plan {
    let mut watch = Stopwatch::new();
    let l = &s.lines;
    let (of_line, reps) = dedup(
        &l.hash,
        |i| l.status[i] == LineStatus::Valid,
        opts.keep_duplicates,
    );
    watch.lap("  dedup");
    let tokens = LineTokens::new(s);
    // Exact counts: the scan's own sums, parallel to the blocks; else estimated here.
    let estimated;
    let cum: &[u32] = if s.tokens.mode == TokensMode::Exact {
        &l.cum
    } else {
        estimated = block_tokens(opts, s, &reps, &tokens);
        &estimated
    };
    let rows: Vec<SimRow<'_>> = reps
        .par_iter()
        .map(|&r| {
            let range = l.block_range(r);
            SimRow {
                blocks: &l.blocks[range.clone()],
                cum_tokens: &cum[range],
                prompt_tokens: tokens.line(r),
            }
        })
        .collect();
    let sizes: Vec<u64> = reps
        .par_iter()
        .enumerate()
        .map(|(u, &r)| l.len[r] as u64 + 1 + super::join_key::key_member_len(&opts.join_key, u))
        .collect();
    watch.lap("  rows");
    let min_cache = facts.min_cache_tokens;
    let sim_cfg = SimConfig {
        workers: opts.sim_workers,
        ttl_rounds: opts.sim_ttl,
        min_cache_tokens: if facts.implicit_cache_in_batch {
            min_cache
        } else {
            u64::MAX
        },
    };
    // The orders with their cuts and priming, side by side with the order-independent analysis
    // of all rows (one pass, serial; it serves the bound and the three simulations) and figures.
    let ((analysis, figures), orders) = rayon::join(
        || {
            rayon::join(
                || Analysis::new(&rows, sim_cfg.min_cache_tokens),
                || Figures::new(s, &of_line, &reps, &rows, &tokens),
            )
        },
        || Orders::new(opts, &rows, &sizes, min_cache),
    );
    watch.lap("  orders+cut+prime | analysis");
    let ((bound, simulation), families_report) = rayon::join(
        || {
            simulate(
                facts,
                &analysis,
                &rows,
                &sim_cfg,
                &orders,
                figures.total_prompt,
            )
        },
        || top_families(opts, facts, s, &reps, &rows, &orders, &sim_cfg),
    );
    watch.lap("  simulate+bound | top families");
    let mut positions = vec![(0u32, 0u32); reps.len()];
    let chosen_shards = match opts.order {
        Order::Input => &orders.input_shards,
        Order::Prefix => &orders.trie_shards,
        Order::Primed => &orders.primed_shards,
    };
    for (si, shard) in chosen_shards.iter().enumerate() {
        for (pos, &u) in shard.iter().enumerate() {
            positions[u as usize] = (si as u32, pos as u32);
        }
    }
    let families = outermost_families(&orders, &rows, &positions, min_cache);
    let shards = match opts.order {
        Order::Input => orders.input_shards,
        Order::Prefix => orders.trie_shards,
        Order::Primed => orders.primed_shards,
    };
    watch.lap("  positions+families");
    let chosen = &simulation[match opts.order {
        Order::Input => 0,
        Order::Prefix => 1,
        Order::Primed => 2,
    }];
    let cost = cost_report(opts, facts, s, &figures, chosen.cached_tokens);
    let shard_reports = shards
        .iter()
        .enumerate()
        .map(|(i, shard)| ShardReport {
            name: shard_name(i),
            requests: shard.len() as u64,
            bytes: shard.iter().map(|&u| sizes[u as usize]).sum(),
        })
        .collect();
    let valid = l
        .status
        .iter()
        .filter(|&&st| st == LineStatus::Valid)
        .count() as u64;
    let invalid = l.codes.len() as u64;
    let n_unique = reps.len() as u64;
    let report = PrepareReport {
        files: s.files.clone(),
        counts: Counts {
            lines: l.len() as u64,
            blank: l.len() as u64 - valid - invalid,
            invalid,
            valid,
            unique: n_unique,
            duplicates: valid - n_unique,
        },
        duplicate_bytes: figures.duplicate_bytes,
        sampling_duplicates: figures.sampling_duplicates,
        shards: shard_reports,
        order: opts.order,
        tokens: TokenReport {
            counter: s.tokens.counter.clone(),
            exact: s.tokens.exact,
            prompt_tokens: figures.total_prompt,
            prompt_tokens_with_duplicates: figures.with_duplicates,
            per_request: figures.per_request,
            mode: s.tokens.mode.as_str().to_string(),
            sample: (s.tokens.mode == TokensMode::Sample).then_some(SampleReport {
                rate: opts.sample_rate,
                sampled_bytes: s.tally.sampled_bytes,
                unsampled_bytes: s.tally.unsampled_bytes,
                tokens_per_byte: tokens.per_byte,
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
    watch.lap("  report");
    Plan {
        report,
        layout: Layout {
            shards,
            of_line,
            reps,
            positions,
            families,
        },
    }
}

/// A line's prompt tokens: exact, sampled and extrapolated by the sampled tokens per byte, or
/// by bytes.
struct LineTokens<'a> {
    s: &'a Scanned,
    per_byte: f64,
}

impl<'a> LineTokens<'a> {
    fn new(s: &'a Scanned) -> Self {
        LineTokens {
            s,
            per_byte: s
                .tally
                .tokens_per_byte()
                .unwrap_or(1.0 / BYTES_PER_TOKEN_OFF as f64),
        }
    }

    fn line(&self, i: usize) -> u64 {
        let l = &self.s.lines;
        match self.s.tokens.mode {
            TokensMode::Off => tokens_of_bytes(l.prompt_bytes[i] as u64),
            TokensMode::Exact => l.tokens[i],
            TokensMode::Sample => {
                l.tokens[i] + (l.unsampled_bytes[i] as f64 * self.per_byte).round() as u64
            }
        }
    }
}

/// Without exact counts: each representative's cumulative tokens at its block ends, estimated
/// from its bytes (by bytes, or its tokens spread evenly over its bytes), parallel to the blocks.
fn block_tokens(
    opts: &PrepareOptions,
    s: &Scanned,
    reps: &[usize],
    tokens: &LineTokens<'_>,
) -> Vec<u32> {
    let l = &s.lines;
    let block_bytes = opts.prompt_blocks.block_bytes as u64;
    let mut cum = vec![0u32; l.blocks.len()];
    // Representatives are in line order, so their block ranges are disjoint and increasing:
    // chunks of representatives fill disjoint pieces of `cum`, in parallel.
    let chunks: Vec<&[usize]> = reps.chunks(4096).collect();
    let span =
        |chunk: &[usize]| l.block_range(chunk[0]).start..l.block_range(chunk[chunk.len() - 1]).end;
    let pieces: Vec<(&[usize], usize, &mut [u32])> = chunks
        .iter()
        .zip(crate::plan::pieces_mut(
            &mut cum,
            chunks.iter().map(|c| span(c)),
        ))
        .map(|(&chunk, piece)| (chunk, span(chunk).start, piece))
        .collect();
    pieces.into_par_iter().for_each(|(chunk, base, piece)| {
        for &r in chunk {
            let range = l.block_range(r);
            let prompt_bytes = l.prompt_bytes[r] as u64;
            let total = tokens.line(r);
            for (b, slot) in piece[range.start - base..range.end - base]
                .iter_mut()
                .enumerate()
            {
                let end = ((b as u64 + 1) * block_bytes).min(prompt_bytes);
                let t = if s.tokens.mode == TokensMode::Off {
                    end / BYTES_PER_TOKEN_PREFIX_OFF
                } else {
                    (total as f64 * end as f64 / prompt_bytes.max(1) as f64) as u64
                };
                *slot = t.min(u32::MAX as u64) as u32;
            }
        }
    });
    cum
}

/// The three orders of the unique requests, cut into shards: input order, trie (prefix) order,
/// and trie order with each cacheable family's primer sent ahead (per shard).
struct Orders {
    input_shards: Vec<Vec<u32>>,
    /// All uniques in trie order, and the blocks each shares with the one before it.
    trie_ids: Vec<u32>,
    trie_lcp: Vec<u32>,
    trie_shards: Vec<Vec<u32>>,
    primed_shards: Vec<Vec<u32>>,
}

impl Orders {
    fn new(opts: &PrepareOptions, rows: &[SimRow<'_>], sizes: &[u64], min_cache: u64) -> Self {
        let n = rows.len();
        let input_ids: Vec<u32> = (0..n as u32).collect();
        let (input_shards, (trie_ids, trie_lcp, trie_cuts)) = rayon::join(
            || {
                let lcp = |i: usize| {
                    let (a, b) = (rows[i - 1].blocks, rows[i].blocks);
                    a.iter().zip(b).take_while(|(x, y)| x == y).count() as u32
                };
                cut_by(n, |i| sizes[i], lcp, opts.limits)
                    .into_iter()
                    .map(|r| input_ids[r].to_vec())
                    .collect::<Vec<_>>()
            },
            || {
                let mut trie_ids = input_ids.clone();
                // Ties between equal prompts go by id: by first input line (the representative's).
                let trie_lcp = trie_order_lcp(&mut trie_ids, |u| rows[u as usize].blocks);
                let trie_cuts = cut_by(
                    n,
                    |i| sizes[trie_ids[i] as usize],
                    |i| trie_lcp[i],
                    opts.limits,
                );
                (trie_ids, trie_lcp, trie_cuts)
            },
        );
        // The trie shards are consecutive runs of the trie order: the LCP array serves their
        // families too.
        let primed_shards: Vec<Vec<u32>> = trie_cuts
            .par_iter()
            .map(|r| {
                let (ids, lcp) = (&trie_ids[r.clone()], &trie_lcp[r.clone()]);
                let fams = families_by(
                    ids.len(),
                    |i| lcp[i] as usize,
                    |start, depth| u64::from(rows[ids[start] as usize].cum_tokens[depth - 1]),
                    min_cache,
                );
                prime_families(ids.len(), &fams, &opts.prime_gaps)
                    .into_iter()
                    .map(|i| ids[i])
                    .collect()
            })
            .collect();
        let trie_shards: Vec<Vec<u32>> = trie_cuts
            .iter()
            .map(|r| trie_ids[r.clone()].to_vec())
            .collect();
        Orders {
            input_shards,
            trie_ids,
            trie_lcp,
            trie_shards,
            primed_shards,
        }
    }

    /// The families of the whole trie order whose prefix has at least `min_cache` tokens.
    fn families(&self, rows: &[SimRow<'_>], min_cache: u64) -> Vec<crate::plan::cache::Family> {
        families_by(
            self.trie_ids.len(),
            |i| self.trie_lcp[i] as usize,
            |start, depth| u64::from(rows[self.trie_ids[start] as usize].cum_tokens[depth - 1]),
            min_cache,
        )
    }
}

/// Token and duplicate figures, whatever the order.
struct Figures {
    /// Prompt tokens of the unique requests.
    total_prompt: u64,
    /// Per unique request: minimum, median, 90th and 99th percentile, maximum.
    per_request: [u64; 5],
    /// Prompt tokens of every valid line, duplicates included.
    with_duplicates: u64,
    duplicate_bytes: u64,
    sampling_duplicates: u64,
}

impl Figures {
    fn new(
        s: &Scanned,
        of_line: &[u32],
        reps: &[usize],
        rows: &[SimRow<'_>],
        tokens: &LineTokens<'_>,
    ) -> Self {
        let l = &s.lines;
        let total_prompt: u64 = rows.iter().map(|r| r.prompt_tokens).sum();
        // Quantiles of the per-request tokens: each a selection in what is left above the last.
        let mut per: Vec<u64> = rows.iter().map(|r| r.prompt_tokens).collect();
        let mut per_request = [0u64; 5];
        if !per.is_empty() {
            let mut lo = 0;
            for (slot, p) in per_request.iter_mut().zip([0.0, 0.5, 0.9, 0.99, 1.0]) {
                let i = ((per.len() - 1) as f64 * p).round() as usize;
                *slot = *per[lo..].select_nth_unstable(i - lo).1;
                lo = i;
            }
        }
        let with_duplicates: u64 = (0..l.len())
            .filter(|&i| l.status[i] == LineStatus::Valid)
            .map(|i| tokens.line(i))
            .sum();
        let mut duplicate_bytes = 0;
        let mut sampling_duplicates = 0;
        for (i, &u) in of_line.iter().enumerate() {
            if u != NOT_SENT && reps[u as usize] != i {
                duplicate_bytes += l.len[i] as u64 + 1;
                if l.samples[reps[u as usize]] {
                    sampling_duplicates += 1;
                }
            }
        }
        Figures {
            total_prompt,
            per_request,
            with_duplicates,
            duplicate_bytes,
            sampling_duplicates,
        }
    }
}

/// The cache bound and the simulation of each order (input, prefix, primed, in that order).
fn simulate(
    facts: &ModelFacts,
    analysis: &Analysis,
    rows: &[SimRow<'_>],
    sim_cfg: &SimConfig,
    orders: &Orders,
    total_prompt: u64,
) -> (u64, Vec<SimSummary>) {
    let sim = |shards: &[Vec<u32>]| -> SimReport {
        shards
            .par_iter()
            .map(|shard| analysis.simulate(rows, shard, sim_cfg))
            .reduce(SimReport::default, |a, b| SimReport {
                prompt_tokens: a.prompt_tokens + b.prompt_tokens,
                cached_tokens: a.cached_tokens + b.cached_tokens,
                bound_tokens: a.bound_tokens + b.bound_tokens,
                rows: a.rows + b.rows,
                rows_with_hits: a.rows_with_hits + b.rows_with_hits,
            })
    };
    let (input, (prefix, primed)) = rayon::join(
        || sim(&orders.input_shards),
        || rayon::join(|| sim(&orders.trie_shards), || sim(&orders.primed_shards)),
    );
    let bound = if facts.implicit_cache_in_batch {
        analysis.bound()
    } else {
        0
    };
    let summary = |order: Order, r: SimReport| SimSummary {
        order,
        cached_tokens: r.cached_tokens,
        cached_share: ratio(r.cached_tokens, total_prompt),
        of_bound: ratio(r.cached_tokens, bound),
    };
    (
        bound,
        vec![
            summary(Order::Input, input),
            summary(Order::Prefix, prefix),
            summary(Order::Primed, primed),
        ],
    )
}

/// The report's ten families of the trie order, the cacheable ones first, by the tokens they can
/// have cached (`rank_families`).
fn top_families(
    opts: &PrepareOptions,
    facts: &ModelFacts,
    s: &Scanned,
    reps: &[usize],
    rows: &[SimRow<'_>],
    orders: &Orders,
    sim_cfg: &SimConfig,
) -> Vec<FamilyReport> {
    let min_cache = facts.min_cache_tokens;
    let cached_saving_per_m = (facts.price.input * opts.validate.models.batch_discount
        - facts.price.cached_input)
        .max(0.0);
    let mut fams = orders.families(rows, 1);
    crate::plan::cache::rank_families(&mut fams, min_cache, 10);
    fams.iter()
        .map(|f| {
            let (file, line) = s.file_line(reps[orders.trie_ids[f.start] as usize]);
            let cached_tokens = f.cached_tokens(sim_cfg.min_cache_tokens);
            FamilyReport {
                prefix_tokens: f.prefix_tokens,
                requests: f.len as u64,
                cacheable: f.prefix_tokens >= min_cache,
                cached_tokens,
                saving_usd: cached_tokens as f64 / 1e6 * cached_saving_per_m,
                example: format!("{}:{}", s.names[file as usize], line),
            }
        })
        .collect()
}

/// The outermost cacheable families of the trie order (nested ones start at or after their
/// parent's start and end within it), members in send order, for collect's measurement.
fn outermost_families(
    orders: &Orders,
    rows: &[SimRow<'_>],
    positions: &[(u32, u32)],
    min_cache: u64,
) -> Vec<crate::run::families::CacheFamily> {
    let trie_ids = &orders.trie_ids;
    let fams = orders.families(rows, min_cache);
    let mut out = Vec::new();
    let mut end = 0;
    for f in fams {
        if f.start >= end && f.len >= 2 {
            end = f.start + f.len;
            let mut members = trie_ids[f.start..end].to_vec();
            members.sort_by_key(|&u| positions[u as usize]);
            out.push(crate::run::families::CacheFamily {
                prefix_tokens: f.prefix_tokens,
                members,
            });
        }
    }
    out
}

/// Input cost three ways: online without dedup, batch, and batch with the chosen order's cached
/// tokens at the cache price.
fn cost_report(
    opts: &PrepareOptions,
    facts: &ModelFacts,
    s: &Scanned,
    figures: &Figures,
    cached_tokens: u64,
) -> CostReport {
    let price = &facts.price;
    let per_m = |t: u64, p: f64| t as f64 / 1e6 * p;
    let discount = opts.validate.models.batch_discount;
    CostReport {
        model: opts.validate.model.clone(),
        prices_as_of: opts.validate.models.as_of.clone(),
        online_no_dedup: per_m(figures.with_duplicates, price.input),
        batch: per_m(figures.total_prompt, price.input) * discount,
        batch_with_cache: per_m(figures.total_prompt - cached_tokens, price.input) * discount
            + per_m(cached_tokens, price.cached_input),
        note: format!(
            "input tokens only (output depends on the answers); cached tokens at the cache price, which does not stack with the batch discount; tokens: {}{}",
            s.tokens.counter,
            if s.tokens.exact { "" } else { " (estimate)" }
        ),
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}
