//! Cutting a buffer into chunks that end at newline boundaries, for parallel processing.
//!
//! Chunks are byte ranges of the whole input; each starts at the beginning of a line and ends just
//! after a `\n` (or at the end of the input). A line longer than the chunk size makes a chunk of its
//! own, however long. Line numbers are counted per chunk and fixed up by a prefix sum afterwards.

use std::ops::Range;

/// Tunables of the split.
#[derive(Debug, Clone, Copy)]
pub struct ChunkConfig {
    /// Target bytes per chunk. Default 16 MiB: large enough that per-chunk overhead vanishes,
    /// small enough that 2–64 cores get several chunks each on a 1 GB file.
    pub target_bytes: usize,
}

impl Default for ChunkConfig {
    fn default() -> Self {
        ChunkConfig {
            target_bytes: 16 << 20,
        }
    }
}

/// Splits `data` into newline-aligned ranges of about `target` bytes (at least 1).
pub fn split_chunks(data: &[u8], target: usize) -> Vec<Range<usize>> {
    let target = target.max(1);
    let mut out = Vec::with_capacity(data.len() / target + 1);
    let mut start = 0;
    while start < data.len() {
        let want = start.saturating_add(target);
        if want >= data.len() {
            out.push(start..data.len());
            break;
        }
        // End just after the first newline at or past the target.
        let end = match memchr::memchr(b'\n', &data[want - 1..]) {
            Some(i) => want - 1 + i + 1,
            None => data.len(),
        };
        out.push(start..end);
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_input_and_end_at_newlines() {
        let data = b"a\nbb\nccc\n\ndddd";
        for target in 1..=data.len() + 1 {
            let chunks = split_chunks(data, target);
            assert_eq!(chunks.first().unwrap().start, 0);
            assert_eq!(chunks.last().unwrap().end, data.len());
            for w in chunks.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert_eq!(data[w[0].end - 1], b'\n', "target {target}");
            }
        }
        assert!(split_chunks(b"", 4).is_empty());
    }
}
