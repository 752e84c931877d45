//! Output fragments spilled to unnamed files, one per range of unique ids ("bucket"). Unique ids
//! follow first occurrence in the input, so writing the output in input order walks the buckets
//! nearly in order: only a bucket or two need be in memory at a time, whatever the output's size.
//!
//! [`SpillWriter`] takes each parallel piece's fragments, grouped by bucket, and appends them
//! (positioned writes, so pieces never wait on each other); [`SpillWriter::finish`] maps the
//! files into a [`Spill`] to read fragments from.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Bytes of rows per spill bucket (`BATCHLINE_SPILL_BUCKET_BYTES` overrides it, for tests and
/// tuning), and the most buckets (each an open file while rows are read).
const BUCKET_BYTES: u64 = 32 << 20;
const MAX_BUCKETS: u64 = 256;

/// The spilled fragments, mapped.
pub(super) struct Spill {
    /// Unique ids per bucket.
    span: u32,
    maps: Vec<SpillMap>,
}

/// A bucket's file, mapped once written (an empty one is not mapped).
enum SpillMap {
    Empty,
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for SpillMap {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            SpillMap::Empty => &[],
            SpillMap::Mapped(m) => m,
        }
    }
}

impl Spill {
    /// The number of unique ids per bucket for `uniques` requests and `row_bytes` of rows.
    fn span_for(uniques: usize, row_bytes: u64) -> u32 {
        let per = std::env::var("BATCHLINE_SPILL_BUCKET_BYTES")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(BUCKET_BYTES);
        let buckets = row_bytes.div_ceil(per).clamp(1, MAX_BUCKETS);
        (uniques as u64)
            .div_ceil(buckets)
            .clamp(1, u64::from(u32::MAX)) as u32
    }

    /// The fragment of `unique` at `off..off + len` of its bucket.
    pub(super) fn fragment(&self, unique: u32, off: u64, len: u32) -> &[u8] {
        let map = &self.maps[(unique / self.span) as usize];
        &map[off as usize..off as usize + len as usize]
    }
}

/// The spill files while rows are read.
pub(super) struct SpillWriter {
    span: u32,
    files: Vec<std::fs::File>,
    ends: Vec<AtomicU64>,
    dir: PathBuf,
}

impl SpillWriter {
    /// Unnamed files in `dir` for `uniques` requests and `row_bytes` of rows.
    pub(super) fn create(dir: &Path, uniques: usize, row_bytes: u64) -> Result<Self> {
        let span = Spill::span_for(uniques, row_bytes);
        let n = uniques.div_ceil(span as usize).max(1);
        let files = (0..n)
            .map(|_| tempfile::tempfile_in(dir).map_err(|e| Error::io(dir, e)))
            .collect::<Result<Vec<_>>>()?;
        Ok(SpillWriter {
            span,
            files,
            ends: (0..n).map(|_| AtomicU64::new(0)).collect(),
            dir: dir.to_path_buf(),
        })
    }

    /// Empty per-bucket buffers for one piece of rows.
    pub(super) fn buffers(&self) -> Vec<Vec<u8>> {
        vec![Vec::new(); self.files.len()]
    }

    /// The bucket of `unique`.
    pub(super) fn bucket(&self, unique: u32) -> usize {
        (unique / self.span) as usize
    }

    /// Appends a piece's buffers; returns, per bucket, where its buffer starts in the file.
    pub(super) fn append(&self, buffers: &[Vec<u8>]) -> Result<Vec<u64>> {
        let mut bases = vec![0u64; buffers.len()];
        for (b, bytes) in buffers.iter().enumerate().filter(|(_, f)| !f.is_empty()) {
            bases[b] = self.ends[b].fetch_add(bytes.len() as u64, Ordering::Relaxed);
            self.files[b]
                .write_all_at(bytes, bases[b])
                .map_err(|e| Error::io(&self.dir, e))?;
        }
        Ok(bases)
    }

    /// The files, mapped for reading.
    pub(super) fn finish(self) -> Result<Spill> {
        let maps = self
            .files
            .iter()
            .zip(&self.ends)
            .map(|(f, end)| {
                if end.load(Ordering::Relaxed) == 0 {
                    return Ok(SpillMap::Empty);
                }
                // SAFETY: the spill files are ours, unnamed, and no longer written.
                let map = unsafe { memmap2::Mmap::map(f) }.map_err(|e| Error::io(&self.dir, e))?;
                Ok(SpillMap::Mapped(map))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Spill {
            span: self.span,
            maps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hold_32_mib_of_rows_and_are_at_most_256() {
        // 64 MiB of rows: two buckets of 500 ids.
        assert_eq!(Spill::span_for(1000, 64 << 20), 500);
        // A row under one bucket: one bucket holds every id.
        assert_eq!(Spill::span_for(1000, 10), 1000);
        // 1 TiB of rows: capped at 256 buckets.
        assert_eq!(Spill::span_for(2560, 1 << 40), 10);
        assert_eq!(Spill::span_for(10, 1 << 40), 1);
        // No requests: a span of one, never zero.
        assert_eq!(Spill::span_for(0, 0), 1);
    }

    #[test]
    fn fragments_come_back_from_their_buckets() {
        let dir = tempfile::tempdir().unwrap();
        // 64 MiB of rows for 4 ids: two buckets of two ids.
        let w = SpillWriter::create(dir.path(), 4, 64 << 20).unwrap();
        assert_eq!((w.bucket(1), w.bucket(2)), (0, 1));
        let mut a = w.buffers();
        a[0].extend_from_slice(b"zero");
        a[1].extend_from_slice(b"two");
        let mut b = w.buffers();
        b[1].extend_from_slice(b"three");
        assert_eq!(w.append(&a).unwrap(), [0, 0]);
        assert_eq!(w.append(&b).unwrap(), [0, 3]);
        let s = w.finish().unwrap();
        assert_eq!(s.fragment(0, 0, 4), b"zero");
        assert_eq!(s.fragment(2, 0, 3), b"two");
        assert_eq!(s.fragment(3, 3, 5), b"three");
    }
}
