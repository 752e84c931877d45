//! `batchline gen-corpus` (hidden): writes a seeded synthetic corpus for benchmarks and tests.

use crate::cli::args::GenCorpusArgs;
use crate::cli::exit::ExitStatus;
use crate::cli::size::parse_size;
use crate::corpus::{generate, CorpusOptions, Shape};
use crate::error::{Error, Result};
use crate::store::atomic::AtomicFile;

/// Runs `gen-corpus`.
pub fn run(args: GenCorpusArgs) -> Result<ExitStatus> {
    let shape: Shape = args
        .shape
        .parse()
        .map_err(|_| Error::Usage(format!("unknown shape `{}`: use short or long", args.shape)))?;
    let target_bytes = parse_size(&args.size).ok_or_else(|| {
        Error::Usage(format!(
            "cannot read size `{}`: use e.g. 100MB or 1GB",
            args.size
        ))
    })?;
    let file = AtomicFile::create(&args.output)?;
    let report = generate(
        &CorpusOptions {
            seed: args.seed,
            shape,
            target_bytes,
        },
        file.writer(),
    )
    .map_err(|e| Error::io(&args.output, e))?;
    file.commit()?;
    eprintln!(
        "wrote {}: {} lines, {} bytes, {} exact and {} re-serialised duplicates",
        args.output.display(),
        report.lines,
        report.bytes,
        report.exact_duplicates,
        report.reserialized_duplicates
    );
    Ok(ExitStatus::Ok)
}
