//! `batchline gen-corpus` (hidden): writes a seeded synthetic corpus for benchmarks and tests.

use std::io::BufWriter;

use crate::cli::args::GenCorpusArgs;
use crate::cli::exit::ExitStatus;
use crate::corpus::{generate, CorpusOptions, Shape};
use crate::error::{Error, Result};
use crate::run::atomic::AtomicFile;

/// Parses `10MB`, `1GB`, `512KiB`, `4096`.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((n * mult) as u64)
}

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
        BufWriter::with_capacity(1 << 20, file.writer()),
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

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("10MB"), Some(10_000_000));
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("1.5gb"), Some(1_500_000_000));
        assert_eq!(parse_size("x"), None);
    }
}
