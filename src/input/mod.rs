//! Reading inputs: local files memory-mapped (or read), stdin read fully, then cut into chunks at
//! newline boundaries and processed in parallel, with exact line numbers.
//!
//! This module knows nothing of requests; it hands out lines. See [`chunk`] for the split,
//! [`mmap`] for the one place that decides between mapping and reading, and [`remote`] for
//! inputs on object stores and HTTP(S) (fetched into a spill file, then mapped).

pub mod chunk;
pub mod lines;
pub mod mmap;
pub mod name;
pub mod remote;
pub mod sigbus;
pub mod stamp;

pub use chunk::{split_chunks, ChunkConfig};
pub use lines::{Line, LineIter};
pub use mmap::{open_input, open_path, InputBytes, MappedFile, MmapChoice};
pub use name::InputName;
pub use remote::{expand_inputs, open, open_name, Input, ObjectIdentity, RemoteOptions};

/// A UTF-8 byte order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

pub use crate::store::url_scheme;

/// Test hook: when `BATCHLINE_TEST_HOLD` is `POINT:FILE` and this is `POINT`, waits (up to a
/// minute) until FILE no longer exists, so a test can act on the inputs mid-run; `FILE.held` is
/// created when the wait starts. Points: `after-map` (an input was just mapped), `after-scan`
/// and `before-shards` (prepare).
pub(crate) fn test_hold(point: &str) {
    let Some(v) = std::env::var_os("BATCHLINE_TEST_HOLD") else {
        return;
    };
    let v = v.to_string_lossy();
    if let Some(file) = v.strip_prefix(point).and_then(|r| r.strip_prefix(':')) {
        let _ = std::fs::write(format!("{file}.held"), b"");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::path::Path::new(file).exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

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
