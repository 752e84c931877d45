//! Writing the shard files, in parallel across and within shards.
//!
//! A shard's content is known before it is written: its lines in order, each the representative's
//! bytes with the key member spliced in, so every line's offset in the file is a prefix sum. Each
//! shard is cut into the 16 MiB segments of [`content_checksum`]; a segment is the unit of work: a
//! worker builds its bytes 256 KiB at a time in a buffer (lines cut at the edges), feeds them to the
//! segment's XXH3-128 and writes them at their offset, so each byte is read from the input once and
//! then stays in cache while it is hashed and handed to the kernel. Workers stay on different
//! shards while they can (a file takes one writer at a time) and help on the others at the end, so
//! both cores stay busy whatever the number and sizes of the shards. The file's checksum is the
//! hash of its segment digests in order, whoever wrote them.

use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use super::join_key::{key_member_len, push_key_member};
use super::*;
use crate::store::atomic::AtomicFile;
use crate::store::Durability;

/// Segment size of [`content_checksum`] (and the unit of work).
const SEGMENT: u64 = crate::run::manifest::CHECKSUM_BLOCK;

/// Lines ahead whose first bytes are prefetched while one is copied.
const PREFETCH: usize = 12;

/// Bytes built, hashed and written at a time: small enough to stay in cache between the three.
const PIECE: u64 = 256 << 10;

/// Where the key member goes in a line: just after its opening `{` (the line's first byte unless
/// it starts with whitespace).
#[inline]
pub(super) fn brace_at(line: &[u8]) -> usize {
    line.iter().position(|&b| b == b'{').unwrap_or(0)
}

/// One shard line: the original line with the key member spliced in after its `{`, and `\n`.
pub(crate) fn write_shard_line(out: &mut Vec<u8>, line: &[u8], key: &JoinKey, u: usize) {
    match key {
        JoinKey::None => out.extend_from_slice(line),
        JoinKey::Member(name) => {
            let brace = brace_at(line);
            out.extend_from_slice(&line[..=brace]);
            push_key_member(out, name, u);
            out.extend_from_slice(&line[brace + 1..]);
        }
    }
    out.push(b'\n');
}

/// Where a shard's bytes go.
enum Out {
    /// A local file under a temporary name, written at offsets, renamed when whole.
    Local(AtomicFile),
    /// A multipart upload: one part per unit of work, sent by number in any order.
    Parts(crate::store::Upload),
    /// One unit or none: a single request once its bytes are built.
    Single(OnceLock<crate::store::Meta>),
}

/// A shard being written.
struct Job<'a> {
    name: String,
    ids: &'a [u32],
    /// The representative line of each position (gathered once, so the writers read it in order).
    srcs: Vec<&'a [u8]>,
    /// End offset of each line in the file (prefix sums of the line sizes).
    ends: Vec<u64>,
    out: Out,
    /// Bytes per unit of work: the checksum block locally, the part size on object stores.
    unit: u64,
    /// Next unit to claim.
    next: AtomicUsize,
    /// Workers on this shard now.
    active: AtomicUsize,
    /// Digest of each 16 MiB checksum block, filled by whoever wrote it.
    digests: Vec<OnceLock<u128>>,
    /// Per unit, on object stores: MD5 (for the entity tag) and CRC32C of its bytes.
    sums: Vec<OnceLock<([u8; 16], u32)>>,
}

impl Job<'_> {
    fn bytes(&self) -> u64 {
        self.ends.last().copied().unwrap_or(0)
    }
    fn units(&self) -> usize {
        self.bytes().div_ceil(self.unit) as usize
    }
}

/// Writes every shard to `RUN/shards/…` and returns their entries (bytes and checksums; on
/// object stores also the CRC32C and the verified entity tag). `lines[u]` is the representative
/// line of unique request `u`. `progress` is called with the bytes of each unit of a shard as it
/// is written (or handed to the upload).
pub(super) fn write_shards(
    run: &Run,
    shards: &[Vec<u32>],
    lines: &[&[u8]],
    key: &JoinKey,
    progress: Option<&ProgressFn<'_>>,
) -> Result<Vec<FileEntry>> {
    write_shards_in(run, shards, lines, key, PIECE, progress)
}

/// A progress callback: bytes just done.
pub(super) type ProgressFn<'a> = dyn Fn(u64) + Send + Sync + 'a;

/// Shards written at once: each holds an open file (or an upload) until it is complete, and a
/// run of thousands of shards must not run out of file descriptors (the usual soft limit is
/// 1,024; a group of 128 leaves room for everything else the process has open).
const SHARDS_AT_ONCE: usize = 128;

/// [`write_shards`] with pieces of `piece` bytes (tests use tiny pieces to cut lines everywhere),
/// [`SHARDS_AT_ONCE`] shards at a time.
fn write_shards_in(
    run: &Run,
    shards: &[Vec<u32>],
    lines: &[&[u8]],
    key: &JoinKey,
    piece: u64,
    progress: Option<&ProgressFn<'_>>,
) -> Result<Vec<FileEntry>> {
    let mut entries = Vec::with_capacity(shards.len());
    for (g, group) in shards.chunks(SHARDS_AT_ONCE).enumerate() {
        entries.extend(write_group(
            run,
            g * SHARDS_AT_ONCE,
            group,
            lines,
            key,
            piece,
            progress,
        )?);
    }
    Ok(entries)
}

/// Writes the shards `first..first + shards.len()`, in parallel across and within them.
fn write_group(
    run: &Run,
    first: usize,
    shards: &[Vec<u32>],
    lines: &[&[u8]],
    key: &JoinKey,
    piece: u64,
    progress: Option<&ProgressFn<'_>>,
) -> Result<Vec<FileEntry>> {
    let remote = !run.is_local();
    let unit = if remote {
        run.cloud().part_size.max(SEGMENT) / SEGMENT * SEGMENT
    } else {
        SEGMENT
    };
    let jobs: Vec<Job<'_>> = shards
        .par_iter()
        .enumerate()
        .map(|(si, ids)| {
            let srcs: Vec<&[u8]> = ids.iter().map(|&u| lines[u as usize]).collect();
            let mut end = 0u64;
            let ends: Vec<u64> = ids
                .iter()
                .zip(&srcs)
                .map(|(&u, line)| {
                    end += line.len() as u64 + key_member_len(key, u as usize) + 1;
                    end
                })
                .collect();
            let name = shard_name(first + si);
            let units = end.div_ceil(unit) as usize;
            let out = match run.store().local_root() {
                Some(root) => Out::Local(AtomicFile::create(&root.join(&name))?),
                None if units > 1 => Out::Parts(
                    run.store()
                        .upload(&name, run.cloud())?
                        .expect("invariant: object stores take uploads"),
                ),
                None => Out::Single(OnceLock::new()),
            };
            Ok(Job {
                name,
                ids,
                srcs,
                ends,
                out,
                unit,
                next: AtomicUsize::new(0),
                active: AtomicUsize::new(0),
                digests: (0..end.div_ceil(SEGMENT))
                    .map(|_| OnceLock::new())
                    .collect(),
                sums: (0..if remote { units } else { 0 })
                    .map(|_| OnceLock::new())
                    .collect(),
            })
        })
        .collect::<Result<_>>()?;
    let failed: Mutex<Option<Error>> = Mutex::new(None);
    let stop = AtomicBool::new(false);
    let workers = rayon::current_num_threads().max(1);
    let fail = |e: Error| {
        let mut f = failed.lock().unwrap_or_else(|p| p.into_inner());
        f.get_or_insert(e);
        stop.store(true, Ordering::Relaxed);
    };
    // The next shard for a free worker: one nobody writes yet if any (a file takes one writer at
    // a time), else the one with the most units left.
    let pick = |jobs: &[Job<'_>]| -> Option<usize> {
        (0..jobs.len())
            .filter(|&j| jobs[j].next.load(Ordering::Relaxed) < jobs[j].units())
            .min_by_key(|&j| {
                let left = jobs[j]
                    .units()
                    .saturating_sub(jobs[j].next.load(Ordering::Relaxed));
                (
                    jobs[j].active.load(Ordering::Relaxed),
                    std::cmp::Reverse(left),
                    j,
                )
            })
    };
    rayon::scope(|scope| {
        for _ in 0..workers {
            let (jobs, stop, pick, fail) = (&jobs, &stop, &pick, &fail);
            scope.spawn(move |_| {
                let mut buf = Vec::with_capacity(piece as usize);
                let mut part: Vec<u8> = Vec::new();
                let mut hasher = xxhash_rust::xxh3::Xxh3::new();
                while let Some(j) = pick(jobs) {
                    let job = &jobs[j];
                    job.active.fetch_add(1, Ordering::Relaxed);
                    loop {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let k = job.next.fetch_add(1, Ordering::Relaxed);
                        if k >= job.units() {
                            break;
                        }
                        // The unit in pieces that stay in cache: build, hash, write (or gather
                        // into the part). Pieces never cross a checksum block's edge.
                        hasher.reset();
                        let unit_from = k as u64 * job.unit;
                        let unit_to = (unit_from + job.unit).min(job.bytes());
                        let remote = !matches!(job.out, Out::Local(_));
                        if remote {
                            part = Vec::with_capacity((unit_to - unit_from) as usize);
                        }
                        let mut from = unit_from;
                        while from < unit_to {
                            let block_end = (from / SEGMENT + 1) * SEGMENT;
                            let to = (from + piece).min(unit_to).min(block_end);
                            buf.clear();
                            fill_segment(&mut buf, job, from, to, key);
                            debug_assert_eq!(buf.len() as u64, to - from);
                            hasher.update(&buf);
                            match &job.out {
                                Out::Local(file) => {
                                    if let Err(e) = file.writer().write_all_at(&buf, from) {
                                        return fail(Error::io(file.temp_path(), e));
                                    }
                                }
                                _ => part.extend_from_slice(&buf),
                            }
                            from = to;
                            if from == block_end || from == job.bytes() {
                                let _ = job.digests[((from - 1) / SEGMENT) as usize]
                                    .set(hasher.digest128());
                                hasher.reset();
                            }
                        }
                        if remote {
                            let bytes = std::mem::take(&mut part);
                            let _ = job.sums[k]
                                .set((crate::store::verify::md5(&bytes), crc32c::crc32c(&bytes)));
                            match &job.out {
                                Out::Parts(upload) => upload.put_part(k, bytes),
                                Out::Single(meta) => {
                                    match run.store().put(&job.name, &bytes, Durability::Normal) {
                                        Ok(m) => {
                                            let _ = meta.set(m);
                                        }
                                        Err(e) => return fail(e),
                                    }
                                }
                                Out::Local(_) => unreachable!("invariant: remote"),
                            }
                        }
                        if let Some(progress) = progress {
                            progress(unit_to - unit_from);
                        }
                    }
                    job.active.fetch_sub(1, Ordering::Relaxed);
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        for job in jobs {
            if let Out::Parts(upload) = job.out {
                upload.abort();
            }
        }
        return Err(e);
    }
    let mut entries = Vec::with_capacity(jobs.len());
    let mut jobs = jobs.into_iter();
    while let Some(job) = jobs.next() {
        let digests: Vec<u128> = job
            .digests
            .iter()
            .map(|d| *d.get().expect("invariant: every block written"))
            .collect();
        let bytes = job.bytes();
        let mut entry = FileEntry {
            name: job.name.clone(),
            bytes,
            checksum: crate::run::manifest::checksum_of_blocks(&digests),
            requests: Some(job.ids.len() as u64),
            crc32c: None,
            etag: None,
        };
        let finished = finish_out(run, job, &mut entry);
        if let Err(e) = finished {
            for rest in jobs {
                if let Out::Parts(upload) = rest.out {
                    upload.abort();
                }
            }
            return Err(e);
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// Publishes a written shard: renames the local file, or completes and verifies the object
/// (its size, and the CRC32C the store keeps or else its entity tag, against the checksums
/// computed while writing), recording its CRC32C and tag in `entry`.
fn finish_out(run: &Run, job: Job<'_>, entry: &mut FileEntry) -> Result<()> {
    let sums: Vec<([u8; 16], u32)> = job
        .sums
        .iter()
        .map(|s| *s.get().expect("invariant: every unit sent"))
        .collect();
    let units = job.units();
    let size = job.bytes();
    match job.out {
        Out::Local(file) => return file.commit(),
        Out::Parts(upload) => {
            upload.finish(units)?;
        }
        Out::Single(meta) => {
            if meta.get().is_none() {
                // No bytes: no worker ran for this shard.
                run.store().put(&job.name, b"", Durability::Normal)?;
            }
        }
    }
    let md5s: Vec<[u8; 16]> = sums.iter().map(|s| s.0).collect();
    let mut crc = 0u32;
    for (k, (_, c)) in sums.iter().enumerate() {
        let len = (size - k as u64 * job.unit).min(job.unit) as usize;
        crc = if k == 0 {
            *c
        } else {
            crc32c::crc32c_combine(crc, *c, len)
        };
    }
    let crc = if size == 0 { 0 } else { crc };
    let head = crate::store::verify::verify_upload(run.store(), &job.name, size, &md5s, crc)?;
    entry.crc32c = Some(crate::store::verify::crc32c_b64(crc));
    entry.etag = head.etag;
    Ok(())
}

/// Appends bytes `from..to` of the shard's content to `buf`.
fn fill_segment(buf: &mut Vec<u8>, job: &Job<'_>, from: u64, to: u64, key: &JoinKey) {
    let mut k = job.ends.partition_point(|&e| e <= from);
    let mut pos = if k == 0 { 0 } else { job.ends[k - 1] };
    let mut head = Vec::with_capacity(64);
    while k < job.ids.len() && pos < to {
        let u = job.ids[k];
        #[cfg(target_arch = "x86_64")]
        if let Some(ahead) = job.srcs.get(k + PREFETCH) {
            // The lines are scattered over the input: start fetching a later one now.
            let p = ahead.as_ptr();
            // SAFETY: prefetching is a hint; it never faults, whatever the address.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
            };
        }
        let line = job.srcs[k];
        let whole = pos >= from && job.ends[k] <= to;
        if whole {
            write_shard_line(buf, line, key, u as usize);
        } else {
            // A line across the edge: its pieces, each cut to the part inside `from..to` (never
            // the whole line rebuilt: a line of megabytes of inline data spans many pieces).
            head.clear();
            let (before, after): (&[u8], &[u8]) = match key {
                JoinKey::None => (&[], line),
                JoinKey::Member(name) => {
                    let brace = brace_at(line);
                    push_key_member(&mut head, name, u as usize);
                    (&line[..=brace], &line[brace + 1..])
                }
            };
            let mut at = pos;
            for piece in [before, &head[..], after, b"\n"] {
                let (start, end) = (at, at + piece.len() as u64);
                if end > from && start < to {
                    let a = from.max(start) - start;
                    let b = to.min(end) - start;
                    buf.extend_from_slice(&piece[a as usize..b as usize]);
                }
                at = end;
            }
        }
        pos = job.ends[k];
        k += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local_run(dir: &Path) -> Run {
        Run::open(
            &crate::store::Location::local(dir),
            &crate::store::CloudConfig::default(),
        )
        .expect("local run")
    }

    /// Lines of many sizes (some starting with spaces), so segment and piece edges fall inside
    /// lines, inside key members and on line ends.
    fn lines(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                let pad = (i * 7919) % 3000;
                let lead = if i % 5 == 0 { "  " } else { "" };
                format!(
                    "{lead}{{\"request\":{{\"t\":\"{}\"}}}}",
                    "ab".repeat(pad / 2)
                )
                .into_bytes()
            })
            .collect()
    }

    #[test]
    fn shards_equal_their_lines_in_order_with_segment_checksums() {
        let owned = lines(24_000);
        let refs: Vec<&[u8]> = owned.iter().map(|l| l.as_slice()).collect();
        // One shard over two 16 MiB segments, a small one, and an empty one; ids out of order.
        let mut big: Vec<u32> = (0..22_000).collect();
        big.reverse();
        let small: Vec<u32> = (22_000..24_000).step_by(3).collect();
        let shards = vec![big, small, Vec::new()];
        for key in [JoinKey::Member("batchline_key".into()), JoinKey::None] {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::create_dir_all(dir.path().join("shards")).expect("mkdir");
            let run = local_run(dir.path());
            let done = std::sync::atomic::AtomicU64::new(0);
            let count = |n: u64| {
                done.fetch_add(n, Ordering::Relaxed);
            };
            let entries = write_shards(&run, &shards, &refs, &key, Some(&count)).expect("written");
            assert_eq!(entries.len(), 3);
            // Progress reports every byte of every shard, once.
            assert_eq!(
                done.load(Ordering::Relaxed),
                entries.iter().map(|e| e.bytes).sum::<u64>()
            );
            for (si, (entry, ids)) in entries.iter().zip(&shards).enumerate() {
                let mut want = Vec::new();
                for &u in ids {
                    write_shard_line(&mut want, refs[u as usize], &key, u as usize);
                }
                let got = std::fs::read(dir.path().join(shard_name(si))).expect("read");
                assert!(got == want, "shard {si} differs");
                assert_eq!(entry.bytes, want.len() as u64);
                assert_eq!(entry.checksum, content_checksum(&want));
                assert_eq!(entry.requests, Some(ids.len() as u64));
            }
            assert!(
                entries[0].bytes > SEGMENT,
                "the test must cross a segment edge"
            );
        }
    }

    #[test]
    fn a_line_longer_than_a_segment_is_cut_exactly() {
        let big = format!(
            "{{\"request\":{{\"t\":\"{}\"}}}}",
            "0123456789abcdef".repeat(2_500_000)
        )
        .into_bytes();
        let owned = [b"{\"a\":1}".to_vec(), big, b" {\"b\":2}".to_vec()];
        let refs: Vec<&[u8]> = owned.iter().map(|l| l.as_slice()).collect();
        let shards = vec![vec![0, 1, 2, 1]];
        for key in [JoinKey::Member("k".into()), JoinKey::None] {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::create_dir_all(dir.path().join("shards")).expect("mkdir");
            let run = local_run(dir.path());
            let entries = write_shards(&run, &shards, &refs, &key, None).expect("written");
            let mut want = Vec::new();
            for &u in &shards[0] {
                write_shard_line(&mut want, refs[u as usize], &key, u as usize);
            }
            let got = std::fs::read(dir.path().join(shard_name(0))).expect("read");
            assert!(got == want, "shard differs");
            assert!(want.len() as u64 > 4 * SEGMENT);
            assert_eq!(entries[0].checksum, content_checksum(&want));
        }
    }

    proptest::proptest! {
        // Failures become named tests, not a proptest-regressions file (as in tests/it).
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 64,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Pieces of a few bytes cut lines everywhere (inside the head, the key member, the tail
        /// and at the newline): every shard still equals its lines written one by one.
        #[test]
        fn tiny_pieces_give_the_same_shards(
            sizes in proptest::collection::vec((0usize..300, proptest::bool::ANY), 1..40),
            piece in 1u64..64,
            shard_count in 1usize..4,
            keyed in proptest::bool::ANY,
        ) {
            let owned: Vec<Vec<u8>> = sizes
                .iter()
                .map(|&(n, lead)| {
                    format!("{}{{\"t\":\"{}\"}}", if lead { " " } else { "" }, "x".repeat(n))
                        .into_bytes()
                })
                .collect();
            let refs: Vec<&[u8]> = owned.iter().map(|l| l.as_slice()).collect();
            let mut shards = vec![Vec::new(); shard_count];
            for u in 0..refs.len() {
                shards[(u * 7) % shard_count].push(u as u32);
            }
            let key = if keyed { JoinKey::Member("k".into()) } else { JoinKey::None };
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::create_dir_all(dir.path().join("shards")).expect("mkdir");
            let run = local_run(dir.path());
            let entries =
                write_shards_in(&run, &shards, &refs, &key, piece, None).expect("written");
            for (si, ids) in shards.iter().enumerate() {
                let mut want = Vec::new();
                for &u in ids {
                    write_shard_line(&mut want, refs[u as usize], &key, u as usize);
                }
                let got = std::fs::read(dir.path().join(shard_name(si))).expect("read");
                proptest::prop_assert_eq!(&got, &want);
                proptest::prop_assert_eq!(&entries[si].checksum, &content_checksum(&want));
            }
        }
    }

    #[test]
    fn shard_lines_splice_the_key_after_the_opening_brace() {
        let mut out = Vec::new();
        write_shard_line(
            &mut out,
            b"  {\"request\":{}}",
            &JoinKey::Member("k".into()),
            37,
        );
        assert_eq!(out, b"  {\"k\":\"bl-11\",\"request\":{}}\n");
        out.clear();
        write_shard_line(&mut out, b"{\"request\":{}}", &JoinKey::None, 37);
        assert_eq!(out, b"{\"request\":{}}\n");
    }

    #[test]
    fn key_member_length_matches_what_is_written() {
        let key = JoinKey::Member("k".into());
        for u in [0, 1, 35, 36, 1295, 1296, 46_655, 46_656, u32::MAX as usize] {
            let mut out = Vec::new();
            push_key_member(&mut out, "k", u);
            assert_eq!(out.len() as u64, key_member_len(&key, u), "{u}");
            assert_eq!(
                out,
                format!("\"k\":\"{}\",", crate::prepare::key_value(u)).into_bytes()
            );
        }
    }
}
