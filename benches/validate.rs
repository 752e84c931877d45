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
//! - `hostile_members/<shape>/<members>`: one line whose one object (or array) has 10k or 100k
//!   members, validated whole (`validate_bytes`, findings placed), for each size-adversarial shape
//!   (the ones `tests/it/hardening.rs` checks at 20k):
//!   a repeated field, distinct map keys, top-level members, function declarations, parts that
//!   each carry a finding, unknown fields. Time per MB must not grow from 10k to 100k (it grew
//!   tenfold and more when these were quadratic).
//!
//! `cargo bench --bench validate`; `BATCHLINE_BENCH_MB=8` for a quick run;
//! `cargo bench --bench validate -- hostile_members` for the hostile shapes alone. See
//! docs/BENCHMARKS.md.

mod common;

use std::hint::black_box;

use batchline::input::{split_chunks, ChunkConfig, LineIter};
use batchline::request::line::{LineChecker, RequestLimits};
use batchline::scan::{validate_bytes, ValidateOptions};
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

/// One line of `shape` with `n` members, as built by the size-adversarial tests of
/// `tests/it/hardening.rs`.
fn hostile_line(shape: &str, n: usize) -> Vec<u8> {
    let contents = r#""contents":[{"role":"user","parts":[{"text":"hi"}]}]"#;
    let join = |item: &dyn Fn(usize) -> String| (0..n).map(item).collect::<Vec<_>>().join(",");
    let line = match shape {
        "repeated_field" => format!(
            r#"{{"request":{{{contents},"generationConfig":{{{}}}}}}}"#,
            join(&|_| r#""temperature":0.5"#.to_string())
        ),
        "map_keys" => format!(
            r#"{{"request":{{{contents},"labels":{{{}}}}}}}"#,
            join(&|i| format!(r#""k{i}":"v""#))
        ),
        "top_level" => format!(
            r#"{{"request":{{{contents}}},{}}}"#,
            join(&|i| format!(r#""x{i}":1"#))
        ),
        "function_declarations" => format!(
            r#"{{"request":{{{contents},"tools":[{{"functionDeclarations":[{}]}}]}}}}"#,
            join(&|i| format!(r#"{{"name":"f{i}"}}"#))
        ),
        "parts_with_findings" => format!(
            r#"{{"request":{{"contents":[{{"role":"user","parts":[{}]}}]}}}}"#,
            join(&|i| format!(r#"{{"text":"t{i}","bogus":{i}}}"#))
        ),
        "unknown_fields" => format!(
            r#"{{"request":{{{contents},{}}}}}"#,
            join(&|i| format!(r#""u{i}":1"#))
        ),
        _ => unreachable!("a shape listed in bench_hostile"),
    };
    let mut bytes = line.into_bytes();
    bytes.push(b'\n');
    bytes
}

fn bench_hostile(c: &mut Criterion) {
    let opts = ValidateOptions {
        // Every finding is placed (located in its line), as `--max-errors 0` does.
        max_kept: 0,
        ..ValidateOptions::default()
    };
    let limits = limits(&opts);
    let mut group = c.benchmark_group("hostile_members");
    group.sampling_mode(FLAT);
    group.sample_size(10);
    for shape in [
        "repeated_field",
        "map_keys",
        "top_level",
        "function_declarations",
        "parts_with_findings",
        "unknown_fields",
    ] {
        for n in [10_000, 100_000] {
            let data = hostile_line(shape, n);
            group.throughput(Throughput::Bytes(data.len() as u64));
            group.bench_with_input(BenchmarkId::new(shape, n), &data, |b, data| {
                b.iter(|| {
                    let (report, diagnostics) = validate_bytes("bench.jsonl", data, &opts, limits);
                    assert_eq!(report.lines, 1);
                    black_box(diagnostics)
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = bench_validate, bench_hostile
}
criterion_main!(benches);
