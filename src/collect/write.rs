//! What collect writes: each row's output fragment, the merged output in input order, and the
//! retry round.

use std::io::Write as _;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::members::Member;
use super::row::{first_text, Outcome, Row};
use super::{Class, JobFacts, Matched, RunFacts};
use crate::error::{Error, Result};
use crate::input::remote::{Input, RemoteOptions};
use crate::run::index::NOT_SENT;
use crate::run::manifest::FileEntry;
use crate::run::Run;
use crate::store::{CloudConfig, Location, Store};

/// Members collect writes itself; an input member of one of these names is not copied.
pub const OWN_MEMBERS: [&str; 7] = [
    "file", "line", "status", "response", "error", "text", "request",
];

/// Appends a row's members for the output line: `,"status":…` and the response (or its text)
/// or the error.
pub(super) fn fragment(row: &Row<'_>, text: bool, out: &mut Vec<u8>) {
    let response = |out: &mut Vec<u8>| match row.raw.response {
        Some(r) if text => {
            out.extend_from_slice(b",\"text\":");
            serde_json::to_writer(&mut *out, &first_text(r)).expect("invariant: writes to a Vec");
        }
        Some(r) => {
            out.extend_from_slice(b",\"response\":");
            out.extend_from_slice(r.get().as_bytes());
        }
        None => {}
    };
    match &row.outcome {
        Outcome::Succeeded => {
            out.extend_from_slice(b",\"status\":\"succeeded\"");
            response(out);
        }
        Outcome::Blocked(reason) => {
            out.extend_from_slice(b",\"status\":\"failed\"");
            response(out);
            let error = serde_json::json!({
                "status": "BLOCKED",
                "blockReason": reason,
                "message": format!("the prompt was blocked ({reason}): no candidates"),
            });
            out.extend_from_slice(b",\"error\":");
            serde_json::to_writer(&mut *out, &error).expect("invariant: writes to a Vec");
        }
        Outcome::Failed(e) => {
            out.extend_from_slice(b",\"status\":\"failed\",\"error\":{");
            let mut first = true;
            let mut sep = |out: &mut Vec<u8>| {
                if !first {
                    out.push(b',');
                }
                first = false;
            };
            if let Some(c) = e.code {
                sep(out);
                let _ = write!(out, "\"code\":{c}");
            }
            sep(out);
            out.extend_from_slice(b"\"message\":");
            serde_json::to_writer(&mut *out, &e.message).expect("invariant: writes to a Vec");
            if let Some(s) = &e.status {
                sep(out);
                out.extend_from_slice(b"\"status\":");
                serde_json::to_writer(&mut *out, s).expect("invariant: writes to a Vec");
            }
            if let Some(d) = &e.details {
                sep(out);
                out.extend_from_slice(b"\"details\":");
                out.extend_from_slice(d.as_bytes());
            }
            out.push(b'}');
        }
    }
}

/// The run's inputs, opened again (local files mapped, objects fetched). An input whose size
/// differs from the manifest's changed since `prepare`: an error naming it. Stdin (`-`) cannot be
/// read again: its lines get no copied members.
pub(super) fn open_inputs(facts: &RunFacts, remote: &RemoteOptions) -> Result<Vec<Option<Input>>> {
    facts
        .manifest
        .inputs
        .iter()
        .map(|entry| {
            if entry.path == "-" {
                return Ok(None);
            }
            let name = crate::input::InputName::from_record(&entry.path, entry.path_bytes.as_deref());
            let input = crate::input::open_name(&name, crate::input::MmapChoice::Auto, remote)?;
            if input.len() as u64 != entry.size {
                return Err(Error::InputChanged(format!(
                    "{}: {} bytes now, {} when the run was prepared: the input changed, so its lines cannot be matched to the run (restore it, or prepare again)",
                    entry.path,
                    input.len(),
                    entry.size
                )));
            }
            Ok(Some(input))
        })
        .collect()
}

/// `members` without the earlier ones of a repeated name (a JSON object means its last), in
/// order; linear in the number of members.
fn last_of_each_name(mut members: Vec<Member<'_>>) -> Vec<Member<'_>> {
    let n = members.len();
    let repeated = if n <= 16 {
        (0..n).any(|i| members[i + 1..].iter().any(|m| m.name == members[i].name))
    } else {
        let mut seen = std::collections::HashSet::with_capacity(n);
        !members.iter().all(|m| seen.insert(m.name.as_ref()))
    };
    if !repeated {
        return members;
    }
    let mut last: std::collections::HashMap<String, usize> =
        std::collections::HashMap::with_capacity(n);
    for (i, m) in members.iter().enumerate() {
        last.insert(m.name.to_string(), i);
    }
    let mut i = 0;
    members.retain(|m| {
        let keep = last[m.name.as_ref()] == i;
        i += 1;
        keep
    });
    members
}

/// Counts of the output lines.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LineCounts {
    /// Output lines (input lines that are not blank).
    pub lines: u64,
    /// … with a response.
    pub succeeded: u64,
    /// … whose request failed.
    pub failed: u64,
    /// … whose request got no row.
    pub missing: u64,
    /// … not sent (invalid).
    pub invalid: u64,
    /// Members of input lines not copied because collect writes a member of that name.
    pub members_not_copied: u64,
}

/// Lines per unit of parallel output.
const LINES_PER_TASK: usize = 4 * 1024;

/// Writes the merged output to `output`: one line per non-blank input line, in input order.
pub(super) fn write_output(
    facts: &RunFacts,
    inputs: &[Option<Input>],
    matched: &Matched,
    best: &[Option<u32>],
    output: &Location,
    opts: &super::CollectOptions,
) -> Result<LineCounts> {
    let (cloud, include_request) = (&opts.cloud, opts.include_request);
    let paths: Vec<Vec<u8>> = facts
        .manifest
        .inputs
        .iter()
        .map(|i| serde_json::to_vec(&i.path).expect("invariant: a string serialises"))
        .collect();
    let mut sink = Sink::open(output, cloud)?;
    let mut counts = LineCounts::default();
    let n = facts.index.n_lines();
    let tasks: Vec<std::ops::Range<usize>> = (0..n)
        .step_by(LINES_PER_TASK)
        .map(|a| a..(a + LINES_PER_TASK).min(n))
        .collect();
    let batch = rayon::current_num_threads().max(1) * 2;
    for group in tasks.chunks(batch) {
        let parts: Vec<(Vec<u8>, LineCounts)> = group
            .par_iter()
            .map(|lines| {
                let mut out = Vec::with_capacity(lines.len() * 256);
                let mut c = LineCounts::default();
                for l in facts.index.lines_in(lines.clone()) {
                    let src: &[u8] = match inputs.get(l.file as usize).and_then(|i| i.as_ref()) {
                        Some(input) => input
                            .get(l.offset as usize..(l.offset + l.length as u64) as usize)
                            .unwrap_or(b""),
                        None => b"",
                    };
                    let invalid = facts.invalid.get(&(l.file, l.line));
                    if l.unique == NOT_SENT && invalid.is_none() {
                        continue; // a blank line
                    }
                    c.lines += 1;
                    out.extend_from_slice(b"{\"file\":");
                    out.extend_from_slice(&paths[l.file as usize]);
                    let _ = write!(out, ",\"line\":{}", l.line);
                    if let Some(codes) = invalid {
                        c.invalid += 1;
                        out.extend_from_slice(b",\"status\":\"invalid\",\"error\":{\"codes\":");
                        serde_json::to_writer(&mut out, codes).expect("invariant: writes to a Vec");
                        out.push(b'}');
                    } else {
                        match best[l.unique as usize] {
                            Some(h) => {
                                let hit = &matched.hits[h as usize];
                                if hit.class == Class::Succeeded {
                                    c.succeeded += 1;
                                } else {
                                    c.failed += 1;
                                }
                                out.extend_from_slice(matched.fragment(hit));
                            }
                            None => {
                                c.missing += 1;
                                out.extend_from_slice(b",\"status\":\"missing\"");
                            }
                        }
                    }
                    // The input line was validated by `prepare` (and its size checked again
                    // by `open_inputs`): its members are found without parsing the request.
                    if let Some(members) = super::members::members(src) {
                        let members = last_of_each_name(members);
                        let mut request = None;
                        for m in members {
                            if m.name == "request" {
                                request = Some(m.value);
                                continue;
                            }
                            if OWN_MEMBERS.contains(&m.name.as_ref()) {
                                c.members_not_copied += 1;
                                continue;
                            }
                            out.push(b',');
                            out.extend_from_slice(m.raw_name);
                            out.push(b':');
                            out.extend_from_slice(m.value);
                        }
                        if let (true, Some(r)) = (include_request, request) {
                            out.extend_from_slice(b",\"request\":");
                            out.extend_from_slice(r);
                        }
                    }
                    out.extend_from_slice(b"}\n");
                }
                opts.tell(super::CollectEvent::Done(lines.len() as u64));
                (out, c)
            })
            .collect();
        for (bytes, c) in parts {
            sink.write(bytes)?;
            crate::run::failpoint("collect-output");
            counts.lines += c.lines;
            counts.succeeded += c.succeeded;
            counts.failed += c.failed;
            counts.missing += c.missing;
            counts.invalid += c.invalid;
            counts.members_not_copied += c.members_not_copied;
        }
    }
    sink.finish()?;
    Ok(counts)
}

/// Where output bytes go: a local file under a temporary name, or a multipart upload.
enum Sink {
    Local(
        std::io::BufWriter<std::fs::File>,
        crate::store::atomic::AtomicFile,
    ),
    Remote(Box<RemoteSink>),
}

/// An object-store output: parts of `part_size` uploaded as they fill.
struct RemoteSink {
    store: Store,
    name: String,
    upload: Option<crate::store::Upload>,
    buf: Vec<u8>,
    parts: usize,
    part_size: usize,
    cloud: CloudConfig,
}

impl Sink {
    fn open(output: &Location, cloud: &CloudConfig) -> Result<Sink> {
        match output {
            Location::Local(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                }
                remove_stale_temps(path);
                let file = crate::store::atomic::AtomicFile::create(path)?;
                let w = file
                    .writer()
                    .try_clone()
                    .map_err(|e| Error::io(file.temp_path(), e))?;
                Ok(Sink::Local(std::io::BufWriter::with_capacity(1 << 20, w), file))
            }
            Location::Object { .. } => {
                let (parent, name) = split_last(output);
                let store = Store::open(&parent, cloud)?;
                Ok(Sink::Remote(Box::new(RemoteSink {
                    store,
                    name,
                    upload: None,
                    buf: Vec::new(),
                    parts: 0,
                    part_size: cloud.part_size.max(5 << 20) as usize,
                    cloud: cloud.clone(),
                })))
            }
            Location::Http(url) => Err(Error::Usage(format!(
                "{url}: collect cannot write to an http(s) URL; give a path or a gs:// or s3:// object"
            ))),
        }
    }

    fn write(&mut self, bytes: Vec<u8>) -> Result<()> {
        match self {
            Sink::Local(w, file) => w
                .write_all(&bytes)
                .map_err(|e| Error::io(file.temp_path(), e)),
            Sink::Remote(r) => {
                let RemoteSink {
                    store,
                    name,
                    upload,
                    buf,
                    parts,
                    part_size,
                    cloud,
                } = &mut **r;
                buf.extend_from_slice(&bytes);
                while buf.len() >= *part_size {
                    if upload.is_none() {
                        *upload = store.upload(name, cloud)?;
                    }
                    let rest = buf.split_off(*part_size);
                    let part = std::mem::replace(buf, rest);
                    upload
                        .as_ref()
                        .expect("invariant: an object store starts an upload")
                        .put_part(*parts, part);
                    *parts += 1;
                }
                Ok(())
            }
        }
    }

    fn finish(self) -> Result<()> {
        match self {
            Sink::Local(w, file) => {
                let f = w
                    .into_inner()
                    .map_err(|e| Error::io(file.temp_path(), e.into_error()))?;
                drop(f);
                file.commit()
            }
            Sink::Remote(r) => match r.upload {
                None => r
                    .store
                    .put(&r.name, &r.buf, crate::store::Durability::Normal)
                    .map(|_| ()),
                Some(up) => {
                    let (mut parts, buf) = (r.parts, r.buf);
                    if !buf.is_empty() {
                        up.put_part(parts, buf);
                        parts += 1;
                    }
                    up.finish(parts).map(|_| ())
                }
            },
        }
    }
}

/// Removes `NAME.<pid>.tmp` beside `path` left by a collect that was killed (its process is
/// gone). Only that exact pattern: a name batchline did not write is never removed.
fn remove_stale_temps(path: &std::path::Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    // Whether a process is alive is read from /proc; without it nothing is removed.
    if !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let dir = if dir.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = n
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(".tmp"))
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if !std::path::Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// `gs://b/a/c.jsonl` → (`gs://b/a`, `c.jsonl`).
fn split_last(loc: &Location) -> (Location, String) {
    match loc {
        Location::Object {
            scheme,
            bucket,
            prefix,
        } => {
            let (dir, name) = prefix.rsplit_once('/').unwrap_or(("", prefix));
            (
                Location::Object {
                    scheme: *scheme,
                    bucket: bucket.clone(),
                    prefix: dir.to_string(),
                },
                name.to_string(),
            )
        }
        Location::Local(p) => (
            Location::Local(p.parent().map(|d| d.to_path_buf()).unwrap_or_default()),
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
        Location::Http(u) => (Location::Http(u.clone()), String::new()),
    }
}

/// `retry-N/manifest.json`: a retry round's shards (written last, after them).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RetryManifest {
    /// 1.
    pub format_version: u32,
    /// N.
    pub round: u32,
    /// The round's shards, by run-relative name (`retry-N/shard-00000.jsonl`).
    pub shards: Vec<FileEntry>,
}

/// What a retry round holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RetryReport {
    /// N.
    pub round: u32,
    /// Requests in it.
    pub requests: u64,
    /// Its shards, by run-relative name.
    pub shards: Vec<String>,
    /// `false` when the round existed already with this content (not written again).
    pub written: bool,
}

/// Writes the retryable failures and missing requests as retry round N: N is the newest round
/// when it has no job yet (it is replaced), else one more. `None` when nothing is to retry.
pub(super) fn retry_round(
    run: &Run,
    facts: &RunFacts,
    matched: &Matched,
    best: &[Option<u32>],
    jobs: &[JobFacts],
) -> Result<Option<RetryReport>> {
    let retry: Vec<u32> = (0..facts.index.n_uniques() as u32)
        .filter(|&u| match best[u as usize] {
            None => true,
            Some(h) => matched.hits[h as usize].class == Class::Retryable,
        })
        .collect();
    if retry.is_empty() {
        return Ok(None);
    }
    // The representative (first) input line of each unique request.
    let mut first = vec![u32::MAX; facts.index.n_uniques()];
    for (i, l) in facts.index.lines().enumerate() {
        if l.unique != NOT_SENT && first[l.unique as usize] == u32::MAX {
            first[l.unique as usize] = i as u32;
        }
    }
    let remote = RemoteOptions {
        cloud: run.cloud().clone(),
        spill_dir: None,
        progress: None,
    };
    let inputs = open_inputs(facts, &remote)?;
    let key = match &facts.key_name {
        Some(n) => crate::prepare::JoinKey::Member(n.clone()),
        None => crate::prepare::JoinKey::None,
    };
    let (max_requests, max_bytes) = limits(facts);
    let mut shards: Vec<Vec<u8>> = vec![Vec::new()];
    let mut counts: Vec<u64> = vec![0];
    let mut line = Vec::new();
    for &u in &retry {
        let l = facts.index.line(first[u as usize] as usize);
        let Some(input) = inputs.get(l.file as usize).and_then(|i| i.as_ref()) else {
            return Err(Error::Usage(format!(
                "{}: request {} came from stdin, which cannot be read again to write a retry round",
                run.describe(""),
                u
            )));
        };
        let src = &input[l.offset as usize..(l.offset + l.length as u64) as usize];
        line.clear();
        crate::prepare::write_shard_line(&mut line, src, &key, u as usize);
        let cur = shards.last().expect("invariant: one shard at least");
        if *counts.last().expect("invariant") > 0
            && (*counts.last().expect("invariant") >= max_requests
                || (cur.len() + line.len()) as u64 > max_bytes)
        {
            shards.push(Vec::new());
            counts.push(0);
        }
        shards
            .last_mut()
            .expect("invariant")
            .extend_from_slice(&line);
        *counts.last_mut().expect("invariant") += 1;
    }
    let newest = super::newest_retry_round(run)?.map(|m| m.round);
    let submitted = |n: u32| jobs.iter().any(|j| j.round == n);
    let round = match newest {
        Some(n) if !submitted(n) => n,
        Some(n) => n + 1,
        None => 1,
    };
    let names: Vec<String> = (0..shards.len())
        .map(|i| format!("retry-{round}/shard-{i:05}.jsonl"))
        .collect();
    // An unsubmitted round with the same content is left as it is.
    if let Some(bytes) = run.read(&format!("retry-{round}/manifest.json"))? {
        if let Ok(old) = serde_json::from_slice::<RetryManifest>(&bytes) {
            let same = old.shards.len() == shards.len()
                && old
                    .shards
                    .iter()
                    .zip(&shards)
                    .all(|(e, b)| e.checksum == crate::run::manifest::content_checksum(b));
            if same {
                return Ok(Some(RetryReport {
                    round,
                    requests: retry.len() as u64,
                    shards: names,
                    written: false,
                }));
            }
        }
        run.store()
            .delete(&format!("retry-{round}/manifest.json"))?;
    }
    let mut entries = Vec::new();
    for ((name, bytes), n) in names.iter().zip(&shards).zip(&counts) {
        let mut e = run.publish(name, bytes)?;
        e.requests = Some(*n);
        entries.push(e);
    }
    let manifest = RetryManifest {
        format_version: 1,
        round,
        shards: entries,
    };
    let mut bytes = serde_json::to_vec_pretty(&manifest).expect("invariant: serialises");
    bytes.push(b'\n');
    run.publish(&format!("retry-{round}/manifest.json"), &bytes)?;
    Ok(Some(RetryReport {
        round,
        requests: retry.len() as u64,
        shards: names,
        written: true,
    }))
}

/// Requests and bytes per retry shard: the run's own limits when the manifest records them, else
/// Vertex's (200,000 requests, 1 GB).
fn limits(facts: &RunFacts) -> (u64, u64) {
    let l = facts.manifest.options.get("limits");
    let get = |k: &str| l.and_then(|l| l.get(k)).and_then(|v| v.as_u64());
    (
        get("max_requests").unwrap_or(200_000).max(1),
        get("max_bytes").unwrap_or(1_000_000_000).max(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_output_goes_up_in_parts_and_reads_back_whole() {
        let cloud = CloudConfig::default();
        let out = Location::parse("memory://sink/dir/out.jsonl").unwrap();
        let mut sink = Sink::open(&out, &cloud).unwrap();
        let mut want = Vec::new();
        for i in 0..5u8 {
            let chunk = vec![b'a' + i; 7 << 20];
            want.extend_from_slice(&chunk);
            sink.write(chunk).unwrap();
        }
        if let Sink::Remote(r) = &sink {
            // 35 MiB written, parts of 16 MiB: two sent, 3 MiB waiting.
            assert_eq!((r.parts, r.buf.len()), (2, 3 << 20));
        } else {
            panic!("memory:// is an object store");
        }
        sink.finish().unwrap();
        let store = Store::open(&Location::parse("memory://sink/dir").unwrap(), &cloud).unwrap();
        let got = store.get("out.jsonl").unwrap().unwrap();
        assert_eq!(got.len(), want.len());
        assert!(got == want);
    }

    #[test]
    fn a_small_remote_output_is_one_put() {
        let cloud = CloudConfig::default();
        let out = Location::parse("memory://sink2/out.jsonl").unwrap();
        let mut sink = Sink::open(&out, &cloud).unwrap();
        sink.write(b"{\"a\":1}\n".to_vec()).unwrap();
        sink.finish().unwrap();
        let store = Store::open(&Location::parse("memory://sink2").unwrap(), &cloud).unwrap();
        assert_eq!(store.get("out.jsonl").unwrap().unwrap(), b"{\"a\":1}\n");
    }

    #[test]
    fn stale_temporary_outputs_of_dead_processes_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("results.jsonl");
        let dead = dir.path().join("results.jsonl.999999999.tmp");
        let alive = dir
            .path()
            .join(format!("results.jsonl.{}.tmp", std::process::id()));
        let other = dir.path().join("results.jsonl.abc.tmp");
        let foreign = dir.path().join("other.jsonl.999999999.tmp");
        for p in [&dead, &alive, &other, &foreign] {
            std::fs::write(p, "x").unwrap();
        }
        remove_stale_temps(&out);
        assert!(!dead.exists());
        assert!(alive.exists() && other.exists() && foreign.exists());
    }
}

#[cfg(test)]
mod member_tests {
    use super::*;

    fn names(line: &str) -> Vec<String> {
        let m = super::super::members::members(line.as_bytes()).unwrap();
        last_of_each_name(m)
            .iter()
            .map(|m| format!("{}={}", m.name, String::from_utf8_lossy(m.value)))
            .collect()
    }

    #[test]
    fn a_repeated_name_keeps_its_last_value_at_its_last_place() {
        assert_eq!(names(r#"{"a":1,"b":2}"#), ["a=1", "b=2"]);
        assert_eq!(names(r#"{"a":1,"b":2,"a":3}"#), ["b=2", "a=3"]);
        // Past 16 members the check is hashed; same result.
        let many: Vec<String> = (0..40).map(|i| format!("\"m{}\":{i}", i % 20)).collect();
        let got = names(&format!("{{{}}}", many.join(",")));
        let want: Vec<String> = (20..40).map(|i| format!("m{}={i}", i % 20)).collect();
        assert_eq!(got, want);
    }
}
