//! Reading inputs: local files memory-mapped (or read), stdin read fully, then cut into chunks at
//! newline boundaries and processed in parallel, with exact line numbers.
//!
//! This module knows nothing of requests; it hands out lines. See [`chunk`] for the split and
//! [`mmap`] for the one place that decides between mapping and reading.

pub mod chunk;
pub mod lines;
pub mod mmap;
pub mod stamp;

pub use chunk::{split_chunks, ChunkConfig};
pub use lines::{Line, LineIter};
pub use mmap::{open_input, open_path, InputBytes, MmapChoice};

/// A UTF-8 byte order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

pub use crate::store::url_scheme;

/// The usage error for a URL-like input: such names are not local paths (the operating system
/// would read `gs://b/x` as the folder `gs:`), and reading inputs from object stores is not
/// built yet, so they are refused instead of misread.
pub fn url_not_supported(name: &str, scheme: &str) -> crate::error::Error {
    crate::error::Error::Usage(if scheme == "gs" {
        format!("{name}: inputs in Cloud Storage (gs://) are not supported yet; copy the file with `gcloud storage cp` and give the local path")
    } else {
        format!("{name}: inputs at {scheme}:// URLs are not supported yet")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_like_names_are_told_from_paths() {
        assert_eq!(url_scheme("gs://bucket/a.jsonl"), Some("gs"));
        assert_eq!(url_scheme("s3://b/k"), Some("s3"));
        assert_eq!(url_scheme("git+ssh://h/x"), Some("git+ssh"));
        for path in [
            "a.jsonl",
            "-",
            "/tmp/gs/x",
            "./gs:/x",
            "gs://",
            "1gs://x",
            "dir/gs://x",
            "://x",
        ] {
            assert_eq!(url_scheme(path), None, "{path}");
        }
    }
}
