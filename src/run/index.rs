//! The run's binary index (`index.bin`): how every input line maps to what is sent.
//!
//! Format version 1, little-endian (documented in `docs/run-format.md`):
//! ```text
//! magic      8 bytes  "BLINDEX1"
//! version    u32      1
//! files      u32      number of input files
//! lines      u64      number of input lines (all files, in input order)
//! uniques    u64      number of unique requests
//! per line   28 bytes file u32, line u64 (1-based), offset u64, length u32, unique u32
//!                     (unique = u32::MAX for a blank or invalid line: not sent)
//! per unique 24 bytes shard u32, position u32 (0-based line in the shard), hash u128
//! ```

use std::io::{Read, Write};

/// Magic bytes at the start of `index.bin`.
pub const MAGIC: &[u8; 8] = b"BLINDEX1";
/// Current format version.
pub const VERSION: u32 = 1;
/// Marks a line that is not sent.
pub const NOT_SENT: u32 = u32::MAX;

/// One input line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexLine {
    /// Input file (index into the manifest's inputs).
    pub file: u32,
    /// 1-based line number in that file.
    pub line: u64,
    /// Byte offset of the line in the file.
    pub offset: u64,
    /// Length without terminator.
    pub length: u32,
    /// Unique request, or [`NOT_SENT`].
    pub unique: u32,
}

/// One unique request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexUnique {
    /// Shard number.
    pub shard: u32,
    /// 0-based line in the shard.
    pub position: u32,
    /// Canonical hash of the request.
    pub hash: u128,
}

/// Writes the index.
pub fn write_index<W: Write>(
    mut w: W,
    files: u32,
    lines: &[IndexLine],
    uniques: &[IndexUnique],
) -> std::io::Result<()> {
    w.write_all(&encode_index(
        files,
        lines.len(),
        |i| lines[i],
        uniques.len(),
        |u| uniques[u],
    ))?;
    w.flush()
}

/// Fills `bytes` with fixed-size records in parallel: `write(i, record_bytes)` for record `i`.
fn fill_records(bytes: &mut [u8], size: usize, write: impl Fn(usize, &mut [u8]) + Sync) {
    use rayon::prelude::*;
    bytes
        .par_chunks_mut(size * PER_TASK)
        .enumerate()
        .for_each(|(t, chunk)| {
            for (k, b) in chunk.chunks_exact_mut(size).enumerate() {
                write(t * PER_TASK + k, b);
            }
        });
}

/// Records per unit of parallel encoding.
const PER_TASK: usize = 1 << 14;

/// The bytes of an index of `n_lines` lines and `n_uniques` uniques, whose records are
/// `line_at(i)` and `unique_at(u)`; encoded in parallel straight into the output buffer.
pub fn encode_index(
    files: u32,
    n_lines: usize,
    line_at: impl Fn(usize) -> IndexLine + Sync,
    n_uniques: usize,
    unique_at: impl Fn(usize) -> IndexUnique + Sync,
) -> Vec<u8> {
    let head = 32;
    let mut out = vec![0u8; head + n_lines * 28 + n_uniques * 24];
    out[..8].copy_from_slice(MAGIC);
    out[8..12].copy_from_slice(&VERSION.to_le_bytes());
    out[12..16].copy_from_slice(&files.to_le_bytes());
    out[16..24].copy_from_slice(&(n_lines as u64).to_le_bytes());
    out[24..32].copy_from_slice(&(n_uniques as u64).to_le_bytes());
    let (line_bytes, unique_bytes) = out[head..].split_at_mut(n_lines * 28);
    fill_records(line_bytes, 28, |i, b| {
        let l = line_at(i);
        b[0..4].copy_from_slice(&l.file.to_le_bytes());
        b[4..12].copy_from_slice(&l.line.to_le_bytes());
        b[12..20].copy_from_slice(&l.offset.to_le_bytes());
        b[20..24].copy_from_slice(&l.length.to_le_bytes());
        b[24..28].copy_from_slice(&l.unique.to_le_bytes());
    });
    fill_records(unique_bytes, 24, |u, b| {
        let r = unique_at(u);
        b[0..4].copy_from_slice(&r.shard.to_le_bytes());
        b[4..8].copy_from_slice(&r.position.to_le_bytes());
        b[8..24].copy_from_slice(&r.hash.to_le_bytes());
    });
    out
}

/// Reads an index written by [`write_index`]: (files, lines, uniques).
pub fn read_index<R: Read>(mut r: R) -> std::io::Result<(u32, Vec<IndexLine>, Vec<IndexUnique>)> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let mut head = [0u8; 32];
    r.read_exact(&mut head)?;
    if &head[..8] != MAGIC {
        return Err(bad("not a batchline index (bad magic)"));
    }
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
    let u64_at = |b: &[u8], i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    if u32_at(&head, 8) != VERSION {
        return Err(bad("unsupported index version"));
    }
    let files = u32_at(&head, 12);
    let n_lines = u64_at(&head, 16) as usize;
    let n_uniques = u64_at(&head, 24) as usize;
    let mut body = Vec::new();
    r.read_to_end(&mut body)?;
    if body.len() != n_lines * 28 + n_uniques * 24 {
        return Err(bad("index size does not match its header"));
    }
    let lines = body[..n_lines * 28]
        .chunks_exact(28)
        .map(|b| IndexLine {
            file: u32_at(b, 0),
            line: u64_at(b, 4),
            offset: u64_at(b, 12),
            length: u32_at(b, 20),
            unique: u32_at(b, 24),
        })
        .collect();
    let uniques = body[n_lines * 28..]
        .chunks_exact(24)
        .map(|b| IndexUnique {
            shard: u32_at(b, 0),
            position: u32_at(b, 4),
            hash: u128::from_le_bytes(b[8..24].try_into().expect("16 bytes")),
        })
        .collect();
    Ok((files, lines, uniques))
}

/// An index read in place: records are decoded when asked for, so a run's index costs no memory
/// beyond its mapping (collect maps `index.bin`, or the spill file of a remote one).
pub struct IndexView {
    bytes: Box<dyn std::ops::Deref<Target = [u8]> + Send + Sync>,
    files: u32,
    n_lines: usize,
    n_uniques: usize,
}

impl std::fmt::Debug for IndexView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "IndexView({} files, {} lines, {} uniques)",
            self.files, self.n_lines, self.n_uniques
        )
    }
}

impl IndexView {
    /// Checks the header and the size of `bytes` (an index written by [`write_index`]).
    pub fn new(
        bytes: Box<dyn std::ops::Deref<Target = [u8]> + Send + Sync>,
    ) -> std::io::Result<Self> {
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
        let b: &[u8] = &bytes;
        if b.len() < 32 || &b[..8] != MAGIC {
            return Err(bad("not a batchline index (bad magic)"));
        }
        if u32_at(b, 8) != VERSION {
            return Err(bad("unsupported index version"));
        }
        let files = u32_at(b, 12);
        let (n_lines, n_uniques) = (u64_at(b, 16), u64_at(b, 24));
        let size = n_lines
            .checked_mul(28)
            .and_then(|l| n_uniques.checked_mul(24).and_then(|u| l.checked_add(u)))
            .and_then(|n| n.checked_add(32));
        if size != Some(b.len() as u64) || n_uniques >= NOT_SENT as u64 {
            return Err(bad("index size does not match its header"));
        }
        Ok(IndexView {
            bytes,
            files,
            n_lines: n_lines as usize,
            n_uniques: n_uniques as usize,
        })
    }

    /// Number of input files.
    pub fn files(&self) -> u32 {
        self.files
    }

    /// Number of input lines.
    pub fn n_lines(&self) -> usize {
        self.n_lines
    }

    /// Number of unique requests.
    pub fn n_uniques(&self) -> usize {
        self.n_uniques
    }

    /// Input line `i` (0-based, input order). Panics when `i` is out of range.
    pub fn line(&self, i: usize) -> IndexLine {
        assert!(i < self.n_lines, "line {i} of {}", self.n_lines);
        let b = &self.bytes[32 + i * 28..32 + i * 28 + 28];
        IndexLine {
            file: u32_at(b, 0),
            line: u64_at(b, 4),
            offset: u64_at(b, 12),
            length: u32_at(b, 20),
            unique: u32_at(b, 24),
        }
    }

    /// Unique request `u`. Panics when `u` is out of range.
    pub fn unique(&self, u: usize) -> IndexUnique {
        assert!(u < self.n_uniques, "unique {u} of {}", self.n_uniques);
        let at = 32 + self.n_lines * 28 + u * 24;
        let b = &self.bytes[at..at + 24];
        IndexUnique {
            shard: u32_at(b, 0),
            position: u32_at(b, 4),
            hash: u128::from_le_bytes(b[8..24].try_into().expect("16 bytes")),
        }
    }

    /// The lines in `range`, in order.
    pub fn lines_in(
        &self,
        range: std::ops::Range<usize>,
    ) -> impl ExactSizeIterator<Item = IndexLine> + '_ {
        range.map(|i| self.line(i))
    }

    /// Every line, in order.
    pub fn lines(&self) -> impl ExactSizeIterator<Item = IndexLine> + '_ {
        self.lines_in(0..self.n_lines)
    }

    /// Every unique request, in id order.
    pub fn uniques(&self) -> impl ExactSizeIterator<Item = IndexUnique> + '_ {
        (0..self.n_uniques).map(|u| self.unique(u))
    }
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let lines = vec![
            IndexLine {
                file: 0,
                line: 1,
                offset: 0,
                length: 10,
                unique: 0,
            },
            IndexLine {
                file: 1,
                line: 7,
                offset: 99,
                length: 3,
                unique: NOT_SENT,
            },
        ];
        let uniques = vec![IndexUnique {
            shard: 2,
            position: 5,
            hash: u128::MAX - 3,
        }];
        let mut buf = Vec::new();
        write_index(&mut buf, 2, &lines, &uniques).unwrap();
        assert_eq!(buf.len(), 32 + 2 * 28 + 24);
        let (files, l, u) = read_index(&buf[..]).unwrap();
        assert_eq!((files, l, u), (2, lines.clone(), uniques.clone()));
        assert!(read_index(&buf[..40]).is_err());
        let view = IndexView::new(Box::new(buf.clone())).unwrap();
        assert_eq!((view.files(), view.n_lines(), view.n_uniques()), (2, 2, 1));
        assert_eq!(view.lines().collect::<Vec<_>>(), lines);
        assert_eq!(view.uniques().collect::<Vec<_>>(), uniques);
        assert_eq!(view.line(1).offset, 99);
        for cut in [0, 31, 40, buf.len() - 1] {
            assert!(
                IndexView::new(Box::new(buf[..cut].to_vec())).is_err(),
                "{cut}"
            );
        }
        let mut huge = buf.clone();
        huge[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(IndexView::new(Box::new(huge)).is_err());
    }
}
