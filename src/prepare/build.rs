//! Planning: dedup, orders, priming, shards, simulations, token figures and cost.

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
    let n_unique = reps.len();
    let valid = l
        .status
        .iter()
        .filter(|&&st| st == LineStatus::Valid)
        .count() as u64;
    let invalid = l.codes.len() as u64;
    let blank = l.len() as u64 - valid - invalid;
    let key_len = |u: usize| -> u64 { super::join_key::key_member_len(&opts.join_key, u) };
    // Per line: prompt tokens (exact, sampled + extrapolated, or by bytes).
    let tpb = s
        .tally
        .tokens_per_byte()
        .unwrap_or(1.0 / BYTES_PER_TOKEN_OFF as f64);
    let line_tokens = |i: usize| -> u64 {
        match s.tokens.mode {
            TokensMode::Off => tokens_of_bytes(l.prompt_bytes[i] as u64),
            TokensMode::Exact => l.tokens[i],
            TokensMode::Sample => l.tokens[i] + (l.unsampled_bytes[i] as f64 * tpb).round() as u64,
        }
    };
    // Per unique: its blocks, cumulative tokens at block ends, prompt tokens, shard bytes.
    let block_bytes = opts.prompt_blocks.block_bytes as u64;
    let cum: Vec<u32> = if s.tokens.mode == TokensMode::Exact {
        Vec::new() // the scan's own sums, `l.cum`, parallel to `l.blocks`
    } else {
        let mut cum = vec![0u32; l.blocks.len()];
        // Representatives are in line order, so their block ranges are disjoint and increasing:
        // chunks of representatives fill disjoint pieces of `cum`, in parallel.
        let chunks: Vec<&[usize]> = reps.chunks(4096).collect();
        let span = |chunk: &[usize]| {
            l.block_range(chunk[0]).start..l.block_range(chunk[chunk.len() - 1]).end
        };
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
                let total = line_tokens(r);
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
    };
    let cum: &[u32] = if s.tokens.mode == TokensMode::Exact {
        &l.cum
    } else {
        &cum
    };
    let rows: Vec<SimRow<'_>> = reps
        .par_iter()
        .map(|&r| {
            let range = l.block_range(r);
            SimRow {
                blocks: &l.blocks[range.clone()],
                cum_tokens: &cum[range],
                prompt_tokens: line_tokens(r),
            }
        })
        .collect();
    let sizes: Vec<u64> = reps
        .par_iter()
        .enumerate()
        .map(|(u, &r)| l.len[r] as u64 + 1 + key_len(u))
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
    // Input order and trie order, their cuts and priming, side by side with the order-independent
    // analysis of all rows (one pass, serial), which serves the bound and the three simulations.
    let input_ids: Vec<u32> = (0..n_unique as u32).collect();
    let orders = || {
        let (input_shards, (trie_ids, trie_lcp, trie_cuts)) = rayon::join(
            || {
                let lcp = |i: usize| {
                    let (a, b) = (rows[i - 1].blocks, rows[i].blocks);
                    a.iter().zip(b).take_while(|(x, y)| x == y).count() as u32
                };
                let cuts = cut_by(n_unique, |i| sizes[i], lcp, opts.limits);
                let shards: Vec<Vec<u32>> =
                    cuts.into_iter().map(|r| input_ids[r].to_vec()).collect();
                shards
            },
            || {
                let mut trie_ids = input_ids.clone();
                // Ties between equal prompts go by id: by first input line (the representative's).
                let trie_lcp = trie_order_lcp(&mut trie_ids, |u| rows[u as usize].blocks);
                let trie_cuts = cut_by(
                    n_unique,
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
        (input_shards, trie_ids, trie_lcp, trie_shards, primed_shards)
    };
    // Token and duplicate figures, order-independent: beside the analysis.
    let figures = || {
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
        let with_dups: u64 = (0..l.len())
            .filter(|&i| l.status[i] == LineStatus::Valid)
            .map(line_tokens)
            .sum();
        // Duplicates.
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
        (
            total_prompt,
            per_request,
            with_dups,
            duplicate_bytes,
            sampling_duplicates,
        )
    };
    let (
        (analysis, (total_prompt, per_request, with_dups, duplicate_bytes, sampling_duplicates)),
        (input_shards, trie_ids, trie_lcp, trie_shards, primed_shards),
    ) = rayon::join(
        || rayon::join(|| Analysis::new(&rows, sim_cfg.min_cache_tokens), figures),
        orders,
    );
    watch.lap("  orders+cut+prime | analysis");
    // Families in trie order over all uniques, for the report: ten, the cacheable ones first, by
    // the tokens they can have cached (`rank_families`).
    let cached_saving_per_m = (facts.price.input * opts.validate.models.batch_discount
        - facts.price.cached_input)
        .max(0.0);
    let top_families = || -> Vec<FamilyReport> {
        let mut fams = families_by(
            trie_ids.len(),
            |i| trie_lcp[i] as usize,
            |start, depth| u64::from(rows[trie_ids[start] as usize].cum_tokens[depth - 1]),
            1,
        );
        crate::plan::cache::rank_families(&mut fams, min_cache, 10);
        fams.iter()
            .map(|f| {
                let (file, line) = s.file_line(reps[trie_ids[f.start] as usize]);
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
    };
    let simulate_all = || {
        let sim = |shards: &[Vec<u32>]| -> SimReport {
            shards
                .par_iter()
                .map(|shard| analysis.simulate(&rows, shard, &sim_cfg))
                .reduce(SimReport::default, |a, b| SimReport {
                    prompt_tokens: a.prompt_tokens + b.prompt_tokens,
                    cached_tokens: a.cached_tokens + b.cached_tokens,
                    bound_tokens: a.bound_tokens + b.bound_tokens,
                    rows: a.rows + b.rows,
                    rows_with_hits: a.rows_with_hits + b.rows_with_hits,
                })
        };
        let (input, (prefix, primed)) = rayon::join(
            || sim(&input_shards),
            || rayon::join(|| sim(&trie_shards), || sim(&primed_shards)),
        );
        let bound = if facts.implicit_cache_in_batch {
            analysis.bound()
        } else {
            0
        };
        (bound, input, prefix, primed)
    };
    let ((bound, sim_input, sim_prefix, sim_primed), families_report) =
        rayon::join(simulate_all, top_families);
    watch.lap("  simulate+bound");
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
    watch.lap("  families");
    // Tokens.
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
    let shard_reports = shards
        .iter()
        .enumerate()
        .map(|(i, shard)| ShardReport {
            name: shard_name(i),
            requests: shard.len() as u64,
            bytes: shard.iter().map(|&u| sizes[u as usize]).sum(),
        })
        .collect();
    watch.lap("  rest");
    let report = PrepareReport {
        files: s.files.clone(),
        counts: Counts {
            lines: l.len() as u64,
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
            per_request,
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
    // The outermost cacheable families of the trie order (nested ones start at or after their
    // parent's start and end within it), members in send order, for collect's measurement.
    let families = {
        let fams = families_by(
            trie_ids.len(),
            |i| trie_lcp[i] as usize,
            |start, depth| u64::from(rows[trie_ids[start] as usize].cum_tokens[depth - 1]),
            min_cache,
        );
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
    };
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

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}
