//! `batchline gen-predictions` (hidden): seeded synthetic prediction rows for a prepared local
//! run, for benchmarks and tests of `collect`.
//!
//! Every shard line gets one row in Vertex's current layout: `request` (the line's request,
//! re-serialised compactly with keys sorted at every depth), `status`, `response`,
//! `processed_time`, then the line's other top-level members as written (the join key among
//! them). A seeded share of rows fails (`status` is `Internal Server Error: {"error": …}` or
//! `Bad Request: {"error": …}`, `response` is `{}`); the others answer with
//! [`answer_text`] of the request's canonical hash and plausible `usageMetadata`. Rows come in a
//! seeded shuffled order (Vertex returns them out of order), split into
//! `predictions_00001.jsonl`, `predictions_00002.jsonl` … of `--rows-per-file` rows each.

use std::io::Write;
use std::path::Path;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::cli::args::GenPredictionsArgs;
use crate::cli::exit::ExitStatus;
use crate::emulator::rows::answer_text;
use crate::error::{Error, Result};
use crate::request::canon::canonical_hash_bytes;
use crate::run::manifest::Manifest;

/// Rows generated per parallel task.
const CHUNK: usize = 2048;

/// `processed_time` of the first row, seconds since the Unix epoch (2026-01-05T10:00:00Z).
const BASE_TIME: i64 = 1_767_607_200;

/// Runs `gen-predictions`.
pub fn run(args: GenPredictionsArgs) -> Result<ExitStatus> {
    if !(0.0..=1.0).contains(&args.fail_share) {
        return Err(Error::Usage(format!(
            "--fail-share {}: a share from 0 to 1 is needed",
            args.fail_share
        )));
    }
    if args.rows_per_file == 0 {
        return Err(Error::Usage("--rows-per-file must be at least 1".into()));
    }
    let manifest_path = args.run.join("manifest.json");
    let bytes = std::fs::read(&manifest_path).map_err(|e| Error::io(&manifest_path, e))?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| Error::BadData {
        path: manifest_path.clone(),
        message: e.to_string(),
    })?;
    let maps = manifest
        .shards
        .iter()
        .map(|s| {
            let path = args.run.join(&s.name);
            let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
            if file.metadata().map_err(|e| Error::io(&path, e))?.len() == 0 {
                return Ok(None);
            }
            // SAFETY: the run's shards are not written while this command reads them.
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(&path, e))?;
            Ok(Some((path, map)))
        })
        .collect::<Result<Vec<_>>>()?;
    // Every non-blank shard line: (shard, bytes).
    let lines: Vec<(usize, &[u8])> = maps
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.as_ref().map(|(_, map)| (i, &map[..])))
        .flat_map(|(i, data)| {
            data.split(|&b| b == b'\n')
                .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
                .map(move |l| (i, l))
        })
        .collect();
    let mut order: Vec<u32> = (0..lines.len() as u32).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(args.seed));
    std::fs::create_dir_all(&args.output).map_err(|e| Error::io(&args.output, e))?;
    let gen = Gen {
        seed: args.seed,
        fail_share: args.fail_share,
    };
    let mut written = 0u64;
    let mut failed = 0u64;
    let mut files = 0usize;
    for (f, rows) in order.chunks(args.rows_per_file).enumerate() {
        let path = args.output.join(format!("predictions_{:05}.jsonl", f + 1));
        let chunks = rows
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, chunk)| {
                let mut out = Vec::with_capacity(chunk.len() * 2048);
                let mut fails = 0u64;
                for (i, &n) in chunk.iter().enumerate() {
                    let position = (f * args.rows_per_file + c * CHUNK + i) as i64;
                    let (shard, line) = lines[n as usize];
                    let ok = gen
                        .row(n as u64, position, line, &mut out)
                        .map_err(|message| {
                            let path = maps[shard].as_ref().map(|(p, _)| p.clone());
                            Error::BadData {
                                path: path.unwrap_or_default(),
                                message,
                            }
                        })?;
                    fails += u64::from(!ok);
                }
                Ok((out, fails))
            })
            .collect::<Result<Vec<_>>>()?;
        write_file(&path, &chunks)?;
        for (out, fails) in &chunks {
            written += out.len() as u64;
            failed += fails;
        }
        files += 1;
    }
    eprintln!(
        "wrote {}: {} files, {} rows ({} failed), {} bytes",
        args.output.display(),
        files,
        lines.len(),
        failed,
        written
    );
    Ok(ExitStatus::Ok)
}

fn write_file(path: &Path, chunks: &[(Vec<u8>, u64)]) -> Result<()> {
    let mut file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    for (out, _) in chunks {
        file.write_all(out).map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

/// The row writer's settings.
struct Gen {
    seed: u64,
    fail_share: f64,
}

/// splitmix64's finaliser.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Gen {
    /// Appends the prediction row of shard line `line` (the `n`th line of the run, written at
    /// `position` in the shuffled order). True for a success, false for a failed row.
    fn row(
        &self,
        n: u64,
        position: i64,
        line: &[u8],
        out: &mut Vec<u8>,
    ) -> std::result::Result<bool, String> {
        let members =
            crate::collect::object_members(line).ok_or("a shard line is not a JSON object")?;
        let request = members
            .iter()
            .find(|(k, _)| k == "request")
            .map(|(_, v)| *v)
            .ok_or("a shard line has no request")?;
        let value: serde_json::Value =
            serde_json::from_str(request.get()).map_err(|e| e.to_string())?;
        let hash = canonical_hash_bytes(request.get().as_bytes())
            .ok_or("a shard line's request does not parse")?;
        let draw = mix(self.seed ^ mix(n));
        let fails = ((draw >> 11) as f64 / (1u64 << 53) as f64) < self.fail_share;
        let micros = BASE_TIME * 1_000_000 + position * 1_500;
        let time = chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default();
        let processed = time.to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
        out.extend_from_slice(b"{\"request\":");
        serde_json::to_writer(&mut *out, &value).map_err(|e| e.to_string())?;
        if fails {
            let status = if draw & 1 == 0 {
                r#"Internal Server Error: {"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}}"#
            } else {
                r#"Bad Request: {"error": {"code": 400, "message": "Request contains an invalid argument.", "status": "INVALID_ARGUMENT"}}"#
            };
            out.extend_from_slice(b",\"status\":");
            serde_json::to_writer(&mut *out, status).map_err(|e| e.to_string())?;
            out.extend_from_slice(b",\"response\":{}");
        } else {
            let prompt = (request.get().len() as u64 / 4).max(1);
            let candidates = 1 + (hash as u64 % 64);
            let cached = if (hash >> 8) % 4 == 0 && prompt >= 1024 {
                prompt / 256 * 128
            } else {
                0
            };
            let create = time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            let model = "gemini-2.5-flash";
            let id = format!("{:016x}", (hash >> 64) as u64);
            let text = answer_text(hash);
            write!(
                out,
                r#","status":"","response":{{"candidates":[{{"content":{{"parts":[{{"text":"{text}"}}],"role":"model"}},"finishReason":"STOP"}}],"createTime":"{create}","modelVersion":"{model}","responseId":"{id}","usageMetadata":{{"#
            )
            .map_err(|e| e.to_string())?;
            if cached > 0 {
                write!(out, r#""cachedContentTokenCount":{cached},"#).map_err(|e| e.to_string())?;
            }
            write!(
                out,
                r#""candidatesTokenCount":{candidates},"promptTokenCount":{prompt},"promptTokensDetails":[{{"modality":"TEXT","tokenCount":{prompt}}}],"totalTokenCount":{},"trafficType":"ON_DEMAND"}}}}"#,
                prompt + candidates
            )
            .map_err(|e| e.to_string())?;
        }
        out.extend_from_slice(b",\"processed_time\":\"");
        out.extend_from_slice(processed.as_bytes());
        out.push(b'"');
        for (k, v) in &members {
            if k == "request" {
                continue;
            }
            out.push(b',');
            serde_json::to_writer(&mut *out, k).map_err(|e| e.to_string())?;
            out.push(b':');
            out.extend_from_slice(v.get().as_bytes());
        }
        out.extend_from_slice(b"}\n");
        Ok(!fails)
    }
}
