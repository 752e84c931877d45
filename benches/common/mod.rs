//! Shared set-up of the criterion benches: seeded corpora generated once in memory, their lines,
//! and the criterion settings that keep `cargo bench` within a few minutes on 2 cores.
//!
//! Sizes default to 8 MB and 64 MB; `BATCHLINE_BENCH_MB=8` (comma-separated megabytes) overrides
//! them, e.g. for a quick run. Seeds are fixed (the same as `benches/throughput.sh`), so numbers
//! from different runs describe the same bytes.

#![allow(dead_code)] // each bench binary uses a different part of this module

use std::time::Duration;

use batchline::corpus::{generate_vec, CorpusOptions, Shape};
use batchline::input::{split_chunks, LineIter};
use criterion::{Criterion, SamplingMode};

/// Seed of each shape's corpus (the same as `benches/throughput.sh`).
pub fn seed(shape: Shape) -> u64 {
    match shape {
        Shape::Short => 1,
        Shape::Long => 2,
    }
}

/// Both shapes, short first.
pub const SHAPES: [Shape; 2] = [Shape::Short, Shape::Long];

/// Corpus sizes in bytes: `BATCHLINE_BENCH_MB` (comma-separated MB), else 8 MB and 64 MB.
pub fn sizes() -> Vec<u64> {
    match std::env::var("BATCHLINE_BENCH_MB") {
        Ok(list) => list
            .split(',')
            .map(|s| {
                let mb: u64 = s.trim().parse().unwrap_or_else(|_| {
                    panic!("BATCHLINE_BENCH_MB: `{s}` is not a whole number of megabytes")
                });
                mb * 1_000_000
            })
            .collect(),
        Err(_) => vec![8_000_000, 64_000_000],
    }
}

/// One generated corpus.
pub struct Corpus {
    /// `short` or `long`.
    pub shape: Shape,
    /// The JSONL bytes (every line ends with `\n`).
    pub data: Vec<u8>,
    /// Lines in `data`.
    pub lines: u64,
}

impl Corpus {
    /// Generates the corpus of `shape` with at least `bytes` bytes (overshoots by under a line).
    pub fn new(shape: Shape, bytes: u64) -> Corpus {
        let started = std::time::Instant::now();
        let (data, report) = generate_vec(&CorpusOptions {
            seed: seed(shape),
            shape,
            target_bytes: bytes,
        });
        eprintln!(
            "corpus {shape}/{}: {} lines, {} bytes, {} duplicates (generated in {:.1} s)",
            label(bytes),
            report.lines,
            report.bytes,
            report.duplicates(),
            started.elapsed().as_secs_f64()
        );
        Corpus {
            shape,
            data,
            lines: report.lines,
        }
    }

    /// The benchmark id parameter: `short/8MB`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.shape, label(self.data.len() as u64))
    }

    /// The lines without their `\n`, in order.
    pub fn lines(&self) -> Vec<&[u8]> {
        let mut out = Vec::with_capacity(self.lines as usize);
        for range in split_chunks(&self.data, 16 << 20) {
            out.extend(LineIter::new(&self.data, range).map(|l| l.bytes));
        }
        out
    }
}

/// Every corpus the benches run on: each shape at each size, in that order.
pub fn corpora() -> Vec<Corpus> {
    let sizes = sizes();
    SHAPES
        .iter()
        .flat_map(|&shape| sizes.iter().map(move |&bytes| Corpus::new(shape, bytes)))
        .collect()
}

/// `8MB`, `64MB` (decimal megabytes, rounded).
pub fn label(bytes: u64) -> String {
    format!("{}MB", (bytes + 500_000) / 1_000_000)
}

/// Criterion settings for benches whose iterations take up to a few hundred milliseconds:
/// 10 samples of equal iteration counts, 1 s warm-up, 3 s measurement.
pub fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

/// Flat sampling: every sample runs the same number of iterations (criterion's linear default
/// would need 55 iterations for 10 samples, too many for a 64 MB single-threaded pass).
pub const FLAT: SamplingMode = SamplingMode::Flat;
