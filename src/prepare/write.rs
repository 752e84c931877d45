//! Writing the run folder: shards, whole-job re-checks, index, invalid list, report, manifest.

use super::*;

/// `shards/shard-00000.jsonl`.
pub fn shard_name(i: usize) -> String {
    format!("shards/shard-{i:05}.jsonl")
}

/// The key value of unique request `u`: `bl-` and base 36, never numeric-looking (Vertex has been
/// seen to turn numeric-looking strings into numbers).
pub fn key_value(u: usize) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = u;
    let mut rev = Vec::new();
    loop {
        rev.push(DIGITS[n % 36]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    rev.reverse();
    format!("bl-{}", String::from_utf8(rev).expect("ASCII digits"))
}

/// Writes one shard line: the original line with the key member spliced in after its `{`.
fn write_shard_line<W: Write>(
    w: &mut W,
    line: &[u8],
    key: &KeyMode,
    u: usize,
) -> std::io::Result<()> {
    match key {
        KeyMode::None => w.write_all(line)?,
        KeyMode::Member(name) => {
            let brace = line.iter().position(|&b| b == b'{').unwrap_or(0);
            w.write_all(&line[..=brace])?;
            write!(w, "\"{name}\":\"{}\",", key_value(u))?;
            w.write_all(&line[brace + 1..])?;
        }
    }
    w.write_all(b"\n")
}

/// A writer that computes [`content_checksum`] of what passes through: the XXH3-128 of each
/// 16 MiB segment, streamed, so shards are checksummed while written without a second pass.
struct SegmentHashing<W> {
    inner: W,
    hasher: xxhash_rust::xxh3::Xxh3,
    in_segment: usize,
    digests: Vec<u8>,
    bytes: u64,
}

/// Segment size of [`content_checksum`].
const SEGMENT: usize = 16 << 20;

impl<W: Write> SegmentHashing<W> {
    fn checksum(&mut self) -> String {
        if self.in_segment > 0 {
            self.digests
                .extend_from_slice(&self.hasher.digest128().to_le_bytes());
            self.in_segment = 0;
        }
        format!(
            "xxh3-128:{:032x}",
            xxhash_rust::xxh3::xxh3_128(&self.digests)
        )
    }
}

impl<W: Write> Write for SegmentHashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let take = rest.len().min(SEGMENT - self.in_segment);
            self.hasher.update(&rest[..take]);
            self.in_segment += take;
            rest = &rest[take..];
            if self.in_segment == SEGMENT {
                self.digests
                    .extend_from_slice(&self.hasher.digest128().to_le_bytes());
                self.hasher.reset();
                self.in_segment = 0;
            }
        }
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn file_checksum(bytes: &[u8]) -> String {
    content_checksum(bytes)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn write_run(
    opts: &PrepareOptions,
    s: &Scanned,
    shards: &[Vec<u32>],
    of_line: &[u32],
    positions: &[(u32, u32)],
    report: &mut PrepareReport,
    inputs: Vec<InputEntry>,
) -> Result<()> {
    let run = &opts.run;
    if let KeyMode::Member(name) = &opts.key {
        if let Some(f) = report
            .files
            .iter()
            .find(|f| f.extra_members.contains_key(name))
        {
            return Err(Error::Usage(format!(
                "{} already has a top-level member `{name}`; choose another --key-field",
                f.file
            )));
        }
    }
    // Start clean: remove what an earlier, unfinished prepare may have left.
    let shard_dir = run.join("shards");
    std::fs::create_dir_all(&shard_dir).map_err(|e| Error::io(&shard_dir, e))?;
    for name in RUN_FILES {
        let p = run.join(name);
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
        }
    }
    for entry in std::fs::read_dir(&shard_dir).map_err(|e| Error::io(&shard_dir, e))? {
        let p = entry.map_err(|e| Error::io(&shard_dir, e))?.path();
        std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
    }
    let reps_line: Vec<usize> = {
        let mut reps = vec![usize::MAX; positions.len()];
        for (i, &u) in of_line.iter().enumerate() {
            if u != NOT_SENT && reps[u as usize] == usize::MAX {
                reps[u as usize] = i;
            }
        }
        reps
    };
    // Shards, in parallel (each shard written sequentially).
    let entries: Vec<Result<FileEntry>> = shards
        .par_iter()
        .enumerate()
        .map(|(si, shard)| {
            let path = run.join(shard_name(si));
            let file = AtomicFile::create(&path)?;
            let mut w = SegmentHashing {
                inner: BufWriter::with_capacity(1 << 20, file.writer()),
                hasher: xxhash_rust::xxh3::Xxh3::new(),
                in_segment: 0,
                digests: Vec::new(),
                bytes: 0,
            };
            for &u in shard {
                let l = &s.lines[reps_line[u as usize]];
                let data = &s.data[l.file as usize];
                let line = &data[l.offset as usize..l.offset as usize + l.len as usize];
                write_shard_line(&mut w, line, &opts.key, u as usize)
                    .map_err(|e| Error::io(&path, e))?;
            }
            w.flush().map_err(|e| Error::io(&path, e))?;
            let (bytes, checksum) = (w.bytes, w.checksum());
            drop(w);
            file.commit()?;
            Ok(FileEntry {
                name: shard_name(si),
                bytes,
                checksum,
                requests: Some(shard.len() as u64),
            })
        })
        .collect();
    let shard_entries: Vec<FileEntry> = entries.into_iter().collect::<Result<_>>()?;
    failpoint("after-shards");
    // Whole-job checks per shard: only needed when the input as a whole has job findings (a
    // shard's paths are a subset of the input's, so a clean input gives clean shards).
    if s.job
        .findings()
        .iter()
        .any(|f| f.code.scope() == crate::request::diag::Scope::Job)
    {
        let found: Vec<Vec<Diagnostic>> = shards
            .par_iter()
            .enumerate()
            .map(|(si, shard)| {
                // One line at a time (never the whole shard in memory): `line_offset` carries
                // the shard position, and the few findings are placed by rebuilding their line.
                let mut checker = LineChecker::new();
                let mut buf = Vec::new();
                let shard_line = |pos: usize, buf: &mut Vec<u8>| {
                    let u = shard[pos];
                    let l = &s.lines[reps_line[u as usize]];
                    let data = &s.data[l.file as usize];
                    let line = &data[l.offset as usize..l.offset as usize + l.len as usize];
                    buf.clear();
                    write_shard_line(buf, line, &opts.key, u as usize).expect("Vec write");
                    buf.pop();
                };
                let mut starts = Vec::with_capacity(shard.len());
                let mut offset = 0u64;
                for pos in 0..shard.len() {
                    shard_line(pos, &mut buf);
                    starts.push(offset);
                    checker.check(&buf, pos as u64, pos as u64);
                    offset += buf.len() as u64 + 1;
                }
                let name = shard_name(si);
                checker
                    .take_job()
                    .findings()
                    .into_iter()
                    .map(|jf| {
                        let pos = jf.at.line_offset as usize;
                        shard_line(pos, &mut buf);
                        let col = crate::request::locate::locate_nth(
                            &buf,
                            &jf.at.pointer,
                            &jf.at.key_nth,
                            jf.at.at_key,
                        );
                        job_diagnostic(&name, jf, col, starts[pos] + col as u64)
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        for d in found.into_iter().flatten() {
            if d.severity == Severity::Error {
                report.shard_job_errors += 1;
            }
            report.diagnostics.push(d);
        }
    }
    // index.bin
    let mut index_lines = Vec::with_capacity(s.lines.len());
    for (i, l) in s.lines.iter().enumerate() {
        index_lines.push(IndexLine {
            file: l.file,
            line: l.line,
            offset: l.offset,
            length: l.len,
            unique: of_line[i],
        });
    }
    let index_uniques: Vec<IndexUnique> = positions
        .iter()
        .enumerate()
        .map(|(u, &(shard, position))| IndexUnique {
            shard,
            position,
            hash: s.lines[reps_line[u]].hash,
        })
        .collect();
    let mut files = Vec::new();
    let mut index_bytes = Vec::new();
    write_index(
        &mut index_bytes,
        s.names.len() as u32,
        &index_lines,
        &index_uniques,
    )
    .map_err(|e| Error::io(run.join("index.bin"), e))?;
    files.push(publish(run, "index.bin", &index_bytes)?);
    // invalid.jsonl
    let mut invalid = Vec::new();
    for l in s.lines.iter().filter(|l| l.status == LineStatus::Invalid) {
        serde_json::to_writer(
            &mut invalid,
            &serde_json::json!({"file": s.names[l.file as usize], "line": l.line, "codes": l.codes}),
        )
        .expect("Vec write");
        invalid.push(b'\n');
    }
    files.push(publish(run, "invalid.jsonl", &invalid)?);
    let report_bytes =
        serde_json::to_vec_pretty(&ReportFile::from(&*report)).expect("serialisable");
    files.push(publish(run, "report.json", &report_bytes)?);
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        schema_revision: schema::SOURCE.revision.to_string(),
        inputs,
        options: options_json(opts),
        counts: report.counts.clone(),
        shards: shard_entries,
        files,
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).expect("serialisable");
    failpoint("before-manifest");
    publish(run, "manifest.json", &manifest_bytes)?;
    Ok(())
}

/// Test hook: when `BATCHLINE_FAILPOINT` names this point, the process aborts here, as if killed,
/// so tests can check that a re-run repairs a half-written run.
fn failpoint(name: &str) {
    if std::env::var_os("BATCHLINE_FAILPOINT").is_some_and(|v| v == name) {
        eprintln!("batchline: failpoint {name}: aborting");
        std::process::abort();
    }
}

/// Writes `run/name` atomically and returns its entry. The manifest is synced to disk before
/// it is published: it marks the run complete, and every other file is verified against it.
fn publish(run: &Path, name: &str, bytes: &[u8]) -> Result<FileEntry> {
    let path = run.join(name);
    let file = AtomicFile::create(&path)?;
    let mut w = file.writer();
    w.write_all(bytes).map_err(|e| Error::io(&path, e))?;
    if name == "manifest.json" {
        file.commit_durable()?;
    } else {
        file.commit()?;
    }
    Ok(FileEntry {
        name: name.to_string(),
        bytes: bytes.len() as u64,
        checksum: file_checksum(bytes),
        requests: None,
    })
}
