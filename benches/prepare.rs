//! The stages of `prepare` and `stats`, each reported in input bytes per second, so every stage
//! reads directly as its share of the budget `prepare --tokens off` must meet: 1 s per GB
//! (docs/BENCHMARKS.md).
//!
//! Per-line stages (one thread, on lines parsed beforehand):
//! - `prepare/canonical_hash`: the dedup identity of each `request` (`canonical_hash`).
//! - `prepare/prompt_chain`: the prompt stream and its chain-hashed prefix key
//!   (`prompt_stream` + `chain_hashes`, default 1 KiB blocks).
//!
//! Whole-file stages (all threads):
//! - `prepare/scan`: prepare's single pass: validate every line and gather its record
//!   (`scan_bytes` with `PlanVisitor`: parse, walk, hash, prompt key).
//! - `prepare/dedup`: group the lines' hashes (`dedup`).
//! - `prepare/trie_order`: sort the unique requests by prompt key (`trie_order`).
//! - `prepare/prime`: move each family's first members ahead of it (`prime`, default gaps).
//! - `prepare/simulate`: the cache model over the primed order (`simulate`, W = 256, TTL 5).
//! - `prepare/shard`: adjacent shared prefixes (LCP) and the cut (`cut`), with the byte limit
//!   set to a quarter of the corpus so that there is something to cut.
//! - `prepare/stats`: `stats --tokens off` on the corpus written to a temporary file (mapped, as the CLI does).
//! - `prepare/prepare`: `prepare --tokens off` of that file into a fresh run folder (shards, index, manifest).
//!
//! The planning inputs (hashes, prompt keys, rows) are those `prepare` computes for the corpus,
//! built with the library's own scan. `cargo bench --bench prepare`; `BATCHLINE_BENCH_MB=8` for a
//! quick run. See docs/BENCHMARKS.md.

mod common;

use std::hint::black_box;
use std::path::Path;

use batchline::plan::cache::{simulate, SimConfig, SimRow};
use batchline::plan::dedup::dedup;
use batchline::plan::order::{prime, trie_order, DEFAULT_PRIME_GAPS};
use batchline::plan::records::{LineStatus, PlanVisitor, PromptBlocks};
use batchline::plan::shard::{cut, ShardLimits};
use batchline::plan::tokens::TokensMode;
use batchline::prepare::{
    prepare, stats, PrepareOptions, BYTES_PER_TOKEN_OFF, BYTES_PER_TOKEN_PREFIX_OFF,
};
use batchline::request::canon::{canonical_hash, CanonScratch};
use batchline::request::line::RequestLimits;
use batchline::request::prompt::{
    chain_hashes, prompt_stream, PromptScratch, DEFAULT_BLOCK_BYTES, DEFAULT_MAX_BLOCKS,
};
use batchline::request::value::JsonRef;
use batchline::scan::{scan_bytes, ValidateOptions};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};

use common::{corpora, Corpus, FLAT};

const KEY: PromptBlocks = PromptBlocks {
    block_bytes: DEFAULT_BLOCK_BYTES,
    max_blocks: DEFAULT_MAX_BLOCKS,
};

/// The limits `validate` applies for its default model.
fn limits(opts: &ValidateOptions) -> RequestLimits {
    opts.request_limits().expect("default model is built in")
}

/// What the planning stages take, computed as `prepare` computes it (`--tokens off`).
struct Planned {
    /// Per line: the canonical hash (0 for a line that is not sent).
    hashes: Vec<u128>,
    /// Per line: whether it is sent.
    sent: Vec<bool>,
    /// Per unique request (first occurrences, input order): its chain hashes.
    blocks: Vec<Vec<u64>>,
    /// Per unique request: cumulative prompt tokens at the end of each block (bytes / 6, as
    /// `--tokens off` judges prefixes).
    cum_tokens: Vec<Vec<u32>>,
    /// Per unique request: prompt tokens.
    prompt_tokens: Vec<u64>,
    /// Per unique request: its shard line size (line plus newline).
    sizes: Vec<u64>,
}

impl Planned {
    fn new(corpus: &Corpus) -> Planned {
        let opts = ValidateOptions::default();
        let scan = scan_bytes("bench.jsonl", &corpus.data, &opts, limits(&opts), || {
            PlanVisitor::new(KEY, None)
        });
        let mut hashes = Vec::new();
        let mut sent = Vec::new();
        let mut records = Vec::new();
        for (_, visitor) in &scan.chunks {
            let recs = &visitor.recs;
            for i in 0..recs.len() {
                sent.push(recs.status[i] == LineStatus::Valid);
                hashes.push(recs.hash[i]);
                records.push((
                    recs.blocks_of(i).to_vec(),
                    recs.prompt_bytes[i] as u64,
                    recs.len[i] as u64 + 1,
                ));
            }
        }
        let (_, reps) = dedup(&hashes, |i| sent[i], false);
        let tokens = |bytes: u64| bytes.div_ceil(BYTES_PER_TOKEN_OFF);
        let mut planned = Planned {
            hashes,
            sent,
            blocks: Vec::with_capacity(reps.len()),
            cum_tokens: Vec::with_capacity(reps.len()),
            prompt_tokens: Vec::with_capacity(reps.len()),
            sizes: Vec::with_capacity(reps.len()),
        };
        for &r in &reps {
            let (blocks, prompt_bytes, size) = &records[r];
            let block = KEY.block_bytes as u64;
            let cum = (0..blocks.len() as u64)
                .map(|b| (((b + 1) * block).min(*prompt_bytes) / BYTES_PER_TOKEN_PREFIX_OFF) as u32)
                .collect();
            planned.blocks.push(blocks.clone());
            planned.cum_tokens.push(cum);
            planned.prompt_tokens.push(tokens(*prompt_bytes));
            planned.sizes.push(*size);
        }
        eprintln!(
            "plan {}: {} lines, {} sent, {} unique",
            corpus.id(),
            planned.hashes.len(),
            planned.sent.iter().filter(|&&s| s).count(),
            reps.len()
        );
        planned
    }

    /// Rows in input order (unique id = index).
    fn rows(&self) -> Vec<SimRow<'_>> {
        (0..self.blocks.len())
            .map(|u| SimRow {
                blocks: &self.blocks[u],
                cum_tokens: &self.cum_tokens[u],
                prompt_tokens: self.prompt_tokens[u],
            })
            .collect()
    }
}

/// Owned copies of the lines (simd-json parses in place, and the tapes borrow them).
fn owned(lines: &[&[u8]]) -> Vec<Vec<u8>> {
    lines.iter().map(|l| l.to_vec()).collect()
}

fn lcp(rows: &[SimRow<'_>], order: &[usize]) -> Vec<u32> {
    let mut out = vec![0u32; order.len()];
    for i in 1..order.len() {
        let (a, b) = (rows[order[i - 1]].blocks, rows[order[i]].blocks);
        out[i] = a.iter().zip(b).take_while(|(x, y)| x == y).count() as u32;
    }
    out
}

fn bench_prepare(c: &mut Criterion) {
    let corpora = corpora();
    let opts = ValidateOptions::default();
    let facts = opts.models.get(&opts.model).expect("default model").clone();
    let min_cache = facts.min_cache_tokens;
    let tmp = tempfile::tempdir().expect("temporary directory");
    eprintln!("rayon threads: {}", rayon::current_num_threads());

    let mut group = c.benchmark_group("prepare");
    group.sampling_mode(FLAT);
    for corpus in &corpora {
        let id = corpus.id();
        let bytes = corpus.data.len() as u64;
        group.throughput(Throughput::Bytes(bytes));

        // Per-line stages on lines parsed beforehand.
        let lines = corpus.lines();
        let mut buffers = owned(&lines);
        let tapes: Vec<simd_json::tape::Tape<'_>> = buffers
            .iter_mut()
            .map(|b| simd_json::to_tape(b).expect("generated lines parse"))
            .collect();
        let requests: Vec<JsonRef<'_, '_>> = tapes
            .iter()
            .map(|t| {
                JsonRef::root(&t.0)
                    .and_then(|root| root.get("request"))
                    .expect("generated lines have a request")
            })
            .collect();
        group.bench_with_input(
            BenchmarkId::new("canonical_hash", &id),
            &requests,
            |b, requests| {
                let mut scratch = CanonScratch::default();
                b.iter(|| {
                    let mut acc = 0u128;
                    for r in requests {
                        acc ^= canonical_hash(*r, &mut scratch);
                    }
                    black_box(acc)
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("prompt_chain", &id),
            &requests,
            |b, requests| {
                let mut scratch = PromptScratch::default();
                let mut blocks = Vec::new();
                b.iter(|| {
                    let mut total = 0u64;
                    for r in requests {
                        let stream = prompt_stream(*r, &mut scratch);
                        total += chain_hashes(stream, KEY.block_bytes, KEY.max_blocks, &mut blocks);
                    }
                    black_box(total)
                })
            },
        );
        drop(requests);
        drop(tapes);
        drop(buffers);
        drop(lines);

        group.bench_with_input(BenchmarkId::new("scan", &id), &corpus.data, |b, data| {
            let limits = limits(&opts);
            b.iter(|| {
                let scan = scan_bytes("bench.jsonl", data, &opts, limits, || {
                    PlanVisitor::new(KEY, None)
                });
                black_box(scan.chunks.len())
            })
        });

        // Planning stages on the records prepare gathers.
        let planned = Planned::new(corpus);
        let rows = planned.rows();
        group.bench_with_input(BenchmarkId::new("dedup", &id), &planned.hashes, |b, h| {
            b.iter(|| black_box(dedup(h, |i| planned.sent[i], false)))
        });

        let input_ids: Vec<u32> = (0..rows.len() as u32).collect();
        // Ids follow first input lines: the trie order's tie-break.
        let key = |u: u32| rows[u as usize].blocks;
        group.bench_with_input(BenchmarkId::new("trie_order", &id), &input_ids, |b, ids| {
            b.iter_batched_ref(
                || ids.clone(),
                |ids| trie_order(ids, key),
                BatchSize::LargeInput,
            )
        });
        let mut trie_ids = input_ids.clone();
        trie_order(&mut trie_ids, key);
        let trie_rows: Vec<SimRow<'_>> = trie_ids.iter().map(|&u| rows[u as usize]).collect();

        group.bench_with_input(BenchmarkId::new("prime", &id), &trie_rows, |b, rows| {
            b.iter(|| black_box(prime(rows, min_cache, &DEFAULT_PRIME_GAPS)))
        });
        let primed = prime(&trie_rows, min_cache, &DEFAULT_PRIME_GAPS);
        let primed_rows: Vec<SimRow<'_>> = primed.iter().map(|&i| trie_rows[i]).collect();

        let sim = SimConfig {
            workers: 256,
            ttl_rounds: Some(5),
            min_cache_tokens: min_cache,
        };
        group.bench_with_input(
            BenchmarkId::new("simulate", &id),
            &primed_rows,
            |b, rows| b.iter(|| black_box(simulate(rows, &sim))),
        );
        let report = simulate(&primed_rows, &sim);
        eprintln!(
            "simulate {id}: {} of {} prompt tokens cached (bound {})",
            report.cached_tokens, report.prompt_tokens, report.bound_tokens
        );

        let shard_limits = ShardLimits {
            max_requests: 200_000,
            max_bytes: (bytes / 4).max(1),
        };
        let order: Vec<usize> = (0..trie_rows.len()).collect();
        let sizes: Vec<u64> = trie_ids
            .iter()
            .map(|&u| planned.sizes[u as usize])
            .collect();
        group.bench_with_input(BenchmarkId::new("shard", &id), &trie_rows, |b, rows| {
            b.iter(|| black_box(cut(&sizes, &lcp(rows, &order), shard_limits)))
        });
        drop(primed_rows);
        drop(trie_rows);
        drop(rows);
        drop(planned);

        // Whole stats and prepare on a file (mapped, as the CLI reads it).
        let input = tmp.path().join(format!("{}.jsonl", id.replace('/', "-")));
        std::fs::write(&input, &corpus.data).expect("write the corpus");
        let prepare_opts = PrepareOptions {
            validate: ValidateOptions {
                inputs: vec![input.as_path().into()],
                ..ValidateOptions::default()
            },
            run: batchline::store::Location::local(tmp.path().join("run")),
            tokens: Some(TokensMode::Off),
            ..PrepareOptions::default()
        };
        group.bench_with_input(BenchmarkId::new("stats", &id), &prepare_opts, |b, opts| {
            b.iter(|| black_box(stats(opts).expect("stats")))
        });
        group.bench_with_input(
            BenchmarkId::new("prepare", &id),
            &prepare_opts,
            |b, opts| {
                b.iter_batched(
                    || fresh_run(opts.run.as_local().expect("a local run")),
                    |()| black_box(prepare(opts).expect("prepare")),
                    BatchSize::PerIteration,
                )
            },
        );
        fresh_run(prepare_opts.run.as_local().expect("a local run"));
        std::fs::remove_file(&input).expect("remove the corpus file");
    }
    group.finish();
}

/// Removes the run folder left by the previous iteration (not timed).
fn fresh_run(run: &Path) {
    match std::fs::remove_dir_all(run) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("cannot remove {}: {e}", run.display()),
    }
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = bench_prepare
}
criterion_main!(benches);
