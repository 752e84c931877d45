//! Reading inputs: local files memory-mapped (or read), stdin read fully, then cut into chunks at
//! newline boundaries and processed in parallel, with exact line numbers.
//!
//! This module knows nothing of requests; it hands out lines. See [`chunk`] for the split,
//! [`mmap`] for the one place that decides between mapping and reading, and [`remote`] for
//! inputs on object stores and HTTP(S) (fetched into a spill file, then mapped).

pub mod chunk;
pub mod lines;
pub mod mmap;
pub mod remote;
pub mod stamp;

pub use chunk::{split_chunks, ChunkConfig};
pub use lines::{Line, LineIter};
pub use mmap::{open_input, open_path, InputBytes, MmapChoice};
pub use remote::{expand_inputs, open, Input, ObjectIdentity, RemoteOptions};

/// A UTF-8 byte order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

pub use crate::store::url_scheme;

/// The usage error for a URL given to [`open_input`], which opens local files and stdin only:
/// such names are not local paths (the operating system would read `gs://b/x` as the folder
/// `gs:`), so they are refused instead of misread; [`open`] fetches them.
pub fn url_not_supported(name: &str, scheme: &str) -> crate::error::Error {
    crate::error::Error::Usage(format!(
        "{name}: a {scheme}:// URL is not a local file; open it with input::open"
    ))
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
