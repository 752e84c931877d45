//! Reading inputs: local files memory-mapped (or read), stdin read fully, then cut into chunks at
//! newline boundaries and processed in parallel, with exact line numbers.
//!
//! This module knows nothing of requests; it hands out lines. See [`chunk`] for the split and
//! [`mmap`] for the one place that decides between mapping and reading.

pub mod chunk;
pub mod lines;
pub mod mmap;

pub use chunk::{split_chunks, ChunkConfig};
pub use lines::{Line, LineIter};
pub use mmap::{open_input, InputBytes, MmapChoice};

/// A UTF-8 byte order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";
