//! Writing the run folder: shards, whole-job re-checks, index, invalid list, report, manifest.

use super::join_key::key_member_len;
use super::shards::{write_shard_line, write_shards};
use super::*;

/// `shards/shard-00000.jsonl`.
pub fn shard_name(i: usize) -> String {
    format!("shards/shard-{i:05}.jsonl")
}

/// Refuses a key member name that an input line already has as a top-level member (the key
/// would be ambiguous), naming the first such line. Checked before anything is written.
pub(super) fn check_key_member(
    opts: &PrepareOptions,
    s: &Scanned,
    report: &PrepareReport,
) -> Result<()> {
    if let JoinKey::Member(name) = &opts.join_key {
        // Column names are case-insensitive at import: `Batchline_Key` clashes too.
        let clash = report.files.iter().enumerate().find_map(|(fi, f)| {
            f.extra_members
                .keys()
                .find(|m| m.eq_ignore_ascii_case(name))
                .map(|m| (fi, m.clone()))
        });
        if let Some((fi, member)) = clash {
            // Name the first line that has it (an error path: a search is fine).
            let quoted = format!("\"{member}\"");
            let end = s.file_start.get(fi + 1).copied().unwrap_or(s.lines.len());
            let line = (s.file_start[fi]..end).find(|&i| {
                let bytes = s.line_bytes(i);
                memchr::memmem::find(bytes, quoted.as_bytes()).is_some()
                    && serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(bytes)
                        .is_ok_and(|m| m.contains_key(&member))
            });
            let at = line.map_or(String::new(), |i| format!(":{}", s.file_line(i).1));
            let how = if member == *name {
                String::new()
            } else {
                format!(
                    " (the same column as `{name}`: column names are case-insensitive at import)"
                )
            };
            return Err(Error::Usage(format!(
                "{}{at} already has a top-level member `{member}`{how}, where the key member `{name}` that carries each request's key would go; choose another --key-field (or --no-key)",
                report.files[fi].file
            )));
        }
    }
    Ok(())
}

pub(super) fn write_run(
    opts: &PrepareOptions,
    options: &serde_json::Value,
    run: &Run,
    s: &Scanned,
    layout: &Layout,
    report: &mut PrepareReport,
    inputs: Vec<InputEntry>,
) -> Result<()> {
    let Layout {
        shards,
        of_line,
        reps,
        positions,
        families,
    } = layout;
    // Start clean: remove what an earlier, unfinished prepare may have left (only that).
    run.start_clean()?;
    test_hold("before-shards");
    // Per unique: the representative's bytes (in unique order, so this pass reads the records in
    // input order; the shard writers then look up one slice per line).
    let mut watch = Stopwatch::new();
    let rep_bytes: Vec<&[u8]> = reps.iter().map(|&r| s.line_bytes(r)).collect();
    watch.lap("  clean+sources");
    if let Some(stage) = &opts.stage {
        let total: u64 = shards
            .iter()
            .flatten()
            .map(|&u| {
                rep_bytes[u as usize].len() as u64 + key_member_len(&opts.join_key, u as usize) + 1
            })
            .sum();
        stage("writing", total);
    }
    let shard_entries = write_shards(
        run,
        shards,
        &rep_bytes,
        &opts.join_key,
        opts.validate.progress.as_deref(),
    )?;
    watch.lap("  shards");
    crate::run::failpoint("after-shards");
    // Whole-job checks per shard, to say which job would fail: only needed when the input as a
    // whole has a job-scope error (a shard's lines are a subset of the input's, so it can only
    // have errors the input has). Job-scope warnings (a `null`, say) fail no job and are already
    // reported for the input, so they do not cost a second parse of every shard.
    if s.job.findings().iter().any(|f| {
        f.code.scope() == crate::request::diag::Scope::Job && f.code.severity() == Severity::Error
    }) {
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
                    buf.clear();
                    write_shard_line(buf, rep_bytes[u as usize], &opts.join_key, u as usize);
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
                // The shard's path as the user can open it (the run folder joined), so that
                // `file:line:column` and GitHub annotations point at the file.
                let name = run.describe(&shard_name(si));
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
    watch.lap("  job checks");
    // index.bin
    let l = &s.lines;
    let index_bytes = encode_index(
        s.names.len() as u32,
        l.len(),
        |i| {
            let (file, line) = s.file_line(i);
            IndexLine {
                file,
                line,
                offset: l.offset[i],
                length: l.len[i],
                unique: of_line[i],
            }
        },
        positions.len(),
        |u| IndexUnique {
            shard: positions[u].0,
            position: positions[u].1,
            hash: l.hash[reps[u]],
        },
    );
    let mut files = Vec::new();
    watch.lap("  index encode");
    files.push(run.publish("index.bin", &index_bytes)?);
    watch.lap("  index");
    // invalid.jsonl
    let mut invalid = Vec::new();
    for (i, codes) in &l.codes {
        let (file, line) = s.file_line(*i);
        serde_json::to_writer(
            &mut invalid,
            &serde_json::json!({"file": s.names[file as usize], "line": line, "codes": codes}),
        )
        .expect("Vec write");
        invalid.push(b'\n');
    }
    files.push(run.publish("invalid.jsonl", &invalid)?);
    let report_bytes =
        serde_json::to_vec_pretty(&ReportFile::from(&*report)).expect("serialisable");
    files.push(run.publish("report.json", &report_bytes)?);
    files.push(run.publish("families.bin", &crate::run::families::encode(families))?);
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        schema_revision: schema::SOURCE.revision.to_string(),
        inputs,
        options: options.clone(),
        counts: report.counts.clone(),
        shards: shard_entries,
        files,
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).expect("serialisable");
    watch.lap("  invalid+report");
    crate::run::failpoint("before-manifest");
    inputs_unchanged(opts, run, &s.stamps)?;
    run.publish("manifest.json", &manifest_bytes)?;
    watch.lap("  manifest");
    Ok(())
}
