//! Validate throughput (input bytes per second) on generated corpora of both shapes.
//!
//! - `validate/lines`: the floor — newline-aligned chunks (`split_chunks`) and memchr line
//!   iteration over them, in parallel on all threads, touching every byte but parsing nothing.
//! - `validate/parse_1thread`: simd-json alone per line on one thread, into reused buffers the way
//!   `LineChecker` parses (copy into a padded scratch, `fill_tape_padded`): the floor of the next.
//! - `validate/check_1thread`: `LineChecker::check` per line on one thread (copy into the
//!   padded scratch, simd-json parse, schema walk, whole-job bookkeeping).
//! - `validate/validate_bytes`: the library's whole per-file validate on all threads (chunks in
//!   parallel, findings placed, job findings folded), as `batchline validate` runs it minus I/O.
//!
//! `cargo bench --bench validate`; `BATCHLINE_BENCH_MB=8` for a quick run. See docs/BENCHMARKS.md.

mod common;

use std::hint::black_box;

use batchline::input::{split_chunks, ChunkConfig, LineIter};
use batchline::request::walk::{LineChecker, RequestLimits};
use batchline::validate::{validate_bytes, ValidateOptions};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rayon::prelude::*;
use simd_json::tape::Tape;

use common::{corpora, FLAT};

/// The limits `validate` applies for its default model.
fn limits(opts: &ValidateOptions) -> RequestLimits {
    opts.request_limits().expect("default model is built in")
}

fn bench_validate(c: &mut Criterion) {
    let corpora = corpora();
    let opts = ValidateOptions::default();
    let limits = limits(&opts);
    let chunk = ChunkConfig::default().target_bytes;
    eprintln!("rayon threads: {}", rayon::current_num_threads());

    let mut group = c.benchmark_group("validate");
    group.sampling_mode(FLAT);
    for corpus in &corpora {
        let data = corpus.data.as_slice();
        group.throughput(Throughput::Bytes(data.len() as u64));

        group.bench_with_input(BenchmarkId::new("lines", corpus.id()), data, |b, data| {
            b.iter(|| {
                let lines: usize = split_chunks(data, chunk)
                    .into_par_iter()
                    .map(|range| LineIter::new(data, range).count())
                    .sum();
                black_box(lines)
            })
        });

        let lines = corpus.lines();
        group.bench_with_input(
            BenchmarkId::new("parse_1thread", corpus.id()),
            &lines,
            |b, lines| {
                let mut scratch = Vec::new();
                let mut buffers = simd_json::Buffers::default();
                let mut tape = Some(Tape::null());
                b.iter(|| {
                    let mut nodes = 0usize;
                    for line in lines {
                        scratch.clear();
                        scratch.extend_from_slice(line);
                        scratch.resize(line.len() + simd_json::INPUT_PADDING, b' ');
                        let mut t: Tape<'_> = tape.take().unwrap_or_else(Tape::null).reset();
                        simd_json::fill_tape_padded(&mut scratch, line.len(), &mut buffers, &mut t)
                            .expect("generated lines parse");
                        nodes += t.0.len();
                        tape = Some(t.reset());
                    }
                    black_box(nodes)
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("check_1thread", corpus.id()),
            &lines,
            |b, lines| {
                let mut checker = LineChecker::new();
                checker.limits = Some(limits);
                b.iter(|| {
                    let mut offset = 0u64;
                    let mut findings = 0usize;
                    for (i, line) in lines.iter().enumerate() {
                        black_box(checker.check(line, i as u64, offset));
                        findings += checker.findings.items.len();
                        offset += line.len() as u64 + 1;
                    }
                    // A chunk's job statistics are taken once per chunk; here the whole corpus
                    // is one chunk.
                    black_box(checker.take_job());
                    findings
                })
            },
        );

        group.bench_with_input(
            BenchmarkId::new("validate_bytes", corpus.id()),
            data,
            |b, data| {
                b.iter(|| {
                    let (report, diagnostics) = validate_bytes("bench.jsonl", data, &opts, limits);
                    assert_eq!(report.lines, corpus.lines);
                    black_box(diagnostics)
                })
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = bench_validate
}
criterion_main!(benches);
