//! The stages of `collect`, in prediction-row bytes per second.
//!
//! - `collect/parse_row`: one thread reading prediction rows ([`parse_row`]: members by name,
//!   the status, the response's usage), over every row of the generated predictions.
//! - `collect/collect`: [`collect`] end to end (all threads): rows read and matched by key, the
//!   winners picked, the merged output written in input order, the report; no retry round.
//!
//! Data: the short corpus (seed 1, as `benches/throughput.sh` and `benches/collect.sh`) of
//! `BATCHLINE_BENCH_MB` megabytes (default 38, which makes ~50 MB of rows), prepared
//! (`--tokens off`) into a temporary run, and `gen-predictions` (seed 1, 2% failed rows) over it.
//! `cargo bench --bench collect`.

mod common;

use std::hint::black_box;
use std::path::Path;

use batchline::cli::args::GenPredictionsArgs;
use batchline::collect::row::parse_row;
use batchline::collect::{collect, CollectOptions};
use batchline::corpus::Shape;
use batchline::models::ModelTable;
use batchline::plan::tokens::TokensMode;
use batchline::prepare::{prepare, PrepareOptions};
use batchline::store::{CloudConfig, Location};
use batchline::validate::ValidateOptions;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use common::{Corpus, FLAT};

/// The join-key member `prepare` splices in by default.
const KEY: &str = "batchline_key";

fn corpus_bytes() -> u64 {
    match std::env::var("BATCHLINE_BENCH_MB") {
        Ok(s) => {
            let mb: u64 = s
                .split(',')
                .next()
                .and_then(|m| m.trim().parse().ok())
                .unwrap_or_else(|| panic!("BATCHLINE_BENCH_MB: `{s}` is not a whole number"));
            mb * 1_000_000
        }
        Err(_) => 38_000_000,
    }
}

/// Prepares `corpus` into `dir/run` and generates its predictions into `dir/pred`.
fn make_run(corpus: &Corpus, dir: &Path) {
    let input = dir.join("input.jsonl");
    std::fs::write(&input, &corpus.data).expect("write the corpus");
    let opts = PrepareOptions {
        validate: ValidateOptions {
            inputs: vec![input.as_path().into()],
            ..ValidateOptions::default()
        },
        run: Location::local(dir.join("run")),
        tokens: Some(TokensMode::Off),
        ..PrepareOptions::default()
    };
    prepare(&opts).expect("prepare");
    batchline::cli::cmd::gen_predictions::run(GenPredictionsArgs {
        run: dir.join("run"),
        output: dir.join("pred"),
        seed: 1,
        fail_share: 0.02,
        rows_per_file: 100_000,
    })
    .expect("gen-predictions");
}

fn bench_collect(c: &mut Criterion) {
    let corpus = Corpus::new(Shape::Short, corpus_bytes());
    let tmp = tempfile::tempdir().expect("temporary directory");
    make_run(&corpus, tmp.path());
    let pred = tmp.path().join("pred");
    let mut files: Vec<_> = std::fs::read_dir(&pred)
        .expect("the predictions folder")
        .map(|e| e.expect("a folder entry").path())
        .collect();
    files.sort();
    let rows: Vec<u8> = files
        .iter()
        .flat_map(|f| std::fs::read(f).expect("a predictions file"))
        .collect();
    let lines: Vec<&[u8]> = rows
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let id = format!("short/{}", common::label(rows.len() as u64));
    eprintln!(
        "predictions: {} rows, {} bytes in {} files; rayon threads: {}",
        lines.len(),
        rows.len(),
        files.len(),
        rayon::current_num_threads()
    );

    let mut group = c.benchmark_group("collect");
    group.sampling_mode(FLAT);
    group.throughput(Throughput::Bytes(rows.len() as u64));
    group.bench_with_input(BenchmarkId::new("parse_row", &id), &lines, |b, lines| {
        b.iter(|| {
            let mut ok = 0usize;
            for l in lines.iter() {
                if parse_row(l, Some(KEY)).is_ok() {
                    ok += 1;
                }
            }
            black_box(ok)
        })
    });
    let opts = CollectOptions {
        run: Location::local(tmp.path().join("run")),
        cloud: CloudConfig::default(),
        output: Some(Location::local(tmp.path().join("out.jsonl"))),
        predictions: vec![pred.to_string_lossy().into_owned()],
        include_request: false,
        text: false,
        retry_round: false,
        // As for a job's own rows (matched by key alone); the verified form is measured below.
        trust_keys: true,
        spill_dir: Some(tmp.path().to_path_buf()),
        models: ModelTable::builtin(),
        progress: None,
    };
    group.bench_with_input(BenchmarkId::new("collect", &id), &opts, |b, opts| {
        b.iter(|| black_box(collect(opts).expect("collect")))
    });
    let verified = CollectOptions {
        trust_keys: false,
        ..opts
    };
    group.bench_with_input(
        BenchmarkId::new("collect_keys_verified", &id),
        &verified,
        |b, opts| b.iter(|| black_box(collect(opts).expect("collect"))),
    );
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = bench_collect
}
criterion_main!(benches);
