//! `jsonschema-validate SCHEMA.json FILE [--threads N] [--explain N]`
//!
//! The JSON-Schema baseline of batchline's `validate` (docs/BENCHMARKS.md): the file is mapped,
//! split into lines (blank lines skipped), and each line is parsed with serde_json and checked
//! against SCHEMA with the `jsonschema` crate's `is_valid`, on a rayon pool of N threads (default
//! 2). Prints one JSON line: lines, valid, invalid, unparsable, seconds (mapping to the last line,
//! schema compilation excluded), mb_per_s (MB = 10^6 bytes of the file).
//!
//! `--explain N` prints, on stderr, the errors of the first N invalid or unparsable lines (line
//! number, instance path, message): a debugging aid for the schema conversion.

use std::fs::File;
use std::process::ExitCode;
use std::time::Instant;

use rayon::prelude::*;
use serde_json::Value;

fn usage() -> ExitCode {
    eprintln!("usage: jsonschema-validate SCHEMA.json FILE [--threads N] [--explain N]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut positional = Vec::new();
    let mut threads = 2usize;
    let mut explain = 0usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let number = |v: Option<String>| v.and_then(|v| v.parse::<usize>().ok());
        match arg.as_str() {
            "--threads" | "-j" => match number(args.next()) {
                Some(n) => threads = n,
                None => return usage(),
            },
            "--explain" => match number(args.next()) {
                Some(n) => explain = n,
                None => return usage(),
            },
            _ if arg.starts_with('-') => return usage(),
            _ => positional.push(arg),
        }
    }
    let [schema_path, file_path] = positional.as_slice() else {
        return usage();
    };

    let schema: Value = match std::fs::read(schema_path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{schema_path}: {e}");
            return ExitCode::from(2);
        }
    };
    let validator = match jsonschema::validator_for(&schema) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{schema_path}: invalid schema: {e}");
            return ExitCode::from(2);
        }
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");

    let start = Instant::now();
    let file = match File::open(file_path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{file_path}: {e}");
            return ExitCode::from(2);
        }
    };
    // Safety: the benchmark's corpora are not modified while they are read.
    let map = match unsafe { memmap2::Mmap::map(&file) } {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{file_path}: {e}");
            return ExitCode::from(2);
        }
    };
    let bytes: &[u8] = &map;
    let is_blank = |l: &[u8]| l.iter().all(|b| b.is_ascii_whitespace());
    // (valid, invalid, unparsable)
    let (valid, invalid, unparsable) = pool.install(|| {
        bytes
            .par_split(|&b| b == b'\n')
            .filter(|l| !is_blank(l))
            .map(|line| match serde_json::from_slice::<Value>(line) {
                Ok(value) if validator.is_valid(&value) => (1u64, 0u64, 0u64),
                Ok(_) => (0, 1, 0),
                Err(_) => (0, 0, 1),
            })
            .reduce(|| (0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2))
    });
    let seconds = start.elapsed().as_secs_f64();

    if explain > 0 && invalid + unparsable > 0 {
        let mut shown = 0;
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if shown == explain {
                break;
            }
            if is_blank(line) {
                continue;
            }
            match serde_json::from_slice::<Value>(line) {
                Err(e) => {
                    eprintln!("line {}: unparsable: {e}", i + 1);
                    shown += 1;
                }
                Ok(value) if !validator.is_valid(&value) => {
                    for err in validator.iter_errors(&value).take(5) {
                        eprintln!(
                            "line {}: at {:?}: {err}",
                            i + 1,
                            err.instance_path().to_string()
                        );
                    }
                    shown += 1;
                }
                Ok(_) => {}
            }
        }
    }

    let lines = valid + invalid + unparsable;
    let mb_per_s = bytes.len() as f64 / 1e6 / seconds;
    println!(
        "{{\"lines\":{lines},\"valid\":{valid},\"invalid\":{invalid},\"unparsable\":{unparsable},\"seconds\":{seconds:.4},\"mb_per_s\":{mb_per_s:.1}}}"
    );
    ExitCode::SUCCESS
}
